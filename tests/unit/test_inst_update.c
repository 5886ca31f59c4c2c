/* installer/update: the §13.3 version decision, source names (§13.2),
 * local fetching and http refusal (§17), the private copy and the release
 * self-test (§10.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_inst_fixture.h"
#include "update.h"

#define FP_A                                                                                       \
	"b4c8f66164a8"                                                                             \
	"0000000000000000000000000000000000000000000000000000"
#define FP_B                                                                                       \
	"3f9a1c07be52"                                                                             \
	"1111111111111111111111111111111111111111111111111111"
#define FP_C                                                                                       \
	"9e1f0c2a7d33"                                                                             \
	"2222222222222222222222222222222222222222222222222222"

static void installed_at(struct installed *in, const char *version, const char *fp)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->version, sizeof(in->version), "%s", version);
	snprintf(in->fingerprint, sizeof(in->fingerprint), "%s", fp);
}

static void test_decide(void **state)
{
	static const struct {
		const char *inst_ver, *inst_fp;
		bool rechecks;
		const char *ver, *fp;
		bool allow, from_request;
		enum update_decision want;
		const char *msg; /* prefix; NULL: "" */
	} cases[] = {
		/* already current needs the re-check too */
		{"1.4.0", FP_B, true, "1.4.0", FP_B, false, false, UPDATE_ALREADY_CURRENT,
		 "already current at 1.4.0 (3f9a1c07be52)"},
		{"1.4.0", FP_B, false, "1.4.0", FP_B, false, false, UPDATE_PROCEED_SAME_VERSION,
		 "same version, different build"},
		{"1.4.0", FP_B, true, "1.3.2", FP_A, false, false, UPDATE_REFUSE_DOWNGRADE,
		 "refusing downgrade from 1.4.0 to 1.3.2 (use --allow-downgrade)"},
		{"1.4.0", FP_B, true, "1.3.2", FP_A, true, false, UPDATE_PROCEED, NULL},
		{"1.4.0", FP_B, true, "1.4.0-rc.1", FP_A, false, false, UPDATE_REFUSE_DOWNGRADE,
		 "refusing downgrade from 1.4.0 to 1.4.0-rc.1"},
		{"1.4.0-rc.1", FP_B, true, "1.4.0", FP_A, false, false, UPDATE_PROCEED, NULL},
		{"1.4.0", FP_B, true, "1.4.0", FP_A, false, false, UPDATE_PROCEED_SAME_VERSION,
		 "same version, different build"},
		{"1.4.0", FP_B, true, "1.10.0", FP_A, false, false, UPDATE_PROCEED, NULL},
		/* unknown installed version (migrated host): proceed */
		{"", FP_B, true, "0.0.1", FP_A, false, false, UPDATE_PROCEED, NULL},
		{"garbage", FP_B, true, "0.0.1", FP_A, false, false, UPDATE_PROCEED, NULL},
		/* failed here: refused only for requests */
		{"1.4.0", FP_B, true, "1.4.1", FP_C, false, true, UPDATE_REFUSE_FAILED_HERE,
		 "1.4.1 (9e1f0c2a7d33) failed on this host at 2026-03-02T08:00:11Z; not retrying"},
		{"1.4.0", FP_B, true, "1.4.1", FP_C, false, false, UPDATE_PROCEED, NULL},
	};
	struct installed *in = calloc(1, sizeof(*in));
	char msg[UPDATE_MSG_MAX + 1];
	size_t i;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct update_decide_in d;
		installed_at(in, cases[i].inst_ver, cases[i].inst_fp);
		installed_failed_add(in, "1.4.1", FP_C, "2026-03-02T08:00:11Z", "health");
		memset(&d, 0, sizeof(d));
		d.in = in;
		d.current_rechecks = cases[i].rechecks;
		d.version = cases[i].ver;
		d.fingerprint = cases[i].fp;
		d.allow_downgrade = cases[i].allow;
		d.from_request = cases[i].from_request;
		if (update_decide(&d, msg) != cases[i].want)
			fail_msg("case %zu: decision %d", i, (int)update_decide(&d, msg));
		if (cases[i].msg == NULL)
			assert_string_equal(msg, "");
		else if (strncmp(msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: message '%s'", i, msg);
	}
	free(in);
}

static void test_names(void **state)
{
	static const struct {
		const char *in, *ext, *want; /* want NULL: -1 */
	} sib[] = {
		{"https://h/a/b-1.4.0-x.tar.gz", ".sig", "https://h/a/b-1.4.0-x.sig"},
		{"https://h/a/b.tar.gz?token=1", ".sha256", "https://h/a/b.sha256"},
		{"https://h/a/b.tgz", ".sig", "https://h/a/b.tgz.sig"},
		{"/srv/b.tar.gz", ".sha256", "/srv/b.sha256"},
		{"b.tar.gz", ".sig", "b.sig"},
		{".tar.gz", ".sig", ".sig"},
		{"", ".sig", ".sig"},
	};
	static const struct {
		const char *in, *want;
	} base[] = {
		{"https://h/a/b.tar.gz", "b.tar.gz"},
		{"https://h/a/b.tar.gz#frag", "b.tar.gz"},
		{"https://h/a/b.tar.gz?x=/y", "b.tar.gz"},
		{"./rel/b.tar.gz", "b.tar.gz"},
		{"b.tar.gz", "b.tar.gz"},
		{"https://h/a/", NULL},
		{"https://h/a/..", NULL},
		{"/x/.", NULL},
		{"", NULL},
	};
	char out[256], small[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sib) / sizeof(sib[0]); i++) {
		assert_int_equal(update_sibling(sib[i].in, sib[i].ext, out, sizeof(out)), 0);
		assert_string_equal(out, sib[i].want);
	}
	assert_int_equal(update_sibling("/srv/bundle.tar.gz", ".sha256", small, sizeof(small)), -1);
	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		int r = update_base_name(base[i].in, out, sizeof(out));
		if (base[i].want == NULL) {
			assert_int_equal(r, -1);
		} else {
			assert_int_equal(r, 0);
			assert_string_equal(out, base[i].want);
		}
	}
	assert_int_equal(update_base_name("/x/123456789", small, sizeof(small)), -1);
	assert_true(update_is_https("https://h/x"));
	assert_false(update_is_https("http://h/x"));
	assert_false(update_is_https("HTTPS://h/x"));
	assert_true(update_is_local_path("/srv/x.json"));
	assert_true(update_is_local_path("./x.json"));
	assert_false(update_is_local_path("x.json"));
	assert_false(update_is_local_path("file:///x.json"));
}

static void test_fetch_local(void **state)
{
	struct update_fetch f;
	struct errbuf e = {{0}};
	char *data = NULL;
	size_t len = 0;
	bool nf = false;

	(void)state;
	assert_int_equal(fx_write("fetch/doc.json", "{\"a\": 1}\n", 0644), 0);
	memset(&f, 0, sizeof(f));
	f.max_bytes = 64;
	f.expect_size = -1;
	/* a relative name without "./" is neither https nor a local path */
	f.url = "fetch/doc.json";
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), -1);
	assert_non_null(strstr(e.msg, "insecure URL refused"));
	f.url = "http://127.0.0.1:9/doc.json";
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), -1);
	assert_non_null(strstr(e.msg, "insecure URL refused"));
	f.url = "https://127.0.0.1:9/doc.json"; /* no client handed in */
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), -1);
	f.url = "./fetch/doc.json";
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(data, "{\"a\": 1}\n", 9);
	free(data);
	data = NULL;
	f.max_bytes = 8; /* max + 1 */
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), -1);
	assert_false(nf);
	f.max_bytes = 64;
	f.url = "./fetch/missing.json";
	assert_int_equal(update_fetch_run(NULL, &f, &data, &len, &nf, &e), -1);
	assert_true(nf);
	/* into a file */
	f.url = "./fetch/doc.json";
	f.dest = "fetch/copy.json";
	assert_int_equal(update_fetch_run(NULL, &f, NULL, NULL, &nf, &e), 0);
	assert_int_equal(fsutil_read_file("fetch/copy.json", 64, 0, &data, &len, &e), 0);
	assert_int_equal(len, 9);
	free(data);
}

static void test_copy(void **state)
{
	struct errbuf e = {{0}};
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fx_write("copy/src", "0123456789", 0644), 0);
	assert_int_equal(fx_write("copy/empty", "", 0644), 0);
	assert_int_equal(update_copy_file("copy/src", "copy/dst", 10, &e), 0); /* max */
	assert_int_equal(stat("copy/dst", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fsutil_read_file("copy/dst", 64, 0, &data, &len, &e), 0);
	assert_int_equal(len, 10);
	free(data);
	assert_int_equal(update_copy_file("copy/src", "copy/dst2", 9, &e), -1); /* max + 1 */
	assert_int_equal(errno, EFBIG);
	assert_int_not_equal(access("copy/dst2", F_OK), 0);
	assert_int_equal(update_copy_file("copy/empty", "copy/dst3", 9, &e), 0); /* empty */
	assert_int_equal(update_copy_file("copy/nope", "copy/dst4", 9, &e), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(update_copy_file("copy", "copy/dst5", 9, &e), -1); /* a directory */
}

static void test_self_test(void **state)
{
	static const struct fx_file bad[] = {
		{"bin/agent-install", 0755, "#!/bin/sh\n"},
		{"bin/agentd", 0755,
		 "#!/bin/sh\necho \"ok random\"\necho \"FAIL root=$AGENTD_ROOT\"\nexit 1\n"},
		{"bin/reserve-control-bandwidth.sh", 0755, "#!/bin/sh\n"},
		{"bin/tune-scanner-host.sh", 0755, "#!/bin/sh\n"},
		{"env/runtime.env.template", 0644, "# t\n"},
		{"install.sh", 0755, "#!/bin/sh\n"},
		{"runit/agentd-remote-update/run", 0755, "#!/bin/sh\n"},
		{"runit/agentd/run", 0755, "#!/bin/sh\n"},
		{"systemd/agentd-remote-update.path", 0644, "[Path]\n"},
		{"systemd/agentd-remote-update.service", 0644, "[Service]\n"},
		{"systemd/agentd.service", 0644, "[Service]\n"},
		{NULL, 0, NULL},
	};
	struct layout *l = fx_layout("st");
	struct errbuf e = {{0}};
	char good12[13], bad12[13], dir[PATH_MAX], tail[512];
	char path_env[] = "PATH=/nonexistent";
	char *env[] = {path_env, NULL};

	(void)state;
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", NULL, good12, NULL), 0);
	assert_int_equal(fx_release(l, "1.5.0", bad, bad12, NULL), 0);
	assert_int_equal(layout_release_path(l, good12, dir, sizeof(dir), &e), 0);
	/* the fixed PATH wins over the caller's */
	assert_int_equal(update_self_test(l, dir, env, tail, sizeof(tail), &e), 0);
	assert_int_equal(layout_release_path(l, bad12, dir, sizeof(dir), &e), 0);
	assert_int_equal(update_self_test(l, dir, env, tail, sizeof(tail), &e), -1);
	assert_string_equal(e.msg, "self-test exited with status 1");
	assert_non_null(strstr(tail, "FAIL root="));
	assert_non_null(strstr(tail, layout_root(l))); /* AGENTD_ROOT under a root */
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),      cmocka_unit_test(test_names),
		cmocka_unit_test(test_fetch_local), cmocka_unit_test(test_copy),
		cmocka_unit_test(test_self_test),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
