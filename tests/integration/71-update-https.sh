#!/bin/sh
# agent-install install --url and update --url / --channel / --from-request
# over HTTPS (spec bundle-install-update.md §13.2, §13.8, §17, §24.2, §24.3):
# nginx on loopback with a test CA made here (AGENTD_CA_FILE), a real runit
# supervisor running the real `agentd run` under the root, driven through
# --service command=<wrapper around sv>.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

command -v nginx >/dev/null 2>&1 || skip_all "nginx not installed"
command -v curl >/dev/null 2>&1 || skip_all "curl not installed"
NGX=
stop_nginx() {
	[ -f "$TMPDIR/nginx.pid" ] && kill "$(cat "$TMPDIR/nginx.pid")" 2>/dev/null
	[ -n "$NGX" ] && wait "$NGX" 2>/dev/null
	:
}
CLEANUP_EXTRA=stop_nginx
. "$AGENT_SRC/tests/integration/lib/update-fixture.sh"

# Deliberately broken stand-ins (the real agentd is used everywhere else; the
# bundle rules want an ELF bin/agentd, so they are built here): "unhealthy"
# passes its self-test but its `run` exits at once and never writes
# health.json.
CC=${MUSL_GCC:-musl-gcc}
command -v "$CC" >/dev/null 2>&1 || skip_all "$CC not installed (needed for the broken stand-ins)"
cat >standin.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "self-test") == 0) {
		puts(SELF_TEST_STATUS == 0 ? "ok all checks" : "FAIL sha256: broken on purpose");
		return SELF_TEST_STATUS;
	}
	sleep(1);
	return 1;
}
EOF
"$CC" -static -O2 -DSELF_TEST_STATUS=0 -o agentd-unhealthy standin.c || skip_all "cannot build a stand-in"

A=$(make_bundle 1.3.2 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
Bn=$(make_bundle 1.4.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
U=$(make_bundle 1.5.0 agentd-unhealthy) || skip_all "agent-bundle build failed"
C=$(make_bundle 1.6.0 "$AGENT_BIN/agentd") || skip_all "agent-bundle build failed"
FA=$(fp "$A"); FB=$(fp "$Bn"); FC=$(fp "$C")
B12=$(printf %.12s "$FB"); C12=$(printf %.12s "$FC")

# ---- runit: the supervised service is the real `agentd run` under the root ---
start_runit

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

# ---- the release server: nginx with a test CA ---------------------------------------------------
W="$TMPDIR/www"
mkdir -p "$W/channels" "$TMPDIR/ngtmp"
for f in "$A" "$Bn" "$U" "$C"; do
	cp "$f" "$TMPDIR/out/$(basename "$f" .tar.gz).sig" "$TMPDIR/out/$(basename "$f" .tar.gz).sha256" "$W/"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-subj "/CN=update test CA" -days 2 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || skip_all "cannot make a test CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext \
	-out srv.crt 2>/dev/null || skip_all "cannot make a test server certificate"
up=
for try in 1 2 3 4 5; do
	PORT=$((20000 + ($$ * 7 + try * 977) % 30000))
	cat >nginx.conf <<EOF
daemon off;
user root;
pid $TMPDIR/nginx.pid;
error_log $TMPDIR/nginx.err;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMPDIR/ngtmp/b; proxy_temp_path $TMPDIR/ngtmp/p;
	fastcgi_temp_path $TMPDIR/ngtmp/f; uwsgi_temp_path $TMPDIR/ngtmp/u; scgi_temp_path $TMPDIR/ngtmp/s;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name localhost;
		ssl_certificate $TMPDIR/srv.crt; ssl_certificate_key $TMPDIR/srv.key;
		root $W;
	}
}
EOF
	nginx -c "$TMPDIR/nginx.conf" -p "$TMPDIR" >nginx.out 2>&1 </dev/null &
	NGX=$!
	i=0
	while [ $i -lt 50 ]; do
		if curl -fsS --cacert ca.crt -o /dev/null "https://localhost:$PORT/$(basename "$A")" 2>/dev/null; then
			up=1; break
		fi
		kill -0 "$NGX" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -n "$up" ] && break
	kill "$NGX" 2>/dev/null; wait "$NGX" 2>/dev/null; NGX=
done
[ -n "$up" ] || skip_all "nginx did not start: $(tail -n 2 nginx.err 2>/dev/null)"
BASE="https://localhost:$PORT"
export AGENTD_CA_FILE="$TMPDIR/ca.crt"

# offer BUNDLE VERSION: channels/stable.json (relative url) signed with k.pem
offer() {
	cat >"$W/channels/stable.json" <<EOF
{
  "format": 1,
  "channel": "stable",
  "version": "$2",
  "expires": "2099-01-01T00:00:00Z",
  "rollout_percent": 100,
  "platforms": {
    "$PLAT": {
      "bundle": "$(basename "$1")",
      "url": "../$(basename "$1")",
      "sha256": "$(sha256sum "$1" | cut -d' ' -f1)",
      "size": $(wc -c <"$1" | tr -d ' '),
      "fingerprint": "$(fp "$1")"
    }
  }
}
EOF
	"$B" sign --key k.pem "$W/channels/stable.json" --out "$W/channels/stable.json.sig" >/dev/null
}

printf '%s\n' AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10 \
	AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1 >"$ROOT/etc/agentd/runtime.env"

# ---- install --url ----------------------------------------------------------------------------------
mkdir -p "$TMPDIR/r2"
"$AI" install --root "$TMPDIR/r2" --url "http://localhost:$PORT/$(basename "$A")" --pubkey k.pub >i.out 2>&1
check_eq "install --url http:// refused (exit 1)" 1 "$?"
check "says insecure URL refused" grep -q "insecure URL refused" i.out
AGENTD_CA_FILE="$TMPDIR/srv.crt" "$AI" install --root "$TMPDIR/r2" --url "$BASE/$(basename "$A")" --pubkey k.pub >i.out 2>&1
check_eq "install --url with a CA file that does not sign the server: exit 1" 1 "$?"
check_fails "nothing installed by the refused downloads" test -e "$TMPDIR/r2/opt/agentd/installed.json"
"$AI" install --root "$ROOT" --url "$BASE/$(basename "$A")" --pubkey k.pub --service "command=$SUP" >i.out 2>&1
rc=$?
check_eq "install --url over HTTPS with AGENTD_CA_FILE" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' i.out
check "install --url verified the signature fetched beside the bundle" grep -q "signature verified" i.out
check_eq "health.json shows 1.3.2" "$FA" "$(hfp)"
check "no download leftovers in .incoming" test -z "$(ls -A "$ROOT/opt/agentd/releases/.incoming")"

# ---- update --url --------------------------------------------------------------------------------
p0=$(svpid)
"$AI" update --root "$ROOT" --url "$BASE/$(basename "$Bn")" >u.out 2>&1
rc=$?
check_eq "update --url: exit 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' u.out
check_eq "current is 1.4.0" "releases/$B12" "$(cur)"
check_eq "status success" success "$(st)"
check_eq "health.json from 1.4.0" "$FB" "$(hfp)"
p1=$(svpid)
check "agentd restarted (new pid)" test -n "$p1" -a "$p1" != "$p0"

# a .sha256 beside the bundle that does not match
snap s1
printf '%064d  %s\n' 0 "$(basename "$U")" >"$W/$(basename "$U" .tar.gz).sha256"
"$AI" update --root "$ROOT" --url "$BASE/$(basename "$U")" >u.out 2>&1
check_eq "update --url with a mismatching .sha256: exit 1" 1 "$?"
check "reason sha256-mismatch" grep -q "sha256-mismatch" "$STATUS"
snap s2
check "the refusal left everything untouched" cmp s1 s2
"$AI" update --root "$ROOT" --url "$BASE/missing-1.9.9.tar.gz" >u.out 2>&1
check_eq "update --url of a missing bundle: exit 1" 1 "$?"
check "status says not found" grep -q "not found" "$STATUS"

# ---- update --channel https ----------------------------------------------------------------------
offer "$C" 1.6.0
"$AI" update --root "$ROOT" --channel "$BASE/channels/stable.json" >u.out 2>&1
rc=$?
check_eq "update --channel over HTTPS: exit 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' u.out
check_eq "current is 1.6.0" "releases/$C12" "$(cur)"
check_eq "health.json from 1.6.0" "$FC" "$(hfp)"
check "message: updated 1.4.0 -> 1.6.0" grep -q "^MESSAGE=updated 1.4.0 ($B12) -> 1.6.0 ($C12) in" "$STATUS"

# ---- --from-request naming the https channel: already current ----------------------------------------
REQ="$ROOT/var/lib/agentd/remote-update.request"
printf 'REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=worker-0042\nSOURCE=channel\nCHANNEL_URL=%s\n' \
	"$BASE/channels/stable.json" >"$REQ.tmp" && mv "$REQ.tmp" "$REQ"
p2=$(svpid)
"$AI" update --root "$ROOT" --from-request >u.out 2>&1
check_eq "request for the current release: exit 0" 0 "$?"
check "status success: already current" grep -q "^MESSAGE=already current at 1.6.0 ($C12)$" "$STATUS"
check_fails "request consumed" test -e "$REQ"
check_eq "nothing restarted" "$p2" "$(svpid)"

# ---- channel problems over HTTPS -------------------------------------------------------------------
snap s3
offer "$U" 1.5.0
rm "$W/$(basename "$U")"
"$AI" update --root "$ROOT" --channel "$BASE/channels/stable.json" --allow-downgrade >u.out 2>&1
check_eq "channel naming a missing bundle: exit 1" 1 "$?"
check "status says not found" grep -q "not found" "$STATUS"
cp "$W/channels/stable.json" "$W/channels/beta.json"
cp "$W/channels/stable.json.sig" "$W/channels/beta.json.sig"
"$AI" update --root "$ROOT" --channel "$BASE/channels/beta.json" >u.out 2>&1
check_eq "a stable manifest served as beta is refused: exit 1" 1 "$?"
"$AI" update --root "$ROOT" --channel "http://localhost:$PORT/channels/stable.json" >u.out 2>&1
check_eq "an http channel URL is refused: exit 1" 1 "$?"
check "says insecure URL refused" grep -q "insecure URL refused" "$STATUS"
snap s4
check "channel refusals left everything untouched" cmp s3 s4

check "stop through the sv wrapper" "$SUP" stop
done_testing
