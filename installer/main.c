/*
 * agent-install: main() only dispatches; each command lives in a
 * installer/cmd_*.c file that parses its own arguments and calls the modules.
 */
#include "cmd.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static const struct cmd_entry commands[] = {
	/* { "name", "one-line summary", function }, kept in alphabetical order */
	{"env", "read and edit runtime.env (get, upsert, remove, defaults, exec)", cmd_env},
	{"install", "verify a bundle and install it as the current release", cmd_install},
	{"recover", "finish or undo an interrupted install, update or rollback", cmd_recover},
	{"rollback", "switch back to the previous (or a kept) release", cmd_rollback},
	{"status", "show the installed release, service, health and last update", cmd_status},
	{"uninstall", "stop agentd and remove it (--purge: also its configuration)", cmd_uninstall},
	{"update", "verify, install and switch to a new release; revert if unhealthy", cmd_update},
	{"watch", "run update --from-request when a request appears (no systemd)", cmd_watch},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct cmd_entry *c;

	fputs("usage: agent-install COMMAND [ARGS]\n"
	      "       agent-install --help | --version\n"
	      "\n"
	      "Installs, updates and rolls back the agent from a bundle.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fputs("\n"
	      "Run 'agent-install COMMAND --help' for a command's options.\n"
	      "exit status: 0 ok, 1 failure (the host is as it was), 2 usage or configuration "
	      "error,\n"
	      "3 update or rollback failed after the switch and was reverted (the previous "
	      "release\n"
	      "is current and healthy), 4 the revert failed too (the host may be unhealthy)\n",
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
		printf("agent-install %s\n", version_get());
		return 0;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "agent-install: unknown command '%s' (try agent-install --help)\n",
		argv[1]);
	return 2;
}
