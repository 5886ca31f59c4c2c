/*
 * Dropping root for `agentd run --user NAME` (see run_user.h).
 */
#include "run_user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* linux/capability.h is not among musl's headers: the ABI values. */
#define RU_CAP_VERSION_3 0x20080522u
#define RU_CAP_NET_ADMIN 12
#define RU_CAP_NET_RAW 13

struct ru_cap_header {
	uint32_t version;
	int pid;
};

struct ru_cap_data {
	uint32_t effective, permitted, inheritable;
};

int run_user_switch(const char *name, struct errbuf *e)
{
	const uint32_t keep = (1u << RU_CAP_NET_ADMIN) | (1u << RU_CAP_NET_RAW);
	struct ru_cap_header h = {RU_CAP_VERSION_3, 0};
	struct ru_cap_data d[2] = {{keep, keep, keep}, {0, 0, 0}};
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL) {
		if (errno != 0)
			err_sys(e, errno, "look up user %s", name);
		else
			err_set(e, "unknown user %s", name);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		err_set(e, "not root: cannot become %s", name);
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
		err_sys(e, errno, "prctl(PR_SET_KEEPCAPS)");
		return -1;
	}
	if (initgroups(name, pw->pw_gid) != 0) {
		err_sys(e, errno, "initgroups %s", name);
		return -1;
	}
	if (setgid(pw->pw_gid) != 0) {
		err_sys(e, errno, "setgid %lu", (unsigned long)pw->pw_gid);
		return -1;
	}
	if (setuid(pw->pw_uid) != 0) {
		err_sys(e, errno, "setuid %lu", (unsigned long)pw->pw_uid);
		return -1;
	}
	/* after setuid the effective set is empty; the permitted set was kept */
	if (syscall(SYS_capset, &h, d) != 0) {
		err_sys(e, errno, "capset");
		return -1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, RU_CAP_NET_RAW, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, RU_CAP_NET_ADMIN, 0, 0) != 0) {
		err_sys(e, errno, "prctl(PR_CAP_AMBIENT_RAISE)");
		return -1;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}
