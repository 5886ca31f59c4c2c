/* installer/ustatus (§13.7), installer/ureq (§15.1, §14.4), installer/rollout
 * (§15.3). */
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

#include "fsutil.h"
#include "rollout.h"
#include "ureq.h"
#include "ustatus.h"

static void test_status_format(void **state)
{
	char out[1024];
	int n;
	(void)state;
	n = ustatus_format(USTATUS_ROLLED_BACK, 1772438411,
			   "1.4.1 (9e1f0c2a7d33) failed health check: timed out after 120s "
			   "(status failing); restored 1.4.0 (3f9a1c07be52)",
			   out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "STATUS=rolled_back\nUPDATED_AT=2026-03-02T08:00:11Z\n"
				 "MESSAGE=1.4.1 (9e1f0c2a7d33) failed health check: timed out "
				 "after 120s (status failing); restored 1.4.0 (3f9a1c07be52)\n");
	assert_int_equal(ustatus_format(USTATUS_NONE, 0, "x", out, sizeof(out)), -1);
	/* sanitising: control -> space, non-ASCII -> ?, cut at 512 */
	n = ustatus_format(USTATUS_FAILED, 0,
			   "a\nb\tc\x7f"
			   "d\xc3\xa9"
			   "e",
			   out, sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out, "STATUS=failed\nUPDATED_AT=1970-01-01T00:00:00Z\n"
				 "MESSAGE=a b c d??e\n");
	{
		char big[600], clean[USTATUS_MESSAGE_MAX + 1];
		memset(big, 'x', sizeof(big));
		ustatus_sanitize(big, 512, clean); /* max */
		assert_int_equal(strlen(clean), 512);
		ustatus_sanitize(big, 513, clean); /* max + 1 */
		assert_int_equal(strlen(clean), 512);
		ustatus_sanitize("a\0b", 3, clean); /* embedded NUL */
		assert_string_equal(clean, "a b");
		ustatus_sanitize("", 0, clean);
		assert_string_equal(clean, "");
	}
	/* every name round-trips */
	{
		int k;
		for (k = USTATUS_QUEUED; k <= USTATUS_ROLLBACK_FAILED; k++) {
			const char *name = ustatus_name((enum ustatus_kind)k);
			assert_int_equal(ustatus_from_name(name, strlen(name)), k);
		}
		assert_null(ustatus_name(USTATUS_NONE));
		assert_int_equal(ustatus_from_name("ok", 2), USTATUS_NONE);
		assert_int_equal(ustatus_from_name("success\r", 8), USTATUS_NONE);
	}
}

static void test_status_parse(void **state)
{
	struct ustatus s;
	static const char doc[] = "STATUS=success\nUPDATED_AT=2026-03-01T12:02:40Z\n"
				  "MESSAGE=updated 1.3.2 -> 1.4.0\nEXTRA=1\nSTATUS=failed\n";
	(void)state;
	ustatus_parse(doc, strlen(doc), &s);
	assert_int_equal(s.status, USTATUS_SUCCESS);
	assert_true(s.has_time);
	assert_true(s.updated == 1772366560);
	assert_string_equal(s.message, "updated 1.3.2 -> 1.4.0");
	ustatus_parse("STATUS=bogus\nUPDATED_AT=yesterday\nMESSAGE=\n", 41, &s);
	assert_int_equal(s.status, USTATUS_NONE);
	assert_false(s.has_time);
	assert_string_equal(s.message, "");
	ustatus_parse("", 0, &s);
	assert_int_equal(s.status, USTATUS_NONE);
	/* no final LF, truncated */
	ustatus_parse("STATUS=queued", 13, &s);
	assert_int_equal(s.status, USTATUS_QUEUED);
	ustatus_parse("STATUS=queu", 11, &s);
	assert_int_equal(s.status, USTATUS_NONE);
	/* an offset timestamp */
	ustatus_parse("STATUS=running\nUPDATED_AT=2026-03-01T13:02:40+01:00\n", 52, &s);
	assert_true(s.has_time);
	assert_true(s.updated == 1772366560);
}

static void test_status_io(void **state)
{
	struct ustatus s;
	struct errbuf e = {{0}};
	struct stat st;
	(void)state;
	assert_int_equal(ustatus_read("remote-update.status", &s, &e), 0);
	assert_int_equal(s.status, USTATUS_NONE);
	assert_int_equal(ustatus_write("remote-update.status", USTATUS_RUNNING, 1772366400,
				       "manual rollback from 1.4.0 to 1.3.2", &e),
			 0);
	assert_int_equal(stat("remote-update.status", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(ustatus_read("remote-update.status", &s, &e), 0);
	assert_int_equal(s.status, USTATUS_RUNNING);
	assert_string_equal(s.updated_at, "2026-03-01T12:00:00Z");
	/* a symlink planted in place of the status file is refused on read and
	 * replaced (not followed) on write */
	assert_int_equal(unlink("remote-update.status"), 0);
	assert_int_equal(symlink("victim", "remote-update.status"), 0);
	assert_int_equal(ustatus_read("remote-update.status", &s, &e), -1);
	assert_int_equal(ustatus_write("remote-update.status", USTATUS_FAILED, 0, "x", &e), 0);
	assert_int_equal(lstat("remote-update.status", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(access("victim", F_OK), -1);
	assert_int_equal(access(".remote-update.status.tmp.1", F_OK), -1);
}

static void test_request_parse(void **state)
{
	static const char full[] =
		"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=worker-0042\nSOURCE=channel\n"
		"CHANNEL_URL=https://example.invalid/channels/stable.json\nVERSION=1.4.0\n"
		"FINGERPRINT=3f9a1c07be52aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
	struct ureq r;
	struct errbuf e = {{0}};
	char out[UREQ_FILE_MAX + 1];
	size_t len;
	(void)state;
	if (ureq_parse(full, strlen(full), &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(r.worker_id, "worker-0042");
	assert_int_equal(r.source, UREQ_SOURCE_CHANNEL);
	assert_true(r.requested == 1772366340);
	assert_int_equal(ureq_format(&r, out, sizeof(out), &len, &e), 0);
	assert_string_equal(out, full);
	/* the previous format: two lines, extra unknown keys, comments */
	{
		static const char old[] = "# comment\nREQUESTED_AT=2026-03-01T11:59:00Z\n"
					  "WORKER_ID=w1\nUNKNOWN=x\nWORKER_ID=other\n";
		assert_int_equal(ureq_parse(old, strlen(old), &r, &e), 0);
		assert_string_equal(r.worker_id, "w1");
		assert_int_equal(r.source, UREQ_SOURCE_NONE);
	}
	/* BUNDLE_SHA256 in upper case is stored lowercase */
	{
		static const char b[] =
			"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\n"
			"BUNDLE_URL=https://x.invalid/a.tar.gz\nBUNDLE_SHA256="
			"DB4B4D0D1CB480BF9AEEA253771C00FEBE627F236765FA37D6A5614F079A3AA0\n";
		assert_int_equal(ureq_parse(b, strlen(b), &r, &e), 0);
		assert_string_equal(
			r.bundle_sha256,
			"db4b4d0d1cb480bf9aeea253771c00febe627f236765fa37d6a5614f079a3aa0");
	}
	{
		static const struct {
			const char *doc;
			const char *want;
		} bad[] = {
			{"", "REQUESTED_AT is missing"},
			{"WORKER_ID=w\n", "REQUESTED_AT is missing"},
			{"REQUESTED_AT=\nWORKER_ID=w\n", "REQUESTED_AT is missing"},
			{"REQUESTED_AT=now\nWORKER_ID=w\n", "REQUESTED_AT is not"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\n", "WORKER_ID is missing"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=a b\n", "outside"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=a$(id)\n", "outside"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\r\n", "outside"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\nSOURCE=x\n", "SOURCE"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\nVERSION=1.4\n",
			 "VERSION"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\nFINGERPRINT=3f9a\n",
			 "FINGERPRINT"},
			{"REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\nBUNDLE_SHA256=zz\n",
			 "BUNDLE_SHA256"},
		};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (ureq_parse(bad[i].doc, strlen(bad[i].doc), &r, &e) == 0)
				fail_msg("case %zu accepted", i);
			if (strstr(e.msg, bad[i].want) == NULL)
				fail_msg("case %zu: '%s'", i, e.msg);
			/* never echoes the value */
			assert_null(strstr(e.msg, "$(id)"));
		}
	}
	/* WORKER_ID: 128 bytes ok, 129 refused */
	{
		char doc[400];
		char id[130];
		memset(id, 'a', sizeof(id));
		id[128] = '\0';
		assert_true(snprintf(doc, sizeof(doc),
				     "REQUESTED_AT=2026-03-01T11:59:00Z\n"
				     "WORKER_ID=%s\n",
				     id) > 0);
		assert_int_equal(ureq_parse(doc, strlen(doc), &r, &e), 0);
		id[128] = 'a';
		id[129] = '\0';
		assert_true(snprintf(doc, sizeof(doc),
				     "REQUESTED_AT=2026-03-01T11:59:00Z\n"
				     "WORKER_ID=%s\n",
				     id) > 0);
		assert_int_equal(ureq_parse(doc, strlen(doc), &r, &e), -1);
	}
	/* embedded NUL ends the value: "w\0x" is not a valid id */
	assert_int_equal(
		ureq_parse("REQUESTED_AT=2026-03-01T11:59:00Z\nWORKER_ID=w\0x\n", 48, &r, &e), -1);
}

static void test_request_io(void **state)
{
	struct ureq r, back;
	struct errbuf e = {{0}};
	bool present = true, consumed = false;
	unsigned count = 9;
	struct stat st;
	(void)state;
	assert_int_equal(ureq_read("remote-update.request", &back, &present, &e), 0);
	assert_false(present);
	memset(&r, 0, sizeof(r));
	memcpy(r.requested_at, "2026-03-01T11:59:00Z", 21);
	memcpy(r.worker_id, "worker-0042", 12);
	r.source = UREQ_SOURCE_OPERATOR;
	assert_int_equal(ureq_write("remote-update.request", &r, &e), 0);
	assert_int_equal(stat("remote-update.request", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(ureq_read("remote-update.request", &back, &present, &e), 0);
	assert_true(present);
	assert_int_equal(back.source, UREQ_SOURCE_OPERATOR);
	/* a newer request is not consumed */
	assert_int_equal(
		ureq_consume("remote-update.request", "2026-03-01T11:00:00Z", &consumed, &e), 0);
	assert_false(consumed);
	assert_int_equal(access("remote-update.request", F_OK), 0);
	assert_int_equal(
		ureq_consume("remote-update.request", "2026-03-01T11:59:00Z", &consumed, &e), 0);
	assert_true(consumed);
	assert_int_equal(access("remote-update.request", F_OK), -1);
	/* oversized (max + 1) and symlinked requests are refused */
	{
		char big[UREQ_FILE_MAX + 1];
		struct fsutil_write_opts wo = {
			.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
		memset(big, '#', sizeof(big));
		assert_int_equal(
			fsutil_write_file("remote-update.request", big, sizeof(big), &wo, &e), 0);
		assert_int_equal(ureq_read("remote-update.request", &back, &present, &e), -1);
		assert_int_equal(unlink("remote-update.request"), 0);
		assert_int_equal(symlink("elsewhere", "remote-update.request"), 0);
		assert_int_equal(ureq_read("remote-update.request", &back, &present, &e), -1);
		assert_non_null(strstr(e.msg, "symbolic link"));
		assert_int_equal(unlink("remote-update.request"), 0);
	}
	/* attempts */
	assert_int_equal(ureq_attempts_get(".request-attempts", "2026-03-01T11:59:00Z", &count, &e),
			 0);
	assert_int_equal(count, 0);
	assert_int_equal(ureq_attempts_set(".request-attempts", "2026-03-01T11:59:00Z", 2, &e), 0);
	assert_int_equal(ureq_attempts_get(".request-attempts", "2026-03-01T11:59:00Z", &count, &e),
			 0);
	assert_int_equal(count, 2);
	assert_int_equal(ureq_attempts_get(".request-attempts", "2026-03-02T00:00:00Z", &count, &e),
			 0);
	assert_int_equal(count, 0);
	assert_int_equal(stat(".request-attempts", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(ureq_attempts_clear(".request-attempts", &e), 0);
	assert_int_equal(ureq_attempts_clear(".request-attempts", &e), 0);
}

static void test_rollout(void **state)
{
	unsigned b;
	char id[64];
	(void)state;
	/* the spec's vector */
	b = rollout_bucket("worker-0042", 11, "1.4.0", 5);
	assert_int_equal(b, 32);
	assert_false(rollout_selected(b, 32));
	assert_true(rollout_selected(b, 33));
	assert_false(rollout_selected(b, 0));
	assert_true(rollout_selected(b, 100));
	assert_true(rollout_selected(99, 100));
	assert_false(rollout_selected(0, 0));
	/* another version picks another bucket for the same worker (not a
	 * requirement per pair, but the vector must differ from a constant) */
	assert_true(rollout_bucket("worker-0042", 11, "1.4.1", 5) < 100);
	/* id choice */
	assert_int_equal(rollout_id_choose("a1", "i-1", "m\n", 2, "h", id, sizeof(id)), 2);
	assert_string_equal(id, "a1");
	assert_int_equal(rollout_id_choose("", "i-1", "m\n", 2, "h", id, sizeof(id)), 3);
	assert_string_equal(id, "i-1");
	assert_int_equal(rollout_id_choose(NULL, NULL, "  0123abc\n", 10, "h", id, sizeof(id)), 7);
	assert_string_equal(id, "0123abc");
	assert_int_equal(rollout_id_choose(NULL, "", " \n", 2, "host1", id, sizeof(id)), 5);
	assert_string_equal(id, "host1");
	assert_int_equal(rollout_id_choose(NULL, NULL, NULL, 0, NULL, id, sizeof(id)), 0);
	assert_int_equal(rollout_id_choose("toolongforthebuffer", NULL, NULL, 0, NULL, id, 5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_format), cmocka_unit_test(test_status_parse),
		cmocka_unit_test(test_status_io),     cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_request_io),    cmocka_unit_test(test_rollout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
