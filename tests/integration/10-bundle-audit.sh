#!/bin/sh
# The test-time asset audit (spec bundle-install-update.md §6.2): (a) every
# rule's repository source exists; (b) every file under templates/ and
# host-tuning/ is the source of a rule, is templates/install.sh.in, or is
# listed in tests/fixtures/audit-not-shipped.txt with a reason; (c) the
# Makefile's staging list equals `agent-bundle rules` (when it has one).
. "$AGENT_SRC/tests/integration/lib/tap.sh"

B=$AGENT_BIN/agent-bundle
S=$AGENT_SRC
[ -x "$B" ] || skip_all "agent-bundle not built"
[ -f "$S/templates/install.sh.in" ] ||
	skip_all "templates are not complete yet (templates/install.sh.in missing)"

# source BUNDLEPATH: the repository source of a rule (§2.1), "" if external
source_of() {
	case $1 in
	bin/agentd | bin/agent-install) echo "build/bin/${1#bin/}" ;;
	bin/scanner | env/runtime.env) echo "" ;; # SCANNER_BIN= / SITE_ENV=
	bin/*.sh) echo "host-tuning/${1#bin/}" ;;
	env/runtime.env.template) echo "templates/runtime.env.template" ;;
	install.sh) echo "templates/install.sh.in" ;;
	*) echo "templates/$1" ;;
	esac
}

"$B" rules >rules.txt
check "agent-bundle rules runs" test -s rules.txt
: >sources.txt
while read -r path mode req; do
	src=$(source_of "$path")
	if [ -z "$src" ]; then
		check_eq "$path is optional (external source)" optional "$req"
		continue
	fi
	echo "$src" >>sources.txt
	case $src in
	build/bin/*) check "(a) $path: $src is built" test -f "$AGENT_BIN/${src#build/bin/}" ;;
	*) check "(a) $path ($mode, $req): $S/$src exists" test -f "$S/$src" ;;
	esac
done <rules.txt

allow=$S/tests/fixtures/audit-not-shipped.txt
(cd "$S" && find templates host-tuning -type f | LC_ALL=C sort) >repo-files.txt
while read -r f; do
	if grep -qx "$f" sources.txt; then
		ok "(b) $f is the source of a rule"
	elif [ -f "$allow" ] && grep -q "^${f}[[:space:]][[:space:]]*[^[:space:]]" "$allow"; then
		ok "(b) $f is listed as not shipped: $(grep "^${f}[[:space:]]" "$allow" | cut -c1-80)"
	else
		not_ok "(b) $f is neither shipped by a rule nor listed in tests/fixtures/audit-not-shipped.txt"
	fi
done <repo-files.txt

if grep -q '^BUNDLE_STAGE' "$S/Makefile" 2>/dev/null; then
	make -s -C "$S" print-bundle-stage >stage.txt 2>/dev/null
	cut -d' ' -f1 rules.txt | LC_ALL=C sort >want.txt
	LC_ALL=C sort stage.txt >got.txt
	check "(c) the Makefile's staging list equals agent-bundle rules" diff want.txt got.txt
else
	skip "(c) the Makefile's staging list equals agent-bundle rules" \
		"the Makefile has no BUNDLE_STAGE list yet (release staging)"
fi
done_testing
