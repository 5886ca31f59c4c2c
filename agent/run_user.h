#ifndef RUN_USER_H
#define RUN_USER_H
/*
 * `agentd run --user NAME` (the runit run script, spec
 * bundle-install-update.md §12.4): started as root, agentd becomes NAME
 * (its group and supplementary groups) and keeps CAP_NET_RAW and
 * CAP_NET_ADMIN -- permitted, effective, inheritable and ambient, so the
 * scanner it starts has them too -- and nothing else.  This is what
 * systemd's User= with AmbientCapabilities= does for agentd.service.
 */
#include "err.h"

/* Switch to user name.  Not root: succeeds only when the process already
 * runs as name (nothing to do).  0, or -1 with e ("unknown user agentd",
 * "setuid: reason", "not root: cannot become agentd"). */
int run_user_switch(const char *name, struct errbuf *e);

#endif
