/* agent/inst_detect: §9 order with a stub fetcher (c45-c49, n13-n15). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inst_detect.h"

struct stub {
	int calls;
	const char *answer; /* NULL: failure */
	size_t len;         /* 0: strlen */
	enum imds_mode mode;
	char endpoint[IMDS_ENDPOINT_MAX];
};

static int stub_fetch(void *arg, const struct imds_config *cfg, char *out, size_t outsz,
		      size_t *len, enum imds_mode *mode, struct errbuf *e)
{
	struct stub *s = arg;
	size_t n;

	s->calls++;
	memcpy(s->endpoint, cfg->endpoint, sizeof(s->endpoint));
	if (s->answer == NULL) {
		err_set(e, "stub: no answer");
		return -1;
	}
	n = s->len ? s->len : strlen(s->answer);
	assert_true(n < outsz);
	memcpy(out, s->answer, n);
	out[n] = '\0';
	*len = n;
	*mode = s->mode;
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct dcase {
	const char *name;
	const char *env[6];
	const char *product; /* file content, NULL: missing */
	const char *vendor;  /* file content, NULL: missing */
	const char *answer;  /* fetcher answer, NULL: failure */
	enum imds_mode mode;
	const char *want_type; /* "" none */
	enum inst_source want_src;
	enum inst_imds want_imds;
	int want_calls;
	size_t want_warnings;
};

static const struct dcase cases[] = {
	/* c45 */
	{"dmi product",
	 {NULL},
	 "c6in.metal\n",
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "c6in.metal",
	 INST_SRC_DMI,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 0},
	/* c46 */
	{"amazon product falls to imds",
	 {NULL},
	 "Amazon EC2\n",
	 "Amazon EC2\n",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "c6in.xlarge",
	 INST_SRC_IMDS,
	 INST_IMDS_V2,
	 1,
	 0},
	/* c47 */
	{"env short-circuits",
	 {"ANYSCAN_INSTANCE_TYPE=c6in.metal", NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "c6in.metal",
	 INST_SRC_ENV,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 0},
	{"env trimmed",
	 {"ANYSCAN_INSTANCE_TYPE= t3.micro \n", NULL},
	 NULL,
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "t3.micro",
	 INST_SRC_ENV,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 0},
	/* c48 */
	{"all fail",
	 {NULL},
	 NULL,
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_FAILED,
	 1,
	 0},
	/* c49 */
	{"garbage dmi",
	 {NULL},
	 "PowerEdge R740xd\n",
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_FAILED,
	 1,
	 0},
	{"malformed env warns, falls to dmi",
	 {"ANYSCAN_INSTANCE_TYPE=C6in.metal", NULL},
	 "c6in.metal",
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "c6in.metal",
	 INST_SRC_DMI,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 1},
	/* n13 */
	{"dell vendor",
	 {NULL},
	 "PowerEdge R740xd",
	 "Dell Inc.\n",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_VENDOR,
	 0,
	 0},
	{"xen vendor",
	 {NULL},
	 NULL,
	 "Xen\n",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_VENDOR,
	 0,
	 0},
	{"empty vendor",
	 {NULL},
	 NULL,
	 "",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_VENDOR,
	 0,
	 0},
	{"lower-case amazon",
	 {NULL},
	 NULL,
	 "amazon\n",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_VENDOR,
	 0,
	 0},
	{"vendor missing",
	 {NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "c6in.xlarge",
	 INST_SRC_IMDS,
	 INST_IMDS_V2,
	 1,
	 0},
	{"amazon vendor, v1",
	 {NULL},
	 NULL,
	 "Amazon EC2",
	 "m5.xlarge",
	 IMDS_MODE_V1,
	 "m5.xlarge",
	 INST_SRC_IMDS,
	 INST_IMDS_V1,
	 1,
	 0},
	/* n14 */
	{"done",
	 {"ANYSCAN_INSTANCE_DETECTION=done", NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_DONE,
	 0,
	 0},
	{"done with env",
	 {"ANYSCAN_INSTANCE_DETECTION=done", "ANYSCAN_INSTANCE_TYPE=c6in.metal", NULL},
	 NULL,
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "c6in.metal",
	 INST_SRC_ENV,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 0},
	{"done with dmi",
	 {"ANYSCAN_INSTANCE_DETECTION= done ", NULL},
	 "c6in.metal",
	 NULL,
	 NULL,
	 IMDS_MODE_V2,
	 "c6in.metal",
	 INST_SRC_DMI,
	 INST_IMDS_NOT_NEEDED,
	 0,
	 0},
	{"DONE is not done",
	 {"ANYSCAN_INSTANCE_DETECTION=DONE", NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "c6in.xlarge",
	 INST_SRC_IMDS,
	 INST_IMDS_V2,
	 1,
	 0},
	/* step 4 and 6 */
	{"disabled",
	 {"AWS_EC2_METADATA_DISABLED=True", NULL},
	 NULL,
	 "Amazon EC2",
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_DISABLED,
	 0,
	 0},
	{"invalid endpoint",
	 {"AWS_EC2_METADATA_SERVICE_ENDPOINT=https://x", NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_INVALID_CONFIG,
	 0,
	 1},
	{"invalid mode",
	 {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv7", NULL},
	 NULL,
	 NULL,
	 "c6in.xlarge",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_INVALID_CONFIG,
	 0,
	 1},
	{"vendor before config",
	 {"AWS_EC2_METADATA_SERVICE_ENDPOINT=https://x", NULL},
	 NULL,
	 "Dell",
	 NULL,
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_SKIPPED_VENDOR,
	 0,
	 0},
	/* imds answers that fail the shape test */
	{"imds garbage",
	 {NULL},
	 NULL,
	 NULL,
	 "<html>error</html>",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_V2,
	 1,
	 0},
	{"imds trimmed",
	 {NULL},
	 NULL,
	 NULL,
	 "  c6in.8xlarge\r\n",
	 IMDS_MODE_V2,
	 "c6in.8xlarge",
	 INST_SRC_IMDS,
	 INST_IMDS_V2,
	 1,
	 0},
	{"imds hyphen",
	 {NULL},
	 NULL,
	 NULL,
	 "m7i-flex.large",
	 IMDS_MODE_V2,
	 "",
	 INST_SRC_NONE,
	 INST_IMDS_V2,
	 1,
	 0},
};

static void test_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		const char *env[10];
		struct stub s = {0, c->answer, 0, c->mode, ""};
		struct rate_warnings w;
		struct inst_result r;
		size_t n = 0;

		remove("product");
		remove("vendor");
		if (c->product != NULL)
			put("product", c->product);
		if (c->vendor != NULL)
			put("vendor", c->vendor);
		env[n++] = "ANYSCAN_DMI_PRODUCT_PATH=product";
		env[n++] = "ANYSCAN_DMI_VENDOR_PATH=vendor";
		for (k = 0; c->env[k] != NULL; k++)
			env[n++] = c->env[k];
		env[n] = NULL;
		rate_warnings_init(&w);
		inst_detect(env, stub_fetch, &s, &w, &r);
		if (strcmp(r.type, c->want_type) != 0 || r.source != c->want_src ||
		    r.imds != c->want_imds || s.calls != c->want_calls ||
		    w.count != c->want_warnings)
			fail_msg("%s: got '%s' %s %s calls %d warnings %zu", c->name, r.type,
				 inst_source_name(r.source), inst_imds_name(r.imds), s.calls,
				 w.count);
		rate_warnings_free(&w);
	}
}

static void test_unreadable_vendor_does_not_stop(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/p", "ANYSCAN_DMI_VENDOR_PATH=.",
			     NULL}; /* a directory: read fails */
	struct stub s = {0, "c6in.xlarge", 0, IMDS_MODE_V2, ""};
	struct inst_result r;

	(void)state;
	inst_detect(env, stub_fetch, &s, NULL, &r);
	assert_int_equal(s.calls, 1);
	assert_string_equal(r.type, "c6in.xlarge");
	assert_string_equal(s.endpoint, "http://169.254.169.254");
}

static void test_nul_in_answer(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/p",
			     "ANYSCAN_DMI_VENDOR_PATH=/nonexistent/v", NULL};
	struct stub s = {0, "c6in.metal\0x", 12, IMDS_MODE_V2, ""};
	struct inst_result r;

	(void)state;
	inst_detect(env, stub_fetch, &s, NULL, &r);
	assert_string_equal(r.type, "");
	assert_int_equal(r.source, INST_SRC_NONE);
}

static void test_cache(void **state)
{
	const char *env[] = {"ANYSCAN_DMI_PRODUCT_PATH=/nonexistent/p",
			     "ANYSCAN_DMI_VENDOR_PATH=/nonexistent/v", NULL};
	struct stub s = {0, "c6in.xlarge", 0, IMDS_MODE_V2, ""};
	struct inst_cache cache = {0};
	const struct inst_result *r;

	(void)state;
	r = inst_detect_once(&cache, env, stub_fetch, &s, NULL);
	assert_string_equal(r->type, "c6in.xlarge");
	r = inst_detect_once(&cache, env, stub_fetch, &s, NULL);
	assert_string_equal(r->type, "c6in.xlarge");
	assert_int_equal(s.calls, 1);
}

static size_t count_prefix(char **env, const char *kv)
{
	size_t n = 0;

	for (; *env != NULL; env++)
		if (strcmp(*env, kv) == 0)
			n++;
	return n;
}

static void test_child_env(void **state)
{
	const char *parent[] = {"PATH=/bin", "ANYSCAN_INSTANCE_TYPE=Bad.Type",
				"ANYSCAN_INSTANCE_DETECTION=", "HOME=/", NULL};
	struct inst_result ok = {"c6in.xlarge", INST_SRC_IMDS, INST_IMDS_V2, {{0}}};
	struct inst_result none = {"", INST_SRC_NONE, INST_IMDS_FAILED, {{0}}};
	char **env;

	(void)state;
	env = inst_child_env(parent, &ok);
	assert_non_null(env);
	assert_int_equal(count_prefix(env, "ANYSCAN_INSTANCE_DETECTION=done"), 1);
	assert_int_equal(count_prefix(env, "ANYSCAN_INSTANCE_TYPE=c6in.xlarge"), 1);
	assert_int_equal(count_prefix(env, "ANYSCAN_INSTANCE_TYPE=Bad.Type"), 0);
	assert_int_equal(count_prefix(env, "PATH=/bin"), 1);
	assert_int_equal(count_prefix(env, "HOME=/"), 1);
	inst_child_env_free(env);
	env = inst_child_env(parent, &none);
	assert_non_null(env);
	assert_int_equal(count_prefix(env, "ANYSCAN_INSTANCE_DETECTION=done"), 1);
	assert_int_equal(count_prefix(env, "ANYSCAN_INSTANCE_TYPE=Bad.Type"), 0);
	{
		size_t n = 0;
		while (env[n] != NULL)
			n++;
		assert_int_equal(n, 3);
	}
	inst_child_env_free(env);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(inst_source_name(INST_SRC_ENV), "env");
	assert_string_equal(inst_source_name(INST_SRC_NONE), "none");
	assert_string_equal(inst_imds_name(INST_IMDS_SKIPPED_VENDOR), "skipped-vendor");
	assert_string_equal(inst_imds_name(INST_IMDS_INVALID_CONFIG), "invalid-config");
	assert_string_equal(inst_imds_name(INST_IMDS_FAILED), "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_unreadable_vendor_does_not_stop),
		cmocka_unit_test(test_nul_in_answer),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_child_env),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
