#!/bin/sh
# make lint: banned functions, shellcheck, clang-format over the whole tree.
. "$AGENT_SRC/tests/integration/lib/tap.sh"
command -v shellcheck >/dev/null 2>&1 || skip_all "shellcheck not installed"
command -v clang-format >/dev/null 2>&1 || skip_all "clang-format not installed"
if MAKEFLAGS='' MAKELEVEL='' make -s -C "$AGENT_SRC" lint >lint.out 2>&1; then
	ok "make lint is clean"
else
	not_ok "make lint is clean"
	sed 's/^/#   /' lint.out | head -n 60
fi

# the banned-function grep really catches a banned call
mkdir -p t/lib
printf 'void f(char *d, const char *s);\nvoid f(char *d, const char *s) { strcpy(d, s); }\n' >t/lib/bad.c
if (cd t && sh "$AGENT_SRC/tests/lint.sh" lib/bad.c "") >bad.out 2>&1; then
	not_ok "lint refuses strcpy"
else
	if grep -q 'banned function' bad.out; then ok "lint refuses strcpy"; else not_ok "lint refuses strcpy"; fi
fi
done_testing
