#!/bin/sh
# Crash consistency of agent-install update (spec bundle-install-update.md
# §14, §24.2, §24.3): for every crash point (AGENT_INSTALL_TEST_CRASH_AT) the
# update is killed with SIGKILL; `current` then passes the release re-check,
# and `agent-install recover` ends in a consistent state with the expected
# status: before the switch -> failed, old release current; after the switch
# (after-switch, after-restart, mid-health) and mid-revert -> reverted, old
# release running and healthy (exit 3).  Three interrupted attempts of one
# request make the next run consume it.  A real runit supervisor runs the
# real `agentd run` under the root through --service command=<sv wrapper>.
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
FA=$(fp "$A"); FB=$(fp "$Bn")
A12=$(printf %.12s "$FA"); B12=$(printf %.12s "$FB")

# ---- runit: the supervised service is the real `agentd run` under the root ---
start_runit

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

REQ="$ROOT/var/lib/agentd/remote-update.request"
ATT="$ROOT/opt/agentd/.request-attempts"
CH="$TMPDIR/rel/channels/stable.json"
mkdir -p "$TMPDIR/rel/channels"
# offer BUNDLE VERSION: a local channel for it, signed with k.pem
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
request() {
	printf 'REQUESTED_AT=%s\nWORKER_ID=worker-0042\nSOURCE=channel\nCHANNEL_URL=%s\n' "$1" "$CH" \
		>"$REQ.tmp.$$"
	mv "$REQ.tmp.$$" "$REQ"
}

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"
check "install 1.3.2 through the sv wrapper" \
	"$AI" install --root "$ROOT" --bundle "$A" --pubkey k.pub --service "command=$SUP"
offer "$Bn" 1.4.0

# recheck DIR: §16.2 cross-checked with coreutils -- the MANIFEST hashes to
# the directory's name and every listed file has its hash
recheck() {
	[ "$(sha256sum "$1/MANIFEST" | cut -c1-12)" = "$(basename "$1")" ] || return 1
	awk 'length($1) == 64 && NF == 4 { print $1 "  " $4 }' "$1/MANIFEST" >"$TMPDIR/sums"
	[ -s "$TMPDIR/sums" ] && (cd "$1" && sha256sum -c --quiet "$TMPDIR/sums")
}

# crash POINT EXPECTED_RECOVER_EXIT EXPECTED_STATUS
crash() {
	pt=$1
	AGENT_INSTALL_TEST_CRASH_AT=$pt "$AI" update --root "$ROOT" --channel "$CH" >c.out 2>&1
	rc=$?
	check_eq "$pt: the update was killed (SIGKILL)" 137 "$rc"
	c=$(cur)
	check "$pt: current ($c) passes the release re-check (sha256sum -c)" recheck "$ROOT/opt/agentd/$c"
	"$AI" recover --root "$ROOT" >r.out 2>&1
	rc=$?
	check_eq "$pt: recover exits $2" "$2" "$rc"
	[ "$rc" = "$2" ] || sed 's/^/#   /' r.out
	check_eq "$pt: status $3" "$3" "$(st)"
	check_eq "$pt: 1.3.2 is current" "releases/$A12" "$(cur)"
	check_fails "$pt: no journal left" test -e "$ROOT/opt/agentd/.transaction.json"
	check "$pt: agentd supervised and active" "$SUP" is-active
	if [ "$3" = rolled_back ]; then
		check_eq "$pt: 1.3.2 running and healthy again" "$FA" "$(hfp)"
		check_eq "$pt: health.json pid is the supervised agentd" "$(svpid)" "$(hpid)"
	fi
	check "$pt: installed.json describes 1.3.2" grep -q "^  \"fingerprint\": \"$FA\"" "$ROOT/opt/agentd/installed.json"
	check "$pt: runtime.env names 1.3.2" grep -q "^AGENT_BUNDLE_NAME=.*-1.3.2-$A12\$" "$ROOT/etc/agentd/runtime.env"
	check "$pt: status --verify passes after recovery" "$AI" status --root "$ROOT" --verify
}

for pt in after-download after-verify mid-unpack after-unpack after-self-test mid-switch; do
	crash $pt 0 failed
done
for pt in after-switch after-restart mid-health; do
	crash $pt 3 rolled_back
done

# mid-revert: a release that never becomes healthy, killed while reverting
offer "$U" 1.5.0
crash mid-revert 3 rolled_back
check "mid-revert: recovery finished the revert" grep -q "finished an interrupted revert" r.out

# ---- three interrupted attempts of one request -------------------------------------------------
offer "$Bn" 1.4.0
request 2026-03-01T11:59:00Z
for n in 1 2 3; do
	# (a point that the recovery at the start of the next run does not pass)
	AGENT_INSTALL_TEST_CRASH_AT=after-unpack "$AI" update --root "$ROOT" --from-request >c.out 2>&1
	check_eq "attempt $n killed" 137 "$?"
	check "attempt $n: request still there" test -e "$REQ"
	check "attempt $n recorded" grep -q "^ATTEMPTS=$n\$" "$ATT"
done
"$AI" update --root "$ROOT" --from-request >c.out 2>&1
check_eq "the run after three interrupted attempts gives up (exit 1)" 1 "$?"
check "status failed: giving up" grep -q "^MESSAGE=giving up after 3 interrupted attempts$" "$STATUS"
check_fails "request consumed" test -e "$REQ"
check_fails "attempts file removed" test -e "$ATT"
check_eq "1.3.2 current after recovery of the last attempt" "releases/$A12" "$(cur)"
check_eq "1.3.2 running and healthy" "$FA" "$(hfp)"

# an interrupted request is retried by the next run, which succeeds
request 2026-03-01T12:30:00Z
AGENT_INSTALL_TEST_CRASH_AT=after-unpack "$AI" update --root "$ROOT" --from-request >c.out 2>&1
check_eq "interrupted request: killed" 137 "$?"
"$AI" update --root "$ROOT" --from-request >c.out 2>&1
check_eq "the next run recovers and retries: exit 0" 0 "$?"
check_eq "1.4.0 current" "releases/$B12" "$(cur)"
check_eq "status success" success "$(st)"
check_fails "request consumed" test -e "$REQ"

# ---- an update killed after `running` and before its journal ----------------------------------
printf 'STATUS=running\nUPDATED_AT=2026-03-01T12:31:00Z\nMESSAGE=update started\n' >"$STATUS"
"$AI" recover --root "$ROOT" >r.out 2>&1
check_eq "running without a journal: recover exits 0" 0 "$?"
check_eq "running without a journal: status failed" failed "$(st)"
check "running without a journal: the message says what happened" \
	grep -qx "MESSAGE=an update was interrupted before the switch; $B12 stays current" "$STATUS"
check_eq "running without a journal: 1.4.0 still current" "releases/$B12" "$(cur)"
"$AI" recover --root "$ROOT" >r.out 2>&1
check "a second recover has nothing to do" grep -q "nothing to recover" r.out

# ---- SIGKILL at every commit point of an update, injected by strace -----------------------------
# The update 1.3.2 -> 1.4.0 is killed at the Nth call of fsync, rename,
# symlink and unlink, for every N the updater itself makes (strace without -f:
# the sv wrapper and the self-test run untraced).  After each kill, `recover`
# leaves one consistent installation: current passes the re-check,
# installed.json, health.json and runtime.env all name it, the supervised
# agentd is healthy, no journal and no leftovers; then rollback resets to 1.3.2.
. "$AGENT_SRC/tests/integration/lib/kill-sweep.sh"
if kill_sweep_ready "SIGKILL at every fsync/rename/symlink/unlink of an update"; then
	offer "$Bn" 1.4.0
	# consistent: one release named by current, installed.json, health.json and
	# runtime.env; the supervised agentd runs it
	consistent() {
		c=$(cur)
		recheck "$ROOT/opt/agentd/$c" || { echo "current $c fails the re-check"; return 1; }
		f=$(sha256sum "$ROOT/opt/agentd/$c/MANIFEST" | cut -d' ' -f1)
		grep -q "^  \"fingerprint\": \"$f\"" "$ROOT/opt/agentd/installed.json" ||
			{ echo "installed.json does not describe $c"; return 1; }
		grep -q "^AGENT_BUNDLE_NAME=.*-${c#releases/}\$" "$ROOT/etc/agentd/runtime.env" ||
			{ echo "runtime.env does not name $c"; return 1; }
		"$SUP" is-active || { echo "agentd not supervised and active"; return 1; }
		[ "$(hfp)" = "$f" ] && [ "$(hpid)" = "$(svpid)" ] ||
			{ echo "health.json names $(hfp) (pid $(hpid)), not $f (pid $(svpid))"; return 1; }
		[ ! -e "$ROOT/opt/agentd/.transaction.json" ] || { echo "journal left"; return 1; }
		left=$(find "$ROOT/opt/agentd" "$ROOT/etc" "$ROOT/var/lib/agentd" \
			-name '*.partial' -o -name '*.tmp.*' -o -path '*/.incoming/*')
		[ -z "$left" ] || { echo "leftovers: $left"; return 1; }
		case $(st) in success | failed | rolled_back) ;; *) echo "status $(st)"; return 1 ;; esac
	}
	bad=0 bad_reset=0 counted=
	# every run starts from 1.3.2 (1.4.0 is current now: the first reset rolls back)
	ks_setup() {
		if [ "$1" != count ] && [ -z "$counted" ]; then
			counted=1
			check_eq "sweep: the traced (counting) update succeeds" "success releases/$B12" "$(st) $(cur)"
		fi
		[ "$(cur)" = "releases/$A12" ] && return 0
		"$AI" rollback --root "$ROOT" >c.out 2>&1
		[ "$(cur)" = "releases/$A12" ] || {
			bad_reset=$((bad_reset + 1))
			echo "# before SIGKILL at $1 call $2: rollback to 1.3.2 failed"
			sed 's/^/#   /' c.out | tail -n 3
		}
	}
	ks_run() { "$@" "$AI" update --root "$ROOT" --channel "$CH" >c.out 2>&1; }
	ks_after() {
		"$AI" recover --root "$ROOT" >r.out 2>&1
		rc=$?
		why=$(consistent)
		if [ -n "$why" ] || { [ $rc != 0 ] && [ $rc != 3 ]; }; then
			bad=$((bad + 1))
			echo "# SIGKILL at $1 call $2: recover exit $rc; $why"
			sed 's/^/#   /' r.out | tail -n 3
		fi
	}
	kill_sweep fsync,rename,renameat,symlink,unlink,unlinkat
	check_eq "after a SIGKILL at each of $ks_runs system calls of an update and recover, one consistent healthy release" 0 "$bad"
	check_eq "every injected kill landed" "$ks_runs" "$ks_killed"
	check_eq "rollback to 1.3.2 before each run" 0 "$bad_reset"
fi

check "stop through the sv wrapper" "$SUP" stop
done_testing
