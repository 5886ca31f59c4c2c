#!/bin/sh
# demo: where things are
set -u
build=$1
printf '\n== where things are\n'
cat <<EOF2
  programs            $build/bin/agentd, agent-bundle, agent-install (static, musl)
  a release           make release VERSION=x.y.z [RELEASE_KEY=key.pem]  ->  dist/
  the release flow    tests/integration/95-lifecycle.sh (what the lifecycle part above ran)
  the lab             tests/integration/netns-lab.sh (namespaces, veth, zmap)
  configuration       templates/runtime.env.template (every setting, with its default)
  decisions           docs/decisions.md;  contracts: ../shared/spec/
  tests               make check (logs in $build/test-logs/);  benchmarks: make bench
EOF2
