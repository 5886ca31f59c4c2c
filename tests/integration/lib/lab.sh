# Shared by the lab tests (50-scan-lab.sh, 51-scan-lab-multi.sh): source after
# tap.sh.  Skips the whole file (skip_all) when the lab cannot run here; sets
# lab (the netns-lab.sh path), agentd and zmap; records the namespaces this
# file's labs create (NETNS_LAB_RECORD) for lab_namespaces.
lab=$AGENT_SRC/tests/integration/netns-lab.sh
agentd=$AGENT_BIN/agentd
[ -x "$agentd" ] || skip_all "agentd not built"
out=$(sh "$lab" check --zmap 2>&1)
case $? in
0) ;;
77) skip_all "${out#SKIP: }" ;;
*) skip_all "netns-lab check failed: $out" ;;
esac
zmap=/usr/sbin/zmap
[ -x "$zmap" ] || zmap=$(command -v zmap)

# lab_namespaces -- the namespaces of this file's labs that still exist
export NETNS_LAB_RECORD="$TMPDIR/lab-namespaces"
: >"$NETNS_LAB_RECORD"
lab_namespaces() {
	ip netns list 2>/dev/null | awk 'NR == FNR { mine[$1] = 1; next } ($1 in mine) { print $1 }' \
		"$NETNS_LAB_RECORD" - | sort | tr '\n' ' '
}

. "$AGENT_SRC/tests/integration/lib/metric.sh" # ra_table
