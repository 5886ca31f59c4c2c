#!/bin/sh
# Crash consistency of install and rollback (spec bundle-install-update.md
# §14, §24.2, §24.3): AGENT_INSTALL_TEST_CRASH_AT makes agent-install SIGKILL
# itself at a point; afterwards `current` passes the release re-check, and
# `agent-install recover` ends in a consistent state (the release that was
# current before, no leftovers), after which the same install succeeds.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

AI="$AGENT_BIN/agent-install"
B="$AGENT_BIN/agent-bundle"
SDE=1772366400
[ -x "$AI" ] && [ -x "$B" ] || skip_all "agent-install or agent-bundle not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
[ -x "$AGENT_BIN/agentd" ] || skip_all "agentd not built"
unset AGENTD_ROOT

make_inputs() {
	mkdir -p "$1/bin" "$1/env" "$1/runit/agentd" "$1/runit/agentd-remote-update" "$1/systemd"
	cp "$AGENT_BIN/agentd" "$1/bin/agentd" # the real agentd (its self-test runs)
	cp "$AI" "$1/bin/agent-install"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s %s\n' "$f" "$2" >"$1/$f"
	done
	for f in env/runtime.env.template systemd/agentd.service \
		systemd/agentd-remote-update.path systemd/agentd-remote-update.service; do
		printf '# %s %s\n' "$f" "$2" >"$1/$f"
	done
}
openssl ecparam -genkey -name prime256v1 -noout -out k.pem 2>/dev/null
openssl ec -in k.pem -pubout -out k.pub 2>/dev/null
mkdir out
make_inputs in1 1.4.0
make_inputs in2 1.5.0
N1=$("$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in1 --out out \
	--source-date-epoch $SDE --sign k.pem) || skip_all "agent-bundle build failed"
N2=$("$B" build --version 1.5.0 --platform linux-x86_64 --input-dir in2 --out out \
	--source-date-epoch $SDE --sign k.pem)
F1=$(printf %s "$N1" | sed 's/.*-//')
F2=$(printf %s "$N2" | sed 's/.*-//')

BASE="$TMPDIR/base"
mkdir "$BASE"
"$AI" install --bundle "out/$N1.tar.gz" --root "$BASE" --pubkey k.pub --service none \
	>/dev/null 2>&1 || skip_all "base install failed"

no_leftovers() {
	r=$1
	[ -z "$(find "$r/opt/agentd" -name '*.partial' -o -name 'current.tmp.*' -o -name '*.tmp.*')" ] &&
		[ -z "$(ls -A "$r/opt/agentd/releases/.incoming")" ] &&
		[ ! -e "$r/opt/agentd/.transaction.json" ]
}

# crash_case POINT WANT_RECOVER_EXIT
crash_case() {
	p=$1 want=$2 R="$TMPDIR/r-$1"
	cp -a "$BASE" "$R"
	AGENT_INSTALL_TEST_CRASH_AT=$p "$AI" install --bundle "out/$N2.tar.gz" --root "$R" \
		--service none >"$R.out" 2>&1
	check_eq "install killed at $p" 137 "$?"
	cur=$(readlink "$R/opt/agentd/current" | sed 's|releases/||')
	check "$p: current ($cur) passes the re-check" "$AI" status --root "$R" --verify
	"$AI" recover --root "$R" >"$R.rec" 2>&1
	check_eq "$p: recover exits $want" "$want" "$?"
	check_eq "$p: 1.4.0 current after recovery" "releases/$F1" "$(readlink "$R/opt/agentd/current")"
	check "$p: installed.json names 1.4.0" grep -q '"version": "1.4.0",' "$R/opt/agentd/installed.json"
	check "$p: no leftovers" no_leftovers "$R"
	check "$p: the install then succeeds" "$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none
	check_eq "$p: 1.5.0 current" "releases/$F2" "$(readlink "$R/opt/agentd/current")"
	rm -rf "$R"
}

crash_case after-download 0
crash_case after-verify 0
crash_case mid-unpack 0
crash_case after-unpack 0
crash_case after-self-test 0
crash_case mid-switch 0
crash_case after-switch 3

# a crash is also recovered by the next mutating command (install recovers first)
R="$TMPDIR/r-next"
cp -a "$BASE" "$R"
AGENT_INSTALL_TEST_CRASH_AT=mid-unpack "$AI" install --bundle "out/$N2.tar.gz" --root "$R" \
	--service none >/dev/null 2>&1
check "the next install recovers and succeeds" "$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none
check "no leftovers after it" no_leftovers "$R"

# rollback killed after the switch: recover restores the release it started from
AGENT_INSTALL_TEST_CRASH_AT=after-switch "$AI" rollback --root "$R" >/dev/null 2>&1
check_eq "rollback killed after the switch" 137 "$?"
check_eq "rollback had switched to 1.4.0" "releases/$F1" "$(readlink "$R/opt/agentd/current")"
"$AI" recover --root "$R" >rec.out 2>&1
check_eq "recover reverts the interrupted rollback (exit 3)" 3 "$?"
check_eq "1.5.0 current again" "releases/$F2" "$(readlink "$R/opt/agentd/current")"
check "status file says rolled_back" grep -qx 'STATUS=rolled_back' "$R/var/lib/agentd/remote-update.status"

done_testing
