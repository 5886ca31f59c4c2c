#ifndef SCAN_OUT_H
#define SCAN_OUT_H
/*
 * Scanner output to endpoint lines (scan.md §9): parse each line's first
 * word as host:port or a bare IPv4 host, filter by the invocation's target
 * range and ports, write canonical text, dedup keeping first-seen order.
 * Pure, no I/O.
 */
#include <stddef.h>

#include "ports.h"
#include "scan_text.h"

/* Append the endpoint lines ("host:port\n" or "host\n") of raw[0..len) to
 * *out.  target_range is the invocation's (unparsable: no host filter);
 * ports the requested set (lenient parse of the invocation's string).
 * Returns 0, or -1 on allocation failure. */
int scan_out_endpoints(const char *raw, size_t len, const char *target_range,
		       const struct ports *ports, struct scan_buf *out);

#endif
