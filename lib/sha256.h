#ifndef SHA256_H
#define SHA256_H
/*
 * SHA-256 (FIPS 180-4).  Streaming, one-shot, and of a file or descriptor.
 * On x86-64 CPUs with the SHA extensions (SHA-NI) the block function uses
 * them, chosen at run time with cpuid; elsewhere a portable C block function.
 * Neither can fail, so the streaming calls return nothing.
 */
#include "err.h"

#include <stddef.h>
#include <stdint.h>

enum {
	SHA256_LEN = 32,     /* digest bytes */
	SHA256_HEX_LEN = 64, /* lowercase hex digits (without the NUL) */
};

/* Not opaque so it can live on the stack; touch only through sha256_*. */
struct sha256 {
	uint32_t h[8];   /* chaining state */
	uint64_t len;    /* bytes hashed so far */
	uint8_t buf[64]; /* the partial block: len % 64 bytes */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Write the digest and wipe s (call sha256_init again to reuse). */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* One shot. */
void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Digest as 64 lowercase hex digits + NUL. */
void sha256_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);

/* Digest of everything read from fd until EOF (EINTR retried).  0 or -1
 * (errno; e gets "read <name>: reason", name is only used for the text). */
int sha256_fd(int fd, const char *name, uint8_t out[SHA256_LEN], struct errbuf *e);

/* Digest of the regular file path (O_RDONLY|O_CLOEXEC, fstat'ed: anything
 * else is EINVAL "open X: not a regular file").  0 or -1 (errno, e). */
int sha256_file(const char *path, uint8_t out[SHA256_LEN], struct errbuf *e);

/* For tests and benchmarks: on != 0 forces the portable block function even
 * where SHA-NI is available (0 restores the automatic choice); sha256_impl()
 * names the block function now in use: "sha-ni" or "portable". */
void sha256_force_portable(int on);
const char *sha256_impl(void);

#endif
