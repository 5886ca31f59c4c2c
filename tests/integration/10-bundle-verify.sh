#!/bin/sh
# agent-bundle verify against a tamper corpus made here (spec §5, §24.3): each
# damaged bundle is refused with its stable code, and verify writes nothing.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

B=$AGENT_BIN/agent-bundle
C=$AGENT_TOOLS/bundle_craft
SDE=1772366400
[ -x "$B" ] || skip_all "agent-bundle not built"
[ -x "$C" ] || skip_all "bundle_craft not built (make tools)"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"

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

make_inputs in
mkdir out
openssl ecparam -genkey -name prime256v1 -noout -out ka.pem 2>/dev/null
openssl ec -in ka.pem -pubout -out ka.pub 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out kb.pem 2>/dev/null
openssl ec -in kb.pem -pubout -out kb.pub 2>/dev/null
name=$("$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in --out out \
	--source-date-epoch $SDE --sign ka.pem)
good=out/$name.tar.gz
[ -f "$good" ] || skip_all "could not build a bundle"

check "the good bundle verifies" "$B" verify "$good" --pubkey ka.pub --platform linux-x86_64
"$B" verify "$good" --pubkey ka.pub >v.out
check "verify prints the key id" grep -q "^key_id $("$B" key id ka.pub)\$" v.out
check "verify prints the file count" grep -qx 'files 11' v.out
"$B" verify "$good" --pubkey ka.pub --json >v.json
check "verify --json" grep -q "^{\"name\": \"$name\", \"version\": \"1.4.0\", \"platform\": \"linux-x86_64\", \"fingerprint\": \"[0-9a-f]*\", \"key_id\": \"[0-9a-f]*\", \"files\": 11, \"bytes\": [0-9]*, \"signature\": \"verified\"}\$" v.json

# refused CASE CODE FILE [verify options]: exit 1, "verify failed [CODE]",
# and the directory holding FILE gains nothing
refused() {
	rdesc=$1 rcode=$2 rfile=$3
	shift 3
	rdir=$(dirname "$rfile")
	before=$(ls -a "$rdir" | wc -l)
	"$B" verify "$rfile" "$@" >r.out 2>r.err
	rc=$?
	after=$(ls -a "$rdir" | wc -l)
	if [ $rc -eq 1 ] && grep -q "^agent-bundle: error: verify failed \[$rcode\]: " r.err &&
		[ "$before" -eq "$after" ] && [ ! -s r.out ]; then
		ok "$rdesc: [$rcode] $(sed -n 's/.*verify failed \[[a-z0-9-]*\]: //p' r.err | cut -c1-110)"
	else
		not_ok "$rdesc: wanted exit 1 [$rcode], got exit $rc"
		sed 's/^/#   /' r.err
	fi
}

# craft CASE OP ARGS...: tam/CASE/<name>.tar.gz (the real name, no siblings)
craft() {
	cdir=tam/$1
	shift
	mkdir -p "$cdir"
	"$C" "$good" "$cdir/$name.tar.gz" "$@" || not_ok "bundle_craft $*"
	echo "$cdir/$name.tar.gz"
}
NS=--insecure-no-signature

t=$(craft copy copy)
check "a re-packed but unchanged bundle verifies (structure)" "$B" verify "$t" $NS
size=$(wc -c <"$good" | tr -d ' ')
mkdir -p tam/raw1 tam/raw2 tam/raw3 tam/trunc
"$C" "$good" "tam/raw1/$name.tar.gz" flip-raw 3
refused "flipped byte in the gzip header" not-a-bundle "tam/raw1/$name.tar.gz" $NS
"$C" "$good" "tam/raw2/$name.tar.gz" flip-raw $((size - 6))
refused "flipped byte in the gzip trailer (CRC/length)" not-a-bundle "tam/raw2/$name.tar.gz" $NS
"$C" "$good" "tam/raw3/$name.tar.gz" flip-raw $((size / 2))
"$B" verify "tam/raw3/$name.tar.gz" $NS >/dev/null 2>r.err
if [ $? -eq 1 ] && grep -q 'verify failed \[' r.err; then
	ok "flipped byte in the middle of the gzip stream: $(sed -n 's/.*verify failed //p' r.err | cut -c1-100)"
else not_ok "flipped byte in the middle of the gzip stream"; fi
refused "flipped gzip byte caught by the signature" signature-invalid "tam/raw3/$name.tar.gz" \
	--pubkey ka.pub --signature "out/$name.sig"
refused "flipped gzip byte caught by --sha256" sha256-mismatch "tam/raw3/$name.tar.gz" $NS \
	--sha256 "$(cut -c1-64 "out/$name.sha256")"
head -c $((size / 2)) "$good" >"tam/trunc/$name.tar.gz"
refused "truncated archive" not-a-bundle "tam/trunc/$name.tar.gz" $NS
mkdir -p tam/trunc2
head -c $((size - 4)) "$good" >"tam/trunc2/$name.tar.gz"
refused "archive truncated inside the gzip trailer" not-a-bundle "tam/trunc2/$name.tar.gz" $NS
mkdir -p tam/trail
{ cat "$good"; printf 'x'; } >"tam/trail/$name.tar.gz"
refused "trailing byte after the gzip stream" not-a-bundle "tam/trail/$name.tar.gz" $NS

refused "flipped byte in a file body" entry-sha256 "$(craft body flip-body bin/agentd)" $NS
refused "flipped byte in MANIFEST" fingerprint-mismatch "$(craft mf flip-manifest)" $NS
refused "extra file" entry-unlisted "$(craft extra add-file bin/extra)" $NS
refused "extra directory" entry-unlisted "$(craft extradir add-dir lib/)" $NS
refused "duplicate directory" entry-duplicate "$(craft dupdir add-dir bin/)" $NS
refused "missing file" entry-missing "$(craft missing drop install.sh)" $NS
refused "missing last file" entry-missing "$(craft missing2 drop systemd/agentd.service)" $NS
refused "changed file mode" entry-mode "$(craft mode mode bin/agentd 0700)" $NS
refused "changed directory mode" entry-mode "$(craft dmode mode bin/ 0700)" $NS
refused "size mismatch" entry-size "$(craft size resize install.sh)" $NS
refused "../ path" entry-path "$(craft dotdot rename bin/agentd "$name/../evil")" $NS
refused "absolute path" entry-path "$(craft abs rename bin/agentd /etc/evil)" $NS
refused "path outside the top directory" entry-path "$(craft outside rename bin/agentd other/agentd)" $NS
refused "path with a bad byte" entry-path "$(craft badbyte rename bin/agentd "$name/bin/a d")" $NS
refused "symlink pointing outside" entry-type "$(craft sym symlink bin/evil /etc/passwd)" $NS
refused "hardlink pointing outside" entry-type "$(craft hard hardlink bin/evil ../../etc/passwd)" $NS
refused "device node" entry-type "$(craft dev chardev bin/dev)" $NS
refused "FIFO" entry-type "$(craft fifo fifo bin/fifo)" $NS
refused "setuid file" entry-setid "$(craft suid mode bin/agentd 4755)" $NS
refused "setgid directory" entry-setid "$(craft sgid mode bin/ 2755)" $NS
refused "reordered entries" entry-order "$(craft order swap bin/agentd bin/agent-install)" $NS
refused "MANIFEST not second" manifest-not-first "$(craft mlast manifest-last)" $NS
mkdir -p tam/retop
"$C" "$good" tam/retop/retop.tar.gz retop "$(echo "$name" | sed 's/__20260301120000-/__20260301120001-/')"
refused "top-level name mismatch (stamp vs MANIFEST)" name-mismatch tam/retop/retop.tar.gz $NS
mkdir -p tam/retop3
"$C" "$good" tam/retop3/retop.tar.gz retop "$(echo "$name" | sed 's/-1\.4\.0-/-1.4.1-/')"
refused "top-level name mismatch (id vs MANIFEST version)" name-mismatch tam/retop3/retop.tar.gz $NS
mkdir -p tam/retop4
"$C" "$good" tam/retop4/retop.tar.gz retop "$(echo "$name" | sed 's/-\([0-9a-f]*\)$/-000000000000/')"
refused "top-level name mismatch (fp12)" fingerprint-mismatch tam/retop4/retop.tar.gz $NS
mkdir -p tam/retop5
"$C" "$good" tam/retop5/retop.tar.gz retop "$(echo "$name" | sed 's/linux-x86_64/Linux-X86_64/')"
refused "top-level name not canonical (platform case)" name-mismatch tam/retop5/retop.tar.gz $NS
refused "top-level name not a bundle name" bad-top-dir "$(craft retop2 retop evil)" $NS
refused "extended attribute" entry-type "$(craft xattr xattr bin/agentd 10)" $NS
refused "pax extended header larger than 64 KiB" limit-size "$(craft bigpax xattr bin/agentd 70000)" $NS
refused "GNU tar format" not-a-bundle "$(craft gnu gnutar)" $NS
mkdir -p tam/many
"$C" "$good" tam/many/many.tar.gz many-files 4085
refused "too many entries" limit-entries tam/many/many.tar.gz $NS
refused "gzip bomb: small file inflating past the bound" limit-size "$(craft bomb pad 1100)" $NS
bs=$(wc -c <"tam/bomb/$name.tar.gz" | tr -d ' ')
if [ "$bs" -lt 8000000 ]; then ok "the bomb is small ($bs bytes)"; else not_ok "bomb is $bs bytes"; fi

# file name (§5.3), expected values (§5.1)
mkdir -p ren1 ren2
other=$(echo "$name" | sed 's/-1\.4\.0-/-1.4.1-/')
cp "$good" "ren1/$other.tar.gz"
refused "file name of another bundle" name-mismatch "ren1/$other.tar.gz" $NS
cp "$good" ren2/renamed.tar.gz
"$B" verify ren2/renamed.tar.gz --pubkey ka.pub --signature "out/$name.sig" >/dev/null 2>ren.err
check_eq "a renamed file verifies" 0 $?
check "a renamed file gets a warning" grep -q 'warning: file name renamed.tar.gz is not a bundle name' ren.err
refused "platform mismatch" platform-mismatch "$good" --pubkey ka.pub --platform linux-aarch64
refused "expected fingerprint mismatch" fingerprint-mismatch "$good" --pubkey ka.pub \
	--fingerprint 0000000000000000000000000000000000000000000000000000000000000000
refused "--sha256 mismatch" sha256-mismatch "$good" --pubkey ka.pub \
	--sha256 0000000000000000000000000000000000000000000000000000000000000000
mkdir -p shabad
cp "$good" shabad/
printf '%s  %s.tar.gz\n' 1111111111111111111111111111111111111111111111111111111111111111 "$name" \
	>"shabad/$name.sha256"
refused "sibling .sha256 mismatch" sha256-mismatch "shabad/$name.tar.gz" $NS
printf 'nothex  x\n' >"shabad/$name.sha256"
refused "malformed sibling .sha256" sha256-mismatch "shabad/$name.tar.gz" $NS

# signatures (§4)
mkdir -p sig
cp "$good" "out/$name.sha256" sig/
refused "no signature file" signature-missing "sig/$name.tar.gz" --pubkey ka.pub
openssl dgst -sha256 -sign kb.pem -out "sig/$name.sig" "$good"
refused "signature from another key" signature-invalid "sig/$name.tar.gz" --pubkey ka.pub
{ cat "out/$name.sig"; echo; } >"sig/$name.sig"
refused "signature with a trailing newline" signature-malformed "sig/$name.tar.gz" --pubkey ka.pub
head -c 20 "out/$name.sig" >"sig/$name.sig"
refused "truncated signature" signature-malformed "sig/$name.tar.gz" --pubkey ka.pub
: >"sig/$name.sig"
refused "empty signature" signature-malformed "sig/$name.tar.gz" --pubkey ka.pub
openssl asn1parse -inform DER -in "out/$name.sig" >asn1.txt 2>/dev/null
r=$(sed -n 's/.*INTEGER *:\([0-9A-F]*\)$/\1/p' asn1.txt | sed -n 1p)
s=$(sed -n 's/.*INTEGER *:\([0-9A-F]*\)$/\1/p' asn1.txt | sed -n 2p)
rs=$(printf '%064s%064s' "$r" "$s" | tr ' ' 0)
perl -e 'print pack("H*", $ARGV[0])' "$rs" >"sig/$name.sig"
check_eq "raw r||s is 64 bytes" 64 "$(wc -c <"sig/$name.sig" | tr -d ' ')"
refused "raw r||s signature" signature-malformed "sig/$name.tar.gz" --pubkey ka.pub
"$B" verify "sig/$name.tar.gz" >/dev/null 2>nokey.err
check_eq "no trusted key and no --insecure-no-signature: exit 1" 1 $?
check "no trusted key message" grep -q 'no-trusted-key' nokey.err
cat kb.pub ka.pub >both.pem
check "a trusted file with two keys verifies" "$B" verify "$good" --pubkey both.pem
"$B" verify "$good" --pubkey kb.pub --pubkey ka.pub >two.out
check "the key that verified is named" grep -q "^key_id $("$B" key id ka.pub)\$" two.out
openssl ecparam -genkey -name secp384r1 -noout -out k384.pem 2>/dev/null
openssl ec -in k384.pem -pubout -out k384.pub 2>/dev/null
"$B" verify "$good" --pubkey k384.pub >/dev/null 2>k384.err
check_eq "non-P-256 key: usage error" 2 $?
check "non-P-256 key message names the block" grep -q 'block 1: not a P-256 key' k384.err
cat ka.pub k384.pub >mixed.pem
"$B" verify "$good" --pubkey mixed.pem >/dev/null 2>mixed.err
check "second block non-P-256 refused" grep -q 'block 2: not a P-256 key' mixed.err
"$B" verify "$good" --pubkey ka.pub --insecure-no-signature >/dev/null 2>ins.err
check "--insecure-no-signature warns" grep -q 'warning: signature not checked' ins.err

done_testing
