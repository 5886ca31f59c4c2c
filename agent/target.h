#ifndef TARGET_H
#define TARGET_H
/*
 * IPv4 target ranges (scan.md §7): strict dotted quads, normalisation for
 * the anyscan --target-range, parsing to an inclusive [start, end], the
 * canonical text form, the shard split and the minimal CIDR list.  Pure, no
 * I/O.  Arithmetic is 64-bit so a /0 has 2^32 addresses.
 */
#include <stddef.h>
#include <stdint.h>

/* "255.255.255.255-255.255.255.255" + NUL */
enum { TARGET_TEXT_MAX = 32, TARGET_CIDR_MAX = 62 };

/* Strict dotted quad: four decimal octets 0-255, no leading zeros, nothing
 * else.  Returns 0 and sets *out, or -1. */
int target_parse_ipv4(const char *s, size_t len, uint32_t *out);
/* Dotted form of v into out (at least 16 bytes). */
void target_format_ipv4(uint32_t v, char *out);

/* §7.1: normalised --target-range of in; returns a new string (caller
 * frees) or NULL on allocation failure. */
char *target_normalize(const char *in);

/* §7.2: parse in to [*start, *end].  0 on success, -1 for "none". */
int target_parse_range(const char *in, uint32_t *start, uint32_t *end);

/* §7.3: "a.b.c.d" when s == e, else "s-e"; out holds TARGET_TEXT_MAX. */
void target_format_range(uint32_t s, uint32_t e, char *out);

/* §7.4: split in into at most n shards.  On success *out is a NULL-terminated
 * array of new strings and *count its length (caller frees with
 * target_list_free); -1 on allocation failure. */
int target_split(const char *in, int64_t n, char ***out, size_t *count);
void target_list_free(char **list);

/* §7.5: one block of a minimal CIDR list. */
struct target_cidr {
	uint32_t addr;
	unsigned prefix;
};
/* Fill out (room for TARGET_CIDR_MAX) with the minimal ascending CIDR list
 * covering [s, e] (s <= e); returns the number of blocks. */
size_t target_cidr_list(uint32_t s, uint32_t e, struct target_cidr *out);
/* "a.b.c.d/p" into out (at least 19 bytes). */
void target_format_cidr(const struct target_cidr *c, char *out);

#endif
