# Shared by the lab tests (50-scan-lab.sh, 51-scan-lab-multi.sh): source after
# tap.sh.  Skips the whole file (skip_all) when the lab cannot run here; sets
# lab (the netns-lab.sh path), agentd and zmap; records the namespaces this
# file's labs create (NETNS_LAB_RECORD) for lab_namespaces.
lab=$AGENT_SRC/tests/integration/netns-lab.sh
agentd=$AGENT_BIN/agentd
[ -x "$agentd" ] || skip_all "agentd not built"
out=$(sh "$lab" check --zmap 2>&1)
case $? in
0) ;;
77) skip_all "${out#SKIP: }" ;;
*) skip_all "netns-lab check failed: $out" ;;
esac
zmap=/usr/sbin/zmap
[ -x "$zmap" ] || zmap=$(command -v zmap)

# lab_namespaces -- the namespaces of this file's labs that still exist
export NETNS_LAB_RECORD="$TMPDIR/lab-namespaces"
: >"$NETNS_LAB_RECORD"
lab_namespaces() {
	ip netns list 2>/dev/null | awk 'NR == FNR { mine[$1] = 1; next } ($1 in mine) { print $1 }' \
		"$NETNS_LAB_RECORD" - | sort | tr '\n' ' '
}

# ra_table FILE -- one row per rate_adjustment line of FILE (mirrored
# "[shard IF]" lines included): window set_rate achieved_pps classification
# next_rate measurement_source scanner_finished_naturally
# heartbeat_max_latency_ms loadavg_per_vcpu interface tx_dropped_delta
# cpu_signal cpu_psi_some_avg10 ("-" when absent)
ra_table() {
	awk '/"event": "rate_adjustment"/ {
		n = split("window set_rate achieved_pps classification next_rate measurement_source scanner_finished_naturally heartbeat_max_latency_ms loadavg_per_vcpu interface tx_dropped_delta cpu_signal cpu_psi_some_avg10", k, " ")
		row = ""
		for (i = 1; i <= n; i++) {
			v = "-"
			if (match($0, "\"" k[i] "\": (\"[^\"]*\"|[^,}]*)")) {
				v = substr($0, RSTART + length(k[i]) + 4, RLENGTH - length(k[i]) - 4)
				gsub(/"/, "", v)
			}
			row = row (i > 1 ? " " : "") v
		}
		print row
	}' "$1"
}
