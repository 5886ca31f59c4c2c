/*
 * exec_stamp: the stand-in scanner of bench/scan-startup.sh.  It sends no
 * packets and does no work.  Three modes:
 *
 *   exec_stamp launch PROG [ARG...]
 *       reads CLOCK_MONOTONIC, puts it in the environment as
 *       EXEC_STAMP_T0=<ns> and execv()s PROG at once (stdin, stdout and
 *       stderr are inherited).
 *   exec_stamp spawn PROG [ARG...]
 *       fork()s, execv()s PROG in the child and waits for it; exits with its
 *       status (a minimal spawner: the baseline of one fork/exec hop).
 *   exec_stamp trace REPORT PROG [ARG...]
 *       runs PROG under ptrace, following every fork, vfork and clone, and
 *       stops each traced process at its exit (PTRACE_EVENT_EXIT, before its
 *       memory is released) to append "<role> <pid> <VmHWM KiB> <exe>" to
 *       REPORT (role: "root" for PROG, "child" for its descendants).  Exits with PROG's
 *       status (128 + N for signal N).
 *   exec_stamp [anything else]   (what agentd runs as the scanner)
 *       reads CLOCK_MONOTONIC as the first thing in main, appends
 *       "<EXEC_STAMP_T0> <now> <pid>\n" (nanoseconds) to $EXEC_STAMP_FILE
 *       and exits 0 without printing anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "num.h"

extern char **environ;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t utoa(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static int stand_in(uint64_t t1)
{
	const char *file = getenv("EXEC_STAMP_FILE"), *t0s = getenv("EXEC_STAMP_T0");
	uint64_t t0 = 0;
	char line[80];
	size_t n = 0;
	int fd;

	if (file == NULL)
		return 0;
	if (t0s == NULL || num_parse_u64(t0s, strlen(t0s), &t0) != 0)
		t0 = 0;
	n += utoa(t0, line + n);
	line[n++] = ' ';
	n += utoa(t1, line + n);
	line[n++] = ' ';
	n += utoa((uint64_t)getpid(), line + n);
	line[n++] = '\n';
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	if (write(fd, line, n) != (ssize_t)n) {
		close(fd);
		return 1;
	}
	return close(fd) == 0 ? 0 : 1;
}

static int launch(char **argv)
{
	static char t0env[48] = "EXEC_STAMP_T0=";
	size_t envc = 0, i, j = 0, pre = strlen(t0env), n;
	char **env;

	while (environ[envc] != NULL)
		envc++;
	env = calloc(envc + 2, sizeof(*env));
	if (env == NULL)
		return 127;
	for (i = 0; i < envc; i++)
		if (strncmp(environ[i], "EXEC_STAMP_T0=", pre) != 0)
			env[j++] = environ[i];
	env[j++] = t0env;
	env[j] = NULL;
	n = utoa(mono_ns(), t0env + pre);
	t0env[pre + n] = '\0';
	execve(argv[0], argv, env);
	fprintf(stderr, "exec_stamp: cannot execute %s: %s\n", argv[0], strerror(errno));
	return 127;
}

static int spawn(char **argv)
{
	pid_t pid = fork(), w;
	int st;

	if (pid < 0) {
		fprintf(stderr, "exec_stamp: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != pid)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* VmHWM of /proc/<pid>/status in KiB, or -1 */
static long vm_hwm(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	if (snprintf(path, sizeof(path), "/proc/%d/status", (int)pid) >= (int)sizeof(path))
		return -1;
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			const char *p = line + 6;
			size_t len = 0;
			int64_t v;
			while (*p == ' ' || *p == '\t')
				p++;
			while (p[len] >= '0' && p[len] <= '9')
				len++;
			if (num_parse_i64(p, len, &v) == 0)
				kib = (long)v;
			break;
		}
	}
	fclose(f);
	return kib;
}

static void record_exit(FILE *rep, pid_t pid, pid_t root)
{
	char path[64], exe[4096];
	ssize_t n = -1;

	if (snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid) < (int)sizeof(path))
		n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = '\0';
	fprintf(rep, "%s %d %ld %s\n", pid == root ? "root" : "child", (int)pid, vm_hwm(pid),
		n > 0 ? exe : "?");
	fflush(rep);
}

static int trace(const char *report, char **argv)
{
	const long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
			  PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
	FILE *rep = fopen(report, "ae");
	int st, rc = 1;
	pid_t root, w;

	if (rep == NULL) {
		fprintf(stderr, "exec_stamp: cannot open %s: %s\n", report, strerror(errno));
		return 1;
	}
	root = fork();
	if (root < 0) {
		fprintf(stderr, "exec_stamp: cannot fork: %s\n", strerror(errno));
		fclose(rep);
		return 1;
	}
	if (root == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
			fprintf(stderr, "exec_stamp: ptrace not permitted: %s\n", strerror(errno));
			_exit(125);
		}
		raise(SIGSTOP);
		execv(argv[0], argv);
		fprintf(stderr, "exec_stamp: cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(root, &st, __WALL) != root || !WIFSTOPPED(st) ||
	    ptrace(PTRACE_SETOPTIONS, root, NULL, (void *)opts) != 0) {
		if (WIFEXITED(st))
			rc = WEXITSTATUS(st);
		fclose(rep);
		return rc;
	}
	(void)ptrace(PTRACE_CONT, root, NULL, NULL);
	for (;;) {
		int sig, ev;

		w = waitpid(-1, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: every tracee is gone */
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (w == root)
				rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		ev = st >> 16;
		if (ev == PTRACE_EVENT_EXIT)
			record_exit(rep, w, root);
		if (ev != 0 || sig == SIGSTOP || sig == SIGTRAP)
			sig = 0; /* event stop or a new tracee's first stop */
		(void)ptrace(PTRACE_CONT, w, NULL, (void *)(long)sig);
	}
	fclose(rep);
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t t1 = mono_ns();

	if (argc >= 3 && strcmp(argv[1], "launch") == 0)
		return launch(argv + 2);
	if (argc >= 3 && strcmp(argv[1], "spawn") == 0)
		return spawn(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "trace") == 0)
		return trace(argv[2], argv + 3);
	return stand_in(t1);
}
