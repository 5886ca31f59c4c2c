#!/bin/sh
# Crash consistency under real kills (issue "agent-install", spec §14.1): an
# `agent-install install` of a newer bundle is killed with SIGKILL at 100
# different moments, spread over the whole run (delays from 0 to a little past
# the time a full install takes here).  After each kill:
#   - `current` names a complete release whose files match its MANIFEST
#     (checked with sha256sum, independently of agent-install);
#   - runtime.env parses and has lost nothing an operator wrote;
#   - the next install succeeds and leaves no leftovers.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

AI="$AGENT_BIN/agent-install"
B="$AGENT_BIN/agent-bundle"
KILLS=${KILLS:-100}
[ -x "$AI" ] && [ -x "$B" ] && [ -x "$AGENT_BIN/agentd" ] || skip_all "programs not built"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
unset AGENTD_ROOT

make_inputs() {
	mkdir -p "$1/bin" "$1/env" "$1/runit/agentd" "$1/runit/agentd-remote-update" "$1/systemd"
	cp "$AGENT_BIN/agentd" "$1/bin/agentd"
	cp "$AI" "$1/bin/agent-install"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s %s\n' "$f" "$2" >"$1/$f"
	done
	for f in systemd/agentd.service systemd/agentd-remote-update.path \
		systemd/agentd-remote-update.service; do
		printf '# %s %s\n' "$f" "$2" >"$1/$f"
	done
	# each version's template adds a default of its own
	printf '# template %s\n# ANYSCAN_RATE_FLOOR=100000\nDEMO_DEFAULT_%s=on\n' "$2" \
		"$(echo "$2" | tr . _)" >"$1/env/runtime.env.template"
}
openssl ecparam -genkey -name prime256v1 -noout -out k.pem 2>/dev/null
openssl ec -in k.pem -pubout -out k.pub 2>/dev/null
mkdir out
make_inputs in1 1.4.0
make_inputs in2 1.5.0
N1=$("$B" build --version 1.4.0 --platform linux-x86_64 --input-dir in1 --out out \
	--source-date-epoch 1772366400 --sign k.pem) || skip_all "agent-bundle build failed"
N2=$("$B" build --version 1.5.0 --platform linux-x86_64 --input-dir in2 --out out \
	--source-date-epoch 1772366400 --sign k.pem) || skip_all "agent-bundle build failed"

# the base host: 1.4.0 installed, and an operator's runtime.env edits
BASE="$TMPDIR/base"
mkdir -p "$BASE/etc/agentd"
"$AI" install --bundle "out/$N1.tar.gz" --root "$BASE" --pubkey k.pub --service none \
	>base.out 2>&1 || { cat base.out; skip_all "base install failed"; }
cat >>"$BASE/etc/agentd/runtime.env" <<'EOF'

# operator: this host is on a 25G NIC
ANYSCAN_RATE_CEILING=3500000
UNKNOWN_OPERATOR_KEY=keep me
EOF
grep -v '^AGENT_BUNDLE_NAME=' "$BASE/etc/agentd/runtime.env" >operator-lines

# how long a full install of 1.5.0 takes here (ms), to spread the kills over it
now_ms() { date +%s%3N; }
# (the fastest of three runs, so that one slow run does not push the kills late)
best=
for _ in 1 2 3; do
	R="$TMPDIR/timing"
	cp -a "$BASE" "$R"
	t0=$(now_ms)
	"$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none >/dev/null 2>&1 ||
		skip_all "a full install of 1.5.0 fails"
	d=$(($(now_ms) - t0))
	[ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
	rm -rf "$R"
done
span=$((best + 20))
echo "# a full install takes about $((span - 20)) ms; kills spread over 0..$span ms"

# release_complete ROOT: current's files match its MANIFEST (sha256sum -c)
release_complete() {
	cur=$1/opt/agentd/current
	[ -f "$cur/MANIFEST" ] || return 1
	# MANIFEST lines: "<sha256> <mode> <size> <path>" after a header; keep files
	awk 'NF == 4 && length($1) == 64 { print $1 "  " $4 }' "$cur/MANIFEST" >"$TMPDIR/sums"
	[ -s "$TMPDIR/sums" ] && (cd "$cur" && sha256sum -c --quiet --strict "$TMPDIR/sums") >/dev/null 2>&1
}
env_kept() {
	# every operator line is still there, and the file ends with LF
	while IFS= read -r line; do
		grep -qxF -- "$line" "$1/etc/agentd/runtime.env" || return 1
	done <operator-lines
	[ "$(tail -c 1 "$1/etc/agentd/runtime.env" | od -An -c | tr -d ' ')" = '\n' ]
}
no_leftovers() {
	[ -z "$(find "$1/opt/agentd" "$1/etc/agentd" "$1/var/lib/agentd" -name '*.partial' -o -name '*.tmp.*')" ] &&
		[ ! -e "$1/opt/agentd/.transaction.json" ]
}

bad_current=0 bad_env=0 bad_next=0 bad_left=0 killed=0 finished=0
# after_kill R WHAT RC: the checks after one killed (or finished) install into R
after_kill() {
	case $3 in 137) killed=$((killed + 1)) ;; 0) finished=$((finished + 1)) ;; esac
	release_complete "$1" || { bad_current=$((bad_current + 1)); echo "# $2: current incomplete"; }
	env_kept "$1" || { bad_env=$((bad_env + 1)); echo "# $2: runtime.env lost operator lines"; }
	if "$AI" install --bundle "out/$N2.tar.gz" --root "$1" --service none >"$1.next" 2>&1 &&
		[ "$(readlink "$1/opt/agentd/current")" = "releases/$(printf %s "$N2" | sed 's/.*-//')" ]; then
		:
	else
		bad_next=$((bad_next + 1)); echo "# $2: next install failed"; sed 's/^/#   /' "$1.next" | tail -n 5
	fi
	no_leftovers "$1" || {
		bad_left=$((bad_left + 1))
		echo "# $2: leftovers after the next install:"
		find "$1/opt/agentd" "$1/etc/agentd" "$1/var/lib/agentd" -name '*.partial' -o -name '*.tmp.*' -o -name .transaction.json |
			sed "s|^$1|#   |"
	}
	env_kept "$1" || bad_env=$((bad_env + 1))
	rm -rf "$1" "$1.out" "$1.next"
}

i=0
while [ $i -lt "$KILLS" ]; do
	i=$((i + 1))
	R="$TMPDIR/r$i"
	cp -a "$BASE" "$R"
	delay_ms=$(((i - 1) * span / (KILLS - 1)))
	"$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none >"$R.out" 2>&1 &
	pid=$!
	if [ $delay_ms -gt 0 ]; then
		sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	after_kill "$R" "kill $i at ${delay_ms}ms" $?
done
echo "# $KILLS runs: $killed killed mid-install, $finished had already finished"
check_eq "after each of $KILLS kills, current is a complete release matching its MANIFEST" 0 "$bad_current"
check_eq "after each kill, runtime.env kept every operator line" 0 "$bad_env"
check_eq "after each kill, the next install succeeds" 0 "$bad_next"
check_eq "after each next install, no leftovers remain" 0 "$bad_left"
if [ "$killed" -ge $((KILLS / 2)) ]; then
	ok "most kills landed mid-install ($killed of $KILLS)"
else
	not_ok "most kills landed mid-install (only $killed of $KILLS)"
fi
# Phase 2, deterministic: SIGKILL at the Nth call of each system call that
# commits or orders a step (fsync, rename, symlink, unlink), for every N a full
# install makes, injected by strace.  Timed kills can miss the short window
# between an atomic write's temp file and its rename; these cannot.
. "$AGENT_SRC/tests/integration/lib/kill-sweep.sh"
if kill_sweep_ready "SIGKILL at every fsync/rename/symlink/unlink of an install"; then
	ks_setup() { R="$TMPDIR/s$1$2"; cp -a "$BASE" "$R"; }
	ks_run() { "$@" "$AI" install --bundle "out/$N2.tar.gz" --root "$R" --service none >"$R.out" 2>&1; }
	ks_after() { after_kill "$R" "SIGKILL at $1 call $2" "$3"; }
	bad_current=0 bad_env=0 bad_next=0 bad_left=0 killed=0 finished=0
	kill_sweep fsync,rename,renameat,symlink,unlink,unlinkat
	rm -rf "$TMPDIR/scount0" "$TMPDIR/scount0.out"
	check_eq "after a SIGKILL at each of $ks_runs system calls, current is a complete release" 0 "$bad_current"
	check_eq "after each such kill, runtime.env kept every operator line" 0 "$bad_env"
	check_eq "after each such kill, the next install succeeds" 0 "$bad_next"
	check_eq "after each such kill, the next install leaves no leftovers" 0 "$bad_left"
	check_eq "every injected kill landed (the install was killed)" "$ks_runs" "$ks_killed"
fi
done_testing
