#!/bin/sh
# install.sh (spec §18), rendered by the real release pipeline, run under dash
# and busybox sh against the real bin/agent-install of the bundle.
#
#  * PATH is a directory of chosen tools only, so each case decides which
#    downloaders and hash tools exist; downloader shims log every call and serve
#    files from the release's dist/ by the URL's last segment (or refuse).
#  * online: curl, GNU wget, busybox wget and a plain (non-GNU) wget are chosen
#    in that order with the flags of §18.5; retries; fallback to the next
#    downloader; `… | sh -s -- …` through stdin; missing platform, base URL,
#    downloader; --base-url and --channel handling;
#  * air-gapped: downloader shims that fail the test if called; sha256 from the
#    table, --sha256, a .sha256 sibling; mismatch refused with nothing written;
#  * sha256sum, shasum and openssl fallbacks; usage errors; root check;
#  * a truncated copy executes nothing; shellcheck;
#  * real HTTPS on loopback (openssl s_server) with real curl and GNU wget;
#  * as root: the noexec fallback (mount namespace) and the air-gapped install
#    inside a network namespace whose only interface is a down loopback.
# A full (non --dry-run) install needs `agentd self-test` (§10.4); until agentd
# has it those cases are reported as SKIP and run with --dry-run instead.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

B=$AGENT_BIN/agent-bundle
SDE=1772366400
URL=https://mirror.invalid/agentd
[ -x "$B" ] && [ -x "$AGENT_BIN/agent-install" ] || skip_all "programs not built (make)"
command -v dash >/dev/null 2>&1 || skip_all "dash not installed"
command -v busybox >/dev/null 2>&1 || skip_all "busybox not installed"
V=$("$AGENT_BIN/agent-install" --version) && V=${V#agent-install }
BUSYBOX=$(command -v busybox)
DASH=$(command -v dash)
full_install=''
"$AGENT_BIN/agentd" --help 2>&1 | grep -q 'self-test' && full_install=1
no_full="agentd self-test (§10.4) not implemented yet: agent-install install cannot finish"

"$B" key generate key.pem >/dev/null 2>&1
sh "$AGENT_SRC/release/release.sh" VERSION="$V" RELEASE_KEY=key.pem SOURCE_DATE_EPOCH=$SDE \
	BASE_URL=$URL BUILD="$TMPDIR/build" BINDIR="$AGENT_BIN" DIST="$TMPDIR/dist" >/dev/null 2>rel.err ||
	{ sed 's/^/# /' rel.err; skip_all "the release pipeline failed"; }
D=$TMPDIR/dist
name=$(cd "$D" && ls agent-bundle-*.tar.gz) && name=${name%.tar.gz}
SUM=$(cat "$D/$name.sha256") && SUM=${SUM%% *}
tar -xzOf "$D/$name.tar.gz" "$name/install.sh" >inner.sh
# an install.sh without a base URL, for the "no base URL" case
printf 'linux-x86_64 %s %s\n' "$name" "$SUM" >table
"$B" key public key.pem >key.pub
sh "$AGENT_SRC/release/render-install.sh" --template "$AGENT_SRC/templates/install.sh.in" \
	--out nobase.sh --version "$V" --key-kind release --pubkey key.pub --table table

# two platforms in the table (the aarch64 row is made up; it is never fetched)
printf 'linux-aarch64 agent-bundle-linux-aarch64__20260301120000-%s-0123456789ab %064d\n' \
	"$(printf '%s' "$V" | tr -c '0-9A-Za-z._' '_')" 0 >table2
cat table >>table2
sh "$AGENT_SRC/release/render-install.sh" --template "$AGENT_SRC/templates/install.sh.in" \
	--out multi.sh --version "$V" --key-kind release --pubkey key.pub --table table2 --base-url "$URL"

# ---------------------------------------------------------------- PATH fixtures
# mkbase DIR TOOL...: DIR holds links to exactly these tools
mkbase() {
	d=$1
	shift
	mkdir -p "$d"
	for t in "$@"; do
		p=$(command -v "$t") || { echo "# no $t on this host"; continue; }
		ln -sf "$p" "$d/$t"
	done
}
COMMON="uname mktemp tar gzip id tr rm mkdir cat sleep"
mkbase base $COMMON sha256sum
mkbase base-shasum $COMMON shasum
mkbase base-openssl $COMMON openssl
mkbase base-nosum $COMMON

# a host whose tools are all busybox applets (as on Alpine or OpenWrt)
mkdir -p base-bb
for t in $COMMON sha256sum; do ln -sf "$(command -v busybox)" "base-bb/$t"; done
# the downloader shim: logs "<tool> <args>" to dl.log; serves $D/<last segment>
cat >shim.sh <<EOF
#!/bin/sh
T=$TMPDIR
D=$D
EOF
cat >>shim.sh <<'EOF'
tool=${0##*/}
if [ "$tool" = busybox ]; then
	[ "${1:-}" = wget ] || exec "$REAL_BUSYBOX" "$@"
	shift
	tool=busybox-wget
fi
# air-gapped cases: any call, even a probe, fails the test
if [ -e "$T/forbid" ]; then
	echo "FORBIDDEN $tool $*" >>"$T/forbidden.log"
	exit 99
fi
[ "$tool" = busybox-wget ] && [ "${1:-}" = --help ] && exit 0
if [ "$tool" = wget ] && [ "${1:-}" = --version ]; then
	[ -n "${SHIM_GNU_WGET:-}" ] && { echo 'GNU Wget 1.21.3 built on linux-gnu.'; exit 0; }
	exit 1
fi
echo "$tool $*" >>"$T/dl.log"
case " ${SHIM_FAIL_TOOLS:-} " in *" $tool "*) exit 22 ;; esac
if [ -n "${SHIM_FAIL_FIRST:-}" ]; then
	n=$(cat "$T/fail.count" 2>/dev/null || echo 0)
	echo $((n + 1)) >"$T/fail.count"
	[ "$n" -ge "$SHIM_FAIL_FIRST" ] || exit 22
fi
out='' url=''
while [ $# -gt 0 ]; do
	case $1 in
	-o | -O) out=$2; shift ;;
	--proto | --connect-timeout) shift ;;
	-*) ;;
	*) url=$1 ;;
	esac
	shift
done
[ -n "$out" ] && [ -n "$url" ] || exit 2
f=$D/${url##*/}
[ -f "$f" ] || exit 22
/bin/cp "$f" "$out"
EOF
chmod 0755 shim.sh
# mkshims DIR TOOL...: DIR holds the shim under these names
mkshims() {
	d=$1
	shift
	mkdir -p "$d"
	for t in "$@"; do ln -sf "$TMPDIR/shim.sh" "$d/$t"; done
}
mkshims s-curl curl
mkshims s-wget wget
mkshims s-bb busybox
mkshims s-all curl wget busybox
printf '#!/bin/sh\necho 1000\n' >id-shim
mkdir -p s-user && cp id-shim s-user/id && chmod 0755 s-user/id
export REAL_BUSYBOX="$BUSYBOX"

# run SHELL PATH ARGS...: run dist/install.sh (or $SCRIPT) with that PATH and
# the VAR=value words in $E; stdout+stderr in run.out, status in $rc; dl.log
# emptied first
run() {
	sh_=$1 path_=$2
	shift 2
	: >dl.log
	rm -f fail.count
	# shellcheck disable=SC2086 # "busybox sh" is two words; E is words
	env ${E:-} PATH="$path_" TMPDIR="$TMPDIR/tmp" $sh_ "${SCRIPT:-$D/install.sh}" "$@" >run.out 2>&1 </dev/null
	rc=$?
	E=''
}
mkdir -p tmp
# expect DESC STATUS PATTERN: last run's status and a line matching PATTERN (grep -E)
expect() {
	if [ "$rc" -eq "$2" ] && grep -Eq -- "$3" run.out; then ok "$1"; else
		not_ok "$1 (status $rc, want $2; want a line matching: $3)"
		sed 's/^/#   /' run.out | head -n 12
	fi
}
# tmp_clean DESC: install.sh left nothing in its TMPDIR
tmp_clean() { check_eq "$1: temporary directory removed" "" "$(ls -A tmp)"; }
newroot() { rm -rf "${TMPDIR:?}/${1:?}" && mkdir -p "$TMPDIR/$1"; }

check "dist/install.sh: shellcheck -s sh" shellcheck -s sh "$D/install.sh"
check "bundle copy of install.sh: shellcheck -s sh" shellcheck -s sh inner.sh
check "templates/install.sh.in: shellcheck -s sh" shellcheck -s sh "$AGENT_SRC/templates/install.sh.in"

for SH in "$DASH" "$BUSYBOX sh"; do
	case $SH in *busybox*) L=busybox ;; *) L=dash ;; esac
	P=$TMPDIR/base
	R=$TMPDIR/root-$L

	# ------------------------------------------------------------ options
	run "$SH" "$P" --help
	expect "$L: --help exits 0 with usage" 0 '^usage: '
	run "$SH" "$P" --version
	expect "$L: --version" 0 "^agentd-install $V\$"
	run "$SH" "$P" --frobnicate
	expect "$L: unknown option: exit 2" 2 "^agentd-install: error: unknown option '--frobnicate'"
	run "$SH" "$P" --bundle
	expect "$L: missing value: exit 2" 2 '^agentd-install: error: option --bundle needs a value'
	run "$SH" "$P" --bundle ''
	expect "$L: empty --bundle: exit 2" 2 'error: --bundle needs a file'
	run "$SH" "$P" --dry-run=yes
	expect "$L: a value for a flag: exit 2" 2 'error: option --dry-run takes no value'
	run "$SH" "$P" --sha256 abc
	expect "$L: --sha256 not 64 hex: exit 2" 2 'error: --sha256 needs 64 hex'
	run "$SH" "$P" --base-url http://example.org
	expect "$L: http --base-url: exit 2" 2 'error: --base-url needs an https URL'
	run "$SH" "$P" --platform nodash
	expect "$L: invalid --platform: exit 2" 2 "error: invalid platform key 'nodash'"
	run "$SH" "$P" --channel http://example.org/c.json
	expect "$L: http --channel: exit 2" 2 'error: --channel needs a name, an https URL or none'
	run "$SH" "$P" --set NOEQUALS
	expect "$L: --set without =: exit 2" 2 'error: --set needs KEY=VALUE'
	run "$SH" "$TMPDIR/s-user:$P" --bundle "$D/$name.tar.gz"
	expect "$L: not root, no --root: refused" 1 "^agentd-install: error: run as root, e.g. curl -fsSL $URL/install.sh \\| sudo sh\$"

	# ------------------------------------------------------------ air-gapped
	: >forbid
	: >forbidden.log
	newroot "root-$L"
	run "$SH" "$TMPDIR/s-all:$P" --bundle "$D/$name.tar.gz" --root "$R" --dry-run
	expect "$L: air-gapped --dry-run succeeds" 0 '^agentd-install: sha256 ok$'
	check_eq "$L: air-gapped: no downloader was invoked" "" "$(cat forbidden.log dl.log)"
	check "$L: air-gapped: progress lines (platform, bundle, source)" sh -c \
		"grep -qx 'agentd-install: platform linux-x86_64' run.out && grep -qx 'agentd-install: bundle $name' run.out && grep -qx 'agentd-install: source $D/$name.tar.gz' run.out"
	check "$L: air-gapped: agent-install gets --sha256, --pubkey, the .sig sibling, --root, --dry-run" \
		grep -Eq "^agentd-install: running $name/bin/agent-install install --bundle $D/$name.tar.gz --sha256 $SUM --pubkey [^ ]*/release.pub --signature $D/$name.sig --root $R --dry-run\$" run.out
	check "$L: air-gapped: agent-install verified the signature with the embedded key" \
		grep -q "signature verified with key $("$B" key id key.pem)" run.out
	check_eq "$L: --dry-run: the root stays empty" "" "$(ls -A "$R")"
	tmp_clean "$L: air-gapped"
	if [ -n "$full_install" ]; then
		run "$SH" "$TMPDIR/s-all:$P" --bundle "$D/$name.tar.gz" --root "$R" --no-start --set AGENT_ID=w1
		expect "$L: air-gapped install into a temporary root" 0 "^installed $V "
		check "$L: air-gapped install: current points to the release" test -e "$R/opt/agentd/current/bin/agentd"
		check_eq "$L: air-gapped install: no downloader was invoked" "" "$(cat forbidden.log)"
	else
		skip "$L: air-gapped install into a temporary root" "$no_full"
	fi

	# sha256 mismatch: a corrupted copy with the table's name; a wrong --sha256
	mkdir -p bad
	cp "$D/$name.tar.gz" "bad/$name.tar.gz"
	printf 'x' >>"bad/$name.tar.gz"
	newroot "root-$L"
	run "$SH" "$TMPDIR/s-all:$P" --bundle "bad/$name.tar.gz" --root "$R"
	expect "$L: sha256 mismatch refused" 1 "^agentd-install: error: sha256 mismatch for bad/$name.tar.gz: expected $SUM, got [0-9a-f]{64}\$"
	check_eq "$L: sha256 mismatch: nothing written under the root" "" "$(ls -A "$R")"
	check "$L: sha256 mismatch: agent-install never ran" sh -c '! grep -q "running " run.out'
	tmp_clean "$L: sha256 mismatch"
	cp "$D/$name.tar.gz" other.tar.gz
	run "$SH" "$TMPDIR/s-all:$P" --bundle other.tar.gz --root "$R" --sha256 "$(printf '%064d' 0)"
	expect "$L: wrong --sha256 refused" 1 "error: sha256 mismatch for other.tar.gz: expected 0{64}, got $SUM"
	run "$SH" "$TMPDIR/s-all:$P" --bundle other.tar.gz --root "$R" --dry-run
	expect "$L: a bundle not in the table, no --sha256, no sibling: refused" 1 \
		'^agentd-install: error: no sha256 for other.tar.gz: pass --sha256 or put other.sha256 next to it$'
	run "$SH" "$TMPDIR/s-all:$P" --bundle other.tar.gz --root "$R" --dry-run \
		--sha256 "$(printf '%s' "$SUM" | tr a-f A-F)" --insecure-no-signature
	expect "$L: renamed bundle with --sha256 (upper case) and no signature: name from tar -t" 0 "^agentd-install: bundle $name\$"
	run "$SH" "$TMPDIR/s-all:$P" --bundle /nonexistent/x.tar.gz --root "$R"
	expect "$L: unreadable bundle refused" 1 '^agentd-install: error: cannot read bundle /nonexistent/x.tar.gz'
	printf 'not an archive\n' >junk.tar.gz
	run "$SH" "$TMPDIR/s-all:$P" --bundle junk.tar.gz --root "$R" --sha256 "$(sha256sum <junk.tar.gz | cut -c1-64)"
	expect "$L: a file that is not a bundle refused after the hash" 1 'error: cannot list junk.tar.gz with tar'
	check_eq "$L: air-gapped failures: no downloader was invoked" "" "$(cat forbidden.log)"

	env PATH="$TMPDIR/s-all:$P" "$DASH" -c 'wget --version; busybox wget --help' >/dev/null 2>&1
	check_eq "$L: harness: the forbidding shims record even probes" 2 "$(wc -l <forbidden.log)"
	: >forbidden.log

	# the copy inside the bundle: no table, no base URL (§18.7)
	SCRIPT=$TMPDIR/inner.sh
	run "$SH" "$TMPDIR/s-all:$P" --bundle "$D/$name.tar.gz" --root "$R" --dry-run
	expect "$L: bundle copy: uses the .sha256 sibling" 0 '^agentd-install: sha256 ok$'
	mkdir -p nosib && cp "$D/$name.tar.gz" nosib/
	run "$SH" "$TMPDIR/s-all:$P" --bundle "nosib/$name.tar.gz" --root "$R" --dry-run
	expect "$L: bundle copy: no sibling, no --sha256: refused" 1 "error: no sha256 for nosib/$name.tar.gz"
	run "$SH" "$TMPDIR/s-all:$P" --bundle "nosib/$name.tar.gz" --root "$R" --dry-run --sha256 "$SUM" --insecure-no-signature
	expect "$L: bundle copy: --sha256 accepted" 0 '^agentd-install: sha256 ok$'
	run "$SH" "$TMPDIR/s-all:$P" --bundle "nosib/$name.tar.gz" --root "$R" --dry-run --sha256 "$SUM" --channel stable
	expect "$L: bundle copy: --channel NAME without a base URL: exit 2" 2 'error: --channel stable needs a base URL'
	run "$SH" "$TMPDIR/s-all:$P" --root "$R" --dry-run
	expect "$L: bundle copy: online mode has no bundle table" 1 '^agentd-install: error: no bundle for linux-x86_64; available: none$'
	unset SCRIPT
	rm -f forbid

	# ------------------------------------------------------------ hash tools
	for v in shasum openssl; do
		run "$SH" "$TMPDIR/base-$v" --bundle "$D/$name.tar.gz" --root "$R" --dry-run
		expect "$L: hash with $v when sha256sum is missing" 0 '^agentd-install: sha256 ok$'
	done
	run "$SH" "$TMPDIR/base-nosum" --bundle "$D/$name.tar.gz" --root "$R" --dry-run
	expect "$L: no hash tool: one error naming them" 1 '^agentd-install: error: missing tools: sha256sum\|shasum\|openssl;'

	mkdir -p "tmp sp" "dir sp"
	cp "$D/$name.tar.gz" "$D/$name.sha256" "$D/$name.sig" "dir sp/"
	env PATH="$P" TMPDIR="$TMPDIR/tmp sp" $SH "$D/install.sh" --bundle "dir sp/$name.tar.gz" \
		--root "$R" --dry-run --set 'AGENT_NOTE=a b' >run.out 2>&1 </dev/null
	rc=$?
	expect "$L: spaces in TMPDIR, the bundle path and a --set value" 0 'would install'
	check_eq "$L: spaces: temporary directory removed" "" "$(ls -A "tmp sp")"
	run "$SH" "$TMPDIR/s-all:$TMPDIR/base-bb" --bundle "$D/$name.tar.gz" --root "$R" --dry-run
	expect "$L: busybox tar, sha256sum, mktemp...: air-gapped --dry-run succeeds" 0 'would install'

	# ------------------------------------------------------------ online
	newroot "root-$L"
	run "$SH" "$TMPDIR/s-all:$P" --root "$R" --dry-run
	expect "$L: online with curl: --dry-run succeeds" 0 '^agentd-install: sha256 ok$'
	check_eq "$L: online: curl fetches the bundle and .sig with the flags of §18.5" \
		"curl -fsSL --proto =https --tlsv1.2 --connect-timeout 20 -o $TMPDIR/tmp/agentd-install.XXXXXX/$name.tar.gz $URL/$name.tar.gz
curl -fsSL --proto =https --tlsv1.2 --connect-timeout 20 -o $TMPDIR/tmp/agentd-install.XXXXXX/$name.sig $URL/$name.sig" \
		"$(sed 's|agentd-install\.[A-Za-z0-9]*|agentd-install.XXXXXX|' dl.log)"
	check "$L: online: source line is the URL" grep -qx "agentd-install: source $URL/$name.tar.gz" run.out
	check "$L: online: the downloaded .sig is passed on" grep -q -- "--signature $TMPDIR/tmp/agentd-install\.[A-Za-z0-9]*/$name.sig" run.out
	check_eq "$L: online --dry-run: the root stays empty" "" "$(ls -A "$R")"
	tmp_clean "$L: online"

	E=SHIM_GNU_WGET=1
	run "$SH" "$TMPDIR/s-wget:$TMPDIR/s-bb:$P" --root "$R" --dry-run
	expect "$L: online with GNU wget (no curl)" 0 'sha256 ok'
	check_eq "$L: GNU wget flags" "wget -q --https-only -O" "$(head -n 1 dl.log | cut -d' ' -f1-4)"
	run "$SH" "$TMPDIR/s-wget:$TMPDIR/s-bb:$P" --root "$R" --dry-run
	expect "$L: online with a non-GNU wget" 0 'sha256 ok'
	check_eq "$L: non-GNU wget flags" "wget -q -O" "$(head -n 1 dl.log | cut -d' ' -f1-3)"
	run "$SH" "$TMPDIR/s-bb:$P" --root "$R" --dry-run
	expect "$L: online with busybox wget (no curl, no wget)" 0 'sha256 ok'
	check_eq "$L: busybox wget flags" "busybox-wget -q -O" "$(head -n 1 dl.log | cut -d' ' -f1-3)"
	run "$SH" "$TMPDIR/s-bb:$TMPDIR/base-bb" --root "$R" --dry-run
	expect "$L: busybox tools and busybox wget: online --dry-run succeeds" 0 'would install'
	run "$SH" "$P" --root "$R" --dry-run
	expect "$L: online without any downloader: one error" 1 '^agentd-install: error: missing tools: curl\|wget\|busybox-wget;'

	E=SHIM_FAIL_TOOLS=curl
	run "$SH" "$TMPDIR/s-all:$P" --root "$R" --dry-run
	expect "$L: curl fails: wget is tried in the same attempt" 0 'sha256 ok'
	check_eq "$L: curl fails: calls" "curl wget curl wget" "$(cut -d' ' -f1 dl.log | tr '\n' ' ' | sed 's/ $//')"
	E=SHIM_FAIL_FIRST=2
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run
	expect "$L: two failed attempts, then success" 0 'sha256 ok'
	check_eq "$L: retries: 3 calls for the bundle, 1 for the .sig" "3 1" \
		"$(grep -c 'tar.gz$' dl.log) $(grep -c '\.sig$' dl.log)"
	check_eq "$L: retries: two warnings" 2 "$(grep -c 'warning: download of .* failed (attempt [12] of 5); retrying in [12]s' run.out)"

	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --platform linux-aarch64
	expect "$L: no bundle for the platform" 1 '^agentd-install: error: no bundle for linux-aarch64; available: linux-x86_64$'
	check_eq "$L: no bundle for the platform: nothing downloaded" "" "$(cat dl.log)"
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --platform ' macOS/ARM64 '
	expect "$L: --platform is normalised (§1.2: ' macOS/ARM64 ')" 1 'error: no bundle for darwin-aarch64; available'
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --platform 'Linux--AMD64-'
	expect "$L: --platform 'Linux--AMD64-' selects linux-x86_64" 0 '^agentd-install: platform linux-x86_64$'
	check "$L: --platform is passed to agent-install normalised" grep -q 'running .* --platform linux-x86_64 ' run.out
	SCRIPT=$TMPDIR/multi.sh
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run
	expect "$L: two-row table: the host's row is used" 0 "^agentd-install: bundle $name\$"
	SCRIPT=$TMPDIR/multi.sh
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --platform linux-riscv64
	expect "$L: two-row table: the error lists both platforms" 1 \
		'^agentd-install: error: no bundle for linux-riscv64; available: linux-aarch64, linux-x86_64$'
	SCRIPT=$TMPDIR/nobase.sh
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run
	expect "$L: no base URL" 1 '^agentd-install: error: no base URL; pass --base-url$'
	SCRIPT=$TMPDIR/nobase.sh
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --base-url https://m2.invalid/x/
	expect "$L: --base-url supplies it" 0 'sha256 ok'
	unset SCRIPT
	check "$L: --base-url: downloads from the mirror" grep -q "https://m2.invalid/x/$name.tar.gz\$" dl.log
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --base-url https://m3.invalid --channel stable
	expect "$L: --channel NAME: AGENTD_CHANNEL_URL under the base URL" 0 \
		'running .* --set AGENTD_CHANNEL_URL=https://m3\.invalid/channels/stable\.json$'
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --channel https://c.invalid/ch/beta.json --set A=1 --set B=x
	expect "$L: --channel URL used as is, --set passed in order" 0 \
		'running .* --set A=1 --set B=x --set AGENTD_CHANNEL_URL=https://c\.invalid/ch/beta\.json$'
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run --channel none --service runit --no-start
	expect "$L: --channel none: no channel; --service and --no-start passed" 0 \
		"running .* --root $R --service runit --no-start --dry-run\$"
	: >dl.log
	newroot "root-$L"
	env PATH="$TMPDIR/s-curl:$P" TMPDIR="$TMPDIR/tmp" $SH -s -- --root "$R" --dry-run <"$D/install.sh" >run.out 2>&1
	rc=$?
	expect "$L: piped through stdin (sh -s -- OPTIONS)" 0 'sha256 ok'
	E=SHIM_FAIL_TOOLS=curl
	run "$SH" "$TMPDIR/s-curl:$P" --root "$R" --dry-run
	expect "$L: every attempt fails: error after 5 attempts" 1 "^agentd-install: error: cannot download $URL/$name.tar.gz \\(tried: curl\\)\$"
	check_eq "$L: every attempt fails: 5 calls" 5 "$(wc -l <dl.log)"
	check_eq "$L: every attempt fails: the root stays empty" "" "$(ls -A "$R")"
	tmp_clean "$L: failed download"

	# ------------------------------------------------------------ truncation
	size=$(wc -c <"$D/install.sh")
	: >dl.log
	bad_cuts=''
	cut_=0
	while [ "$cut_" -lt $((size - 1)) ]; do
		head -c "$cut_" "$D/install.sh" >trunc.sh
		env PATH="$TMPDIR/s-all:$P" TMPDIR="$TMPDIR/tmp" $SH trunc.sh --version >trunc.out 2>&1 </dev/null
		if grep -q 'agentd-install' trunc.out || [ -n "$(ls -A tmp)" ] || [ -s dl.log ]; then
			bad_cuts="$bad_cuts $cut_"
		fi
		if [ "$cut_" -lt $((size - 48)) ]; then cut_=$((cut_ + 331)); else cut_=$((cut_ + 1)); fi
	done
	check_eq "$L: a truncated copy executes nothing (every 331st cut, every cut in the last 48 bytes)" "" "$bad_cuts"
done

# ---------------------------------------------------------------- real HTTPS on loopback
srv_pid=''
ns=''
cleanup() {
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null
	[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
if command -v openssl >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj /CN=agentd-test-ca >/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
		-out srv.csr -subj /CN=127.0.0.1 >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
		-days 2 -extfile srv.ext >/dev/null 2>&1
	port=$((20000 + $$ % 20000))
	(cd "$D" && exec openssl s_server -accept "127.0.0.1:$port" -WWW -cert "$TMPDIR/srv.pem" \
		-key "$TMPDIR/srv.key" -quiet) >srv.log 2>&1 &
	srv_pid=$!
	up=''
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if curl -fsS --cacert ca.pem -o /dev/null "https://127.0.0.1:$port/release.pub" 2>/dev/null; then
			up=1
			break
		fi
		sleep 0.3
	done
	printf 'ca_certificate=%s\n' "$TMPDIR/ca.pem" >wgetrc
	mkbase real-curl curl
	mkbase real-wget wget
	for SH in "$DASH" "$BUSYBOX sh"; do
		case $SH in *busybox*) L=busybox ;; *) L=dash ;; esac
		R=$TMPDIR/root-$L
		newroot "root-$L"
		if [ -z "$up" ]; then
			skip "$L: real HTTPS with curl" "openssl s_server did not come up on 127.0.0.1:$port"
			continue
		fi
		E=CURL_CA_BUNDLE=$TMPDIR/ca.pem
		run "$SH" "$TMPDIR/real-curl:$TMPDIR/base" --root "$R" --dry-run \
			--base-url "https://127.0.0.1:$port"
		expect "$L: real HTTPS on loopback with curl" 0 'sha256 ok'
		if command -v wget >/dev/null 2>&1 && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
			E=WGETRC=$TMPDIR/wgetrc
			run "$SH" "$TMPDIR/real-wget:$TMPDIR/base" --root "$R" --dry-run \
				--base-url "https://127.0.0.1:$port"
			expect "$L: real HTTPS on loopback with GNU wget" 0 'sha256 ok'
		else
			skip "$L: real HTTPS on loopback with GNU wget" "GNU wget not installed"
		fi
		# 5 attempts with waits of 15 s in all: once, under dash
		if [ "$L" = dash ]; then
			run "$SH" "$TMPDIR/real-curl:$TMPDIR/base" --root "$R" --dry-run --base-url "https://127.0.0.1:$port"
			expect "$L: real HTTPS: an untrusted certificate is refused (checks never disabled)" 1 \
				"error: cannot download https://127.0.0.1:$port/$name.tar.gz"
		fi
		check_eq "$L: real HTTPS: the root stays empty" "" "$(ls -A "$R")"
	done
else
	skip "real HTTPS on loopback" "openssl or curl not installed"
fi

# ---------------------------------------------------------------- root only
if [ "$(id -u)" -ne 0 ]; then
	skip "noexec fallback to /var/tmp" "needs root (mount namespace)"
	skip "air-gapped install in a network namespace" "needs root"
	done_testing
	exit
fi

# noexec: TMPDIR on a noexec tmpfs in a private mount namespace
if command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
	mkdir -p noexec
	for SH in "$DASH" "$BUSYBOX sh"; do
		case $SH in *busybox*) L=busybox ;; *) L=dash ;; esac
		R=$TMPDIR/root-$L
		newroot "root-$L"
		# shellcheck disable=SC2086
		unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs -o noexec,size=8m tmpfs "$1" && shift && exec "$@"' \
			sh "$TMPDIR/noexec" env PATH="$TMPDIR/s-all:$TMPDIR/base" TMPDIR="$TMPDIR/noexec" \
			$SH "$D/install.sh" --bundle "$D/$name.tar.gz" --root "$R" --dry-run >run.out 2>&1 </dev/null
		rc=$?
		expect "$L: noexec TMPDIR: falls back to /var/tmp" 0 \
			"^agentd-install: warning: cannot execute from $TMPDIR/noexec; trying /var/tmp\$"
		check "$L: noexec TMPDIR: then succeeds" grep -q 'would install' run.out
		check_eq "$L: noexec fallback: nothing left in /var/tmp" "" "$(ls -d /var/tmp/agentd-install.* 2>/dev/null)"
	done
else
	skip "noexec fallback to /var/tmp" "unshare -m not permitted here"
fi

# air-gapped inside a network namespace with only a down loopback
(need_root_netns) >need.out 2>&1
if [ $? -ne 0 ]; then
	skip "air-gapped install in a network namespace" "$(cat need.out)"
	done_testing
	exit
fi
ns=agtinst$$
ip netns add "$ns"
check_eq "netns: the only interface is a loopback that is down" "lo DOWN" \
	"$(ip -n "$ns" -o link show | sed -n 's/^[0-9]*: \([^:@]*\).*state \([A-Z]*\).*/\1 \2/p' | tr '\n' ' ' | sed 's/ $//')"
: >forbid
: >forbidden.log
for SH in "$DASH" "$BUSYBOX sh"; do
	case $SH in *busybox*) L=busybox ;; *) L=dash ;; esac
	R=$TMPDIR/root-$L
	newroot "root-$L"
	if [ -n "$full_install" ]; then mode='--no-start'; else mode='--dry-run'; fi
	# shellcheck disable=SC2086
	ip netns exec "$ns" env PATH="$TMPDIR/s-all:/usr/sbin:/usr/bin:/sbin:/bin" TMPDIR="$TMPDIR/tmp" \
		$SH "$D/install.sh" --bundle "$D/$name.tar.gz" --root "$R" $mode >run.out 2>&1 </dev/null
	rc=$?
	if [ -n "$full_install" ]; then
		expect "$L: netns, no network: sh install.sh --bundle FILE installs" 0 "^installed $V "
		check "$L: netns: current is complete" test -x "$R/opt/agentd/current/bin/agentd"
	else
		expect "$L: netns, no network: sh install.sh --bundle FILE --dry-run succeeds" 0 'would install'
		skip "$L: netns, no network: full install" "$no_full"
	fi
	check_eq "$L: netns: no downloader was invoked" "" "$(cat forbidden.log)"
done
done_testing
