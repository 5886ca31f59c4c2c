#!/bin/sh
# make bench: run every benchmark in bench/ and write bench/REPORT.md.
#
# A benchmark is bench/<name>.sh.  It runs with cwd = its own temp dir and
# AGENT_SRC, AGENT_BUILD, AGENT_BIN set, measures our program against a named
# baseline in the same run, and prints a Markdown section (### title, a table
# of measurements and ratios) on stdout.  Progress goes to stderr.  A
# benchmark that cannot run here prints its section with "SKIP: reason".
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
report=$src/bench/REPORT.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

{
	echo "# Benchmark report"
	echo
	echo "Measured by \`make bench\` on $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores,"
	echo "$(uname -sr), agentd $("$build/bin/agentd" --version | cut -d' ' -f2)."
	echo "Every ratio compares our program with a baseline measured in the same run."
	echo
} >"$tmp/report.md"

rc=0
for b in "$src"/bench/*.sh; do
	name=$(basename "$b" .sh)
	[ "$name" = run ] && continue
	echo "bench: $name" >&2
	d=$(mktemp -d "$tmp/$name.XXXXXX")
	if ! (cd "$d" && AGENT_SRC=$src AGENT_BUILD=$build AGENT_BIN=$build/bin \
		AGENT_BENCH_OUT=$src/bench sh "$b") >"$tmp/$name.md"; then
		echo "bench: $name failed" >&2
		printf '### %s\n\nFAILED (see stderr of make bench)\n' "$name" >"$tmp/$name.md"
		rc=1
	fi
	cat "$tmp/$name.md" >>"$tmp/report.md"
	echo >>"$tmp/report.md"
done
mv "$tmp/report.md" "$report.tmp" && mv "$report.tmp" "$report"
echo "bench: wrote $report" >&2
exit $rc
