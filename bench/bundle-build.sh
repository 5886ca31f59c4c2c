#!/bin/sh
# agent-bundle build vs. `tar --sort=name ... | gzip -9n` on the same tree
# (time and size, one run each), and agent-bundle verify of a ~5 MiB bundle.
# Targets (issue "agent-bundle: reproducible, fingerprinted, signed bundles"):
# build <= 1.1x the baseline's time and <= 1.01x its size; verify < 100 ms.
set -u
B=$AGENT_BIN/agent-bundle
SDE=1772366400

now_ns() { date +%s%N; }
ms() { echo $(($1 / 1000000)); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

echo "### agent-bundle build and verify"
echo
case $(date +%N) in
'' | *N*) echo "SKIP: date +%N (nanoseconds) is not supported here"; exit 0 ;;
esac
command -v gzip >/dev/null 2>&1 && tar --version 2>/dev/null | grep -q 'GNU tar' ||
	{ echo "SKIP: needs GNU tar and gzip"; exit 0; }

# the tree: real static programs, scripts, and ~5 MiB of poorly compressible text
t=tree/agent-bundle-bench
mkdir -p "$t/bin" "$t/env" "$t/runit/agentd" "$t/runit/agentd-remote-update" "$t/systemd" out
cp "$AGENT_BIN/agentd" "$AGENT_BIN/agent-install" "$t/bin/"
cp "$AGENT_BIN/agent-bundle" "$t/bin/scanner"
for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
	runit/agentd/run runit/agentd-remote-update/run; do
	{ printf '#!/bin/sh\n'; sed -n '1,400p' "$AGENT_SRC/tests/integration/lib/tap.sh"; } >"$t/$f"
done
for f in systemd/agentd.service systemd/agentd-remote-update.path \
	systemd/agentd-remote-update.service; do
	printf '[Unit]\nDescription=%s\n' "$f" >"$t/$f"
done
head -c 3000000 /dev/urandom | od -An -tx1 >"$t/env/runtime.env.template"
echo >&2 "bench: tree of $(du -sk "$t" | cut -f1) KiB"

# baseline: GNU tar sorted, fixed owner and mtime, ustar, gzip -9n
s=$(now_ns)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$SDE --format=ustar \
	-C tree -cf - agent-bundle-bench | gzip -9n >baseline.tar.gz
e=$(now_ns)
base_ns=$((e - s))
base_size=$(wc -c <baseline.tar.gz | tr -d ' ')

s=$(now_ns)
name=$("$B" build --version 1.4.0 --platform linux-x86_64 --input-dir "$t" --out out \
	--source-date-epoch $SDE 2>/dev/null)
e=$(now_ns)
ours_ns=$((e - s))
[ -n "$name" ] || { echo "FAILED: agent-bundle build failed"; exit 1; }
ours_size=$(wc -c <"out/$name.tar.gz" | tr -d ' ')

s=$(now_ns)
"$B" verify "out/$name.tar.gz" --insecure-no-signature >/dev/null 2>&1
vrc=$?
e=$(now_ns)
ver_ns=$((e - s))
[ $vrc -eq 0 ] || { echo "FAILED: agent-bundle verify failed"; exit 1; }

tr_=$(ratio "$ours_ns" "$base_ns")
sr=$(ratio "$ours_size" "$base_size")
echo "| measurement | agent-bundle | baseline (tar --sort=name \| gzip -9n) | ratio | target |"
echo "|---|---|---|---|---|"
echo "| build time | $(ms $ours_ns) ms | $(ms $base_ns) ms | $tr_ | <= 1.1 |"
echo "| bundle size | $ours_size B | $base_size B | $sr | <= 1.01 |"
echo "| verify ($((ours_size / 1024)) KiB bundle) | $(ms $ver_ns) ms | - | - | < 100 ms |"
echo
echo "One run each on the same tree (the baseline has no MANIFEST, no hashing and no audit)."
