/*
 * Channel manifests (spec bundle-install-update.md §13.8).
 */
#include "channel.h"

#include "bname.h"
#include "hex.h"
#include "json.h"
#include "sha256.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- time ------------------------------------------------------------------ */

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int channel_time_parse(const char *s, size_t len, int64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -1;
	if (sec == 60)
		sec = 59;
	if (s[i] == '.') {
		size_t j = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == j)
			return -1;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (int64_t)(oh * 3600 + om * 60);
	return 0;
}

static void time_format(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%lld", (long long)t);
}

/* ---- URL resolution ---------------------------------------------------------- */

/* RFC 3986 §5.2.4 remove_dot_segments on path (in place). */
static void remove_dots(char *path)
{
	char *in = path, *out = path;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0) {
			in += 2;
		} else if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			if (in[3] == '\0')
				in[2] = '/', in += 2;
			else
				in += 3;
			while (out > path && *--out != '/')
				;
			*out = '\0';
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			in += strlen(in);
		} else {
			/* move the first segment (with its leading '/') to the output */
			if (*in == '/')
				*out++ = *in++;
			while (*in != '\0' && *in != '/')
				*out++ = *in++;
		}
	}
	*out = '\0';
}

static int has_scheme(const char *ref)
{
	size_t i = strcspn(ref, ":/?#");

	return ref[i] == ':' && i > 0;
}

int channel_resolve(const char *base, const char *ref, char *out, size_t out_size, struct errbuf *e)
{
	char tmp[CHANNEL_URL_MAX * 2];
	size_t auth = 0, dir;
	int n;

	if (ref[0] == '\0') {
		err_set(e, "empty url");
		return -1;
	}
	if (has_scheme(ref)) {
		if (strncmp(ref, "https://", 8) != 0) {
			err_set(e, "insecure URL refused");
			return -1;
		}
		n = snprintf(out, out_size, "%s", ref);
		goto done;
	}
	if (strncmp(base, "https://", 8) == 0) {
		auth = 8 + strcspn(base + 8, "/?#");
		if (ref[0] == '/' && ref[1] == '/') {
			n = snprintf(tmp, sizeof(tmp), "https:%s", ref);
			if (n < 0 || (size_t)n >= sizeof(tmp))
				goto toolong;
			auth = 8 + strcspn(tmp + 8, "/?#");
			remove_dots(tmp + auth);
			n = snprintf(out, out_size, "%s", tmp);
			goto done;
		}
	} else if (has_scheme(base)) {
		err_set(e, "insecure URL refused");
		return -1;
	}
	if (ref[0] == '/') {
		n = snprintf(tmp, sizeof(tmp), "%.*s%s", (int)auth, base, ref);
	} else {
		/* merge: the base path up to its last '/' (query ignored) */
		dir = auth + strcspn(base + auth, "?#");
		while (dir > auth && base[dir - 1] != '/')
			dir--;
		if (dir == auth && auth > 0)
			n = snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)auth, base, ref);
		else
			n = snprintf(tmp, sizeof(tmp), "%.*s%s", (int)dir, base, ref);
	}
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto toolong;
	{
		/* dot segments only in the path: keep "./" of a relative local base */
		char *p = tmp + auth;
		char *q = p + strcspn(p, "?#");
		char rest[CHANNEL_URL_MAX];

		if (strlen(q) >= sizeof(rest))
			goto toolong;
		memcpy(rest, q, strlen(q) + 1);
		*q = '\0';
		if (auth == 0 && p[0] == '.' && p[1] == '/') {
			remove_dots(p + 1);
			if (p[1] != '/')
				memmove(p + 2, p + 1, strlen(p + 1) + 1), p[1] = '/';
		} else {
			remove_dots(p);
		}
		n = snprintf(out, out_size, "%s%s", tmp, rest);
	}
done:
	if (n < 0 || (size_t)n >= out_size)
		goto toolong;
	return 0;
toolong:
	err_set(e, "url too long");
	return -1;
}

/* ---- parsing ------------------------------------------------------------------- */

static bool name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > CHANNEL_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* The stem of the manifest URL's last path segment when it ends ".json". */
static bool stem_of(const char *url, const char **stem, size_t *n)
{
	size_t end = strcspn(url, "?#"), start = end;

	while (start > 0 && url[start - 1] != '/')
		start--;
	if (end - start < 5 || memcmp(url + end - 5, ".json", 5) != 0)
		return false;
	*stem = url + start;
	*n = end - start - 5;
	return true;
}

static const char *str_field(const struct json_value *o, const char *key, size_t *len)
{
	const char *s = json_get_string(json_object_get(o, key), len);

	if (s != NULL && strlen(s) != *len)
		return NULL; /* embedded NUL */
	return s;
}

static int copy_str(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_entry(const struct json_value *p, const char *key, const struct channel *c,
		       const struct channel_opts *o, struct channel_entry *en, struct errbuf *e)
{
	const char *s;
	size_t n;
	int64_t size;
	struct bname bn;
	char id[BNAME_NAME_MAX + 1];
	struct errbuf e2 = {{0}};

	if (json_type(p) != JSON_OBJECT) {
		err_set(e, "channel manifest: platforms.%s is not an object", key);
		return -1;
	}
	if (copy_str(en->platform, sizeof(en->platform), key, strlen(key)) != 0) {
		err_set(e, "channel manifest: platform key too long");
		return -1;
	}
	s = str_field(p, "bundle", &n);
	if (s == NULL || n < 8 || strcmp(s + n - 7, ".tar.gz") != 0 ||
	    copy_str(en->bundle, sizeof(en->bundle), s, n) != 0 ||
	    bname_parse(s, n, true, &bn, &e2) != 0) {
		err_set(e, "channel manifest: platforms.%s.bundle: not a bundle name", key);
		return -1;
	}
	s = str_field(p, "sha256", &n);
	if (s == NULL || n != 64 || !hex_valid(s, n, 0)) {
		err_set(e, "channel manifest: platforms.%s.sha256: not 64 lowercase hex", key);
		return -1;
	}
	memcpy(en->sha256, s, 65);
	s = str_field(p, "fingerprint", &n);
	if (s == NULL || n != 64 || !hex_valid(s, n, 0)) {
		err_set(e, "channel manifest: platforms.%s.fingerprint: not 64 lowercase hex", key);
		return -1;
	}
	memcpy(en->fingerprint, s, 65);
	if (json_get_int64(json_object_get(p, "size"), &size) != 0 || size < 1 ||
	    (uint64_t)size > CHANNEL_SIZE_MAX) {
		err_set(e, "channel manifest: platforms.%s.size: not an integer from 1 to 512 MiB",
			key);
		return -1;
	}
	en->size = (uint64_t)size;
	if (bname_id_from_version(c->version, strlen(c->version), id, sizeof(id), &e2) != 0)
		id[0] = '\0';
	if (strcmp(bn.platform, key) != 0 || strcmp(bn.id, id) != 0 ||
	    memcmp(bn.fp12, en->fingerprint, 12) != 0) {
		err_set(e,
			"channel manifest: platforms.%s.bundle %s does not match the platform, "
			"version %s and fingerprint",
			key, en->bundle, c->version);
		return -1;
	}
	s = str_field(p, "url", &n);
	if (s == NULL) {
		err_set(e, "channel manifest: platforms.%s.url: missing", key);
		return -1;
	}
	if (channel_resolve(o->manifest_url, s, en->url, sizeof(en->url), &e2) != 0) {
		err_set(e, "channel manifest: platforms.%s.url: %s", key, e2.msg);
		return -1;
	}
	{
		/* §4.2: .tar.gz -> .sig, else .sig appended (before any query) */
		size_t ul = strcspn(en->url, "?#");
		size_t base = ul >= 7 && memcmp(en->url + ul - 7, ".tar.gz", 7) == 0 ? ul - 7 : ul;
		int w = snprintf(en->sig_url, sizeof(en->sig_url), "%.*s.sig%s", (int)base, en->url,
				 en->url + ul);

		if (w < 0 || (size_t)w >= sizeof(en->sig_url)) {
			err_set(e, "channel manifest: platforms.%s.url: too long", key);
			return -1;
		}
	}
	return 0;
}

int channel_parse(const char *data, size_t len, const struct channel_opts *o, struct channel *c,
		  struct errbuf *e)
{
	struct json_value *root;
	const struct json_value *plats, *ent;
	const char *s, *stem;
	size_t n, stem_len;
	int64_t v;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (len > CHANNEL_FILE_MAX) {
		err_set(e, "channel manifest: larger than %d bytes", CHANNEL_FILE_MAX);
		return -1;
	}
	root = json_parse(data, len, CHANNEL_FILE_MAX, JSON_PARSE_NO_DUPLICATES, e);
	if (root == NULL)
		return -1; /* e: "json: offset N: ..." */
	if (json_type(root) != JSON_OBJECT) {
		err_set(e, "channel manifest: not a JSON object");
		goto out;
	}
	if (json_get_int64(json_object_get(root, "format"), &v) != 0 || v != 1) {
		err_set(e, "channel manifest: format is not 1");
		goto out;
	}
	s = str_field(root, "channel", &n);
	if (s == NULL || !name_valid(s, n)) {
		err_set(e, "channel manifest: channel: not a valid channel name");
		goto out;
	}
	memcpy(c->channel, s, n + 1);
	if (o->manifest_url != NULL && stem_of(o->manifest_url, &stem, &stem_len) &&
	    (stem_len != n || memcmp(stem, s, n) != 0)) {
		err_set(e, "channel manifest: channel %s served as %.*s.json", c->channel,
			(int)stem_len, stem);
		goto out;
	}
	s = str_field(root, "version", &n);
	if (s == NULL || !bname_version_valid(s, n) ||
	    copy_str(c->version, sizeof(c->version), s, n) != 0) {
		err_set(e, "channel manifest: version: not a valid version");
		goto out;
	}
	s = str_field(root, "expires", &n);
	if (s == NULL || copy_str(c->expires_at, sizeof(c->expires_at), s, n) != 0 ||
	    channel_time_parse(s, n, &c->expires) != 0) {
		err_set(e, "channel manifest: expires: not an RFC 3339 time");
		goto out;
	}
	if (o->now >= c->expires) {
		char now[32];

		time_format(o->now, now);
		err_set(e, "channel manifest expired at %s (clock %s)", c->expires_at, now);
		goto out;
	}
	if (json_get_int64(json_object_get(root, "rollout_percent"), &v) != 0 || v < 0 || v > 100) {
		err_set(e, "channel manifest: rollout_percent: not an integer from 0 to 100");
		goto out;
	}
	c->rollout_percent = (unsigned)v;
	plats = json_object_get(root, "platforms");
	if (json_type(plats) != JSON_OBJECT) {
		err_set(e, "channel manifest: platforms: not an object");
		goto out;
	}
	ent = json_object_get(plats, o->platform);
	if (ent == NULL) {
		err_set(e, "channel %s has no build for %s", c->channel, o->platform);
		goto out;
	}
	if (parse_entry(ent, o->platform, c, o, &c->entry, e) != 0)
		goto out;
	rc = 0;
out:
	json_free(root);
	return rc;
}

int channel_verify_sig(const struct sig_keyset *ks, const char *data, size_t len,
		       const uint8_t *sig, size_t sig_len, char key_id[SIG_KEY_ID_LEN + 1],
		       struct errbuf *e)
{
	uint8_t d[SHA256_LEN];
	struct errbuf e2 = {{0}};

	if (ks == NULL || sig_keyset_count(ks) == 0) {
		err_set(e, "channel manifest signature: no trusted keys (/etc/agentd/trusted.pem)");
		return -1;
	}
	sha256_buf(data, len, d);
	if (sig_verify_hash(ks, d, sig, sig_len, key_id, &e2) != SIG_OK) {
		err_set(e, "channel manifest signature: %s", e2.msg);
		return -1;
	}
	return 0;
}
