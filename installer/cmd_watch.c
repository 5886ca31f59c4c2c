/*
 * agent-install watch [--once] [--root DIR] (spec bundle-install-update.md
 * §15.5): on hosts without systemd, serve the update request file the way
 * agentd-remote-update.path does -- inotify on the request file's directory
 * plus a check every 60 s, one detached `agent-install update
 * --from-request` at a time.
 */
#include "cmd.h"

#include "cli.h"
#include "installed.h"
#include "ureq.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WATCH_RESCAN_S 60  /* §15.5: checked every 60 s */
#define WATCH_MIN_GAP_S 10 /* at most one run per 10 s */
#define WATCH_RETRY_S 60   /* the same request still there: wait 60 s */
#define WATCH_SETTLE_S 1   /* wait 1 s after the file appears */

static const char watch_usage[] =
	"usage: agent-install watch [--once] [--root DIR]\n"
	"\n"
	"Serves the update request file on hosts without systemd: when\n"
	"AGENT_REMOTE_UPDATE_REQUEST_FILE exists (inotify, and a check every 60 s),\n"
	"runs /opt/agentd/bin/agent-install update --from-request, detached, one run\n"
	"at a time and at most one per 10 s.  After a run that changed the installed\n"
	"release it re-executes the new /opt/agentd/bin/agent-install watch.\n"
	"  --once     one check, one run if a request exists\n"
	"  --root DIR treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"\n"
	"exit status: 0 stopped by SIGTERM or SIGINT (or --once without a request),\n"
	"1 failure, 2 usage; with --once, the update's exit status\n";

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Sleep up to seconds, returning early on a stop signal. */
static void nap(int seconds)
{
	struct timespec ts = {0, 100000000};
	int i;

	for (i = 0; i < seconds * 10 && !g_stop; i++)
		(void)nanosleep(&ts, NULL);
}

/* REQUESTED_AT of the request file ("" when missing or malformed). */
static void requested_at(const char *path, char out[64])
{
	struct ureq *r = malloc(sizeof(*r));
	bool present = false;

	out[0] = '\0';
	if (r == NULL)
		return;
	if (ureq_read(path, r, &present, NULL) == 0 && present)
		memcpy(out, r->requested_at, 64);
	free(r);
}

static void installed_fp(const struct layout *l, char out[65])
{
	struct installed *in = malloc(sizeof(*in));

	out[0] = '\0';
	if (in == NULL)
		return;
	if (installed_read(l, in, NULL) == 0)
		memcpy(out, in->fingerprint, 65);
	free(in);
}

/* Run prog update --from-request [--root DIR] in its own session and wait.
 * The exit status, 128+signal, or -1 when it could not start; *stopped when
 * a stop signal came while waiting (the child goes on, §15.5). */
static int run_update(const char *prog, const struct layout *l, bool *stopped)
{
	const char *argv[6] = {prog, "update", "--from-request", NULL, NULL, NULL};
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int st, r;

	*stopped = false;
	if (!layout_is_host(l)) {
		argv[3] = "--root";
		argv[4] = layout_root(l);
	}
	if (posix_spawnattr_init(&at) != 0)
		return -1;
	sigemptyset(&none);
	(void)posix_spawnattr_setsigmask(&at, &none);
	(void)posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	r = posix_spawn(&pid, prog, NULL, &at, (char *const *)argv, environ);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		cli_error("cannot run %s update --from-request: %s", prog, strerror(r));
		return -1;
	}
	/* poll the child every 100 ms: a stop signal that arrives at any
	 * moment (even before a blocking wait could start) is seen at once */
	for (;;) {
		struct timespec ts = {0, 100000000};
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (g_stop) {
			*stopped = true;
			return 0;
		}
		(void)nanosleep(&ts, NULL);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option lo[] = {
		{"once", no_argument, NULL, 'o'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *root = NULL;
	char req[PATH_MAX], dir[PATH_MAX], prog[PATH_MAX], last_req[64] = "", cur_req[64];
	char fp_before[65], fp_after[65];
	const char *base;
	struct settings set;
	struct sigaction sa;
	struct layout *l;
	struct stat st;
	int64_t next_run = 0;
	bool once = false;
	int c, ifd = -1, rc = 1, n;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			once = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return cli_flush();
		default:
			return cli_usage("watch", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("watch", "unexpected argument '%s'", argv[optind]);
	l = cli_layout(root);
	if (l == NULL)
		return 2;
	if (stat(layout_path(l, LAYOUT_INSTALLED), &st) != 0) {
		cli_error("nothing installed under %s; use agent-install install", layout_root(l));
		goto out;
	}
	cli_settings(l, &set);
	if (cli_host_path(l, set.request_file, req, sizeof(req)) != 0)
		goto out;
	n = snprintf(prog, sizeof(prog), "%s/agent-install", layout_path(l, LAYOUT_BIN));
	if (n < 0 || (size_t)n >= sizeof(prog)) {
		cli_error("path too long under %s", layout_root(l));
		goto out;
	}
	memcpy(dir, req, sizeof(dir));
	base = strrchr(req, '/');
	dir[base - req > 0 ? base - req : 1] = '\0';
	base++;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if (!once) {
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ifd < 0 ||
		    inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
			cli_warn("inotify on %s unavailable (%s); checking every %d s", dir,
				 strerror(errno), WATCH_RESCAN_S);
			if (ifd >= 0)
				close(ifd);
			ifd = -1;
		}
		cli_info("watching %s", req);
	}
	for (;;) {
		int64_t now = mono_s(), wait_s = WATCH_RESCAN_S;
		bool exists = lstat(req, &st) == 0;

		if (g_stop) {
			rc = 0;
			break;
		}
		if (exists && now >= next_run) {
			bool stopped = false;
			int code;

			nap(WATCH_SETTLE_S);
			if (g_stop) {
				rc = 0;
				break;
			}
			requested_at(req, last_req);
			installed_fp(l, fp_before);
			code = run_update(prog, l, &stopped);
			if (stopped) {
				cli_info("stopping; the running update goes on detached");
				rc = 0;
				break;
			}
			cli_info("update --from-request exited with status %d", code);
			if (once) {
				rc = code < 0 ? 1 : code;
				break;
			}
			now = mono_s();
			next_run = now + WATCH_MIN_GAP_S;
			installed_fp(l, fp_after);
			if (strcmp(fp_before, fp_after) != 0 && fp_after[0] != '\0') {
				/* §15.5: the next update uses the new code */
				const char *nargv[5] = {prog, "watch", NULL, NULL, NULL};
				if (!layout_is_host(l)) {
					nargv[2] = "--root";
					nargv[3] = layout_root(l);
				}
				cli_info("installed release changed; re-executing %s watch", prog);
				if (ifd >= 0)
					close(ifd);
				execv(prog, (char *const *)nargv);
				cli_error("cannot re-execute %s: %s", prog, strerror(errno));
				ifd = -1;
			}
			requested_at(req, cur_req);
			if (lstat(req, &st) == 0 && cur_req[0] != '\0' &&
			    strcmp(cur_req, last_req) == 0)
				next_run = now + WATCH_RETRY_S;
			continue;
		}
		if (once) {
			cli_info("no update request");
			rc = 0;
			break;
		}
		if (exists && next_run - now < wait_s)
			wait_s = next_run - now;
		if (ifd >= 0) {
			struct pollfd p = {ifd, POLLIN, 0};
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			struct timespec ts = {(time_t)wait_s, 0};
			sigset_t stop, old;
			int pr = 0;
			/* no lost wakeup: a stop signal after the g_stop check stays
			 * pending until ppoll unblocks it, which then returns EINTR */
			sigemptyset(&stop);
			sigaddset(&stop, SIGTERM);
			sigaddset(&stop, SIGINT);
			(void)sigprocmask(SIG_BLOCK, &stop, &old);
			if (!g_stop)
				pr = ppoll(&p, 1, &ts, &old);
			(void)sigprocmask(SIG_SETMASK, &old, NULL);
			if (pr > 0) {
				/* drain; any event in the directory (or IN_Q_OVERFLOW)
				 * just makes the loop look at the file again */
				while (read(ifd, buf, sizeof(buf)) > 0)
					;
			}
		} else {
			nap((int)wait_s);
		}
	}
out:
	if (ifd >= 0)
		close(ifd);
	layout_free(l);
	return rc;
}
