#ifndef SERVICE_H
#define SERVICE_H
/*
 * Service backends (spec bundle-install-update.md §11): systemd, runit,
 * command=PATH and none.
 *
 * Choice (§11.1) is a pure function of a probe of the host.  The actions
 * write files under the layout's root and run commands through an
 * injectable runner, so unit tests record the commands instead of running
 * them.  When the root is not "/" (§0.4) no systemctl or sv command is ever
 * run: systemd and runit only write files (and runit's scan-directory links,
 * which are files too); command=PATH is still run (it exists for tests) with
 * AGENTD_ROOT set to the root.
 */
#include "err.h"
#include "layout.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum service_kind {
	SERVICE_NONE,
	SERVICE_SYSTEMD,
	SERVICE_RUNIT,
	SERVICE_COMMAND,
};

struct service_choice {
	enum service_kind kind;
	char command[PATH_MAX]; /* SERVICE_COMMAND: absolute path */
};

/* Parse "auto|systemd|runit|none|command=PATH" (PATH absolute, no control
 * characters).  "auto" only when allow_auto (then *is_auto is set and out is
 * left NONE).  -1 with e for anything else (usage error). */
int service_parse(const char *s, bool allow_auto, bool *is_auto, struct service_choice *out,
		  struct errbuf *e);
/* The installed.json "service" value: "systemd", "command=/x". */
int service_format(const struct service_choice *c, char *out, size_t size);
const char *service_kind_name(enum service_kind k);

/* What §11.1 looks at. */
struct service_host {
	bool root_is_host;           /* DIR is "/" */
	bool systemd_running;        /* /run/systemd/system is a directory */
	bool have_systemctl;         /* systemctl in PATH */
	bool have_sv, have_runsvdir; /* sv, runsvdir in PATH */
	char scan_dir[PATH_MAX];     /* runit scan directory (host path), "" = none */
};

/* Look at the host: /run/systemd/system (real host only), PATH (path_env),
 * the runit scan directory: svdir_env ($SVDIR) if non-empty, else the first
 * existing of /etc/service, /var/service, /service -- all under the root. */
void service_probe(const struct layout *l, const char *path_env, const char *svdir_env,
		   struct service_host *out);

/* §11.1 auto, pure. */
enum service_kind service_auto(const struct service_host *h);

/* An explicit systemd or runit whose manager is not running with DIR "/"
 * (§11.1 last line): -1 with e. */
int service_check_explicit(const struct service_choice *c, const struct service_host *h,
			   struct errbuf *e);

/* The command runner: run argv, set *ok to "exited 0", out gets the output
 * (may be truncated).  0 when the program ran, -1 with e when it could not
 * be started. */
struct service_runner {
	int (*run)(void *ctx, const char *const argv[], bool *ok, char *out, size_t out_size,
		   struct errbuf *e);
	void *ctx;
};
/* The real runner (runcmd_run with a 120 s timeout); ctx is the envp
 * (char *const *) given to the child, NULL for the caller's environment. */
int service_run_real(void *ctx, const char *const argv[], bool *ok, char *out, size_t out_size,
		     struct errbuf *e);

struct service;

/* A backend for choice c under layout l.  scan_dir is the runit scan
 * directory (host path; NULL or "" = none found).  envp is given to the
 * command=PATH child with AGENTD_ROOT added when the root is not "/" (NULL
 * = the caller's environment).  runner NULL = the real one. */
struct service *service_new(const struct layout *l, const struct service_choice *c,
			    const char *scan_dir, const struct service_runner *runner,
			    char *const envp[], struct errbuf *e);
void service_free(struct service *s);

/* Notes for the summary ("link commands not run", "not checked under
 * --root"): one line each, NUL-separated in order; valid until the next
 * call or free. */
const char *service_notes(const struct service *s, size_t *len);

/* Write the backend's files from release directory rel_dir (a path on
 * disk): systemd: systemd/ * -> /etc/systemd/system (0644) and the drop-in of
 * §12.3 when textfile_dir is non-empty (removed otherwise); runit:
 * runit/<svc>/run -> /etc/sv/<svc>/run (0755).  Each file written
 * atomically and only when its bytes differ; *changed tells whether any
 * was.  systemd on the real host: daemon-reload after a change. */
int service_install_files(struct service *s, const char *rel_dir, const char *textfile_dir,
			  bool *changed, struct errbuf *e);

/* Enable (and with start, start): systemd `systemctl enable [--now]
 * agentd.service agentd-remote-update.path`; runit: with start, link
 * <scan>/agentd -> /etc/sv/agentd and <scan>/agentd-remote-update (relative
 * links); without, the link commands go to the notes. */
int service_enable(struct service *s, bool start, struct errbuf *e);

/* True when start/restart really run something, so a health check applies:
 * command=PATH always, systemd and runit on the real host only, none never
 * (§11.5). */
bool service_manages(const struct service *s);
/* The backend's choice. */
const struct service_choice *service_choice_of(const struct service *s);

/* Start agentd, restarting it when restart (§11.2-§11.4). */
int service_start(struct service *s, bool restart, struct errbuf *e);

enum service_state { SERVICE_UNKNOWN, SERVICE_ACTIVE, SERVICE_INACTIVE };
/* is-active: systemctl is-active --quiet; sv status begins with "run:";
 * PATH is-active agentd.  UNKNOWN for none, and for systemd/runit under a
 * root. */
int service_state(struct service *s, enum service_state *st, struct errbuf *e);

/* Stop and disable (§11.2-§11.4; runit: sv down, then the links go). */
int service_stop_disable(struct service *s, struct errbuf *e);

/* Remove the service files (§16.4 step 4): units, our drop-in, /etc/sv/agentd*,
 * scan-directory links; systemd daemon-reload on the real host. */
int service_remove_files(struct service *s, struct errbuf *e);

#endif
