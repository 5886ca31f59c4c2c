#include "scan_inv.h"

#include "json.h"
#include "scan_text.h"

#include <stdlib.h>
#include <string.h>

/* A trimmed copy of a non-blank string member, else NULL (*oom on ENOMEM). */
static char *member_string(const struct json_value *doc, const char *key, int *oom)
{
	size_t len;
	const char *s = json_get_string(json_object_get(doc, key), &len);
	char *r;

	if (s == NULL || scan_text_blank(s, len))
		return NULL;
	r = scan_text_trimdup(s, len);
	if (r == NULL)
		*oom = 1;
	return r;
}

static int64_t positive_int(const struct json_value *v)
{
	int64_t i;

	if (json_get_int64(v, &i) == 0 && i > 0)
		return i;
	return 0;
}

enum scan_inv_status scan_inv_parse(const char *text, size_t len, struct scan_inv *inv,
				    struct errbuf *e)
{
	struct json_error je;
	int oom = 0;

	memset(inv, 0, sizeof(*inv));
	if (len > SCAN_INV_MAX) {
		err_set(e, "invalid scanner adapter invocation json: input larger than %d bytes",
			SCAN_INV_MAX);
		return SCAN_INV_BAD_JSON;
	}
	memset(&je, 0, sizeof(je));
	inv->doc = json_parse_detail(text, len, SCAN_INV_MAX, 0, &je);
	if (inv->doc == NULL) {
		if (je.what[0] == '\0')
			err_set(e, "invalid scanner adapter invocation json: out of memory");
		else
			err_set(e,
				"invalid scanner adapter invocation json: %s at line %zu column "
				"%zu",
				je.what, je.line, je.column);
		return SCAN_INV_BAD_JSON;
	}
	if (json_type(inv->doc) != JSON_OBJECT) {
		err_set(e, "scanner adapter invocation must be a json object");
		return SCAN_INV_NOT_OBJECT;
	}
	inv->target_range = member_string(inv->doc, "target_range", &oom);
	inv->ports = member_string(inv->doc, "ports", &oom);
	inv->checkpoint_path = member_string(inv->doc, "checkpoint_path", &oom);
	inv->output_path = member_string(inv->doc, "output_path", &oom);
	if (oom) {
		err_set(e, "agentd scan: out of memory");
		return SCAN_INV_NOMEM;
	}
	if (inv->target_range == NULL) {
		err_set(e, "missing required invocation field: target_range");
		return SCAN_INV_MISSING_TARGET;
	}
	if (inv->ports == NULL) {
		err_set(e, "missing required invocation field: ports");
		return SCAN_INV_MISSING_PORTS;
	}
	inv->has_rate =
		json_get_int64(json_object_get(inv->doc, "rate_limit"), &inv->rate_limit) == 0;
	inv->sender_threads = positive_int(json_object_get(inv->doc, "sender_threads"));
	inv->receiver_threads = positive_int(json_object_get(inv->doc, "receiver_threads"));
	inv->resume = json_truthy(json_object_get(inv->doc, "resume"));
	return SCAN_INV_OK;
}

void scan_inv_free(struct scan_inv *inv)
{
	json_free(inv->doc);
	free(inv->target_range);
	free(inv->ports);
	free(inv->checkpoint_path);
	free(inv->output_path);
	memset(inv, 0, sizeof(*inv));
}

char *scan_inv_shard_json(const struct scan_inv *inv, const char *target_range,
			  const char *output_path, const char *checkpoint_path)
{
	struct json_value *copy = json_copy(inv->doc);
	char *text = NULL;
	int rc = 0;

	if (copy == NULL)
		return NULL;
	rc |= json_object_set_string(copy, "target_range", target_range);
	rc |= json_object_set_string(copy, "output_path", output_path);
	rc |= json_object_set_string(copy, "checkpoint_path", checkpoint_path);
	if (rc == 0)
		text = json_write_alloc(copy, JSON_WRITE_INSERTION_ORDER, SCAN_INV_MAX * 8, NULL,
					NULL);
	json_free(copy);
	return text;
}
