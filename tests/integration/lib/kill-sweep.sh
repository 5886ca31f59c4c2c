# shellcheck shell=sh
# SIGKILL at every call of chosen system calls, injected by strace: a
# program's crash consistency checked at each moment that commits or orders
# a step, which timed kills can miss.  Source after tap.sh.
#
#   kill_sweep_ready DESC
#       true when strace can inject here; otherwise prints a SKIP for DESC
#       with the reason and is false.
#   kill_sweep SYSCALLS
#       SYSCALLS is a comma list.  The caller defines
#         ks_setup SC N      prepare a run (SC N = "count 0" for the first,
#                            counting run)
#         ks_run PREFIX...   run the program under test as "$@" PROGRAM ARGS
#                            (PREFIX is the strace command); its exit status
#                            is the program's (137 when killed)
#         ks_after SC N RC   check a killed (or finished) run
#       The first run counts each system call (strace without -f: the
#       program itself, not its children); then one run per call, killed at
#       it.  Sets ks_runs (kill runs) and ks_killed (runs that ended by
#       SIGKILL).
kill_sweep_ready() {
	if ! command -v strace >/dev/null 2>&1; then
		skip "$1" "strace not installed"
		return 1
	fi
	if ! strace -qq -o /dev/null -e trace=getpid true 2>/dev/null; then
		skip "$1" "strace cannot trace here (ptrace refused)"
		return 1
	fi
}

kill_sweep() {
	ks_runs=0 ks_killed=0
	ks_setup count 0
	ks_run strace -qq -o "$TMPDIR/ks.calls" -e trace="$1"
	for ks_sc in $(echo "$1" | tr , ' '); do
		ks_calls=$(grep -c "^$ks_sc(" "$TMPDIR/ks.calls")
		echo "# the program makes $ks_calls $ks_sc calls"
		ks_n=0
		while [ "$ks_n" -lt "$ks_calls" ]; do
			ks_n=$((ks_n + 1)) ks_runs=$((ks_runs + 1))
			ks_setup "$ks_sc" "$ks_n"
			ks_run strace -qq -o /dev/null -e trace="$ks_sc" \
				-e inject="$ks_sc:signal=SIGKILL:when=$ks_n"
			ks_rc=$?
			[ "$ks_rc" = 137 ] && ks_killed=$((ks_killed + 1))
			ks_after "$ks_sc" "$ks_n" "$ks_rc"
		done
	done
	echo "# $ks_runs runs, $ks_killed killed"
}
