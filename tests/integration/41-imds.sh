#!/bin/sh
# agentd instance (rate-controller.md §9, §10, §18.4; tests i06, i07, i08)
# against the fake IMDS on 127.0.0.1, and AWS's own JavaScript client against
# the same fake to show that the fake speaks IMDSv2 as AWS's client expects.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

A=$AGENT_BIN/agentd
FAKE=$AGENT_TOOLS/fake_imds
T=$TMPDIR
[ -x "$FAKE" ] || skip_all "fake_imds not built (make tools)"
fpid=
cleanup() { [ -n "$fpid" ] && kill "$fpid" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT INT TERM

# start the fake with args; sets $port, truncates $T/log
fake() {
	[ -n "$fpid" ] && { kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null; }
	rm -f "$T/port"; : >"$T/log"
	"$FAKE" --port-file "$T/port" --log "$T/log" "$@" >/dev/null 2>&1 </dev/null &
	fpid=$!
	i=0; while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	port=$(cat "$T/port")
}
printf 'Amazon EC2\n' >"$T/vendor-amazon"
printf 'Dell Inc.\n' >"$T/vendor-dell"
printf 'c6in.metal\n' >"$T/product-metal"
printf 'Amazon EC2\n' >"$T/product-amazon"

# run agentd instance with a clean AWS/ANYSCAN environment plus "$@" (VAR=value ...)
inst() {
	env -u ANYSCAN_INSTANCE_TYPE -u ANYSCAN_INSTANCE_DETECTION -u AWS_EC2_METADATA_DISABLED \
		-u AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE -u AWS_EC2_METADATA_V1_DISABLED \
		-u AWS_METADATA_SERVICE_TIMEOUT -u AWS_METADATA_SERVICE_NUM_ATTEMPTS \
		-u ANYSCAN_ADAPTER_SHARD_MODE \
		ANYSCAN_DMI_PRODUCT_PATH="$T/product-amazon" ANYSCAN_DMI_VENDOR_PATH="$T/vendor-amazon" \
		AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" "$@" \
		timeout 20 "$A" instance --json 2>"$T/err"
}
nreq() { grep -c "\"method\": \"$1\"" "$T/log"; }
expect() { # desc want-json env...
	d=$1; want=$2; shift 2
	got=$(inst "$@"); rc=$?
	if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then ok "$d"; else
		not_ok "$d"; echo "#   expected: $want"; echo "#   actual:   $got (exit $rc)"
		sed 's/^/#   stderr: /' "$T/err"
	fi
}
V2='{"defaults": {"ceiling": 2000000, "floor": 100000, "starting_rate": 500000}, "imds": "v2", "instance_type": "c6in.xlarge", "known": true, "source": "imds"}'
V1='{"defaults": {"ceiling": 2000000, "floor": 100000, "starting_rate": 500000}, "imds": "v1", "instance_type": "c6in.xlarge", "known": true, "source": "imds"}'
FAILED='{"defaults": null, "imds": "failed", "instance_type": null, "known": false, "source": "none"}'
none() { echo "{\"defaults\": null, \"imds\": \"$1\", \"instance_type\": null, \"known\": false, \"source\": \"none\"}"; }
METAL_ENV='{"defaults": {"ceiling": 12000000, "floor": 1000000, "starting_rate": 4000000}, "imds": "not-needed", "instance_type": "c6in.metal", "known": true, "source": "env"}'
METAL_DMI='{"defaults": {"ceiling": 12000000, "floor": 1000000, "starting_rate": 4000000}, "imds": "not-needed", "instance_type": "c6in.metal", "known": true, "source": "dmi"}'

# ---- i06: branches that must not touch IMDS
fake --type c6in.xlarge
expect "env override" "$METAL_ENV" ANYSCAN_INSTANCE_TYPE=c6in.metal
expect "DMI product name" "$METAL_DMI" ANYSCAN_DMI_PRODUCT_PATH="$T/product-metal"
expect "non-Amazon sys_vendor skips IMDS" "$(none skipped-vendor)" \
	ANYSCAN_DMI_VENDOR_PATH="$T/vendor-dell"
expect "ANYSCAN_INSTANCE_DETECTION=done" "$(none skipped-done)" ANYSCAN_INSTANCE_DETECTION=done
expect "AWS_EC2_METADATA_DISABLED" "$(none disabled)" AWS_EC2_METADATA_DISABLED=TRUE
expect "invalid endpoint" "$(none invalid-config)" AWS_EC2_METADATA_SERVICE_ENDPOINT=https://x
check "invalid endpoint warns" grep -q 'AWS_EC2_METADATA_SERVICE_ENDPOINT="https://x" is not a valid http:// endpoint; instance metadata will not be queried' "$T/err"
check_eq "IMDS never called in those branches" 0 "$(wc -l <"$T/log" | tr -d ' ')"
out=$(env ANYSCAN_INSTANCE_TYPE=c6in.metal "$A" instance)
check_eq "plain format (env)" "instance_type=c6in.metal source=env" "$out"
out=$(env -u ANYSCAN_INSTANCE_TYPE ANYSCAN_DMI_PRODUCT_PATH="$T/product-amazon" \
	ANYSCAN_DMI_VENDOR_PATH="$T/vendor-dell" "$A" instance)
check_eq "plain format (none)" "instance_type= source=none" "$out"
check_fails "unknown option is a usage error" "$A" instance --bogus

# ---- i07: the IMDS client against the fake
fake --type c6in.xlarge
expect "IMDSv2 success" "$V2"
check_eq "one PUT, one GET" "1 1" "$(nreq PUT) $(nreq GET)"
check "token TTL header is 60" grep -q '"X-aws-ec2-metadata-token-ttl-seconds": "60"' "$T/log"
check "GET carries the token" grep -q '"X-aws-ec2-metadata-token": "' "$T/log"
check_fails "never X-Forwarded-For" grep -qi 'x-forwarded-for' "$T/log"
check_fails "path never //" grep -q '"path": "//' "$T/log"
check "Host header is host:port" grep -q "\"Host\": \"127.0.0.1:$port\"" "$T/log"
expect "vendor file missing: IMDS asked" "$V2" ANYSCAN_DMI_VENDOR_PATH=/nonexistent/vendor
for st in 403 404 405; do
	fake --optional --fault "put$st"
	expect "PUT $st -> IMDSv1 GET" "$V1"
	check_fails "PUT $st: the v1 GET has no token" grep -q 'X-aws-ec2-metadata-token"' "$T/log"
	: >"$T/log"
	expect "PUT $st with V1_DISABLED -> failure" "$FAILED" AWS_EC2_METADATA_V1_DISABLED=true
	check_eq "PUT $st with V1_DISABLED: no GET" 0 "$(nreq GET)"
done
fake --fault put400
expect "PUT 400 -> failure" "$FAILED"
check_eq "PUT 400: no GET" 0 "$(nreq GET)"
fake --fault put-timeout
expect "PUT never answered -> failure (timeout 0.5 s)" "$FAILED" AWS_METADATA_SERVICE_TIMEOUT=0.5
check_eq "PUT timeout: no v1 GET" 0 "$(nreq GET)"
check "PUT timeout reported" grep -q "timed out" "$T/err"
fake --fault get401once
expect "GET 401 once -> re-token -> success" "$V2"
check_eq "GET 401 once: 2 PUTs, 2 GETs" "2 2" "$(nreq PUT) $(nreq GET)"
fake --fault get401always
expect "GET 401 always -> failure" "$FAILED"
check_eq "GET 401 always: 2 PUTs, 2 GETs" "2 2" "$(nreq PUT) $(nreq GET)"
fake --fault big-body
expect "5000-byte body -> failure" "$FAILED"
fake --fault crlf-token
expect "CRLF token -> failure" "$FAILED"
check_eq "CRLF token: no GET sent" 0 "$(nreq GET)"
fake --fault slow-body
expect "slow body -> failure" "$FAILED" AWS_METADATA_SERVICE_TIMEOUT=0.5
fake --fault redirect
expect "302 -> failure, not followed" "$FAILED"
check_fails "302: the target was not fetched" grep -q '"path": "/elsewhere"' "$T/log"
fake --fault put500 --fault-count 2
expect "NUM_ATTEMPTS=3, PUT 500 twice then 200 -> success" "$V2" AWS_METADATA_SERVICE_NUM_ATTEMPTS=3
check_eq "three PUTs" 3 "$(nreq PUT)"
fake --fault put500 --fault-count 2
expect "PUT 500 with one attempt -> failure" "$FAILED"
fake --type "PowerEdge R740xd"
expect "garbage answer fails the shape test" "$(none v2)"
fake --type c6in.xlarge
expect "proxy variables are ignored" "$V2" http_proxy=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1
kill "$fpid"; wait "$fpid" 2>/dev/null; fpid=
expect "IMDS down -> failure" "$FAILED"
check "IMDS down reported on stderr" grep -q "Connection refused" "$T/err"

# ---- i08: AWS's JavaScript client against the same fake
SDK_VERSION=3.1164.0
sdk_skip() { skip "AWS SDK cross-check" "$1"; done_testing; exit; }
command -v node >/dev/null 2>&1 || sdk_skip "node not installed"
command -v npm >/dev/null 2>&1 || sdk_skip "npm not installed"
mkdir -p "$T/sdk"
(cd "$T/sdk" && timeout 300 npm install --no-audit --no-fund --silent \
	"@aws-sdk/ec2-metadata-service@$SDK_VERSION" >"$T/npm.log" 2>&1) ||
	sdk_skip "npm install @aws-sdk/ec2-metadata-service@$SDK_VERSION failed: $(tail -n 1 "$T/npm.log")"
cat >"$T/sdk/probe.js" <<'EOJ'
// usage: node probe.js PORT V1DISABLED(0|1) NREQUESTS
const { MetadataService } = require("@aws-sdk/ec2-metadata-service");
const [port, v1off, n] = process.argv.slice(2);
(async () => {
	const svc = new MetadataService({
		endpoint: `http://127.0.0.1:${port}`,
		httpOptions: { timeout: 1000 },
		retries: 0,
		ec2MetadataV1Disabled: v1off === "1",
	});
	const out = [];
	for (let i = 0; i < Number(n); i++) {
		try { out.push((await svc.request("/latest/meta-data/instance-type", {})).trim()); }
		catch (e) { out.push("ERROR"); }
	}
	console.log(out.join(" "));
})();
EOJ
sdk() { (cd "$T/sdk" && env -u AWS_EC2_METADATA_V1_DISABLED timeout 30 node probe.js "$port" "$@" 2>"$T/node.err"); }
# the sequence of (method, token?) in the log, paths with // collapsed
seq_of() {
	sed 's/.*"method": "\([A-Z]*\)".*/\1/' "$T/log" | tr '\n' ' ' | sed 's/ $//'
}
fake --type c6in.xlarge
check_eq "SDK: tokens required, two requests" "c6in.xlarge c6in.xlarge" "$(sdk 0 2)"
check_eq "SDK: fresh PUT before each GET" "PUT GET PUT GET" "$(seq_of)"
check "SDK: TTL header 21600" grep -q '"x-aws-ec2-metadata-token-ttl-seconds": "21600"' "$T/log"
check "SDK: GET carries the token" grep -q '"x-aws-ec2-metadata-token": "' "$T/log"
sdk_path=$(grep '"method": "GET"' "$T/log" | head -n 1 | sed 's/.*"path": "\([^"]*\)".*/\1/')
case $sdk_path in /latest/meta-data/instance-type | //latest/meta-data/instance-type)
	ok "SDK: GET path $sdk_path" ;;
*) not_ok "SDK: GET path $sdk_path" ;; esac
: >"$T/log"
expect "agentd: same outcome as the SDK" "$V2"
check_eq "agentd: PUT then GET" "PUT GET" "$(seq_of)"
for st in 403 404 405; do
	fake --optional --type c6in.xlarge --fault "put$st"
	check_eq "SDK: PUT $st -> v1 GET" "c6in.xlarge" "$(sdk 0 1)"
	check_eq "SDK: PUT $st sequence" "PUT GET" "$(seq_of)"
	check_fails "SDK: PUT $st: GET without token" grep -qi 'metadata-token"' "$T/log"
	: >"$T/log"
	expect "agentd: PUT $st -> v1, as the SDK" "$V1"
	check_eq "agentd: PUT $st sequence" "PUT GET" "$(seq_of)"
done
fake --optional --type c6in.xlarge --fault put403
check_eq "SDK: PUT 403 with v1 disabled throws" "ERROR" "$(sdk 1 1)"
check_eq "SDK: no GET" "PUT" "$(seq_of)"
: >"$T/log"
expect "agentd: PUT 403 with V1_DISABLED fails, as the SDK" "$FAILED" AWS_EC2_METADATA_V1_DISABLED=true
check_eq "agentd: no GET" "PUT" "$(seq_of)"
check_fails "no violation recorded by the fake" grep -q '"violation"' "$T/log"
done_testing
