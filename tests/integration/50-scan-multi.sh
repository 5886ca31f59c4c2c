#!/bin/sh
# agentd scan, multi-NIC parent (scan.md §14, §15.2) with the stub scanner:
# MN-22, NB-03, NB-05, NB-06, NB-13, NB-19 (parent), NB-22, NB-23, §14.5.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$agentd" ] || skip_all "agentd not built"
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"

n=0
new_case() {
	n=$((n + 1)); S=$TMPDIR/case$n; mkdir -p "$S/out"; cp "$stub" "$S/scanner"
}
run_env() {
	env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" \
		SCANNER_BIN="$S/scanner" AWS_EC2_METADATA_DISABLED=true \
		ANYSCAN_DYNAMIC_RATE_ENABLED=false "$@"
}
scan() {
	json=$1; shift
	printf '%s' "$json" | run_env "$@" "$agentd" scan >"$S/stdout" 2>"$S/stderr"
	rc=$?
}
calls() { if [ -f "$S/calls.log" ]; then wc -l <"$S/calls.log" | tr -d ' '; else echo 0; fi; }
has() { grep -q -e "$1" "$2"; }
# no process of this case left: every recorded stub pid is gone
none_left() {
	[ -f "$S/pids.log" ] || return 0
	while read -r p; do kill -0 "$p" 2>/dev/null && return 1; done <"$S/pids.log"
	return 0
}

inv8="{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\",\"rate_limit\":0}"

# ---- MN-22, §14.5 example 1, NB-23
new_case
scan "$inv8" ANYSCAN_SCANNER_INTERFACES=eth0,eth1 STUB_ENDPOINTS=10.0.0.1:80,10.0.0.5:80 \
	STUB_RECORD_ENV=SCANNER_INTERFACE,ANYSCAN_SCANNER_INTERFACES,ANYSCAN_SCANNER_SHARD_INTERFACE,ANYSCAN_ADAPTER_SHARD_MODE,ANYSCAN_INSTANCE_DETECTION,ANYSCAN_INSTANCE_TYPE \
	ANYSCAN_INSTANCE_TYPE=c6in.xlarge
check_eq "MN-22 rc 0, 2 calls" "0 2" "$rc $(calls)"
check "MN-22 shard 0 /30 on eth0" has ' --target-range 10.0.0.0/30 .* --interface eth0$' "$S/calls.log"
check "MN-22 shard 1 /30 on eth1" has ' --target-range 10.0.0.4/30 .* --interface eth1$' "$S/calls.log"
check_eq "MN-22 merged endpoints" "10.0.0.1:80
10.0.0.5:80" "$(cat "$S/stdout")"
for v in SCANNER_INTERFACE=eth0 SCANNER_INTERFACE=eth1 'ANYSCAN_SCANNER_INTERFACES=$' \
	ANYSCAN_SCANNER_SHARD_INTERFACE=eth1 ANYSCAN_ADAPTER_SHARD_MODE=true \
	ANYSCAN_INSTANCE_DETECTION=done ANYSCAN_INSTANCE_TYPE=c6in.xlarge; do
	check "NB-23 child env $v" has " $v" "$S/env.log"
done
check "orchestration event" has '"event": "multi_nic_orchestration_started", "instance_type": "c6in.xlarge", "interfaces": \["eth0", "eth1"\], "max_concurrent": 4, "requested_interfaces": \["eth0", "eth1"\], "shard_count": 2, "target_range": "10.0.0.0-10.0.0.7"}' "$S/stderr"
check "child lines mirrored with [shard <iface>]" has '^\[shard eth1\] \[anyscan-rate-controller\] metric={"engine": "anyscan", "event": "scan_engine"' "$S/stderr"
check_eq "work dir removed" "" "$(find "$S" -name 'anyscan-multi-nic-*')"

# without a detected type the children get DETECTION=done only
new_case
scan "$inv8" ANYSCAN_SCANNER_INTERFACES=eth0,eth1 STUB_RECORD_ENV=ANYSCAN_INSTANCE_DETECTION,ANYSCAN_INSTANCE_TYPE
check "NB-23 DETECTION=done without a type" has ' ANYSCAN_INSTANCE_DETECTION=done' "$S/env.log"
check "NB-23 no INSTANCE_TYPE without a type" has ' ANYSCAN_INSTANCE_TYPE=<unset>' "$S/env.log"

# ---- NB-05 / §14.5 example 3: endpoints on failure
new_case
scan "$inv8" ANYSCAN_SCANNER_INTERFACES=eth0,eth9 STUB_ENDPOINTS=10.0.0.1:80 \
	STUB_FAIL_TARGET=10.0.0.4/30 STUB_FAIL_EXIT=3 STUB_FAIL_STDERR='boom on 10.0.0.4/30'
check_eq "NB-05 exit 3" 3 "$rc"
check_eq "NB-05 stdout: shard 0's endpoint" "10.0.0.1:80" "$(cat "$S/stdout")"
check_eq "NB-05 one shard_failed line" 1 "$(grep -c '"event": "shard_failed"' "$S/stderr")"
check "NB-05 shard_failed fields" has '{"event": "shard_failed", "exit_code": 3, "interface": "eth9", "shard_index": 1, "signal": null, "target_range": "10.0.0.4-10.0.0.7"}' "$S/stderr"
check "failure detail mirrored" has '^\[shard eth9\] boom on 10.0.0.4/30$' "$S/stderr"

# ---- NB-03: wait-any; shard 2 fails fast while 0 and 1 would run 30 s
new_case
scan '{"target_range":"10.0.0.0-10.0.0.11","ports":"80"}' ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2 \
	ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5 STUB_SLEEP=30 STUB_FAIL_TARGET=10.0.0.8/30 \
	STUB_FAIL_EXIT=5 STUB_FAIL_SLEEP=1 STUB_TRAP_INT=exit
check_eq "NB-03 exit 5" 5 "$rc"
check_eq "NB-03 the two running scanners got SIGINT" 2 "$(grep -c ' INT ' "$S/signals.log" 2>/dev/null)"
check "NB-03 nobody left" none_left

# ---- NB-13: shard checkpoints, 8 interfaces capped to 4
new_case
scan "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\",\"checkpoint_path\":\"$S/ck\"}" \
	ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2,eth3,eth4,eth5,eth6,eth7
check_eq "NB-13 rc 0, 4 calls (cap 4)" "0 4" "$rc $(calls)"
for i in 0 1 2 3; do
	check "NB-13 --checkpoint-file <ck>.shard-$i-of-4" has "--checkpoint-file $S/ck.shard-$i-of-4 --rate 500000 --interface eth$i\$" "$S/calls.log"
done
check_fails "NB-13 no eth4" has 'interface eth4' "$S/calls.log"
new_case
scan "$inv8" ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2 ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES=x
check_eq "invalid cap: exit 1, no child" "1 0" "$rc $(calls)"
check "invalid cap message" has '^invalid integer for ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES: x$' "$S/stderr"

# ---- NB-22: invalid policy with 2 interfaces, dynamic: no child
new_case
scan "$inv8" ANYSCAN_SCANNER_INTERFACES=eth0,eth1 ANYSCAN_DYNAMIC_RATE_ENABLED=true ANYSCAN_RATE_FLOOR=5000000
check_eq "NB-22 exit 2, no child" "2 0" "$rc $(calls)"
check "NB-22 message" has '^agentd: invalid rate policy: ceiling must be >= floor$' "$S/stderr"

# ---- NB-06: parent SIGTERM
new_case
printf '%s' "$inv8" >"$S/inv.json"
env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" SCANNER_BIN="$S/scanner" \
	AWS_EC2_METADATA_DISABLED=true ANYSCAN_DYNAMIC_RATE_ENABLED=false \
	ANYSCAN_SCANNER_INTERFACES=eth0,eth1 ANYSCAN_SHUTDOWN_GRACE_SECONDS=3 \
	STUB_SLEEP=30 STUB_TRAP_INT=exit STUB_TRAP_TERM=exit STUB_PERSIST_SECONDS=0.5 \
	STUB_ENDPOINTS=10.0.0.1:80 "$agentd" scan <"$S/inv.json" >"$S/stdout" 2>"$S/stderr" &
pid=$!
i=0
while [ $i -lt 100 ] && [ "$(calls)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
check_eq "NB-06 parent exits 143" 143 "$rc"
check_eq "NB-06 no endpoints" "" "$(cat "$S/stdout")"
check_eq "NB-06 each scanner persisted" 2 "$(find "$S" -name 'persisted.*' | wc -l | tr -d ' ')"
check_fails "NB-06 no SIGKILL needed: no TERM to the scanners" has ' TERM ' "$S/signals.log"
check_fails "NB-06 no shard lines mirrored" has '^\[shard ' "$S/stderr"
check "NB-06 nobody left" none_left
check_eq "NB-06 work dir removed" "" "$(find "$S" -name 'anyscan-multi-nic-*')"

done_testing
