/* agent/inst_table: per-instance defaults and the shape test
 * (rate-controller.md §8.1, §8.2; cases c39, c40, n16), and the inherited
 * InstanceDefaults :: detect_* cases c45-c49 named for the inventory grep
 * (detection itself, §9, is agent/inst_detect; its own table test covers
 * more). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "inst_detect.h"
#include "inst_table.h"

#include <stdio.h>

static void c39_lookup_known_classes(void **state)
{
	const struct inst_defaults *d;
	size_t n;
	(void)state;
	d = inst_lookup("c6in.metal");
	assert_non_null(d);
	assert_int_equal(d->starting_rate, 4000000);
	assert_int_equal(d->floor, 1000000);
	assert_int_equal(d->ceiling, 12000000);
	d = inst_lookup("c6in.xlarge");
	assert_non_null(d);
	assert_int_equal(d->starting_rate, 500000);
	assert_int_equal(d->floor, 100000);
	assert_int_equal(d->ceiling, 2000000);
	d = inst_lookup("m5.xlarge");
	assert_non_null(d);
	assert_int_equal(d->starting_rate, 200000);
	d = inst_lookup(" c6in.metal \n");
	assert_non_null(d);
	assert_string_equal(d->instance_type, "c6in.metal");
	d = inst_table(&n);
	assert_int_equal(n, 9);
	assert_int_equal(inst_lookup("c6in.8xlarge")->floor, 500000);
	assert_int_equal(inst_lookup("c6in.4xlarge")->ceiling, 6000000);
	assert_int_equal(inst_lookup("m5.2xlarge")->starting_rate, 400000);
}

static void c40_lookup_unknown_returns_none(void **state)
{
	(void)state;
	assert_null(inst_lookup("alien.42xlarge"));
	assert_null(inst_lookup(""));
	assert_null(inst_lookup("   "));
	assert_null(inst_lookup(NULL));
	assert_null(inst_lookup("C6IN.METAL"));
	assert_null(inst_lookupn("c6in.metal\0x", 12));
	assert_non_null(inst_lookupn("c6in.metalXX", 10));
}

static void n16_shape_test(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"c6in.metal", true},
		{"t3.micro", true},
		{"a.b", true},
		{"C6in.metal", false},
		{"u-6tb1.metal", false},
		{"m7i-flex.large", false},
		{"c6in.metal-48xl", false},
		{"Amazon EC2", false},
		{"PowerEdge R740xd", false},
		{"t3.", false},
		{".x", false},
		{"", false},
		{"a.b.c", false},
		{" c6in.metal", false},
		{"c6in.metal\n", false},
		{"c6inmetal", false},
		{"c6in..metal", false},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (inst_shape_ok(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case %zu (%s)", i, cases[i].s);
	assert_false(inst_shape_ok("c6in.me\0al", 10));
	assert_false(inst_shape_ok(NULL, 0));
	/* well-formed but unknown */
	assert_true(inst_shape_ok("t3.micro", 8));
	assert_null(inst_lookup("t3.micro"));
}

/* ---- c45-c49: detection with a stub fetcher that records its calls */

struct stub {
	const char *answer; /* NULL: failure */
	int calls;
};

static int stub_fetch(void *arg, const struct imds_config *cfg, char *out, size_t outsz,
		      size_t *len, enum imds_mode *mode, struct errbuf *e)
{
	struct stub *s = arg;
	size_t n;
	(void)cfg;
	s->calls++;
	if (s->answer == NULL) {
		err_set(e, "stub: no answer");
		return -1;
	}
	n = strlen(s->answer);
	if (n + 1 > outsz)
		return -1;
	memcpy(out, s->answer, n + 1);
	*len = n;
	*mode = IMDS_MODE_V2;
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void detect(const char *const *envp, struct stub *s, struct inst_result *r)
{
	struct rate_warnings w;

	rate_warnings_init(&w);
	inst_detect(envp, stub_fetch, s, &w, r);
	rate_warnings_free(&w);
}

static void c45_detect_via_dmi_when_product_name_is_real(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=product", "ANYSCAN_DMI_VENDOR_PATH=vendor",
			     NULL};
	struct stub s = {NULL, 0};
	struct inst_result r;
	(void)state;
	put("product", "c6in.metal\n");
	detect(env, &s, &r);
	assert_string_equal(r.type, "c6in.metal");
	assert_int_equal(r.source, INST_SRC_DMI);
	assert_int_equal(s.calls, 0);
	assert_non_null(inst_lookup(r.type));
}

static void c46_detect_skips_dmi_amazon_ec2_falls_back_to_imds(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=product46",
			     "ANYSCAN_DMI_VENDOR_PATH=vendor46", NULL};
	struct stub s = {"c6in.xlarge", 0};
	struct inst_result r;
	(void)state;
	put("product46", "Amazon EC2\n");
	put("vendor46", "Amazon EC2\n");
	detect(env, &s, &r);
	assert_string_equal(r.type, "c6in.xlarge");
	assert_int_equal(r.source, INST_SRC_IMDS);
	assert_int_equal(s.calls, 1);
}

static void c47_detect_env_override_short_circuits(void **state)
{
	const char *env[] = {"ANYSCAN_INSTANCE_TYPE=c6in.metal",
			     "ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/product",
			     "ANYSCAN_DMI_VENDOR_PATH=/nonexistent/vendor", NULL};
	struct stub s = {"c6in.xlarge", 0};
	struct inst_result r;
	(void)state;
	detect(env, &s, &r);
	assert_string_equal(r.type, "c6in.metal");
	assert_int_equal(r.source, INST_SRC_ENV);
	assert_int_equal(s.calls, 0);
}

static void c48_detect_returns_none_when_all_sources_fail(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/path",
			     "ANYSCAN_DMI_VENDOR_PATH=/nonexistent/vendor", NULL};
	struct stub s = {NULL, 0};
	struct inst_result r;
	(void)state;
	detect(env, &s, &r);
	assert_string_equal(r.type, "");
	assert_int_equal(r.source, INST_SRC_NONE);
	assert_int_equal(s.calls, 1);
}

static void c49_detect_rejects_garbage_strings(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=product49",
			     "ANYSCAN_DMI_VENDOR_PATH=/nonexistent/vendor", NULL};
	struct stub s = {NULL, 0};
	struct inst_result r;
	(void)state;
	put("product49", "PowerEdge R740xd\n");
	detect(env, &s, &r);
	assert_string_equal(r.type, "");
	assert_int_equal(r.source, INST_SRC_NONE);
	/* a garbage IMDS answer is refused too */
	s.answer = "Amazon EC2";
	detect(env, &s, &r);
	assert_string_equal(r.type, "");
	assert_int_equal(r.source, INST_SRC_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c39_lookup_known_classes),
		cmocka_unit_test(c40_lookup_unknown_returns_none),
		cmocka_unit_test(n16_shape_test),
		cmocka_unit_test(c45_detect_via_dmi_when_product_name_is_real),
		cmocka_unit_test(c46_detect_skips_dmi_amazon_ec2_falls_back_to_imds),
		cmocka_unit_test(c47_detect_env_override_short_circuits),
		cmocka_unit_test(c48_detect_returns_none_when_all_sources_fail),
		cmocka_unit_test(c49_detect_rejects_garbage_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
