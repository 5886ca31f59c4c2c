# shellcheck shell=sh disable=SC2034 # the variables are used by the tests that source this
# Shared setup of 70-install-runit and the 71-update-* tests (sourced after tap.sh): the programs,
# a root with a runit scan directory and service directory, the cleanup that
# stops runsvdir (plus $CLEANUP_EXTRA, a command a test may name), a release
# key pair (k.pem/k.pub) and another key (other.pem), make_bundle,
# start_runit (the supervised `agentd run`) and the read-back helpers.
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

ROOT="$TMPDIR/root"
SVD="$TMPDIR/sv"
SCAN="$TMPDIR/scan"
SUP="$TMPDIR/sup.sh"
STATUS="$ROOT/var/lib/agentd/remote-update.status"
mkdir -p "$ROOT" "$SVD/agentd" "$SCAN" "$ROOT/etc/agentd"
unset AGENTD_ROOT AGENTD_CHANNEL_URL AGENTD_CA_FILE
RSVD=

cleanup() {
	${CLEANUP_EXTRA:-:}
	sv_teardown "$SVD" "$SCAN" "$RSVD"
	:
}
trap cleanup EXIT

# ---- bundles built with the real agent-bundle --------------------------------
openssl ecparam -genkey -name prime256v1 -noout -out k.pem 2>/dev/null
openssl ec -in k.pem -pubout -out k.pub 2>/dev/null
openssl ecparam -genkey -name prime256v1 -noout -out other.pem 2>/dev/null

# make_bundle VERSION AGENTD -> prints the bundle path
make_bundle() {
	d="$TMPDIR/in-$1"
	rm -rf "$d"
	mkdir -p "$d/bin" "$d/env" "$d/runit/agentd" "$d/runit/agentd-remote-update" "$d/systemd"
	cp "$2" "$d/bin/agentd"
	cp "$AI" "$d/bin/agent-install"
	for f in bin/reserve-control-bandwidth.sh bin/tune-scanner-host.sh install.sh \
		runit/agentd/run runit/agentd-remote-update/run; do
		printf '#!/bin/sh\necho %s\n' "$f" >"$d/$f"
	done
	printf '# runtime.env template %s\n' "$1" >"$d/env/runtime.env.template"
	for f in systemd/agentd.service systemd/agentd-remote-update.path \
		systemd/agentd-remote-update.service; do
		printf '# %s %s\n' "$f" "$1" >"$d/$f"
	done
	mkdir -p "$TMPDIR/out"
	n=$("$B" build --version "$1" --platform "$PLAT" --input-dir "$d" --out "$TMPDIR/out" \
		--source-date-epoch $SDE --sign k.pem) || return 1
	echo "$TMPDIR/out/$n.tar.gz"
}

# fp BUNDLE -> its fingerprint (SHA-256 of its MANIFEST), by GNU tar and sha256sum
fp() { tar -xzOf "$1" --wildcards '*/MANIFEST' | sha256sum | cut -d' ' -f1; }

# start_runit: the supervised service is the real `agentd run` under the
# root, driven through the sv wrapper $SUP; runsvdir's pid in RSVD
start_runit() {
	cat >"$SVD/agentd/run" <<EOF
#!/bin/sh
exec 2>&1
AGENTD_ROOT='$ROOT'; export AGENTD_ROOT
AGENTD_HEALTH_INTERVAL_SECONDS=1; export AGENTD_HEALTH_INTERVAL_SECONDS
exec '$ROOT/opt/agentd/bin/agentd' run
EOF
	chmod 755 "$SVD/agentd/run"
	sv_wrapper "$SUP" "$SVD" "$SCAN"
	runsvdir -P "$SCAN" </dev/null >/dev/null 2>&1 &
	RSVD=$!
}

# what the tests read back
svpid() { sv status "$SVD/agentd" 2>/dev/null | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p'; }
hfp() { sed -n 's/.*"bundle_fingerprint": *"\([0-9a-f]*\)".*/\1/p' "$ROOT/run/agentd/health.json"; }
hpid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$ROOT/run/agentd/health.json"; }
st() { sed -n 's/^STATUS=//p' "$STATUS"; }
cur() { readlink "$ROOT/opt/agentd/current"; }
# a snapshot of what a refused update must not touch
snap() {
	{
		cur
		cat "$ROOT/opt/agentd/installed.json" "$ROOT/etc/agentd/runtime.env"
		ls "$ROOT/opt/agentd/releases"
		svpid
	} >"$1" 2>&1
}
