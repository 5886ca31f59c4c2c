#ifndef ROLLOUT_H
#define ROLLOUT_H
/*
 * Rollout bucket (spec bundle-install-update.md §15.3).  Pure.
 *
 *   bucket = (first 4 bytes of SHA-256(id + LF + version), big-endian) mod 100
 *
 * A worker takes a version iff bucket < rollout_percent (0: nobody, 100:
 * everybody).  Vector: id "worker-0042", version "1.4.0" -> 32.
 */
#include <stdbool.h>
#include <stddef.h>

unsigned rollout_bucket(const char *id, size_t id_len, const char *version, size_t version_len);
/* bucket < percent (percent above 100 counts as 100). */
bool rollout_selected(unsigned bucket, unsigned percent);

/* The id of §15.3 into out (size out_size, NUL-terminated): AGENT_ID if
 * non-empty, else the instance id if non-empty, else machine_id (the content
 * of /etc/machine-id) with ASCII whitespace trimmed if that leaves something,
 * else hostname.  Arguments may be NULL.  Returns the id's length, or 0 when
 * none is available or it does not fit. */
size_t rollout_id_choose(const char *agent_id, const char *instance_id, const char *machine_id,
			 size_t machine_id_len, const char *hostname, char *out, size_t out_size);

#endif
