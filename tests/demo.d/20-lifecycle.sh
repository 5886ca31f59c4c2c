#!/bin/sh
# demo: the fleet lifecycle on loopback -- make a release, serve it over TLS,
# bootstrap a worker with curl | sh under runit, publish an update that the
# worker applies by itself, then a bad release that it rolls back.  This is
# tests/integration/95-lifecycle.sh with narration: the demo and the test are
# one script, so what the demo shows is what CI checks.
set -u
build=$1
printf '\n== fleet lifecycle: release -> TLS server -> curl | sh under runit -> update -> rollback\n'
echo "(this takes about two minutes: agentd polls its channel on its own schedule)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent-demo-lifecycle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
src=$PWD
b=$(cd "$build" && pwd)
(cd "$tmp" && LIFECYCLE_NARRATE=1 TMPDIR=$tmp AGENT_SRC=$src AGENT_BUILD=$b AGENT_BIN=$b/bin \
	AGENT_TOOLS=$b/musl/tools sh "$src/tests/integration/95-lifecycle.sh") 2>&1 |
	grep -v '^1\.\.' | sed 's/^ok [0-9]* - /   [ok] /; s/^not ok [0-9]* - /   [FAILED] /'
