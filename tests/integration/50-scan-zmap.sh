#!/bin/sh
# The zmap engine with a stub zmap (the stub scanner invoked as "zmap"; it
# sends nothing): scan.md §13, ZI-01..ZI-08 (ZI-03 also in dynamic mode), the
# §13.10 warnings (SCANNER_BANDWIDTH in dynamic mode) and ZU-10 end to end.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$agentd" ] || skip_all "agentd not built"
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"

n=0
new_case() {
	n=$((n + 1)); S=$TMPDIR/case$n; mkdir -p "$S/out"; cp "$stub" "$S/zmap"
}
scan() {
	json=$1; shift
	printf '%s' "$json" | env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" \
		SCANNER_BIN="$S/zmap" AWS_EC2_METADATA_DISABLED=true ANYSCAN_INSTANCE_TYPE=test.none \
		ANYSCAN_RATE_CALIBRATION_PATH="$S/calib.json" SCANNER_INTERFACE=agtnone0 \
		SCANNER_COOLDOWN_SECONDS=0 SCANNER_SENDER_THREADS=1 "$@" \
		"$agentd" scan >"$S/stdout" 2>"$S/stderr"
	rc=$?
}
runs() { grep -c '^.*/zmap -p ' "$S/calls.log" 2>/dev/null || echo 0; }
has() { grep -q -e "$1" "$2"; }

# ---- ZI-01 / ZI-07: static, two ports, same -w content, results converted
new_case
scan "{\"target_range\":\"10.0.0.0/29\",\"ports\":\"443,80\",\"rate_limit\":1000,\"output_path\":\"$S/out/o.out\"}" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false STUB_OPEN=10.0.0.2,10.0.0.5,10.9.9.9
check_eq "ZI-01 exit 0, two runs" "0 2" "$rc $(runs)"
check "ZI-01 -p 80 first" sh -c "grep '/zmap -p ' '$S/calls.log' | sed -n 1p | grep -q -e '-p 80 -r 1000 -T 1 -M tcp_synscan --cooldown-time 0 -o $S/out/o.out.zmap-run --status-updates-file $S/out/o.out.zmap-status -w $S/out/o.out.zmap-targets -i agtnone0\$'"
check "ZI-01 -p 443 second" sh -c "grep '/zmap -p ' '$S/calls.log' | sed -n 2p | grep -q -e '-p 443 '"
check_eq "ZI-01 the same -w content for both runs" "targets: 10.0.0.0/29
targets: 10.0.0.0/29" "$(grep '^targets:' "$S/calls.log")"
check_eq "ZI-01 endpoints" "10.0.0.2:80
10.0.0.5:80
10.0.0.2:443
10.0.0.5:443" "$(cat "$S/stdout")"
check_fails "ZI-07 the files existed with group write on every run" has 'zmap-files-missing' "$S/calls.log"
check "scan_engine zmap/static" has '"engine": "zmap", "event": "scan_engine", "io_engine": null, "mode": "static"' "$S/stderr"
check_eq "work files and cursor removed" "" "$(find "$S/out" -name 'o.out*')"

# ---- ZI-03: "no addresses are eligible" -> chunk skipped, exit 0
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1000}' ANYSCAN_DYNAMIC_RATE_ENABLED=false STUB_INELIGIBLE=1
check_eq "ZI-03 ineligible: exit 0, empty stdout" "0 " "$rc $(cat "$S/stdout")"

# ZI-03 in dynamic mode: the first chunk is ineligible; the next chunk runs
# in the same window (§13.3 step 5), and the scan still completes
new_case
scan '{"target_range":"10.0.0.0-10.0.0.9","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=3 \
	ANYSCAN_RATE_FLOOR=2 ANYSCAN_RATE_CEILING=2 STUB_OPEN=10.0.0.7 STUB_SLEEP_MAX=0 \
	STUB_INELIGIBLE_RUNS=1
check_eq "ZI-03 dynamic: exit 0, endpoint of the second chunk" "0 10.0.0.7:80" "$rc $(cat "$S/stdout")"
check_eq "ZI-03 dynamic: the ineligible chunk, then the next one" "targets: 10.0.0.0/30 10.0.0.4/31
targets: 10.0.0.6/31 10.0.0.8/31" "$(grep '^targets:' "$S/calls.log")"
check_eq "ZI-03 dynamic: both chunks in window 1" 1 \
	"$(grep '"event": "rate_adjustment"' "$S/stderr" | grep -c '"window": 1}')"
check_fails "ZI-03 dynamic: no window 2" grep -q '"event": "rate_adjustment".*"window": 2}' "$S/stderr"

# ---- zmap's sporadic constraint-assertion abort (zmap bug, PR 786): the run
# is started again, at most 3 runs, then it is a failure like any other
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1000}' ANYSCAN_DYNAMIC_RATE_ENABLED=false \
	STUB_OPEN=10.0.0.2 STUB_ABORT_RUNS=2
check_eq "assertion abort twice (static): exit 0, the endpoint once" "0 10.0.0.2:80" "$rc $(cat "$S/stdout")"
check_eq "assertion abort twice (static): 3 runs" 3 "$(runs)"
check_eq "assertion abort twice: one warning per rerun" 2 \
	"$(grep -c '^\[anyscan-adapter\] zmap aborted on its constraint assertion .*running port 80 again (attempt [23] of 3)$' "$S/stderr")"
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1000}' ANYSCAN_DYNAMIC_RATE_ENABLED=false \
	STUB_ABORT_RUNS=3
check_eq "assertion abort three times: the scan fails with the signal's code (134)" "134 3" "$rc $(runs)"
new_case
scan '{"target_range":"10.0.0.0-10.0.0.9","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=3 \
	ANYSCAN_RATE_FLOOR=2 ANYSCAN_RATE_CEILING=2 STUB_OPEN=10.0.0.7 STUB_SLEEP_MAX=0 STUB_ABORT_RUNS=1
check_eq "assertion abort (dynamic): exit 0, the endpoint" "0 10.0.0.7:80" "$rc $(cat "$S/stdout")"
check_eq "assertion abort (dynamic): the first chunk again, then the next" "targets: 10.0.0.0/30 10.0.0.4/31
targets: 10.0.0.0/30 10.0.0.4/31
targets: 10.0.0.6/31 10.0.0.8/31" "$(grep '^targets:' "$S/calls.log")"
check_fails "assertion abort (dynamic): no window failed" grep -q '"scanner_exit_code": -6' "$S/stderr"

# ---- ZI-04: zmap exits 5 at once -> scan exit 5, failure detail
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1000}' ANYSCAN_DYNAMIC_RATE_ENABLED=false STUB_EXIT=5 STUB_STDERR='zmap broke'
check_eq "ZI-04 static exit 5" 5 "$rc"
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=1 STUB_EXIT=5
check_eq "ZI-04 dynamic: a crash early in the window -> 5" 5 "$rc"

# ---- ZI-06: resume from a cursor with port_index 1 -> -p 443 over the recorded chunk
new_case
printf '%s' '{"chunk_end": "10.0.0.99", "engine": "zmap", "next": "10.0.0.0", "port_index": 1, "ports": "80,443", "target_range": "10.0.0.0-10.0.0.255", "version": 1}' >"$S/ck"
scan "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80,443\",\"rate_limit\":1000,\"checkpoint_path\":\"$S/ck\",\"resume\":true}" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false
check_eq "ZI-06 exit 0, 3 runs (recorded chunk, then the rest for both ports)" "0 3" "$rc $(runs)"
check "ZI-06 the first run is -p 443" sh -c "grep '/zmap -p ' '$S/calls.log' | sed -n 1p | grep -q '/zmap -p 443 '"
check_eq "ZI-06 over the recorded chunk, then the rest" "targets: 10.0.0.0/26 10.0.0.64/27 10.0.0.96/30
targets: 10.0.0.100/30 10.0.0.104/29 10.0.0.112/28 10.0.0.128/25
targets: 10.0.0.100/30 10.0.0.104/29 10.0.0.112/28 10.0.0.128/25" "$(grep '^targets:' "$S/calls.log")"
check_fails "ZI-06 cursor deleted on completion" test -e "$S/ck"
# a mismatching cursor: warning, start from the beginning
new_case
printf '%s' '{"engine": "zmap", "version": 1}' >"$S/ck"
scan "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"rate_limit\":1000,\"checkpoint_path\":\"$S/ck\",\"resume\":true}" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false
check "mismatching cursor warning" has "^\[anyscan-adapter\] checkpoint $S/ck does not match this scan; starting from the beginning\$" "$S/stderr"

# ---- ZI-02: dynamic, the targets files follow the cursor, natural finish
new_case
scan '{"target_range":"10.0.0.0-10.0.0.9","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=3 \
	ANYSCAN_RATE_FLOOR=2 ANYSCAN_RATE_CEILING=2 STUB_OPEN=10.0.0.7 STUB_SLEEP_MAX=0
check_eq "ZI-02 exit 0, endpoint" "0 10.0.0.7:80" "$rc $(cat "$S/stdout")"
check_eq "ZI-02 chunks of 6 then the rest" "targets: 10.0.0.0/30 10.0.0.4/31
targets: 10.0.0.6/31 10.0.0.8/31" "$(grep '^targets:' "$S/calls.log")"
check "ZI-02 rate_adjustment lines" test "$(grep -c '"event": "rate_adjustment"' "$S/stderr")" -ge 2
check "ZI-02 -r 2" has '/zmap -p 80 -r 2 ' "$S/calls.log"

# ---- ZI-05: a hanging zmap gets SIGINT at the deadline; the cursor does not
# advance and the next window re-plans a smaller chunk after the slip
new_case
scan '{"target_range":"10.0.0.0/24","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=1 \
	ANYSCAN_RATE_FLOOR=10 ANYSCAN_RATE_CEILING=100 ANYSCAN_RATE_ADDITIVE_STEP=10 \
	SCANNER_DEFAULT_RATE=100 ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5 STUB_SLEEP_MAX=0 STUB_SLEEP_SEQ=30,0
check_eq "ZI-05 exit 0" 0 "$rc"
check_eq "ZI-05 window 1: 100 addresses; window 2 re-plans 50 from the same start" \
	"targets: 10.0.0.0/26 10.0.0.64/27 10.0.0.96/30
targets: 10.0.0.0/27 10.0.0.32/28 10.0.0.48/31" "$(grep '^targets:' "$S/calls.log" | head -n 2)"
check "ZI-05 the interrupted window is a slow window, not a crash" has '"classification": "slip_network", .*"next_rate": 50, .*"set_rate": 100, .*"window": 1}' "$S/stderr"
check "ZI-05 the hanging run got SIGINT" has ' INT ' "$S/signals.log"

# ---- ZI-08: multi-NIC with the zmap engine; shard cursors deleted on completion
new_case
scan "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\",\"rate_limit\":1000,\"checkpoint_path\":\"$S/ck\"}" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false ANYSCAN_SCANNER_INTERFACES=eth0,eth1 STUB_OPEN=10.0.0.1,10.0.0.6
check_eq "ZI-08 exit 0, merged endpoints" "0 10.0.0.1:80 10.0.0.6:80" "$rc $(tr '\n' ' ' <"$S/stdout" | sed 's/ $//')"
check "ZI-08 shard 0 on eth0" has '/zmap -p 80 .* -i eth0$' "$S/calls.log"
check "ZI-08 shard 1 on eth1" has '/zmap -p 80 .* -i eth1$' "$S/calls.log"
check_eq "ZI-08 shard cursors <ck>.shard-<i>-of-2 deleted" "" "$(find "$S" -name 'ck.shard-*')"

# zmap-engine warnings (§13.10), once each
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1000}' ANYSCAN_DYNAMIC_RATE_ENABLED=false \
	SCANNER_ICMP_PRESCAN=true ANYSCAN_SCANNER_IO_ENGINE=dpdk
check_eq "ICMP warning once" 1 "$(grep -c '^\[anyscan-adapter\] SCANNER_ICMP_PRESCAN is not supported by the zmap engine; ignored$' "$S/stderr")"
check_eq "io engine warning once" 1 "$(grep -c '^\[anyscan-adapter\] io engine dpdk is not supported by the zmap engine; zmap uses its own packet I/O$' "$S/stderr")"
# SCANNER_BANDWIDTH in dynamic mode: warned once, -r wins, no -B
new_case
scan '{"target_range":"10.0.0.0-10.0.0.9","ports":"80"}' ANYSCAN_RATE_WINDOW_SECONDS=1 \
	ANYSCAN_RATE_FLOOR=4 ANYSCAN_RATE_CEILING=4 STUB_SLEEP_MAX=0 SCANNER_BANDWIDTH=1G
check_eq "bandwidth in dynamic mode: exit 0, one warning" "0 1" \
	"$rc $(grep -c '^\[anyscan-adapter\] SCANNER_BANDWIDTH is ignored while the rate controller sets -r$' "$S/stderr")"
check "bandwidth in dynamic mode: every run has -r 4" test "$(grep -c '/zmap -p 80 -r 4 ' "$S/calls.log")" -eq "$(runs)"
check_fails "bandwidth in dynamic mode: never -B" grep -q ' -B ' "$S/calls.log"
# and in static mode with rate_limit 0, -B is used with no warning
new_case
scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":0}' ANYSCAN_DYNAMIC_RATE_ENABLED=false \
	STUB_SLEEP_MAX=0 SCANNER_BANDWIDTH=1G
check_eq "bandwidth in static mode with rate_limit 0: -B 1G, no warning" "0 1 0" \
	"$rc $(grep -c '/zmap -p 80 -B 1G ' "$S/calls.log") $(grep -c 'SCANNER_BANDWIDTH' "$S/stderr")"

# refusals (ZU-10 end to end): exit 2, nothing spawned
new_case
scan '{"target_range":"scan.example","ports":"80"}' ANYSCAN_DYNAMIC_RATE_ENABLED=false
check_eq "refusal: exit 2, no run" "2 0" "$rc $(runs)"

done_testing
