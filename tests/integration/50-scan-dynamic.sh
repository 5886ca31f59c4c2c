#!/bin/sh
# agentd scan, dynamic (AIMD) mode with the anyscan engine and the stub
# scanner (scan.md §11.4, §12.3-§12.6): NB-01, NB-02, NB-08, NB-09, NB-11
# (dynamic), NB-16, the window-2 argv of §5 and the §12.6 example.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$agentd" ] || skip_all "agentd not built"
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"

n=0
new_case() {
	n=$((n + 1)); S=$TMPDIR/case$n; mkdir -p "$S/out"; cp "$stub" "$S/scanner"
}
# every dynamic case: 1 s windows, no IMDS, a NIC that does not exist
run_env() {
	exec env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" \
		SCANNER_BIN="$S/scanner" ANYSCAN_INSTANCE_TYPE=c6in.xlarge \
		ANYSCAN_RATE_WINDOW_SECONDS=1 ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5 \
		ANYSCAN_RATE_CALIBRATION_PATH="$S/calib.json" SCANNER_INTERFACE=agtnone0 "$@"
}
scan() {
	json=$1; shift
	printf '%s' "$json" | run_env "$@" "$agentd" scan >"$S/stdout" 2>"$S/stderr"
	rc=$?
}
calls() { if [ -f "$S/calls.log" ]; then wc -l <"$S/calls.log" | tr -d ' '; else echo 0; fi; }
has() { grep -q -e "$1" "$2"; }
line() { sed -n "${1}p" "$2"; }
none_left() {
	[ -f "$S/pids.log" ] || return 0
	while read -r p; do kill -0 "$p" 2>/dev/null && return 1; done <"$S/pids.log"
	return 0
}

# ---- §12.6 / NB-01: window 1 runs into the deadline, window 2 finishes
new_case
: >"$S/out/o.out.checkpoint" # a stale generated checkpoint
scan "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"output_path\":\"$S/out/o.out\"}" \
	STUB_SLEEP=30 STUB_RESUME_SLEEP=0 STUB_ENDPOINTS=10.0.0.1:80
check_eq "NB-01 exit 0, 2 windows" "0 2" "$rc $(calls)"
check_eq "NB-01 endpoints" "10.0.0.1:80" "$(cat "$S/stdout")"
check "NB-01 window 1: --checkpoint-file <out>.checkpoint, no --resume" \
	sh -c "sed -n 1p '$S/calls.log' | grep -q -e '--checkpoint-file $S/out/o.out.checkpoint --rate 500000 --interface agtnone0\$'"
check "NB-01 window 2: --checkpoint-file <out>.checkpoint --resume --rate 250000" \
	sh -c "sed -n 2p '$S/calls.log' | grep -q -e '--checkpoint-file $S/out/o.out.checkpoint --resume --rate 250000 --interface agtnone0\$'"
check_eq "NB-01 stale checkpoint deleted before window 1" "exists=0 resume=0" "$(line 1 "$S/ck.log" | cut -d' ' -f2-)"
check_fails "NB-01 <out>.checkpoint gone after exit" test -e "$S/out/o.out.checkpoint"
check "window 1 slip_network at 0 pps" has '"achieved_pps": 0, "classification": "slip_network", .*"next_rate": 250000, .*"set_rate": 500000, .*"window": 1}' "$S/stderr"
check "window 2 clean and finished" has '"classification": "clean", .*"scanner_finished_naturally": true, "set_rate": 250000, .*"window": 2}' "$S/stderr"
check_fails "nothing persisted after a 0-pps natural finish (D1e)" test -s "$S/calib.json"
# NB-16: scan_engine once, before controller_started
check_eq "NB-16 scan_engine exactly once" 1 "$(grep -c '"event": "scan_engine"' "$S/stderr")"
check "NB-16 scan_engine before controller_started" sh -c \
	"grep -n -e 'scan_engine' -e 'controller_started' '$S/stderr' | head -n 1 | grep -q scan_engine"
check "controller_started fields" has '"event": "controller_started", .*"instance_type": "c6in.xlarge", "instance_type_source": "env", "interface": "agtnone0", .*"policy_ceiling": 2000000, "policy_floor": 100000, "starting_rate": 500000, "starting_rate_source": "instance-table"' "$S/stderr"
check "mode dynamic" has '"mode": "dynamic"' "$S/stderr"

# resume: the stale generated checkpoint is kept for window 1
new_case
: >"$S/out/o.out.checkpoint"
scan "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"output_path\":\"$S/out/o.out\",\"resume\":true}" \
	STUB_SLEEP=0
check_eq "NB-01 resume: the generated checkpoint is kept, --resume on window 1" "exists=1 resume=1" "$(line 1 "$S/ck.log" | cut -d' ' -f2-)"

# ---- NB-02: checkpoint_path is used on every window and never deleted
new_case
: >"$S/my.ck"
scan "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"checkpoint_path\":\"$S/my.ck\"}" \
	STUB_SLEEP=30 STUB_RESUME_SLEEP=0
check_eq "NB-02 two windows" "0 2" "$rc $(calls)"
check_eq "NB-02 that path on every window" 2 "$(grep -c -e "--checkpoint-file $S/my.ck " "$S/calls.log")"
check "NB-02 not deleted" test -e "$S/my.ck"

# ---- NB-09: the io-engine warning once in a 3-window run
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80"}' STUB_SLEEP_SEQ=30,30,0 \
	ANYSCAN_SCANNER_IO_ENGINE=dpdk
check_eq "NB-09 3 windows" "0 3" "$rc $(calls)"
check_eq "NB-09 the warning once" 1 "$(grep -c 'ANYSCAN_DPDK_AVAILABLE' "$S/stderr")"

# ---- NB-11 dynamic: SCANNER_DEFAULT_RATE=0 -> starting rate = the floor
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80"}' STUB_SLEEP=0 SCANNER_DEFAULT_RATE=0 \
	ANYSCAN_INSTANCE_TYPE=test.none
check "NB-11 starting_rate = floor" has '"policy_floor": 100000, "starting_rate": 100000' "$S/stderr"
check "NB-11 --rate 100000" has '--rate 100000 ' "$S/calls.log"

# ---- invalid policy (NB-22 single NIC)
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80"}' ANYSCAN_RATE_FLOOR=5000000 ANYSCAN_INSTANCE_TYPE=test.none
check_eq "NB-22 exit 2, no call" "2 0" "$rc $(calls)"
check "NB-22 message" has '^agentd: invalid rate policy: ceiling must be >= floor$' "$S/stderr"

# ---- a crash early in a window: the scanner's code, failure detail
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80"}' STUB_EXIT=9 STUB_STDERR='crashed hard'
check_eq "window error: exit 9" 9 "$rc"
check "window error: failure detail" has '^crashed hard$' "$S/stderr"

# ---- NB-08: SIGTERM; the scanner's first signal is SIGINT; calibration
# persisted after a clean window (scanner-count fallback: no NIC counter)
new_case
printf '%s' '{"target_range":"10.0.0.0/30","ports":"80"}' >"$S/inv.json"
run_env ANYSCAN_RATE_FLOOR=100 ANYSCAN_RATE_CEILING=1000 ANYSCAN_RATE_ADDITIVE_STEP=100 \
	ANYSCAN_INSTANCE_TYPE=test.none SCANNER_DEFAULT_RATE=200 STUB_PROGRESS=100000 \
	STUB_SLEEP=30 STUB_TRAP_INT=exit "$agentd" scan <"$S/inv.json" >"$S/stdout" 2>"$S/stderr" &
pid=$!
i=0
while [ $i -lt 100 ] && [ "$(calls)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3
kill -TERM $pid; wait $pid; rc=$?
check_eq "NB-08 exit 143" 143 "$rc"
check "NB-08 window 1 clean via the scanner count" has '"classification": "clean", .*"measurement_source": "scanner", .*"set_rate": 200, .*"window": 1}' "$S/stderr"
check "NB-08 calibration persisted (200)" has '"agtnone0": {"learned_rate": 200' "$S/calib.json"
check_eq "NB-08 last scanner's first signal is SIGINT" INT "$(tail -n 1 "$S/signals.log" | awk '{print $2}')"
check_eq "NB-08 no endpoints" "" "$(cat "$S/stdout")"
check "NB-08 nobody left" none_left

done_testing
