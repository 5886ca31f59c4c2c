#!/bin/sh
# agent-install status / rollback / recover / uninstall against a temporary
# root holding fake releases made of real files (spec bundle-install-update.md
# §7, §13.5-§13.7, §14.3, §16).  The MANIFEST of each release is written here
# with sha256sum, so the installer's re-check is cross-checked against GNU
# coreutils.  The service backend is command=PATH with a small supervisor that
# runs the release's (fake) agentd, which writes /run/agentd/health.json.
# The fake agentd stays here deliberately: the test makes one release report
# "failing" on demand ($AGENTD_ROOT/fake-status-<fp12>), which the real agentd
# cannot be made to do, and the releases are hand-made to cross-check the
# re-check against coreutils.  The real `agentd run` under runit is tested in
# 70-install-runit.sh and 71-update-*.sh.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

AI="$AGENT_BIN/agent-install"
[ -x "$AI" ] || skip_all "agent-install not built"
command -v sha256sum >/dev/null 2>&1 || skip_all "sha256sum not installed"

ROOT="$TMPDIR/root"
SUP="$TMPDIR/sup.sh"
mkdir -p "$ROOT"
export AGENTD_ROOT="$ROOT"

cleanup() { [ -x "$SUP" ] && AGENTD_ROOT="$ROOT" "$SUP" stop agentd >/dev/null 2>&1; :; }
trap cleanup EXIT

# ---- fake release builder ---------------------------------------------------

# put FILE MODE CONTENT...
put() {
	f=$1; m=$2; shift 2
	mkdir -p "$(dirname "$f")"
	printf '%s\n' "$@" >"$f"
	chmod "$m" "$f"
}

# mkrel VERSION -> prints fp12; builds $ROOT/opt/agentd/releases/<fp12>
mkrel() {
	v=$1
	d="$TMPDIR/build-$v"
	rm -rf "$d"
	mkdir -p "$d"
	put "$d/bin/agent-install" 755 '#!/bin/sh' "# agent-install $v" 'exit 0'
	# the fake agentd: health.json with the fingerprint of its own release
	# (resolved executable path, §22.1); status from $AGENTD_ROOT/fake-status-<fp12>
	put "$d/bin/agentd" 755 '#!/bin/sh' "# agentd $v" \
		'rel=$(dirname "$(dirname "$(readlink -f "$0")")")' \
		'fp=$(sha256sum "$rel/MANIFEST" | cut -d" " -f1)' \
		'fp12=$(printf %s "$fp" | cut -c1-12)' \
		'mkdir -p "$AGENTD_ROOT/run/agentd"' \
		'while :; do' \
		'  st=ok; [ -f "$AGENTD_ROOT/fake-status-$fp12" ] && st=$(cat "$AGENTD_ROOT/fake-status-$fp12")' \
		'  t=$(date -u +%Y-%m-%dT%H:%M:%SZ)' \
		'  printf "{\"bundle_fingerprint\": \"%s\", \"pid\": %s, \"status\": \"%s\", \"updated_at\": \"%s\", \"version\": \"%s\"}\n" "$fp" $$ "$st" "$t" '"$v"' >"$AGENTD_ROOT/run/agentd/.health.json.tmp.$$"' \
		'  mv "$AGENTD_ROOT/run/agentd/.health.json.tmp.$$" "$AGENTD_ROOT/run/agentd/health.json"' \
		'  sleep 1' \
		'done'
	put "$d/bin/reserve-control-bandwidth.sh" 755 '#!/bin/sh' 'exit 0'
	put "$d/bin/tune-scanner-host.sh" 755 '#!/bin/sh' 'exit 0'
	put "$d/env/runtime.env.template" 644 "# runtime.env template $v" 'AGENT_REMOTE_UPDATE_ENABLED=true'
	put "$d/install.sh" 755 '#!/bin/sh' 'exit 0'
	put "$d/runit/agentd-remote-update/run" 755 '#!/bin/sh' 'exec /opt/agentd/bin/agent-install watch'
	put "$d/runit/agentd/run" 755 '#!/bin/sh' 'exec /opt/agentd/bin/agentd run'
	put "$d/systemd/agentd-remote-update.path" 644 '[Path]' 'PathExists=/var/lib/agentd/remote-update.request'
	put "$d/systemd/agentd-remote-update.service" 644 '[Service]' 'Type=oneshot'
	put "$d/systemd/agentd.service" 644 '[Service]' "ExecStart=/opt/agentd/bin/agentd run # $v"
	{
		printf 'format 1\nversion %s\nplatform linux-x86_64\nsource_date_epoch 1772366400\n' "$v"
		(cd "$d" && find . -type f ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort) |
			while read -r p; do
				h=$(sha256sum "$d/$p" | cut -d' ' -f1)
				if [ -x "$d/$p" ]; then m=0755; else m=0644; fi
				s=$(wc -c <"$d/$p" | tr -d ' ')
				printf '%s %s %s %s\n' "$h" "$m" "$s" "$p"
			done
	} >"$d/MANIFEST"
	fp12=$(sha256sum "$d/MANIFEST" | cut -c1-12)
	mkdir -p "$ROOT/opt/agentd/releases"
	rm -rf "$ROOT/opt/agentd/releases/$fp12"
	cp -R "$d" "$ROOT/opt/agentd/releases/$fp12"
	echo "$fp12"
}

fp_of() { sha256sum "$ROOT/opt/agentd/releases/$1/MANIFEST" | cut -d' ' -f1; }
name_of() { echo "agent-bundle-linux-x86_64__20260301120000-$2-$1"; }

cat >"$SUP" <<'EOF'
#!/bin/sh
# command=PATH supervisor for the test (spec §11.4): start|stop|restart|is-active agentd
pidf="$AGENTD_ROOT/sup.pid"
stop() { if [ -f "$pidf" ]; then kill "$(cat "$pidf")" 2>/dev/null; rm -f "$pidf"; fi; }
case $1 in
start | restart)
	stop
	rm -f "$AGENTD_ROOT/run/agentd/health.json"
	"$AGENTD_ROOT/opt/agentd/bin/agentd" </dev/null >/dev/null 2>&1 &
	echo $! >"$pidf" ;;
stop) stop ;;
is-active) [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null ;;
*) exit 2 ;;
esac
EOF
chmod 755 "$SUP"

# ---- nothing installed ---------------------------------------------------------

check_fails "status: nothing installed exits 1" "$AI" status
out=$("$AI" status --json 2>/dev/null)
check_eq "status --json says installed false" '"installed": false,' \
	"$(printf '%s\n' "$out" | grep '"installed"' | sed 's/^ *//')"
check_fails "rollback: nothing installed" "$AI" rollback
check "uninstall: nothing to uninstall is success" "$AI" uninstall

# ---- a host with two releases, B current ----------------------------------------

A=$(mkrel 1.3.2)
B=$(mkrel 1.4.0)
FA=$(fp_of "$A")
FB=$(fp_of "$B")
ln -s "releases/$B" "$ROOT/opt/agentd/current"
mkdir -p "$ROOT/opt/agentd/bin" "$ROOT/etc/agentd" "$ROOT/var/lib/agentd"
for f in agentd agent-install tune-scanner-host.sh reserve-control-bandwidth.sh; do
	ln -s "../current/bin/$f" "$ROOT/opt/agentd/bin/$f"
done
cat >"$ROOT/opt/agentd/installed.json" <<EOF
{
  "format": 1,
  "version": "1.4.0",
  "bundle_name": "$(name_of "$B" 1.4.0)",
  "fingerprint": "$FB",
  "platform": "linux-x86_64",
  "installed_at": "2026-03-01T12:02:40Z",
  "signature": "verified",
  "key_id": "8d1f6a0b93c2e457",
  "service": "command=$SUP",
  "previous": {
    "version": "1.3.2",
    "bundle_name": "$(name_of "$A" 1.3.2)",
    "fingerprint": "$FA"
  },
  "history": ["$B", "$A"],
  "failed": []
}
EOF
printf '%s\n' '# operator settings' 'AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10' \
	'AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1' \
	"AGENT_BUNDLE_NAME=$(name_of "$B" 1.4.0)" >"$ROOT/etc/agentd/runtime.env"
"$SUP" start agentd

check "the shell-made MANIFEST passes sha256sum -c" \
	sh -c "cd '$ROOT/opt/agentd/releases/$A' && tail -n +5 MANIFEST | awk '{print \$1\"  \"\$4}' | sha256sum -c --quiet"

out=$("$AI" status 2>&1)
rc=$?
check_eq "status exits 0 when installed" 0 "$rc"
check_eq "status names the installed version" "installed   1.4.0 $(name_of "$B" 1.4.0)" \
	"$(printf '%s\n' "$out" | grep '^installed')"
check_eq "status lists the releases" "releases    $B (current), $A (previous)" \
	"$(printf '%s\n' "$out" | grep '^releases' | sed "s/$A (previous), $B (current)/$B (current), $A (previous)/")"
check "status --verify passes on an intact release" "$AI" status --verify
out=$("$AI" status --json --verify 2>/dev/null)
check "status --json has verify ok" sh -c "printf '%s' '$out' | grep -q '\"verify\": \"ok\"'"
check "status --json reports the service active" \
	sh -c "printf '%s' '$out' | tr -d '\n ' | grep -q '\"service\":{\"backend\":\"command=$SUP\",\"active\":true}'"

# ---- rollback to previous and back ------------------------------------------------

check "rollback to the previous release" "$AI" rollback
check_eq "current points at the previous release (relative link)" "releases/$A" \
	"$(readlink "$ROOT/opt/agentd/current")"
check_eq "bin links still go through current" "../current/bin/agentd" \
	"$(readlink "$ROOT/opt/agentd/bin/agentd")"
check "installed.json names 1.3.2 with previous 1.4.0" \
	sh -c "grep -q '\"version\": \"1.3.2\",' '$ROOT/opt/agentd/installed.json' && grep -q '\"fingerprint\": \"$FB\"' '$ROOT/opt/agentd/installed.json'"
check "published installed.json is identical" cmp "$ROOT/opt/agentd/installed.json" "$ROOT/var/lib/agentd/installed.json"
check_eq "status file says rolled_back" "STATUS=rolled_back" \
	"$(head -n 1 "$ROOT/var/lib/agentd/remote-update.status")"
check_eq "status message" "MESSAGE=manual rollback from 1.4.0 ($B) to 1.3.2 ($A)" \
	"$(sed -n 3p "$ROOT/var/lib/agentd/remote-update.status")"
check_eq "runtime.env AGENT_BUNDLE_NAME follows" "$(name_of "$A" 1.3.2)" \
	"$("$AI" env get "$ROOT/etc/agentd/runtime.env" AGENT_BUNDLE_NAME)"
check "operator settings kept in runtime.env" grep -q '^# operator settings$' "$ROOT/etc/agentd/runtime.env"
check "health.json shows the rolled-back release" grep -q "\"bundle_fingerprint\": \"$FA\"" "$ROOT/run/agentd/health.json"
check "template copy from the current release" grep -q '1.3.2' "$ROOT/etc/agentd/runtime.env.template"
check_fails "no journal left" test -e "$ROOT/opt/agentd/.transaction.json"

check "rollback twice returns to where it started" "$AI" rollback
check_eq "current is 1.4.0 again" "releases/$B" "$(readlink "$ROOT/opt/agentd/current")"
out=$("$AI" rollback --to "$B" 2>&1)
check_eq "rollback --to current: already current" "agent-install: already current at 1.4.0 ($B)" "$out"
check_fails "rollback --to an unknown release" "$AI" rollback --to 0123456789ab
check_fails "rollback --to malformed is a usage error" "$AI" rollback --to ../../etc
"$AI" rollback --to XYZ >/dev/null 2>&1
check_eq "usage error exit code 2" 2 "$?"

# ---- tampered target: refused, nothing changed ----------------------------------------

cp "$ROOT/opt/agentd/releases/$A/install.sh" "$TMPDIR/install.sh.saved"
echo '# tampered' >>"$ROOT/opt/agentd/releases/$A/install.sh"
out=$("$AI" rollback 2>&1)
rc=$?
check_eq "tampered target refused (exit 1)" 1 "$rc"
check "message names the re-check" sh -c "printf '%s' '$out' | grep -q 're-check failed'"
check_eq "current unchanged" "releases/$B" "$(readlink "$ROOT/opt/agentd/current")"
cp "$TMPDIR/install.sh.saved" "$ROOT/opt/agentd/releases/$A/install.sh"
chmod 755 "$ROOT/opt/agentd/releases/$A/install.sh"

# ---- unhealthy target: original restored, exit 3 ----------------------------------------

echo failing >"$ROOT/fake-status-$A"
"$AI" rollback >"$TMPDIR/rb.out" 2>&1
check_eq "unhealthy rollback target exits 3" 3 "$?"
check_eq "original release current again" "releases/$B" "$(readlink "$ROOT/opt/agentd/current")"
check_eq "status failed" "STATUS=failed" "$(head -n 1 "$ROOT/var/lib/agentd/remote-update.status")"
check "status message names the target and the reason" \
	grep -q '^MESSAGE=rollback target 1.3.2 unhealthy: timed out after 10s (status failing); 1.4.0 restored$' \
	"$ROOT/var/lib/agentd/remote-update.status"
check "installed.json restored" grep -q '"version": "1.4.0",' "$ROOT/opt/agentd/installed.json"
check "health.json from the restored release" grep -q "\"bundle_fingerprint\": \"$FB\"" "$ROOT/run/agentd/health.json"
rm -f "$ROOT/fake-status-$A"

# ---- recover after a crash mid-rollback ------------------------------------------------

# simulate: killed after switching to A, journal says rollback B -> A
rm "$ROOT/opt/agentd/current"
ln -s "releases/$A" "$ROOT/opt/agentd/current"
printf '{"format": 1, "op": "rollback", "phase": "switched", "from": "%s", "to": "%s", "started_at": "2026-03-02T07:58:03Z"}\n' \
	"$FB" "$FA" >"$ROOT/opt/agentd/.transaction.json"
mkdir -p "$ROOT/opt/agentd/releases/$A.partial" "$ROOT/opt/agentd/releases/.incoming"
# stray temps: of writers that are gone, and of a live writer (this shell)
dead=$(sh -c 'echo $$')
touch "$ROOT/opt/agentd/releases/.incoming/x.part" "$ROOT/etc/agentd/.runtime.env.tmp.$dead" \
	"$ROOT/etc/agentd/.runtime.env.tmp.$$"
mkdir -p "$ROOT/var/lib/agentd"
touch "$ROOT/var/lib/agentd/.remote-update.status.tmp.$dead" "$ROOT/var/lib/agentd/.remote-update.status.tmp.$$"
"$AI" recover >"$TMPDIR/rec.out" 2>&1
check_eq "recover reverts an interrupted switch (exit 3)" 3 "$?"
check_eq "current restored to the journal's from" "releases/$B" "$(readlink "$ROOT/opt/agentd/current")"
check_fails "journal removed" test -e "$ROOT/opt/agentd/.transaction.json"
check_fails "partial release removed" test -e "$ROOT/opt/agentd/releases/$A.partial"
check_fails "incoming emptied" test -e "$ROOT/opt/agentd/releases/.incoming/x.part"
check_fails "stray temp file removed" test -e "$ROOT/etc/agentd/.runtime.env.tmp.$dead"
check "a fresh /etc/agentd temp whose writer lives is kept (an upsert may be writing it)" \
	test -e "$ROOT/etc/agentd/.runtime.env.tmp.$$"
rm -f "$ROOT/etc/agentd/.runtime.env.tmp.$$"
check_fails "a fresh /var/lib/agentd temp whose writer is gone is removed" \
	test -e "$ROOT/var/lib/agentd/.remote-update.status.tmp.$dead"
check "a fresh /var/lib/agentd temp whose writer lives is kept (§14.3, 10 minutes)" \
	test -e "$ROOT/var/lib/agentd/.remote-update.status.tmp.$$"
rm -f "$ROOT/var/lib/agentd/.remote-update.status.tmp.$$"
check "kept release A survives" test -d "$ROOT/opt/agentd/releases/$A"
check "recover with nothing to do" "$AI" recover

# ---- status --verify on a damaged current release ---------------------------------------

chmod 644 "$ROOT/opt/agentd/releases/$B/bin/tune-scanner-host.sh"
check_fails "status --verify fails on a damaged current release" "$AI" status --verify
chmod 755 "$ROOT/opt/agentd/releases/$B/bin/tune-scanner-host.sh"

# ---- uninstall ---------------------------------------------------------------------------

echo 'REQUESTED_AT=2026-03-01T11:59:00Z' >"$ROOT/var/lib/agentd/remote-update.request"
echo '{}' >"$ROOT/var/lib/agentd/rate-calibration.json"
check "uninstall" "$AI" uninstall
check_fails "supervisor stopped agentd" "$SUP" is-active agentd
check_fails "/opt/agentd removed" test -e "$ROOT/opt/agentd"
check_fails "published installed.json removed" test -e "$ROOT/var/lib/agentd/installed.json"
check_fails "request file removed" test -e "$ROOT/var/lib/agentd/remote-update.request"
check_fails "status file removed" test -e "$ROOT/var/lib/agentd/remote-update.status"
check "runtime.env kept" test -f "$ROOT/etc/agentd/runtime.env"
check "calibration kept" test -f "$ROOT/var/lib/agentd/rate-calibration.json"
out=$("$AI" uninstall 2>&1)
check_eq "uninstall twice: nothing to uninstall" "agent-install: nothing to uninstall under $ROOT" "$out"
check "uninstall --purge" "$AI" uninstall --purge
check_fails "/etc/agentd purged" test -e "$ROOT/etc/agentd"
check_fails "/var/lib/agentd purged" test -e "$ROOT/var/lib/agentd"
check_fails "/run/agentd purged" test -e "$ROOT/run/agentd"
check "nothing outside the root's own entries remains" sh -c "[ -z \"\$(find '$ROOT' -name 'agentd*' ! -name 'fake-*')\" ]"

done_testing
