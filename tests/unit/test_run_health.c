/* agent/run_health: health.json of §22.1, read back by the updater's parser
 * (installer/health.h, §13.5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "health.h"
#include "run_health.h"
#include "sha256.h"

#define FP "3f9a1c07be52aabbccddeeff00112233445566778899aabbccddeeff00112233"

static void test_format_exact(void **state)
{
	struct run_health h = {
		FP,         "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52",
		"1.4.0",    4121,
		1772366551, 1772366561,
		RUN_OK};
	struct buf *b = buf_new(4096);

	(void)state;
	assert_non_null(b);
	assert_int_equal(run_health_format(&h, b, NULL), 0);
	assert_string_equal(
		buf_data(b),
		"{\"bundle_fingerprint\": \"" FP "\", \"bundle_name\": "
		"\"agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52\", \"pid\": 4121, "
		"\"started_at\": \"2026-03-01T12:02:31Z\", \"status\": \"ok\", \"updated_at\": "
		"\"2026-03-01T12:02:41Z\", \"version\": \"1.4.0\"}\n");
	buf_free(b);
}

/* Every status, empty strings, and a document the updater's parser takes. */
static void test_statuses_and_updater(void **state)
{
	static const char *const names[] = {"starting", "ok", "degraded", "failing"};
	struct buf *b = buf_new(4096);
	unsigned s;

	(void)state;
	for (s = 0; s < RUN__STATUS_COUNT; s++) {
		struct run_health h = {FP, "", "1.4.0", 77, 100, 200, (enum run_status)s};
		struct health_file f;

		buf_free(b);
		b = buf_new(4096);
		assert_int_equal(run_health_format(&h, b, NULL), 0);
		assert_string_equal(run_status_name((enum run_status)s), names[s]);
		assert_int_equal(health_parse(buf_data(b), buf_len(b), &f), 0);
		assert_string_equal(f.bundle_fingerprint, FP);
		assert_string_equal(f.status, names[s]);
		assert_int_equal(f.pid, 77);
		assert_int_equal(f.updated, 200);
	}
	/* out of range */
	{
		struct run_health h = {"", "", "", 1, 0, 0, RUN__STATUS_COUNT};

		assert_null(run_status_name(RUN__STATUS_COUNT));
		assert_int_equal(run_health_format(&h, b, NULL), -1);
	}
	/* NULL strings are written as "" */
	{
		struct run_health h = {NULL, NULL, NULL, 1, 0, 0, RUN_STARTING};

		buf_free(b);
		b = buf_new(4096);
		assert_int_equal(run_health_format(&h, b, NULL), 0);
		assert_non_null(strstr(buf_data(b), "\"bundle_fingerprint\": \"\""));
		assert_non_null(strstr(buf_data(b), "\"status\": \"starting\""));
	}
	buf_free(b);
}

/* A bundle name with a quote, a backslash and a control byte stays valid JSON. */
static void test_escaping(void **state)
{
	struct run_health h = {"", "a\"b\\c\nd", "1.0.0", 1, 0, 0, RUN_OK};
	struct buf *b = buf_new(4096);

	(void)state;
	assert_int_equal(run_health_format(&h, b, NULL), 0);
	assert_non_null(strstr(buf_data(b), "\"bundle_name\": \"a\\\"b\\\\c\\nd\""));
	/* one line */
	assert_ptr_equal(strchr(buf_data(b), '\n'), buf_data(b) + buf_len(b) - 1);
	buf_free(b);
}

static void test_write(void **state)
{
	struct run_health h = {FP, "n", "1.4.0", 5, 10, 20, RUN_STARTING};
	struct errbuf e = {{0}};
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	(void)state;
	umask(077);
	assert_int_equal(run_health_write("health.json", &h, &e), 0);
	assert_int_equal(stat("health.json", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fsutil_read_file("health.json", 65536, 0, &data, &len, NULL), 0);
	assert_non_null(strstr(data, "\"status\": \"starting\""));
	free(data);
	/* no temp file left behind */
	assert_int_equal(access(".health.json.tmp.0", F_OK), -1);
	{
		char tmp[64];

		snprintf(tmp, sizeof(tmp), ".health.json.tmp.%ld", (long)getpid());
		assert_int_equal(access(tmp, F_OK), -1);
	}
	/* missing directory: error, errno kept */
	assert_int_equal(run_health_write("nodir/health.json", &h, &e), -1);
	assert_int_equal(errno, ENOENT);
}

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void test_fingerprint(void **state)
{
	static const char mf[] = "format 1\nfake manifest\n";
	uint8_t d[SHA256_LEN];
	char want[65], fp[65];

	(void)state;
	assert_int_equal(mkdir("rel", 0755), 0);
	assert_int_equal(mkdir("rel/bin", 0755), 0);
	put("rel/bin/agentd", "x");
	put("rel/MANIFEST", mf);
	sha256_buf(mf, strlen(mf), d);
	sha256_to_hex(d, want);
	assert_int_equal(run_health_fingerprint("rel/bin/agentd", fp), 0);
	assert_string_equal(fp, want);
	/* not a release layout */
	memset(fp, 'x', sizeof(fp));
	assert_int_equal(run_health_fingerprint("/usr/bin/agentd2", fp), 0);
	assert_string_equal(fp, "");
	assert_int_equal(run_health_fingerprint("/bin/agentd", fp), 0);
	assert_string_equal(fp, "");
	assert_int_equal(run_health_fingerprint("agentd", fp), 0);
	assert_string_equal(fp, "");
	/* release without MANIFEST */
	assert_int_equal(mkdir("norel", 0755), 0);
	assert_int_equal(mkdir("norel/bin", 0755), 0);
	assert_int_equal(run_health_fingerprint("norel/bin/agentd", fp), 0);
	assert_string_equal(fp, "");
	assert_int_equal(run_health_fingerprint(NULL, fp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact), cmocka_unit_test(test_statuses_and_updater),
		cmocka_unit_test(test_escaping),     cmocka_unit_test(test_write),
		cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
