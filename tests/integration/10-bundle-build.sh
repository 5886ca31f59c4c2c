#!/bin/sh
# agent-bundle build: reproducibility (§3), GNU tar / sha256sum / openssl
# interoperability (§1.5, §4.1), input audit (§6.1) and key commands (§6.5).
. "$AGENT_SRC/tests/integration/lib/tap.sh"

B=$AGENT_BIN/agent-bundle
SDE=1772366400
[ -x "$B" ] || skip_all "agent-bundle not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"

# make_inputs DIR: an input tree with the real static programs and small files
make_inputs() {
	mkdir -p "$1/bin" "$1/env" "$1/runit/agentd" "$1/runit/agentd-remote-update" "$1/systemd"
	cp "$AGENT_BIN/agentd" "$AGENT_BIN/agent-install" "$1/bin/"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s\n' "$f" >"$1/$f"
	done
	for f in env/runtime.env.template systemd/agentd.service \
		systemd/agentd-remote-update.path systemd/agentd-remote-update.service; do
		printf '# %s\n' "$f" >"$1/$f"
	done
}

mkdir -p in1 out1 out2 work1 work2
make_inputs in1
printf 'AGENT_SITE=example\n# comment\n' >site.env

# build 1: umask 022, UTC, C locale, cwd work1
(cd work1 && umask 022 && TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=$SDE \
	"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir ../in1 \
	--out ../out1 --site-env ../site.env --sign ../k1.pem >../name1 2>../err1) 2>/dev/null
# k1.pem does not exist yet: the build above must fail, then make the key
check_fails "build refuses a missing signing key" test -s name1
openssl ecparam -genkey -name prime256v1 -noout -out k1.pem 2>/dev/null
openssl ec -in k1.pem -pubout -out k1.pub 2>/dev/null
chmod 600 k1.pem
(cd work1 && umask 022 && TZ=UTC LC_ALL=C SOURCE_DATE_EPOCH=$SDE \
	"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir ../in1 \
	--out ../out1 --site-env ../site.env --sign ../k1.pem >../name1 2>../err1)
check_eq "build 1 exits 0" 0 $?
name=$(cat name1)
case $name in
agent-bundle-linux-x86_64__20260301120000-1.4.0-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
	ok "build prints the bundle name ($name)" ;;
*) not_ok "build prints the bundle name (got '$name')" ;;
esac

# build 2: another copy of the inputs (other creation order, other mtimes),
# umask 077, another TZ and locale, another cwd, a later wall-clock second
mkdir -p in2/systemd in2/runit/agentd-remote-update in2/runit/agentd in2/env in2/bin
for f in systemd/agentd.service systemd/agentd-remote-update.service \
	systemd/agentd-remote-update.path runit/agentd/run runit/agentd-remote-update/run \
	install.sh env/runtime.env.template bin/tune-scanner-host.sh \
	bin/reserve-control-bandwidth.sh bin/agentd bin/agent-install; do
	cat "in1/$f" >"in2/$f"
done
chmod 600 in2/bin/agentd in2/install.sh
touch -d '2001-02-03 04:05:06' in2/bin/agent-install in2/systemd/agentd.service
cp site.env site2.env
cp k1.pem k1copy.pem
sleep 1
(cd work2 && umask 077 && TZ='XYZ-13:45' LC_ALL=C.UTF-8 LANG=C.UTF-8 \
	"$B" build --version 1.4.0 --platform ' Linux/AMD64 ' --input-dir "$TMPDIR/in2" \
	--out "$TMPDIR/out2" --site-env ../site2.env --sign ../k1copy.pem \
	--source-date-epoch $SDE >../name2 2>../err2)
check_eq "build 2 exits 0" 0 $?
check_eq "same name from both builds" "$name" "$(cat name2)"
for ext in tar.gz sha256 sig; do
	check "the .$ext files are byte-identical (cmp)" cmp "out1/$name.$ext" "out2/$name.$ext"
done
check_eq "output mode 0644 despite umask 077" "-rw-r--r--" \
	"$(ls -l "out2/$name.tar.gz" | cut -c1-10)"

# a 64-byte version makes paths that need pax extended headers: still reproducible
long=1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
mkdir -p outl1 outl2
nl1=$(cd work1 && umask 022 && TZ=UTC "$B" build --version $long --platform linux-x86_64 \
	--input-dir ../in1 --out ../outl1 --source-date-epoch 1 2>/dev/null)
nl2=$(cd work2 && umask 077 && TZ=XYZ-5 LC_ALL=C.UTF-8 "$B" build --version $long \
	--platform linux-x86_64 --input-dir ../in2 --out ../outl2 --source-date-epoch 1 2>/dev/null)
check "long names: byte-identical builds" cmp "outl1/$nl1.tar.gz" "outl2/$nl2.tar.gz"
check "long names: GNU tar lists the bundle" sh -c "tar -tzf 'outl1/$nl1.tar.gz' | grep -q '$nl1/runit/agentd-remote-update/run\$'"
check "long names: agent-bundle verify accepts it" "$B" verify "outl1/$nl1.tar.gz" --insecure-no-signature

# gzip header: magic, deflate, no flags, MTIME 0, XFL 2, OS 3
check_eq "gzip header bytes (MTIME zero, no name)" "1f 8b 08 00 00 00 00 00 02 03" \
	"$(od -An -tx1 -N10 "out1/$name.tar.gz" | tr -s ' ' | sed 's/^ //; s/ $//')"

# GNU tar lists: root/root, modes, mtime SDE, order of §3
TZ=UTC tar --numeric-owner --full-time -tvzf "out1/$name.tar.gz" >listing.num 2>&1
TZ=UTC tar --full-time -tvzf "out1/$name.tar.gz" >listing 2>&1
check_eq "GNU tar lists the bundle" 0 $?
check_eq "every entry is root/root" "" "$(grep -v ' root/root ' listing)"
check_eq "every entry is uid/gid 0/0" "" "$(grep -v ' 0/0 ' listing.num)"
check_eq "every mtime is the SDE" "" "$(grep -v ' 2026-03-01 12:00:00 ' listing)"
cat >order.want <<EOF2
drwxr-xr-x $name/
-rw-r--r-- $name/MANIFEST
drwxr-xr-x $name/bin/
-rwxr-xr-x $name/bin/agent-install
-rwxr-xr-x $name/bin/agentd
-rwxr-xr-x $name/bin/reserve-control-bandwidth.sh
-rwxr-xr-x $name/bin/tune-scanner-host.sh
drwxr-xr-x $name/env/
-rw-r--r-- $name/env/runtime.env
-rw-r--r-- $name/env/runtime.env.template
-rwxr-xr-x $name/install.sh
drwxr-xr-x $name/runit/
drwxr-xr-x $name/runit/agentd-remote-update/
-rwxr-xr-x $name/runit/agentd-remote-update/run
drwxr-xr-x $name/runit/agentd/
-rwxr-xr-x $name/runit/agentd/run
drwxr-xr-x $name/systemd/
-rw-r--r-- $name/systemd/agentd-remote-update.path
-rw-r--r-- $name/systemd/agentd-remote-update.service
-rw-r--r-- $name/systemd/agentd.service
EOF2
awk '{print $1, $6}' listing >order.got
check "entry order, types and modes per §3" diff order.want order.got

# GNU tar extracts; the files are the inputs
mkdir x && tar -xzf "out1/$name.tar.gz" -C x
check_eq "GNU tar extracts the bundle" 0 $?
check "extracted agentd equals the input" cmp in1/bin/agentd "x/$name/bin/agentd"
check "extracted site env equals --site-env" cmp site.env "x/$name/env/runtime.env"
check_eq "extracted install.sh is 0755" "-rwxr-xr-x" "$(ls -l "x/$name/install.sh" | cut -c1-10)"
fp=$(sha256sum "x/$name/MANIFEST" | cut -c1-64)
check_eq "fp12 of the name is the MANIFEST's sha256" "${name##*-}" "$(echo "$fp" | cut -c1-12)"
check_eq "MANIFEST header" "format 1
version 1.4.0
platform linux-x86_64
source_date_epoch $SDE" "$(head -n 4 "x/$name/MANIFEST")"
(cd "x/$name" && tail -n +5 MANIFEST | awk '{print $1 "  " $4}' >../../m.sums)
check "sha256sum -c accepts the MANIFEST hashes" sh -c "cd 'x/$name' && sha256sum -c ../../m.sums"

# .sha256 and signature interoperability
check "sha256sum -c accepts the .sha256" sh -c "cd out1 && sha256sum -c '$name.sha256'"
check_eq ".sha256 is one line" 1 "$(wc -l <"out1/$name.sha256" | tr -d ' ')"
check "openssl verifies the build signature" openssl dgst -sha256 -verify k1.pub \
	-signature "out1/$name.sig" "out1/$name.tar.gz"
sz=$(wc -c <"out1/$name.sig" | tr -d ' ')
if [ "$sz" -ge 8 ] && [ "$sz" -le 72 ]; then ok "signature is $sz bytes of DER"; else not_ok "signature size $sz"; fi
check "agent-bundle verify accepts its own signature" "$B" verify "out1/$name.tar.gz" --pubkey k1.pub
openssl dgst -sha256 -sign k1.pem -out ossl.sig "out1/$name.tar.gz"
check "agent-bundle verify accepts an openssl-made signature" \
	"$B" verify "out1/$name.tar.gz" --pubkey k1.pub --signature ossl.sig
"$B" sign --key k1.pem "out1/$name.tar.gz" --out again.sig
check "agent-bundle sign is deterministic (same bytes as build)" cmp again.sig "out1/$name.sig"
check "agent-bundle sign with the key made by openssl ecparam verifies in openssl" \
	openssl dgst -sha256 -verify k1.pub -signature again.sig "out1/$name.tar.gz"

# PKCS#8 keys: made by openssl genpkey, and by agent-bundle key generate
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k2.pem 2>/dev/null
openssl pkey -in k2.pem -pubout -out k2.pub 2>/dev/null
"$B" sign --key k2.pem "out1/$name.tar.gz" --out k2.sig 2>/dev/null
check "PKCS#8 key from openssl genpkey signs, openssl verifies" \
	openssl dgst -sha256 -verify k2.pub -signature k2.sig "out1/$name.tar.gz"
check "generate a key" "$B" key generate gen.pem
check_eq "generated key is 0600" "-rw-------" "$(ls -l gen.pem | cut -c1-10)"
check_fails "key generate refuses to overwrite" "$B" key generate gen.pem
check "openssl reads the generated key (PKCS#8)" sh -c "openssl pkey -in gen.pem -noout && grep -q 'BEGIN PRIVATE KEY' gen.pem"
"$B" key public gen.pem >gen.pub
openssl pkey -in gen.pem -pubout -out gen.ossl.pub 2>/dev/null
check "key public matches openssl's public key" cmp gen.pub gen.ossl.pub
idp=$("$B" key id gen.pem); idq=$("$B" key id gen.pub)
want=$(openssl pkey -pubin -in gen.pub -outform DER 2>/dev/null | sha256sum | cut -c1-16)
check_eq "key id of private and public key agree" "$idp" "$idq"
check_eq "key id is sha256(DER SPKI)[0:16]" "$want" "$idp"
"$B" sign --key gen.pem "out1/$name.tar.gz" --out gen.sig
check "openssl verifies a generated-key signature" \
	openssl dgst -sha256 -verify gen.pub -signature gen.sig "out1/$name.tar.gz"
openssl ec -in k1.pem -aes128 -passout pass:x -out enc.pem 2>/dev/null
"$B" sign --key enc.pem "out1/$name.tar.gz" --out enc.sig 2>enc.err
check_eq "encrypted key refused (exit 1)" 1 $?
check "encrypted key message" grep -q 'encrypted private keys are not supported' enc.err
chmod 644 k1copy.pem
"$B" sign --key k1copy.pem "out1/$name.tar.gz" --out loose.sig 2>loose.err
check "group-readable key gets a warning" grep -q 'warning: .*readable by group or others' loose.err

# list
"$B" list "out1/$name.tar.gz" >list.out 2>list.err
check "list prints the MANIFEST" cmp list.out "x/$name/MANIFEST"
check "list says the signature is not checked" grep -q 'signature is not checked' list.err
check "list --dir shows the bundle with .sha256 and .sig" \
	sh -c "'$B' list --dir out1 | grep -q '^$name	linux-x86_64	20260301120000	1.4.0	${name##*-}	yes	yes\$'"
check "rules prints 13 rules" sh -c "[ \$('$B' rules | wc -l) -eq 13 ]"
check "rules line format" sh -c "'$B' rules | grep -qx 'bin/scanner 0755 optional'"

# ---- input audit and usage errors (§6.1, §3) ----
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in1 --out out1 2>sde.err
check_eq "missing SOURCE_DATE_EPOCH: exit 2" 2 $?
check "missing SOURCE_DATE_EPOCH message" grep -q 'SOURCE_DATE_EPOCH is required' sde.err
for bad in '' 01 -1 ' 1' 8589934592 1e3; do
	SOURCE_DATE_EPOCH=$bad "$B" build --version 1.4.0 --platform linux-x86_64 \
		--input-dir in1 --out out1 >/dev/null 2>&1
	check_eq "malformed SOURCE_DATE_EPOCH '$bad': exit 2" 2 $?
done
"$B" build --version 1.4 --platform linux-x86_64 --input-dir in1 --out out1 \
	--source-date-epoch 1 >/dev/null 2>&1
check_eq "invalid version: exit 2" 2 $?
"$B" build --version 1.4.0 --platform linux --input-dir in1 --out out1 \
	--source-date-epoch 1 >/dev/null 2>&1
check_eq "invalid platform: exit 2" 2 $?
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in1 --out out1 \
	--source-date-epoch 1 --file bin/evil=site.env >/dev/null 2>&1
check_eq "--file for a path without a rule: exit 2" 2 $?

mkdir in3 out3
make_inputs in3
rm in3/bin/agentd in3/install.sh
echo stray >in3/stray.txt
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in3 --out out3 \
	--source-date-epoch 1 >/dev/null 2>audit.err
check_eq "missing required inputs: exit 1" 1 $?
check "missing inputs listed together" \
	grep -q "missing required inputs: bin/agentd (looked for in3/bin/agentd), install.sh (looked for in3/install.sh)" audit.err
check "unused input warned" grep -q "warning: input not used by any rule: in3/stray.txt" audit.err
check_eq "nothing written on failure" "" "$(ls out3)"
make_inputs in3
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in3 --out out3 \
	--source-date-epoch 1 >/dev/null 2>warn.err
check_eq "unused input is only a warning: exit 0" 0 $?
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in3 --out out3 \
	--source-date-epoch 1 --strict >/dev/null 2>strict.err
check_eq "--strict makes unused inputs errors: exit 1" 1 $?
check "--strict message" grep -q "error: input not used by any rule: in3/stray.txt" strict.err
rm in3/stray.txt
printf 'echo no shebang\n' >in3/install.sh
dyn=
for c in /usr/bin/true /bin/true /usr/bin/env; do
	[ -f "$c" ] && { dyn=$c; break; }
done
[ -n "$dyn" ] && cp "$dyn" in3/bin/agent-install
printf 'AGENT_BUNDLE_NAME=x\n' >owned.env
"$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in3 --out out3 \
	--source-date-epoch 1 --site-env owned.env --file bin/scanner=site.env >/dev/null 2>bad.err
check_eq "bad inputs: exit 1" 1 $?
check "script without #!/bin/sh refused" grep -q "install.sh: .* does not start with '#!/bin/sh'" bad.err
if [ -n "$dyn" ] && grep -q 'ld-linux' "$dyn"; then
	check "dynamic agent-install refused" grep -q "bin/agent-install: .*dynamically linked" bad.err
else
	skip "dynamic agent-install refused" "no dynamically linked binary found"
fi
check "non-ELF scanner refused" grep -q "bin/scanner: .*not an ELF file" bad.err
check "installer-owned key in site env refused" grep -q "AGENT_BUNDLE_NAME is owned by the installer" bad.err
"$B" build --version 1.4.0 --platform linux-aarch64 --input-dir in1 --out out3 \
	--source-date-epoch 1 >/dev/null 2>mach.err
check "x86_64 binaries refused for linux-aarch64" grep -q "bin/agentd: .*another machine" mach.err

done_testing
