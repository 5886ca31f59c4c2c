#ifndef RATE_LINE_H
#define RATE_LINE_H
/*
 * One measurement line of `agentd rate classify` and of a `rate simulate`
 * model's reply (rate-controller.md §18.1, §18.2): a JSON object with the
 * measurement fields, optional load fields and (classify only) per-line
 * policy overrides.  Pure.
 */
#include "err.h"
#include "rate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rate_line {
	struct rate_measurement m;
	bool has_set_rate;
	bool has_load; /* load_average_1min present: load-aware mode */
	struct rate_load load;
	struct rate_policy policy; /* base policy with the line's overrides */
};

enum {
	RATE_LINE_ALLOW_POLICY = 1u << 0,      /* classify: a "policy" object is allowed */
	RATE_LINE_OPTIONAL_SET_RATE = 1u << 1, /* simulate: set_rate may be absent */
};

/* Parse text[0..len) (one line, without its newline).  base is the resolved
 * policy.  Returns 0, or -1 with err filled ("set_rate: missing",
 * "invalid JSON: ...", "not a JSON object", "ceiling must be >= floor" ...). */
int rate_line_parse(const char *text, size_t len, const struct rate_policy *base, unsigned flags,
		    struct rate_line *out, struct errbuf *err);

#endif
