/*
 * agent-bundle: main() only dispatches; each command lives in a
 * bundle/cmd_*.c file that parses its own arguments and calls the modules.
 */
#include "cmd.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static const struct cmd_entry commands[] = {
	/* { "name", "one-line summary", function }, kept in alphabetical order */
	{"build", "build a reproducible, fingerprinted bundle", cmd_build},
	{"key", "generate a release key, print its public key or key id", cmd_key},
	{"list", "list a bundle's MANIFEST, or the bundles in a directory", cmd_list},
	{"rules", "print the bundle rule table", cmd_rules},
	{"sign", "sign a file with a release key (deterministic ECDSA P-256)", cmd_sign},
	{"verify", "verify a bundle before anything is unpacked", cmd_verify},
	{NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const struct cmd_entry *c;

	fputs("usage: agent-bundle COMMAND [ARGS]\n"
	      "       agent-bundle --help | --version\n"
	      "\n"
	      "Builds, verifies and lists reproducible, fingerprinted, signed bundles.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fputs("\n"
	      "Run 'agent-bundle COMMAND --help' for a command's options.\n"
	      "exit status: 0 ok, 1 failure, 2 usage or configuration error\n",
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
		printf("agent-bundle %s\n", version_get());
		return 0;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "agent-bundle: unknown command '%s' (try agent-bundle --help)\n", argv[1]);
	return 2;
}
