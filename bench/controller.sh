#!/bin/sh
# The AIMD rate controller against real zmap in the network-namespace lab
# (scan.md §12.3, §13, §17; rate-controller.md): the best fixed rate from a
# sweep of static `agentd scan` runs, then a cold dynamic run (empty
# calibration file), a warm run reusing the calibration the cold run wrote,
# and the same cold and warm pair with the opt-in starved policy "track" and
# the PSI CPU signal (ANYSCAN_RATE_STARVED_POLICY=track ANYSCAN_CPU_SIGNAL=psi).
# Targets (issues "agentd scan" and "newcomer"): settled send rate >= 90% of
# the best fixed rate, reached within 6 windows cold and 1 window warm.
# Writes $AGENT_BENCH_OUT/controller-rate.csv and controller-rate.png.
set -u
A=$AGENT_BIN/agentd
LAB=$AGENT_SRC/tests/integration/netns-lab.sh
. "$AGENT_SRC/tests/integration/lib/metric.sh" # ra_table
OUT=${AGENT_BENCH_OUT:-$AGENT_SRC/bench}
THREADS=1              # zmap sender threads (-T) in every run
WINDOW=${CONTROLLER_BENCH_WINDOW:-5} # controller window, seconds
COLD_WINDOWS=${CONTROLLER_BENCH_COLD:-12} # completed windows before the cold run is stopped
WARM_WINDOWS=6         # the same for the warm run
TRACK_WINDOWS=${CONTROLLER_BENCH_TRACK:-10} # the same for the cold run with starved policy track and the PSI signal
SETTLE=6               # settled = mean achieved over the last SETTLE cold windows
SWEEP="50000 300000 500000 800000 1500000" # swept twice: before and after the dynamic runs
SWEEP_SECONDS=2        # addresses per sweep point = rate x this; --max-runtime caps the send phase

say() { echo >&2 "bench: $*"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print "n/a" }'; }

echo "### Rate controller vs. the best fixed rate (zmap in the netns lab)"
echo
echo "Send rate of \`agentd scan\` with the AIMD controller (zmap engine, ${WINDOW} s windows, $THREADS sender thread)"
echo "against the best fixed \`rate_limit\` of a static sweep measured in the same run, on the scanner"
echo "veth of the lab (tests/integration/netns-lab.sh)."
echo
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 0; }
[ -x "$A" ] || { echo "SKIP: agentd not built"; exit 0; }
AGENT_TOOLS=${AGENT_TOOLS:-$AGENT_BUILD/musl/tools}
export AGENT_TOOLS
chk=$(sh "$LAB" check --zmap 2>&1)
case $? in
0) ;;
77) echo "$chk"; exit 0 ;;
*) echo "SKIP: netns-lab check failed: $chk"; exit 0 ;;
esac
ZMAP=/usr/sbin/zmap
[ -x "$ZMAP" ] || ZMAP=$(command -v zmap)

# zmap drops to uid 65534 (gid 0): the scan's work files live in a 0711 dir
W=$(mktemp -d /tmp/agentd-bench-ctl.XXXXXX) || { echo "SKIP: mktemp failed"; exit 0; }
chmod 0711 "$W"
trap 'rm -rf "$W"' EXIT
trap 'rm -rf "$W"; exit 130' INT
trap 'rm -rf "$W"; exit 143' TERM

# static sweep: a wrapper keeps zmap's status file (agentd removes it)
cat >"$W/zmap-keep" <<'WRAP'
#!/bin/sh
st=
prev=
for a in "$@"; do
	[ "$prev" = --status-updates-file ] && st=$a
	prev=$a
done
"$ZMAP" "$@"
rc=$?
[ -n "$st" ] && cp "$st" "$STATUS_SAVE"
exit $rc
WRAP
chmod 0755 "$W/zmap-keep"

# inside the lab (scanner namespace)
cat >"$W/inner.sh" <<'INNER'
W=$1
set -- SCANNER_INTERFACE="$LAB_IF_SCAN" SCANNER_GATEWAY_MAC="$LAB_GATEWAY_MAC" \
	SCANNER_SOURCE_IP="$LAB_BULK_SRC_IP" SCANNER_BLACKLIST_FILE="$LAB_BLACKLIST" \
	SCANNER_SENDER_THREADS="$THREADS" SCANNER_COOLDOWN_SECONDS=1 \
	ANYSCAN_SCANNER_ENGINE=zmap AWS_EC2_METADATA_DISABLED=true ANYSCAN_INSTANCE_TYPE=test.none
apid=
trap '[ -n "$apid" ] && kill -TERM "$apid" 2>/dev/null; wait' EXIT
trap 'exit 143' TERM INT HUP

# one static point: RATE -> "rate rc tx_delta sent_total send_seconds threads_at_last_row"
static_point() {
	r=$1
	shift
	n=$((r * SWEEP_SECONDS))
	e=$((n - 1))
	rng="240.0.0.0-$((240 + e / 16777216)).$((e / 65536 % 256)).$((e / 256 % 256)).$((e % 256))"
	rm -f "$W/status.$r"
	read -r t0 <"$LAB_TX_PACKETS"
	printf '{"target_range":"%s","ports":"8080","rate_limit":%s}' "$rng" "$r" |
		env -i PATH=/usr/sbin:/usr/bin:/bin TMPDIR="$W" SCANNER_BIN="$W/zmap-keep" \
		ZMAP="$ZMAP" STATUS_SAVE="$W/status.$r" ANYSCAN_DYNAMIC_RATE_ENABLED=false \
		SCANNER_EXTRA_ARGS="--max-runtime=$((SWEEP_SECONDS + 1))" "$@" \
		"$AGENTD" scan >"$W/static.$r.out" 2>"$W/static.$r.err"
	rc=$?
	read -r t1 <"$LAB_TX_PACKETS"
	# the last status row: zmap writes one during the 1 s cooldown, after the
	# send phase, where sent-avg-per-sec is sent / (send finish - send start)
	awk -F, -v rate="$r" -v rc="$rc" -v tx=$((t1 - t0)) '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ sent = $c["sent-total"]; avg = $c["sent-avg-per-sec"]; thr = $c["active-send-threads"] }
		END { printf "%d %d %d %d %.4f %d\n", rate, rc, tx, sent, (avg > 0 ? sent / avg : 0), thr }' \
		"$W/status.$r" 2>/dev/null || echo "$r $rc $((t1 - t0)) 0 0 -1"
}
sweep() { # PASS VAR=VALUE...
	pass=$1
	shift
	for r in $SWEEP; do
		static_point "$r" "$@" >>"$W/static.$pass.txt"
		echo >&2 "bench: static pass $pass: $(tail -n 1 "$W/static.$pass.txt")"
	done
}
sweep 1 "$@"

# one dynamic run, stopped with SIGTERM after N completed windows
dynamic() { # NAME CALIB N VAR=VALUE...
	name=$1 calib=$2 nwin=$3
	shift 3
	# 240.0.0.0/6 (reserved; 67 M addresses), not the lab's 240.0.0.0/8: a run
	# of 5 s windows at ~600 kpps would finish the /8 early
	printf '{"target_range":"%s","ports":"8080","rate_limit":100000}' 240.0.0.0/6 |
		env -i PATH=/usr/sbin:/usr/bin:/bin TMPDIR="$W" SCANNER_BIN="$ZMAP" \
		ANYSCAN_DYNAMIC_RATE_ENABLED=true ANYSCAN_RATE_WINDOW_SECONDS="$WINDOW" \
		ANYSCAN_RATE_FLOOR=50000 ANYSCAN_RATE_CEILING=1500000 \
		ANYSCAN_RATE_CALIBRATION_PATH="$calib" ANYSCAN_SHUTDOWN_GRACE_SECONDS=1 "$@" \
		"$AGENTD" scan >"$W/$name.out" 2>"$W/$name.err" &
	apid=$!
	while kill -0 "$apid" 2>/dev/null &&
		[ "$(grep -c '"event": "rate_adjustment"' "$W/$name.err")" -lt "$nwin" ]; do
		sleep 0.2
	done
	kill -TERM "$apid" 2>/dev/null
	wait "$apid"
	echo $? >"$W/$name.rc"
	apid=
	echo >&2 "bench: $name: $(grep -c '"event": "rate_adjustment"' "$W/$name.err") windows, exit $(cat "$W/$name.rc")"
}
: >"$W/calib.json"
dynamic cold "$W/calib.json" "$COLD_WINDOWS" "$@"
cp "$W/calib.json" "$W/calib.cold.json"
dynamic warm "$W/calib.json" "$WARM_WINDOWS" "$@"
: >"$W/calib.track.json"
dynamic track "$W/calib.track.json" "$TRACK_WINDOWS" "$@" ANYSCAN_RATE_STARVED_POLICY=track \
	ANYSCAN_CPU_SIGNAL=psi
cp "$W/calib.track.json" "$W/calib.trackcold.json"
dynamic trackwarm "$W/calib.track.json" "$WARM_WINDOWS" "$@" ANYSCAN_RATE_STARVED_POLICY=track \
	ANYSCAN_CPU_SIGNAL=psi
sweep 2 "$@"
INNER

t0=$(date +%s)
say "lab: static sweep ($SWEEP pps), cold ($COLD_WINDOWS windows), warm ($WARM_WINDOWS), track+psi cold ($TRACK_WINDOWS) and warm ($WARM_WINDOWS)"
AGENTD=$A ZMAP=$ZMAP THREADS=$THREADS WINDOW=$WINDOW SWEEP=$SWEEP SWEEP_SECONDS=$SWEEP_SECONDS \
	COLD_WINDOWS=$COLD_WINDOWS WARM_WINDOWS=$WARM_WINDOWS TRACK_WINDOWS=$TRACK_WINDOWS \
	sh "$LAB" run --timeout 600 -- sh "$W/inner.sh" "$W" >&2
lrc=$?
say "lab finished after $(($(date +%s) - t0)) s (exit $lrc)"
if [ $lrc -ne 0 ] || [ ! -s "$W/static.1.txt" ] || [ ! -s "$W/cold.err" ]; then
	echo "FAILED: the lab run failed (exit $lrc)"
	exit 1
fi

# ---- the static sweep: achieved = tx_packets delta / zmap's send-phase time
achieved() { # static line -> achieved pps, or "failed (...)"
	echo "$1" | awk '{ if ($2 != 0 || $6 != 0 || $4 == 0) printf "failed (exit %d, last row threads %d)", $2, $6
		else printf "%.0f", $3 / $5 }'
}
best=0 bestrate=0
echo "| static rate_limit (pps) | achieved before (pps) | achieved after (pps) | best / set | send phase before, after (s) |"
echo "|---|---|---|---|---|"
for rate in $SWEEP; do
	l1=$(awk -v r="$rate" '$1 == r' "$W/static.1.txt")
	l2=$(awk -v r="$rate" '$1 == r' "$W/static.2.txt" 2>/dev/null)
	a1=failed a2=failed
	[ -n "$l1" ] && a1=$(achieved "$l1")
	[ -n "$l2" ] && a2=$(achieved "$l2")
	m=0
	for a in "$a1" "$a2"; do
		case $a in failed*) ;; *) [ "$a" -gt "$m" ] && m=$a ;; esac
	done
	echo "| $rate | $a1 | $a2 | $(pct "$m" "$rate")% | $(echo "$l1" | cut -d' ' -f5), $(echo "$l2" | cut -d' ' -f5) |"
	if [ "$m" -gt "$best" ]; then best=$m bestrate=$rate; fi
done
echo
[ "$best" -gt 0 ] || { echo "FAILED: no static point succeeded"; exit 1; }

# ---- the dynamic runs: one row per rate_adjustment line
rows() { # NAME -> "window set achieved classification drops load_per_vcpu heartbeat_ms"
	ra_table "$W/$1.err" window set_rate achieved_pps classification tx_dropped_delta \
		loadavg_per_vcpu heartbeat_max_latency_ms
}
rows cold >"$W/cold.rows"
rows warm >"$W/warm.rows"
rows track >"$W/track.rows"
rows trackwarm >"$W/trackwarm.rows"
for run in cold warm; do
	if [ ! -s "$W/$run.rows" ]; then
		echo "FAILED: the $run run completed no window (exit $(cat "$W/$run.rc" 2>/dev/null)):"
		echo
		tail -n 5 "$W/$run.err" | sed 's/^/    /'
		exit 1
	fi
done
thr90=$(awk -v b="$best" 'BEGIN { printf "%.0f", 0.9 * b }')
first90() { awk -v t="$thr90" '$3 >= t { print $1; f = 1; exit } END { if (!f) print "never" }' "$1"; }
cold90=$(first90 "$W/cold.rows")
warm90=$(first90 "$W/warm.rows")
track90=$(first90 "$W/track.rows")
trackwarm90=$(first90 "$W/trackwarm.rows")
ncold=$(wc -l <"$W/cold.rows" | tr -d ' ')
nwarm=$(wc -l <"$W/warm.rows" | tr -d ' ')
ntrack=$(wc -l <"$W/track.rows" | tr -d ' ')
mean() { awk '{ s += $3; n++ } END { printf "%.0f", n ? s / n : 0 }'; }
settled=$(tail -n "$SETTLE" "$W/cold.rows" | mean)
tsettled=$(tail -n "$SETTLE" "$W/track.rows" | mean)
wmean=$(mean <"$W/warm.rows")
ratio=$(awk -v a="$settled" -v b="$best" 'BEGIN { printf "%.3f", a / b }')
learned=$(sed -n 's/.*"learned_rate": \([0-9]*\).*/\1/p' "$W/calib.cold.json")
wstart=$(awk 'NR == 1 { print $2 }' "$W/warm.rows")
m_settled=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "met" : "missed" }')
within() { case $1 in never) echo missed ;; *) [ "$1" -le "$2" ] && echo met || echo missed ;; esac; }
m_cold=$(within "$cold90" 6)
m_warm=$(within "$warm90" 1)

echo "| measurement | controller | baseline: best fixed rate | ratio | target |"
echo "|---|---|---|---|---|"
echo "| settled send rate, cold (mean achieved over windows $((ncold - SETTLE + 1))-$ncold), pps | $settled | $best (rate_limit $bestrate) | $ratio | >= 0.9: $m_settled |"
echo "| windows until achieved >= 90% of best ($thr90 pps), cold start at 100000 | $cold90 | - | - | <= 6: $m_cold |"
echo "| windows until achieved >= 90% of best, warm start at $wstart (learned $learned) | $warm90 | - | - | <= 1: $m_warm |"
echo "| mean achieved over the $nwarm warm windows, pps | $wmean | $best | $(awk -v a="$wmean" -v b="$best" 'BEGIN { printf "%.3f", a / b }') | - |"
tratio=$(awk -v a="$tsettled" -v b="$best" 'BEGIN { printf "%.3f", a / b }')
echo "| track + psi: settled send rate, cold (windows $((ntrack - SETTLE + 1))-$ntrack), pps | $tsettled | $best | $tratio | >= 0.9: $(awk -v r="$tratio" 'BEGIN { print (r >= 0.9) ? "met" : "missed" }') |"
echo "| track + psi: windows until achieved >= 90% of best, cold | $track90 | - | - | <= 6: $(within "$track90" 6) |"
echo "| track + psi: windows until achieved >= 90% of best, warm start at $(awk 'NR == 1 { print $2 }' "$W/trackwarm.rows" 2>/dev/null) | $trackwarm90 | - | - | <= 1: $(within "$trackwarm90" 1) |"
echo
echo "Per window: set -> achieved pps, classification; for slips also tx_dropped, loadavg per vCPU"
echo "(the controller's CPU signal, saturated above 0.8) and the heartbeat in ms:"
echo
for run in cold warm track trackwarm; do
	printf -- '- %s: ' "$run"
	awk '{
		printf "%s%d: %d -> %d %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4
		if ($4 != "clean") printf " (drops %s, load %s, hb %s)", $5, $6, $7
	} END { print "" }' "$W/$run.rows"
done
echo
echo "Policy: floor 50000, ceiling 1500000, additive step 200000 and factor 0.5 (the defaults), achieved"
echo "ratio floor 0.9, starved policy halve (the default), window $WINDOW s; cold start = invocation"
echo "\`rate_limit\` 100000 with an empty calibration file, warm start = the calibration the cold run"
echo "persisted; zmap -T $THREADS, cooldown 1 s, port 8080, dynamic runs over 240.0.0.0/6, static points from 240.0.0.0. Achieved rates of the"
echo "controller are its own \`rate_adjustment\` \`achieved_pps\` (tx_packets delta over zmap's send"
echo "time); the static points use the same measure (the scanner veth's tx_packets delta over"
echo "sent-total / sent-avg-per-sec of zmap's last status row, written after the send phase);"
echo "the sweep runs before and after the dynamic runs, each point sends for about $SWEEP_SECONDS s (capped"
echo "at $((SWEEP_SECONDS + 1)) s with --max-runtime), and the best fixed rate is the highest achieved rate of either pass."
echo "The \"track + psi\" rows (runs track, trackwarm) are the same cold and warm pair with the opt-in"
echo "ANYSCAN_RATE_STARVED_POLICY=track (a starved window without drops or heartbeat slip continues"
echo "from the achieved rate instead of halving) and ANYSCAN_CPU_SIGNAL=psi (CPU saturation from"
echo "/proc/pressure/cpu: a sender thread keeping one core busy raises loadavg, which turns the track"
echo "rule off under the default loadavg signal (rate-controller.md §5.4), but not PSI, which counts"
echo "only tasks waiting for a CPU). This is the configuration docs/decisions.md recommends for zmap."

# ---- artefacts
{
	echo "run,window,set_rate,achieved_rate,classification"
	awk '{ print "cold," $1 "," $2 "," $3 "," $4 }' "$W/cold.rows"
	awk '{ print "warm," $1 "," $2 "," $3 "," $4 }' "$W/warm.rows"
	awk '{ print "track-psi-cold," $1 "," $2 "," $3 "," $4 }' "$W/track.rows"
	awk '{ print "track-psi-warm," $1 "," $2 "," $3 "," $4 }' "$W/trackwarm.rows"
} >"$W/controller-rate.csv"
mkdir -p "$OUT"
cp "$W/controller-rate.csv" "$OUT/controller-rate.csv.tmp" &&
	mv "$OUT/controller-rate.csv.tmp" "$OUT/controller-rate.csv"
panel() { # COLD-RUN WARM-RUN TITLE: one gnuplot panel, cold then warm windows
	nc=$(awk -F, -v r="$1" '$1 == r' "$W/controller-rate.csv" | wc -l | tr -d ' ')
	nw=$(awk -F, -v r="$2" '$1 == r' "$W/controller-rate.csv" | wc -l | tr -d ' ')
	awk -F, -v r="$1" '$1 == r { print $2, $3 / 1000, $4 / 1000 }' "$W/controller-rate.csv" >"$W/$1.dat"
	awk -F, -v r="$2" -v o="$nc" '$1 == r { print $2 + o, $3 / 1000, $4 / 1000 }' "$W/controller-rate.csv" >"$W/$2.dat"
	cat <<EOG
set title "$3"
set xlabel "window (cold 1-$nc, then warm 1-$nw)"
set xrange [0.5:$((nc + nw)).5]
set xtics ($(awk -v c="$nc" -v w="$nw" 'BEGIN { for (i = 1; i <= c + w; i++) printf "%s\"%d\" %d", (i > 1 ? ", " : ""), (i > c ? i - c : i), i }'))
unset arrow
unset label
set arrow from $nc.5, graph 0 to $nc.5, graph 1 nohead dashtype 3 lc rgb "#777777"
set label "cold" at graph 0.02, graph 0.93
set label "warm" at $nc.5, graph 0.93 offset 1,0
plot $(awk -v b="$best" 'BEGIN { printf "%.3f", b / 1000 }') with lines lw 2 lc rgb "#2ca02c" title "best fixed rate", \
     $(awk -v b="$thr90" 'BEGIN { printf "%.3f", b / 1000 }') with lines dashtype 2 lc rgb "#2ca02c" title "90% of best", \
     "$W/$1.dat" using 1:2 with linespoints pt 6 lc rgb "#1f77b4" title "cold: set rate", \
     "$W/$1.dat" using 1:3 with linespoints pt 7 lc rgb "#ff7f0e" title "cold: achieved", \
     "$W/$2.dat" using 1:2 with linespoints pt 4 lc rgb "#1f77b4" dashtype 2 title "warm: set rate", \
     "$W/$2.dat" using 1:3 with linespoints pt 5 lc rgb "#d62728" title "warm: achieved"
EOG
}
if command -v gnuplot >/dev/null 2>&1; then
	{
		echo 'set terminal pngcairo size 900,1000 font "sans,10" noenhanced'
		echo "set output \"$W/controller-rate.png\""
		echo 'set multiplot layout 2,1'
		echo 'set ylabel "kpps"'
		echo 'set key outside bottom center horizontal'
		echo 'set grid ytics'
		echo 'set yrange [0:*]'
		panel cold warm "default policy (starved: halve, CPU signal: loadavg), zmap -T $THREADS, ${WINDOW} s windows"
		panel track-psi-cold track-psi-warm "ANYSCAN_RATE_STARVED_POLICY=track ANYSCAN_CPU_SIGNAL=psi, zmap -T $THREADS, ${WINDOW} s windows"
		echo 'unset multiplot'
	} >"$W/plot.gp"
	if gnuplot "$W/plot.gp" 2>"$W/gnuplot.err" && [ -s "$W/controller-rate.png" ]; then
		cp "$W/controller-rate.png" "$OUT/controller-rate.png.tmp" &&
			mv "$OUT/controller-rate.png.tmp" "$OUT/controller-rate.png"
	else
		say "gnuplot failed: $(head -n 3 "$W/gnuplot.err")"
	fi
fi
echo
if [ -s "$OUT/controller-rate.png" ]; then
	echo "![controller](controller-rate.png) [CSV](controller-rate.csv)"
else
	echo "[CSV](controller-rate.csv) (no PNG: gnuplot is not installed or failed)"
fi
