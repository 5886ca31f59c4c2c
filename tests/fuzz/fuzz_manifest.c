/*
 * Fuzz the MANIFEST reader (spec bundle-install-update.md §2.3) and the name
 * parser (§1.4).  Property: whatever manifest_parse accepts, manifest_format
 * writes back byte for byte (the format has exactly one spelling).
 */
#include "bname.h"
#include "bounds.h"
#include "buf.h"
#include "manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL, *copy;
	struct bname b;
	struct errbuf e;
	size_t i;

	(void)bname_parse((const char *)data, size, false, &b, NULL);
	if (manifest_parse((const char *)data, size, &m, &e) == 0) {
		struct buf *out = buf_new(BOUNDS_MANIFEST_MAX);
		if (out == NULL)
			abort();
		copy = manifest_new(manifest_version(m), manifest_platform(m), manifest_sde(m), &e);
		if (copy == NULL)
			abort();
		for (i = 0; i < manifest_count(m); i++)
			if (manifest_add(copy, manifest_entry(m, i), &e) < 0)
				abort();
		if (manifest_format(copy, out, &e) < 0 || buf_len(out) != size ||
		    memcmp(buf_data(out), data, size) != 0)
			abort();
		for (i = 0; i < manifest_count(m); i++)
			if (manifest_find(m, manifest_entry(m, i)->path) != (long)i)
				abort();
		(void)manifest_check_required(m, &e);
		manifest_free(copy);
		buf_free(out);
		manifest_free(m);
	}
	return 0;
}
