#!/bin/sh
# Network models for `agentd rate simulate --model` (rate-controller.md
# §18.2): read {"set_rate": R, "window": I} lines, answer one measurement
# line each (the §18.1 fields).  POSIX sh + awk; one awk per line, because
# awk implementations buffer a piped stdin (mawk reads ahead).
#
#   netmodel.sh reference         the §17 reference profile (30 s windows)
#   netmodel.sh clean095          achieved 0.95 r, no drops, hb 50 (c17)
#   netmodel.sh crash N           clean (0.97 r) until window N, which crashes
#                                 after 1 s with exit code 139 (c50)
#   netmodel.sh slow N            clean until window N, then blocks (sleep)
#   netmodel.sh badreply N        window N answers "set_rate": true
#   netmodel.sh exit0 N           clean for N windows, then exits 0
#   netmodel.sh exit1 N           clean for N windows, then exits 1
#   netmodel.sh policer T         0.97 r up to T, else T with drops r - T
#   netmodel.sh finish N          clean; window N finishes naturally
#   netmodel.sh optin             0.97 r, but 700000 at r = 1000000; hb 51;
#                                 load 2.0 on 8 vCPUs and PSI some avg10 3.5
set -u
profile=${1:?profile}
arg=${2:-0}
prog='
function num(key,    s) {
	if (!match($0, "\"" key "\": *-?[0-9]+")) return -1
	s = substr($0, RSTART, RLENGTH)
	sub(/.*: */, "", s)
	return s + 0
}
function reply(r, ach, drops, hb, el, fin, code, extra,    tx) {
	tx = int(ach * el)
	printf "{%s\"elapsed_seconds\": %s, \"heartbeat_max_latency_ms\": %.0f, " \
	       "\"scanner_exit_code\": %d, \"scanner_finished_naturally\": %s, " \
	       "\"set_rate\": %.0f, \"tx_dropped_delta\": %.0f, \"tx_packets_delta\": %.0f}\n", \
	       extra, el, hb, code, fin ? "true" : "false", r, drops, tx
	fflush()
}
function reference(r,    a) {
	if (r <= 100000) { reply(r, 1.75 * r, 0, 50, 30, 0, 0); return }
	if (r <= 1000000) { a = 0.97 * r; if (a > 2220000) a = 2220000; reply(r, a, 0, 100, 30, 0, 0); return }
	if (r <= 2000000) { a = 1700000 + 0.5 * (r - 1000000); if (a > 2220000) a = 2220000
		reply(r, a, 0, 800, 30, 0, 0); return }
	if (r <= 3000000) { reply(r, 2220000 - 0.4 * (r - 2000000), int(0.05 * (r - 2000000)), 4500, 30, 0, 0); return }
	reply(r, 1500000, int(0.1 * (r - 3000000)), 7000, 30, 0, 0)
}
{
	r = num("set_rate"); w = num("window")
	if (profile == "reference") reference(r)
	else if (profile == "exit0" || profile == "exit1" || profile == "slow") reply(r, 0.97 * r, 0, 100, 30, 0, 0)
	else if (profile == "clean095") reply(r, 0.95 * r, 0, 50, 30, 0, 0)
	else if (profile == "crash") {
		if (w == arg + 0) reply(r, 0.97 * r, 0, 100, 1, 0, 139)
		else reply(r, 0.97 * r, 0, 100, 30, 0, 0)
	} else if (profile == "badreply") {
		if (w == arg + 0) { print "{\"set_rate\": true, \"elapsed_seconds\": 30}"; fflush() }
		else reply(r, 0.97 * r, 0, 100, 30, 0, 0)
	} else if (profile == "policer") {
		if (r <= arg + 0) reply(r, 0.97 * r, 0, 100, 30, 0, 0)
		else reply(r, arg + 0, r - arg, 100, 30, 0, 0)
	} else if (profile == "optin") {
		reply(r, r == 1000000 ? 700000 : 0.97 * r, 0, 51, 30, 0, 0,
		      "\"cpu_psi_some_avg10\": 3.5, \"load_average_1min\": 2.0, \"vcpu_count\": 8, ")
	} else if (profile == "finish") {
		reply(r, 0.97 * r, 0, 100, 30, w >= arg + 0, 0)
	} else { print "netmodel.sh: unknown profile " profile > "/dev/stderr"; exit 2 }
}'
while IFS= read -r line; do
	w=$(printf '%s\n' "$line" | sed -n 's/.*"window": *\([0-9][0-9]*\).*/\1/p')
	case $profile in
	slow) [ "${w:-0}" -ge "$arg" ] && sleep 60 ;;
	exit0) [ "${w:-0}" -gt "$arg" ] && exit 0 ;;
	exit1) [ "${w:-0}" -gt "$arg" ] && exit 1 ;;
	esac
	printf '%s\n' "$line" | awk -v profile="$profile" -v arg="$arg" "$prog" || exit
done
