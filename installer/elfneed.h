#ifndef ELFNEED_H
#define ELFNEED_H
/*
 * The DT_NEEDED names of an ELF file (spec bundle-install-update.md §9.3:
 * "the scanner's ELF DT_NEEDED names libpfring").  Reads only the headers,
 * the dynamic section and the string table, through pread with bounds, so
 * a large or hostile file costs little.  32- and 64-bit, either byte order.
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define ELFNEED_MAX 64 /* names kept */
#define ELFNEED_NAME_MAX 255

struct elfneed {
	size_t n;
	char names[ELFNEED_MAX][ELFNEED_NAME_MAX + 1];
};

/* Fill out from the file at path.  A static executable has no names (0,
 * n = 0).  -1 with e when the file is not a readable ELF file. */
int elfneed_read(const char *path, struct elfneed *out, struct errbuf *e);

/* True when some name starts with prefix. */
bool elfneed_has_prefix(const struct elfneed *n, const char *prefix);

#endif
