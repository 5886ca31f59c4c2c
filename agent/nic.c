#include "nic.h"

#include "fsutil.h"

#include "num.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NIC_READ_MAX = 256, NIC_ROUTE_MAX = 256 * 1024 };

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int64_t nic_parse_counter(const char *data, size_t len)
{
	uint64_t v;
	size_t i;

	while (len > 0 && is_ws(data[0])) {
		data++;
		len--;
	}
	while (len > 0 && is_ws(data[len - 1]))
		len--;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (data[i] < '0' || data[i] > '9')
			return 0;
	if (num_parse_u64(data, len, &v) < 0) {
		/* all digits but too large: saturate */
		return errno == ERANGE ? INT64_MAX : 0;
	}
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static bool iface_ok(const char *iface)
{
	return iface != NULL && iface[0] != '\0' && strcmp(iface, ".") != 0 &&
	       strcmp(iface, "..") != 0 && strchr(iface, '/') == NULL;
}

static int64_t read_counter(const char *root, const char *iface, const char *name)
{
	char path[PATH_MAX];
	char buf[NIC_READ_MAX];
	ssize_t n;
	int w = snprintf(path, sizeof(path), "%s/%s/statistics/%s", root, iface, name);

	if (w < 0 || (size_t)w >= sizeof(path))
		return 0;
	/* a counter file holds at most 20 digits; a longer file is garbage */
	n = fsutil_read_small(path, buf, sizeof(buf));
	if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
		return 0;
	return nic_parse_counter(buf, (size_t)n);
}

void nic_read(const char *root, const char *iface, struct nic_counters *out)
{
	out->tx_packets = 0;
	out->tx_dropped = 0;
	if (!iface_ok(iface))
		return;
	if (root == NULL)
		root = NIC_DEFAULT_ROOT;
	out->tx_packets = read_counter(root, iface, "tx_packets");
	out->tx_dropped = read_counter(root, iface, "tx_dropped");
}

static int64_t sub_clamped(int64_t after, int64_t before)
{
	if (after <= before)
		return 0;
	if (before < 0 && after > INT64_MAX + before)
		return INT64_MAX;
	return after - before;
}

void nic_delta(const struct nic_counters *before, const struct nic_counters *after,
	       struct nic_counters *delta)
{
	delta->tx_packets = sub_clamped(after->tx_packets, before->tx_packets);
	delta->tx_dropped = sub_clamped(after->tx_dropped, before->tx_dropped);
}

/* Split line[0..len) into whitespace-separated fields; returns the count (at
 * most max recorded). */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *flen, size_t max)
{
	size_t i = 0, n = 0;

	while (i < len) {
		size_t start;
		while (i < len && is_ws(line[i]))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && !is_ws(line[i]))
			i++;
		if (n < max) {
			f[n] = line + start;
			flen[n] = i - start;
		}
		n++;
	}
	return n;
}

static bool hex_flags_gateway(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 16)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v * 16 + d;
	}
	return (v & 0x2u) != 0;
}

bool nic_parse_route(const char *data, size_t len, char *out, size_t outsz)
{
	size_t pos = 0;
	bool header = true;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		const char *f[11];
		size_t fl[11];

		if (header) {
			header = false;
		} else if (split_fields(data + pos, end - pos, f, fl, 11) >= 11 && fl[1] == 8 &&
			   memcmp(f[1], "00000000", 8) == 0 && hex_flags_gateway(f[3], fl[3])) {
			if (fl[0] + 1 > outsz || memchr(f[0], '\0', fl[0]) != NULL)
				return false;
			memcpy(out, f[0], fl[0]);
			out[fl[0]] = '\0';
			return true;
		}
		pos = end + 1;
	}
	return false;
}

bool nic_default_route_iface(const char *route_path, char *out, size_t outsz)
{
	char *buf = malloc(NIC_ROUTE_MAX);
	ssize_t n;
	bool found = false;

	if (buf == NULL)
		return false;
	n = fsutil_read_small(route_path != NULL ? route_path : NIC_DEFAULT_ROUTE_PATH, buf,
			      NIC_ROUTE_MAX);
	if (n > 0)
		found = nic_parse_route(buf, (size_t)n, out, outsz);
	free(buf);
	return found;
}

void nic_apply_measurement(struct rate_measurement *m, const struct nic_counters *nic_delta,
			   bool have_progress, int64_t scanner_sent)
{
	m->tx_dropped_delta = nic_delta->tx_dropped;
	if (nic_delta->tx_packets == 0 && have_progress) {
		m->tx_packets_delta = scanner_sent < 0 ? 0 : scanner_sent;
		m->measurement_source = RATE_MSOURCE_SCANNER;
	} else {
		m->tx_packets_delta = nic_delta->tx_packets;
		m->measurement_source = RATE_MSOURCE_NIC;
	}
}
