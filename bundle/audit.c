/* The asset audit (spec bundle-install-update.md §6.1, §6.2). */
#include "audit.h"

#include "bounds.h"
#include "envfile.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int path_join(char *out, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(out, size, "%s/%s", dir, rel);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int audit_resolve(const char *input_dir, const struct audit_override *ov, size_t nov,
		  const char *site_env, struct audit_input *in, size_t *n, struct buf *problems,
		  bool *usage, struct errbuf *e)
{
	size_t nr, i, j, missing = 0;
	const struct manifest_rule *r = manifest_rules(&nr);
	struct buf *miss = buf_new(64 * 1024);
	struct stat st;
	int rc = -1;

	*usage = false;
	if (miss == NULL) {
		err_sys(e, errno, "audit");
		return -1;
	}
	for (j = 0; j < nov; j++)
		if (manifest_rule_find(ov[j].path) == NULL) {
			err_set(e,
				"--file %s: no rule for bundle path '%s' (see agent-bundle rules)",
				ov[j].path, ov[j].path);
			*usage = true;
			goto out;
		}
	for (i = 0; i < nr; i++) {
		struct audit_input *x = &in[i];
		const char *src = NULL;
		memset(x, 0, sizeof(*x));
		x->rule = &r[i];
		for (j = 0; j < nov; j++)
			if (strcmp(ov[j].path, r[i].path) == 0)
				src = ov[j].src; /* the last --file wins */
		if (src == NULL && site_env && strcmp(r[i].path, "env/runtime.env") == 0)
			src = site_env;
		if (src) {
			if ((size_t)snprintf(x->src, sizeof(x->src), "%s", src) >= sizeof(x->src)) {
				err_set(e, "input path too long: %s", src);
				goto out;
			}
			continue; /* a given source that is missing fails when opened */
		}
		if (input_dir == NULL)
			goto absent;
		if (path_join(x->src, sizeof(x->src), input_dir, r[i].path) < 0) {
			err_set(e, "input path too long: %s/%s", input_dir, r[i].path);
			goto out;
		}
		if (stat(x->src, &st) == 0) {
			x->from_dir = true;
			continue;
		}
	absent:
		if (r[i].required) {
			if (buf_printf(miss, e, "%s%s (looked for %s%s%s)", missing ? ", " : "",
				       r[i].path, input_dir ? input_dir : "",
				       input_dir ? "/" : "--file ", r[i].path) < 0)
				goto out;
			missing++;
		}
		x->src[0] = '\0';
	}
	*n = nr;
	if (missing && buf_printf(problems, e, "missing required input%s: %s\n",
				  missing > 1 ? "s" : "", buf_data(miss)) < 0)
		goto out;
	rc = 0;
out:
	buf_free(miss);
	return rc;
}

int audit_elf_machine(const char *platform, int *elf_class)
{
	static const struct {
		const char *arch;
		int machine, cls;
	} tab[] = {
		{"x86_64", EM_X86_64, ELFCLASS64}, {"aarch64", EM_AARCH64, ELFCLASS64},
		{"armv7", EM_ARM, ELFCLASS32},     {"armv6", EM_ARM, ELFCLASS32},
		{"i386", EM_386, ELFCLASS32},      {"i686", EM_386, ELFCLASS32},
		{"riscv64", 243, ELFCLASS64},
	};
	const char *dash = strchr(platform, '-');
	size_t i;

	if (dash == NULL || strncmp(platform, "linux-", 6) != 0)
		return -1;
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(dash + 1, tab[i].arch) == 0) {
			*elf_class = tab[i].cls;
			return tab[i].machine;
		}
	return -1;
}

static int read_at(int fd, void *buf, size_t len, unsigned long long off)
{
	ssize_t r;

	do
		r = pread(fd, buf, len, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)len ? 0 : -1;
}

static uint64_t rd(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n]; /* little endian */
	return v;
}

/* Returns a static description of what is wrong, or NULL. */
static const char *elf_problem(int fd, unsigned long long size, int machine, int cls,
			       bool want_static)
{
	unsigned char h[64], ph[56], dyn[16];
	uint64_t phoff, phnum, phentsize, i;
	bool is64;

	if (size < 52 || read_at(fd, h, size < 64 ? 52 : 64, 0) < 0 ||
	    memcmp(h, ELFMAG, SELFMAG) != 0)
		return "not an ELF file";
	if (h[EI_DATA] != ELFDATA2LSB || (h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64))
		return "not a little-endian ELF file";
	is64 = h[EI_CLASS] == ELFCLASS64;
	if (is64 && size < 64)
		return "truncated ELF header";
	if (machine >= 0 && ((int)rd(h + 18, 2) != machine || h[EI_CLASS] != cls))
		return "ELF file for another machine than the platform's";
	if (!want_static)
		return NULL;
	phoff = is64 ? rd(h + 32, 8) : rd(h + 28, 4);
	phentsize = is64 ? rd(h + 54, 2) : rd(h + 42, 2);
	phnum = is64 ? rd(h + 56, 2) : rd(h + 44, 2);
	if (phentsize < (is64 ? 56u : 32u) || phnum > 4096)
		return "malformed ELF program headers";
	for (i = 0; i < phnum; i++) {
		uint64_t type, off, filesz, j;
		if (phoff + (i + 1) * phentsize > size ||
		    read_at(fd, ph, is64 ? 56 : 32, phoff + i * phentsize) < 0)
			return "malformed ELF program headers";
		type = rd(ph, 4);
		if (type == PT_INTERP)
			return "dynamically linked (has PT_INTERP), must be static";
		if (type != PT_DYNAMIC)
			continue;
		off = is64 ? rd(ph + 8, 8) : rd(ph + 4, 4);
		filesz = is64 ? rd(ph + 32, 8) : rd(ph + 16, 4);
		if (off > size || filesz > size - off)
			return "malformed ELF dynamic segment";
		for (j = 0; j + (is64 ? 16u : 8u) <= filesz && j < 64 * 1024; j += is64 ? 16 : 8) {
			uint64_t tag;
			if (read_at(fd, dyn, is64 ? 16 : 8, off + j) < 0)
				return "malformed ELF dynamic segment";
			tag = is64 ? rd(dyn, 8) : rd(dyn, 4);
			if (tag == DT_NULL)
				break;
			if (tag == DT_NEEDED)
				return "needs shared libraries (DT_NEEDED), must be static";
		}
	}
	return NULL;
}

static bool is_script(const char *path)
{
	size_t l = strlen(path);

	if (strcmp(path, "install.sh") == 0)
		return true;
	if (strncmp(path, "bin/", 4) == 0 && l > 3 && strcmp(path + l - 3, ".sh") == 0)
		return true;
	return strncmp(path, "runit/", 6) == 0 && l > 4 && strcmp(path + l - 4, "/run") == 0;
}

static const char *const owned_keys[] = {"AGENT_BUNDLE_NAME", "AGENT_REMOTE_UPDATE_REQUEST_FILE",
					 "AGENT_REMOTE_UPDATE_STATUS_FILE"};

static int check_site_env(const char *src, int fd, unsigned long long size, struct buf *problems,
			  struct errbuf *e)
{
	char *data;
	size_t pos = 0, line = 0, i;
	int rc = 0;
	struct errbuf le;

	if (size > BOUNDS_ENVFILE_MAX)
		return buf_printf(problems, e, "%s: site env larger than %d bytes\n", src,
				  BOUNDS_ENVFILE_MAX);
	data = malloc((size_t)size + 1);
	if (data == NULL) {
		err_sys(e, errno, "%s", src);
		return -1;
	}
	if (size && read_at(fd, data, (size_t)size, 0) < 0) {
		rc = buf_printf(problems, e, "%s: cannot read\n", src);
		goto out;
	}
	while (pos < size && rc == 0) {
		const char *l = data + pos, *nl = memchr(l, '\n', (size_t)size - pos);
		size_t ll = nl ? (size_t)(nl - l) : (size_t)size - pos;
		const char *eq;
		line++;
		pos += ll + 1;
		if (ll == 0 || l[0] == '#')
			continue;
		eq = memchr(l, '=', ll);
		if (eq == NULL || !envfile_key_valid(l, (size_t)(eq - l))) {
			rc = buf_printf(problems, e, "%s: line %zu: not a KEY=value line\n", src,
					line);
			break;
		}
		{
			char key[BOUNDS_ENV_KEY_MAX + 1];
			size_t kl = (size_t)(eq - l);
			memcpy(key, l, kl);
			key[kl] = '\0';
			if (envfile_check_value(key, eq + 1, ll - kl - 1, &le) < 0) {
				rc = buf_printf(problems, e, "%s: line %zu: %s\n", src, line,
						le.msg);
				break;
			}
			for (i = 0; i < sizeof(owned_keys) / sizeof(owned_keys[0]); i++)
				if (strcmp(key, owned_keys[i]) == 0)
					rc = buf_printf(
						problems, e,
						"%s: line %zu: %s is owned by the installer "
						"and may not be set by the site env\n",
						src, line, key);
		}
	}
out:
	free(data);
	return rc;
}

int audit_check(const struct audit_input *in, int fd, unsigned long long size, const char *platform,
		struct buf *problems, struct errbuf *e)
{
	const char *path = in->rule->path, *why = NULL;
	int machine, cls = 0;

	if (size > BOUNDS_BUNDLE_MEMBER_MAX)
		return buf_printf(problems, e, "%s: input %s is larger than 512 MiB\n", path,
				  in->src);
	machine = audit_elf_machine(platform, &cls);
	if (strcmp(path, "bin/agentd") == 0 || strcmp(path, "bin/agent-install") == 0 ||
	    strcmp(path, "bin/scanner") == 0) {
		if (machine < 0)
			return buf_printf(problems, e, "%s: no ELF machine known for platform %s\n",
					  path, platform);
		why = elf_problem(fd, size, machine, cls, strcmp(path, "bin/scanner") != 0);
	} else if (is_script(path)) {
		char head[10];
		if (size < 10 || read_at(fd, head, 10, 0) < 0 ||
		    memcmp(head, "#!/bin/sh\n", 10) != 0)
			why = "does not start with '#!/bin/sh' and a newline";
	} else if (strcmp(path, "env/runtime.env") == 0) {
		return check_site_env(in->src, fd, size, problems, e);
	}
	if (why)
		return buf_printf(problems, e, "%s: %s %s\n", path, in->src, why);
	return 0;
}

struct walk {
	char **paths;
	size_t n, cap;
};

enum { WALK_MAX_FILES = 100000, WALK_MAX_DEPTH = 32 };

static int walk_add(struct walk *w, const char *rel, struct errbuf *e)
{
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		char **np;
		if (nc > WALK_MAX_FILES) {
			err_set(e, "input directory has more than %d files", WALK_MAX_FILES);
			return -1;
		}
		np = realloc(w->paths, nc * sizeof(*np));
		if (np == NULL) {
			err_sys(e, errno, "walk");
			return -1;
		}
		w->paths = np;
		w->cap = nc;
	}
	w->paths[w->n] = strdup(rel);
	if (w->paths[w->n] == NULL) {
		err_sys(e, errno, "walk");
		return -1;
	}
	w->n++;
	return 0;
}

static int walk_dir(struct walk *w, const char *root, const char *rel, int depth, struct errbuf *e)
{
	char dir[PATH_MAX], sub[PATH_MAX], full[PATH_MAX];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > WALK_MAX_DEPTH)
		return 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel) >=
	    sizeof(dir))
		return 0;
	d = opendir(dir);
	if (d == NULL) {
		err_sys(e, errno, "open %s", dir);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "",
				     de->d_name) >= sizeof(sub) ||
		    (size_t)snprintf(full, sizeof(full), "%s/%s", root, sub) >= sizeof(full))
			continue;
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = walk_dir(w, root, sub, depth + 1, e);
		else if (S_ISREG(st.st_mode) ||
			 (S_ISLNK(st.st_mode) && stat(full, &st) == 0 && S_ISREG(st.st_mode)))
			rc = walk_add(w, sub, e);
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int audit_unused(const char *input_dir, const struct audit_input *in, size_t n, bool strict,
		 audit_warn_fn *warn, void *warn_ctx, struct buf *problems, struct errbuf *e)
{
	struct walk w = {0};
	size_t i, j;
	int rc = -1;
	char msg[PATH_MAX + 64];

	if (input_dir == NULL)
		return 0;
	if (walk_dir(&w, input_dir, "", 0, e) < 0)
		goto out;
	if (w.n > 1)
		qsort(w.paths, w.n, sizeof(w.paths[0]), cmp_str);
	for (i = 0; i < w.n; i++) {
		bool used = false;
		for (j = 0; j < n && !used; j++)
			used = in[j].from_dir && strcmp(in[j].rule->path, w.paths[i]) == 0;
		if (used)
			continue;
		if (strict) {
			if (buf_printf(problems, e, "input not used by any rule: %s/%s\n",
				       input_dir, w.paths[i]) < 0)
				goto out;
		} else if (warn) {
			snprintf(msg, sizeof(msg), "input not used by any rule: %s/%s", input_dir,
				 w.paths[i]); /* truncation only shortens a warning */
			warn(warn_ctx, msg);
		}
	}
	rc = 0;
out:
	for (i = 0; i < w.n; i++)
		free(w.paths[i]);
	free(w.paths);
	return rc;
}
