/* installer/hostfacts: §9.3 kernel vectors, §9.6 route tables and the
 * interface list; the gatherer against a fixture root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hostfacts.h"
#include "test_inst_fixture.h"

static void test_kernel(void **state)
{
	static const struct {
		const char *s;
		int ok, maj, min;
	} v[] = {
		{"6.12.74+deb13+1-amd64", 1, 6, 12},
		{"5.10.0-13-amd64", 1, 5, 10},
		{"4.19.276-amd64", 1, 4, 19},
		{"5", 1, 5, 0},
		{"5.x", 1, 5, 0},
		{"5-rc1", 1, 5, 0},
		{"", 0, 0, 0},
		{"x.10", 0, 0, 0},
		{"-5.10", 0, 0, 0},
		{"99999999999.1", 0, 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int maj = -1, min = -1;
		int rc = hostfacts_kernel_parse(v[i].s, &maj, &min);
		if (v[i].ok) {
			if (rc != 0 || maj != v[i].maj || min != v[i].min)
				fail_msg("%s -> rc %d %d.%d", v[i].s, rc, maj, min);
		} else if (rc == 0) {
			fail_msg("%s accepted", v[i].s);
		}
	}
}

static void test_routes(void **state)
{
	static const char r4[] = "Iface\tDestination\tGateway "
				 "\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
				 "eth1\t00000000\t0102A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
				 "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
				 "eth2\t00000000\t0103A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
				 "eth3\t00000000\t0104A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
	static const char r6[] =
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
		"fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens5\n"
		"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
		"fe80000000000000000000000000000a 00000400 00000001 00000000 00000003     ens5\n";
	char out[HOSTFACTS_IFNAME_MAX + 1];
	(void)state;
	assert_true(hostfacts_route4(r4, strlen(r4), out));
	assert_string_equal(out, "eth2"); /* lowest metric, first on a tie */
	assert_false(hostfacts_route4("", 0, out));
	assert_false(hostfacts_route4(r4, 100, out) && strcmp(out, "eth2") == 0);
	/* header only / no default */
	assert_false(hostfacts_route4(
		"Iface\tDestination\n"
		"eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
		strlen("Iface\tDestination\n"
		       "eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"),
		out));
	assert_true(hostfacts_route6(r6, strlen(r6), out));
	assert_string_equal(out, "ens5");
	/* an over-long name is ignored */
	{
		static const char longname[] =
			"Iface\n"
			"averyveryverylongname\t00000000\t0102A8C0\t0003\t0\t0\t1\t0\t0\t0\t0\n";
		assert_false(hostfacts_route4(longname, strlen(longname), out));
	}
}

static void test_order(void **state)
{
	static const struct hostfacts_if in[] = {
		{"eth1", 3, true, true},    {"lo", 1, true, true},
		{"docker0", 4, true, true}, {"eth0", 2, true, true},
		{"eth2", 5, false, true},   {"eth3", 6, true, false},
		{"br-abc", 7, true, true},  {"veth12", 8, true, true},
		{"wg0", 9, true, true},     {"kube-ipvs0", 10, true, true},
		{"ens5", 11, true, true},   {"eth0", 2, true, true},
	};
	char out[8][HOSTFACTS_IFNAME_MAX + 1];
	size_t n;
	(void)state;
	n = hostfacts_order(in, sizeof(in) / sizeof(in[0]), "ens5", out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "ens5");
	assert_string_equal(out[1], "eth0");
	assert_string_equal(out[2], "eth1");
	n = hostfacts_order(in, sizeof(in) / sizeof(in[0]), "nonexistent", out, 8);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "eth0");
	n = hostfacts_order(in, sizeof(in) / sizeof(in[0]), NULL, out, 2); /* max */
	assert_int_equal(n, 2);
	n = hostfacts_order(in, 0, NULL, out, 8);
	assert_int_equal(n, 0);
}

static void test_gather_fixture(void **state)
{
	struct layout *l = fx_layout("facts");
	struct hostfacts f;
	char p[PATH_MAX];
	(void)state;
	assert_non_null(l);
	assert_true(snprintf(p, sizeof(p), "%s/proc/net/route", layout_root(l)) > 0);
	assert_int_equal(fx_write(p,
				  "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\n"
				  "ens5\t00000000\t0102A8C0\t0003\t0\t0\t0\n",
				  0644),
			 0);
	hostfacts_gather(layout_root(l), &f);
	assert_true(f.cpus >= 1);
	assert_string_equal(f.default_iface, "ens5");
	assert_int_equal(f.nifaces, 0); /* a fixture root has no interfaces */
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_gather_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
