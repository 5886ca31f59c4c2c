#!/bin/sh
# agent-install update --from-request and agent-install watch (spec
# bundle-install-update.md §13.2-§13.4, §14.4, §15.1, §15.5, §24.3) with a
# real runit supervisor running the real `agentd run` under the root, driven
# through --service command=<wrapper around sv>.  Requests name a local,
# signed channel.  Covers: no request; watch --once; a running watch reacting
# to a request written by rename (and re-executing the new agent-install);
# malformed request; no source; disabled; a health failure is rolled back and
# not retried from a request; three interrupted attempts; an empty trusted
# set refused for --from-request.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

. "$AGENT_SRC/tests/integration/lib/update-fixture.sh"

# Deliberately broken stand-ins (the real agentd is used everywhere else; the
# bundle rules want an ELF bin/agentd, so they are built here): "unhealthy"
# passes its self-test but its `run` exits at once and never writes
# health.json.
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

A=$(make_bundle 1.3.2 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
Bn=$(make_bundle 1.4.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
U=$(make_bundle 1.5.0 agentd-unhealthy) || skip_all "agent-bundle build failed"
C=$(make_bundle 1.6.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
FA=$(fp "$A"); FB=$(fp "$Bn"); FU=$(fp "$U"); FC=$(fp "$C")
A12=$(printf %.12s "$FA"); B12=$(printf %.12s "$FB"); U12=$(printf %.12s "$FU"); C12=$(printf %.12s "$FC")

# ---- runit: the supervised service is the real `agentd run` under the root ---
start_runit

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

REQ="$ROOT/var/lib/agentd/remote-update.request"
ATT="$ROOT/opt/agentd/.request-attempts"
CH="$TMPDIR/rel/channels/stable.json"
mkdir -p "$TMPDIR/rel/channels"

# offer BUNDLE VERSION: a channel manifest for it, signed with k.pem
offer() {
	cp "$1" "$TMPDIR/out/$(basename "$1" .tar.gz).sig" "$TMPDIR/rel/"
	cat >"$CH" <<EOF
{
  "format": 1,
  "channel": "stable",
  "version": "$2",
  "expires": "2099-01-01T00:00:00Z",
  "rollout_percent": 100,
  "platforms": {
    "$PLAT": {
      "bundle": "$(basename "$1")",
      "url": "../$(basename "$1")",
      "sha256": "$(sha256sum "$1" | cut -d' ' -f1)",
      "size": $(wc -c <"$1" | tr -d ' '),
      "fingerprint": "$(fp "$1")"
    }
  }
}
EOF
	"$B" sign --key k.pem "$CH" --out "$CH.sig" >/dev/null
}
# request [KEY=VALUE...]: written by rename like agentd run does (§15.1)
request() {
	{
		printf 'REQUESTED_AT=%s\nWORKER_ID=worker-0042\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$ROOT/var/lib/agentd/.remote-update.request.tmp.$$"
	mv "$ROOT/var/lib/agentd/.remote-update.request.tmp.$$" "$REQ"
}

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"
check "install 1.3.2 through the sv wrapper" \
	"$AI" install --root "$ROOT" --bundle "$A" --pubkey k.pub --service "command=$SUP"
check_eq "health.json shows 1.3.2" "$FA" "$(hfp)"

# ---- no request ----------------------------------------------------------------------------
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "no request: exit 0" 0 "$?"
check "says no update request" grep -q "no update request" upd.out
check_fails "no request: status file not written" test -e "$STATUS"
"$AI" watch --root "$ROOT" --once >upd.out 2>&1
check_eq "watch --once without a request: exit 0" 0 "$?"

# ---- malformed request and no source --------------------------------------------------------
printf 'WORKER_ID=worker-0042\n' >"$REQ"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "malformed request: exit 1" 1 "$?"
check_eq "malformed request: status failed" failed "$(st)"
check_fails "malformed request consumed" test -e "$REQ"
request
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "request without a source: exit 1" 1 "$?"
check "status failed: no update source" grep -q "^MESSAGE=no update source (set AGENTD_CHANNEL_URL)$" "$STATUS"
check_fails "request consumed" test -e "$REQ"

# ---- disabled -----------------------------------------------------------------------------------
offer "$Bn" 1.4.0
request "CHANNEL_URL=$CH"
AGENT_REMOTE_UPDATE_ENABLED=false "$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "remote updates disabled: exit 1" 1 "$?"
check "status failed: disabled" grep -q "^MESSAGE=remote updates are disabled (AGENT_REMOTE_UPDATE_ENABLED=false)$" "$STATUS"
check_fails "disabled: request consumed" test -e "$REQ"
check_eq "disabled: still 1.3.2" "releases/$A12" "$(cur)"

# ---- watch --once runs the update ---------------------------------------------------------------
request "CHANNEL_URL=$CH" SOURCE=channel VERSION=1.4.0 "FINGERPRINT=$FB"
"$AI" watch --root "$ROOT" --once >watch.out 2>&1
rc=$?
check_eq "watch --once runs update --from-request: exit 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' watch.out
check "watch logged the run's exit status" grep -q "exited with status 0" watch.out
check_eq "current is 1.4.0" "releases/$B12" "$(cur)"
check_eq "status success" success "$(st)"
check_eq "health.json from 1.4.0" "$FB" "$(hfp)"
check_fails "request consumed" test -e "$REQ"
check_fails "attempts file removed" test -e "$ATT"

# ---- a health failure is rolled back and not retried from a request ---------------------------------
offer "$U" 1.5.0
request "CHANNEL_URL=$CH"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "unhealthy release from a request: exit 3" 3 "$?"
check_eq "status rolled_back" rolled_back "$(st)"
check_eq "1.4.0 is current again" "releases/$B12" "$(cur)"
check_eq "1.4.0 running and healthy" "$FB" "$(hfp)"
check_fails "request consumed" test -e "$REQ"
request "CHANNEL_URL=$CH"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "the failed release is not retried from a request: exit 1" 1 "$?"
check "status failed: not retrying" grep -q "^MESSAGE=1.5.0 ($U12) failed on this host at .*; not retrying$" "$STATUS"
check_fails "request consumed" test -e "$REQ"

# ---- three interrupted attempts ----------------------------------------------------------------
offer "$C" 1.6.0
request "CHANNEL_URL=$CH"
printf 'REQUESTED_AT=%s\nATTEMPTS=3\n' "$(sed -n 's/^REQUESTED_AT=//p' "$REQ")" >"$ATT"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "after three interrupted attempts: exit 1" 1 "$?"
check "status failed: giving up" grep -q "^MESSAGE=giving up after 3 interrupted attempts$" "$STATUS"
check_fails "request consumed" test -e "$REQ"
check_fails "attempts file removed" test -e "$ATT"

# ---- a running watch reacts to a request written by rename ------------------------------------------
"$AI" watch --root "$ROOT" >watch.out 2>&1 &
WPID=$!
i=0
while ! grep -q watching watch.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
request "CHANNEL_URL=$CH" SOURCE=channel VERSION=1.6.0
i=0
while { [ -e "$REQ" ] || [ "$(st)" != success ]; } && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
check_eq "watch: status success" success "$(st)"
check_fails "watch: request consumed" test -e "$REQ"
check_eq "watch: current is 1.6.0" "releases/$C12" "$(cur)"
check_eq "watch: 1.6.0 running and healthy" "$FC" "$(hfp)"
i=0
while ! grep -q "re-executing" watch.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
check "watch re-executes the new agent-install after a change" grep -q "re-executing .*/opt/agentd/bin/agent-install watch" watch.out
i=0
while [ "$(grep -c watching watch.out)" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM "$WPID"
wait "$WPID"
check_eq "watch exits 0 on SIGTERM" 0 "$?"

# ---- empty trusted set: refused for --from-request ------------------------------------------------------
mv "$ROOT/etc/agentd/trusted.pem" "$TMPDIR/trusted.saved"
request "BUNDLE_URL=$Bn"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "no trusted keys: refused (exit 1)" 1 "$?"
check "status failed: no-trusted-key" grep -q "no-trusted-key" "$STATUS"
check_eq "no trusted keys: 1.6.0 still current" "releases/$C12" "$(cur)"
mv "$TMPDIR/trusted.saved" "$ROOT/etc/agentd/trusted.pem"

# ---- a request that is a symbolic link is never followed ----------------------------------------
printf 'REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\nCHANNEL_URL=%s\n' "$CH" >"$TMPDIR/elsewhere"
ln -s "$TMPDIR/elsewhere" "$REQ"
"$AI" update --root "$ROOT" --from-request >upd.out 2>&1
check_eq "symlinked request: exit 1" 1 "$?"
check "status failed: unusable update request" grep -q "^MESSAGE=unusable update request" "$STATUS"
check_fails "the link was removed" test -L "$REQ"
check "its target is untouched" test -s "$TMPDIR/elsewhere"
check_eq "1.6.0 still current" "releases/$C12" "$(cur)"

check "stop through the sv wrapper" "$SUP" stop
done_testing
