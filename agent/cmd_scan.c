/*
 * agentd scan: the drop-in replacement of the port-scan adapter (spec
 * scan.md).  Reads the invocation on stdin, runs the pre-flight checks of
 * §2.3 in order, then the single-NIC modes (§12) or the multi-NIC parent
 * (§14), and chooses the exit code (§2.6).
 */
#include "cmd.h"
#include "engine.h"
#include "engine_zmap.h"
#include "events.h"
#include "fsutil.h"
#include "ports.h"
#include "runner.h"
#include "scan.h"
#include "scan_dyn.h"
#include "scan_env.h"
#include "scan_inv.h"
#include "shard.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void usage(FILE *f)
{
	fputs("usage: agentd scan [--root DIR]\n"
	      "\n"
	      "Reads one JSON invocation on stdin, runs the scanner (one process per\n"
	      "interface of ANYSCAN_SCANNER_INTERFACES) and prints the endpoints found,\n"
	      "one per line.  Metric lines and scanner output go to stderr.\n"
	      "\n"
	      "exit status: 0 ok; 1 invalid input, environment or missing scanner;\n"
	      "2 usage, invalid ports, zmap refusal or invalid rate policy; the scanner's\n"
	      "(or failed shard's) exit code; 128+N when killed by / stopped on signal N\n",
	      f);
}

static void say(const char *line)
{
	(void)fsutil_write_all(2, line, strlen(line));
	(void)fsutil_write_all(2, "\n", 1);
}

static void warn_to_stderr(void *ctx, const char *line)
{
	(void)ctx;
	say(line);
}

/* stdin, at most SCAN_INV_MAX + 1 bytes (one more tells "too large") */
static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t r;
		if (n == cap) {
			char *nb;
			if (cap > SCAN_INV_MAX)
				break;
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		r = read(0, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n > SCAN_INV_MAX)
			break;
	}
	*len = n;
	return buf;
}

static char *self_dir(void)
{
	char *real = realpath("/proc/self/exe", NULL), *d, *r;

	if (real == NULL)
		return NULL;
	d = dirname(real);
	r = strdup(d);
	free(real);
	return r;
}

/* §2.7: <out> for this process */
static char *make_out(const struct scan_env *env, const struct scan_inv *inv, struct errbuf *e)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	const char *dir = env->tmpdir ? env->tmpdir : "/tmp";
	char path[PATH_MAX];
	int fd, i, tries;

	if (inv->output_path != NULL) {
		char *copy = strdup(inv->output_path), *parent;
		if (copy == NULL) {
			err_set(e, "agentd scan: out of memory");
			return NULL;
		}
		parent = dirname(copy);
		if (fsutil_mkdir_p(parent, 0755, NULL) != 0) {
			err_sys(e, errno, "agentd scan: cannot create the output directory %s",
				parent);
			free(copy);
			return NULL;
		}
		free(copy);
		fd = open(inv->output_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			err_sys(e, errno, "agentd scan: cannot create the output file %s",
				inv->output_path);
			return NULL;
		}
		close(fd);
		return strdup(inv->output_path);
	}
	for (tries = 0; tries < 100; tries++) {
		unsigned char rnd[8];
		char name[40];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			err_sys(e, errno, "agentd scan: cannot create a temp file: getrandom");
			return NULL;
		}
		for (i = 0; i < 8; i++)
			name[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		name[8] = '\0';
		if (snprintf(path, sizeof(path), "%s/exposure-vulnscanner-%s.out", dir, name) >=
		    (int)sizeof(path)) {
			err_set(e, "agentd scan: cannot create a temp file in %s: path too long",
				dir);
			return NULL;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return strdup(path);
		}
		if (errno != EEXIST) {
			err_sys(e, errno, "agentd scan: cannot create a temp file in %s", dir);
			return NULL;
		}
	}
	err_set(e, "agentd scan: cannot create a temp file in %s: too many collisions", dir);
	return NULL;
}

/*
 * Hold a shared flock on <root>/run/agentd/scan.lock for the whole scan, so
 * `agentd run`'s channel poller waits for idle workers before it requests an
 * update (bundle-install-update.md §15.2).  Hosts without /run/agentd (agentd
 * not installed as a service) scan without it.  Returns the fd or -1.
 */
static int scan_lock_take(const char *root)
{
	char path[PATH_MAX];
	int n, fd;

	n = snprintf(path, sizeof(path), "%s/run/agentd/scan.lock",
		     root != NULL && strcmp(root, "/") != 0 ? root : "");
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_SH) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

int cmd_scan(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	const char *root = NULL;
	struct scan_inv inv;
	struct scan_env env;
	struct scan_ctx ctx;
	struct ports ports;
	struct errbuf e;
	char *text = NULL, *scanner = NULL, *sdir = NULL, *out = NULL, *self_exe = NULL;
	struct scan_dyn_prep prep;
	int have_prep = 0;
	size_t len = 0;
	int status = 1, i, multi, lock_fd = -1;
	enum scan_engine_kind kind;

	memset(&inv, 0, sizeof(inv));
	memset(&env, 0, sizeof(env));
	err_clear(&e);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
			root = argv[++i];
			continue;
		}
		usage(stderr);
		return 2;
	}

	/* a SIGINT/SIGTERM during the pre-flight is recorded, then honoured */
	if (runner_signals_init(&e) != 0) {
		say(e.msg);
		return 1;
	}
	/* §2.3 row 1-3 */
	text = read_stdin(&len);
	if (text == NULL) {
		say("agentd scan: cannot read stdin: out of memory");
		return 1;
	}
	if (scan_inv_parse(text, len, &inv, &e) != SCAN_INV_OK) {
		say(e.msg);
		goto out;
	}
	/* rows 4-5 */
	if (scan_env_parse(&env, envp, sysconf(_SC_NPROCESSORS_ONLN), &e) != 0) {
		say(e.msg);
		goto out;
	}
	if (root == NULL)
		root = env.root;
	lock_fd = scan_lock_take(root);
	multi = env.n_interfaces >= 2;
	if (multi && scan_env_check_multi(envp, &env.max_concurrent, &e) != 0) {
		say(e.msg);
		goto out;
	}
	/* row 6 */
	if (ports_validate(inv.ports, strlen(inv.ports), &ports, &e) != 0) {
		char line[ERRBUF_SIZE + 32];
		/* cannot truncate: line holds the whole errbuf plus the prefix */
		(void)snprintf(line, sizeof(line), "invalid ports: %s", e.msg);
		say(line);
		status = 2;
		goto out;
	}
	/* row 7 */
	sdir = self_dir();
	if (engine_resolve_binary(&env, sdir, &scanner, &kind, &e) != 0) {
		say(e.msg);
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.env = &env;
	ctx.inv = &inv;
	ctx.scanner = scanner;
	ctx.engine = kind;
	ctx.warn = warn_to_stderr;
	/* row 8 */
	if (kind == SCAN_ENGINE_ZMAP && engine_zmap_check(&ctx, &e) != 0) {
		say(e.msg);
		status = 2;
		goto out;
	}
	/* row 9, and the controller's warnings */
	have_prep = 1;
	if (scan_dyn_preflight(&ctx, envp, multi, &prep, 2, &e) != 0) {
		say(e.msg);
		status = 2;
		goto out;
	}
	if (runner_stop_count() > 0) {
		status = 128 + runner_stop_signal();
		goto out;
	}
	out = make_out(&env, &inv, &e);
	if (out == NULL) {
		say(e.msg);
		goto out;
	}
	ctx.out = out;

	if (multi) {
		struct shard_config sc;
		struct events_sink sink;

		self_exe = realpath("/proc/self/exe", NULL);
		events_sink_fd(&sink, 2);
		memset(&sc, 0, sizeof(sc));
		sc.ctx = &ctx;
		sc.envp = envp;
		sc.root = root;
		sc.grace = env.grace;
		sc.inst = scan_dyn_instance(&prep, envp);
		sc.events = &sink;
		sc.err_fd = 2;
		sc.self_exe = self_exe ? self_exe : "/proc/self/exe";
		status = shard_main(&sc, 1);
		scan_cleanup_files(out, 0);
		goto out;
	}

	if (env.dynamic)
		status = scan_dyn_main(&ctx, &prep, root, 1, 2);
	else if (kind == SCAN_ENGINE_ZMAP)
		status = engine_zmap_static_main(&ctx, 1, 2);
	else {
		struct scan_result res;
		(void)scan_emit_engine(&ctx, "static", 2);
		if (scan_static_anyscan(&ctx, env.grace, &res, &e) != 0) {
			say(e.msg);
			status = 1;
		} else if (res.stop_signal != 0) {
			status = 128 + res.stop_signal;
		} else {
			status = scan_postprocess(&ctx, &res, env.shard_mode, 1, 2);
		}
		scan_result_free(&res);
	}
	scan_cleanup_files(out, env.shard_mode);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	if (have_prep)
		scan_dyn_prep_free(&prep);
	free(self_exe);
	free(out);
	free(text);
	free(scanner);
	free(sdir);
	scan_inv_free(&inv);
	scan_env_free(&env);
	return status;
}
