#!/bin/sh
# The man pages: one per program, mandoc-lint clean, SYNOPSIS in step with
# --help (every command, every long option), installed by `make install`,
# and renderable.
. "$AGENT_SRC/tests/integration/lib/tap.sh"

man_dir=$AGENT_SRC/man
have_mandoc=
command -v mandoc >/dev/null 2>&1 && have_mandoc=1

# page_of PROG -- print the one man/PROG.[1-8] page
page_of() {
	found=
	for f in "$man_dir/$1".[1-8]; do
		[ -f "$f" ] || continue
		[ -z "$found" ] || { echo "more than one page for $1: $found $f" >&2; return 1; }
		found=$f
	done
	[ -n "$found" ] || { echo "no man/$1.[1-8]" >&2; return 1; }
	echo "$found"
}

# synopsis PAGE -- the mdoc source lines of the SYNOPSIS section
synopsis() {
	awk '/^\.Sh /{ insyn = ($2 == "SYNOPSIS"); next } insyn' "$1"
}

# synopsis_commands -- the command of each SYNOPSIS line: the .Cm line that
# directly follows a .Nm line (mdoc source on stdin)
synopsis_commands() {
	awk '/^\.Nm/{ nm = 1; next } nm && /^\.Cm /{ print $2 } { nm = 0 }' | sort -u
}

# help_commands PROG -- the command names listed by PROG --help
help_commands() {
	awk '/^commands:/{ inc = 1; next } inc && /^$/{ exit } inc { print $1 }'
}

# usage_options -- the long options in the usage block of a --help text on stdin
# (the "usage:" line and the indented lines that follow it)
usage_options() {
	awk '/^usage:/{ inu = 1; print; next } inu && /^[ \t]/{ print; next } { inu = 0 }' |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

for p in agentd agent-bundle agent-install; do
	bin=$AGENT_BIN/$p
	if ! page=$(page_of "$p" 2>page.err); then
		not_ok "$p has a man page ($(cat page.err))"
		continue
	fi
	name=$(basename "$page")
	sec=${name##*.}
	ok "$p has a man page ($name)"
	dt=$(sed -n 's/^\.Dt  *\([^ ]*\)  *\([0-9]\).*/\1 \2/p' "$page")
	upper=$(printf '%s' "$p" | tr 'a-z' 'A-Z')
	check_eq "$name: .Dt names the page and its section" "$upper $sec" "$dt"

	# (a) mandoc -Tlint -W warning is clean
	if [ -n "$have_mandoc" ]; then
		mandoc -Tlint -W warning "$page" >lint.out 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && [ ! -s lint.out ]; then
			ok "$name: mandoc -Tlint -W warning is clean"
		else
			not_ok "$name: mandoc -Tlint -W warning is clean (exit $rc)"
			sed 's/^/#   /' lint.out | head -n 40
		fi
	else
		skip "$name: mandoc -Tlint" "mandoc not installed"
	fi

	# (b) every command of --help has a .Cm line in SYNOPSIS, and every long
	# option of each command's usage appears there as .Fl
	if [ ! -x "$bin" ]; then
		not_ok "$p is built (needed for the SYNOPSIS check)"
		continue
	fi
	synopsis "$page" >syn.txt
	"$bin" --help >help.out 2>&1
	help_commands <help.out >cmds.txt
	if [ ! -s cmds.txt ]; then
		not_ok "$p --help lists its commands"
		continue
	fi
	synopsis_commands <syn.txt >syncmds.txt
	missing=
	for c in $(cat cmds.txt); do
		grep -q -x -F "$c" syncmds.txt || missing="$missing $c"
	done
	check_eq "$name: SYNOPSIS has a .Cm line for every command of $p --help ($(tr '\n' ' ' <cmds.txt))" \
		"" "$missing"
	for c in $(cat cmds.txt); do
		if ! "$bin" "$c" --help >chelp.out 2>&1; then
			not_ok "$p $c --help exits 0"
			continue
		fi
		# this command's SYNOPSIS lines (from its .Nm to the next .Nm); mdoc
		# writes --opt as "Fl -opt"
		awk -v c="$c" '/^\.Nm/{ nm = 1; inc = 0; next }
			nm && /^\.Cm /{ inc = ($2 == c) } { nm = 0 } inc' syn.txt >csyn.txt
		missing=
		for o in $(usage_options <chelp.out); do
			grep -q -E "Fl ${o#-}( |\$)" csyn.txt || missing="$missing $o"
		done
		check_eq "$name: SYNOPSIS of '$c' has every option of '$p $c --help'" "" "$missing"
	done
	# and the other way: no command in SYNOPSIS that --help does not list
	extra=
	for c in $(cat syncmds.txt); do
		grep -q -x -F "$c" cmds.txt || extra="$extra $c"
	done
	check_eq "$name: SYNOPSIS names no command that $p --help lacks" "" "$extra"
done

# (c) make install puts the three programs and the three pages in place
d=$TMPDIR/d
if MAKEFLAGS='' MAKELEVEL='' make -s -C "$AGENT_SRC" \
	-o build/bin/agentd -o build/bin/agent-bundle -o build/bin/agent-install \
	install DESTDIR="$d" PREFIX=/usr >install.out 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	not_ok "make install DESTDIR=... PREFIX=/usr"
	sed 's/^/#   /' install.out | head -n 40
fi
for p in agentd agent-bundle agent-install; do
	if [ -x "$d/usr/bin/$p" ] && cmp -s "$d/usr/bin/$p" "$AGENT_BIN/$p"; then
		ok "make install: /usr/bin/$p"
	else
		not_ok "make install: /usr/bin/$p"
	fi
	page=$(page_of "$p" 2>/dev/null) || continue
	name=$(basename "$page")
	inst=$d/usr/share/man/man${name##*.}/$name
	if [ -f "$inst" ] && cmp -s "$inst" "$page"; then
		ok "make install: /usr/share/man/man${name##*.}/$name"
	else
		not_ok "make install: /usr/share/man/man${name##*.}/$name"
		(cd "$d" && find . | sort | sed 's/^/#   /')
	fi
	mode=$(stat -c %a "$inst" 2>/dev/null)
	check_eq "make install: $name mode" 644 "$mode"
done

# (d) every page renders, with mandoc and (where installed) man -l
bs=$(printf '\b')
for page in "$man_dir"/*.[1-8]; do
	[ -f "$page" ] || continue
	name=$(basename "$page")
	if [ -n "$have_mandoc" ]; then
		if mandoc -Tascii "$page" 2>render.err | sed "s/.$bs//g" >render.out &&
			grep -q '^SYNOPSIS' render.out && grep -q '^EXIT STATUS' render.out &&
			[ ! -s render.err ]; then
			ok "$name: mandoc -Tascii renders it"
		else
			not_ok "$name: mandoc -Tascii renders it"
			sed 's/^/#   /' render.err | head -n 20
		fi
	else
		skip "$name: mandoc -Tascii" "mandoc not installed"
	fi
	if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
		if MANPAGER=cat MANWIDTH=80 man -l "$page" 2>man.err | sed "s/.$bs//g" >man.out &&
			grep -q '^SYNOPSIS' man.out && grep -q '^EXIT STATUS' man.out; then
			ok "$name: man -l renders it"
		else
			not_ok "$name: man -l renders it"
			sed 's/^/#   /' man.err | head -n 20
		fi
	else
		skip "$name: man -l" "man or groff not installed"
	fi
done
done_testing
