#!/bin/sh
# make lint: banned functions, shellcheck, clang-format.
# usage: lint.sh "C FILES" "SHELL FILES"
set -u
c_files=$1; sh_files=$2
rc=0

# Functions STYLE.md bans from our C.  Numbers are parsed with the checked
# helpers in lib/ (num_*), which alone may call strtoll/strtoull.
banned='\<(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|sscanf|atoi|atol|atoll|atof|gets|strtok|tmpnam|mktemp)[[:space:]]*\('
strto='\<(strtol|strtoul|strtoll|strtoull|strtod|strtof)[[:space:]]*\('
for f in $c_files; do
	if grep -nE "$banned" "$f" | grep -v 'lint: allow' >/tmp/lint.$$; then
		sed "s|^|$f:|; s|\$|  <- banned function|" /tmp/lint.$$; rc=1
	fi
	case $f in lib/num.c) continue ;; esac
	if grep -nE "$strto" "$f" | grep -v 'lint: allow' >/tmp/lint.$$; then
		sed "s|^|$f:|; s|\$|  <- use the checked parsers in lib/num.h|" /tmp/lint.$$; rc=1
	fi
done
rm -f /tmp/lint.$$

if command -v shellcheck >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	[ -z "$sh_files" ] || shellcheck -s sh -S warning $sh_files || rc=1
else
	echo "lint: shellcheck not installed" >&2; rc=1
fi

if command -v clang-format >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	[ -z "$c_files" ] || clang-format --dry-run -Werror $c_files || rc=1
else
	echo "lint: clang-format not installed" >&2; rc=1
fi
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
