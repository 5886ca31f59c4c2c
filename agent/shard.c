#include "shard.h"

#include "fsutil.h"
#include "inst_detect.h"
#include "json.h"
#include "runner.h"
#include "scan.h"
#include "scan_env.h"
#include "scan_inv.h"
#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

size_t shard_cap(size_t n, int64_t max)
{
	if (max <= 0 || (uint64_t)max >= n)
		return n;
	return (size_t)max;
}

void shard_env_free(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

static int is_shard_var(const char *kv)
{
	static const char *const names[] = {
		"SCANNER_INTERFACE=", "ANYSCAN_SCANNER_INTERFACES=",
		"ANYSCAN_SCANNER_SHARD_INTERFACE=", "ANYSCAN_ADAPTER_SHARD_MODE="};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

char **shard_child_env(const char *const *base, const char *iface)
{
	size_t n = 0, o = 0, i;
	char **env;
	struct scan_buf b = {NULL, 0, 0};

	while (base != NULL && base[n] != NULL)
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (is_shard_var(base[i]))
			continue;
		if ((env[o++] = strdup(base[i])) == NULL)
			goto fail;
	}
	if (scan_buf_appendf(&b, "SCANNER_INTERFACE=%s", iface) != 0 ||
	    (env[o++] = strdup(b.data)) == NULL)
		goto fail;
	if ((env[o++] = strdup("ANYSCAN_SCANNER_INTERFACES=")) == NULL)
		goto fail;
	b.len = 0;
	if (scan_buf_appendf(&b, "ANYSCAN_SCANNER_SHARD_INTERFACE=%s", iface) != 0 ||
	    (env[o++] = strdup(b.data)) == NULL)
		goto fail;
	if ((env[o++] = strdup("ANYSCAN_ADAPTER_SHARD_MODE=true")) == NULL)
		goto fail;
	scan_buf_free(&b);
	return env;
fail:
	scan_buf_free(&b);
	shard_env_free(env);
	return NULL;
}

/* ---- the run */

enum shard_state { SH_NOT_STARTED = 0, SH_RUNNING, SH_DONE };

struct shard {
	char *range;
	const char *iface;
	char out[PATH_MAX], err[PATH_MAX], ck[PATH_MAX];
	enum shard_state state;
	int code;
};

static void emit_started(const struct shard_config *cfg, char **ifaces, size_t n, size_t nshards)
{
	const struct scan_env *env = cfg->ctx->env;
	struct json_value *o = json_new_object(), *a = json_new_array(), *r = json_new_array();
	const char *t = cfg->ctx->inv->target_range;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++)
		rc |= json_array_append(a, json_new_string(ifaces[i]));
	for (i = 0; i < env->n_interfaces; i++)
		rc |= json_array_append(r, json_new_string(env->interfaces[i]));
	rc |= json_object_set(o, "interfaces", a);
	rc |= json_object_set(o, "requested_interfaces", r);
	rc |= json_object_set_int(o, "shard_count", (int64_t)nshards);
	rc |= json_object_set_int(o, "max_concurrent", env->max_concurrent);
	rc |= json_object_set_string(o, "instance_type",
				     cfg->inst != NULL && cfg->inst->type[0] ? cfg->inst->type
									     : NULL);
	rc |= json_object_set_string(o, "target_range", t);
	if (o != NULL && rc == 0 && cfg->events != NULL)
		(void)events_metric(cfg->events, "multi_nic_orchestration_started", o, NULL);
	json_free(o);
}

static void emit_failed(const struct shard_config *cfg, size_t i, const struct shard *sh, int sig)
{
	struct json_value *o = json_new_object();
	int rc = 0;

	rc |= json_object_set_int(o, "exit_code", sh->code);
	rc |= json_object_set_string(o, "interface", sh->iface);
	rc |= json_object_set_int(o, "shard_index", (int64_t)i);
	if (sig > 0)
		rc |= json_object_set_int(o, "signal", sig);
	else
		rc |= json_object_set_null(o, "signal");
	rc |= json_object_set_string(o, "target_range", sh->range);
	if (o != NULL && rc == 0 && cfg->events != NULL)
		(void)events_metric(cfg->events, "shard_failed", o, NULL);
	json_free(o);
}

static size_t running(const struct shard *sh, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += sh[i].state == SH_RUNNING;
	return c;
}

/* Wait for exits until deadline (< 0: none) or all stopped; records codes.
 * Forwards a further stop signal (SIGTERM) at once when forward is set. */
static void collect(const struct shard_ops *ops, struct shard *sh, size_t n, double deadline,
		    int *stops_seen)
{
	size_t idx[64], k, j;
	int code[64], sig[64];

	while (running(sh, n) > 0) {
		double left = -1;
		if (deadline >= 0) {
			left = deadline - ops->now(ops->ctx);
			if (left <= 0)
				return;
		}
		k = ops->wait_any(ops->ctx, left, idx, code, sig, 64);
		for (j = 0; j < k; j++) {
			if (idx[j] < n && sh[idx[j]].state == SH_RUNNING) {
				sh[idx[j]].state = SH_DONE;
				sh[idx[j]].code = code[j];
			}
		}
		if (ops->stop_count(ops->ctx) > *stops_seen) {
			/* a further signal to the parent: forwarded at once (§15.2) */
			*stops_seen = ops->stop_count(ops->ctx);
			for (j = 0; j < n; j++)
				if (sh[j].state == SH_RUNNING)
					ops->signal(ops->ctx, j, SIGTERM);
		}
	}
}

/* §14.4 teardown / §15.2 forwarding: first, SIGTERM, SIGKILL, each with g. */
static void teardown(const struct shard_config *cfg, const struct shard_ops *ops, struct shard *sh,
		     size_t n, int first, int *stops_seen)
{
	const int seq[3] = {first, SIGTERM, SIGKILL};
	size_t i;
	int s;

	for (s = 0; s < 3; s++) {
		if (running(sh, n) == 0)
			return;
		for (i = 0; i < n; i++)
			if (sh[i].state == SH_RUNNING)
				ops->signal(ops->ctx, i, seq[s]);
		collect(ops, sh, n, ops->now(ops->ctx) + cfg->grace, stops_seen);
	}
}

static int make_workdir(const char *tmpdir, char *out, size_t cap, struct errbuf *e)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	int tries, i;

	for (tries = 0; tries < 100; tries++) {
		unsigned char rnd[8];
		char name[9];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			err_sys(e, errno, "agentd scan: cannot create the work dir: getrandom");
			return -1;
		}
		for (i = 0; i < 8; i++)
			name[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
		name[8] = '\0';
		if (snprintf(out, cap, "%s/anyscan-multi-nic-%s", tmpdir, name) >= (int)cap) {
			err_set(e, "agentd scan: cannot create the work dir in %s: path too long",
				tmpdir);
			return -1;
		}
		if (mkdir(out, 0700) == 0) {
			/* scan.md §13.1: zmap drops to uid 65534 after start and
			 * opens its status file in here; others may traverse the
			 * dir (not list it) */
			if (chmod(out, 0711) != 0) {
				err_sys(e, errno, "agentd scan: cannot create the work dir %s",
					out);
				(void)rmdir(out);
				return -1;
			}
			return 0;
		}
		if (errno != EEXIST) {
			err_sys(e, errno, "agentd scan: cannot create the work dir %s", out);
			return -1;
		}
	}
	err_set(e, "agentd scan: cannot create the work dir in %s", tmpdir);
	return -1;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
				(void)unlink(p);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

/* The interface name as a file-name part ('/' would leave the work dir). */
static void file_part(const char *iface, char *out, size_t cap)
{
	size_t i;

	for (i = 0; iface[i] != '\0' && i + 1 < cap; i++)
		out[i] = iface[i] == '/' ? '_' : iface[i];
	out[i] = '\0';
}

static void merge(const char *out, const struct shard *sh, size_t n)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[65536];
	size_t i;

	if (fd < 0)
		return;
	for (i = 0; i < n; i++) {
		int in = open(sh[i].out, O_RDONLY | O_CLOEXEC);
		ssize_t r;
		if (in < 0)
			continue;
		while ((r = read(in, buf, sizeof(buf))) > 0)
			if (fsutil_write_all(fd, buf, (size_t)r) != 0)
				break;
		close(in);
	}
	close(fd);
}

static void mirror(int err_fd, const struct shard *sh, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *data = NULL;
		size_t len = 0, a = 0;
		if (sh[i].state == SH_NOT_STARTED ||
		    fsutil_read_file(sh[i].err, SCAN_RESULTS_MAX, 0, &data, &len, NULL) != 0)
			continue;
		while (a < len) {
			size_t b = a;
			const char *l;
			size_t ll;
			while (b < len && data[b] != '\n' && data[b] != '\r')
				b++;
			l = data + a;
			ll = b - a;
			if (!scan_text_blank(l, ll)) {
				struct scan_buf line = {NULL, 0, 0};
				/* the line as is (invalid UTF-8 passes through unchanged) */
				if (scan_buf_appendf(&line, "[shard %s] ", sh[i].iface) == 0 &&
				    scan_buf_append(&line, l, ll) == 0 &&
				    scan_buf_append(&line, "\n", 1) == 0)
					(void)fsutil_write_all(err_fd, line.data, line.len);
				scan_buf_free(&line);
			}
			a = b + 1;
		}
		free(data);
	}
}

int shard_run(const struct shard_config *cfg, const struct shard_ops *ops, struct shard_result *res,
	      struct errbuf *e)
{
	const struct scan_env *env = cfg->ctx->env;
	const struct scan_inv *inv = cfg->ctx->inv;
	char **ranges = NULL;
	size_t nranges = 0, n, i;
	struct shard *sh = NULL;
	char work[PATH_MAX];
	int stops_seen = 0, failure = 0, rc = -1;
	bool have_work = false, failed = false;

	memset(res, 0, sizeof(res[0]));
	n = shard_cap(env->n_interfaces, env->max_concurrent);
	if (target_split(inv->target_range, (int64_t)n, &ranges, &nranges) != 0) {
		err_set(e, "agentd scan: out of memory");
		return -1;
	}
	if (nranges < n)
		n = nranges;
	emit_started(cfg, env->interfaces, n, n);
	sh = calloc(n, sizeof(*sh));
	if (sh == NULL) {
		err_set(e, "agentd scan: out of memory");
		goto out;
	}
	if (make_workdir(env->tmpdir ? env->tmpdir : "/tmp", work, sizeof(work), e) != 0)
		goto out;
	have_work = true;

	/* §14.3: spawn all children first */
	for (i = 0; i < n && ops->stop_count(ops->ctx) == 0; i++) {
		char part[256];
		char *json = NULL, **cenv = NULL, **ienv = NULL;
		int fd, ok;
		struct errbuf se;

		sh[i].range = ranges[i];
		sh[i].iface = env->interfaces[i];
		file_part(sh[i].iface, part, sizeof(part));
		if (snprintf(sh[i].out, PATH_MAX, "%s/shard-%zu-%s.out", work, i, part) >=
			    PATH_MAX ||
		    snprintf(sh[i].err, PATH_MAX, "%s/shard-%zu-%s.stderr", work, i, part) >=
			    PATH_MAX ||
		    (inv->checkpoint_path != NULL
			     ? snprintf(sh[i].ck, PATH_MAX, "%s.shard-%zu-of-%zu",
					inv->checkpoint_path, i, n)
			     : snprintf(sh[i].ck, PATH_MAX, "%s/shard-%zu-%s.checkpoint", work, i,
					part)) >= PATH_MAX) {
			err_set(e, "agentd scan: path too long");
			goto out;
		}
		fd = open(sh[i].out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		json = scan_inv_shard_json(inv, sh[i].range, sh[i].out, sh[i].ck);
		if (cfg->inst != NULL)
			ienv = inst_child_env(cfg->envp, cfg->inst);
		cenv = shard_child_env(ienv ? (const char *const *)ienv : cfg->envp, sh[i].iface);
		inst_child_env_free(ienv);
		err_clear(&se);
		ok = json != NULL && cenv != NULL &&
		     ops->spawn(ops->ctx, i, json, sh[i].iface, sh[i].err, sh[i].out, cenv, &se) ==
			     0;
		free(json);
		shard_env_free(cenv);
		if (!ok) {
			/* a failure of shard i with code 1; no further shards */
			sh[i].state = SH_DONE;
			sh[i].code = 1;
			emit_failed(cfg, i, &sh[i], 0);
			if (se.msg[0] != '\0') {
				(void)fsutil_write_all(cfg->err_fd, se.msg, strlen(se.msg));
				(void)fsutil_write_all(cfg->err_fd, "\n", 1);
			}
			failure = 1;
			failed = true;
			break;
		}
		sh[i].state = SH_RUNNING;
	}

	/* §14.4: wait for any child */
	while (!failed && running(sh, n) > 0 && ops->stop_count(ops->ctx) == 0) {
		size_t idx[64], k, j;
		int code[64], sig[64];

		k = ops->wait_any(ops->ctx, -1, idx, code, sig, 64);
		/* within one pass, the lowest shard number is "first" */
		for (j = 0; j < n; j++) {
			size_t m;
			for (m = 0; m < k; m++) {
				if (idx[m] != j || sh[j].state != SH_RUNNING)
					continue;
				sh[j].state = SH_DONE;
				sh[j].code = code[m];
				if (code[m] != 0) {
					emit_failed(cfg, j, &sh[j], sig[m]);
					if (!failed) {
						failed = true;
						failure = code[m];
					}
				}
			}
		}
	}
	if (ops->stop_count(ops->ctx) > 0) {
		/* §15.2: forward the same signal, escalate, no merge or mirror */
		res->stop_signal = ops->stop_signal(ops->ctx);
		stops_seen = ops->stop_count(ops->ctx);
		teardown(cfg, ops, sh, n, res->stop_signal, &stops_seen);
		rc = 0;
		goto out;
	}
	if (failed)
		teardown(cfg, ops, sh, n, SIGINT, &stops_seen);
	if (ops->stop_count(ops->ctx) > 0)
		res->stop_signal = ops->stop_signal(ops->ctx);
	res->code = failure;
	/* 9-10 */
	merge(cfg->ctx->out, sh, n);
	if (res->stop_signal == 0)
		mirror(cfg->err_fd, sh, n);
	rc = 0;
out:
	/* 11: anyone still registered gets SIGKILL */
	if (sh != NULL)
		for (i = 0; i < n; i++)
			if (sh[i].state == SH_RUNNING)
				ops->signal(ops->ctx, i, SIGKILL);
	if (have_work)
		remove_tree(work);
	free(sh);
	target_list_free(ranges);
	return rc;
}

/* ---- production operations */

struct prod_ops {
	const struct shard_config *cfg;
	struct runner_child *kids;
	size_t n;
};

static int prod_spawn(void *ctx, size_t i, const char *invocation, const char *iface,
		      const char *stderr_path, const char *out_path, char *const *envp,
		      struct errbuf *e)
{
	struct prod_ops *p = ctx;
	struct runner_spawn_opts so;
	char *argv[5];
	size_t a = 0;

	(void)iface;
	(void)out_path;
	argv[a++] = (char *)"agentd";
	argv[a++] = (char *)"scan";
	if (p->cfg->root != NULL) {
		argv[a++] = (char *)"--root";
		argv[a++] = (char *)p->cfg->root;
	}
	argv[a] = NULL;
	memset(&so, 0, sizeof(so));
	so.path = p->cfg->self_exe;
	so.argv = argv;
	so.envp = envp;
	so.in = RUNNER_IO_PIPE;
	so.out = RUNNER_IO_NULL;
	so.err = RUNNER_IO_FILE;
	so.err_file = stderr_path;
	so.pdeathsig = SIGTERM;
	if (i >= p->n || runner_spawn(&so, &p->kids[i], e) != 0)
		return -1;
	if (fsutil_write_all(p->kids[i].in_fd, invocation, strlen(invocation)) != 0) {
		/* the child died early: its exit code tells the story */
	}
	runner_close(&p->kids[i]);
	return 0;
}

static void prod_signal(void *ctx, size_t i, int sig)
{
	struct prod_ops *p = ctx;

	if (i < p->n && p->kids[i].pid > 0 && !runner_check(&p->kids[i]))
		runner_signal_group(p->kids[i].pid, sig);
}

static size_t prod_wait_any(void *ctx, double timeout, size_t *idx, int *code, int *sig, size_t max)
{
	struct prod_ops *p = ctx;
	double until = timeout < 0 ? -1 : runner_now() + timeout;
	int stops = runner_stop_count();

	for (;;) {
		size_t i, k = 0;
		for (i = 0; i < p->n && k < max; i++) {
			struct runner_child *c = &p->kids[i];
			if (c->pid <= 0 || c->stops_seen == -1 || !runner_check(c))
				continue;
			c->stops_seen = -1; /* reported */
			idx[k] = i;
			code[k] = runner_exit_code(c);
			sig[k] = code[k] < 0 ? -code[k] : 0;
			if (code[k] < 0)
				code[k] = 128 + sig[k];
			k++;
		}
		if (k > 0 || runner_stop_count() != stops)
			return k;
		if (until >= 0 && runner_now() >= until)
			return 0;
		runner_idle(until);
	}
}

static int prod_stop_count(void *ctx)
{
	(void)ctx;
	return runner_stop_count();
}

static int prod_stop_signal(void *ctx)
{
	(void)ctx;
	return runner_stop_signal();
}

static double prod_now(void *ctx)
{
	(void)ctx;
	return runner_now();
}

int shard_main(const struct shard_config *cfg, int out_fd)
{
	struct prod_ops p;
	struct shard_ops ops;
	struct shard_result res;
	struct errbuf e;
	const struct scan_ctx *ctx = cfg->ctx;
	int status;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.n = ctx->env->n_interfaces;
	p.kids = calloc(p.n ? p.n : 1, sizeof(*p.kids));
	if (p.kids == NULL) {
		const char *m = "agentd scan: out of memory\n";
		(void)fsutil_write_all(cfg->err_fd, m, strlen(m));
		return 1;
	}
	ops.spawn = prod_spawn;
	ops.signal = prod_signal;
	ops.wait_any = prod_wait_any;
	ops.stop_count = prod_stop_count;
	ops.stop_signal = prod_stop_signal;
	ops.now = prod_now;
	ops.ctx = &p;
	err_clear(&e);
	if (shard_run(cfg, &ops, &res, &e) != 0) {
		(void)fsutil_write_all(cfg->err_fd, e.msg, strlen(e.msg));
		(void)fsutil_write_all(cfg->err_fd, "\n", 1);
		status = 1;
	} else if (res.stop_signal != 0) {
		status = 128 + res.stop_signal;
	} else {
		char *data = NULL;
		size_t len = 0;

		status = res.code;
		if (fsutil_read_file(ctx->out, SCAN_RESULTS_MAX, 0, &data, &len, NULL) != 0)
			len = 0;
		err_clear(&e);
		if (scan_emit_endpoints(data ? data : "", len, ctx->inv->target_range,
					ctx->inv->ports, out_fd, &e) != 0) {
			(void)fsutil_write_all(cfg->err_fd, e.msg, strlen(e.msg));
			(void)fsutil_write_all(cfg->err_fd, "\n", 1);
			status = 1;
		}
		free(data);
	}
	free(p.kids);
	return status;
}
