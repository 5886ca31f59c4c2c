/* lib/channel: channel manifests (§13.8), their signature, url resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "channel.h"
#include "sha256.h"
#include "sig.h"

#define FP "3f9a1c07be52aabbccddeeff00112233445566778899aabbccddeeff00112233"
#define SHA "db4b4d0d1cb480bf9aeea253771c00febe627f236765fa37d6a5614f079a3aa0"
#define NAME "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52.tar.gz"
#define NOW 1772366400 /* 2026-03-01T12:00:00Z */

/* A manifest in the pipeline's layout with parts replaceable by the cases. */
static char *make(const char *channel, const char *version, const char *expires,
		  const char *rollout, const char *platform, const char *bundle, const char *url,
		  const char *size)
{
	static char out[8192];
	int n = snprintf(out, sizeof(out),
			 "{\n  \"format\": 1,\n  \"channel\": \"%s\",\n  \"version\": \"%s\",\n"
			 "  \"expires\": \"%s\",\n  \"rollout_percent\": %s,\n"
			 "  \"platforms\": {\n    \"%s\": {\n      \"bundle\": \"%s\",\n"
			 "      \"url\": \"%s\",\n      \"sha256\": \"" SHA "\",\n"
			 "      \"size\": %s,\n      \"fingerprint\": \"" FP "\"\n    }\n  }\n}\n",
			 channel, version, expires, rollout, platform, bundle, url, size);

	assert_true(n > 0 && (size_t)n < sizeof(out));
	return out;
}

static const char *good(void)
{
	return make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64", NAME,
		    "../" NAME, "4193771");
}

static int parse(const char *doc, const char *url, struct channel *c, struct errbuf *e)
{
	struct channel_opts o = {url, "linux-x86_64", NOW};

	return channel_parse(doc, strlen(doc), &o, c, e);
}

static void test_valid(void **state)
{
	struct channel c;
	struct errbuf e = {{0}};

	(void)state;
	assert_int_equal(parse(good(), "https://rel.example/dist/channels/stable.json", &c, &e), 0);
	assert_string_equal(c.channel, "stable");
	assert_string_equal(c.version, "1.4.0");
	assert_int_equal(c.rollout_percent, 25);
	assert_string_equal(c.expires_at, "2026-05-30T12:00:00Z");
	assert_string_equal(c.entry.url, "https://rel.example/dist/" NAME);
	assert_string_equal(c.entry.sig_url, "https://rel.example/dist/"
					     "agent-bundle-linux-x86_64__20260301120000-1.4.0-"
					     "3f9a1c07be52.sig");
	assert_string_equal(c.entry.fingerprint, FP);
	assert_string_equal(c.entry.sha256, SHA);
	assert_int_equal(c.entry.size, 4193771);
	/* local path manifests resolve to local paths */
	assert_int_equal(parse(good(), "/srv/mirror/channels/stable.json", &c, &e), 0);
	assert_string_equal(c.entry.url, "/srv/mirror/" NAME);
	assert_int_equal(parse(good(), "./mirror/channels/stable.json", &c, &e), 0);
	assert_string_equal(c.entry.url, "./mirror/" NAME);
	/* a manifest URL not ending .json: no stem rule */
	assert_int_equal(parse(good(), "https://rel.example/c?name=beta", &c, &e), 0);
}

static void test_rejects(void **state)
{
	static const struct {
		const char *what, *url, *want;
	} urls[] = {
		{"stem mismatch", "https://h/channels/beta.json",
		 "channel stable served as beta.json"},
	};
	struct channel c;
	struct errbuf e = {{0}};
	size_t i;
	const char *base = "https://h/channels/stable.json";

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		assert_int_equal(parse(good(), urls[i].url, &c, &e), -1);
		assert_non_null(strstr(e.msg, urls[i].want));
	}
	/* expired: now >= expires */
	assert_int_equal(parse(make("stable", "1.4.0", "2026-03-01T12:00:00Z", "25", "linux-x86_64",
				    NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_string_equal(e.msg, "channel manifest expired at 2026-03-01T12:00:00Z (clock "
				   "2026-03-01T12:00:00Z)");
	/* offsets: exactly now is expired, one second later is not */
	assert_int_equal(parse(make("stable", "1.4.0", "2026-03-01T13:00:00+01:00", "25",
				    "linux-x86_64", NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-03-01T11:00:01-01:00", "25",
				    "linux-x86_64", NAME, NAME, "1"),
			       base, &c, &e),
			 0);
	/* missing platform */
	assert_int_equal(
		parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-aarch64",
			   "agent-bundle-linux-aarch64__20260301120000-1.4.0-3f9a1c07be52."
			   "tar.gz",
			   NAME, "1"),
		      base, &c, &e),
		-1);
	assert_string_equal(e.msg, "channel stable has no build for linux-x86_64");
	/* bundle name inconsistent: version id, fp12, platform */
	assert_int_equal(parse(make("stable", "1.4.1", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_non_null(strstr(e.msg, "does not match"));
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    "agent-bundle-linux-x86_64__20260301120000-1.4.0-000000000000."
				    "tar.gz",
				    NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_non_null(strstr(e.msg, "does not match"));
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    "agent-bundle-linux-arm64__20260301120000-1.4.0-3f9a1c07be52."
				    "tar.gz",
				    NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_non_null(strstr(e.msg, "does not match"));
	/* http and other schemes refused */
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, "http://h/" NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_non_null(strstr(e.msg, "insecure URL refused"));
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, "file:///x", "1"),
			       base, &c, &e),
			 -1);
	/* sizes, rollout, channel names, version */
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, NAME, "0"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, NAME, "536870912"),
			       base, &c, &e),
			 0);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "25", "linux-x86_64",
				    NAME, NAME, "536870913"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "101",
				    "linux-x86_64", NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30T12:00:00Z", "1.0",
				    "linux-x86_64", NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("Stable", "1.4.0", "2026-05-30T12:00:00Z", "1", "linux-x86_64",
				    NAME, NAME, "1"),
			       "https://h/Stable.json", &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "01.4.0", "2026-05-30T12:00:00Z", "1", "linux-x86_64",
				    NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
	assert_int_equal(parse(make("stable", "1.4.0", "2026-05-30 12:00:00Z", "1", "linux-x86_64",
				    NAME, NAME, "1"),
			       base, &c, &e),
			 -1);
}

static void test_malformed(void **state)
{
	static const char *const docs[] = {
		"",
		"[]",
		"{\"format\": 1, \"format\": 1}",
		"{\"format\": 2}",
		"{\"format\": 1, \"channel\": \"stable\"}",
		"{\"format\": 1, \"channel\": \"sta\\u0000ble\"}",
	};
	struct channel c;
	struct errbuf e = {{0}};
	size_t i;
	char *big;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_int_equal(parse(docs[i], "https://h/stable.json", &c, &e), -1);
	/* truncated good document */
	{
		const char *g = good();
		struct channel_opts o = {"https://h/stable.json", "linux-x86_64", NOW};

		assert_int_equal(channel_parse(g, strlen(g) - 3, &o, &c, &e), -1);
		/* embedded NUL inside the document */
		assert_int_equal(channel_parse(g, strlen(g) + 1, &o, &c, &e), -1);
	}
	/* max and max+1 */
	big = malloc(CHANNEL_FILE_MAX + 2);
	assert_non_null(big);
	{
		const char *g = good();
		size_t gl = strlen(g);
		struct channel_opts o = {"https://h/stable.json", "linux-x86_64", NOW};

		memcpy(big, g, gl);
		memset(big + gl, ' ', CHANNEL_FILE_MAX + 1 - gl);
		assert_int_equal(channel_parse(big, CHANNEL_FILE_MAX, &o, &c, &e), 0);
		assert_int_equal(channel_parse(big, CHANNEL_FILE_MAX + 1, &o, &c, &e), -1);
	}
	free(big);
}

static void test_resolve(void **state)
{
	static const struct {
		const char *base, *ref, *want;
	} ok[] = {
		{"https://h/a/b/c.json", "x.tar.gz", "https://h/a/b/x.tar.gz"},
		{"https://h/a/b/c.json", "../x.tar.gz", "https://h/a/x.tar.gz"},
		{"https://h/a/b/c.json", "../../../x", "https://h/x"},
		{"https://h/a/b/c.json", "./x", "https://h/a/b/x"},
		{"https://h/a/b/c.json", "/abs/x", "https://h/abs/x"},
		{"https://h/a/b/c.json", "//other/y/../z", "https://other/z"},
		{"https://h:8443/a/c.json?q=1", "x", "https://h:8443/a/x"},
		{"https://h", "x", "https://h/x"},
		{"https://h/a/c.json", "https://cdn/x", "https://cdn/x"},
		{"/m/channels/s.json", "../x", "/m/x"},
		{"/m/channels/s.json", "x", "/m/channels/x"},
		{"./m/channels/s.json", "../x", "./m/x"},
		{"/m/channels/s.json", "/abs", "/abs"},
		{"https://h/a/b/c.json", "x/./y/../z", "https://h/a/b/x/z"},
	};
	static const struct {
		const char *base, *ref;
	} bad[] = {
		{"https://h/c.json", "http://h/x"},
		{"https://h/c.json", "ftp://h/x"},
		{"https://h/c.json", ""},
		{"http://h/c.json", "x"},
	};
	char out[CHANNEL_URL_MAX];
	struct errbuf e = {{0}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(channel_resolve(ok[i].base, ok[i].ref, out, sizeof(out), &e), 0);
		assert_string_equal(out, ok[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(channel_resolve(bad[i].base, bad[i].ref, out, sizeof(out), &e),
				 -1);
	assert_int_equal(channel_resolve("https://h/c.json", "x", out, 8, &e), -1);
}

static void test_time(void **state)
{
	static const struct {
		const char *s;
		int64_t t;
	} ok[] = {
		{"1970-01-01T00:00:00Z", 0},        {"2026-03-01T12:00:00Z", NOW},
		{"2026-03-01T12:00:00.123Z", NOW},  {"2026-03-01t12:00:00z", NOW},
		{"2026-03-01T13:30:00+01:30", NOW}, {"2024-02-29T00:00:00Z", 1709164800},
	};
	static const char *const bad[] = {
		"",
		"2026-03-01T12:00:00",
		"2026-03-01 12:00:00Z",
		"2026-02-30T00:00:00Z",
		"2025-02-29T00:00:00Z",
		"2026-03-01T24:00:00Z",
		"2026-03-01T12:00:00.Z",
		"2026-03-01T12:00:00+0100",
		"2026-03-01T12:00:00Zx",
	};
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(channel_time_parse(ok[i].s, strlen(ok[i].s), &t), 0);
		assert_int_equal(t, ok[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(channel_time_parse(bad[i], strlen(bad[i]), &t), -1);
}

static void test_signature(void **state)
{
	struct sig_key *k = NULL, *k2 = NULL;
	struct sig_keyset *ks = sig_keyset_new(), *other = sig_keyset_new(),
			  *empty = sig_keyset_new();
	struct errbuf e = {{0}};
	const char *doc = good();
	uint8_t d[SHA256_LEN], sig[SIG_DER_MAX];
	size_t sl;
	char id[SIG_KEY_ID_LEN + 1];
	char *tampered;

	(void)state;
	assert_int_equal(sig_key_generate(&k, &e), 0);
	assert_int_equal(sig_key_generate(&k2, &e), 0);
	assert_int_equal(sig_keyset_add_key(ks, k, &e), 0);
	assert_int_equal(sig_keyset_add_key(other, k2, &e), 0);
	sha256_buf(doc, strlen(doc), d);
	assert_int_equal(sig_sign_hash(k, d, sig, &sl, &e), 0);
	assert_int_equal(channel_verify_sig(ks, doc, strlen(doc), sig, sl, id, &e), 0);
	assert_string_equal(id, sig_keyset_id(ks, 0));
	/* wrong key, tampered data, truncated signature, empty trusted set */
	assert_int_equal(channel_verify_sig(other, doc, strlen(doc), sig, sl, id, &e), -1);
	tampered = strdup(doc);
	tampered[20] ^= 1;
	assert_int_equal(channel_verify_sig(ks, tampered, strlen(tampered), sig, sl, id, &e), -1);
	free(tampered);
	assert_int_equal(channel_verify_sig(ks, doc, strlen(doc), sig, sl - 1, id, &e), -1);
	assert_int_equal(channel_verify_sig(empty, doc, strlen(doc), sig, sl, id, &e), -1);
	assert_non_null(strstr(e.msg, "no trusted keys"));
	assert_int_equal(channel_verify_sig(NULL, doc, strlen(doc), sig, sl, id, &e), -1);
	sig_keyset_free(ks);
	sig_keyset_free(other);
	sig_keyset_free(empty);
	sig_key_free(k);
	sig_key_free(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),     cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_time),      cmocka_unit_test(test_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
