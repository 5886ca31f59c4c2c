/* agent/shard: the multi-NIC parent with scripted child operations (scan.md
 * §14, §18.6): MN-19, MN-20, MN-23..MN-31, NB-03, NB-04, NB-05 (spawner
 * part), shard checkpoints and the child environment (NB-13, NB-23 unit). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "fsutil.h"
#include "json.h"
#include "scan_env.h"
#include "scan_inv.h"
#include "shard.h"

enum { MAXK = 16 };

/* how a fake child behaves */
struct script {
	const char *iface;
	double exit_at; /* fake time of a natural exit (< 0: never) */
	int code;
	int on_int;  /* 1: exits (code 130) when it gets SIGINT */
	int on_term; /* 1: exits (143) on SIGTERM */
	const char *output;
};

struct fake {
	double now;
	struct script scripts[MAXK];
	size_t nscripts;
	/* per spawned shard */
	struct {
		bool spawned, exited, reported;
		double exit_at;
		int code;
		const struct script *sc;
		char target[64], iface[32], ck[512];
		int sigs[8];
		double sig_at[8];
		size_t nsigs;
	} k[MAXK];
	size_t nspawn;
	char order[MAXK][32]; /* ifaces in spawn order */
	int stops, stop_sig;
	double stop_at; /* deliver a stop at this fake time (< 0: never) */
	char envdump[4096];
};

static const struct script *find_script(struct fake *f, const char *iface)
{
	size_t i;
	for (i = 0; i < f->nscripts; i++)
		if (strcmp(f->scripts[i].iface, iface) == 0)
			return &f->scripts[i];
	return NULL;
}

static int fake_spawn(void *ctx, size_t i, const char *invocation, const char *iface,
		      const char *stderr_path, const char *out_path, char *const *envp,
		      struct errbuf *e)
{
	struct fake *f = ctx;
	struct scan_inv inv;
	const struct script *sc = find_script(f, iface);
	struct errbuf pe;
	size_t j;

	(void)e;
	assert_true(i < MAXK);
	assert_int_equal(scan_inv_parse(invocation, strlen(invocation), &inv, &pe), SCAN_INV_OK);
	(void)snprintf(f->k[i].target, sizeof(f->k[i].target), "%s", inv.target_range);
	(void)snprintf(f->k[i].ck, sizeof(f->k[i].ck), "%s", inv.checkpoint_path);
	assert_string_equal(inv.output_path, out_path);
	scan_inv_free(&inv);
	(void)snprintf(f->k[i].iface, sizeof(f->k[i].iface), "%s", iface);
	(void)snprintf(f->order[f->nspawn++], 32, "%s", iface);
	if (i == 0)
		for (j = 0; envp[j] != NULL; j++) {
			size_t l = strlen(f->envdump);
			(void)snprintf(f->envdump + l, sizeof(f->envdump) - l, "%s\n", envp[j]);
		}
	assert_int_equal(fsutil_write_file(stderr_path, "child line\n", 11, NULL, NULL), 0);
	if (sc != NULL && sc->output != NULL)
		assert_int_equal(
			fsutil_write_file(out_path, sc->output, strlen(sc->output), NULL, NULL), 0);
	f->k[i].spawned = true;
	f->k[i].sc = sc;
	f->k[i].exit_at = sc ? sc->exit_at : 0;
	f->k[i].code = sc ? sc->code : 0;
	return 0;
}

static void fake_signal(void *ctx, size_t i, int sig)
{
	struct fake *f = ctx;
	if (f->k[i].nsigs < 8) {
		f->k[i].sigs[f->k[i].nsigs] = sig;
		f->k[i].sig_at[f->k[i].nsigs++] = f->now;
	}
	if (f->k[i].exited)
		return;
	if ((sig == SIGINT && f->k[i].sc && f->k[i].sc->on_int) ||
	    (sig == SIGTERM && f->k[i].sc && f->k[i].sc->on_term) || sig == SIGKILL) {
		f->k[i].exit_at = f->now;
		f->k[i].code = 128 + sig;
	}
}

static size_t fake_wait_any(void *ctx, double timeout, size_t *idx, int *code, int *sig, size_t max)
{
	struct fake *f = ctx;
	double best = -1, limit = timeout < 0 ? 1e18 : f->now + timeout;
	size_t i, k = 0;

	for (i = 0; i < f->nspawn; i++)
		if (f->k[i].spawned && !f->k[i].exited && f->k[i].exit_at >= 0 &&
		    (best < 0 || f->k[i].exit_at < best))
			best = f->k[i].exit_at;
	if (f->stop_at >= 0 && f->stop_at <= limit && (best < 0 || f->stop_at < best)) {
		if (f->stop_at > f->now)
			f->now = f->stop_at;
		f->stop_at = -1;
		f->stops++;
		return 0;
	}
	if (best < 0 || best > limit) {
		assert_true(timeout >= 0); /* a wait with no limit and nobody exiting: a hang */
		f->now = limit;
		return 0;
	}
	if (best > f->now)
		f->now = best;
	for (i = 0; i < f->nspawn && k < max; i++) {
		if (f->k[i].spawned && !f->k[i].exited && f->k[i].exit_at >= 0 &&
		    f->k[i].exit_at <= f->now) {
			f->k[i].exited = true;
			idx[k] = i;
			code[k] = f->k[i].code;
			sig[k] = f->k[i].code > 128 ? f->k[i].code - 128 : 0;
			k++;
		}
	}
	return k;
}

static int fake_stop_count(void *ctx)
{
	return ((struct fake *)ctx)->stops;
}

static int fake_stop_signal(void *ctx)
{
	struct fake *f = ctx;
	return f->stops ? f->stop_sig : 0;
}

static double fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

struct harness {
	struct fake f;
	struct shard_ops ops;
	struct scan_env env;
	struct scan_inv inv;
	struct scan_ctx ctx;
	struct shard_config cfg;
	struct events_capture cap;
	struct events_sink sink;
	struct shard_result res;
	char out[512];
	int rc;
};

static void run(struct harness *h, const char *const *envp, const char *json, double grace)
{
	struct errbuf e;
	char cwd[256];

	memset(&h->ops, 0, sizeof(h->ops));
	h->ops.spawn = fake_spawn;
	h->ops.signal = fake_signal;
	h->ops.wait_any = fake_wait_any;
	h->ops.stop_count = fake_stop_count;
	h->ops.stop_signal = fake_stop_signal;
	h->ops.now = fake_now;
	h->ops.ctx = &h->f;
	assert_int_equal(scan_env_parse(&h->env, envp, 2, &e), 0);
	(void)scan_env_check_multi(envp, &h->env.max_concurrent, &e);
	assert_int_equal(scan_inv_parse(json, strlen(json), &h->inv, &e), SCAN_INV_OK);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	(void)snprintf(h->out, sizeof(h->out), "%s/merged.out", cwd);
	assert_int_equal(fsutil_write_file(h->out, "", 0, NULL, NULL), 0);
	memset(&h->ctx, 0, sizeof(h->ctx));
	h->ctx.env = &h->env;
	h->ctx.inv = &h->inv;
	h->ctx.out = h->out;
	memset(&h->cap, 0, sizeof(h->cap));
	events_capture_sink(&h->cap, &h->sink);
	memset(&h->cfg, 0, sizeof(h->cfg));
	h->cfg.ctx = &h->ctx;
	h->cfg.envp = envp;
	h->cfg.grace = grace;
	h->cfg.events = &h->sink;
	h->cfg.err_fd = -1;
	err_clear(&e);
	h->rc = shard_run(&h->cfg, &h->ops, &h->res, &e);
}

static void done(struct harness *h)
{
	scan_env_free(&h->env);
	scan_inv_free(&h->inv);
	events_capture_free(&h->cap);
}

static char *slurp(const char *p)
{
	char *d = NULL;
	size_t l;
	if (fsutil_read_file(p, 1 << 20, 0, &d, &l, NULL) != 0)
		return strdup("");
	return d;
}

/* MN-23..MN-26 */
static void test_cap(void **state)
{
	(void)state;
	assert_int_equal(shard_cap(8, 4), 4);  /* MN-23 */
	assert_int_equal(shard_cap(2, 4), 2);  /* MN-24 */
	assert_int_equal(shard_cap(3, 0), 3);  /* MN-25 */
	assert_int_equal(shard_cap(3, -1), 3); /* MN-25 */
	assert_int_equal(shard_cap(5, 2), 2);  /* MN-26 (the list itself is untouched: below) */
	assert_int_equal(shard_cap(0, 4), 0);
}

/* MN-19 */
static void test_run_multi_nic(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1", "TMPDIR=.", NULL};
	char *merged;
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = -1;
	h.f.scripts[0] = (struct script){"eth0", 1.0, 0, 1, 1, "10.0.0.1:80\n"};
	h.f.scripts[1] = (struct script){"eth1", 2.0, 0, 1, 1, "10.0.0.5:80\n"};
	h.f.nscripts = 2;
	run(&h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\",\"rate_limit\":0}",
	    5);
	assert_int_equal(h.rc, 0);
	assert_int_equal(h.res.code, 0);
	assert_int_equal(h.f.nspawn, 2);
	assert_string_equal(h.f.k[0].target, "10.0.0.0-10.0.0.3");
	assert_string_equal(h.f.k[1].target, "10.0.0.4-10.0.0.7");
	assert_string_equal(h.f.order[0], "eth0");
	assert_string_equal(h.f.order[1], "eth1");
	merged = slurp(h.out);
	assert_non_null(strstr(merged, "10.0.0.1:80\n"));
	assert_non_null(strstr(merged, "10.0.0.5:80\n"));
	free(merged);
	assert_non_null(strstr(h.cap.data, "\"event\": \"multi_nic_orchestration_started\""));
	/* NB-23 (unit): the four shard variables */
	assert_non_null(strstr(h.f.envdump, "SCANNER_INTERFACE=eth0\n"));
	assert_non_null(strstr(h.f.envdump, "ANYSCAN_SCANNER_INTERFACES=\n"));
	assert_non_null(strstr(h.f.envdump, "ANYSCAN_SCANNER_SHARD_INTERFACE=eth0\n"));
	assert_non_null(strstr(h.f.envdump, "ANYSCAN_ADAPTER_SHARD_MODE=true\n"));
	/* work-dir checkpoints when the parent has none */
	assert_non_null(strstr(h.f.k[0].ck, "/shard-0-eth0.checkpoint"));
	done(&h);
}

/* MN-20, NB-05 (spawner part) */
static void test_first_failure(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1", "TMPDIR=.", NULL};
	char *merged;
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = -1;
	h.f.scripts[0] = (struct script){"eth0", 0.5, 7, 1, 1, "10.0.0.1:80\n"};
	h.f.scripts[1] = (struct script){"eth1", 10.0, 0, 1, 1, "10.0.0.5:80\n"};
	h.f.nscripts = 2;
	run(&h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\",\"rate_limit\":0}",
	    5);
	assert_int_equal(h.res.code, 7);
	assert_true(h.f.k[1].nsigs >= 1);
	assert_int_equal(h.f.k[1].sigs[0], SIGINT);
	assert_true(h.f.k[1].sig_at[0] < 10.0); /* while it was running */
	assert_int_equal(h.f.k[0].nsigs, 0);
	assert_non_null(strstr(h.cap.data,
			       "{\"event\": \"shard_failed\", \"exit_code\": 7, "
			       "\"interface\": \"eth0\", \"shard_index\": 0, \"signal\": "
			       "null, \"target_range\": \"10.0.0.0-10.0.0.3\"}"));
	merged = slurp(h.out); /* merged also after a failure */
	assert_non_null(strstr(merged, "10.0.0.1:80\n"));
	free(merged);
	done(&h);
}

static void spawn_set(struct harness *h, const char *ifs, const char *cap, size_t n)
{
	static char e1[256], e2[128];
	const char *envp[4] = {e1, "TMPDIR=.", NULL, NULL};
	size_t i;
	(void)snprintf(e1, sizeof(e1), "ANYSCAN_SCANNER_INTERFACES=%s", ifs);
	if (cap != NULL) {
		(void)snprintf(e2, sizeof(e2), "ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES=%s", cap);
		envp[2] = e2;
	}
	memset(h, 0, sizeof(*h));
	h->f.stop_at = -1;
	for (i = 0; i < n; i++) {
		static char names[16][24];
		(void)snprintf(names[i], sizeof(names[i]), "eth%zu", i);
		h->f.scripts[i] = (struct script){names[i], 1.0, 0, 1, 1, NULL};
	}
	h->f.nscripts = n;
	run(h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.255\",\"ports\":\"80\"}", 5);
	assert_int_equal(h->res.code, 0);
}

/* MN-27..MN-31 */
static void test_cap_integration(void **state)
{
	static struct harness a, b;
	static const char *const targets[] = {"10.0.0.0-10.0.0.63", "10.0.0.64-10.0.0.127",
					      "10.0.0.128-10.0.0.191", "10.0.0.192-10.0.0.255"};
	const char *eight = "eth0,eth1,eth2,eth3,eth4,eth5,eth6,eth7";
	size_t i;
	(void)state;
	spawn_set(&a, eight, NULL, 8); /* MN-27 */
	assert_int_equal(a.f.nspawn, 4);
	for (i = 0; i < 4; i++) {
		char want[8];
		(void)snprintf(want, sizeof(want), "eth%zu", i);
		assert_string_equal(a.f.order[i], want);
	}
	assert_int_equal(a.env.n_interfaces, 8); /* MN-26: the list is not modified */
	done(&a);
	spawn_set(&a, eight, "6", 8); /* MN-28 */
	assert_int_equal(a.f.nspawn, 6);
	assert_string_equal(a.f.order[5], "eth5");
	done(&a);
	spawn_set(&a, eight, "0", 8); /* MN-29 */
	assert_int_equal(a.f.nspawn, 8);
	assert_string_equal(a.f.order[7], "eth7");
	done(&a);
	spawn_set(&a, "eth0,eth1,eth2", NULL, 3); /* MN-30 */
	assert_int_equal(a.f.nspawn, 3);
	done(&a);
	/* MN-31: 4 NICs and 8 capped to 4 orchestrate identically */
	spawn_set(&a, "eth0,eth1,eth2,eth3", NULL, 4);
	spawn_set(&b, eight, NULL, 8);
	assert_int_equal(a.f.nspawn, 4);
	assert_int_equal(b.f.nspawn, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(a.f.order[i], b.f.order[i]);
		assert_string_equal(a.f.k[i].target, targets[i]);
		assert_string_equal(b.f.k[i].target, targets[i]);
	}
	assert_int_equal((int64_t)a.f.nspawn * 2150000, 8600000);
	assert_int_equal((int64_t)b.f.nspawn * 2150000, 8600000);
	done(&a);
	done(&b);
}

/* NB-03: wait-any; shard 2 fails at 0.2 s while 0 and 1 would run 30 s */
static void test_wait_any(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2", "TMPDIR=.", NULL};
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = -1;
	h.f.scripts[0] = (struct script){"eth0", 30, 0, 1, 1, NULL};
	h.f.scripts[1] = (struct script){"eth1", 30, 0, 1, 1, NULL};
	h.f.scripts[2] = (struct script){"eth2", 0.2, 5, 1, 1, NULL};
	h.f.nscripts = 3;
	run(&h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.11\",\"ports\":\"80\"}", 0.5);
	assert_int_equal(h.res.code, 5);
	assert_int_equal(h.f.k[0].sigs[0], SIGINT);
	assert_int_equal(h.f.k[1].sigs[0], SIGINT);
	assert_true(h.f.k[0].sig_at[0] <= 0.2 + 0.5); /* detected within g */
	assert_true(h.f.now < 3.0);
	done(&h);
}

/* NB-04: escalation spacing; a child that exits on SIGINT gets nothing more */
static void test_teardown_escalation(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2", "TMPDIR=.", NULL};
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = -1;
	h.f.scripts[0] = (struct script){"eth0", -1, 0, 0, 0, NULL}; /* ignores INT and TERM */
	h.f.scripts[1] = (struct script){"eth1", -1, 0, 1, 1, NULL}; /* exits on INT */
	h.f.scripts[2] = (struct script){"eth2", 1.0, 3, 1, 1, NULL};
	h.f.nscripts = 3;
	run(&h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.11\",\"ports\":\"80\"}", 0.5);
	assert_int_equal(h.res.code, 3);
	assert_int_equal(h.f.k[0].nsigs, 3);
	assert_int_equal(h.f.k[0].sigs[0], SIGINT);
	assert_int_equal(h.f.k[0].sigs[1], SIGTERM);
	assert_int_equal(h.f.k[0].sigs[2], SIGKILL);
	assert_true(h.f.k[0].sig_at[1] - h.f.k[0].sig_at[0] >= 0.5);
	assert_true(h.f.k[0].sig_at[2] - h.f.k[0].sig_at[0] >= 1.0);
	assert_int_equal(h.f.k[1].nsigs, 1);
	assert_int_equal(h.f.k[1].sigs[0], SIGINT);
	done(&h);
}

/* §15.2 with fakes: the same signal is forwarded, no merge output kept */
static void test_parent_stop(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1", "TMPDIR=.", NULL};
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = 1.0;
	h.f.stop_sig = SIGTERM;
	h.f.scripts[0] = (struct script){"eth0", 30, 0, 0, 1, NULL};
	h.f.scripts[1] = (struct script){"eth1", 30, 0, 0, 1, NULL};
	h.f.nscripts = 2;
	run(&h, envp, "{\"target_range\":\"10.0.0.0-10.0.0.7\",\"ports\":\"80\"}", 0.5);
	assert_int_equal(h.res.stop_signal, SIGTERM);
	assert_int_equal(h.f.k[0].sigs[0], SIGTERM);
	assert_int_equal(h.f.k[1].sigs[0], SIGTERM);
	assert_int_equal(h.f.k[0].nsigs, 1);
	done(&h);
}

/* NB-13 (unit): shard checkpoint names */
static void test_shard_checkpoints(void **state)
{
	static struct harness h;
	const char *envp[] = {"ANYSCAN_SCANNER_INTERFACES=eth0,eth1,eth2,eth3,eth4,eth5,eth6,eth7",
			      "TMPDIR=.", NULL};
	size_t i;
	(void)state;
	memset(&h, 0, sizeof(h));
	h.f.stop_at = -1;
	run(&h, envp,
	    "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80\",\"checkpoint_path\":\" /x/ck \"}",
	    1);
	assert_int_equal(h.f.nspawn, 4);
	for (i = 0; i < 4; i++) {
		char want[64];
		(void)snprintf(want, sizeof(want), "/x/ck.shard-%zu-of-4", i);
		assert_string_equal(h.f.k[i].ck, want);
	}
	done(&h);
}

static void test_child_env(void **state)
{
	const char *base[] = {"PATH=/bin", "SCANNER_INTERFACE=old", "ANYSCAN_ADAPTER_SHARD_MODE=no",
			      NULL};
	char **env = shard_child_env(base, "eth3");
	size_t i, n = 0;
	(void)state;
	assert_non_null(env);
	for (i = 0; env[i] != NULL; i++)
		n++;
	assert_int_equal(n, 5);
	assert_string_equal(env[0], "PATH=/bin");
	assert_string_equal(env[1], "SCANNER_INTERFACE=eth3");
	assert_string_equal(env[2], "ANYSCAN_SCANNER_INTERFACES=");
	assert_string_equal(env[3], "ANYSCAN_SCANNER_SHARD_INTERFACE=eth3");
	assert_string_equal(env[4], "ANYSCAN_ADAPTER_SHARD_MODE=true");
	shard_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),           cmocka_unit_test(test_run_multi_nic),
		cmocka_unit_test(test_first_failure), cmocka_unit_test(test_cap_integration),
		cmocka_unit_test(test_wait_any),      cmocka_unit_test(test_teardown_escalation),
		cmocka_unit_test(test_parent_stop),   cmocka_unit_test(test_shard_checkpoints),
		cmocka_unit_test(test_child_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
