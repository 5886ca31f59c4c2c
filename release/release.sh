#!/bin/sh
# The release pipeline behind `make release` (spec §19).
#
#   sh release/release.sh VERSION=x.y.z [RELEASE_KEY=key.pem] [SOURCE_DATE_EPOCH=N]
#        [PLATFORMS="linux-x86_64 ..."] [BASE_URL=https://...] [CHANNEL=stable]
#        [ROLLOUT_PERCENT=100] [CHANNEL_EXPIRES_DAYS=90] [SITE_ENV=file]
#        [SCANNER_BIN=file] [SCANNER_BIN_<platform>=file]
#        [BUILD=build] [BINDIR=$BUILD/bin] [DIST=dist]
#
# Each variable may also come from the environment; an argument wins.  The
# programs are not compiled here: `make release` builds them first (BINDIR holds
# the host platform's programs; another platform's come from $BUILD/<platform>/).
# Writes $BUILD/stage/<platform>/, $BUILD/release/dist.tmp/, then replaces DIST.
# Everything written is a function of the inputs, so two runs with the same key
# give byte-identical trees.
# exit status: 0 released, 1 failure, 2 usage error
set -eu
# shellcheck disable=SC2034 # read by lib.sh
rl_prog=release
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
# shellcheck source=release/lib.sh
. "$here/lib.sh"

for arg in "$@"; do
	case $arg in
	VERSION=* | RELEASE_KEY=* | SOURCE_DATE_EPOCH=* | PLATFORMS=* | BASE_URL=* | CHANNEL=* | \
		ROLLOUT_PERCENT=* | CHANNEL_EXPIRES_DAYS=* | SITE_ENV=* | SCANNER_BIN=* | BUILD=* | \
		BINDIR=* | DIST=*)
		eval "${arg%%=*}=\${arg#*=}"
		;;
	SCANNER_BIN_*=*)
		v=${arg%%=*}
		case $v in *[!A-Za-z0-9_]*) rl_die "invalid variable name '$v'" 2 ;; esac
		eval "$v=\${arg#*=}"
		;;
	-h | --help)
		sed -n '2,/^# exit status/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) rl_die "unknown argument '$arg' (expected VARIABLE=value)" 2 ;;
	esac
done
VERSION=${VERSION:-}
RELEASE_KEY=${RELEASE_KEY:-}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-}
PLATFORMS=${PLATFORMS:-linux-x86_64}
BASE_URL=${BASE_URL:-}
CHANNEL=${CHANNEL:-stable}
ROLLOUT_PERCENT=${ROLLOUT_PERCENT:-100}
CHANNEL_EXPIRES_DAYS=${CHANNEL_EXPIRES_DAYS:-90}
SITE_ENV=${SITE_ENV:-}
SCANNER_BIN=${SCANNER_BIN:-}
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-$BUILD/bin}
DIST=${DIST:-dist}

umask 022
LC_ALL=C
TZ=UTC
export LC_ALL TZ

devkey_warning() {
	for line in \
		"*****************************************************************" \
		"* RELEASE_KEY is not set: signed with a throwaway development key" \
		"* ($devkey). Do not publish this dist/:" \
		"* hosts that trust this key trust anything built on this machine." \
		"*****************************************************************"; do
		rl_warn "$line"
	done
}

# ---------------------------------------------------------------- 1. validate
[ -n "$VERSION" ] || rl_die "VERSION is required (make release VERSION=x.y.z)" 2
rl_version_ok "$VERSION" || rl_die "invalid VERSION '$VERSION' (MAJOR.MINOR.PATCH[-PRE])" 2
if [ -z "$SOURCE_DATE_EPOCH" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$src" log -1 --format=%ct 2>/dev/null) ||
		rl_die "SOURCE_DATE_EPOCH is not set and $src is not a git checkout with a commit" 2
fi
rl_uint_ok "$SOURCE_DATE_EPOCH" 8589934591 ||
	rl_die "invalid SOURCE_DATE_EPOCH '$SOURCE_DATE_EPOCH' (decimal seconds, no sign or leading zero, at most 8589934591)" 2
if [ -n "$BASE_URL" ]; then
	rl_url_ok "$BASE_URL" ||
		rl_die "invalid BASE_URL '$BASE_URL': https, without quotes, backslashes, whitespace or control characters" 2
	BASE_URL=${BASE_URL%/}
fi
printf '%s\n' "$CHANNEL" | grep -Eq '^[a-z0-9][a-z0-9._-]{0,63}$' ||
	rl_die "invalid CHANNEL '$CHANNEL' ([a-z0-9][a-z0-9._-]{0,63})" 2
rl_uint_ok "$ROLLOUT_PERCENT" 100 || rl_die "invalid ROLLOUT_PERCENT '$ROLLOUT_PERCENT' (0 to 100)" 2
if ! rl_uint_ok "$CHANNEL_EXPIRES_DAYS" 36500 || [ "$CHANNEL_EXPIRES_DAYS" -lt 1 ]; then
	rl_die "invalid CHANNEL_EXPIRES_DAYS '$CHANNEL_EXPIRES_DAYS' (1 to 36500)" 2
fi
[ -z "$SITE_ENV" ] || [ -f "$SITE_ENV" ] || rl_die "SITE_ENV $SITE_ENV is not a file" 2
[ -z "$SCANNER_BIN" ] || [ -f "$SCANNER_BIN" ] || rl_die "SCANNER_BIN $SCANNER_BIN is not a file" 2
[ -z "$RELEASE_KEY" ] || [ -f "$RELEASE_KEY" ] || rl_die "RELEASE_KEY $RELEASE_KEY is not a file" 2
plats=''
for p in $PLATFORMS; do
	n=$(rl_normalise_platform "$p") || rl_die "invalid platform key '$p' in PLATFORMS" 2
	case " $plats " in *" $n "*) rl_die "platform $n is listed twice in PLATFORMS" 2 ;; esac
	plats="$plats $n"
done
[ -n "$plats" ] || rl_die "PLATFORMS is empty" 2
# shellcheck disable=SC2086 # a list of words
plats=$(printf '%s\n' $plats | sort | tr '\n' ' ')
for tool in sha256sum tar gzip date touch; do
	command -v "$tool" >/dev/null 2>&1 || rl_die "$tool is required"
done
bundle=$BINDIR/agent-bundle
[ -x "$bundle" ] || rl_die "$bundle not found: run make first"
if command -v git >/dev/null 2>&1 && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	[ -z "$(git -C "$src" status --porcelain 2>/dev/null)" ] ||
		rl_warn "the working tree has uncommitted changes: dist/ does not match a commit"
fi

# ---------------------------------------------------------------- 2. key
mkdir -p "$BUILD"
devkey=''
if [ -n "$RELEASE_KEY" ]; then
	key=$RELEASE_KEY
	kind=release
else
	devkey=$BUILD/dev-release-key.pem
	if [ ! -f "$devkey" ]; then
		"$bundle" key generate "$devkey" >/dev/null || rl_die "cannot create $devkey"
	fi
	key=$devkey
	kind=development
	devkey_warning
fi

work=$BUILD/release
tmp=$work/dist.tmp
rm -rf "$tmp" "$work/work"
mkdir -p "$tmp/channels" "$work/work"
trap 'rm -rf "$work/work"' EXIT
"$bundle" key public "$key" >"$work/work/release.pub" || rl_die "cannot read the public key of $key"

host=$(rl_normalise_platform "$(uname -s)-$(uname -m)") || host=''
# the staging table must list exactly the rules of agent-bundle (§2.1, §6.2)
"$bundle" rules >"$work/work/rules" || rl_die "agent-bundle rules failed"
grep -v '^#' "$here/stage.txt" | grep -v '^$' >"$work/work/stage" || rl_die "cannot read $here/stage.txt"
cut -d' ' -f1 "$work/work/rules" | LC_ALL=C sort >"$work/work/rules.paths"
cut -d' ' -f1 "$work/work/stage" | LC_ALL=C sort >"$work/work/stage.paths"
if ! cmp -s "$work/work/rules.paths" "$work/work/stage.paths"; then
	rl_die "release/stage.txt and 'agent-bundle rules' list different bundle paths: $(
		diff "$work/work/rules.paths" "$work/work/stage.paths" | sed -n 's/^</rule only:/p; s/^>/stage.txt only:/p' | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- 3-5. per platform
: >"$work/work/table"
for p in $plats; do
	# 3. programs: static, the requested version, stripped with a fixed invocation
	if [ -f "$BUILD/$p/agentd" ] && [ -f "$BUILD/$p/agent-install" ]; then
		pdir=$BUILD/$p
	elif [ "$p" = "$host" ]; then
		pdir=$BINDIR
	else
		rl_die "no programs for platform $p: expected $BUILD/$p/agentd and $BUILD/$p/agent-install (only $host is built here)"
	fi
	for prog in agentd agent-install; do
		[ -f "$pdir/$prog" ] || rl_die "$pdir/$prog not found: run make first"
		if command -v file >/dev/null 2>&1; then
			case $(file -b "$pdir/$prog") in
			*"statically linked"* | *"static-pie linked"*) ;;
			*) rl_die "$pdir/$prog is not statically linked" ;;
			esac
		fi
		if [ "$p" = "$host" ]; then
			got=$("$pdir/$prog" --version 2>/dev/null </dev/null) || got=''
			[ "$got" = "$prog $VERSION" ] ||
				rl_die "$pdir/$prog reports '$got', not '$prog $VERSION': build it with make VERSION=$VERSION"
		fi
	done

	# 4. stage from the rule table
	stage=$BUILD/stage/$p
	rm -rf "$stage"
	mkdir -p "$stage"
	pv=$(printf '%s' "$p" | tr '.-' '__')
	scanner=''
	eval "scanner=\${SCANNER_BIN_$pv:-\$SCANNER_BIN}"
	while read -r path from; do
		case $from in
		@program) from=@strip ;;
		@scanner) from=$scanner ;;
		@site-env) from='' ;; # agent-bundle build --site-env
		@render) ;;
		@*) rl_die "release/stage.txt: unknown source $from for $path" ;;
		'') rl_die "release/stage.txt: no source for $path" ;;
		*) from=$src/$from ;;
		esac
		[ -n "$from" ] || continue
		mkdir -p "$stage/$(dirname "$path")"
		case $from in
		@strip) ${STRIP:-strip} --strip-all -o "$stage/$path" "$pdir/${path#bin/}" ||
			rl_die "cannot strip $pdir/${path#bin/}" ;;
		@render) sh "$here/render-install.sh" --template "$src/templates/install.sh.in" \
			--out "$stage/$path" --version "$VERSION" --key-kind "$kind" \
			--pubkey "$work/work/release.pub" ;;
		*)
			[ -f "$from" ] || rl_die "$from not found (source of bundle path $path)"
			cp "$from" "$stage/$path"
			;;
		esac
	done <"$work/work/stage"

	# 5. build and sign
	set -- --version "$VERSION" --platform "$p" --input-dir "$stage" --out "$tmp" \
		--sign "$key" --source-date-epoch "$SOURCE_DATE_EPOCH" --strict
	[ -z "$SITE_ENV" ] || set -- "$@" --site-env "$SITE_ENV"
	name=$("$bundle" build "$@") || rl_die "agent-bundle build failed for $p"
	rl_name_platform "$name" >/dev/null || rl_die "agent-bundle build printed '$name', not a bundle name"
	sha=$(rl_sha256 "$tmp/$name.tar.gz")
	printf '%s %s %s\n' "$p" "$name" "$sha" >>"$work/work/table"
	rl_say "built $name"
done

# ---------------------------------------------------------------- 6. install.sh
set -- --template "$src/templates/install.sh.in" --out "$tmp/install.sh" --version "$VERSION" \
	--key-kind "$kind" --pubkey "$work/work/release.pub" --table "$work/work/table"
[ -z "$BASE_URL" ] || set -- "$@" --base-url "$BASE_URL"
sh "$here/render-install.sh" "$@"

# ---------------------------------------------------------------- 7. channel
expires_at=$((SOURCE_DATE_EPOCH + CHANNEL_EXPIRES_DAYS * 86400))
expires=$(date -u -d "@$expires_at" +%Y-%m-%dT%H:%M:%SZ) || rl_die "cannot format the expiry time"
set --
while read -r p name sha; do set -- "$@" "$tmp/$name.tar.gz"; done <"$work/work/table"
sh "$here/channel.sh" --out "$tmp/channels/$CHANNEL.json" --channel "$CHANNEL" --version "$VERSION" \
	--expires "$expires" --rollout-percent "$ROLLOUT_PERCENT" "$@"
"$bundle" sign --key "$key" "$tmp/channels/$CHANNEL.json" >/dev/null 2>&1 ||
	rl_die "cannot sign channels/$CHANNEL.json"

# ---------------------------------------------------------------- 8. release.pub
cp "$work/work/release.pub" "$tmp/release.pub"

# ---------------------------------------------------------------- 9. SHA256SUMS
(
	cd "$tmp"
	find . -type f ! -path ./SHA256SUMS ! -path ./SHA256SUMS.sig | sed 's|^\./||' | LC_ALL=C sort |
		while IFS= read -r f; do sha256sum "$f"; done >SHA256SUMS
)
"$bundle" sign --key "$key" "$tmp/SHA256SUMS" >/dev/null 2>&1 || rl_die "cannot sign SHA256SUMS"

# ---------------------------------------------------------------- 10. self-check
while read -r p name sha; do
	"$bundle" verify "$tmp/$name.tar.gz" --pubkey "$tmp/release.pub" --platform "$p" >/dev/null ||
		rl_die "self-check: agent-bundle verify refused $name.tar.gz"
done <"$work/work/table"
(cd "$tmp" && sha256sum -c --quiet --strict SHA256SUMS) || rl_die "self-check: sha256sum -c SHA256SUMS failed"
if command -v openssl >/dev/null 2>&1; then
	for sig in "$tmp"/*.sig "$tmp"/channels/*.sig; do
		data=${sig%.sig}
		[ -f "$data" ] || data=$data.tar.gz
		openssl dgst -sha256 -verify "$tmp/release.pub" -signature "$sig" "$data" >/dev/null ||
			rl_die "self-check: openssl does not verify ${sig#"$tmp"/}"
	done
else
	rl_warn "openssl not found: signatures not cross-checked"
fi
if command -v shellcheck >/dev/null 2>&1; then
	for f in "$tmp/install.sh" "$BUILD"/stage/*/install.sh; do
		shellcheck -s sh "$f" || rl_die "self-check: shellcheck reports problems in $f"
	done
elif [ "${CI:-}" = true ]; then
	rl_die "self-check: shellcheck is required in CI"
else
	rl_warn "shellcheck not found: install.sh not checked"
fi

# ---------------------------------------------------------------- 11. modes, mtimes, replace
find "$tmp" -type d -exec chmod 0755 {} +
find "$tmp" -type f -exec chmod 0644 {} +
find "$tmp" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -rf "$DIST.old"
[ ! -e "$DIST" ] || mv "$DIST" "$DIST.old"
mv "$tmp" "$DIST" || rl_die "cannot move $tmp to $DIST"
rm -rf "$DIST.old"
rl_say "wrote $DIST/ ($kind key $("$bundle" key id "$DIST/release.pub"))"

# ---------------------------------------------------------------- 12. expiry
now=$(date +%s)
if [ "$expires_at" -lt $((now + 14 * 86400)) ]; then
	rl_warn "channels/$CHANNEL.json expires at $expires, less than 14 days after now ($(date -u +%Y-%m-%dT%H:%M:%SZ)): raise CHANNEL_EXPIRES_DAYS or use a later SOURCE_DATE_EPOCH"
fi
[ "$kind" = release ] || devkey_warning
exit 0
