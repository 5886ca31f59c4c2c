#ifndef PORTS_H
#define PORTS_H
/*
 * The invocation's ports string (scan.md §8): strict pre-flight validation,
 * the lenient set parser used by the endpoint filter, and the ascending list
 * that drives the zmap engine.  Pure, no I/O.
 */
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct ports {
	uint8_t bits[65536 / 8];
	size_t count;
};

/* §8.1: validate s[0..len) and fill *set.  0 if valid; -1 with e holding the
 * text after "invalid ports: " ("'<chunk>' (expected a port 1-65535 or a
 * range lo-hi)" or "no port given"). */
int ports_validate(const char *s, size_t len, struct ports *set, struct errbuf *e);
/* §8.2: the lenient parser; chunks that are not ports in 1-65535 (or ranges
 * of them) are skipped.  Never fails. */
void ports_parse_lenient(const char *s, size_t len, struct ports *set);
int ports_has(const struct ports *set, unsigned port);
/* Write up to max ports in ascending order into out; returns the count. */
size_t ports_list(const struct ports *set, uint16_t *out, size_t max);

#endif
