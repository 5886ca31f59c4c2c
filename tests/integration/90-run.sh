#!/bin/sh
# agentd run: health.json (§22.1), the metrics textfile checked with promtool
# (§22.2), signals, and the channel poller (§15.2, §15.3, §13.8) against a
# signed channel on a local path and over HTTPS (openssl s_server -WWW with a
# test CA made here), writing the remote-update request (§15.1) and status.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

T=$TMPDIR
command -v python3 >/dev/null 2>&1 || skip_all "python3 not installed (JSON checks)"
command -v openssl >/dev/null 2>&1 || skip_all "openssl not installed"
command -v promtool >/dev/null 2>&1 || skip_all "promtool not installed (Debian package prometheus)"
pids=
W=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$W" ] && rm -rf "$W"
}
trap cleanup EXIT INT TERM

# ---- a root with a fake release holding a copy of agentd.  As root, the
# root lives in a 0711 directory under /tmp (the runner's TMPDIR is 0700) so
# that `--user nobody` can reach it.
R=$T/root
if [ "$(id -u)" -eq 0 ] && W=$(mktemp -d /tmp/agentd-run-test.XXXXXX); then
	chmod 0711 "$W" && R=$W/root
fi
REL=$R/opt/agentd/releases/abcdef012345
mkdir -p "$REL/bin" "$R/etc/agentd" "$R/var/lib/agentd" "$R/tf"
cp "$AGENT_BIN/agentd" "$REL/bin/agentd"
printf 'format 1\nfake manifest for the run test\n' >"$REL/MANIFEST"
A=$REL/bin/agentd
FP=$(sha256sum "$REL/MANIFEST" | cut -d' ' -f1)

wait_for() { # seconds command... -- poll until the command succeeds
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
jget() { # file key
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
updated_differs() { [ "$(jget "$H" updated_at)" != "$1" ]; } # old updated_at
status_is() { [ "$(jget "$H" status)" = "$1" ]; }
run_args=
start() { # env assignments...: starts agentd run under $R (plus $run_args), sets $apid
	# (agentd writes health.json, then agentd.prom: wait for both, never
	# reading an earlier run's metrics)
	rm -f "$R/run/agentd/health.json" "$R/tf/agentd.prom"
	# shellcheck disable=SC2086 # $run_args: extra options, split on purpose
	env AGENTD_HEALTH_INTERVAL_SECONDS=1 "$@" "$A" run --root "$R" $run_args >"$T/run.out" \
		2>"$T/run.err" </dev/null &
	apid=$!
	pids="$pids $apid"
	wait_for 10 test -s "$R/run/agentd/health.json"
	case " $* " in *" AGENTD_TEXTFILE_DIR=/tf "*) wait_for 10 test -s "$R/tf/agentd.prom" ;; esac
}
stop() {
	kill -TERM "$apid" 2>/dev/null
	wait "$apid"
	rc=$?
	return $rc
}
prom_value() { # metric line prefix -> value
	grep "^$1 " "$R/tf/agentd.prom" | cut -d' ' -f2
}

# ---- health.json and agentd.prom
start AGENTD_TEXTFILE_DIR=/tf AGENT_BUNDLE_NAME=agent-bundle-test
H=$R/run/agentd/health.json
check "health.json written under --root" test -s "$H"
check "health.json is one JSON line with LF" python3 -c '
import json,sys
d=open(sys.argv[1],"rb").read()
assert d.endswith(b"\n") and d.count(b"\n")==1, d
o=json.loads(d)
assert sorted(o)==["bundle_fingerprint","bundle_name","pid","started_at","status","updated_at","version"], o
assert list(o)==sorted(o)
' "$H"
check_eq "pid is agentd's" "$apid" "$(jget "$H" pid)"
check_eq "bundle_fingerprint is SHA-256 of the release MANIFEST" "$FP" "$(jget "$H" bundle_fingerprint)"
check_eq "bundle_name from AGENT_BUNDLE_NAME" "agent-bundle-test" "$(jget "$H" bundle_name)"
check_eq "mode 0644" "644" "$(stat -c %a "$H")"
first=$(jget "$H" updated_at)
ino=$(stat -c %i "$R/tf/agentd.prom")
check "updated_at advances (periodic writes)" wait_for 10 updated_differs "$first"
check_eq "status ok after start" "ok" "$(jget "$H" status)"
check "the installer's parser accepts it (status, fingerprint, pid)" python3 -c '
import json,sys,os
o=json.load(open(sys.argv[1]))
assert o["status"] in ("ok","degraded") and len(o["bundle_fingerprint"])==64
os.kill(int(o["pid"]),0)' "$H"
check "agentd.prom passes promtool check metrics" sh -c "promtool check metrics <'$R/tf/agentd.prom'"
check "agentd.prom replaced by rename (new inode)" wait_for 10 sh -c \
	"[ \"\$(stat -c %i '$R/tf/agentd.prom')\" != '$ino' ]"
check_eq "agentd.prom mode 0644" "644" "$(stat -c %a "$R/tf/agentd.prom")"
fams=$(grep '^# TYPE' "$R/tf/agentd.prom" | cut -d' ' -f3 | tr '\n' ' ')
check_eq "families in the order of §22.2" "agentd_build_info agentd_start_time_seconds agentd_health_status agentd_health_timestamp_seconds agentd_update_status agentd_update_status_timestamp_seconds agentd_channel_last_success_timestamp_seconds agentd_channel_poll_failures_total agentd_rate_learned_pps agentd_rate_learned_timestamp_seconds " "$fams"
check_eq "six update_status series, all 0 without a status file" "6 0" \
	"$(grep -c '^agentd_update_status{' "$R/tf/agentd.prom") $(grep '^agentd_update_status{' "$R/tf/agentd.prom" | awk '{s+=$2} END {print s}')"
PLATFORM=$(sed -n 's/^agentd_build_info{.*platform="\([^"]*\)".*/\1/p' "$R/tf/agentd.prom")
VERSION=$(jget "$H" version)
check "SIGTERM stops it with status 0" stop
check "health.json stays for the updater's reader after stop" test -s "$H"
check "no temp files left in the textfile directory" sh -c "! ls -A '$R/tf' | grep -q tmp"

# calibration and status file show up in the metrics
printf '{"interfaces": {"eth1": {"learned_rate": 800000, "updated_at": "2026-03-01T12:00:00Z"}, "eth0": {"learned_rate": 1900000, "updated_at": "2026-03-01T12:00:00Z"}}, "version": 1}\n' \
	>"$R/var/lib/agentd/rate-calibration.json"
printf 'STATUS=success\nUPDATED_AT=2026-03-01T12:00:41Z\nMESSAGE=updated\n' \
	>"$R/var/lib/agentd/remote-update.status"
start AGENTD_TEXTFILE_DIR=/tf
check "learned rates per interface, sorted" sh -c "grep '^agentd_rate_learned_pps' '$R/tf/agentd.prom' | tr '\n' ' ' | grep -qx 'agentd_rate_learned_pps{interface=\"eth0\"} 1900000 agentd_rate_learned_pps{interface=\"eth1\"} 800000 '"
check_eq "update status from the status file" "1 1772366441" \
	"$(prom_value 'agentd_update_status{status="success"}') $(prom_value agentd_update_status_timestamp_seconds)"
check "promtool accepts it with rates and status" sh -c "promtool check metrics <'$R/tf/agentd.prom'"
check "SIGINT stops it with status 0" sh -c "kill -INT $apid"
wait "$apid"; check_eq "exit status after SIGINT" 0 $?
rm -f "$R/var/lib/agentd/remote-update.status"

# a missing textfile directory: one warning, health still written, degraded
start AGENTD_TEXTFILE_DIR=/nonexistent
check "health written although the textfile directory is missing" test -s "$H"
wait_for 5 status_is degraded
check_eq "status degraded while metrics cannot be written" degraded "$(jget "$H" status)"
stop
check_eq "one warning for the textfile directory" 1 "$(grep -c 'cannot write metrics to' "$T/run.err")"
check_fails "bad --root refused" "$A" run --root relative/path

# --user (the runit run script): root drops to the user, keeping only
# CAP_NET_RAW and CAP_NET_ADMIN (bits 12 and 13: 0x3000), also ambient
if [ "$(id -u)" -ne 0 ]; then
	check_fails "--user refused when not root" "$A" run --root "$R" --user root
	skip "run --user" "needs root"
else
	capof() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$apid/status"; }
	run_args="--user root"
	start
	check_eq "effective capabilities: NET_RAW and NET_ADMIN only" 0000000000003000 "$(capof CapEff)"
	check_eq "permitted capabilities: the same" 0000000000003000 "$(capof CapPrm)"
	check_eq "ambient capabilities: the same (for the scanner it starts)" 0000000000003000 "$(capof CapAmb)"
	check "stops on SIGTERM" stop
	check_fails "unknown user refused" "$A" run --root "$R" --user no-such-user-here
	# another user needs to reach the test root, which the runner may keep 0700
	if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1 &&
		mkdir -p "$R/run/agentd" && chown nobody "$R/run/agentd" &&
		runuser -u nobody -- test -w "$R/run/agentd" 2>/dev/null; then
		run_args="--user nobody"
		start
		check_eq "health.json written as the user" nobody "$(stat -c %U "$H" 2>/dev/null)"
		check_eq "process runs as the user" "$(id -u nobody)" \
			"$(awk '$1 == "Uid:" { print $3 }' "/proc/$apid/status")"
		check_eq "capabilities kept across the uid change" 0000000000003000 "$(capof CapEff)"
		check "stops on SIGTERM" stop
	else
		skip "run --user nobody" "user nobody cannot reach the test directory"
	fi
	chown root "$R/run/agentd" 2>/dev/null
	run_args=
fi

# ---- agentd self-test (§10.4: only the exit status matters to the updater)
check "self-test passes under the root" "$A" self-test --root "$R"
AGENTD_ROOT=$R "$A" self-test >"$T/st.out" 2>&1
check_eq "self-test honours AGENTD_ROOT" 0 $?
check "self-test reports its checks" grep -q '^ok   ecdsa-p256$' "$T/st.out"
printf 'not json\n' >"$R/var/lib/agentd/rate-calibration.json"
"$A" self-test --root "$R" >"$T/st.out" 2>&1
check_eq "an unreadable calibration file is a warning, not a failure" "0 1" \
	"$? $(grep -c '^warn calibration' "$T/st.out")"
rm -f "$R/var/lib/agentd/rate-calibration.json"
"$A" self-test --bogus >/dev/null 2>&1
check_eq "self-test usage error exits 2" 2 $?

# ---- the channel poller
check "platform known from agentd.prom" test -n "$PLATFORM"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/rel.key" 2>/dev/null &&
	openssl pkey -in "$T/rel.key" -pubout -out "$R/etc/agentd/trusted.pem" 2>/dev/null ||
	skip_all "cannot make a P-256 key with openssl"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
NEWV=99.0.0
NEWFP=3f9a1c07be52$(printf '%052d' 7)
NAME=agent-bundle-${PLATFORM}__20260301120000-$NEWV-3f9a1c07be52.tar.gz
BUCKET=$(python3 -c 'import hashlib,sys; print(int.from_bytes(hashlib.sha256((sys.argv[1]+"\n"+sys.argv[2]).encode()).digest()[:4],"big")%100)' worker-0042 $NEWV)
check_eq "rollout vector of §15.3 (worker-0042, 1.4.0 -> 32)" 32 \
	"$(python3 -c 'import hashlib; print(int.from_bytes(hashlib.sha256(b"worker-0042\n1.4.0").digest()[:4],"big")%100)')"
M=$T/mirror
mkdir -p "$M/channels"
manifest() { # percent expires [fingerprint] [key]
	fpv=${3:-$NEWFP}
	cat >"$M/channels/stable.json" <<EOJ
{
  "format": 1,
  "channel": "stable",
  "version": "$NEWV",
  "expires": "$2",
  "rollout_percent": $1,
  "platforms": {
    "$PLATFORM": {
      "bundle": "$NAME",
      "url": "../$NAME",
      "sha256": "db4b4d0d1cb480bf9aeea253771c00febe627f236765fa37d6a5614f079a3aa0",
      "size": 4193771,
      "fingerprint": "$fpv"
    }
  }
}
EOJ
	openssl dgst -sha256 -sign "${4:-$T/rel.key}" -out "$M/channels/stable.json.sig" \
		"$M/channels/stable.json"
}
FUTURE=2099-01-01T00:00:00Z
REQ=$R/var/lib/agentd/remote-update.request
ST=$R/var/lib/agentd/remote-update.status
polled() { # wait until a poll finished (success or failure counted)
	wait_for 30 sh -c "grep -q '^agentd_channel_poll_failures_total [1-9]' '$R/tf/agentd.prom' ||
		! grep -q '^agentd_channel_last_success_timestamp_seconds 0$' '$R/tf/agentd.prom'"
}
poll_once() { # channel-url [env...]: start, SIGHUP, wait for the poll, stop
	url=$1; shift
	rm -f "$R/tf/agentd.prom"
	start AGENTD_TEXTFILE_DIR=/tf AGENT_ID=worker-0042 AGENTD_CHANNEL_URL="$url" "$@"
	wait_for 10 test -s "$R/tf/agentd.prom"
	kill -HUP "$apid"
	polled
	stop
}

manifest 100 $FUTURE
rm -f "$REQ" "$ST"
poll_once "$M/channels/stable.json"
check "request written for a newer release (local channel path)" test -s "$REQ"
check_eq "request keys" "REQUESTED_AT WORKER_ID SOURCE CHANNEL_URL VERSION FINGERPRINT" \
	"$(cut -d= -f1 "$REQ" | tr '\n' ' ' | sed 's/ $//')"
check_eq "request values" "worker-0042 channel $M/channels/stable.json $NEWV $NEWFP" \
	"$(grep -E '^(WORKER_ID|SOURCE|CHANNEL_URL|VERSION|FINGERPRINT)=' "$REQ" | cut -d= -f2- | tr '\n' ' ' | sed 's/ $//')"
check "REQUESTED_AT is a UTC timestamp" grep -Eq '^REQUESTED_AT=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$REQ"
check_eq "request mode 0644" 644 "$(stat -c %a "$REQ")"
check_eq "status queued" "STATUS=queued" "$(head -n 1 "$ST")"
check_eq "queued message" "MESSAGE=channel stable offers $NEWV (3f9a1c07be52); bucket $BUCKET < 100" \
	"$(sed -n 3p "$ST")"
check "offered release in the metrics" grep -q "^agentd_channel_offered_info{fingerprint=\"$NEWFP\",version=\"$NEWV\"} 1" "$R/tf/agentd.prom"
check "promtool accepts the metrics after a poll" sh -c "promtool check metrics <'$R/tf/agentd.prom'"

# an existing request is left alone
printf 'REQUESTED_AT=2026-01-01T00:00:00Z\nWORKER_ID=op\n' >"$REQ"
poll_once "$M/channels/stable.json"
check_eq "existing request untouched" "REQUESTED_AT=2026-01-01T00:00:00Z" "$(head -n 1 "$REQ")"
rm -f "$REQ" "$ST"

# not in rollout: bucket >= percent
manifest "$BUCKET" $FUTURE
poll_once "$M/channels/stable.json"
check "no request outside the rollout" test ! -e "$REQ"
check "one log line for the rollout decision" grep -q "not in rollout for $NEWV: bucket $BUCKET >= $BUCKET" "$T/run.err"

# the offer is agentd's own build
manifest 100 $FUTURE "$FP"
sed -i "s/-3f9a1c07be52.tar.gz/-$(echo "$FP" | cut -c1-12).tar.gz/" "$M/channels/stable.json"
openssl dgst -sha256 -sign "$T/rel.key" -out "$M/channels/stable.json.sig" "$M/channels/stable.json"
poll_once "$M/channels/stable.json"
check "no request when the channel offers the running build" test ! -e "$REQ"
check_eq "that poll was verified (no failure)" 0 "$(prom_value agentd_channel_poll_failures_total)"

# failed on this host before (installed.json failed list)
manifest 100 $FUTURE
printf '{"format": 1, "version": "%s", "bundle_name": "x", "fingerprint": "%s", "service": "none", "failed": [{"version": "%s", "fingerprint": "%s", "at": "2026-03-02T08:00:11Z", "reason": "health"}]}\n' \
	"$VERSION" "$FP" "$NEWV" "$NEWFP" >"$R/var/lib/agentd/installed.json"
poll_once "$M/channels/stable.json"
check "no request for a release in installed.json failed" test ! -e "$REQ"
check_eq "that poll was verified too" 0 "$(prom_value agentd_channel_poll_failures_total)"
rm -f "$R/var/lib/agentd/installed.json"

# refusals: wrong key, expired, http, disabled updates
manifest 100 $FUTURE "" "$T/other.key"
poll_once "$M/channels/stable.json"
check "bad signature: no request" test ! -e "$REQ"
check_eq "bad signature counted" 1 "$(prom_value agentd_channel_poll_failures_total)"
check "bad signature logged as a metric line" grep -q '"event": "channel_poll_failed"' "$T/run.err"
check "status file untouched by poll failures" test ! -e "$ST"
check_eq "degraded after a failed poll" degraded "$(jget "$H" status)"
manifest 100 2020-01-01T00:00:00Z
poll_once "$M/channels/stable.json"
check "expired manifest refused" grep -q 'channel manifest expired at 2020-01-01T00:00:00Z' "$T/run.err"
manifest 100 $FUTURE
poll_once "http://127.0.0.1:9/channels/stable.json"
check "http channel URL refused" grep -q 'insecure URL refused' "$T/run.err"
mv "$R/etc/agentd/trusted.pem" "$T/trusted.pem"
poll_once "$M/channels/stable.json"
check "empty trusted set refused" sh -c "test ! -e '$REQ' && grep -q 'trusted' '$T/run.err'"
mv "$T/trusted.pem" "$R/etc/agentd/trusted.pem"
rm -f "$R/tf/agentd.prom"
start AGENTD_TEXTFILE_DIR=/tf AGENT_ID=worker-0042 AGENTD_CHANNEL_URL="$M/channels/stable.json" \
	AGENT_REMOTE_UPDATE_ENABLED=false
kill -HUP "$apid"; sleep 1; stop
check "no poll when AGENT_REMOTE_UPDATE_ENABLED=false" test ! -e "$REQ"

# ---- over HTTPS from openssl s_server -WWW with a test CA (AGENTD_CA_FILE under the root)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
	-out "$R/ca.crt" -subj "/CN=run test CA" -days 2 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
	-out "$T/srv.csr" -subj "/CN=127.0.0.1" 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/srv.ext" &&
openssl x509 -req -in "$T/srv.csr" -CA "$R/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null
if [ $? -ne 0 ]; then
	skip "channel over HTTPS" "cannot make test certificates"
else
	port=
	for _ in 1 2 3 4 5; do
		p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		(cd "$M" && exec openssl s_server -accept "127.0.0.1:$p" -WWW -quiet \
			-cert "$T/srv.crt" -key "$T/srv.key" >/dev/null 2>&1 </dev/null) &
		spid=$!; pids="$pids $spid"
		if wait_for 5 sh -c "curl -s -o /dev/null --cacert '$R/ca.crt' https://127.0.0.1:$p/channels/stable.json"; then
			port=$p; break
		fi
		kill "$spid" 2>/dev/null
	done
	if [ -z "$port" ]; then
		skip "channel over HTTPS" "openssl s_server did not start"
	else
		URL=https://127.0.0.1:$port/channels/stable.json
		rm -f "$REQ" "$ST"
		poll_once "$URL" AGENTD_CA_FILE=/ca.crt
		check "request written from an HTTPS channel" grep -qx "CHANNEL_URL=$URL" "$REQ"
		check_eq "status queued (HTTPS)" "STATUS=queued" "$(head -n 1 "$ST" 2>/dev/null)"
		rm -f "$REQ" "$ST"
		poll_once "$URL"
		check "system CA bundle does not trust the test CA: poll fails" sh -c \
			"test ! -e '$REQ' && grep -q channel_poll_failed '$T/run.err'"

		# a server that accepts and never answers: the poll runs in a child
		# process, health writes go on, and SIGTERM ends both
		python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])' "$T/stall.port" </dev/null >/dev/null 2>&1 &
		pids="$pids $!"
		wait_for 10 test -s "$T/stall.port"
		start AGENTD_TEXTFILE_DIR=/tf AGENT_ID=worker-0042 AGENTD_CA_FILE=/ca.crt \
			AGENTD_CHANNEL_URL="https://127.0.0.1:$(cat "$T/stall.port")/channels/stable.json"
		kill -HUP "$apid"
		child_of() { # pid -> pids of its children
			for f in /proc/[0-9]*/status; do
				awk -v p="$1" '$1 == "PPid:" && $2 == p { found = 1 } $1 == "Pid:" { pid = $2 }
					END { if (found) print pid }' "$f" 2>/dev/null
			done
		}
		has_child() { [ -n "$(child_of "$apid")" ]; }
		wait_for 10 has_child
		kid=$(child_of "$apid")
		check "a poll child runs while the server stalls" test -n "$kid"
		before=$(jget "$H" updated_at)
		check "health.json keeps being written during a stalled poll" \
			wait_for 10 updated_differs "$before"
		check "SIGTERM during a stalled poll exits 0" stop
		child_gone() { ! kill -0 "$kid" 2>/dev/null; }
		check "the poll child is gone after the stop" wait_for 10 child_gone
	fi
fi

done_testing
