/*
 * agent-install status [--json] [--verify] [--root DIR] (spec
 * bundle-install-update.md §16.3).  Reads only: no lock, nothing changes.
 */
#include "cmd.h"

#include "cli.h"
#include "fsutil.h"
#include "health.h"
#include "installed.h"
#include "itime.h"
#include "journal.h"
#include "json.h"
#include "release.h"
#include "service.h"
#include "settings.h"
#include "ustatus.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char status_usage[] =
	"usage: agent-install status [--json] [--verify] [--root DIR]\n"
	"\n"
	"Shows what is installed: version, fingerprint, signature, previous release,\n"
	"kept releases, service state, health.json, the last remote update and a\n"
	"pending transaction.  Changes nothing and takes no lock.\n"
	"  --json     one JSON object on stdout\n"
	"  --verify   re-check the current release against its MANIFEST\n"
	"  --root DIR treat DIR as / (default: $AGENTD_ROOT, else /)\n"
	"\n"
	"exit status: 0 installed (and verified with --verify), 1 not installed or\n"
	"verification failed, 2 usage\n";

struct status_view {
	bool installed;
	struct installed in;
	char current[13];
	bool have_current;
	char releases[RELEASE_MAX][13];
	char versions[RELEASE_MAX][65];
	size_t nreleases;
	const char *backend;
	enum service_state svc_state;
	bool health_present, health_valid;
	struct health_file health;
	struct ustatus upd;
	bool journal_present;
	struct journal j;
	char *journal_raw;
	bool verify_asked, verify_ok;
	char verify_reason[ERRBUF_SIZE];
	struct settings set;
};

static void gather(const struct layout *l, struct status_view *v, bool verify)
{
	struct errbuf e;
	char path[PATH_MAX];
	char *data = NULL;
	size_t len = 0, i;

	memset(v, 0, sizeof(*v));
	cli_settings(l, &v->set);
	if (installed_read(l, &v->in, &e) == 0)
		v->installed = true;
	else if (errno != ENOENT)
		cli_warn("cannot read %s: %s", layout_path(l, LAYOUT_INSTALLED), e.msg);
	if (release_current(l, v->current, &v->have_current, &e) != 0)
		cli_warn("%s", e.msg);
	if (release_list(l, v->releases, RELEASE_MAX, &v->nreleases, &e) != 0)
		cli_warn("%s", e.msg);
	for (i = 0; i < v->nreleases; i++)
		if (release_read_version(l, v->releases[i], v->versions[i], NULL, &e) != 0)
			v->versions[i][0] = '\0';
	v->backend = v->installed ? v->in.service : "";
	v->svc_state = SERVICE_UNKNOWN;
	if (v->installed) {
		struct service *svc = cli_service(l, v->in.service);
		if (svc != NULL) {
			if (service_state(svc, &v->svc_state, &e) != 0)
				v->svc_state = SERVICE_UNKNOWN;
			service_free(svc);
		}
	}
	if (fsutil_read_file(layout_path(l, LAYOUT_HEALTH), HEALTH_FILE_MAX, FSUTIL_R_NOFOLLOW,
			     &data, &len, &e) == 0) {
		v->health_present = true;
		v->health_valid = health_parse(data, len, &v->health) == 0;
		free(data);
	}
	if (cli_host_path(l, v->set.status_file, path, sizeof(path)) == 0 &&
	    ustatus_read(path, &v->upd, &e) != 0)
		cli_warn("cannot read the status file: %s", e.msg);
	if (journal_read(l, &v->j, &v->journal_present, &e) != 0) {
		cli_warn("%s", e.msg);
	} else if (v->journal_present &&
		   fsutil_read_file(layout_path(l, LAYOUT_JOURNAL), JOURNAL_FILE_MAX,
				    FSUTIL_R_NOFOLLOW, &v->journal_raw, &len, &e) != 0) {
		v->journal_raw = NULL;
	}
	if (verify && v->installed) {
		v->verify_asked = true;
		if (!v->have_current) {
			(void)snprintf(v->verify_reason, sizeof(v->verify_reason),
				       "no current release");
		} else if (release_recheck(l, v->current, NULL, NULL, &e) != 0) {
			(void)snprintf(v->verify_reason, sizeof(v->verify_reason), "%s", e.msg);
		} else if (strncmp(v->current, v->in.fingerprint, 12) != 0) {
			(void)snprintf(v->verify_reason, sizeof(v->verify_reason),
				       "current is %s, installed.json says %.12s", v->current,
				       v->in.fingerprint);
		} else {
			v->verify_ok = true;
		}
	}
}

static const char *state_name(enum service_state s)
{
	return s == SERVICE_ACTIVE ? "active" : s == SERVICE_INACTIVE ? "inactive" : "unknown";
}

static bool is_previous(const struct status_view *v, const char *fp12)
{
	return v->installed && v->in.has_previous &&
	       strncmp(v->in.previous.fingerprint, fp12, 12) == 0;
}

static int print_human(const struct layout *l, const struct status_view *v)
{
	size_t i;

	if (!v->installed) {
		printf("installed   no (root %s)\n", layout_root(l));
	} else {
		printf("installed   %s %s\n", v->in.version[0] ? v->in.version : "(unknown)",
		       v->in.bundle_name);
		printf("fingerprint %s\n", v->in.fingerprint);
		if (strcmp(v->in.signature, "verified") == 0 && v->in.key_id[0])
			printf("signature   verified (key %s)\n", v->in.key_id);
		else
			printf("signature   %s\n",
			       v->in.signature[0] ? v->in.signature : "unknown");
		if (v->in.has_previous)
			printf("previous    %s (%.12s)\n", v->in.previous.version,
			       v->in.previous.fingerprint);
		else
			printf("previous    none\n");
	}
	printf("releases    ");
	if (v->nreleases == 0)
		printf("none");
	for (i = 0; i < v->nreleases; i++) {
		bool cur = v->have_current && strcmp(v->releases[i], v->current) == 0;
		bool prev = is_previous(v, v->releases[i]);
		printf("%s%s%s%s", i ? ", " : "", v->releases[i], cur ? " (current)" : "",
		       prev ? " (previous)" : "");
	}
	printf("\n");
	if (v->installed) {
		const char *what =
			strncmp(v->backend, "systemd", 7) == 0 ? "agentd.service" : "agentd";
		if (strcmp(v->backend, "none") == 0)
			printf("service     none\n");
		else
			printf("service     %s: %s %s\n", v->backend, what,
			       state_name(v->svc_state));
	}
	if (!v->health_present)
		printf("health      no health.json\n");
	else if (!v->health_valid)
		printf("health      health.json invalid\n");
	else {
		char at[ITIME_LEN + 1];
		itime_format(v->health.updated, at);
		printf("health      %s at %s, fingerprint %s\n", v->health.status, at,
		       v->installed && strcmp(v->health.bundle_fingerprint, v->in.fingerprint) == 0
			       ? "matches"
			       : "differs");
	}
	if (v->upd.status != USTATUS_NONE)
		printf("update      %s at %s%s%s\n", ustatus_name(v->upd.status),
		       v->upd.updated_at[0] ? v->upd.updated_at : "(unknown time)",
		       v->upd.message[0] ? ": " : "", v->upd.message);
	if (v->set.channel_url[0])
		printf("channel     %s\n", v->set.channel_url);
	if (v->journal_present)
		printf("transaction %s interrupted in phase %s (to %.12s); run agent-install "
		       "recover\n",
		       journal_op_name(v->j.op), journal_phase_name(v->j.phase), v->j.to);
	if (v->verify_asked)
		printf("verify      %s%s\n",
		       v->verify_ok ? "ok" : "failed: ", v->verify_ok ? "" : v->verify_reason);
	return 0;
}

static struct json_value *str_or_null(bool have, const char *s)
{
	return have ? json_new_string(s) : json_new_null();
}

static int print_json(const struct layout *l, const struct status_view *v)
{
	struct json_value *o = json_new_object(), *rel = json_new_array(), *x;
	bool in = v->installed;
	struct errbuf e;
	char *text;
	size_t i, len;
	int rc = 0;

	rc |= json_object_set_bool(o, "installed", in);
	rc |= json_object_set_string(o, "root", layout_root(l));
	rc |= json_object_set(o, "version", str_or_null(in && v->in.version[0], v->in.version));
	rc |= json_object_set(o, "bundle_name", str_or_null(in, v->in.bundle_name));
	rc |= json_object_set(o, "fingerprint", str_or_null(in, v->in.fingerprint));
	rc |= json_object_set(o, "platform", str_or_null(in && v->in.platform[0], v->in.platform));
	rc |= json_object_set(o, "signature",
			      str_or_null(in && v->in.signature[0], v->in.signature));
	rc |= json_object_set(o, "key_id", str_or_null(in && v->in.key_id[0], v->in.key_id));
	if (in && v->in.has_previous) {
		x = json_new_object();
		rc |= json_object_set_string(x, "version", v->in.previous.version);
		rc |= json_object_set_string(x, "bundle_name", v->in.previous.bundle_name);
		rc |= json_object_set_string(x, "fingerprint", v->in.previous.fingerprint);
		rc |= json_object_set(o, "previous", x);
	} else {
		rc |= json_object_set_null(o, "previous");
	}
	for (i = 0; i < v->nreleases; i++) {
		x = json_new_object();
		rc |= json_object_set_string(x, "fp12", v->releases[i]);
		rc |= json_object_set(x, "version",
				      str_or_null(v->versions[i][0] != '\0', v->versions[i]));
		rc |= json_object_set_bool(
			x, "current", v->have_current && strcmp(v->releases[i], v->current) == 0);
		rc |= json_object_set_bool(x, "previous", is_previous(v, v->releases[i]));
		rc |= json_array_append(rel, x);
	}
	rc |= json_object_set(o, "releases", rel);
	if (in) {
		x = json_new_object();
		rc |= json_object_set_string(x, "backend", v->backend);
		if (v->svc_state == SERVICE_UNKNOWN)
			rc |= json_object_set_null(x, "active");
		else
			rc |= json_object_set_bool(x, "active", v->svc_state == SERVICE_ACTIVE);
		rc |= json_object_set(o, "service", x);
	} else {
		rc |= json_object_set_null(o, "service");
	}
	if (v->health_present && v->health_valid) {
		char at[ITIME_LEN + 1];
		itime_format(v->health.updated, at);
		x = json_new_object();
		rc |= json_object_set_string(x, "status", v->health.status);
		rc |= json_object_set_string(x, "bundle_fingerprint", v->health.bundle_fingerprint);
		rc |= json_object_set_string(x, "updated_at", at);
		rc |= json_object_set_bool(
			x, "matches",
			in && strcmp(v->health.bundle_fingerprint, v->in.fingerprint) == 0);
		rc |= json_object_set(o, "health", x);
	} else {
		rc |= json_object_set_null(o, "health");
	}
	if (v->upd.status != USTATUS_NONE) {
		x = json_new_object();
		rc |= json_object_set_string(x, "status", ustatus_name(v->upd.status));
		rc |= json_object_set(x, "updated_at",
				      str_or_null(v->upd.updated_at[0] != '\0', v->upd.updated_at));
		rc |= json_object_set(x, "message",
				      str_or_null(v->upd.message[0] != '\0', v->upd.message));
		rc |= json_object_set(o, "remote_update", x);
	} else {
		rc |= json_object_set_null(o, "remote_update");
	}
	x = NULL;
	if (v->journal_present && v->journal_raw != NULL)
		x = json_parse(v->journal_raw, strlen(v->journal_raw), JOURNAL_FILE_MAX, 0, NULL);
	rc |= json_object_set(o, "pending_transaction", x != NULL ? x : json_new_null());
	if (v->verify_asked) {
		char buf[ERRBUF_SIZE + 16];
		int n = snprintf(buf, sizeof(buf), "failed: %s", v->verify_reason);
		if (n < 0)
			buf[0] = '\0';
		rc |= json_object_set_string(o, "verify", v->verify_ok ? "ok" : buf);
	} else {
		rc |= json_object_set_null(o, "verify");
	}
	if (o == NULL || rc != 0) {
		json_free(o);
		cli_error("cannot build the status: out of memory");
		return 1;
	}
	text = json_write_alloc(o,
				JSON_WRITE_INSERTION_ORDER | JSON_WRITE_PRETTY | JSON_WRITE_NEWLINE,
				1024 * 1024, &len, &e);
	json_free(o);
	if (text == NULL) {
		cli_error("cannot write the status: %s", e.msg);
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"verify", no_argument, NULL, 'v'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *root = NULL;
	bool json = false, verify = false;
	struct status_view *v;
	struct layout *l;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'v':
			verify = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return cli_flush();
		default:
			return cli_usage("status", "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("status", "unexpected argument '%s'", argv[optind]);
	l = cli_layout(root);
	if (l == NULL)
		return 2;
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		cli_error("cannot show the status: out of memory");
		layout_free(l);
		return 1;
	}
	gather(l, v, verify);
	rc = json ? print_json(l, v) : print_human(l, v);
	if (rc == 0)
		rc = cli_flush();
	if (rc == 0 && (!v->installed || (v->verify_asked && !v->verify_ok)))
		rc = 1;
	if (!json && !v->installed)
		cli_info("nothing installed under %s", layout_root(l));
	free(v->journal_raw);
	free(v);
	layout_free(l);
	return rc;
}
