/* Release signatures and keys (spec bundle-install-update.md §4). */
#include "sig.h"

#include "bounds.h"
#include "fsutil.h"
#include "hex.h"
#include "sha256.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct sig_key {
	mbedtls_pk_context pk;
	char id[SIG_KEY_ID_LEN + 1];
};

struct sig_keyset {
	mbedtls_pk_context pk[SIG_KEYS_MAX];
	char id[SIG_KEYS_MAX][SIG_KEY_ID_LEN + 1];
	size_t n;
};

/* The P-256 group order n, big-endian. */
static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

struct rng {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, struct errbuf *e)
{
	static const char pers[] = "agent-sig";
	int rc;

	mbedtls_entropy_init(&r->ent);
	mbedtls_ctr_drbg_init(&r->drbg);
	rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->ent,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc != 0) {
		err_set(e, "cannot seed the random generator (mbedtls -0x%04x)", (unsigned)-rc);
		mbedtls_ctr_drbg_free(&r->drbg);
		mbedtls_entropy_free(&r->ent);
		return -1;
	}
	return 0;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->ent);
}

static bool pk_is_p256(const mbedtls_pk_context *pk)
{
	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY)
		return false;
	return mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id == MBEDTLS_ECP_DP_SECP256R1;
}

static int pk_id(const mbedtls_pk_context *pk, char out[SIG_KEY_ID_LEN + 1])
{
	unsigned char der[256];
	uint8_t h[32];
	int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)pk, der, sizeof(der));

	if (n <= 0)
		return -1;
	sha256_buf(der + sizeof(der) - (size_t)n, (size_t)n, h);
	return hex_encode(h, SIG_KEY_ID_LEN / 2, out, SIG_KEY_ID_LEN + 1);
}

/* A NUL-terminated copy of pem (mbedtls wants the NUL counted in the length). */
static char *dup_text(const char *s, size_t len)
{
	char *c = malloc(len + 1);

	if (c) {
		memcpy(c, s, len);
		c[len] = '\0';
	}
	return c;
}

int sig_key_parse(const char *pem, size_t len, struct sig_key **out, struct errbuf *e)
{
	struct sig_key *k = NULL;
	struct rng r;
	char *t = NULL;
	int rc = -1, mrc;

	*out = NULL;
	if (memchr(pem, '\0', len) != NULL) {
		err_set(e, "not a PEM private key (NUL byte)");
		return -1;
	}
	t = dup_text(pem, len);
	if (t == NULL) {
		err_sys(e, errno, "private key");
		return -1;
	}
	if (strstr(t, "ENCRYPTED") != NULL) {
		err_set(e,
			"encrypted private keys are not supported (decrypt with: openssl pkey -in "
			"KEY -out PLAIN)");
		goto out;
	}
	if (strstr(t, "-----BEGIN EC PRIVATE KEY-----") == NULL &&
	    strstr(t, "-----BEGIN PRIVATE KEY-----") == NULL) {
		err_set(e, "no 'EC PRIVATE KEY' or 'PRIVATE KEY' PEM block");
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		err_sys(e, errno, "private key");
		goto out;
	}
	mbedtls_pk_init(&k->pk);
	if (rng_init(&r, e) < 0)
		goto out;
	mrc = mbedtls_pk_parse_key(&k->pk, (const unsigned char *)t, len + 1, NULL, 0,
				   mbedtls_ctr_drbg_random, &r.drbg);
	rng_free(&r);
	if (mrc != 0) {
		err_set(e, "cannot parse the private key (mbedtls -0x%04x)", (unsigned)-mrc);
		goto out;
	}
	if (!pk_is_p256(&k->pk)) {
		err_set(e, "not a P-256 (prime256v1) EC key");
		goto out;
	}
	if (pk_id(&k->pk, k->id) < 0) {
		err_set(e, "cannot encode the public key");
		goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	if (t) {
		mbedtls_platform_zeroize(t, len);
		free(t);
	}
	sig_key_free(k);
	return rc;
}

int sig_key_generate(struct sig_key **out, struct errbuf *e)
{
	struct sig_key *k;
	struct rng r;
	int mrc;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		err_sys(e, errno, "key");
		return -1;
	}
	mbedtls_pk_init(&k->pk);
	if (rng_init(&r, e) < 0) {
		sig_key_free(k);
		return -1;
	}
	mrc = mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (mrc == 0)
		mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
					  mbedtls_ctr_drbg_random, &r.drbg);
	rng_free(&r);
	if (mrc != 0 || pk_id(&k->pk, k->id) < 0) {
		err_set(e, "cannot generate a P-256 key (mbedtls -0x%04x)", (unsigned)-mrc);
		sig_key_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

void sig_key_free(struct sig_key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);
	free(k);
}

int sig_key_private_pem(const struct sig_key *k, struct buf *out, struct errbuf *e)
{
	/* PKCS#8 PrivateKeyInfo { 0, { id-ecPublicKey, prime256v1 }, OCTET STRING
	 * (SEC1 ECPrivateKey) }: mbedtls writes only SEC1, so wrap it here. */
	unsigned char der[512], pem[1024];
	unsigned char *p;
	size_t olen = 0;
	int n, len, rc = -1;
	const char *oid_ec = MBEDTLS_OID_EC_ALG_UNRESTRICTED,
		   *oid_p256 = MBEDTLS_OID_EC_GRP_SECP256R1;

	n = mbedtls_pk_write_key_der((mbedtls_pk_context *)&k->pk, der, sizeof(der));
	if (n <= 0)
		goto out;
	p = der + sizeof(der) - n;
	len = n;
	if ((n = mbedtls_asn1_write_len(&p, der, (size_t)len)) < 0)
		goto out;
	len += n;
	if ((n = mbedtls_asn1_write_tag(&p, der, MBEDTLS_ASN1_OCTET_STRING)) < 0)
		goto out;
	len += n;
	{
		int alen = 0;
		if ((n = mbedtls_asn1_write_oid(&p, der, oid_p256,
						MBEDTLS_OID_SIZE(MBEDTLS_OID_EC_GRP_SECP256R1))) <
		    0)
			goto out;
		alen += n;
		if ((n = mbedtls_asn1_write_oid(
			     &p, der, oid_ec, MBEDTLS_OID_SIZE(MBEDTLS_OID_EC_ALG_UNRESTRICTED))) <
		    0)
			goto out;
		alen += n;
		if ((n = mbedtls_asn1_write_len(&p, der, (size_t)alen)) < 0)
			goto out;
		alen += n;
		if ((n = mbedtls_asn1_write_tag(
			     &p, der, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
			goto out;
		alen += n;
		len += alen;
	}
	if ((n = mbedtls_asn1_write_int(&p, der, 0)) < 0)
		goto out;
	len += n;
	if ((n = mbedtls_asn1_write_len(&p, der, (size_t)len)) < 0)
		goto out;
	len += n;
	if ((n = mbedtls_asn1_write_tag(&p, der,
					MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		goto out;
	len += n;
	if (mbedtls_pem_write_buffer("-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----\n",
				     p, (size_t)len, pem, sizeof(pem), &olen) != 0 ||
	    olen == 0)
		goto out;
	rc = buf_append(out, pem, olen - 1, e); /* olen counts the NUL */
	mbedtls_platform_zeroize(der, sizeof(der));
	mbedtls_platform_zeroize(pem, sizeof(pem));
	return rc;
out:
	mbedtls_platform_zeroize(der, sizeof(der));
	err_set(e, "cannot encode the private key");
	return -1;
}

int sig_key_public_pem(const struct sig_key *k, struct buf *out, struct errbuf *e)
{
	unsigned char pem[512];

	if (mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk, pem, sizeof(pem)) != 0) {
		err_set(e, "cannot encode the public key");
		return -1;
	}
	return buf_append_str(out, (const char *)pem, e);
}

void sig_key_id(const struct sig_key *k, char out[SIG_KEY_ID_LEN + 1])
{
	memcpy(out, k->id, SIG_KEY_ID_LEN + 1);
}

int sig_sign_hash(struct sig_key *k, const uint8_t hash[32], uint8_t sig[SIG_DER_MAX],
		  size_t *sig_len, struct errbuf *e)
{
	unsigned char tmp[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	struct rng r;
	size_t n = 0;
	int mrc;

	if (rng_init(&r, e) < 0)
		return -1;
	/* With MBEDTLS_ECDSA_DETERMINISTIC the nonce is RFC 6979's; the random
	 * generator only blinds the computation, it does not change the bytes. */
	mrc = mbedtls_pk_sign(&k->pk, MBEDTLS_MD_SHA256, hash, 32, tmp, sizeof(tmp), &n,
			      mbedtls_ctr_drbg_random, &r.drbg);
	rng_free(&r);
	if (mrc != 0 || n == 0 || n > SIG_DER_MAX) {
		err_set(e, "cannot sign (mbedtls -0x%04x)", (unsigned)-mrc);
		return -1;
	}
	if (sig_der_check(tmp, n, e) < 0)
		return -1;
	memcpy(sig, tmp, n);
	*sig_len = n;
	return 0;
}

struct sig_keyset *sig_keyset_new(void)
{
	return calloc(1, sizeof(struct sig_keyset));
}

void sig_keyset_free(struct sig_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		mbedtls_pk_free(&ks->pk[i]);
	free(ks);
}

static const char begin_pub[] = "-----BEGIN PUBLIC KEY-----",
		  end_pub[] = "-----END PUBLIC KEY-----";

static const char *find_in(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i;

	for (i = 0; i + nl <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
			return hay + i;
	return NULL;
}

int sig_keyset_add_pem(struct sig_keyset *ks, const char *pem, size_t len, const char *what,
		       struct errbuf *e)
{
	const char *p = pem, *end = pem + len;
	size_t start = ks->n, block = 0;

	for (;;) {
		const char *b = find_in(p, (size_t)(end - p), begin_pub), *f;
		char *t;
		int mrc;

		if (b == NULL)
			break;
		block++;
		f = find_in(b, (size_t)(end - b), end_pub);
		if (f == NULL) {
			err_set(e, "%s: block %zu: no '%s' line", what, block, end_pub);
			goto bad;
		}
		f += sizeof(end_pub) - 1;
		if (ks->n >= SIG_KEYS_MAX) {
			err_set(e, "%s: more than %d keys", what, SIG_KEYS_MAX);
			goto bad;
		}
		if (memchr(b, '\0', (size_t)(f - b)) != NULL ||
		    (t = dup_text(b, (size_t)(f - b))) == NULL) {
			err_set(e, "%s: block %zu: unreadable", what, block);
			goto bad;
		}
		mbedtls_pk_init(&ks->pk[ks->n]);
		mrc = mbedtls_pk_parse_public_key(&ks->pk[ks->n], (const unsigned char *)t,
						  (size_t)(f - b) + 1);
		free(t);
		if (mrc != 0) {
			mbedtls_pk_free(&ks->pk[ks->n]);
			err_set(e, "%s: block %zu: not a valid public key (mbedtls -0x%04x)", what,
				block, (unsigned)-mrc);
			goto bad;
		}
		if (!pk_is_p256(&ks->pk[ks->n]) || pk_id(&ks->pk[ks->n], ks->id[ks->n]) < 0) {
			mbedtls_pk_free(&ks->pk[ks->n]);
			err_set(e, "%s: block %zu: not a P-256 key", what, block);
			goto bad;
		}
		ks->n++;
		p = f;
	}
	if (block == 0) {
		err_set(e, "%s: no '%s' block", what, begin_pub);
		return -1;
	}
	return 0;
bad:
	while (ks->n > start)
		mbedtls_pk_free(&ks->pk[--ks->n]);
	return -1;
}

int sig_keyset_add_key(struct sig_keyset *ks, const struct sig_key *k, struct errbuf *e)
{
	struct buf *b = buf_new(4096);
	int rc;

	if (b == NULL) {
		err_sys(e, errno, "key");
		return -1;
	}
	rc = sig_key_public_pem(k, b, e);
	if (rc == 0)
		rc = sig_keyset_add_pem(ks, buf_data(b), buf_len(b), "key", e);
	buf_free(b);
	return rc;
}

size_t sig_keyset_count(const struct sig_keyset *ks)
{
	return ks->n;
}

const char *sig_keyset_id(const struct sig_keyset *ks, size_t i)
{
	return i < ks->n ? ks->id[i] : NULL;
}

/* One INTEGER at sig[*pos]: minimal, positive, in [1, n-1]. */
static int der_int(const uint8_t *sig, size_t len, size_t *pos, const char *which, struct errbuf *e)
{
	size_t p = *pos, il, i;
	const uint8_t *v;
	uint8_t val[32];

	if (p + 2 > len || sig[p] != 0x02) {
		err_set(e, "signature %s is not a DER INTEGER", which);
		return -1;
	}
	il = sig[p + 1];
	p += 2;
	if (il == 0 || il > 33 || il > len - p) {
		err_set(e, "signature %s has a bad length", which);
		return -1;
	}
	v = sig + p;
	if (v[0] & 0x80) {
		err_set(e, "signature %s is negative", which);
		return -1;
	}
	if (il > 1 && v[0] == 0 && !(v[1] & 0x80)) {
		err_set(e, "signature %s is not minimally encoded", which);
		return -1;
	}
	if (il == 33) {
		v++;
		il--;
	}
	memset(val, 0, sizeof(val));
	memcpy(val + 32 - il, v, il);
	for (i = 0; i < 32 && val[i] == 0; i++)
		;
	if (i == 32 || memcmp(val, p256_n, 32) >= 0) {
		err_set(e, "signature %s is out of range", which);
		return -1;
	}
	*pos = p + sig[*pos + 1];
	return 0;
}

int sig_der_check(const uint8_t *sig, size_t len, struct errbuf *e)
{
	size_t pos = 2;

	if (len == 0) {
		err_set(e, "signature is empty");
		return -1;
	}
	if (len < 2 || sig[0] != 0x30 || (sig[1] & 0x80)) {
		err_set(e,
			"signature is not a DER SEQUENCE (raw r||s, PEM and base64 are refused)");
		return -1;
	}
	if ((size_t)sig[1] + 2 < len) {
		err_set(e, "signature has %zu trailing byte%s after the DER SEQUENCE%s",
			len - ((size_t)sig[1] + 2), len - ((size_t)sig[1] + 2) == 1 ? "" : "s",
			sig[len - 1] == '\n' ? " (a newline)" : "");
		return -1;
	}
	if ((size_t)sig[1] + 2 > len) {
		err_set(e, "signature is truncated");
		return -1;
	}
	if (len > SIG_DER_MAX || len < 8) {
		err_set(e, "signature is %zu bytes (DER ECDSA P-256 is 8 to %d)", len, SIG_DER_MAX);
		return -1;
	}
	if (der_int(sig, len, &pos, "r", e) < 0 || der_int(sig, len, &pos, "s", e) < 0)
		return -1;
	if (pos != len) {
		err_set(e, "signature has extra data inside the SEQUENCE");
		return -1;
	}
	return 0;
}

enum sig_status sig_verify_hash(const struct sig_keyset *ks, const uint8_t hash[32],
				const uint8_t *sig, size_t len, char key_id[SIG_KEY_ID_LEN + 1],
				struct errbuf *e)
{
	size_t i;

	if (sig_der_check(sig, len, e) < 0)
		return SIG_MALFORMED;
	for (i = 0; i < ks->n; i++)
		if (mbedtls_pk_verify((mbedtls_pk_context *)&ks->pk[i], MBEDTLS_MD_SHA256, hash, 32,
				      sig, len) == 0) {
			if (key_id)
				memcpy(key_id, ks->id[i], SIG_KEY_ID_LEN + 1);
			return SIG_OK;
		}
	if (ks->n == 1)
		err_set(e, "signature does not match key %s", ks->id[0]);
	else
		err_set(e, "signature does not match any of the %zu trusted keys", ks->n);
	return SIG_INVALID;
}

int sig_path_for(const char *path, char *out, size_t out_size, struct errbuf *e)
{
	size_t l = strlen(path);
	int n;

	if (l >= 7 && strcmp(path + l - 7, ".tar.gz") == 0)
		n = snprintf(out, out_size, "%.*s.sig", (int)(l - 7), path);
	else
		n = snprintf(out, out_size, "%s.sig", path);
	if (n < 0 || (size_t)n >= out_size) {
		err_set(e, "path too long: %s", path);
		return -1;
	}
	return 0;
}

int sig_key_load_file(const char *path, struct sig_key **out, bool *loose, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	struct errbuf le;
	int rc;

	*out = NULL;
	if (fsutil_read_file(path, BOUNDS_KEY_FILE_MAX, 0, &data, &len, e) < 0)
		return -1;
	if (loose)
		*loose = stat(path, &st) == 0 && (st.st_mode & 0077) != 0;
	rc = sig_key_parse(data, len, out, &le);
	mbedtls_platform_zeroize(data, len);
	free(data);
	if (rc < 0)
		err_set(e, "%s: %s", path, le.msg);
	return rc;
}

int sig_keyset_add_file(struct sig_keyset *ks, const char *path, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fsutil_read_file(path, BOUNDS_KEY_FILE_MAX, 0, &data, &len, e) < 0)
		return -1;
	rc = sig_keyset_add_pem(ks, data, len, path, e);
	free(data);
	return rc;
}
