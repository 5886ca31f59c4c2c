#ifndef INST_TABLE_H
#define INST_TABLE_H
/*
 * Per-instance rate defaults and the instance-type shape test
 * (rate-controller.md §8.1, §8.2).  Pure.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inst_defaults {
	const char *instance_type;
	int64_t starting_rate;
	int64_t floor;
	int64_t ceiling;
};

/* §8.1 lookup: the row for t after trimming ASCII whitespace, matched
 * exactly and case-sensitively; NULL for NULL, "", or an unknown type. */
const struct inst_defaults *inst_lookup(const char *t);
/* The same for t[0..len) (may contain NUL: then no match). */
const struct inst_defaults *inst_lookupn(const char *t, size_t len);

/* §8.2: the whole of s[0..len) matches ^[a-z0-9]+\.[a-z0-9]+$ (no trim). */
bool inst_shape_ok(const char *s, size_t len);

/* The table, for listing (count rows). */
const struct inst_defaults *inst_table(size_t *count);

#endif
