#include "journal.h"

#include "fsutil.h"
#include "hex.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const op_names[] = {"install", "update", "rollback"};
static const char *const phase_names[] = {"fetching", "unpacked",  "switching",
					  "switched", "restarted", "reverting"};

const char *journal_op_name(enum journal_op op)
{
	return (unsigned)op < 3 ? op_names[op] : "?";
}

const char *journal_phase_name(enum journal_phase p)
{
	return (unsigned)p < 6 ? phase_names[p] : "?";
}

int journal_op_parse(const char *s, enum journal_op *out)
{
	int i;
	for (i = 0; i < 3; i++)
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum journal_op)i;
			return 0;
		}
	return -1;
}

int journal_phase_parse(const char *s, enum journal_phase *out)
{
	int i;
	for (i = 0; i < 6; i++)
		if (strcmp(s, phase_names[i]) == 0) {
			*out = (enum journal_phase)i;
			return 0;
		}
	return -1;
}

static int get_str(const struct json_value *o, const char *key, bool optional, char *out,
		   size_t size, struct errbuf *e)
{
	const struct json_value *v = json_object_get(o, key);
	const char *s;
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_type(v) == JSON_NULL) {
		if (optional)
			return 0;
		err_set(e, "journal: missing \"%s\"", key);
		return -1;
	}
	s = json_get_string(v, &n);
	if (s == NULL || n != strlen(s) || n >= size) {
		err_set(e, "journal: bad \"%s\"", key);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

static bool is_fp(const char *s)
{
	return strlen(s) == 64 && hex_valid(s, 64, 0);
}

int journal_parse(const char *data, size_t len, struct journal *out, struct errbuf *e)
{
	struct json_value *root;
	struct errbuf je;
	char name[16];
	int64_t format;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_parse(data, len, JOURNAL_FILE_MAX, 0, &je);
	if (root == NULL) {
		err_set(e, "journal: %s", je.msg);
		errno = EINVAL;
		return -1;
	}
	if (json_get_int64(json_object_get(root, "format"), &format) != 0 || format != 1) {
		err_set(e, "journal: \"format\" is not 1");
		goto out;
	}
	if (get_str(root, "op", false, name, sizeof(name), e) != 0)
		goto out;
	if (journal_op_parse(name, &out->op) != 0) {
		err_set(e, "journal: unknown op");
		goto out;
	}
	if (get_str(root, "phase", false, name, sizeof(name), e) != 0)
		goto out;
	if (journal_phase_parse(name, &out->phase) != 0) {
		err_set(e, "journal: unknown phase");
		goto out;
	}
	if (get_str(root, "from", true, out->from, sizeof(out->from), e) != 0 ||
	    get_str(root, "to", false, out->to, sizeof(out->to), e) != 0 ||
	    get_str(root, "requested_at", true, out->requested_at, sizeof(out->requested_at), e) !=
		    0 ||
	    get_str(root, "started_at", true, out->started_at, sizeof(out->started_at), e) != 0 ||
	    get_str(root, "restart_at", true, out->restart_at, sizeof(out->restart_at), e) != 0)
		goto out;
	if (!is_fp(out->to) || (out->from[0] != '\0' && !is_fp(out->from))) {
		err_set(e, "journal: \"from\"/\"to\" are not fingerprints");
		goto out;
	}
	rc = 0;
out:
	json_free(root);
	if (rc != 0)
		errno = EINVAL;
	return rc;
}

int journal_format(const struct journal *j, struct buf *out, struct errbuf *e)
{
	struct json_value *o = json_new_object();
	char *text = NULL;
	size_t len = 0;
	int rc = 0;

	rc |= json_object_set_int(o, "format", 1);
	rc |= json_object_set_string(o, "op", journal_op_name(j->op));
	rc |= json_object_set_string(o, "phase", journal_phase_name(j->phase));
	if (j->from[0] != '\0')
		rc |= json_object_set_string(o, "from", j->from);
	else
		rc |= json_object_set_null(o, "from");
	rc |= json_object_set_string(o, "to", j->to);
	if (j->requested_at[0] != '\0')
		rc |= json_object_set_string(o, "requested_at", j->requested_at);
	rc |= json_object_set_string(o, "started_at", j->started_at);
	if (j->restart_at[0] != '\0')
		rc |= json_object_set_string(o, "restart_at", j->restart_at);
	if (o == NULL || rc != 0) {
		err_set(e, "journal: out of memory");
		rc = -1;
		goto out;
	}
	text = json_write_alloc(o, JSON_WRITE_INSERTION_ORDER | JSON_WRITE_NEWLINE,
				JOURNAL_FILE_MAX, &len, e);
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

int journal_read(const struct layout *l, struct journal *out, bool *present, struct errbuf *e)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	*present = false;
	if (fsutil_read_file(layout_path(l, LAYOUT_JOURNAL), JOURNAL_FILE_MAX, FSUTIL_R_NOFOLLOW,
			     &data, &len, e) != 0) {
		if (errno == ENOENT) {
			err_clear(e);
			return 0;
		}
		return -1;
	}
	rc = journal_parse(data, len, out, e);
	free(data);
	if (rc == 0)
		*present = true;
	return rc;
}

int journal_write(const struct layout *l, const struct journal *j, struct errbuf *e)
{
	struct fsutil_write_opts wo = {
		.mode = 0600, .flags = FSUTIL_W_STRICT_DIRSYNC, .uid = (uid_t)-1, .gid = (gid_t)-1};
	struct buf *b = buf_new(JOURNAL_FILE_MAX);
	int rc = -1;

	if (b == NULL) {
		err_sys(e, errno, "journal");
		return -1;
	}
	if (journal_format(j, b, e) == 0 &&
	    fsutil_write_file(layout_path(l, LAYOUT_JOURNAL), buf_data(b), buf_len(b), &wo, e) == 0)
		rc = 0;
	buf_free(b);
	return rc;
}

int journal_remove(const struct layout *l, struct errbuf *e)
{
	const char *p = layout_path(l, LAYOUT_JOURNAL);

	if (unlink(p) != 0) {
		if (errno == ENOENT)
			return 0;
		err_sys(e, errno, "remove %s", p);
		return -1;
	}
	return fsutil_fsync_parent(p, e);
}
