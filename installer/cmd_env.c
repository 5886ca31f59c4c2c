/*
 * agent-install env: read and edit runtime.env (spec bundle-install-update.md
 * §8.7).  `env defaults` belongs to the installer issue and is not here.
 */
#include "cmd.h"

#include "bounds.h"
#include "buf.h"
#include "envfile.h"
#include "err.h"
#include "fsutil.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "agent-install"

static const char env_usage[] =
	"usage: agent-install env get FILE KEY\n"
	"       agent-install env upsert FILE KEY=VALUE... [--if-absent] "
	"[--quiet]\n"
	"       agent-install env remove FILE KEY... [--quiet]\n"
	"       agent-install env defaults FILE [--host-probes] [--dry-run]\n"
	"       agent-install env exec FILE -- CMD [ARG]...\n"
	"\n"
	"Reads and edits runtime.env (KEY=value lines, read literally, never run "
	"as shell).\n"
	"  get      print the value of the first KEY line\n"
	"  upsert   replace every KEY line (append when missing); --if-absent only "
	"when the\n"
	"           key is absent or empty; one locked, atomic write for all "
	"pairs\n"
	"  remove   drop every KEY line\n"
	"  defaults add the installer's computed defaults that are absent or empty\n"
	"  exec     set the file's keys that are not already in the environment, "
	"then run CMD\n"
	"  --quiet  no summary on stdout\n"
	"\n"
	"exit status: get: 0 found (even empty), 1 absent or unreadable, 2 usage;\n"
	"upsert, remove: 0 ok (also when nothing changed), 1 I/O or lock failure,\n"
	"2 usage or invalid key/value; exec: CMD's status, 1 if CMD cannot run, 2 "
	"usage\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try agent-install env --help)\n", stderr);
	return 2;
}

static int flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": error: cannot write to stdout: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- get
 * ---------------------------------------------------------------------- */

static int env_get(int argc, char **argv)
{
	struct errbuf e;
	const char *file, *key, *val;
	size_t len, vlen;
	char *data;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(env_usage, stdout);
		return flush_stdout();
	}
	if (argc != 3)
		return usage_error("env get takes FILE KEY");
	file = argv[1];
	key = argv[2];
	if (envfile_check_key(key, strlen(key), &e) < 0) {
		fprintf(stderr, PROG ": error: cannot get from %s: %s\n", file, e.msg);
		return 2;
	}
	if (fsutil_read_file(file, BOUNDS_ENVFILE_MAX, 0, &data, &len, &e) < 0) {
		fprintf(stderr, PROG ": error: cannot read %s: %s\n", file, e.msg);
		return 1;
	}
	if (!envfile_get(data, len, key, strlen(key), &val, &vlen)) {
		free(data);
		return 1;
	}
	fwrite(val, 1, vlen, stdout);
	putchar('\n');
	free(data);
	return flush_stdout();
}

/* ---- upsert / remove
 * ---------------------------------------------------------- */

static int env_edit(int argc, char **argv, enum envfile_op op)
{
	const char *verb = op == ENVFILE_UPSERT ? "upsert" : "remove";
	struct envfile_update_opts uo;
	struct envfile_edit *edits = NULL;
	struct envfile_outcome *oc = NULL;
	bool if_absent = false, quiet = false, opts_done = false;
	const char *file = NULL;
	struct buf *summary = NULL;
	struct errbuf e;
	struct stat st;
	size_t n = 0, i;
	int a, rc = 1;

	edits = calloc((size_t)argc, sizeof(*edits));
	if (edits == NULL) {
		fprintf(stderr, PROG ": error: cannot %s: out of memory\n", verb);
		return 1;
	}
	for (a = 1; a < argc; a++) {
		char *arg = argv[a];

		if (!opts_done && strcmp(arg, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (!opts_done && strncmp(arg, "--", 2) == 0) {
			if (strcmp(arg, "--help") == 0) {
				fputs(env_usage, stdout);
				rc = flush_stdout();
				goto out;
			} else if (strcmp(arg, "--quiet") == 0) {
				quiet = true;
			} else if (op == ENVFILE_UPSERT && strcmp(arg, "--if-absent") == 0) {
				if_absent = true;
			} else {
				rc = usage_error("unknown option '%s'", arg);
				goto out;
			}
			continue;
		}
		if (file == NULL) {
			file = arg;
			continue;
		}
		edits[n].op = op;
		edits[n].key = arg;
		if (op == ENVFILE_UPSERT) {
			char *eq = strchr(arg, '=');

			if (eq == NULL) {
				rc = usage_error("expected KEY=VALUE, got '%s'", arg);
				goto out;
			}
			*eq = '\0';
			edits[n].value = eq + 1;
			edits[n].flags = if_absent ? ENVFILE_E_IF_ABSENT : 0;
		}
		n++;
	}
	if (file == NULL || n == 0) {
		rc = usage_error("env %s takes FILE %s", verb,
				 op == ENVFILE_UPSERT ? "KEY=VALUE..." : "KEY...");
		goto out;
	}
	/* --if-absent applies to every pair wherever it was given */
	for (i = 0; i < n; i++)
		if (if_absent)
			edits[i].flags |= ENVFILE_E_IF_ABSENT;
	if (envfile_check_edits(edits, n, &e) < 0) {
		fprintf(stderr, PROG ": error: cannot %s %s: %s\n", verb, file, e.msg);
		rc = 2;
		goto out;
	}
	for (i = 0; op == ENVFILE_UPSERT && i < n; i++)
		if (envfile_value_warns(edits[i].value, strlen(edits[i].value)))
			fprintf(stderr,
				PROG ": warning: %s: value may be read differently by systemd's "
				     "EnvironmentFile= than by agentd\n",
				edits[i].key);
	/* §8.3: removing from a missing file is a no-op (no lock file either) */
	if (op == ENVFILE_REMOVE && stat(file, &st) < 0 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	oc = calloc(n, sizeof(*oc));
	summary = buf_new(BOUNDS_ENVFILE_MAX);
	if (oc == NULL || summary == NULL) {
		fprintf(stderr, PROG ": error: cannot %s %s: out of memory\n", verb, file);
		goto out;
	}
	envfile_update_opts_init(&uo);
	/* §8.4: a new file is root:agentd when run as root and the group exists */
	if (geteuid() == 0) {
		struct group *g = getgrnam("agentd");

		if (g != NULL) {
			uo.new_uid = 0;
			uo.new_gid = g->gr_gid;
		}
	}
	if (envfile_update(file, edits, n, &uo, oc, NULL, &e) < 0) {
		rc = 1; /* the batch was validated above: what is left is I/O or the lock */
		fprintf(stderr, PROG ": error: cannot %s %s: %s\n", verb, file, e.msg);
		goto out;
	}
	rc = 0;
	if (!quiet) {
		if (envfile_summary(edits, oc, n, false, summary, &e) < 0) {
			fprintf(stderr, PROG ": error: cannot print the summary: %s\n", e.msg);
			rc = 1;
			goto out;
		}
		fwrite(buf_data(summary), 1, buf_len(summary), stdout);
		rc = flush_stdout();
	}
out:
	envfile_outcomes_free(oc, oc != NULL ? n : 0);
	free(oc);
	buf_free(summary);
	free(edits);
	return rc;
}

/* ---- exec
 * --------------------------------------------------------------------- */

static int set_if_unset(void *ctx, const char *key, size_t key_len, const char *val, size_t val_len)
{
	const char *file = ctx;
	char *k, *v;
	int r;

	if (memchr(val, '\0', val_len) != NULL) {
		fprintf(stderr, PROG ": warning: %s: value of %.*s contains a NUL byte; skipped\n",
			file, (int)key_len, key);
		return 0;
	}
	k = strndup(key, key_len);
	v = strndup(val, val_len);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		fprintf(stderr, PROG ": error: cannot load %s: out of memory\n", file);
		return -1;
	}
	/* overwrite 0: the environment wins, and so does the first KEY line */
	r = setenv(k, v, 0);
	if (r < 0)
		fprintf(stderr, PROG ": error: cannot load %s: setenv %s: %s\n", file, k,
			strerror(errno));
	free(k);
	free(v);
	return r;
}

static int env_exec(int argc, char **argv)
{
	struct errbuf e;
	const char *file;
	char *data = NULL;
	size_t len = 0;

	if (argc < 4 || strcmp(argv[2], "--") != 0)
		return usage_error("env exec takes FILE -- CMD [ARG]...");
	file = argv[1];
	if (fsutil_read_file(file, BOUNDS_ENVFILE_MAX, 0, &data, &len, &e) < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, PROG ": error: cannot read %s: %s\n", file, e.msg);
			return 1;
		}
		fprintf(stderr,
			PROG ": warning: %s does not exist; running %s with the environment "
			     "unchanged\n",
			file, argv[3]);
	} else {
		int r = envfile_each(data, len, set_if_unset, (void *)file);

		free(data);
		if (r != 0)
			return 1;
	}
	fflush(NULL);
	execvp(argv[3], argv + 3);
	fprintf(stderr, PROG ": error: cannot execute %s: %s\n", argv[3], strerror(errno));
	return 1;
}

int cmd_env(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("env needs a subcommand: get, upsert, remove, defaults or exec");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(env_usage, stdout);
		return flush_stdout();
	}
	if (strcmp(argv[1], "get") == 0)
		return env_get(argc - 1, argv + 1);
	if (strcmp(argv[1], "upsert") == 0)
		return env_edit(argc - 1, argv + 1, ENVFILE_UPSERT);
	if (strcmp(argv[1], "remove") == 0)
		return env_edit(argc - 1, argv + 1, ENVFILE_REMOVE);
	if (strcmp(argv[1], "exec") == 0)
		return env_exec(argc - 1, argv + 1);
	if (strcmp(argv[1], "defaults") == 0)
		return cmd_env_defaults(argc - 1, argv + 1);
	return usage_error("unknown env subcommand '%s'", argv[1]);
}
