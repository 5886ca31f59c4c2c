/* lib/sig: keys, deterministic ECDSA P-256 signatures, strict DER (spec §4, §24.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsutil.h"
#include "sha256.h"
#include "sig.h"

/* openssl ecparam -genkey -name prime256v1 (EC PARAMETERS block first) */
static const char ecparam_key[] =
	"-----BEGIN EC PARAMETERS-----\n"
	"BggqhkjOPQMBBw==\n"
	"-----END EC PARAMETERS-----\n"
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIB45ngbZ0W6jFMPCcoVhRZ6lcxdvnFZPVcIjR6B1AbkaoAoGCCqGSM49\n"
	"AwEHoUQDQgAEwsETEgZs4q4vMEo3y8qqVDG652kfQhkQRWR1eEV9Wj9Mwh92aFTA\n"
	"a6uKpvZV6RK3tItpGCIJaBgkiF2cOi5gzw==\n"
	"-----END EC PRIVATE KEY-----\n";
static const char p384_pub[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEaKpHRxHWc2O9YML+lFvwShu1dVNsHLb7\n"
			       "5Rv3fcERrgRcScSSvJ8H4QqvcN2tAKjKt//gc/qZnuO8aABkFb7lBEm877McSDzf\n"
			       "iRTf1Hg2Ek7JbS989m3FRRRYQ6SQ8KS2\n"
			       "-----END PUBLIC KEY-----\n";
static const char rsa_pub[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPCVdLCEAIGsP5dQvp6grUowEM\n"
			      "uSfRvwU4p014wN6bAbXS88PPmoLjqzORz4wuHuWRSQLNVGdhMAQ1ai+Uie1TwApS\n"
			      "6HOUXD4RL7Yj9Y/sDT0rx7QwI3qeVs0+YwWQvQdS4SAPoXf0JV1GYzefKASbQ30t\n"
			      "T0bBK/mfiRS6+SpGKwIDAQAB\n"
			      "-----END PUBLIC KEY-----\n";

static void digest_of(const char *s, uint8_t h[32])
{
	sha256_buf(s, strlen(s), h);
}

static struct sig_keyset *keyset_of(const struct sig_key *k)
{
	struct sig_keyset *ks = sig_keyset_new();
	assert_non_null(ks);
	assert_int_equal(sig_keyset_add_key(ks, k, NULL), 0);
	return ks;
}

static void test_sign_verify(void **state)
{
	struct sig_key *k = NULL, *other = NULL;
	struct sig_keyset *ks, *ko;
	uint8_t h[32], h2[32], s1[SIG_DER_MAX], s2[SIG_DER_MAX], t[SIG_DER_MAX + 8];
	size_t l1, l2, i;
	char id[SIG_KEY_ID_LEN + 1];
	struct errbuf e;
	(void)state;
	assert_int_equal(sig_key_parse(ecparam_key, strlen(ecparam_key), &k, &e), 0);
	assert_int_equal(sig_key_generate(&other, &e), 0);
	ks = keyset_of(k);
	ko = keyset_of(other);
	digest_of("bundle bytes", h);
	digest_of("bundle bytes!", h2);
	assert_int_equal(sig_sign_hash(k, h, s1, &l1, &e), 0);
	assert_int_equal(sig_sign_hash(k, h, s2, &l2, &e), 0);
	/* determinism: same key and data -> same bytes */
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	assert_int_equal(sig_der_check(s1, l1, &e), 0);
	assert_int_equal(sig_verify_hash(ks, h, s1, l1, id, &e), SIG_OK);
	sig_key_id(k, id + 0);
	assert_string_equal(id, sig_keyset_id(ks, 0));
	/* tampered data, wrong key */
	assert_int_equal(sig_verify_hash(ks, h2, s1, l1, NULL, &e), SIG_INVALID);
	assert_int_equal(sig_verify_hash(ko, h, s1, l1, NULL, &e), SIG_INVALID);
	assert_non_null(strstr(e.msg, "does not match key"));
	/* trailing newline */
	memcpy(t, s1, l1);
	t[l1] = '\n';
	assert_int_equal(sig_verify_hash(ks, h, t, l1 + 1, NULL, &e), SIG_MALFORMED);
	assert_non_null(strstr(e.msg, "trailing"));
	/* every truncation, and empty */
	for (i = 0; i < l1; i++)
		assert_int_equal(sig_verify_hash(ks, h, s1, i, NULL, &e), SIG_MALFORMED);
	/* a flipped bit anywhere is malformed or invalid, never ok */
	for (i = 0; i < l1 * 8; i++) {
		memcpy(t, s1, l1);
		t[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(sig_verify_hash(ks, h, t, l1, NULL, &e), SIG_OK);
	}
	sig_keyset_free(ks);
	sig_keyset_free(ko);
	sig_key_free(k);
	sig_key_free(other);
}

static void test_der_vectors(void **state)
{
	static const uint8_t n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
		0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	uint8_t s[80];
	struct errbuf e;
	(void)state;
	/* minimal valid: r = 1, s = 1 */
	{
		const uint8_t v[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), 0);
	}
	{ /* r = 0 */
		const uint8_t v[] = {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), -1);
		assert_non_null(strstr(e.msg, "out of range"));
	}
	{ /* negative r */
		const uint8_t v[] = {0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), -1);
	}
	{ /* non-minimal r */
		const uint8_t v[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), -1);
		assert_non_null(strstr(e.msg, "minimal"));
	}
	{ /* long-form sequence length */
		const uint8_t v[] = {0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), -1);
	}
	{ /* extra data inside the sequence */
		const uint8_t v[] = {0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00};
		assert_int_equal(sig_der_check(v, sizeof(v), &e), -1);
	}
	/* r = n (out of range), r = n - 1 (ok) */
	s[0] = 0x30;
	s[1] = 2 + 33 + 3;
	s[2] = 0x02;
	s[3] = 33;
	s[4] = 0x00;
	memcpy(s + 5, n, 32);
	s[37] = 0x02;
	s[38] = 0x01;
	s[39] = 0x01;
	assert_int_equal(sig_der_check(s, 40, &e), -1);
	s[36] = 0x50;
	assert_int_equal(sig_der_check(s, 40, &e), 0);
	/* raw 64-byte r||s */
	memset(s, 0x11, 64);
	assert_int_equal(sig_der_check(s, 64, &e), -1);
	assert_non_null(strstr(e.msg, "raw r||s"));
	/* longer than 72 */
	memset(s, 0, sizeof(s));
	s[0] = 0x30;
	s[1] = 73 - 2;
	assert_int_equal(sig_der_check(s, 73, &e), -1);
	assert_int_equal(sig_der_check(s, 0, &e), -1);
	assert_non_null(strstr(e.msg, "empty"));
}

static void test_keys(void **state)
{
	struct sig_key *k = NULL, *k2 = NULL;
	struct sig_keyset *ks = sig_keyset_new();
	struct buf *b = buf_new(64 * 1024), *pub = buf_new(4096);
	char id1[SIG_KEY_ID_LEN + 1], id2[SIG_KEY_ID_LEN + 1];
	struct errbuf e;
	size_t i;
	(void)state;
	assert_int_equal(sig_key_generate(&k, &e), 0);
	/* PKCS#8 round trip keeps the key */
	assert_int_equal(sig_key_private_pem(k, b, &e), 0);
	assert_non_null(strstr(buf_data(b), "-----BEGIN PRIVATE KEY-----\n"));
	assert_int_equal(sig_key_parse(buf_data(b), buf_len(b), &k2, &e), 0);
	sig_key_id(k, id1);
	sig_key_id(k2, id2);
	assert_string_equal(id1, id2);
	assert_int_equal(strlen(id1), 16);
	/* public PEM -> keyset with the same id */
	assert_int_equal(sig_key_public_pem(k, pub, &e), 0);
	assert_int_equal(sig_keyset_add_pem(ks, buf_data(pub), buf_len(pub), "pub", &e), 0);
	assert_string_equal(sig_keyset_id(ks, 0), id1);
	/* two keys in one file, with text around */
	buf_reset(b);
	assert_int_equal(buf_printf(b, &e, "comment\n%s\nmore text\n", buf_data(pub)), 0);
	assert_int_equal(sig_key_public_pem(k2, b, &e), 0);
	assert_int_equal(sig_keyset_add_pem(ks, buf_data(b), buf_len(b), "two", &e), 0);
	assert_int_equal(sig_keyset_count(ks), 3);
	/* non-P-256 keys name the block */
	assert_int_equal(sig_keyset_add_pem(ks, p384_pub, strlen(p384_pub), "t.pem", &e), -1);
	assert_non_null(strstr(e.msg, "t.pem: block 1: not a P-256 key"));
	buf_reset(b);
	assert_int_equal(buf_printf(b, &e, "%s%s", buf_data(pub), rsa_pub), 0);
	assert_int_equal(sig_keyset_add_pem(ks, buf_data(b), buf_len(b), "t.pem", &e), -1);
	assert_non_null(strstr(e.msg, "block 2: not a P-256 key"));
	assert_int_equal(sig_keyset_count(ks), 3); /* nothing added on failure */
	assert_int_equal(sig_keyset_add_pem(ks, "no key", 6, "x", &e), -1);
	assert_non_null(strstr(e.msg, "no '-----BEGIN PUBLIC KEY-----' block"));
	assert_int_equal(sig_keyset_add_pem(ks, "-----BEGIN PUBLIC KEY-----\nAAAA\n", 32, "x", &e),
			 -1);
	/* at most 16 keys */
	for (i = 3; i < SIG_KEYS_MAX; i++)
		assert_int_equal(sig_keyset_add_pem(ks, buf_data(pub), buf_len(pub), "p", &e), 0);
	assert_int_equal(sig_keyset_add_pem(ks, buf_data(pub), buf_len(pub), "p", &e), -1);
	assert_non_null(strstr(e.msg, "more than 16 keys"));
	sig_key_free(k2);
	k2 = NULL;
	/* private key refusals */
	{
		static const char enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
					  "-----END ENCRYPTED PRIVATE KEY-----\n";
		assert_int_equal(sig_key_parse(enc, strlen(enc), &k2, &e), -1);
	}
	assert_non_null(strstr(e.msg, "encrypted private keys are not supported"));
	assert_int_equal(sig_key_parse(p384_pub, strlen(p384_pub), &k2, &e), -1);
	assert_int_equal(sig_key_parse("", 0, &k2, &e), -1);
	assert_int_equal(sig_key_parse("a\0b", 3, &k2, &e), -1);
	assert_null(k2);
	sig_key_free(k);
	sig_keyset_free(ks);
	buf_free(b);
	buf_free(pub);
}

static void test_path_for(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(sig_path_for("d/x.tar.gz", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "d/x.sig");
	assert_int_equal(sig_path_for("channels/stable.json", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "channels/stable.json.sig");
	assert_int_equal(sig_path_for("SHA256SUMS", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "SHA256SUMS.sig");
	assert_int_equal(sig_path_for("a-very-long-name-that-does-not-fit.json", out, 10, NULL),
			 -1);
}

/* Interoperability fixture made now by openssl (skipped when it is absent). */
static void test_openssl_fixture(void **state)
{
	char *sig = NULL, *pub = NULL;
	size_t sl = 0, pl = 0;
	uint8_t h[32];
	struct sig_keyset *ks;
	struct sig_key *k = NULL;
	struct errbuf e;
	uint8_t mine[SIG_DER_MAX];
	size_t ml;
	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(
		system("openssl ecparam -genkey -name prime256v1 -noout -out k.pem "
		       "2>/dev/null && openssl ec -in k.pem -pubout -out k.pub 2>/dev/null && "
		       "printf 'payload' >data && openssl dgst -sha256 -sign k.pem -out "
		       "data.sig data"),
		0);
	assert_int_equal(fsutil_read_file("data.sig", 4096, 0, &sig, &sl, &e), 0);
	assert_int_equal(fsutil_read_file("k.pub", 4096, 0, &pub, &pl, &e), 0);
	ks = sig_keyset_new();
	assert_int_equal(sig_keyset_add_pem(ks, pub, pl, "k.pub", &e), 0);
	digest_of("payload", h);
	assert_int_equal(sig_verify_hash(ks, h, (uint8_t *)sig, sl, NULL, &e), SIG_OK);
	/* and openssl verifies ours */
	free(sig);
	sig = NULL;
	assert_int_equal(fsutil_read_file("k.pem", 4096, 0, &sig, &sl, &e), 0);
	assert_int_equal(sig_key_parse(sig, sl, &k, &e), 0);
	assert_int_equal(sig_sign_hash(k, h, mine, &ml, &e), 0);
	assert_int_equal(fsutil_write_file("mine.sig", mine, ml, NULL, &e), 0);
	assert_int_equal(system("openssl dgst -sha256 -verify k.pub -signature mine.sig data "
				">/dev/null"),
			 0);
	sig_key_free(k);
	sig_keyset_free(ks);
	free(sig);
	free(pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_der_vectors),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_path_for),
		cmocka_unit_test(test_openssl_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
