#include "owner.h"

#include "fsutil.h"
#include "num.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field k (0-based, ':'-separated) of the line [s, e). */
static bool field(const char *s, const char *e, int k, const char **f, size_t *fl)
{
	while (k-- > 0) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		if (c == NULL)
			return false;
		s = c + 1;
	}
	{
		const char *c = memchr(s, ':', (size_t)(e - s));
		*f = s;
		*fl = (size_t)((c != NULL ? c : e) - s);
	}
	return true;
}

/* Find the line whose first field is name; its numeric fields a (and b). */
static int lookup(const char *data, size_t len, const char *name, int a, int b, uint64_t *va,
		  uint64_t *vb)
{
	const char *p = data, *end = data + len;
	size_t nl = strlen(name);

	while (p < end) {
		const char *le = memchr(p, '\n', (size_t)(end - p));
		const char *f;
		size_t fl;
		if (le == NULL)
			le = end;
		if (field(p, le, 0, &f, &fl) && fl == nl && memcmp(f, name, nl) == 0) {
			if (!field(p, le, a, &f, &fl) || num_parse_u64(f, fl, va) != 0 ||
			    *va > 0x7fffffff)
				return -1;
			if (b >= 0 && (!field(p, le, b, &f, &fl) || num_parse_u64(f, fl, vb) != 0 ||
				       *vb > 0x7fffffff))
				return -1;
			return 0;
		}
		p = le + 1;
	}
	return -1;
}

int owner_parse_passwd(const char *data, size_t len, const char *name, uid_t *uid, gid_t *gid)
{
	uint64_t u, g;

	if (lookup(data, len, name, 2, 3, &u, &g) != 0)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int owner_parse_group(const char *data, size_t len, const char *name, gid_t *gid)
{
	uint64_t g, unused = 0;

	if (lookup(data, len, name, 2, -1, &g, &unused) != 0)
		return -1;
	*gid = (gid_t)g;
	return 0;
}

int owner_resolve(const struct layout *l, uid_t *uid, gid_t *gid)
{
	char path[PATH_MAX], *data = NULL;
	size_t len = 0;
	gid_t pg;
	int rc;

	if (layout_is_host(l)) {
		struct passwd *pw = getpwnam("agentd");
		struct group *gr = getgrnam("agentd");
		if (pw == NULL || gr == NULL)
			return -1;
		*uid = pw->pw_uid;
		*gid = gr->gr_gid;
		return 0;
	}
	if (layout_join(l, "/etc/passwd", path, sizeof(path), NULL) != 0 ||
	    fsutil_read_file(path, 4 * 1024 * 1024, FSUTIL_R_NOFOLLOW, &data, &len, NULL) != 0)
		return -1;
	rc = owner_parse_passwd(data, len, "agentd", uid, &pg);
	free(data);
	if (rc != 0)
		return -1;
	if (layout_join(l, "/etc/group", path, sizeof(path), NULL) != 0 ||
	    fsutil_read_file(path, 4 * 1024 * 1024, FSUTIL_R_NOFOLLOW, &data, &len, NULL) != 0)
		return -1;
	rc = owner_parse_group(data, len, "agentd", gid);
	free(data);
	return rc;
}
