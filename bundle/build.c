/* agent-bundle build (spec bundle-install-update.md §3, §6.1). */
#include "build.h"

#include "bounds.h"
#include "fsutil.h"
#include "hex.h"
#include "manifest.h"
#include "sha256.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BUILD_READ_CHUNK = 256 * 1024, BUILD_RULES_MAX = 32 };

struct input {
	struct audit_input ai;
	int fd;
	uint64_t size;
	uint8_t sha[32];
};

struct sink {
	struct fsutil_atomic *at;
	struct sha256 sha;
	uint64_t bytes;
};

static int sink_fn(void *ctx, const void *data, size_t len, struct errbuf *e)
{
	struct sink *s = ctx;

	s->bytes += len;
	if (s->bytes > BOUNDS_BUNDLE_FILE_MAX) {
		err_set(e, "bundle would be larger than 512 MiB");
		return -1;
	}
	sha256_update(&s->sha, data, len);
	return fsutil_atomic_write(s->at, data, len, e);
}

static ssize_t read_some(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Hash pass: size and SHA-256 of an opened input. */
static int hash_input(struct input *in, unsigned char *chunk, struct errbuf *e)
{
	struct sha256 s;
	uint64_t total = 0;
	ssize_t r;

	sha256_init(&s);
	while ((r = read_some(in->fd, chunk, BUILD_READ_CHUNK)) > 0) {
		total += (uint64_t)r;
		sha256_update(&s, chunk, (size_t)r);
	}
	sha256_final(&s, in->sha);
	if (r < 0) {
		err_sys(e, errno, "read %s", in->ai.src);
		return -1;
	}
	if (total != in->size) {
		err_set(e, "input %s changed while it was read", in->ai.src);
		return -1;
	}
	return 0;
}

/* Write pass: copy an input into the archive, checking it is unchanged. */
static int copy_input(struct writer *w, struct input *in, unsigned char *chunk, struct errbuf *e)
{
	struct sha256 s;
	uint8_t again[32];
	uint64_t total = 0;
	ssize_t r;

	if (lseek(in->fd, 0, SEEK_SET) != 0) {
		err_sys(e, errno, "seek %s", in->ai.src);
		return -1;
	}
	sha256_init(&s);
	while (total < in->size &&
	       (r = read_some(in->fd, chunk,
			      in->size - total < BUILD_READ_CHUNK ? (size_t)(in->size - total)
								  : BUILD_READ_CHUNK)) > 0) {
		sha256_update(&s, chunk, (size_t)r);
		total += (uint64_t)r;
		if (writer_data(w, chunk, (size_t)r, e) < 0) {
			sha256_final(&s, again);
			return -1;
		}
	}
	sha256_final(&s, again);
	if (total != in->size || memcmp(again, in->sha, 32) != 0) {
		err_set(e, "input %s changed during the build", in->ai.src);
		return -1;
	}
	return 0;
}

/* One archive entry: a directory (path ends in '/') or a file input. */
struct entry {
	char path[BOUNDS_BUNDLE_ENTRY_PATH_MAX + 2];
	struct input *in; /* NULL: directory, or MANIFEST when is_manifest */
	int is_manifest;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static int add_entry(struct entry *ents, size_t *n, size_t cap, const char *name, const char *rel,
		     struct input *in, int is_manifest, struct errbuf *e)
{
	size_t i;
	int k;

	if (*n >= cap) {
		err_set(e, "too many archive entries");
		return -1;
	}
	k = snprintf(ents[*n].path, sizeof(ents[*n].path), "%s/%s", name, rel);
	if (k < 0 || (size_t)k >= sizeof(ents[*n].path) ||
	    (size_t)k > BOUNDS_BUNDLE_ENTRY_PATH_MAX) {
		err_set(e, "archive path too long: %s/%s", name, rel);
		return -1;
	}
	for (i = 0; i < *n; i++)
		if (strcmp(ents[i].path, ents[*n].path) == 0)
			return 0; /* a directory shared by several files */
	ents[*n].in = in;
	ents[*n].is_manifest = is_manifest;
	(*n)++;
	return 0;
}

static int write_outputs(const struct build_opts *o, const char *name, struct entry *ents,
			 size_t nents, const struct buf *mf, struct errbuf *e)
{
	char path[PATH_MAX], sigpath[PATH_MAX], hex[65];
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct sink s = {0};
	struct writer *w = NULL;
	unsigned char *chunk = NULL;
	uint8_t digest[32], sig[SIG_DER_MAX];
	size_t siglen = 0, i;
	struct buf *line = NULL;
	int rc = -1, k;

	k = snprintf(path, sizeof(path), "%s/%s.tar.gz", o->out_dir, name);
	if (k < 0 || (size_t)k >= sizeof(path) ||
	    sig_path_for(path, sigpath, sizeof(sigpath), e) < 0) {
		err_set(e, "output path too long in %s", o->out_dir);
		return -1;
	}
	chunk = malloc(BUILD_READ_CHUNK);
	line = buf_new(PATH_MAX + 128);
	if (chunk == NULL || line == NULL) {
		err_sys(e, errno, "build");
		goto out;
	}
	sha256_init(&s.sha);
	s.at = fsutil_atomic_begin(path, &wo, e);
	if (s.at == NULL)
		goto out;
	w = writer_new(o->sde, sink_fn, &s, e);
	if (w == NULL)
		goto out;
	for (i = 0; i < nents; i++) {
		const struct entry *x = &ents[i];
		size_t pl = strlen(x->path);
		if (x->path[pl - 1] == '/') {
			if (writer_dir(w, x->path, e) < 0)
				goto out;
		} else if (x->is_manifest) {
			if (writer_file(w, x->path, 0644, buf_len(mf), e) < 0 ||
			    writer_data(w, buf_data(mf), buf_len(mf), e) < 0)
				goto out;
		} else {
			if (writer_file(w, x->path, x->in->ai.rule->mode, x->in->size, e) < 0 ||
			    copy_input(w, x->in, chunk, e) < 0)
				goto out;
		}
	}
	if (writer_finish(w, e) < 0)
		goto out;
	sha256_final(&s.sha, digest);
	if (o->key && sig_sign_hash(o->key, digest, sig, &siglen, e) < 0)
		goto out;
	if (fsutil_atomic_commit(s.at, e) < 0)
		goto out;
	s.at = NULL;
	/* §1.5: "<hex>  <name>.tar.gz\n" */
	if (hex_encode(digest, 32, hex, sizeof(hex)) < 0 ||
	    buf_printf(line, e, "%s  %s.tar.gz\n", hex, name) < 0)
		goto out;
	k = snprintf(path, sizeof(path), "%s/%s.sha256", o->out_dir, name);
	if (k < 0 || (size_t)k >= sizeof(path)) {
		err_set(e, "output path too long in %s", o->out_dir);
		goto out;
	}
	if (fsutil_write_file(path, buf_data(line), buf_len(line), &wo, e) < 0)
		goto out;
	if (o->key && fsutil_write_file(sigpath, sig, siglen, &wo, e) < 0)
		goto out;
	rc = 0;
out:
	if (s.at)
		fsutil_atomic_abort(s.at);
	writer_free(w);
	buf_free(line);
	free(chunk);
	return rc;
}

int build_run(const struct build_opts *o, struct build_result *r, struct buf *problems, bool *usage,
	      struct errbuf *e)
{
	struct audit_input ai[BUILD_RULES_MAX];
	struct input in[BUILD_RULES_MAX];
	struct entry ents[BUILD_RULES_MAX * 3 + 2];
	size_t nr = 0, nin = 0, nents = 0, i, before;
	struct manifest *m = NULL;
	struct buf *mf = NULL;
	unsigned char *chunk = NULL;
	uint8_t fp[32];
	int rc = -1;

	*usage = false;
	memset(r, 0, sizeof(*r));
	for (i = 0; i < BUILD_RULES_MAX; i++)
		in[i].fd = -1;
	if (!bname_version_valid(o->version, strlen(o->version))) {
		err_set(e, "invalid version '%s' (MAJOR.MINOR.PATCH[-PRE])", o->version);
		*usage = true;
		return -1;
	}
	if (audit_resolve(o->input_dir, o->files, o->nfiles, o->site_env, ai, &nr, problems, usage,
			  e) < 0)
		return -1;
	if (nr > BUILD_RULES_MAX) {
		err_set(e, "rule table too large");
		return -1;
	}
	before = buf_len(problems);
	for (i = 0; i < nr; i++) {
		struct stat st;
		struct input *x;
		if (ai[i].src[0] == '\0')
			continue;
		x = &in[nin];
		x->ai = ai[i];
		x->fd = open(ai[i].src, O_RDONLY | O_CLOEXEC);
		if (x->fd < 0 || fstat(x->fd, &st) < 0) {
			if (buf_printf(problems, e, "%s: cannot open input %s: %s\n",
				       ai[i].rule->path, ai[i].src, strerror(errno)) < 0)
				goto out;
			if (x->fd >= 0)
				close(x->fd);
			x->fd = -1;
			continue;
		}
		nin++;
		if (!S_ISREG(st.st_mode)) {
			if (buf_printf(problems, e, "%s: input %s is not a regular file\n",
				       ai[i].rule->path, ai[i].src) < 0)
				goto out;
			continue;
		}
		x->size = (uint64_t)st.st_size;
		if (audit_check(&x->ai, x->fd, x->size, o->platform, problems, e) < 0)
			goto out;
	}
	if (audit_unused(o->input_dir, ai, nr, o->strict, o->warn, o->warn_ctx, problems, e) < 0)
		goto out;
	if (buf_len(problems) > 0) {
		err_set(e, "%zu input problem(s)", buf_len(problems) - before);
		goto out;
	}

	/* hash pass -> MANIFEST -> fingerprint -> name */
	chunk = malloc(BUILD_READ_CHUNK);
	mf = buf_new(BOUNDS_MANIFEST_MAX);
	m = manifest_new(o->version, o->platform, o->sde, e);
	if (chunk == NULL || mf == NULL || m == NULL) {
		if (m != NULL)
			err_sys(e, ENOMEM, "build");
		goto out;
	}
	for (i = 0; i < nin; i++) {
		struct manifest_entry me;
		if (hash_input(&in[i], chunk, e) < 0)
			goto out;
		memset(&me, 0, sizeof(me));
		memcpy(me.sha256, in[i].sha, 32);
		me.mode = in[i].ai.rule->mode;
		me.size = in[i].size;
		memcpy(me.path, in[i].ai.rule->path, strlen(in[i].ai.rule->path) + 1);
		if (manifest_add(m, &me, e) < 0)
			goto out;
	}
	if (manifest_format(m, mf, e) < 0)
		goto out;
	if (manifest_check_required(m, e) < 0)
		goto out;
	sha256_buf(buf_data(mf), buf_len(mf), fp);
	if (hex_encode(fp, 32, r->fingerprint, sizeof(r->fingerprint)) < 0) {
		err_set(e, "hex");
		goto out;
	}
	{
		char fp12[BNAME_FP12_LEN + 1];
		memcpy(fp12, r->fingerprint, BNAME_FP12_LEN);
		fp12[BNAME_FP12_LEN] = '\0';
		if (bname_format(o->platform, o->sde, o->version, fp12, r->name, sizeof(r->name),
				 e) < 0)
			goto out;
	}

	/* §3 entry order: full archive path bytewise, directories with '/' */
	if (add_entry(ents, &nents, sizeof(ents) / sizeof(ents[0]), r->name, "", NULL, 0, e) < 0 ||
	    add_entry(ents, &nents, sizeof(ents) / sizeof(ents[0]), r->name, "MANIFEST", NULL, 1,
		      e) < 0)
		goto out;
	for (i = 0; i < nin; i++) {
		const char *p = in[i].ai.rule->path, *s;
		for (s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			char dir[BOUNDS_MANIFEST_PATH_MAX + 2];
			size_t dl = (size_t)(s - p) + 1;
			memcpy(dir, p, dl);
			dir[dl] = '\0';
			if (add_entry(ents, &nents, sizeof(ents) / sizeof(ents[0]), r->name, dir,
				      NULL, 0, e) < 0)
				goto out;
		}
		if (add_entry(ents, &nents, sizeof(ents) / sizeof(ents[0]), r->name, p, &in[i], 0,
			      e) < 0)
			goto out;
	}
	qsort(ents, nents, sizeof(ents[0]), cmp_entry);
	if (write_outputs(o, r->name, ents, nents, mf, e) < 0)
		goto out;
	r->files = manifest_count(m);
	r->bytes = manifest_total_size(m);
	rc = 0;
out:
	for (i = 0; i < BUILD_RULES_MAX; i++)
		if (in[i].fd >= 0)
			close(in[i].fd);
	manifest_free(m);
	buf_free(mf);
	free(chunk);
	return rc;
}
