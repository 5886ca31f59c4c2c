/*
 * bundle_craft: make damaged copies of a bundle for the verification tests
 * (spec bundle-install-update.md §24.3).  Reads IN.tar.gz completely, applies
 * one operation to the entry list, and writes OUT.tar.gz (pax restricted tar,
 * gzip by zlib).  PATH arguments are relative to the top-level directory.
 *
 *   bundle_craft IN OUT copy
 *   bundle_craft IN OUT flip-body PATH         flip one byte of a file's data
 *   bundle_craft IN OUT flip-manifest          change one hex digit in MANIFEST
 *   bundle_craft IN OUT add-file PATH          an extra regular file
 *   bundle_craft IN OUT add-dir PATH/          an extra directory
 *   bundle_craft IN OUT drop PATH              remove an entry
 *   bundle_craft IN OUT mode PATH OCTAL        change an entry's mode (04755: setuid)
 *   bundle_craft IN OUT rename PATH FULLPATH   give an entry an arbitrary archive path
 *   bundle_craft IN OUT symlink PATH TARGET    add a symbolic link
 *   bundle_craft IN OUT hardlink PATH TARGET   add a hard link (TARGET: full archive path)
 *   bundle_craft IN OUT chardev PATH           add a character device node
 *   bundle_craft IN OUT fifo PATH              add a FIFO
 *   bundle_craft IN OUT swap PATH1 PATH2       exchange the positions of two entries
 *   bundle_craft IN OUT manifest-last          move MANIFEST to the end
 *   bundle_craft IN OUT resize PATH            append a byte to a file's data
 *   bundle_craft IN OUT retop NAME             rename the top-level directory
 *   bundle_craft IN OUT many-files N           add N empty files, listed in a new MANIFEST
 *                                              (name and fingerprint made consistent)
 *   bundle_craft IN OUT pad MIB                MIB MiB of zeros after the tar end (a bomb)
 *   bundle_craft IN OUT xattr PATH BYTES       give a file an extended attribute of BYTES
 *                                              bytes (pax header: 70000 passes 64 KiB)
 *   bundle_craft IN OUT gnutar                 write GNU tar format instead of pax
 *   bundle_craft IN OUT flip-raw OFFSET        flip a byte of the compressed file itself
 */
#include "bname.h"
#include "buf.h"
#include "hex.h"
#include "manifest.h"
#include "num.h"
#include "sha256.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct ent {
	char *path, *link;
	unsigned type, mode;
	int hard;
	size_t xattr;
	unsigned char *data;
	size_t size;
};

static struct ent *ents;
static size_t nents;
static char top[512];

static void die(const char *m)
{
	fprintf(stderr, "bundle_craft: %s\n", m);
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *c = strdup(s);
	if (c == NULL)
		die("out of memory");
	return c;
}

static void read_in(const char *in)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, in, 65536) != ARCHIVE_OK)
		die(archive_error_string(a));
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct ent *x;
		ents = realloc(ents, (nents + 1) * sizeof(*ents));
		if (ents == NULL)
			die("out of memory");
		x = &ents[nents++];
		memset(x, 0, sizeof(*x));
		x->path = xstrdup(archive_entry_pathname(e));
		x->type = archive_entry_filetype(e);
		x->mode = archive_entry_perm(e);
		x->size = (size_t)archive_entry_size(e);
		x->data = malloc(x->size + 1);
		if (x->data == NULL ||
		    archive_read_data(a, x->data, x->size) != (la_ssize_t)x->size)
			die("cannot read entry data");
	}
	archive_read_free(a);
	if (nents < 2)
		die("input has fewer than two entries");
	snprintf(top, sizeof(top), "%s", ents[0].path);
}

static long find(const char *rel)
{
	char full[1024];
	size_t i;

	snprintf(full, sizeof(full), "%s%s", top, rel);
	for (i = 0; i < nents; i++)
		if (strcmp(ents[i].path, full) == 0)
			return (long)i;
	fprintf(stderr, "bundle_craft: no entry %s\n", full);
	exit(1);
}

static struct ent *append(const char *rel, unsigned type, unsigned mode)
{
	char full[1024];
	struct ent *x;

	snprintf(full, sizeof(full), "%s%s", top, rel);
	ents = realloc(ents, (nents + 1) * sizeof(*ents));
	if (ents == NULL)
		die("out of memory");
	x = &ents[nents++];
	memset(x, 0, sizeof(*x));
	x->path = xstrdup(full);
	x->type = type;
	x->mode = mode;
	return x;
}

/* ---- output: libarchive (no filter) into zlib gzip ---- */

static z_stream z;
static FILE *out;

static void deflate_some(const void *buf, size_t len, int flush)
{
	unsigned char o[65536];
	int zr;

	z.next_in = (Bytef *)(uintptr_t)buf;
	z.avail_in = (uInt)len;
	do {
		z.next_out = o;
		z.avail_out = sizeof(o);
		zr = deflate(&z, flush);
		if (zr == Z_STREAM_ERROR)
			die("deflate");
		if (fwrite(o, 1, sizeof(o) - z.avail_out, out) != sizeof(o) - z.avail_out)
			die("write");
	} while (z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
}

static la_ssize_t wcb(struct archive *a, void *ctx, const void *buf, size_t len)
{
	(void)a;
	(void)ctx;
	deflate_some(buf, len, Z_NO_FLUSH);
	return (la_ssize_t)len;
}

static void write_out(const char *path, int gnu, unsigned long pad_mib)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t i;

	out = fopen(path, "wb");
	if (out == NULL)
		die("cannot open output");
	if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, pad_mib ? Z_RLE : Z_DEFAULT_STRATEGY) != Z_OK)
		die("zlib");
	if (gnu)
		archive_write_set_format_gnutar(a);
	else
		archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_none(a);
	archive_write_set_bytes_per_block(a, 10240);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, NULL, NULL, wcb, NULL, NULL) != ARCHIVE_OK)
		die(archive_error_string(a));
	for (i = 0; i < nents; i++) {
		struct ent *x = &ents[i];
		archive_entry_clear(e);
		archive_entry_set_pathname(e, x->path);
		archive_entry_set_filetype(e, x->type);
		archive_entry_set_perm(e, x->mode);
		archive_entry_set_uname(e, "root");
		archive_entry_set_gname(e, "root");
		archive_entry_set_mtime(e, 1772366400, 0);
		if (x->type == AE_IFLNK)
			archive_entry_set_symlink(e, x->link);
		if (x->hard)
			archive_entry_set_hardlink(e, x->link);
		if (x->type == AE_IFCHR)
			archive_entry_set_rdev(e, 0x0103);
		if (x->xattr) {
			char *v = malloc(x->xattr);
			if (v == NULL)
				die("out of memory");
			memset(v, 'A', x->xattr);
			archive_entry_xattr_add_entry(e, "user.big", v, x->xattr);
			free(v);
		}
		archive_entry_set_size(e,
				       x->type == AE_IFREG && !x->hard ? (la_int64_t)x->size : 0);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			die(archive_error_string(a));
		if (x->type == AE_IFREG && !x->hard && x->size &&
		    archive_write_data(a, x->data, x->size) != (la_ssize_t)x->size)
			die(archive_error_string(a));
	}
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	if (pad_mib) {
		static unsigned char zero[1 << 20];
		unsigned long m;
		for (m = 0; m < pad_mib; m++)
			deflate_some(zero, sizeof(zero), Z_NO_FLUSH);
	}
	deflate_some(NULL, 0, Z_FINISH);
	deflateEnd(&z);
	if (fclose(out) != 0)
		die("close");
}

static unsigned long num(const char *s)
{
	uint64_t v;
	if (num_parse_u64(s, strlen(s), &v) < 0)
		die("bad number");
	return (unsigned long)v;
}

static unsigned octal(const char *s)
{
	unsigned v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			die("bad octal mode");
		v = v * 8 + (unsigned)(*s - '0');
	}
	return v;
}

static void flip_raw(const char *in, const char *outp, unsigned long off)
{
	FILE *f = fopen(in, "rb"), *o = fopen(outp, "wb");
	int c;
	unsigned long i = 0;

	if (f == NULL || o == NULL)
		die("open");
	while ((c = getc(f)) != EOF) {
		if (i++ == off)
			c ^= 0x55;
		putc(c, o);
	}
	fclose(f);
	if (fclose(o) != 0)
		die("close");
}

static int cmp_path(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	char px[1024], py[1024];
	snprintf(px, sizeof(px), "%s%s", x->path,
		 x->type == AE_IFDIR && x->path[strlen(x->path) - 1] != '/' ? "/" : "");
	snprintf(py, sizeof(py), "%s%s", y->path,
		 y->type == AE_IFDIR && y->path[strlen(y->path) - 1] != '/' ? "/" : "");
	return strcmp(px, py);
}

/* Add n empty files x/fNNNNN, rewrite MANIFEST, rename everything after the
 * new fingerprint. */
static void many_files(unsigned long n)
{
	struct manifest *m, *nm;
	struct buf *b = buf_new(1024 * 1024 + 1);
	struct errbuf e;
	uint8_t fp[32], empty[32];
	char hex[65], fp12[13], name[300];
	size_t i, oldlen = strlen(top);
	unsigned long k;
	long mi = find("MANIFEST");

	if (manifest_parse((char *)ents[mi].data, ents[mi].size, &m, &e) < 0)
		die(e.msg);
	nm = manifest_new(manifest_version(m), manifest_platform(m), manifest_sde(m), &e);
	if (nm == NULL)
		die(e.msg);
	for (i = 0; i < manifest_count(m); i++)
		if (manifest_add(nm, manifest_entry(m, i), &e) < 0)
			die(e.msg);
	sha256_buf("", 0, empty);
	append("x/", AE_IFDIR, 0755);
	for (k = 0; k < n; k++) {
		struct manifest_entry me;
		struct ent *x;
		memset(&me, 0, sizeof(me));
		memcpy(me.sha256, empty, 32);
		me.mode = 0644;
		snprintf(me.path, sizeof(me.path), "x/f%05lu", k);
		if (manifest_add(nm, &me, &e) < 0)
			die(e.msg);
		x = append(me.path, AE_IFREG, 0644);
		x->data = malloc(1);
	}
	if (manifest_format(nm, b, &e) < 0)
		die(e.msg);
	free(ents[mi].data);
	ents[mi].size = buf_len(b);
	ents[mi].data = (unsigned char *)buf_steal(b, NULL);
	sha256_buf(ents[mi].data, ents[mi].size, fp);
	hex_encode(fp, 32, hex, sizeof(hex));
	memcpy(fp12, hex, 12);
	fp12[12] = '\0';
	if (bname_format(manifest_platform(nm), manifest_sde(nm), manifest_version(nm), fp12, name,
			 sizeof(name), &e) < 0)
		die(e.msg);
	for (i = 0; i < nents; i++) {
		char np[1024];
		snprintf(np, sizeof(np), "%s/%s", name, ents[i].path + oldlen);
		free(ents[i].path);
		ents[i].path = xstrdup(np);
	}
	qsort(ents, nents, sizeof(*ents), cmp_path);
	manifest_free(m);
	manifest_free(nm);
	buf_free(b);
}

int main(int argc, char **argv)
{
	const char *op;
	unsigned long pad = 0;
	int gnu = 0;

	if (argc < 4)
		die("usage: bundle_craft IN OUT OP [ARGS] (see the source)");
	op = argv[3];
	if (strcmp(op, "flip-raw") == 0 && argc == 5) {
		flip_raw(argv[1], argv[2], num(argv[4]));
		return 0;
	}
	read_in(argv[1]);
	if (strcmp(op, "copy") == 0) {
	} else if (strcmp(op, "flip-body") == 0 && argc == 5) {
		struct ent *x = &ents[find(argv[4])];
		if (x->size == 0)
			die("empty file");
		x->data[x->size / 2] ^= 0x01;
	} else if (strcmp(op, "flip-manifest") == 0) {
		struct ent *x = &ents[find("MANIFEST")];
		char *nl = memchr(x->data, '\n', x->size);
		int line = 1;
		while (nl && line < 5) { /* to the first file line */
			nl = memchr(nl + 1, '\n', x->size - (size_t)(nl + 1 - (char *)x->data));
			line++;
		}
		if (nl == NULL)
			die("MANIFEST has no file line");
		nl[1] = nl[1] == '0' ? '1' : '0';
	} else if (strcmp(op, "add-file") == 0 && argc == 5) {
		struct ent *x = append(argv[4], AE_IFREG, 0644);
		x->data = (unsigned char *)xstrdup("extra\n");
		x->size = 6;
	} else if (strcmp(op, "add-dir") == 0 && argc == 5) {
		append(argv[4], AE_IFDIR, 0755);
	} else if (strcmp(op, "drop") == 0 && argc == 5) {
		long i = find(argv[4]);
		memmove(&ents[i], &ents[i + 1], (nents - (size_t)i - 1) * sizeof(*ents));
		nents--;
	} else if (strcmp(op, "mode") == 0 && argc == 6) {
		ents[find(argv[4])].mode = octal(argv[5]);
	} else if (strcmp(op, "rename") == 0 && argc == 6) {
		struct ent *x = &ents[find(argv[4])];
		x->path = xstrdup(argv[5]);
	} else if (strcmp(op, "symlink") == 0 && argc == 6) {
		append(argv[4], AE_IFLNK, 0777)->link = xstrdup(argv[5]);
	} else if (strcmp(op, "hardlink") == 0 && argc == 6) {
		struct ent *x = append(argv[4], AE_IFREG, 0644);
		x->hard = 1;
		x->link = xstrdup(argv[5]);
	} else if (strcmp(op, "chardev") == 0 && argc == 5) {
		append(argv[4], AE_IFCHR, 0644);
	} else if (strcmp(op, "fifo") == 0 && argc == 5) {
		append(argv[4], AE_IFIFO, 0644);
	} else if (strcmp(op, "swap") == 0 && argc == 6) {
		long i = find(argv[4]), j = find(argv[5]);
		struct ent t = ents[i];
		ents[i] = ents[j];
		ents[j] = t;
	} else if (strcmp(op, "manifest-last") == 0) {
		long i = find("MANIFEST");
		struct ent t = ents[i];
		memmove(&ents[i], &ents[i + 1], (nents - (size_t)i - 1) * sizeof(*ents));
		ents[nents - 1] = t;
	} else if (strcmp(op, "resize") == 0 && argc == 5) {
		struct ent *x = &ents[find(argv[4])];
		x->data = realloc(x->data, x->size + 1);
		x->data[x->size++] = 'X';
	} else if (strcmp(op, "retop") == 0 && argc == 5) {
		size_t i, ol = strlen(top);
		for (i = 0; i < nents; i++) {
			char np[1024];
			snprintf(np, sizeof(np), "%s/%s", argv[4], ents[i].path + ol);
			ents[i].path = xstrdup(np);
		}
	} else if (strcmp(op, "many-files") == 0 && argc == 5) {
		many_files(num(argv[4]));
	} else if (strcmp(op, "pad") == 0 && argc == 5) {
		pad = num(argv[4]);
	} else if (strcmp(op, "xattr") == 0 && argc == 6) {
		ents[find(argv[4])].xattr = num(argv[5]);
	} else if (strcmp(op, "gnutar") == 0) {
		gnu = 1;
	} else {
		die("unknown operation or wrong arguments");
	}
	write_out(argv[2], gnu, pad);
	return 0;
}
