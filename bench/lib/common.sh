# shellcheck shell=sh disable=SC2034 # REL_* and PLAT are used by the benchmarks that source this
# Shared by bench/install.sh and bench/update.sh (sourced, not run): the
# benchtool helper (bench/lib/benchtool.c, built into the cwd), statistics,
# and a release bundle made by release/release.sh exactly as `make release`
# runs it, but with BUILD and DIST in the benchmark's temporary directory
# (the repository's dist/ and build outputs are never touched).

now_ns() { date +%s%N; }
# ms NS -> milliseconds with one decimal
ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# median and max of the numbers on stdin (one per line)
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -n | tail -n 1; }
# lt A B: A < B (numbers, may have decimals)
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
metmissed() { if lt "$1" "$2"; then echo met; else echo missed; fi; }
say() { echo >&2 "bench: $*"; }

# bench_need_ns: SKIP unless date gives nanoseconds
bench_need_ns() {
	case $(date +%N) in
	'' | *N*) echo "SKIP: date +%N (nanoseconds) is not supported here"; exit 0 ;;
	esac
}

# bench_tool: build ./benchtool or print SKIP and exit
bench_tool() {
	for cc in ${CC:-} cc gcc musl-gcc; do
		command -v "$cc" >/dev/null 2>&1 || continue
		"$cc" -std=c11 -O2 -o benchtool "$AGENT_SRC/bench/lib/benchtool.c" 2>benchtool.err && return 0
	done
	echo "SKIP: cannot compile bench/lib/benchtool.c (no working C compiler)"
	exit 0
}

# bench_platform: the platform key of this machine, or SKIP
bench_platform() {
	case $(uname -m) in
	x86_64 | amd64) PLAT=linux-x86_64 ;;
	aarch64 | arm64) PLAT=linux-aarch64 ;;
	*) echo "SKIP: no platform key for $(uname -m)"; exit 0 ;;
	esac
}

# bench_version: VERSION of the built programs (what make release must be given)
bench_version() {
	V=$("$AGENT_BIN/agent-install" --version 2>/dev/null) && V=${V#agent-install }
	[ -n "$V" ] || { echo "SKIP: $AGENT_BIN/agent-install --version failed (run make)"; exit 0; }
}

# bump V K: V's MAJOR.MINOR.(PATCH+K), dropping any pre-release part
bump() {
	_c=${1%%-*}
	printf '%s.%s\n' "${_c%.*}" $((${_c##*.} + $2))
}

# bench_release [VAR=value]...: release/release.sh as `make release` runs it
# (SOURCE_DATE_EPOCH fixed so no git call is needed), BUILD=./rel, DIST=./dist.
# Sets REL_NS (wall time), REL_NAME, REL_BUNDLE, REL_STAGE, REL_KEY, REL_PUB.
bench_release() {
	rm -rf rel dist
	_s=$(now_ns)
	sh "$AGENT_SRC/release/release.sh" VERSION="$V" SOURCE_DATE_EPOCH=1772366400 \
		BUILD="$PWD/rel" BINDIR="$AGENT_BIN" DIST="$PWD/dist" "$@" >release.out 2>release.err ||
		return 1
	_e=$(now_ns)
	REL_NS=$((_e - _s))
	REL_BUNDLE=$(ls "$PWD"/dist/agent-bundle-*.tar.gz) || return 1
	REL_NAME=$(basename "$REL_BUNDLE" .tar.gz)
	REL_STAGE=$PWD/rel/stage/$PLAT
	REL_KEY=$PWD/rel/dev-release-key.pem
	REL_PUB=$PWD/dist/release.pub
	[ -d "$REL_STAGE" ] && [ -f "$REL_KEY" ] && [ -f "$REL_PUB" ]
}

# bench_bundle VERSION OUTDIR: another signed bundle of the staged release
# tree with another version (so another fingerprint); prints its path
bench_bundle() {
	mkdir -p "$2"
	_n=$("$AGENT_BIN/agent-bundle" build --version "$1" --platform "$PLAT" --input-dir "$REL_STAGE" \
		--out "$2" --sign "$REL_KEY" --source-date-epoch 1772366400) || return 1
	echo "$2/$_n.tar.gz"
}
