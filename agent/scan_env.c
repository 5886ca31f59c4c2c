#include "scan_env.h"

#include "num.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *scan_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Trimmed copy when set (non-blank), else NULL; *oom on allocation failure. */
static char *get_set(const char *const *envp, const char *name, int *oom)
{
	const char *v = scan_env_get(envp, name);
	char *r;

	if (v == NULL || scan_text_blank(v, strlen(v)))
		return NULL;
	r = scan_text_trimdup(v, strlen(v));
	if (r == NULL)
		*oom = 1;
	return r;
}

int scan_env_parse_int(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-'))
		i = 1;
	if (i == len)
		return -1;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return num_parse_i64(s, len, out);
}

/* §3.2 integers: fatal when set and invalid. */
static int get_int(const char *const *envp, const char *name, int64_t def, int64_t *out,
		   struct errbuf *e)
{
	const char *v = scan_env_get(envp, name);
	size_t len;

	*out = def;
	if (v == NULL)
		return 0;
	len = strlen(v);
	scan_text_trim(&v, &len);
	if (len == 0)
		return 0;
	if (scan_env_parse_int(v, len, out) != 0) {
		err_set(e, "invalid integer for %s: %.*s", name, (int)(len > 200 ? 200 : len), v);
		return -1;
	}
	return 0;
}

int scan_env_split_words(const char *s, struct scan_argv *out, struct errbuf *e)
{
	struct scan_buf w = {NULL, 0, 0};
	int in_word = 0, rc = -1;
	size_t i = 0, n = strlen(s);

	while (i < n) {
		char c = s[i];

		if (scan_text_isspace((unsigned char)c)) {
			if (in_word) {
				if (scan_argv_pushn(out, w.len ? w.data : "", w.len) != 0)
					goto out;
				w.len = 0;
				in_word = 0;
			}
			i++;
			continue;
		}
		in_word = 1;
		if (c == '\'') {
			const char *q = memchr(s + i + 1, '\'', n - i - 1);
			if (q == NULL) {
				err_set(e, "no closing quotation");
				goto out;
			}
			if (scan_buf_append(&w, s + i + 1, (size_t)(q - s - i - 1)) != 0)
				goto out;
			i = (size_t)(q - s) + 1;
		} else if (c == '"') {
			i++;
			for (;;) {
				if (i >= n) {
					err_set(e, "no closing quotation");
					goto out;
				}
				if (s[i] == '"') {
					i++;
					break;
				}
				if (s[i] == '\\' && i + 1 < n &&
				    (s[i + 1] == '"' || s[i + 1] == '\\'))
					i++;
				if (scan_buf_append(&w, s + i, 1) != 0)
					goto out;
				i++;
			}
		} else if (c == '\\') {
			if (i + 1 >= n) {
				err_set(e, "no escaped character");
				goto out;
			}
			if (scan_buf_append(&w, s + i + 1, 1) != 0)
				goto out;
			i += 2;
		} else {
			if (scan_buf_append(&w, s + i, 1) != 0)
				goto out;
			i++;
		}
	}
	if (in_word && scan_argv_pushn(out, w.len ? w.data : "", w.len) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && e != NULL && e->msg[0] == '\0')
		err_set(e, "out of memory");
	scan_buf_free(&w);
	return rc;
}

void scan_env_list_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

int scan_env_parse_interfaces(const char *s, char ***out, size_t *count)
{
	char **list = calloc(1, sizeof(*list));
	size_t n = 0, i = 0, len;

	if (list == NULL)
		return -1;
	len = s ? strlen(s) : 0;
	while (i < len) {
		size_t j = i, k;
		char **nl;

		/* separators: ',' ';' and ASCII whitespace */
		if (s[i] == ',' || s[i] == ';' || scan_text_isspace((unsigned char)s[i])) {
			i++;
			continue;
		}
		while (j < len && s[j] != ',' && s[j] != ';' &&
		       !scan_text_isspace((unsigned char)s[j]))
			j++;
		for (k = 0; k < n; k++)
			if (strlen(list[k]) == j - i && memcmp(list[k], s + i, j - i) == 0)
				break;
		if (k == n) {
			nl = realloc(list, (n + 2) * sizeof(*list));
			if (nl == NULL)
				goto fail;
			list = nl;
			list[n] = malloc(j - i + 1);
			if (list[n] == NULL)
				goto fail;
			memcpy(list[n], s + i, j - i);
			list[n][j - i] = '\0';
			list[++n] = NULL;
		}
		i = j;
	}
	*out = list;
	*count = n;
	return 0;
fail:
	scan_env_list_free(list);
	return -1;
}

static int parse_grace(const char *v, double *out, struct errbuf *e)
{
	size_t len, i, digits = 0, dots = 0;

	*out = 5.0;
	if (v == NULL)
		return 0;
	len = strlen(v);
	scan_text_trim(&v, &len);
	if (len == 0)
		return 0;
	/* a decimal number >= 0: digits with at most one '.' */
	for (i = 0; i < len; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			digits++;
		else if (v[i] == '.')
			dots++;
		else
			break;
	}
	if (i != len || digits == 0 || dots > 1 || num_parse_double(v, len, out) != 0 ||
	    !isfinite(*out) || *out < 0) {
		err_set(e, "invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: %.*s",
			(int)(len > 200 ? 200 : len), v);
		return -1;
	}
	return 0;
}

int scan_env_check_multi(const char *const *envp, int64_t *max_concurrent, struct errbuf *e)
{
	return get_int(envp, "ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES", 4, max_concurrent, e);
}

int scan_env_parse(struct scan_env *cfg, const char *const *envp, long ncpu, struct errbuf *e)
{
	int oom = 0;
	const char *v;
	size_t len;
	struct errbuf we;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_concurrent = 4;
	cfg->grace = 5.0;
	cfg->scanner_bin = get_set(envp, "SCANNER_BIN", &oom);
	v = scan_env_get(envp, "HOME");
	cfg->home = v ? strdup(v) : NULL;
	v = scan_env_get(envp, "PATH");
	cfg->path = v ? strdup(v) : NULL;
	cfg->tmpdir = get_set(envp, "TMPDIR", &oom);
	cfg->probe_module = get_set(envp, "SCANNER_PROBE_MODULE", &oom);
	if (cfg->probe_module == NULL && !oom)
		cfg->probe_module = strdup("tcp");
	cfg->interface = get_set(envp, "SCANNER_INTERFACE", &oom);
	cfg->source_ip = get_set(envp, "SCANNER_SOURCE_IP", &oom);
	cfg->gateway_mac = get_set(envp, "SCANNER_GATEWAY_MAC", &oom);
	cfg->bandwidth = get_set(envp, "SCANNER_BANDWIDTH", &oom);
	cfg->probe_args = get_set(envp, "SCANNER_PROBE_ARGS", &oom);
	cfg->whitelist = get_set(envp, "SCANNER_WHITELIST_FILE", &oom);
	cfg->blacklist = get_set(envp, "SCANNER_BLACKLIST_FILE", &oom);
	cfg->io_engine = get_set(envp, "ANYSCAN_SCANNER_IO_ENGINE", &oom);
	cfg->calibration_path = get_set(envp, "ANYSCAN_RATE_CALIBRATION_PATH", &oom);
	cfg->root = get_set(envp, "AGENTD_ROOT", &oom);
	if (oom || cfg->probe_module == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	cfg->icmp = scan_text_flag(scan_env_get(envp, "SCANNER_ICMP_PRESCAN"), 0);
	cfg->gate_af_xdp = scan_text_flag(scan_env_get(envp, "ANYSCAN_AF_XDP_AVAILABLE"), 0);
	cfg->gate_pfring_zc = scan_text_flag(scan_env_get(envp, "ANYSCAN_PFRING_ZC_AVAILABLE"), 0);
	cfg->gate_dpdk = scan_text_flag(scan_env_get(envp, "ANYSCAN_DPDK_AVAILABLE"), 0);
	cfg->dynamic = scan_text_flag(scan_env_get(envp, "ANYSCAN_DYNAMIC_RATE_ENABLED"), 1);
	cfg->shard_mode = scan_text_flag(scan_env_get(envp, "ANYSCAN_ADAPTER_SHARD_MODE"), 0);
	if (scan_env_parse_interfaces(scan_env_get(envp, "ANYSCAN_SCANNER_INTERFACES"),
				      &cfg->interfaces, &cfg->n_interfaces) != 0) {
		err_set(e, "out of memory");
		return -1;
	}

	/* SCANNER_DEFAULT_RATE: the controller's rule (warning, default) */
	v = scan_env_get(envp, "SCANNER_DEFAULT_RATE");
	if (v != NULL) {
		len = strlen(v);
		scan_text_trim(&v, &len);
		if (len > 0) {
			if (scan_env_parse_int(v, len, &cfg->default_rate) == 0) {
				cfg->has_default_rate = 1;
			} else {
				cfg->default_rate_invalid = scan_text_trimdup(v, len);
				if (cfg->default_rate_invalid == NULL) {
					err_set(e, "out of memory");
					return -1;
				}
			}
		}
	}

	/* §2.3 row 4: integers */
	if (get_int(envp, "SCANNER_COOLDOWN_SECONDS", 5, &cfg->cooldown, e) != 0 ||
	    get_int(envp, "SCANNER_SENDER_THREADS", ncpu > 0 ? ncpu : 1, &cfg->sender_threads, e) !=
		    0 ||
	    get_int(envp, "SCANNER_RECEIVER_THREADS", 1, &cfg->receiver_threads, e) != 0)
		return -1;
	if (cfg->cooldown < 0)
		cfg->cooldown = 0;
	if (cfg->sender_threads < 1)
		cfg->sender_threads = 1;
	if (cfg->receiver_threads < 1)
		cfg->receiver_threads = 1;

	/* §2.3 row 5: engine, grace, extra args */
	v = scan_env_get(envp, "ANYSCAN_SCANNER_ENGINE");
	len = v ? strlen(v) : 0;
	if (v != NULL)
		scan_text_trim(&v, &len);
	if (len == 0 || scan_text_eq_nocase(v, len, "auto")) {
		cfg->engine = SCAN_ENGINE_AUTO;
	} else if (scan_text_eq_nocase(v, len, "anyscan")) {
		cfg->engine = SCAN_ENGINE_ANYSCAN;
	} else if (scan_text_eq_nocase(v, len, "zmap")) {
		cfg->engine = SCAN_ENGINE_ZMAP;
	} else {
		err_set(e,
			"invalid value for ANYSCAN_SCANNER_ENGINE: %.*s (expected auto, anyscan or "
			"zmap)",
			(int)(len > 200 ? 200 : len), v);
		return -1;
	}
	if (parse_grace(scan_env_get(envp, "ANYSCAN_SHUTDOWN_GRACE_SECONDS"), &cfg->grace, e) != 0)
		return -1;
	v = scan_env_get(envp, "SCANNER_EXTRA_ARGS");
	if (v != NULL && !scan_text_blank(v, strlen(v))) {
		err_clear(&we);
		if (scan_env_split_words(v, &cfg->extra, &we) != 0) {
			err_set(e, "invalid SCANNER_EXTRA_ARGS: %s", we.msg);
			return -1;
		}
	}
	return 0;
}

void scan_env_free(struct scan_env *cfg)
{
	free(cfg->scanner_bin);
	free(cfg->home);
	free(cfg->path);
	free(cfg->tmpdir);
	free(cfg->probe_module);
	free(cfg->interface);
	free(cfg->source_ip);
	free(cfg->gateway_mac);
	free(cfg->bandwidth);
	free(cfg->probe_args);
	free(cfg->whitelist);
	free(cfg->blacklist);
	free(cfg->io_engine);
	free(cfg->calibration_path);
	free(cfg->root);
	free(cfg->default_rate_invalid);
	scan_argv_free(&cfg->extra);
	scan_env_list_free(cfg->interfaces);
	memset(cfg, 0, sizeof(*cfg));
}
