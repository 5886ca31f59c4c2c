#ifndef CHANNEL_H
#define CHANNEL_H
/*
 * Channel manifests channels/<channel>.json (spec bundle-install-update.md
 * §13.8), shared by the `agentd run` poller (§15.2) and `agent-install
 * update --channel` (§13.2).  Pure: the caller fetches the manifest and its
 * .sig, hands in the trusted keys, the host platform and the clock.
 *
 * Order of use: channel_verify_sig() on the exact bytes first (nothing in
 * the manifest is used before), then channel_parse().
 */
#include "bounds.h"
#include "err.h"
#include "sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHANNEL_FILE_MAX BOUNDS_CHANNEL_MAX     /* §13.8 */
#define CHANNEL_NAME_MAX 64                     /* [a-z0-9][a-z0-9._-]{0,63} */
#define CHANNEL_SIZE_MAX (512ULL * 1024 * 1024) /* §13.8 size */
#define CHANNEL_URL_MAX 4096                    /* a resolved entry url */

struct channel_entry {
	char platform[65];
	char bundle[256];              /* the bundle file name, with .tar.gz */
	char url[CHANNEL_URL_MAX];     /* resolved: https URL, or a local path */
	char sig_url[CHANNEL_URL_MAX]; /* url with .tar.gz -> .sig (§4.2) */
	char sha256[65];
	uint64_t size;
	char fingerprint[65];
};

struct channel {
	char channel[CHANNEL_NAME_MAX + 1];
	char version[65];
	char expires_at[64]; /* as written */
	int64_t expires;     /* seconds since the epoch */
	unsigned rollout_percent;
	struct channel_entry entry; /* the host platform's */
};

struct channel_opts {
	/* where the manifest came from: an https URL, or a local path (absolute
	 * or starting "./"); relative entry urls resolve against it (RFC 3986),
	 * for a local path to local paths */
	const char *manifest_url;
	const char *platform; /* the host's platform key (§1.1) */
	int64_t now;          /* wall clock, seconds since the epoch */
};

/* Parse data[0..len) and apply every rule of §13.8: size, format, channel
 * name and its agreement with the manifest URL's stem, version grammar,
 * expiry against now, rollout_percent, the host platform's entry (bundle
 * name consistent with platform, version and fingerprint; url scheme; hex
 * fields; size).  0, or -1 with e set, e.g.
 *   "channel manifest expired at 2026-05-30T12:00:00Z (clock 2026-06-01T00:00:00Z)"
 *   "channel stable has no build for linux-aarch64"
 *   "channel manifest: platforms.linux-x86_64.url: insecure URL refused"  */
int channel_parse(const char *data, size_t len, const struct channel_opts *o, struct channel *out,
		  struct errbuf *e);

/* §13.8: the signature sig[0..sig_len) over data[0..len) must verify with a
 * key of ks.  An empty set is refused ("no trusted keys ...").  key_id (may
 * be NULL) gets the id of the key that verified.  0 or -1 (e). */
int channel_verify_sig(const struct sig_keyset *ks, const char *data, size_t len,
		       const uint8_t *sig, size_t sig_len, char key_id[SIG_KEY_ID_LEN + 1],
		       struct errbuf *e);

/* Resolve ref against base (an https URL or a local path) into out:
 * absolute https refs are taken as they are, other schemes (http too) are
 * refused, relative references are resolved per RFC 3986 §5.2 with dot
 * segments removed.  0 or -1 (e). */
int channel_resolve(const char *base, const char *ref, char *out, size_t out_size,
		    struct errbuf *e);

/* RFC 3339 date-time with "Z" or a numeric offset (fraction allowed and
 * dropped) into seconds since the epoch.  0 or -1. */
int channel_time_parse(const char *s, size_t len, int64_t *out);

#endif
