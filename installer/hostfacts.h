#ifndef HOSTFACTS_H
#define HOSTFACTS_H
/*
 * Host facts for the computed defaults (spec bundle-install-update.md §9.6)
 * and the kernel version rule of §9.3.  The parsers and the interface
 * ordering are pure; hostfacts_gather reads /proc under a root (the real
 * host's "/", or AGENT_INSTALL_PROBE_ROOT in tests, §24.2), the affinity
 * mask and getifaddrs (the real host only).
 */
#include <stdbool.h>
#include <stddef.h>

#define HOSTFACTS_IFNAME_MAX 16 /* IFNAMSIZ */
#define HOSTFACTS_IFACES_MAX 64

/* §9.3: major and minor of a kernel release ("6.12.74+deb13+1-amd64" -> 6
 * 12; "5" -> 5 0).  -1 when the major is not numeric ("could not parse
 * kernel"). */
int hostfacts_kernel_parse(const char *release, int *major, int *minor);

/* §9.6 default interface from /proc/net/route text: the row with
 * Destination 00000000 and the lowest metric (the first on a tie).  true
 * and out set, or false. */
bool hostfacts_route4(const char *data, size_t len, char out[HOSTFACTS_IFNAME_MAX + 1]);
/* The same from /proc/net/ipv6_route: destination all zeros, prefix length 0. */
bool hostfacts_route6(const char *data, size_t len, char out[HOSTFACTS_IFNAME_MAX + 1]);

struct hostfacts_if {
	char name[HOSTFACTS_IFNAME_MAX + 1];
	unsigned index;
	bool up;
	bool has_ipv4;
};

/* §9.6 interface list: up, with an IPv4 address, not lo or a virtual prefix
 * (docker br- veth tun tap wg zt cni cilium flannel kube-), by ascending
 * index, duplicates removed, the default interface moved to the front.
 * Returns the count written to out (at most max). */
size_t hostfacts_order(const struct hostfacts_if *in, size_t n, const char *default_iface,
		       char (*out)[HOSTFACTS_IFNAME_MAX + 1], size_t max);

struct hostfacts {
	unsigned cpus;                                /* at least 1 */
	char default_iface[HOSTFACTS_IFNAME_MAX + 1]; /* "" when none */
	char ifaces[HOSTFACTS_IFACES_MAX][HOSTFACTS_IFNAME_MAX + 1];
	size_t nifaces;
};

/* Gather the facts: /proc/net/route and /proc/net/ipv6_route under root
 * ("/" normally); cpus from the affinity mask (else online CPUs);
 * interfaces from getifaddrs only when root is "/" (a fixture root has
 * none). */
void hostfacts_gather(const char *root, struct hostfacts *out);

#endif
