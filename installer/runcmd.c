#include "runcmd.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the last bytes of the output in r->out. */
static void keep(struct runcmd_result *r, const char *p, size_t n)
{
	size_t cap = sizeof(r->out) - 1;

	if (n > cap) {
		p += n - cap;
		n = cap;
	}
	if (r->out_len + n > cap) {
		size_t drop = r->out_len + n - cap;
		memmove(r->out, r->out + drop, r->out_len - drop);
		r->out_len -= drop;
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	r->out[r->out_len] = '\0';
}

static void drain(int fd, struct runcmd_result *r, struct buf *all)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		keep(r, buf, (size_t)n);
		if (all != NULL)
			(void)buf_append(all, buf, (size_t)n, NULL); /* past the max: dropped */
	}
}

int runcmd_which(const char *name, const char *path, char *out, size_t out_size)
{
	const char *p = path;

	if (strchr(name, '/') != NULL) {
		if (strlen(name) + 1 > out_size || access(name, X_OK) != 0)
			return -1;
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (path == NULL || path[0] == '\0')
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, ":");
		struct stat st;
		int k;
		if (n > 0) {
			k = snprintf(out, out_size, "%.*s/%s", (int)n, p, name);
			if (k > 0 && (size_t)k < out_size && stat(out, &st) == 0 &&
			    S_ISREG(st.st_mode) && access(out, X_OK) == 0)
				return 0;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return -1;
}

bool runcmd_ok(const struct runcmd_result *r)
{
	return r->exited && r->status == 0;
}

int runcmd_run(const char *const argv[], char *const envp[], int timeout_ms,
	       struct runcmd_result *r, struct errbuf *e)
{
	return runcmd_run_buf(argv, envp, timeout_ms, r, NULL, e);
}

int runcmd_run_buf(const char *const argv[], char *const envp[], int timeout_ms,
		   struct runcmd_result *r, struct buf *all, struct errbuf *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int pipefd[2] = {-1, -1}, rc, wstatus = 0;
	bool reaped = false, term_sent = false;
	int64_t deadline, kill_at = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (envp == NULL)
		envp = environ;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		err_sys(e, errno, "run %s: pipe", argv[0]);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		err_sys(e, rc, "run %s", argv[0]);
		errno = rc;
		return -1;
	}
	(void)fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	deadline = now_ms() + (timeout_ms < 0 ? (int64_t)INT32_MAX : timeout_ms);
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		int64_t now = now_ms();
		pid_t w;

		w = waitpid(pid, &wstatus, WNOHANG);
		if (w == pid) {
			reaped = true;
			drain(pipefd[0], r, all);
			break;
		}
		if (w < 0 && errno != EINTR) {
			err_sys(e, errno, "run %s: wait", argv[0]);
			break;
		}
		if (!term_sent && now >= deadline) {
			r->timed_out = true;
			(void)kill(-pid, SIGTERM);
			term_sent = true;
			kill_at = now + 5000;
		} else if (term_sent && kill_at != 0 && now >= kill_at) {
			(void)kill(-pid, SIGKILL);
			kill_at = 0;
		}
		if (poll(&pfd, 1, 50) > 0)
			drain(pipefd[0], r, all);
	}
	close(pipefd[0]);
	if (!reaped) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
	}
	if (WIFEXITED(wstatus)) {
		r->exited = true;
		r->status = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		r->signal = WTERMSIG(wstatus);
	}
	return 0;
}
