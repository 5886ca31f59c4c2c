#include "ustatus.h"

#include "envfile.h"
#include "fsutil.h"
#include "itime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {NULL,     "queued",      "running",        "success",
				    "failed", "rolled_back", "rollback_failed"};

const char *ustatus_name(enum ustatus_kind k)
{
	if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[k];
}

enum ustatus_kind ustatus_from_name(const char *s, size_t len)
{
	size_t i;

	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (enum ustatus_kind)i;
	return USTATUS_NONE;
}

void ustatus_sanitize(const char *msg, size_t len, char out[USTATUS_MESSAGE_MAX + 1])
{
	size_t i, n = len > USTATUS_MESSAGE_MAX ? USTATUS_MESSAGE_MAX : len;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c < 0x20 || c == 0x7f)
			out[i] = ' ';
		else if (c > 0x7e)
			out[i] = '?';
		else
			out[i] = (char)c;
	}
	out[n] = '\0';
}

int ustatus_format(enum ustatus_kind k, int64_t now, const char *msg, char *out, size_t size)
{
	char clean[USTATUS_MESSAGE_MAX + 1], ts[ITIME_LEN + 1];
	const char *name = ustatus_name(k);
	int n;

	if (name == NULL)
		return -1;
	ustatus_sanitize(msg != NULL ? msg : "", msg != NULL ? strlen(msg) : 0, clean);
	itime_format(now, ts);
	n = snprintf(out, size, "STATUS=%s\nUPDATED_AT=%s\nMESSAGE=%s\n", name, ts, clean);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

void ustatus_parse(const char *data, size_t len, struct ustatus *out)
{
	const char *v;
	size_t vl;

	memset(out, 0, sizeof(*out));
	if (envfile_get(data, len, "STATUS", 6, &v, &vl))
		out->status = ustatus_from_name(v, vl);
	if (envfile_get(data, len, "UPDATED_AT", 10, &v, &vl) && vl < sizeof(out->updated_at)) {
		memcpy(out->updated_at, v, vl);
		out->updated_at[vl] = '\0';
		out->has_time = itime_parse(v, vl, &out->updated) == 0;
	}
	if (envfile_get(data, len, "MESSAGE", 7, &v, &vl))
		ustatus_sanitize(v, vl, out->message);
}

int ustatus_write(const char *path, enum ustatus_kind k, int64_t now, const char *msg,
		  struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = FSUTIL_W_HIDDEN_TEMP, .uid = (uid_t)-1, .gid = (gid_t)-1};
	char text[USTATUS_MESSAGE_MAX + 128];
	int n = ustatus_format(k, now, msg, text, sizeof(text));

	if (n < 0) {
		err_set(e, "write %s: no status to write", path);
		errno = EINVAL;
		return -1;
	}
	return fsutil_write_file(path, text, (size_t)n, &wo, e);
}

int ustatus_read(const char *path, struct ustatus *out, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (fsutil_read_file(path, USTATUS_FILE_MAX, FSUTIL_R_NOFOLLOW, &data, &len, e) != 0) {
		if (errno == ENOENT) {
			err_clear(e);
			return 0;
		}
		return -1;
	}
	ustatus_parse(data, len, out);
	free(data);
	return 0;
}
