#!/bin/sh
# Host-tuning scripts (spec/bundle-install-update.md §21): static checks, then
# both scripts run for real under dash and under busybox sh, each time inside
# a fresh network namespace of this test's own (a veth pair agtv0/agtv1 and a
# second pair agtv2/agtv3 carrying an operator-owned root qdisc).  The scripts
# are never run outside such a namespace: every sysctl, ip, tc and iptables
# command they make then acts on that namespace only.  Their drop-in and
# recorded-values files go to this test's TMPDIR (ANYSCAN_TUNE_SYSCTL_FILE,
# ANYSCAN_HOST_TUNING_STATE_DIR); no file under /etc or /var is written.
#
# Sysctls: in a child network namespace net.ipv4.ip_local_port_range and
# net.core.optmem_max are the namespace's own; rmem_max and wmem_max are
# read-only mirrors of the host's and netdev_max_backlog does not exist there.
# The live run checks that the namespace's own values read back as intended
# and that the host's values did not move.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

TUNE=$AGENT_SRC/host-tuning/tune-scanner-host.sh
RESERVE=$AGENT_SRC/host-tuning/reserve-control-bandwidth.sh

# ---------------------------------------------------------------- static checks
if command -v shellcheck >/dev/null 2>&1; then
	check "shellcheck -s sh is clean on both scripts" shellcheck -s sh "$TUNE" "$RESERVE"
else
	skip "shellcheck -s sh is clean on both scripts" "shellcheck not installed"
fi
shells=
for s in dash "busybox sh"; do
	if command -v "${s%% *}" >/dev/null 2>&1; then
		shells="$shells${shells:+:}$s"
		# shellcheck disable=SC2086
		check "$s parses both scripts" sh -c "$s -n '$TUNE' && $s -n '$RESERVE'"
	else
		skip "$s parses both scripts" "${s%% *} not installed"
	fi
done

need_root_netns
command -v tc >/dev/null 2>&1 || skip_all "tc (iproute2) not installed"

namespaces=
cleanup() {
	for n in $namespaces; do ip netns del "$n" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# global (host) sysctls the test must never move
host_sysctls() {
	for k in net.core.netdev_max_backlog net.core.optmem_max net.core.rmem_max \
		net.core.wmem_max net.ipv4.ip_local_port_range; do
		printf '%s=%s\n' "$k" "$(tr -s ' \t' '  ' <"/proc/sys/$(echo "$k" | tr . /)")"
	done
}
host_before=$(host_sysctls)
host_chain_before=$(iptables -w -t mangle -S 2>/dev/null | grep -c ANYSCAN_RESERVE_OUT)

ns=
in_ns() { ip netns exec "$ns" "$@"; }
# ns_sysctl NAME: the namespace's value, whitespace squeezed
ns_sysctl() { in_ns sh -c "tr -s ' \t' '  ' </proc/sys/\$(echo $1 | tr . /)" 2>/dev/null; }
ns_writable() { in_ns sh -c "ls -ln /proc/sys/\$(echo $1 | tr . /) 2>/dev/null" | grep -q '^..w'; }
txq() { in_ns cat "/sys/class/net/$1/tx_queue_len"; }
root_kind() { in_ns tc qdisc show dev "$1" root | awk '$1 == "qdisc" { print $2, $3; exit }'; }
# snapshot: everything apply could change, for "nothing changed" comparisons
snapshot() {
	{
		for i in agtv0 agtv1 agtv2 agtv3; do echo "$i $(txq "$i")"; done
		ns_sysctl net.core.optmem_max
		ns_sysctl net.ipv4.ip_local_port_range
		in_ns tc qdisc show | sed 's/direct_packets_stat [0-9]*//'
		in_ns tc class show dev agtv0
		in_ns tc class show dev agtv1
		in_ns iptables -w -t mangle -S 2>/dev/null
		find "$work" -exec ls -ld --time-style=full-iso {} + 2>/dev/null | sort
		for f in "$work"/state/* "$work"/sysctl.d/*; do
			[ -f "$f" ] && cat "$f"
		done
	} 2>&1
}

make_ns() {
	ns=agt60$1$$
	ip netns add "$ns" || return 1
	namespaces="$namespaces $ns"
	ip link add agtv0 netns "$ns" type veth peer name agtv1 netns "$ns" &&
		ip link add agtv2 netns "$ns" type veth peer name agtv3 netns "$ns" || return 1
	in_ns ip link set lo up
	for i in agtv0 agtv1 agtv2 agtv3; do in_ns ip link set "$i" up; done
	# agtv1: a non-default txqueuelen and an explicit (kernel-default kind) root qdisc
	in_ns ip link set agtv1 txqueuelen 500
	in_ns tc qdisc replace dev agtv1 root pfifo
	# agtv2: shaping an operator set up (HTB under another handle): not ours
	in_ns tc qdisc add dev agtv2 root handle 5: htb default 1
}

expected_dropin() {
	cat <<'EOF'
# Managed by tune-scanner-host.sh; do not edit by hand.
# Run "tune-scanner-host.sh revert" to remove these tunings.
net.core.netdev_max_backlog = 30000
net.core.optmem_max = 524288
net.core.rmem_max = 16777216
net.core.wmem_max = 16777216
net.ipv4.ip_local_port_range = 10000 65535
EOF
}

# ---------------------------------------------------------------- one shell
run_shell() {
	sh_cmd=$1
	tag=$2
	work=$TMPDIR/$tag
	outf=$TMPDIR/$tag.out
	rm -rf "$work"
	mkdir -p "$work"
	if ! make_ns "$tag"; then
		not_ok "$sh_cmd: create namespace with veth pairs"
		return
	fi
	export ANYSCAN_TUNE_SYSCTL_FILE="$work/sysctl.d/99-anyscan-scanner.conf"
	export ANYSCAN_HOST_TUNING_STATE_DIR="$work/state"
	# settings through the env file, read literally (never executed)
	envf=$work/runtime.env
	cat >"$envf" <<EOF
# runtime.env for the test
ANYSCAN_TUNE_INTERFACES=agtv0,agtv1
ANYSCAN_RESERVE_INTERFACES=agtv0 agtv1
ANYSCAN_RESERVE_LINK_RATE_BPS=100000000
ANYSCAN_CONTROL_PLANE_HOST=192.0.2.10
ANYSCAN_TUNE_DISABLE=\$(touch $work/pwned)
EOF
	# shellcheck disable=SC2086
	tune() { in_ns $sh_cmd "$TUNE" --env-file "$envf" "$@"; }
	# shellcheck disable=SC2086
	reserve() { in_ns $sh_cmd "$RESERVE" --env-file "$envf" "$@"; }

	ns_port0=$(ns_sysctl net.ipv4.ip_local_port_range)
	ns_optmem0=$(ns_sysctl net.core.optmem_max)
	before=$(snapshot)

	# ---- tune-scanner-host.sh: dry-run
	tune --dry-run apply >"$outf" 2>&1
	check_eq "$sh_cmd tune: dry-run apply exits 0" 0 $?
	if grep -q '^DRY-RUN: write .*99-anyscan-scanner.conf' "$outf" &&
		grep -q '^DRY-RUN: ip link set dev agtv0 txqueuelen 10000' "$outf" &&
		grep -q '^DRY-RUN: ip link set dev agtv1 txqueuelen 10000' "$outf"; then
		ok "$sh_cmd tune: dry-run prints every command"
	else
		not_ok "$sh_cmd tune: dry-run prints every command"
		sed 's/^/#   /' "$outf"
	fi
	check_eq "$sh_cmd tune: dry-run changes nothing" "$before" "$(snapshot)"
	check_eq "$sh_cmd tune: dry-run as an unprivileged user changes nothing" "0:$before" \
		"$(in_ns env ANYSCAN_TUNE_INTERFACES=agtv0,agtv1 setpriv --reuid=65534 --regid=65534 --clear-groups $sh_cmd "$TUNE" \
			--env-file "$envf" --dry-run apply >/dev/null 2>&1; echo "$?:$(snapshot)")"

	# ---- apply
	tune apply >"$outf" 2>&1
	check_eq "$sh_cmd tune: apply exits 0" 0 $?
	check_eq "$sh_cmd tune: the env file was not executed" no "$([ -e "$work/pwned" ] && echo yes || echo no)"
	check_eq "$sh_cmd tune: drop-in has the intended sysctls" "$(expected_dropin)" \
		"$(cat "$ANYSCAN_TUNE_SYSCTL_FILE" 2>&1)"
	check_eq "$sh_cmd tune: drop-in mode 0644" "-rw-r--r--" \
		"$(ls -l "$ANYSCAN_TUNE_SYSCTL_FILE" | cut -c1-10)"
	check_eq "$sh_cmd tune: ip link reads back txqueuelen 10000 on both interfaces" "qlen 10000:qlen 10000" \
		"$(in_ns ip link show dev agtv0 | grep -o 'qlen [0-9]*'):$(in_ns ip link show dev agtv1 | grep -o 'qlen [0-9]*')"
	check_eq "$sh_cmd tune: namespace ip_local_port_range is 10000 65535" "10000 65535" \
		"$(ns_sysctl net.ipv4.ip_local_port_range)"
	if ns_writable net.core.optmem_max; then
		check_eq "$sh_cmd tune: namespace optmem_max is 524288" 524288 "$(ns_sysctl net.core.optmem_max)"
	else
		skip "$sh_cmd tune: namespace optmem_max is 524288" "not per-namespace on this kernel"
	fi
	if grep -qx "txqueuelen agtv1 500" "$work/state/tune-scanner-host.prev" &&
		grep -qx "txqueuelen agtv0 1000" "$work/state/tune-scanner-host.prev" &&
		grep -qx "sysctl net.ipv4.ip_local_port_range $ns_port0" "$work/state/tune-scanner-host.prev"; then
		ok "$sh_cmd tune: previous values recorded"
	else
		not_ok "$sh_cmd tune: previous values recorded"
		sed 's/^/#   /' "$work/state/tune-scanner-host.prev" 2>&1
	fi
	check_eq "$sh_cmd tune: state directory 0755, state file 0644" "drwxr-xr-x -rw-r--r--" \
		"$(ls -ld "$work/state" | cut -c1-10) $(ls -l "$work/state/tune-scanner-host.prev" | cut -c1-10)"
	check_eq "$sh_cmd tune: the host's own sysctls did not move" "$host_before" "$(host_sysctls)"

	# ---- second apply: nothing changes, and it says so
	after1=$(snapshot)
	tune apply >"$outf" 2>&1
	check_eq "$sh_cmd tune: second apply exits 0" 0 $?
	check_eq "$sh_cmd tune: second apply changes nothing" "$after1" "$(snapshot)"
	if grep -q 'sysctl drop-in unchanged' "$outf" && grep -q 'txqueuelen on agtv0 already 10000' "$outf" &&
		! grep -q '^\[tune-scanner-host\] set ' "$outf"; then
		ok "$sh_cmd tune: second apply says nothing changed"
	else
		not_ok "$sh_cmd tune: second apply says nothing changed"
		sed 's/^/#   /' "$outf"
	fi
	check_eq "$sh_cmd tune: dry-run after apply has nothing to do" "" \
		"$(tune --dry-run apply 2>/dev/null | grep '^DRY-RUN')"

	# ---- check
	check "$sh_cmd tune: check passes after apply" tune check
	in_ns ip link set dev agtv0 txqueuelen 777
	tune check >"$outf" 2>&1
	check_eq "$sh_cmd tune: check exits 1 after a hand-made txqueuelen change" 1 $?
	if grep -q '^check txqueuelen:agtv0 drift live=777 want=10000' "$outf"; then
		ok "$sh_cmd tune: check reports the drift"
	else
		not_ok "$sh_cmd tune: check reports the drift"
		sed 's/^/#   /' "$outf"
	fi
	check "$sh_cmd tune: status exits 0 even with drift" tune status

	# ---- revert
	tune revert >"$outf" 2>&1
	check_eq "$sh_cmd tune: revert exits 0" 0 $?
	check_eq "$sh_cmd tune: revert restores txqueuelen (recorded 1000 and 500)" "1000 500" "$(txq agtv0) $(txq agtv1)"
	check_eq "$sh_cmd tune: revert restores the namespace's port range" "$ns_port0" \
		"$(ns_sysctl net.ipv4.ip_local_port_range)"
	check_eq "$sh_cmd tune: revert restores the namespace's optmem_max" "$ns_optmem0" "$(ns_sysctl net.core.optmem_max)"
	check_eq "$sh_cmd tune: revert removes the drop-in and the state file" "absent absent" \
		"$([ -e "$ANYSCAN_TUNE_SYSCTL_FILE" ] && echo present || echo absent) $([ -e "$work/state/tune-scanner-host.prev" ] && echo present || echo absent)"

	# ---- the spec's variant: ANYSCAN_TUNE_SYSCTL_LIVE=false leaves live sysctls alone
	ANYSCAN_TUNE_SYSCTL_LIVE=false tune apply >/dev/null 2>&1
	check_eq "$sh_cmd tune: SYSCTL_LIVE=false leaves the namespace's sysctls alone" "$ns_port0/$ns_optmem0" \
		"$(ns_sysctl net.ipv4.ip_local_port_range)/$(ns_sysctl net.core.optmem_max)"
	check "$sh_cmd tune: SYSCTL_LIVE=false: check passes" env ANYSCAN_TUNE_SYSCTL_LIVE=false \
		ip netns exec "$ns" $sh_cmd "$TUNE" --env-file "$envf" check
	ANYSCAN_TUNE_SYSCTL_LIVE=false tune revert >/dev/null 2>&1
	check_eq "$sh_cmd tune: SYSCTL_LIVE=false: revert restores txqueuelen and removes the state" "1000 500 absent" \
		"$(txq agtv0) $(txq agtv1) $([ -e "$work/state/tune-scanner-host.prev" ] && echo present || echo absent)"

	# ---- strict: a missing interface is a failed step
	check "$sh_cmd tune: a missing interface is logged, exit 0" \
		env ANYSCAN_TUNE_INTERFACES=agtnone0 ip netns exec "$ns" $sh_cmd "$TUNE" --env-file "$envf" --dry-run apply
	check_fails "$sh_cmd tune: ... and exit 1 with --strict" \
		env ANYSCAN_TUNE_INTERFACES=agtnone0 ip netns exec "$ns" $sh_cmd "$TUNE" --env-file "$envf" --dry-run --strict apply

	# ---- invalid input (dry-run): logged, default used, nothing written
	before=$(snapshot)
	out=$(in_ns env ANYSCAN_TUNE_TXQUEUELEN=12x ANYSCAN_TUNE_LOCAL_PORT_RANGE='70000 1' \
		$sh_cmd "$TUNE" --env-file "$envf" --dry-run apply 2>&1)
	case $out in
	*'ANYSCAN_TUNE_TXQUEUELEN=12x invalid; using default 10000'*"ANYSCAN_TUNE_LOCAL_PORT_RANGE='70000 1' invalid; using default '10000 65535'"*)
		ok "$sh_cmd tune: invalid values are logged and the defaults used" ;;
	*)
		not_ok "$sh_cmd tune: invalid values are logged and the defaults used"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	out=$(in_ns env ANYSCAN_TUNE_LOCAL_PORT_RANGE=1024-2048 $sh_cmd "$TUNE" --env-file "$envf" --dry-run apply 2>&1)
	case $out in
	*'DRY-RUN: sysctl -q -w net.ipv4.ip_local_port_range=1024 2048'*) ok "$sh_cmd tune: LO-HI port range accepted" ;;
	*)
		not_ok "$sh_cmd tune: LO-HI port range accepted"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	check_eq "$sh_cmd tune: invalid-input runs wrote nothing" "$before" "$(snapshot)"
	check_eq "$sh_cmd tune: unknown action exits 2" 2 "$(tune frobnicate >/dev/null 2>&1; echo $?)"
	check_eq "$sh_cmd tune: unknown option exits 2" 2 "$(tune --frob apply >/dev/null 2>&1; echo $?)"
	check "$sh_cmd tune: help exits 0" tune help
	out=$(in_ns env ANYSCAN_TUNE_DISABLE=yes $sh_cmd "$TUNE" --env-file "$envf" apply 2>&1)
	case $out in
	*'ANYSCAN_TUNE_DISABLE is set; skipping'*) ok "$sh_cmd tune: ANYSCAN_TUNE_DISABLE skips apply" ;;
	*) not_ok "$sh_cmd tune: ANYSCAN_TUNE_DISABLE skips apply" ;;
	esac

	# ---- reserve-control-bandwidth.sh
	if ! in_ns sh -c 'command -v iptables' >/dev/null 2>&1; then
		skip "$sh_cmd reserve: all cases" "iptables not installed"
		return
	fi
	before=$(snapshot)
	reserve --dry-run apply >"$outf" 2>&1
	check_eq "$sh_cmd reserve: dry-run apply exits 0" 0 $?
	if grep -q '^DRY-RUN: tc qdisc add dev agtv0 root handle 1: htb default 20$' "$outf" &&
		grep -q '^DRY-RUN: tc class add dev agtv0 parent 1:1 classid 1:10 htb rate 5000000bit ceil 100000000bit prio 1$' "$outf" &&
		grep -q '^DRY-RUN: tc class add dev agtv0 parent 1:1 classid 1:20 htb rate 95000000bit ceil 100000000bit prio 7$' "$outf" &&
		grep -q '^DRY-RUN: tc qdisc del dev agtv1 root$' "$outf" &&
		grep -q '^DRY-RUN: create iptables mangle chain ANYSCAN_RESERVE_OUT$' "$outf"; then
		ok "$sh_cmd reserve: dry-run prints every command"
	else
		not_ok "$sh_cmd reserve: dry-run prints every command"
		sed 's/^/#   /' "$outf"
	fi
	check_eq "$sh_cmd reserve: dry-run changes nothing" "$before" "$(snapshot)"
	out=$(in_ns env ANYSCAN_RESERVE_INTERFACES=agtv0 ANYSCAN_RESERVE_BANDWIDTH_BPS=abc \
		setpriv --reuid=65534 --regid=65534 --clear-groups $sh_cmd "$RESERVE" --env-file /dev/null \
		--dry-run apply 2>&1; echo "rc=$?")
	case $out in
	*'ANYSCAN_RESERVE_BANDWIDTH_BPS=abc invalid; using default 5000000'*'DRY-RUN: tc qdisc add dev agtv0 root handle 1: htb default 20'*rc=0)
		ok "$sh_cmd reserve: unprivileged dry-run with invalid input logs and plans" ;;
	*)
		not_ok "$sh_cmd reserve: unprivileged dry-run with invalid input logs and plans"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	check_eq "$sh_cmd reserve: unprivileged dry-run changes nothing" "$before" "$(snapshot)"

	reserve apply >"$outf" 2>&1
	check_eq "$sh_cmd reserve: apply exits 0" 0 $?
	q=$(in_ns tc -s qdisc show dev agtv0)
	case $q in
	*'qdisc htb 1: root'*'default 0x20'*) ok "$sh_cmd reserve: tc -s qdisc shows htb 1: default 0x20 on agtv0" ;;
	*)
		not_ok "$sh_cmd reserve: tc -s qdisc shows htb 1: default 0x20 on agtv0"
		printf '%s\n' "$q" | sed 's/^/#   /' ;;
	esac
	for i in agtv0 agtv1; do
		c=$(in_ns tc class show dev "$i")
		case $c in
		*'class htb 1:10 parent 1:1 prio 1 rate 5Mbit ceil 100Mbit'*) ;;
		*) c="missing 1:10: $c" ;;
		esac
		case $c in
		*'class htb 1:20 parent 1:1 prio 7 rate 95Mbit ceil 100Mbit'*) ;;
		*) c="missing 1:20: $c" ;;
		esac
		case $c in
		*'class htb 1:1 root rate 100Mbit ceil 100Mbit'*) ;;
		*) c="missing 1:1: $c" ;;
		esac
		case $c in
		missing*)
			not_ok "$sh_cmd reserve: tc class shows 1:1, 1:10, 1:20 at 100 Mbit on $i"
			printf '%s\n' "$c" | sed 's/^/#   /' ;;
		*) ok "$sh_cmd reserve: tc class shows 1:1, 1:10, 1:20 at 100 Mbit on $i" ;;
		esac
	done
	check_eq "$sh_cmd reserve: classification chain and jumps" \
		"-N ANYSCAN_RESERVE_OUT
-A ANYSCAN_RESERVE_OUT -d 192.0.2.10/32 -j CLASSIFY --set-class 0001:0010
-A ANYSCAN_RESERVE_OUT -p tcp -m multiport --sports 22 -j CLASSIFY --set-class 0001:0010
OUTPUT POSTROUTING" \
		"$(in_ns iptables -w -t mangle -S ANYSCAN_RESERVE_OUT; in_ns iptables -w -t mangle -S |
			awk '$1 == "-A" && $4 == "ANYSCAN_RESERVE_OUT" { printf "%s%s", s, $2; s = " " } END { print "" }')"
	check_eq "$sh_cmd reserve: previous root qdiscs recorded" "# reserve-control-bandwidth.prev
qdisc agtv0 noqueue
qdisc agtv1 pfifo" "$(cat "$work/state/reserve-control-bandwidth.prev" 2>&1)"

	after1=$(snapshot)
	reserve apply >"$outf" 2>&1
	check_eq "$sh_cmd reserve: second apply exits 0" 0 $?
	check_eq "$sh_cmd reserve: second apply changes nothing" "$after1" "$(snapshot)"
	if grep -q 'reservation already active on agtv0' "$outf" &&
		grep -q 'reservation already active on agtv1' "$outf" &&
		grep -q 'classification rules unchanged' "$outf"; then
		ok "$sh_cmd reserve: second apply says nothing changed"
	else
		not_ok "$sh_cmd reserve: second apply says nothing changed"
		sed 's/^/#   /' "$outf"
	fi
	check_eq "$sh_cmd reserve: dry-run after apply has nothing to do" "" \
		"$(reserve --dry-run apply 2>/dev/null | grep '^DRY-RUN')"
	check "$sh_cmd reserve: check passes after apply" reserve check

	in_ns tc class change dev agtv0 parent 1:1 classid 1:10 htb rate 1000000bit ceil 100000000bit prio 1
	check_fails "$sh_cmd reserve: check fails after a hand-made rate change" reserve check
	reserve apply >/dev/null 2>&1
	check "$sh_cmd reserve: apply repairs other rates; check passes" reserve check

	# an operator's root qdisc is left alone unless forced
	out=$(in_ns env ANYSCAN_RESERVE_INTERFACES=agtv2 $sh_cmd "$RESERVE" --env-file "$envf" apply 2>&1)
	case $out in
	*'agtv2 has root qdisc htb not managed by reserve-control-bandwidth.sh; not replacing (set ANYSCAN_RESERVE_FORCE=true)'*)
		ok "$sh_cmd reserve: a foreign root qdisc is reported" ;;
	*)
		not_ok "$sh_cmd reserve: a foreign root qdisc is reported"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	check_eq "$sh_cmd reserve: ... and left in place" "htb 5:" "$(root_kind agtv2)"
	in_ns env ANYSCAN_RESERVE_INTERFACES=agtv2 ANYSCAN_RESERVE_FORCE=true \
		$sh_cmd "$RESERVE" --env-file "$envf" apply >/dev/null 2>&1
	check_eq "$sh_cmd reserve: ANYSCAN_RESERVE_FORCE replaces it" "htb 1:" "$(root_kind agtv2)"
	in_ns env ANYSCAN_RESERVE_INTERFACES=agtv2 $sh_cmd "$RESERVE" --env-file "$envf" revert >/dev/null 2>&1

	reserve revert >"$outf" 2>&1
	check_eq "$sh_cmd reserve: revert exits 0" 0 $?
	check_eq "$sh_cmd reserve: qdisc htb 1: gone, previous root qdiscs back" "noqueue 0: / pfifo" \
		"$(root_kind agtv0) / $(root_kind agtv1 | awk '{ print $1 }')"
	check_eq "$sh_cmd reserve: chain and jumps gone" 0 \
		"$(in_ns iptables -w -t mangle -S | grep -c ANYSCAN_RESERVE_OUT)"
	check_eq "$sh_cmd reserve: state file removed" absent \
		"$([ -e "$work/state/reserve-control-bandwidth.prev" ] && echo present || echo absent)"
	check_eq "$sh_cmd reserve: second revert exits 0" 0 "$(reserve revert >/dev/null 2>&1; echo $?)"

	# invalid input and defaults (dry-run)
	before=$(snapshot)
	out=$(in_ns env ANYSCAN_RESERVE_BANDWIDTH_BPS=12x ANYSCAN_RESERVE_LINK_RATE_BPS= \
		ANYSCAN_RESERVE_CONTROL_SPORTS=22,99999 ANYSCAN_RESERVE_INTERFACES=agtv0 \
		$sh_cmd "$RESERVE" --env-file /dev/null --dry-run apply 2>&1)
	case $out in
	*'ANYSCAN_RESERVE_BANDWIDTH_BPS=12x invalid; using default 5000000'*'ANYSCAN_RESERVE_CONTROL_SPORTS=22,99999 invalid; using default 22'*'classid 1:20 htb rate 995000000bit ceil 1000000000bit prio 7'*)
		ok "$sh_cmd reserve: invalid values logged, defaults used (1 Gbit link)" ;;
	*)
		not_ok "$sh_cmd reserve: invalid values logged, defaults used (1 Gbit link)"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	out=$(in_ns env ANYSCAN_RESERVE_BANDWIDTH_BPS=200000000 $sh_cmd "$RESERVE" --env-file "$envf" --dry-run apply 2>&1)
	case $out in
	*'classid 1:10 htb rate 50000000bit ceil 100000000bit prio 1'*) ok "$sh_cmd reserve: reserve >= link reserves half the link" ;;
	*)
		not_ok "$sh_cmd reserve: reserve >= link reserves half the link"
		printf '%s\n' "$out" | sed 's/^/#   /' ;;
	esac
	check_eq "$sh_cmd reserve: invalid-input runs wrote nothing" "$before" "$(snapshot)"
	check_eq "$sh_cmd reserve: unknown action exits 2" 2 "$(reserve frobnicate >/dev/null 2>&1; echo $?)"
}

IFS=:
for s in $shells; do
	IFS=' '
	case $s in dash) t=d ;; *) t=b ;; esac
	run_shell "$s" "$t"
	IFS=:
done
IFS=' '

check_eq "the host's sysctls are unchanged" "$host_before" "$(host_sysctls)"
check_eq "the host's mangle table has no ANYSCAN_RESERVE_OUT" "$host_chain_before" \
	"$(iptables -w -t mangle -S 2>/dev/null | grep -c ANYSCAN_RESERVE_OUT)"
done_testing
