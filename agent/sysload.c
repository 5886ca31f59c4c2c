#include "sysload.h"

#include "fsutil.h"

#include "num.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

enum { SYSLOAD_READ_MAX = 4096 };

/* Read at most cap-1 bytes of a /proc-style file (st_size is 0 there, so
 * read until EOF).  Returns the length, or -1. */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int sysload_vcpu_count(int given)
{
	long n;

	if (given > 0)
		return given;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	if (n > 1000000)
		return 1000000;
	return (int)n;
}

double sysload_parse_loadavg(const char *data, size_t len)
{
	size_t i = 0, start;
	double v;

	while (i < len && is_ws(data[i]))
		i++;
	start = i;
	while (i < len && !is_ws(data[i]))
		i++;
	if (i == start || num_parse_double(data + start, i - start, &v) < 0 || !isfinite(v))
		return 0.0;
	return v < 0.0 ? 0.0 : v;
}

double sysload_read_loadavg(const char *path)
{
	char buf[SYSLOAD_READ_MAX];
	ssize_t n = fsutil_read_small(path, buf, sizeof(buf));

	if (n <= 0)
		return 0.0;
	return sysload_parse_loadavg(buf, (size_t)n);
}

/* In the line line[0..len), the field starting "avg10=". */
static bool psi_avg10(const char *line, size_t len, double *pct)
{
	size_t i = 0;

	while (i < len) {
		size_t start;
		while (i < len && is_ws(line[i]))
			i++;
		start = i;
		while (i < len && !is_ws(line[i]))
			i++;
		if (i - start > 6 && memcmp(line + start, "avg10=", 6) == 0) {
			double v;
			if (num_parse_double(line + start + 6, i - start - 6, &v) < 0 ||
			    !isfinite(v) || v < 0.0)
				return false;
			*pct = v;
			return true;
		}
	}
	return false;
}

bool sysload_parse_psi(const char *data, size_t len, double *pct)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		if (end - pos >= 5 && memcmp(data + pos, "some ", 5) == 0)
			return psi_avg10(data + pos + 5, end - pos - 5, pct);
		pos = end + 1;
	}
	return false;
}

bool sysload_read_psi(const char *path, double *pct)
{
	char buf[SYSLOAD_READ_MAX];
	ssize_t n = fsutil_read_small(path, buf, sizeof(buf));

	if (n <= 0)
		return false;
	return sysload_parse_psi(buf, (size_t)n, pct);
}

bool sysload_sample(void *readers, struct rate_load *out)
{
	const struct sysload_readers *r = readers;

	memset(out, 0, sizeof(*out));
	out->load_average_1min = sysload_read_loadavg(
		r->loadavg_path != NULL ? r->loadavg_path : SYSLOAD_DEFAULT_LOADAVG_PATH);
	out->vcpu_count = r->vcpu_count;
	if (r->use_psi)
		out->has_psi = sysload_read_psi(r->psi_path != NULL ? r->psi_path
								    : SYSLOAD_DEFAULT_PSI_PATH,
						&out->psi_some_avg10);
	return true;
}
