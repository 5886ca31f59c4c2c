#include "rate_model.h"

#include "bounds.h"
#include "buf.h"
#include "rate_line.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MODEL_LINE_MAX = BOUNDS_RATE_LINE_MAX, MODEL_READ_CHUNK = 4096 };

struct rate_model {
	struct rate_model_opts o;
	pid_t pid;
	int in_fd;  /* model's stdin (we write) */
	int out_fd; /* model's stdout (we read) */
	struct buf *rx;
	bool eof;
	bool exited;
	int status;
	bool clean_eof;
	int64_t window;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rate_model_start(const struct rate_model_opts *o, struct rate_model **out, struct errbuf *e)
{
	struct rate_model *m = calloc(1, sizeof(*m));
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defs;
	char *argv[4];
	int rc, fa_ok = 0, at_ok = 0;

	*out = NULL;
	if (m == NULL) {
		err_sys(e, ENOMEM, "cannot start model");
		return -1;
	}
	m->o = *o;
	m->pid = -1;
	m->in_fd = m->out_fd = -1;
	m->rx = buf_new(MODEL_LINE_MAX + MODEL_READ_CHUNK);
	if (m->rx == NULL || pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
		err_sys(e, errno, "cannot start model");
		goto fail;
	}
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)(uintptr_t)o->command;
	argv[3] = NULL;
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0 ||
	    (fa_ok = 1, rc = posix_spawn_file_actions_adddup2(&fa, to_child[0], 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, from_child[1], 1)) != 0 ||
	    (rc = posix_spawnattr_init(&at)) != 0) {
		err_sys(e, rc, "cannot start model");
		goto fail;
	}
	at_ok = 1;
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGCHLD);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &defs);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&m->pid, "/bin/sh", &fa, &at, argv, o->envp);
	if (rc != 0) {
		m->pid = -1;
		err_sys(e, rc, "cannot start model /bin/sh");
		goto fail;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(to_child[0]);
	close(from_child[1]);
	m->in_fd = to_child[1];
	m->out_fd = from_child[0];
	*out = m;
	return 0;
fail:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	if (to_child[0] >= 0) {
		close(to_child[0]);
		close(to_child[1]);
	}
	if (from_child[0] >= 0) {
		close(from_child[0]);
		close(from_child[1]);
	}
	buf_free(m->rx);
	free(m);
	return -1;
}

/* A stop byte waiting on stop_fd: its signal number, else 0. */
static int take_stop(const struct rate_model *m)
{
	unsigned char b;

	if (m->o.stop_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(m->o.stop_fd, &b, 1);
		if (n == 1)
			return b != 0 ? b : SIGTERM;
		if (n < 0 && errno == EINTR)
			continue;
		return 0;
	}
}

/* Reap the model if it has exited (non-blocking). */
static void poll_exit(struct rate_model *m)
{
	int st;

	if (m->exited || m->pid < 0)
		return;
	for (;;) {
		pid_t p = waitpid(m->pid, &st, WNOHANG);
		if (p == m->pid) {
			m->exited = true;
			m->status = st;
			return;
		}
		if (p < 0 && errno == EINTR)
			continue;
		return;
	}
}

/* Wait up to ms for the model to exit, watching stop_fd.  Returns the stop
 * signal if one arrived, else 0. */
static int wait_exit(struct rate_model *m, int ms)
{
	int64_t deadline = mono_ms() + ms;

	for (;;) {
		struct pollfd p = {.fd = m->o.stop_fd, .events = POLLIN};
		int64_t left;
		int sig;

		poll_exit(m);
		if (m->exited)
			return 0;
		left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		if (poll(&p, m->o.stop_fd >= 0 ? 1 : 0, left < 10 ? (int)left : 10) > 0 &&
		    (sig = take_stop(m)) != 0)
			return sig;
	}
}

/* Index of the first newline in rx, or -1. */
static ssize_t line_end(const struct rate_model *m)
{
	const char *d = buf_data(m->rx);
	const char *nl = memchr(d, '\n', buf_len(m->rx));

	return nl == NULL ? -1 : nl - d;
}

enum rate_run_status rate_model_run(void *ctx, int64_t rate, double window_seconds,
				    bool first_window, struct rate_window_out *out)
{
	struct rate_model *m = ctx;
	struct rate_line rl;
	char req[96];
	int64_t deadline;
	ssize_t nl;
	int n, sig;
	size_t len;

	(void)window_seconds;
	(void)first_window;
	m->window++;
	if ((sig = take_stop(m)) != 0) {
		out->stop_signal = sig;
		return RATE_RUN_STOP;
	}
	n = snprintf(req, sizeof(req), "{\"set_rate\": %lld, \"window\": %lld}\n", (long long)rate,
		     (long long)m->window);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		err_set(&out->err, "model request too long");
		return RATE_RUN_ERROR;
	}
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = write(m->in_fd, req + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE)
			break; /* the model closed its input: its output's EOF and
				* exit status decide below */
		if (w < 0) {
			err_sys(&out->err, errno, "write to model");
			return RATE_RUN_ERROR;
		}
		off += (size_t)w;
	}

	deadline = mono_ms() + m->o.reply_timeout_ms;
	while ((nl = line_end(m)) < 0 && !m->eof) {
		struct pollfd p[2] = {{.fd = m->out_fd, .events = POLLIN},
				      {.fd = m->o.stop_fd, .events = POLLIN}};
		int64_t left = deadline - mono_ms();
		char chunk[MODEL_READ_CHUNK];
		ssize_t r;
		int pr;

		if (buf_len(m->rx) > MODEL_LINE_MAX) {
			err_set(&out->err, "model reply in window %lld: line longer than %d bytes",
				(long long)m->window, MODEL_LINE_MAX);
			return RATE_RUN_ERROR;
		}
		if (left <= 0) {
			err_set(&out->err, "model did not reply within %d s in window %lld",
				m->o.reply_timeout_ms / 1000, (long long)m->window);
			return RATE_RUN_ERROR;
		}
		pr = poll(p, m->o.stop_fd >= 0 ? 2 : 1, left > 1000 ? 1000 : (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			err_sys(&out->err, errno, "poll");
			return RATE_RUN_ERROR;
		}
		if (m->o.stop_fd >= 0 && (p[1].revents & POLLIN) && (sig = take_stop(m)) != 0) {
			out->stop_signal = sig;
			return RATE_RUN_STOP;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(m->out_fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err_sys(&out->err, errno, "read from model");
			return RATE_RUN_ERROR;
		}
		if (r == 0) {
			m->eof = true;
			break;
		}
		if (buf_append(m->rx, chunk, (size_t)r, &out->err) < 0)
			return RATE_RUN_ERROR;
	}
	if (nl < 0) {
		/* EOF before a complete reply: ends the simulation, cleanly only
		 * when the model then exits 0 (§18.2) */
		if (buf_len(m->rx) > 0) {
			err_set(&out->err, "model closed its output in the middle of a line");
			return RATE_RUN_ERROR;
		}
		if ((sig = wait_exit(m, m->o.exit_wait_ms)) != 0) {
			out->stop_signal = sig;
			return RATE_RUN_STOP;
		}
		if (!m->exited)
			err_set(&out->err, "model closed its output but did not exit within %d s",
				m->o.exit_wait_ms / 1000);
		else if (WIFEXITED(m->status) && WEXITSTATUS(m->status) == 0)
			m->clean_eof = true;
		else if (WIFEXITED(m->status))
			err_set(&out->err,
				"model exited with status %d before replying in window %lld",
				WEXITSTATUS(m->status), (long long)m->window);
		else
			err_set(&out->err,
				"model killed by signal %d before replying in window %lld",
				WIFSIGNALED(m->status) ? WTERMSIG(m->status) : 0,
				(long long)m->window);
		if (m->clean_eof)
			err_set(&out->err, "model finished");
		return RATE_RUN_ERROR;
	}
	len = (size_t)nl;
	{
		struct errbuf pe;
		const char *line = buf_data(m->rx);
		size_t l = len;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		err_clear(&pe);
		if (rate_line_parse(line, l, m->o.policy, RATE_LINE_OPTIONAL_SET_RATE, &rl, &pe) <
		    0) {
			err_set(&out->err, "bad model reply in window %lld: %s",
				(long long)m->window, pe.msg);
			return RATE_RUN_ERROR;
		}
	}
	/* drop the consumed line */
	{
		size_t rest = buf_len(m->rx) - len - 1;
		char *tmp = NULL;
		if (rest > 0) {
			tmp = malloc(rest);
			if (tmp == NULL) {
				err_sys(&out->err, ENOMEM, "model reply");
				return RATE_RUN_ERROR;
			}
			memcpy(tmp, buf_data(m->rx) + len + 1, rest);
		}
		buf_reset(m->rx);
		if (rest > 0) {
			int rc = buf_append(m->rx, tmp, rest, &out->err);
			free(tmp);
			if (rc < 0)
				return RATE_RUN_ERROR;
		}
	}
	if (rl.has_set_rate && rl.m.set_rate != rate) {
		err_set(&out->err, "bad model reply in window %lld: set_rate %lld, expected %lld",
			(long long)m->window, (long long)rl.m.set_rate, (long long)rate);
		return RATE_RUN_ERROR;
	}
	out->m = rl.m;
	out->m.set_rate = rate;
	out->has_load = rl.has_load;
	out->load = rl.load;
	return RATE_RUN_MEASURED;
}

bool rate_model_clean_eof(const struct rate_model *m)
{
	return m != NULL && m->clean_eof;
}

void rate_model_finish(struct rate_model *m)
{
	int64_t deadline;

	if (m == NULL)
		return;
	if (m->in_fd >= 0)
		close(m->in_fd);
	m->in_fd = -1;
	deadline = mono_ms() + m->o.exit_wait_ms;
	while (!m->exited && mono_ms() < deadline) {
		poll_exit(m);
		if (!m->exited)
			usleep(10000);
	}
	if (!m->exited && m->pid > 0) {
		kill(-m->pid, SIGKILL);
		kill(m->pid, SIGKILL);
		while (waitpid(m->pid, &m->status, 0) < 0 && errno == EINTR)
			;
		m->exited = true;
	}
	if (m->out_fd >= 0)
		close(m->out_fd);
	buf_free(m->rx);
	free(m);
}
