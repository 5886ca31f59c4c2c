#include "sha256.h"

#include "hex.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void sha256_init(struct sha256 *s)
{
	mbedtls_sha256_init(&s->ctx);
	/* the software implementation returns 0 for is224 = 0 */
	(void)mbedtls_sha256_starts(&s->ctx, 0);
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	if (len > 0)
		(void)mbedtls_sha256_update(&s->ctx, data, len);
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	(void)mbedtls_sha256_finish(&s->ctx, out);
	mbedtls_sha256_free(&s->ctx);
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
	unsigned char chunk[16384];
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
			mbedtls_sha256_free(&s.ctx);
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
