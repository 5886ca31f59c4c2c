/* lib/bname: platform keys, versions, SDE, bundle names (spec §1, §3, §13.3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bname.h"

static void test_platform_vectors(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
		{" Linux/AMD64 ", "linux-x86_64"},
		{"macOS-arm64", "darwin-aarch64"},
		{"linux--x86_64-", "linux-x86_64"},
		{"linux-x64", "linux-x86_64"},
		{"linux armv7l", "linux-armv7"},
		{"linux-armv6l", "linux-armv6"},
		{"linux-riscv64", "linux-riscv64"},
		{"\tLINUX-X86_64\n", "linux-x86_64"},
		{"-linux-aarch64", "linux-aarch64"},
		{"linux-arm64-extra", "linux-arm64-extra"}, /* alias applies to the whole arch */
		{"", NULL},
		{"   ", NULL},
		{"linux", NULL},
		{"linux-", NULL},
		{"---", NULL},
		{"linux-x86__64", NULL}, /* "__" would break the name grammar */
		{"linux-x86$64", NULL},
		{"linux-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 NULL},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[BNAME_PLATFORM_MAX + 1];
		struct errbuf e;
		int rc = bname_platform_normalize(cases[i].in, strlen(cases[i].in), out,
						  sizeof(out), &e);
		if (cases[i].want) {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].want);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(e.msg, "invalid platform key"));
		}
	}
	{ /* embedded NUL */
		char out[BNAME_PLATFORM_MAX + 1];
		assert_int_equal(
			bname_platform_normalize("linux\0-x86_64", 13, out, sizeof(out), NULL), -1);
	}
	{ /* maximum length, and max+1 */
		char in[BNAME_PLATFORM_MAX + 2], out[BNAME_PLATFORM_MAX + 1];
		memset(in, 'a', sizeof(in));
		in[5] = '-';
		assert_int_equal(
			bname_platform_normalize(in, BNAME_PLATFORM_MAX, out, sizeof(out), NULL),
			0);
		assert_int_equal(strlen(out), BNAME_PLATFORM_MAX);
		assert_int_equal(bname_platform_normalize(in, BNAME_PLATFORM_MAX + 1, out,
							  sizeof(out), NULL),
				 -1);
	}
}

static void test_platform_uname(void **state)
{
	char out[BNAME_PLATFORM_MAX + 1];
	(void)state;
	assert_int_equal(bname_platform_from_uname("Linux", "x86_64", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "linux-x86_64");
	assert_int_equal(bname_platform_from_uname("Darwin", "arm64", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "darwin-aarch64");
	assert_int_equal(bname_platform_from_uname("Linux", "armv7l", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "linux-armv7");
}

static void test_version_grammar(void **state)
{
	static const struct {
		const char *v;
		int ok;
	} cases[] = {
		{"1.4.0", 1},          {"0.0.0", 1},
		{"2.0.0-rc.1", 1},     {"1.0.0-alpha", 1},
		{"1.0.0-0.3.7", 1},    {"1.0.0-x7.z.92", 1},
		{"2147483647.0.0", 1}, {"2147483648.0.0", 0},
		{"01.0.0", 0},         {"1.0", 0},
		{"1.0.0.0", 0},        {"1.0.0-", 0},
		{"1.0.0-01", 0},       {"1.0.0-a..b", 0},
		{"1.0.0+build", 0},    {"", 0},
		{"v1.0.0", 0},         {"1.0.0-a_b", 0},
		{" 1.0.0", 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(bname_version_valid(cases[i].v, strlen(cases[i].v)), cases[i].ok);
	assert_false(bname_version_valid("1.0.0\0", 6));
	{ /* 64 bytes ok, 65 refused */
		char v[80] = "1.0.0-";
		memset(v + 6, 'a', 58);
		v[64] = '\0';
		assert_true(bname_version_valid(v, 64));
		v[64] = 'a';
		assert_false(bname_version_valid(v, 65));
	}
}

static void test_sanitiser(void **state)
{
	char out[BNAME_VERSION_MAX + 1];
	(void)state;
	assert_int_equal(bname_id_from_version("2.0.0-rc.1", 10, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "2.0.0_rc.1");
	assert_int_equal(bname_id_from_version("a/b c\001", 6, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "a_b_c_");
	assert_int_equal(bname_id_from_version("x\0y", 3, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "x_y");
	assert_int_equal(bname_id_from_version("", 0, out, sizeof(out), NULL), -1);
}

static void test_sde(void **state)
{
	static const struct {
		const char *s;
		int ok;
		uint64_t v;
	} cases[] = {
		{"0", 1, 0},
		{"1772366400", 1, 1772366400},
		{"8589934591", 1, 8589934591ULL},
		{"8589934592", 0, 0},
		{"99999999999", 0, 0},
		{"", 0, 0},
		{"01", 0, 0},
		{"-1", 0, 0},
		{"+1", 0, 0},
		{" 1", 0, 0},
		{"1 ", 0, 0},
		{"1e3", 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 77;
		struct errbuf e;
		int rc = bname_sde_parse(cases[i].s, strlen(cases[i].s), &v, &e);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_true(v == cases[i].v);
		else
			assert_non_null(strstr(e.msg, "SOURCE_DATE_EPOCH"));
	}
	{
		uint64_t v;
		assert_int_equal(bname_sde_parse("1\0002", 3, &v, NULL), -1);
	}
}

static void test_stamp(void **state)
{
	static const struct {
		uint64_t sde;
		const char *want;
	} cases[] = {
		{0, "19700101000000"},
		{1772366400, "20260301120000"},
		{951782400, "20000229000000"},
		{4107542399ULL, "21000228235959"},
		{4107542400ULL, "21000301000000"},
		{8589934591ULL, "22420316125631"},
		{1709164800, "20240229000000"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[BNAME_STAMP_LEN + 1];
		bname_stamp(cases[i].sde, out);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_format_and_parse(void **state)
{
	char name[BNAME_NAME_MAX + 1];
	struct bname b;
	struct errbuf e;
	(void)state;
	assert_int_equal(bname_format("linux-x86_64", 1772366400, "1.4.0", "3f9a1c07be52", name,
				      sizeof(name), &e),
			 0);
	assert_string_equal(name, "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52");
	assert_int_equal(bname_parse(name, strlen(name), true, &b, &e), 0);
	assert_int_equal(b.kind, BNAME_CURRENT);
	assert_string_equal(b.platform, "linux-x86_64");
	assert_string_equal(b.stamp, "20260301120000");
	assert_string_equal(b.id, "1.4.0");
	assert_string_equal(b.fp12, "3f9a1c07be52");

	assert_int_equal(bname_format("linux-x86_64", 1772366400, "2.0.0-rc.1", "3f9a1c07be52",
				      name, sizeof(name), &e),
			 0);
	assert_string_equal(name,
			    "agent-bundle-linux-x86_64__20260301120000-2.0.0_rc.1-3f9a1c07be52");
	assert_int_equal(
		bname_format("linux-x86_64", 0, "1.4.0", "3F9A1C07BE52", name, sizeof(name), &e),
		-1);
	assert_int_equal(
		bname_format("linux-x86_64", 0, "1.4", "3f9a1c07be52", name, sizeof(name), &e), -1);
	assert_int_equal(bname_format("linux-x86_64", 0, "1.4.0", "3f9a1c07be52", name, 20, &e),
			 -1);
}

static void test_parse_table(void **state)
{
	static const struct {
		const char *in;
		int ok_any, ok_current;
		enum bname_kind kind;
		const char *platform, *stamp, *id, *fp12;
	} cases[] = {
		{"agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52.tar.gz", 1, 1,
		 BNAME_CURRENT, "linux-x86_64", "20260301120000", "1.4.0", "3f9a1c07be52"},
		{"agent-bundle-Linux-AMD64__20260301120000-1.4.0-3f9a1c07be52", 1, 1, BNAME_CURRENT,
		 "linux-x86_64", "20260301120000", "1.4.0", "3f9a1c07be52"},
		{"agent-bundle-linux-x86_64__20260301120000-2.0.0_rc.1-3f9a1c07be52", 1, 1,
		 BNAME_CURRENT, "linux-x86_64", "20260301120000", "2.0.0_rc.1", "3f9a1c07be52"},
		{"agent-bundle-linux-x86_64__20240101000000-31337", 1, 0, BNAME_PACKAGER,
		 "linux-x86_64", "20240101000000", "31337", ""},
		{"agent-bundle-linux-x86_64-20230101-abc", 1, 0, BNAME_LEGACY, "linux-x86_64", "",
		 "20230101-abc", ""},
		{"agent-bundle-linux-x86_64-", 0, 0, 0, 0, 0, 0, 0},
		{"agent-bundle-linux-x86_64__2026030112000-1.4.0-3f9a1c07be52", 0, 0, 0, 0, 0, 0,
		 0},
		{"agent-bundle-linux-x86_64__20260301120000-1.4.0-3F9A1C07BE52", 0, 0, 0, 0, 0, 0,
		 0},
		{"agent-bundle-linux-x86_64__20260301120000--3f9a1c07be52", 0, 0, 0, 0, 0, 0, 0},
		{"agent-bundle-linux-x86_64__20260301120000-1.4.0", 0, 0, 0, 0, 0, 0, 0},
		{"agent-bundle-linux-x86_64__20260301120000-1/4-3f9a1c07be52", 0, 0, 0, 0, 0, 0, 0},
		{"agent-bundle-__20260301120000-1.4.0-3f9a1c07be52", 0, 0, 0, 0, 0, 0, 0},
		{"bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52", 0, 0, 0, 0, 0, 0, 0},
		{"", 0, 0, 0, 0, 0, 0, 0},
		{".tar.gz", 0, 0, 0, 0, 0, 0, 0},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bname b;
		int rc;
		rc = bname_parse(cases[i].in, strlen(cases[i].in), false, &b, NULL);
		assert_int_equal(rc, cases[i].ok_any ? 0 : -1);
		if (rc == 0) {
			assert_int_equal(b.kind, cases[i].kind);
			assert_string_equal(b.platform, cases[i].platform);
			assert_string_equal(b.stamp, cases[i].stamp);
			assert_string_equal(b.id, cases[i].id);
			assert_string_equal(b.fp12, cases[i].fp12);
		}
		rc = bname_parse(cases[i].in, strlen(cases[i].in), true, &b, NULL);
		assert_int_equal(rc, cases[i].ok_current ? 0 : -1);
	}
	{
		struct bname b;
		const char s[] = "agent-bundle-linux-x86_64__20260301120000-1.4.0\0-3f9a1c07be52";
		assert_int_equal(bname_parse(s, sizeof(s) - 1, false, &b, NULL), -1);
	}
	{ /* longest id (64) accepted, 65 refused */
		char s[300];
		struct bname b;
		size_t n;
		memcpy(s, "agent-bundle-linux-x86_64__20260301120000-", 42);
		memset(s + 42, 'a', 64);
		memcpy(s + 106, "-3f9a1c07be52", 13);
		n = 119;
		assert_int_equal(bname_parse(s, n, true, &b, NULL), 0);
		memset(s + 42, 'a', 65);
		memcpy(s + 107, "-3f9a1c07be52", 13);
		assert_int_equal(bname_parse(s, n + 1, true, &b, NULL), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform_vectors),
		cmocka_unit_test(test_platform_uname),
		cmocka_unit_test(test_version_grammar),
		cmocka_unit_test(test_sanitiser),
		cmocka_unit_test(test_sde),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_format_and_parse),
		cmocka_unit_test(test_parse_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
