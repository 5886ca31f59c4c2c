#ifndef MANIFEST_H
#define MANIFEST_H
/*
 * The bundle MANIFEST (spec bundle-install-update.md §2.3) and the rule
 * table of §2.1.  Pure: parsing and formatting work on memory only.
 *
 *   format 1
 *   version 1.4.0
 *   platform linux-x86_64
 *   source_date_epoch 1772366400
 *   <sha256 hex> <0755|0644> <size> <path>     (sorted by path, bytewise)
 */
#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- rule table (§2.1) ---------------------------------------------------- */

struct manifest_rule {
	const char *path; /* bundle path, relative to <name>/ */
	unsigned mode;    /* 0755 or 0644 */
	bool required;
	const char *source; /* repository source, for the audit (§6.2) */
};
/* The rules, sorted by path; *n gets the count. */
const struct manifest_rule *manifest_rules(size_t *n);
/* The rule for path, or NULL. */
const struct manifest_rule *manifest_rule_find(const char *path);

/* ---- MANIFEST ------------------------------------------------------------- */

struct manifest_entry {
	uint8_t sha256[32];
	unsigned mode; /* 0755 or 0644 */
	uint64_t size;
	char path[201]; /* BOUNDS_MANIFEST_PATH_MAX + 1 */
};

struct manifest;

/* §2.3 path rule: [A-Za-z0-9._/-], 1..200 bytes, no empty, "." or ".."
 * component, no leading or trailing '/'. */
bool manifest_path_valid(const char *p, size_t len);

/* Parse buf[0..len) strictly.  On failure e says "line N: reason".  Caller
 * frees *out with manifest_free. */
int manifest_parse(const char *buf, size_t len, struct manifest **out, struct errbuf *e);

/* A new, empty MANIFEST to fill with manifest_add and write with
 * manifest_format.  version and platform are checked (§13.3, §1.2). */
struct manifest *manifest_new(const char *version, const char *platform, uint64_t sde,
			      struct errbuf *e);
/* Add one file (path valid, not MANIFEST, mode 0755/0644, at most
 * BOUNDS_MANIFEST_FILES). */
int manifest_add(struct manifest *m, const struct manifest_entry *ent, struct errbuf *e);
/* Sort the files by path (refusing duplicates) and write the exact bytes to
 * out (reset first).  manifest_entry() order is the sorted order afterwards. */
int manifest_format(struct manifest *m, struct buf *out, struct errbuf *e);
void manifest_free(struct manifest *m);

const char *manifest_version(const struct manifest *m);
const char *manifest_platform(const struct manifest *m);
uint64_t manifest_sde(const struct manifest *m);
size_t manifest_count(const struct manifest *m);
const struct manifest_entry *manifest_entry(const struct manifest *m, size_t i);
/* Index of path, or -1 (binary search: m must be parsed or formatted). */
long manifest_find(const struct manifest *m, const char *path);
/* Sum of the listed sizes. */
uint64_t manifest_total_size(const struct manifest *m);
/* True when dir (without trailing '/') is a parent of some listed file. */
bool manifest_is_parent_dir(const struct manifest *m, const char *dir, size_t len);
/* §2.4: every required rule is listed; else e = "required file(s) not
 * listed: a, b". */
int manifest_check_required(const struct manifest *m, struct errbuf *e);

#endif
