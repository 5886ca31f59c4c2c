#!/bin/sh
# The test runner behind `make check`, `make sanitize`, `make unit`,
# `make integration` and `make fuzz`.
#
#   unit tests         cmocka binaries; cases counted from cmocka's summary
#   integration tests  tests/integration/NN-*.sh; TAP lines ("ok", "not ok",
#                      "ok N # SKIP reason"); exit 77 skips the whole file
#   fuzz targets       libFuzzer binaries, a short run each over their corpus
#
# Every test runs in its own temporary directory.  The last line is
#   N passed, N failed, N skipped
set -u

build=build; unit=; fuzz=; fuzz_runs=20000; integration=1; only=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--unit) unit=$2; shift ;;
	--fuzz) fuzz=$2; shift ;;
	--fuzz-runs) fuzz_runs=$2; shift ;;
	--no-integration) integration= ;;
	--only) only=$2; shift ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

src=$(cd "$(dirname "$0")/.." && pwd)
# test programs run from their own temp dirs: make their paths absolute
absolute() {
	out=
	for p in $1; do
		case $p in /*) ;; *) p=$PWD/$p ;; esac
		out="$out $p"
	done
	echo "$out"
}
unit=$(absolute "$unit"); fuzz=$(absolute "$fuzz")
build=$(cd "$build" && pwd)
passed=0; failed=0; skipped=0; failures=
tmproot=$(mktemp -d "${TMPDIR:-/tmp}/agent-tests.XXXXXX")
trap 'rm -rf "$tmproot"' EXIT INT TERM
logdir=$build/test-logs
mkdir -p "$logdir"   # logs are overwritten per test; runs may overlap

fail() { failed=$((failed + 1)); failures="$failures
  $1"; }

# ---- unit tests (cmocka)
for t in $unit; do
	name=$(basename "$t")
	variant=$(basename "$(dirname "$(dirname "$t")")")   # musl or asan
	[ "$variant" = musl ] || name="$name($variant)"
	d=$(mktemp -d "$tmproot/$name.XXXXXX")
	log=$logdir/unit-$variant-$(basename "$t").log
	( cd "$d" && TMPDIR=$d AGENT_SRC=$src AGENT_BUILD=$build "$t" ) >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0})); skipped=$((skipped + ${s:-0}))
	if [ -n "$f" ] && [ "$f" -gt 0 ]; then
		failed=$((failed + f))
		grep '^\[  FAILED  \] [a-z_]' "$log" | sed "s/^/  $name: /"
		failures="$failures
  unit $name ($f failed; $log)"
	elif [ $rc -ne 0 ]; then
		fail "unit $name exited $rc ($log)"
		tail -n 20 "$log" | sed 's/^/    /'
	fi
	echo "unit $name: ${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
done

# ---- integration tests (TAP)
if [ -n "$integration" ]; then
	for t in "$src"/tests/integration/[0-9][0-9]-*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		if [ -n "$only" ]; then
			case " $only " in *" $name "*) ;; *) continue ;; esac
		fi
		d=$(mktemp -d "$tmproot/$name.XXXXXX")
		log=$logdir/integration-$name.log
		# written under a private name, then renamed: a stray process of an
		# earlier, interrupted run can never write into this run's log
		( cd "$d" && TMPDIR=$d AGENT_SRC=$src AGENT_BUILD=$build AGENT_BIN=$build/bin \
			AGENT_TOOLS=$build/musl/tools sh "$t" ) >"$log.$$" 2>&1 </dev/null
		rc=$?
		mv -f "$log.$$" "$log"
		p=$(grep -c '^ok ' "$log" | head -n 1)
		s=$(grep -c '^ok .*# *SKIP' "$log" | head -n 1)
		f=$(grep -c '^not ok ' "$log" | head -n 1)
		p=$((p - s))
		if [ $rc -eq 77 ]; then
			reason=$(sed -n 's/^SKIP: *//p' "$log" | head -n 1)
			echo "integration $name: SKIP ${reason:-(no reason given)}"
			skipped=$((skipped + 1 + s)); passed=$((passed + p))
			continue
		fi
		passed=$((passed + p)); skipped=$((skipped + s))
		grep '^ok .*# *SKIP' "$log" | sed "s/^/  $name: /"
		if [ "$f" -gt 0 ]; then
			failed=$((failed + f))
			grep '^not ok ' "$log" | sed "s/^/  $name: /"
			failures="$failures
  integration $name ($f failed; $log)"
		elif [ $rc -ne 0 ]; then
			fail "integration $name exited $rc ($log)"
			tail -n 20 "$log" | sed 's/^/    /'
		fi
		echo "integration $name: $p passed, $f failed, $s skipped"
	done
fi

# ---- fuzz targets (short runs)
for t in $fuzz; do
	name=$(basename "$t")
	d=$(mktemp -d "$tmproot/$name.XXXXXX")
	mkdir -p "$d/corpus"
	if [ -d "$src/tests/fuzz/corpus/$name" ]; then
		cp "$src/tests/fuzz/corpus/$name"/* "$d/corpus/" 2>/dev/null
	fi
	log=$logdir/fuzz-$name.log
	( cd "$d" && "$t" -runs="$fuzz_runs" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 corpus ) >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz $name: $fuzz_runs runs, ok"
	else
		fail "fuzz $name exited $rc ($log; crash inputs in the log)"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
done

if [ -n "$failures" ]; then
	echo "failures:$failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
