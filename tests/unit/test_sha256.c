/* lib/sha256: NIST vectors on both block functions (SHA-NI where the CPU has
 * it, portable), every length 0..300 against mbedtls, random streaming
 * splits, files against sha256sum(1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

/* FIPS 180-4 examples / NIST CAVS: in repeated rep times */
static const struct {
	const char *in;
	size_t rep;
	const char *hex;
} vectors[] = {
	{"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	/* 448 bits */
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	/* 896 bits */
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
	 "mnopqrsmnopqrstnopqrstu",
	 1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	/* one million 'a' */
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 20000,
	 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	/* 55, 56 and 64 bytes (digests from sha256sum): padding in one block,
	 * spilling into a second, a full block */
	{"0123456789012345678901234567890123456789012345678901234", 1,
	 "f34d5a0f80c0cbf84c8c0b90218c22637abd199965249da736a20143c8c9c9d9"},
	{"01234567890123456789012345678901234567890123456789012345", 1,
	 "83aa034bda83e458a0dc9cbce0d4e354716aa0ff770ed37ac0ed2b292052e4af"},
	{"0123456789012345678901234567890123456789012345678901234567890123", 1,
	 "9674d9e078535b7cec43284387a6ee39956188e735a85452b0050b55341cda56"},
};

/* which block function a test runs on (cmocka prestate) */
struct path {
	const char *name;
	int portable;
};
static struct path path_shani = {"sha-ni", 0};
static struct path path_portable = {"portable", 1};

/* Select p's block function; 0, or -1 if this CPU cannot run it. */
static int use_path(const struct path *p)
{
	sha256_force_portable(p->portable);
	return strcmp(sha256_impl(), p->name) == 0 ? 0 : -1;
}

static void use_path_or_skip(void **state)
{
	const struct path *p = *state;

	if (use_path(p) < 0) {
		sha256_force_portable(0);
		print_message(
			"SKIP: this CPU lacks SHA-NI (cpuid leaf 7 EBX bit 29, SSSE3, SSE4.1) "
			"or the build is not x86-64; %s block function not tested\n",
			p->name);
		skip();
	}
}

/* xorshift64: the same pseudo-random bytes every run, NULs included */
static void fill_random(uint8_t *b, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		b[i] = (uint8_t)(seed >> 24);
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static size_t rand_in(size_t lo, size_t hi)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (size_t)(rng % (hi - lo + 1));
}

static void expect_hex(const uint8_t d[SHA256_LEN], const char *want)
{
	char hex[SHA256_HEX_LEN + 1];

	sha256_to_hex(d, hex);
	assert_string_equal(hex, want);
}

/* one update per repetition, and the whole input in one update */
static void test_vectors(void **state)
{
	size_t i, r;

	use_path_or_skip(state);
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len = strlen(vectors[i].in), total = len * vectors[i].rep;
		struct sha256 s;
		uint8_t d[SHA256_LEN];
		char *all;

		sha256_init(&s);
		for (r = 0; r < vectors[i].rep; r++)
			sha256_update(&s, vectors[i].in, len);
		sha256_final(&s, d);
		expect_hex(d, vectors[i].hex);

		all = malloc(total + 1);
		assert_non_null(all);
		for (r = 0; r < vectors[i].rep; r++)
			memcpy(all + r * len, vectors[i].in, len);
		sha256_buf(all, total, d);
		expect_hex(d, vectors[i].hex);
		free(all);
	}
	sha256_force_portable(0);
}

/* the same digest whatever way the input is split in two (plus an empty update) */
static void test_streaming_splits(void **state)
{
	size_t i, split;

	use_path_or_skip(state);
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len = strlen(vectors[i].in);

		if (vectors[i].rep != 1)
			continue;
		for (split = 0; split <= len; split++) {
			struct sha256 s;
			uint8_t d[SHA256_LEN];

			sha256_init(&s);
			sha256_update(&s, vectors[i].in, split);
			sha256_update(&s, "", 0);
			sha256_update(&s, vectors[i].in + split, len - split);
			sha256_final(&s, d);
			expect_hex(d, vectors[i].hex);
		}
	}
	sha256_force_portable(0);
}

/* every length 0..300 at two alignments equals mbedtls_sha256() and the
 * portable block function's digest */
static void test_lengths_against_mbedtls(void **state)
{
	enum { MAXLEN = 300 };
	uint8_t buf[MAXLEN + 8], ref[SHA256_LEN], port[SHA256_LEN], got[SHA256_LEN];
	size_t len, off;

	use_path_or_skip(state);
	fill_random(buf, sizeof(buf), 1);
	for (off = 0; off < 8; off += 3) {
		for (len = 0; len <= MAXLEN; len++) {
			assert_int_equal(mbedtls_sha256(buf + off, len, ref, 0), 0);
			sha256_force_portable(1);
			sha256_buf(buf + off, len, port);
			assert_int_equal(use_path(*state), 0);
			sha256_buf(buf + off, len, got);
			assert_memory_equal(got, ref, SHA256_LEN);
			assert_memory_equal(got, port, SHA256_LEN);
		}
	}
	sha256_force_portable(0);
}

/* random pieces of 1..200 bytes equal the one-shot digest (and mbedtls) */
static void test_random_splits(void **state)
{
	static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 4096, 100003};
	uint8_t *buf, want[SHA256_LEN], got[SHA256_LEN], ref[SHA256_LEN];
	size_t i, round, pos, n;

	use_path_or_skip(state);
	buf = malloc(100003);
	assert_non_null(buf);
	fill_random(buf, 100003, 2);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(mbedtls_sha256(buf, lens[i], ref, 0), 0);
		sha256_buf(buf, lens[i], want);
		assert_memory_equal(want, ref, SHA256_LEN);
		for (round = 0; round < 20; round++) {
			struct sha256 s;

			sha256_init(&s);
			for (pos = 0; pos < lens[i]; pos += n) {
				n = rand_in(1, 200);
				if (n > lens[i] - pos)
					n = lens[i] - pos;
				sha256_update(&s, buf + pos, n);
			}
			sha256_final(&s, got);
			assert_memory_equal(got, want, SHA256_LEN);
		}
	}
	free(buf);
	sha256_force_portable(0);
}

/* both block functions share one state layout: switching mid-stream is harmless */
static void test_switch_paths_mid_stream(void **state)
{
	uint8_t buf[5000], want[SHA256_LEN], got[SHA256_LEN];
	struct sha256 s;
	size_t pos, n;
	int k = 0;

	(void)state;
	if (use_path(&path_shani) < 0) {
		print_message("SKIP: this CPU lacks SHA-NI (or the build is not x86-64)\n");
		skip();
	}
	fill_random(buf, sizeof(buf), 3);
	assert_int_equal(mbedtls_sha256(buf, sizeof(buf), want, 0), 0);
	sha256_init(&s);
	for (pos = 0; pos < sizeof(buf); pos += n) {
		n = rand_in(1, 300);
		if (n > sizeof(buf) - pos)
			n = sizeof(buf) - pos;
		sha256_force_portable(k++ & 1);
		sha256_update(&s, buf + pos, n);
	}
	sha256_final(&s, got);
	sha256_force_portable(0);
	assert_memory_equal(got, want, SHA256_LEN);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_file(void **state)
{
	uint8_t d[SHA256_LEN];
	struct errbuf e;
	char *big;
	size_t i;

	(void)state;
	write_file("abc.txt", "abc", 3);
	assert_int_equal(sha256_file("abc.txt", d, &e), 0);
	expect_hex(d, vectors[1].hex);

	write_file("empty", "", 0);
	assert_int_equal(sha256_file("empty", d, &e), 0);
	expect_hex(d, vectors[0].hex);

	/* larger than the read chunk, with NUL bytes: compare with one-shot */
	big = malloc(100000);
	assert_non_null(big);
	for (i = 0; i < 100000; i++)
		big[i] = (char)(i % 251);
	write_file("big", big, 100000);
	{
		uint8_t want[SHA256_LEN];

		sha256_buf(big, 100000, want);
		assert_int_equal(sha256_file("big", d, &e), 0);
		assert_memory_equal(d, want, SHA256_LEN);
	}
	free(big);

	assert_int_equal(sha256_file("missing", d, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(e.msg, "open missing: No such file or directory");

	/* EEXIST: a rerun in the same directory */
	assert_true(mkdir("dir", 0755) == 0 || errno == EEXIST);
	assert_int_equal(sha256_file("dir", d, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(e.msg, "open dir: not a regular file");
}

/* an independent implementation: sha256sum(1) of a 5 MiB + 17 byte file */
static void test_file_against_sha256sum(void **state)
{
	enum { LEN = 5 * 1024 * 1024 + 17 };
	char hex[SHA256_HEX_LEN + 1], line[256];
	uint8_t *buf, d[SHA256_LEN];
	struct errbuf e;
	FILE *f;

	(void)state;
	if (system("command -v sha256sum >/dev/null 2>&1") != 0) {
		print_message("SKIP: sha256sum not installed (coreutils)\n");
		skip();
	}
	buf = malloc(LEN);
	assert_non_null(buf);
	fill_random(buf, LEN, 4);
	write_file("random.bin", buf, LEN);
	free(buf);
	f = popen("sha256sum random.bin", "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(pclose(f), 0);
	assert_true(strlen(line) > SHA256_HEX_LEN);
	line[SHA256_HEX_LEN] = '\0';

	use_path_or_skip(state);
	assert_int_equal(sha256_file("random.bin", d, &e), 0);
	sha256_to_hex(d, hex);
	assert_string_equal(hex, line);
	sha256_force_portable(0);
}

static void test_fd(void **state)
{
	uint8_t d[SHA256_LEN];
	struct errbuf e;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_int_equal(write(p[1], "c", 1), 1);
	close(p[1]);
	assert_int_equal(sha256_fd(p[0], "pipe", d, &e), 0);
	close(p[0]);
	expect_hex(d, vectors[1].hex);
	assert_int_equal(sha256_fd(-1, "bad", d, &e), -1);
	assert_int_equal(errno, EBADF);
	assert_string_equal(e.msg, "read bad: Bad file descriptor");
}

/* one entry per block function, named after it */
/* clang-format off */
#define ON_SHANI(f) {#f " (sha-ni)", f, NULL, NULL, &path_shani}
#define ON_PORTABLE(f) {#f " (portable)", f, NULL, NULL, &path_portable}
/* clang-format on */

int main(void)
{
	const struct CMUnitTest tests[] = {
		ON_SHANI(test_vectors),
		ON_PORTABLE(test_vectors),
		ON_SHANI(test_streaming_splits),
		ON_PORTABLE(test_streaming_splits),
		ON_SHANI(test_lengths_against_mbedtls),
		ON_PORTABLE(test_lengths_against_mbedtls),
		ON_SHANI(test_random_splits),
		ON_PORTABLE(test_random_splits),
		cmocka_unit_test(test_switch_paths_mid_stream),
		cmocka_unit_test(test_file),
		ON_SHANI(test_file_against_sha256sum),
		ON_PORTABLE(test_file_against_sha256sum),
		cmocka_unit_test(test_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
