#!/bin/sh
# agentd scan, single NIC, static mode, against the stub scanner (scan.md
# §2-§10, §12.2): IO-28..IO-32, MN-21, NB-10, NB-11 (static), NB-12, NB-14,
# NB-19, NB-20, NB-21, stdin and pre-flight errors, exit codes, files.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

agentd=$AGENT_BIN/agentd
stub=$AGENT_TOOLS/stub_scanner
[ -x "$agentd" ] || skip_all "agentd not built"
[ -x "$stub" ] || skip_all "stub_scanner not built (make tools)"

n=0
# new_case: a fresh stub directory $S with the stub as $S/scanner
new_case() {
	n=$((n + 1)); S=$TMPDIR/case$n; mkdir -p "$S/out"; cp "$stub" "$S/scanner"
}
# scan JSON [VAR=VALUE...]: run agentd scan; $rc, $S/stdout, $S/stderr
scan() {
	json=$1; shift
	printf '%s' "$json" | env -i PATH=/usr/bin:/bin HOME="$TMPDIR" TMPDIR="$S" STUB_DIR="$S" \
		SCANNER_BIN="$S/scanner" AWS_EC2_METADATA_DISABLED=true \
		ANYSCAN_DYNAMIC_RATE_ENABLED=false "$@" "$agentd" scan >"$S/stdout" 2>"$S/stderr"
	rc=$?
}
calls() { if [ -f "$S/calls.log" ]; then wc -l <"$S/calls.log" | tr -d ' '; else echo 0; fi; }
has() { grep -q -e "$1" "$2"; }

inv='{"target_range":"10.0.0.0-10.0.0.3","ports":"80","rate_limit":0,"output_path":"OUT"}'
inv_out() { printf '%s' "$inv" | sed "s|OUT|$S/out/o.out|"; }

# ---- IO-28..IO-32
new_case; scan "$(inv_out)"
check_eq "IO-28 default: rc 0" 0 "$rc"
check_eq "IO-28 one call" 1 "$(calls)"
check "IO-28 --io-engine=af_packet" has ' --io-engine=af_packet' "$S/calls.log"

new_case; scan "$(inv_out)" ANYSCAN_SCANNER_IO_ENGINE=af_xdp ANYSCAN_AF_XDP_AVAILABLE=true
check_eq "IO-29 af_xdp+true: rc 0, 1 call" "0 1" "$rc $(calls)"
check "IO-29 --io-engine=af_xdp" has ' --io-engine=af_xdp' "$S/calls.log"
check_fails "IO-29 not af_packet" has 'af_packet' "$S/calls.log"

new_case; scan "$(inv_out)" ANYSCAN_SCANNER_IO_ENGINE=af_xdp ANYSCAN_AF_XDP_AVAILABLE=false
check_eq "IO-30 af_xdp+false: rc 0, 1 call" "0 1" "$rc $(calls)"
check "IO-30 af_packet" has ' --io-engine=af_packet' "$S/calls.log"
check "IO-30 stderr names the gate" has 'ANYSCAN_AF_XDP_AVAILABLE' "$S/stderr"

new_case; scan "$(inv_out)" ANYSCAN_SCANNER_IO_ENGINE=pfring_zc ANYSCAN_PFRING_ZC_AVAILABLE=true
check_eq "IO-31 pfring_zc+true: rc 0, 1 call" "0 1" "$rc $(calls)"
check "IO-31 --io-engine=pfring_zc" has ' --io-engine=pfring_zc' "$S/calls.log"

new_case; scan "$(inv_out)" ANYSCAN_SCANNER_IO_ENGINE=pfring_zc ANYSCAN_PFRING_ZC_AVAILABLE=false
check_eq "IO-32 pfring_zc+false: rc 0, 1 call" "0 1" "$rc $(calls)"
check "IO-32 af_packet" has ' --io-engine=af_packet' "$S/calls.log"
check "IO-32 stderr names the gate" has 'ANYSCAN_PFRING_ZC_AVAILABLE' "$S/stderr"

# ---- MN-21: a single interface runs once, /29, endpoints, files removed
new_case
scan "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\",\"rate_limit\":0,\"output_path\":\"$S/out/o.out\"}" \
	ANYSCAN_SCANNER_INTERFACES=eth0 STUB_ENDPOINTS=10.0.0.1:80,10.0.0.5:80,10.0.0.9:80,10.0.0.2:81 \
	STUB_PROGRESS=5 STUB_STDERR='scanner says hi'
check_eq "MN-21 rc 0, exactly 1 call" "0 1" "$rc $(calls)"
check "MN-21 --target-range 10.0.0.0/29" has ' --target-range 10.0.0.0/29 ' "$S/calls.log"
check_fails "MN-21 the single name is not --interface" has '--interface' "$S/calls.log"
check_eq "endpoints filtered by range and port" "10.0.0.1:80
10.0.0.5:80" "$(cat "$S/stdout")"
check "scanner stderr printed after a success" has '^scanner says hi$' "$S/stderr"
check "scan_engine line" has '"event": "scan_engine", "io_engine": "af_packet", "mode": "static"' "$S/stderr"
check_fails "<out> removed at exit (also a given output_path)" test -e "$S/out/o.out"
check_fails "<out>.progress removed at exit" test -e "$S/out/o.out.progress"

# temp <out> when no output_path: created in TMPDIR, removed afterwards
new_case; scan '{"target_range":"10.0.0.1","ports":"80"}' STUB_ENDPOINTS=10.0.0.1
check_eq "bare host with exactly one port" "0 10.0.0.1" "$rc $(cat "$S/stdout")"
check "temp <out> name" grep -q -e '--output-file '"$S"'/exposure-vulnscanner-[a-z0-9_]\{8\}\.out ' "$S/calls.log"
check_eq "temp <out> removed" "" "$(find "$S" -name 'exposure-vulnscanner-*' 2>/dev/null)"

# the progress snapshot while the scanner runs (§10.1)
new_case
printf '%s' "{\"target_range\":\"10.0.0.1\",\"ports\":\"80\",\"output_path\":\"$S/out/p.out\"}" |
	env -i PATH=/usr/bin:/bin TMPDIR="$S" STUB_DIR="$S" SCANNER_BIN="$S/scanner" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false STUB_PROGRESS=12345 STUB_SLEEP=3 \
	"$agentd" scan >"$S/stdout" 2>"$S/stderr" &
pid=$!
i=0
while [ $i -lt 50 ] && ! [ -s "$S/out/p.out.progress" ]; do sleep 0.1; i=$((i + 1)); done
check_eq "progress snapshot file" '{"progress_percent": 50, "sent_total": 12345, "recv_total": 1, "probe_rate_millis": 1000000, "average_probe_rate_millis": 1000000, "receive_rate_millis": 1000}' "$(cat "$S/out/p.out.progress" 2>/dev/null)"
wait $pid
check_eq "progress run exits 0" 0 $?

# ---- rates (NB-11 static, NB-12)
new_case; scan "$(inv_out)"
check_fails "NB-11 rate_limit 0: no --rate" has '--rate' "$S/calls.log"
for v in 0 -5; do
	new_case; scan '{"target_range":"10.0.0.0/30","ports":"80"}' SCANNER_DEFAULT_RATE=$v
	check_fails "NB-11 SCANNER_DEFAULT_RATE=$v static: no --rate" has '--rate' "$S/calls.log"
done
new_case; scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":true}'
check "NB-12 rate_limit true: --rate 500000" has '--rate 500000$' "$S/calls.log"
new_case; scan '{"target_range":"10.0.0.0/30","ports":"80","rate_limit":1e3,"sender_threads":true}' SCANNER_SENDER_THREADS=3
check "NB-12 rate_limit 1e3: --rate 500000" has '--rate 500000$' "$S/calls.log"
check "NB-12 sender_threads true: fallback threads" has '--sender-threads 3 ' "$S/calls.log"
new_case; scan '{"target_range":"10.0.0.0/30","ports":"80"}' SCANNER_DEFAULT_RATE=abc
check "invalid SCANNER_DEFAULT_RATE warns, default used" has '--rate 500000$' "$S/calls.log"
check "the controller warning line" has '^\[anyscan-rate-controller\] warning: SCANNER_DEFAULT_RATE="abc" is not a valid integer; using the default$' "$S/stderr"

# ---- NB-10: ports validation
for p in '80,http' '0' '70000' '1-70000'; do
	new_case; scan "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"$p\"}"
	check_eq "NB-10 ports '$p': exit 2, no call" "2 0" "$rc $(calls)"
done
check "NB-10 message" has "^invalid ports: '1-70000' (expected a port 1-65535 or a range lo-hi)$" "$S/stderr"
new_case; scan '{"target_range":"10.0.0.0/30","ports":",,,"}'
check_eq "NB-10 ',,,': exit 2" 2 "$rc"
check "NB-10 no port given" has '^invalid ports: no port given$' "$S/stderr"
new_case; scan '{"target_range":"10.0.0.0/30","ports":"80,http"}' ANYSCAN_SCANNER_INTERFACES=eth0,eth1
check_eq "NB-10 with 2 interfaces: exit 2, no child" "2 0" "$rc $(calls)"
new_case; scan '{"target_range":"10.0.0.0/30","ports":"443, 80-82, 90-88"}'
check_eq "NB-10 '443, 80-82, 90-88' accepted" "0 1" "$rc $(calls)"
check "ports passed verbatim (trimmed)" has '--port 443, 80-82, 90-88 ' "$S/calls.log"

# ---- stdin and pre-flight errors (§2.1-§2.3)
new_case; scan 'not json'
check_eq "invalid JSON: exit 1" 1 "$rc"
check "invalid JSON message" has '^invalid scanner adapter invocation json: .* at line 1 column 1$' "$S/stderr"
new_case; scan '[1,2]'
check_eq "not an object: exit 1" 1 "$rc"
check "not an object message" has '^scanner adapter invocation must be a json object$' "$S/stderr"
new_case; scan '{"ports":"80"}'
check "missing target_range" has '^missing required invocation field: target_range$' "$S/stderr"
new_case; scan '{"target_range":"10.0.0.1","ports":80}'
check_eq "ports not a string: exit 1, no call" "1 0" "$rc $(calls)"
new_case; scan "$(inv_out)" SCANNER_COOLDOWN_SECONDS=5s
check_eq "invalid integer: exit 1, no call" "1 0" "$rc $(calls)"
check "invalid integer message" has '^invalid integer for SCANNER_COOLDOWN_SECONDS: 5s$' "$S/stderr"
new_case; scan "$(inv_out)" ANYSCAN_SHUTDOWN_GRACE_SECONDS=-1
check "invalid grace message" has '^invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: -1$' "$S/stderr"
new_case; scan "$(inv_out)" "SCANNER_EXTRA_ARGS=--foo 'bar"
check_eq "NB-20 unbalanced quote: exit 1, no call" "1 0" "$rc $(calls)"
check "NB-20 message" has '^invalid SCANNER_EXTRA_ARGS: no closing quotation$' "$S/stderr"
new_case; scan "$(inv_out)" "SCANNER_EXTRA_ARGS=--foo 'a b' --bar"
check "extra args appended, quoted word kept whole" has "--foo a b --bar$" "$S/calls.log"
new_case; scan "$(inv_out)" ANYSCAN_SCANNER_ENGINE=bogus
check_eq "NB-21 bogus engine: exit 1" 1 "$rc"
check "NB-21 message" has '^invalid value for ANYSCAN_SCANNER_ENGINE: bogus (expected auto, anyscan or zmap)$' "$S/stderr"
new_case; cp "$stub" "$S/zmap"
scan "$(inv_out)" SCANNER_BIN="$S/zmap" STUB_DIR="$S"
check "NB-21 auto + a binary named zmap: zmap engine" has '"engine": "zmap"' "$S/stderr"
check "NB-21 zmap argv" has "zmap -p 80 -T" "$S/calls.log"
new_case; cp "$stub" "$S/zmap"
scan "$(inv_out)" SCANNER_BIN="$S/zmap" ANYSCAN_SCANNER_ENGINE=anyscan
check "NB-21 anyscan forced: anyscan argv" has "zmap --target-range 10.0.0.0/30 " "$S/calls.log"

# ---- NB-19: missing scanner, single and with 2 interfaces
for ifs in '' eth0,eth1; do
	new_case; scan "$(inv_out)" SCANNER_BIN="$S/missing" PATH="$S/nowhere" ANYSCAN_SCANNER_INTERFACES="$ifs"
	if [ -e /usr/bin/scanner ]; then
		skip "NB-19 missing scanner ($ifs)" "/usr/bin/scanner exists on this host"
		continue
	fi
	check_eq "NB-19 missing scanner ($ifs): exit 1, no call" "1 0" "$rc $(calls)"
	check_eq "NB-19 one error line ($ifs)" 1 "$(wc -l <"$S/stderr" | tr -d ' ')"
	check "NB-19 message ($ifs)" has '^unable to locate the scanner binary; set SCANNER_BIN or provide the bundled scanner runtime (searched: .*, scanner on PATH)$' "$S/stderr"
done

# ---- exit codes and failure detail (§2.6, §12.5)
new_case; scan "$(inv_out)" STUB_EXIT=7 STUB_STDERR='  it broke  \n' STUB_ENDPOINTS=10.0.0.1:80
check_eq "scanner exit 7 -> 7, no endpoints" "7 " "$rc $(cat "$S/stdout")"
check "failure detail: trimmed scanner stderr" has '^it broke$' "$S/stderr"
new_case; scan "$(inv_out)" STUB_EXIT=4 STUB_STDOUT='only stdout'
check "failure detail falls back to stdout" has '^only stdout$' "$S/stderr"
new_case; scan "$(inv_out)" STUB_EXIT=4
check "unknown scanner failure" has '^unknown scanner failure$' "$S/stderr"
new_case; scan "$(inv_out)" STUB_SIGNAL=11
check_eq "NB-14 scanner SIGSEGV -> 139" 139 "$rc"

# shard mode keeps <out> and prints no endpoints
new_case; scan "$(inv_out)" ANYSCAN_ADAPTER_SHARD_MODE=true STUB_ENDPOINTS=10.0.0.1:80
check_eq "shard mode: rc 0, no endpoints" "0 " "$rc $(cat "$S/stdout")"
check_eq "shard mode keeps <out>" "10.0.0.1:80" "$(cat "$S/out/o.out" 2>/dev/null)"

# --help and usage
check "agentd scan --help" sh -c "'$agentd' scan --help | grep -q 'usage: agentd scan'"
"$agentd" scan --bogus </dev/null >/dev/null 2>&1
check_eq "unknown argument: exit 2" 2 $?

done_testing
