#!/bin/sh
# Update downtime on runit: runsvdir supervises the installed worker (the real
# `agentd run` of the current release, under a temporary root through
# AGENTD_ROOT, started through `agent-install env exec` as the shipped run
# script does) and agent-install drives it through --service command=<wrapper
# around sv>, as tests/integration/70-install-runit.sh does.  Measured for 5
# `agent-install update --bundle FILE` runs (each to a newer release) and, as
# the baseline in the same run, 5 plain `sv restart`s of the same service
# (interleaved): the time from the stop request (the wrapper's `sv restart`)
# and from the old agentd's exit to the first health.json of the new agentd
# and to its first healthy one (status ok), polled every millisecond by
# bench/lib/benchtool.c.  Also the wall time of release/release.sh run the way
# `make release` runs it, for one platform, into a temporary BUILD and DIST,
# against `tar --sort=name -czf` + `sha256sum` of the same staged tree.
# Targets (issue "Fleet lifecycle"): update downtime (old agentd stopping to
# new one healthy) < 1 s on runit; make release < 5 s for one platform.
set -u
. "$AGENT_SRC/bench/lib/common.sh"
. "$AGENT_SRC/tests/integration/lib/sv-wrapper.sh"
AI=$AGENT_BIN/agent-install
N=5
T=$PWD

echo "### agent-install update downtime on runit, and make release"
echo
bench_need_ns
for c in runsvdir sv; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c (runit) not installed"; exit 0; }
done
for c in sha256sum tar gzip strip; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 0; }
done
tar --version 2>/dev/null | grep -q 'GNU tar' || { echo "SKIP: needs GNU tar"; exit 0; }
[ -x "$AI" ] && [ -x "$AGENT_BIN/agentd" ] && [ -x "$AGENT_BIN/agent-bundle" ] ||
	{ echo "SKIP: programs not built (make)"; exit 0; }
bench_platform
bench_version
bench_tool
unset AGENTD_ROOT AGENTD_CHANNEL_URL AGENTD_CA_FILE

ROOT=$T/root
SVD=$T/sv
SCAN=$T/scan
SUP=$T/sup.sh
HEALTH=$ROOT/run/agentd/health.json
RSVD=
WP=
cleanup() {
	[ -z "$WP" ] || kill "$WP" 2>/dev/null
	sv_teardown "$SVD" "$SCAN" "$RSVD"
	:
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- make release: release/release.sh as the Makefile's release target runs it
: >t.rel; : >t.relbase
for i in 1 2 3; do
	say "release/release.sh run $i"
	bench_release || { echo "FAILED: release/release.sh failed:"; sed 's/^/    /' release.err | tail -n 5; exit 1; }
	echo "$REL_NS" >>t.rel
	# baseline: an archive and a checksum of the same staged tree, nothing else
	s=$(now_ns)
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1772366400 -C "$REL_STAGE/.." \
		-czf base.tar.gz "$PLAT" && sha256sum base.tar.gz >base.sha256 ||
		{ echo "FAILED: baseline tar/sha256sum failed"; exit 1; }
	e=$(now_ns)
	echo $((e - s)) >>t.relbase
done
rel=$(median <t.rel); relbase=$(median <t.relbase)
relsize=$(wc -c <"$REL_BUNDLE" | tr -d ' ')

# ---- bundles: the release bundle, then N newer versions of the same tree
BUNDLES=
i=1
while [ $i -le $N ]; do
	b=$(bench_bundle "$(bump "$V" $i)" "$T/newer") || { echo "FAILED: agent-bundle build failed"; exit 1; }
	BUNDLES="$BUNDLES $b"
	i=$((i + 1))
done

# ---- runit: the supervised service and the command=PATH wrapper around sv
mkdir -p "$SVD/agentd" "$SCAN" "$ROOT/etc/agentd"
cat >"$SVD/agentd/run" <<EOF
#!/bin/sh
exec 2>&1
AGENTD_ROOT='$ROOT'; export AGENTD_ROOT
exec '$ROOT/opt/agentd/bin/agent-install' env exec '$ROOT/etc/agentd/runtime.env' -- '$ROOT/opt/agentd/bin/agentd' run
EOF
chmod 755 "$SVD/agentd/run"
sv_wrapper "$SUP" "$SVD" "$SCAN" "$T/restart.ts"
# the health interval at its minimum (1 s; agentd's first "ok" may wait for it)
printf '%s\n' AGENTD_HEALTH_INTERVAL_SECONDS=1 AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=30 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"
runsvdir -P "$SCAN" </dev/null >/dev/null 2>&1 &
RSVD=$!
svpid() { sv status "$SVD/agentd" 2>/dev/null | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p'; }

say "install $REL_NAME through the sv wrapper"
"$AI" install --root "$ROOT" --bundle "$REL_BUNDLE" --pubkey "$REL_PUB" --service "command=$SUP" \
	>install.out 2>&1 || { echo "FAILED: agent-install install:"; sed 's/^/    /' install.out | tail -n 5; exit 1; }

# measure WHAT CMD...: run CMD while watching the service's agentd change;
# appends "<request->exit> <exit->up> <exit->healthy> <request->healthy> <cmd>"
# (ns) to m.WHAT
measure() {
	what=$1
	shift
	old=$(svpid)
	[ -n "$old" ] || { echo "FAILED: agentd is not running under runsv before $what"; exit 1; }
	# runsv waits a second before restarting a service that ran less than one
	# second; a real agentd has been up for long, so let this one run > 1 s
	sleep 1.2
	rm -f "$T/restart.ts"
	./benchtool watch "$old" "$HEALTH" 60000 >watch.out 2>watch.err &
	WP=$!
	sleep 0.05
	./benchtool run res "$@" >cmd.out 2>&1 || {
		echo "FAILED: $what exited $?:"
		sed 's/^/    /' cmd.out | tail -n 5
		exit 1
	}
	wait "$WP" || { echo "FAILED: $what: $(cat watch.err)"; exit 1; }
	WP=
	[ -s "$T/restart.ts" ] || { echo "FAILED: $what did not restart through the wrapper"; exit 1; }
	read -r req <"$T/restart.ts"
	read -r tx tu to <watch.out
	read -r cmd _ <res
	echo "$((tx - req)) $((tu - tx)) $((to - tx)) $((to - req)) $cmd" >>"m.$what"
	say "$what: stop->healthy $(ms $((to - req))) ms, exit->healthy $(ms $((to - tx))) ms, exit->up $(ms $((tu - tx))) ms"
}
: >m.update; : >m.restart
for b in $BUNDLES; do
	measure restart "$SUP" restart
	measure update "$AI" update --root "$ROOT" --bundle "$b"
	fp12=$(basename "$b" .tar.gz) && fp12=${fp12##*-}
	[ "$(readlink "$ROOT/opt/agentd/current")" = "releases/$fp12" ] ||
		{ echo "FAILED: current is not releases/$fp12 after the update"; exit 1; }
	grep -q '^STATUS=success$' "$ROOT/var/lib/agentd/remote-update.status" ||
		{ echo "FAILED: update status is not success"; exit 1; }
done
"$SUP" stop >/dev/null 2>&1

# the shipped run script (templates/runit/agentd/run) first runs both
# host-tuning scripts through env exec; they change the host, so the service
# above skips them and they are timed here with --dry-run (they only read the
# host; state and sysctl files in the temporary directory)
printf '%s\n' "ANYSCAN_HOST_TUNING_STATE_DIR=$T/ht-state" "ANYSCAN_TUNE_SYSCTL_FILE=$T/ht-sysctl.conf" \
	ANYSCAN_TUNE_DRY_RUN=true ANYSCAN_RESERVE_DRY_RUN=true >ht.env
: >t.ht
for i in 1 2 3; do
	tot=0
	for s in reserve-control-bandwidth.sh tune-scanner-host.sh; do
		./benchtool run res "$AI" env exec ht.env -- "$REL_STAGE/bin/$s" --dry-run apply >ht.out 2>&1 ||
			say "$s --dry-run apply exited $? (its time is still counted): $(tail -n 1 ht.out)"
		read -r ns _ <res
		tot=$((tot + ns))
	done
	echo "$tot" >>t.ht
done
ht=$(median <t.ht)

col() { cut -d' ' -f"$1" "$2"; }
cell() { echo "$(ms "$(col "$1" "$2" | median)") / $(ms "$(col "$1" "$2" | max)") ms"; }
rat() { ratio "$(col "$1" m.update | median)" "$(col "$1" m.restart | median)"; }
down=$(col 4 m.update | median)
echo "runsvdir supervises the real \`agentd run\` of the installed release (under a temporary root);"
echo "agent-install drives it through \`--service command=\` with a wrapper around \`sv\`. Each"
echo "update installs a newer signed bundle ($relsize bytes) built from the release's staged tree."
echo "Running = the new agentd wrote its first health.json; healthy = its health.json says \`ok\`"
echo "(what the updater's health check waits for; \`starting\` does not count). agentd runs with"
echo "\`AGENTD_HEALTH_INTERVAL_SECONDS=1\`, the minimum (default 10): an agentd that publishes its first"
echo "\`ok\` only one interval after \`starting\` has that interval in its downtime. Each agentd runs"
echo "> 1 s before it is stopped (runsv delays restarting a service that ran less than 1 s)."
echo "$N runs each, interleaved; times polled every 1 ms. The service's run script is the shipped one"
echo "without its two host-tuning steps, which change the host; their time is shown separately."
echo
echo "| measurement (median / max) | agent-install update | baseline: sv restart | ratio (medians) | target |"
echo "|---|---|---|---|---|"
echo "| stop requested -> new agentd healthy | $(cell 4 m.update) | $(cell 4 m.restart) | $(rat 4) | < 1 s: $(metmissed "$down" 1000000000) |"
echo "| old agentd exited -> new agentd healthy | $(cell 3 m.update) | $(cell 3 m.restart) | $(rat 3) | - |"
echo "| old agentd exited -> new agentd running (first health.json) | $(cell 2 m.update) | $(cell 2 m.restart) | $(rat 2) | - |"
echo "| stop requested -> old agentd exited | $(cell 1 m.update) | $(cell 1 m.restart) | $(rat 1) | - |"
echo "| host-tuning pre-steps of the shipped run script (not in the rows above; --dry-run, median of 3) | $(ms "$ht") ms | $(ms "$ht") ms | - | adds to both on a host |"
echo "| whole command (update: verify, unpack, self-test, switch, restart, 2 health polls) | $(cell 5 m.update) | $(cell 5 m.restart) | $(rat 5) | - |"
echo
echo "| measurement (median of 3) | make release (release/release.sh, 1 platform) | baseline: tar -czf + sha256sum of the staged tree | ratio | target |"
echo "|---|---|---|---|---|"
echo "| wall time | $(ms "$rel") ms | $(ms "$relbase") ms | $(ratio "$rel" "$relbase") | < 5 s: $(metmissed "$rel" 5000000000) |"
echo
echo "make release is timed without make's own up-to-date check of the programs (built before); it"
echo "stages, strips, builds and signs the bundle ($relsize bytes, no scanner), renders install.sh,"
echo "writes and signs the channel and SHA256SUMS, and self-checks (agent-bundle verify, sha256sum -c,"
echo "openssl, shellcheck) into a temporary BUILD and DIST."
