#ifndef PROM_H
#define PROM_H
/*
 * The node_exporter textfile <AGENTD_TEXTFILE_DIR>/agentd.prom (spec
 * bundle-install-update.md §22.2): Prometheus text exposition format,
 * "# HELP" and "# TYPE" before each family, families in the order of the
 * spec, series sorted by label values, label values escaped (\\, \", \n),
 * no timestamps.
 *
 * prom_format is pure; prom_write replaces <dir>/agentd.prom through
 * <dir>/.agentd.prom.tmp.<pid> (a name the collector ignores) and rename,
 * mode 0644.
 */
#include "buf.h"
#include "err.h"
#include "run_health.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_FILE_NAME "agentd.prom"

/* One learned rate from the calibration file. */
struct prom_rate {
	const char *interface;
	int64_t learned_pps;
	bool has_time;
	int64_t updated; /* seconds since the epoch, when has_time */
};

struct prom_input {
	/* agentd_build_info labels */
	const char *version, *fingerprint, *bundle, *platform;
	int64_t start_time;
	enum run_status status;
	int64_t health_time;
	/* the status file: update_status is "" / NULL without a file or with an
	 * unknown STATUS; otherwise one of the six names of §13.7 */
	const char *update_status;
	int64_t update_time; /* 0 without a file */
	int64_t channel_last_success;
	uint64_t channel_failures;
	bool offered; /* a poll succeeded: offered_* are set */
	const char *offered_version, *offered_fingerprint;
	const struct prom_rate *rates; /* any order; sorted here */
	size_t nrates;
};

/* Append the exposition text to out.  0 or -1 (e; E2BIG when out is full). */
int prom_format(const struct prom_input *in, struct buf *out, struct errbuf *e);

/* Append s as a label value with the escapes of the text format. */
int prom_escape(const char *s, struct buf *out, struct errbuf *e);

/* Write data[0..len) to <dir>/agentd.prom atomically.  0 or -1 (errno, e). */
int prom_write(const char *dir, const char *data, size_t len, struct errbuf *e);

#endif
