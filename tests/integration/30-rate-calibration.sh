#!/bin/sh
# agentd calibration show|store|clear (rate-controller.md §11, §18.5; i09),
# with real concurrent writers: 16, then a stress run of 64 processes.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
A=$AGENT_BIN/agentd
[ -x "$A" ] || skip_all "agentd not built"
cd "$TMPDIR" || exit 1
unset ANYSCAN_RATE_CALIBRATION_PATH AGENTD_ROOT 2>/dev/null
holder=
cleanup() { mkdir -p "$TMPDIR/lk" && touch "$TMPDIR/lk/go"; [ -z "$holder" ] || kill "$holder" 2>/dev/null; }
trap cleanup EXIT
P=$TMPDIR/c/rate-calibration.json

check_eq "show, missing" \
	"{\"dropped_entries\": 0, \"file\": \"missing\", \"interfaces\": {}, \"path\": \"$P\"}" \
	"$("$A" calibration show --path "$P")"
out=$("$A" calibration store eth0 1700000 --path "$P")
check_eq "store exits 0" "0" "$?"
check "store output" sh -c "printf '%s' '$out' | grep -q '^{\"interface\": \"eth0\", \"learned_rate\": 1700000, \"locked\": true, \"path\": \"$P\", \"stored\": true, \"updated_at\": \"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z\"}\$'"
check_eq "directory created 0750" "750" "$(stat -c %a "$TMPDIR/c")"
check_eq "file 0640" "640" "$(stat -c %a "$P")"
check_eq "lock file 0640" "640" "$(stat -c %a "$P.lock")"
check "file is one line without a trailing newline" sh -c "[ \$(wc -l <'$P') -eq 0 ]"
"$A" calibration store eth1 800000 --path "$P" >/dev/null
check "show, ok" sh -c "'$A' calibration show --path '$P' | grep -q '^{\"dropped_entries\": 0, \"file\": \"ok\", \"interfaces\": {\"eth0\": {\"learned_rate\": 1700000, \"updated_at\": \"[^\"]*\"}, \"eth1\": {\"learned_rate\": 800000, \"updated_at\": \"[^\"]*\"}}, \"path\": \"$P\"}\$'"
check_eq "clear IFACE" "{\"cleared\": [\"eth1\"], \"locked\": true, \"path\": \"$P\"}" \
	"$("$A" calibration clear eth1 --path "$P")"
check_eq "clear IFACE that is absent" "{\"cleared\": [], \"locked\": true, \"path\": \"$P\"}" \
	"$("$A" calibration clear eth9 --path "$P")"
"$A" calibration store eth2 5 --path "$P" >/dev/null
check_eq "clear all (sorted)" "{\"cleared\": [\"eth0\", \"eth2\"], \"locked\": true, \"path\": \"$P\"}" \
	"$("$A" calibration clear --path "$P")"
check_eq "after clear: an empty store" '{"interfaces": {}, "version": 1}' "$(cat "$P")"

printf 'not json{}' >bad.json
check_eq "show, invalid" \
	"{\"dropped_entries\": 0, \"file\": \"invalid\", \"interfaces\": {}, \"path\": \"bad.json\"}" \
	"$("$A" calibration show --path bad.json)"
printf '{"interfaces": {"a": {"learned_rate": true}, "b": {"learned_rate": 5, "updated_at": "x"}}}' >drop.json
check_eq "show counts dropped entries" \
	'{"dropped_entries": 1, "file": "ok", "interfaces": {"b": {"learned_rate": 5, "updated_at": "x"}}, "path": "drop.json"}' \
	"$("$A" calibration show --path drop.json)"
mkdir dir.json
check_eq "show, unreadable" \
	'{"dropped_entries": 0, "file": "unreadable", "interfaces": {}, "path": "dir.json"}' \
	"$("$A" calibration show --path dir.json)"

# --root and the environment
"$A" calibration store eth0 42 --root "$TMPDIR/r" >/dev/null
check "--root relocates the default path" test -f "$TMPDIR/r/var/lib/agentd/rate-calibration.json"
ANYSCAN_RATE_CALIBRATION_PATH=$TMPDIR/env.json "$A" calibration store eth0 43 >/dev/null
check "ANYSCAN_RATE_CALIBRATION_PATH" test -f "$TMPDIR/env.json"

# bad input: exit 2 and nothing written
for args in "store eth0" "store eth0 0" "store eth0 -5" "store eth0 1.5" "store eth0 abc" \
	"store 0123456789abcdef 1" "store a/b 1" "store '' 1" "bogus" "show extra" "clear a b"; do
	eval "set -- $args"
	"$A" calibration "$@" --path none.json >/dev/null 2>&1
	check_eq "calibration $args: exit 2" "2" "$?"
done
"$A" calibration store "$(printf 'a\tb')" 1 --path none.json >/dev/null 2>&1
check_eq "interface with a tab: exit 2" "2" "$?"
check_eq "nothing written by bad input" "no" "$([ -e none.json ] && echo yes || echo no)"
check_eq "bad input writes no lock file either" "no" "$([ -e none.json.lock ] && echo yes || echo no)"

# a write error: stored false, exit 1
printf x >afile
out=$("$A" calibration store eth0 1 --path afile/c.json 2>err.txt)
check_eq "write error: exit 1" "1" "$?"
check "write error: stored false with an error field" sh -c "printf '%s' '$out' | grep -q '\"error\": \".*\", .*\"stored\": false'"

# concurrent writers through the CLI: 16, then 64
concurrent() {
	n=$1; f=$2; i=0; pids=
	while [ $i -lt "$n" ]; do
		"$A" calibration store "eth$i" $((100000 + i)) --path "$f" >/dev/null 2>>"$TMPDIR/concurrent.err" &
		pids="$pids $!"
		i=$((i + 1))
	done
	fails=0
	for p in $pids; do wait "$p" || fails=$((fails + 1)); done
	echo "$fails"
}
for n in 16 64; do
	f=$TMPDIR/con$n/rate-calibration.json
	check_eq "$n concurrent stores all exit 0" "0" "$(concurrent "$n" "$f")"
	got=$("$A" calibration show --path "$f" | grep -o '"eth[0-9]*": {"learned_rate": [0-9]*' | wc -l | tr -d ' ')
	check_eq "$n concurrent stores: $n entries" "$n" "$got"
	ok_vals=$("$A" calibration show --path "$f" | awk -v n="$n" '{
		for (i = 0; i < n; i++) if (index($0, "\"eth" i "\": {\"learned_rate\": " (100000 + i) ",") == 0) bad++
	} END { print bad ? "bad" : "ok" }')
	check_eq "$n concurrent stores: every value as stored" "ok" "$ok_vals"
	check_eq "$n concurrent stores: no temp files" "" "$(find "$TMPDIR/con$n" -name '*.tmp*')"
done

# the bounded lock wait: another process holds the lock until the store has
# returned (it holds it while the file "$TMPDIR/lk/go" does not exist)
if command -v flock >/dev/null 2>&1; then
	L=$TMPDIR/lk/rate-calibration.json
	mkdir -p "$TMPDIR/lk"
	flock "$L.lock" sh -c "while [ ! -e '$TMPDIR/lk/go' ]; do sleep 0.1; done" &
	holder=$!
	n=0
	while flock -n "$L.lock" true && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	out=$("$A" calibration store eth0 7 --path "$L")
	check_eq "lock held past the 10 s wait: store still exits 0" "0" "$?"
	check "lock held: locked false" sh -c "printf '%s' '$out' | grep -q '\"locked\": false'"
	check "lock held: the entry was written" grep -q '"eth0": {"learned_rate": 7' "$L"
	touch "$TMPDIR/lk/go"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	holder=
else
	skip "lock held past the 10 s wait" "flock(1) not installed"
fi

# ---- SIGKILL at every write, fsync and rename of a store, injected by strace:
# the calibration file is always the old or the new complete file
. "$AGENT_SRC/tests/integration/lib/kill-sweep.sh"
if kill_sweep_ready "SIGKILL at every write/fsync/rename of a calibration store"; then
	# same (ignoring the updated_at stamps, which follow the clock)
	same() {
		[ "$(sed 's/"updated_at": "[^"]*"/"updated_at": T/g' "$1")" = \
			"$(sed 's/"updated_at": "[^"]*"/"updated_at": T/g' "$2")" ]
	}
	C=$TMPDIR/kill/rate-calibration.json
	mkdir -p "$TMPDIR/kill"
	"$A" calibration store eth0 700000 --path "$C" >/dev/null
	"$A" calibration store eth1 800000 --path "$C" >/dev/null
	cp "$C" "$TMPDIR/kill.orig"
	"$A" calibration store eth0 900000 --path "$C" >/dev/null
	cp "$C" "$TMPDIR/kill.new"
	bad=0
	ks_setup() { cp "$TMPDIR/kill.orig" "$C"; }
	ks_run() { "$@" "$A" calibration store eth0 900000 --path "$C" >/dev/null 2>&1; }
	ks_after() {
		if ! cmp -s "$TMPDIR/kill.orig" "$C" && ! same "$TMPDIR/kill.new" "$C"; then
			bad=$((bad + 1)); echo "# SIGKILL at $1 call $2: the file is neither old nor new"
		fi
	}
	kill_sweep write,fsync,rename
	check_eq "after a SIGKILL at each of $ks_runs system calls, the calibration file is the old or the new one" 0 "$bad"
	check_eq "every injected kill landed" "$ks_runs" "$ks_killed"
	check "a store after the kills works" "$A" calibration store eth0 900000 --path "$C"
	check "and the file is the new one" same "$TMPDIR/kill.new" "$C"
fi
done_testing
