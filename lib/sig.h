#ifndef SIG_H
#define SIG_H
/*
 * Release signatures and keys (spec bundle-install-update.md §4): ECDSA over
 * NIST P-256 with SHA-256, deterministic (RFC 6979), detached DER
 * SEQUENCE { INTEGER r, INTEGER s } of at most 72 bytes.
 *
 * Keys are parsed from memory (the caller reads the files); nothing here
 * prints.  Functions returning int return 0, or -1 with a reason in e.
 */
#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SIG_DER_MAX = 72, /* §4.1 */
	SIG_KEY_ID_LEN = 16,
	SIG_KEYS_MAX = 16, /* trusted.pem, §4.3 */
};

/* ---- private keys --------------------------------------------------------- */

struct sig_key;

/* Parse a PEM private key (SEC1 "EC PRIVATE KEY", also after an openssl
 * "EC PARAMETERS" block, or PKCS#8 "PRIVATE KEY"), unencrypted, P-256.  pem
 * need not be NUL-terminated.  Encrypted keys: "encrypted private keys are
 * not supported". */
int sig_key_parse(const char *pem, size_t len, struct sig_key **out, struct errbuf *e);
/* A new key from the system random source. */
int sig_key_generate(struct sig_key **out, struct errbuf *e);
void sig_key_free(struct sig_key *k);
/* PKCS#8 "PRIVATE KEY" PEM of k, appended to out. */
int sig_key_private_pem(const struct sig_key *k, struct buf *out, struct errbuf *e);
/* SubjectPublicKeyInfo "PUBLIC KEY" PEM of k, appended to out. */
int sig_key_public_pem(const struct sig_key *k, struct buf *out, struct errbuf *e);
/* Key id (§4.3): 16 lowercase hex of SHA-256 over the DER SubjectPublicKeyInfo. */
void sig_key_id(const struct sig_key *k, char out[SIG_KEY_ID_LEN + 1]);
/* Deterministic signature over the SHA-256 digest hash; DER into sig. */
int sig_sign_hash(struct sig_key *k, const uint8_t hash[32], uint8_t sig[SIG_DER_MAX],
		  size_t *sig_len, struct errbuf *e);

/* ---- trusted public keys -------------------------------------------------- */

struct sig_keyset;

struct sig_keyset *sig_keyset_new(void);
void sig_keyset_free(struct sig_keyset *ks);
/* Add every "PUBLIC KEY" PEM block of pem[0..len) (text outside blocks is
 * ignored).  No block, a block that does not parse, or a key that is not
 * P-256 is an error naming the block number ("what: block 2: not a P-256
 * key"; what = a file name for the text).  More than SIG_KEYS_MAX keys in
 * total is an error.  Nothing is added on failure. */
int sig_keyset_add_pem(struct sig_keyset *ks, const char *pem, size_t len, const char *what,
		       struct errbuf *e);
/* Add the public half of a private key. */
int sig_keyset_add_key(struct sig_keyset *ks, const struct sig_key *k, struct errbuf *e);
size_t sig_keyset_count(const struct sig_keyset *ks);
/* Key id of key i (i < count). */
const char *sig_keyset_id(const struct sig_keyset *ks, size_t i);

/* ---- verification --------------------------------------------------------- */

enum sig_status {
	SIG_OK = 0,
	SIG_MALFORMED, /* not a strict DER ECDSA-P256 signature (§4.1) */
	SIG_INVALID,   /* well formed, but no trusted key verifies it */
};

/* §4.1 strict form: SEQUENCE of two minimal positive INTEGERs in [1, n-1],
 * minimal lengths, at most 72 bytes, nothing after.  0 or -1 (e). */
int sig_der_check(const uint8_t *sig, size_t len, struct errbuf *e);

/* Check sig over the digest hash against every key of ks.  SIG_OK sets
 * key_id (may be NULL) to the id of the key that verified.  e explains
 * SIG_MALFORMED and SIG_INVALID. */
enum sig_status sig_verify_hash(const struct sig_keyset *ks, const uint8_t hash[32],
				const uint8_t *sig, size_t len, char key_id[SIG_KEY_ID_LEN + 1],
				struct errbuf *e);

/* ---- key files ------------------------------------------------------------ */

/* Read and parse the private key file path (at most BOUNDS_KEY_FILE_MAX
 * bytes).  *loose (may be NULL) is set when group or others may read it
 * (§4.3: the caller warns).  e: "PATH: reason". */
int sig_key_load_file(const char *path, struct sig_key **out, bool *loose, struct errbuf *e);
/* Read path and sig_keyset_add_pem its blocks. */
int sig_keyset_add_file(struct sig_keyset *ks, const char *path, struct errbuf *e);

/* §4.2: the signature path of path: ".tar.gz" replaced by ".sig", else
 * ".sig" appended. */
int sig_path_for(const char *path, char *out, size_t out_size, struct errbuf *e);

#endif
