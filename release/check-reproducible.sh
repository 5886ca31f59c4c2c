#!/bin/sh
# make check-reproducible (spec §19.4): run the release pipeline twice into
# different build directories, with umask 022 and 077, different TZ, LC_ALL and
# working directories, then compare the two dist/ trees (diff -r, then cmp of
# every file).  Both runs use the same key: RELEASE_KEY if given, else a
# development key made once and copied into both build directories.
#
#   sh release/check-reproducible.sh [BUILD=build] [BINDIR=$BUILD/bin] [VARIABLE=value]...
#
# Other VARIABLE=value arguments are passed to release/release.sh; VERSION
# defaults to the version the programs in $BUILD/bin report.
# exit status: 0 identical, 1 different or failed, 2 usage error
set -eu
# shellcheck disable=SC2034 # read by lib.sh
rl_prog=check-reproducible
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=release/lib.sh
. "$here/lib.sh"

build=build
bindir=''
version=${VERSION:-}
key=${RELEASE_KEY:-}
for arg in "$@"; do
	case $arg in
	BUILD=*) build=${arg#BUILD=} ;;
	BINDIR=*) bindir=${arg#BINDIR=} ;;
	VERSION=*) version=${arg#VERSION=} ;;
	RELEASE_KEY=*) key=${arg#RELEASE_KEY=} ;;
	esac
done
case $build in /*) ;; *) build=$PWD/$build ;; esac
[ -n "$bindir" ] || bindir=$build/bin
case $bindir in /*) ;; *) bindir=$PWD/$bindir ;; esac
[ -x "$bindir/agent-install" ] || rl_die "$bindir/agent-install not found: run make first"
if [ -z "$version" ]; then
	version=$("$bindir/agent-install" --version) || rl_die "cannot run $bindir/agent-install"
	version=${version#agent-install }
fi
r=$build/reproducible
rm -rf "$r"
mkdir -p "$r/a/build" "$r/b/build" "$r/cwd-a" "$r/cwd-b"
if [ -z "$key" ]; then
	"$bindir/agent-bundle" key generate "$r/a/build/dev-release-key.pem" >/dev/null
	cp "$r/a/build/dev-release-key.pem" "$r/b/build/dev-release-key.pem"
fi
# run DIR UMASK TZ LC_ALL CWD [VARIABLE=value]...: later arguments win in release.sh
run() {
	d=$1 u=$2 tz=$3 lc=$4 cwd=$5
	shift 5
	(cd "$cwd" && umask "$u" && TZ=$tz LC_ALL=$lc sh "$here/release.sh" "$@" VERSION="$version" \
		BUILD="$d/build" BINDIR="$bindir" DIST="$d/dist") >"$d/log" 2>&1 || {
		cat "$d/log" >&2
		rl_die "the release pipeline failed in $d"
	}
}
run "$r/a" 022 UTC C "$r/cwd-a" "$@"
run "$r/b" 077 'XYZ-13:45' C.UTF-8 "$r/cwd-b" "$@"
diff -r "$r/a/dist" "$r/b/dist" || rl_die "the two dist/ trees differ"
(cd "$r/a/dist" && find . -type f) | while IFS= read -r f; do
	cmp "$r/a/dist/$f" "$r/b/dist/$f" || exit 1
done || rl_die "the two dist/ trees differ"
rl_say "reproducible: $(cd "$r/a/dist" && find . -type f | wc -l) files identical in $r/a/dist and $r/b/dist"
rm -rf "$r"
