#include "sha256.h"

#include "hex.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* Hash nblocks 64-byte blocks at p into h. */
typedef void sha256_blocks_fn(uint32_t h[8], const uint8_t *p, size_t nblocks);

/* FIPS 180-4 4.2.2 (16-byte aligned for the SHA-NI loads) */
static _Alignas(16) const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2, a 16-word rolling message schedule */
static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	uint32_t w[16], a, b, c, d, e, f, g, hh, t1, t2;
	unsigned t;

	for (; nblocks > 0; nblocks--, p += 64) {
		a = h[0], b = h[1], c = h[2], d = h[3];
		e = h[4], f = h[5], g = h[6], hh = h[7];
		for (t = 0; t < 64; t++) {
			if (t < 16) {
				w[t] = load_be32(p + 4 * t);
			} else {
				uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];

				w[t & 15] += (ror(w15, 7) ^ ror(w15, 18) ^ (w15 >> 3)) +
					     w[(t - 7) & 15] +
					     (ror(w2, 17) ^ ror(w2, 19) ^ (w2 >> 10));
			}
			t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) +
			     K[t] + w[t & 15];
			t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
			hh = g, g = f, f = e, e = d + t1;
			d = c, c = b, b = a, a = t1 + t2;
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += d;
		h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
	}
}

#if defined(__x86_64__)
/*
 * The SHA extensions keep the state as two vectors ABEF and CDGH; each
 * _mm_sha256rnds2_epu32 does two rounds with the two low words of its third
 * operand (message word + K), so four rounds per group of four words.
 */
#define SHANI_ROUNDS4(i, m)                                                                        \
	do {                                                                                       \
		__m128i wk_ = _mm_add_epi32((m), _mm_load_si128((const __m128i *)&K[4 * (i)]));    \
		st1 = _mm_sha256rnds2_epu32(st1, st0, wk_);                                        \
		st0 = _mm_sha256rnds2_epu32(st0, st1, _mm_shuffle_epi32(wk_, 0x0e));               \
	} while (0)
/* w4 (words t-16..t-13) becomes words t..t+3 from the 12 words that follow it */
#define SHANI_SCHEDULE(w4, w3, w2, w1)                                                             \
	((w4) = _mm_sha256msg2_epu32(                                                              \
		 _mm_add_epi32(_mm_sha256msg1_epu32((w4), (w3)), _mm_alignr_epi8((w1), (w2), 4)),  \
		 (w1)))

__attribute__((target("sha,sse4.1,ssse3"))) static void
blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	/* big-endian words: reverse the bytes of each 32-bit lane */
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i st0, st1, tmp, abef, cdgh, m0, m1, m2, m3;

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1); /* CDAB */
	st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b); /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);                                     /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xf0);                                  /* CDGH */

	for (; nblocks > 0; nblocks--, p += 64) {
		abef = st0;
		cdgh = st1;
		m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
		m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		SHANI_ROUNDS4(0, m0);
		SHANI_ROUNDS4(1, m1);
		SHANI_ROUNDS4(2, m2);
		SHANI_ROUNDS4(3, m3);
		SHANI_SCHEDULE(m0, m1, m2, m3);
		SHANI_ROUNDS4(4, m0);
		SHANI_SCHEDULE(m1, m2, m3, m0);
		SHANI_ROUNDS4(5, m1);
		SHANI_SCHEDULE(m2, m3, m0, m1);
		SHANI_ROUNDS4(6, m2);
		SHANI_SCHEDULE(m3, m0, m1, m2);
		SHANI_ROUNDS4(7, m3);
		SHANI_SCHEDULE(m0, m1, m2, m3);
		SHANI_ROUNDS4(8, m0);
		SHANI_SCHEDULE(m1, m2, m3, m0);
		SHANI_ROUNDS4(9, m1);
		SHANI_SCHEDULE(m2, m3, m0, m1);
		SHANI_ROUNDS4(10, m2);
		SHANI_SCHEDULE(m3, m0, m1, m2);
		SHANI_ROUNDS4(11, m3);
		SHANI_SCHEDULE(m0, m1, m2, m3);
		SHANI_ROUNDS4(12, m0);
		SHANI_SCHEDULE(m1, m2, m3, m0);
		SHANI_ROUNDS4(13, m1);
		SHANI_SCHEDULE(m2, m3, m0, m1);
		SHANI_ROUNDS4(14, m2);
		SHANI_SCHEDULE(m3, m0, m1, m2);
		SHANI_ROUNDS4(15, m3);
		st0 = _mm_add_epi32(st0, abef);
		st1 = _mm_add_epi32(st1, cdgh);
	}

	tmp = _mm_shuffle_epi32(st0, 0x1b);                                  /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xb1);                                  /* DCHG */
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, st1, 0xf0)); /* DCBA */
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(st1, tmp, 8));    /* HGFE */
}
#undef SHANI_ROUNDS4
#undef SHANI_SCHEDULE

/* SHA (leaf 7 EBX bit 29), SSSE3 and SSE4.1 (leaf 1 ECX bits 9 and 19) */
static int cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 29)) != 0;
}

/* -1 until the first use asks cpuid (these programs hash from one thread;
 * a race would only make both threads store the same value) */
static int have_shani = -1;
#endif

static int force_portable;

static sha256_blocks_fn *blocks_fn(void)
{
#if defined(__x86_64__)
	if (have_shani < 0)
		have_shani = cpu_has_shani();
	if (have_shani && !force_portable)
		return blocks_shani;
#endif
	return blocks_portable;
}

void sha256_force_portable(int on)
{
	force_portable = on != 0;
}

const char *sha256_impl(void)
{
	return blocks_fn() == blocks_portable ? "portable" : "sha-ni";
}

void sha256_init(struct sha256 *s)
{
	/* FIPS 180-4 5.3.3 */
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(s->h, iv, sizeof(s->h));
	s->len = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = (size_t)(s->len & 63), n;
	sha256_blocks_fn *fn;

	if (len == 0)
		return;
	fn = blocks_fn();
	s->len += len;
	if (used > 0) {
		n = 64 - used < len ? 64 - used : len;
		memcpy(s->buf + used, p, n);
		p += n;
		len -= n;
		if (used + n < 64)
			return;
		fn(s->h, s->buf, 1);
	}
	if (len >= 64) {
		fn(s->h, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	if (len > 0)
		memcpy(s->buf, p, len);
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	/* FIPS 180-4 5.1.1: 0x80, zeros to 56 mod 64, the bit length big-endian */
	size_t used = (size_t)(s->len & 63);
	uint64_t bits = s->len * 8;
	sha256_blocks_fn *fn = blocks_fn();
	int i;

	s->buf[used++] = 0x80;
	if (used > 56) {
		memset(s->buf + used, 0, 64 - used);
		fn(s->h, s->buf, 1);
		used = 0;
	}
	memset(s->buf + used, 0, 56 - used);
	store_be32(s->buf + 56, (uint32_t)(bits >> 32));
	store_be32(s->buf + 60, (uint32_t)bits);
	fn(s->h, s->buf, 1);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
	explicit_bzero(s, sizeof(*s));
}

void sha256_buf(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

void sha256_to_hex(const uint8_t digest[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
	(void)hex_encode(digest, SHA256_LEN, out, SHA256_HEX_LEN + 1);
}

int sha256_fd(int fd, const char *name, uint8_t out[SHA256_LEN], struct errbuf *e)
{
	struct sha256 s;
	unsigned char chunk[65536];
	ssize_t n;

	sha256_init(&s);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			int saved = errno;

			if (saved == EINTR)
				continue;
			explicit_bzero(&s, sizeof(s));
			err_sys(e, saved, "read %s", name);
			errno = saved;
			return -1;
		}
		sha256_update(&s, chunk, (size_t)n);
	}
	sha256_final(&s, out);
	return 0;
}
int sha256_file(const char *path, uint8_t out[SHA256_LEN], struct errbuf *e)
{
	struct stat st;
	int fd, r, saved;

	/* O_NONBLOCK: a FIFO must not hang the open (refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		saved = errno;
		err_sys(e, saved, "open %s", path);
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		err_sys(e, saved, "stat %s", path);
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, "open %s: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	r = sha256_fd(fd, path, out, e);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}
