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

int cmd_env(int argc, char **argv);
int cmd_env_defaults(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
