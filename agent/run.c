/*
 * The `agentd run` loop (spec bundle-install-update.md §15.2, §22).
 */
#include "run.h"

#include "bounds.h"
#include "buf.h"
#include "calib.h"
#include "fsutil.h"
#include "itime.h"
#include "prom.h"
#include "ustatus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_RECHECK_MS 60000      /* §15.2: the scan lock is re-checked every 60 s */
#define RUN_WARN_EVERY_MS 3600000 /* §22.2: one textfile warning per hour */
#define RUN_PROM_MAX BOUNDS_PROM_MAX

int64_t run_first_poll_ms(int poll_seconds, uint32_t r)
{
	int64_t lo = 30000, hi = (int64_t)poll_seconds * 1000;

	if (hi <= lo)
		return lo;
	return lo + (int64_t)((double)(hi - lo) * ((double)r / 4294967296.0));
}

int64_t run_next_poll_ms(int poll_seconds, uint32_t r)
{
	double f = 0.8 + 0.4 * ((double)r / 4294967296.0);

	return (int64_t)((double)poll_seconds * 1000.0 * f);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

static uint32_t rnd32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u;
	}
	return r;
}

/* "agentd: warning: cannot <what> <obj>: <why>" */
static void warn_line(const struct run_config *c, const char *what, const char *obj,
		      const char *why)
{
	char line[1024];
	int n;

	if (c->log == NULL)
		return;
	n = snprintf(line, sizeof(line), "agentd: warning: cannot %s %s: %s\n", what, obj, why);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)events_sink_write(c->log, line, (size_t)n, NULL);
}

struct run_state {
	int64_t started;
	enum run_status status;
	struct run_channel_state ch;
	int64_t textfile_warned_ms; /* 0 = never */
	bool textfile_failing;
};

/* Build and write agentd.prom; -1 with e on failure. */
static int write_prom(const struct run_config *c, const struct run_state *st, int64_t now,
		      struct errbuf *e)
{
	struct prom_input in;
	struct ustatus us;
	struct calib *cal = NULL;
	struct calib_map m;
	struct prom_rate *rates = NULL;
	struct buf *b = NULL;
	size_t i;
	int rc = -1;

	memset(&in, 0, sizeof(in));
	memset(&m, 0, sizeof(m));
	in.version = c->version;
	in.fingerprint = c->fingerprint;
	in.bundle = c->bundle_name;
	in.platform = c->platform;
	in.start_time = st->started;
	in.status = st->status;
	in.health_time = now;
	if (c->status_path != NULL && ustatus_read(c->status_path, &us, NULL) == 0 &&
	    us.status != USTATUS_NONE) {
		in.update_status = ustatus_name(us.status);
		in.update_time = us.has_time ? us.updated : 0;
	}
	in.channel_last_success = st->ch.last_success;
	in.channel_failures = st->ch.failures;
	in.offered = st->ch.offered;
	in.offered_version = st->ch.offered_version;
	in.offered_fingerprint = st->ch.offered_fingerprint;
	if (c->calib_path != NULL) {
		cal = calib_new(c->calib_path, 0);
		if (cal != NULL)
			calib_load(cal, &m);
		if (m.count > 0) {
			rates = calloc(m.count, sizeof(*rates));
			if (rates == NULL) {
				err_sys(e, errno, "agentd.prom");
				goto out;
			}
			for (i = 0; i < m.count; i++) {
				const char *u = m.entries[i].updated_at;

				rates[i].interface = m.entries[i].iface;
				rates[i].learned_pps = m.entries[i].learned_rate;
				rates[i].has_time =
					u != NULL &&
					itime_parse(u, strlen(u), &rates[i].updated) == 0;
			}
			in.rates = rates;
			in.nrates = m.count;
		}
	}
	b = buf_new(RUN_PROM_MAX);
	if (b == NULL) {
		err_sys(e, errno, "agentd.prom");
		goto out;
	}
	if (prom_format(&in, b, e) != 0)
		goto out;
	rc = prom_write(c->textfile_dir, buf_data(b), buf_len(b), e);
out:
	buf_free(b);
	free(rates);
	calib_map_free(&m);
	calib_free(cal);
	return rc;
}

static int write_health(const struct run_config *c, struct run_state *st, struct errbuf *e)
{
	struct run_health h;
	int64_t now = wall_s();
	struct errbuf pe = {{0}};

	if (st->status != RUN_STARTING)
		st->status = (st->ch.last_failed || st->textfile_failing) ? RUN_DEGRADED : RUN_OK;
	h.fingerprint = c->fingerprint;
	h.bundle_name = c->bundle_name;
	h.version = c->version;
	h.pid = (int64_t)getpid();
	h.started = st->started;
	h.updated = now;
	h.status = st->status;
	if (run_health_write(c->health_path, &h, e) != 0)
		return -1;
	if (c->textfile_dir != NULL) {
		if (write_prom(c, st, now, &pe) != 0) {
			int64_t m = mono_ms();

			st->textfile_failing = true;
			if (st->textfile_warned_ms == 0 ||
			    m - st->textfile_warned_ms >= RUN_WARN_EVERY_MS) {
				st->textfile_warned_ms = m;
				warn_line(c, "write metrics to", c->textfile_dir, pe.msg);
			}
		} else {
			st->textfile_failing = false;
		}
	}
	return 0;
}

/*
 * A channel poll runs in a forked child, so health writes go on and a stop
 * signal is obeyed at once while the network is slow (a poll may take the
 * 60 s budget plus retries).  The child hands its updated poller state back
 * through a pipe and exits; its own writes (request, status) are atomic, so
 * killing it at any point is safe.  The parent never makes an HTTPS request
 * itself, so the TLS configuration and its random generator are created in
 * each child and never shared between two polls.
 */
struct poll_result {
	int decision;
	struct run_channel_state ch;
};

struct poll_job {
	pid_t pid; /* 0: no poll running */
	int fd;
	int64_t deadline; /* monotonic ms: the child is killed after this */
	size_t got;
	struct poll_result res;
};

#define RUN_JOB_MAX_FACTOR 6 /* hard cap: 6 x the poll budget */

static int job_start(const struct run_config *c, const struct run_state *st, struct poll_job *j,
		     bool recheck)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		struct poll_result r;

		close(p[0]);
		memset(&r, 0, sizeof(r));
		r.ch = st->ch;
		r.decision = recheck ? run_channel_recheck(&c->channel, &r.ch, wall_s())
				     : run_channel_poll(&c->channel, &r.ch, wall_s());
		(void)fsutil_write_all(p[1], &r, sizeof(r));
		_exit(0);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->fd = p[0];
	j->got = 0;
	j->deadline = mono_ms() + (c->channel.budget_ms > 0 ? c->channel.budget_ms : 60000) *
					  RUN_JOB_MAX_FACTOR;
	return 0;
}

/* Kill (if asked) and reap the child, close the pipe. */
static void job_end(struct poll_job *j, bool kill_it)
{
	int status;

	if (j->pid <= 0)
		return;
	if (kill_it)
		(void)kill(j->pid, SIGKILL);
	while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(j->fd);
	j->pid = 0;
	j->fd = -1;
}

/* Read what the child sent.  Returns 1 when the job is over (its result in
 * j->res when complete: *complete), 0 while it runs. */
static int job_read(struct poll_job *j, bool *complete)
{
	for (;;) {
		ssize_t n;

		if (j->got == sizeof(j->res)) {
			char extra;

			n = read(j->fd, &extra, 1);
		} else {
			n = read(j->fd, (char *)&j->res + j->got, sizeof(j->res) - j->got);
		}
		if (n > 0) {
			if (j->got < sizeof(j->res))
				j->got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		/* EOF (or an error): the child is done */
		*complete = j->got == sizeof(j->res);
		job_end(j, false);
		return 1;
	}
}

int run_loop(const struct run_config *c, struct errbuf *e)
{
	struct run_state *st;
	struct poll_job job;
	int64_t now, next_health, next_poll = INT64_MAX, next_recheck = INT64_MAX;
	int64_t interval = (int64_t)(c->health_interval_s > 0 ? c->health_interval_s : 10) * 1000;
	struct errbuf he = {{0}};
	bool health_warned = false;
	int rc = -1;

	memset(&job, 0, sizeof(job));
	job.fd = -1;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		err_sys(e, errno, "agentd run");
		return -1;
	}
	run_channel_state_init(&st->ch);
	st->started = wall_s();
	st->status = RUN_STARTING;
	if (write_health(c, st, e) != 0)
		goto out;
	st->status = RUN_OK;
	now = mono_ms();
	/* the first "ok" as soon as the loop runs: waiting a whole interval only
	 * lengthens every restart (the update downtime) by that interval */
	next_health = now;
	if (c->channel_on)
		next_poll = now + run_first_poll_ms(c->poll_seconds, rnd32());
	for (;;) {
		struct pollfd pfd[2] = {{c->sigfd, POLLIN, 0}, {job.fd, POLLIN, 0}};
		int64_t wait, dl = next_health;
		bool poll_now = false, health_now = false;
		int d = -2;

		if (job.pid > 0) {
			if (job.deadline < dl)
				dl = job.deadline;
		} else {
			if (next_poll < dl)
				dl = next_poll;
			if (next_recheck < dl)
				dl = next_recheck;
		}
		now = mono_ms();
		wait = dl - now;
		if (wait < 0)
			wait = 0;
		if (wait > 3600000)
			wait = 3600000;
		if (poll(pfd, job.pid > 0 ? 2 : 1, (int)wait) < 0 && errno != EINTR) {
			err_sys(e, errno, "poll");
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t n = read(c->sigfd, &si, sizeof(si));

			if (n == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					break;
				if (si.ssi_signo == SIGHUP) {
					health_now = true;
					poll_now = c->channel_on;
				}
			}
		}
		now = mono_ms();
		if (job.pid > 0) {
			bool complete = false;

			if (pfd[1].revents != 0 && job_read(&job, &complete) == 1) {
				if (complete) {
					st->ch = job.res.ch;
					d = job.res.decision;
				} else {
					run_channel_failed(
						&c->channel, &st->ch,
						"the poll process ended without a result");
					d = -1;
				}
			} else if (now >= job.deadline) {
				job_end(&job, true);
				run_channel_failed(&c->channel, &st->ch,
						   "the poll took too long and was stopped");
				d = -1;
			}
			if (d != -2) {
				now = mono_ms();
				next_recheck =
					d == RUN_DEC_SCAN_BUSY ? now + RUN_RECHECK_MS : INT64_MAX;
				health_now = true; /* publish the poll's outcome */
			}
		} else if (c->channel_on && (poll_now || now >= next_poll || now >= next_recheck)) {
			bool recheck = !(poll_now || now >= next_poll);

			if (!recheck)
				next_poll = now + run_next_poll_ms(c->poll_seconds, rnd32());
			next_recheck = INT64_MAX;
			if (job_start(c, st, &job, recheck) != 0) {
				/* no process to spare: poll here, blocking the loop */
				d = recheck ? run_channel_recheck(&c->channel, &st->ch, wall_s())
					    : run_channel_poll(&c->channel, &st->ch, wall_s());
				now = mono_ms();
				next_recheck =
					d == RUN_DEC_SCAN_BUSY ? now + RUN_RECHECK_MS : INT64_MAX;
				health_now = true;
			}
		}
		if (health_now || now >= next_health) {
			if (write_health(c, st, &he) != 0) {
				if (!health_warned)
					warn_line(c, "write", c->health_path, he.msg);
				health_warned = true;
			} else {
				health_warned = false;
			}
			next_health = mono_ms() + interval;
		}
	}
	rc = 0;
out:
	job_end(&job, true);
	free(st);
	return rc;
}
