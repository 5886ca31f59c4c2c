/*
 * Fuzz the runtime.env parser and editor (lib/envfile, spec §8).
 *
 * Input: byte 0 = flags (bit 0: the file exists, bit 1: append a comment),
 * then parts separated by 0xff: the file content, then up to 8 edits, each
 * "KEY=VALUE" (upsert), "?KEY=VALUE" (upsert if absent) or "-KEY" (remove).
 * Checked: no crash, and the §8.2/§8.3 properties of the result.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_EDITS = 8 };

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static int count_cb(void *ctx, const char *key, size_t key_len, const char *val, size_t val_len)
{
	size_t *n = ctx;

	(void)val;
	(void)val_len;
	CHECK(key_len > 0 && envfile_key_valid(key, key_len > 128 ? 128 : key_len) == true);
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envfile_edit edits[MAX_EDITS];
	struct envfile_outcome oc[MAX_EDITS];
	char *parts[MAX_EDITS + 1];
	size_t part_len[MAX_EDITS + 1];
	const char *file;
	size_t file_len, nparts = 0, n = 0, i, start, walked = 0;
	struct buf *out, *again, *sum;
	bool exists, changed = false, changed2 = true, valid;
	const char *comment;
	int rc;

	if (size < 1)
		return 0;
	exists = data[0] & 1;
	comment = (data[0] & 2) ? "# added by fuzz" : NULL;
	/* split into NUL-terminated copies */
	start = 1;
	for (i = 1; i <= size && nparts < MAX_EDITS + 1; i++) {
		if (i == size || data[i] == 0xff) {
			part_len[nparts] = i - start;
			parts[nparts] = malloc(part_len[nparts] + 1);
			if (parts[nparts] == NULL)
				abort();
			memcpy(parts[nparts], data + start, part_len[nparts]);
			parts[nparts][part_len[nparts]] = '\0';
			nparts++;
			start = i + 1;
		}
	}
	file = parts[0];
	file_len = part_len[0];
	for (i = 1; i < nparts; i++) {
		char *p = parts[i];
		struct envfile_edit *ed = &edits[n];

		memset(ed, 0, sizeof(*ed));
		if (p[0] == '-') {
			ed->op = ENVFILE_REMOVE;
			ed->key = p + 1;
		} else {
			char *eq;

			if (p[0] == '?') {
				ed->flags = ENVFILE_E_IF_ABSENT | ENVFILE_E_COMMENT;
				p++;
			}
			eq = strchr(p, '=');
			if (eq == NULL)
				continue;
			*eq = '\0';
			ed->op = ENVFILE_UPSERT;
			ed->key = p;
			ed->value = eq + 1;
		}
		n++;
	}

	/* lookups never fail on any bytes */
	(void)envfile_each(file, file_len, count_cb, &walked);
	for (i = 0; i < n; i++) {
		const char *v;
		size_t vl;

		if (envfile_get(file, file_len, edits[i].key, strlen(edits[i].key), &v, &vl))
			CHECK(v >= file && v + vl <= file + file_len);
		if (edits[i].value != NULL)
			(void)envfile_value_warns(edits[i].value, strlen(edits[i].value));
	}

	out = buf_new(BOUNDS_ENVFILE_MAX);
	again = buf_new(BOUNDS_ENVFILE_MAX);
	sum = buf_new(BOUNDS_ENVFILE_MAX);
	if (out == NULL || again == NULL || sum == NULL)
		abort();
	valid = envfile_check_edits(edits, n, NULL) == 0;
	rc = envfile_apply(file, file_len, exists, edits, n, comment, out, oc, &changed, NULL);
	CHECK((rc == 0) == valid);
	if (rc == 0) {
		const char *o = buf_data(out);
		size_t ol = buf_len(out);

		if (!changed) {
			CHECK(ol == (exists ? file_len : 0));
			CHECK(ol == 0 || memcmp(o, file, ol) == 0);
		} else {
			CHECK(ol == 0 || o[ol - 1] == '\n');
		}
		for (i = 0; i < n; i++) {
			const char *v, *ov;
			size_t vl, ovl;
			size_t kl = strlen(edits[i].key);
			bool found = envfile_get(o, ol, edits[i].key, kl, &v, &vl);

			if (edits[i].op == ENVFILE_REMOVE) {
				CHECK(!found);
				continue;
			}
			CHECK(found);
			if ((edits[i].flags & ENVFILE_E_IF_ABSENT) && exists &&
			    !envfile_is_absent(file, file_len, edits[i].key, kl)) {
				CHECK(envfile_get(file, file_len, edits[i].key, kl, &ov, &ovl));
				CHECK(vl == ovl && memcmp(v, ov, vl) == 0);
			} else {
				CHECK(vl == strlen(edits[i].value) &&
				      memcmp(v, edits[i].value, vl) == 0);
			}
		}
		CHECK(envfile_summary(edits, oc, n, (data[0] & 4) != 0, sum, NULL) == 0);
		/* idempotent: the same batch again changes nothing */
		CHECK(envfile_apply(o, ol, true, edits, n, comment, again, NULL, &changed2, NULL) ==
		      0);
		CHECK(!changed2);
		CHECK(buf_len(again) == ol && memcmp(buf_data(again), o, ol) == 0);
	}
	envfile_outcomes_free(oc, n);
	buf_free(out);
	buf_free(again);
	buf_free(sum);
	for (i = 0; i < nparts; i++)
		free(parts[i]);
	return 0;
}
