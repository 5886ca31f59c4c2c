#!/bin/sh
# Fetch Debian 13 ("trixie") source packages with a private apt configuration.
#
# The mirror is read from the machine's own apt source entries (deb822
# .sources files or one-line .list files); no host name is written into the
# repository and the system's apt configuration is never changed: apt runs
# with its own sources list, state and cache directories under $APTDIR.
# apt checks every source package against Debian's signed Release files using
# the system keyring.
#
# usage: apt-source.sh APTDIR DESTDIR PACKAGE=VERSION...
set -eu

aptdir=$1; dest=$2; shift 2
mkdir -p "$aptdir" "$dest"
aptdir=$(cd "$aptdir" && pwd); dest=$(cd "$dest" && pwd)

mirror_from_system() {
	# deb822: a "URIs:" line ending in /debian, in a stanza whose Suites are not -security
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			/^[ \t]*$/ { if (uri != "" && !sec) { print uri; exit } uri=""; sec=0; next }
			/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) uri=$i }
			/^Suites:/ { if ($0 ~ /-security/) sec=1 }
			END { if (uri != "" && !sec) print uri }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" || $1 == "deb-src" {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) { print $i; exit }
		}' "$f"
	done
}

mirror=${DEPS_DEBIAN_MIRROR:-$(mirror_from_system | head -n 1)}
if [ -z "$mirror" ]; then
	echo "deps: cannot find a Debian mirror in /etc/apt/sources.list{,.d}; set DEPS_DEBIAN_MIRROR" >&2
	exit 1
fi
mirror=${mirror%/}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "deps: $keyring missing (apt-get install debian-archive-keyring)" >&2; exit 1; }

mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/etc/preferences.d" "$aptdir/etc/sources.list.d" "$dest"
sec=${mirror%/debian}/debian-security
cat >"$aptdir/etc/sources.list" <<EOT
deb-src [signed-by=$keyring] $mirror trixie main
deb-src [signed-by=$keyring] $mirror trixie-updates main
deb-src [signed-by=$keyring] $sec trixie-security main
EOT
# Suites named in versions.mk beyond trixie (cmocka is taken from the machine's
# own release when the mirror no longer carries the trixie version).
for suite in ${DEPS_EXTRA_SUITES:-}; do
	echo "deb-src [signed-by=$keyring] $mirror $suite main" >>"$aptdir/etc/sources.list"
done
: >"$aptdir/status"

apt_opts="-o Dir::Etc::SourceList=$aptdir/etc/sources.list
 -o Dir::Etc::SourceParts=$aptdir/etc/sources.list.d
 -o Dir::Etc::Preferences=$aptdir/etc/preferences
 -o Dir::Etc::PreferencesParts=$aptdir/etc/preferences.d
 -o Dir::State=$aptdir -o Dir::State::Lists=$aptdir/lists
 -o Dir::State::status=$aptdir/status
 -o Dir::Cache=$aptdir/cache
 -o APT::Sandbox::User=root
 -o Acquire::Languages=none -o Debug::NoLocking=1"

# refresh the indexes at most once per build tree
if [ ! -f "$aptdir/updated" ]; then
	# shellcheck disable=SC2086
	apt-get $apt_opts -qq update
	: >"$aptdir/updated"
fi
cd "$dest"
for spec in "$@"; do
	pkg=${spec%%=*}
	# shellcheck disable=SC2086
	if ! apt-get $apt_opts -qq --download-only source "$spec" >/dev/null; then
		echo "deps: $spec is not available from $mirror (trixie); update deps/versions.mk" >&2
		exit 1
	fi
	echo "deps: fetched $spec (verified by apt against Debian's signed indexes)"
	: "$pkg"
done
