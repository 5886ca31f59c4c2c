#!/bin/sh
# agentd rate policy (rate-controller.md §7.5, §8.3, §8.4, §18.3; i05): the
# precedence rules n01, n02, n04, n05 through the CLI, sources, warnings and
# exit 2 cases.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
A=$AGENT_BIN/agentd
[ -x "$A" ] || skip_all "agentd not built"
cd "$TMPDIR" || exit 1
R=$TMPDIR/root
# never ask IMDS from a test: detection stops at step 3
ANYSCAN_INSTANCE_DETECTION="done"
ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/product
ANYSCAN_DMI_VENDOR_PATH=/nonexistent/vendor
export ANYSCAN_INSTANCE_DETECTION ANYSCAN_DMI_PRODUCT_PATH ANYSCAN_DMI_VENDOR_PATH
unset ANYSCAN_INSTANCE_TYPE ANYSCAN_RATE_CALIBRATION_PATH AGENTD_ROOT SCANNER_INTERFACE \
	SCANNER_DEFAULT_RATE 2>/dev/null

pol() { "$A" rate policy --root "$R" "$@"; }
has() { case $1 in *"$2"*) return 0 ;; esac; echo "# missing: $2"; echo "# in: $1"; return 1; }

# n01: the §18.3 example, byte for byte
out=$(ANYSCAN_RATE_CEILING=500000 pol --instance-type c6in.metal --interface eth0)
check_eq "n01: the §18.3 example" \
	"{\"calibration_path\": \"$R/var/lib/agentd/rate-calibration.json\", \"fallback_rate\": 4000000, \"instance_type\": \"c6in.metal\", \"instance_type_source\": \"invocation\", \"interface\": \"eth0\", \"policy\": {\"achieved_ratio_floor\": 0.9, \"additive_step\": 200000, \"ceiling\": 500000, \"cpu_load_threshold\": 0.8, \"cpu_psi_threshold\": 25.0, \"cpu_signal\": \"loadavg\", \"drop_ratio_threshold\": 0.001, \"floor\": 500000, \"heartbeat_latency_threshold_ms\": 5000, \"multiplicative_factor\": 0.5, \"starved_policy\": \"halve\", \"window_seconds\": 30}, \"sources\": {\"achieved_ratio_floor\": \"default\", \"additive_step\": \"default\", \"ceiling\": \"env\", \"cpu_load_threshold\": \"default\", \"cpu_psi_threshold\": \"default\", \"cpu_signal\": \"default\", \"drop_ratio_threshold\": \"default\", \"fallback_rate\": \"instance-table\", \"floor\": \"env\", \"heartbeat_latency_threshold_ms\": \"default\", \"multiplicative_factor\": \"default\", \"starting_rate\": \"instance-table\", \"starved_policy\": \"default\", \"window_seconds\": \"default\"}, \"starting_rate\": 500000}" \
	"$out"

# n02: an explicit ceiling below the default floor lowers the floor
out=$(ANYSCAN_RATE_CEILING=50000 pol --instance-type none --interface eth0)
check "n02: floor = ceiling = start = 50000, no error" \
	has "$out" '"ceiling": 50000, "cpu_load_threshold": 0.8, "cpu_psi_threshold": 25.0, "cpu_signal": "loadavg", "drop_ratio_threshold": 0.001, "floor": 50000,'
check "n02: start 50000" has "$out" '"starting_rate": 50000}'
check "n02: floor source env" has "$out" '"floor": "env"'
check "n02: no instance type" has "$out" '"instance_type": null, "instance_type_source": "invocation"'

# n04: explicit floor rules
ANYSCAN_RATE_FLOOR=5000000 pol --instance-type none >n04.out 2>n04.err
check_eq "n04: FLOOR=5000000 alone exits 2" "2" "$?"
check_eq "n04: message" "agentd: invalid rate policy: ceiling must be >= floor" "$(cat n04.err)"
check_eq "n04: nothing on stdout" "" "$(cat n04.out)"
out=$(ANYSCAN_RATE_FLOOR=5000000 pol --instance-type c6in.metal)
check "n04: on metal floor 5000000" has "$out" '"floor": 5000000'
check "n04: on metal ceiling 12000000" has "$out" '"ceiling": 12000000'
check "n04: on metal start 5000000" has "$out" '"starting_rate": 5000000}'
ANYSCAN_RATE_FLOOR=600000 ANYSCAN_RATE_CEILING=500000 pol --instance-type c6in.metal >/dev/null 2>&1
check_eq "n04: both explicit, ceiling < floor: exit 2" "2" "$?"

# n05: the invocation rate_limit
out=$(pol --instance-type c6in.xlarge --rate-limit 300000 --interface eth0)
check "n05: 300000 on c6in.xlarge stays 300000" has "$out" '"starting_rate": 300000}'
check "n05: source invocation" has "$out" '"starting_rate": "invocation"'
out=$(pol --instance-type c6in.metal --rate-limit 300000 --interface eth0)
check "n05: 300000 on metal clamps to 1000000" has "$out" '"starting_rate": 1000000}'
check "n05: still source invocation" has "$out" '"starting_rate": "invocation"'
out=$(pol --instance-type c6in.metal --rate-limit 0 --interface eth0)
check "n05: rate_limit 0 on metal: the table's 4000000" has "$out" '"starting_rate": 4000000}'
check "n05: source instance-table" has "$out" '"starting_rate": "instance-table"'
out=$(pol --instance-type none --rate-limit 0 --interface eth0)
check "n05: rate_limit 0, no instance: the floor" has "$out" '"starting_rate": 100000}'
"$A" calibration store eth0 1700000 --root "$R" >/dev/null
out=$(pol --instance-type none --rate-limit 300000 --interface eth0)
check "n05: calibration 1700000 beats rate_limit 300000" has "$out" '"starting_rate": 1700000}'
check "n05: source calibration" has "$out" '"starting_rate": "calibration"'
out=$(ANYSCAN_RATE_CALIBRATION_PATH=$TMPDIR/other.json pol --instance-type none --interface eth0)
check "ANYSCAN_RATE_CALIBRATION_PATH wins over --root" has "$out" "\"calibration_path\": \"$TMPDIR/other.json\""
out=$(SCANNER_INTERFACE=eth0 pol --instance-type none)
check "SCANNER_INTERFACE is the default interface" has "$out" '"interface": "eth0"'
check "… and finds its calibration entry" has "$out" '"starting_rate": 1700000}'

# detection without --instance-type
out=$(ANYSCAN_INSTANCE_TYPE=c6in.metal pol --interface eth9)
check "detection from the environment" has "$out" '"instance_type": "c6in.metal", "instance_type_source": "env"'
out=$(pol --interface eth9)
check "no type detected" has "$out" '"instance_type": null, "instance_type_source": "none"'

# warnings and usage errors
ANYSCAN_RATE_FLOOR=abc pol --instance-type none >w.out 2>w.err
check_eq "invalid number: exit 0" "0" "$?"
check_eq "invalid number: the warning line" \
	'[anyscan-rate-controller] warning: ANYSCAN_RATE_FLOOR="abc" is not a valid integer; using the default' \
	"$(cat w.err)"
check "invalid number: default floor" has "$(cat w.out)" '"floor": 100000'
ANYSCAN_RATE_FLOOR=abc ANYSCAN_ADAPTER_SHARD_MODE=1 pol --instance-type none >/dev/null 2>w2.err
check_eq "shard mode: no warning" "" "$(cat w2.err)"
ANYSCAN_RATE_WINDOW_SECONDS=1.5 pol --instance-type none >ws.out
check "window_seconds 1.5 is written as a float" has "$(cat ws.out)" '"window_seconds": 1.5}'
pol --instance-type C6in.metal >/dev/null 2>&1
check_eq "malformed --instance-type: exit 2" "2" "$?"
pol --rate-limit 1.5 >/dev/null 2>&1
check_eq "--rate-limit 1.5: exit 2" "2" "$?"
pol --nope >/dev/null 2>&1
check_eq "unknown option: exit 2" "2" "$?"
"$A" rate bogus >/dev/null 2>&1
check_eq "unknown rate subcommand: exit 2" "2" "$?"
"$A" rate policy --help >/dev/null 2>&1
check_eq "--help: exit 0" "0" "$?"
done_testing
