#!/bin/sh
# The network-namespace lab of scan.md §17: two namespaces joined by one veth
# pair, documentation/reserved address ranges, a TCP listener on the target
# side, no default route, IPv6 off; removed on exit.  Every real scanner run
# by the tests runs only inside it.
#
#   netns-lab.sh check [--zmap]
#       exit 0 if a lab can be built here; else "SKIP: netns-lab: <reason>", 77
#   netns-lab.sh run [--open-port N] [--timeout S] [--pairs N] -- CMD [ARG...]
#       build the lab, run CMD inside the scanner namespace, tear down, exit
#       with CMD's status (124 on timeout, default 300 s)
#
# CMD gets LAB_NS_SCAN LAB_NS_TARGET LAB_IF_SCAN LAB_IF_TARGET LAB_GATEWAY_MAC
# LAB_SCAN_IP LAB_BULK_SRC_IP LAB_TARGET_IP LAB_OPEN_PORT LAB_CLOSED_PORT
# LAB_BULK_RANGE LAB_BLACKLIST LAB_TX_PACKETS.
#
# --pairs N (1 to 4, default 1) adds N-1 more veth pairs from the scanner
# namespace, pair k (k = 2..N) to its own target namespace
# agentd-lab-<pid>-t<k> (veths alab<pid>s<k> / alab<pid>t<k>), for multi-NIC
# scans (scan.md §14).  Every target-side veth then gets the same locally
# administered MAC (02:00:00:a6:<pid-derived>), since agentd passes one
# SCANNER_GATEWAY_MAC to all shards.  LAB_MULTI_RANGE (192.0.2.0/28) split
# into N shards (§7.4) gives shard i an open port to find: pair i+1's target
# namespace listens on the shard's first address + 2 (pair 1 keeps
# 192.0.2.2/24 and 192.0.2.1/24; pair k's scanner veth gets the shard's first
# address + 1 as a /32 plus a /32 route to its target; the target gets its
# address as a /24, so it answers LAB_SCAN_IP through its own veth).  With
# --pairs 1 (the default) the lab is exactly §17.1.  Exported for every N:
#   LAB_PAIRS            N
#   LAB_MULTI_RANGE      192.0.2.0/28
#   LAB_IFS_SCAN         the scanner veths, comma-separated, pair order
#   LAB_TARGET_IPS       the listeners' addresses, space-separated, pair order
#   LAB_NS_TARGETS       the target namespaces, space-separated, pair order
#   LAB_IF_SCAN_<k>, LAB_NS_TARGET_<k>, LAB_TARGET_IP_<k>, LAB_TX_PACKETS_<k>
#                        pair k (1..N); pair 1 repeats LAB_IF_SCAN etc.
#
# With NETNS_LAB_RECORD=FILE in the environment, `run` appends the names of
# the namespaces it creates to FILE (one a line, before creating them), so a
# test can check that exactly its own labs are gone.
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
lpids=
blacklist=
created=
npairs=1

# pair_ns K / pair_if_s K / pair_if_t K -- names of pair K (pair 1 as §17.1)
pair_ns() { if [ "$1" -eq 1 ]; then echo "$NS_T"; else echo "$NS_T$1"; fi; }
pair_if_s() { if [ "$1" -eq 1 ]; then echo "$IF_S"; else echo "$IF_S$1"; fi; }
pair_if_t() { if [ "$1" -eq 1 ]; then echo "$IF_T"; else echo "$IF_T$1"; fi; }
# shard_start I N -- last octet of the first address of shard I of
# 192.0.2.0/28 split into N (scan.md §7.4: earlier shards take the extra)
shard_start() {
	b=$((16 / $2)) r=$((16 % $2))
	if [ "$1" -lt "$r" ]; then echo $(($1 * (b + 1))); else echo $(($1 * b + r)); fi
}

teardown() {
	for p in $lpids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	lpids=
	if [ -n "$created" ]; then
		ip netns del "$NS_S" 2>/dev/null
		k=1
		while [ "$k" -le "$npairs" ]; do
			ip netns del "$(pair_ns "$k")" 2>/dev/null
			k=$((k + 1))
		done
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
		--pairs) npairs=$2; shift 2 ;;
		--) shift; break ;;
		*) die "unknown option $1" ;;
		esac
	done
	[ $# -gt 0 ] || die "usage: netns-lab.sh run [--open-port N] [--timeout S] [--pairs N] -- CMD [ARG...]"
	case $npairs in
	1 | 2 | 3 | 4) ;;
	*) die "--pairs must be 1 to 4" ;;
	esac
	lab_check
	trap 'teardown' EXIT
	trap 'teardown; exit 130' INT
	trap 'teardown; exit 143' TERM
	trap 'teardown; exit 129' HUP

	if [ -n "${NETNS_LAB_RECORD:-}" ]; then
		k=1
		{
			echo "$NS_S"
			while [ "$k" -le "$npairs" ]; do pair_ns "$k"; k=$((k + 1)); done
		} >>"$NETNS_LAB_RECORD" || die "cannot write $NETNS_LAB_RECORD"
	fi
	if ! err=$(ip netns add "$NS_S" 2>&1); then
		skip "cannot create network namespaces: $err"
	fi
	created=1
	# from here on every failure is a failure, not a skip
	ip netns add "$NS_T" || die "cannot create $NS_T"
	ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_T" netns "$NS_T" ||
		die "cannot create the veth pair"
	k=2
	while [ "$k" -le "$npairs" ]; do
		ip netns add "$(pair_ns "$k")" || die "cannot create $(pair_ns "$k")"
		ip link add "$(pair_if_s "$k")" netns "$NS_S" type veth \
			peer name "$(pair_if_t "$k")" netns "$(pair_ns "$k")" ||
			die "cannot create veth pair $k"
		k=$((k + 1))
	done
	k=0
	while [ "$k" -le "$npairs" ]; do
		if [ "$k" -eq 0 ]; then ns=$NS_S; else ns=$(pair_ns "$k"); fi
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
		ip -n "$ns" link set lo up || die "lo up in $ns"
		k=$((k + 1))
	done
	ip -n "$NS_S" addr add 192.0.2.1/24 dev "$IF_S" || die "address"
	ip -n "$NS_S" addr add 198.18.0.1/15 dev "$IF_S" || die "address"
	ip -n "$NS_T" addr add 192.0.2.2/24 dev "$IF_T" || die "address"
	if [ "$npairs" -gt 1 ]; then
		# one gateway MAC for every shard: the same locally administered
		# MAC on every target-side veth (each on its own link)
		mac=$(printf '02:00:00:a6:%02x:%02x' $(($$ / 256 % 256)) $(($$ % 256)))
		# any local address answers ARP on any veth (replies to LAB_SCAN_IP)
		ip netns exec "$NS_S" sysctl -qw net.ipv4.conf.all.arp_ignore=0 >/dev/null 2>&1
	fi
	tips=192.0.2.2
	ifs_scan=$IF_S
	nss_t=$NS_T
	k=1
	while [ "$k" -le "$npairs" ]; do
		ns=$(pair_ns "$k") ifs=$(pair_if_s "$k") ift=$(pair_if_t "$k")
		if [ "$k" -gt 1 ]; then
			st=$(shard_start $((k - 1)) "$npairs")
			sip=192.0.2.$((st + 1)) tip=192.0.2.$((st + 2))
			ip -n "$NS_S" addr add "$sip/32" dev "$ifs" || die "address $sip"
			ip -n "$ns" addr add "$tip/24" dev "$ift" || die "address $tip"
			tips="$tips $tip" ifs_scan="$ifs_scan,$ifs" nss_t="$nss_t $ns"
		fi
		if [ "$npairs" -gt 1 ]; then
			ip -n "$ns" link set "$ift" address "$mac" || die "MAC of $ift"
		fi
		ip -n "$NS_S" link set "$ifs" up || die "link up"
		ip -n "$ns" link set "$ift" up || die "link up"
		if [ "$k" -gt 1 ]; then
			ip -n "$NS_S" route add "$tip/32" dev "$ifs" src "$sip" || die "route to $tip"
		fi
		k=$((k + 1))
	done
	mac=$(ip -n "$NS_T" link show "$IF_T" | awk '/link\/ether/ { print $2 }')
	[ -n "$mac" ] || die "no MAC on $IF_T"
	blacklist=$(mktemp "${TMPDIR:-/tmp}/netns-lab-bl.XXXXXX") || die "mktemp"

	k=1
	for tip in $tips; do
		ip netns exec "$(pair_ns "$k")" "$listen" "$tip" "$open_port" &
		lpids="$lpids $!"
		k=$((k + 1))
	done

	# §17.3 assertions
	[ -z "$(ip -n "$NS_S" route show default)" ] || die "default route in $NS_S"
	want=lo
	k=1
	for tip in $tips; do
		ns=$(pair_ns "$k")
		[ -z "$(ip -n "$ns" route show default)" ] || die "default route in $ns"
		[ "$(ip -n "$ns" link show "$(pair_if_t "$k")" | awk '/link\/ether/ { print $2 }')" = "$mac" ] ||
			die "target veth $k has another MAC"
		want=$(printf '%s\n%s' "$want" "$(pair_if_s "$k")")
		k=$((k + 1))
	done
	links=$(ip -n "$NS_S" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$want" | sort | tr '\n' ' ')
	[ "$links" = "$want" ] || die "scanner namespace has links: $links"
	for tip in $tips; do
		ip netns exec "$NS_S" "$listen" --connect "$tip" "$open_port" --timeout 5 ||
			die "listener $tip:$open_port not reachable"
	done

	LAB_NS_SCAN=$NS_S LAB_NS_TARGET=$NS_T LAB_IF_SCAN=$IF_S LAB_IF_TARGET=$IF_T
	LAB_GATEWAY_MAC=$mac LAB_SCAN_IP=192.0.2.1 LAB_BULK_SRC_IP=198.18.0.1
	LAB_TARGET_IP=192.0.2.2 LAB_OPEN_PORT=$open_port LAB_CLOSED_PORT=8081
	LAB_BULK_RANGE=240.0.0.0/8 LAB_BLACKLIST=$blacklist
	LAB_TX_PACKETS=/sys/class/net/$IF_S/statistics/tx_packets
	export LAB_NS_SCAN LAB_NS_TARGET LAB_IF_SCAN LAB_IF_TARGET LAB_GATEWAY_MAC LAB_SCAN_IP \
		LAB_BULK_SRC_IP LAB_TARGET_IP LAB_OPEN_PORT LAB_CLOSED_PORT LAB_BULK_RANGE \
		LAB_BLACKLIST LAB_TX_PACKETS
	LAB_PAIRS=$npairs LAB_MULTI_RANGE=192.0.2.0/28 LAB_IFS_SCAN=$ifs_scan
	LAB_TARGET_IPS=$tips LAB_NS_TARGETS=$nss_t
	export LAB_PAIRS LAB_MULTI_RANGE LAB_IFS_SCAN LAB_TARGET_IPS LAB_NS_TARGETS
	k=1
	for tip in $tips; do
		ifs=$(pair_if_s "$k")
		export "LAB_IF_SCAN_$k=$ifs" "LAB_NS_TARGET_$k=$(pair_ns "$k")" "LAB_TARGET_IP_$k=$tip" \
			"LAB_TX_PACKETS_$k=/sys/class/net/$ifs/statistics/tx_packets"
		k=$((k + 1))
	done

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
*) die "usage: netns-lab.sh check [--zmap] | run [--open-port N] [--timeout S] [--pairs N] -- CMD [ARG...]" ;;
esac
