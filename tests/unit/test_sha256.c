/* lib/sha256: NIST vectors, streaming, files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"

static const struct {
	const char *in;
	const char *hex;
} vectors[] = {
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
	 "mnopqrsmnopqrstnopqrstu",
	 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void test_vectors_one_shot(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t d[SHA256_LEN];
		char hex[SHA256_HEX_LEN + 1];

		sha256_buf(vectors[i].in, strlen(vectors[i].in), d);
		sha256_to_hex(d, hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

/* the same digest whatever way the input is split across updates */
static void test_streaming_splits(void **state)
{
	size_t i, split;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len = strlen(vectors[i].in);

		for (split = 0; split <= len; split++) {
			struct sha256 s;
			uint8_t d[SHA256_LEN];
			char hex[SHA256_HEX_LEN + 1];

			sha256_init(&s);
			sha256_update(&s, vectors[i].in, split);
			sha256_update(&s, "", 0);
			sha256_update(&s, vectors[i].in + split, len - split);
			sha256_final(&s, d);
			sha256_to_hex(d, hex);
			assert_string_equal(hex, vectors[i].hex);
		}
	}
}

static void test_million_a(void **state)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], chunk[1000];
	int i;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&s);
	for (i = 0; i < 1000; i++)
		sha256_update(&s, chunk, sizeof(chunk));
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_file(void **state)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	struct errbuf e;
	char *big;
	size_t i;

	(void)state;
	write_file("abc.txt", "abc", 3);
	assert_int_equal(sha256_file("abc.txt", d, &e), 0);
	sha256_to_hex(d, hex);
	assert_string_equal(hex, vectors[1].hex);

	write_file("empty", "", 0);
	assert_int_equal(sha256_file("empty", d, &e), 0);
	sha256_to_hex(d, hex);
	assert_string_equal(hex, vectors[0].hex);

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

	assert_int_equal(mkdir("dir", 0755), 0);
	assert_int_equal(sha256_file("dir", d, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(e.msg, "open dir: not a regular file");
}

static void test_fd(void **state)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	struct errbuf e;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_int_equal(write(p[1], "c", 1), 1);
	close(p[1]);
	assert_int_equal(sha256_fd(p[0], "pipe", d, &e), 0);
	close(p[0]);
	sha256_to_hex(d, hex);
	assert_string_equal(hex, vectors[1].hex);
	assert_int_equal(sha256_fd(-1, "bad", d, &e), -1);
	assert_int_equal(errno, EBADF);
	assert_string_equal(e.msg, "read bad: Bad file descriptor");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_one_shot),
		cmocka_unit_test(test_streaming_splits),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
