#include "hostfacts.h"

#include "fsutil.h"
#include "num.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int hostfacts_kernel_parse(const char *release, int *major, int *minor)
{
	const char *p = release;
	int64_t v;
	size_t n;

	n = strcspn(p, ".-");
	if (n == 0 || n > 9 || num_parse_i64(p, n, &v) != 0 || !is_digit(p[0]))
		return -1;
	*major = (int)v;
	*minor = 0;
	p += n;
	if (*p == '\0')
		return 0;
	p++;
	n = strcspn(p, ".-");
	if (n > 0 && n <= 9 && is_digit(p[0]) && num_parse_i64(p, n, &v) == 0)
		*minor = (int)v;
	return 0;
}

/* Split the line [s, e) into whitespace-separated fields. */
static size_t fields(const char *s, const char *e, const char **f, size_t *fl, size_t max)
{
	size_t n = 0;

	while (s < e && n < max) {
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= e)
			break;
		f[n] = s;
		while (s < e && *s != ' ' && *s != '\t')
			s++;
		fl[n] = (size_t)(s - f[n]);
		n++;
	}
	return n;
}

static bool all_zero(const char *s, size_t n)
{
	size_t i;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] != '0')
			return false;
	return true;
}

/* Walk lines; for rows that qualify keep the lowest metric. */
static bool route_pick(const char *data, size_t len, bool v6, char out[HOSTFACTS_IFNAME_MAX + 1])
{
	const char *p = data, *end = data + len;
	uint64_t best = UINT64_MAX;
	bool found = false, first = true;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		const char *f[12];
		size_t fl[12], n = fields(p, le, f, fl, 12);
		uint64_t metric;
		bool ok = false;
		const char *name = NULL;
		size_t name_len = 0;

		if (!v6 && first) {
			first = false; /* the header line */
		} else if (!v6 && n >= 7 && fl[1] == 8 && all_zero(f[1], 8) &&
			   num_parse_u64(f[6], fl[6], &metric) == 0) {
			ok = true;
			name = f[0];
			name_len = fl[0];
		} else if (v6 && n >= 10 && fl[0] == 32 && all_zero(f[0], 32) && fl[1] == 2 &&
			   all_zero(f[1], 2) && fl[5] == 8) {
			/* metric is hex in ipv6_route */
			size_t i;
			metric = 0;
			ok = true;
			for (i = 0; i < 8 && ok; i++) {
				char c = f[5][i];
				unsigned d = (c >= '0' && c <= '9')   ? (unsigned)(c - '0')
					     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
					     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
								      : 16u;
				if (d > 15)
					ok = false;
				metric = metric * 16 + d;
			}
			name = f[9];
			name_len = fl[9];
			if (ok && name_len == 2 && memcmp(name, "lo", 2) == 0)
				ok = false; /* the unreachable default on lo */
		}
		if (ok && name_len > 0 && name_len <= HOSTFACTS_IFNAME_MAX && metric < best) {
			best = metric;
			memcpy(out, name, name_len);
			out[name_len] = '\0';
			found = true;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return found;
}

bool hostfacts_route4(const char *data, size_t len, char out[HOSTFACTS_IFNAME_MAX + 1])
{
	return route_pick(data, len, false, out);
}

bool hostfacts_route6(const char *data, size_t len, char out[HOSTFACTS_IFNAME_MAX + 1])
{
	return route_pick(data, len, true, out);
}

static bool excluded(const char *name)
{
	static const char *const prefixes[] = {"docker", "br-", "veth",   "tun",     "tap",  "wg",
					       "zt",     "cni", "cilium", "flannel", "kube-"};
	size_t i;

	if (strcmp(name, "lo") == 0)
		return true;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static int by_index(const void *a, const void *b)
{
	const struct hostfacts_if *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

size_t hostfacts_order(const struct hostfacts_if *in, size_t n, const char *default_iface,
		       char (*out)[HOSTFACTS_IFNAME_MAX + 1], size_t max)
{
	struct hostfacts_if *v;
	size_t i, j, k = 0, m = 0;

	v = calloc(n > 0 ? n : 1, sizeof(*v));
	if (v == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (in[i].up && in[i].has_ipv4 && !excluded(in[i].name))
			v[m++] = in[i];
	qsort(v, m, sizeof(*v), by_index);
	for (i = 0; i < m && k < max; i++) {
		bool dup = false;
		for (j = 0; j < k; j++)
			if (strcmp(out[j], v[i].name) == 0)
				dup = true;
		if (!dup)
			memcpy(out[k++], v[i].name, sizeof(out[0]));
	}
	free(v);
	if (default_iface != NULL && default_iface[0] != '\0')
		for (i = 1; i < k; i++)
			if (strcmp(out[i], default_iface) == 0) {
				char tmp[HOSTFACTS_IFNAME_MAX + 1];
				memcpy(tmp, out[i], sizeof(tmp));
				memmove(out[1], out[0], i * sizeof(out[0]));
				memcpy(out[0], tmp, sizeof(tmp));
				break;
			}
	return k;
}

static bool read_route(const char *root, const char *rel, bool v6,
		       char out[HOSTFACTS_IFNAME_MAX + 1])
{
	char path[4096], *data = NULL;
	size_t len = 0;
	bool ok;
	int n = snprintf(path, sizeof(path), "%s%s", strcmp(root, "/") == 0 ? "" : root, rel);

	if (n < 0 || (size_t)n >= sizeof(path) ||
	    fsutil_read_file(path, 1024 * 1024, 0, &data, &len, NULL) != 0)
		return false;
	ok = v6 ? hostfacts_route6(data, len, out) : hostfacts_route4(data, len, out);
	free(data);
	return ok;
}

void hostfacts_gather(const char *root, struct hostfacts *out)
{
	cpu_set_t set;
	long online;

	memset(out, 0, sizeof(*out));
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
		out->cpus = (unsigned)CPU_COUNT(&set);
	} else {
		online = sysconf(_SC_NPROCESSORS_ONLN);
		out->cpus = online > 0 ? (unsigned)online : 1;
	}
	if (!read_route(root, "/proc/net/route", false, out->default_iface))
		(void)read_route(root, "/proc/net/ipv6_route", true, out->default_iface);
	if (strcmp(root, "/") == 0) {
		struct ifaddrs *ifa = NULL, *p;
		struct hostfacts_if list[HOSTFACTS_IFACES_MAX * 2];
		size_t n = 0, i;
		if (getifaddrs(&ifa) != 0)
			return;
		for (p = ifa; p != NULL; p = p->ifa_next) {
			bool v4 = p->ifa_addr != NULL && p->ifa_addr->sa_family == AF_INET;
			if (p->ifa_name == NULL || strlen(p->ifa_name) > HOSTFACTS_IFNAME_MAX)
				continue;
			for (i = 0; i < n; i++)
				if (strcmp(list[i].name, p->ifa_name) == 0)
					break;
			if (i == n) {
				if (n >= sizeof(list) / sizeof(list[0]))
					continue;
				memset(&list[n], 0, sizeof(list[n]));
				memcpy(list[n].name, p->ifa_name, strlen(p->ifa_name) + 1);
				list[n].index = if_nametoindex(p->ifa_name);
				n++;
			}
			if (p->ifa_flags & IFF_UP)
				list[i].up = true;
			if (v4)
				list[i].has_ipv4 = true;
		}
		freeifaddrs(ifa);
		out->nifaces = hostfacts_order(list, n, out->default_iface, out->ifaces,
					       HOSTFACTS_IFACES_MAX);
	}
}
