/* The reproducible archive writer (spec bundle-install-update.md §3). */
#include "writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
	WRITER_RECORD = 10240, /* tar record (GNU tar's default blocking factor 20) */
	WRITER_OUTBUF = 64 * 1024,
};

struct writer {
	struct archive *a;
	struct archive_entry *ent;
	uint64_t sde;
	z_stream z;
	bool z_ready, failed, finished;
	writer_sink_fn *sink;
	void *sink_ctx;
	struct errbuf err; /* set by callbacks, reported by the caller's call */
	unsigned char out[WRITER_OUTBUF];
	uint64_t left; /* data bytes still owed to the current file */
};

static int drain(struct writer *w, int flush)
{
	int zr;

	do {
		w->z.next_out = w->out;
		w->z.avail_out = sizeof(w->out);
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR) {
			err_set(&w->err, "gzip: deflate failed");
			return -1;
		}
		if (sizeof(w->out) - w->z.avail_out > 0 &&
		    w->sink(w->sink_ctx, w->out, sizeof(w->out) - w->z.avail_out, &w->err) < 0)
			return -1;
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct writer *w = ctx;

	(void)a;
	if (w->failed)
		return -1;
	w->z.next_in = (Bytef *)(uintptr_t)buf;
	w->z.avail_in = (uInt)len;
	if (drain(w, Z_NO_FLUSH) < 0) {
		w->failed = true;
		return -1;
	}
	return (la_ssize_t)len;
}

static void set_err(struct writer *w, struct errbuf *e, const char *what)
{
	if (w->err.msg[0])
		err_set(e, "%s", w->err.msg);
	else
		err_set(e, "%s: %s", what,
			archive_error_string(w->a) ? archive_error_string(w->a)
						   : "libarchive error");
}

struct writer *writer_new(uint64_t sde, writer_sink_fn *sink, void *sink_ctx, struct errbuf *e)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		err_sys(e, errno, "archive writer");
		return NULL;
	}
	w->sde = sde;
	w->sink = sink;
	w->sink_ctx = sink_ctx;
	/* windowBits 15 + 16: a gzip wrapper.  Without deflateSetHeader zlib
	 * writes MTIME 0, no name, no comment, XFL 2 (level 9), OS 3. */
	if (deflateInit2(&w->z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		err_set(e, "gzip: cannot initialise zlib");
		free(w);
		return NULL;
	}
	w->z_ready = true;
	w->a = archive_write_new();
	w->ent = archive_entry_new();
	if (w->a == NULL || w->ent == NULL) {
		err_set(e, "archive writer: out of memory");
		writer_free(w);
		return NULL;
	}
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, WRITER_RECORD) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, WRITER_RECORD) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		set_err(w, e, "archive writer");
		writer_free(w);
		return NULL;
	}
	return w;
}

static int header(struct writer *w, const char *path, unsigned type, unsigned mode, uint64_t size,
		  struct errbuf *e)
{
	if (w->left != 0) {
		err_set(e, "archive writer: previous file is short by %llu bytes",
			(unsigned long long)w->left);
		return -1;
	}
	archive_entry_clear(w->ent);
	archive_entry_set_pathname(w->ent, path);
	archive_entry_set_filetype(w->ent, type);
	archive_entry_set_perm(w->ent, mode);
	archive_entry_set_uid(w->ent, 0);
	archive_entry_set_gid(w->ent, 0);
	archive_entry_set_uname(w->ent, "root");
	archive_entry_set_gname(w->ent, "root");
	archive_entry_set_mtime(w->ent, (time_t)w->sde, 0);
	archive_entry_set_size(w->ent, (la_int64_t)size);
	if (archive_write_header(w->a, w->ent) != ARCHIVE_OK) {
		set_err(w, e, path);
		return -1;
	}
	w->left = size;
	return 0;
}

int writer_dir(struct writer *w, const char *path, struct errbuf *e)
{
	return header(w, path, AE_IFDIR, 0755, 0, e);
}

int writer_file(struct writer *w, const char *path, unsigned mode, uint64_t size, struct errbuf *e)
{
	return header(w, path, AE_IFREG, mode, size, e);
}

int writer_data(struct writer *w, const void *data, size_t len, struct errbuf *e)
{
	const char *p = data;

	if (len > w->left) {
		err_set(e, "archive writer: more data than the announced size");
		return -1;
	}
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);
		if (n <= 0) {
			set_err(w, e, "archive data");
			return -1;
		}
		p += n;
		len -= (size_t)n;
		w->left -= (uint64_t)n;
	}
	return 0;
}

int writer_finish(struct writer *w, struct errbuf *e)
{
	if (w->left != 0) {
		err_set(e, "archive writer: last file is short by %llu bytes",
			(unsigned long long)w->left);
		return -1;
	}
	if (archive_write_close(w->a) != ARCHIVE_OK) {
		set_err(w, e, "archive close");
		return -1;
	}
	w->z.next_in = NULL;
	w->z.avail_in = 0;
	if (drain(w, Z_FINISH) < 0) {
		err_set(e, "%s", w->err.msg);
		return -1;
	}
	w->finished = true;
	return 0;
}

void writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	w->failed = true; /* a close from archive_write_free must not reach the sink */
	if (w->a)
		archive_write_free(w->a);
	if (w->ent)
		archive_entry_free(w->ent);
	if (w->z_ready)
		deflateEnd(&w->z);
	free(w);
}
