#ifndef SCAN_PROGRESS_H
#define SCAN_PROGRESS_H
/*
 * The anyscan scanner's progress lines (scan.md §10.1) and the progress
 * snapshot JSON (§10).  Pure: the caller feeds stderr chunks and writes the
 * snapshot file when a chunk or line matched.
 */
#include <stddef.h>
#include <stdint.h>

struct scan_progress_snap {
	uint64_t percent, sent, recv;                  /* saturating at UINT64_MAX */
	uint64_t send_millis, avg_millis, recv_millis; /* exact decimal, truncated */
};

/* Search s[0..len) (trimmed first) for the §10.1 grammar; 1 and *out filled
 * on the first match, else 0. */
int scan_progress_match(const char *s, size_t len, struct scan_progress_snap *out);
/* truncate(number x unit x 1000), exactly: num must be D+, D+.D* or .D+
 * else 0; unit 0, 'K', 'M' or 'G'.  Saturates at UINT64_MAX. */
uint64_t scan_progress_millis(const char *num, size_t len, char unit);
/* The snapshot JSON (no newline) into buf; -1 if it does not fit. */
int scan_progress_format(const struct scan_progress_snap *s, char *buf, size_t cap);

/* Streaming: pending text between chunks is bounded (a longer line without
 * a break is dropped). */
enum { SCAN_PROGRESS_PENDING_MAX = 64 * 1024 };
struct scan_progress {
	char pending[SCAN_PROGRESS_PENDING_MAX];
	size_t plen;
	uint64_t matches;               /* matched chunks/lines so far */
	struct scan_progress_snap last; /* valid when matches > 0 */
};
void scan_progress_init(struct scan_progress *p);
/* Feed one chunk; returns the number of matches it produced (each rewrites
 * the snapshot; the caller writes p->last once when > 0). */
int scan_progress_feed(struct scan_progress *p, const char *chunk, size_t n);
/* End of stream: try the leftover. */
int scan_progress_finish(struct scan_progress *p);

#endif
