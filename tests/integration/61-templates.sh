#!/bin/sh
# Service templates and runtime.env.template (spec/bundle-install-update.md §12, §20).
#
#  * systemd units: exact directives of §12.1/§12.2, and `systemd-analyze verify`.
#    verify insists that every Exec*= binary exists and that the units they pull in
#    (sysinit.target, network-online.target, ...) load, so the units are verified with
#    --root=<temp root> holding a copy of the host's /usr/lib/systemd/system, the units
#    under etc/systemd/system and stub executables at opt/agentd/bin/*; --man=no
#    because there is no Documentation= to look up.  Nothing outside TMPDIR is touched.
#  * runit run scripts: shellcheck, then run for real under dash and busybox sh with
#    their fixed paths rewritten into TMPDIR and stub programs that log their argv.
#  * runtime.env.template format (§20.1) and the sync test (§20.3).
#
# How the sync test finds the variables a program reads
# -----------------------------------------------------
#  C (lib/ agent/ bundle/ installer/, *.c and *.h): every string literal that is
#    exactly a knob name, after comments are removed (gcc -fpreprocessed):
#      names  (AGENT|AGENTD|ANYSCAN|SCANNER)_[A-Z0-9_]*, AWS_EC2_METADATA_*,
#             AWS_METADATA_SERVICE_*, HTTPS_PROXY, NO_PROXY (https_proxy and no_proxy
#             count as their upper-case entries)
#    So write a knob name as one whole literal where the program reads it, e.g.
#    env_get(env, "ANYSCAN_RATE_FLOOR") or a table row {"ANYSCAN_RATE_FLOOR", ...},
#    never assembled ("ANYSCAN_RATE_" "FLOOR", snprintf).  A literal that looks like a
#    knob but is not one (e.g. a dropped legacy key the migration code lists) carries
#    the marker  /* not-env */  on the same line.  Keys the installer writes count as
#    read: every key that can appear in runtime.env is documented.
#  Shell (host-tuning/*.sh): NAME in every `cfg_<word> NAME` call (cfg_get, cfg_int,
#    cfg_rate) outside comment lines.
#
# Template side: every "# KEY=" line, with its "Read by: ..." list.  A reader is
# "agentd CMD", "agent-install CMD", "agent-bundle CMD" (exists when
# agent/cmd_CMD.c, installer/cmd_CMD.c, bundle/cmd_CMD.c exists), a host-tuning script
# name, or "nobody" (set for children only).  A documented knob that no source reads
# fails the test when one of its readers exists, and is reported as pending (SKIP)
# while none of them has been written yet.  A knob a source reads that the template
# does not document always fails.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

T=$AGENT_SRC/templates
TEMPLATE=$T/runtime.env.template

# ================================================================ systemd units
expect_agentd_service='[Unit]
Description=agentd scan worker
After=network-online.target
Wants=network-online.target
[Service]
Type=simple
User=agentd
Group=agentd
WorkingDirectory=/opt/agentd
EnvironmentFile=-/etc/agentd/runtime.env
ExecStartPre=-+/opt/agentd/bin/reserve-control-bandwidth.sh apply
ExecStartPre=-+/opt/agentd/bin/tune-scanner-host.sh apply
ExecStart=/opt/agentd/bin/agentd run
Restart=always
RestartSec=5
NoNewPrivileges=true
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
PrivateTmp=true
PrivateDevices=true
ProtectHome=true
ProtectControlGroups=true
ProtectKernelTunables=true
ProtectKernelModules=true
RestrictSUIDSGID=true
LockPersonality=true
MemoryDenyWriteExecute=true
ProtectSystem=strict
ReadWritePaths=/var/lib/agentd
StateDirectory=agentd
RuntimeDirectory=agentd
LimitNOFILE=65536
[Install]
WantedBy=multi-user.target'
expect_update_path='[Unit]
Description=Watch for agentd update requests
[Path]
PathExists=/var/lib/agentd/remote-update.request
PathChanged=/var/lib/agentd/remote-update.request
Unit=agentd-remote-update.service
[Install]
WantedBy=multi-user.target'
expect_update_service='[Unit]
Description=agentd update
After=network-online.target
Wants=network-online.target
ConditionPathExists=/var/lib/agentd/remote-update.request
[Service]
Type=oneshot
ExecStart=/opt/agentd/bin/agent-install update --from-request
TimeoutStartSec=20min
NoNewPrivileges=true
PrivateTmp=true'

directives() { grep -v -e '^#' -e '^;' -e '^[[:space:]]*$' "$1"; }
check_eq "agentd.service has exactly the directives of §12.1" "$expect_agentd_service" \
	"$(directives "$T/systemd/agentd.service")"
check_eq "agentd-remote-update.path has exactly the directives of §12.2" "$expect_update_path" \
	"$(directives "$T/systemd/agentd-remote-update.path")"
check_eq "agentd-remote-update.service has exactly the directives of §12.2" "$expect_update_service" \
	"$(directives "$T/systemd/agentd-remote-update.service")"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze verify accepts the units" "systemd-analyze not installed"
elif [ ! -d /usr/lib/systemd/system ] && [ ! -d /lib/systemd/system ]; then
	skip "systemd-analyze verify accepts the units" "no system unit directory to copy"
else
	r=$TMPDIR/sdroot
	mkdir -p "$r/etc/systemd/system" "$r/opt/agentd/bin" "$r/usr/lib/systemd"
	if [ -d /usr/lib/systemd/system ]; then
		cp -R /usr/lib/systemd/system "$r/usr/lib/systemd/"
	else
		cp -R /lib/systemd/system "$r/usr/lib/systemd/"
	fi
	cp "$T"/systemd/*.service "$T"/systemd/*.path "$r/etc/systemd/system/"
	for b in agentd agent-install tune-scanner-host.sh reserve-control-bandwidth.sh; do
		printf '#!/bin/sh\nexit 0\n' >"$r/opt/agentd/bin/$b"
		chmod 0755 "$r/opt/agentd/bin/$b"
	done
	verify() {
		out=$(systemd-analyze verify --man=no --root="$r" "$@" 2>&1)
		rc=$?
		[ -n "$out" ] && printf '%s\n' "$out"
		[ "$rc" -eq 0 ] && [ -z "$out" ]
	}
	check "systemd-analyze verify accepts the three units (no warnings)" verify \
		/etc/systemd/system/agentd.service /etc/systemd/system/agentd-remote-update.service \
		/etc/systemd/system/agentd-remote-update.path
	# with the installer-owned drop-in of §12.3 (AGENTD_TEXTFILE_DIR set)
	mkdir -p "$r/etc/systemd/system/agentd.service.d"
	printf '[Service]\nReadWritePaths=-/var/lib/node_exporter/textfile\n' \
		>"$r/etc/systemd/system/agentd.service.d/50-agent-install.conf"
	check "systemd-analyze verify accepts agentd.service with the §12.3 drop-in" verify \
		/etc/systemd/system/agentd.service
	# the check has teeth: a missing ExecStart binary and an unknown directive are caught
	rm "$r/opt/agentd/bin/agentd"
	check_fails "systemd-analyze verify notices a missing ExecStart binary" verify \
		/etc/systemd/system/agentd.service
	printf '#!/bin/sh\n' >"$r/opt/agentd/bin/agentd"
	chmod 0755 "$r/opt/agentd/bin/agentd"
	sed 's/^Restart=always$/Restart=always\nRestartFrobnicate=yes/' "$T/systemd/agentd.service" \
		>"$r/etc/systemd/system/agentd.service"
	check_fails "systemd-analyze verify notices an unknown directive" verify \
		/etc/systemd/system/agentd.service
fi

# ================================================================ runit run scripts
RUN_AGENTD=$T/runit/agentd/run
RUN_UPDATE=$T/runit/agentd-remote-update/run
check_eq "runit run scripts are executable" "yes yes" \
	"$([ -x "$RUN_AGENTD" ] && echo yes || echo no) $([ -x "$RUN_UPDATE" ] && echo yes || echo no)"
if command -v shellcheck >/dev/null 2>&1; then
	check "shellcheck -s sh is clean on the runit run scripts" shellcheck -s sh "$RUN_AGENTD" "$RUN_UPDATE"
else
	skip "shellcheck -s sh is clean on the runit run scripts" "shellcheck not installed"
fi

# A copy of each run script with its fixed paths moved under $1 (a fake host);
# stubs log argv; agent-install's stub performs "env exec FILE -- CMD..." by exec.
fake_host() {
	h=$1
	mkdir -p "$h/opt/agentd/bin" "$h/etc/agentd" "$h/run" "$h/sbin"
	echo 'ANYSCAN_TUNE_DISABLE=true' >"$h/etc/agentd/runtime.env"
	cat >"$h/opt/agentd/bin/agent-install" <<EOF
#!/bin/sh
echo "agent-install \$*" >>"$h/log"
echo "agent-install says hello on stderr" >&2
if [ "\$1" = env ] && [ "\$2" = exec ]; then
	shift 3
	[ "\$1" = -- ] && shift
	exec "\$@"
fi
echo "pid \$\$" >>"$h/log"
EOF
	for b in reserve-control-bandwidth.sh tune-scanner-host.sh; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/log"\nexit 1\n' "$b" "$h" >"$h/opt/agentd/bin/$b"
	done
	printf '#!/bin/sh\necho "agentd $*" >>"%s/log"\necho "pid $$" >>"%s/log"\n' "$h" "$h" \
		>"$h/opt/agentd/bin/agentd"
	printf '#!/bin/sh\necho "chown $*" >>"%s/log"\n' "$h" >"$h/sbin/chown"
	chmod 0755 "$h"/opt/agentd/bin/* "$h/sbin/chown"
	for s in agentd agentd-remote-update; do
		mkdir -p "$h/sv/$s"
		sed -e "s|/opt/agentd/|$h/opt/agentd/|g" -e "s|/etc/agentd/|$h/etc/agentd/|g" \
			-e "s|/run/agentd|$h/run/agentd|g" "$T/runit/$s/run" >"$h/sv/$s/run"
		chmod 0755 "$h/sv/$s/run"
	done
}

for sh_cmd in dash "busybox sh"; do
	if ! command -v "${sh_cmd%% *}" >/dev/null 2>&1; then
		skip "runit run scripts under $sh_cmd" "${sh_cmd%% *} not installed"
		continue
	fi
	h=$TMPDIR/host-${sh_cmd%% *}
	fake_host "$h"
	# shellcheck disable=SC2086
	PATH="$h/sbin:$PATH" $sh_cmd "$h/sv/agentd/run" >"$h/stdout" 2>"$h/stderr" &
	pid=$!
	wait "$pid"
	rc=$?
	check_eq "$sh_cmd: runit/agentd/run ends in agentd's status" 0 "$rc"
	check_eq "$sh_cmd: runit/agentd/run steps in order, through env exec" \
		"chown agentd:agentd $h/run/agentd
agent-install env exec $h/etc/agentd/runtime.env -- $h/opt/agentd/bin/reserve-control-bandwidth.sh apply
reserve-control-bandwidth.sh apply
agent-install env exec $h/etc/agentd/runtime.env -- $h/opt/agentd/bin/tune-scanner-host.sh apply
tune-scanner-host.sh apply
agent-install env exec $h/etc/agentd/runtime.env -- $h/opt/agentd/bin/agentd run --user agentd
agentd run --user agentd
pid $pid" "$(cat "$h/log")"
	check_eq "$sh_cmd: runit/agentd/run creates /run/agentd 0755" drwxr-xr-x \
		"$(ls -ld "$h/run/agentd" | cut -c1-10)"
	check_eq "$sh_cmd: runit/agentd/run sends stderr to stdout" "0 3" \
		"$(wc -c <"$h/stderr" | tr -d ' ') $(grep -c 'says hello on stderr' "$h/stdout")"
	: >"$h/log"
	# shellcheck disable=SC2086
	$sh_cmd "$h/sv/agentd-remote-update/run" >"$h/stdout" 2>"$h/stderr" &
	pid=$!
	wait "$pid"
	check_eq "$sh_cmd: runit/agentd-remote-update/run becomes agent-install watch" \
		"agent-install watch
pid $pid" "$(cat "$h/log")"
	check_eq "$sh_cmd: runit/agentd-remote-update/run sends stderr to stdout" "0 1" \
		"$(wc -c <"$h/stderr" | tr -d ' ') $(grep -c 'says hello on stderr' "$h/stdout")"
done

# ================================================================ runtime.env.template format
bad=$(awk '
	length($0) > 100 { print FNR ": longer than 100 bytes" }
	/[^\t -~]/ { print FNR ": not printable ASCII" }
	$0 != "" && substr($0, 1, 1) != "#" { print FNR ": active line (only comments allowed): " $0 }
' "$TEMPLATE")
check_eq "runtime.env.template: ASCII, lines <= 100 bytes, no active assignments" "" "$bad"

# template_entries FILE: "KEY<TAB>readers" per entry; format errors as "error: ..." lines
template_entries() {
	awk '
	function flush_error(msg) { print "error: line " FNR ": " msg }
	/^# [A-Za-z_][A-Za-z0-9_]*: / {
		k = $2; sub(/:$/, "", k); key = k; desc = substr($0, length(k) + 5); next
	}
	/^#   / && key != "" { desc = desc " " substr($0, 5); next }
	/^# [A-Za-z_][A-Za-z0-9_]*=/ {
		k = substr($0, 3); sub(/=.*/, "", k)
		if (k != key) { flush_error(k " has no \"# " k ": meaning\" lines just above"); key = ""; next }
		if (desc !~ /Default: /) flush_error(k ": no \"Default:\"")
		if (desc !~ /Read by: .*\.$/) { flush_error(k ": no \"Read by: ...\" at the end"); key = ""; next }
		r = desc; sub(/.*Read by: /, "", r); sub(/\.$/, "", r)
		if (seen[k]++) flush_error(k " documented twice")
		print k "\t" r
		key = ""; next
	}
	{ key = "" }
	' "$1"
}

# source_knobs ROOT: knob names the C sources and the scripts under ROOT read
source_knobs() {
	{
		for f in "$1"/lib/*.[ch] "$1"/agent/*.[ch] "$1"/bundle/*.[ch] "$1"/installer/*.[ch]; do
			[ -f "$f" ] || continue
			if command -v gcc >/dev/null 2>&1; then
				grep -v 'not-env' "$f" | gcc -fpreprocessed -dD -E -P -x c - 2>/dev/null
			else
				grep -v 'not-env' "$f"
			fi
		done | grep -o '"[A-Za-z_][A-Za-z0-9_]*"' | tr -d '"' | grep -E \
			'^((AGENT|AGENTD|ANYSCAN|SCANNER)_[A-Z0-9_]*[A-Z0-9]|AWS_EC2_METADATA_[A-Z0-9_]+|AWS_METADATA_SERVICE_[A-Z0-9_]+|HTTPS_PROXY|NO_PROXY|https_proxy|no_proxy)$'
		for f in "$1"/host-tuning/*.sh; do
			[ -f "$f" ] || continue
			grep -v '^[[:space:]]*#' "$f" | grep -o 'cfg_[a-z]* [A-Z][A-Z0-9_]*' | sed 's/^cfg_[a-z]* //'
		done
	} | sed 's/^https_proxy$/HTTPS_PROXY/; s/^no_proxy$/NO_PROXY/' | sort -u
}

# reader_exists ROOT READER: 0 when the program part named READER has been written
reader_exists() {
	case $2 in
	"agentd "*) [ -f "$1/agent/cmd_$(echo "${2#agentd }" | tr - _).c" ] ;;
	"agent-install "*) [ -f "$1/installer/cmd_$(echo "${2#agent-install }" | tr - _).c" ] ;;
	"agent-bundle "*) [ -f "$1/bundle/cmd_$(echo "${2#agent-bundle }" | tr - _).c" ] ;;
	*.sh) [ -f "$1/host-tuning/$2" ] ;;
	*) return 2 ;;
	esac
}

# sync_check ROOT TEMPLATE: one line per finding:
#   undocumented KEY | unread KEY (readers) | pending KEY (readers) | error ...
sync_check() {
	entries=$(template_entries "$2")
	printf '%s\n' "$entries" | grep '^error: '
	read_set=$(source_knobs "$1")
	doc_set=$(printf '%s\n' "$entries" | grep -v '^error: ' | cut -f1 | sort -u)
	for k in $read_set; do
		printf '%s\n' "$doc_set" | grep -qx "$k" || echo "undocumented $k"
	done
	printf '%s\n' "$entries" | grep -v '^error: ' | while IFS='	' read -r k readers; do
		[ -n "$k" ] || continue
		printf '%s\n' "$read_set" | grep -qx "$k" && continue
		[ "$readers" = nobody ] && continue
		existing=
		rest=$readers
		while [ -n "$rest" ]; do
			one=${rest%%, *}
			case $rest in *", "*) rest=${rest#*, } ;; *) rest= ;; esac
			reader_exists "$1" "$one"
			case $? in
			0) existing="${existing:+$existing, }$one" ;;
			2) echo "error: $k: unknown reader '$one'" ;;
			esac
		done
		if [ -n "$existing" ]; then
			echo "unread $k (template: read by $existing; no source reads it)"
		else
			echo "pending $k ($readers: not written yet)"
		fi
	done
}

# ---- the checker on a fixture tree first: it must catch what it claims to catch
fx=$TMPDIR/sync-fixture
mkdir -p "$fx/agent" "$fx/host-tuning" "$fx/lib"
cat >"$fx/t.template" <<'EOF'
## Group
# ANYSCAN_FX_READ: read by the fixture. Default: 1. Read by: agentd fx.
# ANYSCAN_FX_READ=1

# ANYSCAN_FX_UNREAD: nobody reads it, but its reader exists. Default: 1.
#   Read by: agentd fx.
# ANYSCAN_FX_UNREAD=1

# ANYSCAN_FX_PENDING: its reader does not exist yet. Default: 1. Read by: agentd later.
# ANYSCAN_FX_PENDING=1

# ANYSCAN_FX_CHILD: set for children only. Default: unset. Read by: nobody.
# ANYSCAN_FX_CHILD=

# ANYSCAN_FX_SCRIPT: read by a script. Default: unset. Read by: fx.sh.
# ANYSCAN_FX_SCRIPT=

# HTTPS_PROXY: proxy. Default: unset. Read by: agentd fx.
# HTTPS_PROXY=
EOF
cat >"$fx/agent/cmd_fx.c" <<'EOF'
static const char *const knobs[] = {"ANYSCAN_FX_READ", "https_proxy", "ANYSCAN_FX_NEW"};
static const char *legacy = "ANYSCAN_FX_LEGACY"; /* not-env */
/* a comment naming "ANYSCAN_FX_COMMENT" is not a read */
static const char *msg = "ANYSCAN_FX_READ is not a number"; /* not a whole literal */
EOF
printf '#!/bin/sh\nv=$(cfg_get ANYSCAN_FX_SCRIPT)\n' >"$fx/host-tuning/fx.sh"
want="pending ANYSCAN_FX_PENDING (agentd later: not written yet)
undocumented ANYSCAN_FX_NEW
unread ANYSCAN_FX_UNREAD (template: read by agentd fx; no source reads it)"
if ! command -v gcc >/dev/null 2>&1; then
	want="$want
undocumented ANYSCAN_FX_COMMENT"
fi
check_eq "sync checker: finds undocumented, unread and pending knobs on a fixture" \
	"$(printf '%s\n' "$want" | sort)" "$(sync_check "$fx" "$fx/t.template" | sort)"
printf '# ANYSCAN_FX_A=1\n# ANYSCAN_FX_B: no default. Read by: nobody.\n# ANYSCAN_FX_B=\n' >"$fx/bad.template"
check_eq "sync checker: format errors are reported" \
	"error: line 1: ANYSCAN_FX_A has no \"# ANYSCAN_FX_A: meaning\" lines just above
error: line 3: ANYSCAN_FX_B: no \"Default:\"" "$(template_entries "$fx/bad.template" | grep '^error')"

# ---- the real tree
result=$(sync_check "$AGENT_SRC" "$TEMPLATE")
errors=$(printf '%s\n' "$result" | grep '^error')
undocumented=$(printf '%s\n' "$result" | grep '^undocumented')
unread=$(printf '%s\n' "$result" | grep '^unread')
pending=$(printf '%s\n' "$result" | grep '^pending')
check_eq "runtime.env.template: every entry well formed" "" "$errors"
check_eq "runtime.env.template documents every knob the sources read" "" "$undocumented"
check_eq "every documented knob whose reader exists is read by the sources" "" "$unread"
n_read=$(source_knobs "$AGENT_SRC" | grep -c .)
n_doc=$(template_entries "$TEMPLATE" | grep -vc '^error')
echo "# $n_doc knobs documented, $n_read read by the sources today"
if [ -n "$pending" ]; then
	printf '%s\n' "$pending" | sed 's/^/#   /'
	skip "documented knobs whose reader is not written yet are read" \
		"$(printf '%s\n' "$pending" | grep -c .) knobs pending (their programs are not written yet; listed above)"
else
	ok "documented knobs whose reader is not written yet are read (none pending)"
fi
done_testing
