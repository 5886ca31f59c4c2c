#!/bin/sh
# demo: agentd scan driving the real zmap inside the network-namespace lab
# (tests/integration/netns-lab.sh: two namespaces, one veth pair, documentation
# and reserved ranges, no default route): a static scan finds the open port,
# then a dynamic scan of a reserved /13 climbs from a cold start, measured by
# the veth's own tx counters, and records what it learned.
set -u
build=$1
lab=tests/integration/netns-lab.sh
. tests/integration/lib/metric.sh
export AGENT_TOOLS="$PWD/$build/musl/tools"
printf '\n== agentd scan with real zmap in a network-namespace lab\n'
if ! out=$(sh "$lab" check --zmap 2>&1); then
	echo "$out (skipping this part of the demo)"
	exit 0
fi
work=$(mktemp -d /tmp/agentd-demo-lab.XXXXXX)
chmod 0711 "$work"     # zmap drops to uid 65534: it must reach <out>
trap 'rm -rf "$work"' EXIT INT TERM
cat >"$work/inner.sh" <<'INNER'
# inner.sh JSON OUT [VAR=VALUE...]: agentd scan inside the lab's scanner namespace
json=$1 outf=$2; shift 2
printf '%s' "$json" | env -i PATH=/usr/sbin:/usr/bin:/bin TMPDIR="$WORK" SCANNER_BIN=/usr/sbin/zmap \
	AWS_EC2_METADATA_DISABLED=true ANYSCAN_INSTANCE_TYPE=demo.lab \
	SCANNER_INTERFACE="$LAB_IF_SCAN" SCANNER_GATEWAY_MAC="$LAB_GATEWAY_MAC" \
	SCANNER_SENDER_THREADS=1 SCANNER_COOLDOWN_SECONDS=1 "$@" \
	"$AGENTD" scan >"$outf" 2>"$outf.err"
INNER
export WORK="$work" AGENTD="$PWD/$build/bin/agentd"

sh "$lab" run --timeout 120 -- sh "$work/inner.sh" \
	'{"target_range":"192.0.2.0/29","ports":"8080,8081","rate_limit":1000}' "$work/static.out" \
	ANYSCAN_DYNAMIC_RATE_ENABLED=false SCANNER_SOURCE_IP=192.0.2.1 SCANNER_BLACKLIST_FILE=/dev/null
echo "static scan of 192.0.2.0/29, ports 8080,8081 (8080 listening on the target namespace):"
sed 's/^/  endpoint: /' "$work/static.out"

echo "dynamic scan of 240.0.0.0/13 (reserved), cold start at 10000 pps, 2 s windows:"
sh "$lab" run --timeout 300 -- sh -c '
	sh "$WORK/inner.sh" "{\"target_range\":\"240.0.0.0/13\",\"ports\":\"8080\"}" "$WORK/dyn.out" \
		ANYSCAN_DYNAMIC_RATE_ENABLED=true SCANNER_SOURCE_IP="$LAB_BULK_SRC_IP" \
		SCANNER_BLACKLIST_FILE="$LAB_BLACKLIST" ANYSCAN_RATE_WINDOW_SECONDS=2 \
		ANYSCAN_RATE_FLOOR=5000 ANYSCAN_RATE_CEILING=200000 ANYSCAN_RATE_ADDITIVE_STEP=20000 \
		SCANNER_DEFAULT_RATE=10000 ANYSCAN_RATE_CALIBRATION_PATH="$WORK/calib.json"'
printf '  %-7s %-9s %-12s %-13s %-9s %s\n' window set_rate achieved_pps classification next_rate source
ra_table "$work/dyn.out.err" window set_rate achieved_pps classification next_rate \
	measurement_source | awk '{ printf "  %-7s %-9s %-12s %-13s %-9s %s\n", $1, $2, $3, $4, $5, $6 }'
echo "  learned rate: $("$AGENTD" calibration show --path "$work/calib.json" | sed 's/.*"learned_rate": \([0-9]*\).*/\1/') pps"
