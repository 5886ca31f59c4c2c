#!/bin/sh
# agent-install env get/upsert/remove/exec against real files
# (spec bundle-install-update.md §8, exit codes of §8.7).
. "$AGENT_SRC/tests/integration/lib/tap.sh"

AI=$AGENT_BIN/agent-install
[ -x "$AI" ] || skip_all "agent-install not built ($AI)"
cd "$TMPDIR" || exit 1

holder=
cleanup() {
	: >"$TMPDIR/release"
	if [ -n "$holder" ]; then wait "$holder" 2>/dev/null; fi
}
trap cleanup EXIT

# run CMD...: rc, out (stdout) and err (stderr) of CMD
run() {
	"$@" >out 2>err
	rc=$?
}
nl='
'

# ---- lock timeout runs in the background: the CLI waits its full 30 s
printf 'A=1\n' >locked.env
cp locked.env locked.orig
# the holder keeps the lock until the file "release" appears
flock locked.env.lock sh -c 'while [ ! -e release ]; do sleep 0.1; done' &
holder=$!
i=0
while flock -n locked.env.lock true 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
(
	"$AI" env upsert locked.env A=2 >lock.out 2>lock.err
	echo $? >lock.rc
) &
lockjob=$!

# ---- get
printf 'A=1\nA=2\nE=\nCR=x\r\nexport X=1\n# C=1\nS=  sp "q" \\n \n' >g.env
run "$AI" env get g.env A
check_eq "get: first KEY line, exit 0" "0 1" "$rc $(cat out)"
run "$AI" env get g.env E
check_eq "get: empty value found, exit 0, prints LF" "0 1" "$rc $(wc -c <out | tr -d ' ')"
run "$AI" env get g.env X
check_eq "get: export X= is not a KEY line, exit 1, nothing printed" "1 0" "$rc $(wc -c <out | tr -d ' ')"
run "$AI" env get g.env C
check_eq "get: comment is not a KEY line" "1" "$rc"
run "$AI" env get g.env S
check_eq "get: raw value, no trimming or unquoting" '0   sp "q" \n ' "$rc $(cat out)"
run "$AI" env get g.env CR
check_eq "get: trailing CR is part of the value" "0 x\\r" "$rc $(od -An -c out | tr -d ' \n' | sed 's/\\n$//')"
run "$AI" env get missing.env A
check_eq "get: unreadable file, exit 1" "1" "$rc"
check "get: unreadable file says why" grep -q "agent-install: error: cannot read missing.env: open missing.env: No such file" err
mkdir adir
run "$AI" env get adir A
check_eq "get: a directory, exit 1" "1" "$rc"
run "$AI" env get g.env
check_eq "get: missing KEY, exit 2" "2" "$rc"
run "$AI" env get g.env 'A B'
check_eq "get: invalid key, exit 2" "2" "$rc"

# ---- upsert
run "$AI" env upsert new.env B=2 A=1
check_eq "upsert: new file, exit 0" "0" "$rc"
check_eq "upsert: new file contents" "B=2${nl}A=1" "$(cat new.env)"
check_eq "upsert: summary" "added   B=2${nl}added   A=1" "$(cat out)"
check_eq "upsert: new file mode 0640" "640" "$(stat -c %a new.env)"
check_eq "upsert: lock file 0600, kept" "600" "$(stat -c %a new.env.lock)"

printf '# comment\nA=0\n\nB=x\r\nA=9\nexport A=5\nC=3' >u.env
run "$AI" env upsert u.env A=1 'D=a\nb\\c'
check_eq "upsert: exit 0" "0" "$rc"
printf '# comment\nA=1\n\nB=x\r\nA=1\nexport A=5\nC=3\nD=a\\nb\\\\c\n' >u.want
check "upsert: every KEY line replaced, others byte for byte, final LF, literal backslashes" cmp u.want u.env
check_eq "upsert: summary changed/added" "changed A=1 (was 0)${nl}added   D=a\\nb\\\\c" "$(cat out)"
check "upsert: backslash value warns" grep -q "agent-install: warning: D: value may be read differently by systemd's EnvironmentFile= than by agentd" err

run "$AI" env upsert u.env --quiet A=2
check_eq "upsert --quiet: no summary" "0 0" "$rc $(wc -c <out | tr -d ' ')"

run "$AI" env upsert u.env A=1 API_TOKEN=t0p HTTPS_PROXY=http://user:pw@proxy:3128
check_eq "upsert: masking of secrets and URL user-info" \
	"changed A=1 (was 2)${nl}added   API_TOKEN=***${nl}added   HTTPS_PROXY=http://***@proxy:3128" "$(cat out)"

# --if-absent
printf 'A=1\nE=\n' >ia.env
run "$AI" env upsert ia.env --if-absent A=2 E=3 N=4
check_eq "upsert --if-absent: present kept, empty and missing filled" "A=1${nl}E=3${nl}N=4" "$(cat ia.env)"
check_eq "upsert --if-absent: summary" "changed E=3 (was )${nl}added   N=4" "$(cat out)"

# nothing changed -> nothing written, mtime kept
printf 'A=1\nB=2' >same.env
touch -d @1000000000 same.env
ino=$(stat -c %i same.env)
run "$AI" env upsert same.env A=1 B=2
check_eq "upsert: nothing changed, exit 0, no summary" "0 0" "$rc $(wc -c <out | tr -d ' ')"
check_eq "upsert: nothing changed keeps mtime and inode" "1000000000 $ino" "$(stat -c '%Y %i' same.env)"
run "$AI" env upsert same.env --if-absent A=9
check_eq "upsert --if-absent present: mtime kept" "0 1000000000" "$rc $(stat -c %Y same.env)"
check_eq "upsert: nothing changed, no final LF added" "A=1${nl}B=2" "$(cat same.env)"

# validation (exit 2), file byte-identical afterwards
printf 'A=1\n' >v.env
cp v.env v.orig
run "$AI" env upsert v.env "A=x${nl}B=evil"
check_eq "upsert: value with newline, exit 2" "2" "$rc"
check "upsert: newline refused with a clear message" grep -q "agent-install: error: cannot upsert v.env: value for A contains a newline" err
check "upsert: file unchanged after newline refusal" cmp v.orig v.env
run "$AI" env upsert v.env 'A B=1'
check_eq "upsert: key with space, exit 2" "2" "$rc"
check "upsert: key with space refused with a clear message" grep -q "agent-install: error: cannot upsert v.env: invalid key 'A B'" err
check "upsert: file unchanged after key refusal" cmp v.orig v.env
cr=$(printf 'x\r')
run "$AI" env upsert v.env "A=$cr"
check_eq "upsert: value with CR, exit 2" "2" "$rc"
run "$AI" env upsert v.env A=1 A=2
check_eq "upsert: same key twice, exit 2" "2" "$rc"
check "upsert: same key twice message" grep -q "A given more than once" err
long=$(head -c 4097 /dev/zero | tr '\0' v)
run "$AI" env upsert v.env "A=$long"
check_eq "upsert: value of 4097 bytes, exit 2" "2" "$rc"
run "$AI" env upsert v.env "A=${long%v}"
check_eq "upsert: value of 4096 bytes, exit 0" "0" "$rc"
cp v.orig v.env
k129=$(head -c 129 /dev/zero | tr '\0' K)
run "$AI" env upsert v.env "$k129=1"
check_eq "upsert: key of 129 bytes, exit 2" "2" "$rc"
run "$AI" env upsert v.env "${k129%K}=1"
check_eq "upsert: key of 128 bytes, exit 0" "0" "$rc"
cp v.orig v.env
run "$AI" env upsert v.env NOEQUALS
check_eq "upsert: argument without =, exit 2" "2" "$rc"
run "$AI" env upsert v.env --bogus A=1
check_eq "upsert: unknown option, exit 2" "2" "$rc"
run "$AI" env upsert v.env
check_eq "upsert: no pairs, exit 2" "2" "$rc"
check "upsert: file unchanged after usage errors" cmp v.orig v.env

# I/O failures (exit 1)
run "$AI" env upsert nodir/r.env A=1
check_eq "upsert: directory missing, exit 1" "1" "$rc"
run "$AI" env upsert adir A=1
check_eq "upsert: FILE is a directory, exit 1" "1" "$rc"
head -c 1048577 /dev/zero | tr '\0' '#' >big.env
run "$AI" env upsert big.env A=1
check_eq "upsert: file over 1 MiB, exit 1" "1" "$rc"
check "upsert: file over 1 MiB message" grep -q "big.env is larger than 1048576 bytes" err

# mode, owner, symlink (§8.4)
printf 'A=1\n' >m.env
chmod 0604 m.env
"$AI" env upsert m.env A=2 >/dev/null 2>&1
check_eq "upsert: existing mode kept" "604" "$(stat -c %a m.env)"
mkdir real
printf 'A=1\n' >real/target.env
chmod 0600 real/target.env
ln -s real/target.env link.env
run "$AI" env upsert link.env B=2
check_eq "upsert through a symlink: exit 0" "0" "$rc"
check_eq "upsert through a symlink: link kept" "real/target.env" "$(readlink link.env)"
check_eq "upsert through a symlink: target written" "A=1${nl}B=2" "$(cat real/target.env)"
check_eq "upsert through a symlink: target mode kept" "600" "$(stat -c %a real/target.env)"
if [ "$(id -u)" -eq 0 ]; then
	printf 'A=1\n' >own.env
	chown 1234:5678 own.env
	"$AI" env upsert own.env A=2 >/dev/null 2>&1
	check_eq "upsert: owner and group kept (root)" "1234:5678 A=2" "$(stat -c %u:%g own.env) $(cat own.env)"
	cp own.env own.orig
	if setpriv --inh-caps=-chown --bounding-set=-chown true 2>/dev/null; then
		run setpriv --inh-caps=-chown --bounding-set=-chown "$AI" env upsert own.env A=3
		check_eq "upsert: owner cannot be preserved, exit 1" "1" "$rc"
		check "upsert: owner message" grep -q "cannot preserve owner 1234:5678" err
		check "upsert: file untouched when owner cannot be kept" cmp own.orig own.env
	else
		skip "upsert: owner cannot be preserved" "setpriv cannot drop CAP_CHOWN here"
	fi
else
	skip "upsert: owner and group kept" "needs root to chown the fixture"
fi
check_eq "no temporary file left" "" "$(find . -name '*.tmp.*')"

# ---- remove
printf 'A=1\nB=2\nA=3\n# A=4\nC=5' >r.env
run "$AI" env remove r.env A C
check_eq "remove: exit 0" "0" "$rc"
printf 'B=2\n# A=4\n' >r.want
check "remove: every KEY line dropped, others byte for byte" cmp r.want r.env
check_eq "remove: summary" "removed A${nl}removed C" "$(cat out)"
run "$AI" env remove r.env Z --quiet
check_eq "remove: absent key, exit 0, nothing printed" "0 0" "$rc $(wc -c <out | tr -d ' ')"
run "$AI" env remove nothere.env A
check_eq "remove: missing file is a no-op, exit 0" "0" "$rc"
check_eq "remove: missing file not created" "no" "$(if [ -e nothere.env ]; then echo yes; else echo no; fi)"
run "$AI" env remove r.env 'A B'
check_eq "remove: invalid key, exit 2" "2" "$rc"
run "$AI" env remove r.env
check_eq "remove: no key, exit 2" "2" "$rc"
mkdir rodir
printf 'A=1\n' >rodir/x.env
run "$AI" env remove rodir/x.env/sub A
check_eq "remove: path through a file, exit 1" "1" "$rc"

# ---- exec
printf 'FROM_FILE=1\nFROM_FILE=2\nPRESET=file\nexport EXP=1\nLIT=$(touch pwned)\n' >x.env
run env PRESET=env "$AI" env exec x.env -- sh -c 'echo "$FROM_FILE $PRESET ${EXP-unset} $LIT"'
check_eq "exec: first KEY line wins, environment wins, literal values" \
	'0 1 env unset $(touch pwned)' "$rc $(cat out)"
check_eq "exec: file never run as shell" "no" "$(if [ -e pwned ]; then echo yes; else echo no; fi)"
run "$AI" env exec x.env -- sh -c 'exit 7'
check_eq "exec: CMD's status" "7" "$rc"
run "$AI" env exec x.env -- ./no-such-command
check_eq "exec: CMD cannot be executed, exit 1" "1" "$rc"
run "$AI" env exec missing.env -- sh -c 'echo ran'
check_eq "exec: missing file warns and runs CMD" "0 ran" "$rc $(cat out)"
check "exec: missing file warning" grep -q "agent-install: warning: missing.env" err
run "$AI" env exec x.env sh -c true
check_eq "exec: without --, exit 2" "2" "$rc"
run "$AI" env exec x.env --
check_eq "exec: no CMD, exit 2" "2" "$rc"

# ---- usage
run "$AI" env
check_eq "env without subcommand, exit 2" "2" "$rc"
run "$AI" env frobnicate
check_eq "env unknown subcommand, exit 2" "2" "$rc"
run "$AI" env --help
check_eq "env --help, exit 0" "0" "$rc"

# ---- concurrency: 32 processes, each its own key
pids=
i=0
while [ $i -lt 32 ]; do
	"$AI" env upsert conc.env "K$i=v$i" --quiet &
	pids="$pids $!"
	i=$((i + 1))
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
check_eq "32 concurrent upserts all exit 0" "0" "$fails"
missing=
i=0
while [ $i -lt 32 ]; do
	[ "$("$AI" env get conc.env "K$i")" = "v$i" ] || missing="$missing K$i"
	i=$((i + 1))
done
check_eq "32 concurrent upserts: every key survives" "" "$missing"
check_eq "32 concurrent upserts: 32 lines" "32" "$(wc -l <conc.env | tr -d ' ')"
check_eq "32 concurrent upserts: no temp file" "" "$(find . -name '.conc.env.tmp.*')"

# two processes upserting different keys 100 times each
writer() {
	j=0
	while [ $j -lt 100 ]; do
		"$AI" env upsert two.env "$1$j=$j" --quiet || return 1
		j=$((j + 1))
	done
}
writer P &
wp=$!
writer Q &
wq=$!
okp=0
wait $wp && okp=$((okp + 1))
wait $wq && okp=$((okp + 1))
check_eq "two writers x 100: both finish" "2" "$okp"
check_eq "two writers x 100: 200 keys, nothing lost" "200" "$(grep -c '^[PQ][0-9]*=' two.env)"
check_eq "two writers x 100: no temp file" "" "$(find . -name '.two.env.tmp.*')"

# ---- the lock timeout started at the top
wait "$lockjob"
: >release
wait "$holder"
holder=
check_eq "upsert: lock held by another writer, exit 1" "1" "$(cat lock.rc)"
check "upsert: lock timeout message" grep -q "locked.env is locked by another writer" lock.err
check "upsert: locked file unchanged" cmp locked.orig locked.env

# ---- SIGKILL at every system call that writes, syncs, renames or removes,
# injected by strace: runtime.env is always the old or the new file, never a
# mix, and the next recovery removes the temp file a kill left behind
. "$AGENT_SRC/tests/integration/lib/kill-sweep.sh"
if kill_sweep_ready "SIGKILL at every write/fsync/rename/unlink/fchown/fchmod of an upsert"; then
	K=$TMPDIR/kroot
	mkdir -p "$K/etc/agentd" "$K/opt/agentd"
	printf '# operator notes\nANYSCAN_RATE_CEILING=3500000\n\n# keep\nUNKNOWN=1\n' >kill.orig
	cp kill.orig "$K/etc/agentd/runtime.env"
	"$AI" env upsert "$K/etc/agentd/runtime.env" ANYSCAN_RATE_CEILING=4000000 NEW_KEY=on >/dev/null 2>&1
	cp "$K/etc/agentd/runtime.env" kill.new
	mixed=0 left=0
	ks_setup() { cp kill.orig "$K/etc/agentd/runtime.env"; }
	ks_run() {
		"$@" "$AI" env upsert "$K/etc/agentd/runtime.env" ANYSCAN_RATE_CEILING=4000000 \
			NEW_KEY=on >/dev/null 2>&1
	}
	ks_after() {
		if ! cmp -s kill.orig "$K/etc/agentd/runtime.env" &&
			! cmp -s kill.new "$K/etc/agentd/runtime.env"; then
			mixed=$((mixed + 1)); echo "# SIGKILL at $1 call $2: runtime.env is neither old nor new"
		fi
		"$AI" recover --root "$K" >/dev/null 2>&1
		[ -z "$(find "$K/etc/agentd" -name '*.tmp.*')" ] ||
			{ left=$((left + 1)); echo "# SIGKILL at $1 call $2: a temp file survived recover"; }
	}
	kill_sweep write,fsync,rename,unlink,fchown,fchmod
	check_eq "after a SIGKILL at each of $ks_runs system calls, runtime.env is the old or the new file" 0 "$mixed"
	check_eq "every injected kill landed" "$ks_runs" "$ks_killed"
	check_eq "recover removes what a killed upsert left" 0 "$left"
fi

done_testing
