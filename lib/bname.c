/* Bundle names and platform keys (spec bundle-install-update.md §1, §3, §13.3). */
#include "bname.h"

#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static const char *arch_alias(const char *arch, size_t len)
{
	static const struct {
		const char *raw, *arch;
	} tab[] = {
		{"amd64", "x86_64"}, {"x64", "x86_64"},   {"arm64", "aarch64"},
		{"armv7l", "armv7"}, {"armv6l", "armv6"},
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].raw) == len && memcmp(tab[i].raw, arch, len) == 0)
			return tab[i].arch;
	return NULL;
}

/* Steps 5-7 of §1.2 on an already lowercased, substituted key in t[0..n). */
static int finish_key(const char *t, size_t n, const char *orig, size_t orig_len, char *out,
		      size_t out_size, struct errbuf *e)
{
	char c1[BNAME_PLATFORM_MAX * 2 + 8];
	size_t i, m = 0, dash;
	const char *alias;

	for (i = 0; i < n; i++) {
		if (t[i] == '-' && (m == 0 || c1[m - 1] == '-'))
			continue; /* collapse runs, drop leading */
		if (m >= sizeof(c1) - 1)
			goto bad;
		c1[m++] = t[i];
	}
	while (m > 0 && c1[m - 1] == '-')
		m--;
	for (dash = 0; dash < m && c1[dash] != '-'; dash++)
		;
	if (m == 0 || dash == m)
		goto bad;
	alias = arch_alias(c1 + dash + 1, m - dash - 1);
	if (alias) {
		if (dash + 1 + strlen(alias) > BNAME_PLATFORM_MAX ||
		    out_size < dash + 2 + strlen(alias))
			goto bad;
		memcpy(out, c1, dash + 1);
		memcpy(out + dash + 1, alias, strlen(alias) + 1);
		m = dash + 1 + strlen(alias);
	} else {
		if (m > BNAME_PLATFORM_MAX || out_size < m + 1)
			goto bad;
		memcpy(out, c1, m);
		out[m] = '\0';
	}
	for (i = 0; i < m; i++) {
		char c = out[i];
		if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-'))
			goto bad;
		if (c == '_' && i + 1 < m && out[i + 1] == '_')
			goto bad;
	}
	return 0;
bad:
	if (out_size > 0)
		out[0] = '\0';
	err_set(e, "invalid platform key '%.*s'", (int)(orig_len > 80 ? 80 : orig_len), orig);
	return -1;
}

int bname_platform_normalize(const char *in, size_t len, char *out, size_t out_size,
			     struct errbuf *e)
{
	char t[BNAME_PLATFORM_MAX * 2 + 8];
	size_t b = 0, end = len, i, n = 0;

	while (b < end && (in[b] == ' ' || in[b] == '\t' || in[b] == '\n' || in[b] == '\r' ||
			   in[b] == '\f' || in[b] == '\v'))
		b++;
	while (end > b && (in[end - 1] == ' ' || in[end - 1] == '\t' || in[end - 1] == '\n' ||
			   in[end - 1] == '\r' || in[end - 1] == '\f' || in[end - 1] == '\v'))
		end--;
	if (end - b >= sizeof(t) - 1) {
		err_set(e, "invalid platform key '%.*s...': too long", 40, in + b);
		return -1;
	}
	for (i = b; i < end; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '/' || c == ' ')
			c = '-';
		t[n++] = c;
	}
	/* step 4: every "macos" -> "darwin" (one byte longer each time) */
	{
		char u[sizeof(t) + sizeof(t) / 5 + 8];
		size_t m = 0;
		for (i = 0; i < n;) {
			if (i + 5 <= n && memcmp(t + i, "macos", 5) == 0) {
				memcpy(u + m, "darwin", 6);
				m += 6;
				i += 5;
			} else {
				u[m++] = t[i++];
			}
		}
		return finish_key(u, m, in, len, out, out_size, e);
	}
}

int bname_platform_from_uname(const char *sysname, const char *machine, char *out, size_t out_size,
			      struct errbuf *e)
{
	char key[BNAME_PLATFORM_MAX * 2 + 2];
	size_t a = strlen(sysname), b = strlen(machine);

	if (a + b + 2 > sizeof(key)) {
		err_set(e, "invalid platform key: uname values too long");
		return -1;
	}
	memcpy(key, sysname, a);
	key[a] = '-';
	memcpy(key + a + 1, machine, b);
	return bname_platform_normalize(key, a + 1 + b, out, out_size, e);
}

/* A number of §13.3: digits, no leading zero, below 2^31. */
static bool version_number(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v < (1ULL << 31);
}

bool bname_version_valid(const char *v, size_t len)
{
	size_t i = 0, start, part;

	if (len == 0 || len > BNAME_VERSION_MAX)
		return false;
	for (part = 0; part < 3; part++) {
		start = i;
		while (i < len && is_digit(v[i]))
			i++;
		if (!version_number(v + start, i - start))
			return false;
		if (part < 2) {
			if (i >= len || v[i] != '.')
				return false;
			i++;
		}
	}
	if (i == len)
		return true;
	if (v[i] != '-')
		return false;
	i++;
	for (;;) {
		bool numeric = true;
		start = i;
		while (i < len && is_alnum(v[i])) {
			if (!is_digit(v[i]))
				numeric = false;
			i++;
		}
		if (i == start)
			return false;
		if (numeric && i - start > 1 && v[start] == '0')
			return false;
		if (i == len)
			return true;
		if (v[i] != '.')
			return false;
		i++;
	}
}

int bname_id_from_version(const char *v, size_t len, char *out, size_t out_size, struct errbuf *e)
{
	size_t i;

	if (len == 0 || len > BNAME_VERSION_MAX || out_size < len + 1) {
		err_set(e, "version must be 1 to %d bytes", BNAME_VERSION_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = (is_alnum(v[i]) || v[i] == '.' || v[i] == '_') ? v[i] : '_';
	out[len] = '\0';
	return 0;
}

int bname_sde_parse(const char *s, size_t len, uint64_t *out, struct errbuf *e)
{
	uint64_t v = 0;
	size_t i;
	const char *why = NULL;

	if (len == 0)
		why = "empty";
	else if (len > 1 && s[0] == '0')
		why = "leading zero";
	for (i = 0; why == NULL && i < len; i++) {
		if (!is_digit(s[i]))
			why = "not a decimal number";
		else if (i >= 10 || (v = v * 10 + (uint64_t)(s[i] - '0')) > BNAME_SDE_MAX)
			why = "larger than 8589934591";
	}
	if (why) {
		err_set(e, "malformed SOURCE_DATE_EPOCH '%.*s': %s", (int)(len > 40 ? 40 : len), s,
			why);
		return -1;
	}
	*out = v;
	return 0;
}

void bname_stamp(uint64_t sde, char out[BNAME_STAMP_LEN + 1])
{
	/* days-to-civil (H. Hinnant), valid for every SDE we accept */
	uint64_t days = sde / 86400, secs = sde % 86400;
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	uint64_t m = mp < 10 ? mp + 3 : mp - 9;
	uint64_t f[6];
	int widths[6] = {4, 2, 2, 2, 2, 2};
	size_t i, p = 0;
	int k;

	if (m <= 2)
		y++;
	f[0] = y;
	f[1] = m;
	f[2] = d;
	f[3] = secs / 3600;
	f[4] = secs / 60 % 60;
	f[5] = secs % 60;
	for (i = 0; i < 6; i++) {
		uint64_t v = f[i];
		for (k = widths[i] - 1; k >= 0; k--) {
			out[p + (size_t)k] = (char)('0' + v % 10);
			v /= 10;
		}
		p += (size_t)widths[i];
	}
	out[BNAME_STAMP_LEN] = '\0';
}

int bname_format(const char *platform, uint64_t sde, const char *version, const char *fp12,
		 char *out, size_t out_size, struct errbuf *e)
{
	static const char prefix[] = "agent-bundle-";
	char stamp[BNAME_STAMP_LEN + 1], id[BNAME_VERSION_MAX + 1];
	size_t pl = strlen(platform), il, need, p = 0, i;

	if (pl == 0 || pl > BNAME_PLATFORM_MAX || strstr(platform, "__") != NULL) {
		err_set(e, "invalid platform key '%s'", platform);
		return -1;
	}
	if (!bname_version_valid(version, strlen(version))) {
		err_set(e, "invalid version '%s'", version);
		return -1;
	}
	if (strlen(fp12) != BNAME_FP12_LEN) {
		err_set(e, "invalid fingerprint prefix '%s'", fp12);
		return -1;
	}
	for (i = 0; i < BNAME_FP12_LEN; i++)
		if (!is_lower_hex(fp12[i])) {
			err_set(e, "invalid fingerprint prefix '%s'", fp12);
			return -1;
		}
	if (sde > BNAME_SDE_MAX) {
		err_set(e, "SOURCE_DATE_EPOCH out of range");
		return -1;
	}
	if (bname_id_from_version(version, strlen(version), id, sizeof(id), e) < 0)
		return -1;
	il = strlen(id);
	bname_stamp(sde, stamp);
	need = sizeof(prefix) - 1 + pl + 2 + BNAME_STAMP_LEN + 1 + il + 1 + BNAME_FP12_LEN;
	if (need + 1 > out_size || need > BNAME_NAME_MAX) {
		err_set(e, "bundle name too long");
		return -1;
	}
	memcpy(out + p, prefix, sizeof(prefix) - 1);
	p += sizeof(prefix) - 1;
	memcpy(out + p, platform, pl);
	p += pl;
	memcpy(out + p, "__", 2);
	p += 2;
	memcpy(out + p, stamp, BNAME_STAMP_LEN);
	p += BNAME_STAMP_LEN;
	out[p++] = '-';
	memcpy(out + p, id, il);
	p += il;
	out[p++] = '-';
	memcpy(out + p, fp12, BNAME_FP12_LEN);
	p += BNAME_FP12_LEN;
	out[p] = '\0';
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

int bname_parse(const char *s, size_t len, bool current_only, struct bname *out, struct errbuf *e)
{
	static const char prefix[] = "agent-bundle-", legacy[] = "agent-bundle-linux-x86_64-";
	const size_t pre = sizeof(prefix) - 1;
	const char *rest, *sep = NULL;
	size_t i, rl, last;
	int show = (int)(len > 120 ? 120 : len);

	memset(out, 0, sizeof(*out));
	if (len >= 7 && memcmp(s + len - 7, ".tar.gz", 7) == 0)
		len -= 7;
	if (len > BNAME_NAME_MAX || memchr(s, '\0', len) != NULL || len < pre ||
	    memcmp(s, prefix, pre) != 0)
		goto bad;
	for (i = pre; i + 1 < len; i++)
		if (s[i] == '_' && s[i + 1] == '_') {
			sep = s + i;
			break;
		}
	if (sep == NULL) {
		if (current_only || len <= sizeof(legacy) - 1 ||
		    memcmp(s, legacy, sizeof(legacy) - 1) != 0)
			goto bad;
		out->kind = BNAME_LEGACY;
		memcpy(out->platform, "linux-x86_64", 13);
		memcpy(out->id, s + sizeof(legacy) - 1, len - (sizeof(legacy) - 1));
		return 0;
	}
	if (bname_platform_normalize(s + pre, (size_t)(sep - (s + pre)), out->platform,
				     sizeof(out->platform), NULL) < 0)
		goto bad;
	rest = sep + 2;
	rl = len - (size_t)(rest - s);
	if (rl < BNAME_STAMP_LEN + 2 || !all_digits(rest, BNAME_STAMP_LEN) ||
	    rest[BNAME_STAMP_LEN] != '-')
		goto bad;
	memcpy(out->stamp, rest, BNAME_STAMP_LEN);
	for (last = rl; last > 0 && rest[last - 1] != '-'; last--)
		;
	/* last-1 is the index of the last '-' (at least BNAME_STAMP_LEN) */
	if (last - 1 > BNAME_STAMP_LEN) {
		size_t idl = last - 1 - (BNAME_STAMP_LEN + 1), fl = rl - last;
		bool ok = fl == BNAME_FP12_LEN && idl >= 1 && idl <= BNAME_VERSION_MAX;
		for (i = 0; ok && i < fl; i++)
			ok = is_lower_hex(rest[last + i]);
		for (i = 0; ok && i < idl; i++) {
			char c = rest[BNAME_STAMP_LEN + 1 + i];
			ok = is_alnum(c) || c == '.' || c == '_';
		}
		if (ok) {
			out->kind = BNAME_CURRENT;
			memcpy(out->id, rest + BNAME_STAMP_LEN + 1, idl);
			memcpy(out->fp12, rest + last, fl);
			return 0;
		}
	}
	if (!current_only && all_digits(rest + BNAME_STAMP_LEN + 1, rl - BNAME_STAMP_LEN - 1)) {
		out->kind = BNAME_PACKAGER;
		memcpy(out->id, rest + BNAME_STAMP_LEN + 1, rl - BNAME_STAMP_LEN - 1);
		return 0;
	}
bad:
	memset(out, 0, sizeof(*out));
	err_set(e, "'%.*s' is not a bundle name (agent-bundle-<platform>__<stamp>-<id>-<fp12>)",
		show, s);
	return -1;
}
