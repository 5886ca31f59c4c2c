#include "engine.h"

#include "target.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *engine_name(enum scan_engine_kind kind)
{
	return kind == SCAN_ENGINE_ZMAP ? "zmap" : "anyscan";
}

static void warn_line(struct scan_ctx *ctx, unsigned bit, const char *line)
{
	if (ctx->warned & bit)
		return;
	ctx->warned |= bit;
	if (ctx->warn != NULL)
		ctx->warn(ctx->warn_ctx, line);
}

/* ---- §4.2 binary resolution */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* exists and is not a directory */
static int fixed_ok(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int path_ok(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* First "<dir>/<name>" on PATH that is an executable regular file. */
static char *path_search(const char *path, const char *name)
{
	const char *p = path;

	if (path == NULL)
		return NULL;
	for (;;) {
		const char *c = strchr(p, ':');
		size_t dl = c ? (size_t)(c - p) : strlen(p);
		char buf[PATH_MAX];
		int n = dl == 0 ? snprintf(buf, sizeof(buf), "./%s", name)
				: snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, p, name);
		if (n > 0 && (size_t)n < sizeof(buf) && path_ok(buf))
			return strdup(buf);
		if (c == NULL)
			return NULL;
		p = c + 1;
	}
}

static char *expand_home(const char *bin, const char *home)
{
	char buf[PATH_MAX];
	int n;

	if (home == NULL || bin[0] != '~' || (bin[1] != '\0' && bin[1] != '/'))
		return strdup(bin);
	n = snprintf(buf, sizeof(buf), "%s%s", home, bin + 1);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return strdup(bin);
	return strdup(buf);
}

int engine_resolve_binary(const struct scan_env *env, const char *self_dir, char **path,
			  enum scan_engine_kind *kind, struct errbuf *e)
{
	int zmap_list = env->engine == SCAN_ENGINE_ZMAP;
	struct scan_buf searched = {NULL, 0, 0};
	char *found = NULL, *cand = NULL;
	char buf[PATH_MAX];
	int n;

	if (env->scanner_bin != NULL) {
		cand = expand_home(env->scanner_bin, env->home);
		if (cand == NULL)
			goto nomem;
		(void)scan_buf_appends(&searched, cand);
		if (fixed_ok(cand)) {
			found = cand;
			cand = NULL;
		}
		free(cand);
		cand = NULL;
	}
	if (found == NULL && !zmap_list && self_dir != NULL) {
		n = snprintf(buf, sizeof(buf), "%s/../bin/scanner", self_dir);
		if (n > 0 && (size_t)n < sizeof(buf)) {
			(void)scan_buf_appendf(&searched, "%s%s", searched.len ? ", " : "", buf);
			if (fixed_ok(buf))
				found = strdup(buf);
		}
	}
	if (found == NULL) {
		const char *fixed = zmap_list ? "/usr/sbin/zmap" : "/usr/bin/scanner";
		(void)scan_buf_appendf(&searched, "%s%s", searched.len ? ", " : "", fixed);
		if (fixed_ok(fixed))
			found = strdup(fixed);
	}
	if (found == NULL) {
		const char *name = zmap_list ? "zmap" : "scanner";
		(void)scan_buf_appendf(&searched, "%s%s on PATH", searched.len ? ", " : "", name);
		found = path_search(env->path, name);
	}
	if (found == NULL) {
		if (zmap_list)
			err_set(e,
				"unable to locate the zmap binary; set SCANNER_BIN or install zmap "
				"(searched: %s)",
				searched.data ? searched.data : "");
		else
			err_set(e,
				"unable to locate the scanner binary; set SCANNER_BIN or provide "
				"the "
				"bundled scanner runtime (searched: %s)",
				searched.data ? searched.data : "");
		scan_buf_free(&searched);
		return -1;
	}
	scan_buf_free(&searched);
	{
		char *real = realpath(found, NULL);
		enum scan_engine_kind k = env->engine;

		if (k == SCAN_ENGINE_AUTO)
			k = (strcmp(base_name(found), "zmap") == 0 ||
			     (real != NULL && strcmp(base_name(real), "zmap") == 0))
				    ? SCAN_ENGINE_ZMAP
				    : SCAN_ENGINE_ANYSCAN;
		*kind = k;
		if (real != NULL) {
			free(found);
			found = real;
		}
	}
	*path = found;
	return 0;
nomem:
	scan_buf_free(&searched);
	err_set(e, "agentd scan: out of memory");
	return -1;
}

/* ---- §6 I/O engine */

static void quote_value(const char *v, char *out, size_t cap)
{
	size_t o = 0;

	for (; *v != '\0' && o + 5 < cap; v++) {
		unsigned char c = (unsigned char)*v;
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			int n = snprintf(out + o, cap - o, "\\x%02x", c);
			if (n < 0 || (size_t)n >= cap - o)
				break;
			o += (size_t)n;
		}
	}
	out[o] = '\0';
}

const char *engine_io_engine(struct scan_ctx *ctx)
{
	static const struct {
		const char *name, *gate;
	} engines[] = {
		{"af_packet", NULL},
		{"af_xdp", "ANYSCAN_AF_XDP_AVAILABLE"},
		{"pfring_zc", "ANYSCAN_PFRING_ZC_AVAILABLE"},
		{"dpdk", "ANYSCAN_DPDK_AVAILABLE"},
	};
	const char *v = ctx->env->io_engine;
	char line[1024], q[600];
	size_t i, len;
	int gate;

	if (v == NULL)
		return "af_packet";
	len = strlen(v);
	for (i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (scan_text_eq_nocase(v, len, engines[i].name))
			break;
	if (i == sizeof(engines) / sizeof(engines[0])) {
		quote_value(v, q, sizeof(q));
		if (snprintf(line, sizeof(line),
			     "[anyscan-adapter] unrecognized ANYSCAN_SCANNER_IO_ENGINE='%s'; "
			     "falling "
			     "back to af_packet",
			     q) >= (int)sizeof(line))
			line[sizeof(line) - 1] = '\0';
		warn_line(ctx, SCAN_WARN_IO_UNRECOGNIZED, line);
		return "af_packet";
	}
	if (engines[i].gate == NULL)
		return engines[i].name;
	gate = i == 1   ? ctx->env->gate_af_xdp
	       : i == 2 ? ctx->env->gate_pfring_zc
			: ctx->env->gate_dpdk;
	if (gate)
		return engines[i].name;
	if (snprintf(line, sizeof(line),
		     "[anyscan-adapter] ANYSCAN_SCANNER_IO_ENGINE=%s requested but %s!=true; the "
		     "install-time probe did not detect a host configuration that supports %s. "
		     "Falling back to af_packet.",
		     engines[i].name, engines[i].gate, engines[i].name) >= (int)sizeof(line))
		line[sizeof(line) - 1] = '\0';
	warn_line(ctx, SCAN_WARN_IO_GATE, line);
	return "af_packet";
}

/* ---- §5 anyscan argv */

static int push_int(struct scan_argv *a, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return scan_argv_push(a, buf);
}

static int push_opt(struct scan_argv *a, const char *flag, const char *value)
{
	if (value == NULL)
		return 0;
	return scan_argv_push(a, flag) | scan_argv_push(a, value);
}

int engine_anyscan_command(struct scan_ctx *ctx, int has_rate, int64_t rate, int resume,
			   const char *checkpoint, struct scan_argv *argv)
{
	const struct scan_env *env = ctx->env;
	const struct scan_inv *inv = ctx->inv;
	char *target = target_normalize(inv->target_range);
	char io[64];
	int rc = 0;
	size_t i;

	if (target == NULL)
		return -1;
	rc |= scan_argv_push(argv, ctx->scanner);
	rc |= push_opt(argv, "--target-range", target);
	free(target);
	rc |= push_opt(argv, "--port", inv->ports);
	rc |= push_opt(argv, "--probe-module", env->probe_module);
	rc |= scan_argv_push(argv, "--sender-threads");
	rc |= push_int(argv, inv->sender_threads > 0 ? inv->sender_threads : env->sender_threads);
	rc |= scan_argv_push(argv, "--receivers");
	rc |= push_int(argv,
		       inv->receiver_threads > 0 ? inv->receiver_threads : env->receiver_threads);
	rc |= scan_argv_push(argv, "--cooldown-time");
	rc |= push_int(argv, env->cooldown);
	rc |= push_opt(argv, "--output-file", ctx->out);
	if (snprintf(io, sizeof(io), "--io-engine=%s", engine_io_engine(ctx)) >= (int)sizeof(io))
		return -1;
	rc |= scan_argv_push(argv, io);
	rc |= push_opt(argv, "--checkpoint-file", checkpoint ? checkpoint : inv->checkpoint_path);
	if (resume < 0 ? inv->resume : resume)
		rc |= scan_argv_push(argv, "--resume");
	if (!has_rate) {
		if (inv->has_rate)
			rate = inv->rate_limit;
		else if (env->has_default_rate)
			rate = env->default_rate;
		else
			rate = 500000;
	}
	if (rate > 0) {
		rc |= scan_argv_push(argv, "--rate");
		rc |= push_int(argv, rate);
	}
	rc |= push_opt(argv, "--interface", env->interface);
	rc |= push_opt(argv, "--source-ip", env->source_ip);
	rc |= push_opt(argv, "--gateway-mac", env->gateway_mac);
	rc |= push_opt(argv, "--bandwidth", env->bandwidth);
	rc |= push_opt(argv, "--probe-args", env->probe_args);
	rc |= push_opt(argv, "--whitelist-file", env->whitelist);
	rc |= push_opt(argv, "--blacklist-file", env->blacklist);
	if (env->icmp)
		rc |= scan_argv_push(argv, "--icmp");
	for (i = 0; i < env->extra.n; i++)
		rc |= scan_argv_push(argv, env->extra.v[i]);
	return rc ? -1 : 0;
}
