/* agent-bundle verify (spec bundle-install-update.md §6.3, checks of §5). */
#include "bounds.h"
#include "cmd.h"
#include "fsutil.h"
#include "hex.h"
#include "json.h"
#include "verify.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char verify_usage[] =
	"usage: agent-bundle verify FILE [--sha256 HEX] [--pubkey FILE]... [--signature SIGFILE]\n"
	"                           [--insecure-no-signature] [--platform KEY] [--fingerprint "
	"HEX]\n"
	"                           [--json]\n"
	"Checks size, sha256 (--sha256, else a FILE .sha256 sibling if present), the signature\n"
	"against the --pubkey keys, and every archive entry against MANIFEST.  Nothing is "
	"unpacked.\n"
	"exit status: 0 valid, 1 invalid, 2 usage error\n";

static void warn_fn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "agent-bundle: warning: %s\n", msg);
}

/* Expected sha256 from the .sha256 sibling (§1.5), if there is one.
 * 1 found, 0 none, -1 malformed (e). */
static int sibling_sha256(const char *path, uint8_t out[32], char *sib, size_t sib_size,
			  struct errbuf *e)
{
	size_t l = strlen(path), len = 0;
	char *text = NULL;
	int n, rc;
	struct errbuf le;

	if (l >= 7 && strcmp(path + l - 7, ".tar.gz") == 0)
		n = snprintf(sib, sib_size, "%.*s.sha256", (int)(l - 7), path);
	else
		n = snprintf(sib, sib_size, "%s.sha256", path);
	if (n < 0 || (size_t)n >= sib_size)
		return 0;
	if (fsutil_read_file(sib, 4096, 0, &text, &len, &le) < 0) {
		if (errno == ENOENT)
			return 0;
		err_set(e, "%s", le.msg);
		return -1;
	}
	rc = verify_parse_sha256_file(text, len, out, &le);
	free(text);
	if (rc < 0) {
		err_set(e, "%s: %s", sib, le.msg);
		return -1;
	}
	return 1;
}

static int print_json(const struct verify_result *r)
{
	struct json_value *o = json_new_object();
	char *text;
	size_t len;
	struct errbuf e;
	int rc = -1;

	if (o == NULL)
		return -1;
	if (json_object_set_string(o, "name", r->name) < 0 ||
	    json_object_set_string(o, "version", r->version) < 0 ||
	    json_object_set_string(o, "platform", r->platform) < 0 ||
	    json_object_set_string(o, "fingerprint", r->fingerprint) < 0 ||
	    (r->signature_verified ? json_object_set_string(o, "key_id", r->key_id)
				   : json_object_set_null(o, "key_id")) < 0 ||
	    json_object_set_int(o, "files", (int64_t)r->files) < 0 ||
	    json_object_set_int(o, "bytes", (int64_t)r->bytes) < 0 ||
	    json_object_set_string(o, "signature", r->signature_verified ? "verified" : "skipped") <
		    0)
		goto out;
	text = json_write_alloc(o, JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE, 64 * 1024, &len,
				&e);
	if (text == NULL)
		goto out;
	fwrite(text, 1, len, stdout);
	free(text);
	rc = 0;
out:
	json_free(o);
	return rc;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sha256", required_argument, NULL, 'S'},
		{"pubkey", required_argument, NULL, 'k'},
		{"signature", required_argument, NULL, 's'},
		{"insecure-no-signature", no_argument, NULL, 'I'},
		{"platform", required_argument, NULL, 'p'},
		{"fingerprint", required_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify_opts o;
	struct verify_result r;
	struct sig_keyset *ks = sig_keyset_new();
	char platform[BNAME_PLATFORM_MAX + 1], sib[4096];
	struct errbuf e;
	bool json = false;
	int c, rc = 2;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.size = -1;
	o.warn = warn_fn;
	if (ks == NULL) {
		fputs("agent-bundle: error: out of memory\n", stderr);
		return 1;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (strlen(optarg) != 64 ||
			    hex_decode(optarg, 64, o.sha256, 32, NULL, HEX_ALLOW_UPPER) < 0) {
				fprintf(stderr,
					"agent-bundle: error: --sha256 wants 64 hex digits\n");
				goto out;
			}
			o.have_sha256 = true;
			break;
		case 'k':
			if (sig_keyset_add_file(ks, optarg, &e) < 0) {
				fprintf(stderr, "agent-bundle: error: cannot load public key: %s\n",
					e.msg);
				goto out;
			}
			break;
		case 's':
			o.sig_path = optarg;
			break;
		case 'I':
			o.insecure_no_signature = true;
			break;
		case 'p':
			if (bname_platform_normalize(optarg, strlen(optarg), platform,
						     sizeof(platform), &e) < 0) {
				fprintf(stderr, "agent-bundle: error: %s\n", e.msg);
				goto out;
			}
			o.platform = platform;
			break;
		case 'f':
			if (strlen(optarg) != 64 ||
			    hex_decode(optarg, 64, o.fingerprint, 32, NULL, HEX_ALLOW_UPPER) < 0) {
				fprintf(stderr,
					"agent-bundle: error: --fingerprint wants 64 hex digits\n");
				goto out;
			}
			o.have_fingerprint = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr,
				"agent-bundle: error: verify: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			fputs(verify_usage, stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		fputs(verify_usage, stderr);
		goto out;
	}
	o.path = argv[optind];
	o.keys = ks;
	rc = 1;
	if (!o.have_sha256) {
		int s = sibling_sha256(o.path, o.sha256, sib, sizeof(sib), &e);
		if (s < 0) {
			fprintf(stderr, "agent-bundle: error: verify failed [%s]: %s\n",
				verify_code_name(VERIFY_SHA256_MISMATCH), e.msg);
			goto out;
		}
		o.have_sha256 = s == 1;
	}
	if (o.insecure_no_signature)
		fputs("agent-bundle: warning: signature not checked (--insecure-no-signature)\n",
		      stderr);
	if (verify_bundle(&o, &r, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: verify failed [%s]: %s\n",
			verify_code_name(r.code), e.msg);
		goto out;
	}
	if (json) {
		if (print_json(&r) < 0) {
			fputs("agent-bundle: error: cannot write JSON\n", stderr);
			goto out;
		}
	} else {
		printf("name %s\nversion %s\nplatform %s\nfingerprint %s\nkey_id %s\nfiles %llu\n"
		       "bytes %llu\nsignature %s\n",
		       r.name, r.version, r.platform, r.fingerprint,
		       r.signature_verified ? r.key_id : "-", (unsigned long long)r.files,
		       (unsigned long long)r.bytes, r.signature_verified ? "verified" : "skipped");
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	verify_result_free(&r);
	sig_keyset_free(ks);
	return rc;
}
