#ifndef HEX_H
#define HEX_H
/*
 * Hexadecimal.  Output is always lowercase (fingerprints, sha256sum files:
 * spec bundle-install-update.md §0.3).  Decoding is strict: odd length and any
 * byte that is not a hex digit are refused; uppercase digits are refused too
 * unless HEX_ALLOW_UPPER is given (so a fingerprint compared as text and as
 * bytes can never disagree).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEX_ALLOW_UPPER 0x01u

/* Write 2*len lowercase hex digits and a NUL to out.  Returns 0, or -1
 * (errno ENOSPC, out untouched) when out_size < 2*len + 1. */
int hex_encode(const void *in, size_t len, char *out, size_t out_size);

/* Decode in[0..in_len) (exactly, no NUL needed) into out.  Returns 0 and the
 * byte count in *out_len (may be NULL), or -1 with errno EINVAL (odd length,
 * non-hex byte, uppercase without HEX_ALLOW_UPPER, embedded NUL) or ENOSPC
 * (out_size < in_len / 2).  out is unspecified after a failure. */
int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size, size_t *out_len,
	       unsigned flags);

/* True if s[0..len) is non-empty, of even length and all hex digits
 * (lowercase only unless HEX_ALLOW_UPPER). */
bool hex_valid(const char *s, size_t len, unsigned flags);

#endif
