/* lib/manifest: MANIFEST round trip and every rejection (spec §2.3, §24.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "manifest.h"

#define H64A "1afdc5ce162c5edfc31e145bbf1ed1a57e493f4b2fe1b3241af5389a2b414b35"
#define H64B "b4c8f66164a8880f23fba8874d12579ce3b9640eb9e6c6e510321b0addf1d738"
#define HDR "format 1\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1772366400\n"

static const char good[] =
	HDR H64A " 0755 1214864 bin/agent-install\n" H64B " 0755 1873920 bin/agentd\n" H64A
		 " 0644 0 env/runtime.env.template\n";

static void test_parse_good(void **state)
{
	struct manifest *m = NULL;
	struct errbuf e;
	const struct manifest_entry *x;
	(void)state;
	assert_int_equal(manifest_parse(good, strlen(good), &m, &e), 0);
	assert_string_equal(manifest_version(m), "1.4.0");
	assert_string_equal(manifest_platform(m), "linux-x86_64");
	assert_true(manifest_sde(m) == 1772366400);
	assert_int_equal(manifest_count(m), 3);
	x = manifest_entry(m, 1);
	assert_string_equal(x->path, "bin/agentd");
	assert_int_equal(x->mode, 0755);
	assert_true(x->size == 1873920);
	assert_int_equal(x->sha256[0], 0xb4);
	assert_int_equal(manifest_find(m, "bin/agentd"), 1);
	assert_int_equal(manifest_find(m, "bin/agent"), -1);
	assert_true(manifest_total_size(m) == 1214864 + 1873920);
	assert_true(manifest_is_parent_dir(m, "bin", 3));
	assert_true(manifest_is_parent_dir(m, "env", 3));
	assert_false(manifest_is_parent_dir(m, "bi", 2));
	assert_false(manifest_is_parent_dir(m, "systemd", 7));
	assert_null(manifest_entry(m, 3));
	assert_int_equal(manifest_check_required(m, &e), -1);
	assert_non_null(strstr(e.msg, "install.sh"));
	assert_non_null(strstr(e.msg, "systemd/agentd.service"));
	assert_null(strstr(e.msg, "bin/agentd,"));
	manifest_free(m);
	/* header only */
	assert_int_equal(manifest_parse(HDR, strlen(HDR), &m, &e), 0);
	assert_int_equal(manifest_count(m), 0);
	manifest_free(m);
}

static void test_round_trip(void **state)
{
	struct manifest *m, *p = NULL;
	struct buf *b = buf_new(BOUNDS_MANIFEST_MAX);
	struct manifest_entry ent;
	struct errbuf e;
	size_t i, n;
	const struct manifest_rule *r = manifest_rules(&n);
	(void)state;
	m = manifest_new("2.0.0-rc.1", "linux-x86_64", 0, &e);
	assert_non_null(m);
	/* add in reverse order: format sorts */
	for (i = n; i-- > 0;) {
		memset(&ent, 0, sizeof(ent));
		memset(ent.sha256, (int)i, sizeof(ent.sha256));
		ent.mode = r[i].mode;
		ent.size = i * 1000;
		memcpy(ent.path, r[i].path, strlen(r[i].path) + 1);
		assert_int_equal(manifest_add(m, &ent, &e), 0);
	}
	assert_int_equal(manifest_format(m, b, &e), 0);
	assert_int_equal(manifest_parse(buf_data(b), buf_len(b), &p, &e), 0);
	assert_int_equal(manifest_count(p), n);
	for (i = 0; i < n; i++) {
		assert_string_equal(manifest_entry(p, i)->path, r[i].path);
		assert_memory_equal(manifest_entry(p, i), manifest_entry(m, i),
				    sizeof(struct manifest_entry));
	}
	assert_int_equal(manifest_check_required(p, &e), 0);
	assert_int_equal(strncmp(buf_data(b),
				 "format 1\nversion 2.0.0-rc.1\nplatform linux-x86_64\n"
				 "source_date_epoch 0\n",
				 70),
			 0);
	/* duplicate refused at format time */
	assert_int_equal(manifest_add(m, &ent, &e), 0);
	assert_int_equal(manifest_format(m, b, &e), -1);
	assert_non_null(strstr(e.msg, "duplicate"));
	manifest_free(m);
	manifest_free(p);
	/* add refusals */
	m = manifest_new("1.0.0", "linux-x86_64", 1, &e);
	memset(&ent, 0, sizeof(ent));
	ent.mode = 0700;
	memcpy(ent.path, "bin/x", 6);
	assert_int_equal(manifest_add(m, &ent, &e), -1);
	ent.mode = 0644;
	memcpy(ent.path, "MANIFEST", 9);
	assert_int_equal(manifest_add(m, &ent, &e), -1);
	memcpy(ent.path, "../x", 5);
	assert_int_equal(manifest_add(m, &ent, &e), -1);
	manifest_free(m);
	assert_null(manifest_new("1.0", "linux-x86_64", 1, &e));
	assert_null(manifest_new("1.0.0", "Linux-x86_64", 1, &e));
	buf_free(b);
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen */
	const char *why;
};

static void test_rejections(void **state)
{
	static const struct bad_case cases[] = {
		{"", 0, "empty"},
		{HDR H64B " 0755 1 bin/b\n" H64A " 0755 1 bin/a\n", 0,
		 "line 6: path 'bin/a' is not sorted"},
		{HDR H64A " 0755 1 bin/a\n" H64A " 0755 1 bin/a\n", 0, "line 6: duplicate path"},
		{HDR H64A " 0700 1 bin/a\n", 0, "line 5: mode '0700'"},
		{HDR H64A " 755 1 bin/a\n", 0, "line 5"},
		{HDR H64A " 0755 1 bin/a b\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 bin/a$\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 bin/../a\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 ../a\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 ./a\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 /bin/a\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 bin/a/\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 bin//a\n", 0, "line 5: invalid path"},
		{HDR H64A " 0755 1 MANIFEST\n", 0, "line 5: MANIFEST lists itself"},
		{HDR H64A " 0755 01 bin/a\n", 0, "line 5: size '01'"},
		{HDR H64A " 0755 -1 bin/a\n", 0, "line 5: size"},
		{HDR H64A " 0755  bin/a\n", 0, "line 5: size"},
		{HDR
		 "1AFDC5CE162C5EDFC31E145BBF1ED1A57E493F4B2FE1B3241AF5389A2B414B35 0755 1 bin/a\n",
		 0, "line 5: sha256"},
		{"format 1\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\nextra x\n",
		 0, "line 5"},
		{"format 1\nversion 1.4.0\nplatform linux-x86_64\ncolor blue\n", 0,
		 "line 4: expected header 'source_date_epoch', found 'color'"},
		{"format 2\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 1: unsupported format '2'"},
		{"version 1.4.0\nformat 1\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 1: expected header 'format'"},
		{"format 1\nversion 1.4\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 2: invalid version"},
		{"format 1\nversion 1.4.0\nplatform Linux-AMD64\nsource_date_epoch 1\n", 0,
		 "line 3: platform"},
		{"format 1\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 01\n", 0,
		 "line 4: malformed SOURCE_DATE_EPOCH"},
		{"format 1\nversion 1.4.0\nplatform linux-x86_64\n", 0, "line 4: missing header"},
		{"format 1\r\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 1: carriage return"},
		{"format 1 \nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 1: trailing space"},
		{"format 1\n\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\n", 0,
		 "line 2: blank line"},
		{HDR "\n", 0, "line 5: blank line"},
		{"format 1\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1", 0,
		 "not terminated by LF"},
		{"format 1\0\nversion 1.4.0\nplatform linux-x86_64\nsource_date_epoch 1\n", 66,
		 "line 1: byte 0x00"},
		{HDR H64A " 0755 1 bin/\xc3\xa9\n", 0, "line 5: byte 0xc3"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct manifest *m = (struct manifest *)1;
		struct errbuf e;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		err_clear(&e);
		if (manifest_parse(cases[i].text, len, &m, &e) != -1)
			fail_msg("case %zu accepted", i);
		assert_null(m);
		if (strstr(e.msg, cases[i].why) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].why);
	}
}

/* Truncation at every byte of a valid MANIFEST: only complete ones parse. */
static void test_truncated(void **state)
{
	size_t len;
	(void)state;
	for (len = 0; len < strlen(good); len++) {
		struct manifest *m = NULL;
		int rc = manifest_parse(good, len, &m, NULL);
		if (rc == 0) {
			assert_true(len >= strlen(HDR) && good[len - 1] == '\n');
			manifest_free(m);
		}
	}
}

static void test_limits(void **state)
{
	const size_t line = 64 + 1 + 4 + 1 + 1 + 1 + 9 + 1; /* "<h> 0644 1 d/f00000\n" */
	size_t n, cap = strlen(HDR) + (BOUNDS_MANIFEST_FILES + 2) * line + 1;
	char *t = malloc(cap);
	struct manifest *m = NULL;
	struct errbuf e;
	size_t len, i;
	char path[BOUNDS_MANIFEST_PATH_MAX + 2];
	(void)state;
	assert_non_null(t);
	for (n = BOUNDS_MANIFEST_FILES; n <= BOUNDS_MANIFEST_FILES + 1; n++) {
		len = strlen(HDR);
		memcpy(t, HDR, len);
		for (i = 0; i < n; i++) {
			int w = snprintf(t + len, cap - len, H64A " 0644 1 d/f%05zu\n", i);
			assert_true(w > 0 && (size_t)w < cap - len);
			len += (size_t)w;
		}
		if (n == BOUNDS_MANIFEST_FILES) {
			assert_int_equal(manifest_parse(t, len, &m, &e), 0);
			assert_int_equal(manifest_count(m), n);
			manifest_free(m);
		} else {
			assert_int_equal(manifest_parse(t, len, &m, &e), -1);
			assert_non_null(strstr(e.msg, "more than 4096 files"));
		}
	}
	free(t);
	/* size limit */
	t = malloc(BOUNDS_MANIFEST_MAX + 2);
	assert_non_null(t);
	memset(t, 'a', BOUNDS_MANIFEST_MAX + 1);
	assert_int_equal(manifest_parse(t, BOUNDS_MANIFEST_MAX + 1, &m, &e), -1);
	assert_non_null(strstr(e.msg, "larger than"));
	free(t);
	/* path length: 200 ok, 201 refused */
	memset(path, 'p', sizeof(path));
	assert_true(manifest_path_valid(path, BOUNDS_MANIFEST_PATH_MAX));
	assert_false(manifest_path_valid(path, BOUNDS_MANIFEST_PATH_MAX + 1));
	assert_false(manifest_path_valid("", 0));
	assert_false(manifest_path_valid("a\0b", 3));
	assert_true(manifest_path_valid("a.b/c-d_e/..f", 13));
}

static void test_rules(void **state)
{
	size_t n, i;
	const struct manifest_rule *r = manifest_rules(&n);
	(void)state;
	assert_int_equal(n, 13);
	for (i = 1; i < n; i++)
		assert_true(strcmp(r[i - 1].path, r[i].path) < 0);
	assert_non_null(manifest_rule_find("install.sh"));
	assert_false(manifest_rule_find("bin/scanner")->required);
	assert_int_equal(manifest_rule_find("systemd/agentd.service")->mode, 0644);
	assert_null(manifest_rule_find("bin/evil"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rejections), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_limits),     cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
