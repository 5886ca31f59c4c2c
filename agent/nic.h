#ifndef NIC_H
#define NIC_H
/*
 * Interface counters and the default-route interface (rate-controller.md
 * §8.5, §13).  Readers never fail: anything missing reads as 0 / none.
 */
#include "rate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIC_DEFAULT_ROOT "/sys/class/net"
#define NIC_DEFAULT_ROUTE_PATH "/proc/net/route"
#define NIC_IFACE_MAX 64 /* longer names are not interfaces (IFNAMSIZ is 16) */

struct nic_counters {
	int64_t tx_packets;
	int64_t tx_dropped;
};

/* §13.1: <root>/<iface>/statistics/tx_packets and tx_dropped; root NULL
 * means NIC_DEFAULT_ROOT.  Bad iface names ("", ".", "..", containing '/'),
 * missing files and garbage give 0 for that counter. */
void nic_read(const char *root, const char *iface, struct nic_counters *out);
/* after - before, each clamped at >= 0. */
void nic_delta(const struct nic_counters *before, const struct nic_counters *after,
	       struct nic_counters *delta);
/* The pure parse of one counter file: trimmed decimal digits, else 0
 * (values above INT64_MAX saturate). */
int64_t nic_parse_counter(const char *data, size_t len);

/* §8.5: the first row of route_path (NULL: NIC_DEFAULT_ROUTE_PATH) after the
 * header with >= 11 fields, Destination 00000000 and RTF_GATEWAY in Flags.
 * true and out filled, or false (none / read error / too long). */
bool nic_default_route_iface(const char *route_path, char *out, size_t outsz);
/* The pure parse of route file contents. */
bool nic_parse_route(const char *data, size_t len, char *out, size_t outsz);

/* §13.2: fill m->tx_packets_delta, tx_dropped_delta and measurement_source
 * from the NIC deltas and, when the NIC tx delta is 0 and at least one
 * scanner progress line was parsed (have_progress), the scanner's last sent
 * count. */
void nic_apply_measurement(struct rate_measurement *m, const struct nic_counters *nic_delta,
			   bool have_progress, int64_t scanner_sent);

#endif
