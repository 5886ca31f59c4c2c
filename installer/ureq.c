#include "ureq.h"

#include "envfile.h"
#include "fsutil.h"
#include "hex.h"
#include "itime.h"
#include "num.h"
#include "ver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bad(struct errbuf *e, const char *key, const char *why)
{
	err_set(e, "request file: %s %s", key, why);
	errno = EINVAL;
	return -1;
}

static bool worker_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

static bool no_controls(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Optional key: copy into out when present and non-empty. */
static int opt_copy(const char *data, size_t len, const char *key, char *out, size_t size,
		    bool *present, struct errbuf *e)
{
	const char *v;
	size_t vl;

	out[0] = '\0';
	*present = false;
	if (!envfile_get(data, len, key, strlen(key), &v, &vl) || vl == 0)
		return 0;
	if (vl >= size)
		return bad(e, key, "is too long");
	if (!no_controls(v, vl))
		return bad(e, key, "contains control characters");
	memcpy(out, v, vl);
	out[vl] = '\0';
	*present = true;
	return 0;
}

int ureq_parse(const char *data, size_t len, struct ureq *out, struct errbuf *e)
{
	const char *v;
	size_t vl, i;
	bool present;

	memset(out, 0, sizeof(*out));
	if (len > UREQ_FILE_MAX) {
		err_set(e, "request file: larger than %d bytes", UREQ_FILE_MAX);
		errno = EFBIG;
		return -1;
	}
	if (!envfile_get(data, len, "REQUESTED_AT", 12, &v, &vl) || vl == 0)
		return bad(e, "REQUESTED_AT", "is missing");
	if (vl >= sizeof(out->requested_at) || itime_parse(v, vl, &out->requested) != 0)
		return bad(e, "REQUESTED_AT", "is not an RFC 3339 timestamp");
	memcpy(out->requested_at, v, vl);
	out->requested_at[vl] = '\0';

	if (!envfile_get(data, len, "WORKER_ID", 9, &v, &vl) || vl == 0)
		return bad(e, "WORKER_ID", "is missing");
	if (vl > UREQ_WORKER_ID_MAX)
		return bad(e, "WORKER_ID", "is longer than 128 bytes");
	for (i = 0; i < vl; i++)
		if (!worker_char(v[i]))
			return bad(e, "WORKER_ID", "has a byte outside [A-Za-z0-9._:-]");
	memcpy(out->worker_id, v, vl);
	out->worker_id[vl] = '\0';

	if (envfile_get(data, len, "SOURCE", 6, &v, &vl) && vl > 0) {
		if (vl == 7 && memcmp(v, "channel", 7) == 0)
			out->source = UREQ_SOURCE_CHANNEL;
		else if (vl == 8 && memcmp(v, "operator", 8) == 0)
			out->source = UREQ_SOURCE_OPERATOR;
		else
			return bad(e, "SOURCE", "is not channel or operator");
	}
	if (opt_copy(data, len, "CHANNEL_URL", out->channel_url, sizeof(out->channel_url), &present,
		     e) != 0 ||
	    opt_copy(data, len, "BUNDLE_URL", out->bundle_url, sizeof(out->bundle_url), &present,
		     e) != 0)
		return -1;
	if (opt_copy(data, len, "BUNDLE_SHA256", out->bundle_sha256, sizeof(out->bundle_sha256),
		     &present, e) != 0)
		return -1;
	if (present) {
		if (strlen(out->bundle_sha256) != 64 ||
		    !hex_valid(out->bundle_sha256, 64, HEX_ALLOW_UPPER))
			return bad(e, "BUNDLE_SHA256", "is not 64 hex digits");
		for (i = 0; i < 64; i++)
			if (out->bundle_sha256[i] >= 'A' && out->bundle_sha256[i] <= 'F')
				out->bundle_sha256[i] = (char)(out->bundle_sha256[i] - 'A' + 'a');
	}
	if (opt_copy(data, len, "VERSION", out->version, sizeof(out->version), &present, e) != 0)
		return -1;
	if (present && !ver_valid(out->version, strlen(out->version)))
		return bad(e, "VERSION", "is not a version (MAJOR.MINOR.PATCH[-PRE])");
	if (opt_copy(data, len, "FINGERPRINT", out->fingerprint, sizeof(out->fingerprint), &present,
		     e) != 0)
		return -1;
	if (present && (strlen(out->fingerprint) != 64 || !hex_valid(out->fingerprint, 64, 0)))
		return bad(e, "FINGERPRINT", "is not 64 lowercase hex digits");
	return 0;
}

static int put(char *out, size_t size, size_t *o, const char *key, const char *val,
	       struct errbuf *e)
{
	int n;

	if (val[0] == '\0')
		return 0;
	n = snprintf(out + *o, size - *o, "%s=%s\n", key, val);
	if (n < 0 || (size_t)n >= size - *o) {
		err_set(e, "request file: larger than %zu bytes", size);
		errno = ENOSPC;
		return -1;
	}
	*o += (size_t)n;
	return 0;
}

int ureq_format(const struct ureq *r, char *out, size_t size, size_t *len, struct errbuf *e)
{
	const char *src = r->source == UREQ_SOURCE_CHANNEL    ? "channel"
			  : r->source == UREQ_SOURCE_OPERATOR ? "operator"
							      : "";
	size_t o = 0;

	if (size == 0)
		return -1;
	out[0] = '\0';
	if (put(out, size, &o, "REQUESTED_AT", r->requested_at, e) != 0 ||
	    put(out, size, &o, "WORKER_ID", r->worker_id, e) != 0 ||
	    put(out, size, &o, "SOURCE", src, e) != 0 ||
	    put(out, size, &o, "CHANNEL_URL", r->channel_url, e) != 0 ||
	    put(out, size, &o, "VERSION", r->version, e) != 0 ||
	    put(out, size, &o, "FINGERPRINT", r->fingerprint, e) != 0 ||
	    put(out, size, &o, "BUNDLE_URL", r->bundle_url, e) != 0 ||
	    put(out, size, &o, "BUNDLE_SHA256", r->bundle_sha256, e) != 0)
		return -1;
	if (len != NULL)
		*len = o;
	return 0;
}

int ureq_read(const char *path, struct ureq *out, bool *present, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	*present = false;
	memset(out, 0, sizeof(*out));
	if (fsutil_read_file(path, UREQ_FILE_MAX, FSUTIL_R_NOFOLLOW, &data, &len, e) != 0) {
		if (errno == ENOENT) {
			err_clear(e);
			return 0;
		}
		if (errno == ELOOP)
			err_set(e, "request file %s is a symbolic link", path);
		return -1;
	}
	*present = true;
	rc = ureq_parse(data, len, out, e);
	free(data);
	return rc;
}

int ureq_write(const char *path, const struct ureq *r, struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = FSUTIL_W_HIDDEN_TEMP, .uid = (uid_t)-1, .gid = (gid_t)-1};
	char text[UREQ_FILE_MAX + 1];
	size_t len = 0;

	if (ureq_format(r, text, sizeof(text), &len, e) != 0)
		return -1;
	return fsutil_write_file(path, text, len, &wo, e);
}

int ureq_consume(const char *path, const char *requested_at, bool *consumed, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0, vl;
	const char *v;
	bool same;

	*consumed = false;
	if (fsutil_read_file(path, UREQ_FILE_MAX, FSUTIL_R_NOFOLLOW, &data, &len, e) != 0) {
		if (errno == ENOENT) {
			err_clear(e);
			*consumed = true;
			return 0;
		}
		if (errno != EFBIG && errno != ELOOP && errno != EINVAL)
			return -1;
		/* oversized, a link or not a file: nothing to compare; remove it */
		same = true;
	} else {
		same = envfile_get(data, len, "REQUESTED_AT", 12, &v, &vl) &&
		       vl == strlen(requested_at) && memcmp(v, requested_at, vl) == 0;
		free(data);
	}
	if (!same)
		return 0;
	if (unlink(path) != 0 && errno != ENOENT) {
		err_sys(e, errno, "remove %s", path);
		return -1;
	}
	*consumed = true;
	return fsutil_fsync_parent(path, e);
}

int ureq_attempts_get(const char *attempts_path, const char *requested_at, unsigned *count,
		      struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0, vl;
	const char *v;
	uint64_t n;

	*count = 0;
	if (fsutil_read_file(attempts_path, UREQ_FILE_MAX, FSUTIL_R_NOFOLLOW, &data, &len, e) !=
	    0) {
		if (errno == ENOENT || errno == EFBIG) {
			err_clear(e);
			return 0;
		}
		return -1;
	}
	if (envfile_get(data, len, "REQUESTED_AT", 12, &v, &vl) && vl == strlen(requested_at) &&
	    memcmp(v, requested_at, vl) == 0 && envfile_get(data, len, "ATTEMPTS", 8, &v, &vl) &&
	    num_parse_u64(v, vl, &n) == 0 && n < 1000000)
		*count = (unsigned)n;
	free(data);
	return 0;
}

int ureq_attempts_set(const char *attempts_path, const char *requested_at, unsigned count,
		      struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0600, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	char text[256];
	int n = snprintf(text, sizeof(text), "REQUESTED_AT=%s\nATTEMPTS=%u\n", requested_at, count);

	if (n < 0 || (size_t)n >= sizeof(text)) {
		err_set(e, "write %s: REQUESTED_AT too long", attempts_path);
		errno = EINVAL;
		return -1;
	}
	return fsutil_write_file(attempts_path, text, (size_t)n, &wo, e);
}

int ureq_attempts_clear(const char *attempts_path, struct errbuf *e)
{
	if (unlink(attempts_path) != 0 && errno != ENOENT) {
		err_sys(e, errno, "remove %s", attempts_path);
		return -1;
	}
	return 0;
}
