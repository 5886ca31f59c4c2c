/* Fuzz the calibration-file parser (rate-controller.md §11.3): any bytes
 * must parse without crashing; what survives must serialise canonically and
 * parse back to the same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "calib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct calib_map m, back;
	struct buf *out;
	size_t i;

	if (calib_parse((const char *)data, size, &m) < 0)
		return 0;
	if (m.status != CALIB_OK && m.count != 0)
		abort();
	for (i = 0; i + 1 < m.count; i++)
		if (strcmp(m.entries[i].iface, m.entries[i + 1].iface) >= 0)
			abort(); /* sorted, unique */
	for (i = 0; i < m.count; i++)
		if (m.entries[i].learned_rate <= 0)
			abort();
	out = buf_new(64 * 1024 * 1024);
	if (out != NULL && calib_serialize(&m, out, NULL) == 0) {
		if (calib_parse(buf_data(out), buf_len(out), &back) == 0) {
			if (back.status != CALIB_OK || back.count != m.count || back.dropped != 0)
				abort();
			for (i = 0; i < m.count; i++)
				if (strcmp(back.entries[i].iface, m.entries[i].iface) != 0 ||
				    back.entries[i].learned_rate != m.entries[i].learned_rate ||
				    strcmp(back.entries[i].updated_at, m.entries[i].updated_at) !=
					    0)
					abort();
			calib_map_free(&back);
		}
	}
	buf_free(out);
	calib_map_free(&m);
	return 0;
}
