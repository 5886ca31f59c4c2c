#ifndef HTTP_TLS_H
#define HTTP_TLS_H
/*
 * TLS client glue (mbedtls): one shared configuration (CA chain, RNG, TLS 1.2
 * minimum, verification required) and a wrapper that turns a byte stream into
 * a TLS stream to a named host.
 */
#include "http_io.h"

struct http_tls;

/* The CA search list of bundle-install-update.md §17, used when ca_file is
 * NULL.  NULL-terminated. */
extern const char *const http_tls_ca_defaults[];

/* ca_file: a PEM bundle used alone, or NULL for the first existing file of
 * http_tls_ca_defaults.  insecure_skip_verify: accept any certificate and
 * name (only for a flag that says so).  NULL with e set on failure. */
struct http_tls *http_tls_new(const char *ca_file, int insecure_skip_verify, struct errbuf *e);
void http_tls_free(struct http_tls *t);

/* Handshake with host over *io within timeout_ms (-1: none); on success *io
 * becomes the TLS stream, which owns (and closes) the old one.  On failure
 * *io is untouched and still owned by the caller.  *verify_failed (if not
 * NULL) is set to 1 when the peer's certificate was refused (never worth a
 * retry). */
int http_tls_wrap(struct http_tls *t, const char *host, struct http_io *io, int timeout_ms,
		  int *verify_failed, struct errbuf *e);

#endif
