#!/bin/sh
# Render templates/install.sh.in (spec §18.2, §18.7).
#
#   render-install.sh --template FILE --out FILE --version V
#                     --key-kind release|development --pubkey PUB.pem
#                     [--base-url URL] [--table FILE]
#
# --table FILE holds one row per platform, "<platform> <name> <sha256>"; without
# it (and without --base-url) the result is the copy shipped inside each bundle.
# Every value is checked before it is written into single quotes of the script:
# an https URL without quotes, backslashes, whitespace or control characters,
# names that parse (§1.4), 64-hex hashes, a PEM PUBLIC KEY block.
# exit status: 0 rendered, 1 failure, 2 usage error
set -eu
# shellcheck disable=SC2034 # read by lib.sh
rl_prog=render-install
# shellcheck source=release/lib.sh
. "$(dirname "$0")/lib.sh"

template='' out='' version='' kind='' pubkey='' base_url='' table=''
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || rl_die "option $1 needs a value" 2
	case $1 in
	--template) template=$2 ;;
	--out) out=$2 ;;
	--version) version=$2 ;;
	--key-kind) kind=$2 ;;
	--pubkey) pubkey=$2 ;;
	--base-url) base_url=$2 ;;
	--table) table=$2 ;;
	*) rl_die "unknown option $1" 2 ;;
	esac
	shift 2
done
for v in "$template" "$out" "$version" "$kind" "$pubkey"; do
	[ -n "$v" ] && continue
	rl_die "usage: render-install.sh --template FILE --out FILE --version V --key-kind K --pubkey FILE [--base-url URL] [--table FILE]" 2
done

rl_version_ok "$version" || rl_die "invalid version '$version'"
case $kind in
release | development) ;;
*) rl_die "invalid key kind '$kind' (release or development)" ;;
esac
if [ -n "$base_url" ]; then
	rl_url_ok "$base_url" ||
		rl_die "invalid base URL '$base_url': it must be https and contain no quote, backslash, whitespace or control character"
	base_url=${base_url%/}
fi

# the public key: exactly one PEM PUBLIC KEY block of base64 lines
awk '
	NR == 1 { if ($0 != "-----BEGIN PUBLIC KEY-----") bad = 1; next }
	/^-----END PUBLIC KEY-----$/ { end = NR; next }
	end || !/^[A-Za-z0-9+\/=]+$/ { bad = 1 }
	END { exit (bad || !end || NR < 3) }
' "$pubkey" || rl_die "$pubkey is not a PEM PUBLIC KEY block"

work=$(mktemp -d "${TMPDIR:-/tmp}/render-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/table"
if [ -n "$table" ]; then
	seen=''
	while IFS= read -r row || [ -n "$row" ]; do
		# shellcheck disable=SC2086 # a row is three words
		set -- $row
		[ $# -eq 3 ] || rl_die "table row '$row': expected <platform> <name> <sha256>"
		plat=$(rl_normalise_platform "$1") || plat=''
		[ "$plat" = "$1" ] ||
			rl_die "table row '$row': '$1' is not a normalised platform key"
		nplat=$(rl_name_platform "$2") || rl_die "table row '$row': '$2' is not a bundle name"
		[ "$nplat" = "$1" ] || rl_die "table row '$row': the name is for platform $nplat"
		rl_is_hex64 "$3" || rl_die "table row '$row': '$3' is not 64 lowercase hex"
		case " $seen " in
		*" $1 "*) rl_die "table: platform $1 listed twice" ;;
		esac
		seen="$seen $1"
		printf '%s %s %s\n' "$1" "$2" "$3" >>"$work/table"
	done <"$table"
fi
printf '%s\n' "$version" >"$work/version"
printf '%s\n' "$base_url" >"$work/base_url"
printf '%s\n' "$kind" >"$work/kind"
cat "$pubkey" >"$work/pubkey"

# replace each @KEY@ by the content of its file (multi-line values keep their
# line breaks; a trailing LF is dropped); index/substr: no regex or & surprises
awk -v dir="$work" '
	function slurp(f,   s, l, n) {
		s = ""; n = 0
		while ((getline l < f) > 0) { s = (n++ ? s "\n" : "") l }
		close(f)
		return s
	}
	BEGIN {
		key[1] = "@VERSION@"; file[1] = "version"
		key[2] = "@BASE_URL@"; file[2] = "base_url"
		key[3] = "@KEY_KIND@"; file[3] = "kind"
		key[4] = "@PUBKEY@"; file[4] = "pubkey"
		key[5] = "@BUNDLE_TABLE@"; file[5] = "table"
		for (i = 1; i <= 5; i++) val[i] = slurp(dir "/" file[i])
	}
	{
		line = $0
		for (i = 1; i <= 5; i++) {
			while ((p = index(line, key[i])) > 0) {
				line = substr(line, 1, p - 1) val[i] substr(line, p + length(key[i]))
				used[i] = 1
			}
		}
		print line
	}
	END {
		for (i = 1; i <= 5; i++) if (!used[i]) { print "missing " key[i] > "/dev/stderr"; exit 1 }
	}
' "$template" >"$work/install.sh" || rl_die "cannot render $template"
if grep -n '@[A-Z_]*@' "$work/install.sh" >/dev/null; then
	rl_die "$template: a placeholder was left unrendered"
fi
chmod 0755 "$work/install.sh"
mv -f "$work/install.sh" "$out"
