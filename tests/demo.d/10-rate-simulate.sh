#!/bin/sh
# demo: the AIMD controller against the spec's reference network model
# (rate-controller.md §17), cold, then warm from the calibration it learned.
set -eu
build=$1
bin=$build/bin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent-demo-rate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
model="sh tests/integration/models/netmodel.sh reference"
. tests/integration/lib/metric.sh

printf '\n== rate controller: simulated convergence (reference network, 10 windows, cold start 500k)\n'
"$bin/agentd" rate simulate --model "$model" --windows 10 --start 500000 --interface eth0 \
	--calibration "$tmp/rate-calibration.json" >"$tmp/cold.log"
printf '%-7s %-10s %-10s %-13s %s\n' window set_rate achieved classification next_rate
ra_table "$tmp/cold.log" window set_rate achieved_pps classification next_rate |
	awk '{ printf "%-7s %-10s %-10s %-13s %s\n", $1, $2, $3, $4, $5 }'
echo "one metric line as operators' log pipelines see it:"
grep '"window": 3' "$tmp/cold.log" | head -n 1
echo "learned rate in the calibration file:"
"$bin/agentd" calibration show --path "$tmp/rate-calibration.json"

printf '\n== warm start: the next run starts from the learned rate\n'
"$bin/agentd" rate simulate --model "$model" --windows 2 --interface eth0 \
	--calibration "$tmp/rate-calibration.json" | grep -o '"starting_rate": [0-9]*, "starting_rate_source": "[a-z-]*"'
