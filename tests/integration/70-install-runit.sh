#!/bin/sh
# install, rollback and update with a real runit supervisor (spec
# bundle-install-update.md §11.3, §11.4, §13.5, §16.1): runsvdir supervises
# the real `agentd run` of the current release (under the root through
# AGENTD_ROOT); agent-install drives it through --service command=PATH with a
# small wrapper around sv.  Every restart is seen in `sv status` (a new pid)
# and in health.json (the release's fingerprint and that pid).  Bundles are
# built with the real agent-bundle.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
. "$AGENT_SRC/tests/integration/lib/update-fixture.sh"

BA=$(make_bundle 1.3.2 "$AGENT_BIN/agentd") && BB=$(make_bundle 1.4.0 "$AGENT_BIN/agentd") &&
	BC=$(make_bundle 1.5.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
FA=$(fp "$BA"); FB=$(fp "$BB"); FC=$(fp "$BC")
A=$(printf %.12s "$FA"); C=$(printf %.12s "$FC")

# the runit service: the real agentd run of the current release, under the root
start_runit
printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=30 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"
# seen WHAT FP OLDPID: sv shows a new pid, and health.json that pid and FP
seen() {
	p=$(svpid)
	check "$1: sv status shows agentd restarted (pid $p, was $3)" test -n "$p" -a "$p" != "$3"
	check_eq "$1: health.json fingerprint" "$2" "$(hfp)"
	check_eq "$1: health.json pid is sv's pid" "$p" "$(hpid)"
}

check "install 1.3.2 starts agentd through the sv wrapper" \
	"$AI" install --root "$ROOT" --bundle "$BA" --pubkey k.pub --service "command=$SUP"
seen "install 1.3.2" "$FA" none
check "runit reports agentd running" "$SUP" is-active
out=$("$AI" status --root "$ROOT" --json)
check "status sees the runit-supervised agentd as active" \
	sh -c "printf '%s' '$out' | tr -d '\n ' | grep -q '\"active\":true'"

p=$(svpid)
check "install 1.4.0 restarts through runit and passes the health check" \
	"$AI" install --root "$ROOT" --bundle "$BB" --service "command=$SUP"
seen "install 1.4.0" "$FB" "$p"

p=$(svpid)
check "rollback restarts through runit and passes the health check" "$AI" rollback --root "$ROOT"
check_eq "current is the previous release" "releases/$A" "$(readlink "$ROOT/opt/agentd/current")"
seen "rollback to 1.3.2" "$FA" "$p"
check_eq "status rolled_back" "STATUS=rolled_back" "$(head -n 1 "$STATUS")"

p=$(svpid)
check "rollback back" "$AI" rollback --root "$ROOT"
seen "rollback to 1.4.0" "$FB" "$p"

p=$(svpid)
check "update to 1.5.0 restarts through runit and passes the health check" \
	"$AI" update --root "$ROOT" --bundle "$BC"
check_eq "current is 1.5.0" "releases/$C" "$(readlink "$ROOT/opt/agentd/current")"
seen "update to 1.5.0" "$FC" "$p"
check_eq "status success" "STATUS=success" "$(head -n 1 "$STATUS")"

# a supervised crash loop never passes: the run script exits at once
mv "$SVD/agentd/run" "$TMPDIR/run.saved"
printf '#!/bin/sh\nsleep 1\nexit 1\n' >"$SVD/agentd/run"
chmod 755 "$SVD/agentd/run"
sed -i 's/TIMEOUT_SECONDS=30/TIMEOUT_SECONDS=10/' "$ROOT/etc/agentd/runtime.env"
"$AI" rollback --root "$ROOT" >rb.out 2>&1
check_eq "crash-looping service: rollback and restore both fail (exit 4)" 4 "$?"
check_eq "status rollback_failed" "STATUS=rollback_failed" "$(head -n 1 "$STATUS")"
check_eq "current left on the original release" "releases/$C" "$(readlink "$ROOT/opt/agentd/current")"
mv "$TMPDIR/run.saved" "$SVD/agentd/run"

check "stop through the sv wrapper" "$SUP" stop
done_testing
