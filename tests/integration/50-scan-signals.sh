#!/bin/sh
# agentd scan, single NIC, signals (scan.md §11.1, §11.3, §15.1) with the
# stub scanner: NB-04 (runner part), NB-07, NB-08 (static part), NB-15.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$agentd" ] || skip_all "agentd not built"
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"

n=0
new_case() {
	n=$((n + 1)); S=$TMPDIR/case$n; mkdir -p "$S/out"; cp "$stub" "$S/scanner"
	printf '%s' '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":0}' >"$S/inv.json"
}
# start VAR=VALUE...: agentd scan in the background ($pid), static mode
start() {
	env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" SCANNER_BIN="$S/scanner" \
		ANYSCAN_DYNAMIC_RATE_ENABLED=false "$@" "$agentd" scan <"$S/inv.json" \
		>"$S/stdout" 2>"$S/stderr" &
	pid=$!
	i=0
	while [ $i -lt 100 ] && ! [ -s "$S/pids.log" ]; do sleep 0.05; i=$((i + 1)); done
	sleep 0.2
}
has() { grep -q -e "$1" "$2"; }
sigs() { if [ -f "$S/signals.log" ]; then awk '{print $2}' "$S/signals.log" | tr '\n' ' '; fi; }
none_left() {
	[ -f "$S/pids.log" ] || return 0
	while read -r p; do kill -0 "$p" 2>/dev/null && return 1; done <"$S/pids.log"
	return 0
}

# ---- §15.1: SIGTERM -> the scanner's first signal is SIGINT; exit 143
new_case
start ANYSCAN_SHUTDOWN_GRACE_SECONDS=2 STUB_SLEEP=30 STUB_TRAP_INT=exit STUB_PERSIST_SECONDS=0.3 \
	STUB_ENDPOINTS=10.0.0.1:80
kill -TERM $pid; wait $pid; rc=$?
check_eq "NB-08 SIGTERM: exit 143" 143 "$rc"
check_eq "NB-08 the scanner's first signal is SIGINT" "INT " "$(sigs)"
check_eq "the scanner finished its persist" 1 "$(find "$S" -name 'persisted.*' | wc -l | tr -d ' ')"
check_eq "no endpoints after a signal" "" "$(cat "$S/stdout")"
check "nobody left" none_left
check_eq "temp <out> removed" "" "$(find "$S" -name 'exposure-vulnscanner-*')"

# SIGINT -> 130
new_case
start ANYSCAN_SHUTDOWN_GRACE_SECONDS=2 STUB_SLEEP=30 STUB_TRAP_INT=exit
kill -INT $pid; wait $pid; rc=$?
check_eq "SIGINT: exit 130" 130 "$rc"

# ---- NB-04 (single-NIC runner): a scanner that ignores SIGINT and SIGTERM
# gets SIGINT, SIGTERM after g, SIGKILL after 2g
new_case
start ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5 STUB_SLEEP=30 STUB_TRAP_INT=ignore STUB_TRAP_TERM=ignore
kill -TERM $pid; wait $pid; rc=$?
check_eq "NB-04 exit 143" 143 "$rc"
check_eq "NB-04 order: INT then TERM" "INT TERM " "$(sigs)"
gap=$(awk 'NR == 1 { a = $3 } NR == 2 { print $3 - a }' "$S/signals.log")
# (measured by the stub's handlers, which a loaded machine may run late:
# 200 ms of slack, still far from no grace at all)
check "NB-04 SIGTERM about g after SIGINT ($gap ms >= 300)" test "${gap:-0}" -ge 300
check "NB-04 nobody left (SIGKILL)" none_left
# a scanner that exits on SIGINT gets nothing further
new_case
start ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5 STUB_SLEEP=30 STUB_TRAP_INT=exit
kill -TERM $pid; wait $pid
sleep 1
check_eq "NB-04 exits on SIGINT: nothing further" "INT " "$(sigs)"

# ---- NB-07: a second signal SIGKILLs the scanner at once
new_case
start ANYSCAN_SHUTDOWN_GRACE_SECONDS=5 STUB_SLEEP=30 STUB_TRAP_INT=ignore STUB_TRAP_TERM=ignore
kill -INT $pid
sleep 0.5
kill -TERM $pid; wait $pid; rc=$?
check_eq "NB-07 exit code from the first signal (130)" 130 "$rc"
check_eq "NB-07 the scanner saw SIGINT only (then SIGKILL)" "INT " "$(sigs)"
check "NB-07 nobody left" none_left

# ---- NB-15: agentd started with SIGINT ignored; the scanner still gets SIGINT
new_case
printf '%s' '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":0}' >"$S/inv.json"
env -i PATH=/usr/bin:/bin TMPDIR="$S" STUB_DIR="$S" SCANNER_BIN="$S/scanner" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false ANYSCAN_SHUTDOWN_GRACE_SECONDS=2 STUB_SLEEP=30 \
	STUB_TRAP_INT=exit sh -c "trap '' INT; exec '$agentd' scan" <"$S/inv.json" \
	>"$S/stdout" 2>"$S/stderr" &
pid=$!
i=0
while [ $i -lt 100 ] && ! [ -s "$S/pids.log" ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
kill -TERM $pid; wait $pid; rc=$?
check_eq "NB-15 exit 143" 143 "$rc"
check_eq "NB-15 the scanner handled SIGINT" "INT " "$(sigs)"
check "NB-15 nobody left" none_left

done_testing
