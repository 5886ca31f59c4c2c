/* agent-bundle key generate|public|id (spec bundle-install-update.md §4.3, §6.5). */
#include "bounds.h"
#include "cmd.h"
#include "fsutil.h"
#include "sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char key_usage[] =
	"usage: agent-bundle key generate OUT.pem   new P-256 key, PKCS#8 PEM, mode 0600\n"
	"       agent-bundle key public KEY.pem     its SubjectPublicKeyInfo PEM on stdout\n"
	"       agent-bundle key id FILE.pem        key id (16 hex) of a private or public key\n"
	"exit status: 0 ok, 1 failure, 2 usage error\n";

static int key_generate(const char *out)
{
	struct fsutil_write_opts wo = {
		.mode = 0600, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct sig_key *k = NULL;
	struct buf *pem = buf_new(4096);
	struct stat st;
	struct errbuf e;
	char id[SIG_KEY_ID_LEN + 1];
	int rc = 1;

	if (pem == NULL) {
		fputs("agent-bundle: error: out of memory\n", stderr);
		return 1;
	}
	if (lstat(out, &st) == 0 || errno != ENOENT) {
		fprintf(stderr,
			"agent-bundle: error: cannot generate key: %s exists; refusing to "
			"overwrite it\n",
			out);
		goto done;
	}
	if (sig_key_generate(&k, &e) < 0 || sig_key_private_pem(k, pem, &e) < 0 ||
	    fsutil_write_file(out, buf_data(pem), buf_len(pem), &wo, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: cannot generate key %s: %s\n", out, e.msg);
		goto done;
	}
	sig_key_id(k, id);
	fprintf(stderr, "agent-bundle: wrote %s (key id %s)\n", out, id);
	rc = 0;
done:
	if (buf_len(pem))
		memset((char *)buf_data(pem), 0, buf_len(pem));
	buf_free(pem);
	sig_key_free(k);
	return rc;
}

static int key_public(const char *path)
{
	struct sig_key *k = NULL;
	struct buf *pem = buf_new(4096);
	struct errbuf e;
	int rc = 1;

	if (pem == NULL)
		return 1;
	if (sig_key_load_file(path, &k, NULL, &e) < 0 || sig_key_public_pem(k, pem, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: cannot read private key: %s\n", e.msg);
		goto done;
	}
	fwrite(buf_data(pem), 1, buf_len(pem), stdout);
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	buf_free(pem);
	sig_key_free(k);
	return rc;
}

static int key_id(const char *path)
{
	char *text = NULL;
	size_t len = 0, i;
	struct errbuf e;
	int rc = 1;

	if (fsutil_read_file(path, BOUNDS_KEY_FILE_MAX, 0, &text, &len, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: cannot read key: %s\n", e.msg);
		return 1;
	}
	if (strstr(text, "PRIVATE KEY-----") != NULL) {
		struct sig_key *k = NULL;
		char id[SIG_KEY_ID_LEN + 1];
		if (sig_key_parse(text, len, &k, &e) < 0) {
			fprintf(stderr, "agent-bundle: error: cannot read key %s: %s\n", path,
				e.msg);
			goto done;
		}
		sig_key_id(k, id);
		sig_key_free(k);
		printf("%s\n", id);
	} else {
		struct sig_keyset *ks = sig_keyset_new();
		if (ks == NULL || sig_keyset_add_pem(ks, text, len, path, &e) < 0) {
			fprintf(stderr, "agent-bundle: error: cannot read key: %s\n",
				ks ? e.msg : "out of memory");
			sig_keyset_free(ks);
			goto done;
		}
		for (i = 0; i < sig_keyset_count(ks); i++)
			printf("%s\n", sig_keyset_id(ks, i));
		sig_keyset_free(ks);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	memset(text, 0, len);
	free(text);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(key_usage, stdout);
		return 0;
	}
	if (argc != 3) {
		fputs(key_usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "generate") == 0)
		return key_generate(argv[2]);
	if (strcmp(argv[1], "public") == 0)
		return key_public(argv[2]);
	if (strcmp(argv[1], "id") == 0)
		return key_id(argv[2]);
	fprintf(stderr, "agent-bundle: error: key: unknown subcommand '%s'\n", argv[1]);
	fputs(key_usage, stderr);
	return 2;
}
