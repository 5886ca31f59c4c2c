/* installer/service: §11 backends with a recording runner, files under a
 * temporary root; installer/runcmd with real programs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "runcmd.h"
#include "service.h"
#include "test_inst_fixture.h"

struct rec {
	char log[8192];
	size_t len;
	bool fail;       /* every command exits non-zero */
	const char *out; /* output of every command */
};

static int rec_run(void *ctx, const char *const argv[], bool *ok, char *out, size_t out_size,
		   struct errbuf *e)
{
	struct rec *r = ctx;
	size_t i;
	(void)e;
	for (i = 0; argv[i] != NULL; i++) {
		int n = snprintf(r->log + r->len, sizeof(r->log) - r->len, "%s%s", i ? " " : "",
				 argv[i]);
		assert_true(n > 0 && (size_t)n < sizeof(r->log) - r->len);
		r->len += (size_t)n;
	}
	assert_true(r->len + 2 < sizeof(r->log));
	r->log[r->len++] = '\n';
	r->log[r->len] = '\0';
	*ok = !r->fail;
	if (out_size > 0) {
		int n = snprintf(out, out_size, "%s", r->out != NULL ? r->out : "");
		assert_true(n >= 0);
	}
	return 0;
}

static void test_parse_format(void **state)
{
	struct service_choice c;
	struct errbuf e = {{0}};
	bool is_auto = false;
	char out[PATH_MAX + 16];
	(void)state;
	assert_int_equal(service_parse("auto", true, &is_auto, &c, &e), 0);
	assert_true(is_auto);
	assert_int_equal(service_parse("auto", false, &is_auto, &c, &e), -1);
	assert_int_equal(service_parse("systemd", false, &is_auto, &c, &e), 0);
	assert_int_equal(c.kind, SERVICE_SYSTEMD);
	assert_int_equal(service_parse("runit", false, NULL, &c, &e), 0);
	assert_int_equal(c.kind, SERVICE_RUNIT);
	assert_int_equal(service_parse("none", false, NULL, &c, &e), 0);
	assert_int_equal(c.kind, SERVICE_NONE);
	assert_int_equal(service_parse("command=/usr/local/bin/sup", false, NULL, &c, &e), 0);
	assert_int_equal(c.kind, SERVICE_COMMAND);
	assert_string_equal(c.command, "/usr/local/bin/sup");
	assert_int_equal(service_format(&c, out, sizeof(out)), 0);
	assert_string_equal(out, "command=/usr/local/bin/sup");
	assert_int_equal(service_parse("command=relative", false, NULL, &c, &e), -1);
	assert_int_equal(service_parse("command=", false, NULL, &c, &e), -1);
	assert_int_equal(service_parse("command=/a\nb", false, NULL, &c, &e), -1);
	assert_int_equal(service_parse("openrc", true, NULL, &c, &e), -1);
	assert_non_null(strstr(e.msg, "unknown service"));
	assert_int_equal(service_parse("", true, NULL, &c, &e), -1);
	c.kind = SERVICE_SYSTEMD;
	assert_int_equal(service_format(&c, out, sizeof(out)), 0);
	assert_string_equal(out, "systemd");
}

static void test_auto(void **state)
{
	struct service_host h;
	struct service_choice c;
	struct errbuf e = {{0}};
	(void)state;
	memset(&h, 0, sizeof(h));
	h.systemd_running = h.have_systemctl = h.have_sv = h.have_runsvdir = true;
	memcpy(h.scan_dir, "/etc/service", 13);
	assert_int_equal(service_auto(&h), SERVICE_NONE); /* root is not / */
	h.root_is_host = true;
	assert_int_equal(service_auto(&h), SERVICE_SYSTEMD);
	h.have_systemctl = false;
	assert_int_equal(service_auto(&h), SERVICE_RUNIT);
	h.scan_dir[0] = '\0';
	assert_int_equal(service_auto(&h), SERVICE_NONE);
	memcpy(h.scan_dir, "/var/service", 13);
	h.have_runsvdir = false;
	assert_int_equal(service_auto(&h), SERVICE_NONE);
	/* explicit backends whose manager is not running */
	c.kind = SERVICE_SYSTEMD;
	assert_int_equal(service_check_explicit(&c, &h, &e), -1);
	c.kind = SERVICE_RUNIT;
	assert_int_equal(service_check_explicit(&c, &h, &e), -1);
	c.kind = SERVICE_NONE;
	assert_int_equal(service_check_explicit(&c, &h, &e), 0);
	h.root_is_host = false;
	c.kind = SERVICE_SYSTEMD;
	assert_int_equal(service_check_explicit(&c, &h, &e), 0);
}

static void test_probe_under_root(void **state)
{
	struct layout *l = fx_layout("probe");
	struct service_host h;
	char p[PATH_MAX];
	struct errbuf e = {{0}};
	(void)state;
	assert_non_null(l);
	service_probe(l, "/usr/bin:/bin", NULL, &h);
	assert_false(h.root_is_host);
	assert_false(h.systemd_running);
	assert_string_equal(h.scan_dir, "");
	assert_true(snprintf(p, sizeof(p), "%s/var/service", layout_root(l)) > 0);
	assert_int_equal(fsutil_mkdir_p(p, 0755, &e), 0);
	service_probe(l, "/usr/bin:/bin", NULL, &h);
	assert_string_equal(h.scan_dir, "/var/service");
	assert_true(snprintf(p, sizeof(p), "%s/etc/service", layout_root(l)) > 0);
	assert_int_equal(fsutil_mkdir_p(p, 0755, &e), 0);
	service_probe(l, "", NULL, &h);
	assert_string_equal(h.scan_dir, "/etc/service");
	assert_false(h.have_sv);
	/* $SVDIR wins, relative to the root; a missing one gives none */
	service_probe(l, NULL, "/srv/sv", &h);
	assert_string_equal(h.scan_dir, "");
	assert_true(snprintf(p, sizeof(p), "%s/srv/sv", layout_root(l)) > 0);
	assert_int_equal(fsutil_mkdir_p(p, 0755, &e), 0);
	service_probe(l, NULL, "/srv/sv", &h);
	assert_string_equal(h.scan_dir, "/srv/sv");
	layout_free(l);
}

static char *slurp(const struct layout *l, const char *rel)
{
	char p[PATH_MAX], *data = NULL;
	size_t len;
	assert_true(snprintf(p, sizeof(p), "%s/%s", layout_root(l), rel) > 0);
	if (fsutil_read_file(p, 1 << 20, 0, &data, &len, NULL) != 0)
		return NULL;
	return data;
}

static void test_systemd_files(void **state)
{
	struct layout *l = fx_layout("sd");
	struct service_choice c = {.kind = SERVICE_SYSTEMD};
	struct rec r;
	struct service_runner runner = {rec_run, &r};
	struct errbuf e = {{0}};
	struct service *s;
	char fp12[13], rel[PATH_MAX], *data;
	bool changed = false;
	enum service_state st;
	struct stat sb;
	(void)state;
	memset(&r, 0, sizeof(r));
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", NULL, fp12, NULL), 0);
	assert_int_equal(layout_release_path(l, fp12, rel, sizeof(rel), &e), 0);
	s = service_new(l, &c, NULL, &runner, NULL, &e);
	assert_non_null(s);
	if (service_install_files(s, rel, "/var/lib/node_exporter", &changed, &e) != 0)
		fail_msg("%s", e.msg);
	assert_true(changed);
	data = slurp(l, "etc/systemd/system/agentd.service");
	assert_non_null(data);
	assert_string_equal(data, "[Service]\nExecStart=/opt/agentd/bin/agentd run\n# 1.4.0\n");
	free(data);
	data = slurp(l, "etc/systemd/system/agentd.service.d/50-agent-install.conf");
	assert_non_null(data);
	assert_string_equal(data, "[Service]\nReadWritePaths=-/var/lib/node_exporter\n");
	free(data);
	assert_int_equal(stat(layout_path(l, LAYOUT_UNIT_UPDATE_PATH), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	/* same again: nothing changes, mtime kept */
	{
		struct stat before, after;
		assert_int_equal(stat(layout_path(l, LAYOUT_UNIT_AGENTD), &before), 0);
		assert_int_equal(
			service_install_files(s, rel, "/var/lib/node_exporter", &changed, &e), 0);
		assert_false(changed);
		assert_int_equal(stat(layout_path(l, LAYOUT_UNIT_AGENTD), &after), 0);
		assert_true(before.st_ino == after.st_ino);
	}
	/* key unset: the drop-in goes */
	assert_int_equal(service_install_files(s, rel, "", &changed, &e), 0);
	assert_true(changed);
	assert_int_equal(access(layout_path(l, LAYOUT_DROPIN), F_OK), -1);
	/* no command ran: the root is not / */
	assert_int_equal(service_enable(s, true, &e), 0);
	assert_int_equal(service_start(s, true, &e), 0);
	assert_int_equal(service_state(s, &st, &e), 0);
	assert_int_equal(st, SERVICE_UNKNOWN);
	assert_int_equal(service_stop_disable(s, &e), 0);
	assert_string_equal(r.log, "");
	{
		size_t len;
		const char *notes = service_notes(s, &len);
		assert_true(len > 0);
		assert_non_null(strstr(notes, "not run"));
	}
	assert_int_equal(service_remove_files(s, &e), 0);
	assert_int_equal(access(layout_path(l, LAYOUT_UNIT_AGENTD), F_OK), -1);
	assert_int_equal(access(layout_path(l, LAYOUT_DROPIN_DIR), F_OK), -1);
	assert_string_equal(r.log, "");
	service_free(s);
	layout_free(l);
}

static void test_systemd_commands_on_host(void **state)
{
	/* On the real host only the runner sees commands; no file is written
	 * by these calls. */
	struct errbuf e = {{0}};
	struct layout *l = layout_new("/", &e);
	struct service_choice c = {.kind = SERVICE_SYSTEMD};
	struct rec r;
	struct service_runner runner = {rec_run, &r};
	struct service *s;
	enum service_state st;
	(void)state;
	memset(&r, 0, sizeof(r));
	assert_non_null(l);
	s = service_new(l, &c, NULL, &runner, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_enable(s, false, &e), 0);
	assert_int_equal(service_enable(s, true, &e), 0);
	assert_int_equal(service_start(s, true, &e), 0);
	assert_int_equal(service_start(s, false, &e), 0);
	assert_int_equal(service_state(s, &st, &e), 0);
	assert_int_equal(st, SERVICE_ACTIVE);
	assert_int_equal(service_stop_disable(s, &e), 0);
	assert_string_equal(r.log,
			    "systemctl enable agentd.service agentd-remote-update.path\n"
			    "systemctl enable --now agentd.service agentd-remote-update.path\n"
			    "systemctl start agentd-remote-update.path\n"
			    "systemctl restart agentd.service\n"
			    "systemctl start agentd-remote-update.path\n"
			    "systemctl start agentd.service\n"
			    "systemctl is-active --quiet agentd.service\n"
			    "systemctl disable --now agentd.service agentd-remote-update.path\n"
			    "systemctl stop agentd-remote-update.service\n");
	/* a failing command is an error naming it */
	r.fail = true;
	r.out = "Failed to restart agentd.service: Unit not found.\n";
	assert_int_equal(service_start(s, true, &e), -1);
	assert_non_null(strstr(e.msg, "systemctl start agentd-remote-update.path failed: "
				      "Failed to restart"));
	assert_int_equal(service_state(s, &st, &e), 0);
	assert_int_equal(st, SERVICE_INACTIVE);
	service_free(s);
	layout_free(l);
}

static void test_runit_files_and_links(void **state)
{
	struct layout *l = fx_layout("rn");
	struct service_choice c = {.kind = SERVICE_RUNIT};
	struct rec r;
	struct service_runner runner = {rec_run, &r};
	struct errbuf e = {{0}};
	struct service *s;
	char fp12[13], rel[PATH_MAX], p[PATH_MAX], have[PATH_MAX];
	bool changed = false;
	struct stat sb;
	ssize_t n;
	(void)state;
	memset(&r, 0, sizeof(r));
	assert_non_null(l);
	assert_int_equal(fx_release(l, "1.4.0", NULL, fp12, NULL), 0);
	assert_int_equal(layout_release_path(l, fp12, rel, sizeof(rel), &e), 0);
	assert_true(snprintf(p, sizeof(p), "%s/var/service", layout_root(l)) > 0);
	assert_int_equal(fsutil_mkdir_p(p, 0755, &e), 0);
	s = service_new(l, &c, "/var/service", &runner, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_install_files(s, rel, NULL, &changed, &e), 0);
	assert_true(changed);
	assert_true(snprintf(p, sizeof(p), "%s/run", layout_path(l, LAYOUT_SV_AGENTD)) > 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	/* --no-start: no links, the commands are noted */
	assert_int_equal(service_enable(s, false, &e), 0);
	assert_true(snprintf(p, sizeof(p), "%s/var/service/agentd", layout_root(l)) > 0);
	assert_int_equal(lstat(p, &sb), -1);
	{
		size_t len;
		const char *notes = service_notes(s, &len);
		assert_non_null(strstr(notes, "ln -s ../../etc/sv/agentd "));
	}
	/* start: relative links that resolve inside the root; the hidden temp
	 * link a killed run left (runsvdir skips dot entries) is removed */
	{
		char stray[PATH_MAX], other[PATH_MAX];
		assert_true(snprintf(stray, sizeof(stray), "%s/var/service/.agentd.tmp.4242",
				     layout_root(l)) > 0);
		assert_true(snprintf(other, sizeof(other), "%s/var/service/.agentd.tmp.42x",
				     layout_root(l)) > 0);
		assert_int_equal(symlink("../../etc/sv/agentd", stray), 0);
		assert_int_equal(symlink("../../etc/sv/agentd", other), 0);
		assert_int_equal(service_enable(s, true, &e), 0);
		assert_int_equal(lstat(stray, &sb), -1);
		assert_int_equal(lstat(other, &sb), 0); /* not a temp name: kept */
		assert_int_equal(unlink(other), 0);
	}
	n = readlink(p, have, sizeof(have) - 1);
	assert_true(n > 0);
	have[n] = '\0';
	assert_string_equal(have, "../../etc/sv/agentd");
	assert_true(snprintf(p, sizeof(p), "%s/var/service/agentd/run", layout_root(l)) > 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(service_start(s, true, &e), 0);
	assert_string_equal(r.log, ""); /* no sv under a root */
	assert_int_equal(service_stop_disable(s, &e), 0);
	assert_true(snprintf(p, sizeof(p), "%s/var/service/agentd", layout_root(l)) > 0);
	assert_int_equal(lstat(p, &sb), -1);
	assert_int_equal(service_remove_files(s, &e), 0);
	assert_int_equal(access(layout_path(l, LAYOUT_SV_AGENTD), F_OK), -1);
	service_free(s);
	/* without a scan directory links cannot be made */
	s = service_new(l, &c, "", &runner, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_enable(s, true, &e), -1);
	assert_non_null(strstr(e.msg, "no runit scan directory"));
	service_free(s);
	layout_free(l);
}

static void test_command_backend(void **state)
{
	struct layout *l = fx_layout("cmd");
	struct service_choice c;
	struct errbuf e = {{0}};
	struct service *s;
	enum service_state st;
	char script[PATH_MAX], logp[PATH_MAX], body[3 * PATH_MAX], *log;
	size_t len;
	(void)state;
	assert_non_null(l);
	/* a real supervisor script: logs its arguments and AGENTD_ROOT */
	assert_true(snprintf(script, sizeof(script), "%s/sup.sh", layout_root(l)) > 0);
	assert_true(snprintf(logp, sizeof(logp), "%s/sup.log", layout_root(l)) > 0);
	assert_true(snprintf(body, sizeof(body),
			     "#!/bin/sh\necho \"$* root=$AGENTD_ROOT\" >>'%s'\n"
			     "[ \"$1\" = is-active ] && exit 3\nexit 0\n",
			     logp) > 0);
	assert_int_equal(fx_write(script, body, 0755), 0);
	c.kind = SERVICE_COMMAND;
	memcpy(c.command, script, strlen(script) + 1);
	s = service_new(l, &c, NULL, NULL, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_enable(s, true, &e), 0);
	if (service_start(s, false, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(service_start(s, true, &e), 0);
	assert_int_equal(service_state(s, &st, &e), 0);
	assert_int_equal(st, SERVICE_INACTIVE);
	assert_int_equal(service_stop_disable(s, &e), 0);
	assert_int_equal(fsutil_read_file(logp, 1 << 16, 0, &log, &len, &e), 0);
	{
		char want[4 * PATH_MAX];
		const char *root = layout_root(l);
		assert_true(snprintf(want, sizeof(want),
				     "start agentd root=%s\nrestart agentd root=%s\n"
				     "is-active agentd root=%s\nstop agentd root=%s\n",
				     root, root, root, root) > 0);
		assert_string_equal(log, want);
	}
	free(log);
	service_free(s);
	/* a failing supervisor */
	assert_int_equal(fx_write(script, "#!/bin/sh\necho cannot start >&2\nexit 1\n", 0755), 0);
	s = service_new(l, &c, NULL, NULL, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_start(s, true, &e), -1);
	assert_non_null(strstr(e.msg, "restart agentd failed: cannot start"));
	service_free(s);
	/* a missing supervisor */
	memcpy(c.command, "/nonexistent/sup", 17);
	s = service_new(l, &c, NULL, NULL, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_start(s, true, &e), -1);
	service_free(s);
	layout_free(l);
}

static void test_none_backend(void **state)
{
	struct layout *l = fx_layout("none");
	struct service_choice c = {.kind = SERVICE_NONE};
	struct rec r;
	struct service_runner runner = {rec_run, &r};
	struct errbuf e = {{0}};
	struct service *s;
	enum service_state st;
	bool changed = true;
	(void)state;
	memset(&r, 0, sizeof(r));
	s = service_new(l, &c, NULL, &runner, NULL, &e);
	assert_non_null(s);
	assert_int_equal(service_install_files(s, "/nonexistent", "x", &changed, &e), 0);
	assert_false(changed);
	assert_int_equal(service_enable(s, true, &e), 0);
	assert_int_equal(service_start(s, true, &e), 0);
	assert_int_equal(service_state(s, &st, &e), 0);
	assert_int_equal(st, SERVICE_UNKNOWN);
	assert_int_equal(service_stop_disable(s, &e), 0);
	assert_string_equal(r.log, "");
	service_free(s);
	layout_free(l);
}

static void test_runcmd(void **state)
{
	struct runcmd_result r;
	struct errbuf e = {{0}};
	char path[PATH_MAX];
	(void)state;
	{
		const char *const argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 7",
					    NULL};
		assert_int_equal(runcmd_run(argv, NULL, 10000, &r, &e), 0);
		assert_true(r.exited);
		assert_int_equal(r.status, 7);
		assert_false(runcmd_ok(&r));
		assert_string_equal(r.out, "out\nerr\n");
	}
	{
		/* a child that leaves a background grandchild holding the pipe */
		const char *const argv[] = {"/bin/sh", "-c", "sleep 2 & echo started", NULL};
		assert_int_equal(runcmd_run(argv, NULL, 10000, &r, &e), 0);
		assert_true(runcmd_ok(&r));
		assert_false(r.timed_out);
	}
	{
		const char *const argv[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
		assert_int_equal(runcmd_run(argv, NULL, 200, &r, &e), 0);
		assert_true(r.timed_out);
		assert_false(r.exited);
	}
	{
		/* output larger than the kept tail */
		const char *const argv[] = {"/bin/sh", "-c",
					    "i=0; while [ $i -lt 2000 ]; do echo line$i; "
					    "i=$((i+1)); done",
					    NULL};
		assert_int_equal(runcmd_run(argv, NULL, 10000, &r, &e), 0);
		assert_int_equal(r.out_len, sizeof(r.out) - 1);
		assert_non_null(strstr(r.out, "line1999\n"));
	}
	{
		const char *const argv[] = {"/nonexistent/prog", NULL};
		assert_int_equal(runcmd_run(argv, NULL, 1000, &r, &e), -1);
	}
	{
		char *const envp[] = {(char *)"FOO=bar", NULL};
		const char *const argv[] = {"/bin/sh", "-c", "echo $FOO", NULL};
		assert_int_equal(runcmd_run(argv, envp, 10000, &r, &e), 0);
		assert_string_equal(r.out, "bar\n");
	}
	assert_int_equal(runcmd_which("sh", "/nonexistent:/bin", path, sizeof(path)), 0);
	assert_string_equal(path, "/bin/sh");
	assert_int_equal(runcmd_which("no-such-prog-agentd", "/bin:/usr/bin", path, sizeof(path)),
			 -1);
	assert_int_equal(runcmd_which("sh", "", path, sizeof(path)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_probe_under_root),
		cmocka_unit_test(test_systemd_files),
		cmocka_unit_test(test_systemd_commands_on_host),
		cmocka_unit_test(test_runit_files_and_links),
		cmocka_unit_test(test_command_backend),
		cmocka_unit_test(test_none_backend),
		cmocka_unit_test(test_runcmd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
