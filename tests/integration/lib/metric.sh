# shellcheck shell=sh
# ra_table FILE [FIELD...] -- one row per rate_adjustment metric line of FILE
# (mirrored "[shard IF]" lines included): the FIELDs' values separated by a
# space, quotes removed, "-" when absent.  Default fields: window set_rate
# achieved_pps classification next_rate measurement_source
# scanner_finished_naturally heartbeat_max_latency_ms loadavg_per_vcpu
# interface tx_dropped_delta cpu_signal cpu_psi_some_avg10.
# Sourced by the lab tests (lib/lab.sh), bench/controller.sh and the demo.
ra_table() {
	_ra_file=$1
	shift
	[ $# -gt 0 ] || set -- window set_rate achieved_pps classification next_rate \
		measurement_source scanner_finished_naturally heartbeat_max_latency_ms \
		loadavg_per_vcpu interface tx_dropped_delta cpu_signal cpu_psi_some_avg10
	awk -v fields="$*" '/"event": "rate_adjustment"/ {
		n = split(fields, k, " ")
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
	}' "$_ra_file"
}
