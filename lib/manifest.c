/* The bundle MANIFEST and rule table (spec bundle-install-update.md §2). */
#include "manifest.h"

#include "bname.h"
#include "bounds.h"
#include "hex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct manifest {
	char version[BNAME_VERSION_MAX + 1];
	char platform[BNAME_PLATFORM_MAX + 1];
	uint64_t sde;
	struct manifest_entry *ents;
	size_t n, cap;
};

static const struct manifest_rule rules[] = {
	{"bin/agent-install", 0755, true, "build/<platform>/agent-install"},
	{"bin/agentd", 0755, true, "build/<platform>/agentd"},
	{"bin/reserve-control-bandwidth.sh", 0755, true,
	 "host-tuning/reserve-control-bandwidth.sh"},
	{"bin/scanner", 0755, false, "SCANNER_BIN="},
	{"bin/tune-scanner-host.sh", 0755, true, "host-tuning/tune-scanner-host.sh"},
	{"env/runtime.env", 0644, false, "SITE_ENV="},
	{"env/runtime.env.template", 0644, true, "templates/runtime.env.template"},
	{"install.sh", 0755, true, "templates/install.sh.in"},
	{"runit/agentd-remote-update/run", 0755, true, "templates/runit/agentd-remote-update/run"},
	{"runit/agentd/run", 0755, true, "templates/runit/agentd/run"},
	{"systemd/agentd-remote-update.path", 0644, true,
	 "templates/systemd/agentd-remote-update.path"},
	{"systemd/agentd-remote-update.service", 0644, true,
	 "templates/systemd/agentd-remote-update.service"},
	{"systemd/agentd.service", 0644, true, "templates/systemd/agentd.service"},
};

const struct manifest_rule *manifest_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

const struct manifest_rule *manifest_rule_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].path, path) == 0)
			return &rules[i];
	return NULL;
}

bool manifest_path_valid(const char *p, size_t len)
{
	size_t i, comp = 0;

	if (len == 0 || len > BOUNDS_MANIFEST_PATH_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		if (i == len || p[i] == '/') {
			size_t cl = i - comp;
			if (cl == 0 || (cl == 1 && p[comp] == '.') ||
			    (cl == 2 && p[comp] == '.' && p[comp + 1] == '.'))
				return false;
			comp = i + 1;
			continue;
		}
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '_' || p[i] == '-'))
			return false;
	}
	return true;
}

static struct manifest *alloc_manifest(void)
{
	return calloc(1, sizeof(struct manifest));
}

void manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->ents);
	free(m);
}

static int grow(struct manifest *m, struct errbuf *e)
{
	size_t nc;
	struct manifest_entry *ne;

	if (m->n < m->cap)
		return 0;
	if (m->n >= BOUNDS_MANIFEST_FILES) {
		err_set(e, "more than %d files", BOUNDS_MANIFEST_FILES);
		return -1;
	}
	nc = m->cap ? m->cap * 2 : 16;
	if (nc > BOUNDS_MANIFEST_FILES)
		nc = BOUNDS_MANIFEST_FILES;
	ne = realloc(m->ents, nc * sizeof(*ne));
	if (ne == NULL) {
		err_sys(e, errno, "manifest");
		return -1;
	}
	m->ents = ne;
	m->cap = nc;
	return 0;
}

/* Parse a decimal without leading zeros (except "0") into *v. */
static bool parse_dec(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || (len > 1 && s[0] == '0') || len > 19)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

static bool is_lower_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int parse_file_line(struct manifest *m, const char *l, size_t len, struct errbuf *e)
{
	struct manifest_entry *ent;
	const char *p;
	uint64_t size;
	size_t rest;

	/* <64 hex> SP <4 octal> SP <size> SP <path> */
	if (len < 64 + 1 + 4 + 1 + 1 + 1 + 1 || l[64] != ' ' || l[69] != ' ') {
		err_set(e, "malformed file line");
		return -1;
	}
	if (!is_lower_hex64(l)) {
		err_set(e, "sha256 is not 64 lowercase hex digits");
		return -1;
	}
	if (memcmp(l + 65, "0755", 4) != 0 && memcmp(l + 65, "0644", 4) != 0) {
		err_set(e, "mode '%.4s' is not 0755 or 0644", l + 65);
		return -1;
	}
	p = memchr(l + 70, ' ', len - 70);
	if (p == NULL) {
		err_set(e, "malformed file line");
		return -1;
	}
	if (!parse_dec(l + 70, (size_t)(p - (l + 70)), UINT64_MAX / 2, &size)) {
		err_set(e, "size '%.*s' is not a decimal without leading zeros",
			(int)((size_t)(p - (l + 70)) > 24 ? 24 : (size_t)(p - (l + 70))), l + 70);
		return -1;
	}
	p++;
	rest = len - (size_t)(p - l);
	if (!manifest_path_valid(p, rest)) {
		err_set(e, "invalid path '%.*s'", (int)(rest > 210 ? 210 : rest), p);
		return -1;
	}
	if (rest == 8 && memcmp(p, "MANIFEST", 8) == 0) {
		err_set(e, "MANIFEST lists itself");
		return -1;
	}
	if (grow(m, e) < 0)
		return -1;
	ent = &m->ents[m->n];
	memset(ent, 0, sizeof(*ent));
	if (hex_decode(l, 64, ent->sha256, sizeof(ent->sha256), NULL, 0) < 0) {
		err_set(e, "sha256 is not 64 lowercase hex digits");
		return -1;
	}
	ent->mode = l[66] == '7' ? 0755 : 0644;
	ent->size = size;
	memcpy(ent->path, p, rest);
	ent->path[rest] = '\0';
	if (m->n > 0) {
		int c = strcmp(m->ents[m->n - 1].path, ent->path);
		if (c == 0) {
			err_set(e, "duplicate path '%s'", ent->path);
			return -1;
		}
		if (c > 0) {
			err_set(e, "path '%s' is not sorted after '%s'", ent->path,
				m->ents[m->n - 1].path);
			return -1;
		}
	}
	m->n++;
	return 0;
}

static int parse_header(struct manifest *m, int idx, const char *l, size_t len, struct errbuf *e)
{
	static const char *const keys[] = {"format", "version", "platform", "source_date_epoch"};
	size_t kl = strlen(keys[idx]);
	const char *v = l + kl + 1;
	size_t vl;

	if (len <= kl + 1 || memcmp(l, keys[idx], kl) != 0 || l[kl] != ' ') {
		const char *sp = memchr(l, ' ', len);
		size_t show = sp ? (size_t)(sp - l) : len;
		err_set(e, "expected header '%s', found '%.*s'", keys[idx],
			(int)(show > 40 ? 40 : show), l);
		return -1;
	}
	vl = len - kl - 1;
	switch (idx) {
	case 0:
		if (vl != 1 || v[0] != '1') {
			err_set(e, "unsupported format '%.*s'", (int)(vl > 20 ? 20 : vl), v);
			return -1;
		}
		return 0;
	case 1:
		if (!bname_version_valid(v, vl)) {
			err_set(e, "invalid version '%.*s'", (int)(vl > 70 ? 70 : vl), v);
			return -1;
		}
		memcpy(m->version, v, vl);
		m->version[vl] = '\0';
		return 0;
	case 2: {
		char norm[BNAME_PLATFORM_MAX + 1];
		if (vl > BNAME_PLATFORM_MAX ||
		    bname_platform_normalize(v, vl, norm, sizeof(norm), NULL) < 0 ||
		    strlen(norm) != vl || memcmp(norm, v, vl) != 0) {
			err_set(e, "platform '%.*s' is not a normalised platform key",
				(int)(vl > 70 ? 70 : vl), v);
			return -1;
		}
		memcpy(m->platform, v, vl);
		m->platform[vl] = '\0';
		return 0;
	}
	default:
		if (bname_sde_parse(v, vl, &m->sde, e) < 0)
			return -1;
		return 0;
	}
}

int manifest_parse(const char *buf, size_t len, struct manifest **out, struct errbuf *e)
{
	struct manifest *m;
	size_t pos = 0, line = 0;
	struct errbuf le;

	*out = NULL;
	if (len > BOUNDS_MANIFEST_MAX) {
		err_set(e, "larger than %d bytes", BOUNDS_MANIFEST_MAX);
		return -1;
	}
	if (len == 0) {
		err_set(e, "empty");
		return -1;
	}
	if (buf[len - 1] != '\n') {
		err_set(e, "last line is not terminated by LF");
		return -1;
	}
	m = alloc_manifest();
	if (m == NULL) {
		err_sys(e, errno, "manifest");
		return -1;
	}
	err_clear(&le);
	while (pos < len) {
		const char *l = buf + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = (size_t)(nl - l), i;

		line++;
		pos += ll + 1;
		if (ll == 0) {
			err_set(&le, "blank line");
			goto bad;
		}
		for (i = 0; i < ll; i++) {
			unsigned char c = (unsigned char)l[i];
			if (c == '\r') {
				err_set(&le, "carriage return");
				goto bad;
			}
			if (c < 0x20 || c > 0x7e) {
				err_set(&le, "byte 0x%02x is not printable ASCII", c);
				goto bad;
			}
		}
		if (l[ll - 1] == ' ') {
			err_set(&le, "trailing space");
			goto bad;
		}
		if (line <= 4) {
			if (parse_header(m, (int)line - 1, l, ll, &le) < 0)
				goto bad;
		} else if (parse_file_line(m, l, ll, &le) < 0) {
			goto bad;
		}
	}
	if (line < 4) {
		err_set(e, "line %zu: missing header lines", line + 1);
		manifest_free(m);
		return -1;
	}
	*out = m;
	return 0;
bad:
	err_set(e, "line %zu: %s", line, le.msg);
	manifest_free(m);
	return -1;
}

struct manifest *manifest_new(const char *version, const char *platform, uint64_t sde,
			      struct errbuf *e)
{
	struct manifest *m;
	char norm[BNAME_PLATFORM_MAX + 1];

	if (!bname_version_valid(version, strlen(version))) {
		err_set(e, "invalid version '%s'", version);
		return NULL;
	}
	if (bname_platform_normalize(platform, strlen(platform), norm, sizeof(norm), e) < 0)
		return NULL;
	if (strcmp(norm, platform) != 0) {
		err_set(e, "platform '%s' is not normalised", platform);
		return NULL;
	}
	if (sde > BNAME_SDE_MAX) {
		err_set(e, "SOURCE_DATE_EPOCH out of range");
		return NULL;
	}
	m = alloc_manifest();
	if (m == NULL) {
		err_sys(e, errno, "manifest");
		return NULL;
	}
	memcpy(m->version, version, strlen(version) + 1);
	memcpy(m->platform, platform, strlen(platform) + 1);
	m->sde = sde;
	return m;
}

int manifest_add(struct manifest *m, const struct manifest_entry *ent, struct errbuf *e)
{
	size_t pl = strnlen(ent->path, sizeof(ent->path));

	if (pl == sizeof(ent->path) || !manifest_path_valid(ent->path, pl) ||
	    strcmp(ent->path, "MANIFEST") == 0) {
		err_set(e, "invalid bundle path '%.*s'", (int)(pl > 200 ? 200 : pl), ent->path);
		return -1;
	}
	if (ent->mode != 0755 && ent->mode != 0644) {
		err_set(e, "%s: mode %04o is not 0755 or 0644", ent->path, ent->mode);
		return -1;
	}
	if (grow(m, e) < 0)
		return -1;
	m->ents[m->n++] = *ent;
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct manifest_entry *)a)->path,
		      ((const struct manifest_entry *)b)->path);
}

int manifest_format(struct manifest *m, struct buf *out, struct errbuf *e)
{
	size_t i;
	char hex[65];

	if (m->n > 1)
		qsort(m->ents, m->n, sizeof(m->ents[0]), cmp_ent);
	for (i = 1; i < m->n; i++)
		if (strcmp(m->ents[i - 1].path, m->ents[i].path) == 0) {
			err_set(e, "duplicate bundle path '%s'", m->ents[i].path);
			return -1;
		}
	buf_reset(out);
	if (buf_printf(out, e, "format 1\nversion %s\nplatform %s\nsource_date_epoch %llu\n",
		       m->version, m->platform, (unsigned long long)m->sde) < 0)
		return -1;
	for (i = 0; i < m->n; i++) {
		const struct manifest_entry *x = &m->ents[i];
		if (hex_encode(x->sha256, sizeof(x->sha256), hex, sizeof(hex)) < 0) {
			err_set(e, "hex");
			return -1;
		}
		if (buf_printf(out, e, "%s %04o %llu %s\n", hex, x->mode,
			       (unsigned long long)x->size, x->path) < 0)
			return -1;
	}
	if (buf_len(out) > BOUNDS_MANIFEST_MAX) {
		err_set(e, "MANIFEST larger than %d bytes", BOUNDS_MANIFEST_MAX);
		return -1;
	}
	return 0;
}

const char *manifest_version(const struct manifest *m)
{
	return m->version;
}

const char *manifest_platform(const struct manifest *m)
{
	return m->platform;
}

uint64_t manifest_sde(const struct manifest *m)
{
	return m->sde;
}

size_t manifest_count(const struct manifest *m)
{
	return m->n;
}

const struct manifest_entry *manifest_entry(const struct manifest *m, size_t i)
{
	return i < m->n ? &m->ents[i] : NULL;
}

long manifest_find(const struct manifest *m, const char *path)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->ents[mid].path, path);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

uint64_t manifest_total_size(const struct manifest *m)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < m->n; i++)
		t += m->ents[i].size;
	return t;
}

bool manifest_is_parent_dir(const struct manifest *m, const char *dir, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < m->n; i++)
		if (strlen(m->ents[i].path) > len && memcmp(m->ents[i].path, dir, len) == 0 &&
		    m->ents[i].path[len] == '/')
			return true;
	return false;
}

int manifest_check_required(const struct manifest *m, struct errbuf *e)
{
	char list[ERRBUF_SIZE];
	size_t i, n, used = 0;
	int missing = 0;

	list[0] = '\0';
	manifest_rules(&n);
	for (i = 0; i < n; i++) {
		if (!rules[i].required || manifest_find(m, rules[i].path) >= 0)
			continue;
		missing++;
		if (used + strlen(rules[i].path) + 3 < sizeof(list)) {
			memcpy(list + used, missing > 1 ? ", " : "", missing > 1 ? 2 : 0);
			used += missing > 1 ? 2 : 0;
			memcpy(list + used, rules[i].path, strlen(rules[i].path) + 1);
			used += strlen(rules[i].path);
		}
	}
	if (missing) {
		err_set(e, "required file%s not listed: %s", missing > 1 ? "s" : "", list);
		return -1;
	}
	return 0;
}
