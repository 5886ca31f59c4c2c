#!/bin/sh
# Write a channel manifest (spec §13.8) for bundles in one directory.
#
#   channel.sh --out FILE --channel NAME --version V --expires T --rollout-percent N
#              BUNDLE.tar.gz...
#
# Keys in the order of §13.8, two-space indent, platforms sorted bytewise, LF,
# final LF.  Every string written is first checked against a character set that
# needs no JSON escaping.  Each entry's url is ../<bundle> (the manifest lives in
# channels/ next to the bundles); sha256, size and fingerprint (SHA-256 of the
# bundle's MANIFEST, read with tar) are computed from the files.
# exit status: 0 written, 1 failure, 2 usage error
set -eu
# shellcheck disable=SC2034 # read by lib.sh
rl_prog=channel
# shellcheck source=release/lib.sh
. "$(dirname "$0")/lib.sh"

out='' channel='' version='' expires='' rollout=''
while [ $# -gt 0 ]; do
	case $1 in
	--out | --channel | --version | --expires | --rollout-percent)
		[ $# -ge 2 ] || rl_die "option $1 needs a value" 2
		case $1 in
		--out) out=$2 ;;
		--channel) channel=$2 ;;
		--version) version=$2 ;;
		--expires) expires=$2 ;;
		--rollout-percent) rollout=$2 ;;
		esac
		shift 2
		;;
	--) shift; break ;;
	-*) rl_die "unknown option $1" 2 ;;
	*) break ;;
	esac
done
if [ -z "$out" ] || [ -z "$channel" ] || [ -z "$version" ] || [ -z "$expires" ] || [ -z "$rollout" ] || [ $# -eq 0 ]; then
	rl_die "usage: channel.sh --out FILE --channel NAME --version V --expires T --rollout-percent N BUNDLE.tar.gz..." 2
fi

printf '%s\n' "$channel" | grep -Eq '^[a-z0-9][a-z0-9._-]{0,63}$' ||
	rl_die "invalid channel name '$channel'"
rl_version_ok "$version" || rl_die "invalid version '$version'"
printf '%s\n' "$expires" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' ||
	rl_die "invalid expiry time '$expires'"
rl_uint_ok "$rollout" 100 || rl_die "invalid rollout percent '$rollout' (0 to 100)"
id=$(rl_version_id "$version")

work=$(mktemp -d "${TMPDIR:-/tmp}/channel.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/rows"
for f in "$@"; do
	base=${f##*/}
	name=${base%.tar.gz}
	[ "$name.tar.gz" = "$base" ] || rl_die "$f: not a .tar.gz bundle"
	plat=$(rl_name_platform "$name") || rl_die "$f: '$name' is not a bundle name"
	fp12=${name##*-}
	rest=${name%-*}
	[ "${rest#*__??????????????-}" = "$id" ] || rl_die "$f: the name's id is not the version's ($id)"
	size=$(rl_size "$f")
	[ "$size" -ge 1 ] || rl_die "$f: empty file"
	[ "$size" -le 536870912 ] || rl_die "$f: size $size is outside 1 byte to 512 MiB"
	sha=$(rl_sha256 "$f") || rl_die "cannot hash $f"
	fp=$(tar -xzOf "$f" "$name/MANIFEST" | sha256sum) || rl_die "cannot read $name/MANIFEST from $f"
	fp=${fp%% *}
	rl_is_hex64 "$fp" || rl_die "cannot hash $name/MANIFEST"
	[ "${fp%"${fp#????????????}"}" = "$fp12" ] ||
		rl_die "$f: the MANIFEST fingerprint $fp does not match the name's $fp12"
	printf '%s %s %s %s %s\n' "$plat" "$base" "$sha" "$size" "$fp" >>"$work/rows"
done
LC_ALL=C sort "$work/rows" >"$work/sorted"
dup=$(cut -d' ' -f1 "$work/sorted" | uniq -d)
[ -z "$dup" ] || rl_die "more than one bundle for platform $dup"

{
	printf '{\n'
	printf '  "format": 1,\n'
	printf '  "channel": "%s",\n' "$channel"
	printf '  "version": "%s",\n' "$version"
	printf '  "expires": "%s",\n' "$expires"
	printf '  "rollout_percent": %s,\n' "$rollout"
	printf '  "platforms": {\n'
	n=$(wc -l <"$work/sorted")
	i=0
	while read -r plat base sha size fp; do
		i=$((i + 1))
		printf '    "%s": {\n' "$plat"
		printf '      "bundle": "%s",\n' "$base"
		printf '      "url": "../%s",\n' "$base"
		printf '      "sha256": "%s",\n' "$sha"
		printf '      "size": %s,\n' "$size"
		printf '      "fingerprint": "%s"\n' "$fp"
		if [ "$i" -lt "$n" ]; then printf '    },\n'; else printf '    }\n'; fi
	done <"$work/sorted"
	printf '  }\n'
	printf '}\n'
} >"$work/out.json"
[ "$(rl_size "$work/out.json")" -le 65536 ] || rl_die "the channel manifest exceeds 64 KiB"
mv -f "$work/out.json" "$out"
