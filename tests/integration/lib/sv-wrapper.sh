# The `--service command=PATH` backend (spec bundle-install-update.md §11.4)
# that the runit tests and bench/update.sh give agent-install: a small script
# driving a real runsvdir through sv.  Source this file, then
#   sv_wrapper FILE SVDIR SCANDIR [STAMP]
# writes FILE for the service directory SVDIR/agentd, linked into SCANDIR
# (runsvdir's scan directory) on start/restart.  With STAMP, `restart` writes
# the time (date +%s%N) at which it asked runsv to stop agentd into STAMP.
sv_wrapper() {
	_svw_file=$1 _svw_svd=$2 _svw_scan=$3 _svw_stamp=${4:-}
	_svw_mark=
	[ -n "$_svw_stamp" ] && _svw_mark="date +%s%N >'$_svw_stamp' && "
	cat >"$_svw_file" <<SVW
#!/bin/sh
# command=PATH backend (spec §11.4) driving runsvdir through sv
svc='$_svw_scan/agentd'
# wait until runsvdir has started runsv for the link (it rescans every 5 s)
wait_runsv() {
	i=0
	while [ ! -p '$_svw_svd/agentd/supervise/control' ]; do
		i=\$((i + 1)); [ \$i -gt 150 ] && return 1; sleep 0.1
	done
}
case \$1 in
start) [ -L "\$svc" ] || ln -s '$_svw_svd/agentd' "\$svc"; wait_runsv && sv -w 15 up '$_svw_svd/agentd' ;;
restart) [ -L "\$svc" ] || ln -s '$_svw_svd/agentd' "\$svc"; wait_runsv && ${_svw_mark}sv -w 15 restart '$_svw_svd/agentd' ;;
stop) [ -p '$_svw_svd/agentd/supervise/control' ] && sv -w 15 down '$_svw_svd/agentd'; rm -f "\$svc" ;;
is-active) sv status '$_svw_svd/agentd' 2>/dev/null | grep -q '^run:' ;;
*) exit 2 ;;
esac
SVW
	chmod 755 "$_svw_file"
}

# sv_teardown SVDIR SCANDIR RUNSVDIR-PID -- stop what a runit test started:
# runsv exits while runsvdir is alive (so runsvdir reaps it), then runsvdir;
# no process is left behind.  Nothing to do when the pid is empty.
sv_teardown() {
	[ -n "$3" ] || return 0
	if [ -p "$1/agentd/supervise/control" ]; then
		sv -w 5 down "$1/agentd" >/dev/null 2>&1
		sv exit "$1/agentd" >/dev/null 2>&1
	fi
	rm -f "$2/agentd"
	sleep 1
	kill "$3" 2>/dev/null
	wait "$3" 2>/dev/null
	return 0
}
