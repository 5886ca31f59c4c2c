#ifndef LAYOUT_H
#define LAYOUT_H
/*
 * The host layout (spec bundle-install-update.md §7.1) placed under a root
 * directory (§0.4): every host path P means DIR + P.  layout_new() is pure
 * (string work only); layout_root_resolve() is the one function here that
 * looks at the file system (DIR must exist).
 *
 * A struct layout is created once by a command and handed to every module
 * that touches the host, so tests build their own under a temporary root.
 */
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest root accepted: leaves room under PATH_MAX for the deepest host
 * path plus a release name and temp suffixes. */
#define LAYOUT_ROOT_MAX 3072

enum layout_id {
	LAYOUT_OPT,              /* /opt/agentd */
	LAYOUT_RELEASES,         /* /opt/agentd/releases */
	LAYOUT_INCOMING,         /* /opt/agentd/releases/.incoming */
	LAYOUT_CURRENT,          /* /opt/agentd/current (symlink) */
	LAYOUT_BIN,              /* /opt/agentd/bin */
	LAYOUT_LOCK,             /* /opt/agentd/.agent-install.lock */
	LAYOUT_JOURNAL,          /* /opt/agentd/.transaction.json */
	LAYOUT_ATTEMPTS,         /* /opt/agentd/.request-attempts */
	LAYOUT_INSTALLED,        /* /opt/agentd/installed.json (authoritative) */
	LAYOUT_ETC,              /* /etc/agentd */
	LAYOUT_RUNTIME_ENV,      /* /etc/agentd/runtime.env */
	LAYOUT_RUNTIME_ENV_LOCK, /* /etc/agentd/runtime.env.lock */
	LAYOUT_TEMPLATE,         /* /etc/agentd/runtime.env.template */
	LAYOUT_ENV_BUNDLE,       /* /etc/agentd/runtime.env.bundle */
	LAYOUT_TRUSTED,          /* /etc/agentd/trusted.pem */
	LAYOUT_VARLIB,           /* /var/lib/agentd */
	LAYOUT_INSTALLED_PUB,    /* /var/lib/agentd/installed.json (published copy) */
	LAYOUT_REQUEST,          /* /var/lib/agentd/remote-update.request */
	LAYOUT_STATUS,           /* /var/lib/agentd/remote-update.status */
	LAYOUT_CALIBRATION,      /* /var/lib/agentd/rate-calibration.json */
	LAYOUT_HOST_TUNING,      /* /var/lib/agentd-host-tuning */
	LAYOUT_RUN,              /* /run/agentd */
	LAYOUT_HEALTH,           /* /run/agentd/health.json */
	LAYOUT_SYSTEMD_DIR,      /* /etc/systemd/system */
	LAYOUT_UNIT_AGENTD,      /* /etc/systemd/system/agentd.service */
	LAYOUT_UNIT_UPDATE_SVC,  /* /etc/systemd/system/agentd-remote-update.service */
	LAYOUT_UNIT_UPDATE_PATH, /* /etc/systemd/system/agentd-remote-update.path */
	LAYOUT_DROPIN_DIR,       /* /etc/systemd/system/agentd.service.d */
	LAYOUT_DROPIN,           /* .../agentd.service.d/50-agent-install.conf */
	LAYOUT_SV_DIR,           /* /etc/sv */
	LAYOUT_SV_AGENTD,        /* /etc/sv/agentd */
	LAYOUT_SV_UPDATE,        /* /etc/sv/agentd-remote-update */
	LAYOUT_SYSCTL_DROPIN,    /* /etc/sysctl.d/99-anyscan-scanner.conf */
	LAYOUT__COUNT
};

enum layout_kind {
	LAYOUT_K_DIR,
	LAYOUT_K_FILE,
	LAYOUT_K_SYMLINK,
};

/* One row of §7.1.  owner/group are names ("root", "agentd"); owner NULL
 * means "the writer's user" (the status file); mode 0 means not fixed
 * (symlinks, files whose existing mode is kept). */
struct layout_entry {
	enum layout_id id;
	const char *host; /* host path, absolute */
	enum layout_kind kind;
	const char *owner;
	const char *group;
	mode_t mode;
};

/* The row for id (never NULL for a valid id). */
const struct layout_entry *layout_entry(enum layout_id id);

/* §0.4: the root from --root (opt, NULL if not given) or AGENTD_ROOT (env,
 * NULL or "" if unset), default "/".  DIR must be absolute and an existing
 * directory (followed through symlinks).  Trailing slashes are dropped
 * ("/tmp/r/" -> "/tmp/r"; "/" and "//" -> "/").  out gets the result.
 * e: "--root: DIR is not absolute" (errno EINVAL), "--root DIR: reason". */
int layout_root_resolve(const char *opt, const char *env, char *out, size_t out_size,
			struct errbuf *e);

struct layout;

/* Every host path of §7.1 under root (absolute; "/" for the real host).
 * NULL with e when root is empty, relative or longer than LAYOUT_ROOT_MAX
 * (it is not looked at on disk).  Caller frees with layout_free. */
struct layout *layout_new(const char *root, struct errbuf *e);
void layout_free(struct layout *l);

/* The root as given to layout_new after normalisation ("/" or "/x/y"). */
const char *layout_root(const struct layout *l);
/* True when the root is "/" (§0.4: the real host; service commands run). */
bool layout_is_host(const struct layout *l);
/* DIR + host path of id.  Never NULL for a valid id; valid until
 * layout_free. */
const char *layout_path(const struct layout *l, enum layout_id id);

/* DIR + host (host absolute, e.g. a path read from runtime.env, §0.4) into
 * out.  -1 with e when host is not absolute or the result does not fit. */
int layout_join(const struct layout *l, const char *host, char *out, size_t out_size,
		struct errbuf *e);

/* Create the directory of row id (a LAYOUT_K_DIR row) with its §7.1 mode,
 * creating missing parents with 0755 (so /etc or /var under a fresh root
 * get the usual mode).  An existing directory keeps its mode.  File system
 * I/O. */
int layout_mkdir(const struct layout *l, enum layout_id id, struct errbuf *e);

/* /opt/agentd/releases/<name> under the root (name: "<fp12>",
 * "<fp12>.partial", ".incoming", ...). */
int layout_release_path(const struct layout *l, const char *name, char *out, size_t out_size,
			struct errbuf *e);

/* The relative form of a symlink at host path `link` pointing at host path
 * `target` (both absolute host paths, without "." or ".." components):
 * "/etc/service/agentd" -> "/etc/sv/agentd" gives "../sv/agentd".  Pure;
 * -1 with e when not absolute or out is too small. */
int layout_relative_link(const char *link, const char *target, char *out, size_t out_size,
			 struct errbuf *e);

#endif
