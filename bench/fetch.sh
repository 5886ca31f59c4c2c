#!/bin/sh
# agentd fetch vs. curl: a 100 MiB download from nginx over TLS on loopback
# (best of 3 each, same server, same certificate); agentd instance with IMDS
# unreachable and with a non-Amazon DMI vendor; agentd's stripped size.
# Targets (issue "agentd: HTTP/1.1 + TLS client (mbedtls) and IMDSv2 instance
# detection"): fetch >= 0.8x curl; instance with IMDS unreachable within
# timeout + 50 ms; non-Amazon vendor < 5 ms; agentd < 1.5 MiB stripped.
set -u
A=$AGENT_BIN/agentd
FAKE=$AGENT_BUILD/musl/tools/fake_imds
T=$(pwd)

now_ns() { date +%s%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
mibs() { awk -v ns="$1" 'BEGIN { printf "%.1f", 100 * 1e9 / ns }'; }

echo "### agentd fetch and agentd instance"
echo
case $(date +%N) in
'' | *N*) echo "SKIP: date +%N (nanoseconds) is not supported here"; exit 0 ;;
esac
for c in openssl nginx curl strip; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c not installed"; exit 0; }
done
[ -x "$FAKE" ] || { echo "SKIP: fake_imds not built (make tools)"; exit 0; }
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT INT TERM

free_port() {
	rm -f "$T/fp"
	"$FAKE" --port-file "$T/fp" >/dev/null 2>&1 </dev/null &
	fp=$!
	i=0; while [ ! -s "$T/fp" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill $fp; wait $fp 2>/dev/null
	cat "$T/fp"
}

# certificates: an ECDSA P-256 CA and server certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
	-subj "/CN=bench CA" -days 2 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
	-subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >srv.ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext \
	-out srv.crt 2>/dev/null || { echo "SKIP: cannot make certificates"; exit 0; }
mkdir -p www tmp
head -c 104857600 /dev/urandom >www/100M.bin
port=$(free_port)
cat >nginx.conf <<EOC
daemon off;
user root;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 64; }
http {
	access_log off; sendfile on;
	client_body_temp_path $T/tmp/b; proxy_temp_path $T/tmp/p;
	fastcgi_temp_path $T/tmp/f; uwsgi_temp_path $T/tmp/u; scgi_temp_path $T/tmp/s;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $T/srv.crt; ssl_certificate_key $T/srv.key;
		root $T/www;
	}
}
EOC
nginx -c "$T/nginx.conf" -p "$T" >nginx.out 2>&1 </dev/null &
pids="$pids $!"
i=0
while [ $i -lt 100 ]; do
	curl -s -o /dev/null --max-time 1 --cacert ca.crt "https://localhost:$port/" && break
	sleep 0.05; i=$((i + 1))
done
URL=https://localhost:$port/100M.bin

best() { # command... -> best wall time in ns of 3 runs (after one warm-up)
	"$@" >/dev/null 2>&1
	b=
	for _ in 1 2 3; do
		t0=$(now_ns); "$@" >/dev/null 2>&1 || { echo fail; return; }; t1=$(now_ns)
		d=$((t1 - t0))
		if [ -z "$b" ] || [ "$d" -lt "$b" ]; then b=$d; fi
	done
	echo "$b"
}
# both write to stdout (a file): agentd -o would add an fsync that curl does not do
tc=$(best sh -c 'curl -s --cacert ca.crt "$1" >out.curl' sh "$URL")
ta=$(best sh -c '"$1" fetch --cafile ca.crt "$2" >out.agentd' sh "$A" "$URL")
cmp -s out.curl www/100M.bin && cmp -s out.agentd www/100M.bin || { tc=fail; ta=fail; }
cipher=$(curl -sv --cacert ca.crt -o /dev/null "$URL" 2>&1 | sed -n 's/.*SSL connection using \(.*\)/\1/p' | head -n 1)

echo "| measurement | agentd | baseline | ratio (agentd/baseline) | target |"
echo "|---|---|---|---|---|"
if [ "$tc" = fail ] || [ "$ta" = fail ]; then
	echo "| 100 MiB over TLS (nginx, loopback) | failed | failed | - | >= 0.8 |"
else
	echo "| 100 MiB over TLS, throughput MiB/s (baseline: curl, $cipher) | $(mibs "$ta") | $(mibs "$tc") | $(ratio "$tc" "$ta") | >= 0.8 |"
fi

# agentd instance, IMDS unreachable: a server that accepts and never answers
rm -f imds.port
"$FAKE" --port-file imds.port --fault put-timeout >/dev/null 2>&1 </dev/null &
pids="$pids $!"
i=0; while [ ! -s imds.port ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
printf 'Amazon EC2\n' >vendor-amazon
printf 'Dell Inc.\n' >vendor-dell
inst() { # vendor-file timeout
	env -u ANYSCAN_INSTANCE_TYPE -u ANYSCAN_INSTANCE_DETECTION -u AWS_EC2_METADATA_DISABLED \
		ANYSCAN_DMI_PRODUCT_PATH=/nonexistent ANYSCAN_DMI_VENDOR_PATH="$1" \
		AWS_METADATA_SERVICE_TIMEOUT="$2" \
		AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$(cat imds.port)" \
		"$A" instance >/dev/null 2>&1
}
worst=0
for _ in 1 2 3 4 5; do
	t0=$(now_ns); inst vendor-amazon 0.5; t1=$(now_ns)
	d=$(((t1 - t0) / 1000000))
	[ $d -gt $worst ] && worst=$d
done
echo "| agentd instance, IMDS never answers (timeout 500 ms), worst of 5, ms | $worst | 500 (the timeout) | $(ratio "$worst" 500) | <= 550 ms |"
t0=$(now_ns)
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do inst vendor-dell 1; done
t1=$(now_ns)
t0b=$(now_ns)
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do env -u X "$A" --version >/dev/null; done
t1b=$(now_ns)
echo "| agentd instance, DMI vendor Dell (IMDS skipped), mean of 20 incl. env(1), ms | $(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 20e6 }') | $(awk -v n=$((t1b - t0b)) 'BEGIN { printf "%.2f", n / 20e6 }') (env agentd --version) | $(ratio $((t1 - t0)) $((t1b - t0b))) | < 5 ms |"
cp "$A" agentd.stripped && strip agentd.stripped
sz=$(wc -c <agentd.stripped | tr -d ' ')
echo "| agentd stripped size, bytes (static, TLS linked in) | $sz | 1572864 (1.5 MiB) | $(ratio "$sz" 1572864) | < 1.0 |"
