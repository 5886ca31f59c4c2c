/*
 * benchtool: the two measurements the install and update benchmarks cannot
 * make precisely from sh.  Built by bench/lib/common.sh into the benchmark's
 * temporary directory (not part of the programs or the tests).
 *
 *   benchtool run RESULT CMD [ARG]...
 *     runs CMD (stdio inherited), waits for it with wait4 and writes one line
 *     "<wall ns> <peak RSS KiB> <exit status>" to RESULT.  The peak RSS is the
 *     kernel's ru_maxrss of CMD, which covers CMD and every child it waited
 *     for (the largest of them).  Exits with CMD's status (128+N if killed by
 *     signal N, 125 if CMD could not be run).
 *
 *   benchtool watch OLDPID HEALTH TIMEOUT_MS
 *     polls every millisecond until process OLDPID has exited (gone or a
 *     zombie) and HEALTH (health.json) names another pid with status "ok" or
 *     "degraded"; prints "<exit ns> <up ns> <healthy ns>" (CLOCK_REALTIME at
 *     the poll that saw: OLDPID gone, the first health.json of a new pid, the
 *     first healthy one).  Each time is late by at most one poll period
 *     (about 1 ms).  Exit 1 on timeout, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_MAX 65536

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* decimal, no sign, at most 18 digits; -1 if not */
static int64_t parse_dec(const char *s, size_t max_len, size_t *used)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < max_len && i < 18 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || (i < max_len && s[i] >= '0' && s[i] <= '9'))
		return -1;
	if (used != NULL)
		*used = i;
	return v;
}

static int64_t parse_arg(const char *s)
{
	size_t used = 0;
	int64_t v = parse_dec(s, strlen(s), &used);

	return (v < 0 || s[used] != '\0') ? -1 : v;
}

static int cmd_run(int argc, char **argv)
{
	struct rusage ru;
	int64_t t0, t1;
	pid_t pid;
	int status = 0, rc, fd;
	char line[128];
	int n;

	if (argc < 4) {
		fputs("usage: benchtool run RESULT CMD [ARG]...\n", stderr);
		return 2;
	}
	t0 = clock_ns(CLOCK_MONOTONIC);
	pid = fork();
	if (pid < 0) {
		perror("benchtool: cannot fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "benchtool: cannot run %s: %s\n", argv[3], strerror(errno));
		_exit(125);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("benchtool: cannot wait");
			return 125;
		}
	}
	t1 = clock_ns(CLOCK_MONOTONIC);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	n = snprintf(line, sizeof(line), "%lld %ld %d\n", (long long)(t1 - t0), ru.ru_maxrss, rc);
	if (n < 0 || (size_t)n >= sizeof(line))
		return 125;
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) != 0) {
		fprintf(stderr, "benchtool: cannot write %s\n", argv[2]);
		return 125;
	}
	return rc;
}

/* gone, or a zombie its parent has not reaped yet */
static bool pid_exited(const char *stat_path)
{
	char buf[512];
	ssize_t n;
	int fd = open(stat_path, O_RDONLY | O_CLOEXEC);
	char *p;

	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* pid and whether status is ok/degraded; -1 if unreadable or without a pid */
static int64_t health_read(const char *path, bool *healthy)
{
	static char buf[HEALTH_MAX + 1];
	const char *p;
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while (got < HEALTH_MAX) {
		n = read(fd, buf + got, (size_t)(HEALTH_MAX - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	*healthy = strstr(buf, "\"status\": \"ok\"") != NULL ||
		   strstr(buf, "\"status\": \"degraded\"") != NULL;
	p = strstr(buf, "\"pid\": ");
	if (p == NULL)
		return -1;
	p += strlen("\"pid\": ");
	return parse_dec(p, (size_t)(buf + got - p), NULL);
}

static int cmd_watch(int argc, char **argv)
{
	struct timespec period = {0, 1000000};
	struct stat st, last = {0};
	int64_t oldpid, timeout_ms, deadline, t_exit = 0, t_up = 0, t_ok = 0;
	char stat_path[64];
	int n;

	if (argc != 5 || (oldpid = parse_arg(argv[2])) <= 0 ||
	    (timeout_ms = parse_arg(argv[4])) < 0) {
		fputs("usage: benchtool watch OLDPID HEALTH TIMEOUT_MS\n", stderr);
		return 2;
	}
	n = snprintf(stat_path, sizeof(stat_path), "/proc/%lld/stat", (long long)oldpid);
	if (n < 0 || (size_t)n >= sizeof(stat_path))
		return 2;
	deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000;
	while (t_exit == 0 || t_ok == 0) {
		int64_t now = clock_ns(CLOCK_REALTIME);

		if (t_exit == 0 && pid_exited(stat_path))
			t_exit = now;
		/* read health.json only when it was replaced or rewritten */
		if (t_ok == 0 && stat(argv[3], &st) == 0 &&
		    (st.st_ino != last.st_ino || st.st_mtim.tv_sec != last.st_mtim.tv_sec ||
		     st.st_mtim.tv_nsec != last.st_mtim.tv_nsec)) {
			bool healthy = false;
			int64_t pid = health_read(argv[3], &healthy);

			last = st;
			if (pid > 0 && pid != oldpid) {
				if (t_up == 0)
					t_up = now;
				if (healthy)
					t_ok = now;
			}
		}
		if (clock_ns(CLOCK_MONOTONIC) > deadline) {
			fprintf(stderr,
				"benchtool: watch timed out (exit %s, new pid %s, healthy %s)\n",
				t_exit ? "seen" : "not seen", t_up ? "seen" : "not seen",
				t_ok ? "seen" : "not seen");
			return 1;
		}
		nanosleep(&period, NULL);
	}
	printf("%lld %lld %lld\n", (long long)t_exit, (long long)t_up, (long long)t_ok);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return cmd_watch(argc, argv);
	fputs("usage: benchtool run RESULT CMD [ARG]... | benchtool watch OLDPID HEALTH "
	      "TIMEOUT_MS\n",
	      stderr);
	return 2;
}
