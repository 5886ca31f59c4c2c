#ifndef SYSLOAD_H
#define SYSLOAD_H
/*
 * System load readers (rate-controller.md §4): the 1-minute loadavg and,
 * opt-in, the CPU pressure-stall "some avg10" value.  Readers never fail: a
 * missing or garbled file reads as load 0.0 / PSI unavailable.  Paths are
 * parameters so tests point them at their own files.
 */
#include "rate.h"

#include <stdbool.h>
#include <stddef.h>

#define SYSLOAD_DEFAULT_LOADAVG_PATH "/proc/loadavg"
#define SYSLOAD_DEFAULT_PSI_PATH "/proc/pressure/cpu"

/* §4.1: given if > 0, else max(1, online CPUs). */
int sysload_vcpu_count(int given);
/* §4.1 read(): the first token of path as a finite double; negative -> 0;
 * any error -> 0.0. */
double sysload_read_loadavg(const char *path);
/* §4.3 read(): true and *pct when the "some" line has a parsable avg10. */
bool sysload_read_psi(const char *path, double *pct);
/* Parse PSI file contents data[0..len) (the pure part of sysload_read_psi). */
bool sysload_parse_psi(const char *data, size_t len, double *pct);
/* Parse loadavg contents data[0..len) (the pure part of sysload_read_loadavg). */
double sysload_parse_loadavg(const char *data, size_t len);

/* The controller's load sampler (rate_ctl.h struct rate_load_sampler):
 * ctx is a struct sysload_readers. */
struct sysload_readers {
	const char *loadavg_path; /* NULL: SYSLOAD_DEFAULT_LOADAVG_PATH */
	int vcpu_count;           /* fixed at construction: sysload_vcpu_count() */
	bool use_psi;             /* ANYSCAN_CPU_SIGNAL=psi: sample PSI too */
	const char *psi_path;     /* NULL: SYSLOAD_DEFAULT_PSI_PATH */
};
/* Fill *out from both readers; always returns true (a sample is always
 * available once readers are configured). */
bool sysload_sample(void *readers, struct rate_load *out);

#endif
