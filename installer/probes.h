#ifndef PROBES_H
#define PROBES_H
/*
 * Probe keys (spec bundle-install-update.md §9.3): ANYSCAN_AF_XDP_AVAILABLE,
 * ANYSCAN_PFRING_ZC_AVAILABLE, ANYSCAN_DPDK_AVAILABLE, each true/false with
 * one reason.  probes_decide is pure; probes_gather reads /proc, /sys and
 * /dev under a probe root ("/" or AGENT_INSTALL_PROBE_ROOT, §24.2), runs
 * `ldconfig -p` from PATH (none: an empty cache) and reads the scanner's
 * DT_NEEDED.
 */
#include "elfneed.h"

#include <stdbool.h>
#include <stddef.h>

struct probes_in {
	bool have_scanner;
	bool kernel_ok; /* the kernel release parsed */
	int kmaj, kmin;
	const char *ldcache; /* `ldconfig -p` output, "" when none */
	size_t ldlen;
	const struct elfneed *needed; /* the scanner's DT_NEEDED (may be NULL) */
	bool pf_ring;                 /* /proc/net/pf_ring exists */
	bool vfio_pci;                /* /sys/module/vfio_pci or vfio-pci exists */
	unsigned long long hugepages; /* sum of nr_hugepages */
	bool dev_vfio;                /* /dev/vfio/vfio exists */
};

struct probe_result {
	bool value;
	char reason[96];
};

struct probes_out {
	struct probe_result xdp, pfring, dpdk;
};

/* True when a library name in the ldconfig -p listing starts with prefix. */
bool probes_ldcache_has(const char *cache, size_t len, const char *prefix);

void probes_decide(const struct probes_in *in, struct probes_out *out);

/* scanner: the scanner file on disk (NULL or missing: no scanner). */
void probes_gather(const char *probe_root, const char *scanner, const char *path_env,
		   struct probes_out *out);

#endif
