#include "installed.h"

#include "fsutil.h"
#include "hex.h"
#include "json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Copy string member key of obj into out (size out_size).  Absent or null
 * gives "" when optional; otherwise an error. */
static int get_str(const struct json_value *obj, const char *key, bool optional, char *out,
		   size_t out_size, struct errbuf *e)
{
	const struct json_value *v = json_object_get(obj, key);
	const char *s;
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_type(v) == JSON_NULL) {
		if (optional)
			return 0;
		err_set(e, "installed.json: missing \"%s\"", key);
		return -1;
	}
	s = json_get_string(v, &n);
	if (s == NULL) {
		err_set(e, "installed.json: \"%s\" is not a string", key);
		return -1;
	}
	if (n != strlen(s)) {
		err_set(e, "installed.json: \"%s\" contains a NUL byte", key);
		return -1;
	}
	if (n >= out_size) {
		err_set(e, "installed.json: \"%s\" is longer than %zu bytes", key, out_size - 1);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

static int check_fp(const char *fp, const char *what, bool optional, struct errbuf *e)
{
	if (optional && fp[0] == '\0')
		return 0;
	if (strlen(fp) != 64 || !hex_valid(fp, 64, 0)) {
		err_set(e, "installed.json: %s is not 64 lowercase hex digits", what);
		return -1;
	}
	return 0;
}

static int parse_ref(const struct json_value *v, struct installed_ref *r, struct errbuf *e)
{
	if (json_type(v) != JSON_OBJECT) {
		err_set(e, "installed.json: \"previous\" is not an object or null");
		return -1;
	}
	if (get_str(v, "version", true, r->version, sizeof(r->version), e) != 0 ||
	    get_str(v, "bundle_name", true, r->bundle_name, sizeof(r->bundle_name), e) != 0 ||
	    get_str(v, "fingerprint", false, r->fingerprint, sizeof(r->fingerprint), e) != 0)
		return -1;
	return check_fp(r->fingerprint, "previous.fingerprint", false, e);
}

int installed_parse(const char *data, size_t len, struct installed *out, struct errbuf *e)
{
	struct json_value *root;
	const struct json_value *v;
	struct errbuf je;
	int64_t format;
	size_t i, n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_parse(data, len, INSTALLED_FILE_MAX, 0, &je);
	if (root == NULL) {
		err_set(e, "installed.json: %s", je.msg);
		errno = EINVAL;
		return -1;
	}
	if (json_type(root) != JSON_OBJECT) {
		err_set(e, "installed.json: not a JSON object");
		goto out;
	}
	if (json_get_int64(json_object_get(root, "format"), &format) != 0 || format != 1) {
		err_set(e, "installed.json: \"format\" is not 1");
		goto out;
	}
	if (get_str(root, "version", false, out->version, sizeof(out->version), e) != 0 ||
	    get_str(root, "bundle_name", false, out->bundle_name, sizeof(out->bundle_name), e) !=
		    0 ||
	    get_str(root, "fingerprint", false, out->fingerprint, sizeof(out->fingerprint), e) !=
		    0 ||
	    get_str(root, "platform", true, out->platform, sizeof(out->platform), e) != 0 ||
	    get_str(root, "installed_at", true, out->installed_at, sizeof(out->installed_at), e) !=
		    0 ||
	    get_str(root, "signature", true, out->signature, sizeof(out->signature), e) != 0 ||
	    get_str(root, "key_id", true, out->key_id, sizeof(out->key_id), e) != 0 ||
	    get_str(root, "service", false, out->service, sizeof(out->service), e) != 0)
		goto out;
	if (check_fp(out->fingerprint, "fingerprint", false, e) != 0)
		goto out;
	v = json_object_get(root, "previous");
	if (v != NULL && json_type(v) != JSON_NULL) {
		if (parse_ref(v, &out->previous, e) != 0)
			goto out;
		out->has_previous = true;
	}
	v = json_object_get(root, "history");
	if (v != NULL && json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_ARRAY) {
			err_set(e, "installed.json: \"history\" is not an array");
			goto out;
		}
		n = json_array_size(v);
		for (i = 0; i < n && out->nhistory < INSTALLED_HISTORY_MAX; i++) {
			size_t sl;
			const char *s = json_get_string(json_array_get(v, i), &sl);
			if (s == NULL || sl != 12 || !hex_valid(s, 12, 0)) {
				err_set(e, "installed.json: history entry %zu is not an fp12", i);
				goto out;
			}
			memcpy(out->history[out->nhistory++], s, 13);
		}
	}
	v = json_object_get(root, "failed");
	if (v != NULL && json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_ARRAY) {
			err_set(e, "installed.json: \"failed\" is not an array");
			goto out;
		}
		n = json_array_size(v);
		for (i = 0; i < n && out->nfailed < INSTALLED_FAILED_MAX; i++) {
			const struct json_value *f = json_array_get(v, i);
			struct installed_failed *d = &out->failed[out->nfailed];
			if (json_type(f) != JSON_OBJECT) {
				err_set(e, "installed.json: failed entry %zu is not an object", i);
				goto out;
			}
			if (get_str(f, "version", true, d->version, sizeof(d->version), e) != 0 ||
			    get_str(f, "fingerprint", false, d->fingerprint, sizeof(d->fingerprint),
				    e) != 0 ||
			    get_str(f, "at", true, d->at, sizeof(d->at), e) != 0 ||
			    get_str(f, "reason", true, d->reason, sizeof(d->reason), e) != 0 ||
			    check_fp(d->fingerprint, "failed fingerprint", false, e) != 0)
				goto out;
			out->nfailed++;
		}
	}
	rc = 0;
out:
	json_free(root);
	if (rc != 0)
		errno = EINVAL;
	return rc;
}

static struct json_value *str_or_null(const char *s)
{
	return s[0] == '\0' ? json_new_null() : json_new_string(s);
}

int installed_format(const struct installed *in, struct buf *out, struct errbuf *e)
{
	struct json_value *o = json_new_object(), *prev = NULL, *hist, *failed;
	char *text = NULL;
	size_t i, len = 0;
	int rc = 0;

	rc |= json_object_set_int(o, "format", 1);
	rc |= json_object_set_string(o, "version", in->version);
	rc |= json_object_set_string(o, "bundle_name", in->bundle_name);
	rc |= json_object_set_string(o, "fingerprint", in->fingerprint);
	rc |= json_object_set_string(o, "platform", in->platform);
	rc |= json_object_set_string(o, "installed_at", in->installed_at);
	rc |= json_object_set_string(o, "signature", in->signature);
	rc |= json_object_set(o, "key_id", str_or_null(in->key_id));
	rc |= json_object_set_string(o, "service", in->service);
	if (in->has_previous) {
		prev = json_new_object();
		rc |= json_object_set_string(prev, "version", in->previous.version);
		rc |= json_object_set_string(prev, "bundle_name", in->previous.bundle_name);
		rc |= json_object_set_string(prev, "fingerprint", in->previous.fingerprint);
		rc |= json_object_set(o, "previous", prev);
	} else {
		rc |= json_object_set_null(o, "previous");
	}
	hist = json_new_array();
	for (i = 0; i < in->nhistory && i < INSTALLED_HISTORY_MAX; i++)
		rc |= json_array_append(hist, json_new_string(in->history[i]));
	rc |= json_object_set(o, "history", hist);
	failed = json_new_array();
	for (i = 0; i < in->nfailed && i < INSTALLED_FAILED_MAX; i++) {
		const struct installed_failed *f = &in->failed[i];
		struct json_value *fo = json_new_object();
		rc |= json_object_set_string(fo, "version", f->version);
		rc |= json_object_set_string(fo, "fingerprint", f->fingerprint);
		rc |= json_object_set_string(fo, "at", f->at);
		rc |= json_object_set_string(fo, "reason", f->reason);
		rc |= json_array_append(failed, fo);
	}
	rc |= json_object_set(o, "failed", failed);
	if (o == NULL || rc != 0) {
		err_set(e, "installed.json: out of memory");
		errno = ENOMEM;
		rc = -1;
		goto out;
	}
	text = json_write_alloc(o,
				JSON_WRITE_INSERTION_ORDER | JSON_WRITE_PRETTY | JSON_WRITE_NEWLINE,
				INSTALLED_FILE_MAX, &len, e);
	if (text == NULL) {
		rc = -1;
		goto out;
	}
	buf_reset(out);
	rc = buf_append(out, text, len, e);
out:
	free(text);
	json_free(o);
	return rc;
}

int installed_read(const struct layout *l, struct installed *out, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fsutil_read_file(layout_path(l, LAYOUT_INSTALLED), INSTALLED_FILE_MAX,
			     FSUTIL_R_NOFOLLOW, &data, &len, e) != 0)
		return -1;
	rc = installed_parse(data, len, out, e);
	free(data);
	return rc;
}

int installed_write(const struct layout *l, const struct installed *in, struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0644, .flags = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct buf *b = buf_new(INSTALLED_FILE_MAX);
	int rc = -1;

	if (b == NULL) {
		err_sys(e, errno, "installed.json");
		return -1;
	}
	if (installed_format(in, b, e) != 0)
		goto out;
	if (fsutil_write_file(layout_path(l, LAYOUT_INSTALLED), buf_data(b), buf_len(b), &wo, e) !=
	    0)
		goto out;
	if (layout_mkdir(l, LAYOUT_VARLIB, e) != 0)
		goto out;
	if (fsutil_write_file(layout_path(l, LAYOUT_INSTALLED_PUB), buf_data(b), buf_len(b), &wo,
			      e) != 0)
		goto out;
	rc = 0;
out:
	buf_free(b);
	return rc;
}

static void copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void installed_history_push(struct installed *in, const char *fp12)
{
	char keep[INSTALLED_HISTORY_MAX][13];
	size_t i, n = 0;

	for (i = 0; i < in->nhistory && i < INSTALLED_HISTORY_MAX; i++)
		if (strcmp(in->history[i], fp12) != 0)
			memcpy(keep[n++], in->history[i], 13);
	copy(in->history[0], sizeof(in->history[0]), fp12);
	if (n > INSTALLED_HISTORY_MAX - 1)
		n = INSTALLED_HISTORY_MAX - 1;
	for (i = 0; i < n; i++)
		memcpy(in->history[i + 1], keep[i], 13);
	in->nhistory = n + 1;
}

void installed_failed_add(struct installed *in, const char *version, const char *fingerprint,
			  const char *at, const char *reason)
{
	size_t n = in->nfailed;

	if (n > INSTALLED_FAILED_MAX - 1)
		n = INSTALLED_FAILED_MAX - 1;
	memmove(&in->failed[1], &in->failed[0], n * sizeof(in->failed[0]));
	copy(in->failed[0].version, sizeof(in->failed[0].version), version);
	copy(in->failed[0].fingerprint, sizeof(in->failed[0].fingerprint), fingerprint);
	copy(in->failed[0].at, sizeof(in->failed[0].at), at);
	copy(in->failed[0].reason, sizeof(in->failed[0].reason), reason);
	in->nfailed = n + 1;
}

const struct installed_failed *installed_failed_find(const struct installed *in,
						     const char *fingerprint)
{
	size_t i;

	for (i = 0; i < in->nfailed; i++)
		if (strcmp(in->failed[i].fingerprint, fingerprint) == 0)
			return &in->failed[i];
	return NULL;
}
