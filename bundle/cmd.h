#ifndef CMD_H
#define CMD_H
/*
 * agentd's commands.  Each is int cmd_NAME(int argc, char **argv) with
 * argv[0] the command name; it returns the process exit status.  Commands
 * are the CLI layer: they may print and read the environment (once, into a
 * config they hand to modules); modules may not.
 */

struct cmd_entry {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cmd_build(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
