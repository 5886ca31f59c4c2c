/* installer/health: the §13.5 decision with synthetic poll sequences, and
 * health_run against a health.json under a temporary root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "health.h"
#include "itime.h"
#include "test_inst_fixture.h"

#define FP "3f9a1c07be52aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_OLD "1afdc5ce162cbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define T0 1772366400

static struct health_obs obs(const char *fp, const char *status, int64_t pid, int64_t updated)
{
	struct health_obs o;
	memset(&o, 0, sizeof(o));
	o.present = o.valid = o.pid_running = o.service_active = true;
	memcpy(o.f.bundle_fingerprint, fp, strlen(fp) + 1);
	memcpy(o.f.status, status, strlen(status) + 1);
	o.f.pid = pid;
	o.f.updated = updated;
	return o;
}

static void test_parse(void **state)
{
	static const char doc[] =
		"{\"bundle_fingerprint\": \"" FP "\", \"bundle_name\": \"x\", \"pid\": 4121, "
		"\"started_at\": \"2026-03-01T12:02:31Z\", \"status\": \"ok\", \"updated_at\": "
		"\"2026-03-01T12:02:41Z\", \"version\": \"1.4.0\"}\n";
	struct health_file f;
	(void)state;
	assert_int_equal(health_parse(doc, strlen(doc), &f), 0);
	assert_string_equal(f.bundle_fingerprint, FP);
	assert_string_equal(f.status, "ok");
	assert_true(f.pid == 4121);
	assert_true(f.updated == 1772366561);
	assert_int_equal(health_parse("", 0, &f), -1);
	assert_int_equal(health_parse("{}", 2, &f), -1);
	assert_int_equal(health_parse(doc, strlen(doc) - 5, &f), -1); /* truncated */
	{
		static const char nopid[] = "{\"bundle_fingerprint\": \"\", \"status\": \"ok\", "
					    "\"pid\": 0, \"updated_at\": \"2026-03-01T12:02:41Z\"}";
		assert_int_equal(health_parse(nopid, strlen(nopid), &f), -1);
	}
}

static void test_sequences(void **state)
{
	struct health_check h;
	struct health_obs o;
	(void)state;

	/* success on the second stable poll */
	health_init(&h, FP, T0);
	o = obs(FP, "ok", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	o.f.updated = T0 + 7;
	assert_true(health_observe(&h, &o));

	/* degraded passes too; starting does not */
	health_init(&h, FP, T0);
	o = obs(FP, "starting", 4121, T0 + 1);
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "status starting");
	o = obs(FP, "degraded", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	assert_true(health_observe(&h, &o));

	/* missing file */
	health_init(&h, FP, T0);
	memset(&o, 0, sizeof(o));
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "health.json missing");
	o.present = true;
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "health.json invalid");

	/* wrong fingerprint (the old release still running) */
	health_init(&h, FP, T0);
	o = obs(FP_OLD, "ok", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "fingerprint 1afdc5ce162c != 3f9a1c07be52");

	/* stale updated_at: before restart_at - 1 */
	health_init(&h, FP, T0);
	o = obs(FP, "ok", 4121, T0 - 2);
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "stale health.json");
	o.f.updated = T0 - 1; /* the edge passes */
	assert_false(health_observe(&h, &o));
	assert_true(health_observe(&h, &o));

	/* failing */
	health_init(&h, FP, T0);
	o = obs(FP, "failing", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "status failing");

	/* a crash loop: pid changes between passing polls */
	health_init(&h, FP, T0);
	o = obs(FP, "ok", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	o = obs(FP, "ok", 4188, T0 + 7);
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "pid changed 4121 -> 4188");
	o = obs(FP, "ok", 4200, T0 + 12);
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "pid changed 4188 -> 4200");

	/* a failing poll in between resets the count */
	health_init(&h, FP, T0);
	o = obs(FP, "ok", 4121, T0 + 2);
	assert_false(health_observe(&h, &o));
	o.pid_running = false;
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "pid 4121 not running");
	o.pid_running = true;
	assert_false(health_observe(&h, &o));
	assert_true(health_observe(&h, &o));

	/* service not active */
	health_init(&h, FP, T0);
	o = obs(FP, "ok", 4121, T0 + 2);
	o.service_active = false;
	assert_false(health_observe(&h, &o));
	assert_false(health_observe(&h, &o));
	assert_string_equal(h.reason, "service not active");
}

struct fake_clock {
	int64_t now;
	int sleeps;
	const struct layout *l;
	const char *rewrite_at_sleep; /* write this health.json at the first sleep */
};

static int64_t fc_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static void fc_sleep(void *ctx, int s)
{
	struct fake_clock *c = ctx;
	c->now += s;
	c->sleeps++;
	if (c->rewrite_at_sleep != NULL) {
		assert_int_equal(
			fx_write(layout_path(c->l, LAYOUT_HEALTH), c->rewrite_at_sleep, 0644), 0);
		c->rewrite_at_sleep = NULL;
	}
}

static bool fc_stopped(void *ctx)
{
	(void)ctx;
	return true;
}

static void test_run(void **state)
{
	struct layout *l = fx_layout("hr");
	struct fake_clock c = {.now = T0, .l = l};
	struct health_clock clk = {fc_now, fc_sleep, &c, NULL};
	struct errbuf e = {{0}};
	char doc[512], ts[ITIME_LEN + 1];
	(void)state;
	assert_non_null(l);
	/* no file: times out with the last reason after timeout/interval polls */
	assert_int_equal(health_run(l, NULL, FP, T0, 20, 5, &clk, &e), -1);
	assert_string_equal(e.msg, "timed out after 20s (health.json missing)");
	assert_int_equal(c.sleeps, 4);
	/* our own pid is running: passes on the second poll */
	itime_format(T0 + 1, ts);
	assert_true(snprintf(doc, sizeof(doc),
			     "{\"bundle_fingerprint\": \"" FP "\", \"pid\": %ld, "
			     "\"status\": \"ok\", \"updated_at\": \"%s\"}\n",
			     (long)getpid(), ts) > 0);
	assert_int_equal(fsutil_mkdir_p(layout_path(l, LAYOUT_RUN), 0755, &e), 0);
	assert_int_equal(fx_write(layout_path(l, LAYOUT_HEALTH), doc, 0644), 0);
	c.now = T0;
	c.sleeps = 0;
	assert_int_equal(health_run(l, NULL, FP, T0, 20, 5, &clk, &e), 0);
	assert_int_equal(c.sleeps, 1);
	/* the old release's file first, the new one after a restart */
	c.now = T0;
	c.sleeps = 0;
	c.rewrite_at_sleep = doc;
	{
		char old[512];
		assert_true(snprintf(old, sizeof(old),
				     "{\"bundle_fingerprint\": \"" FP_OLD "\", \"pid\": %ld, "
				     "\"status\": \"ok\", \"updated_at\": \"%s\"}\n",
				     (long)getpid(), ts) > 0);
		assert_int_equal(fx_write(layout_path(l, LAYOUT_HEALTH), old, 0644), 0);
	}
	assert_int_equal(health_run(l, NULL, FP, T0, 20, 5, &clk, &e), 0);
	assert_int_equal(c.sleeps, 2);
	/* a symlinked health.json is not followed */
	assert_int_equal(rename(layout_path(l, LAYOUT_HEALTH), "elsewhere.json"), 0);
	assert_int_equal(symlink("../../elsewhere.json", layout_path(l, LAYOUT_HEALTH)), 0);
	c.now = T0;
	assert_int_equal(health_run(l, NULL, FP, T0, 10, 5, &clk, &e), -1);
	assert_string_equal(e.msg, "timed out after 10s (health.json invalid)");
	/* a stop signal ends the check at once, without sleeping */
	c.now = T0;
	c.sleeps = 0;
	clk.stopped = fc_stopped;
	assert_int_equal(health_run(l, NULL, FP, T0, 120, 5, &clk, &e), -1);
	assert_string_equal(e.msg, "interrupted");
	assert_int_equal(c.sleeps, 0);
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
