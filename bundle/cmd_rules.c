/* agent-bundle rules: the rule table of spec bundle-install-update.md §2.1 (§6.5). */
#include "cmd.h"
#include "manifest.h"

#include <stdio.h>
#include <string.h>

int cmd_rules(int argc, char **argv)
{
	size_t n, i;
	const struct manifest_rule *r = manifest_rules(&n);

	(void)argv;
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs("usage: agent-bundle rules\n"
		      "Prints the bundle rule table, one rule per line: path, mode, "
		      "required|optional.\n",
		      stdout);
		return 0;
	}
	if (argc != 1) {
		fputs("agent-bundle: error: usage: agent-bundle rules\n", stderr);
		return 2;
	}
	for (i = 0; i < n; i++)
		printf("%s %04o %s\n", r[i].path, r[i].mode,
		       r[i].required ? "required" : "optional");
	return fflush(stdout) == 0 ? 0 : 1;
}
