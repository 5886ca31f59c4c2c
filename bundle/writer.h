#ifndef WRITER_H
#define WRITER_H
/*
 * The reproducible archive writer (spec bundle-install-update.md §3): pax
 * restricted (ustar headers) written by libarchive, entry by entry, with every
 * piece of metadata fixed here (owner root:root 0/0, the given mode, mtime
 * SDE with 0 ns, no atime/ctime/xattrs/ACLs/flags), 10240-byte records with
 * the last one padded, compressed by zlib at level 9 into a gzip member with
 * MTIME 0, no name and no comment.
 *
 * The caller adds entries in the archive order of §3; the writer does not
 * sort.  Compressed bytes go to the sink.
 */
#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* Receives compressed output; returns 0, or -1 with e filled. */
typedef int writer_sink_fn(void *ctx, const void *data, size_t len, struct errbuf *e);

struct writer;

struct writer *writer_new(uint64_t sde, writer_sink_fn *sink, void *sink_ctx, struct errbuf *e);
/* A directory entry, mode 0755, size 0 (path may end in '/'). */
int writer_dir(struct writer *w, const char *path, struct errbuf *e);
/* Start a regular file of exactly size bytes; then writer_data until size
 * bytes have been given. */
int writer_file(struct writer *w, const char *path, unsigned mode, uint64_t size, struct errbuf *e);
int writer_data(struct writer *w, const void *data, size_t len, struct errbuf *e);
/* Finish the archive (end blocks, record padding, gzip trailer). */
int writer_finish(struct writer *w, struct errbuf *e);
void writer_free(struct writer *w);

#endif
