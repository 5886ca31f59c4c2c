/* agent/prom: the textfile of §22.2. */
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
#include "prom.h"

static const char expected_full[] =
	"# HELP agentd_build_info Version and bundle of the running agentd.\n"
	"# TYPE agentd_build_info gauge\n"
	"agentd_build_info{bundle=\"agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52\","
	"fingerprint=\"3f9a\",platform=\"linux-x86_64\",version=\"1.4.0\"} 1\n"
	"# HELP agentd_start_time_seconds Start time of the agentd process, seconds since the "
	"epoch.\n"
	"# TYPE agentd_start_time_seconds gauge\n"
	"agentd_start_time_seconds 1772366551\n"
	"# HELP agentd_health_status Health status written to health.json (1 for the current "
	"one).\n"
	"# TYPE agentd_health_status gauge\n"
	"agentd_health_status{status=\"degraded\"} 0\n"
	"agentd_health_status{status=\"failing\"} 0\n"
	"agentd_health_status{status=\"ok\"} 1\n"
	"agentd_health_status{status=\"starting\"} 0\n"
	"# HELP agentd_health_timestamp_seconds Time of the last health.json write, seconds "
	"since the epoch.\n"
	"# TYPE agentd_health_timestamp_seconds gauge\n"
	"agentd_health_timestamp_seconds 1772366561\n"
	"# HELP agentd_update_status Remote update status from the status file.\n"
	"# TYPE agentd_update_status gauge\n"
	"agentd_update_status{status=\"failed\"} 0\n"
	"agentd_update_status{status=\"queued\"} 0\n"
	"agentd_update_status{status=\"rollback_failed\"} 0\n"
	"agentd_update_status{status=\"rolled_back\"} 0\n"
	"agentd_update_status{status=\"running\"} 0\n"
	"agentd_update_status{status=\"success\"} 1\n"
	"# HELP agentd_update_status_timestamp_seconds UPDATED_AT of the remote update status "
	"file, 0 without a file.\n"
	"# TYPE agentd_update_status_timestamp_seconds gauge\n"
	"agentd_update_status_timestamp_seconds 1772366000\n"
	"# HELP agentd_channel_last_success_timestamp_seconds Time of the last verified channel "
	"poll, 0 if none.\n"
	"# TYPE agentd_channel_last_success_timestamp_seconds gauge\n"
	"agentd_channel_last_success_timestamp_seconds 1772366500\n"
	"# HELP agentd_channel_poll_failures_total Failed channel polls since agentd started.\n"
	"# TYPE agentd_channel_poll_failures_total counter\n"
	"agentd_channel_poll_failures_total 3\n"
	"# HELP agentd_channel_offered_info Release the update channel offered at the last "
	"verified poll.\n"
	"# TYPE agentd_channel_offered_info gauge\n"
	"agentd_channel_offered_info{fingerprint=\"abcd\",version=\"1.5.0\"} 1\n"
	"# HELP agentd_rate_learned_pps Last learned scan rate per interface.\n"
	"# TYPE agentd_rate_learned_pps gauge\n"
	"agentd_rate_learned_pps{interface=\"eth0\"} 1900000\n"
	"agentd_rate_learned_pps{interface=\"eth1\"} 800000\n"
	"# HELP agentd_rate_learned_timestamp_seconds When the learned rate of an interface was "
	"stored, seconds since the epoch.\n"
	"# TYPE agentd_rate_learned_timestamp_seconds gauge\n"
	"agentd_rate_learned_timestamp_seconds{interface=\"eth0\"} 1772000000\n";

static void base(struct prom_input *in)
{
	memset(in, 0, sizeof(*in));
	in->version = "1.4.0";
	in->fingerprint = "3f9a";
	in->bundle = "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52";
	in->platform = "linux-x86_64";
	in->start_time = 1772366551;
	in->status = RUN_OK;
	in->health_time = 1772366561;
}

static void test_full(void **state)
{
	/* given out of order: the output is sorted by label value; eth1 has no time */
	const struct prom_rate rates[] = {{"eth1", 800000, false, 0},
					  {"eth0", 1900000, true, 1772000000}};
	struct prom_input in;
	struct buf *b = buf_new(1 << 20);

	(void)state;
	base(&in);
	in.update_status = "success";
	in.update_time = 1772366000;
	in.channel_last_success = 1772366500;
	in.channel_failures = 3;
	in.offered = true;
	in.offered_version = "1.5.0";
	in.offered_fingerprint = "abcd";
	in.rates = rates;
	in.nrates = 2;
	assert_int_equal(prom_format(&in, b, NULL), 0);
	assert_string_equal(buf_data(b), expected_full);
	buf_free(b);
}

/* No status file, no poll yet, no calibration: six zero update series, no
 * offered family, rate families without series. */
static void test_empty(void **state)
{
	struct prom_input in;
	struct buf *b = buf_new(1 << 20);
	const char *s;

	(void)state;
	base(&in);
	in.status = RUN_STARTING;
	assert_int_equal(prom_format(&in, b, NULL), 0);
	s = buf_data(b);
	assert_non_null(strstr(s, "agentd_update_status{status=\"failed\"} 0\n"
				  "agentd_update_status{status=\"queued\"} 0\n"
				  "agentd_update_status{status=\"rollback_failed\"} 0\n"
				  "agentd_update_status{status=\"rolled_back\"} 0\n"
				  "agentd_update_status{status=\"running\"} 0\n"
				  "agentd_update_status{status=\"success\"} 0\n"));
	assert_non_null(strstr(s, "agentd_health_status{status=\"starting\"} 1\n"));
	assert_non_null(strstr(s, "agentd_update_status_timestamp_seconds 0\n"));
	assert_non_null(strstr(s, "agentd_channel_last_success_timestamp_seconds 0\n"));
	assert_non_null(strstr(s, "agentd_channel_poll_failures_total 0\n"));
	assert_null(strstr(s, "offered"));
	assert_null(strstr(s, "agentd_rate_learned_pps{"));
	/* an unknown update status counts as none */
	buf_free(b);
	b = buf_new(1 << 20);
	in.update_status = "bogus";
	assert_int_equal(prom_format(&in, b, NULL), 0);
	assert_null(strstr(buf_data(b), "} 1\nagentd_update_status{"));
	assert_null(strstr(buf_data(b), "agentd_update_status{status=\"success\"} 1"));
	buf_free(b);
}

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""},
		{"plain", "plain"},
		{"a\\b", "a\\\\b"},
		{"a\"b", "a\\\"b"},
		{"a\nb", "a\\nb"},
		{"\\\"\n", "\\\\\\\"\\n"},
		{"tab\tok", "tab\tok"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf *b = buf_new(256);

		assert_int_equal(prom_escape(cases[i].in, b, NULL), 0);
		assert_string_equal(buf_data(b), cases[i].out);
		buf_free(b);
	}
	{
		struct prom_input in;
		struct buf *b = buf_new(1 << 20);

		base(&in);
		in.bundle = "x\"y";
		assert_int_equal(prom_format(&in, b, NULL), 0);
		assert_non_null(strstr(buf_data(b), "{bundle=\"x\\\"y\","));
		buf_free(b);
	}
}

/* The buffer's maximum is a hard limit: a too small buffer fails with E2BIG. */
static void test_limit(void **state)
{
	struct prom_input in;
	struct buf *b = buf_new(100);

	(void)state;
	base(&in);
	assert_int_equal(prom_format(&in, b, NULL), -1);
	assert_int_equal(errno, E2BIG);
	buf_free(b);
	b = buf_new(1 << 20);
	in.status = RUN__STATUS_COUNT;
	assert_int_equal(prom_format(&in, b, NULL), -1);
	buf_free(b);
}

static void test_write(void **state)
{
	struct errbuf e = {{0}};
	struct stat st;
	char *data = NULL;
	size_t len;

	(void)state;
	umask(077);
	assert_int_equal(mkdir("tf", 0755), 0);
	assert_int_equal(prom_write("tf", "a 1\n", 4, &e), 0);
	assert_int_equal(stat("tf/agentd.prom", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fsutil_read_file("tf/agentd.prom", 1024, 0, &data, &len, NULL), 0);
	assert_string_equal(data, "a 1\n");
	free(data);
	assert_int_equal(prom_write("missing", "a 1\n", 4, &e), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),   cmocka_unit_test(test_empty),
		cmocka_unit_test(test_escape), cmocka_unit_test(test_limit),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
