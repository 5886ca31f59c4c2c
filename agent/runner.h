#ifndef RUNNER_H
#define RUNNER_H
/*
 * Child processes of `agentd scan` (scan.md §11, §14.3, §15): spawning a
 * detached child (own session and process group, signal dispositions and
 * mask reset, PR_SET_PDEATHSIG, only the given descriptors inherited), the
 * single poll loop with its 50 ms heartbeat timer on CLOCK_MONOTONIC, the
 * self-pipe written by the SIGCHLD/SIGINT/SIGTERM handlers, reaping with
 * waitpid(-1, WNOHANG), and the SIGINT -> SIGTERM -> SIGKILL termination
 * sequence.  Single-threaded.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct rate_jitter;

#define RUNNER_TICK_SECONDS 0.05 /* §11.2 */
#define RUNNER_READ_CHUNK 4096   /* §10.1 */

/* Monotonic clock in seconds. */
double runner_now(void);

/* Install the handlers (SIGCHLD, SIGINT, SIGTERM write one byte to the
 * self-pipe; SIGINT/SIGTERM also record the signal) and ignore SIGPIPE.
 * Idempotent. */
int runner_signals_init(struct errbuf *e);
/* The first stop signal received (SIGINT or SIGTERM), 0 if none. */
int runner_stop_signal(void);
/* How many stop signals were received. */
int runner_stop_count(void);

enum runner_io { RUNNER_IO_NULL = 0, RUNNER_IO_PIPE, RUNNER_IO_FILE };

struct runner_spawn_opts {
	const char *path;
	char *const *argv;
	char *const *envp; /* NULL: the current environment */
	enum runner_io in, out, err;
	const char *out_file, *err_file; /* RUNNER_IO_FILE: created/truncated, mode 0600 */
	int pdeathsig;                   /* 0: none */
};

struct runner_child {
	pid_t pid;
	int in_fd, out_fd, err_fd; /* parent ends, -1 when closed */
	bool exited;
	int status;     /* wait status once exited */
	int stops_seen; /* runner_stop_count() already acted upon */
};

/* Spawn (fork + exec with a close-on-exec error pipe).  -1 with e set
 * ("exec PATH: reason" when exec failed, "fork: ..." etc.); a failed exec
 * child has been reaped. */
int runner_spawn(const struct runner_spawn_opts *o, struct runner_child *c, struct errbuf *e);
/* Exit code of an exited child: its status, -N when killed by signal N;
 * 0 when it has not exited (unknown). */
int runner_exit_code(const struct runner_child *c);
/* Reap every exited child (waitpid(-1, WNOHANG)) into the process table and
 * update c (may be NULL) from it; true if c has exited. */
bool runner_check(struct runner_child *c);
/* Close the parent's pipe ends. */
void runner_close(struct runner_child *c);

/* Callbacks of the wait loop.  next_tick is the loop's timer state: zero it
 * (or call runner_cb_reset) at the start of a window. */
struct runner_cb {
	void (*on_out)(void *ctx, const char *p, size_t n);
	void (*on_err)(void *ctx, const char *p, size_t n);
	void (*on_tick)(void *ctx, double now);
	void *ctx;
	struct rate_jitter *jitter; /* ticked on every timer expiry; may be NULL */
	double next_tick;
	double (*clock)(void); /* NULL: runner_now */
};
void runner_cb_reset(struct runner_cb *cb);

enum runner_wait { RUNNER_W_EXITED = 0, RUNNER_W_TIMEOUT, RUNNER_W_STOP };
/* Run the loop until c exits, the deadline (monotonic seconds; < 0: none)
 * passes, or a stop signal not yet seen arrives (c->stops_seen is then
 * updated).  Pipes are read and the timer ticks meanwhile. */
enum runner_wait runner_wait(struct runner_child *c, double deadline, struct runner_cb *cb);
/* §11.3 with grace g.  When kill_on_stop, a stop signal arriving during the
 * sequence sends SIGKILL to the group at once (§15.1 second signal). */
void runner_terminate(struct runner_child *c, double grace, struct runner_cb *cb,
		      bool kill_on_stop);
/* SIGKILL to the group (the process alone if that fails). */
void runner_kill(struct runner_child *c);
/* Wait (reaping, ticking nothing) until `until` (monotonic seconds; < 0:
 * no limit) or until a signal arrives on the self-pipe. */
void runner_idle(double until);
/* Read the pipes until EOF or for at most max_seconds. */
void runner_drain(struct runner_child *c, double max_seconds, struct runner_cb *cb);
/* Send sig to c's process group; fallback per §11.3 (SIGKILL -> SIGKILL,
 * otherwise SIGTERM to the process alone) when killpg fails with ESRCH or
 * EPERM. */
void runner_signal_group(pid_t pid, int sig);

#endif
