#ifndef VER_H
#define VER_H
/*
 * Release versions (spec bundle-install-update.md §13.3): grammar
 * MAJOR.MINOR.PATCH[-PRE] and semantic-versioning precedence.  Pure.
 *
 * The grammar is the same as bname_version_valid() (lib/bname.h, which the
 * builder uses); the unit test keeps the two in agreement.  At most
 * BNAME_VERSION_MAX (64) bytes: a version becomes the name's id (§1.4).
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VER_MAX 64

struct ver {
	uint32_t major, minor, patch; /* each below 2^31 */
	char pre[VER_MAX + 1];        /* "" when there is no pre-release */
};

/* Parse s[0..len) (no NUL needed; an embedded NUL is refused).  0, or -1
 * with e = "invalid version '...': reason". */
int ver_parse(const char *s, size_t len, struct ver *out, struct errbuf *e);
/* True when s[0..len) matches the grammar. */
bool ver_valid(const char *s, size_t len);

/* Precedence: <0, 0 or >0 as a is lower than, equal to or higher than b. */
int ver_cmp(const struct ver *a, const struct ver *b);
/* Both strings parsed, then compared into *out.  -1 with e when either is
 * not a valid version. */
int ver_cmp_str(const char *a, const char *b, int *out, struct errbuf *e);

#endif
