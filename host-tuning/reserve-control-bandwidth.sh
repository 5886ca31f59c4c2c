#!/bin/sh
# reserve-control-bandwidth.sh: keep egress bandwidth for control traffic
# (SSH replies, the update channel) while the scanner saturates the link.
# Contract: spec/bundle-install-update.md §21.1, §21.3, §21.4.
#
#   reserve-control-bandwidth.sh [--dry-run] [--strict] [--env-file FILE] apply|check|revert|help
#   (aliases: release = revert; status = check that always exits 0)
#
# Per interface an HTB root qdisc 1: with class 1:10 (control: the reserve,
# prio 1) and 1:20 (everything else, the scanner included: link - reserve,
# prio 7), both allowed to borrow up to the link rate.  Control packets are
# classified into 1:10 by the iptables mangle chain ANYSCAN_RESERVE_OUT.
#
# Settings come from the environment, then from the env file (default
# /etc/agentd/runtime.env when readable), read literally: only KEY= lines whose
# key starts with ANYSCAN_ or is AGENTD_CHANNEL_URL.  Every knob is read through
# a cfg_* function whose first argument is the knob's name (the template sync
# test, tests/integration/61-templates.sh, finds knobs that way).  Every tc and
# iptables command acts on the network namespace this script runs in.
set -u

PROG='reserve-control-bandwidth'
DEFAULT_ENV_FILE=/etc/agentd/runtime.env
DEFAULT_STATE_DIR=/var/lib/agentd-host-tuning
DEFAULT_RESERVE_BPS=5000000
DEFAULT_LINK_BPS=1000000000
DEFAULT_SPORTS=22
MIN_RATE_BPS=1000
CHAIN=ANYSCAN_RESERVE_OUT
# root qdisc kinds the kernel may have attached by itself (§21.3)
DEFAULT_KINDS='mq pfifo_fast fq_codel fq noqueue pfifo none'
# kinds revert may put back explicitly when the kernel's default differs
RESTORABLE_KINDS='pfifo_fast fq_codel fq pfifo'

failed=0
dry_run=0
strict_opt=0
env_file=
env_file_given=0
action=

log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
step_failed() { log "$*"; failed=1; }

usage() {
	cat <<EOF
usage: $PROG.sh [--dry-run] [--strict] [--env-file FILE] [apply|check|revert|help]

  apply   install the HTB reservation and the classification rules (default)
  check   report drift; exit 1 when the reservation is not in place
  revert  remove the reservation and the rules this script installed
  help    this text
aliases: release = revert, status = check (always exits 0)
exit status: 0 ok, 1 failure (check: drift; apply/revert only with --strict), 2 usage
EOF
}

# ---------------------------------------------------------------- settings

# cfg_get NAME: the value of knob NAME (environment first, then the env file).
cfg_get() {
	_n=$1
	eval "_v=\${$_n-}"
	if [ -n "$_v" ]; then
		printf '%s' "$_v"
		return 0
	fi
	case $_n in ANYSCAN_* | AGENTD_CHANNEL_URL) ;; *) return 0 ;; esac
	[ -n "$env_file" ] && [ -r "$env_file" ] || return 0
	sed -n "s/^$_n=//p" "$env_file" | head -n 1 | tr -d '\n'
}

truthy() {
	case $(printf '%s' "$1" | tr '[:upper:]' '[:lower:]') in
	1 | true | yes | on) return 0 ;;
	*) return 1 ;;
	esac
}

# positive_int VALUE: VALUE without leading zeros when it is a decimal integer
# in 1..10^15, else fails.
positive_int() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	_p=$(printf '%s' "$1" | sed 's/^0*//')
	[ -n "$_p" ] && [ ${#_p} -le 15 ] || return 1
	printf '%s' "$_p"
}

# cfg_rate NAME DEFAULT: an integer >= MIN_RATE_BPS, default with a log when invalid.
cfg_rate() {
	_raw=$(cfg_get "$1")
	if [ -z "$_raw" ]; then
		printf '%s' "$2"
	elif _val=$(positive_int "$_raw") && [ "$_val" -ge "$MIN_RATE_BPS" ]; then
		printf '%s' "$_val"
	else
		log "$1=$_raw invalid; using default $2"
		printf '%s' "$2"
	fi
}

valid_ifname() {
	[ ${#1} -ge 1 ] && [ ${#1} -le 15 ] || return 1
	case $1 in *[!A-Za-z0-9_.:@-]*) return 1 ;; esac
	return 0
}

valid_ipv4() {
	case $1 in *[!0-9.]* | *..* | .* | *.) return 1 ;; esac
	_o=$IFS
	IFS=.
	# shellcheck disable=SC2086
	set -- $1
	IFS=$_o
	[ $# -eq 4 ] || return 1
	for _q in "$@"; do
		[ ${#_q} -le 3 ] && [ "$_q" -le 255 ] || return 1
	done
	return 0
}

default_interface() {
	_d=$(ip -4 route show default 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
	if [ -z "$_d" ] && [ -r /proc/net/route ]; then
		_d=$(awk 'NR > 1 && $2 == "00000000" { print $1; exit }' /proc/net/route)
	fi
	printf '%s' "$_d"
}

# interface_list RAW: valid, de-duplicated names, space-separated.
interface_list() {
	_out=
	_words=$(printf '%s' "$1" | tr ',;\t\r\n' '     ')
	set -f
	for _i in $_words; do
		if ! valid_ifname "$_i"; then
			log "interface name '$_i' invalid; skipped"
			continue
		fi
		case " $_out " in *" $_i "*) continue ;; esac
		_out="${_out:+$_out }$_i"
	done
	set +f
	if [ -z "$_out" ]; then
		_out=$(default_interface)
		valid_ifname "$_out" || _out=
	fi
	printf '%s' "$_out"
}

# url_host URL: the host part of an http(s) URL; nothing for a path.
url_host() {
	case $1 in *://*) ;; *) return 0 ;; esac
	_h=${1#*://}
	_h=${_h%%/*}
	_h=${_h%%\?*}
	_h=${_h##*@}
	case $_h in
	\[*) return 0 ;; # IPv6 literal: the reservation classifies IPv4 only
	*) _h=${_h%%:*} ;;
	esac
	printf '%s' "$_h"
}

# sports_list RAW: comma-separated ports 1..65535 (at most 15, the multiport limit).
sports_list() {
	_out=
	_n=0
	_words=$(printf '%s' "$1" | tr ',;\t ' '    ')
	set -f
	for _p in $_words; do
		if ! _v=$(positive_int "$_p") || [ ${#_v} -gt 5 ] || [ "$_v" -gt 65535 ]; then
			set +f
			return 1
		fi
		case ",$_out," in *",$_v,"*) continue ;; esac
		_out="${_out:+$_out,}$_v"
		_n=$((_n + 1))
	done
	set +f
	[ -n "$_out" ] && [ "$_n" -le 15 ] || return 1
	printf '%s' "$_out"
}

load_settings() {
	disabled=0
	truthy "$(cfg_get ANYSCAN_RESERVE_DISABLE)" && disabled=1
	truthy "$(cfg_get ANYSCAN_RESERVE_DRY_RUN)" && dry_run=1
	strict=$strict_opt
	truthy "$(cfg_get ANYSCAN_RESERVE_STRICT)" && strict=1
	force=0
	truthy "$(cfg_get ANYSCAN_RESERVE_FORCE)" && force=1

	reserve=$(cfg_rate ANYSCAN_RESERVE_BANDWIDTH_BPS "$DEFAULT_RESERVE_BPS")
	link=$(cfg_rate ANYSCAN_RESERVE_LINK_RATE_BPS "$DEFAULT_LINK_BPS")
	if [ "$reserve" -ge "$link" ]; then
		log "reserve ${reserve}bps >= link ${link}bps; reserving half the link"
		reserve=$((link / 2))
	fi
	bulk=$((link - reserve))
	[ "$bulk" -ge "$MIN_RATE_BPS" ] || bulk=$MIN_RATE_BPS

	_raw=$(cfg_get ANYSCAN_RESERVE_CONTROL_SPORTS)
	if [ -z "$_raw" ]; then
		sports=$DEFAULT_SPORTS
	elif ! sports=$(sports_list "$_raw"); then
		log "ANYSCAN_RESERVE_CONTROL_SPORTS=$_raw invalid; using default $DEFAULT_SPORTS"
		sports=$DEFAULT_SPORTS
	fi
	control_hosts=$(cfg_get ANYSCAN_CONTROL_PLANE_HOST)
	[ -n "$control_hosts" ] || control_hosts=$(url_host "$(cfg_get AGENTD_CHANNEL_URL)")

	state_dir=$(cfg_get ANYSCAN_HOST_TUNING_STATE_DIR)
	case $state_dir in
	'') state_dir=$DEFAULT_STATE_DIR ;;
	/*) ;;
	*)
		log "ANYSCAN_HOST_TUNING_STATE_DIR=$state_dir invalid; using default $DEFAULT_STATE_DIR"
		state_dir=$DEFAULT_STATE_DIR
		;;
	esac
	state_file=$state_dir/$PROG.prev

	_raw=$(cfg_get ANYSCAN_RESERVE_INTERFACES)
	[ -n "$_raw" ] || _raw=$(cfg_get ANYSCAN_RESERVE_INTERFACE)
	interfaces=$(interface_list "$_raw")
}

# ---------------------------------------------------------------- actions on the host

# run CMD...: run a command that changes the host, or print it in dry-run mode.
run() {
	if [ "$dry_run" -eq 1 ]; then
		printf 'DRY-RUN: %s\n' "$*"
		return 0
	fi
	"$@"
}

have() { command -v "$1" >/dev/null 2>&1; }

# tc_rate BPS: the rate as `tc class show` prints it (the kernel keeps bytes/s;
# tc prints bits with the largest unit that divides evenly, iproute2's sprint_rate).
tc_rate() {
	_r=$(($1 / 8 * 8))
	_u=
	for _next in K M G T; do
		[ "$_r" -ge 1000 ] || break
		if [ $((_r % 1000)) -ne 0 ] && [ "$_r" -lt 1000000 ]; then break; fi
		_r=$((_r / 1000))
		_u=$_next
	done
	printf '%s%sbit' "$_r" "$_u"
}

# root_qdisc IF: "<kind> <handle>" of the root qdisc, "none 0:" without one.
root_qdisc() {
	_q=$(tc qdisc show dev "$1" root 2>/dev/null | awk '$1 == "qdisc" && / root / { print $2, $3; exit }')
	printf '%s' "${_q:-none 0:}"
}

# layout_state IF: "wanted" (this layout at the wanted rates), "other-rates"
# (this layout, other rates) or "foreign".
layout_state() {
	case $(tc qdisc show dev "$1" root 2>/dev/null | awk '$1 == "qdisc" && / root / { print; exit }') in
	'qdisc htb 1: '*' default 0x20'* | 'qdisc htb 1: '*' default 20 '*) ;;
	*)
		printf foreign
		return
		;;
	esac
	_have=$(tc class show dev "$1" 2>/dev/null | awk '
		$1 == "class" && $2 == "htb" {
			id = $3; parent = ""; prio = ""; rate = ""; ceil = ""
			for (i = 4; i < NF; i++) {
				if ($i == "parent") parent = $(i + 1)
				if ($i == "root") parent = "1:"
				if ($i == "prio") prio = $(i + 1)
				if ($i == "rate") rate = $(i + 1)
				if ($i == "ceil") ceil = $(i + 1)
			}
			if (id == "1:1" || id == "1:10" || id == "1:20") print id, parent, prio, rate, ceil
		}' | sort)
	case $_have in
	*'1:1 '*'1:10 '*'1:20 '*) ;;
	*)
		printf foreign
		return
		;;
	esac
	_l=$(tc_rate "$link")
	_want=$(printf '%s\n' "1:1 1:  $_l $_l" "1:10 1:1 1 $(tc_rate "$reserve") $_l" \
		"1:20 1:1 7 $(tc_rate "$bulk") $_l" | sort)
	if [ "$_have" = "$_want" ]; then printf wanted; else printf other-rates; fi
}

# state_add: append the records on stdin whose item (first two words) is not
# recorded yet; nothing in dry-run mode.
state_add() {
	_new=
	while IFS= read -r _rec; do
		[ -n "$_rec" ] || continue
		_item=$(printf '%s' "$_rec" | awk '{ print $1, $2 }')
		if [ -r "$state_file" ] &&
			awk -v i="$_item" '$1 " " $2 == i { f = 1 } END { exit !f }' "$state_file"; then
			continue
		fi
		_new="$_new$_rec
"
	done
	[ -n "$_new" ] && [ "$dry_run" -eq 0 ] || return 0
	if ! mkdir -p "$state_dir" 2>/dev/null; then
		step_failed "cannot create $state_dir; previous values not recorded"
		return 1
	fi
	chmod 0755 "$state_dir" 2>/dev/null
	_tmp=$state_dir/.$PROG.prev.tmp.$$
	if {
		if [ -r "$state_file" ]; then cat "$state_file"; else printf '# %s.prev\n' "$PROG"; fi
		printf '%s' "$_new"
	} >"$_tmp" 2>/dev/null && chmod 0644 "$_tmp" && mv -f "$_tmp" "$state_file"; then
		return 0
	fi
	rm -f "$_tmp"
	step_failed "cannot write $state_file; previous values not recorded"
	return 1
}

valid_kind() {
	case $1 in '' | *[!a-z0-9_]*) return 1 ;; esac
	return 0
}

# state_qdiscs: "IF KIND" for each valid qdisc record (§21.4); others are logged.
state_qdiscs() {
	[ -r "$state_file" ] || return 0
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in '#'* | '') continue ;; esac
		set -f
		# shellcheck disable=SC2086
		set -- $_line
		set +f
		if [ $# -eq 3 ] && [ "$1" = qdisc ] && valid_ifname "$2" && valid_kind "$3"; then
			printf '%s %s\n' "$2" "$3"
		else
			log "ignoring invalid line in $state_file: $_line"
		fi
	done <"$state_file"
}

add_layout() {
	_d=$1
	_l=${link}bit
	run tc qdisc add dev "$_d" root handle 1: htb default 20 &&
		run tc class add dev "$_d" parent 1: classid 1:1 htb rate "$_l" ceil "$_l" &&
		run tc class add dev "$_d" parent 1:1 classid 1:10 htb rate "${reserve}bit" ceil "$_l" prio 1 &&
		run tc class add dev "$_d" parent 1:1 classid 1:20 htb rate "${bulk}bit" ceil "$_l" prio 7 ||
		return 1
	# fair queueing inside each class when sch_sfq is available (failures ignored)
	run tc qdisc add dev "$_d" parent 1:10 handle 10: sfq perturb 10 2>/dev/null ||
		log "sfq unavailable on $_d (class 1:10 keeps the default leaf)"
	run tc qdisc add dev "$_d" parent 1:20 handle 20: sfq perturb 10 2>/dev/null ||
		log "sfq unavailable on $_d (class 1:20 keeps the default leaf)"
	return 0
}

apply_interface() {
	_d=$1
	if [ ! -e "/sys/class/net/$_d" ]; then
		step_failed "interface $_d not found; skipped"
		return
	fi
	# shellcheck disable=SC2046
	set -- $(root_qdisc "$_d")
	_kind=$1
	_handle=$2
	_state=$(layout_state "$_d")
	if [ "$_state" = wanted ]; then
		log "reservation already active on $_d"
		return
	fi
	if [ "$_state" = foreign ]; then
		case " $DEFAULT_KINDS " in
		*" $_kind "*) ;;
		*)
			if [ "$force" -eq 0 ]; then
				step_failed "$_d has root qdisc $_kind not managed by $PROG.sh; not replacing (set ANYSCAN_RESERVE_FORCE=true)"
				return
			fi
			log "replacing root qdisc $_kind on $_d (ANYSCAN_RESERVE_FORCE); revert gives the kernel default back, not $_kind"
			;;
		esac
		printf 'qdisc %s %s\n' "$_d" "$_kind" | state_add || failed=1
	fi
	log "applying egress reservation on $_d: control=${reserve}bps reserve, link=${link}bps ceiling"
	# a kernel-attached default (handle 0:) cannot be deleted; adding the root replaces it
	if [ "$_handle" != 0: ]; then
		run tc qdisc del dev "$_d" root || log "cannot delete the root qdisc of $_d"
	fi
	if add_layout "$_d"; then
		log "reservation active on $_d"
	else
		step_failed "cannot install the reservation on $_d"
		run tc qdisc del dev "$_d" root 2>/dev/null
	fi
}

# resolve_controls: ctl_ips = IPv4 addresses of the control hosts (once).
resolve_controls() {
	[ -z "${ctl_done-}" ] || return 0
	ctl_ips=$(control_ips)
	ctl_done=1
}

# control_ips: IPv4 addresses of the control hosts, one a line.
control_ips() {
	_list=$(printf '%s' "$control_hosts" | tr ',;\t ' '    ')
	set -f
	for _h in $_list; do
		if valid_ipv4 "$_h"; then
			printf '%s\n' "$_h"
			continue
		fi
		case $_h in *[!A-Za-z0-9.-]* | -*)
			log "control host '$_h' invalid; skipped"
			continue
			;;
		esac
		_ips=
		if have getent; then
			_ips=$(getent ahostsv4 "$_h" 2>/dev/null | awk '{ print $1 }')
		fi
		if [ -z "$_ips" ] && have dig; then
			_ips=$(dig +short A "$_h" 2>/dev/null)
		fi
		if [ -z "$_ips" ] && have host; then
			_ips=$(host -t A "$_h" 2>/dev/null | awk '/has address/ { print $NF }')
		fi
		_found=0
		for _ip in $_ips; do
			valid_ipv4 "$_ip" || continue
			printf '%s\n' "$_ip"
			_found=1
		done
		[ "$_found" -eq 1 ] || log "cannot resolve control host $_h; skipped"
	done | awk '!seen[$0]++'
	set +f
}

# want_rules: the chain's rules as `iptables -S CHAIN` prints them.
want_rules() {
	printf -- '-N %s\n' "$CHAIN"
	for _ip in $ctl_ips; do
		printf -- '-A %s -d %s/32 -j CLASSIFY --set-class 0001:0010\n' "$CHAIN" "$_ip"
	done
	printf -- '-A %s -p tcp -m multiport --sports %s -j CLASSIFY --set-class 0001:0010\n' "$CHAIN" "$sports"
}

ipt() { iptables -w -t mangle "$@"; }

apply_classification() {
	if ! have iptables; then
		log "iptables not found; shaping applied, nothing classified"
		return
	fi
	resolve_controls
	_want=$(want_rules)
	_have=$(ipt -S "$CHAIN" 2>/dev/null)
	if [ "$_have" = "$_want" ]; then
		log "classification rules unchanged"
	else
		if [ -z "$_have" ]; then
			if [ "$dry_run" -eq 1 ]; then
				printf 'DRY-RUN: create iptables mangle chain %s\n' "$CHAIN"
			else
				ipt -N "$CHAIN" || step_failed "cannot create iptables mangle chain $CHAIN"
			fi
		else
			run iptables -w -t mangle -F "$CHAIN" || step_failed "cannot flush $CHAIN"
		fi
		for _ip in $ctl_ips; do
			run iptables -w -t mangle -A "$CHAIN" -d "$_ip" -j CLASSIFY --set-class 1:10 ||
				step_failed "cannot add the rule for $_ip to $CHAIN"
		done
		run iptables -w -t mangle -A "$CHAIN" -p tcp -m multiport --sports "$sports" -j CLASSIFY --set-class 1:10 ||
			step_failed "cannot add the source-port rule to $CHAIN"
		log "classification rules installed in $CHAIN"
	fi
	for _hook in OUTPUT POSTROUTING; do
		if ipt -C "$_hook" -j "$CHAIN" 2>/dev/null; then
			continue
		fi
		run iptables -w -t mangle -A "$_hook" -j "$CHAIN" || step_failed "cannot add the $_hook jump to $CHAIN"
	done
}

do_apply() {
	if [ "$disabled" -eq 1 ]; then
		log "ANYSCAN_RESERVE_DISABLE is set; skipping"
		return 0
	fi
	if ! have tc; then
		log "tc not found; skipping"
		return 0
	fi
	if [ -z "$interfaces" ]; then
		log "no interface configured and no default route; skipping"
		return 0
	fi
	for _if in $interfaces; do
		apply_interface "$_if"
	done
	apply_classification
}

do_check() {
	drift=0
	if [ "$disabled" -eq 1 ]; then
		log "ANYSCAN_RESERVE_DISABLE is set; nothing to check"
		return 0
	fi
	if ! have tc; then
		echo "check tc unavailable"
		return 1
	fi
	for _if in $interfaces; do
		if [ ! -e "/sys/class/net/$_if" ]; then
			echo "check qdisc:$_if drift live=missing want=htb"
			drift=1
			continue
		fi
		_st=$(layout_state "$_if")
		if [ "$_st" = wanted ]; then
			echo "check qdisc:$_if ok htb control=$(tc_rate "$reserve") link=$(tc_rate "$link")"
		else
			echo "check qdisc:$_if drift live=$(root_qdisc "$_if" | awk '{ print $1 }')($_st) want=htb control=$(tc_rate "$reserve") link=$(tc_rate "$link")"
			drift=1
		fi
	done
	if ! have iptables; then
		echo "check classification unavailable (no iptables)"
		return "$drift"
	fi
	resolve_controls
	if [ "$(ipt -S "$CHAIN" 2>/dev/null)" = "$(want_rules)" ]; then
		echo "check chain:$CHAIN ok"
	else
		echo "check chain:$CHAIN drift"
		drift=1
	fi
	for _hook in OUTPUT POSTROUTING; do
		if ipt -C "$_hook" -j "$CHAIN" 2>/dev/null; then
			echo "check jump:$_hook ok"
		else
			echo "check jump:$_hook drift live=absent want=present"
			drift=1
		fi
	done
	return "$drift"
}

do_revert() {
	if have iptables; then
		for _hook in OUTPUT POSTROUTING; do
			_n=0
			while ipt -C "$_hook" -j "$CHAIN" 2>/dev/null && [ "$_n" -lt 16 ]; do
				run iptables -w -t mangle -D "$_hook" -j "$CHAIN" || {
					step_failed "cannot remove the $_hook jump to $CHAIN"
					break
				}
				_n=$((_n + 1))
				[ "$dry_run" -eq 0 ] || break
			done
		done
		if ipt -S "$CHAIN" >/dev/null 2>&1; then
			if ! run iptables -w -t mangle -F "$CHAIN" || ! run iptables -w -t mangle -X "$CHAIN"; then
				step_failed "cannot delete iptables mangle chain $CHAIN"
			fi
		fi
	fi
	if ! have tc; then
		log "tc not found; nothing to release"
	else
		_recs=$(state_qdiscs)
		_ifs=$interfaces
		for _if in $(printf '%s\n' "$_recs" | awk 'NF { print $1 }'); do
			case " $_ifs " in *" $_if "*) ;; *) _ifs="$_ifs $_if" ;; esac
		done
		for _if in $_ifs; do
			[ -e "/sys/class/net/$_if" ] || continue
			case $(layout_state "$_if") in
			wanted | other-rates) ;;
			*) continue ;;
			esac
			if run tc qdisc del dev "$_if" root; then
				log "released reservation on $_if"
			else
				step_failed "cannot delete the root qdisc of $_if"
				continue
			fi
			_prev=$(printf '%s\n' "$_recs" | awk -v i="$_if" '$1 == i { print $2; exit }')
			case " $RESTORABLE_KINDS " in *" $_prev "*) ;; *) continue ;; esac
			[ "$dry_run" -eq 0 ] || continue
			_now=$(root_qdisc "$_if" | awk '{ print $1 }')
			[ "$_now" != "$_prev" ] || continue
			if run tc qdisc replace dev "$_if" root "$_prev"; then
				log "restored root qdisc $_prev on $_if"
			else
				step_failed "cannot restore root qdisc $_prev on $_if (kernel default $_now stays)"
			fi
		done
	fi
	if [ -e "$state_file" ]; then
		run rm -f "$state_file" || step_failed "cannot remove $state_file"
	fi
	log "reservation reverted"
}

# ---------------------------------------------------------------- main

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		--dry-run) dry_run=1 ;;
		--strict) strict_opt=1 ;;
		--env-file)
			[ $# -ge 2 ] || {
				usage >&2
				exit 2
			}
			env_file=$2
			env_file_given=1
			shift
			;;
		--env-file=*)
			env_file=${1#--env-file=}
			env_file_given=1
			;;
		-h | --help) action=help ;;
		-*)
			log "unknown option $1"
			usage >&2
			exit 2
			;;
		*)
			if [ -n "$action" ]; then
				log "unexpected argument $1"
				usage >&2
				exit 2
			fi
			action=$1
			;;
		esac
		shift
	done
	[ -n "$action" ] || action=apply
	if [ "$env_file_given" -eq 0 ] && [ -r "$DEFAULT_ENV_FILE" ]; then
		env_file=$DEFAULT_ENV_FILE
	fi
	if [ "$env_file_given" -eq 1 ] && [ ! -r "$env_file" ]; then
		log "env file $env_file not readable; using the environment only"
	fi
	case $action in
	help)
		usage
		exit 0
		;;
	apply | check | status | revert | release) ;;
	*)
		log "unknown action $action"
		usage >&2
		exit 2
		;;
	esac
	load_settings
	case $action in
	apply) do_apply ;;
	revert | release) do_revert ;;
	check)
		do_check
		exit $?
		;;
	status)
		do_check
		exit 0
		;;
	esac
	if [ "$failed" -ne 0 ] && [ "$strict" -eq 1 ]; then
		exit 1
	fi
	exit 0
}

main "$@"
