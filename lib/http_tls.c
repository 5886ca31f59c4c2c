#include "http_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "bounds.h"
#include "http_url.h"

#if defined(MBEDTLS_AESNI_C) && defined(AGENT_MBEDTLS_GCM_AESNI_BULK) && defined(__x86_64__) &&    \
	(defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define HTTP_TLS_FAST_AES_GCM 1
#endif

/* net_sockets.h codes; MBEDTLS_NET_C is not built, so no other meaning. */
#define BIO_RECV_FAILED (-0x004C)
#define BIO_SEND_FAILED (-0x004E)

const char *const http_tls_ca_defaults[] = {
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
	NULL,
};

/* Cipher suite order.  mbedtls's portable ChaCha20-Poly1305 runs at about
 * 360 MB/s; its AES-GCM at about 115 MB/s in software and only about 300 MB/s
 * with MBEDTLS_AESNI_C alone (one AES call through the cipher layer and one
 * serial GHASH multiplication per 16-byte block).  With the local patch
 * deps/mbedtls-gcm-aesni-bulk.patch (four blocks at a time with AES-NI and
 * PCLMULQDQ) AES-GCM runs at about 2 GB/s, so AES-GCM goes first when that
 * patch is in, the library has AES-NI code and this CPU has AES-NI, PCLMULQDQ
 * and SSSE3 (what the bulk path needs); ChaCha20-Poly1305 first otherwise. */
static const int suites_chacha_first[] = {
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};
#if defined(HTTP_TLS_FAST_AES_GCM)
static const int suites_aes_first[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};
#endif

static const int *suites(void)
{
#if defined(HTTP_TLS_FAST_AES_GCM)
	unsigned int a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL) && (c & bit_SSSE3))
		return suites_aes_first;
#endif
	return suites_chacha_first;
}

struct http_tls {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	int insecure;
};

struct tls_stream {
	mbedtls_ssl_context ssl;
	struct http_io raw;
	int timeout_ms;
	int io_errno;
	int leaf_self_signed;
	struct errbuf io_err;
};

static int read_ca(const char *path, mbedtls_x509_crt *ca, struct errbuf *e)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t got = 0;
	int fd, r, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, errno, "open CA file %s", path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BOUNDS_CA_FILE_MAX) {
		err_set(e, "CA file %s is not a regular file under %d bytes", path,
			BOUNDS_CA_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_sys(e, n < 0 ? errno : EIO, "read CA file %s", path);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	r = mbedtls_x509_crt_parse(ca, buf, got + 1);
	if (r < 0 || ca->version == 0) {
		char m[128];
		mbedtls_strerror(r, m, sizeof(m));
		err_set(e, "no usable certificate in CA file %s: %s", path, m);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

struct http_tls *http_tls_new(const char *ca_file, int insecure_skip_verify, struct errbuf *e)
{
	static const char pers[] = "agent-http";
	struct http_tls *t;
	int r;

	if (psa_crypto_init() != PSA_SUCCESS) {
		err_set(e, "cannot initialise PSA crypto");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_ssl_config_init(&t->conf);
	t->insecure = insecure_skip_verify;
	r = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1);
	if (r != 0) {
		err_set(e, "cannot seed the random generator");
		goto fail;
	}
	if (!insecure_skip_verify) {
		if (ca_file == NULL) {
			size_t i;
			for (i = 0; http_tls_ca_defaults[i] != NULL; i++)
				if (access(http_tls_ca_defaults[i], R_OK) == 0)
					break;
			if (http_tls_ca_defaults[i] == NULL) {
				err_set(e, "no CA bundle found; set AGENTD_CA_FILE");
				goto fail;
			}
			ca_file = http_tls_ca_defaults[i];
		}
		if (read_ca(ca_file, &t->ca, e) != 0)
			goto fail;
	}
	r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (r != 0) {
		err_set(e, "cannot set up TLS");
		goto fail;
	}
	mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_authmode(&t->conf, insecure_skip_verify ? MBEDTLS_SSL_VERIFY_NONE
								 : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_ciphersuites(&t->conf, suites());
	return t;
fail:
	http_tls_free(t);
	return NULL;
}

void http_tls_free(struct http_tls *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	free(t);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_stream *s = ctx;

	if (s->raw.write(s->raw.ctx, buf, len, s->timeout_ms, &s->io_err) != 0) {
		s->io_errno = errno;
		return BIO_SEND_FAILED;
	}
	return len > INT32_MAX ? INT32_MAX : (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_stream *s = ctx;
	ssize_t r;

	if (len > INT32_MAX)
		len = INT32_MAX;
	r = s->raw.read(s->raw.ctx, buf, len, s->timeout_ms, &s->io_err);
	if (r < 0) {
		s->io_errno = errno;
		return errno == ETIMEDOUT ? MBEDTLS_ERR_SSL_TIMEOUT : BIO_RECV_FAILED;
	}
	return (int)r;
}

/* Turn an mbedtls code into text and errno. */
static void tls_error(struct tls_stream *s, int r, const char *what, struct errbuf *e)
{
	char m[160];

	if (r == MBEDTLS_ERR_SSL_TIMEOUT || (s->io_errno == ETIMEDOUT && r == BIO_RECV_FAILED)) {
		err_set(e, "%s: timed out", what);
		errno = ETIMEDOUT;
		return;
	}
	if (r == BIO_RECV_FAILED || r == BIO_SEND_FAILED) {
		err_set(e, "%s: %s", what, s->io_err.msg);
		errno = s->io_errno != 0 ? s->io_errno : EIO;
		return;
	}
	if (r == MBEDTLS_ERR_SSL_CONN_EOF) {
		err_set(e, "%s: connection closed by the server", what);
		errno = ECONNRESET;
		return;
	}
	mbedtls_strerror(r, m, sizeof(m));
	err_set(e, "%s: %s", what, m);
	errno = EPROTO;
}

static ssize_t tls_read(void *ctx, void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct tls_stream *s = ctx;
	int r;

	s->timeout_ms = timeout_ms;
	s->io_errno = 0;
	for (;;) {
		r = mbedtls_ssl_read(&s->ssl, buf, n);
		if (r >= 0)
			return r;
		if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return 0;
		if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET ||
		    r == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (r == MBEDTLS_ERR_SSL_CONN_EOF) {
			/* a close without close_notify could be a truncation */
			err_set(e, "TLS connection closed without close_notify");
			errno = ECONNRESET;
			return -1;
		}
		tls_error(s, r, "TLS read", e);
		return -1;
	}
}

static int tls_write(void *ctx, const void *buf, size_t n, int timeout_ms, struct errbuf *e)
{
	struct tls_stream *s = ctx;
	const unsigned char *p = buf;

	s->timeout_ms = timeout_ms;
	s->io_errno = 0;
	while (n > 0) {
		int r = mbedtls_ssl_write(&s->ssl, p, n);
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ ||
		    r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
		if (r < 0) {
			tls_error(s, r, "TLS write", e);
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void tls_close(void *ctx)
{
	struct tls_stream *s = ctx;

	if (s == NULL)
		return;
	s->timeout_ms = 200;
	(void)mbedtls_ssl_close_notify(&s->ssl);
	mbedtls_ssl_free(&s->ssl);
	s->raw.close(s->raw.ctx);
	free(s);
}

/* Sees each certificate of the chain; only notes whether the server's own
 * certificate names itself as issuer (for the error text).  Never changes
 * the verdict. */
static int note_chain(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_stream *s = arg;

	(void)flags;
	if (depth == 0)
		s->leaf_self_signed =
			crt->subject_raw.len == crt->issuer_raw.len &&
			memcmp(crt->subject_raw.p, crt->issuer_raw.p, crt->subject_raw.len) == 0;
	return 0;
}

static void verify_message(struct tls_stream *s, const char *host, uint32_t flags, struct errbuf *e)
{
	const char *why;
	char info[256];

	if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
		why = "the certificate has expired";
	else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
		why = "the certificate is not valid yet";
	else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		why = "the certificate does not match the host name";
	else if ((flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && s->leaf_self_signed)
		why = "self-signed certificate";
	else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		why = "the certificate is not signed by a trusted CA";
	else {
		int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		while (n > 0 && (info[n - 1] == '\n' || info[n - 1] == ' '))
			info[--n] = '\0';
		why = n > 0 ? info : "unknown reason";
	}
	err_set(e, "TLS certificate verification failed for %s: %s", host, why);
}

int http_tls_wrap(struct http_tls *t, const char *host, struct http_io *io, int timeout_ms,
		  int *verify_failed, struct errbuf *e)
{
	struct tls_stream *s;
	int r;

	if (verify_failed != NULL)
		*verify_failed = 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_set(e, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	mbedtls_ssl_init(&s->ssl);
	s->raw = *io;
	s->timeout_ms = timeout_ms;
	if (mbedtls_ssl_setup(&s->ssl, &t->conf) != 0) {
		err_set(e, "cannot set up a TLS session");
		goto fail;
	}
	/* Sets SNI (names only) and the name checked against the certificate. */
	if (mbedtls_ssl_set_hostname(&s->ssl, host) != 0) {
		err_set(e, "bad TLS host name %s", host);
		goto fail;
	}
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_verify(&s->ssl, note_chain, s);
	for (;;) {
		r = mbedtls_ssl_handshake(&s->ssl);
		if (r == 0)
			break;
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
			verify_message(s, host, mbedtls_ssl_get_verify_result(&s->ssl), e);
			if (verify_failed != NULL)
				*verify_failed = 1;
			errno = EPROTO;
		} else if (r == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION ||
			   r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ||
			   r == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE) {
			char m[120];
			mbedtls_strerror(r, m, sizeof(m));
			err_set(e,
				"TLS handshake with %s failed (%s); the server may not support "
				"TLS 1.2 or later",
				host, m);
			if (verify_failed != NULL)
				*verify_failed = 1;
			errno = EPROTO;
		} else {
			char what[HTTP_HOST_MAX + 32];
			int n = snprintf(what, sizeof(what), "TLS handshake with %s", host);
			if (n < 0 || (size_t)n >= sizeof(what))
				what[0] = '\0';
			tls_error(s, r, what, e);
		}
		goto fail;
	}
	io->ctx = s;
	io->read = tls_read;
	io->write = tls_write;
	io->close = tls_close;
	return 0;
fail:
	r = errno;
	mbedtls_ssl_free(&s->ssl);
	free(s);
	errno = r;
	return -1;
}
