#!/bin/sh
# The release pipeline (spec §19, §18.2, §13.8, §4): release/release.sh as
# `make release` runs it, with the real programs from AGENT_BIN.
#
#  * two runs with the same key, different umask, TZ, LC_ALL, working and build
#    directories give the same file list with byte-identical files (diff -r, cmp);
#  * the tree of §19.3; `sha256sum -c SHA256SUMS`; every .sig verified by openssl
#    and the bundles by agent-bundle verify; modes 0644/0755 and mtime SDE;
#  * channels/stable.json: exact layout of §13.8, values cross-checked (size,
#    sha256, fingerprint = SHA-256 of the bundle's MANIFEST), parsed by python3;
#  * install.sh rendered with base URL, table, key and key kind; the bundle copy
#    with an empty base URL and table; both shellcheck-clean;
#  * no RELEASE_KEY: a development key is made once, reused, and loudly announced;
#  * refusals: missing or bad VERSION, SOURCE_DATE_EPOCH, BASE_URL, CHANNEL,
#    ROLLOUT_PERCENT, a platform without programs, programs of another version;
#    and the renderer's own refusals (bad table rows, bad public key).
. "$AGENT_SRC/tests/integration/lib/tap.sh"

B=$AGENT_BIN/agent-bundle
R=$AGENT_SRC/release/release.sh
SDE=1772366400
[ -x "$B" ] && [ -x "$AGENT_BIN/agent-install" ] && [ -x "$AGENT_BIN/agentd" ] ||
	skip_all "programs not built (make)"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
V=$("$AGENT_BIN/agent-install" --version) && V=${V#agent-install }
URL=https://downloads.example.org/agentd/1.x

"$B" key generate key.pem >/dev/null 2>&1
openssl ec -in key.pem -pubout -out key.pub 2>/dev/null
printf 'AGENT_SITE=example\n' >site.env

# run1: umask 022, UTC, C; run2: umask 077, another TZ and locale, another cwd
mkdir -p cwd1 cwd2
(cd cwd1 && umask 022 && TZ=UTC LC_ALL=C sh "$R" VERSION="$V" RELEASE_KEY=../key.pem \
	SOURCE_DATE_EPOCH=$SDE BASE_URL=$URL/ SITE_ENV=../site.env \
	BUILD="$TMPDIR/b1" BINDIR="$AGENT_BIN" DIST="$TMPDIR/d1" >../out1 2>../err1)
check_eq "release run 1 exits 0" 0 $?
(cd cwd2 && umask 077 && TZ='XYZ-13:45' LC_ALL=C.UTF-8 LANG=C.UTF-8 \
	VERSION="$V" RELEASE_KEY=../key.pem SOURCE_DATE_EPOCH=$SDE BASE_URL=$URL/ \
	SITE_ENV="$TMPDIR/site.env" BUILD="$TMPDIR/b2" BINDIR="$AGENT_BIN" DIST="$TMPDIR/d2" \
	sh "$R" >../out2 2>../err2)
check_eq "release run 2 (variables from the environment) exits 0" 0 $?
sed 's/^/# run1: /' err1 | head -n 20
check "two runs: diff -r finds no difference" diff -r d1 d2
cmp_all() {
	(cd d1 && find . -type f) | while IFS= read -r f; do cmp "d1/$f" "d2/$f" || exit 1; done
}
check "two runs: every file byte-identical (cmp)" cmp_all
check_eq "two runs: same file list" "$(cd d1 && find . | sort)" "$(cd d2 && find . | sort)"

name=$(cd d1 && ls agent-bundle-*.tar.gz 2>/dev/null) && name=${name%.tar.gz}
id=$(printf '%s' "$V" | tr -c '0-9A-Za-z._' '_')
case $name in
agent-bundle-linux-x86_64__20260301120000-"$id"-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
	ok "bundle name per §1.4 ($name)" ;;
*) not_ok "bundle name per §1.4 (got '$name')" ;;
esac
check_eq "the tree of §19.3" "./SHA256SUMS
./SHA256SUMS.sig
./$name.sha256
./$name.sig
./$name.tar.gz
./channels
./channels/stable.json
./channels/stable.json.sig
./install.sh
./release.pub" "$(cd d1 && find . -mindepth 1 | LC_ALL=C sort)"

check "sha256sum -c SHA256SUMS passes" sh -c 'cd d1 && sha256sum -c --strict SHA256SUMS'
check_eq "SHA256SUMS lists every other file, sorted, relative paths" \
	"$(cd d1 && find . -type f ! -name 'SHA256SUMS*' | sed 's|^\./||' | LC_ALL=C sort)" \
	"$(sed 's/^[0-9a-f]\{64\}  //' d1/SHA256SUMS)"
for s in "$name.sig:$name.tar.gz" SHA256SUMS.sig:SHA256SUMS channels/stable.json.sig:channels/stable.json; do
	check "openssl verifies ${s%%:*} with release.pub" \
		openssl dgst -sha256 -verify d1/release.pub -signature "d1/${s%%:*}" "d1/${s#*:}"
done
check_eq "release.pub is RELEASE_KEY's public key" "$("$B" key id key.pem)" "$("$B" key id d1/release.pub)"
check "agent-bundle verify accepts the bundle with release.pub" \
	"$B" verify "d1/$name.tar.gz" --pubkey d1/release.pub --platform linux-x86_64
check_eq ".sha256 sibling in sha256sum format" "$(cd d1 && sha256sum "$name.tar.gz")" "$(cat "d1/$name.sha256")"
check_eq "files 0644, directories 0755" "" \
	"$(find d1 \( -type f ! -perm 0644 \) -o \( -type d ! -perm 0755 \))"
check_eq "every mtime is the SDE (stat)" "$SDE" "$(find d1 -exec stat -c %Y {} + | sort -u)"

# ---------------------------------------------------------------- channel manifest
sha=$(sha256sum <"d1/$name.tar.gz") && sha=${sha%% *}
size=$(wc -c <"d1/$name.tar.gz") && size=$((size + 0))
fp=$(tar -xzOf "d1/$name.tar.gz" "$name/MANIFEST" | sha256sum) && fp=${fp%% *}
cat >channel.want <<EOF
{
  "format": 1,
  "channel": "stable",
  "version": "$V",
  "expires": "2026-05-30T12:00:00Z",
  "rollout_percent": 100,
  "platforms": {
    "linux-x86_64": {
      "bundle": "$name.tar.gz",
      "url": "../$name.tar.gz",
      "sha256": "$sha",
      "size": $size,
      "fingerprint": "$fp"
    }
  }
}
EOF
check "channels/stable.json is exactly §13.8 (order, indent, values, final LF)" \
	cmp channel.want d1/channels/stable.json
if command -v python3 >/dev/null 2>&1; then
	check "python3 parses channels/stable.json" python3 -c \
		'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]==1 and d["platforms"]["linux-x86_64"]["size"]>0' \
		d1/channels/stable.json
else
	skip "python3 parses channels/stable.json" "python3 not installed"
fi
check_eq "fp12 of the name is the MANIFEST fingerprint's" "${name##*-}" "$(printf '%.12s' "$fp")"

# ---------------------------------------------------------------- install.sh
check "dist/install.sh: shellcheck -s sh reports nothing" shellcheck -s sh d1/install.sh
check "dist/install.sh embeds the base URL" grep -qx "	AI_BASE_URL='$URL'" d1/install.sh
check "dist/install.sh embeds the bundle table" grep -qx "	AI_TABLE='linux-x86_64 $name $sha'" d1/install.sh
check "dist/install.sh embeds the key kind" grep -qx "	AI_KEY_KIND='release'" d1/install.sh
check "dist/install.sh embeds release.pub verbatim" sh -c \
	"sed -n '/AI_PUBKEY=/,/END PUBLIC KEY/p' d1/install.sh | sed \"s/^	AI_PUBKEY='//; s/'\$//\" | cmp - d1/release.pub"
check_eq "dist/install.sh --version (dash)" "agentd-install $V" "$(dash d1/install.sh --version)"
tar -xzOf "d1/$name.tar.gz" "$name/install.sh" >inner.sh
check "bundle copy: empty base URL" grep -qx "	AI_BASE_URL=''" inner.sh
check "bundle copy: empty table" grep -qx "	AI_TABLE=''" inner.sh
check "bundle copy: same key" sh -c "grep -A3 AI_PUBKEY= inner.sh | grep -q \"\$(sed -n 2p d1/release.pub)\""
check "bundle copy: shellcheck -s sh reports nothing" shellcheck -s sh inner.sh
check_eq "SITE_ENV is env/runtime.env in the bundle" "AGENT_SITE=example" \
	"$(tar -xzOf "d1/$name.tar.gz" "$name/env/runtime.env")"
check "bin/agentd in the bundle is stripped" sh -c \
	"tar -xzOf 'd1/$name.tar.gz' '$name/bin/agentd' >agentd.bin && file -b agentd.bin | grep -q ', stripped'"
check "SHA256SUMS.sig verifies with agent-bundle's key too (openssl, the SUMS file)" \
	openssl dgst -sha256 -verify key.pub -signature d1/SHA256SUMS.sig d1/SHA256SUMS

# ---------------------------------------------------------------- development key
sh "$R" VERSION="$V" SOURCE_DATE_EPOCH=$SDE BUILD="$TMPDIR/b3" BINDIR="$AGENT_BIN" \
	DIST="$TMPDIR/d3" >out3 2>err3
check_eq "no RELEASE_KEY: exits 0" 0 $?
check "no RELEASE_KEY: build/dev-release-key.pem made" test -s b3/dev-release-key.pem
check_eq "no RELEASE_KEY: warning at the start and the end" 2 \
	"$(grep -c 'signed with a throwaway development key' err3)"
check "no RELEASE_KEY: the warning is the first line about the key" \
	sh -c "grep -n 'development key\|built agent-bundle' err3 | head -n 1 | grep -q 'development key'"
check "no RELEASE_KEY: install.sh says key kind development" grep -qx "	AI_KEY_KIND='development'" d3/install.sh
check "no RELEASE_KEY: install.sh prints its three-line warning" sh -c \
	"dash d3/install.sh --bundle /nonexistent --dry-run 2>&1 | grep -c 'warning:.*\(DEVELOPMENT SIGNING KEY\|not a release key\|production\)' | grep -qx 3"
check_eq "no RELEASE_KEY: release.pub is the development key" \
	"$("$B" key id b3/dev-release-key.pem)" "$("$B" key id d3/release.pub)"
cp -p b3/dev-release-key.pem key3.pem
sh "$R" VERSION="$V" SOURCE_DATE_EPOCH=$SDE BUILD="$TMPDIR/b3" BINDIR="$AGENT_BIN" \
	DIST="$TMPDIR/d4" >/dev/null 2>&1
check "no RELEASE_KEY: the key is reused" cmp key3.pem b3/dev-release-key.pem
check "no RELEASE_KEY: a second run gives an identical tree" diff -r d3 d4
check "a second run replaces dist/ (no leftovers)" sh -c \
	"sh '$R' VERSION='$V' SOURCE_DATE_EPOCH=$SDE BUILD='$TMPDIR/b3' BINDIR='$AGENT_BIN' DIST='$TMPDIR/d4' CHANNEL=beta >/dev/null 2>&1 && test -f d4/channels/beta.json && test ! -e d4/channels/stable.json && test ! -e d4.old"

# ---------------------------------------------------------------- other variables
sh "$R" VERSION="$V" RELEASE_KEY=key.pem SOURCE_DATE_EPOCH=$SDE BUILD="$TMPDIR/b5" \
	BINDIR="$AGENT_BIN" DIST="$TMPDIR/d5" CHANNEL=beta ROLLOUT_PERCENT=7 \
	CHANNEL_EXPIRES_DAYS=1 >/dev/null 2>err5
check_eq "CHANNEL, ROLLOUT_PERCENT, CHANNEL_EXPIRES_DAYS: exits 0" 0 $?
check "channels/beta.json has rollout_percent 7" grep -qx '  "rollout_percent": 7,' d5/channels/beta.json
check "channels/beta.json expires one day after the SDE" grep -qx '  "expires": "2026-03-02T12:00:00Z",' d5/channels/beta.json
check "a channel expiring within 14 days is warned about" grep -q 'warning: channels/beta.json expires at' err5
check "no BASE_URL: install.sh has an empty base URL" grep -qx "	AI_BASE_URL=''" d5/install.sh

if [ -x "$AGENT_TOOLS/stub_scanner" ]; then
	sh "$R" VERSION="$V" RELEASE_KEY=key.pem SOURCE_DATE_EPOCH=$SDE BUILD="$TMPDIR/b6" \
		BINDIR="$AGENT_BIN" DIST="$TMPDIR/d6" SCANNER_BIN="$AGENT_TOOLS/stub_scanner" >/dev/null 2>err6
	check_eq "SCANNER_BIN: exits 0" 0 $?
	n6=$(cd d6 && ls agent-bundle-*.tar.gz) && n6=${n6%.tar.gz}
	check "SCANNER_BIN becomes bin/scanner" sh -c \
		"tar -xzOf 'd6/$n6.tar.gz' '$n6/bin/scanner' | cmp - '$AGENT_TOOLS/stub_scanner'"
else
	skip "SCANNER_BIN becomes bin/scanner" "stub_scanner not built (make tools)"
fi

check "check-reproducible.sh (make check-reproducible): two runs, umask 022/077, other TZ and LC_ALL" \
	sh "$AGENT_SRC/release/check-reproducible.sh" BUILD="$TMPDIR/cr" BINDIR="$AGENT_BIN" \
	VERSION="$V" SOURCE_DATE_EPOCH=$SDE BASE_URL=$URL

# ---------------------------------------------------------------- refusals
refuse() { # refuse DESCRIPTION EXPECTED-STATUS VAR=value...
	d=$1 want=$2
	shift 2
	sh "$R" BUILD="$TMPDIR/bx" BINDIR="$AGENT_BIN" DIST="$TMPDIR/dx" RELEASE_KEY=key.pem \
		SOURCE_DATE_EPOCH=$SDE "$@" >refuse.out 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -q '^release: error: ' refuse.out && [ ! -e dx ]; then
		ok "$d"
	else
		not_ok "$d (status $rc, want $want)"
		sed 's/^/#   /' refuse.out | head -n 5
	fi
}
refuse "no VERSION: exit 2" 2
refuse "VERSION 1.4: exit 2" 2 VERSION=1.4
refuse "VERSION 01.4.0: exit 2" 2 VERSION=01.4.0
refuse "VERSION 1.4.0+build: exit 2" 2 VERSION=1.4.0+build
refuse "VERSION 2147483648.0.0: exit 2" 2 VERSION=2147483648.0.0
refuse "SOURCE_DATE_EPOCH with a sign: exit 2" 2 VERSION="$V" SOURCE_DATE_EPOCH=+1
refuse "SOURCE_DATE_EPOCH with a leading zero: exit 2" 2 VERSION="$V" SOURCE_DATE_EPOCH=01
refuse "SOURCE_DATE_EPOCH above 8589934591: exit 2" 2 VERSION="$V" SOURCE_DATE_EPOCH=8589934592
refuse "http BASE_URL: exit 2" 2 VERSION="$V" BASE_URL=http://example.org/
refuse "BASE_URL with a quote: exit 2" 2 VERSION="$V" "BASE_URL=https://example.org/a'b"
refuse "BASE_URL with a space: exit 2" 2 VERSION="$V" "BASE_URL=https://example.org/a b"
refuse "BASE_URL with a backslash: exit 2" 2 VERSION="$V" 'BASE_URL=https://example.org/a\b'
refuse "CHANNEL Stable: exit 2" 2 VERSION="$V" CHANNEL=Stable
refuse "ROLLOUT_PERCENT 101: exit 2" 2 VERSION="$V" ROLLOUT_PERCENT=101
refuse "CHANNEL_EXPIRES_DAYS 0: exit 2" 2 VERSION="$V" CHANNEL_EXPIRES_DAYS=0
refuse "PLATFORMS with an invalid key: exit 2" 2 VERSION="$V" PLATFORMS=nodash
refuse "unknown argument: exit 2" 2 VERSION="$V" FOO=1
refuse "RELEASE_KEY missing: exit 2" 2 VERSION="$V" RELEASE_KEY=nokey.pem
refuse "a platform without programs: exit 1" 1 VERSION="$V" PLATFORMS="linux-x86_64 linux-riscv64"
refuse "programs of another version: exit 1" 1 VERSION=9.9.9
check "no SOURCE_DATE_EPOCH outside git: exit 2" sh -c \
	"cp -r '$AGENT_SRC/release' '$AGENT_SRC/templates' . 2>/dev/null; sh release/release.sh VERSION='$V' BUILD='$TMPDIR/bx' BINDIR='$AGENT_BIN' DIST='$TMPDIR/dx' RELEASE_KEY=key.pem >ng.out 2>&1; test \$? -eq 2 && grep -q SOURCE_DATE_EPOCH ng.out"

mkdir -p alt
cp -r "$AGENT_SRC/release" alt/
ln -s "$AGENT_SRC/templates" alt/templates
ln -s "$AGENT_SRC/host-tuning" alt/host-tuning
grep -v '^bin/scanner ' "$AGENT_SRC/release/stage.txt" >alt/release/stage.txt
check "release/stage.txt missing a rule of agent-bundle: refused, naming it" sh -c \
	"sh alt/release/release.sh VERSION='$V' RELEASE_KEY=key.pem SOURCE_DATE_EPOCH=$SDE BUILD='$TMPDIR/bx' BINDIR='$AGENT_BIN' DIST='$TMPDIR/dx' >alt.out 2>&1; test \$? -eq 1 && grep -q 'rule only: bin/scanner' alt.out && test ! -e dx"

render() { # render TABLE-CONTENT [PUBKEY]
	printf '%s\n' "$1" >table
	sh "$AGENT_SRC/release/render-install.sh" --template "$AGENT_SRC/templates/install.sh.in" \
		--out rendered.sh --version 1.4.0 --key-kind release --pubkey "${2:-d1/release.pub}" \
		--base-url "$URL" --table table
}
good=$(cat "d1/$name.sha256")
good="linux-x86_64 $name ${good%% *}"
check "renderer: a good table renders" render "$good"
check_fails "renderer: a name that does not parse is refused" render "linux-x86_64 agent-bundle-x ${sha}"
check_fails "renderer: a hash that is not 64 hex is refused" render "linux-x86_64 $name ${sha}0"
check_fails "renderer: upper-case hex is refused" render "linux-x86_64 $name $(printf '%s' "$sha" | tr a-f A-F)"
check_fails "renderer: a row whose platform is not the name's is refused" render "linux-aarch64 $name $sha"
check_fails "renderer: a platform listed twice is refused" render "$good
$good"
printf 'not a key\n' >bad.pub
check_fails "renderer: a public key that is not PEM is refused" render "$good" bad.pub
check_fails "renderer: a private key is refused" render "$good" key.pem
check_fails "renderer: an http base URL is refused" sh "$AGENT_SRC/release/render-install.sh" \
	--template "$AGENT_SRC/templates/install.sh.in" --out r2.sh --version 1.4.0 \
	--key-kind release --pubkey d1/release.pub --base-url http://example.org
check "the unrendered template refuses to run" sh -c \
	"dash '$AGENT_SRC/templates/install.sh.in' --version 2>&1 | grep -q 'unrendered template'"

done_testing
