/* installer/probes (§9.3 decisions and reason strings) and installer/elfneed
 * (DT_NEEDED of real binaries, refusals). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfneed.h"
#include "probes.h"
#include "test_inst_fixture.h"

static const char cache[] = "1234 libs found in cache `/etc/ld.so.cache'\n"
			    "\tlibxdp.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libxdp.so.1\n"
			    "\tlibpfring.so.8 (libc6,x86-64) => /usr/local/lib/libpfring.so.8\n"
			    "\tlibrte_eal.so.23 (libc6,x86-64) => /lib/librte_eal.so.23\n";

static struct elfneed needs(const char *a, const char *b)
{
	struct elfneed n;
	memset(&n, 0, sizeof(n));
	if (a != NULL)
		memcpy(n.names[n.n++], a, strlen(a) + 1);
	if (b != NULL)
		memcpy(n.names[n.n++], b, strlen(b) + 1);
	return n;
}

static void test_ldcache(void **state)
{
	(void)state;
	assert_true(probes_ldcache_has(cache, strlen(cache), "libxdp.so"));
	assert_true(probes_ldcache_has(cache, strlen(cache), "librte_eal.so"));
	assert_false(probes_ldcache_has(cache, strlen(cache), "libbpf.so"));
	assert_false(probes_ldcache_has("", 0, "libxdp.so"));
	/* a name merely mentioned in a path does not count */
	assert_false(probes_ldcache_has("\tlibfoo.so (x) => /opt/libxdp.so\n", 33, "libxdp.so"));
}

static void test_decide(void **state)
{
	struct elfneed all = needs("libpfring.so.8", "librte_eal.so.23");
	struct probes_in in;
	struct probes_out out;
	(void)state;

	memset(&in, 0, sizeof(in));
	in.ldcache = cache;
	in.ldlen = strlen(cache);
	probes_decide(&in, &out); /* no scanner */
	assert_false(out.xdp.value || out.pfring.value || out.dpdk.value);
	assert_string_equal(out.xdp.reason, "no scanner");
	assert_string_equal(out.dpdk.reason, "no scanner");

	in.have_scanner = true;
	in.kernel_ok = true;
	in.kmaj = 4;
	in.kmin = 19;
	in.needed = &all;
	in.pf_ring = true;
	in.vfio_pci = true;
	in.hugepages = 512;
	in.dev_vfio = true;
	probes_decide(&in, &out);
	assert_false(out.xdp.value);
	assert_string_equal(out.xdp.reason, "kernel 4.19 < 5.10");
	assert_true(out.pfring.value);
	assert_true(out.dpdk.value);
	in.kmaj = 5;
	in.kmin = 10;
	probes_decide(&in, &out);
	assert_true(out.xdp.value);
	in.kernel_ok = false;
	probes_decide(&in, &out);
	assert_string_equal(out.xdp.reason, "could not parse kernel");
	in.kernel_ok = true;
	in.ldcache = "";
	in.ldlen = 0;
	probes_decide(&in, &out);
	assert_string_equal(out.xdp.reason, "libxdp.so not in ldconfig");
	assert_string_equal(out.pfring.reason, "libpfring.so not in ldconfig");
	assert_false(out.dpdk.value);
	in.ldcache = cache;
	in.ldlen = strlen(cache);
	{
		struct elfneed none = needs("libc.so.6", NULL);
		in.needed = &none;
		probes_decide(&in, &out);
		assert_string_equal(out.pfring.reason, "scanner does not link libpfring");
		assert_string_equal(out.dpdk.reason, "scanner does not link librte_eal");
		in.needed = &all;
	}
	in.vfio_pci = false;
	probes_decide(&in, &out);
	assert_string_equal(out.dpdk.reason, "vfio-pci not loaded");
	in.vfio_pci = true;
	in.hugepages = 0;
	probes_decide(&in, &out);
	assert_string_equal(out.dpdk.reason, "no hugepages reserved");
	in.hugepages = 1;
	in.dev_vfio = false;
	probes_decide(&in, &out);
	assert_string_equal(out.dpdk.reason, "/dev/vfio/vfio missing");
	in.pf_ring = false;
	probes_decide(&in, &out);
	assert_false(out.pfring.value);
}

static void test_gather_fixture(void **state)
{
	struct layout *l = fx_layout("probe");
	struct probes_out out;
	char p[PATH_MAX], bin[PATH_MAX];
	const char *root;
	(void)state;
	assert_non_null(l);
	root = layout_root(l);
	assert_true(snprintf(p, sizeof(p), "%s/proc/sys/kernel/osrelease", root) > 0);
	assert_int_equal(fx_write(p, "6.1.0-18-amd64\n", 0644), 0);
	assert_true(snprintf(p, sizeof(p),
			     "%s/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", root) > 0);
	assert_int_equal(fx_write(p, "64\n", 0644), 0);
	/* a fake ldconfig on PATH */
	assert_true(snprintf(bin, sizeof(bin), "%s/bin", root) > 0);
	assert_true(snprintf(p, sizeof(p), "%s/ldconfig", bin) > 0);
	assert_int_equal(fx_write(p, "#!/bin/sh\nprintf '\\tlibxdp.so.1 (libc6) => /x\\n'\n", 0755),
			 0);
	/* the scanner: a dynamically linked system binary stands in */
	probes_gather(root, "/bin/sh", bin, &out);
	assert_true(out.xdp.value);
	assert_string_equal(out.xdp.reason, "kernel 6.1, libxdp.so in ldconfig");
	assert_string_equal(out.pfring.reason, "/proc/net/pf_ring missing");
	assert_string_equal(out.dpdk.reason, "scanner does not link librte_eal");
	/* no ldconfig in PATH: empty cache */
	probes_gather(root, "/bin/sh", "/nonexistent", &out);
	assert_string_equal(out.xdp.reason, "libxdp.so not in ldconfig");
	probes_gather(root, NULL, bin, &out);
	assert_string_equal(out.xdp.reason, "no scanner");
	layout_free(l);
}

static void test_elfneed(void **state)
{
	struct elfneed n;
	struct errbuf e = {{0}};
	char path[PATH_MAX];
	const char *build = getenv("AGENT_BUILD");
	(void)state;
	/* a dynamically linked system binary needs libc */
	assert_int_equal(elfneed_read("/bin/sh", &n, &e), 0);
	assert_true(n.n >= 1);
	assert_true(elfneed_has_prefix(&n, "libc.so"));
	assert_false(elfneed_has_prefix(&n, "libpfring"));
	/* our own static programs need nothing */
	if (build != NULL) {
		assert_true(snprintf(path, sizeof(path), "%s/bin/agent-install", build) > 0);
		if (access(path, F_OK) == 0) {
			assert_int_equal(elfneed_read(path, &n, &e), 0);
			assert_int_equal(n.n, 0);
		}
	}
	/* refusals: not ELF, truncated, missing */
	assert_int_equal(fx_write("text", "#!/bin/sh\n", 0755), 0);
	assert_int_equal(elfneed_read("text", &n, &e), -1);
	assert_int_equal(fx_write("short", "\177ELF\2\1\1", 0644), 0);
	assert_int_equal(elfneed_read("short", &n, &e), -1);
	assert_int_equal(elfneed_read("/nonexistent-elf", &n, &e), -1);
	{
		/* the first 200 bytes of a real binary: headers cut short */
		char *data;
		size_t len;
		assert_int_equal(fsutil_read_file("/bin/sh", 1 << 24, 0, &data, &len, &e), 0);
		{
			struct fsutil_write_opts wo = {
				.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
			assert_int_equal(fsutil_write_file("cut", data, 200, &wo, &e), 0);
		}
		free(data);
		assert_int_equal(elfneed_read("cut", &n, &e), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ldcache),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_gather_fixture),
		cmocka_unit_test(test_elfneed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
