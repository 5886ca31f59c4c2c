#!/bin/sh
# agent-install install into a temporary root from bundles built by
# agent-bundle build (spec bundle-install-update.md §5, §7, §9, §10, §24.3):
# layout, modes, relative links, runtime.env from the template plus defaults,
# summary, idempotency (no file rewritten), --set, owned keys refused,
# --dry-run writes nothing, refused bundles change nothing, self-test failure,
# a second release becomes current with `previous`, rollback, uninstall.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

AI="$AGENT_BIN/agent-install"
B="$AGENT_BIN/agent-bundle"
SDE=1772366400
[ -x "$AI" ] && [ -x "$B" ] || skip_all "agent-install or agent-bundle not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
[ -x "$AGENT_BIN/agentd" ] || skip_all "agentd not built"
# The bundles carry the real agentd (its self-test runs at install), except
# the one release that must fail its self-test: a deliberately broken
# static stand-in built here with the project's compiler (the bundle rules
# want an ELF bin/agentd).
CC=${MUSL_GCC:-musl-gcc}
command -v "$CC" >/dev/null 2>&1 || skip_all "$CC not installed (needed for the broken stand-in)"

unset AGENTD_ROOT
cat >fake.c <<'EOF'
#include <string.h>
int main(int argc, char **argv)
{
	/* a self-test that always fails */
	if (argc > 1 && strcmp(argv[1], "self-test") == 0)
		return FAKE_SELF_TEST_STATUS;
	return 2;
}
EOF
"$CC" -static -O2 -DFAKE_SELF_TEST_STATUS=1 -o agentd-bad fake.c || skip_all "cannot build the agentd stand-in"

make_inputs() {
	mkdir -p "$1/bin" "$1/env" "$1/runit/agentd" "$1/runit/agentd-remote-update" "$1/systemd"
	cp "$2" "$1/bin/agentd"
	cp "$AI" "$1/bin/agent-install"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s\n' "$f" >"$1/$f"
	done
	printf '# runtime.env template %s\n# SCANNER_DEFAULT_RATE=\nAGENT_REMOTE_UPDATE_ENABLED=\n' "$3" \
		>"$1/env/runtime.env.template"
	for f in systemd/agentd.service systemd/agentd-remote-update.path \
		systemd/agentd-remote-update.service; do
		printf '# %s %s\n' "$f" "$3" >"$1/$f"
	done
}

openssl ecparam -genkey -name prime256v1 -noout -out k.pem 2>/dev/null
openssl ec -in k.pem -pubout -out k.pub 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out other.pem 2>/dev/null
openssl ec -in other.pem -pubout -out other.pub 2>/dev/null
mkdir out
make_inputs in1 "$AGENT_BIN/agentd" 1.4.0
printf 'SITE_KEY=fleet\nAGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=300\n' >site.env
N1=$("$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in1 --out out \
	--source-date-epoch $SDE --sign k.pem --site-env site.env) || skip_all "agent-bundle build failed"
make_inputs in2 "$AGENT_BIN/agentd" 1.5.0
N2=$("$B" build --version 1.5.0 --platform linux-x86_64 --input-dir in2 --out out \
	--source-date-epoch $SDE --sign k.pem)
make_inputs in3 agentd-bad 1.6.0
N3=$("$B" build --version 1.6.0 --platform linux-x86_64 --input-dir in3 --out out \
	--source-date-epoch $SDE --sign k.pem)
F1=$(printf %s "$N1" | sed 's/.*-//')
F2=$(printf %s "$N2" | sed 's/.*-//')
F3=$(printf %s "$N3" | sed 's/.*-//')

R="$TMPDIR/root"
mkdir "$R"
empty_root() { [ -z "$(ls -A "$1")" ]; }

# ---- refusals change nothing -----------------------------------------------------

"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --service none --set AGENT_BUNDLE_NAME=x >e.out 2>&1
check_eq "--set of an installer-owned key is a usage error" 2 "$?"
"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --set 1BAD=x >e.out 2>&1
check_eq "--set of an invalid key is a usage error" 2 "$?"
"$AI" install --root "$R" >e.out 2>&1
check_eq "no --bundle is a usage error" 2 "$?"
check "usage errors wrote nothing" empty_root "$R"

"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --pubkey k.pub --dry-run >dry.out 2>&1
check_eq "--dry-run exits 0" 0 "$?"
check "--dry-run prints the plan" grep -q "^would install 1.4.0 ($F1) from $N1\$" dry.out
check "--dry-run writes nothing under the root" empty_root "$R"

"$AI" install --bundle "out/$N1.tar.gz" --root "$R" >e.out 2>&1
check_eq "no trusted key: refused" 1 "$?"
check "... with the verify code" grep -q 'verify failed \[no-trusted-key\]' e.out
"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --pubkey other.pub >e.out 2>&1
check "wrong key: signature-invalid" grep -q 'verify failed \[signature-invalid\]' e.out
"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --pubkey k.pub --sha256 \
	0000000000000000000000000000000000000000000000000000000000000000 >e.out 2>&1
check "wrong --sha256: sha256-mismatch" grep -q 'verify failed \[sha256-mismatch\]' e.out
check_fails "no release unpacked by refused installs" sh -c "ls '$R/opt/agentd/releases/' | grep -q '[0-9a-f]'"
check_fails "no current link after refusals" test -e "$R/opt/agentd/current"
check_fails "no runtime.env after refusals" test -e "$R/etc/agentd/runtime.env"
check_fails "refused installs leave .incoming empty" sh -c "ls -A '$R/opt/agentd/releases/.incoming' | grep -q ."

# ---- first install ---------------------------------------------------------------

"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --pubkey k.pub --service none --no-start \
	--set SCANNER_DEFAULT_RATE=1000 >i1.out 2>i1.err
check_eq "install exits 0" 0 "$?"
check "summary names the release" grep -q "^installed 1.4.0 ($F1) from $N1\$" i1.out
check "summary names the key" grep -q "^signature verified with key $("$B" key id k.pub)\$" i1.out
check_eq "current is a relative link to the release" "releases/$F1" "$(readlink "$R/opt/agentd/current")"
for f in agentd agent-install tune-scanner-host.sh reserve-control-bandwidth.sh; do
	check_eq "bin/$f links through current" "../current/bin/$f" "$(readlink "$R/opt/agentd/bin/$f")"
done
check_fails "no scanner link (the release has none)" test -e "$R/opt/agentd/bin/scanner"
check_eq "release directory mode" 755 "$(stat -c %a "$R/opt/agentd/releases/$F1")"
check_eq "binary mode from MANIFEST" 755 "$(stat -c %a "$R/opt/agentd/releases/$F1/bin/agentd")"
check_eq "unit mode from MANIFEST" 644 "$(stat -c %a "$R/opt/agentd/releases/$F1/systemd/agentd.service")"
check_eq "/etc/agentd mode" 750 "$(stat -c %a "$R/etc/agentd")"
check_eq "/var/lib/agentd mode" 750 "$(stat -c %a "$R/var/lib/agentd")"
check_eq "/etc keeps the usual mode" 755 "$(stat -c %a "$R/etc")"
check_eq ".incoming mode" 700 "$(stat -c %a "$R/opt/agentd/releases/.incoming")"
check "release files match the bundle (GNU tar + cmp)" sh -c \
	"mkdir x && tar -xzf 'out/$N1.tar.gz' -C x && diff -r 'x/$N1' '$R/opt/agentd/releases/$F1'"
check "release passes status --verify" "$AI" status --root "$R" --verify
check "runtime.env starts from the template" grep -q '^# runtime.env template 1.4.0$' "$R/etc/agentd/runtime.env"
check "--set written" grep -qx 'SCANNER_DEFAULT_RATE=1000' "$R/etc/agentd/runtime.env"
check "owned key written" grep -qx "AGENT_BUNDLE_NAME=$N1" "$R/etc/agentd/runtime.env"
check "empty template key filled by a default" grep -qx 'AGENT_REMOTE_UPDATE_ENABLED=true' "$R/etc/agentd/runtime.env"
check "site default written" grep -qx 'SITE_KEY=fleet' "$R/etc/agentd/runtime.env"
check "site default beats the computed default" \
	grep -qx 'AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=300' "$R/etc/agentd/runtime.env"
check "comment before appended defaults" grep -qx '# added by agent-install 1.4.0' "$R/etc/agentd/runtime.env"
check "no scanner keys without a scanner" sh -c "! grep -q '^SCANNER_BIN=' '$R/etc/agentd/runtime.env'"
check_eq "runtime.env mode" 640 "$(stat -c %a "$R/etc/agentd/runtime.env")"
check "template copy" cmp "$R/etc/agentd/runtime.env.template" "in1/env/runtime.env.template"
check "site env copy (runtime.env.bundle)" cmp "$R/etc/agentd/runtime.env.bundle" site.env
check "trusted.pem from --pubkey" cmp "$R/etc/agentd/trusted.pem" k.pub
check "installed.json records the install" sh -c \
	"grep -q '\"version\": \"1.4.0\",' '$R/opt/agentd/installed.json' && grep -q '\"service\": \"none\",' '$R/opt/agentd/installed.json' && grep -q '\"previous\": null,' '$R/opt/agentd/installed.json'"
check "published installed.json identical" cmp "$R/opt/agentd/installed.json" "$R/var/lib/agentd/installed.json"
check_fails "journal removed" test -e "$R/opt/agentd/.transaction.json"
check_fails ".incoming emptied" sh -c "ls -A '$R/opt/agentd/releases/.incoming' | grep -q ."

# ---- the same install again rewrites nothing -----------------------------------------

find "$R" -type f -printf '%p %T@ %i\n' | sort >before.lst
sleep 1
"$AI" install --bundle "out/$N1.tar.gz" --root "$R" --service none --no-start \
	--set SCANNER_DEFAULT_RATE=1000 >i2.out 2>&1
check_eq "second identical install exits 0" 0 "$?"
check "it says already installed" grep -qx "already installed 1.4.0 ($F1)" i2.out
find "$R" -type f -printf '%p %T@ %i\n' | sort >after.lst
check "no file rewritten (mtimes and inodes)" cmp before.lst after.lst

# ---- a second release ------------------------------------------------------------------

"$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none >i3.out 2>&1
check_eq "install of 1.5.0 exits 0" 0 "$?"
check "summary names the previous release" grep -qx "previous  1.4.0 ($F1)" i3.out
check_eq "current is 1.5.0" "releases/$F2" "$(readlink "$R/opt/agentd/current")"
check "owned key changed" grep -qx "AGENT_BUNDLE_NAME=$N2" "$R/etc/agentd/runtime.env"
check "operator value kept" grep -qx 'SCANNER_DEFAULT_RATE=1000' "$R/etc/agentd/runtime.env"
check_fails "site env copy removed (1.5.0 has none)" test -e "$R/etc/agentd/runtime.env.bundle"
check "1.4.0 kept as previous" test -d "$R/opt/agentd/releases/$F1"

# ---- self-test failure: nothing switched, the new release removed ------------------------

"$AI" install --bundle "out/$N3.tar.gz" --root "$R" --service none >i4.out 2>&1
check_eq "failing self-test exits 1" 1 "$?"
check "message names the self-test" grep -q 'self-test of .* failed: self-test exited with status 1' i4.out
check_eq "current unchanged" "releases/$F2" "$(readlink "$R/opt/agentd/current")"
check_fails "failed release removed" test -e "$R/opt/agentd/releases/$F3"
check_fails "no journal left" test -e "$R/opt/agentd/.transaction.json"

# ---- host facts with --host-probes and a fixture probe root (§9.5, §9.6, §24.2) --------

R2="$TMPDIR/root2"
P="$TMPDIR/probe"
mkdir -p "$R2/usr/bin" "$P/proc/net"
printf '#!/bin/sh\nexit 0\n' >"$R2/usr/bin/scanner"
chmod 755 "$R2/usr/bin/scanner"
printf 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n' >"$P/proc/net/route"
printf 'ens5\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n' >>"$P/proc/net/route"
AGENT_INSTALL_PROBE_ROOT="$P" "$AI" install --bundle "out/$N2.tar.gz" --root "$R2" \
	--pubkey k.pub --host-probes >hp.out 2>&1
check_eq "install with --host-probes exits 0" 0 "$?"
check "scanner found at /usr/bin/scanner under the root" grep -qx 'SCANNER_BIN=/usr/bin/scanner' "$R2/etc/agentd/runtime.env"
check "sender threads from the CPU count" grep -q '^SCANNER_SENDER_THREADS=[1-9][0-9]*$' "$R2/etc/agentd/runtime.env"
check "default interface from the fixture route table" grep -qx 'SCANNER_INTERFACE=ens5' "$R2/etc/agentd/runtime.env"
check "managed interfaces for the reservation" grep -qx 'ANYSCAN_RESERVE_INTERFACES=ens5' "$R2/etc/agentd/runtime.env"
check "managed interfaces for tuning" grep -qx 'ANYSCAN_TUNE_INTERFACES=ens5' "$R2/etc/agentd/runtime.env"
check "without --host-probes no host facts" sh -c "! grep -q '^SCANNER_INTERFACE=' '$R/etc/agentd/runtime.env'"
check "probe keys written" grep -qx 'ANYSCAN_AF_XDP_AVAILABLE=false' "$R2/etc/agentd/runtime.env"
check "probe line with its reason" grep -qx 'probe   ANYSCAN_DPDK_AVAILABLE=false (scanner does not link librte_eal)' hp.out
check "no probe keys without --host-probes" sh -c "! grep -q '^ANYSCAN_AF_XDP_AVAILABLE=' '$R/etc/agentd/runtime.env'"
"$AI" install --bundle "out/$N2.tar.gz" --root "$R2" --host-probes --set ANYSCAN_DPDK_AVAILABLE=true >e.out 2>&1
check_eq "--set of a probe key while probes run is a usage error" 2 "$?"
check "... naming AGENT_INSTALL_PROBES=false" grep -q 'AGENT_INSTALL_PROBES=false' e.out
# a fixture kernel and ldcache: AF_XDP becomes available
mkdir -p "$P/proc/sys/kernel" fakebin
echo 6.1.0-18-amd64 >"$P/proc/sys/kernel/osrelease"
printf '#!/bin/sh\nprintf "\\tlibxdp.so.1 (libc6,x86-64) => /lib/libxdp.so.1\\n"\n' >fakebin/ldconfig
chmod 755 fakebin/ldconfig
PATH="$TMPDIR/fakebin:$PATH" AGENT_INSTALL_PROBE_ROOT="$P" "$AI" install --bundle "out/$N2.tar.gz" \
	--root "$R2" --host-probes >hp2.out 2>&1
check_eq "re-install with probes exits 0" 0 "$?"
check "AF_XDP probe true from the fixtures" grep -qx 'ANYSCAN_AF_XDP_AVAILABLE=true' "$R2/etc/agentd/runtime.env"
check "summary shows the change" grep -q '^changed ANYSCAN_AF_XDP_AVAILABLE=true (was false)$' hp2.out
"$AI" env upsert "$R2/etc/agentd/runtime.env" AGENT_INSTALL_PROBES=false ANYSCAN_DPDK_AVAILABLE=true >/dev/null
AGENT_INSTALL_PROBE_ROOT="$P" "$AI" install --bundle "out/$N2.tar.gz" --root "$R2" --host-probes >hp3.out 2>&1
check "pinned probe keys are left alone" grep -qx 'ANYSCAN_DPDK_AVAILABLE=true' "$R2/etc/agentd/runtime.env"
check "pinned probes still print their result" grep -q 'not written: AGENT_INSTALL_PROBES=false' hp3.out

# ---- ownership from the root's own passwd and group files (§7.3) -----------------------

R3="$TMPDIR/root3"
mkdir -p "$R3/etc"
echo 'agentd:x:4242:4343::/var/lib/agentd:/usr/sbin/nologin' >"$R3/etc/passwd"
echo 'agentd:x:4343:' >"$R3/etc/group"
if [ "$(id -u)" -eq 0 ]; then
	check "install into a root with an agentd user" "$AI" install --bundle "out/$N1.tar.gz" \
		--root "$R3" --pubkey k.pub --service none
	check_eq "/etc/agentd is root:agentd" 0:4343 "$(stat -c %u:%g "$R3/etc/agentd")"
	check_eq "/var/lib/agentd is agentd:agentd" 4242:4343 "$(stat -c %u:%g "$R3/var/lib/agentd")"
	check_eq "template copy is root:agentd" 0:4343 "$(stat -c %u:%g "$R3/etc/agentd/runtime.env.template")"
else
	skip "ownership from the root's passwd" "needs root to chown"
fi

# ---- rollback with backend none, then uninstall ----------------------------------------------

"$AI" rollback --root "$R" >rb.out 2>&1
check_eq "rollback exits 0" 0 "$?"
check "backend none: switched, not restarted" grep -qx 'switched; not restarted (service backend none)' rb.out
check_eq "current is 1.4.0 again" "releases/$F1" "$(readlink "$R/opt/agentd/current")"
check "uninstall" "$AI" uninstall --root "$R"
check_fails "/opt/agentd gone" test -e "$R/opt/agentd"
check "runtime.env kept" test -f "$R/etc/agentd/runtime.env"
check "uninstall --purge" "$AI" uninstall --root "$R" --purge
check_fails "/etc/agentd gone" test -e "$R/etc/agentd"

done_testing
