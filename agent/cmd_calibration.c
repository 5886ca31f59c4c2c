/*
 * agentd calibration show|store|clear (rate-controller.md §18.5): the
 * calibration store from the command line, through the same locked atomic
 * path the controller uses.
 */
#include "cmd.h"

#include "bounds.h"
#include "calib.h"
#include "json.h"
#include "num.h"
#include "rate_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static void usage(FILE *f)
{
	fputs("usage: agentd calibration show [--path P] [--root DIR]\n"
	      "       agentd calibration store IFACE RATE [--path P] [--root DIR]\n"
	      "       agentd calibration clear [IFACE] [--path P] [--root DIR]\n"
	      "\n"
	      "The store is --path, else $ANYSCAN_RATE_CALIBRATION_PATH, else\n"
	      "<root>/var/lib/agentd/rate-calibration.json (root: --root or $AGENTD_ROOT).\n"
	      "Output is one JSON line.\n"
	      "exit status: 0 ok, 1 write error, 2 usage error (nothing written)\n",
	      f);
}

static int print_line(const struct json_value *v)
{
	char *text =
		json_write_alloc(v, JSON_WRITE_CANONICAL, BOUNDS_CALIB_FILE_MAX * 8, NULL, NULL);
	int rc = 0;

	if (text == NULL)
		return -1;
	if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		rc = -1;
	free(text);
	return rc;
}

static char *store_path(const char *path_opt, const char *root)
{
	const char *const *envp = (const char *const *)environ;
	const char *v;
	size_t len;
	char *p;

	if (path_opt != NULL)
		return strdup(path_opt);
	if (rate_env_present(envp, "ANYSCAN_RATE_CALIBRATION_PATH", &v, &len))
		return strndup(v, len);
	if (root == NULL) {
		root = rate_env_get(envp, "AGENTD_ROOT");
		if (root == NULL)
			root = "";
	}
	len = strlen(root);
	while (len > 0 && root[len - 1] == '/')
		len--;
	p = malloc(len + sizeof(CALIB_DEFAULT_REL_PATH));
	if (p == NULL)
		return NULL;
	memcpy(p, root, len);
	memcpy(p + len, CALIB_DEFAULT_REL_PATH, sizeof(CALIB_DEFAULT_REL_PATH));
	return p;
}

/* §18.5: 1-15 bytes, no '/', whitespace or control characters. */
static bool iface_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 15)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/' || c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static struct json_value *entries_object(const struct calib_map *m)
{
	struct json_value *o = json_new_object();
	size_t i;
	int rc = 0;

	for (i = 0; i < m->count; i++) {
		struct json_value *e = json_new_object();
		rc |= json_object_set_int(e, "learned_rate", m->entries[i].learned_rate);
		rc |= json_object_set_string(e, "updated_at", m->entries[i].updated_at);
		rc |= json_object_set(o, m->entries[i].iface, e);
	}
	if (rc != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

static int do_show(struct calib *c)
{
	struct calib_map m;
	struct json_value *o = json_new_object();
	int rc = 0;

	calib_load(c, &m);
	rc |= json_object_set_int(o, "dropped_entries", (int64_t)m.dropped);
	rc |= json_object_set_string(o, "file", calib_status_name(m.status));
	rc |= json_object_set(o, "interfaces", entries_object(&m));
	rc |= json_object_set_string(o, "path", calib_path(c));
	calib_map_free(&m);
	if (o == NULL || rc != 0 || print_line(o) < 0) {
		fprintf(stderr, "agentd: cannot show calibration %s: %s\n", calib_path(c),
			strerror(errno));
		json_free(o);
		return 1;
	}
	json_free(o);
	return 0;
}

static int do_store(struct calib *c, const char *iface, int64_t rate)
{
	struct calib_write_info info;
	struct errbuf e;
	struct json_value *o = json_new_object();
	int rc = 0, st;

	err_clear(&e);
	st = calib_store(c, iface, rate, NULL, &info, &e);
	rc |= json_object_set_string(o, "interface", iface);
	rc |= json_object_set_int(o, "learned_rate", rate);
	rc |= json_object_set_bool(o, "locked", info.locked);
	rc |= json_object_set_string(o, "path", calib_path(c));
	rc |= json_object_set_bool(o, "stored", st == 0);
	rc |= json_object_set_string(o, "updated_at", info.updated_at);
	if (st != 0)
		rc |= json_object_set_string(o, "error", e.msg);
	if (o == NULL || rc != 0 || print_line(o) < 0) {
		fprintf(stderr, "agentd: cannot write output: %s\n", strerror(errno));
		json_free(o);
		return 1;
	}
	json_free(o);
	if (st != 0) {
		fprintf(stderr, "agentd: cannot store calibration %s: %s\n", calib_path(c), e.msg);
		return 1;
	}
	return 0;
}

static int do_clear(struct calib *c, const char *iface)
{
	struct calib_write_info info;
	struct calib_map removed;
	struct errbuf e;
	struct json_value *o, *arr;
	size_t i;
	int rc = 0;

	err_clear(&e);
	if (calib_clear(c, iface, &removed, &info, &e) < 0) {
		fprintf(stderr, "agentd: cannot clear calibration %s: %s\n", calib_path(c), e.msg);
		calib_map_free(&removed);
		return 1;
	}
	o = json_new_object();
	arr = json_new_array();
	for (i = 0; i < removed.count; i++)
		rc |= json_array_append(arr, json_new_string(removed.entries[i].iface));
	calib_map_free(&removed);
	rc |= json_object_set(o, "cleared", arr);
	rc |= json_object_set_bool(o, "locked", info.locked);
	rc |= json_object_set_string(o, "path", calib_path(c));
	if (o == NULL || rc != 0 || print_line(o) < 0) {
		fprintf(stderr, "agentd: cannot write output: %s\n", strerror(errno));
		json_free(o);
		return 1;
	}
	json_free(o);
	return 0;
}

int cmd_calibration(int argc, char **argv)
{
	const char *pos[3];
	const char *path_opt = NULL, *root = NULL;
	size_t npos = 0;
	bool only_pos = false;
	struct calib *c;
	char *path;
	int i, rc;
	int64_t rate = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			usage(stdout);
			return 0;
		}
		if (!only_pos && a[0] == '-' && a[1] != '\0') {
			const char *eq = strchr(a, '=');
			size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
			if (nlen == 6 && strncmp(a, "--path", 6) == 0)
				dst = &path_opt;
			else if (nlen == 6 && strncmp(a, "--root", 6) == 0)
				dst = &root;
			if (dst == NULL) {
				fprintf(stderr, "agentd: unknown option %.*s\n", (int)nlen, a);
				usage(stderr);
				return 2;
			}
			if (eq != NULL) {
				*dst = eq + 1;
			} else if (i + 1 < argc) {
				*dst = argv[++i];
			} else {
				fprintf(stderr, "agentd: option %.*s needs a value\n", (int)nlen,
					a);
				return 2;
			}
			continue;
		}
		if (npos == 3) {
			fprintf(stderr, "agentd: unexpected argument %s\n", a);
			return 2;
		}
		pos[npos++] = a;
	}
	if (npos == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(pos[0], "show") == 0) {
		if (npos != 1) {
			fprintf(stderr, "agentd: calibration show takes no arguments\n");
			return 2;
		}
	} else if (strcmp(pos[0], "store") == 0) {
		if (npos != 3) {
			fprintf(stderr, "agentd: calibration store needs IFACE RATE\n");
			return 2;
		}
		if (!iface_ok(pos[1])) {
			fprintf(stderr,
				"agentd: invalid interface \"%s\": 1-15 bytes, no '/', whitespace "
				"or "
				"control characters\n",
				pos[1]);
			return 2;
		}
		if (num_parse_i64(pos[2], strlen(pos[2]), &rate) < 0 || rate <= 0 ||
		    pos[2][0] < '0' || pos[2][0] > '9') {
			fprintf(stderr, "agentd: invalid rate \"%s\": a decimal integer > 0\n",
				pos[2]);
			return 2;
		}
	} else if (strcmp(pos[0], "clear") == 0) {
		if (npos > 2) {
			fprintf(stderr, "agentd: calibration clear takes at most one IFACE\n");
			return 2;
		}
	} else {
		fprintf(stderr, "agentd: unknown calibration subcommand '%s'\n", pos[0]);
		usage(stderr);
		return 2;
	}
	if (path_opt != NULL && path_opt[0] == '\0') {
		fprintf(stderr, "agentd: --path needs a non-empty value\n");
		return 2;
	}
	path = store_path(path_opt, root);
	c = path != NULL ? calib_new(path, CALIB_LOCK_WAIT_MS) : NULL;
	free(path);
	if (c == NULL) {
		fprintf(stderr, "agentd: cannot open the calibration store: out of memory\n");
		return 1;
	}
	if (strcmp(pos[0], "show") == 0)
		rc = do_show(c);
	else if (strcmp(pos[0], "store") == 0)
		rc = do_store(c, pos[1], rate);
	else
		rc = do_clear(c, npos == 2 ? pos[1] : NULL);
	calib_free(c);
	return rc;
}
