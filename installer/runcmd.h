#ifndef RUNCMD_H
#define RUNCMD_H
/*
 * Run a program and wait for it (service-manager commands, `command=PATH`,
 * self-test).  posix_spawn with every inherited descriptor CLOEXEC, the
 * child in its own process group with the signal mask and SIGPIPE reset,
 * stdin from /dev/null, stdout and stderr into one pipe whose last bytes are
 * kept for the caller.
 *
 * The child is waited for with waitpid(WNOHANG) between polls, so a
 * daemonising child that leaves a grandchild holding the pipe does not keep
 * us waiting.  On timeout the process group gets SIGTERM, then SIGKILL 5 s
 * later.
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

struct runcmd_result {
	bool exited;    /* exited normally (status valid) */
	int status;     /* exit status when exited */
	int signal;     /* terminating signal when !exited */
	bool timed_out; /* killed because of the timeout */
	char out[4096]; /* the last bytes of stdout+stderr, NUL-terminated */
	size_t out_len;
};

/* Run argv[0] (an absolute path, or a name looked up in PATH of envp) with
 * envp (NULL: the caller's environment).  0 when the program ran (whatever
 * its status; see r), -1 with e when it could not be started. */
int runcmd_run(const char *const argv[], char *const envp[], int timeout_ms,
	       struct runcmd_result *r, struct errbuf *e);

/* As runcmd_run, also appending all of stdout+stderr to all (output past
 * its maximum is dropped; r->out still has the tail). */
struct buf;
int runcmd_run_buf(const char *const argv[], char *const envp[], int timeout_ms,
		   struct runcmd_result *r, struct buf *all, struct errbuf *e);

/* True when r says "exited with status 0". */
bool runcmd_ok(const struct runcmd_result *r);

/* Find name in the PATH value path (NULL or "" -> none): first directory
 * holding an executable regular file.  0 and out set, or -1. */
int runcmd_which(const char *name, const char *path, char *out, size_t out_size);

#endif
