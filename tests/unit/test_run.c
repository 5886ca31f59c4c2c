/* agent/run and agent/run_channel: poll timing, the poller's decision
 * (§15.2), the rollout vector (§15.3), WORKER_ID, the scan lock, and a poll
 * against a local signed channel writing request and status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "rollout.h"
#include "run.h"
#include "run_channel.h"
#include "sha256.h"
#include "sig.h"
#include "ureq.h"
#include "ustatus.h"

#define FP "3f9a1c07be52aabbccddeeff00112233445566778899aabbccddeeff00112233"
#define OWN "b4c8f66164a8aabbccddeeff00112233445566778899aabbccddeeff00112233"

static void test_poll_timing(void **state)
{
	static const uint32_t rs[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		int64_t f = run_first_poll_ms(900, rs[i]), n = run_next_poll_ms(900, rs[i]);

		assert_true(f >= 30000 && f <= 900000);
		assert_true(n >= 720000 && n <= 1080000);
		/* the smallest P: first poll in [30 s, 60 s] */
		f = run_first_poll_ms(60, rs[i]);
		assert_true(f >= 30000 && f <= 60000);
		n = run_next_poll_ms(86400, rs[i]);
		assert_true(n >= 69120000 && n <= 103680000);
	}
	assert_int_equal(run_first_poll_ms(900, 0), 30000);
	assert_int_equal(run_next_poll_ms(1000, 0), 800000);
	assert_int_equal(run_next_poll_ms(1000, 0x80000000u), 1000000);
}

static void offer(struct channel *c, const char *version, unsigned pct)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->channel, sizeof(c->channel), "stable");
	snprintf(c->version, sizeof(c->version), "%s", version);
	snprintf(c->entry.fingerprint, sizeof(c->entry.fingerprint), "%s", FP);
	c->rollout_percent = pct;
}

static void test_decide(void **state)
{
	struct channel c;
	struct run_decide_in in;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.own_fingerprint = OWN;
	in.own_version = "1.3.2";
	in.now = 1000000;
	in.bucket = 32;
	offer(&c, "1.4.0", 33);
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	/* §15.3: bucket 32 takes the update iff rollout_percent >= 33 */
	c.rollout_percent = 32;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_NOT_IN_ROLLOUT);
	c.rollout_percent = 0;
	in.bucket = 0;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_NOT_IN_ROLLOUT);
	c.rollout_percent = 100;
	in.bucket = 99;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	/* own build, lower, same version other build */
	in.own_fingerprint = FP;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_CURRENT);
	in.own_fingerprint = "";
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	in.own_version = "1.4.1";
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_LOWER);
	in.own_version = "1.4.0";
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	offer(&c, "1.4.0-rc.1", 100);
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_LOWER);
	in.own_version = "not a version";
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	/* failed before, request waiting, update running */
	in.in_failed = true;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_FAILED);
	in.in_failed = false;
	in.request_exists = true;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_REQUEST_EXISTS);
	in.request_exists = false;
	in.status_running = true;
	in.status_time = in.now - RUN_UPDATING_FRESH_S + 1;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_UPDATING);
	in.status_time = in.now - RUN_UPDATING_FRESH_S;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_WRITE);
	in.status_running = false;
	/* scan lock held: wait */
	in.scan_busy = true;
	assert_int_equal(run_channel_decide(&c, &in), RUN_DEC_SCAN_BUSY);
}

static void test_rollout_vector(void **state)
{
	(void)state;
	assert_int_equal(rollout_bucket("worker-0042", 11, "1.4.0", 5), 32);
}

static void test_worker_id(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"worker-0042", "worker-0042"},
		{"i-0abc.def:1_2", "i-0abc.def:1_2"},
		{"host name/x", "host_name_x"},
		{"", "unknown"},
		{NULL, "unknown"},
		{"\xc3\xa9", "__"},
	};
	char out[129], big[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_channel_worker_id(cases[i].in, out);
		assert_string_equal(out, cases[i].out);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	run_channel_worker_id(big, out);
	assert_int_equal(strlen(out), 128);
}

static void test_scan_lock(void **state)
{
	int fd;

	(void)state;
	assert_false(run_channel_scan_busy("scan.lock"));
	fd = open("scan.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_false(run_channel_scan_busy("scan.lock"));
	/* a shared lock held through another open file description */
	assert_int_equal(flock(fd, LOCK_SH), 0);
	assert_true(run_channel_scan_busy("scan.lock"));
	assert_int_equal(flock(fd, LOCK_UN), 0);
	assert_false(run_channel_scan_busy("scan.lock"));
	close(fd);
}

static void put(const char *path, const void *data, size_t len)
{
	assert_int_equal(fsutil_write_file(path, data, len, NULL, NULL), 0);
}

static int capture(void *ctx, const char *line, size_t len)
{
	struct buf *b = ctx;

	return buf_append(b, line, len, NULL);
}

/* A poll end to end against a local signed channel. */
static void test_poll_local(void **state)
{
	static const char name[] = "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52";
	char doc[2048];
	struct sig_key *k = NULL;
	struct buf *pem = buf_new(8192), *log = buf_new(1 << 20);
	uint8_t d[SHA256_LEN], sig[SIG_DER_MAX];
	size_t sl;
	struct run_channel_config cfg;
	struct run_channel_state st;
	struct events_sink sink = {capture, NULL, -1};
	struct ureq rq;
	struct ustatus us;
	bool present;
	int n;

	(void)state;
	sink.ctx = log;
	n = snprintf(
		doc, sizeof(doc),
		"{\"format\": 1, \"channel\": \"stable\", \"version\": \"1.4.0\", "
		"\"expires\": \"2099-01-01T00:00:00Z\", \"rollout_percent\": 33, "
		"\"platforms\": {\"linux-x86_64\": {\"bundle\": \"%s.tar.gz\", \"url\": "
		"\"../%s.tar.gz\", \"sha256\": \"%s\", \"size\": 10, \"fingerprint\": \"%s\"}}}\n",
		name, name, FP, FP);
	assert_true(n > 0 && (size_t)n < sizeof(doc));
	assert_int_equal(mkdir("channels", 0755), 0);
	put("channels/stable.json", doc, (size_t)n);
	assert_int_equal(sig_key_generate(&k, NULL), 0);
	sha256_buf(doc, (size_t)n, d);
	assert_int_equal(sig_sign_hash(k, d, sig, &sl, NULL), 0);
	put("channels/stable.json.sig", sig, sl);
	assert_int_equal(sig_key_public_pem(k, pem, NULL), 0);
	put("trusted.pem", buf_data(pem), buf_len(pem));

	memset(&cfg, 0, sizeof(cfg));
	cfg.url = "./channels/stable.json";
	cfg.platform = "linux-x86_64";
	cfg.own_fingerprint = OWN;
	cfg.own_version = "1.3.2";
	cfg.rollout_id = "worker-0042"; /* bucket 32 */
	cfg.worker_id = "worker-0042";
	cfg.trusted_path = "trusted.pem";
	cfg.installed_path = "installed.json";
	cfg.request_path = "remote-update.request";
	cfg.status_path = "remote-update.status";
	cfg.scan_lock_path = "scan.lock";
	cfg.budget_ms = 60000;
	cfg.log = &sink;
	run_channel_state_init(&st);

	assert_int_equal(run_channel_poll(&cfg, &st, 1772366400), RUN_DEC_WRITE);
	assert_int_equal(ureq_read("remote-update.request", &rq, &present, NULL), 0);
	assert_true(present);
	assert_string_equal(rq.requested_at, "2026-03-01T12:00:00Z");
	assert_string_equal(rq.worker_id, "worker-0042");
	assert_int_equal(rq.source, UREQ_SOURCE_CHANNEL);
	assert_string_equal(rq.channel_url, "./channels/stable.json");
	assert_string_equal(rq.version, "1.4.0");
	assert_string_equal(rq.fingerprint, FP);
	assert_int_equal(ustatus_read("remote-update.status", &us, NULL), 0);
	assert_int_equal(us.status, USTATUS_QUEUED);
	assert_string_equal(us.message,
			    "channel stable offers 1.4.0 (3f9a1c07be52); bucket 32 < 33");
	assert_int_equal(st.last_success, 1772366400);
	assert_true(st.offered);
	assert_int_equal(st.failures, 0);

	/* the request exists now: a second poll writes nothing */
	assert_int_equal(run_channel_poll(&cfg, &st, 1772366500), RUN_DEC_REQUEST_EXISTS);
	unlink("remote-update.request");

	/* a scan holds the lock: wait, then re-check without fetching */
	{
		int fd = open("scan.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0644);

		assert_true(fd >= 0);
		assert_int_equal(flock(fd, LOCK_SH), 0);
		unlink("remote-update.status");
		assert_int_equal(run_channel_poll(&cfg, &st, 1772366600), RUN_DEC_SCAN_BUSY);
		assert_true(st.pending);
		assert_int_equal(access("remote-update.request", F_OK), -1);
		unlink("channels/stable.json"); /* proves the re-check does not fetch */
		assert_int_equal(run_channel_recheck(&cfg, &st, 1772366660), RUN_DEC_SCAN_BUSY);
		close(fd);
		assert_int_equal(run_channel_recheck(&cfg, &st, 1772366720), RUN_DEC_WRITE);
		assert_int_equal(access("remote-update.request", F_OK), 0);
		assert_false(st.pending);
		assert_int_equal(run_channel_recheck(&cfg, &st, 1772366780), -1);
	}

	/* the manifest is gone: a failure, counted and logged, status untouched */
	unlink("remote-update.request");
	assert_int_equal(run_channel_poll(&cfg, &st, 1772366800), -1);
	assert_int_equal(st.failures, 1);
	assert_true(st.last_failed);
	assert_non_null(strstr(buf_data(log), "\"event\": \"channel_poll_failed\""));
	assert_int_equal(ustatus_read("remote-update.status", &us, NULL), 0);
	assert_int_equal(us.status, USTATUS_QUEUED);

	buf_free(pem);
	buf_free(log);
	sig_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_timing),    cmocka_unit_test(test_decide),
		cmocka_unit_test(test_rollout_vector), cmocka_unit_test(test_worker_id),
		cmocka_unit_test(test_scan_lock),      cmocka_unit_test(test_poll_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
