#ifndef NUM_H
#define NUM_H
/*
 * Checked number parsing.  The only place that calls strtoll/strtoull/strtod:
 * every other parser in the tree goes through these, which reject empty
 * input, trailing bytes, overflow and (for doubles) nan/inf.
 */
#include <stddef.h>
#include <stdint.h>

/* Parse all of s[0..len) as a decimal int64 ("-12", "+3", no spaces).
 * Returns 0 and sets *out, or -1 (EINVAL: syntax; ERANGE: overflow). */
int num_parse_i64(const char *s, size_t len, int64_t *out);
/* As num_parse_i64 for unsigned 64-bit values (no sign allowed). */
int num_parse_u64(const char *s, size_t len, uint64_t *out);
/* Parse all of s[0..len) as a finite double (decimal or exponent form;
 * "nan", "inf" and hex floats are refused). */
int num_parse_double(const char *s, size_t len, double *out);

#endif
