#!/bin/sh
# agentd rate simulate (rate-controller.md §17, §18.2; i02, i03, i03b, i04):
# the real controller loop against network-model co-processes.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
A=$AGENT_BIN/agentd
M=$AGENT_SRC/tests/integration/models/netmodel.sh
[ -x "$A" ] || skip_all "agentd not built"
command -v awk >/dev/null 2>&1 || skip_all "awk not installed"
cd "$TMPDIR" || exit 1
bg=
cleanup() { [ -z "$bg" ] || kill "$bg" 2>/dev/null; }
trap cleanup EXIT

# field NAME FILE: the values of an integer or string field, one per line
field() { sed -n "s/.*\"$1\": \"*\([^,\"}]*\)\"*[,}].*/\1/p" "$2"; }
adjust() { grep '"event": "rate_adjustment"' "$1"; }

# ---- i02: the §17 reference trajectory, exactly
"$A" rate simulate --model "$M reference" --windows 10 --start 500000 --interface eth0 \
	>ref.out 2>ref.err
check_eq "reference run exits 0" "0" "$?"
check_eq "11 lines: controller_started + 10 windows" "11" "$(wc -l <ref.out | tr -d ' ')"
check "the first line is controller_started" \
	sh -c 'head -n 1 ref.out | grep -q "^\[anyscan-rate-controller\] metric={\"achieved_ratio_floor\": 0.9, .*\"event\": \"controller_started\", .*\"interface\": \"eth0\", .*\"starting_rate\": 500000, \"starting_rate_source\": \"invocation\", .*\"window_seconds\": 30}$"'
cat >ref.want <<'X'
[anyscan-rate-controller] metric={"achieved_pps": 485000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 100, "interface": "eth0", "measurement_source": "nic", "next_rate": 700000, "scanner_finished_naturally": false, "set_rate": 500000, "tx_dropped_delta": 0, "window": 1}
[anyscan-rate-controller] metric={"achieved_pps": 679000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 100, "interface": "eth0", "measurement_source": "nic", "next_rate": 900000, "scanner_finished_naturally": false, "set_rate": 700000, "tx_dropped_delta": 0, "window": 2}
[anyscan-rate-controller] metric={"achieved_pps": 873000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 100, "interface": "eth0", "measurement_source": "nic", "next_rate": 1100000, "scanner_finished_naturally": false, "set_rate": 900000, "tx_dropped_delta": 0, "window": 3}
[anyscan-rate-controller] metric={"achieved_pps": 1750000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 1300000, "scanner_finished_naturally": false, "set_rate": 1100000, "tx_dropped_delta": 0, "window": 4}
[anyscan-rate-controller] metric={"achieved_pps": 1850000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 1500000, "scanner_finished_naturally": false, "set_rate": 1300000, "tx_dropped_delta": 0, "window": 5}
[anyscan-rate-controller] metric={"achieved_pps": 1950000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 1700000, "scanner_finished_naturally": false, "set_rate": 1500000, "tx_dropped_delta": 0, "window": 6}
[anyscan-rate-controller] metric={"achieved_pps": 2050000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 1900000, "scanner_finished_naturally": false, "set_rate": 1700000, "tx_dropped_delta": 0, "window": 7}
[anyscan-rate-controller] metric={"achieved_pps": 2150000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 2100000, "scanner_finished_naturally": false, "set_rate": 1900000, "tx_dropped_delta": 0, "window": 8}
[anyscan-rate-controller] metric={"achieved_pps": 2180000, "classification": "slip_network", "event": "rate_adjustment", "heartbeat_max_latency_ms": 4500, "interface": "eth0", "measurement_source": "nic", "next_rate": 1050000, "scanner_finished_naturally": false, "set_rate": 2100000, "tx_dropped_delta": 5000, "window": 9}
[anyscan-rate-controller] metric={"achieved_pps": 1725000, "classification": "clean", "event": "rate_adjustment", "heartbeat_max_latency_ms": 800, "interface": "eth0", "measurement_source": "nic", "next_rate": 1250000, "scanner_finished_naturally": false, "set_rate": 1050000, "tx_dropped_delta": 0, "window": 10}
X
tail -n +2 ref.out >ref.got
if cmp -s ref.want ref.got; then ok "the 10 windows equal the §17 table byte for byte"; else
	not_ok "the 10 windows equal the §17 table byte for byte"; diff ref.want ref.got | sed 's/^/#   /'
fi
check_eq "no store: nothing persisted, no calibration file" "" "$(ls ./*.json 2>/dev/null)"

# ---- c17 through the CLI: clean-only walk to the ceiling
ANYSCAN_RATE_CEILING=1000000 "$A" rate simulate --model "$M clean095" --windows 8 --start 200000 \
	>walk.out 2>/dev/null
check_eq "clean-only walk exits 0" "0" "$?"
check_eq "set rates walk up to the ceiling and stay" \
	"200000 400000 600000 800000 1000000 1000000 1000000 1000000" \
	"$(adjust walk.out >walk.adj; field set_rate walk.adj | tr '\n' ' ' | sed 's/ $//')"
check_eq "interface null when not given" "8" "$(grep -c '"interface": null' walk.adj)"

# both opt-ins (§16.3): load and PSI from the model's reply, slip_starved
ANYSCAN_CPU_SIGNAL=psi ANYSCAN_RATE_STARVED_POLICY=track "$A" rate simulate --model "$M optin" \
	--windows 2 --start 800000 --interface eth0 >opt.out 2>/dev/null
check_eq "opt-in run exits 0" "0" "$?"
check_eq "the §16.3 'both opt-ins' line" \
	'[anyscan-rate-controller] metric={"achieved_pps": 700000, "classification": "slip_starved", "cpu_psi_some_avg10": 3.5, "cpu_signal": "psi", "event": "rate_adjustment", "heartbeat_max_latency_ms": 51, "interface": "eth0", "loadavg_per_vcpu": 0.25, "measurement_source": "nic", "next_rate": 700000, "scanner_finished_naturally": false, "set_rate": 1000000, "tx_dropped_delta": 0, "vcpu_count": 8, "window": 2}' \
	"$(sed -n 3p opt.out)"
check "controller_started names both opt-ins" \
	grep -q '"cpu_signal": "psi", .*"starved_policy": "track"' opt.out

# ---- i03: persistence through the locked atomic path
mkdir -p T
"$A" rate simulate --model "$M reference" --windows 8 --start 500000 --calibration T/c.json \
	--interface eth0 >p.out 2>p.err
check_eq "8-window run exits 0" "0" "$?"
check "the file holds eth0 = 1900000" \
	grep -q '^{"interfaces": {"eth0": {"learned_rate": 1900000, "updated_at": "[0-9-]*T[0-9:]*Z"}}, "version": 1}$' T/c.json
check_eq "file mode 0640" "640" "$(stat -c %a T/c.json)"
check_eq "no temp files left" "" "$(find T -name '*tmp*')"
check "controller_started names the calibration path" grep -q '"calibration_path": "T/c.json"' p.out
# the stored rate seeds the next run (no --start)
"$A" rate simulate --model "$M reference" --windows 1 --calibration T/c.json --interface eth0 \
	>seed.out 2>/dev/null
check "calibration seeds the start (1900000, source calibration)" \
	grep -q '"starting_rate": 1900000, "starting_rate_source": "calibration"' seed.out
# no --calibration: the default/env path is never touched
ANYSCAN_RATE_CALIBRATION_PATH=$TMPDIR/env.json "$A" rate simulate --model "$M reference" \
	--windows 2 --interface eth0 >/dev/null 2>&1
check_eq "no --calibration: no file written" "no" "$([ -e env.json ] && echo yes || echo no)"

# ---- i03b: a policer at T = 1300000
T=1300000
"$A" rate simulate --model "$M policer $T" --windows 40 --start 500000 >pol.out 2>/dev/null
check_eq "policer run exits 0" "0" "$?"
adjust pol.out >pol.adj
check_eq "40 windows" "40" "$(wc -l <pol.adj | tr -d ' ')"
check_eq "after the first slip no set rate above T + 200000" "ok" "$(field set_rate pol.adj |
	awk -v t=$T 'NR > 1 && slip && $1 > t + 200000 { bad = 1 } { if ($1 > t) slip = 1 } END { print bad ? "bad" : "ok" }')"
check_eq "mean set rate over windows 11-40 >= T/2" "ok" "$(field set_rate pol.adj |
	awk -v t=$T 'NR >= 11 { s += $1; n++ } END { print (s / n >= t / 2) ? "ok" : "low " s / n }')"
check_eq "every slip is slip_network" "" "$(field classification pol.adj | grep -v '^clean$' | grep -v '^slip_network$')"
check "there were slips" grep -q '"classification": "slip_network"' pol.adj

# ---- i04: failures
"$A" rate simulate --model "$M crash 3" --start 500000 --calibration c50.json --interface eth0 \
	>crash.out 2>crash.err
check_eq "crash model exits 3" "3" "$?"
check_eq "crash message" "agentd: scanner exited unexpectedly during window 3 (rate=900000, code=139)" \
	"$(cat crash.err)"
check "crash: the store holds 700000" grep -q '"eth0": {"learned_rate": 700000' c50.json
check_eq "crash: no metric for the crashed window" "2" "$(adjust crash.out | wc -l | tr -d ' ')"

"$A" rate simulate --model "$M badreply 2" --start 500000 >bad.out 2>bad.err
check_eq "a reply with set_rate true exits 1" "1" "$?"
check "its message names the field" grep -q 'set_rate: expected an integer' bad.err

"$A" rate simulate --model "$M exit0 2" --start 500000 --calibration e0.json --interface eth0 \
	>e0.out 2>e0.err
check_eq "model EOF then exit 0: exit 0" "0" "$?"
check "exit 0: persisted 700000" grep -q '"learned_rate": 700000' e0.json
"$A" rate simulate --model "$M exit1 2" --start 500000 --calibration e1.json --interface eth0 \
	>e1.out 2>e1.err
check_eq "model EOF then exit 1: exit 1" "1" "$?"
check "exit 1: terminal persist done (700000)" grep -q '"learned_rate": 700000' e1.json
"$A" rate simulate --model "exit 0" --windows 3 >/dev/null 2>&1
check_eq "a model that exits at once with 0: exit 0" "0" "$?"
"$A" rate simulate --model "/nonexistent/model" --windows 3 >/dev/null 2>&1
check_eq "a model that cannot run (sh exits 127): exit 1" "1" "$?"

# SIGTERM while the model is blocked: exit 143 and the high-water mark persists
"$A" rate simulate --model "$M slow 3" --start 500000 --calibration st.json --interface eth0 \
	>st.out 2>st.err &
bg=$!
i=0
while [ "$(adjust st.out 2>/dev/null | wc -l | tr -d ' ')" -lt 2 ] && [ $i -lt 200 ]; do
	sleep 0.05; i=$((i + 1))
done
kill -TERM "$bg"
wait "$bg"
rc=$?
bg=
check_eq "SIGTERM mid-run: exit 143" "143" "$rc"
check "SIGTERM mid-run: the store holds 700000" grep -q '"eth0": {"learned_rate": 700000' st.json
check_eq "SIGTERM mid-run: no temp files" "" "$(find . -name 'st.json.tmp*')"

# usage and policy errors: exit 2
"$A" rate simulate --windows 3 >/dev/null 2>&1
check_eq "no --model: exit 2" "2" "$?"
"$A" rate simulate --model "$M reference" --windows 0 >/dev/null 2>&1
check_eq "--windows 0: exit 2" "2" "$?"
"$A" rate simulate --model "$M reference" --start 1x >/dev/null 2>&1
check_eq "--start 1x: exit 2" "2" "$?"
ANYSCAN_RATE_CEILING=5 ANYSCAN_RATE_FLOOR=6 "$A" rate simulate --model "$M reference" >pe.out 2>pe.err
check_eq "invalid policy: exit 2" "2" "$?"
check_eq "invalid policy: message" "agentd: invalid rate policy: ceiling must be >= floor" "$(cat pe.err)"
check_eq "invalid policy: no output" "" "$(cat pe.out)"
done_testing
