/* agent-bundle list (spec bundle-install-update.md §6.4). */
#include "cmd.h"
#include "hex.h"
#include "json.h"
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char list_usage[] =
	"usage: agent-bundle list FILE [--json]\n"
	"       agent-bundle list --dir DIR [--json]\n"
	"FILE: checks the archive structure against MANIFEST (the signature is NOT checked) and\n"
	"prints the MANIFEST.  --dir: every agent-bundle-*.tar.gz in DIR, newest stamp first:\n"
	"name, platform, stamp, version id, fp12, has .sha256, has .sig (tab-separated).\n"
	"exit status: 0 ok, 1 failure, 2 usage error\n";

static void warn_fn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "agent-bundle: warning: %s\n", msg);
}

static int emit_json(struct json_value *v)
{
	struct errbuf e;
	size_t len;
	char *text = json_write_alloc(v, JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE,
				      16 * 1024 * 1024, &len, &e);

	if (text == NULL) {
		fprintf(stderr, "agent-bundle: error: cannot write JSON: %s\n", e.msg);
		return -1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static int list_file(const char *path, bool json)
{
	struct verify_opts o;
	struct verify_result r;
	struct errbuf e;
	int rc = 1;

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.size = -1;
	o.structure_only = true;
	o.warn = warn_fn;
	fputs("agent-bundle: warning: list checks the structure only; the signature is not "
	      "checked (use agent-bundle verify)\n",
	      stderr);
	if (verify_bundle(&o, &r, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: verify failed [%s]: %s\n",
			verify_code_name(r.code), e.msg);
		goto out;
	}
	if (!json) {
		fwrite(r.manifest_text, 1, r.manifest_len, stdout);
	} else {
		struct json_value *obj = json_new_object(), *files = json_new_array();
		size_t i, n = manifest_count(r.manifest);
		int bad = obj == NULL || files == NULL;
		bad = bad || json_object_set_string(obj, "name", r.name) < 0 ||
		      json_object_set_string(obj, "version", r.version) < 0 ||
		      json_object_set_string(obj, "platform", r.platform) < 0 ||
		      json_object_set_int(obj, "source_date_epoch",
					  (int64_t)manifest_sde(r.manifest)) < 0 ||
		      json_object_set_string(obj, "fingerprint", r.fingerprint) < 0;
		for (i = 0; !bad && i < n; i++) {
			const struct manifest_entry *x = manifest_entry(r.manifest, i);
			struct json_value *f = json_new_object();
			char hex[65], mode[8];
			bad = f == NULL || hex_encode(x->sha256, 32, hex, sizeof(hex)) < 0;
			snprintf(mode, sizeof(mode), "%04o", x->mode); /* always fits */
			bad = bad || json_object_set_string(f, "path", x->path) < 0 ||
			      json_object_set_string(f, "mode", mode) < 0 ||
			      json_object_set_int(f, "size", (int64_t)x->size) < 0 ||
			      json_object_set_string(f, "sha256", hex) < 0 ||
			      json_array_append(files, f) < 0;
			if (bad)
				json_free(f);
		}
		if (!bad && json_object_set(obj, "files", files) == 0)
			files = NULL;
		else
			bad = 1;
		if (!bad)
			bad = emit_json(obj) < 0;
		json_free(files);
		json_free(obj);
		if (bad)
			goto out;
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	verify_result_free(&r);
	return rc;
}

struct row {
	char file[NAME_MAX + 1];
	struct bname b;
	bool sha, sig;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(y->b.stamp, x->b.stamp); /* newest stamp first; legacy ("") last */

	return c ? c : strcmp(x->file, y->file);
}

static bool sibling_exists(const char *dir, const char *file, const char *ext)
{
	char p[PATH_MAX];
	struct stat st;
	size_t l = strlen(file) - 7; /* without .tar.gz */
	int n = snprintf(p, sizeof(p), "%s/%.*s%s", dir, (int)l, file, ext);

	return n > 0 && (size_t)n < sizeof(p) && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int list_dir(const char *dir, bool json)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct row *rows = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 1;

	if (d == NULL) {
		fprintf(stderr, "agent-bundle: error: cannot list %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		struct bname b;
		if (strncmp(de->d_name, "agent-bundle-", 13) != 0 || l < 8 ||
		    strcmp(de->d_name + l - 7, ".tar.gz") != 0)
			continue;
		if (bname_parse(de->d_name, l, false, &b, NULL) < 0) {
			fprintf(stderr, "agent-bundle: warning: %s: not a bundle name, skipped\n",
				de->d_name);
			continue;
		}
		if (n == cap) {
			struct row *nr;
			cap = cap ? cap * 2 : 16;
			nr = realloc(rows, cap * sizeof(*rows));
			if (nr == NULL) {
				fputs("agent-bundle: error: out of memory\n", stderr);
				goto out;
			}
			rows = nr;
		}
		memcpy(rows[n].file, de->d_name, l + 1);
		rows[n].b = b;
		rows[n].sha = sibling_exists(dir, de->d_name, ".sha256");
		rows[n].sig = sibling_exists(dir, de->d_name, ".sig");
		n++;
	}
	if (n > 1)
		qsort(rows, n, sizeof(*rows), cmp_row);
	if (json) {
		struct json_value *arr = json_new_array();
		int bad = arr == NULL;
		for (i = 0; !bad && i < n; i++) {
			struct json_value *o = json_new_object();
			const struct row *x = &rows[i];
			bad = o == NULL ||
			      json_object_set_stringn(o, "name", x->file, strlen(x->file) - 7) <
				      0 ||
			      json_object_set_string(o, "platform", x->b.platform) < 0 ||
			      json_object_set_string(o, "stamp", x->b.stamp) < 0 ||
			      json_object_set_string(o, "id", x->b.id) < 0 ||
			      json_object_set_string(o, "fp12", x->b.fp12) < 0 ||
			      json_object_set_bool(o, "sha256", x->sha) < 0 ||
			      json_object_set_bool(o, "sig", x->sig) < 0 ||
			      json_array_append(arr, o) < 0;
			if (bad)
				json_free(o);
		}
		if (!bad)
			bad = emit_json(arr) < 0;
		json_free(arr);
		if (bad)
			goto out;
	} else {
		for (i = 0; i < n; i++) {
			const struct row *x = &rows[i];
			printf("%.*s\t%s\t%s\t%s\t%s\t%s\t%s\n", (int)(strlen(x->file) - 7),
			       x->file, x->b.platform, x->b.stamp[0] ? x->b.stamp : "-", x->b.id,
			       x->b.fp12[0] ? x->b.fp12 : "-", x->sha ? "yes" : "no",
			       x->sig ? "yes" : "no");
		}
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	closedir(d);
	free(rows);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	bool json = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(list_usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"agent-bundle: error: list: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			fputs(list_usage, stderr);
			return 2;
		}
	}
	if (dir != NULL && optind == argc)
		return list_dir(dir, json);
	if (dir == NULL && optind == argc - 1)
		return list_file(argv[optind], json);
	fputs(list_usage, stderr);
	return 2;
}
