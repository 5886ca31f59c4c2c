#!/bin/sh
# The fleet lifecycle end to end (issue "Fleet lifecycle"; bundle-install-update.md
# §13, §15, §18, §19): releases made by the real pipeline are served by nginx
# with TLS on loopback (a test CA made here); `curl -fsSL URL/install.sh | sh`
# installs agentd into a temporary root and starts `agentd run` under a real
# runsvdir (through --service command=W, W a small wrapper around sv); a second
# release is published to the channel, the running agentd notices it and
# writes the update request, `agent-install watch` runs the update, and the
# new version is healthy; then a release whose agentd never becomes healthy is
# published and rolled back automatically.
#
# make demo runs this file too (LIFECYCLE_NARRATE=1 adds the narration).
. "$AGENT_SRC/tests/integration/lib/tap.sh"
. "$AGENT_SRC/tests/integration/lib/sv-wrapper.sh"

say() { [ -n "${LIFECYCLE_NARRATE:-}" ] && printf '\n-- %s\n' "$*"; :; }
for c in nginx openssl curl runsvdir sv musl-gcc; do
	command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
done
case $(uname -m) in x86_64 | amd64) ;; *) skip_all "release pipeline builds linux-x86_64 only" ;; esac

B=$AGENT_BUILD
T=$TMPDIR
R=$T/root
SVD=$T/sv
SCAN=$T/scan
W=$T/www
SUP=$T/sup.sh
STATUS=$R/var/lib/agentd/remote-update.status
mkdir -p "$R/etc/agentd" "$SVD/agentd" "$SCAN" "$W" "$T/ngtmp"
unset AGENTD_ROOT AGENTD_CHANNEL_URL AGENTD_CA_FILE
NGX='' RSVD='' WATCH=''

cleanup() {
	[ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null && wait "$WATCH" 2>/dev/null
	sv_teardown "$SVD" "$SCAN" "$RSVD"
	[ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
	[ -n "$NGX" ] && wait "$NGX" 2>/dev/null
	:
}
trap cleanup EXIT INT TERM

# ---- three versions of the programs -----------------------------------------------------------
say "building the programs as versions 1.0.0, 1.1.0 and 1.2.0"
for v in 1.0.0 1.1.0 1.2.0; do
	MAKEFLAGS='' MAKELEVEL='' make -s -C "$AGENT_SRC" BUILD="$B" versioned PV=$v >"$T/make-$v.log" 2>&1 ||
		{ cat "$T/make-$v.log"; skip_all "make versioned PV=$v failed"; }
done
# 1.2.0 is the bad release: its agentd passes its self-test but `run` exits at
# once and never writes health.json (a deliberately broken stand-in, the one
# test double here: no real agentd can be made to fail that way on purpose)
cat >"$T/bad.c" <<'EOF'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) { puts("agentd 1.2.0"); return 0; }
	if (argc > 1 && strcmp(argv[1], "self-test") == 0) return 0;
	fputs("agentd 1.2.0: broken on purpose\n", stderr);
	return 1;
}
EOF
musl-gcc -static -O2 -o "$B/versions/1.2.0/agentd" "$T/bad.c" || skip_all "cannot build the bad agentd"

# ---- the release server -----------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
	-out "$T/ca.crt" -subj "/CN=lifecycle test CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	2>/dev/null || skip_all "cannot make a test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
	-out "$T/srv.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null || skip_all "cannot make a server certificate"
up=
for try in 1 2 3 4 5; do
	PORT=$((20000 + ($$ * 7 + try * 977) % 30000))
	cat >"$T/nginx.conf" <<EOF
daemon off;
user root;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ngtmp/b; proxy_temp_path $T/ngtmp/p;
	fastcgi_temp_path $T/ngtmp/f; uwsgi_temp_path $T/ngtmp/u; scgi_temp_path $T/ngtmp/s;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name localhost;
		ssl_certificate $T/srv.crt; ssl_certificate_key $T/srv.key;
		root $W;
	}
}
EOF
	echo probe >"$W/probe"
	nginx -c "$T/nginx.conf" -p "$T" >"$T/nginx.out" 2>&1 </dev/null &
	NGX=$!
	i=0
	while [ $i -lt 50 ]; do
		if curl -fsS --cacert "$T/ca.crt" -o /dev/null "https://localhost:$PORT/probe" 2>/dev/null; then
			up=1
			break
		fi
		kill -0 "$NGX" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$up" ] && break
	kill "$NGX" 2>/dev/null
	wait "$NGX" 2>/dev/null
	NGX=
done
[ -n "$up" ] || skip_all "nginx did not come up on 127.0.0.1 ($(tail -n 2 "$T/nginx.err" 2>/dev/null))"
URL=https://localhost:$PORT
ok "nginx serves the release directory over TLS at $URL"

# ---- releases through the real pipeline ---------------------------------------------------------
"$AGENT_BIN/agent-bundle" key generate "$T/release-key.pem" >/dev/null 2>&1 ||
	skip_all "cannot make a release key"
# the channel expires SDE + 90 days: a fixed past SDE would be refused as
# expired, so the releases are stamped now
SDE=$(date +%s)
# release VERSION: dist in $T/dist-VERSION; prints nothing
release() {
	sh "$AGENT_SRC/release/release.sh" VERSION="$1" RELEASE_KEY="$T/release-key.pem" \
		SOURCE_DATE_EPOCH="$SDE" BASE_URL="$URL" BUILD="$T/rb-$1" \
		BINDIR="$B/versions/$1" DIST="$T/dist-$1" >"$T/release-$1.log" 2>&1
}
# publish VERSION: as an operator should (README, "Release pipeline"): every
# file by copy and rename, the bundle and its files before the channel, so a
# worker never reads a channel naming a bundle that is still being copied
publish() {
	mkdir -p "$W/channels"
	for f in "$T/dist-$1"/* "$T/dist-$1"/channels/*.sig "$T/dist-$1"/channels/*.json; do
		[ -f "$f" ] || continue
		d=$W/${f#"$T/dist-$1"/}
		cp "$f" "$d.part" && mv "$d.part" "$d"
	done
}
fp_of() { tar -xzOf "$(ls "$T/dist-$1"/agent-bundle-*.tar.gz)" --wildcards '*/MANIFEST' | sha256sum | cut -c1-64; }
for v in 1.0.0 1.1.0 1.2.0; do
	if release $v; then ok "release $v made by release/release.sh"; else
		not_ok "release $v made by release/release.sh"; sed 's/^/#   /' "$T/release-$v.log" | tail -n 20
		skip_all "no release $v"
	fi
done
F1=$(fp_of 1.0.0) F2=$(fp_of 1.1.0) F3=$(fp_of 1.2.0)
publish 1.0.0
say "published 1.0.0 ($(printf %.12s "$F1")) at $URL"

# ---- the host: runit supervision through the command= backend ------------------------------------
# the run script loads runtime.env literally (agent-install env exec), as the
# bundle's runit script does, and runs the release's agentd under the root
cat >"$SVD/agentd/run" <<EOF
#!/bin/sh
exec >>'$T/agentd.log' 2>&1
AGENTD_ROOT='$R'; export AGENTD_ROOT
exec '$R/opt/agentd/bin/agent-install' env exec '$R/etc/agentd/runtime.env' -- '$R/opt/agentd/bin/agentd' run
EOF
chmod 755 "$SVD/agentd/run"
sv_wrapper "$SUP" "$SVD" "$SCAN"
runsvdir -P "$SCAN" </dev/null >/dev/null 2>&1 &
RSVD=$!
cp "$T/ca.crt" "$R/etc/agentd/update-ca.pem"

svpid() { sv status "$SVD/agentd" 2>/dev/null | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p'; }
hfp() { sed -n 's/.*"bundle_fingerprint": *"\([0-9a-f]*\)".*/\1/p' "$R/run/agentd/health.json" 2>/dev/null; }
hpid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$R/run/agentd/health.json" 2>/dev/null; }
hver() { sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$R/run/agentd/health.json" 2>/dev/null; }
st() { sed -n 's/^STATUS=//p' "$STATUS" 2>/dev/null; }
# wait_for SECONDS CMD...: poll CMD every second
wait_for() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 1
		n=$((n - 1))
	done
	return 1
}
healthy_with() { [ "$(hfp)" = "$1" ] && [ -n "$(svpid)" ] && [ "$(hpid)" = "$(svpid)" ]; }

# ---- bootstrap: curl | sh ------------------------------------------------------------------------
say "curl -fsSL $URL/install.sh | sh -s -- --root R --service command=W --channel $URL/channels/stable.json"
if curl -fsSL --cacert "$T/ca.crt" "$URL/install.sh" | CURL_CA_BUNDLE="$T/ca.crt" sh -s -- \
	--root "$R" --service "command=$SUP" --channel "$URL/channels/stable.json" \
	--set AGENTD_CA_FILE=/etc/agentd/update-ca.pem --set AGENTD_CHANNEL_POLL_SECONDS=60 \
	--set AGENTD_HEALTH_INTERVAL_SECONDS=1 --set AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=20 \
	--set AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$T/bootstrap.log" 2>&1; then
	ok "curl | sh installed 1.0.0 into the root"
else
	not_ok "curl | sh installed 1.0.0 into the root"
	sed 's/^/#   /' "$T/bootstrap.log" | tail -n 30
fi
[ -n "${LIFECYCLE_NARRATE:-}" ] && sed 's/^/   | /' "$T/bootstrap.log" | tail -n 12
check "runit runs agentd and health.json names 1.0.0" wait_for 30 healthy_with "$F1"
check_eq "installed.json names 1.0.0" "$F1" \
	"$(sed -n 's/.*"fingerprint": *"\([0-9a-f]*\)".*/\1/p' "$R/opt/agentd/installed.json" | head -n 1)"

# ---- the update path: agent-install watch ----------------------------------------------------------
AGENTD_ROOT=$R "$R/opt/agentd/bin/agent-install" watch --root "$R" >"$T/watch.log" 2>&1 &
WATCH=$!
publish 1.1.0
say "published 1.1.0 ($(printf %.12s "$F2")); agentd polls the channel within 30-72 s"
check "agentd run noticed 1.1.0 and the update through watch succeeded" \
	wait_for 240 sh -c "[ \"\$(sed -n 's/^STATUS=//p' '$STATUS')\" = success ]"
check "the new version is healthy (health.json fingerprint and pid)" wait_for 30 healthy_with "$F2"
check_eq "health.json version" 1.1.0 "$(hver)"
check "installed.json names 1.1.0" grep -q "\"fingerprint\": \"$F2\"" "$R/opt/agentd/installed.json"
check "the update request was consumed" test ! -e "$R/var/lib/agentd/remote-update.request"
[ -n "${LIFECYCLE_NARRATE:-}" ] && sed 's/^/   | /' "$STATUS"

# ---- a release that never becomes healthy is rolled back ------------------------------------------
publish 1.2.0
say "published 1.2.0 ($(printf %.12s "$F3")), whose agentd never becomes healthy"
check "the bad release was rolled back automatically (status rolled_back)" \
	wait_for 300 sh -c "[ \"\$(sed -n 's/^STATUS=//p' '$STATUS')\" = rolled_back ]"
check "1.1.0 runs again and is healthy" wait_for 30 healthy_with "$F2"
check "installed.json records 1.2.0 as failed" grep -q "$F3" "$R/opt/agentd/installed.json"
check_eq "current is the 1.1.0 release" "$(printf %.12s "$F2")" \
	"$(basename "$(readlink "$R/opt/agentd/current")")"
[ -n "${LIFECYCLE_NARRATE:-}" ] && sed 's/^/   | /' "$STATUS"
if grep -q 'update.*exit.*3\|status 3\|exited 3' "$T/watch.log"; then
	ok "watch saw the update exit 3 (reverted)"
else
	skip "watch saw the update exit 3 (reverted)" "watch does not log the updater's exit status"
fi
sed 's/^/# watch: /' "$T/watch.log" | tail -n 15
# shellcheck disable=SC2154 # tap_failed is set by tap.sh
[ "$tap_failed" -eq 0 ] || sed 's/^/# agentd: /' "$T/agentd.log" | tail -n 40
done_testing
