/*
 * agentd self-test (spec bundle-install-update.md §10.4).
 */
#include "selftest.h"

#include "bname.h"
#include "bounds.h"
#include "calib.h"
#include "envfile.h"
#include "fsutil.h"
#include "http_tls.h"
#include "json.h"
#include "sha256.h"
#include "sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static enum selftest_result check_sha256(struct errbuf *why)
{
	static const char want[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];

	sha256_buf("abc", 3, d);
	sha256_to_hex(d, hex);
	if (strcmp(hex, want) != 0) {
		err_set(why, "SHA-256(\"abc\") = %s", hex);
		return SELFTEST_FAIL;
	}
	return SELFTEST_OK;
}

static enum selftest_result check_json(struct errbuf *why)
{
	static const char in[] = "{\"b\": [1, 2.5, \"\\u00e9\"], \"a\": null}";
	static const char want[] = "{\"a\": null, \"b\": [1, 2.5, \"\\u00e9\"]}";
	struct errbuf e = {{0}};
	struct json_value *v = json_parse(in, sizeof(in) - 1, 1024, 0, &e);
	char out[128];
	int rc;

	if (v == NULL) {
		err_set(why, "%s", e.msg);
		return SELFTEST_FAIL;
	}
	rc = json_write(v, JSON_WRITE_CANONICAL, out, sizeof(out), NULL, &e);
	json_free(v);
	if (rc != 0 || strcmp(out, want) != 0) {
		err_set(why, "canonical form differs: %s", rc != 0 ? e.msg : out);
		return SELFTEST_FAIL;
	}
	return SELFTEST_OK;
}

/* Random source, key generation, signing and verification (mbedtls). */
static enum selftest_result check_ecdsa(struct errbuf *why)
{
	struct sig_key *k = NULL;
	struct sig_keyset *ks = sig_keyset_new();
	struct errbuf e = {{0}};
	uint8_t d[SHA256_LEN], sig[SIG_DER_MAX];
	size_t sl = 0;
	enum selftest_result r = SELFTEST_FAIL;

	sha256_buf("agentd self-test", 16, d);
	if (ks == NULL || sig_key_generate(&k, &e) != 0 || sig_keyset_add_key(ks, k, &e) != 0 ||
	    sig_sign_hash(k, d, sig, &sl, &e) != 0) {
		err_set(why, "%s", e.msg[0] != '\0' ? e.msg : "out of memory");
		goto out;
	}
	if (sig_verify_hash(ks, d, sig, sl, NULL, &e) != SIG_OK) {
		err_set(why, "own signature does not verify: %s", e.msg);
		goto out;
	}
	d[0] ^= 1;
	if (sig_verify_hash(ks, d, sig, sl, NULL, &e) == SIG_OK) {
		err_set(why, "a signature over other data verified");
		goto out;
	}
	r = SELFTEST_OK;
out:
	sig_key_free(k);
	sig_keyset_free(ks);
	return r;
}

static enum selftest_result check_platform(struct errbuf *why)
{
	struct utsname u;
	struct errbuf e = {{0}};
	char p[BNAME_PLATFORM_MAX + 1];

	if (uname(&u) != 0) {
		err_set(why, "uname: %s", strerror(errno));
		return SELFTEST_FAIL;
	}
	if (bname_platform_from_uname(u.sysname, u.machine, p, sizeof(p), &e) != 0) {
		err_set(why, "%s", e.msg);
		return SELFTEST_FAIL;
	}
	return SELFTEST_OK;
}

static enum selftest_result check_runtime_env(const struct selftest_config *c, struct errbuf *why)
{
	struct errbuf e = {{0}};
	char *data = NULL;
	size_t len = 0;

	if (c->runtime_env == NULL)
		return SELFTEST_SKIP;
	if (fsutil_read_file(c->runtime_env, BOUNDS_ENVFILE_MAX, 0, &data, &len, &e) != 0) {
		if (errno == ENOENT) {
			err_set(why, "%s does not exist (defaults apply)", c->runtime_env);
			return SELFTEST_SKIP;
		}
		err_set(why, "%s", e.msg);
		return SELFTEST_WARN;
	}
	free(data);
	return SELFTEST_OK;
}

static enum selftest_result check_calib(const struct selftest_config *c, struct errbuf *why)
{
	struct calib *cal;
	struct calib_map m;
	enum selftest_result r = SELFTEST_OK;

	if (c->calib == NULL)
		return SELFTEST_SKIP;
	memset(&m, 0, sizeof(m));
	cal = calib_new(c->calib, 0);
	if (cal == NULL) {
		err_set(why, "out of memory");
		return SELFTEST_FAIL;
	}
	calib_load(cal, &m);
	if (m.status == CALIB_MISSING) {
		err_set(why, "%s does not exist yet", c->calib);
		r = SELFTEST_SKIP;
	} else if (m.status != CALIB_OK) {
		err_set(why, "%s is %s (learning starts over)", c->calib,
			calib_status_name(m.status));
		r = SELFTEST_WARN;
	}
	calib_map_free(&m);
	calib_free(cal);
	return r;
}

/* With a channel: the trusted keys the poller needs (§4.4). */
static enum selftest_result check_trusted(const struct selftest_config *c, struct errbuf *why)
{
	struct sig_keyset *ks;
	struct errbuf e = {{0}};
	enum selftest_result r = SELFTEST_OK;

	if (c->channel_url == NULL || c->channel_url[0] == '\0') {
		err_set(why, "no AGENTD_CHANNEL_URL");
		return SELFTEST_SKIP;
	}
	ks = sig_keyset_new();
	if (ks == NULL || sig_keyset_add_file(ks, c->trusted, &e) != 0) {
		err_set(why, "the channel poller will refuse every manifest: %s",
			e.msg[0] != '\0' ? e.msg : "out of memory");
		r = SELFTEST_WARN;
	}
	sig_keyset_free(ks);
	return r;
}

/* With an https channel: the CA bundle loads (§17). */
static enum selftest_result check_tls(const struct selftest_config *c, struct errbuf *why)
{
	struct http_tls *t;
	struct errbuf e = {{0}};

	if (c->channel_url == NULL || strncmp(c->channel_url, "https://", 8) != 0) {
		err_set(why, "no https channel");
		return SELFTEST_SKIP;
	}
	t = http_tls_new(c->ca_file, 0, &e);
	if (t == NULL) {
		err_set(why, "%s", e.msg);
		return SELFTEST_WARN;
	}
	http_tls_free(t);
	return SELFTEST_OK;
}

int selftest_run(const struct selftest_config *c, selftest_report_fn *report, void *ctx)
{
	struct errbuf w;
	int failed = 0;
	enum selftest_result r;

#define RUN(name, expr)                                                                            \
	do {                                                                                       \
		err_clear(&w);                                                                     \
		r = (expr);                                                                        \
		failed += r == SELFTEST_FAIL;                                                      \
		report(ctx, name, r, w.msg);                                                       \
	} while (0)
	RUN("sha256", check_sha256(&w));
	RUN("json", check_json(&w));
	RUN("ecdsa-p256", check_ecdsa(&w));
	RUN("platform", check_platform(&w));
	RUN("runtime.env", check_runtime_env(c, &w));
	RUN("calibration", check_calib(c, &w));
	RUN("trusted-keys", check_trusted(c, &w));
	RUN("tls", check_tls(c, &w));
#undef RUN
	return failed;
}
