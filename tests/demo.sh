#!/bin/sh
# make demo: the newcomer's tour.  Each later issue grows it; today it shows
# what exists: the three static programs and their versions.
set -eu
build=build
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
bin=$build/bin
say() { printf '\n== %s\n' "$*"; }

say "the three programs (static musl builds)"
for p in agentd agent-bundle agent-install; do
	printf '%-14s %-28s %s, %s bytes\n' "$p" "$("$bin/$p" --version)" \
		"$(file -b "$bin/$p" | sed 's/.*\(statically linked\).*/\1/')" "$(wc -c <"$bin/$p")"
done

say "dependencies (Debian source packages, built with musl-gcc)"
sed -n 's/^\([A-Z]*\)_DEB *:= */\1 /p' deps/versions.mk | tr 'A-Z' 'a-z'

for step in tests/demo.d/[0-9]*.sh; do
	[ -f "$step" ] || continue
	sh "$step" "$build"
done
say "done"
