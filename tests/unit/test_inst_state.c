/* installer/installed (§7.4), installer/journal (§7.5), installer/itime. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "installed.h"
#include "itime.h"
#include "journal.h"
#include "layout.h"

#define FP1 "3f9a1c07be52aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP2 "b4c8f66164a8bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FP3 "9e1f0c2a7d33cccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* The example of §7.4 with full fingerprints. */
static const char example[] =
	"{\n"
	"  \"format\": 1,\n"
	"  \"version\": \"1.4.0\",\n"
	"  \"bundle_name\": \"agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52\",\n"
	"  \"fingerprint\": \"" FP1 "\",\n"
	"  \"platform\": \"linux-x86_64\",\n"
	"  \"installed_at\": \"2026-03-01T12:02:40Z\",\n"
	"  \"signature\": \"verified\",\n"
	"  \"key_id\": \"8d1f6a0b93c2e457\",\n"
	"  \"service\": \"systemd\",\n"
	"  \"previous\": {\n"
	"    \"version\": \"1.3.2\",\n"
	"    \"bundle_name\": \"agent-bundle-linux-x86_64__20260115090000-1.3.2-b4c8f66164a8\",\n"
	"    \"fingerprint\": \"" FP2 "\"\n"
	"  },\n"
	"  \"history\": [\"3f9a1c07be52\", \"b4c8f66164a8\", \"1afdc5ce162c\"],\n"
	"  \"failed\": [\n"
	"    {\"version\": \"1.4.1\", \"fingerprint\": \"" FP3 "\", \"at\": "
	"\"2026-03-02T08:00:11Z\", \"reason\": \"health check timed out after 120s\"}\n"
	"  ]\n"
	"}\n";

static void test_installed_roundtrip(void **state)
{
	struct installed in;
	struct errbuf e = {{0}};
	struct buf *b = buf_new(INSTALLED_FILE_MAX);
	(void)state;
	if (installed_parse(example, strlen(example), &in, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(in.version, "1.4.0");
	assert_string_equal(in.fingerprint, FP1);
	assert_string_equal(in.key_id, "8d1f6a0b93c2e457");
	assert_true(in.has_previous);
	assert_string_equal(in.previous.version, "1.3.2");
	assert_int_equal(in.nhistory, 3);
	assert_string_equal(in.history[2], "1afdc5ce162c");
	assert_int_equal(in.nfailed, 1);
	assert_string_equal(in.failed[0].reason, "health check timed out after 120s");
	assert_non_null(installed_failed_find(&in, FP3));
	assert_null(installed_failed_find(&in, FP1));
	/* formatted bytes are exactly the spec's layout */
	assert_int_equal(installed_format(&in, b, &e), 0);
	assert_string_equal(buf_data(b), example);
	buf_free(b);
}

static void test_installed_minimal_and_unknown(void **state)
{
	static const char doc[] = "{\"zzz\": [1, 2], \"format\": 1, \"version\": \"\", "
				  "\"bundle_name\": \"x\", \"fingerprint\": \"" FP1 "\", "
				  "\"service\": \"command=/bin/true\", \"previous\": null, "
				  "\"key_id\": null}";
	struct installed in;
	struct errbuf e = {{0}};
	struct buf *b = buf_new(INSTALLED_FILE_MAX);
	(void)state;
	if (installed_parse(doc, strlen(doc), &in, &e) != 0)
		fail_msg("%s", e.msg);
	assert_false(in.has_previous);
	assert_int_equal(in.nhistory, 0);
	assert_string_equal(in.service, "command=/bin/true");
	assert_int_equal(installed_format(&in, b, &e), 0);
	assert_non_null(strstr(buf_data(b), "\"key_id\": null,\n"));
	assert_non_null(strstr(buf_data(b), "\"previous\": null,\n"));
	assert_non_null(strstr(buf_data(b), "\"history\": [],\n"));
	assert_non_null(strstr(buf_data(b), "\"failed\": []\n}\n"));
	buf_free(b);
}

static void test_installed_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"format\": 2, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\", \"service\": \"none\"}",
		"{\"format\": 1, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"3f9a\", \"service\": \"none\"}",
		"{\"format\": 1, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\"}",
		"{\"format\": 1, \"version\": 1, \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\", \"service\": \"none\"}",
		"{\"format\": 1, \"version\": \"1\\u00000\", \"bundle_name\": \"x\", "
		"\"fingerprint\": \"" FP1 "\", \"service\": \"none\"}",
		"{\"format\": 1, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\", \"service\": \"none\", \"history\": [\"XYZ\"]}",
		"{\"format\": 1, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\", \"service\": \"none\", \"previous\": 3}",
		"{\"format\": 1, \"version\": \"1.0.0\", \"bundle_name\": \"x\", \"fingerprint\": "
		"\"" FP1 "\", \"service\": \"none\"", /* truncated */
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct installed in;
		struct errbuf e = {{0}};
		if (installed_parse(bad[i], strlen(bad[i]), &in, &e) == 0)
			fail_msg("case %zu accepted", i);
		assert_true(strncmp(e.msg, "installed.json: ", 16) == 0);
	}
}

static void test_history_and_failed(void **state)
{
	struct installed in;
	char fp[13];
	size_t i;
	(void)state;
	memset(&in, 0, sizeof(in));
	for (i = 0; i < 20; i++) {
		assert_true(snprintf(fp, sizeof(fp), "%012zx", i) == 12);
		installed_history_push(&in, fp);
	}
	assert_int_equal(in.nhistory, INSTALLED_HISTORY_MAX);
	assert_string_equal(in.history[0], "000000000013");
	assert_string_equal(in.history[15], "000000000004");
	installed_history_push(&in, "000000000008"); /* moves to the front, no duplicate */
	assert_int_equal(in.nhistory, INSTALLED_HISTORY_MAX);
	assert_string_equal(in.history[0], "000000000008");
	assert_string_equal(in.history[1], "000000000013");
	for (i = 0; i < INSTALLED_HISTORY_MAX; i++)
		assert_true(i == 0 || strcmp(in.history[i], "000000000008") != 0);
	for (i = 0; i < 12; i++)
		installed_failed_add(&in, "1.0.0", i % 2 ? FP1 : FP2, "2026-03-02T08:00:11Z",
				     "reason");
	assert_int_equal(in.nfailed, INSTALLED_FAILED_MAX);
	assert_string_equal(in.failed[0].fingerprint, FP1);
}

static struct layout *temp_layout(void)
{
	char cwd[PATH_MAX];
	struct errbuf e = {{0}};
	struct layout *l;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	l = layout_new(cwd, &e);
	assert_non_null(l);
	assert_int_equal(fsutil_mkdir_p(layout_path(l, LAYOUT_OPT), 0755, &e), 0);
	return l;
}

static void test_installed_io(void **state)
{
	struct layout *l = temp_layout();
	struct installed in, back;
	struct errbuf e = {{0}};
	char *a, *b;
	size_t alen, blen;
	struct stat st;
	(void)state;
	assert_int_equal(installed_read(l, &back, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(installed_parse(example, strlen(example), &in, &e), 0);
	if (installed_write(l, &in, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(installed_read(l, &back, &e), 0);
	assert_string_equal(back.fingerprint, FP1);
	assert_int_equal(
		fsutil_read_file(layout_path(l, LAYOUT_INSTALLED), 1 << 20, 0, &a, &alen, &e), 0);
	assert_int_equal(
		fsutil_read_file(layout_path(l, LAYOUT_INSTALLED_PUB), 1 << 20, 0, &b, &blen, &e),
		0);
	assert_string_equal(a, example);
	assert_string_equal(b, example);
	assert_int_equal(stat(layout_path(l, LAYOUT_INSTALLED), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(a);
	free(b);
	/* a symlink at the authoritative path is refused */
	assert_int_equal(rename(layout_path(l, LAYOUT_INSTALLED), "moved.json"), 0);
	assert_int_equal(symlink("../../moved.json", layout_path(l, LAYOUT_INSTALLED)), 0);
	assert_int_equal(installed_read(l, &back, &e), -1);
	layout_free(l);
}

static void test_journal(void **state)
{
	struct layout *l = temp_layout();
	struct journal j, back;
	struct errbuf e = {{0}};
	struct buf *b = buf_new(JOURNAL_FILE_MAX);
	bool present = true;
	struct stat st;
	(void)state;
	memset(&j, 0, sizeof(j));
	j.op = JOURNAL_OP_UPDATE;
	j.phase = JOURNAL_RESTARTED;
	memcpy(j.to, FP1, 65);
	memcpy(j.requested_at, "2026-03-02T07:58:00Z", 21);
	memcpy(j.started_at, "2026-03-02T07:58:03Z", 21);
	memcpy(j.restart_at, "2026-03-02T07:58:41Z", 21);
	assert_int_equal(journal_format(&j, b, &e), 0);
	assert_string_equal(buf_data(b),
			    "{\"format\": 1, \"op\": \"update\", \"phase\": \"restarted\", "
			    "\"from\": null, \"to\": \"" FP1 "\", \"requested_at\": "
			    "\"2026-03-02T07:58:00Z\", \"started_at\": \"2026-03-02T07:58:03Z\", "
			    "\"restart_at\": \"2026-03-02T07:58:41Z\"}\n");
	assert_int_equal(journal_read(l, &back, &present, &e), 0);
	assert_false(present);
	assert_int_equal(journal_write(l, &j, &e), 0);
	assert_int_equal(stat(layout_path(l, LAYOUT_JOURNAL), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(journal_read(l, &back, &present, &e), 0);
	assert_true(present);
	assert_int_equal(back.op, JOURNAL_OP_UPDATE);
	assert_int_equal(back.phase, JOURNAL_RESTARTED);
	assert_string_equal(back.from, "");
	assert_string_equal(back.restart_at, "2026-03-02T07:58:41Z");
	assert_int_equal(journal_remove(l, &e), 0);
	assert_int_equal(journal_remove(l, &e), 0);
	assert_int_equal(journal_read(l, &back, &present, &e), 0);
	assert_false(present);
	/* rejects */
	{
		static const char *const bad[] = {
			"{}",
			"{\"format\": 1, \"op\": \"bogus\", \"phase\": \"switched\", \"from\": "
			"null, \"to\": \"" FP1 "\"}",
			"{\"format\": 1, \"op\": \"update\", \"phase\": \"bogus\", \"from\": null, "
			"\"to\": \"" FP1 "\"}",
			"{\"format\": 1, \"op\": \"update\", \"phase\": \"switched\", \"from\": "
			"\"x\", \"to\": \"" FP1 "\"}",
			"{\"format\": 1, \"op\": \"update\", \"phase\": \"switched\"}",
		};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(journal_parse(bad[i], strlen(bad[i]), &back, &e), -1);
	}
	buf_free(b);
	layout_free(l);
}

static void test_itime(void **state)
{
	static const struct {
		const char *s;
		int ok;
		int64_t t;
	} cases[] = {
		{"1970-01-01T00:00:00Z", 1, 0},
		{"2026-03-01T12:00:00Z", 1, 1772366400},
		{"2026-03-01t12:00:00z", 1, 1772366400},
		{"2026-03-01T13:30:00+01:30", 1, 1772366400},
		{"2026-03-01T10:00:00-02:00", 1, 1772366400},
		{"2026-03-01T12:00:00.123456Z", 1, 1772366400},
		{"2024-02-29T00:00:00Z", 1, 1709164800},
		{"2023-02-29T00:00:00Z", 0, 0},
		{"2026-13-01T00:00:00Z", 0, 0},
		{"2026-04-31T00:00:00Z", 0, 0},
		{"2026-03-01T24:00:00Z", 0, 0},
		{"2026-03-01T12:00:00", 0, 0},
		{"2026-03-01 12:00:00Z", 0, 0},
		{"2026-03-01T12:00:00.Z", 0, 0},
		{"2026-03-01T12:00:00+0100", 0, 0},
		{"2026-03-01T12:00:00Z ", 0, 0},
		{"", 0, 0},
	};
	size_t i;
	char out[ITIME_LEN + 1];
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		int rc = itime_parse(cases[i].s, strlen(cases[i].s), &t);
		if (cases[i].ok) {
			if (rc != 0 || t != cases[i].t)
				fail_msg("%s: rc %d t %lld", cases[i].s, rc, (long long)t);
		} else if (rc == 0) {
			fail_msg("%s accepted", cases[i].s);
		}
	}
	itime_format(1772366400, out);
	assert_string_equal(out, "2026-03-01T12:00:00Z");
	itime_format(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	itime_format(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	itime_format(INT64_MAX, out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	/* embedded NUL */
	{
		int64_t t;
		assert_int_equal(itime_parse("2026-03-01T12:00:00Z\0", 21, &t), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_installed_roundtrip),
		cmocka_unit_test(test_installed_minimal_and_unknown),
		cmocka_unit_test(test_installed_rejects),
		cmocka_unit_test(test_history_and_failed),
		cmocka_unit_test(test_installed_io),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_itime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
