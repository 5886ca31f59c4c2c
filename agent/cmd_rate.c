/*
 * agentd rate classify|simulate|policy (rate-controller.md §18.1-§18.3).
 * The CLI layer: reads the environment once, prints, chooses exit codes.
 */
#include "cmd.h"
#include "version.h"

#include "bounds.h"
#include "buf.h"
#include "calib.h"
#include "events.h"
#include "http.h"
#include "inst_detect.h"
#include "json.h"
#include "nic.h"
#include "num.h"
#include "rate.h"
#include "rate_ctl.h"
#include "rate_env.h"
#include "rate_line.h"
#include "rate_metric.h"
#include "rate_model.h"
#include "sysload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

enum { RATE_INPUT_LINE_MAX = BOUNDS_RATE_LINE_MAX };

static void usage(FILE *f)
{
	fputs("usage: agentd rate classify [FILE]\n"
	      "       agentd rate simulate --model COMMAND [--windows N] [--start RATE]\n"
	      "                            [--interface IF] [--calibration PATH]\n"
	      "       agentd rate policy [--instance-type T|none] [--rate-limit N]\n"
	      "                          [--interface IF] [--root DIR]\n"
	      "\n"
	      "classify  read measurement JSON lines (FILE or stdin), print\n"
	      "          {\"classification\", \"next_rate\"} per line\n"
	      "simulate  run the AIMD controller against a network-model co-process;\n"
	      "          metric lines on stdout\n"
	      "policy    print the resolved policy, starting rate and their sources\n"
	      "\n"
	      "The policy comes from the ANYSCAN_RATE_* environment (rate-controller.md §7).\n"
	      "exit status: 0 ok; 1 failure (classify: a bad input line); 2 usage or\n"
	      "invalid policy; simulate: 3 scanner-model crash, 128+N stopped by signal N\n",
	      f);
}

/* ---- option parsing: options anywhere after the subcommand, "--" ends them */

struct opt {
	const char *name; /* "--model" */
	bool has_arg;
	const char *value; /* set when seen */
	bool seen;
};

/* Splits argv[1..] into options and positionals.  Returns 0, 1 for --help,
 * or 2 (message printed) on a usage error. */
static int parse_opts(int argc, char **argv, struct opt *opts, size_t nopts, const char **pos,
		      size_t maxpos, size_t *npos)
{
	bool only_pos = false;
	int i;

	*npos = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k;
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
			return 1;
		if (!only_pos && a[0] == '-' && a[1] != '\0') {
			const char *eq = strchr(a, '=');
			size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
			for (k = 0; k < nopts; k++)
				if (strlen(opts[k].name) == nlen &&
				    strncmp(opts[k].name, a, nlen) == 0)
					break;
			if (k == nopts) {
				fprintf(stderr, "agentd: unknown option %.*s\n", (int)nlen, a);
				return 2;
			}
			if (!opts[k].has_arg) {
				if (eq != NULL) {
					fprintf(stderr, "agentd: option %s takes no value\n",
						opts[k].name);
					return 2;
				}
			} else if (eq != NULL) {
				opts[k].value = eq + 1;
			} else if (i + 1 < argc) {
				opts[k].value = argv[++i];
			} else {
				fprintf(stderr, "agentd: option %s needs a value\n", opts[k].name);
				return 2;
			}
			opts[k].seen = true;
			continue;
		}
		if (*npos >= maxpos) {
			fprintf(stderr, "agentd: unexpected argument %s\n", a);
			return 2;
		}
		pos[(*npos)++] = a;
	}
	return 0;
}

static void print_warnings(struct rate_warnings *w)
{
	size_t i;

	for (i = 0; i < w->count; i++)
		fputs(w->lines[i], stderr);
	rate_warnings_clear_lines(w);
}

/* Print a JSON value as one line on stdout and flush.  0 or -1. */
static int print_line(const struct json_value *v)
{
	char *text = json_write_alloc(v, JSON_WRITE_CANONICAL, BOUNDS_METRIC_LINE_MAX, NULL, NULL);
	int rc = 0;

	if (text == NULL)
		return -1;
	if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		rc = -1;
	free(text);
	return rc;
}

/* §11.1 path: ANYSCAN_RATE_CALIBRATION_PATH, else <root>/var/lib/agentd/...
 * Returns a malloc'd string. */
static char *calibration_path(const char *const *envp, const char *root)
{
	const char *v;
	size_t len;
	char *p;

	if (rate_env_present(envp, "ANYSCAN_RATE_CALIBRATION_PATH", &v, &len))
		return strndup(v, len);
	if (root == NULL) {
		const char *r = rate_env_get(envp, "AGENTD_ROOT");
		root = r != NULL ? r : "";
	}
	len = strlen(root);
	while (len > 0 && root[len - 1] == '/')
		len--;
	p = malloc(len + sizeof(CALIB_DEFAULT_REL_PATH));
	if (p == NULL)
		return NULL;
	memcpy(p, root, len);
	memcpy(p + len, CALIB_DEFAULT_REL_PATH, sizeof(CALIB_DEFAULT_REL_PATH));
	return p;
}

static int resolve_or_exit(const char *const *envp, const char *inst,
			   const struct rate_invocation *inv, struct rate_warnings *w,
			   struct rate_resolved *r)
{
	const char *msg = NULL;
	int rc = rate_resolve(envp, inst, inv, w, r, &msg);

	print_warnings(w);
	if (rc < 0) {
		fprintf(stderr, "agentd: invalid rate policy: %s\n", msg);
		return 2;
	}
	return 0;
}

/* ---- classify */

static int classify_line(const char *line, size_t len, size_t lineno,
			 const struct rate_policy *base)
{
	struct rate_line rl;
	struct errbuf e;
	struct json_value *o = json_new_object();
	enum rate_class cls;
	int64_t next;
	int rc = 0, bad = 0;

	err_clear(&e);
	if (rate_line_parse(line, len, base, RATE_LINE_ALLOW_POLICY, &rl, &e) < 0) {
		rc |= json_object_set_string(o, "error", e.msg);
		rc |= json_object_set_int(o, "line", (int64_t)lineno);
		bad = 1;
	} else {
		next = rate_next(&rl.policy, rl.m.set_rate, &rl.m, rl.has_load ? &rl.load : NULL,
				 &cls);
		rc |= json_object_set_string(o, "classification", rate_class_name(cls));
		rc |= json_object_set_int(o, "next_rate", next);
	}
	if (o == NULL || rc != 0 || print_line(o) < 0) {
		json_free(o);
		return -1;
	}
	json_free(o);
	return bad;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int rate_classify_cmd(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	struct opt opts[] = {{"--root", true, NULL, false}};
	const char *pos[1];
	size_t npos, lineno = 0;
	struct rate_warnings w;
	struct rate_resolved r;
	char instbuf[INST_TYPE_MAX];
	const char *inst;
	struct buf *line;
	FILE *in = stdin;
	bool any_bad = false, too_long = false, done = false;
	int rc;

	rc = parse_opts(argc, argv, opts, 1, pos, 1, &npos);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc != 0)
		return 2;
	rate_warnings_init(&w);
	w.suppress = rate_env_flag(envp, "ANYSCAN_ADAPTER_SHARD_MODE", false);
	inst = rate_env_instance_type(envp, &w, instbuf, sizeof(instbuf));
	rc = resolve_or_exit(envp, inst, NULL, &w, &r);
	rate_warnings_free(&w);
	if (rc != 0)
		return rc;
	if (npos == 1 && strcmp(pos[0], "-") != 0) {
		in = fopen(pos[0], "re");
		if (in == NULL) {
			fprintf(stderr, "agentd: cannot open %s: %s\n", pos[0], strerror(errno));
			return 1;
		}
	}
	line = buf_new(RATE_INPUT_LINE_MAX);
	if (line == NULL) {
		fprintf(stderr, "agentd: cannot classify: out of memory\n");
		goto fail;
	}
	while (!done) {
		int c = getc(in);
		if (c != EOF && c != '\n') {
			if (!too_long && buf_append_byte(line, (unsigned char)c, NULL) < 0)
				too_long = true;
			continue;
		}
		if (c == EOF) {
			if (ferror(in)) {
				fprintf(stderr, "agentd: cannot read input: %s\n", strerror(errno));
				goto fail;
			}
			done = true;
			if (buf_len(line) == 0 && !too_long)
				break;
		}
		lineno++;
		if (too_long) {
			struct json_value *o = json_new_object();
			char msg[64];
			int n = snprintf(msg, sizeof(msg), "line longer than %d bytes",
					 RATE_INPUT_LINE_MAX);
			int jr = n < 0 || (size_t)n >= sizeof(msg);
			jr |= json_object_set_string(o, "error", msg);
			jr |= json_object_set_int(o, "line", (int64_t)lineno);
			if (o == NULL || jr != 0 || print_line(o) < 0) {
				json_free(o);
				goto write_fail;
			}
			json_free(o);
			any_bad = true;
		} else {
			const char *s = buf_data(line);
			size_t len = buf_len(line), b = 0;
			while (b < len && is_ws(s[b]))
				b++;
			while (len > b && is_ws(s[len - 1]))
				len--;
			if (len > b) {
				rc = classify_line(s + b, len - b, lineno, &r.policy);
				if (rc < 0)
					goto write_fail;
				if (rc > 0)
					any_bad = true;
			}
		}
		buf_reset(line);
		too_long = false;
	}
	buf_free(line);
	if (in != stdin)
		fclose(in);
	return any_bad ? 1 : 0;
write_fail:
	fprintf(stderr, "agentd: cannot write output: %s\n", strerror(errno));
fail:
	buf_free(line);
	if (in != stdin)
		fclose(in);
	return 1;
}

/* ---- simulate */

static int stop_pipe[2] = {-1, -1};

static void on_stop(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(stop_pipe[1], &b, 1) < 0) {
		/* the pipe is full: a stop is already pending */
	}
	errno = saved;
}

static int install_stop_handlers(void)
{
	struct sigaction sa;

	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int parse_int_arg(const char *opt, const char *v, int64_t min, int64_t *out)
{
	if (v == NULL || num_parse_i64(v, strlen(v), out) < 0 || *out < min) {
		if (min > INT64_MIN)
			fprintf(stderr, "agentd: %s needs an integer >= %lld, not \"%s\"\n", opt,
				(long long)min, v != NULL ? v : "");
		else
			fprintf(stderr, "agentd: %s needs an integer, not \"%s\"\n", opt,
				v != NULL ? v : "");
		return -1;
	}
	return 0;
}

static int rate_simulate_cmd(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	struct opt opts[] = {
		{"--model", true, NULL, false},       {"--windows", true, NULL, false},
		{"--start", true, NULL, false},       {"--interface", true, NULL, false},
		{"--calibration", true, NULL, false}, {"--root", true, NULL, false},
	};
	const char *pos[1];
	size_t npos;
	struct rate_warnings w;
	struct rate_resolved r;
	struct rate_model_opts mo;
	struct rate_model *model = NULL;
	struct rate_ctl_config cfg;
	struct rate_ctl_result res;
	struct rate_started st;
	struct events_sink sink;
	struct calib *store = NULL;
	struct errbuf e;
	char instbuf[INST_TYPE_MAX];
	const char *inst, *iface = NULL;
	int64_t windows = 0, start = 0;
	int rc;

	rc = parse_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &npos);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc != 0)
		return 2;
	if (!opts[0].seen || opts[0].value[0] == '\0') {
		fprintf(stderr, "agentd: rate simulate needs --model COMMAND\n");
		return 2;
	}
	if (opts[1].seen && parse_int_arg("--windows", opts[1].value, 1, &windows) < 0)
		return 2;
	if (opts[2].seen && parse_int_arg("--start", opts[2].value, INT64_MIN, &start) < 0)
		return 2;
	if (opts[3].seen) {
		iface = opts[3].value;
		if (iface[0] == '\0')
			iface = NULL;
	}

	rate_warnings_init(&w);
	w.suppress = rate_env_flag(envp, "ANYSCAN_ADAPTER_SHARD_MODE", false);
	inst = rate_env_instance_type(envp, &w, instbuf, sizeof(instbuf));
	rc = resolve_or_exit(envp, inst, NULL, &w, &r);
	rate_warnings_free(&w);
	if (rc != 0)
		return rc;
	if (opts[4].seen) {
		store = calib_new(opts[4].value, CALIB_LOCK_WAIT_MS);
		if (store == NULL) {
			fprintf(stderr, "agentd: cannot simulate: out of memory\n");
			return 1;
		}
	}
	if (opts[2].seen) {
		r.fallback_rate = start;
		r.fallback_source = RATE_SRC_INVOCATION;
		rate_resolve_start_from(&r, NULL);
	} else {
		rate_resolve_start(&r, iface, store);
	}

	if (install_stop_handlers() < 0) {
		fprintf(stderr, "agentd: cannot install signal handlers: %s\n", strerror(errno));
		calib_free(store);
		return 1;
	}
	memset(&mo, 0, sizeof(mo));
	mo.command = opts[0].value;
	mo.envp = environ;
	mo.stop_fd = stop_pipe[0];
	mo.reply_timeout_ms = 60000;
	mo.exit_wait_ms = 5000;
	mo.policy = &r.policy;
	err_clear(&e);
	if (rate_model_start(&mo, &model, &e) < 0) {
		fprintf(stderr, "agentd: %s\n", e.msg);
		calib_free(store);
		return 1;
	}

	events_sink_fd(&sink, STDOUT_FILENO);
	memset(&st, 0, sizeof(st));
	st.policy = &r.policy;
	st.interface = iface;
	st.instance_type = inst;
	st.instance_type_source = inst != NULL ? "env" : "none";
	st.starting_rate = r.starting_rate;
	st.starting_rate_source = rate_src_name(r.starting_source);
	st.fallback_rate = r.fallback_rate;
	st.vcpu_count = sysload_vcpu_count(0);
	st.calibration_path = store != NULL ? calib_path(store) : NULL;
	fflush(stdout);
	rate_metric_started(&sink, &st, NULL);

	rate_ctl_config_init(&cfg);
	cfg.policy = r.policy;
	cfg.interface = iface;
	cfg.starting_rate = r.starting_rate;
	cfg.store = store;
	cfg.max_windows = windows;
	cfg.sink = &sink;
	cfg.runner.run = rate_model_run;
	cfg.runner.ctx = model;
	rate_ctl_run(&cfg, &res);

	switch (res.status) {
	case RATE_CTL_COMPLETED:
	case RATE_CTL_WINDOW_LIMIT:
		rc = 0;
		break;
	case RATE_CTL_WINDOW_ERROR: {
		char text[160];
		if (rate_ctl_window_error_text(&res, text, sizeof(text)) == 0)
			fprintf(stderr, "agentd: %s\n", text);
		rc = 3;
		break;
	}
	case RATE_CTL_STOPPED:
		rc = 128 + res.stop_signal;
		break;
	case RATE_CTL_RUNNER_ERROR:
		if (rate_model_clean_eof(model)) {
			rc = 0;
		} else {
			fprintf(stderr, "agentd: simulation failed: %s\n", res.err.msg);
			rc = 1;
		}
		break;
	}
	rate_model_finish(model);
	calib_free(store);
	return rc;
}

/* ---- policy */

static int rate_policy_cmd(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	struct opt opts[] = {
		{"--instance-type", true, NULL, false},
		{"--rate-limit", true, NULL, false},
		{"--interface", true, NULL, false},
		{"--root", true, NULL, false},
	};
	const char *pos[1];
	size_t npos;
	struct rate_warnings w;
	struct rate_resolved r;
	struct rate_invocation inv = {false, 0};
	struct inst_result det;
	struct json_value *o = NULL, *src = NULL;
	struct calib *store = NULL;
	char ifbuf[NIC_IFACE_MAX];
	const char *inst = NULL, *inst_src = "none", *iface = NULL;
	char *cpath = NULL;
	int rc, jr = 0, f;

	rc = parse_opts(argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 0, &npos);
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	if (rc != 0)
		return 2;
	if (opts[1].seen) {
		if (parse_int_arg("--rate-limit", opts[1].value, INT64_MIN, &inv.rate_limit) < 0)
			return 2;
		inv.has_rate_limit = true;
	}
	rate_warnings_init(&w);
	w.suppress = rate_env_flag(envp, "ANYSCAN_ADAPTER_SHARD_MODE", false);
	if (opts[0].seen) {
		const char *t = opts[0].value;
		if (strcmp(t, "none") != 0) {
			if (!inst_shape_ok(t, strlen(t))) {
				fprintf(stderr, "agentd: invalid instance type \"%s\"\n", t);
				rate_warnings_free(&w);
				return 2;
			}
			inst = t;
		}
		inst_src = "invocation";
	} else {
		struct http_config hc;
		memset(&hc, 0, sizeof(hc));
		char ua[64];

		(void)snprintf(ua, sizeof(ua), "agentd/%s", version_get());
		hc.user_agent = ua;
		inst_detect(envp, inst_fetch_imds, &hc, &w, &det);
		if (det.type[0] != '\0')
			inst = det.type;
		inst_src = inst_source_name(det.source);
	}
	rc = resolve_or_exit(envp, inst, &inv, &w, &r);
	rate_warnings_free(&w);
	if (rc != 0)
		return rc;

	if (opts[2].seen) {
		iface = opts[2].value[0] != '\0' ? opts[2].value : NULL;
	} else {
		const char *v;
		size_t len;
		if (rate_env_present(envp, "SCANNER_INTERFACE", &v, &len) && len < sizeof(ifbuf)) {
			memcpy(ifbuf, v, len);
			ifbuf[len] = '\0';
			iface = ifbuf;
		} else if (nic_default_route_iface(NULL, ifbuf, sizeof(ifbuf))) {
			iface = ifbuf;
		}
	}
	cpath = calibration_path(envp, opts[3].seen ? opts[3].value : NULL);
	store = cpath != NULL ? calib_new(cpath, 0) : NULL;
	if (store == NULL) {
		fprintf(stderr, "agentd: cannot resolve the policy: out of memory\n");
		free(cpath);
		return 1;
	}
	rate_resolve_start(&r, iface, store);

	o = json_new_object();
	src = json_new_object();
	jr |= json_object_set_string(o, "calibration_path", cpath);
	jr |= json_object_set_int(o, "fallback_rate", r.fallback_rate);
	jr |= json_object_set_string(o, "instance_type", inst);
	jr |= json_object_set_string(o, "instance_type_source", inst_src);
	jr |= json_object_set_string(o, "interface", iface);
	jr |= json_object_set(o, "policy", rate_metric_policy_object(&r.policy));
	for (f = 0; f < RATE_F_COUNT; f++)
		jr |= json_object_set_string(src, rate_field_name((enum rate_field)f),
					     rate_src_name(r.sources[f]));
	jr |= json_object_set_string(src, "fallback_rate", rate_src_name(r.fallback_source));
	jr |= json_object_set_string(src, "starting_rate", rate_src_name(r.starting_source));
	jr |= json_object_set(o, "sources", src);
	jr |= json_object_set_int(o, "starting_rate", r.starting_rate);
	rc = 0;
	if (o == NULL || jr != 0 || print_line(o) < 0) {
		fprintf(stderr, "agentd: cannot write the policy: %s\n", strerror(errno));
		rc = 1;
	}
	json_free(o);
	calib_free(store);
	free(cpath);
	return rc;
}

int cmd_rate(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "classify") == 0)
		return rate_classify_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "simulate") == 0)
		return rate_simulate_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return rate_policy_cmd(argc - 1, argv + 1);
	fprintf(stderr, "agentd: unknown rate subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
