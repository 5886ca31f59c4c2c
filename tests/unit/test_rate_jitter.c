/* agent/rate_jitter: the heartbeat tracker (rate-controller.md §12; c20). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "rate_jitter.h"

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Drive the tracker from a real periodic timer, as the wait loop does. */
static void c20_reset_clears_recorded_gap(void **state)
{
	struct rate_jitter j;
	struct itimerspec its;
	int fd;
	double end;
	(void)state;
	assert_int_equal(rate_jitter_init(&j, 0.01, NULL), 0);
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	assert_true(fd >= 0);
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = 10 * 1000 * 1000;
	its.it_value.tv_nsec = 10 * 1000 * 1000;
	assert_int_equal(timerfd_settime(fd, 0, &its, NULL), 0);
	rate_jitter_reset(&j, mono());
	end = mono() + 0.1;
	while (mono() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t n;
		if (poll(&p, 1, 100) == 1 && read(fd, &n, sizeof(n)) == sizeof(n))
			rate_jitter_tick(&j, mono());
	}
	close(fd);
	assert_true(rate_jitter_max_gap_ms(&j) >= 0);
	rate_jitter_reset(&j, mono());
	assert_int_equal(rate_jitter_max_gap_ms(&j), 0);
}

static void c20_fake_clock(void **state)
{
	struct rate_jitter j;
	struct errbuf e;
	(void)state;
	assert_int_equal(rate_jitter_init(&j, 0.05, NULL), 0);
	rate_jitter_reset(&j, 0.0);
	assert_int_equal(rate_jitter_max_gap_ms(&j), 0);
	rate_jitter_tick(&j, 0.050);
	assert_int_equal(rate_jitter_max_gap_ms(&j), 50);
	rate_jitter_tick(&j, 0.160);
	assert_int_equal(rate_jitter_max_gap_ms(&j), 110);
	rate_jitter_tick(&j, 0.200); /* smaller gaps do not lower it */
	assert_int_equal(rate_jitter_max_gap_ms(&j), 110);
	rate_jitter_reset(&j, 0.2);
	assert_int_equal(rate_jitter_max_gap_ms(&j), 0);
	err_clear(&e);
	assert_int_equal(rate_jitter_init(&j, 0.0, &e), -1);
	assert_string_equal(e.msg, "interval_seconds must be > 0");
	assert_int_equal(rate_jitter_init(&j, -1.0, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(c20_reset_clears_recorded_gap),
		cmocka_unit_test(c20_fake_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
