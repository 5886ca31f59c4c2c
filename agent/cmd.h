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

int cmd_calibration(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_instance(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_self_test(int argc, char **argv);
#endif
