/*
 * agentd: the worker.  main() only dispatches; each command lives in an
 * agent/cmd_*.c file that parses its own arguments and calls the modules.
 */
#include "cmd.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static const struct cmd_entry commands[] = {
	/* { "name", "one-line summary", function }, kept in alphabetical order */
	{"calibration", "show, store or clear the learned rates", cmd_calibration},
	{"fetch", "download a URL with agentd's HTTP/TLS client (diagnosis)", cmd_fetch},
	{"instance", "detect the instance type (env, DMI, IMDSv2)", cmd_instance},
	{"rate", "classify windows, simulate the controller, show the policy", cmd_rate},
	{"run", "the service loop: health file, metrics, update channel polling", cmd_run},
	{"scan", "run the port scan of a stdin invocation (the adapter)", cmd_scan},
	{"self-test", "check that this agentd works here (run by the updater)", cmd_self_test},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct cmd_entry *c;

	fputs("usage: agentd COMMAND [ARGS]\n"
	      "       agentd --help | --version\n"
	      "\n"
	      "The port-scanning worker.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fputs("\n"
	      "Run 'agentd COMMAND --help' for a command's options.\n"
	      "exit status: 0 ok, 1 failure, 2 usage or configuration error\n"
	      "(agentd scan keeps the previous adapter's exit codes)\n",
	      f);
}

int main(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("agentd %s\n", version_get());
		return 0;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "agentd: unknown command '%s' (try agentd --help)\n", argv[1]);
	return 2;
}
