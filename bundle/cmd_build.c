/* agent-bundle build (spec bundle-install-update.md §6.1). */
#include "build.h"
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char build_usage[] =
	"usage: agent-bundle build --version V --platform KEY --input-dir DIR --out OUTDIR\n"
	"                          [--file BUNDLEPATH=SRC]... [--site-env FILE] [--sign KEY.pem]\n"
	"                          [--source-date-epoch N] [--strict]\n"
	"Writes OUTDIR/<name>.tar.gz, <name>.sha256 and, with --sign, <name>.sig; prints <name>.\n"
	"SOURCE_DATE_EPOCH (option or environment) is required.\n"
	"exit status: 0 built, 1 failure (input problems are listed), 2 usage error\n";

static void warn_fn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "agent-bundle: warning: %s\n", msg);
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"version", required_argument, NULL, 'v'},
		{"platform", required_argument, NULL, 'p'},
		{"input-dir", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"file", required_argument, NULL, 'f'},
		{"site-env", required_argument, NULL, 'e'},
		{"sign", required_argument, NULL, 'k'},
		{"source-date-epoch", required_argument, NULL, 's'},
		{"strict", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct build_opts o;
	struct build_result r;
	struct audit_override *ov = NULL;
	char platform[BNAME_PLATFORM_MAX + 1];
	const char *sde_text = NULL, *platform_arg = NULL, *key_path = NULL;
	struct buf *problems = NULL;
	struct errbuf e;
	bool usage = false;
	int c, rc = 2;

	memset(&o, 0, sizeof(o));
	ov = calloc((size_t)argc, sizeof(*ov));
	if (ov == NULL) {
		fputs("agent-bundle: error: out of memory\n", stderr);
		return 1;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			o.version = optarg;
			break;
		case 'p':
			platform_arg = optarg;
			break;
		case 'i':
			o.input_dir = optarg;
			break;
		case 'o':
			o.out_dir = optarg;
			break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg || eq[1] == '\0') {
				fprintf(stderr,
					"agent-bundle: error: --file wants BUNDLEPATH=SRC, got "
					"'%s'\n",
					optarg);
				goto out;
			}
			*eq = '\0';
			ov[o.nfiles].path = optarg;
			ov[o.nfiles].src = eq + 1;
			o.nfiles++;
			break;
		}
		case 'e':
			o.site_env = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 's':
			sde_text = optarg;
			break;
		case 'S':
			o.strict = true;
			break;
		case 'h':
			fputs(build_usage, stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr,
				"agent-bundle: error: build: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			fputs(build_usage, stderr);
			goto out;
		}
	}
	if (optind != argc || !o.version || !platform_arg || !o.input_dir || !o.out_dir) {
		fputs("agent-bundle: error: build: --version, --platform, --input-dir and --out "
		      "are "
		      "required\n",
		      stderr);
		fputs(build_usage, stderr);
		goto out;
	}
	if (sde_text == NULL)
		sde_text = getenv("SOURCE_DATE_EPOCH");
	if (sde_text == NULL) {
		fputs("agent-bundle: error: SOURCE_DATE_EPOCH is required (--source-date-epoch N "
		      "or "
		      "the SOURCE_DATE_EPOCH environment variable)\n",
		      stderr);
		goto out;
	}
	if (bname_sde_parse(sde_text, strlen(sde_text), &o.sde, &e) < 0) {
		fprintf(stderr, "agent-bundle: error: %s\n", e.msg);
		goto out;
	}
	if (bname_platform_normalize(platform_arg, strlen(platform_arg), platform, sizeof(platform),
				     &e) < 0) {
		fprintf(stderr, "agent-bundle: error: %s\n", e.msg);
		goto out;
	}
	o.platform = platform;
	o.files = ov;
	o.warn = warn_fn;
	rc = 1;
	if (key_path) {
		bool loose = false;
		if (sig_key_load_file(key_path, &o.key, &loose, &e) < 0) {
			fprintf(stderr, "agent-bundle: error: cannot load signing key: %s\n",
				e.msg);
			goto out;
		}
		if (loose)
			fprintf(stderr,
				"agent-bundle: warning: signing key %s is readable by group or "
				"others "
				"(chmod 600 it)\n",
				key_path);
	}
	problems = buf_new(1024 * 1024);
	if (problems == NULL) {
		fputs("agent-bundle: error: out of memory\n", stderr);
		goto out;
	}
	if (build_run(&o, &r, problems, &usage, &e) < 0) {
		const char *p = buf_data(problems), *nl;
		for (; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				break;
			fprintf(stderr, "agent-bundle: error: %.*s\n", (int)(nl - p), p);
		}
		fprintf(stderr, "agent-bundle: error: cannot build bundle: %s\n", e.msg);
		rc = usage ? 2 : 1;
		goto out;
	}
	printf("%s\n", r.name);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	sig_key_free(o.key);
	buf_free(problems);
	free(ov);
	return rc;
}
