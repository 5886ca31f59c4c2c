#!/bin/sh
# install, rollback and update with a real runit supervisor (spec
# bundle-install-update.md §11.3, §11.4, §13.5, §16.1): runsvdir supervises
# the real `agentd run` of the current release (under the root through
# AGENTD_ROOT); agent-install drives it through --service command=PATH with a
# small wrapper around sv.  Every restart is seen in `sv status` (a new pid)
# and in health.json (the release's fingerprint and that pid).  Bundles are
# built with the real agent-bundle.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
. "$AGENT_SRC/tests/integration/lib/sv-wrapper.sh"

AI="$AGENT_BIN/agent-install"
B="$AGENT_BIN/agent-bundle"
SDE=1772366400
[ -x "$AI" ] && [ -x "$B" ] && [ -x "$AGENT_BIN/agentd" ] || skip_all "programs not built"
command -v runsvdir >/dev/null 2>&1 || skip_all "runsvdir (runit) not installed"
command -v sv >/dev/null 2>&1 || skip_all "sv (runit) not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
case $(uname -m) in x86_64 | amd64) PLAT=linux-x86_64 ;; aarch64 | arm64) PLAT=linux-aarch64 ;;
*) skip_all "no platform key for $(uname -m)" ;; esac
unset AGENTD_ROOT AGENTD_CHANNEL_URL

ROOT="$TMPDIR/root"
SVD="$TMPDIR/sv"
SCAN="$TMPDIR/scan"
SUP="$TMPDIR/sup-runit.sh"
STATUS="$ROOT/var/lib/agentd/remote-update.status"
mkdir -p "$ROOT/etc/agentd" "$SVD/agentd" "$SCAN"
RSVD=

cleanup() {
	sv_teardown "$SVD" "$SCAN" "$RSVD"
	:
}
trap cleanup EXIT

openssl ecparam -genkey -name prime256v1 -noout -out k.pem 2>/dev/null
openssl ec -in k.pem -pubout -out k.pub 2>/dev/null
# make_bundle VERSION -> prints the bundle path (the real agentd inside)
make_bundle() {
	d="$TMPDIR/in-$1"
	mkdir -p "$d/bin" "$d/env" "$d/runit/agentd" "$d/runit/agentd-remote-update" "$d/systemd" out
	cp "$AGENT_BIN/agentd" "$AI" "$d/bin/"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s\n' "$f" >"$d/$f"
	done
	for f in env/runtime.env.template systemd/agentd.service \
		systemd/agentd-remote-update.path systemd/agentd-remote-update.service; do
		printf '# %s %s\n' "$f" "$1" >"$d/$f"
	done
	n=$("$B" build --version "$1" --platform "$PLAT" --input-dir "$d" --out out \
		--source-date-epoch $SDE --sign k.pem) || return 1
	echo "$TMPDIR/out/$n.tar.gz"
}
BA=$(make_bundle 1.3.2) && BB=$(make_bundle 1.4.0) && BC=$(make_bundle 1.5.0) ||
	skip_all "agent-bundle build failed"
fp() { tar -xzOf "$1" --wildcards '*/MANIFEST' | sha256sum | cut -d' ' -f1; }
FA=$(fp "$BA"); FB=$(fp "$BB"); FC=$(fp "$BC")
A=$(printf %.12s "$FA"); C=$(printf %.12s "$FC")

# the runit service: the real agentd run of the current release, under the root
cat >"$SVD/agentd/run" <<EOF
#!/bin/sh
exec 2>&1
AGENTD_ROOT='$ROOT'; export AGENTD_ROOT
AGENTD_HEALTH_INTERVAL_SECONDS=1; export AGENTD_HEALTH_INTERVAL_SECONDS
exec '$ROOT/opt/agentd/bin/agentd' run
EOF
chmod 755 "$SVD/agentd/run"
sv_wrapper "$SUP" "$SVD" "$SCAN"
printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=30 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

runsvdir -P "$SCAN" </dev/null >/dev/null 2>&1 &
RSVD=$!
svpid() { sv status "$SVD/agentd" 2>/dev/null | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p'; }
hfp() { sed -n 's/.*"bundle_fingerprint": *"\([0-9a-f]*\)".*/\1/p' "$ROOT/run/agentd/health.json"; }
hpid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$ROOT/run/agentd/health.json"; }
# seen WHAT FP OLDPID: sv shows a new pid, and health.json that pid and FP
seen() {
	p=$(svpid)
	check "$1: sv status shows agentd restarted (pid $p, was $3)" test -n "$p" -a "$p" != "$3"
	check_eq "$1: health.json fingerprint" "$2" "$(hfp)"
	check_eq "$1: health.json pid is sv's pid" "$p" "$(hpid)"
}

check "install 1.3.2 starts agentd through the sv wrapper" \
	"$AI" install --root "$ROOT" --bundle "$BA" --pubkey k.pub --service "command=$SUP"
seen "install 1.3.2" "$FA" none
check "runit reports agentd running" "$SUP" is-active
out=$("$AI" status --root "$ROOT" --json)
check "status sees the runit-supervised agentd as active" \
	sh -c "printf '%s' '$out' | tr -d '\n ' | grep -q '\"active\":true'"

p=$(svpid)
check "install 1.4.0 restarts through runit and passes the health check" \
	"$AI" install --root "$ROOT" --bundle "$BB" --service "command=$SUP"
seen "install 1.4.0" "$FB" "$p"

p=$(svpid)
check "rollback restarts through runit and passes the health check" "$AI" rollback --root "$ROOT"
check_eq "current is the previous release" "releases/$A" "$(readlink "$ROOT/opt/agentd/current")"
seen "rollback to 1.3.2" "$FA" "$p"
check_eq "status rolled_back" "STATUS=rolled_back" "$(head -n 1 "$STATUS")"

p=$(svpid)
check "rollback back" "$AI" rollback --root "$ROOT"
seen "rollback to 1.4.0" "$FB" "$p"

p=$(svpid)
check "update to 1.5.0 restarts through runit and passes the health check" \
	"$AI" update --root "$ROOT" --bundle "$BC"
check_eq "current is 1.5.0" "releases/$C" "$(readlink "$ROOT/opt/agentd/current")"
seen "update to 1.5.0" "$FC" "$p"
check_eq "status success" "STATUS=success" "$(head -n 1 "$STATUS")"

# a supervised crash loop never passes: the run script exits at once
mv "$SVD/agentd/run" "$TMPDIR/run.saved"
printf '#!/bin/sh\nsleep 1\nexit 1\n' >"$SVD/agentd/run"
chmod 755 "$SVD/agentd/run"
sed -i 's/TIMEOUT_SECONDS=30/TIMEOUT_SECONDS=10/' "$ROOT/etc/agentd/runtime.env"
"$AI" rollback --root "$ROOT" >rb.out 2>&1
check_eq "crash-looping service: rollback and restore both fail (exit 4)" 4 "$?"
check_eq "status rollback_failed" "STATUS=rollback_failed" "$(head -n 1 "$STATUS")"
check_eq "current left on the original release" "releases/$C" "$(readlink "$ROOT/opt/agentd/current")"
mv "$TMPDIR/run.saved" "$SVD/agentd/run"

check "stop through the sv wrapper" "$SUP" stop
done_testing
