#!/bin/sh
# agent-install update from local bundle files and a local channel (spec
# bundle-install-update.md §13, §24.3) with a real runit supervisor: runsvdir
# supervises the real `agentd run` (under the root through AGENTD_ROOT) and
# agent-install drives it through --service command=<wrapper around sv>.
# Covers: success with restart seen in sv and health.json; a release whose
# agentd never becomes healthy is rolled back (exit 3, rolled_back, failed
# entry, old release running and healthy); a self-test failure is never
# switched to; refusals (downgrade, already current, channel signed by
# another key, expired channel, sha256 mismatch) leave everything untouched;
# --allow-downgrade.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

. "$AGENT_SRC/tests/integration/lib/update-fixture.sh"

# Deliberately broken stand-ins (the real agentd is used everywhere else; the
# bundle rules want an ELF bin/agentd, so they are built here): "unhealthy"
# passes its self-test but its `run` exits at once and never writes
# health.json; "badtest" fails its self-test.
CC=${MUSL_GCC:-musl-gcc}
command -v "$CC" >/dev/null 2>&1 || skip_all "$CC not installed (needed for the broken stand-ins)"
cat >standin.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "self-test") == 0) {
		puts(SELF_TEST_STATUS == 0 ? "ok all checks" : "FAIL sha256: broken on purpose");
		return SELF_TEST_STATUS;
	}
	sleep(1);
	return 1;
}
EOF
"$CC" -static -O2 -DSELF_TEST_STATUS=0 -o agentd-unhealthy standin.c || skip_all "cannot build a stand-in"
"$CC" -static -O2 -DSELF_TEST_STATUS=1 -o agentd-badtest standin.c || skip_all "cannot build a stand-in"

A=$(make_bundle 1.3.2 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
Bn=$(make_bundle 1.4.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
U=$(make_bundle 1.5.0 agentd-unhealthy) || skip_all "agent-bundle build failed"
T=$(make_bundle 1.5.1 agentd-badtest) || skip_all "agent-bundle build failed"
D=$(make_bundle 1.6.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
E=$(make_bundle 1.7.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
FA=$(fp "$A"); FB=$(fp "$Bn"); FU=$(fp "$U"); FT=$(fp "$T"); FD=$(fp "$D")
A12=$(printf %.12s "$FA"); B12=$(printf %.12s "$FB"); U12=$(printf %.12s "$FU"); T12=$(printf %.12s "$FT"); D12=$(printf %.12s "$FD")

# ---- runit: the supervised service is the real `agentd run` under the root ---
start_runit

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

# ---- install 1.3.2 ----------------------------------------------------------------
check "install 1.3.2 through the sv wrapper" \
	"$AI" install --root "$ROOT" --bundle "$A" --pubkey k.pub --service "command=$SUP"
check_eq "health.json shows 1.3.2" "$FA" "$(hfp)"
p0=$(svpid)
check_eq "health.json pid is the runsv child" "$p0" "$(hpid)"

# ---- update to 1.4.0: success ------------------------------------------------------
"$AI" update --root "$ROOT" --bundle "$Bn" >upd.out 2>&1
rc=$?
check_eq "update to 1.4.0 exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' upd.out
check_eq "current is 1.4.0" "releases/$B12" "$(cur)"
check_eq "status success" success "$(st)"
check "message names both versions" grep -q "^MESSAGE=updated 1.3.2 ($A12) -> 1.4.0 ($B12) in [0-9]*s$" "$STATUS"
p1=$(svpid)
check "runsv restarted agentd (new pid in sv status)" test -n "$p1" -a "$p1" != "$p0"
check_eq "health.json from 1.4.0" "$FB" "$(hfp)"
check_eq "health.json pid is the new runsv child" "$p1" "$(hpid)"
check "installed.json previous is 1.3.2" grep -q "\"fingerprint\": \"$FA\"" "$ROOT/opt/agentd/installed.json"
check "runtime.env AGENT_BUNDLE_NAME is 1.4.0" grep -q "^AGENT_BUNDLE_NAME=.*-1.4.0-$B12\$" "$ROOT/etc/agentd/runtime.env"
check_fails "no journal left" test -e "$ROOT/opt/agentd/.transaction.json"
check "no .incoming leftovers" test -z "$(ls -A "$ROOT/opt/agentd/releases/.incoming")"

# ---- already current ------------------------------------------------------------------
snap s1
"$AI" update --root "$ROOT" --bundle "$Bn" >upd.out 2>&1
check_eq "already current exits 0" 0 "$?"
check "status success: already current" grep -q "^MESSAGE=already current at 1.4.0 ($B12)" "$STATUS"
snap s2
check "already current changed nothing and restarted nothing" cmp s1 s2

# ---- downgrade refused, then allowed -----------------------------------------------------
"$AI" update --root "$ROOT" --bundle "$A" >upd.out 2>&1
check_eq "downgrade refused (exit 1)" 1 "$?"
check_eq "status failed" failed "$(st)"
check "message says refusing downgrade" grep -q "^MESSAGE=refusing downgrade from 1.4.0 to 1.3.2 (use --allow-downgrade)" "$STATUS"
snap s3
check "downgrade refusal left everything untouched" cmp s1 s3

# ---- sha256 mismatch ------------------------------------------------------------------
"$AI" update --root "$ROOT" --bundle "$U" --sha256 "$(printf '%064d' 0)" >upd.out 2>&1
check_eq "sha256 mismatch refused (exit 1)" 1 "$?"
check "reason sha256-mismatch" grep -q "sha256-mismatch" "$STATUS"
snap s4
check "sha256 refusal left everything untouched" cmp s1 s4
check_fails "no release directory for the refused bundle" test -e "$ROOT/opt/agentd/releases/$U12"

# ---- self-test failure: never switched to ---------------------------------------------------
"$AI" update --root "$ROOT" --bundle "$T" >upd.out 2>&1
check_eq "self-test failure exits 1" 1 "$?"
check "status failed: self-test failed" grep -q "^MESSAGE=1.5.1 ($T12) self-test failed" "$STATUS"
check "self-test output shown" grep -q "broken on purpose" upd.out
snap s5
check "self-test failure: current, installed.json, runtime.env and agentd untouched" cmp s1 s5
check_fails "the failed release was removed" test -e "$ROOT/opt/agentd/releases/$T12"

# ---- never healthy: automatic rollback -----------------------------------------------------------
pb=$(svpid)
"$AI" update --root "$ROOT" --bundle "$U" >upd.out 2>&1
rc=$?
check_eq "never-healthy release: exit 3" 3 "$rc"
[ "$rc" -eq 3 ] || sed 's/^/#   /' upd.out
check_eq "status rolled_back" rolled_back "$(st)"
check "message: failed health check; restored 1.4.0" \
	grep -q "^MESSAGE=1.5.0 ($U12) failed health check: timed out after 10s (.*); restored 1.4.0 ($B12)$" "$STATUS"
check_eq "current is 1.4.0 again" "releases/$B12" "$(cur)"
check_eq "the old version is running and healthy" "$FB" "$(hfp)"
pr=$(svpid)
check "agentd was restarted twice (new pid)" test -n "$pr" -a "$pr" != "$pb"
check_eq "health.json pid is the supervised agentd" "$pr" "$(hpid)"
check "sv reports agentd running" "$SUP" is-active
check "installed.json records the failed release" grep -q "\"fingerprint\": \"$FU\"" "$ROOT/opt/agentd/installed.json"
check "installed.json fingerprint is 1.4.0" grep -q "^  \"fingerprint\": \"$FB\"" "$ROOT/opt/agentd/installed.json"
check "runtime.env AGENT_BUNDLE_NAME restored" grep -q "^AGENT_BUNDLE_NAME=.*-1.4.0-$B12\$" "$ROOT/etc/agentd/runtime.env"
check "the failed release stays for diagnosis" test -d "$ROOT/opt/agentd/releases/$U12"

# ---- channels (local path): signature from another key, expired, mismatching sha256 --------------
mkdir -p "$TMPDIR/rel/channels"
cp "$U" "$TMPDIR/rel/"
cp "$TMPDIR/out/$(basename "$U" .tar.gz).sig" "$TMPDIR/rel/"
# channel EXPIRES SHA256 KEY -> writes rel/channels/stable.json(.sig)
channel() {
	cat >"$TMPDIR/rel/channels/stable.json" <<EOF
{
  "format": 1,
  "channel": "stable",
  "version": "1.5.0",
  "expires": "$1",
  "rollout_percent": 100,
  "platforms": {
    "$PLAT": {
      "bundle": "$(basename "$U")",
      "url": "../$(basename "$U")",
      "sha256": "$2",
      "size": $(wc -c <"$U" | tr -d ' '),
      "fingerprint": "$FU"
    }
  }
}
EOF
	"$B" sign --key "$3" "$TMPDIR/rel/channels/stable.json" --out "$TMPDIR/rel/channels/stable.json.sig" >/dev/null
}
USHA=$(sha256sum "$U" | cut -d' ' -f1)
snap s6
channel 2099-01-01T00:00:00Z "$USHA" other.pem
"$AI" update --root "$ROOT" --channel "$TMPDIR/rel/channels/stable.json" >upd.out 2>&1
check_eq "channel signed by another key refused (exit 1)" 1 "$?"
check "status failed names the channel manifest" grep -q "^MESSAGE=channel manifest .*" "$STATUS"
channel 2020-01-01T00:00:00Z "$USHA" k.pem
"$AI" update --root "$ROOT" --channel "$TMPDIR/rel/channels/stable.json" >upd.out 2>&1
check_eq "expired channel refused (exit 1)" 1 "$?"
check "status failed: expired" grep -q "^MESSAGE=channel manifest expired at 2020-01-01T00:00:00Z" "$STATUS"
channel 2099-01-01T00:00:00Z "$(printf '%064d' 1)" k.pem
"$AI" update --root "$ROOT" --channel "$TMPDIR/rel/channels/stable.json" >upd.out 2>&1
check_eq "bundle whose sha256 does not match the channel refused (exit 1)" 1 "$?"
check "reason sha256-mismatch" grep -q "sha256-mismatch" "$STATUS"
snap s7
check "channel refusals left everything untouched" cmp s6 s7

# ---- --allow-downgrade -------------------------------------------------------------------------
"$AI" update --root "$ROOT" --bundle "$A" --allow-downgrade >upd.out 2>&1
check_eq "downgrade with --allow-downgrade exits 0" 0 "$?"
check_eq "current is 1.3.2" "releases/$A12" "$(cur)"
check_eq "health.json from 1.3.2" "$FA" "$(hfp)"

# ---- a signal during the health check starts the revert ------------------------------------------
"$AI" update --root "$ROOT" --bundle "$U" --allow-downgrade >upd.out 2>&1 &
UP=$!
i=0
while ! grep -q "^STATUS=running" "$STATUS" 2>/dev/null || [ "$(cur)" != "releases/$U12" ]; do
	i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
done
kill -TERM "$UP"
wait "$UP"
rc=$?
check_eq "SIGTERM during the health check: reverted (exit 3)" 3 "$rc"
[ "$rc" -eq 3 ] || sed 's/^/#   /' upd.out
check "status rolled_back: interrupted by signal" grep -q "^MESSAGE=1.5.0 ($U12) interrupted by signal 15; restored 1.3.2 ($A12)$" "$STATUS"
check_eq "1.3.2 current and healthy again" "$FA" "$(hfp)"

# ---- AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE=false ---------------------------------------------
AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE=false "$AI" update --root "$ROOT" --bundle "$U" >upd.out 2>&1
check_eq "rollback disabled: exit 1" 1 "$?"
check "status failed: rollback disabled, 1.5.0 left current" \
	grep -q "^MESSAGE=1.5.0 ($U12) failed health check: .*; rollback disabled, 1.5.0 left current$" "$STATUS"
check_eq "the unhealthy release stays current" "releases/$U12" "$(cur)"
check_fails "no journal left" test -e "$ROOT/opt/agentd/.transaction.json"
check "a manual rollback brings 1.3.2 back" "$AI" rollback --root "$ROOT"
check_eq "1.3.2 healthy" "$FA" "$(hfp)"

# ---- the revert fails too: exit 4 ---------------------------------------------------------------
mv "$SVD/agentd/run" "$TMPDIR/run.saved"
printf '#!/bin/sh
sleep 1
exit 1
' >"$SVD/agentd/run"
chmod 755 "$SVD/agentd/run"
"$AI" update --root "$ROOT" --bundle "$D" >upd.out 2>&1
check_eq "crash-looping service: update and revert both fail (exit 4)" 4 "$?"
check_eq "status rollback_failed" rollback_failed "$(st)"
check "message: restoring 1.3.2 also failed" grep -q "^MESSAGE=1.6.0 ($D12) failed health check: .*; restoring 1.3.2 ($A12) also failed: " "$STATUS"
check_eq "current left on the old release" "releases/$A12" "$(cur)"
mv "$TMPDIR/run.saved" "$SVD/agentd/run"
check "the service recovers once its run script is back" "$SUP" restart
i=0
# (the new agentd's own health.json: the crash-looping one left the old file behind)
while { [ "$(hfp)" != "$FA" ] || [ -z "$(svpid)" ] || [ "$(hpid)" != "$(svpid)" ]; } && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
check_eq "1.3.2 healthy again" "$FA" "$(hfp)"
check_eq "health.json is the restarted agentd's" "$(svpid)" "$(hpid)"
"$AI" update --root "$ROOT" --bundle "$E" >upd.out 2>&1
check_eq "an update after all that works (exit 0)" 0 "$?"

# ---- usage -------------------------------------------------------------------------------------
"$AI" update --root "$ROOT" --from-request --allow-downgrade >/dev/null 2>&1
check_eq "--from-request with --allow-downgrade is a usage error" 2 "$?"
"$AI" update --root "$ROOT" --from-request --insecure-no-signature >/dev/null 2>&1
check_eq "--from-request with --insecure-no-signature is a usage error" 2 "$?"
mkdir -p "$TMPDIR/empty"
"$AI" update --root "$TMPDIR/empty" --bundle "$Bn" >upd.out 2>&1
check_eq "nothing installed: exit 1" 1 "$?"
check "says nothing installed" grep -q "nothing installed; use agent-install install" upd.out

check "stop through the sv wrapper" "$SUP" stop
done_testing
