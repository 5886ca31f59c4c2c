#!/bin/sh
# The network-namespace lab of scan.md §17: two namespaces joined by one veth
# pair, documentation/reserved address ranges, a TCP listener on the target
# side, no default route, IPv6 off; removed on exit.  Every real scanner run
# by the tests runs only inside it.
#
#   netns-lab.sh check [--zmap]
#       exit 0 if a lab can be built here; else "SKIP: netns-lab: <reason>", 77
#   netns-lab.sh run [--open-port N] [--timeout S] -- CMD [ARG...]
#       build the lab, run CMD inside the scanner namespace, tear down, exit
#       with CMD's status (124 on timeout, default 300 s)
#
# CMD gets LAB_NS_SCAN LAB_NS_TARGET LAB_IF_SCAN LAB_IF_TARGET LAB_GATEWAY_MAC
# LAB_SCAN_IP LAB_BULK_SRC_IP LAB_TARGET_IP LAB_OPEN_PORT LAB_CLOSED_PORT
# LAB_BULK_RANGE LAB_BLACKLIST LAB_TX_PACKETS.
set -u

here=$(cd "$(dirname "$0")" && pwd)
tools=${AGENT_TOOLS:-$here/../../build/musl/tools}
listen=$tools/lab-listen

skip() { echo "SKIP: netns-lab: $*"; exit 77; }
die() { echo "netns-lab: $*" >&2; exit 1; }

lab_check() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v ip >/dev/null 2>&1 || skip "ip netns unavailable"
	ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
	[ -x "$listen" ] || skip "lab-listen not built (make tools)"
	if [ "${1:-}" = --zmap ]; then
		[ -x /usr/sbin/zmap ] || command -v zmap >/dev/null 2>&1 || skip "zmap not installed"
	fi
	probe=agentd-lab-$$-p
	if ! err=$(ip netns add "$probe" 2>&1); then
		skip "cannot create network namespaces: $err"
	fi
	ip netns del "$probe" 2>/dev/null
	return 0
}

# ---- the `run` command
NS_S=agentd-lab-$$-s
NS_T=agentd-lab-$$-t
IF_S=alab$$s
IF_T=alab$$t
lpid=
blacklist=
created=

teardown() {
	if [ -n "$lpid" ]; then kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null; fi
	lpid=
	if [ -n "$created" ]; then
		ip netns del "$NS_S" 2>/dev/null
		ip netns del "$NS_T" 2>/dev/null
	fi
	created=
	[ -n "$blacklist" ] && rm -f "$blacklist"
	blacklist=
}

lab_run() {
	open_port=8080 timeout_s=300
	while [ $# -gt 0 ]; do
		case $1 in
		--open-port) open_port=$2; shift 2 ;;
		--timeout) timeout_s=$2; shift 2 ;;
		--) shift; break ;;
		*) die "unknown option $1" ;;
		esac
	done
	[ $# -gt 0 ] || die "usage: netns-lab.sh run [--open-port N] [--timeout S] -- CMD [ARG...]"
	lab_check
	trap 'teardown' EXIT
	trap 'teardown; exit 130' INT
	trap 'teardown; exit 143' TERM
	trap 'teardown; exit 129' HUP

	if ! err=$(ip netns add "$NS_S" 2>&1); then
		skip "cannot create network namespaces: $err"
	fi
	created=1
	# from here on every failure is a failure, not a skip
	ip netns add "$NS_T" || die "cannot create $NS_T"
	ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_T" netns "$NS_T" ||
		die "cannot create the veth pair"
	for ns in "$NS_S" "$NS_T"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip -n "$ns" link set lo up || die "lo up in $ns"
	done
	ip -n "$NS_S" addr add 192.0.2.1/24 dev "$IF_S" || die "address"
	ip -n "$NS_S" addr add 198.18.0.1/15 dev "$IF_S" || die "address"
	ip -n "$NS_T" addr add 192.0.2.2/24 dev "$IF_T" || die "address"
	ip -n "$NS_S" link set "$IF_S" up || die "link up"
	ip -n "$NS_T" link set "$IF_T" up || die "link up"
	mac=$(ip -n "$NS_T" link show "$IF_T" | awk '/link\/ether/ { print $2 }')
	[ -n "$mac" ] || die "no MAC on $IF_T"
	blacklist=$(mktemp "${TMPDIR:-/tmp}/netns-lab-bl.XXXXXX") || die "mktemp"

	ip netns exec "$NS_T" "$listen" 192.0.2.2 "$open_port" &
	lpid=$!

	# §17.3 assertions
	[ -z "$(ip -n "$NS_S" route show default)" ] || die "default route in $NS_S"
	[ -z "$(ip -n "$NS_T" route show default)" ] || die "default route in $NS_T"
	links=$(ip -n "$NS_S" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
	want=$(printf '%s\n%s\n' lo "$IF_S" | sort | tr '\n' ' ')
	[ "$links" = "$want" ] || die "scanner namespace has links: $links"
	ip netns exec "$NS_S" "$listen" --connect 192.0.2.2 "$open_port" --timeout 5 ||
		die "listener 192.0.2.2:$open_port not reachable"

	LAB_NS_SCAN=$NS_S LAB_NS_TARGET=$NS_T LAB_IF_SCAN=$IF_S LAB_IF_TARGET=$IF_T
	LAB_GATEWAY_MAC=$mac LAB_SCAN_IP=192.0.2.1 LAB_BULK_SRC_IP=198.18.0.1
	LAB_TARGET_IP=192.0.2.2 LAB_OPEN_PORT=$open_port LAB_CLOSED_PORT=8081
	LAB_BULK_RANGE=240.0.0.0/8 LAB_BLACKLIST=$blacklist
	LAB_TX_PACKETS=/sys/class/net/$IF_S/statistics/tx_packets
	export LAB_NS_SCAN LAB_NS_TARGET LAB_IF_SCAN LAB_IF_TARGET LAB_GATEWAY_MAC LAB_SCAN_IP \
		LAB_BULK_SRC_IP LAB_TARGET_IP LAB_OPEN_PORT LAB_CLOSED_PORT LAB_BULK_RANGE \
		LAB_BLACKLIST LAB_TX_PACKETS

	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout "$timeout_s" ip netns exec "$NS_S" sh -c '
		[ "$(ip netns identify $$)" = "$LAB_NS_SCAN" ] ||
			{ echo "netns-lab: not inside $LAB_NS_SCAN; refusing to run" >&2; exit 1; }
		exec "$@"' netns-lab "$@"
	rc=$?
	teardown
	trap - EXIT INT TERM HUP
	return $rc
}

case ${1:-} in
check) shift; lab_check "$@"; exit 0 ;;
run) shift; lab_run "$@"; exit $? ;;
*) die "usage: netns-lab.sh check [--zmap] | run [--open-port N] [--timeout S] -- CMD [ARG...]" ;;
esac
