#include "rate_env.h"

#include "calib.h"
#include "events.h"
#include "num.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_ws((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ws((*s)[*len - 1]))
		(*len)--;
}

const char *rate_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

bool rate_env_present(const char *const *envp, const char *name, const char **val, size_t *len)
{
	const char *v = rate_env_get(envp, name);
	size_t l;

	if (v == NULL)
		return false;
	l = strlen(v);
	trim(&v, &l);
	if (l == 0)
		return false;
	*val = v;
	*len = l;
	return true;
}

bool rate_env_flag(const char *const *envp, const char *key, bool def)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	const char *v;
	size_t len, i;

	if (!rate_env_present(envp, key, &v, &len))
		return def;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strlen(yes[i]) == len && strncasecmp(v, yes[i], len) == 0)
			return true;
	return false;
}

enum rate_parse rate_parse_int(const char *raw, int64_t *out)
{
	size_t len;

	if (raw == NULL)
		return RATE_PARSE_UNSET;
	len = strlen(raw);
	trim(&raw, &len);
	if (len == 0)
		return RATE_PARSE_UNSET;
	/* num_parse_i64 is exactly the §7.1 integer grammar: [+-]digits */
	return num_parse_i64(raw, len, out) == 0 ? RATE_PARSE_OK : RATE_PARSE_INVALID;
}

enum rate_parse rate_parse_number(const char *raw, double *out)
{
	size_t len;

	if (raw == NULL)
		return RATE_PARSE_UNSET;
	len = strlen(raw);
	trim(&raw, &len);
	if (len == 0)
		return RATE_PARSE_UNSET;
	/* [+-](digits[.digits]|.digits|digits.)[(e|E)[+-]digits], finite */
	return num_parse_double(raw, len, out) == 0 ? RATE_PARSE_OK : RATE_PARSE_INVALID;
}

void rate_warnings_init(struct rate_warnings *w)
{
	memset(w, 0, sizeof(*w));
}

void rate_warnings_clear_lines(struct rate_warnings *w)
{
	size_t i;

	for (i = 0; i < w->count; i++)
		free(w->lines[i]);
	w->count = 0;
}

void rate_warnings_free(struct rate_warnings *w)
{
	rate_warnings_clear_lines(w);
	w->nwarned = 0;
}

void rate_warn(struct rate_warnings *w, const char *name, const char *value, size_t vlen,
	       const char *what, const char *action)
{
	size_t i, len;
	char *line;

	if (w == NULL || w->suppress)
		return;
	for (i = 0; i < w->nwarned; i++)
		if (strcmp(w->warned[i], name) == 0)
			return;
	if (w->nwarned < RATE_WARN_MAX && strlen(name) < RATE_WARN_NAME_MAX) {
		memcpy(w->warned[w->nwarned], name, strlen(name) + 1);
		w->nwarned++;
	}
	if (w->count >= RATE_WARN_MAX)
		return;
	line = events_format_invalid(name, value, vlen, what, action, &len, NULL);
	if (line != NULL)
		w->lines[w->count++] = line;
}

const char *rate_src_name(enum rate_src s)
{
	switch (s) {
	case RATE_SRC_DEFAULT:
		return "default";
	case RATE_SRC_ENV:
		return "env";
	case RATE_SRC_TABLE:
		return "instance-table";
	case RATE_SRC_CALIBRATION:
		return "calibration";
	case RATE_SRC_INVOCATION:
		return "invocation";
	}
	return "?";
}

static void warn_invalid(struct rate_warnings *w, const char *const *envp, const char *name,
			 const char *what)
{
	const char *v;
	size_t len;

	if (rate_env_present(envp, name, &v, &len))
		rate_warn(w, name, v, len, what, "using the default");
}

/* Parse one integer field: true when explicit. */
static bool env_int(const char *const *envp, const char *name, struct rate_warnings *w,
		    int64_t *out)
{
	switch (rate_parse_int(rate_env_get(envp, name), out)) {
	case RATE_PARSE_OK:
		return true;
	case RATE_PARSE_INVALID:
		warn_invalid(w, envp, name, "a valid integer");
		return false;
	case RATE_PARSE_UNSET:
		break;
	}
	return false;
}

static bool env_number(const char *const *envp, const char *name, struct rate_warnings *w,
		       double *out)
{
	switch (rate_parse_number(rate_env_get(envp, name), out)) {
	case RATE_PARSE_OK:
		return true;
	case RATE_PARSE_INVALID:
		warn_invalid(w, envp, name, "a valid number");
		return false;
	case RATE_PARSE_UNSET:
		break;
	}
	return false;
}

/* An enum of two words: 0 or 1 when explicit, -1 otherwise. */
static int env_enum(const char *const *envp, const char *name, const char *w0, const char *w1,
		    const char *what, struct rate_warnings *w)
{
	const char *v;
	size_t len;

	if (!rate_env_present(envp, name, &v, &len))
		return -1;
	if (strlen(w0) == len && strncasecmp(v, w0, len) == 0)
		return 0;
	if (strlen(w1) == len && strncasecmp(v, w1, len) == 0)
		return 1;
	rate_warn(w, name, v, len, what, "using the default");
	return -1;
}

int rate_resolve(const char *const *envp, const char *instance_type,
		 const struct rate_invocation *inv, struct rate_warnings *w,
		 struct rate_resolved *out, const char **msg)
{
	struct rate_policy *p = &out->policy;
	bool *ex = out->explicit_env;
	bool saved_suppress = false;
	int64_t iv, sdr = 0;
	double dv;
	int e;
	const char *err;

	memset(out, 0, sizeof(*out));
	rate_policy_default(p);
	if (w != NULL) {
		saved_suppress = w->suppress;
		if (rate_env_flag(envp, "ANYSCAN_ADAPTER_SHARD_MODE", false))
			w->suppress = true;
	}

	/* A + B: parse; explicit values win over the defaults */
	if ((ex[RATE_F_FLOOR] = env_int(envp, rate_field_env(RATE_F_FLOOR), w, &iv)))
		p->floor = iv;
	if ((ex[RATE_F_CEILING] = env_int(envp, rate_field_env(RATE_F_CEILING), w, &iv)))
		p->ceiling = iv;
	if ((ex[RATE_F_ADDITIVE_STEP] =
		     env_int(envp, rate_field_env(RATE_F_ADDITIVE_STEP), w, &iv)))
		p->additive_step = iv;
	if ((ex[RATE_F_MULTIPLICATIVE_FACTOR] =
		     env_number(envp, rate_field_env(RATE_F_MULTIPLICATIVE_FACTOR), w, &dv)))
		p->multiplicative_factor = dv;
	if ((ex[RATE_F_ACHIEVED_RATIO_FLOOR] =
		     env_number(envp, rate_field_env(RATE_F_ACHIEVED_RATIO_FLOOR), w, &dv)))
		p->achieved_ratio_floor = dv;
	if ((ex[RATE_F_HEARTBEAT_MS] = env_int(envp, rate_field_env(RATE_F_HEARTBEAT_MS), w, &iv)))
		p->heartbeat_latency_threshold_ms = iv;
	if ((ex[RATE_F_WINDOW_SECONDS] =
		     env_number(envp, rate_field_env(RATE_F_WINDOW_SECONDS), w, &dv)))
		p->window_seconds = dv;
	if ((ex[RATE_F_CPU_LOAD_THRESHOLD] =
		     env_number(envp, rate_field_env(RATE_F_CPU_LOAD_THRESHOLD), w, &dv)))
		p->cpu_load_threshold = dv;
	if ((ex[RATE_F_DROP_RATIO_THRESHOLD] =
		     env_number(envp, rate_field_env(RATE_F_DROP_RATIO_THRESHOLD), w, &dv)))
		p->drop_ratio_threshold = dv;
	e = env_enum(envp, rate_field_env(RATE_F_CPU_SIGNAL), "loadavg", "psi",
		     "one of loadavg, psi", w);
	if ((ex[RATE_F_CPU_SIGNAL] = e >= 0))
		p->cpu_signal = e == 1 ? RATE_CPU_PSI : RATE_CPU_LOADAVG;
	if ((ex[RATE_F_CPU_PSI_THRESHOLD] =
		     env_number(envp, rate_field_env(RATE_F_CPU_PSI_THRESHOLD), w, &dv)))
		p->cpu_psi_threshold = dv;
	e = env_enum(envp, rate_field_env(RATE_F_STARVED_POLICY), "halve", "track",
		     "one of halve, track", w);
	if ((ex[RATE_F_STARVED_POLICY] = e >= 0))
		p->starved_policy = e == 1 ? RATE_STARVED_TRACK : RATE_STARVED_HALVE;
	for (e = 0; e < RATE_F_COUNT; e++)
		out->sources[e] = ex[e] ? RATE_SRC_ENV : RATE_SRC_DEFAULT;

	/* SCANNER_DEFAULT_RATE (§7.3): parsed here so its warning comes with
	 * the others */
	out->default_rate_explicit = env_int(envp, "SCANNER_DEFAULT_RATE", w, &sdr);

	/* C: the instance table fills floor and ceiling unless explicit */
	out->table = inst_lookup(instance_type);
	if (out->table != NULL) {
		if (!ex[RATE_F_FLOOR]) {
			p->floor = out->table->floor;
			out->sources[RATE_F_FLOOR] = RATE_SRC_TABLE;
		}
		if (!ex[RATE_F_CEILING]) {
			p->ceiling = out->table->ceiling;
			out->sources[RATE_F_CEILING] = RATE_SRC_TABLE;
		}
	}

	/* D: reconcile (D1a: an explicit ceiling is never raised) */
	if (p->ceiling < p->floor) {
		if (ex[RATE_F_CEILING] && !ex[RATE_F_FLOOR] && p->ceiling >= 1) {
			p->floor = p->ceiling;
			out->sources[RATE_F_FLOOR] = RATE_SRC_ENV;
		} else if (ex[RATE_F_FLOOR] && !ex[RATE_F_CEILING] && out->table != NULL) {
			p->ceiling = p->floor;
			out->sources[RATE_F_CEILING] = RATE_SRC_ENV;
		}
	}

	if (w != NULL)
		w->suppress = saved_suppress;

	/* E: validate once */
	err = rate_policy_validate(p);
	if (err != NULL) {
		if (msg != NULL)
			*msg = err;
		return -1;
	}

	/* §8.4 step 1: fallback */
	if (inv != NULL && inv->has_rate_limit) {
		out->fallback_rate = inv->rate_limit;
		out->fallback_source = RATE_SRC_INVOCATION;
	} else if (out->default_rate_explicit) {
		out->fallback_rate = sdr < 1 ? 1 : sdr;
		out->fallback_source = RATE_SRC_ENV;
	} else {
		out->fallback_rate = RATE_DEFAULT_FALLBACK_RATE;
		out->fallback_source = RATE_SRC_DEFAULT;
	}
	/* step 2: the table's start unless a positive rate_limit or an explicit
	 * SCANNER_DEFAULT_RATE (D1b) */
	if (out->table != NULL && !(inv != NULL && inv->has_rate_limit && inv->rate_limit > 0) &&
	    !out->default_rate_explicit) {
		out->fallback_rate = out->table->starting_rate;
		out->fallback_source = RATE_SRC_TABLE;
	}
	out->starting_rate = rate_clamp(p, out->fallback_rate);
	out->starting_source = out->fallback_source;
	return 0;
}

void rate_resolve_start_from(struct rate_resolved *r, const int64_t *calib_rate)
{
	if (calib_rate != NULL) {
		r->starting_rate = rate_clamp(&r->policy, *calib_rate);
		r->starting_source = RATE_SRC_CALIBRATION;
	} else {
		r->starting_rate = rate_clamp(&r->policy, r->fallback_rate);
		r->starting_source = r->fallback_source;
	}
}

void rate_resolve_start(struct rate_resolved *r, const char *iface, struct calib *store)
{
	int64_t learned;

	if (iface != NULL && iface[0] != '\0' && store != NULL &&
	    calib_lookup(store, iface, &learned))
		rate_resolve_start_from(r, &learned);
	else
		rate_resolve_start_from(r, NULL);
}

const char *rate_env_instance_type(const char *const *envp, struct rate_warnings *w, char *out,
				   size_t outsz)
{
	const char *v;
	size_t len;

	if (!rate_env_present(envp, "ANYSCAN_INSTANCE_TYPE", &v, &len))
		return NULL;
	if (!inst_shape_ok(v, len) || len + 1 > outsz) {
		rate_warn(w, "ANYSCAN_INSTANCE_TYPE", v, len, "a valid instance type",
			  "ignoring it");
		return NULL;
	}
	memcpy(out, v, len);
	out[len] = '\0';
	return out;
}
