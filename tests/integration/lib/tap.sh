# Helpers for integration tests (POSIX sh).  Source with
#   . "$AGENT_SRC/tests/integration/lib/tap.sh"
# The runner sets AGENT_SRC, AGENT_BUILD, AGENT_BIN, AGENT_TOOLS and TMPDIR
# (a fresh directory the test owns, also the working directory).

: "${AGENT_SRC:?run through tests/run.sh (make check)}"
tap_n=0
tap_failed=0

# ok DESCRIPTION -- record a pass
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
# not_ok DESCRIPTION -- record a failure
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
# skip DESCRIPTION REASON -- one skipped case
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
# skip_all REASON -- the whole file cannot run here
skip_all() { echo "SKIP: $*"; exit 77; }
# check DESCRIPTION CMD... -- pass when CMD exits 0
check() {
	d=$1; shift
	if "$@" >"$TMPDIR/.check.out" 2>&1; then ok "$d"; else
		not_ok "$d"; sed 's/^/#   /' "$TMPDIR/.check.out" | head -n 40
	fi
}
# check_fails DESCRIPTION CMD... -- pass when CMD exits non-zero
check_fails() {
	d=$1; shift
	if "$@" >"$TMPDIR/.check.out" 2>&1; then
		not_ok "$d (unexpectedly succeeded)"; sed 's/^/#   /' "$TMPDIR/.check.out" | head -n 40
	else ok "$d"; fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"; echo "#   expected: $2"; echo "#   actual:   $3"
	fi
}
# need_root_netns -- skip the file unless network namespaces can be made
need_root_netns() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
	command -v ip >/dev/null 2>&1 || skip_all "ip (iproute2) not installed"
	n=agtprobe$$
	ip netns add "$n" 2>/dev/null || skip_all "ip netns add is not permitted here"
	ip netns del "$n"
}
# done_testing -- exit with the right status
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
