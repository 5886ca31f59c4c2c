/*
 * agentd instance [--json]: run instance-type detection (rate-controller.md
 * §9, §18.4) and print the type, its source and what happened with IMDS.
 */
#include "cmd.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "inst_detect.h"
#include "inst_table.h"
#include "json.h"
#include "rate_env.h"

extern char **environ;

static void usage(FILE *f)
{
	fputs("usage: agentd instance [--json]\n"
	      "\n"
	      "Detect the instance type: ANYSCAN_INSTANCE_TYPE, then the DMI product name,\n"
	      "then IMDSv2 (skipped when ANYSCAN_INSTANCE_DETECTION=done,\n"
	      "AWS_EC2_METADATA_DISABLED=true or a DMI sys_vendor without \"Amazon\").\n"
	      "Honours ANYSCAN_DMI_PRODUCT_PATH, ANYSCAN_DMI_VENDOR_PATH and the\n"
	      "AWS_EC2_METADATA_* / AWS_METADATA_SERVICE_* variables.\n"
	      "Plain output: instance_type=<type or empty> source=<env|dmi|imds|none>\n"
	      "exit status: 0 (whether or not a type was found), 2 usage error\n",
	      f);
}

static int print_json(const struct inst_result *r)
{
	const struct inst_defaults *d = r->type[0] != '\0' ? inst_lookup(r->type) : NULL;
	struct json_value *o = json_new_object(), *dv = NULL;
	struct errbuf e = {{0}};
	char *text = NULL;
	int rc = 1;

	if (o == NULL)
		goto out;
	if (d != NULL) {
		dv = json_new_object();
		if (dv == NULL || json_object_set_int(dv, "ceiling", d->ceiling) != 0 ||
		    json_object_set_int(dv, "floor", d->floor) != 0 ||
		    json_object_set_int(dv, "starting_rate", d->starting_rate) != 0 ||
		    json_object_set(o, "defaults", dv) != 0) {
			json_free(dv);
			goto out;
		}
	} else if (json_object_set_null(o, "defaults") != 0) {
		goto out;
	}
	if (json_object_set_string(o, "imds", inst_imds_name(r->imds)) != 0 ||
	    (r->type[0] != '\0' ? json_object_set_string(o, "instance_type", r->type)
				: json_object_set_null(o, "instance_type")) != 0 ||
	    json_object_set_bool(o, "known", d != NULL) != 0 ||
	    json_object_set_string(o, "source", inst_source_name(r->source)) != 0)
		goto out;
	text = json_write_alloc(o, JSON_WRITE_CANONICAL, 4096, NULL, &e);
	if (text == NULL)
		goto out;
	printf("%s\n", text);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "agentd: cannot format the result: %s\n",
			e.msg[0] != '\0' ? e.msg : "out of memory");
	free(text);
	json_free(o);
	return rc;
}

int cmd_instance(int argc, char **argv)
{
	const char *const *envp = (const char *const *)environ;
	struct http_config hc;
	struct rate_warnings w;
	struct inst_result r;
	int i, json = 0, rc;
	size_t k;
	char ua[64];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--") == 0) {
			if (i + 1 < argc) {
				fprintf(stderr, "agentd: instance takes no arguments\n");
				return 2;
			}
		} else {
			fprintf(stderr, "agentd: unknown instance option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	rate_warnings_init(&w);
	w.suppress = rate_env_flag(envp, "ANYSCAN_ADAPTER_SHARD_MODE", false);
	memset(&hc, 0, sizeof(hc));
	(void)snprintf(ua, sizeof(ua), "agentd/%s", version_get());
	hc.user_agent = ua;
	inst_detect(envp, inst_fetch_imds, &hc, &w, &r);
	for (k = 0; k < w.count; k++)
		fputs(w.lines[k], stderr);
	rate_warnings_free(&w);
	if (r.imds == INST_IMDS_FAILED && r.imds_err.msg[0] != '\0')
		fprintf(stderr, "agentd: instance metadata not available: %s\n", r.imds_err.msg);
	if (json)
		rc = print_json(&r);
	else
		rc = printf("instance_type=%s source=%s\n", r.type, inst_source_name(r.source)) < 0;
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
