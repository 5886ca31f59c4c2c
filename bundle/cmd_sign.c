/* agent-bundle sign (spec bundle-install-update.md §4, §6.5). */
#include "cmd.h"
#include "fsutil.h"
#include "sha256.h"
#include "sig.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char sign_usage[] =
	"usage: agent-bundle sign --key KEY.pem FILE [--out SIG]\n"
	"Writes the deterministic ECDSA P-256 DER signature of FILE to SIG (default: FILE with\n"
	".tar.gz replaced by .sig, or .sig appended).\n"
	"exit status: 0 signed, 1 failure, 2 usage error\n";

int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *key_path = NULL, *out = NULL;
	char sigpath[PATH_MAX];
	struct sig_key *k = NULL;
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	uint8_t digest[32], sig[SIG_DER_MAX];
	size_t siglen = 0;
	struct errbuf e;
	bool loose = false;
	int c, rc = 2;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(sign_usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"agent-bundle: error: sign: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			fputs(sign_usage, stderr);
			return 2;
		}
	}
	if (key_path == NULL || optind != argc - 1) {
		fputs(sign_usage, stderr);
		return 2;
	}
	rc = 1;
	if (out == NULL) {
		if (sig_path_for(argv[optind], sigpath, sizeof(sigpath), &e) < 0) {
			fprintf(stderr, "agent-bundle: error: %s\n", e.msg);
			goto done;
		}
		out = sigpath;
	}
	if (sig_key_load_file(key_path, &k, &loose, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: cannot load signing key: %s\n", e.msg);
		goto done;
	}
	if (loose)
		fprintf(stderr,
			"agent-bundle: warning: signing key %s is readable by group or others "
			"(chmod "
			"600 it)\n",
			key_path);
	if (sha256_file(argv[optind], digest, &e) < 0 ||
	    sig_sign_hash(k, digest, sig, &siglen, &e) < 0 ||
	    fsutil_write_file(out, sig, siglen, &wo, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: cannot sign %s: %s\n", argv[optind], e.msg);
		goto done;
	}
	rc = 0;
done:
	sig_key_free(k);
	return rc;
}
