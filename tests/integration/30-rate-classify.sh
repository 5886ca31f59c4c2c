#!/bin/sh
# agentd rate classify (rate-controller.md §18.1; i01): the §5, §6 and §18.1
# examples as input/output pairs, bad lines, and policy errors.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
A=$AGENT_BIN/agentd
[ -x "$A" ] || skip_all "agentd not built"
cd "$TMPDIR" || exit 1

# m SET TX [DROPS [HB [EXTRA]]]: one measurement line over 30 s
m() {
	printf '{"set_rate": %s, "elapsed_seconds": 30, "tx_packets_delta": %s, "tx_dropped_delta": %s, "heartbeat_max_latency_ms": %s%s}\n' \
		"$1" "$2" "${3:-0}" "${4:-0}" "${5:-}"
}
L8='"load_average_1min": 8.5, "vcpu_count": 8'
{
	# §18.1 examples
	m 500000 14400000
	m 4000000 117000000 0 6000 ", $L8"
	m 950000 28200000 0 0 ', "policy": {"ceiling": 1000000}'
	# §6 examples
	m 2000000 57000000 42
	m 3000000 84000000 0 6000
	m 5000000 45000000
	m 400000 300000 10 0 ', "policy": {"floor": 300000, "multiplicative_factor": 0.25}'
	m 333333 0 1 0 ', "policy": {"multiplicative_factor": 0.3}'
	m 1000000 21000000 0 100 ', "load_average_1min": 2.0, "vcpu_count": 8, "policy": {"starved_policy": "track"}'
	m 1000000 1500000 0 0 ', "policy": {"starved_policy": "track"}'
	m 1000000 21000000 0 100 ', "load_average_1min": 2.0, "vcpu_count": 8'
	# §5 boundaries
	m 1000000 27000000
	m 1000000 26999970
	m 1000000 29100000 0 5000
	m 1000000 29100000 0 5001
	m 1000000 29100000 0 6000 ', "load_average_1min": 6.4, "vcpu_count": 8'
	m 1000000 29100000 0 6000 ', "load_average_1min": 6.5, "vcpu_count": 8'
	m 4000000 30000000 30000 6000 ", $L8"
	m 4000000 30000000 30001 6000 ", $L8"
	m 4000000 0 5 6000 ", $L8"
	m 1000000 29100000 0 0 ', "load_average_1min": 10.0, "vcpu_count": 8'
	printf '%s\n' '{"set_rate": 2000000, "elapsed_seconds": 0.5, "tx_packets_delta": 40000, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0, "scanner_finished_naturally": true}'
	# psi (§4.3): 30 > 25 saturated; exactly 25 is not; absent -> loadavg rule
	m 1000000 29100000 0 6000 ', "load_average_1min": 1.0, "vcpu_count": 8, "cpu_psi_some_avg10": 30.0, "policy": {"cpu_signal": "psi"}'
	m 1000000 29100000 0 6000 ', "load_average_1min": 1.0, "vcpu_count": 8, "cpu_psi_some_avg10": 25.0, "policy": {"cpu_signal": "psi"}'
	m 1000000 29100000 0 6000 ', "load_average_1min": 6.5, "vcpu_count": 8, "policy": {"cpu_signal": "psi"}'
	# nulls and unknown keys
	m 500000 14400000 0 0 ', "load_average_1min": null, "extra": [1, 2]'
} >in.jsonl
cat >want.jsonl <<'X'
{"classification": "clean", "next_rate": 700000}
{"classification": "slip_cpu", "next_rate": 4000000}
{"classification": "clean", "next_rate": 1000000}
{"classification": "slip_network", "next_rate": 1000000}
{"classification": "slip_network", "next_rate": 1500000}
{"classification": "slip_network", "next_rate": 2500000}
{"classification": "slip_network", "next_rate": 300000}
{"classification": "slip_network", "next_rate": 100000}
{"classification": "slip_starved", "next_rate": 700000}
{"classification": "slip_starved", "next_rate": 100000}
{"classification": "slip_network", "next_rate": 500000}
{"classification": "clean", "next_rate": 1200000}
{"classification": "slip_network", "next_rate": 500000}
{"classification": "clean", "next_rate": 1200000}
{"classification": "slip_network", "next_rate": 500000}
{"classification": "slip_network", "next_rate": 500000}
{"classification": "slip_cpu", "next_rate": 1000000}
{"classification": "slip_cpu", "next_rate": 4000000}
{"classification": "slip_network", "next_rate": 2000000}
{"classification": "slip_cpu", "next_rate": 4000000}
{"classification": "clean", "next_rate": 1200000}
{"classification": "clean", "next_rate": 2200000}
{"classification": "slip_cpu", "next_rate": 1000000}
{"classification": "slip_network", "next_rate": 500000}
{"classification": "slip_cpu", "next_rate": 1000000}
{"classification": "clean", "next_rate": 700000}
X
"$A" rate classify <in.jsonl >out.jsonl 2>err.txt
check_eq "every example classifies as the spec says (exit 0)" "0" "$?"
if cmp -s want.jsonl out.jsonl; then ok "output matches the examples line by line"; else
	not_ok "output matches the examples line by line"; diff want.jsonl out.jsonl | sed 's/^/#   /'
fi
"$A" rate classify in.jsonl >out2.jsonl 2>/dev/null
check "FILE argument reads the same input" cmp -s want.jsonl out2.jsonl
"$A" rate classify - <in.jsonl >out3.jsonl 2>/dev/null
check "- reads stdin" cmp -s want.jsonl out3.jsonl

# bad lines: an error object in place, processing continues, exit 1
{
	m 500000 14400000
	printf '\n   \n'
	printf '%s\n' '{"set_rate": true, "elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0}'
	printf '%s\n' 'not json'
	printf '%s\n' '[1, 2]'
	printf '%s\n' '{"elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0}'
	printf '%s\n' '{"set_rate": 1, "elapsed_seconds": 30, "tx_packets_delta": 1.5, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0}'
	printf '%s\n' '{"set_rate": 1, "elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0, "scanner_finished_naturally": 1}'
	printf '%s\n' '{"set_rate": 1, "elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0, "policy": {"ceiling": 1.0}}'
	printf '%s\n' '{"set_rate": 1, "elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0, "policy": {"ceiling": 1}}'
	printf '%s\n' '{"set_rate": 1, "elapsed_seconds": 30, "tx_packets_delta": 1, "tx_dropped_delta": 0, "heartbeat_max_latency_ms": 0, "policy": {"bogus": 1}}'
	m 2000000 57000000 42
} >bad.jsonl
cat >bad-want.jsonl <<'X'
{"classification": "clean", "next_rate": 700000}
{"error": "set_rate: expected an integer", "line": 4}
{"error": "invalid JSON: expected value at line 1 column 1", "line": 5}
{"error": "not a JSON object", "line": 6}
{"error": "set_rate: missing", "line": 7}
{"error": "tx_packets_delta: expected an integer", "line": 8}
{"error": "scanner_finished_naturally: expected true or false", "line": 9}
{"error": "policy.ceiling: expected an integer", "line": 10}
{"error": "ceiling must be >= floor", "line": 11}
{"error": "policy.bogus: unknown key", "line": 12}
{"classification": "slip_network", "next_rate": 1000000}
X
"$A" rate classify <bad.jsonl >bad-out.jsonl 2>/dev/null
check_eq "bad lines give exit 1" "1" "$?"
if cmp -s bad-want.jsonl bad-out.jsonl; then ok "bad lines produce error objects in place"; else
	not_ok "bad lines produce error objects in place"; diff bad-want.jsonl bad-out.jsonl | sed 's/^/#   /'
fi

# policy errors: exit 2 before any output
ANYSCAN_RATE_FLOOR=5000000 "$A" rate classify <in.jsonl >p-out.txt 2>p-err.txt
check_eq "invalid env policy exits 2" "2" "$?"
check_eq "nothing on stdout" "" "$(cat p-out.txt)"
check_eq "the validation message" "agentd: invalid rate policy: ceiling must be >= floor" "$(cat p-err.txt)"
# an invalid number: one warning, the default applies
m 500000 14400000 | ANYSCAN_RATE_ADDITIVE_STEP=abc "$A" rate classify >w-out.txt 2>w-err.txt
check_eq "invalid env number: default step" '{"classification": "clean", "next_rate": 700000}' "$(cat w-out.txt)"
check_eq "invalid env number: one warning line" \
	'[anyscan-rate-controller] warning: ANYSCAN_RATE_ADDITIVE_STEP="abc" is not a valid integer; using the default' \
	"$(cat w-err.txt)"
# the instance type comes from ANYSCAN_INSTANCE_TYPE only
m 950000 28500000 | ANYSCAN_INSTANCE_TYPE=m5.xlarge "$A" rate classify >i-out.txt 2>&1
check_eq "ANYSCAN_INSTANCE_TYPE applies the table (m5.xlarge ceiling 1M)" \
	'{"classification": "clean", "next_rate": 1000000}' "$(cat i-out.txt)"
m 500000 14400000 | ANYSCAN_INSTANCE_TYPE="Amazon EC2" "$A" rate classify >/dev/null 2>it-err.txt
check_eq "malformed ANYSCAN_INSTANCE_TYPE: one warning" \
	'[anyscan-rate-controller] warning: ANYSCAN_INSTANCE_TYPE="Amazon EC2" is not a valid instance type; ignoring it' \
	"$(cat it-err.txt)"
m 500000 14400000 | ANYSCAN_INSTANCE_TYPE=Bad ANYSCAN_RATE_FLOOR=x ANYSCAN_ADAPTER_SHARD_MODE=true \
	"$A" rate classify >/dev/null 2>sh-err.txt
check_eq "shard mode: no warnings" "" "$(cat sh-err.txt)"
m 500000 14400000 | ANYSCAN_RATE_WINDOW_SECONDS=nan ANYSCAN_RATE_FLOOR=1_000 "$A" rate classify \
	>/dev/null 2>two-err.txt
check_eq "two invalid variables: two warning lines" "2" "$(wc -l <two-err.txt | tr -d ' ')"
"$A" rate classify --bogus </dev/null >/dev/null 2>&1
check_eq "unknown option exits 2" "2" "$?"
"$A" rate classify /nonexistent/x >/dev/null 2>&1
check_eq "unreadable FILE exits 1" "1" "$?"
done_testing
