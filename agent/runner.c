#include "runner.h"

#include "rate_jitter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- signals: self-pipe */

static int self_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_first;
static volatile sig_atomic_t stop_count;

static void on_signal(int sig)
{
	int saved = errno;
	char b = (char)sig;

	if (sig == SIGINT || sig == SIGTERM) {
		if (stop_first == 0)
			stop_first = sig;
		stop_count++;
	}
	if (self_pipe[1] >= 0)
		(void)!write(self_pipe[1], &b, 1);
	errno = saved;
}

int runner_signals_init(struct errbuf *e)
{
	struct sigaction sa;

	if (self_pipe[0] >= 0)
		return 0;
	if (pipe2(self_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_sys(e, errno, "pipe");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0) {
		err_sys(e, errno, "sigaction");
		return -1;
	}
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

int runner_stop_signal(void)
{
	return stop_first;
}

int runner_stop_count(void)
{
	return stop_count;
}

static void drain_self_pipe(void)
{
	char buf[64];

	if (self_pipe[0] < 0)
		return;
	while (read(self_pipe[0], buf, sizeof(buf)) > 0)
		;
}

double runner_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- reaping */

enum { REAP_MAX = 256 };
static struct {
	pid_t pid;
	int status;
} reaped[REAP_MAX];
static size_t nreaped;

static void reap_all(void)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (nreaped == REAP_MAX) {
			memmove(&reaped[0], &reaped[1], sizeof(reaped[0]) * (REAP_MAX - 1));
			nreaped--;
		}
		reaped[nreaped].pid = pid;
		reaped[nreaped].status = st;
		nreaped++;
	}
}

bool runner_check(struct runner_child *c)
{
	size_t i;

	reap_all();
	if (c == NULL || c->pid <= 0)
		return c != NULL && c->exited;
	if (c->exited)
		return true;
	for (i = 0; i < nreaped; i++) {
		if (reaped[i].pid == c->pid) {
			c->exited = true;
			c->status = reaped[i].status;
			memmove(&reaped[i], &reaped[i + 1], sizeof(reaped[0]) * (nreaped - i - 1));
			nreaped--;
			return true;
		}
	}
	return false;
}

int runner_exit_code(const struct runner_child *c)
{
	if (!c->exited)
		return 0;
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return -WTERMSIG(c->status);
	return 0;
}

/* ---- spawn */

static void mark_cloexec_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 4096; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int open_child_fd(enum runner_io mode, const char *file, int flags, int pipe_end)
{
	if (mode == RUNNER_IO_PIPE)
		return pipe_end;
	if (mode == RUNNER_IO_FILE)
		return open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return open("/dev/null", flags | O_CLOEXEC);
}

static void child_exec(const struct runner_spawn_opts *o, int fds[3], int errfd, pid_t parent)
{
	struct sigaction sa;
	sigset_t all;
	int sig, e;

	(void)setsid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < 65; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	if (o->pdeathsig != 0) {
		(void)prctl(PR_SET_PDEATHSIG, o->pdeathsig);
		if (getppid() != parent)
			_exit(1);
	}
	for (int i = 0; i < 3; i++) {
		if (fds[i] < 0 || dup2(fds[i], i) < 0)
			goto fail;
	}
	mark_cloexec_from(3);
	execve(o->path, o->argv, o->envp ? o->envp : environ);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

int runner_spawn(const struct runner_spawn_opts *o, struct runner_child *c, struct errbuf *e)
{
	int p_in[2] = {-1, -1}, p_out[2] = {-1, -1}, p_err[2] = {-1, -1}, ep[2] = {-1, -1};
	int fds[3] = {-1, -1, -1};
	pid_t parent = getpid(), pid;
	int child_errno = 0, rc = -1;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->in_fd = c->out_fd = c->err_fd = -1;
	c->stops_seen = 0; /* a stop received before the spawn counts too */
	if ((o->in == RUNNER_IO_PIPE && pipe2(p_in, O_CLOEXEC) != 0) ||
	    (o->out == RUNNER_IO_PIPE && pipe2(p_out, O_CLOEXEC) != 0) ||
	    (o->err == RUNNER_IO_PIPE && pipe2(p_err, O_CLOEXEC) != 0) ||
	    pipe2(ep, O_CLOEXEC) != 0) {
		err_sys(e, errno, "pipe");
		goto out;
	}
	fds[0] = open_child_fd(o->in == RUNNER_IO_PIPE ? RUNNER_IO_PIPE : RUNNER_IO_NULL, NULL,
			       O_RDONLY, p_in[0]);
	fds[1] = open_child_fd(o->out, o->out_file, O_WRONLY, p_out[1]);
	fds[2] = open_child_fd(o->err, o->err_file, O_WRONLY, p_err[1]);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
		err_sys(e, errno, "open %s",
			fds[1] < 0 && o->out == RUNNER_IO_FILE   ? o->out_file
			: fds[2] < 0 && o->err == RUNNER_IO_FILE ? o->err_file
								 : "/dev/null");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		err_sys(e, errno, "fork");
		goto out;
	}
	if (pid == 0)
		child_exec(o, fds, ep[1], parent);
	close(ep[1]);
	ep[1] = -1;
	do
		n = read(ep[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_errno)) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		err_sys(e, child_errno, "exec %s", o->path);
		goto out;
	}
	c->pid = pid;
	if (o->in == RUNNER_IO_PIPE) {
		c->in_fd = p_in[1];
		p_in[1] = -1;
	}
	if (o->out == RUNNER_IO_PIPE) {
		c->out_fd = p_out[0];
		p_out[0] = -1;
		(void)fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	}
	if (o->err == RUNNER_IO_PIPE) {
		c->err_fd = p_err[0];
		p_err[0] = -1;
		(void)fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	}
	rc = 0;
out:
	for (int i = 0; i < 3; i++) {
		/* pipe ends given to the child are closed below with the pipes */
		if (fds[i] >= 0 && fds[i] != p_in[0] && fds[i] != p_out[1] && fds[i] != p_err[1])
			close(fds[i]);
	}
	for (int i = 0; i < 2; i++) {
		if (p_in[i] >= 0)
			close(p_in[i]);
		if (p_out[i] >= 0)
			close(p_out[i]);
		if (p_err[i] >= 0)
			close(p_err[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return rc;
}

void runner_close(struct runner_child *c)
{
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->in_fd = c->out_fd = c->err_fd = -1;
}

/* ---- the loop */

void runner_cb_reset(struct runner_cb *cb)
{
	cb->next_tick = 0;
}

static double cb_now(const struct runner_cb *cb)
{
	return cb && cb->clock ? cb->clock() : runner_now();
}

static void read_fd(int *fd, void (*fn)(void *, const char *, size_t), void *ctx)
{
	char buf[RUNNER_READ_CHUNK];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n > 0) {
		if (fn != NULL)
			fn(ctx, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(*fd);
		*fd = -1;
	}
}

/* One pass: poll until the next tick or until, read what is ready, tick. */
static void pass(struct runner_child *c, double until, struct runner_cb *cb)
{
	struct pollfd p[3];
	int np = 0, timeout_ms, i_out = -1, i_err = -1;
	double now = cb_now(cb), wake;

	if (cb->next_tick == 0)
		cb->next_tick = now + RUNNER_TICK_SECONDS;
	wake = cb->next_tick;
	if (until >= 0 && until < wake)
		wake = until;
	timeout_ms = wake <= now ? 0 : (int)((wake - now) * 1000.0 + 0.999);
	if (self_pipe[0] >= 0) {
		p[np].fd = self_pipe[0];
		p[np++].events = POLLIN;
	}
	if (c != NULL && c->out_fd >= 0) {
		i_out = np;
		p[np].fd = c->out_fd;
		p[np++].events = POLLIN;
	}
	if (c != NULL && c->err_fd >= 0) {
		i_err = np;
		p[np].fd = c->err_fd;
		p[np++].events = POLLIN;
	}
	if (poll(p, (nfds_t)np, timeout_ms) > 0) {
		if (self_pipe[0] >= 0 && p[0].revents)
			drain_self_pipe();
		if (i_out >= 0 && p[i_out].revents)
			read_fd(&c->out_fd, cb->on_out, cb->ctx);
		if (i_err >= 0 && p[i_err].revents)
			read_fd(&c->err_fd, cb->on_err, cb->ctx);
	}
	now = cb_now(cb);
	if (now >= cb->next_tick) {
		if (cb->jitter != NULL)
			rate_jitter_tick(cb->jitter, now);
		cb->next_tick = now + RUNNER_TICK_SECONDS;
		if (cb->on_tick != NULL)
			cb->on_tick(cb->ctx, now);
	}
	if (c != NULL)
		(void)runner_check(c);
	else
		reap_all();
}

enum runner_wait runner_wait(struct runner_child *c, double deadline, struct runner_cb *cb)
{
	for (;;) {
		if (runner_check(c))
			return RUNNER_W_EXITED;
		if (runner_stop_count() > c->stops_seen) {
			c->stops_seen = runner_stop_count();
			return RUNNER_W_STOP;
		}
		if (deadline >= 0 && cb_now(cb) >= deadline)
			return RUNNER_W_TIMEOUT;
		pass(c, deadline, cb);
	}
}

void runner_signal_group(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	if (killpg(pid, sig) != 0 && (errno == ESRCH || errno == EPERM))
		(void)kill(pid, sig == SIGKILL ? SIGKILL : SIGTERM);
}

void runner_kill(struct runner_child *c)
{
	if (c->pid > 0 && !runner_check(c))
		runner_signal_group(c->pid, SIGKILL);
}

void runner_terminate(struct runner_child *c, double grace, struct runner_cb *cb, bool kill_on_stop)
{
	static const int seq[3] = {SIGINT, SIGTERM, SIGKILL};
	int i = 0;

	while (i < 3) {
		double until;
		bool jump = false;

		if (runner_check(c))
			return;
		runner_signal_group(c->pid, seq[i]);
		until = cb_now(cb) + grace;
		for (;;) {
			enum runner_wait w = runner_wait(c, until, cb);
			if (w == RUNNER_W_EXITED)
				return;
			if (w == RUNNER_W_TIMEOUT)
				break;
			if (kill_on_stop && seq[i] != SIGKILL) {
				/* a further stop signal (§15.1): SIGKILL at once */
				jump = true;
				break;
			}
		}
		i = jump ? 2 : i + 1;
	}
	(void)runner_check(c);
}

void runner_drain(struct runner_child *c, double max_seconds, struct runner_cb *cb)
{
	double until = cb_now(cb) + max_seconds;

	while ((c->out_fd >= 0 || c->err_fd >= 0) && cb_now(cb) < until)
		pass(c, until, cb);
}

void runner_idle(double until)
{
	struct pollfd p;
	double now = runner_now();
	int timeout_ms = -1;

	if (until >= 0)
		timeout_ms = until <= now ? 0 : (int)((until - now) * 1000.0 + 0.999);
	if (timeout_ms > 1000 || timeout_ms < 0)
		timeout_ms = 1000; /* a missed wake-up costs at most a second */
	p.fd = self_pipe[0];
	p.events = POLLIN;
	p.revents = 0;
	if (self_pipe[0] >= 0) {
		if (poll(&p, 1, timeout_ms) > 0)
			drain_self_pipe();
	} else {
		(void)poll(NULL, 0, timeout_ms);
	}
	reap_all();
}
