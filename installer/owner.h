#ifndef OWNER_H
#define OWNER_H
/*
 * Ownership under a root (spec bundle-install-update.md §7.3): owners are
 * set only when the effective uid is 0 and `agentd` resolves -- through the
 * system user database when DIR is "/", by reading DIR/etc/passwd and
 * DIR/etc/group directly otherwise.  The parsers are pure.
 */
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The uid and primary gid of name in passwd text ("name:x:uid:gid:..."). */
int owner_parse_passwd(const char *data, size_t len, const char *name, uid_t *uid, gid_t *gid);
/* The gid of name in group text ("name:x:gid:members"). */
int owner_parse_group(const char *data, size_t len, const char *name, gid_t *gid);

/* Resolve user and group `agentd` for this root.  0 or -1 (not found). */
int owner_resolve(const struct layout *l, uid_t *uid, gid_t *gid);

#endif
