/*
 * A stub scanner for the `agentd scan` tests.  It sends no packets.  Driven
 * by the environment, it records its argv, selected environment variables,
 * the signals it receives (with a monotonic timestamp) and its pid under
 * $STUB_DIR, writes the configured endpoints that fall inside its
 * --target-range to --output-file, prints progress lines, sleeps, and exits
 * with a chosen code or signal.  Invoked as "zmap" (argv[0]'s base name) it
 * plays zmap 2.1.1: -p/-r/-o/--status-updates-file/-w.
 *
 *   STUB_DIR           where calls.log, env.log, signals.log, pids.log go (.)
 *   STUB_ENDPOINTS     comma list of host[:port] results (kept if in range)
 *   STUB_STDOUT        text for stdout; STUB_STDERR text for stderr ("\n" escapes)
 *   STUB_PROGRESS      sent count: print an anyscan progress line to stderr
 *   STUB_SLEEP         seconds to sleep (decimal) before exiting
 *   STUB_EXIT          exit code; STUB_SIGNAL: die by this signal number
 *   STUB_TRAP_INT, STUB_TRAP_TERM  "ignore" or "exit" (else default action)
 *   STUB_PERSIST_SECONDS  on a trapped "exit" signal: work this long, then
 *                      write $STUB_DIR/persisted.<pid>
 *   STUB_FAIL_TARGET   when --target-range equals it: STUB_FAIL_EXIT,
 *                      STUB_FAIL_STDERR and STUB_FAIL_SLEEP apply instead
 *   STUB_RECORD_ENV    comma list of variables to record in env.log
 *   STUB_SLEEP_SEQ     comma list: sleep of the 1st, 2nd, ... call (by the
 *                      lines already in calls.log); the last value repeats
 *   STUB_RESUME_SLEEP  sleep instead of STUB_SLEEP when --resume is given
 *                      (later dynamic windows); ck.log records whether the
 *                      --checkpoint-file existed at start
 *   zmap mode: STUB_OPEN (comma list of open IPs), STUB_INELIGIBLE=1 (every
 *                      run), STUB_INELIGIBLE_RUNS=N (the first N calls),
 *                      STUB_ABORT_RUNS=N (the first N calls write their
 *                      results, then abort as zmap 2.1.1 does on its
 *                      constraint assertion),
 *                      STUB_STATUS_FORMAT=2.1.1|new
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "num.h"
#include "scan_text.h"
#include "target.h"

static int sig_fd = -1;
static volatile sig_atomic_t got_exit_signal;
static const char *trap_int, *trap_term;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t utoa(unsigned long long v, char *out)
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

static void on_signal(int sig)
{
	char line[96];
	size_t n = 0;
	struct timespec ts;
	const char *name = sig == SIGINT ? "INT" : sig == SIGTERM ? "TERM" : "OTHER";
	const char *mode = sig == SIGINT ? trap_int : trap_term;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n += utoa((unsigned long long)getpid(), line + n);
	line[n++] = ' ';
	memcpy(line + n, name, strlen(name));
	n += strlen(name);
	line[n++] = ' ';
	n += utoa((unsigned long long)ts.tv_sec * 1000ull +
			  (unsigned long long)ts.tv_nsec / 1000000ull,
		  line + n);
	line[n++] = '\n';
	if (sig_fd >= 0)
		(void)!write(sig_fd, line, n);
	if (mode != NULL && strcmp(mode, "ignore") == 0)
		return;
	if (mode != NULL && strcmp(mode, "exit") == 0) {
		got_exit_signal = sig;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v != NULL ? v : def;
}

static double env_double(const char *name, double def)
{
	const char *v = getenv(name);
	double d;
	if (v == NULL || num_parse_double(v, strlen(v), &d) != 0)
		return def;
	return d;
}

static void append_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	int fd;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	close(fd);
}

/* print s with "\n" escapes expanded */
static void print_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			fputc('\n', f);
			s++;
		} else {
			fputc(*s, f);
		}
	}
	fflush(f);
}

/* sleep until the time passes or a trapped "exit" signal arrives */
static void stub_sleep(double seconds)
{
	double until = mono() + seconds;
	while (!got_exit_signal && mono() < until) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* the k-th value (0-based) of a comma list; the last one repeats */
static double seq_value(const char *list, int k)
{
	double v = 0;
	for (;;) {
		const char *c = strchr(list, ',');
		size_t n = c ? (size_t)(c - list) : strlen(list);
		if (num_parse_double(list, n, &v) != 0)
			v = 0;
		if (k-- <= 0 || c == NULL)
			return v;
		list = c + 1;
	}
}

static const char *arg_after(int argc, char **argv, const char *flag)
{
	int i;
	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return argv[i + 1];
	return NULL;
}

static int in_range(const char *host_port, uint32_t s, uint32_t e)
{
	const char *colon = strchr(host_port, ':');
	size_t len = colon ? (size_t)(colon - host_port) : strlen(host_port);
	uint32_t ip;
	return target_parse_ipv4(host_port, len, &ip) == 0 && ip >= s && ip <= e;
}

static int finish(int code)
{
	const char *sig = getenv("STUB_SIGNAL");
	if (sig != NULL && *sig != '\0') {
		int64_t n;
		if (num_parse_i64(sig, strlen(sig), &n) == 0) {
			signal((int)n, SIG_DFL);
			raise((int)n);
		}
	}
	return code;
}

static int trapped_exit(const char *dir)
{
	double persist = env_double("STUB_PERSIST_SECONDS", 0);
	char name[64];
	if (persist > 0) {
		double until = mono() + persist;
		while (mono() < until) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	(void)snprintf(name, sizeof(name), "persisted.%ld", (long)getpid());
	append_file(dir, name, "persisted\n");
	return 128 + got_exit_signal;
}

static int zmap_main(int argc, char **argv, const char *dir, int earlier)
{
	const char *out = arg_after(argc, argv, "-o");
	const char *status = arg_after(argc, argv, "--status-updates-file");
	const char *wl = arg_after(argc, argv, "-w");
	const char *port = arg_after(argc, argv, "-p");
	const char *rate_s = arg_after(argc, argv, "-r");
	const char *open_ips = env_or("STUB_OPEN", "");
	struct stat st;
	char line[256], buf[8192];
	FILE *f, *o;
	uint64_t addrs = 0, sent;
	double rate = 10000, secs;
	int64_t r;

	if (out == NULL || status == NULL || wl == NULL || port == NULL)
		return 2;
	/* ZI-07: agentd pre-creates the files, group-writable */
	if (stat(out, &st) != 0 || !(st.st_mode & S_IWGRP) || stat(status, &st) != 0 ||
	    !(st.st_mode & S_IWGRP)) {
		fprintf(stderr, "could not open output file (%s)\n", status);
		append_file(dir, "calls.log", "zmap-files-missing\n");
		return 1;
	}
	f = fopen(wl, "r");
	if (f == NULL)
		return 2;
	o = fopen(out, "a");
	{
		struct scan_buf tl = {NULL, 0, 0};
		(void)scan_buf_appends(&tl, "targets:");
		while (fgets(line, sizeof(line), f) != NULL) {
			uint32_t s, e;
			size_t l = strlen(line);
			while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
				line[--l] = '\0';
			(void)scan_buf_appendf(&tl, " %s", line);
			if (target_parse_range(line, &s, &e) != 0)
				continue;
			addrs += (uint64_t)e - s + 1;
			/* open IPs inside this block */
			{
				const char *p = open_ips;
				while (*p != '\0') {
					const char *c = strchr(p, ',');
					size_t n = c ? (size_t)(c - p) : strlen(p);
					uint32_t ip;
					if (target_parse_ipv4(p, n, &ip) == 0 && ip >= s &&
					    ip <= e && o != NULL)
						fprintf(o, "%.*s\n", (int)n, p);
					p += n + (c ? 1 : 0);
				}
			}
		}
		(void)scan_buf_appends(&tl, "\n");
		append_file(dir, "calls.log", tl.data);
		scan_buf_free(&tl);
	}
	fclose(f);
	if (o != NULL)
		fclose(o);
	if ((int)env_double("STUB_ABORT_RUNS", 0) > earlier) {
		fprintf(stderr, "zmap: lib/constraint.c:253: constraint_lookup_index: Assertion "
				"`index < con->root->count' failed.\n");
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	if ((getenv("STUB_INELIGIBLE") != NULL && strcmp(getenv("STUB_INELIGIBLE"), "1") == 0) ||
	    (int)env_double("STUB_INELIGIBLE_RUNS", 0) > earlier) {
		fprintf(stderr, "zmap: no addresses are eligible to be scanned in the current "
				"configuration\n");
		return 1;
	}
	if (rate_s != NULL && num_parse_i64(rate_s, strlen(rate_s), &r) == 0 && r > 0)
		rate = (double)r;
	secs = (double)addrs / rate;
	if (secs > env_double("STUB_SLEEP_MAX", 3600))
		secs = env_double("STUB_SLEEP_MAX", 3600);
	if (getenv("STUB_SLEEP_SEQ") != NULL)
		stub_sleep(secs + seq_value(getenv("STUB_SLEEP_SEQ"), earlier));
	else
		stub_sleep(secs + env_double("STUB_SLEEP", 0));
	sent = addrs;
	f = fopen(status, "w");
	if (f != NULL) {
		if (strcmp(env_or("STUB_STATUS_FORMAT", "2.1.1"), "new") == 0)
			fputs("real-time,time-elapsed,time-remaining,percent-complete,hit-rate,"
			      "active-"
			      "send-threads,sent-total,sent-last-one-sec,sent-avg-per-sec,recv-"
			      "success-"
			      "total,recv-success-last-one-sec,recv-success-avg-per-sec,recv-total,"
			      "recv-"
			      "total-last-one-sec,recv-total-avg-per-sec,pcap-drop-total,drop-last-"
			      "one-"
			      "sec,drop-avg-per-sec,sendto-fail-total,sendto-fail-last-one-sec,"
			      "sendto-"
			      "fail-avg-per-sec\n",
			      f);
		else
			fputs("real-time,time-elapsed,time-remaining,percent-complete,active-send-"
			      "threads,sent-total,sent-last-one-sec,sent-avg-per-sec,recv-success-"
			      "total,"
			      "recv-success-last-one-sec,recv-success-avg-per-sec,recv-total,recv-"
			      "total-"
			      "last-one-sec,recv-total-avg-per-sec,pcap-drop-total,drop-last-one-"
			      "sec,"
			      "drop-avg-per-sec,sendto-fail-total,sendto-fail-last-one-sec,sendto-"
			      "fail-"
			      "avg-per-sec\n",
			      f);
		if (strcmp(env_or("STUB_STATUS_FORMAT", "2.1.1"), "new") == 0)
			(void)snprintf(
				buf, sizeof(buf),
				"x,1,0,100.0,0.0,0,%llu,%llu,%llu,0,0,0,0,0,0,0,0,0,0,,0,0\n",
				(unsigned long long)sent, (unsigned long long)sent,
				(unsigned long long)(sent ? sent : 0));
		else
			(void)snprintf(buf, sizeof(buf),
				       "x,1,0,100.0,0,%llu,%llu,%llu,0,0,0,0,0,0,0,0,0,0,0,0\n",
				       (unsigned long long)sent, (unsigned long long)sent,
				       (unsigned long long)(sent ? sent : 0));
		fputs(buf, f);
		fclose(f);
	}
	if (got_exit_signal)
		return trapped_exit(dir);
	{
		int64_t code = 0;
		const char *ex = getenv("STUB_EXIT");
		if (ex != NULL && num_parse_i64(ex, strlen(ex), &code) != 0)
			code = 0;
		return finish((int)code);
	}
}

int main(int argc, char **argv)
{
	const char *dir = env_or("STUB_DIR", ".");
	const char *base = strrchr(argv[0], '/');
	const char *target = arg_after(argc, argv, "--target-range");
	const char *fail = getenv("STUB_FAIL_TARGET");
	int failing = fail != NULL && target != NULL && strcmp(fail, target) == 0;
	char path[4096], line[16384];
	size_t o = 0;
	int i;
	int64_t code = 0;
	const char *s;
	int earlier = 0;

	base = base ? base + 1 : argv[0];
	trap_int = getenv("STUB_TRAP_INT");
	trap_term = getenv("STUB_TRAP_TERM");
	if (snprintf(path, sizeof(path), "%s/signals.log", dir) < (int)sizeof(path))
		sig_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	/* like sh: a signal ignored on entry cannot be trapped (scan.md §11.1) */
	{
		struct sigaction old;
		if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			append_file(dir, "signals.log", "0 INT-IGNORED-ON-ENTRY 0\n");
		else
			signal(SIGINT, on_signal);
		if (sigaction(SIGTERM, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			append_file(dir, "signals.log", "0 TERM-IGNORED-ON-ENTRY 0\n");
		else
			signal(SIGTERM, on_signal);
	}

	/* the number of earlier calls (STUB_SLEEP_SEQ) */
	{
		char cp[4096];
		FILE *cf;
		int ch;
		if (snprintf(cp, sizeof(cp), "%s/calls.log", dir) < (int)sizeof(cp) &&
		    (cf = fopen(cp, "r")) != NULL) {
			int at_start = 1;
			/* argv lines start with the (absolute) program path */
			while ((ch = fgetc(cf)) != EOF) {
				earlier += at_start && ch == '/';
				at_start = ch == '\n';
			}
			fclose(cf);
		}
	}
	/* calls.log: argv joined by spaces */
	for (i = 0; i < argc; i++) {
		int n = snprintf(line + o, sizeof(line) - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - o)
			break;
		o += (size_t)n;
	}
	if (o + 2 < sizeof(line)) {
		line[o++] = '\n';
		line[o] = '\0';
	}
	append_file(dir, "calls.log", line);
	(void)snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	append_file(dir, "pids.log", line);
	if ((s = getenv("STUB_RECORD_ENV")) != NULL) {
		while (*s != '\0') {
			const char *c = strchr(s, ',');
			size_t n = c ? (size_t)(c - s) : strlen(s);
			char name[256];
			if (n < sizeof(name)) {
				memcpy(name, s, n);
				name[n] = '\0';
				(void)snprintf(line, sizeof(line), "%ld %s=%s\n", (long)getpid(),
					       name, getenv(name) ? getenv(name) : "<unset>");
				append_file(dir, "env.log", line);
			}
			s += n + (c ? 1 : 0);
		}
	}
	if (strcmp(base, "zmap") == 0)
		return zmap_main(argc, argv, dir, earlier);

	/* endpoints inside --target-range */
	{
		const char *outp = arg_after(argc, argv, "--output-file");
		const char *eps = getenv("STUB_ENDPOINTS");
		uint32_t rs = 0, re = 0xffffffffu;
		if (target != NULL && target_parse_range(target, &rs, &re) != 0) {
			rs = 0;
			re = 0xffffffffu;
		}
		if (outp != NULL && eps != NULL) {
			FILE *f = fopen(outp, "a");
			while (f != NULL && *eps != '\0') {
				const char *c = strchr(eps, ',');
				size_t n = c ? (size_t)(c - eps) : strlen(eps);
				char ep[64];
				if (n < sizeof(ep)) {
					memcpy(ep, eps, n);
					ep[n] = '\0';
					if (in_range(ep, rs, re))
						fprintf(f, "%s\n", ep);
				}
				eps += n + (c ? 1 : 0);
			}
			if (f != NULL)
				fclose(f);
		}
	}
	if ((s = getenv("STUB_STDOUT")) != NULL)
		print_escaped(stdout, s);
	if ((s = getenv("STUB_PROGRESS")) != NULL) {
		fprintf(stderr,
			"0:01 50%%; send: %s 1.00 Kp/s (1.00 Kp/s avg); recv: 1 1.00 p/s; "
			"hits: 0.1%%\n",
			s);
		fflush(stderr);
	}
	s = getenv(failing ? "STUB_FAIL_STDERR" : "STUB_STDERR");
	if (s != NULL)
		print_escaped(stderr, s);
	{
		const char *ck = arg_after(argc, argv, "--checkpoint-file");
		int resume = 0;
		for (i = 1; i < argc; i++)
			resume |= strcmp(argv[i], "--resume") == 0;
		if (ck != NULL) {
			(void)snprintf(line, sizeof(line), "%s exists=%d resume=%d\n", ck,
				       access(ck, F_OK) == 0, resume);
			append_file(dir, "ck.log", line);
		}
		if (failing)
			stub_sleep(env_double("STUB_FAIL_SLEEP", 0));
		else if ((s = getenv("STUB_SLEEP_SEQ")) != NULL)
			stub_sleep(seq_value(s, earlier));
		else if (resume && getenv("STUB_RESUME_SLEEP") != NULL)
			stub_sleep(env_double("STUB_RESUME_SLEEP", 0));
		else
			stub_sleep(env_double("STUB_SLEEP", 0));
	}
	if (got_exit_signal)
		return trapped_exit(dir);
	s = getenv(failing ? "STUB_FAIL_EXIT" : "STUB_EXIT");
	if (s != NULL && num_parse_i64(s, strlen(s), &code) != 0)
		code = 0;
	return finish((int)code);
}
