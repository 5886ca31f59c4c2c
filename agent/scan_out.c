#include "scan_out.h"

#include "target.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open-addressing set of 64-bit keys: (ip << 17) | (port << 1) | bare. */
struct keyset {
	uint64_t *slots; /* 0 = empty; keys are stored + 1 */
	size_t cap, used;
};

static int keyset_add(struct keyset *k, uint64_t key)
{
	size_t i;

	key += 1;
	if ((k->used + 1) * 2 > k->cap) {
		size_t ncap = k->cap ? k->cap * 2 : 1024, j;
		uint64_t *ns = calloc(ncap, sizeof(*ns));
		if (ns == NULL)
			return -1;
		for (j = 0; j < k->cap; j++) {
			uint64_t v = k->slots[j];
			size_t h;
			if (v == 0)
				continue;
			h = (size_t)((v * 0x9E3779B97F4A7C15ull) >> 20) & (ncap - 1);
			while (ns[h] != 0)
				h = (h + 1) & (ncap - 1);
			ns[h] = v;
		}
		free(k->slots);
		k->slots = ns;
		k->cap = ncap;
	}
	i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (k->cap - 1);
	while (k->slots[i] != 0) {
		if (k->slots[i] == key)
			return 0;
		i = (i + 1) & (k->cap - 1);
	}
	k->slots[i] = key;
	k->used++;
	return 1;
}

static int line_break(char c)
{
	/* the ASCII line boundaries of Python's str.splitlines() */
	return c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\x1c' || c == '\x1d' ||
	       c == '\x1e';
}

int scan_out_endpoints(const char *raw, size_t len, const char *target_range,
		       const struct ports *ports, struct scan_buf *out)
{
	struct keyset seen = {NULL, 0, 0};
	uint32_t rs = 0, re = 0;
	int filter = target_parse_range(target_range, &rs, &re) == 0;
	size_t i = 0;
	int rc = 0;

	while (i < len) {
		size_t j = i, tl;
		const char *tok;
		const char *colon;
		uint32_t ip;
		unsigned port = 0;
		int bare;
		uint64_t key;
		char text[32];

		while (j < len && !line_break(raw[j]))
			j++;
		/* first whitespace-separated word of raw[i..j) */
		tok = raw + i;
		while (tok < raw + j && scan_text_isspace((unsigned char)*tok))
			tok++;
		tl = 0;
		while (tok + tl < raw + j && !scan_text_isspace((unsigned char)tok[tl]))
			tl++;
		i = j + 1;
		if (tl == 0)
			continue;
		colon = memchr(tok, ':', tl);
		if (colon != NULL) {
			const char *p = colon + 1;
			size_t pl = tl - (size_t)(colon - tok) - 1, k;

			if (memchr(p, ':', pl) != NULL)
				continue; /* IPv6 and the like */
			if (target_parse_ipv4(tok, (size_t)(colon - tok), &ip) != 0)
				continue;
			if (pl < 1 || pl > 5)
				continue;
			for (k = 0; k < pl; k++) {
				if (p[k] < '0' || p[k] > '9')
					break;
				port = port * 10 + (unsigned)(p[k] - '0');
			}
			if (k != pl || port < 1 || port > 65535)
				continue;
			bare = 0;
		} else {
			if (target_parse_ipv4(tok, tl, &ip) != 0)
				continue;
			bare = 1;
		}
		if (filter && (ip < rs || ip > re))
			continue;
		if (bare && ports->count != 1)
			continue;
		if (!bare && ports->count > 0 && !ports_has(ports, port))
			continue;
		key = ((uint64_t)ip << 17) | ((uint64_t)port << 1) | (uint64_t)bare;
		switch (keyset_add(&seen, key)) {
		case -1:
			rc = -1;
			goto out;
		case 0:
			continue;
		default:
			break;
		}
		target_format_ipv4(ip, text);
		if (scan_buf_appends(out, text) != 0 ||
		    (!bare && scan_buf_appendf(out, ":%u", port) != 0) ||
		    scan_buf_append(out, "\n", 1) != 0) {
			rc = -1;
			goto out;
		}
	}
out:
	free(seen.slots);
	return rc;
}
