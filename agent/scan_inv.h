#ifndef SCAN_INV_H
#define SCAN_INV_H
/*
 * The stdin invocation of `agentd scan` (scan.md §2.1, §2.2) and the shard
 * invocations the multi-NIC parent derives from it (§14.3).
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct json_value;

#define SCAN_INV_MAX (1024 * 1024) /* scan.md §2.1 */

enum scan_inv_status {
	SCAN_INV_OK = 0,
	SCAN_INV_BAD_JSON,       /* e: "invalid scanner adapter invocation json: ..." */
	SCAN_INV_NOT_OBJECT,     /* e: "scanner adapter invocation must be a json object" */
	SCAN_INV_MISSING_TARGET, /* e: "missing required invocation field: target_range" */
	SCAN_INV_MISSING_PORTS,  /* e: "missing required invocation field: ports" */
	SCAN_INV_NOMEM,
};

struct scan_inv {
	struct json_value *doc; /* the parsed object (owned) */
	char *target_range;     /* trimmed, non-blank */
	char *ports;            /* trimmed, non-blank */
	int has_rate;           /* rate_limit is a JSON integer */
	int64_t rate_limit;
	int64_t sender_threads;   /* > 0 when given as a JSON integer > 0, else 0 */
	int64_t receiver_threads; /* likewise */
	char *checkpoint_path;    /* trimmed, NULL when absent or blank */
	int resume;               /* truthy */
	char *output_path;        /* trimmed, NULL when absent or blank */
};

/* Parse text[0..len) (len may exceed SCAN_INV_MAX: then "input larger than
 * 1048576 bytes").  The message in e is the complete stderr line. */
enum scan_inv_status scan_inv_parse(const char *text, size_t len, struct scan_inv *inv,
				    struct errbuf *e);
void scan_inv_free(struct scan_inv *inv);

/* §14.3: the shard invocation as JSON text (insertion order, ", "/": ",
 * non-ASCII escaped): a copy of the parent's with target_range, output_path
 * and checkpoint_path replaced in place or appended in that order.  Caller
 * frees; NULL on ENOMEM. */
char *scan_inv_shard_json(const struct scan_inv *inv, const char *target_range,
			  const char *output_path, const char *checkpoint_path);

#endif
