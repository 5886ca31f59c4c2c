#!/bin/sh
# agent-install install --service none --no-start of a local release bundle
# (made by release/release.sh as `make release` makes it, with a 6 MiB
# bin/scanner so the bundle is a few MiB) into an empty temporary root, and a
# re-install of a newer bundle over it; 10 runs each, median wall time and
# peak RSS (wait4 ru_maxrss: agent-install and the largest child it waited
# for, i.e. its agentd self-test).  Baseline in the same run: what a shell
# installer does at least, `sha256sum` of the bundle plus `tar -xzf` into an
# empty directory.
# Target (issue "agent-install"): install under 200 ms including
# verification; peak RSS under 8 MiB.
set -u
. "$AGENT_SRC/bench/lib/common.sh"
AI=$AGENT_BIN/agent-install
REPS=10

echo "### agent-install install of a local bundle"
echo
bench_need_ns
for c in sha256sum tar gzip strip; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 0; }
done
[ -x "$AI" ] && [ -x "$AGENT_BIN/agentd" ] && [ -x "$AGENT_BIN/agent-bundle" ] ||
	{ echo "SKIP: programs not built (make)"; exit 0; }
bench_platform
bench_version
bench_tool
unset AGENTD_ROOT AGENTD_CHANNEL_URL

# a realistic bundle: the release pipeline's own staging (stripped agentd and
# agent-install, host-tuning scripts, templates, rendered install.sh) plus a
# scanner made of binary code (the programs concatenated, cut at 6 MiB)
: >pad
while [ "$(wc -c <pad)" -lt 6291456 ]; do
	cat "$AGENT_BIN/agentd" "$AGENT_BIN/agent-install" "$AGENT_BIN/agent-bundle" >>pad
done
head -c 6291456 pad >scanner && rm -f pad
say "release/release.sh with SCANNER_BIN (6 MiB)"
bench_release SCANNER_BIN="$PWD/scanner" ||
	{ echo "FAILED: release/release.sh failed:"; sed 's/^/    /' release.err | tail -n 5; exit 1; }
B1=$REL_BUNDLE
B2=$(bench_bundle "$(bump "$V" 1)" "$PWD/newer") || { echo "FAILED: agent-bundle build failed"; exit 1; }
size1=$(wc -c <"$B1" | tr -d ' ')
unpacked=$(du -sk "$REL_STAGE" | cut -f1)
say "bundle $REL_NAME.tar.gz: $size1 B ($unpacked KiB unpacked)"

# one install: benchtool run RESULT agent-install install ... ; checks the result
install_into() { # ROOT BUNDLE RESULT
	./benchtool run "$3" "$AI" install --root "$1" --bundle "$2" --pubkey "$REL_PUB" \
		--service none --no-start >install.out 2>install.err || {
		echo "FAILED: agent-install install --bundle $(basename "$2") exited $?:"
		sed 's/^/    /' install.err | tail -n 5
		exit 1
	}
	fp12=$(basename "$2" .tar.gz) && fp12=${fp12##*-}
	[ "$(readlink "$1/opt/agentd/current")" = "releases/$fp12" ] ||
		{ echo "FAILED: $1/opt/agentd/current is not releases/$fp12 after install"; exit 1; }
}
: >t.fresh; : >r.fresh; : >t.verify; : >t.over; : >r.over; : >t.base; : >r.base
i=0
while [ $i -lt $REPS ]; do
	i=$((i + 1))
	rm -rf root base
	mkdir root base
	install_into "$PWD/root" "$B1" res
	read -r ns kib _ <res
	echo "$ns" >>t.fresh; echo "$kib" >>r.fresh
	install_into "$PWD/root" "$B2" res
	read -r ns kib _ <res
	echo "$ns" >>t.over; echo "$kib" >>r.over
	# baseline: sha256sum, then tar -xzf into an empty directory
	./benchtool run res1 sha256sum "$B1" >/dev/null || { echo "FAILED: sha256sum"; exit 1; }
	./benchtool run res2 tar -xzf "$B1" -C base || { echo "FAILED: tar -xzf"; exit 1; }
	read -r ns1 kib1 _ <res1
	read -r ns2 kib2 _ <res2
	echo $((ns1 + ns2)) >>t.base
	if [ "$kib1" -gt "$kib2" ]; then echo "$kib1"; else echo "$kib2"; fi >>r.base
	# for context: the verification alone (agent-bundle verify: sha256, signature, MANIFEST)
	./benchtool run res "$AGENT_BIN/agent-bundle" verify "$B1" --pubkey "$REL_PUB" >/dev/null 2>&1 ||
		{ echo "FAILED: agent-bundle verify"; exit 1; }
	read -r ns _ <res
	echo "$ns" >>t.verify
	say "run $i: fresh $(ms "$(tail -n 1 t.fresh)") ms, over $(ms "$(tail -n 1 t.over)") ms, baseline $(ms "$(tail -n 1 t.base)") ms"
done
rm -rf root base

tv=$(median <t.verify)
tf=$(median <t.fresh); to=$(median <t.over); tb=$(median <t.base)
rf=$(max <r.fresh); ro=$(max <r.over); rb=$(max <r.base)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "Bundle: \`$REL_NAME.tar.gz\`, $size1 bytes ($(mib $((size1 / 1024))) MiB; $unpacked KiB unpacked),"
echo "signed, with its \`.sha256\` and \`.sig\` siblings, so the install checks sha256, signature,"
echo "every MANIFEST entry, and runs the release's \`agentd self-test\`. $REPS runs, median wall time;"
echo "peak RSS is the largest of the $REPS runs."
echo
echo "| measurement | agent-install | baseline (sha256sum + tar -xzf) | ratio | target |"
echo "|---|---|---|---|---|"
echo "| fresh install, wall time (median) | $(ms "$tf") ms | $(ms "$tb") ms | $(ratio "$tf" "$tb") | < 200 ms: $(metmissed "$tf" 200000000) |"
echo "| install of a newer bundle over it, wall time (median) | $(ms "$to") ms | $(ms "$tb") ms | $(ratio "$to" "$tb") | < 200 ms: $(metmissed "$to" 200000000) |"
echo "| for context: \`agent-bundle verify\` of the bundle alone (median) | $(ms "$tv") ms | $(ms "$tb") ms | $(ratio "$tv" "$tb") | - |"
echo "| fresh install, peak RSS (max) | $(mib "$rf") MiB | $(mib "$rb") MiB | $(ratio "$rf" "$rb") | < 8 MiB: $(metmissed "$rf" 8192) |"
echo "| install over, peak RSS (max) | $(mib "$ro") MiB | $(mib "$rb") MiB | $(ratio "$ro" "$rb") | < 8 MiB: $(metmissed "$ro" 8192) |"
echo
echo "The baseline checks nothing but the hash and writes no install state; agent-install also"
echo "verifies the signature and the MANIFEST, unpacks into a release directory with fsyncs, runs the"
echo "self-test, writes installed.json, runtime.env and the links. Peak RSS of the baseline is the"
echo "larger of sha256sum and tar (whose gzip child it waits for)."
