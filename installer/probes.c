#include "probes.h"

#include "buf.h"
#include "fsutil.h"
#include "hostfacts.h"
#include "num.h"
#include "runcmd.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define LDCACHE_MAX (4 * 1024 * 1024)

bool probes_ldcache_has(const char *cache, size_t len, const char *prefix)
{
	const char *p = cache, *end = cache + len;
	size_t pl = strlen(prefix);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) >= pl && memcmp(p, prefix, pl) == 0)
			return true;
		p = nl != NULL ? nl + 1 : end;
	}
	return false;
}

static void set(struct probe_result *r, bool v, const char *reason)
{
	r->value = v;
	(void)snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

void probes_decide(const struct probes_in *in, struct probes_out *out)
{
	bool pfring_link = in->needed != NULL && elfneed_has_prefix(in->needed, "libpfring");
	bool eal_link = in->needed != NULL && elfneed_has_prefix(in->needed, "librte_eal.so");

	memset(out, 0, sizeof(*out));
	if (!in->have_scanner) {
		set(&out->xdp, false, "no scanner");
		set(&out->pfring, false, "no scanner");
		set(&out->dpdk, false, "no scanner");
		return;
	}
	if (!in->kernel_ok)
		set(&out->xdp, false, "could not parse kernel");
	else if (in->kmaj < 5 || (in->kmaj == 5 && in->kmin < 10))
		(void)snprintf(out->xdp.reason, sizeof(out->xdp.reason), "kernel %d.%d < 5.10",
			       in->kmaj, in->kmin);
	else if (!probes_ldcache_has(in->ldcache, in->ldlen, "libxdp.so"))
		set(&out->xdp, false, "libxdp.so not in ldconfig");
	else {
		out->xdp.value = true;
		(void)snprintf(out->xdp.reason, sizeof(out->xdp.reason),
			       "kernel %d.%d, libxdp.so in ldconfig", in->kmaj, in->kmin);
	}

	if (!in->pf_ring)
		set(&out->pfring, false, "/proc/net/pf_ring missing");
	else if (!probes_ldcache_has(in->ldcache, in->ldlen, "libpfring.so"))
		set(&out->pfring, false, "libpfring.so not in ldconfig");
	else if (!pfring_link)
		set(&out->pfring, false, "scanner does not link libpfring");
	else
		set(&out->pfring, true, "pf_ring loaded, scanner links libpfring");

	if (!eal_link)
		set(&out->dpdk, false, "scanner does not link librte_eal");
	else if (!probes_ldcache_has(in->ldcache, in->ldlen, "librte_eal.so"))
		set(&out->dpdk, false, "librte_eal.so not in ldconfig");
	else if (!in->vfio_pci)
		set(&out->dpdk, false, "vfio-pci not loaded");
	else if (in->hugepages == 0)
		set(&out->dpdk, false, "no hugepages reserved");
	else if (!in->dev_vfio)
		set(&out->dpdk, false, "/dev/vfio/vfio missing");
	else
		set(&out->dpdk, true,
		    "scanner links librte_eal, vfio-pci loaded, hugepages reserved");
}

static int under(char *out, size_t size, const char *root, const char *p)
{
	int n = snprintf(out, size, "%s%s", strcmp(root, "/") == 0 ? "" : root, p);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static bool exists_under(const char *root, const char *p)
{
	char full[PATH_MAX];
	struct stat st;
	return under(full, sizeof(full), root, p) == 0 && stat(full, &st) == 0;
}

static unsigned long long hugepages(const char *root)
{
	char dir[PATH_MAX], f[PATH_MAX + 300];
	unsigned long long sum = 0;
	struct dirent *de;
	DIR *d;

	if (under(dir, sizeof(dir), root, "/sys/kernel/mm/hugepages") != 0)
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *data;
		size_t len;
		uint64_t v;
		int n;
		if (strncmp(de->d_name, "hugepages-", 10) != 0)
			continue;
		n = snprintf(f, sizeof(f), "%s/%s/nr_hugepages", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(f) ||
		    fsutil_read_file(f, 64, 0, &data, &len, NULL) != 0)
			continue;
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
			len--;
		if (num_parse_u64(data, len, &v) == 0)
			sum += v;
		free(data);
	}
	closedir(d);
	return sum;
}

void probes_gather(const char *probe_root, const char *scanner, const char *path_env,
		   struct probes_out *out)
{
	struct probes_in in;
	struct elfneed *need = calloc(1, sizeof(*need));
	struct buf *cache = buf_new(LDCACHE_MAX);
	char osrel[PATH_MAX], ldconfig[PATH_MAX], *data = NULL;
	size_t len = 0;
	struct stat st;

	memset(&in, 0, sizeof(in));
	in.ldcache = "";
	in.have_scanner = scanner != NULL && stat(scanner, &st) == 0 && S_ISREG(st.st_mode);
	if (under(osrel, sizeof(osrel), probe_root, "/proc/sys/kernel/osrelease") == 0 &&
	    fsutil_read_file(osrel, 256, 0, &data, &len, NULL) == 0) {
		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
			data[--len] = '\0';
		in.kernel_ok = hostfacts_kernel_parse(data, &in.kmaj, &in.kmin) == 0;
		free(data);
	} else if (strcmp(probe_root, "/") == 0) {
		struct utsname u;
		in.kernel_ok = uname(&u) == 0 &&
			       hostfacts_kernel_parse(u.release, &in.kmaj, &in.kmin) == 0;
	}
	if (cache != NULL && runcmd_which("ldconfig", path_env, ldconfig, sizeof(ldconfig)) == 0) {
		const char *const argv[] = {ldconfig, "-p", NULL};
		struct runcmd_result r;
		if (runcmd_run_buf(argv, NULL, 30000, &r, cache, NULL) == 0 && runcmd_ok(&r)) {
			in.ldcache = buf_data(cache);
			in.ldlen = buf_len(cache);
		}
	}
	if (need != NULL && in.have_scanner && elfneed_read(scanner, need, NULL) == 0)
		in.needed = need;
	in.pf_ring = exists_under(probe_root, "/proc/net/pf_ring");
	in.vfio_pci = exists_under(probe_root, "/sys/module/vfio_pci") ||
		      exists_under(probe_root, "/sys/module/vfio-pci");
	in.hugepages = hugepages(probe_root);
	in.dev_vfio = exists_under(probe_root, "/dev/vfio/vfio");
	probes_decide(&in, out);
	buf_free(cache);
	free(need);
}
