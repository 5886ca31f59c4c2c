/*
 * Fuzz the channel manifest reader (spec bundle-install-update.md §13.8),
 * the url resolver and the time parser.  Properties: an accepted manifest's
 * entry url is https or a local path, never http; every output is
 * NUL-terminated within its buffer.
 */
#include "channel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const bases[] = {"https://rel.example/dist/channels/stable.json",
					    "/srv/mirror/channels/stable.json",
					    "./m/channels/stable.json"};
	struct channel *c = malloc(sizeof(*c));
	struct channel_opts o;
	struct errbuf e;
	char out[CHANNEL_URL_MAX], *ref;
	int64_t t;
	size_t i;

	if (c == NULL)
		abort();
	(void)channel_time_parse((const char *)data, size, &t);
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		o.manifest_url = bases[i];
		o.platform = "linux-x86_64";
		o.now = 1772366400;
		if (channel_parse((const char *)data, size, &o, c, &e) == 0) {
			if (strncmp(c->entry.url, "http://", 7) == 0 ||
			    strlen(c->entry.url) >= sizeof(c->entry.url) ||
			    c->rollout_percent > 100 || c->entry.size == 0 ||
			    strlen(c->entry.fingerprint) != 64)
				abort();
		}
	}
	/* the input as a url reference */
	ref = malloc(size + 1);
	if (ref == NULL)
		abort();
	memcpy(ref, data, size);
	ref[size] = '\0';
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
		if (channel_resolve(bases[i], ref, out, sizeof(out), &e) == 0 &&
		    (strlen(out) >= sizeof(out) || strncmp(out, "http://", 7) == 0))
			abort();
	free(ref);
	free(c);
	return 0;
}
