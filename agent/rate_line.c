#include "rate_line.h"

#include "bounds.h"
#include "json.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* 1: present, 0: absent or null, -1: error (err filled) */
static int get_int(const struct json_value *o, const char *key, const char *prefix, int64_t min,
		   int64_t *out, struct errbuf *err)
{
	const struct json_value *v = json_object_get(o, key);

	if (v == NULL || json_type(v) == JSON_NULL)
		return 0;
	if (json_get_int64(v, out) < 0) {
		err_set(err, "%s%s: expected an integer", prefix, key);
		return -1;
	}
	if (*out < min) {
		err_set(err, "%s%s: expected an integer >= %lld", prefix, key, (long long)min);
		return -1;
	}
	return 1;
}

static int get_num(const struct json_value *o, const char *key, const char *prefix, bool nonneg,
		   double *out, struct errbuf *err)
{
	const struct json_value *v = json_object_get(o, key);

	if (v == NULL || json_type(v) == JSON_NULL)
		return 0;
	if (json_get_double(v, out) < 0) {
		err_set(err, "%s%s: expected a number", prefix, key);
		return -1;
	}
	if (nonneg && !(*out >= 0.0)) {
		err_set(err, "%s%s: expected a number >= 0", prefix, key);
		return -1;
	}
	return 1;
}

/* A two-word enum: 0 or 1 when present, 2 when absent, -1 on error. */
static int get_enum(const struct json_value *o, const char *key, const char *prefix, const char *w0,
		    const char *w1, struct errbuf *err)
{
	const struct json_value *v = json_object_get(o, key);
	const char *s;
	size_t len;

	if (v == NULL || json_type(v) == JSON_NULL)
		return 2;
	s = json_get_string(v, &len);
	if (s != NULL && len == strlen(w0) && memcmp(s, w0, len) == 0)
		return 0;
	if (s != NULL && len == strlen(w1) && memcmp(s, w1, len) == 0)
		return 1;
	err_set(err, "%s%s: expected %s or %s", prefix, key, w0, w1);
	return -1;
}

static int required_int(const struct json_value *o, const char *key, int64_t min, int64_t *out,
			struct errbuf *err)
{
	int rc = get_int(o, key, "", min, out, err);

	if (rc == 0) {
		err_set(err, "%s: missing", key);
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

static int apply_policy(const struct json_value *pol, struct rate_policy *p, struct errbuf *err)
{
	size_t i, n;
	int rc;

	if (json_type(pol) != JSON_OBJECT) {
		err_set(err, "policy: expected an object");
		return -1;
	}
	n = json_object_size(pol);
	for (i = 0; i < n; i++) {
		size_t klen;
		const char *k = json_object_key_at(pol, i, &klen);
		int f, known = 0;
		for (f = 0; f < RATE_F_COUNT; f++)
			if (strlen(rate_field_name((enum rate_field)f)) == klen &&
			    memcmp(rate_field_name((enum rate_field)f), k, klen) == 0)
				known = 1;
		if (!known) {
			/* the key may hold any bytes: print it as JSON would be
			 * overkill; keep printable ASCII and cut at 64 bytes */
			char safe[65];
			size_t j, m = 0;
			for (j = 0; j < klen && m < 64; j++)
				safe[m++] = (k[j] >= 0x20 && k[j] < 0x7f) ? k[j] : '?';
			safe[m] = '\0';
			err_set(err, "policy.%s: unknown key", safe);
			return -1;
		}
	}
#define P_INT(key, field)                                                                          \
	do {                                                                                       \
		int64_t v_;                                                                        \
		rc = get_int(pol, key, "policy.", INT64_MIN, &v_, err);                            \
		if (rc < 0)                                                                        \
			return -1;                                                                 \
		if (rc > 0)                                                                        \
			p->field = v_;                                                             \
	} while (0)
#define P_NUM(key, field)                                                                          \
	do {                                                                                       \
		double v_;                                                                         \
		rc = get_num(pol, key, "policy.", false, &v_, err);                                \
		if (rc < 0)                                                                        \
			return -1;                                                                 \
		if (rc > 0)                                                                        \
			p->field = v_;                                                             \
	} while (0)
	P_INT("floor", floor);
	P_INT("ceiling", ceiling);
	P_INT("additive_step", additive_step);
	P_NUM("multiplicative_factor", multiplicative_factor);
	P_NUM("achieved_ratio_floor", achieved_ratio_floor);
	P_INT("heartbeat_latency_threshold_ms", heartbeat_latency_threshold_ms);
	P_NUM("window_seconds", window_seconds);
	P_NUM("cpu_load_threshold", cpu_load_threshold);
	P_NUM("drop_ratio_threshold", drop_ratio_threshold);
	P_NUM("cpu_psi_threshold", cpu_psi_threshold);
#undef P_INT
#undef P_NUM
	rc = get_enum(pol, "cpu_signal", "policy.", "loadavg", "psi", err);
	if (rc < 0)
		return -1;
	if (rc < 2)
		p->cpu_signal = rc == 1 ? RATE_CPU_PSI : RATE_CPU_LOADAVG;
	rc = get_enum(pol, "starved_policy", "policy.", "halve", "track", err);
	if (rc < 0)
		return -1;
	if (rc < 2)
		p->starved_policy = rc == 1 ? RATE_STARVED_TRACK : RATE_STARVED_HALVE;
	return 0;
}

int rate_line_parse(const char *text, size_t len, const struct rate_policy *base, unsigned flags,
		    struct rate_line *out, struct errbuf *err)
{
	struct json_error je;
	struct json_value *o;
	const struct json_value *v;
	const char *msg;
	int64_t iv;
	double dv;
	int rc = -1, r;

	memset(out, 0, sizeof(*out));
	out->policy = *base;
	memset(&je, 0, sizeof(je));
	o = json_parse_detail(text, len, JSON_NO_LIMIT, 0, &je);
	if (o == NULL) {
		err_set(err, "invalid JSON: %s at line %zu column %zu", je.what, je.line,
			je.column);
		return -1;
	}
	if (json_type(o) != JSON_OBJECT) {
		err_set(err, "not a JSON object");
		goto out;
	}

	r = get_int(o, "set_rate", "", INT64_MIN, &out->m.set_rate, err);
	if (r < 0)
		goto out;
	if (r == 0 && !(flags & RATE_LINE_OPTIONAL_SET_RATE)) {
		err_set(err, "set_rate: missing");
		goto out;
	}
	out->has_set_rate = r > 0;
	r = get_num(o, "elapsed_seconds", "", false, &out->m.elapsed_seconds, err);
	if (r < 0)
		goto out;
	if (r == 0) {
		err_set(err, "elapsed_seconds: missing");
		goto out;
	}
	if (required_int(o, "tx_packets_delta", 0, &out->m.tx_packets_delta, err) < 0 ||
	    required_int(o, "tx_dropped_delta", 0, &out->m.tx_dropped_delta, err) < 0 ||
	    required_int(o, "heartbeat_max_latency_ms", 0, &out->m.heartbeat_max_latency_ms, err) <
		    0)
		goto out;

	v = json_object_get(o, "scanner_finished_naturally");
	if (v != NULL && json_type(v) != JSON_NULL) {
		int b;
		if (json_get_bool(v, &b) < 0) {
			err_set(err, "scanner_finished_naturally: expected true or false");
			goto out;
		}
		out->m.scanner_finished_naturally = b != 0;
	}
	r = get_int(o, "scanner_exit_code", "", INT64_MIN, &iv, err);
	if (r < 0)
		goto out;
	if (r > 0) {
		if (iv < INT_MIN || iv > INT_MAX) {
			err_set(err, "scanner_exit_code: expected an integer");
			goto out;
		}
		out->m.scanner_exit_code = (int)iv;
	}
	r = get_enum(o, "measurement_source", "", "nic", "scanner", err);
	if (r < 0)
		goto out;
	out->m.measurement_source = r == 1 ? RATE_MSOURCE_SCANNER : RATE_MSOURCE_NIC;

	r = get_num(o, "load_average_1min", "", true, &dv, err);
	if (r < 0)
		goto out;
	if (r > 0) {
		out->has_load = true;
		out->load.load_average_1min = dv;
	}
	r = get_int(o, "vcpu_count", "", 0, &iv, err);
	if (r < 0)
		goto out;
	if (r > 0) {
		if (iv > INT_MAX) {
			err_set(err, "vcpu_count: expected an integer");
			goto out;
		}
		out->load.vcpu_count = (int)iv;
	}
	r = get_num(o, "cpu_psi_some_avg10", "", true, &dv, err);
	if (r < 0)
		goto out;
	if (r > 0) {
		out->load.has_psi = true;
		out->load.psi_some_avg10 = dv;
	}

	v = json_object_get(o, "policy");
	if (v != NULL && json_type(v) != JSON_NULL) {
		if (!(flags & RATE_LINE_ALLOW_POLICY)) {
			err_set(err, "policy: not allowed here");
			goto out;
		}
		if (apply_policy(v, &out->policy, err) < 0)
			goto out;
		msg = rate_policy_validate(&out->policy);
		if (msg != NULL) {
			err_set(err, "%s", msg);
			goto out;
		}
	}
	rc = 0;
out:
	json_free(o);
	return rc;
}
