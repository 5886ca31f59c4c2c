#!/bin/sh
# agentd fetch (lib/http + TLS) against real servers on loopback: nginx and
# openssl s_server with a test CA made here, tinyproxy for CONNECT, and the
# canned-response server (fake_imds --raw) for chunked bodies and stalls.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

A=$AGENT_BIN/agentd
FAKE=$AGENT_TOOLS/fake_imds
T=$TMPDIR
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
[ -x "$FAKE" ] || skip_all "fake_imds not built (make tools)"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	[ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT INT TERM

# a port nobody listens on now: bind an ephemeral one, then let it go
free_port() {
	rm -f "$T/fp"
	"$FAKE" --port-file "$T/fp" >/dev/null 2>&1 </dev/null & fp=$!
	i=0; while [ ! -s "$T/fp" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill $fp; wait $fp 2>/dev/null
	cat "$T/fp"
}
wait_port() { # port
	i=0
	while [ $i -lt 100 ]; do
		# curl exits 7 only when nothing accepts the connection
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null
		[ $? -ne 7 ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	return 1
}
start_fake() { # portfile args... (sets $fport; not in $(...): the server would hold the pipe)
	pf=$1; shift
	rm -f "$pf"
	"$FAKE" --port-file "$pf" "$@" >/dev/null 2>&1 </dev/null & pids="$pids $!"
	i=0; while [ ! -s "$pf" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	fport=$(cat "$pf")
}

# ---- the test PKI
mkcert() { # name SAN [ca]
	ca=${3:-ca}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.csr" -subj "/CN=$1" 2>/dev/null &&
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$2" \
		>"$T/$1.ext" &&
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$ca.crt" -CAkey "$T/$ca.key" -CAcreateserial \
		-days 2 -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
}
mkca() { # name
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" \
		-out "$T/$1.crt" -subj "/CN=$1 test CA" -days 2 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
}
mkca ca && mkca otherca &&
mkcert good "DNS:update.test,DNS:localhost,IP:127.0.0.1,IP:::1" &&
mkcert wrongname "DNS:other.test" &&
mkcert unknown "DNS:update.test" otherca &&
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/self.key" \
	-out "$T/self.crt" -subj "/CN=update.test" -days 2 -addext subjectAltName=DNS:update.test \
	2>/dev/null || skip_all "cannot make test certificates with openssl"
# an expired certificate: openssl ca takes explicit dates
mkdir -p "$T/cadb" && : >"$T/cadb/index.txt" && echo 01 >"$T/cadb/serial"
cat >"$T/ca.cnf" <<EOC
[ca]
default_ca = d
[d]
database = $T/cadb/index.txt
serial = $T/cadb/serial
new_certs_dir = $T/cadb
default_md = sha256
policy = p
x509_extensions = x
[p]
commonName = supplied
[x]
subjectAltName = DNS:update.test
extendedKeyUsage = serverAuth
basicConstraints = CA:FALSE
EOC
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/expired.key" \
	-out "$T/expired.csr" -subj "/CN=update.test" 2>/dev/null
openssl ca -batch -config "$T/ca.cnf" -cert "$T/ca.crt" -keyfile "$T/ca.key" \
	-in "$T/expired.csr" -out "$T/expired.crt" -startdate 20200101000000Z \
	-enddate 20200102000000Z -notext >/dev/null 2>&1 || skip_all "openssl ca failed"

# fetch via --resolve so certificates can name update.test
fetch() { # port path [args]
	p=$1; u=$2; shift 2
	timeout 20 "$A" fetch --cafile "$T/ca.crt" --resolve "update.test:$p:127.0.0.1" \
		"https://update.test:$p$u" "$@"
}
expect_refused() { # desc port expected-text
	if fetch "$2" / -o "$T/x" >"$T/out" 2>&1; then
		not_ok "$1 (accepted)"
	elif grep -q "$3" "$T/out" && [ ! -e "$T/x" ]; then
		ok "$1: $(tail -n 1 "$T/out")"
	else
		not_ok "$1"; sed 's/^/#   /' "$T/out"
	fi
}

# ---- openssl s_server: one refused certificate at a time
sserver() { # port args...
	p=$1; shift
	openssl s_server -accept "127.0.0.1:$p" -www -quiet "$@" >/dev/null 2>&1 </dev/null &
	pids="$pids $!"; sp=$!
	wait_port "$p"
}
for c in wrongname:"does not match the host name" expired:"has expired" \
	self:"self-signed certificate" unknown:"not signed by a trusted CA"; do
	name=${c%%:*}; msg=${c#*:}
	p=$(free_port)
	sserver "$p" -cert "$T/$name.crt" -key "$T/$name.key"
	expect_refused "$name certificate refused" "$p" "$msg"
	kill "$sp"; wait "$sp" 2>/dev/null
done
p=$(free_port)
sserver "$p" -cert "$T/good.crt" -key "$T/good.key"
check "good chain from openssl s_server" fetch "$p" / -o "$T/s.html"
check "insecure flag accepts an unknown CA" timeout 20 "$A" fetch --insecure-skip-verify \
	--cafile "$T/otherca.crt" --resolve "update.test:$p:127.0.0.1" "https://update.test:$p/" -o "$T/x2"
check_fails "system CA bundle does not trust the test CA" timeout 20 "$A" fetch \
	--resolve "update.test:$p:127.0.0.1" "https://update.test:$p/" -o "$T/x3"
check "AGENTD_CA_FILE is honoured" env AGENTD_CA_FILE="$T/ca.crt" timeout 20 "$A" fetch \
	--resolve "update.test:$p:127.0.0.1" "https://update.test:$p/" -o "$T/x4"
check "IP address checked against an IP SAN" timeout 20 "$A" fetch --cafile "$T/ca.crt" \
	"https://127.0.0.1:$p/" -o "$T/x5"
kill "$sp"; wait "$sp" 2>/dev/null
p=$(free_port)
if sserver "$p" -cert "$T/good.crt" -key "$T/good.key" -tls1 -cipher 'DEFAULT@SECLEVEL=0'; then
	expect_refused "TLS 1.0-only server refused" "$p" "TLS 1.2 or later"
	kill "$sp"; wait "$sp" 2>/dev/null
fi
# AES-GCM against OpenSSL (deps/mbedtls-gcm-aesni-bulk.patch: four blocks at
# a time with AES-NI): servers that offer only AES-GCM, bodies of sizes around
# the block (16), bulk (64) and record (16384) boundaries, compared byte for
# byte.  A wrong GHASH fails the record's tag; a wrong keystream the cmp.
mkdir -p "$T/gcm"
for n in 1 15 16 17 63 64 65 127 4095 16383 16384 16385 65537 1048583; do
	head -c "$n" /dev/urandom >"$T/gcm/b$n"
done
for v in "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384" \
	"-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256" "-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384"; do
	p=$(free_port)
	# shellcheck disable=SC2086 # $v: the protocol and cipher options, split on purpose
	(cd "$T/gcm" && exec openssl s_server -accept "127.0.0.1:$p" -WWW -quiet \
		-cert "$T/good.crt" -key "$T/good.key" $v >/dev/null 2>&1 </dev/null) &
	sp=$!; pids="$pids $sp"
	if ! wait_port "$p"; then
		skip "AES-GCM bodies ($v)" "openssl s_server did not start"
		continue
	fi
	bad=
	for f in "$T"/gcm/b*; do
		fetch "$p" "/${f##*/}" -o "$T/gcm.out" >/dev/null 2>&1 && cmp -s "$f" "$T/gcm.out" ||
			bad="$bad ${f##*/}"
	done
	check_eq "AES-GCM bodies of 14 sizes intact ($v)" "" "$bad"
	kill "$sp"; wait "$sp" 2>/dev/null
done
# a TLS server that never answers the request: the idle timeout fires
p=$(free_port)
mkfifo "$T/quiet"
openssl s_server -accept "127.0.0.1:$p" -quiet -cert "$T/good.crt" -key "$T/good.key" \
	<"$T/quiet" >/dev/null 2>&1 &
sp=$!; pids="$pids $sp"
exec 9>"$T/quiet" # held open and silent: the server never answers
wait_port "$p"
if fetch "$p" / --idle-timeout 1 -o "$T/x" >"$T/out" 2>&1; then not_ok "TLS stall times out"
elif grep -q "timed out" "$T/out"; then ok "TLS stall times out: $(tail -n 1 "$T/out")"
else not_ok "TLS stall times out"; sed 's/^/#   /' "$T/out"; fi
kill "$sp"; wait "$sp" 2>/dev/null
exec 9>&-

# ---- canned responses over plain HTTP
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\nTrailer: 1\r\n\r\n' >"$T/chunked.raw"
start_fake "$T/rp1" --raw "$T/chunked.raw"; rp=$fport
out=$(timeout 20 "$A" fetch "http://127.0.0.1:$rp/" 2>/dev/null)
check_eq "chunked body decoded" "hello, world" "$out"
check_fails "chunked body over --max-bytes refused" timeout 20 "$A" fetch --max-bytes 11 \
	"http://127.0.0.1:$rp/" -o "$T/c"
check_fails "no partial file left behind" test -e "$T/c"
printf 'HTTP/1.1 200 OK\r\nContent-' >"$T/stall.raw"
start_fake "$T/rp2" --raw "$T/stall.raw" --raw-stall; sp2=$fport
if timeout 20 "$A" fetch --idle-timeout 1 "http://127.0.0.1:$sp2/" >"$T/out" 2>&1; then
	not_ok "stall mid-header times out"
elif grep -q "timed out waiting for the response header" "$T/out"; then
	ok "stall mid-header times out"
else not_ok "stall mid-header times out"; sed 's/^/#   /' "$T/out"; fi

# ---- nginx: Content-Length bodies, redirects, IPv6, chunked through a proxy_pass
command -v nginx >/dev/null 2>&1 || { skip "nginx tests" "nginx not installed"; done_testing; exit; }
mkdir -p "$T/www" "$T/ngtmp"
head -c 3000000 /dev/urandom >"$T/www/big.bin"
np=$(free_port); hp=$(free_port)
v6=
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then v6="listen [::1]:$np ssl;"; fi
cat >"$T/nginx.conf" <<EOC
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
		listen 127.0.0.1:$np ssl; $v6
		server_name update.test;
		ssl_certificate $T/good.crt; ssl_certificate_key $T/good.key;
		root $T/www;
		location = /r1 { return 302 /r2; }
		location = /r2 { return 301 https://update.test:$np/r3; }
		location = /r3 { return 307 /big.bin; }
		location = /loop { return 302 /loop; }
		location = /tohttp { return 302 http://127.0.0.1:$hp/; }
		location = /chunked { proxy_pass http://127.0.0.1:$rp; proxy_http_version 1.1; }
	}
}
EOC
nginx -c "$T/nginx.conf" -p "$T" >"$T/nginx.out" 2>&1 </dev/null &
pids="$pids $!"
if ! wait_port "$np"; then
	skip "nginx tests" "nginx did not start: $(cat "$T/nginx.err" "$T/nginx.out" 2>/dev/null | tail -n 2)"
	done_testing; exit
fi
check "nginx: Content-Length body" fetch "$np" /big.bin -o "$T/big1"
check "nginx: body intact" cmp "$T/www/big.bin" "$T/big1"
check "nginx: 302 -> 301 (absolute) -> 307 chain followed" fetch "$np" /r1 -o "$T/big2"
check "nginx: chain ends at the file" cmp "$T/www/big.bin" "$T/big2"
if fetch "$np" /loop -o "$T/x" >"$T/out" 2>&1; then not_ok "redirect loop refused"
elif grep -q "too many redirects" "$T/out"; then ok "redirect loop refused"
else not_ok "redirect loop refused"; sed 's/^/#   /' "$T/out"; fi
if fetch "$np" /tohttp -o "$T/x" >"$T/out" 2>&1; then not_ok "https -> http redirect refused"
elif grep -q "redirect from https to http refused" "$T/out"; then ok "https -> http redirect refused"
else not_ok "https -> http redirect refused"; sed 's/^/#   /' "$T/out"; fi
if fetch "$np" /big.bin --max-bytes 1000 -o "$T/x" >"$T/out" 2>&1; then
	not_ok "body over --max-bytes refused"
elif grep -q "exceeds the limit of 1000 bytes" "$T/out"; then ok "body over --max-bytes refused"
else not_ok "body over --max-bytes refused"; sed 's/^/#   /' "$T/out"; fi
out=$(fetch "$np" /chunked 2>"$T/out")
check_eq "nginx: chunked body over TLS" "hello, world" "$out"
out=$(fetch "$np" /nope -o "$T/x" 2>&1)
case $out in *"not found (HTTP 404)"*) ok "404 reported as not found" ;;
*) not_ok "404 reported as not found"; echo "# $out" ;; esac
if [ -n "$v6" ]; then
	check "IPv6 literal URL" timeout 20 "$A" fetch --cafile "$T/ca.crt" \
		"https://[::1]:$np/big.bin" -o "$T/big3"
else
	skip "IPv6 literal URL" "no ::1 on lo"
fi

# ---- tinyproxy carries a CONNECT
if command -v tinyproxy >/dev/null 2>&1; then
	tp=$(free_port)
	mkdir -p "$T/tp" # tinyproxy -d without LogFile logs to stderr
	cat >"$T/tinyproxy.conf" <<EOC
User nobody
Group nogroup
Port $tp
Listen 127.0.0.1
Timeout 30
LogLevel Info
MaxClients 10
Allow 127.0.0.1
ConnectPort $np
EOC
	tinyproxy -d -c "$T/tinyproxy.conf" >"$T/tp/out" 2>&1 </dev/null &
	pids="$pids $!"
	if wait_port "$tp"; then
		# the proxy resolves the name itself: use one it knows (localhost)
		check "https through tinyproxy (CONNECT)" env https_proxy="http://127.0.0.1:$tp" \
			timeout 20 "$A" fetch --cafile "$T/ca.crt" "https://localhost:$np/big.bin" -o "$T/big4"
		check "tinyproxy logged the CONNECT" grep -q "CONNECT localhost:$np" "$T/tp/out"
		check "body through the proxy intact" cmp "$T/www/big.bin" "$T/big4"
		check "NO_PROXY bypasses the proxy" env HTTPS_PROXY="http://127.0.0.1:1" \
			NO_PROXY=".update.test" timeout 20 "$A" fetch --cafile "$T/ca.crt" \
			--resolve "update.test:$np:127.0.0.1" "https://update.test:$np/big.bin" -o "$T/big5"
		check_fails "unreachable proxy is an error" env HTTPS_PROXY="http://127.0.0.1:1" \
			timeout 20 "$A" fetch --cafile "$T/ca.crt" \
			--resolve "update.test:$np:127.0.0.1" "https://update.test:$np/big.bin" -o "$T/big6"
	else
		skip "tinyproxy CONNECT" "tinyproxy did not start: $(tail -n 2 "$T/tp/out")"
	fi
else
	skip "tinyproxy CONNECT" "tinyproxy not installed"
fi
done_testing
