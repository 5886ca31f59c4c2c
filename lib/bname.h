#ifndef BNAME_H
#define BNAME_H
/*
 * Bundle names, platform keys, versions and SOURCE_DATE_EPOCH (spec
 * bundle-install-update.md §1, §3, §13.3).  Pure functions, no I/O.
 *
 *   agent-bundle-<platform>__<stamp>-<id>-<fp12>
 *
 * Every function returning int returns 0, or -1 with a reason in e.
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	BNAME_PLATFORM_MAX = 64, /* bytes of a normalised platform key */
	BNAME_VERSION_MAX = 64,  /* bytes of a version (= the id's maximum, §1.4) */
	BNAME_STAMP_LEN = 14,    /* YYYYmmddHHMMSS */
	BNAME_FP12_LEN = 12,
	BNAME_NAME_MAX = 255, /* a name is also the archive's top-level path (§5.2) */
};

/* Largest SOURCE_DATE_EPOCH: the largest ustar mtime (§3). */
#define BNAME_SDE_MAX 8589934591ULL

/* §1.2: normalise the key in[0..len) into out (NUL-terminated).  After the
 * steps of §1.2 the key must be 1..BNAME_PLATFORM_MAX bytes of [a-z0-9._-],
 * contain a '-' with non-empty os and arch, and no "__" (it would break the
 * name grammar); otherwise "invalid platform key '...'". */
int bname_platform_normalize(const char *in, size_t len, char *out, size_t out_size,
			     struct errbuf *e);

/* §1.1: the key of a running system from uname's sysname and machine. */
int bname_platform_from_uname(const char *sysname, const char *machine, char *out, size_t out_size,
			      struct errbuf *e);

/* §13.3 grammar: MAJOR.MINOR.PATCH[-PRE], at most BNAME_VERSION_MAX bytes. */
bool bname_version_valid(const char *v, size_t len);

/* §1.4: the id of version v: every byte outside [0-9A-Za-z._] becomes '_'.
 * 1..64 bytes, else an error. */
int bname_id_from_version(const char *v, size_t len, char *out, size_t out_size, struct errbuf *e);

/* §3: parse a SOURCE_DATE_EPOCH: decimal digits only, no leading zero other
 * than "0" itself, at most BNAME_SDE_MAX.  e: "malformed SOURCE_DATE_EPOCH
 * '...': reason". */
int bname_sde_parse(const char *s, size_t len, uint64_t *out, struct errbuf *e);

/* §1.4: sde as UTC YYYYmmddHHMMSS (no TZ or locale involved). */
void bname_stamp(uint64_t sde, char out[BNAME_STAMP_LEN + 1]);

/* §1.4: the name (without .tar.gz) of a bundle.  platform must be
 * normalised, version valid, fp12 12 lowercase hex. */
int bname_format(const char *platform, uint64_t sde, const char *version, const char *fp12,
		 char *out, size_t out_size, struct errbuf *e);

enum bname_kind {
	BNAME_CURRENT,  /* agent-bundle-<platform>__<stamp>-<id>-<fp12> */
	BNAME_PACKAGER, /* agent-bundle-<platform>__<stamp>-<digits> (display only) */
	BNAME_LEGACY,   /* agent-bundle-linux-x86_64-<anything> (display only) */
};

struct bname {
	enum bname_kind kind;
	char platform[BNAME_PLATFORM_MAX + 1];
	char stamp[BNAME_STAMP_LEN + 1]; /* "" for BNAME_LEGACY */
	char id[BNAME_NAME_MAX + 1];     /* id; the digits; the legacy rest */
	char fp12[BNAME_FP12_LEN + 1];   /* "" unless BNAME_CURRENT */
};

/* §1.4: parse s[0..len) (a trailing ".tar.gz" is removed first).  With
 * current_only, only BNAME_CURRENT is accepted. */
int bname_parse(const char *s, size_t len, bool current_only, struct bname *out, struct errbuf *e);

#endif
