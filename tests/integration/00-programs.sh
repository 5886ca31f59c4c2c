#!/bin/sh
# The three programs exist, are static, and answer --help and --version.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

version=$(cat "$AGENT_SRC/VERSION")
for p in agentd agent-bundle agent-install; do
	bin=$AGENT_BIN/$p
	if [ ! -x "$bin" ]; then
		not_ok "$p is built"
		continue
	fi
	case $(file -b "$bin") in
	*"statically linked"*) ok "$p: file says statically linked" ;;
	*) not_ok "$p: file says statically linked ($(file -b "$bin"))" ;;
	esac
	out=$(ldd "$bin" 2>&1)
	case $out in
	*"not a dynamic executable"*) ok "$p: ldd says not a dynamic executable" ;;
	*) not_ok "$p: ldd says not a dynamic executable ($out)" ;;
	esac
	check_eq "$p --version" "$p $version" "$("$bin" --version)"
	if "$bin" --help >help.out 2>&1 && grep -q "^usage: $p" help.out; then
		ok "$p --help prints usage on stdout and exits 0"
	else
		not_ok "$p --help prints usage on stdout and exits 0"
	fi
	"$bin" no-such-command >/dev/null 2>err.out
	rc=$?
	check_eq "$p: unknown command exits 2" 2 "$rc"
	if grep -q "^$p: unknown command 'no-such-command'" err.out; then
		ok "$p: unknown command names the command"
	else
		not_ok "$p: unknown command names the command ($(cat err.out))"
	fi
done
done_testing
