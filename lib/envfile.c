#include "envfile.h"

#include "bounds.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- lines ----------------------------------------------------------------- */

struct line {
	const char *p;
	size_t len; /* without the LF */
	bool lf;    /* ended by LF */
};

/* Next line at *pos of data[0..len); false at the end. */
static bool next_line(const char *data, size_t len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= len)
		return false;
	l->p = data + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	if (nl != NULL) {
		l->len = (size_t)(nl - l->p);
		l->lf = true;
		*pos += l->len + 1;
	} else {
		l->len = len - *pos;
		l->lf = false;
		*pos = len;
	}
	return true;
}

static bool is_key_line(const struct line *l, const char *key, size_t key_len)
{
	return l->len > key_len && memcmp(l->p, key, key_len) == 0 && l->p[key_len] == '=';
}

static bool key_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool key_char(unsigned char c)
{
	return key_start(c) || (c >= '0' && c <= '9');
}

/* ---- lookup ---------------------------------------------------------------- */

bool envfile_get(const char *data, size_t len, const char *key, size_t key_len, const char **val,
		 size_t *val_len)
{
	struct line l;
	size_t pos = 0;

	while (next_line(data, len, &pos, &l)) {
		if (is_key_line(&l, key, key_len)) {
			*val = l.p + key_len + 1;
			*val_len = l.len - key_len - 1;
			return true;
		}
	}
	return false;
}

bool envfile_is_absent(const char *data, size_t len, const char *key, size_t key_len)
{
	const char *v;
	size_t vl;

	return !envfile_get(data, len, key, key_len, &v, &vl) || vl == 0;
}

int envfile_each(const char *data, size_t len,
		 int (*fn)(void *ctx, const char *key, size_t key_len, const char *val,
			   size_t val_len),
		 void *ctx)
{
	struct line l;
	size_t pos = 0, k;
	int r;

	while (next_line(data, len, &pos, &l)) {
		if (l.len == 0 || !key_start((unsigned char)l.p[0]))
			continue;
		for (k = 1; k < l.len && key_char((unsigned char)l.p[k]); k++)
			;
		if (k >= l.len || l.p[k] != '=')
			continue;
		r = fn(ctx, l.p, k, l.p + k + 1, l.len - k - 1);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- validation ------------------------------------------------------------ */

bool envfile_key_valid(const char *key, size_t key_len)
{
	size_t i;

	if (key_len == 0 || key_len > BOUNDS_ENV_KEY_MAX || !key_start((unsigned char)key[0]))
		return false;
	for (i = 1; i < key_len; i++)
		if (!key_char((unsigned char)key[i]))
			return false;
	return true;
}

int envfile_check_key(const char *key, size_t key_len, struct errbuf *e)
{
	size_t i;

	if (key_len == 0) {
		err_set(e, "empty key");
		return -1;
	}
	if (key_len > BOUNDS_ENV_KEY_MAX) {
		err_set(e, "key '%.*s...' is longer than %d bytes", 32, key, BOUNDS_ENV_KEY_MAX);
		return -1;
	}
	for (i = 0; i < key_len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i == 0 ? !key_start(c) : !key_char(c)) {
			if (c == '\0')
				err_set(e, "invalid key '%.*s': contains a NUL byte", (int)i, key);
			else
				err_set(e,
					"invalid key '%.*s': keys are [A-Za-z_][A-Za-z0-9_]* "
					"(byte %zu is not allowed)",
					(int)key_len, key, i + 1);
			return -1;
		}
	}
	return 0;
}

int envfile_check_value(const char *key, const char *val, size_t val_len, struct errbuf *e)
{
	if (memchr(val, '\n', val_len) != NULL) {
		err_set(e, "value for %s contains a newline", key);
		return -1;
	}
	if (memchr(val, '\r', val_len) != NULL) {
		err_set(e, "value for %s contains a carriage return", key);
		return -1;
	}
	if (memchr(val, '\0', val_len) != NULL) {
		err_set(e, "value for %s contains a NUL byte", key);
		return -1;
	}
	if (val_len > BOUNDS_ENV_VALUE_MAX) {
		err_set(e, "value for %s is longer than %d bytes", key, BOUNDS_ENV_VALUE_MAX);
		return -1;
	}
	return 0;
}

bool envfile_value_warns(const char *val, size_t val_len)
{
	size_t i;

	if (val_len == 0)
		return false;
	if (val[0] == ' ' || val[0] == '\t' || val[val_len - 1] == ' ' || val[val_len - 1] == '\t')
		return true;
	for (i = 0; i < val_len; i++)
		if (strchr("\"'\\$`", val[i]) != NULL && val[i] != '\0')
			return true;
	return false;
}

int envfile_check_edits(const struct envfile_edit *edits, size_t n, struct errbuf *e)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *key = edits[i].key;

		if (envfile_check_key(key, strlen(key), e) < 0)
			return -1;
		if (edits[i].op == ENVFILE_UPSERT) {
			if (edits[i].value == NULL) {
				err_set(e, "no value for %s", key);
				return -1;
			}
			if (envfile_check_value(key, edits[i].value, strlen(edits[i].value), e) < 0)
				return -1;
		} else if (edits[i].op != ENVFILE_REMOVE) {
			err_set(e, "unknown edit for %s", key);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(edits[j].key, key) == 0) {
				err_set(e, "%s given more than once", key);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- editing --------------------------------------------------------------- */

void envfile_outcomes_free(struct envfile_outcome *oc, size_t n)
{
	size_t i;

	if (oc == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(oc[i].old_value);
		oc[i].old_value = NULL;
		oc[i].old_len = 0;
		oc[i].kind = ENVFILE_UNCHANGED;
	}
}

/* Decide what an edit does to in (kind) and copy the old value. */
static int classify(const char *in, size_t in_len, const struct envfile_edit *ed,
		    struct envfile_outcome *o, struct errbuf *e)
{
	size_t key_len = strlen(ed->key), val_len, pos = 0;
	const char *old = NULL;
	size_t old_len = 0;
	bool found = false, differs = false;
	struct line l;

	val_len = ed->op == ENVFILE_UPSERT ? strlen(ed->value) : 0;
	while (next_line(in, in_len, &pos, &l)) {
		if (!is_key_line(&l, ed->key, key_len))
			continue;
		if (!found) {
			old = l.p + key_len + 1;
			old_len = l.len - key_len - 1;
			found = true;
		}
		if (ed->op == ENVFILE_UPSERT &&
		    (l.len - key_len - 1 != val_len ||
		     memcmp(l.p + key_len + 1, ed->value, val_len) != 0))
			differs = true;
	}
	o->kind = ENVFILE_UNCHANGED;
	o->old_value = NULL;
	o->old_len = 0;
	if (found) {
		o->old_value = malloc(old_len + 1);
		if (o->old_value == NULL) {
			err_set(e, "out of memory");
			errno = ENOMEM;
			return -1;
		}
		memcpy(o->old_value, old, old_len);
		o->old_value[old_len] = '\0';
		o->old_len = old_len;
	}
	if (ed->op == ENVFILE_REMOVE) {
		if (found)
			o->kind = ENVFILE_REMOVED;
		return 0;
	}
	if ((ed->flags & ENVFILE_E_IF_ABSENT) && found && old_len > 0)
		return 0;
	if (!found)
		o->kind = ENVFILE_ADDED;
	else if (differs)
		o->kind = ENVFILE_CHANGED;
	return 0;
}

/* The edit (changing something) whose KEY line l is, or NULL. */
static const struct envfile_edit *line_edit(const struct line *l, const struct envfile_edit *edits,
					    const struct envfile_outcome *oc, size_t n)
{
	size_t i;

	if (l->len == 0 || !key_start((unsigned char)l->p[0]))
		return NULL;
	for (i = 0; i < n; i++) {
		if (oc[i].kind != ENVFILE_CHANGED && oc[i].kind != ENVFILE_REMOVED)
			continue;
		if (is_key_line(l, edits[i].key, strlen(edits[i].key)))
			return &edits[i];
	}
	return NULL;
}

static int emit_pair(struct buf *out, const char *key, const char *value, struct errbuf *e)
{
	if (buf_append_str(out, key, e) < 0 || buf_append_byte(out, '=', e) < 0 ||
	    buf_append_str(out, value, e) < 0 || buf_append_byte(out, '\n', e) < 0)
		return -1;
	return 0;
}

int envfile_apply(const char *in, size_t in_len, bool exists, const struct envfile_edit *edits,
		  size_t n, const char *append_comment, struct buf *out, struct envfile_outcome *oc,
		  bool *changed, struct errbuf *e)
{
	struct envfile_outcome *own = NULL, *o;
	bool any = false, commented = false;
	struct line l;
	size_t i, pos = 0;
	int r = -1;

	if (changed != NULL)
		*changed = false;
	buf_reset(out);
	if (oc != NULL)
		for (i = 0; i < n; i++)
			oc[i] = (struct envfile_outcome){ENVFILE_UNCHANGED, NULL, 0};
	if (envfile_check_edits(edits, n, e) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (append_comment != NULL && strchr(append_comment, '\n') != NULL) {
		err_set(e, "comment line contains a newline");
		errno = EINVAL;
		return -1;
	}
	if (!exists) {
		in = "";
		in_len = 0;
	}
	o = oc;
	if (o == NULL) {
		own = calloc(n > 0 ? n : 1, sizeof(*own));
		if (own == NULL) {
			err_set(e, "out of memory");
			errno = ENOMEM;
			return -1;
		}
		o = own;
	}
	for (i = 0; i < n; i++) {
		if (classify(in, in_len, &edits[i], &o[i], e) < 0)
			goto out;
		if (o[i].kind != ENVFILE_UNCHANGED)
			any = true;
	}
	if (!any) {
		if (buf_append(out, in, in_len, e) < 0)
			goto out;
		r = 0;
		goto out;
	}
	while (next_line(in, in_len, &pos, &l)) {
		const struct envfile_edit *ed = line_edit(&l, edits, o, n);

		if (ed != NULL) {
			if (ed->op == ENVFILE_UPSERT && emit_pair(out, ed->key, ed->value, e) < 0)
				goto out;
			continue;
		}
		/* the one normalisation: a final line without LF gets one */
		if (buf_append(out, l.p, l.len, e) < 0 || buf_append_byte(out, '\n', e) < 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (o[i].kind != ENVFILE_ADDED)
			continue;
		if (append_comment != NULL && (edits[i].flags & ENVFILE_E_COMMENT) && !commented) {
			if (buf_append_str(out, append_comment, e) < 0 ||
			    buf_append_byte(out, '\n', e) < 0)
				goto out;
			commented = true;
		}
		if (emit_pair(out, edits[i].key, edits[i].value, e) < 0)
			goto out;
	}
	if (changed != NULL)
		*changed = true;
	r = 0;
out:
	if (own != NULL) {
		int saved = errno;

		envfile_outcomes_free(own, n);
		free(own);
		errno = saved;
	}
	return r;
}

/* ---- summary --------------------------------------------------------------- */

static bool secret_key(const char *key)
{
	static const char *const words[] = {"PASSWORD", "SECRET", "TOKEN"};
	size_t i, k, kl = strlen(key);

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);

		for (k = 0; k + wl <= kl; k++)
			if (strncasecmp(key + k, words[i], wl) == 0)
				return true;
	}
	return false;
}

/* Append bytes for display: control bytes as \xNN so a summary line stays
 * one line. */
static int append_shown(struct buf *out, const char *p, size_t len, struct errbuf *e)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f) {
			if (buf_printf(out, e, "\\x%02x", c) < 0)
				return -1;
		} else if (buf_append_byte(out, c, e) < 0) {
			return -1;
		}
	}
	return 0;
}

int envfile_mask_value(const char *key, const char *val, size_t val_len, struct buf *out,
		       struct errbuf *e)
{
	size_t i = 0, start = 0;

	if (secret_key(key))
		return buf_append_str(out, "***", e);
	/* every "scheme://user:pass@host": the user-info becomes *** */
	while (i + 3 <= val_len) {
		size_t a, end, at;

		if (memcmp(val + i, "://", 3) != 0) {
			i++;
			continue;
		}
		a = i + 3;
		for (end = a;
		     end < val_len && val[end] != '\0' && strchr("/?#, ", val[end]) == NULL; end++)
			;
		at = end;
		while (at > a && val[at - 1] != '@')
			at--;
		if (at > a) {
			if (append_shown(out, val + start, a - start, e) < 0 ||
			    buf_append_str(out, "***", e) < 0)
				return -1;
			start = at - 1; /* keep the '@' */
		}
		i = end;
	}
	return append_shown(out, val + start, val_len - start, e);
}

int envfile_summary(const struct envfile_edit *edits, const struct envfile_outcome *oc, size_t n,
		    bool dry_run, struct buf *out, struct errbuf *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct envfile_edit *ed = &edits[i];
		const char *verb;
		int r = 0;

		switch (oc[i].kind) {
		case ENVFILE_ADDED:
			verb = dry_run ? "would add " : "added   ";
			break;
		case ENVFILE_CHANGED:
			verb = dry_run ? "would change " : "changed ";
			break;
		case ENVFILE_REMOVED:
			verb = dry_run ? "would remove " : "removed ";
			break;
		default:
			continue;
		}
		if (buf_append_str(out, verb, e) < 0 || buf_append_str(out, ed->key, e) < 0)
			return -1;
		if (oc[i].kind != ENVFILE_REMOVED) {
			r = buf_append_byte(out, '=', e);
			if (r == 0)
				r = envfile_mask_value(ed->key, ed->value, strlen(ed->value), out,
						       e);
		}
		if (r == 0 && oc[i].kind == ENVFILE_CHANGED) {
			r = buf_append_str(out, " (was ", e);
			if (r == 0)
				r = envfile_mask_value(ed->key, oc[i].old_value, oc[i].old_len, out,
						       e);
			if (r == 0)
				r = buf_append_byte(out, ')', e);
		}
		if (r < 0 || buf_append_byte(out, '\n', e) < 0)
			return -1;
	}
	return 0;
}

/* ---- locked read-modify-write ---------------------------------------------- */

void envfile_update_opts_init(struct envfile_update_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_timeout_ms = 30000;
	o->new_mode = 0640;
	o->new_uid = (uid_t)-1;
	o->new_gid = (gid_t)-1;
}

int envfile_update(const char *path, const struct envfile_edit *edits, size_t n,
		   const struct envfile_update_opts *o, struct envfile_outcome *oc, bool *changed,
		   struct errbuf *e)
{
	struct envfile_update_opts defaults;
	struct fsutil_write_opts wo;
	struct buf *out = NULL;
	char lock_path[4096];
	char *data = NULL;
	size_t len = 0;
	bool exists = true, did = false;
	int lock_fd = -1, r = -1, saved, k;

	if (changed != NULL)
		*changed = false;
	if (oc != NULL)
		for (k = 0; (size_t)k < n; k++)
			oc[k] = (struct envfile_outcome){ENVFILE_UNCHANGED, NULL, 0};
	if (o == NULL) {
		envfile_update_opts_init(&defaults);
		o = &defaults;
	}
	if (envfile_check_edits(edits, n, e) < 0) {
		errno = EINVAL;
		return -1;
	}
	k = snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	if (k < 0 || (size_t)k >= sizeof(lock_path)) {
		err_set(e, "%s: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(o->flags & ENVFILE_U_DRY_RUN) &&
	    fsutil_lock(lock_path, 0600, o->lock_timeout_ms, &lock_fd, e) < 0) {
		if (errno == ETIMEDOUT)
			err_set(e, "%s is locked by another writer", path);
		return -1;
	}
	if (fsutil_read_file(path, BOUNDS_ENVFILE_MAX, 0, &data, &len, e) < 0) {
		if (errno != ENOENT) {
			if (errno == EFBIG)
				err_set(e, "%s is larger than %d bytes", path, BOUNDS_ENVFILE_MAX);
			goto out;
		}
		exists = false;
		if (o->initial != NULL) {
			data = malloc(o->initial_len + 1);
			if (data == NULL) {
				err_set(e, "out of memory");
				errno = ENOMEM;
				goto out;
			}
			memcpy(data, o->initial, o->initial_len);
			len = o->initial_len;
		}
	}
	out = buf_new(BOUNDS_ENVFILE_MAX);
	if (out == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	if (envfile_apply(data, len, exists || data != NULL, edits, n, o->append_comment, out, oc,
			  &did, e) < 0) {
		if (errno == E2BIG) {
			err_set(e, "%s would be larger than %d bytes", path, BOUNDS_ENVFILE_MAX);
			errno = EFBIG;
		}
		goto out;
	}
	if (!exists && o->initial != NULL)
		did = true;
	if (did && !(o->flags & ENVFILE_U_DRY_RUN)) {
		wo.mode = o->new_mode;
		wo.flags =
			FSUTIL_W_HIDDEN_TEMP | FSUTIL_W_PRESERVE | FSUTIL_W_FOLLOW | FSUTIL_W_OWNER;
		wo.uid = o->new_uid;
		wo.gid = o->new_gid;
		if (fsutil_write_file(path, buf_data(out), buf_len(out), &wo, e) < 0)
			goto out;
	}
	if (changed != NULL)
		*changed = did;
	r = 0;
out:
	saved = errno;
	buf_free(out);
	free(data);
	fsutil_unlock(lock_fd);
	errno = saved;
	return r;
}
