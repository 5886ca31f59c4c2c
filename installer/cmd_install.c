/*
 * agent-install install --bundle FILE ... (spec bundle-install-update.md §10).
 *
 * Implemented: the steps of §10.2 for a local bundle: private copy, verify
 * (§5), "already installed", unpack (§5.5), agentd user on the real host,
 * self-test (§10.4), switch (service files, current, bin links,
 * installed.json), runtime.env (§9 without the probe keys of §9.3 and, for
 * now, without host facts), template and site copies, trusted.pem, service
 * enable/start (§11.6) with the health check (§13.5), GC, summary.
 * --url downloads through lib/http (§17) into .incoming first.
 * Not yet: probes and host facts, ownership under --root
 * read from DIR/etc/passwd (§7.3).
 */
#include "cmd.h"
#include "version.h"

#include "bname.h"
#include "bounds.h"
#include "buf.h"
#include "cli.h"
#include "crashpt.h"
#include "envfile.h"
#include "envplan.h"
#include "envwrite.h"
#include "fsutil.h"
#include "hostfacts.h"
#include "probes.h"
#include "hex.h"
#include "installed.h"
#include "owner.h"
#include "itime.h"
#include "journal.h"
#include "recover.h"
#include "release.h"
#include "runcmd.h"
#include "service.h"
#include "sig.h"
#include "txn.h"
#include "unpack.h"
#include "update.h"
#include "ver.h"
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_PUBKEYS 16
#define MAX_SETS 128

extern char **environ;

static const char install_usage[] =
	"usage: agent-install install (--bundle FILE | --url URL) [--sha256 HEX]\n"
	"                             [--signature SIGFILE] [--pubkey FILE]...\n"
	"                             [--insecure-no-signature] [--root DIR] [--platform KEY]\n"
	"                             [--service auto|systemd|runit|none|command=PATH]\n"
	"                             [--no-start] [--set KEY=VALUE]... [--host-probes]\n"
	"                             [--dry-run]\n"
	"\n"
	"Verifies a bundle, unpacks it as /opt/agentd/releases/<fp12>, makes it current,\n"
	"writes runtime.env defaults and the service files, and starts agentd.\n"
	"  --bundle FILE     local bundle; FILE's .sha256 and .sig siblings are used\n"
	"  --url URL         https URL of a bundle (<stem>.sha256 and <stem>.sig beside it)\n"
	"  --sha256 HEX      expected SHA-256 of the bundle (beats a .sha256 sibling)\n"
	"  --signature FILE  signature file (beats the .sig sibling)\n"
	"  --pubkey FILE     trusted release key(s); becomes /etc/agentd/trusted.pem\n"
	"                    when that does not exist\n"
	"  --insecure-no-signature  accept a bundle without a verified signature\n"
	"  --root DIR        treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"  --platform KEY    expected platform (default: this host's)\n"
	"  --service B       service backend (default auto; none under --root)\n"
	"  --no-start        install and enable, do not start\n"
	"  --set KEY=VALUE   write KEY=VALUE into runtime.env (repeatable)\n"
	"  --host-probes     with --root, use this host's facts anyway\n"
	"  --dry-run         verify and print the plan; change nothing\n"
	"\n"
	"exit status: 0 installed (or already installed), 1 failure, 2 usage,\n"
	"3 the new release was unhealthy and the previous one was restored,\n"
	"4 restoring the previous release also failed\n";

struct opts {
	const char *bundle, *url, *sha256, *signature, *root, *platform, *service;
	const char *pubkeys[MAX_PUBKEYS];
	size_t npubkeys;
	struct envfile_edit sets[MAX_SETS];
	char *set_bufs[MAX_SETS];
	size_t nsets;
	bool insecure, no_start, host_probes, dry_run;
};

static void opts_free(struct opts *o)
{
	size_t i;
	for (i = 0; i < o->nsets; i++)
		free(o->set_bufs[i]);
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"url", required_argument, NULL, 'u'},
		{"sha256", required_argument, NULL, 's'},
		{"signature", required_argument, NULL, 'g'},
		{"pubkey", required_argument, NULL, 'k'},
		{"insecure-no-signature", no_argument, NULL, 'I'},
		{"root", required_argument, NULL, 'r'},
		{"platform", required_argument, NULL, 'p'},
		{"service", required_argument, NULL, 'S'},
		{"no-start", no_argument, NULL, 'n'},
		{"set", required_argument, NULL, 'e'},
		{"host-probes", no_argument, NULL, 'H'},
		{"dry-run", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct errbuf e;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 's':
			o->sha256 = optarg;
			break;
		case 'g':
			o->signature = optarg;
			break;
		case 'k':
			if (o->npubkeys >= MAX_PUBKEYS)
				return cli_usage("install", "more than %d --pubkey", MAX_PUBKEYS);
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'I':
			o->insecure = true;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'p':
			o->platform = optarg;
			break;
		case 'S':
			o->service = optarg;
			break;
		case 'n':
			o->no_start = true;
			break;
		case 'e': {
			char *eq = strchr(optarg, '='), *copy;
			if (eq == NULL || eq == optarg)
				return cli_usage("install", "--set wants KEY=VALUE, not '%.64s'",
						 optarg);
			if (o->nsets >= MAX_SETS)
				return cli_usage("install", "more than %d --set", MAX_SETS);
			copy = strdup(optarg);
			if (copy == NULL)
				return cli_usage("install", "out of memory");
			o->set_bufs[o->nsets] = copy;
			copy[eq - optarg] = '\0';
			o->sets[o->nsets].op = ENVFILE_UPSERT;
			o->sets[o->nsets].key = copy;
			o->sets[o->nsets].value = copy + (eq - optarg) + 1;
			o->sets[o->nsets].flags = 0;
			o->nsets++;
			break;
		}
		case 'H':
			o->host_probes = true;
			break;
		case 'd':
			o->dry_run = true;
			break;
		case 'h':
			fputs(install_usage, stdout);
			return cli_flush() == 0 ? -1 : 1;
		default:
			return cli_usage("install", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("install", "unexpected argument '%s'", argv[optind]);
	if ((o->bundle == NULL) == (o->url == NULL))
		return cli_usage("install", "give exactly one of --bundle FILE and --url URL");
	if (o->sha256 != NULL &&
	    (strlen(o->sha256) != 64 || !hex_valid(o->sha256, 64, HEX_ALLOW_UPPER)))
		return cli_usage("install", "--sha256 wants 64 hex digits");
	if (o->service != NULL) {
		struct service_choice sc;
		if (service_parse(o->service, true, NULL, &sc, &e) != 0)
			return cli_usage("install", "%s", e.msg);
	}
	if (envfile_check_edits(o->sets, o->nsets, &e) != 0)
		return cli_usage("install", "--set: %s", e.msg);
	{
		size_t i;
		for (i = 0; i < o->nsets; i++)
			if (envplan_is_owned(o->sets[i].key))
				return cli_usage("install",
						 "--set %s: the installer owns this key (§9.2)",
						 o->sets[i].key);
	}
	return 0;
}

/* ---- pieces -------------------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s != NULL ? s + 1 : p;
}

/* Copy src into dir/<base> (§5.2 step 1): a regular file of at most 512 MiB,
 * read through one descriptor and written atomically. */
static int private_copy(const char *src, const char *dir, char *out, size_t out_size,
			struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0600, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct fsutil_atomic *a;
	struct stat st;
	char buf[65536];
	int fd, n;

	n = snprintf(out, out_size, "%s/%s", dir, base_name(src));
	if (n < 0 || (size_t)n >= out_size) {
		err_set(e, "path %s/%s is too long", dir, base_name(src));
		return -1;
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, errno, "open %s", src);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "%s is not a regular file", src);
		close(fd);
		return -1;
	}
	if ((unsigned long long)st.st_size > BOUNDS_BUNDLE_FILE_MAX) {
		err_set(e, "%s is larger than 512 MiB", src);
		close(fd);
		return -1;
	}
	a = fsutil_atomic_begin(out, &wo, e);
	if (a == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_sys(e, errno, "read %s", src);
			goto fail;
		}
		if (r == 0)
			break;
		if (fsutil_atomic_write(a, buf, (size_t)r, e) != 0)
			goto fail;
	}
	close(fd);
	return fsutil_atomic_commit(a, e);
fail:
	close(fd);
	fsutil_atomic_abort(a);
	return -1;
}

/* <stem>.<ext> next to a .tar.gz path. */
static int sibling(const char *path, const char *ext, char *out, size_t size)
{
	size_t n = strlen(path);
	int k;

	if (n > 7 && strcmp(path + n - 7, ".tar.gz") == 0)
		n -= 7;
	k = snprintf(out, size, "%.*s%s", (int)n, path, ext);
	return k < 0 || (size_t)k >= size ? -1 : 0;
}

static int host_platform(char *out, size_t size, struct errbuf *e)
{
	struct utsname u;

	if (uname(&u) != 0) {
		err_sys(e, errno, "uname");
		return -1;
	}
	return bname_platform_from_uname(u.sysname, u.machine, out, size, e);
}

/* §10.4 (update.c): the release's agentd self-test; its last lines on
 * failure go to stderr. */
static int self_test(const struct layout *l, const char *rel_dir, struct errbuf *e)
{
	char tail[2048];

	if (update_self_test(l, rel_dir, environ, tail, sizeof(tail), e) == 0)
		return 0;
	if (tail[0] != '\0')
		fprintf(stderr, "%s%s", tail, tail[strlen(tail) - 1] == '\n' ? "" : "\n");
	return -1;
}

/* §10.3, the real host only. */
static int ensure_user(struct errbuf *e)
{
	static const char *const nologins[] = {"/usr/sbin/nologin", "/sbin/nologin"};
	const char *nologin = "/bin/false";
	struct runcmd_result r;
	char path[PATH_MAX];
	size_t i;

	if (getpwnam("agentd") != NULL)
		return 0;
	for (i = 0; i < 2; i++)
		if (access(nologins[i], X_OK) == 0) {
			nologin = nologins[i];
			break;
		}
	if (runcmd_which("useradd", "/usr/sbin:/usr/bin:/sbin:/bin", path, sizeof(path)) == 0) {
		const char *const argv[] = {path,         "--system",        "--user-group",
					    "--home-dir", "/var/lib/agentd", "--no-create-home",
					    "--shell",    nologin,           "agentd",
					    NULL};
		if (runcmd_run(argv, NULL, 60000, &r, e) == 0 && runcmd_ok(&r))
			return 0;
	} else {
		const char *const ga[] = {"addgroup", "-S", "agentd", NULL};
		const char *const ua[] = {"adduser",         "-S", "-D",    "-H", "-h",
					  "/var/lib/agentd", "-s", nologin, "-G", "agentd",
					  "agentd",          NULL};
		if (runcmd_run(ga, NULL, 60000, &r, e) == 0 && runcmd_ok(&r) &&
		    runcmd_run(ua, NULL, 60000, &r, e) == 0 && runcmd_ok(&r))
			return 0;
	}
	err_set(e, "cannot create user agentd; create it and run again");
	return -1;
}

/* §7.1 directories, §7.3 ownership (real host only, when agentd resolves). */
static void make_dirs(const struct layout *l)
{
	static const enum layout_id group_files[] = {LAYOUT_TEMPLATE, LAYOUT_ENV_BUNDLE};
	struct errbuf e;
	uid_t uid;
	gid_t gid;
	size_t i;

	if (layout_mkdir(l, LAYOUT_ETC, &e) != 0)
		cli_warn("%s", e.msg);
	if (layout_mkdir(l, LAYOUT_VARLIB, &e) != 0)
		cli_warn("%s", e.msg);
	if (chmod(layout_path(l, LAYOUT_ETC), 0750) != 0 ||
	    chmod(layout_path(l, LAYOUT_VARLIB), 0750) != 0)
		cli_warn("cannot set directory modes: %s", strerror(errno));
	if (geteuid() != 0) {
		cli_info("note: ownership not set (not running as root)");
		return;
	}
	if (owner_resolve(l, &uid, &gid) != 0) {
		cli_info("note: ownership not set (user agentd not found%s)",
			 layout_is_host(l) ? "" : " in the root's /etc/passwd and /etc/group");
		return;
	}
	/* §7.1: /etc/agentd root:agentd, /var/lib/agentd agentd:agentd, the
	 * copies root:agentd (runtime.env keeps its owner, §8.4) */
	if (chown(layout_path(l, LAYOUT_ETC), 0, gid) != 0 ||
	    chown(layout_path(l, LAYOUT_VARLIB), uid, gid) != 0)
		cli_warn("cannot set ownership: %s", strerror(errno));
	for (i = 0; i < sizeof(group_files) / sizeof(group_files[0]); i++)
		if (chown(layout_path(l, group_files[i]), 0, gid) != 0 && errno != ENOENT)
			cli_warn("cannot set ownership of %s: %s", layout_path(l, group_files[i]),
				 strerror(errno));
}

/* trusted.pem from --pubkey when it does not exist (§4.4). */
static int write_trusted(const struct layout *l, const struct opts *o, struct errbuf *e)
{
	/* hidden temp: the only kind the /etc/agentd sweep removes (recover.c) */
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = FSUTIL_W_HIDDEN_TEMP, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct buf *b;
	size_t i;
	int rc = -1;

	if (o->npubkeys == 0 || access(layout_path(l, LAYOUT_TRUSTED), F_OK) == 0)
		return 0;
	b = buf_new(BOUNDS_KEYS_MAX * BOUNDS_KEY_FILE_MAX);
	if (b == NULL)
		return -1;
	for (i = 0; i < o->npubkeys; i++) {
		char *data;
		size_t len;
		if (fsutil_read_file(o->pubkeys[i], BOUNDS_KEY_FILE_MAX, 0, &data, &len, e) != 0)
			goto out;
		rc = buf_append(b, data, len, e);
		if (rc == 0 && len > 0 && data[len - 1] != '\n')
			rc = buf_append_byte(b, '\n', e);
		free(data);
		if (rc != 0)
			goto out;
		rc = -1;
	}
	rc = fsutil_write_file(layout_path(l, LAYOUT_TRUSTED), buf_data(b), buf_len(b), &wo, e);
out:
	buf_free(b);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

struct inst {
	struct opts o;
	struct layout *l;
	struct settings set;
	struct sig_keyset *keys;
	struct service *svc;
	char platform[BNAME_PLATFORM_MAX + 1];
	char host_plat[BNAME_PLATFORM_MAX + 1];
	char copy[PATH_MAX];
	char tmpdir[PATH_MAX];
	struct verify_opts vo;
	struct verify_result vr;
	bool have_installed;
	struct installed before;
	bool have_cur;
	char cur[13];
	struct txn_release from, to;
	struct journal j;
	struct buf *report;        /* summary lines after the header (§10.7) */
	struct update_net *net;    /* --url */
	char downloaded[PATH_MAX]; /* --url: the downloaded bundle */
};

static void verify_warn(void *ctx, const char *msg)
{
	(void)ctx;
	cli_warn("%s", msg);
}

static int setup_verify(struct inst *s, const char *path, struct errbuf *e)
{
	char sib[PATH_MAX];
	size_t i;

	memset(&s->vo, 0, sizeof(s->vo));
	s->vo.path = path;
	s->vo.file_name = base_name(s->o.bundle);
	s->vo.size = -1;
	if (s->o.sha256 != NULL) {
		size_t n;
		s->vo.have_sha256 =
			hex_decode(s->o.sha256, 64, s->vo.sha256, 32, &n, HEX_ALLOW_UPPER) == 0;
	} else if (sibling(s->o.bundle, ".sha256", sib, sizeof(sib)) == 0 &&
		   access(sib, F_OK) == 0) {
		char *data;
		size_t len;
		if (fsutil_read_file(sib, 4096, 0, &data, &len, e) != 0)
			return -1;
		if (verify_parse_sha256_file(data, len, s->vo.sha256, e) != 0) {
			free(data);
			return -1;
		}
		free(data);
		s->vo.have_sha256 = true;
	}
	s->keys = sig_keyset_new();
	if (s->keys == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	for (i = 0; i < s->o.npubkeys; i++)
		if (sig_keyset_add_file(s->keys, s->o.pubkeys[i], e) != 0)
			return -1;
	if (access(layout_path(s->l, LAYOUT_TRUSTED), F_OK) == 0 &&
	    sig_keyset_add_file(s->keys, layout_path(s->l, LAYOUT_TRUSTED), e) != 0)
		return -1;
	s->vo.keys = s->keys;
	s->vo.insecure_no_signature = s->o.insecure;
	/* the signature of the original file (a sibling of --bundle) */
	if (s->o.signature != NULL) {
		s->vo.sig_path = s->o.signature;
	} else {
		static char sig[PATH_MAX];
		if (sig_path_for(s->o.bundle, sig, sizeof(sig), e) != 0)
			return -1;
		s->vo.sig_path = sig;
	}
	s->vo.platform = s->platform;
	s->vo.warn = verify_warn;
	return 0;
}

/* §9 for this install (step 12) */
static int apply_env(struct inst *s, const char *rel_dir, bool *changed, struct errbuf *e)
{
	struct envwrite_args a;
	const char *probe = getenv("AGENT_INSTALL_PROBE_ROOT");
	const char *mn = getenv("ANYSCAN_DISABLE_MULTI_NIC_AUTO");
	bool off = false, has_cr = false;

	memset(&a, 0, sizeof(a));
	a.file = layout_path(s->l, LAYOUT_RUNTIME_ENV);
	a.rel_dir = rel_dir;
	a.bundle_name = s->to.bundle_name;
	a.version = s->to.version;
	a.sets = s->o.sets;
	a.nsets = s->o.nsets;
	a.probes = layout_is_host(s->l) || s->o.host_probes;
	a.probe_root = !layout_is_host(s->l) && probe != NULL && probe[0] == '/' ? probe : "/";
	a.path_env = getenv("PATH");
	a.multi_nic_env_off = mn != NULL && settings_parse_bool(mn, strlen(mn), &off) == 0 && off;
	if (layout_mkdir(s->l, LAYOUT_ETC, e) != 0)
		return -1;
	if (envwrite_apply(s->l, &a, changed, &has_cr, s->report, e) != 0)
		return -1;
	if (has_cr)
		cli_warn("%s contains CR bytes; they are part of the values", a.file);
	return 0;
}

static void print_plan(struct inst *s)
{
	printf("would install %s (%.12s) from %s\n", s->vr.version, s->vr.fingerprint, s->vr.name);
	printf("signature %s%s%s\n", s->vr.signature_verified ? "verified with key " : "skipped",
	       s->vr.key_id, "");
	if (s->have_installed && strcmp(s->before.fingerprint, s->vr.fingerprint) == 0)
		printf("already installed %s (%.12s)\n", s->before.version, s->before.fingerprint);
	else
		printf("would switch from %s to %.12s\n", s->have_cur ? s->cur : "nothing",
		       s->vr.fingerprint);
}

static const char *env_lookup(void *ctx, const char *key)
{
	(void)ctx;
	return getenv(key);
}

/* --url (§13.2 row --url, §17): the bundle, <stem>.sig and, without
 * --sha256, <stem>.sha256 into dir; s->o.bundle then names the download. */
static int download(struct inst *s, const char *dir, struct errbuf *e)
{
	char ua[128], *env = NULL;
	size_t env_len = 0;
	int n;

	n = snprintf(ua, sizeof(ua), "agent-install/%s (%s)", version_get(), s->host_plat);
	if (n < 0 || (size_t)n >= sizeof(ua))
		ua[0] = '\0';
	if (fsutil_read_file(layout_path(s->l, LAYOUT_RUNTIME_ENV), 1024 * 1024, 0, &env, &env_len,
			     NULL) != 0)
		env = NULL;
	s->net = update_net_new(s->l, env_lookup, NULL, env, env_len, ua, e);
	free(env);
	if (s->net == NULL)
		return -1;
	if (update_download_bundle(s->net, s->o.url, dir, s->o.sha256 == NULL, s->downloaded,
				   sizeof(s->downloaded), e) != 0)
		return -1;
	s->o.bundle = s->downloaded;
	return 0;
}

static int revert_after_switch(struct inst *s, const char *reason)
{
	struct errbuf e;
	bool restarted;

	cli_warn("install of %s (%s) failed after the switch: %s; restoring %s (%s)", s->to.version,
		 s->to.fp12, reason, s->from.version, s->from.fp12);
	s->j.phase = JOURNAL_REVERTING;
	if (journal_write(s->l, &s->j, &e) != 0 ||
	    txn_switch(s->l, s->svc, s->set.textfile_dir, s->from.fp12, NULL, &e) != 0 ||
	    (crashpt_hit("mid-revert"), 0) || installed_write(s->l, &s->before, &e) != 0 ||
	    txn_apply_env(s->l, &s->from, &e) != 0 ||
	    txn_restart_and_check(s->l, s->svc, s->from.fingerprint, s->set.health_timeout,
				  s->set.health_interval, &cli_clock, &s->j, &restarted, &e) != 0) {
		cli_error("%s; restoring %s also failed: %s", reason, s->from.version, e.msg);
		(void)journal_remove(s->l, NULL);
		return 4;
	}
	cli_error("%s; restored %s (%s)", reason, s->from.version, s->from.fp12);
	(void)journal_remove(s->l, NULL);
	return 3;
}

static int install(struct inst *s)
{
	struct errbuf e;
	char rel_dir[PATH_MAX], now[32];
	struct recover_result rr;
	bool reused = false, already = false, svc_changed = false, env_changed = false;
	bool switched = false;
	struct service_choice sc;
	struct service_host h;
	int64_t t_now = (int64_t)time(NULL);
	size_t failures;
	int rc;

	/* 3: base directories, lock; 4: recovery */
	if (layout_mkdir(s->l, LAYOUT_RELEASES, &e) != 0) {
		cli_error("cannot create %s: %s", layout_path(s->l, LAYOUT_RELEASES), e.msg);
		return 1;
	}
	cli_settings(s->l, &s->set);
	{
		/* recovery restarts through the backend recorded before this command */
		struct installed rec;
		struct service *rsvc = NULL;
		int r;
		if (installed_read(s->l, &rec, NULL) == 0)
			rsvc = cli_service(s->l, rec.service);
		r = recover_run(s->l, &s->set, rsvc, &cli_clock, &rr, &e);
		service_free(rsvc);
		if (r != 0) {
			cli_error("cannot recover an interrupted transaction: %s", e.msg);
			return 1;
		}
	}
	if (rr.outcome != RECOVER_NOTHING)
		cli_info("recovered: %s", rr.message);
	if (layout_mkdir(s->l, LAYOUT_INCOMING, &e) != 0 ||
	    chmod(layout_path(s->l, LAYOUT_INCOMING), 0700) != 0) {
		cli_error("cannot prepare %s: %s", layout_path(s->l, LAYOUT_INCOMING), e.msg);
		return 1;
	}
	/* --url: download into .incoming (§17), then as --bundle */
	if (s->o.url != NULL && download(s, layout_path(s->l, LAYOUT_INCOMING), &e) != 0) {
		cli_error("cannot download %s: %s", s->o.url, e.msg);
		return 1;
	}
	/* 5: the private copy; 6: verify */
	if (private_copy(s->o.bundle, layout_path(s->l, LAYOUT_INCOMING), s->copy, sizeof(s->copy),
			 &e) != 0) {
		cli_error("cannot copy the bundle: %s", e.msg);
		return 1;
	}
	crashpt_hit("after-download");
	if (setup_verify(s, s->copy, &e) != 0) {
		cli_error("cannot verify bundle %s: %s", s->o.bundle, e.msg);
		return 1;
	}
	if (verify_bundle(&s->vo, &s->vr, &e) != 0) {
		cli_error("verify failed [%s]: %s", verify_code_name(s->vr.code), e.msg);
		return 1;
	}
	crashpt_hit("after-verify");
	if (!s->vr.signature_verified)
		cli_warn("installing %s without a verified signature (--insecure-no-signature)",
			 s->vr.name);
	s->have_installed = installed_read(s->l, &s->before, &e) == 0;
	if (!s->have_installed && errno != ENOENT) {
		cli_error("cannot read installed.json: %s", e.msg);
		return 1;
	}
	if (release_current(s->l, s->cur, &s->have_cur, &e) != 0) {
		cli_warn("%s; treating the host as not installed", e.msg);
		s->have_cur = false;
	}
	if (s->have_installed && s->before.version[0] != '\0') {
		int c;
		if (ver_cmp_str(s->vr.version, s->before.version, &c, NULL) == 0 && c < 0)
			cli_warn("installing %s over the higher version %s", s->vr.version,
				 s->before.version);
	}
	memcpy(s->to.fp12, s->vr.fingerprint, 12);
	s->to.fp12[12] = '\0';
	/* 7: already installed */
	if (s->have_installed && strcmp(s->before.fingerprint, s->vr.fingerprint) == 0 &&
	    s->have_cur && strcmp(s->cur, s->to.fp12) == 0 &&
	    release_recheck(s->l, s->to.fp12, NULL, NULL, &e) == 0)
		already = true;
	/* the service backend */
	service_probe(s->l, getenv("PATH"), getenv("SVDIR"), &h);
	if (s->o.service == NULL || strcmp(s->o.service, "auto") == 0) {
		memset(&sc, 0, sizeof(sc));
		sc.kind = service_auto(&h);
	} else {
		(void)service_parse(s->o.service, false, NULL, &sc, &e);
		if (service_check_explicit(&sc, &h, &e) != 0) {
			cli_error("%s", e.msg);
			return 1;
		}
	}
	s->svc = service_new(s->l, &sc, h.scan_dir, NULL, NULL, &e);
	if (s->svc == NULL) {
		cli_error("cannot set up the service backend: %s", e.msg);
		return 1;
	}
	cli_now(now);
	if (!already) {
		/* 8: unpack */
		struct verify_result vr2;
		int urc = unpack_release(s->l, &s->vo, s->to.fp12, t_now, &reused, &vr2, &e);
		if (urc != 0 && vr2.code != VERIFY_OK && vr2.code != VERIFY_HOOK)
			cli_error("cannot unpack %s: verify failed [%s]: %s", s->vr.name,
				  verify_code_name(vr2.code), e.msg);
		else if (urc != 0)
			cli_error("cannot unpack %s: %s", s->vr.name, e.msg);
		verify_result_free(&vr2);
		if (urc != 0)
			return 1;
		memset(&s->j, 0, sizeof(s->j));
		s->j.op = JOURNAL_OP_INSTALL;
		s->j.phase = JOURNAL_UNPACKED;
		if (s->have_cur && txn_release_info(s->l, s->cur, &s->from, NULL) == 0)
			memcpy(s->j.from, s->from.fingerprint, 65);
		else
			s->have_cur = false;
		memcpy(s->j.to, s->vr.fingerprint, 65);
		memcpy(s->j.started_at, now, sizeof(s->j.started_at));
		if (journal_write(s->l, &s->j, &e) != 0) {
			cli_error("cannot write the journal: %s", e.msg);
			return 1;
		}
		crashpt_hit("after-unpack");
	}
	if (txn_release_info(s->l, s->to.fp12, &s->to, &e) != 0 ||
	    layout_release_path(s->l, s->to.fp12, rel_dir, sizeof(rel_dir), &e) != 0) {
		cli_error("cannot read the new release: %s", e.msg);
		return 1;
	}
	if (!already) {
		/* 9: the agentd user (real host only) */
		if (layout_is_host(s->l) && ensure_user(&e) != 0) {
			cli_error("%s", e.msg);
			(void)journal_remove(s->l, NULL);
			return 1;
		}
		/* 10: self-test on the same platform only */
		if (strcmp(s->to.platform, s->host_plat) != 0) {
			cli_info("self-test skipped: platform %s on %s", s->to.platform,
				 s->host_plat);
		} else if (self_test(s->l, rel_dir, &e) != 0) {
			cli_error("self-test of %s failed: %s", s->to.fp12, e.msg);
			if (!reused &&
			    !(s->have_installed && s->before.has_previous &&
			      strncmp(s->before.previous.fingerprint, s->to.fp12, 12) == 0))
				(void)release_rmtree(rel_dir, NULL);
			(void)journal_remove(s->l, NULL);
			return 1;
		}
		crashpt_hit("after-self-test");
		/* 11: switch */
		s->j.phase = JOURNAL_SWITCHING;
		if (journal_write(s->l, &s->j, &e) != 0) {
			cli_error("cannot write the journal: %s", e.msg);
			return 1;
		}
		{
			struct installed after;
			if (s->have_installed)
				after = s->before;
			else
				memset(&after, 0, sizeof(after));
			if (!s->have_cur)
				after.has_previous = false;
			txn_installed_switch(&after, s->have_cur ? &s->from : NULL, &s->to, now);
			memcpy(after.signature, s->vr.signature_verified ? "verified" : "skipped",
			       9);
			memcpy(after.key_id, s->vr.key_id, sizeof(after.key_id));
			if (service_format(&sc, after.service, sizeof(after.service)) != 0)
				after.service[0] = '\0';
			if (txn_switch(s->l, s->svc, s->set.textfile_dir, s->to.fp12, &svc_changed,
				       &e) != 0 ||
			    installed_write(s->l, &after, &e) != 0) {
				char reason[ERRBUF_SIZE];
				memcpy(reason, e.msg, sizeof(reason));
				if (s->have_cur)
					return revert_after_switch(s, reason);
				cli_error("cannot switch to %s: %s", s->to.fp12, reason);
				(void)journal_remove(s->l, NULL);
				return 1;
			}
			switched = true;
		}
		s->j.phase = JOURNAL_SWITCHED;
		if (journal_write(s->l, &s->j, &e) != 0)
			cli_warn("cannot write the journal: %s", e.msg);
		crashpt_hit("after-switch");
	} else {
		printf("already installed %s (%s)\n", s->to.version, s->to.fp12);
		/* the service files may still need rewriting (§10.6: only if different) */
		if (service_install_files(s->svc, rel_dir, s->set.textfile_dir, &svc_changed, &e) !=
		    0)
			cli_warn("cannot write the service files: %s", e.msg);
	}
	/* 12: directories, runtime.env, copies, trusted.pem */
	if (apply_env(s, rel_dir, &env_changed, &e) != 0 || txn_apply_env(s->l, &s->to, &e) != 0 ||
	    write_trusted(s->l, &s->o, &e) != 0) {
		char reason[ERRBUF_SIZE];
		memcpy(reason, e.msg, sizeof(reason));
		if (switched && s->have_cur)
			return revert_after_switch(s, reason);
		cli_error("cannot write the configuration: %s", reason);
		(void)journal_remove(s->l, NULL);
		return 1;
	}
	make_dirs(s->l); /* modes and owners of §7.1, after the copies exist */
	/* 13: service */
	rc = 0;
	if (service_enable(s->svc, !s->o.no_start, &e) != 0) {
		cli_error("cannot enable agentd: %s", e.msg);
		rc = 1;
	} else if (!s->o.no_start && service_manages(s->svc)) {
		enum service_state st = SERVICE_UNKNOWN;
		bool restarted = false;
		(void)service_state(s->svc, &st, NULL);
		if (switched || svc_changed || env_changed || st != SERVICE_ACTIVE) {
			if (txn_restart_and_check(s->l, s->svc, s->to.fingerprint,
						  s->set.health_timeout, s->set.health_interval,
						  &cli_clock, already ? NULL : &s->j, &restarted,
						  &e) != 0) {
				char reason[ERRBUF_SIZE];
				memcpy(reason, e.msg, sizeof(reason));
				if (switched && s->have_cur)
					return revert_after_switch(s, reason);
				cli_error("agentd did not become healthy: %s", reason);
				cli_info("see journalctl -u agentd.service or sv status agentd; "
					 "agent-install uninstall removes everything");
				rc = 1;
			} else {
				(void)buf_printf(s->report, NULL,
						 "service %s: agentd restarted, healthy\n",
						 service_kind_name(sc.kind));
			}
		} else {
			(void)buf_printf(s->report, NULL,
					 "service %s: agentd running, nothing to restart\n",
					 service_kind_name(sc.kind));
		}
	} else if (sc.kind == SERVICE_NONE) {
		(void)buf_printf(s->report, NULL,
				 "service none: run agentd with: /opt/agentd/bin/agent-install env "
				 "exec /etc/agentd/runtime.env -- /opt/agentd/bin/agentd run\n"
				 "service none: serve update requests with: "
				 "/opt/agentd/bin/agent-install watch\n");
	}
	{
		size_t len;
		const char *notes = service_notes(s->svc, &len), *p;
		for (p = notes; p < notes + len; p += strlen(p) + 1)
			cli_info("note: %s", p);
	}
	/* 14: GC, .incoming, journal, summary */
	if (!already || switched) {
		struct installed now_in;
		if (installed_read(s->l, &now_in, &e) == 0) {
			txn_gc(s->l, &now_in, s->to.fp12, s->set.keep_releases, &failures, &e);
			if (failures > 0)
				cli_warn("could not remove %zu old release(s): %s", failures,
					 e.msg);
		}
	}
	(void)unlink(s->copy);
	if (journal_remove(s->l, &e) != 0)
		cli_warn("cannot remove the journal: %s", e.msg);
	if (!already) {
		printf("installed %s (%s) from %s\n", s->to.version, s->to.fp12, s->vr.name);
		if (s->vr.signature_verified)
			printf("signature verified with key %s\n", s->vr.key_id);
		else
			printf("signature skipped\n");
		if (s->have_cur)
			printf("previous  %s (%s)\n", s->from.version, s->from.fp12);
	}
	fputs(buf_data(s->report), stdout);
	if (cli_flush() != 0 && rc == 0)
		rc = 1;
	return rc;
}

static int dry_run(struct inst *s)
{
	struct errbuf e;
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/agent-install.XXXXXX",
		     tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(s->tmpdir) || mkdtemp(s->tmpdir) == NULL) {
		cli_error("cannot create a temporary directory: %s", strerror(errno));
		return 1;
	}
	if (s->o.url != NULL && download(s, s->tmpdir, &e) != 0) {
		cli_error("cannot download %s: %s", s->o.url, e.msg);
		return 1;
	}
	if (private_copy(s->o.bundle, s->tmpdir, s->copy, sizeof(s->copy), &e) != 0) {
		cli_error("cannot copy the bundle: %s", e.msg);
		return 1;
	}
	if (setup_verify(s, s->copy, &e) != 0) {
		cli_error("cannot verify bundle %s: %s", s->o.bundle, e.msg);
		return 1;
	}
	if (verify_bundle(&s->vo, &s->vr, &e) != 0) {
		cli_error("verify failed [%s]: %s", verify_code_name(s->vr.code), e.msg);
		return 1;
	}
	s->have_installed = installed_read(s->l, &s->before, &e) == 0;
	if (release_current(s->l, s->cur, &s->have_cur, &e) != 0)
		s->have_cur = false;
	print_plan(s);
	return cli_flush();
}

int cmd_install(int argc, char **argv)
{
	struct inst *s = calloc(1, sizeof(*s));
	struct errbuf e;
	int rc, lock = -1;

	if (s == NULL) {
		cli_error("cannot install: out of memory");
		return 1;
	}
	s->report = buf_new(1024 * 1024);
	if (s->report == NULL) {
		cli_error("cannot install: out of memory");
		free(s);
		return 1;
	}
	rc = parse(argc, argv, &s->o);
	if (rc != 0) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	s->l = cli_layout(s->o.root);
	if (s->l == NULL) {
		rc = 2;
		goto out;
	}
	if (host_platform(s->host_plat, sizeof(s->host_plat), &e) != 0) {
		cli_error("cannot tell this host's platform: %s", e.msg);
		rc = 1;
		goto out;
	}
	if (s->o.platform != NULL) {
		if (bname_platform_normalize(s->o.platform, strlen(s->o.platform), s->platform,
					     sizeof(s->platform), &e) != 0) {
			rc = cli_usage("install", "--platform: %s", e.msg);
			goto out;
		}
	} else {
		memcpy(s->platform, s->host_plat, sizeof(s->platform));
	}
	if (layout_is_host(s->l) || s->o.host_probes) {
		char *cur = NULL;
		size_t cur_len = 0, i;
		if (fsutil_read_file(layout_path(s->l, LAYOUT_RUNTIME_ENV), 1024 * 1024, 0, &cur,
				     &cur_len, NULL) != 0)
			cur = NULL;
		for (i = 0; i < s->o.nsets; i++)
			if (envplan_is_probe(s->o.sets[i].key) &&
			    !envwrite_probes_pinned(s->o.sets, s->o.nsets, cur, cur_len)) {
				rc = cli_usage("install",
					       "--set %s: probe keys are written by the installer; "
					       "set AGENT_INSTALL_PROBES=false to pin them",
					       s->o.sets[i].key);
				free(cur);
				goto out;
			}
		free(cur);
	}
	if (s->o.dry_run) {
		rc = dry_run(s);
		goto out;
	}
	rc = 1;
	if (layout_is_host(s->l) && geteuid() != 0) {
		cli_error("must run as root");
		goto out;
	}
	if (cli_lock(s->l, &lock) != 0)
		goto out;
	rc = install(s);
out:
	/* .incoming is emptied after each command (§7.1), whatever the outcome */
	if (s->copy[0] != '\0')
		(void)unlink(s->copy);
	if (s->tmpdir[0] != '\0')
		(void)release_rmtree(s->tmpdir, NULL);
	fsutil_unlock(lock);
	verify_result_free(&s->vr);
	sig_keyset_free(s->keys);
	service_free(s->svc);
	if (s->downloaded[0] != '\0') {
		char sib[PATH_MAX];
		(void)unlink(s->downloaded);
		if (sibling(s->downloaded, ".sig", sib, sizeof(sib)) == 0)
			(void)unlink(sib);
		if (sibling(s->downloaded, ".sha256", sib, sizeof(sib)) == 0)
			(void)unlink(sib);
	}
	update_net_free(s->net);
	layout_free(s->l);
	opts_free(&s->o);
	buf_free(s->report);
	free(s);
	return rc;
}
