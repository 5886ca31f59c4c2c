#!/bin/sh
# agentd fetch's progress bar: drawn on a terminal (a pseudo-terminal made by
# script(1) from util-linux), never when stderr is not a terminal, and not
# over a body that goes to the terminal itself.  The server is the
# canned-response server (fake_imds --raw) on loopback.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

A=$AGENT_BIN/agentd
FAKE=$AGENT_TOOLS/fake_imds
T=$TMPDIR
[ -x "$FAKE" ] || skip_all "fake_imds not built (make tools)"
command -v script >/dev/null 2>&1 || skip_all "script (util-linux) not installed"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT INT TERM

start_fake() { # portfile args... (sets $fport)
	pf=$1; shift
	rm -f "$pf"
	"$FAKE" --port-file "$pf" "$@" >/dev/null 2>&1 </dev/null & pids="$pids $!"
	i=0; while [ ! -s "$pf" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	fport=$(cat "$pf")
}
# in_pty CMD -- run the sh command line CMD on a pseudo-terminal (stdin,
# stdout and stderr are the terminal unless CMD redirects them); what the
# terminal showed goes to stdout
in_pty() { script -qec "$1" /dev/null </dev/null; }
# the bar: "\ragentd: downloading NAME  ... MiB/s", redrawn in place (a
# terminal shows a newline as "\r\n", so "\r" right before the text is the bar)
cr=$(printf '\r')
has_bar() { grep -q "${cr}agentd: downloading .* MiB/s" "$1"; }

# a 900 KiB body with a length (fake_imds --raw sends at most 1 MiB), and a chunked one without
head -c 921600 /dev/zero | tr '\0' x >"$T/body"
{ printf 'HTTP/1.1 200 OK\r\nContent-Length: 921600\r\nConnection: close\r\n\r\n'; cat "$T/body"; } \
	>"$T/len.raw"
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' >"$T/chunked.raw"
start_fake "$T/p1" --raw "$T/len.raw"; lp=$fport
start_fake "$T/p2" --raw "$T/chunked.raw"; cp=$fport
[ -n "$lp" ] && [ -n "$cp" ] || skip_all "fake_imds did not start"
in_pty 'test -t 2' >/dev/null 2>&1 || skip_all "script cannot make a pseudo-terminal here"

# 1. on a terminal with -o FILE: the bar, ending at 100% of 0.9 MiB
in_pty "\"$A\" fetch -o \"$T/o1\" http://127.0.0.1:$lp/f" >"$T/tty1" 2>&1
check "tty, -o FILE: the file is complete" cmp "$T/body" "$T/o1"
if has_bar "$T/tty1" && grep -q '0\.9/0\.9 MiB  100%' "$T/tty1"; then
	ok "tty, -o FILE: a progress bar reaching 100% is drawn"
else
	not_ok "tty, -o FILE: a progress bar reaching 100% is drawn"
	od -c "$T/tty1" | head -n 20 | sed 's/^/#   /'
fi
if grep -q 'agentd: downloaded [0-9]* bytes' "$T/tty1"; then
	not_ok "tty: no plain 'downloaded N bytes' line next to the bar"
else ok "tty: no plain 'downloaded N bytes' line next to the bar"; fi

# 2. on a terminal, body redirected to a file: still the bar (stderr is the tty)
in_pty "\"$A\" fetch http://127.0.0.1:$lp/f >\"$T/o2\"" >"$T/tty2" 2>&1
check "tty, stdout to a file: the body is complete" cmp "$T/body" "$T/o2"
if has_bar "$T/tty2"; then ok "tty, stdout to a file: a progress bar is drawn"; else
	not_ok "tty, stdout to a file: a progress bar is drawn"
	od -c "$T/tty2" | head -n 20 | sed 's/^/#   /'
fi

# 3. unknown length (chunked): a bar with a byte count and no percentage
in_pty "\"$A\" fetch -o \"$T/o3\" http://127.0.0.1:$cp/f" >"$T/tty3" 2>&1
check_eq "tty, chunked: the body" hello "$(cat "$T/o3" 2>/dev/null)"
if has_bar "$T/tty3" && ! grep -q '%' "$T/tty3"; then
	ok "tty, chunked: a bar without a percentage"
else
	not_ok "tty, chunked: a bar without a percentage"
	od -c "$T/tty3" | head -n 20 | sed 's/^/#   /'
fi

# 4. on a terminal, stderr redirected to a file: no bar anywhere, the plain lines
in_pty "\"$A\" fetch -o \"$T/o4\" http://127.0.0.1:$lp/f 2>\"$T/err4\"" >"$T/tty4" 2>&1
check "stderr to a file: the file is complete" cmp "$T/body" "$T/o4"
if has_bar "$T/err4" || has_bar "$T/tty4" || grep -q '%' "$T/err4"; then
	not_ok "stderr to a file: no progress bar"
	od -c "$T/err4" | head -n 20 | sed 's/^/#   /'
else ok "stderr to a file: no progress bar"; fi
check "stderr to a file: 'downloaded 921600 bytes' instead" \
	grep -q 'agentd: downloaded 921600 bytes in' "$T/err4"

# 5. on a terminal, the body itself to the terminal: no bar over it
in_pty "\"$A\" fetch http://127.0.0.1:$cp/f" >"$T/tty5" 2>&1
check "tty, body to the terminal: the body is shown" grep -q hello "$T/tty5"
if has_bar "$T/tty5"; then
	not_ok "tty, body to the terminal: no progress bar over it"
	od -c "$T/tty5" | head -n 20 | sed 's/^/#   /'
else ok "tty, body to the terminal: no progress bar over it"; fi

# 6. no terminal at all (pipes and files): no bar
"$A" fetch http://127.0.0.1:$lp/f 2>"$T/err6" | cat >"$T/o6"
check "no tty: the body is complete" cmp "$T/body" "$T/o6"
if has_bar "$T/err6" || grep -q '%' "$T/err6"; then
	not_ok "no tty: no progress bar"; sed 's/^/#   /' "$T/err6"
else ok "no tty: no progress bar"; fi
check "no tty: 'downloaded 921600 bytes'" grep -q 'agentd: downloaded 921600 bytes in' "$T/err6"

done_testing
