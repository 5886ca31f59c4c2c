/* agent/engine: scan.md §4 (binary resolution, engine choice), §5 (anyscan
 * argv), §6 (I/O engine).  I/O-engine inventory IO-01..IO-27 (§18.2),
 * NB-12, NB-21 (unit part). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

struct warns {
	char text[4096];
	int n;
};

static void collect(void *c, const char *line)
{
	struct warns *w = c;
	size_t l = strlen(w->text);
	(void)snprintf(w->text + l, sizeof(w->text) - l, "%s\n", line);
	w->n++;
}

struct fixture {
	struct scan_env env;
	struct scan_inv inv;
	struct scan_ctx ctx;
	struct warns w;
	struct scan_argv argv;
	char joined[4096];
};

static void setup(struct fixture *f, const char *const *envp, const char *json)
{
	struct errbuf e;
	memset(f, 0, sizeof(*f));
	assert_int_equal(scan_env_parse(&f->env, envp, 2, &e), 0);
	assert_int_equal(scan_inv_parse(json, strlen(json), &f->inv, &e), SCAN_INV_OK);
	f->ctx.env = &f->env;
	f->ctx.inv = &f->inv;
	f->ctx.scanner = "/usr/bin/scanner";
	f->ctx.engine = SCAN_ENGINE_ANYSCAN;
	f->ctx.out = "/tmp/o.out";
	f->ctx.warn = collect;
	f->ctx.warn_ctx = &f->w;
}

static void teardown(struct fixture *f)
{
	scan_argv_free(&f->argv);
	scan_inv_free(&f->inv);
	scan_env_free(&f->env);
}

/* argv joined with single spaces; elements holding a space are wrapped in '' */
static const char *build(struct fixture *f, int has_rate, int64_t rate, int resume, const char *ck)
{
	size_t i, o = 0;
	scan_argv_free(&f->argv);
	assert_int_equal(engine_anyscan_command(&f->ctx, has_rate, rate, resume, ck, &f->argv), 0);
	f->joined[0] = '\0';
	for (i = 0; i < f->argv.n; i++) {
		const char *a = f->argv.v[i];
		int n = snprintf(f->joined + o, sizeof(f->joined) - o,
				 strchr(a, ' ') ? "%s'%s'" : "%s%s", i ? " " : "", a);
		assert_true(n > 0 && (size_t)n < sizeof(f->joined) - o);
		o += (size_t)n;
	}
	return f->joined;
}

/* ---- §18.2 IO-01..IO-19: resolution */
struct io_case {
	const char *id;
	const char *env[4];
	const char *want;
	const char *stderr_has[2]; /* NULL: stderr must be empty */
};

static void test_io_inventory(void **state)
{
	static const struct io_case cases[] = {
		{"IO-01", {NULL}, "af_packet", {NULL}},
		{"IO-02", {"ANYSCAN_SCANNER_IO_ENGINE=af_packet"}, "af_packet", {NULL}},
		{"IO-03",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_packet", "ANYSCAN_AF_XDP_AVAILABLE=false"},
		 "af_packet",
		 {NULL}},
		{"IO-04",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp", "ANYSCAN_AF_XDP_AVAILABLE=true"},
		 "af_xdp",
		 {NULL}},
		{"IO-05",
		 {"ANYSCAN_SCANNER_IO_ENGINE=AF_XDP", "ANYSCAN_AF_XDP_AVAILABLE=true"},
		 "af_xdp",
		 {NULL}},
		{"IO-06",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp", "ANYSCAN_AF_XDP_AVAILABLE=false"},
		 "af_packet",
		 {"af_xdp", "ANYSCAN_AF_XDP_AVAILABLE"}},
		{"IO-07",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp"},
		 "af_packet",
		 {"ANYSCAN_AF_XDP_AVAILABLE", NULL}},
		{"IO-08",
		 {"ANYSCAN_SCANNER_IO_ENGINE=fake_engine"},
		 "af_packet",
		 {"fake_engine", NULL}},
		{"IO-09",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE=true"},
		 "pfring_zc",
		 {NULL}},
		{"IO-10",
		 {"ANYSCAN_SCANNER_IO_ENGINE=PFRING_ZC", "ANYSCAN_PFRING_ZC_AVAILABLE=true"},
		 "pfring_zc",
		 {NULL}},
		{"IO-11",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE=false"},
		 "af_packet",
		 {"pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE"}},
		{"IO-12",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc"},
		 "af_packet",
		 {"ANYSCAN_PFRING_ZC_AVAILABLE", NULL}},
		{"IO-13",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE=true",
		  "ANYSCAN_AF_XDP_AVAILABLE=false"},
		 "pfring_zc",
		 {NULL}},
		{"IO-14",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk", "ANYSCAN_DPDK_AVAILABLE=true"},
		 "dpdk",
		 {NULL}},
		{"IO-15",
		 {"ANYSCAN_SCANNER_IO_ENGINE= DPDK ", "ANYSCAN_DPDK_AVAILABLE=true"},
		 "dpdk",
		 {NULL}},
		{"IO-16",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk", "ANYSCAN_DPDK_AVAILABLE=false"},
		 "af_packet",
		 {"dpdk", "ANYSCAN_DPDK_AVAILABLE"}},
		{"IO-17",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk"},
		 "af_packet",
		 {"ANYSCAN_DPDK_AVAILABLE", NULL}},
		{"IO-18",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk", "ANYSCAN_DPDK_AVAILABLE=true",
		  "ANYSCAN_AF_XDP_AVAILABLE=false"},
		 "dpdk",
		 {NULL}},
		{"IO-19", {"ANYSCAN_SCANNER_IO_ENGINE="}, "af_packet", {NULL}},
	};
	size_t i, j;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;
		const char *got;
		setup(&f, cases[i].env, "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\"}");
		got = engine_io_engine(&f.ctx);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].id, got, cases[i].want);
		if (cases[i].stderr_has[0] == NULL) {
			if (f.w.n != 0)
				fail_msg("%s: unexpected stderr %s", cases[i].id, f.w.text);
		} else {
			assert_int_equal(f.w.n, 1);
			for (j = 0; j < 2 && cases[i].stderr_has[j] != NULL; j++)
				if (strstr(f.w.text, cases[i].stderr_has[j]) == NULL)
					fail_msg("%s: stderr lacks %s: %s", cases[i].id,
						 cases[i].stderr_has[j], f.w.text);
		}
		teardown(&f);
	}
}

static void test_io_warning_text_and_latch(void **state)
{
	struct fixture f;
	const char *env1[] = {"ANYSCAN_SCANNER_IO_ENGINE=dpdk2", NULL};
	const char *env2[] = {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp", NULL};
	const char *env3[] = {"ANYSCAN_SCANNER_IO_ENGINE=a'b\x01", NULL};
	(void)state;
	setup(&f, env1, "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\"}");
	(void)engine_io_engine(&f.ctx);
	(void)engine_io_engine(&f.ctx);
	(void)build(&f, 0, 0, -1, NULL);
	assert_string_equal(f.w.text, "[anyscan-adapter] unrecognized ANYSCAN_SCANNER_IO_ENGINE="
				      "'dpdk2'; falling back to af_packet\n");
	teardown(&f);
	/* a fresh context sees it again */
	setup(&f, env1, "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\"}");
	(void)engine_io_engine(&f.ctx);
	assert_int_equal(f.w.n, 1);
	teardown(&f);
	setup(&f, env2, "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\"}");
	(void)engine_io_engine(&f.ctx);
	(void)engine_io_engine(&f.ctx);
	assert_string_equal(
		f.w.text, "[anyscan-adapter] ANYSCAN_SCANNER_IO_ENGINE=af_xdp requested but "
			  "ANYSCAN_AF_XDP_AVAILABLE!=true; the install-time probe did not detect a "
			  "host configuration that supports af_xdp. Falling back to af_packet.\n");
	teardown(&f);
	setup(&f, env3, "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\"}");
	(void)engine_io_engine(&f.ctx);
	assert_string_equal(f.w.text, "[anyscan-adapter] unrecognized ANYSCAN_SCANNER_IO_ENGINE="
				      "'a'b\\x01'; falling back to af_packet\n");
	teardown(&f);
}

/* IO-20..IO-27 */
static void test_io_build_command(void **state)
{
	static const struct {
		const char *id;
		const char *env[3];
		const char *want, *not_want, *stderr_has;
	} cases[] = {
		{"IO-20", {NULL}, "--io-engine=af_packet", NULL, NULL},
		{"IO-21",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp", "ANYSCAN_AF_XDP_AVAILABLE=true"},
		 "--io-engine=af_xdp",
		 "af_packet",
		 NULL},
		{"IO-22",
		 {"ANYSCAN_SCANNER_IO_ENGINE=af_xdp", "ANYSCAN_AF_XDP_AVAILABLE=false"},
		 "--io-engine=af_packet",
		 "--io-engine=af_xdp",
		 "ANYSCAN_AF_XDP_AVAILABLE"},
		{"IO-23",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE=true"},
		 "--io-engine=pfring_zc",
		 "af_packet",
		 NULL},
		{"IO-24",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk", "ANYSCAN_DPDK_AVAILABLE=true"},
		 "--io-engine=dpdk",
		 "af_packet",
		 NULL},
		{"IO-25",
		 {"ANYSCAN_SCANNER_IO_ENGINE=dpdk", "ANYSCAN_DPDK_AVAILABLE=false"},
		 "--io-engine=af_packet",
		 "--io-engine=dpdk",
		 "ANYSCAN_DPDK_AVAILABLE"},
		{"IO-26",
		 {"ANYSCAN_SCANNER_IO_ENGINE=pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE=false"},
		 "--io-engine=af_packet",
		 "--io-engine=pfring_zc",
		 "ANYSCAN_PFRING_ZC_AVAILABLE"},
		{"IO-27",
		 {"ANYSCAN_SCANNER_IO_ENGINE=garbage"},
		 "--io-engine=af_packet",
		 NULL,
		 NULL},
	};
	size_t i, j;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;
		int count = 0, found = 0;
		setup(&f, cases[i].env,
		      "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\",\"rate_limit\":0}");
		f.ctx.out = "/tmp/out";
		(void)build(&f, 0, 0, -1, NULL);
		for (j = 0; j < f.argv.n; j++) {
			if (strncmp(f.argv.v[j], "--io-engine", 11) == 0)
				count++;
			if (strcmp(f.argv.v[j], cases[i].want) == 0)
				found = 1;
		}
		if (count != 1 || !found)
			fail_msg("%s: %s", cases[i].id, f.joined);
		if (cases[i].not_want != NULL && strstr(f.joined, cases[i].not_want) != NULL)
			fail_msg("%s: has %s: %s", cases[i].id, cases[i].not_want, f.joined);
		if (cases[i].stderr_has != NULL && strstr(f.w.text, cases[i].stderr_has) == NULL)
			fail_msg("%s: stderr %s", cases[i].id, f.w.text);
		teardown(&f);
	}
}

/* §5 examples */
static void test_command_examples(void **state)
{
	struct fixture f;
	const char *clean[] = {NULL};
	const char *all[] = {"SCANNER_INTERFACE=eth1",
			     "SCANNER_SOURCE_IP=1.2.3.4",
			     "SCANNER_GATEWAY_MAC=aa:bb",
			     "SCANNER_BANDWIDTH=1G",
			     "SCANNER_PROBE_ARGS=x",
			     "SCANNER_WHITELIST_FILE=/w",
			     "SCANNER_BLACKLIST_FILE=/b",
			     "SCANNER_ICMP_PRESCAN=true",
			     "SCANNER_EXTRA_ARGS=--foo 'a b' --bar",
			     NULL};
	const char *rate0[] = {"SCANNER_DEFAULT_RATE=0", NULL};
	const char *ratem5[] = {"SCANNER_DEFAULT_RATE=-5", NULL};
	const char *rate7[] = {"SCANNER_DEFAULT_RATE= 7 ", NULL};
	(void)state;

	setup(&f, clean, "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80,443\"}");
	assert_string_equal(
		build(&f, 0, 0, -1, NULL),
		"/usr/bin/scanner --target-range 10.0.0.0/29 --port 80,443 --probe-module "
		"tcp --sender-threads 2 --receivers 1 --cooldown-time 5 --output-file "
		"/tmp/o.out --io-engine=af_packet --rate 500000");
	teardown(&f);

	setup(&f, clean,
	      "{\"target_range\":\"10.0.0.5\",\"ports\":\"80\",\"rate_limit\":0,\"checkpoint_"
	      "path\":"
	      "\" /x/ck \",\"resume\":true,\"sender_threads\":3,\"receiver_threads\":0}");
	assert_string_equal(
		build(&f, 0, 0, -1, NULL),
		"/usr/bin/scanner --target-range 10.0.0.5/32 --port 80 --probe-module tcp "
		"--sender-threads 3 --receivers 1 --cooldown-time 5 --output-file "
		"/tmp/o.out --io-engine=af_packet --checkpoint-file /x/ck --resume");
	teardown(&f);

	setup(&f, all, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_string_equal(
		build(&f, 1, 123, -1, NULL),
		"/usr/bin/scanner --target-range 10.0.0.0/30 --port 80 --probe-module tcp "
		"--sender-threads 2 --receivers 1 --cooldown-time 5 --output-file /tmp/o.out "
		"--io-engine=af_packet --rate 123 --interface eth1 --source-ip 1.2.3.4 "
		"--gateway-mac "
		"aa:bb --bandwidth 1G --probe-args x --whitelist-file /w --blacklist-file /b "
		"--icmp "
		"--foo 'a b' --bar");
	assert_string_equal(f.argv.v[f.argv.n - 2], "a b");
	teardown(&f);

	/* NB-12: booleans and non-integers are not integers */
	setup(&f, clean, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"rate_limit\":true}");
	assert_non_null(strstr(build(&f, 0, 0, -1, NULL), "--rate 500000"));
	teardown(&f);
	setup(&f, clean,
	      "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"rate_limit\":1000.0}");
	assert_non_null(strstr(build(&f, 0, 0, -1, NULL), "--rate 500000"));
	teardown(&f);
	setup(&f, clean, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"rate_limit\":1e3}");
	assert_non_null(strstr(build(&f, 0, 0, -1, NULL), "--rate 500000"));
	teardown(&f);
	setup(&f, clean,
	      "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"sender_threads\":true}");
	assert_non_null(strstr(build(&f, 0, 0, -1, NULL), "--sender-threads 2 "));
	teardown(&f);

	/* NB-11: SCANNER_DEFAULT_RATE <= 0 in static mode: no --rate */
	setup(&f, rate0, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_null(strstr(build(&f, 0, 0, -1, NULL), "--rate"));
	teardown(&f);
	setup(&f, ratem5, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_null(strstr(build(&f, 0, 0, -1, NULL), "--rate"));
	teardown(&f);
	setup(&f, rate7, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_non_null(strstr(build(&f, 0, 0, -1, NULL), "--rate 7"));
	teardown(&f);
	setup(&f, rate7, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\",\"rate_limit\":-1}");
	assert_null(strstr(build(&f, 0, 0, -1, NULL), "--rate"));
	teardown(&f);

	/* dynamic window 2 (§5 last example) */
	setup(&f, clean, "{\"target_range\":\"10.0.0.0/30\",\"ports\":\"80\"}");
	assert_string_equal(
		build(&f, 1, 250000, 1, "/tmp/o.out.checkpoint"),
		"/usr/bin/scanner --target-range 10.0.0.0/30 --port 80 --probe-module tcp "
		"--sender-threads 2 --receivers 1 --cooldown-time 5 --output-file /tmp/o.out "
		"--io-engine=af_packet --checkpoint-file /tmp/o.out.checkpoint --resume --rate "
		"250000");
	teardown(&f);
}

static void write_file(const char *path, mode_t mode)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* §4.1, §4.2, NB-21 (resolution part) */
static void test_resolve(void **state)
{
	struct scan_env env;
	struct errbuf e;
	char *path = NULL;
	enum scan_engine_kind kind;
	char cwd[512], bin[700], env_bin[800], env_path[1200], zm[700], env_zm[800];
	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(mkdir("stubs", 0755), 0);
	assert_int_equal(mkdir("dir", 0755), 0);
	(void)snprintf(bin, sizeof(bin), "%s/stubs/scanner", cwd);
	write_file(bin, 0755);
	(void)snprintf(zm, sizeof(zm), "%s/stubs/zmap", cwd);
	write_file(zm, 0755);

	{ /* SCANNER_BIN found */
		const char *envp[3];
		(void)snprintf(env_bin, sizeof(env_bin), "SCANNER_BIN= %s ", bin);
		envp[0] = env_bin;
		envp[1] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), 0);
		assert_string_equal(path, bin);
		assert_int_equal(kind, SCAN_ENGINE_ANYSCAN);
		free(path);
		scan_env_free(&env);
	}
	{ /* auto with a binary named zmap -> zmap engine; anyscan forces anyscan */
		const char *envp[3];
		(void)snprintf(env_zm, sizeof(env_zm), "SCANNER_BIN=%s", zm);
		envp[0] = env_zm;
		envp[1] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), 0);
		assert_int_equal(kind, SCAN_ENGINE_ZMAP);
		free(path);
		scan_env_free(&env);
		envp[1] = "ANYSCAN_SCANNER_ENGINE=anyscan";
		envp[2] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), 0);
		assert_int_equal(kind, SCAN_ENGINE_ANYSCAN);
		free(path);
		scan_env_free(&env);
	}
	{ /* a symlink whose real path is zmap */
		const char *envp[2];
		char link[700];
		(void)snprintf(link, sizeof(link), "%s/stubs/other", cwd);
		assert_int_equal(symlink(zm, link), 0);
		(void)snprintf(env_zm, sizeof(env_zm), "SCANNER_BIN=%s", link);
		envp[0] = env_zm;
		envp[1] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), 0);
		assert_int_equal(kind, SCAN_ENGINE_ZMAP);
		assert_string_equal(path, zm);
		free(path);
		scan_env_free(&env);
	}
	{ /* SCANNER_BIN a directory: skipped; PATH step */
		const char *envp[3];
		(void)snprintf(env_bin, sizeof(env_bin), "SCANNER_BIN=%s/dir", cwd);
		(void)snprintf(env_path, sizeof(env_path), "PATH=%s/dir:%s/stubs", cwd, cwd);
		envp[0] = env_bin;
		envp[1] = env_path;
		envp[2] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		if (access("/usr/bin/scanner", F_OK) != 0) {
			assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), 0);
			assert_string_equal(path, bin);
			free(path);
		}
		scan_env_free(&env);
	}
	{ /* nothing found: the message lists the candidates */
		const char *envp[4];
		char msg[1200];
		(void)snprintf(env_bin, sizeof(env_bin), "SCANNER_BIN=%s/missing", cwd);
		(void)snprintf(env_path, sizeof(env_path), "PATH=%s/dir", cwd);
		envp[0] = env_bin;
		envp[1] = env_path;
		envp[2] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		if (access("/usr/bin/scanner", F_OK) != 0) {
			assert_int_equal(
				engine_resolve_binary(&env, "/opt/agentd/bin", &path, &kind, &e),
				-1);
			(void)snprintf(
				msg, sizeof(msg),
				"unable to locate the scanner binary; set SCANNER_BIN or "
				"provide the bundled scanner runtime (searched: %s/missing, "
				"/opt/agentd/bin/../bin/scanner, /usr/bin/scanner, scanner on "
				"PATH)",
				cwd);
			assert_string_equal(e.msg, msg);
		}
		scan_env_free(&env);
		envp[2] = "ANYSCAN_SCANNER_ENGINE=zmap";
		envp[3] = NULL;
		assert_int_equal(scan_env_parse(&env, envp, 1, &e), 0);
		if (access("/usr/sbin/zmap", F_OK) != 0) {
			assert_int_equal(engine_resolve_binary(&env, NULL, &path, &kind, &e), -1);
			assert_non_null(strstr(e.msg, "unable to locate the zmap binary; set "
						      "SCANNER_BIN or install zmap (searched: "));
			assert_non_null(strstr(e.msg, "/usr/sbin/zmap, zmap on PATH)"));
		}
		scan_env_free(&env);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_inventory),
		cmocka_unit_test(test_io_warning_text_and_latch),
		cmocka_unit_test(test_io_build_command),
		cmocka_unit_test(test_command_examples),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
