#!/bin/sh
# agentd scan holds a shared flock on <root>/run/agentd/scan.lock while it
# runs (bundle-install-update.md §15.2), so agentd run's channel poller waits
# for idle workers; without /run/agentd the scan runs unlocked.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"
command -v flock >/dev/null 2>&1 || skip_all "flock (util-linux) not installed"

R=$TMPDIR/root
S=$TMPDIR/s
mkdir -p "$R/run/agentd" "$S/out"
cp "$stub" "$S/scanner"
inv="{\"target_range\":\"10.0.0.0-10.0.0.3\",\"ports\":\"80\",\"rate_limit\":0,\"output_path\":\"$S/out/o.out\"}"
scan_bg() {
	printf '%s' "$inv" | env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" \
		SCANNER_BIN="$S/scanner" AWS_EC2_METADATA_DISABLED=true STUB_SLEEP=3 \
		ANYSCAN_DYNAMIC_RATE_ENABLED=false "$agentd" scan "$@" >"$S/stdout" 2>"$S/stderr" &
	pid=$!
}
lock=$R/run/agentd/scan.lock

scan_bg --root "$R"
i=0
while [ ! -f "$S/calls.log" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "the scanner was started" test -f "$S/calls.log"
check "scan.lock exists while scanning" test -f "$lock"
check_fails "an exclusive lock is refused while the scan runs" flock -n -x "$lock" true
check "another shared lock is granted (scans do not exclude each other)" flock -n -s "$lock" true
wait "$pid"
check_eq "the scan finished" 0 "$?"
check "the exclusive lock is free after the scan" flock -n -x "$lock" true

# no /run/agentd: the scan runs and creates nothing
R2=$TMPDIR/bare
mkdir -p "$R2"
rm -f "$S/calls.log"
scan_bg --root "$R2"
wait "$pid"
check_eq "a host without /run/agentd scans unlocked" 0 "$?"
check_fails "and no lock file appears" test -e "$R2/run/agentd/scan.lock"
done_testing
