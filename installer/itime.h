#ifndef ITIME_H
#define ITIME_H
/*
 * Timestamps of spec bundle-install-update.md §0.3: written as UTC
 * "YYYY-MM-DDTHH:MM:SSZ"; read as any RFC 3339 date-time (offset "Z", "z" or
 * "+hh:mm"/"-hh:mm", optional fraction, which is dropped).  Pure: no TZ or
 * locale is consulted.
 */
#include <stddef.h>
#include <stdint.h>

#define ITIME_LEN 20 /* "2026-03-01T12:02:40Z" */

/* Format t (seconds since the epoch, UTC) into out (ITIME_LEN + 1 bytes).
 * Years outside 0000..9999 are clamped to the range's ends. */
void itime_format(int64_t t, char out[ITIME_LEN + 1]);

/* Parse s[0..len) as RFC 3339 into seconds since the epoch.  0, or -1 when
 * malformed (including an invalid day of month, hour 24 or a leap second
 * other than :60 which is read as :59). */
int itime_parse(const char *s, size_t len, int64_t *out);

#endif
