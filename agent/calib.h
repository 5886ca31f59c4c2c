#ifndef CALIB_H
#define CALIB_H
/*
 * Calibration store (rate-controller.md §11): learned rates per interface in
 * one line of canonical JSON,
 *   {"interfaces": {"eth0": {"learned_rate": 1900000, "updated_at": "..."}}, "version": 1}
 * written through a bounded flock on <path>.lock and an atomic replace via
 * <path>.tmp.<pid> (lib/fsutil).  Mode 0640 for the file, temp and lock
 * files; 0750 for directories it creates.
 */
#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALIB_DEFAULT_REL_PATH "/var/lib/agentd/rate-calibration.json"
#define CALIB_LOCK_WAIT_MS 10000 /* §1 CALIB_LOCK_WAIT */
#define CALIB_FILE_MODE 0640
#define CALIB_DIR_MODE 0750

enum calib_status { CALIB_OK = 0, CALIB_MISSING, CALIB_UNREADABLE, CALIB_INVALID };

struct calib_entry {
	char *iface;          /* owned by the map */
	int64_t learned_rate; /* > 0 */
	char *updated_at;     /* owned by the map; "" when absent in the file */
};

/* Entries sorted by interface name (byte order), unique keys. */
struct calib_map {
	struct calib_entry *entries;
	size_t count;
	size_t dropped; /* entries skipped as invalid (§11.3) */
	enum calib_status status;
};

/* "ok", "missing", "unreadable", "invalid" */
const char *calib_status_name(enum calib_status s);

/* Parse file contents (§11.3).  Never fails on bad input: sets m->status
 * (CALIB_OK or CALIB_INVALID) and keeps only valid entries.  Returns -1 only
 * when out of memory (m is then empty).  Caller frees with calib_map_free. */
int calib_parse(const char *data, size_t len, struct calib_map *m);
void calib_map_free(struct calib_map *m);
/* Entry for iface, or NULL. */
const struct calib_entry *calib_map_find(const struct calib_map *m, const char *iface);
/* Set (replace) iface's entry.  0 or -1 (ENOMEM). */
int calib_map_set(struct calib_map *m, const char *iface, int64_t learned_rate,
		  const char *updated_at);
/* Remove iface; returns true if it was there. */
bool calib_map_remove(struct calib_map *m, const char *iface);
/* Append the canonical one-line form (no trailing newline) to out. */
int calib_serialize(const struct calib_map *m, struct buf *out, struct errbuf *e);

/* A store handle for path.  lock_wait_ms bounds the flock wait (§11.4 step 4;
 * CALIB_LOCK_WAIT_MS in production).  NULL on ENOMEM.  Caller frees. */
struct calib *calib_new(const char *path, int lock_wait_ms);
void calib_free(struct calib *c);
const char *calib_path(const struct calib *c);

/* §11.3 load(): never fails; the status tells missing/unreadable/invalid
 * (the map is then empty).  Caller frees m. */
void calib_load(const struct calib *c, struct calib_map *m);
/* lookup(iface): true and *rate when present. */
bool calib_lookup(const struct calib *c, const char *iface, int64_t *rate);

struct calib_write_info {
	bool written;        /* the file was replaced */
	bool locked;         /* false: proceeded without the lock (best effort) */
	int64_t waited_ms;   /* time spent waiting for the lock */
	char updated_at[32]; /* the timestamp stored (store only) */
};

/* §11.4 store(iface, learned_rate, now?).  learned_rate <= 0: nothing is
 * touched, 0 with info->written false.  updated_at NULL: the current UTC time.
 * Returns 0 or -1 with e = "<operation> <path>: <strerror>". */
int calib_store(struct calib *c, const char *iface, int64_t learned_rate, const char *updated_at,
		struct calib_write_info *info, struct errbuf *e);
/* `agentd calibration clear [IFACE]`: rewrite without iface (NULL: without
 * any entry) through the same locked atomic path.  *removed (may be NULL)
 * gets the removed entries (caller frees).  0 or -1 (e). */
int calib_clear(struct calib *c, const char *iface, struct calib_map *removed,
		struct calib_write_info *info, struct errbuf *e);

/* Current UTC time as YYYY-MM-DDTHH:MM:SSZ into out (>= 21 bytes). */
int calib_now_utc(char *out, size_t outsz);

#endif
