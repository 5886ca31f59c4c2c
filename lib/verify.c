/* Bundle verification (spec bundle-install-update.md §5). */
#include "verify.h"

#include "bounds.h"
#include "hex.h"
#include "sha256.h"

#include <archive.h>
#include <stdarg.h>
#include <stdio.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { VERIFY_CHUNK = 64 * 1024 };

static const char *const code_names[] = {
	[VERIFY_OK] = "ok",
	[VERIFY_IO] = "io",
	[VERIFY_LIMIT_SIZE] = "limit-size",
	[VERIFY_LIMIT_ENTRIES] = "limit-entries",
	[VERIFY_SHA256_MISMATCH] = "sha256-mismatch",
	[VERIFY_NO_TRUSTED_KEY] = "no-trusted-key",
	[VERIFY_SIGNATURE_MISSING] = "signature-missing",
	[VERIFY_SIGNATURE_INVALID] = "signature-invalid",
	[VERIFY_SIGNATURE_MALFORMED] = "signature-malformed",
	[VERIFY_NOT_A_BUNDLE] = "not-a-bundle",
	[VERIFY_BAD_TOP_DIR] = "bad-top-dir",
	[VERIFY_MANIFEST_NOT_FIRST] = "manifest-not-first",
	[VERIFY_MANIFEST_SYNTAX] = "manifest-syntax",
	[VERIFY_FINGERPRINT_MISMATCH] = "fingerprint-mismatch",
	[VERIFY_NAME_MISMATCH] = "name-mismatch",
	[VERIFY_REQUIRED_FILE_MISSING] = "required-file-missing",
	[VERIFY_PLATFORM_MISMATCH] = "platform-mismatch",
	[VERIFY_ENTRY_PATH] = "entry-path",
	[VERIFY_ENTRY_TYPE] = "entry-type",
	[VERIFY_ENTRY_SETID] = "entry-setid",
	[VERIFY_ENTRY_UNLISTED] = "entry-unlisted",
	[VERIFY_ENTRY_MODE] = "entry-mode",
	[VERIFY_ENTRY_DUPLICATE] = "entry-duplicate",
	[VERIFY_ENTRY_ORDER] = "entry-order",
	[VERIFY_ENTRY_SIZE] = "entry-size",
	[VERIFY_ENTRY_SHA256] = "entry-sha256",
	[VERIFY_ENTRY_MISSING] = "entry-missing",
	[VERIFY_HOOK] = "hook",
};

const char *verify_code_name(enum verify_code c)
{
	if ((size_t)c < sizeof(code_names) / sizeof(code_names[0]) && code_names[c])
		return code_names[c];
	return "unknown";
}

/* ---- gzip source: zlib inflate feeding libarchive ---------------------------- */

struct gz {
	int fd;
	z_stream z;
	bool z_ready, eof_in, stream_end, started;
	uint64_t inflated;
	enum verify_code code; /* set when the source itself failed */
	struct errbuf err;
	/* the header scanner (see scan_tar) */
	uint64_t pos, next_hdr; /* stream offsets: bytes seen, next header */
	unsigned char hdr[512];
	size_t hfill;
	unsigned char *pax; /* body of a pax 'x' header being collected */
	size_t pax_len, pax_fill;
	unsigned char in[VERIFY_CHUNK];
	unsigned char out[VERIFY_CHUNK];
};

static ssize_t read_fd(int fd, void *buf, size_t len)
{
	ssize_t r;

	do
		r = read(fd, buf, len);
	while (r < 0 && errno == EINTR);
	return r;
}

static int gz_fail(struct gz *g, enum verify_code c, const char *msg)
{
	if (g->code == VERIFY_OK) {
		g->code = c;
		err_set(&g->err, "%s", msg);
	}
	return -1;
}

static int gz_fill(struct gz *g)
{
	ssize_t n;

	if (g->z.avail_in > 0 || g->eof_in)
		return 0;
	n = read_fd(g->fd, g->in, sizeof(g->in));
	if (n < 0) {
		err_sys(&g->err, errno, "read");
		g->code = VERIFY_IO;
		return -1;
	}
	if (n == 0)
		g->eof_in = true;
	g->z.next_in = g->in;
	g->z.avail_in = (uInt)n;
	if (!g->started && n > 0) {
		g->started = true;
		if (n < 10 || g->in[0] != 0x1f || g->in[1] != 0x8b || g->in[2] != 8)
			return gz_fail(g, VERIFY_NOT_A_BUNDLE, "not a gzip file");
	}
	return 0;
}

/* Inflate the next piece: *len bytes at g->out; 0 with *len 0 at the end of
 * the gzip member; -1 on error (g->code). */
static int gz_next(struct gz *g, size_t *len)
{
	*len = 0;
	while (!g->stream_end) {
		int zr;
		size_t produced;

		if (gz_fill(g) < 0)
			return -1;
		if (!g->started)
			return gz_fail(g, VERIFY_NOT_A_BUNDLE, "empty file");
		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		zr = inflate(&g->z, Z_NO_FLUSH);
		produced = sizeof(g->out) - g->z.avail_out;
		if (zr == Z_STREAM_END) {
			g->stream_end = true;
		} else if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_MEM_ERROR ||
			   zr == Z_STREAM_ERROR) {
			char m[160];
			int k = snprintf(m, sizeof(m), "gzip stream is corrupt: %s",
					 g->z.msg ? g->z.msg : "inflate error");
			return gz_fail(g, VERIFY_NOT_A_BUNDLE,
				       k > 0 && (size_t)k < sizeof(m) ? m
								      : "gzip stream is corrupt");
		} else if (produced == 0 && g->eof_in && g->z.avail_in == 0) {
			return gz_fail(g, VERIFY_NOT_A_BUNDLE, "truncated gzip stream");
		}
		g->inflated += produced;
		if (g->inflated > BOUNDS_BUNDLE_INFLATED_MAX)
			return gz_fail(
				g, VERIFY_LIMIT_SIZE,
				"decompressed data exceeds 1088 MiB (decompression bomb guard)");
		if (produced > 0) {
			*len = produced;
			return 0;
		}
	}
	return 0;
}

/* A ustar numeric field: octal digits with optional spaces/NULs; base-256
 * (high bit set) is reported as huge. */
static uint64_t tar_num(const unsigned char *f, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80)
		return UINT64_MAX;
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 4))
			return UINT64_MAX;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	return v;
}

/* A pax body may not override the size (the scanner would lose the header
 * positions; bundle members never need it: 512 MiB fits ustar). */
static int pax_body_done(struct gz *g)
{
	size_t i;

	for (i = 0; i + 6 <= g->pax_len; i++)
		if (g->pax[i] == ' ' && memcmp(g->pax + i + 1, "size=", 5) == 0)
			return gz_fail(g, VERIFY_NOT_A_BUNDLE,
				       "pax extended header overrides an entry size");
	free(g->pax);
	g->pax = NULL;
	return 0;
}

/* Follow the tar headers in the decompressed stream, before libarchive sees
 * the data, so that a pax extended header larger than 64 KiB is refused
 * before it is buffered (§5.2 step 6). */
static int scan_tar(struct gz *g, const unsigned char *d, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (g->pax) {
			size_t k = g->pax_len - g->pax_fill;
			if (k > len - i)
				k = len - i;
			memcpy(g->pax + g->pax_fill, d + i, k);
			g->pax_fill += k;
			i += k;
			g->pos += k;
			if (g->pax_fill == g->pax_len && pax_body_done(g) < 0)
				return -1;
			continue;
		}
		if (g->pos < g->next_hdr) {
			uint64_t k = g->next_hdr - g->pos;
			if (k > len - i)
				k = len - i;
			i += (size_t)k;
			g->pos += k;
			continue;
		}
		{
			size_t k = sizeof(g->hdr) - g->hfill;
			uint64_t size;
			unsigned char type;
			if (k > len - i)
				k = len - i;
			memcpy(g->hdr + g->hfill, d + i, k);
			g->hfill += k;
			i += k;
			g->pos += k;
			if (g->hfill < sizeof(g->hdr))
				continue;
			g->hfill = 0;
			type = g->hdr[156];
			size = tar_num(g->hdr + 124, 12);
			if (type == '1' || type == '2' || type == '3' || type == '4' ||
			    type == '5' || type == '6')
				size = 0; /* no data follows these */
			if ((type == 'x' || type == 'g') && size > BOUNDS_BUNDLE_PAX_MAX)
				return gz_fail(g, VERIFY_LIMIT_SIZE,
					       "pax extended header larger than 64 KiB");
			if (size > BOUNDS_BUNDLE_INFLATED_MAX)
				size = BOUNDS_BUNDLE_INFLATED_MAX; /* the inflate limit fails first
								    */
			g->next_hdr = g->pos + ((size + 511) & ~(uint64_t)511);
			if (type == 'x' && size > 0) {
				g->pax = malloc((size_t)size);
				if (g->pax == NULL)
					return gz_fail(g, VERIFY_IO, "out of memory");
				g->pax_len = (size_t)size;
				g->pax_fill = 0;
				/* the body is followed by padding up to next_hdr */
			}
		}
	}
	return 0;
}

static la_ssize_t gz_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct gz *g = ctx;
	size_t len;

	(void)a;
	if (gz_next(g, &len) < 0 || scan_tar(g, g->out, len) < 0) {
		archive_set_error(a, EINVAL, "%s", g->err.msg);
		return -1;
	}
	*buf = g->out;
	return (la_ssize_t)len;
}

/* After the tar end: inflate the rest (zero padding), which also makes zlib
 * check the CRC and length, then require the end of the file. */
static int gz_finish(struct gz *g)
{
	size_t len;
	unsigned char extra;

	do
		if (gz_next(g, &len) < 0)
			return -1;
	while (len > 0 || !g->stream_end);
	if (g->z.avail_in > 0 || (!g->eof_in && read_fd(g->fd, &extra, 1) > 0))
		return gz_fail(g, VERIFY_NOT_A_BUNDLE, "data after the end of the gzip stream");
	return 0;
}

/* ---- the hashing thread ------------------------------------------------------ */

/* Without hooks, file data is hashed on a second thread while the first one
 * inflates and parses (SHA-256 and inflate cost about the same).  Results are
 * those of the sequential order: a mismatch in an earlier file is reported in
 * place of any later error. */
enum { HASH_SLOTS = 8 };

struct hslot {
	unsigned char data[VERIFY_CHUNK];
	size_t len;
	bool end; /* end of a file: compare with want */
	long idx; /* its MANIFEST line */
	uint8_t want[32];
};

struct hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hslot slots[HASH_SLOTS];
	size_t head, count; /* queue of published slots */
	bool busy, quit;
	long bad_idx; /* first file whose hash differed, or -1 */
	uint8_t bad_got[32];
};

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;
	struct sha256 s;

	sha256_init(&s);
	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct hslot *sl;
		while (h->count == 0 && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->count == 0)
			break;
		sl = &h->slots[h->head];
		h->busy = true;
		pthread_mutex_unlock(&h->mu);
		if (sl->end) {
			uint8_t got[32];
			sha256_final(&s, got);
			sha256_init(&s);
			if (memcmp(got, sl->want, 32) != 0) {
				pthread_mutex_lock(&h->mu);
				if (h->bad_idx < 0) {
					h->bad_idx = sl->idx;
					memcpy(h->bad_got, got, 32);
				}
				pthread_mutex_unlock(&h->mu);
			}
		} else {
			sha256_update(&s, sl->data, sl->len);
		}
		pthread_mutex_lock(&h->mu);
		h->head = (h->head + 1) % HASH_SLOTS;
		h->count--;
		h->busy = false;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	{
		uint8_t unused[32];
		sha256_final(&s, unused); /* releases the context */
	}
	return NULL;
}

static struct hasher *hasher_start(void)
{
	struct hasher *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->bad_idx = -1;
	if (pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return NULL;
	}
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	if (pthread_create(&h->th, NULL, hasher_main, h) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

/* The next free slot (owned by the caller until hasher_publish). */
static struct hslot *hasher_acquire(struct hasher *h)
{
	struct hslot *sl;

	pthread_mutex_lock(&h->mu);
	while (h->count == HASH_SLOTS)
		pthread_cond_wait(&h->cv, &h->mu);
	sl = &h->slots[(h->head + h->count) % HASH_SLOTS];
	pthread_mutex_unlock(&h->mu);
	return sl;
}

static void hasher_publish(struct hasher *h)
{
	pthread_mutex_lock(&h->mu);
	h->count++;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Wait until everything published is hashed; the first mismatching line or -1. */
static long hasher_settle(struct hasher *h, uint8_t got[32])
{
	long bad;

	pthread_mutex_lock(&h->mu);
	while (h->count > 0 || h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	bad = h->bad_idx;
	memcpy(got, h->bad_got, 32);
	pthread_mutex_unlock(&h->mu);
	return bad;
}

static long hasher_peek(struct hasher *h)
{
	long bad;

	pthread_mutex_lock(&h->mu);
	bad = h->bad_idx;
	pthread_mutex_unlock(&h->mu);
	return bad;
}

static void hasher_stop(struct hasher *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->quit = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* ---- the structure pass ---------------------------------------------------- */

struct pass {
	const struct verify_opts *o;
	struct verify_result *r;
	struct errbuf *e;
	struct archive *a;
	struct gz *g;
	char **dirs; /* directories seen (relative), for entry-duplicate */
	size_t ndirs, capdirs;
	bool *file_seen;
	size_t next_file; /* files seen so far = the MANIFEST line the next must be */
	char order_err[ERRBUF_SIZE / 2];
	uint64_t sum;
	struct hasher *hs; /* NULL: hash in this thread */
	unsigned char buf[VERIFY_CHUNK];
};

static void short_hex(const uint8_t *h, char out[9]);

/* With the hashing thread: report a mismatch found there (earlier in the
 * stream than anything the caller is about to report). */
static int settle_hashes(struct pass *p)
{
	uint8_t got[32];
	long bad;
	char a8[9], m8[9];
	const struct manifest_entry *me;

	if (p->hs == NULL)
		return 0;
	bad = hasher_settle(p->hs, got);
	if (bad < 0)
		return 0;
	me = manifest_entry(p->r->manifest, (size_t)bad);
	short_hex(me->sha256, m8);
	short_hex(got, a8);
	p->r->code = VERIFY_ENTRY_SHA256;
	err_set(p->e, "%s (manifest %s..., archive %s...)", me->path, m8, a8);
	return -1;
}

static int fail(struct pass *p, enum verify_code c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pass *p, enum verify_code c, const char *fmt, ...)
{
	va_list ap;
	char m[ERRBUF_SIZE];

	if (settle_hashes(p) < 0)
		return -1;
	/* a failure of the gzip source explains any libarchive error it caused */
	if (p->g->code != VERIFY_OK) {
		p->r->code = p->g->code;
		err_set(p->e, "%s", p->g->err.msg);
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap); /* truncation only shortens the message */
	va_end(ap);
	p->r->code = c;
	err_set(p->e, "%s", m);
	return -1;
}

static bool path_byte_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '/';
}

/* §5.2 entry-path rules on a full archive path (a directory may end in '/'). */
static const char *path_problem(const char *path, bool is_dir)
{
	size_t len = strlen(path), i, comp = 0;

	if (len == 0)
		return "empty path";
	if (path[0] == '/')
		return "absolute path";
	if (len > BOUNDS_BUNDLE_ENTRY_PATH_MAX)
		return "path longer than 255 bytes";
	if (is_dir && path[len - 1] == '/')
		len--;
	for (i = 0; i <= len; i++) {
		if (i == len || path[i] == '/') {
			size_t cl = i - comp;
			if (cl == 0)
				return "empty path component";
			if (cl == 1 && path[comp] == '.')
				return "'.' path component";
			if (cl == 2 && path[comp] == '.' && path[comp + 1] == '.')
				return "'..' path component";
			comp = i + 1;
			continue;
		}
		if (!path_byte_ok(path[i]))
			return "byte outside [A-Za-z0-9._/-]";
	}
	return NULL;
}

static const char *type_name(mode_t t)
{
	switch (t) {
	case AE_IFLNK:
		return "symbolic link";
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "FIFO";
	case AE_IFSOCK:
		return "socket";
	default:
		return "entry of unknown type";
	}
}

/* Type, set-id and metadata rules shared by every entry. */
static int check_kind(struct pass *p, struct archive_entry *ent, const char *path)
{
	mode_t t = archive_entry_filetype(ent);
	const char *hl = archive_entry_hardlink(ent), *sl = archive_entry_symlink(ent);

	if (hl != NULL)
		return fail(p, VERIFY_ENTRY_TYPE, "%s: hard link to '%.200s'", path, hl);
	if (t != AE_IFDIR && t != AE_IFREG) {
		if (t == AE_IFLNK)
			return fail(p, VERIFY_ENTRY_TYPE, "%s: symbolic link to '%.200s'", path,
				    sl ? sl : "");
		return fail(p, VERIFY_ENTRY_TYPE, "%s: %s", path, type_name(t));
	}
	if (archive_entry_mode(ent) & 07000)
		return fail(p, VERIFY_ENTRY_SETID,
			    "%s: mode %04o has a setuid, setgid or sticky bit", path,
			    (unsigned)(archive_entry_mode(ent) & 07777));
	if (archive_entry_xattr_count(ent) > 0)
		return fail(p, VERIFY_ENTRY_TYPE, "%s: has extended attributes", path);
	if (archive_entry_acl_types(ent) != 0)
		return fail(p, VERIFY_ENTRY_TYPE, "%s: has ACLs", path);
	if (archive_entry_sparse_count(ent) > 0)
		return fail(p, VERIFY_ENTRY_TYPE, "%s: is a sparse file", path);
	if (archive_entry_fflags_text(ent) != NULL)
		return fail(p, VERIFY_ENTRY_TYPE, "%s: has file flags", path);
	return 0;
}

static int check_format(struct pass *p, const char *path)
{
	int f = archive_format(p->a);

	if (f != ARCHIVE_FORMAT_TAR_USTAR && f != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE &&
	    f != ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
		return fail(p, VERIFY_NOT_A_BUNDLE, "%s: tar format '%s' is not ustar or pax", path,
			    archive_format_name(p->a) ? archive_format_name(p->a) : "?");
	return 0;
}

static void short_hex(const uint8_t *h, char out[9])
{
	if (hex_encode(h, 4, out, 9) < 0)
		out[0] = '\0';
}

/* The top-level directory: a directory named per §1.4. */
static int top_dir(struct pass *p, struct archive_entry *ent, const char *path)
{
	size_t len = strlen(path);
	struct bname b;
	struct errbuf le;
	const char *fname = p->o->file_name;

	if (archive_entry_filetype(ent) != AE_IFDIR || archive_entry_hardlink(ent) != NULL)
		return fail(p, VERIFY_BAD_TOP_DIR, "first entry '%.200s' is not a directory", path);
	if (len > 0 && path[len - 1] == '/')
		len--;
	if (len == 0 || len > BNAME_NAME_MAX || memchr(path, '/', len) != NULL ||
	    path_problem(path, true) != NULL || bname_parse(path, len, true, &b, &le) < 0)
		return fail(p, VERIFY_BAD_TOP_DIR,
			    "first entry '%.200s' is not a bundle directory "
			    "(agent-bundle-<platform>__<stamp>-<id>-<fp12>/)",
			    path);
	memcpy(p->r->name, path, len);
	p->r->name[len] = '\0';
	if (check_kind(p, ent, path) < 0)
		return -1;
	if ((archive_entry_perm(ent) & 07777) != 0755)
		return fail(p, VERIFY_ENTRY_MODE, "%s: directory mode %04o, expected 0755", path,
			    (unsigned)(archive_entry_perm(ent) & 07777));
	/* §5.3: a file name that parses must be <top-level dir>.tar.gz */
	if (fname == NULL && p->o->path) {
		fname = strrchr(p->o->path, '/');
		fname = fname ? fname + 1 : p->o->path;
	}
	if (fname) {
		size_t fl = strlen(fname);
		if (bname_parse(fname, fl, true, &b, NULL) == 0) {
			if (fl != len + 7 || memcmp(fname, p->r->name, len) != 0 ||
			    strcmp(fname + len, ".tar.gz") != 0)
				return fail(
					p, VERIFY_NAME_MISMATCH,
					"file name %.240s does not match the bundle's directory %s",
					fname, p->r->name);
		} else if (p->o->warn) {
			char m[ERRBUF_SIZE];
			if ((size_t)snprintf(m, sizeof(m),
					     "file name %.200s is not a bundle name; using the "
					     "bundle's directory name %s",
					     fname, p->r->name) < sizeof(m))
				p->o->warn(p->o->warn_ctx, m);
		}
	}
	return 0;
}

/* The second entry: <name>/MANIFEST, parsed and checked against §2.4. */
static int manifest_entry_(struct pass *p, struct archive_entry *ent, const char *path)
{
	size_t nl = strlen(p->r->name), got = 0, i, n;
	la_int64_t size = archive_entry_size(ent);
	struct bname b;
	char stamp[BNAME_STAMP_LEN + 1], id[BNAME_VERSION_MAX + 1];
	uint8_t fp[32];
	struct errbuf le;

	if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent) != NULL ||
	    strncmp(path, p->r->name, nl) != 0 || strcmp(path + nl, "/MANIFEST") != 0)
		return fail(p, VERIFY_MANIFEST_NOT_FIRST,
			    "second entry is '%.200s', not %s/MANIFEST", path, p->r->name);
	if (check_kind(p, ent, path) < 0)
		return -1;
	if (!archive_entry_size_is_set(ent) || size < 0 || size > BOUNDS_MANIFEST_MAX)
		return fail(p, VERIFY_MANIFEST_NOT_FIRST, "%s is larger than 1 MiB", path);
	if ((archive_entry_perm(ent) & 07777) != 0644)
		return fail(p, VERIFY_ENTRY_MODE, "MANIFEST: mode %04o, expected 0644",
			    (unsigned)(archive_entry_perm(ent) & 07777));
	p->r->manifest_text = malloc((size_t)size + 1);
	if (p->r->manifest_text == NULL)
		return fail(p, VERIFY_IO, "out of memory");
	while (got < (size_t)size) {
		la_ssize_t k =
			archive_read_data(p->a, p->r->manifest_text + got, (size_t)size - got);
		if (k <= 0)
			return fail(p, VERIFY_NOT_A_BUNDLE, "MANIFEST: %s",
				    k < 0 && archive_error_string(p->a) ? archive_error_string(p->a)
									: "truncated");
		got += (size_t)k;
	}
	p->r->manifest_text[got] = '\0';
	p->r->manifest_len = got;
	if (manifest_parse(p->r->manifest_text, got, &p->r->manifest, &le) < 0)
		return fail(p, VERIFY_MANIFEST_SYNTAX, "MANIFEST %s", le.msg);
	sha256_buf(p->r->manifest_text, got, fp);
	if (hex_encode(fp, 32, p->r->fingerprint, sizeof(p->r->fingerprint)) < 0)
		return fail(p, VERIFY_IO, "hex");
	/* both were bounded by manifest_parse to the sizes of these fields */
	if ((size_t)snprintf(p->r->version, sizeof(p->r->version), "%s",
			     manifest_version(p->r->manifest)) >= sizeof(p->r->version) ||
	    (size_t)snprintf(p->r->platform, sizeof(p->r->platform), "%s",
			     manifest_platform(p->r->manifest)) >= sizeof(p->r->platform))
		return fail(p, VERIFY_MANIFEST_SYNTAX, "MANIFEST version or platform too long");
	p->r->files = manifest_count(p->r->manifest);
	p->r->bytes = manifest_total_size(p->r->manifest);
	/* §2.4 */
	if (bname_parse(p->r->name, nl, true, &b, NULL) < 0)
		return fail(p, VERIFY_BAD_TOP_DIR, "%s", p->r->name);
	if (strcmp(b.fp12, "") == 0 || memcmp(b.fp12, p->r->fingerprint, BNAME_FP12_LEN) != 0)
		return fail(p, VERIFY_FINGERPRINT_MISMATCH,
			    "MANIFEST fingerprint %.12s does not match the name's %s",
			    p->r->fingerprint, b.fp12);
	if (strcmp(b.platform, p->r->platform) != 0)
		return fail(p, VERIFY_NAME_MISMATCH, "name platform %s, MANIFEST platform %s",
			    b.platform, p->r->platform);
	if (bname_id_from_version(p->r->version, strlen(p->r->version), id, sizeof(id), NULL) < 0 ||
	    strcmp(id, b.id) != 0)
		return fail(p, VERIFY_NAME_MISMATCH, "name id %s, MANIFEST version %s", b.id,
			    p->r->version);
	bname_stamp(manifest_sde(p->r->manifest), stamp);
	if (strcmp(stamp, b.stamp) != 0)
		return fail(p, VERIFY_NAME_MISMATCH,
			    "name stamp %s, MANIFEST source_date_epoch %llu (%s)", b.stamp,
			    (unsigned long long)manifest_sde(p->r->manifest), stamp);
	{ /* the directory must be the canonical spelling of that name */
		char canon[BNAME_NAME_MAX + 1];
		if (bname_format(p->r->platform, manifest_sde(p->r->manifest), p->r->version,
				 b.fp12, canon, sizeof(canon), NULL) < 0 ||
		    strcmp(canon, p->r->name) != 0)
			return fail(p, VERIFY_NAME_MISMATCH,
				    "directory %s is not the canonical name %s", p->r->name, canon);
	}
	if (manifest_check_required(p->r->manifest, &le) < 0)
		return fail(p, VERIFY_REQUIRED_FILE_MISSING, "%s", le.msg);
	if (p->o->have_fingerprint && memcmp(fp, p->o->fingerprint, 32) != 0) {
		char want[65];
		if (hex_encode(p->o->fingerprint, 32, want, sizeof(want)) < 0)
			want[0] = '\0';
		return fail(p, VERIFY_FINGERPRINT_MISMATCH, "fingerprint %s, expected %s",
			    p->r->fingerprint, want);
	}
	if (p->o->platform && strcmp(p->o->platform, p->r->platform) != 0)
		return fail(p, VERIFY_PLATFORM_MISMATCH, "bundle is for %s, expected %s",
			    p->r->platform, p->o->platform);
	if (p->r->bytes > BOUNDS_BUNDLE_CONTENT_MAX)
		return fail(p, VERIFY_LIMIT_SIZE, "MANIFEST lists %llu bytes, more than 1 GiB",
			    (unsigned long long)p->r->bytes);
	n = manifest_count(p->r->manifest);
	for (i = 0; i < n; i++)
		if (manifest_entry(p->r->manifest, i)->size > BOUNDS_BUNDLE_MEMBER_MAX)
			return fail(p, VERIFY_LIMIT_SIZE, "%s: listed size is larger than 512 MiB",
				    manifest_entry(p->r->manifest, i)->path);
	p->file_seen = calloc(n ? n : 1, sizeof(bool));
	if (p->file_seen == NULL)
		return fail(p, VERIFY_IO, "out of memory");
	return 0;
}

static int dir_entry(struct pass *p, struct archive_entry *ent, const char *rel)
{
	size_t len = strlen(rel), i;
	char *copy;

	if (len > 0 && rel[len - 1] == '/')
		len--;
	for (i = 0; i < p->ndirs; i++)
		if (strlen(p->dirs[i]) == len && memcmp(p->dirs[i], rel, len) == 0)
			return fail(p, VERIFY_ENTRY_DUPLICATE, "%s/%.*s/: directory appears twice",
				    p->r->name, (int)len, rel);
	if (len == 0)
		return fail(p, VERIFY_ENTRY_DUPLICATE, "%s/: directory appears twice", p->r->name);
	if (!manifest_is_parent_dir(p->r->manifest, rel, len))
		return fail(p, VERIFY_ENTRY_UNLISTED, "%.*s/: directory holds no listed file",
			    (int)len, rel);
	if ((archive_entry_perm(ent) & 07777) != 0755)
		return fail(p, VERIFY_ENTRY_MODE, "%.*s/: directory mode %04o, expected 0755",
			    (int)len, rel, (unsigned)(archive_entry_perm(ent) & 07777));
	if (p->ndirs == p->capdirs) {
		size_t nc = p->capdirs ? p->capdirs * 2 : 16;
		char **nd = realloc(p->dirs, nc * sizeof(*nd));
		if (nd == NULL)
			return fail(p, VERIFY_IO, "out of memory");
		p->dirs = nd;
		p->capdirs = nc;
	}
	copy = strndup(rel, len);
	if (copy == NULL)
		return fail(p, VERIFY_IO, "out of memory");
	p->dirs[p->ndirs++] = copy;
	if (p->o->hooks && p->o->hooks->dir && p->o->hooks->dir(p->o->hooks->ctx, copy, p->e) < 0) {
		p->r->code = VERIFY_HOOK;
		return -1;
	}
	return 0;
}

static int file_entry(struct pass *p, struct archive_entry *ent, const char *rel)
{
	const struct verify_hooks *h = p->o->hooks;
	const struct manifest_entry *me;
	long idx = manifest_find(p->r->manifest, rel);
	la_int64_t size = archive_entry_size(ent);
	struct sha256 s;
	uint8_t got[32];
	uint64_t total = 0;
	char a8[9], m8[9];

	if (idx < 0)
		return fail(p, VERIFY_ENTRY_UNLISTED, "%s: not listed in MANIFEST", rel);
	me = manifest_entry(p->r->manifest, (size_t)idx);
	if (p->file_seen[idx])
		return fail(p, VERIFY_ENTRY_DUPLICATE, "%s: appears twice", rel);
	/* The k-th file must be line k.  A file out of place is remembered: at
	 * the end it is entry-missing if a line was never matched (a file was
	 * left out), else entry-order (files were reordered). */
	if ((size_t)idx != p->next_file && p->order_err[0] == '\0')
		snprintf(p->order_err, sizeof(p->order_err),
			 "%.200s: line %ld of MANIFEST found as file %zu", rel, idx + 1,
			 p->next_file + 1); /* truncation only shortens the message */
	p->file_seen[idx] = true;
	p->next_file++;
	if ((archive_entry_perm(ent) & 07777) != me->mode)
		return fail(p, VERIFY_ENTRY_MODE, "%s: mode %04o, MANIFEST says %04o", rel,
			    (unsigned)(archive_entry_perm(ent) & 07777), me->mode);
	if (!archive_entry_size_is_set(ent) || size < 0 ||
	    (uint64_t)size > BOUNDS_BUNDLE_MEMBER_MAX)
		return fail(p, VERIFY_LIMIT_SIZE, "%s: larger than 512 MiB", rel);
	if ((uint64_t)size != me->size)
		return fail(p, VERIFY_ENTRY_SIZE, "%s: size %lld, MANIFEST says %llu", rel,
			    (long long)size, (unsigned long long)me->size);
	p->sum += (uint64_t)size;
	if (p->sum > BOUNDS_BUNDLE_CONTENT_MAX)
		return fail(p, VERIFY_LIMIT_SIZE, "files add up to more than 1 GiB");
	if (h && h->file_begin && h->file_begin(h->ctx, me, p->e) < 0) {
		p->r->code = VERIFY_HOOK;
		return -1;
	}
	if (p->hs) {
		struct hslot *sl;
		if (hasher_peek(p->hs) >= 0)
			return settle_hashes(p);
		for (;;) {
			la_ssize_t k;
			sl = hasher_acquire(p->hs);
			k = archive_read_data(p->a, sl->data, sizeof(sl->data));
			if (k == 0)
				break;
			if (k < 0)
				return fail(p, VERIFY_NOT_A_BUNDLE, "%s: %s", rel,
					    archive_error_string(p->a) ? archive_error_string(p->a)
								       : "read error");
			total += (uint64_t)k;
			sl->len = (size_t)k;
			sl->end = false;
			hasher_publish(p->hs);
		}
		if (total != me->size)
			return fail(p, VERIFY_ENTRY_SIZE, "%s: %llu data bytes, MANIFEST says %llu",
				    rel, (unsigned long long)total, (unsigned long long)me->size);
		sl->end = true;
		sl->idx = idx;
		memcpy(sl->want, me->sha256, 32);
		hasher_publish(p->hs);
		return 0;
	}
	sha256_init(&s);
	for (;;) {
		la_ssize_t k = archive_read_data(p->a, p->buf, sizeof(p->buf));
		if (k == 0)
			break;
		if (k < 0) {
			sha256_final(&s, got);
			return fail(p, VERIFY_NOT_A_BUNDLE, "%s: %s", rel,
				    archive_error_string(p->a) ? archive_error_string(p->a)
							       : "read error");
		}
		total += (uint64_t)k;
		sha256_update(&s, p->buf, (size_t)k);
		if (h && h->file_data && h->file_data(h->ctx, p->buf, (size_t)k, p->e) < 0) {
			sha256_final(&s, got);
			p->r->code = VERIFY_HOOK;
			return -1;
		}
	}
	sha256_final(&s, got);
	if (total != me->size)
		return fail(p, VERIFY_ENTRY_SIZE, "%s: %llu data bytes, MANIFEST says %llu", rel,
			    (unsigned long long)total, (unsigned long long)me->size);
	if (memcmp(got, me->sha256, 32) != 0) {
		short_hex(me->sha256, m8);
		short_hex(got, a8);
		return fail(p, VERIFY_ENTRY_SHA256, "%s (manifest %s..., archive %s...)", rel, m8,
			    a8);
	}
	if (h && h->file_end && h->file_end(h->ctx, me, p->e) < 0) {
		p->r->code = VERIFY_HOOK;
		return -1;
	}
	return 0;
}

static int later_entry(struct pass *p, struct archive_entry *ent, const char *path)
{
	size_t nl = strlen(p->r->name);
	bool is_dir = archive_entry_filetype(ent) == AE_IFDIR;
	const char *why = path_problem(path, is_dir);

	if (why)
		return fail(p, VERIFY_ENTRY_PATH, "%.200s: %s", path, why);
	if (strncmp(path, p->r->name, nl) != 0 || path[nl] != '/')
		return fail(p, VERIFY_ENTRY_PATH, "%.200s: outside %s/", path, p->r->name);
	if (check_kind(p, ent, path) < 0)
		return -1;
	if (is_dir)
		return dir_entry(p, ent, path + nl + 1);
	return file_entry(p, ent, path + nl + 1);
}

int verify_structure(int fd, const struct verify_opts *o, struct verify_result *r, struct errbuf *e)
{
	struct pass *p;
	struct gz *g;
	struct archive_entry *ent;
	size_t count = 0, i;
	int rc = -1;

	p = calloc(1, sizeof(*p));
	g = calloc(1, sizeof(*g));
	if (p == NULL || g == NULL) {
		free(p);
		free(g);
		r->code = VERIFY_IO;
		err_sys(e, errno, "verify");
		return -1;
	}
	p->o = o;
	p->r = r;
	p->e = e;
	p->g = g;
	g->fd = fd;
	if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
		fail(p, VERIFY_IO, "cannot initialise zlib");
		goto out;
	}
	g->z_ready = true;
	if (o->hooks == NULL)
		p->hs = hasher_start(); /* NULL (no thread): hash here */
	p->a = archive_read_new();
	if (p->a == NULL || archive_read_support_format_tar(p->a) != ARCHIVE_OK) {
		fail(p, VERIFY_IO, "cannot initialise libarchive");
		goto out;
	}
	if (archive_read_open(p->a, g, NULL, gz_read_cb, NULL) != ARCHIVE_OK) {
		fail(p, VERIFY_NOT_A_BUNDLE, "not a tar archive: %s",
		     archive_error_string(p->a) ? archive_error_string(p->a) : "?");
		goto out;
	}
	for (;;) {
		const char *path;
		int hr = archive_read_next_header(p->a, &ent);
		if (hr == ARCHIVE_EOF)
			break;
		if (hr != ARCHIVE_OK) {
			fail(p, VERIFY_NOT_A_BUNDLE, "bad tar header after %zu entries: %s", count,
			     archive_error_string(p->a) ? archive_error_string(p->a) : "?");
			goto out;
		}
		if (++count > BOUNDS_BUNDLE_ENTRIES) {
			fail(p, VERIFY_LIMIT_ENTRIES, "more than %d entries",
			     BOUNDS_BUNDLE_ENTRIES);
			goto out;
		}
		path = archive_entry_pathname(ent);
		if (path == NULL) {
			fail(p, VERIFY_ENTRY_PATH, "entry %zu has no path", count);
			goto out;
		}
		if (check_format(p, path) < 0)
			goto out;
		if (count == 1) {
			if (top_dir(p, ent, path) < 0)
				goto out;
		} else if (count == 2) {
			if (manifest_entry_(p, ent, path) < 0)
				goto out;
		} else if (later_entry(p, ent, path) < 0) {
			goto out;
		}
	}
	if (settle_hashes(p) < 0)
		goto out;
	if (count == 0) {
		fail(p, VERIFY_BAD_TOP_DIR, "archive is empty");
		goto out;
	}
	if (count == 1) {
		fail(p, VERIFY_MANIFEST_NOT_FIRST, "archive has no MANIFEST");
		goto out;
	}
	for (i = 0; i < manifest_count(r->manifest); i++)
		if (!p->file_seen[i]) {
			fail(p, VERIFY_ENTRY_MISSING,
			     "%s: listed in MANIFEST but not in the archive",
			     manifest_entry(r->manifest, i)->path);
			goto out;
		}
	if (p->order_err[0]) {
		fail(p, VERIFY_ENTRY_ORDER, "%s", p->order_err);
		goto out;
	}
	if (gz_finish(g) < 0) {
		fail(p, VERIFY_NOT_A_BUNDLE, "gzip");
		goto out;
	}
	r->code = VERIFY_OK;
	rc = 0;
out:
	hasher_stop(p->hs);
	if (p->a)
		archive_read_free(p->a);
	if (g->z_ready)
		inflateEnd(&g->z);
	free(g->pax);
	for (i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	free(p->file_seen);
	free(p);
	free(g);
	return rc;
}

/* ---- the whole check ------------------------------------------------------- */

static int vfail(struct verify_result *r, struct errbuf *e, enum verify_code c, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));

static int vfail(struct verify_result *r, struct errbuf *e, enum verify_code c, const char *fmt,
		 ...)
{
	va_list ap;
	char m[ERRBUF_SIZE];

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap); /* truncation only shortens the message */
	va_end(ap);
	r->code = c;
	err_set(e, "%s", m);
	return -1;
}

static int check_signature(const struct verify_opts *o, struct verify_result *r, struct errbuf *e)
{
	char sp[4096];
	uint8_t sig[4096];
	ssize_t n;
	int fd;
	struct errbuf le;

	if (o->insecure_no_signature)
		return 0;
	if (o->keys == NULL || sig_keyset_count(o->keys) == 0)
		return vfail(r, e, VERIFY_NO_TRUSTED_KEY,
			     "no trusted key (give --pubkey FILE, or --insecure-no-signature)");
	if (o->sig_path) {
		if ((size_t)snprintf(sp, sizeof(sp), "%s", o->sig_path) >= sizeof(sp))
			return vfail(r, e, VERIFY_IO, "signature path too long");
	} else if (sig_path_for(o->path, sp, sizeof(sp), &le) < 0) {
		return vfail(r, e, VERIFY_IO, "%s", le.msg);
	}
	fd = open(sp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return vfail(r, e, VERIFY_SIGNATURE_MISSING, "%s: no such file", sp);
		return vfail(r, e, VERIFY_IO, "open %s: %s", sp, strerror(errno));
	}
	{
		size_t got = 0;
		while (got < sizeof(sig) && (n = read_fd(fd, sig + got, sizeof(sig) - got)) > 0)
			got += (size_t)n;
		close(fd);
		if (n < 0)
			return vfail(r, e, VERIFY_IO, "read %s", sp);
		switch (sig_verify_hash(o->keys, r->file_sha256, sig, got, r->key_id, &le)) {
		case SIG_OK:
			r->signature_verified = true;
			return 0;
		case SIG_MALFORMED:
			return vfail(r, e, VERIFY_SIGNATURE_MALFORMED, "%s: %s", sp, le.msg);
		default:
			return vfail(r, e, VERIFY_SIGNATURE_INVALID, "%s: %s", sp, le.msg);
		}
	}
}

int verify_bundle(const struct verify_opts *o, struct verify_result *r, struct errbuf *e)
{
	struct stat st;
	int fd, rc = -1;

	memset(r, 0, sizeof(*r));
	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vfail(r, e, VERIFY_IO, "open %s: %s", o->path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		vfail(r, e, VERIFY_IO, "stat %s: %s", o->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		vfail(r, e, VERIFY_NOT_A_BUNDLE, "%s is not a regular file", o->path);
		goto out;
	}
	if ((uint64_t)st.st_size > BOUNDS_BUNDLE_FILE_MAX) {
		vfail(r, e, VERIFY_LIMIT_SIZE, "%s is %lld bytes, more than 512 MiB", o->path,
		      (long long)st.st_size);
		goto out;
	}
	if (!o->structure_only && o->size >= 0 && st.st_size != o->size) {
		vfail(r, e, VERIFY_LIMIT_SIZE, "%s is %lld bytes, expected %lld", o->path,
		      (long long)st.st_size, (long long)o->size);
		goto out;
	}
	if (!o->structure_only) {
		struct errbuf le;
		if (sha256_fd(fd, o->path, r->file_sha256, &le) < 0) {
			vfail(r, e, VERIFY_IO, "%s", le.msg);
			goto out;
		}
		if (o->have_sha256 && memcmp(o->sha256, r->file_sha256, 32) != 0) {
			char got[65], want[65];
			if (hex_encode(r->file_sha256, 32, got, sizeof(got)) < 0 ||
			    hex_encode(o->sha256, 32, want, sizeof(want)) < 0)
				got[0] = want[0] = '\0';
			vfail(r, e, VERIFY_SHA256_MISMATCH, "%s has sha256 %s, expected %s",
			      o->path, got, want);
			goto out;
		}
		if (check_signature(o, r, e) < 0)
			goto out;
		if (lseek(fd, 0, SEEK_SET) != 0) {
			vfail(r, e, VERIFY_IO, "seek %s: %s", o->path, strerror(errno));
			goto out;
		}
	}
	rc = verify_structure(fd, o, r, e);
out:
	close(fd);
	return rc;
}

void verify_result_free(struct verify_result *r)
{
	manifest_free(r->manifest);
	free(r->manifest_text);
	r->manifest = NULL;
	r->manifest_text = NULL;
}

int verify_parse_sha256_file(const char *text, size_t len, uint8_t out[32], struct errbuf *e)
{
	size_t i = 0, start;

	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	start = i;
	while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
		i++;
	if (i - start != 64 || hex_decode(text + start, 64, out, 32, NULL, HEX_ALLOW_UPPER) < 0) {
		err_set(e, "first field is not 64 hex digits");
		return -1;
	}
	return 0;
}
