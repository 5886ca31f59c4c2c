#!/bin/sh
# tune-scanner-host.sh: kernel network settings for a scanner host.
# Contract: spec/bundle-install-update.md §21.1, §21.2, §21.4.
#
#   tune-scanner-host.sh [--dry-run] [--strict] [--env-file FILE] apply|check|revert|help
#   (aliases: release = revert; status = check that always exits 0)
#
# Settings come from the environment, then from the env file (default
# /etc/agentd/runtime.env when readable), read literally: only KEY= lines whose
# key starts with ANYSCAN_; the file is never run as shell code.  Every knob is
# read through a cfg_* function whose first argument is the knob's name (the
# template sync test, tests/integration/61-templates.sh, finds knobs that way).
#
# Every sysctl, ip and tc command acts on the network namespace this script
# runs in.  Previous values are recorded under ANYSCAN_HOST_TUNING_STATE_DIR
# (default /var/lib/agentd-host-tuning) so that revert can put them back.
set -u

PROG='tune-scanner-host'
DEFAULT_ENV_FILE=/etc/agentd/runtime.env
DEFAULT_STATE_DIR=/var/lib/agentd-host-tuning
DEFAULT_SYSCTL_FILE=/etc/sysctl.d/99-anyscan-scanner.conf
DEFAULT_TXQUEUELEN=10000
DEFAULT_NETDEV_MAX_BACKLOG=30000
DEFAULT_OPTMEM_MAX=524288
DEFAULT_SOCK_MEM_MAX=16777216
DEFAULT_PORT_RANGE='10000 65535'
REVERT_TXQUEUELEN=1000
SYSCTLS='net.core.netdev_max_backlog net.core.optmem_max net.core.rmem_max net.core.wmem_max net.ipv4.ip_local_port_range'

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

  apply   write the sysctl drop-in, set live sysctls and txqueuelen (default)
  check   report drift; exit 1 when the tunings are not in place
  revert  remove the drop-in and restore the recorded previous values
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
	case $_n in ANYSCAN_*) ;; *) return 0 ;; esac
	[ -n "$env_file" ] && [ -r "$env_file" ] || return 0
	sed -n "s/^$_n=//p" "$env_file" | head -n 1 | tr -d '\n'
}

truthy() {
	case $(printf '%s' "$1" | tr '[:upper:]' '[:lower:]') in
	1 | true | yes | on) return 0 ;;
	*) return 1 ;;
	esac
}

# positive_int VALUE: prints VALUE without leading zeros when it is a decimal
# integer in 1..10^15, else fails.
positive_int() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	_p=$(printf '%s' "$1" | sed 's/^0*//')
	[ -n "$_p" ] && [ ${#_p} -le 15 ] || return 1
	printf '%s' "$_p"
}

# cfg_int NAME DEFAULT: a positive integer knob, default with a log when invalid.
cfg_int() {
	_raw=$(cfg_get "$1")
	if [ -z "$_raw" ]; then
		printf '%s' "$2"
	elif _val=$(positive_int "$_raw"); then
		printf '%s' "$_val"
	else
		log "$1=$_raw invalid; using default $2"
		printf '%s' "$2"
	fi
}

# port_range VALUE: "LO HI" for "LO HI", "LO-HI" or "LO:HI", 1 <= LO <= HI <= 65535.
port_range() {
	_r=$(printf '%s' "$1" | tr -s ' \t' '  ' | sed 's/^ //; s/ $//')
	case $_r in
	*[!0-9\ :-]*) return 1 ;;
	*-*) _lo=${_r%%-*} _hi=${_r#*-} ;;
	*:*) _lo=${_r%%:*} _hi=${_r#*:} ;;
	*' '*) _lo=${_r%% *} _hi=${_r#* } ;;
	*) return 1 ;;
	esac
	_lo=$(positive_int "$_lo") && _hi=$(positive_int "$_hi") || return 1
	[ ${#_lo} -le 5 ] && [ ${#_hi} -le 5 ] || return 1
	[ "$_lo" -le "$_hi" ] && [ "$_hi" -le 65535 ] || return 1
	printf '%s %s' "$_lo" "$_hi"
}

valid_ifname() {
	[ ${#1} -ge 1 ] && [ ${#1} -le 15 ] || return 1
	case $1 in *[!A-Za-z0-9_.:@-]*) return 1 ;; esac
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

load_settings() {
	disabled=0
	truthy "$(cfg_get ANYSCAN_TUNE_DISABLE)" && disabled=1
	truthy "$(cfg_get ANYSCAN_TUNE_DRY_RUN)" && dry_run=1
	strict=$strict_opt
	truthy "$(cfg_get ANYSCAN_TUNE_STRICT)" && strict=1
	live=1
	_l=$(cfg_get ANYSCAN_TUNE_SYSCTL_LIVE)
	if [ -n "$_l" ] && ! truthy "$_l"; then live=0; fi

	txqueuelen=$(cfg_int ANYSCAN_TUNE_TXQUEUELEN "$DEFAULT_TXQUEUELEN")
	netdev_max_backlog=$(cfg_int ANYSCAN_TUNE_NETDEV_MAX_BACKLOG "$DEFAULT_NETDEV_MAX_BACKLOG")
	optmem_max=$(cfg_int ANYSCAN_TUNE_OPTMEM_MAX "$DEFAULT_OPTMEM_MAX")
	sock_mem_max=$(cfg_int ANYSCAN_TUNE_SOCK_MEM_MAX "$DEFAULT_SOCK_MEM_MAX")
	_raw=$(cfg_get ANYSCAN_TUNE_LOCAL_PORT_RANGE)
	if [ -z "$_raw" ]; then
		port_range_v=$DEFAULT_PORT_RANGE
	elif ! port_range_v=$(port_range "$_raw"); then
		log "ANYSCAN_TUNE_LOCAL_PORT_RANGE='$_raw' invalid; using default '$DEFAULT_PORT_RANGE'"
		port_range_v=$DEFAULT_PORT_RANGE
	fi

	sysctl_file=$(cfg_get ANYSCAN_TUNE_SYSCTL_FILE)
	case $sysctl_file in
	'') sysctl_file=$DEFAULT_SYSCTL_FILE ;;
	/*) ;;
	*)
		log "ANYSCAN_TUNE_SYSCTL_FILE=$sysctl_file invalid; using default $DEFAULT_SYSCTL_FILE"
		sysctl_file=$DEFAULT_SYSCTL_FILE
		;;
	esac
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

	_raw=$(cfg_get ANYSCAN_TUNE_INTERFACES)
	[ -n "$_raw" ] || _raw=$(cfg_get ANYSCAN_TUNE_INTERFACE)
	interfaces=$(interface_list "$_raw")
}

# want_sysctl NAME: the value apply sets for NAME.
want_sysctl() {
	case $1 in
	net.core.netdev_max_backlog) printf '%s' "$netdev_max_backlog" ;;
	net.core.optmem_max) printf '%s' "$optmem_max" ;;
	net.core.rmem_max | net.core.wmem_max) printf '%s' "$sock_mem_max" ;;
	net.ipv4.ip_local_port_range) printf '%s' "$port_range_v" ;;
	esac
}

dropin_text() {
	printf '%s\n' '# Managed by tune-scanner-host.sh; do not edit by hand.' \
		'# Run "tune-scanner-host.sh revert" to remove these tunings.'
	for _s in $SYSCTLS; do
		printf '%s = %s\n' "$_s" "$(want_sysctl "$_s")"
	done
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

sysctl_path() { printf '/proc/sys/%s' "$(printf '%s' "$1" | tr . /)"; }

# sysctl_state NAME: "ok" when it exists and is writable in this network
# namespace, "missing" or "readonly" otherwise (judged by the kernel's mode
# bits, not by who runs this script).
sysctl_state() {
	_p=$(sysctl_path "$1")
	if [ ! -e "$_p" ]; then
		printf missing
		return
	fi
	case $(ls -ln "$_p" 2>/dev/null) in
	??w*) printf ok ;;
	*) printf readonly ;;
	esac
}

sysctl_read() { tr -s ' \t' '  ' <"$(sysctl_path "$1")" 2>/dev/null | sed 's/ *$//'; }

sysctl_write() {
	if command -v sysctl >/dev/null 2>&1; then
		run sysctl -q -w "$1=$2"
	elif [ "$dry_run" -eq 1 ]; then
		printf 'DRY-RUN: printf %s > %s\n' "$2" "$(sysctl_path "$1")"
	else
		printf '%s\n' "$2" >"$(sysctl_path "$1")"
	fi
}

# state_valid LINE: a record this script may use (§21.4).
state_valid() {
	set -f
	# shellcheck disable=SC2086
	set -- $1
	set +f
	case ${1-} in
	sysctl)
		case " $SYSCTLS " in *" ${2-} "*) ;; *) return 1 ;; esac
		if [ "$2" = net.ipv4.ip_local_port_range ]; then
			[ $# -eq 4 ] && positive_int "$3" >/dev/null && positive_int "$4" >/dev/null
		else
			[ $# -eq 3 ] && positive_int "$3" >/dev/null
		fi
		;;
	txqueuelen)
		[ $# -eq 3 ] && valid_ifname "$2" && positive_int "$3" >/dev/null
		;;
	*) return 1 ;;
	esac
}

# state_records: the valid lines of the state file; invalid ones are logged.
state_records() {
	[ -r "$state_file" ] || return 0
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in '#'* | '') continue ;; esac
		if state_valid "$_line"; then
			printf '%s\n' "$_line"
		else
			log "ignoring invalid line in $state_file: $_line"
		fi
	done <"$state_file"
}

# state_add: append the records on stdin (one a line) whose item (first two
# words) is not recorded yet; nothing in dry-run mode.
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

txq_read() { cat "/sys/class/net/$1/tx_queue_len" 2>/dev/null; }

set_txqueuelen() {
	if run ip link set dev "$1" txqueuelen "$2"; then
		return 0
	fi
	step_failed "cannot set txqueuelen on $1 to $2 (need CAP_NET_ADMIN)"
	return 1
}

write_dropin() {
	_want=$(dropin_text)
	if [ -f "$sysctl_file" ] && [ "$(cat "$sysctl_file")" = "$_want" ]; then
		log "sysctl drop-in unchanged"
		return 0
	fi
	if [ "$dry_run" -eq 1 ]; then
		printf 'DRY-RUN: write %s\n' "$sysctl_file"
		return 0
	fi
	_dir=$(dirname "$sysctl_file")
	_tmp=$_dir/.$(basename "$sysctl_file").tmp.$$
	if mkdir -p "$_dir" 2>/dev/null && printf '%s\n' "$_want" >"$_tmp" 2>/dev/null &&
		chmod 0644 "$_tmp" && mv -f "$_tmp" "$sysctl_file"; then
		log "wrote sysctl drop-in $sysctl_file"
	else
		rm -f "$_tmp" 2>/dev/null
		step_failed "cannot write sysctl drop-in $sysctl_file"
	fi
}

do_apply() {
	if [ "$disabled" -eq 1 ]; then
		log "ANYSCAN_TUNE_DISABLE is set; skipping"
		return 0
	fi
	# record previous values (only items not recorded yet, §21.4)
	{
		if [ "$live" -eq 1 ]; then
			for _s in $SYSCTLS; do
				[ "$(sysctl_state "$_s")" = ok ] || continue
				_cur=$(sysctl_read "$_s")
				[ -z "$_cur" ] || printf 'sysctl %s %s\n' "$_s" "$_cur"
			done
		fi
		for _if in $interfaces; do
			_cur=$(txq_read "$_if") || continue
			printf 'txqueuelen %s %s\n' "$_if" "$_cur"
		done
	} | state_add || failed=1

	write_dropin

	if [ "$live" -eq 1 ]; then
		for _s in $SYSCTLS; do
			_want=$(want_sysctl "$_s")
			case $(sysctl_state "$_s") in
			missing)
				log "sysctl $_s does not exist in this network namespace; skipped"
				continue
				;;
			readonly)
				log "sysctl $_s is read-only in this network namespace; skipped"
				continue
				;;
			esac
			_cur=$(sysctl_read "$_s")
			if [ "$_cur" = "$_want" ]; then
				log "sysctl $_s already $_want"
			elif sysctl_write "$_s" "$_want"; then
				log "set sysctl $_s: $_cur -> $_want"
			else
				step_failed "cannot set sysctl $_s to $_want"
			fi
		done
	else
		log "ANYSCAN_TUNE_SYSCTL_LIVE is false; live sysctls left alone"
	fi

	_done=
	for _if in $interfaces; do
		if [ ! -e "/sys/class/net/$_if" ]; then
			step_failed "interface $_if not found; skipped"
			continue
		fi
		_cur=$(txq_read "$_if")
		if [ "$_cur" = "$txqueuelen" ]; then
			log "txqueuelen on $_if already $txqueuelen"
			_done="${_done:+$_done,}$_if"
		elif set_txqueuelen "$_if" "$txqueuelen"; then
			log "set txqueuelen on $_if: $_cur -> $txqueuelen"
			_done="${_done:+$_done,}$_if"
		fi
	done
	[ -n "$interfaces" ] || log "no interface configured and no default route; txqueuelen left alone"
	log "tunings applied (sysctl=$sysctl_file txqueuelen_iface=${_done:-none})"
}

do_check() {
	drift=0
	if [ "$disabled" -eq 1 ]; then
		log "ANYSCAN_TUNE_DISABLE is set; nothing to check"
		return 0
	fi
	for _s in $SYSCTLS; do
		_want=$(want_sysctl "$_s")
		_st=$(sysctl_state "$_s")
		if [ "$_st" = missing ]; then
			echo "check sysctl:$_s unavailable (not in this network namespace)"
			continue
		fi
		_cur=$(sysctl_read "$_s")
		if [ "$_cur" = "$_want" ]; then
			echo "check sysctl:$_s ok $_cur"
		elif [ "$live" -eq 0 ]; then
			echo "check sysctl:$_s not-managed live=$_cur want=$_want (ANYSCAN_TUNE_SYSCTL_LIVE=false)"
		elif [ "$_st" = readonly ]; then
			echo "check sysctl:$_s not-managed live=$_cur want=$_want (read-only here)"
		else
			echo "check sysctl:$_s drift live=$_cur want=$_want"
			drift=1
		fi
	done
	if [ ! -f "$sysctl_file" ]; then
		echo "check dropin drift live=absent want=present ($sysctl_file)"
		drift=1
	elif [ "$(cat "$sysctl_file")" = "$(dropin_text)" ]; then
		echo "check dropin ok present ($sysctl_file)"
	else
		echo "check dropin drift live=differs want=present ($sysctl_file)"
		drift=1
	fi
	for _if in $interfaces; do
		_cur=$(txq_read "$_if") || _cur=missing
		if [ "$_cur" = "$txqueuelen" ]; then
			echo "check txqueuelen:$_if ok $_cur"
		else
			echo "check txqueuelen:$_if drift live=$_cur want=$txqueuelen"
			drift=1
		fi
	done
	return "$drift"
}

do_revert() {
	if [ -e "$sysctl_file" ]; then
		if run rm -f "$sysctl_file"; then
			log "removed sysctl drop-in $sysctl_file"
		else
			step_failed "cannot remove $sysctl_file"
		fi
	fi
	_recs=$(state_records)
	_had_sysctl=0
	_rec_ifs=
	_nl='
'
	_old_ifs=$IFS
	IFS=$_nl
	set -f
	for _rec in $_recs; do
		IFS=$_old_ifs
		# shellcheck disable=SC2086
		set -- $_rec
		case $1 in
		sysctl)
			_had_sysctl=1
			_n=$2
			shift 2
			_want=$*
			case $(sysctl_state "$_n") in
			ok) ;;
			*)
				log "sysctl $_n not writable here; recorded $_want not restored"
				continue
				;;
			esac
			_cur=$(sysctl_read "$_n")
			if [ "$_cur" = "$_want" ]; then
				log "sysctl $_n already $_want"
			elif sysctl_write "$_n" "$_want"; then
				log "restored sysctl $_n: $_cur -> $_want"
			else
				step_failed "cannot restore sysctl $_n to $_want"
			fi
			;;
		txqueuelen)
			_rec_ifs="$_rec_ifs $2"
			restore_txq "$2" "$3"
			;;
		esac
	done
	IFS=$_old_ifs
	set +f
	for _if in $interfaces; do
		case " $_rec_ifs " in *" $_if "*) continue ;; esac
		[ -e "/sys/class/net/$_if" ] || continue
		restore_txq "$_if" "$REVERT_TXQUEUELEN"
	done
	[ "$_had_sysctl" -eq 1 ] || log "no recorded values; live sysctls stay until reboot"
	if [ -e "$state_file" ]; then
		run rm -f "$state_file" || step_failed "cannot remove $state_file"
	fi
	log "tunings reverted"
}

restore_txq() {
	if [ ! -e "/sys/class/net/$1" ]; then
		log "interface $1 not found; txqueuelen not restored"
		return 0
	fi
	_cur=$(txq_read "$1")
	if [ "$_cur" = "$2" ]; then
		log "txqueuelen on $1 already $2"
	elif set_txqueuelen "$1" "$2"; then
		log "restored txqueuelen on $1: $_cur -> $2"
	fi
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
