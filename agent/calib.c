#include "calib.h"

#include "bounds.h"
#include "fsutil.h"
#include "json.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct calib {
	char *path;
	char *lock_path;
	int lock_wait_ms;
};

/* Temp names hold only the pid: stores within one process are serialised
 * (§11.4). */
static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;

const char *calib_status_name(enum calib_status s)
{
	switch (s) {
	case CALIB_OK:
		return "ok";
	case CALIB_MISSING:
		return "missing";
	case CALIB_UNREADABLE:
		return "unreadable";
	case CALIB_INVALID:
		return "invalid";
	}
	return "?";
}

void calib_map_free(struct calib_map *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->entries[i].iface);
		free(m->entries[i].updated_at);
	}
	free(m->entries);
	m->entries = NULL;
	m->count = 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct calib_entry *x = a, *y = b;

	return strcmp(x->iface, y->iface);
}

const struct calib_entry *calib_map_find(const struct calib_map *m, const char *iface)
{
	struct calib_entry key = {.iface = (char *)(uintptr_t)iface};

	if (m->count == 0 || iface == NULL)
		return NULL;
	return bsearch(&key, m->entries, m->count, sizeof(key), entry_cmp);
}

/* Append without sorting; takes ownership of iface and ts. */
static int map_push(struct calib_map *m, char *iface, int64_t rate, char *ts, size_t *cap)
{
	if (m->count == *cap) {
		size_t ncap = *cap == 0 ? 8 : *cap * 2;
		struct calib_entry *n = realloc(m->entries, ncap * sizeof(*n));
		if (n == NULL) {
			free(iface);
			free(ts);
			return -1;
		}
		m->entries = n;
		*cap = ncap;
	}
	m->entries[m->count].iface = iface;
	m->entries[m->count].learned_rate = rate;
	m->entries[m->count].updated_at = ts;
	m->count++;
	return 0;
}

int calib_map_set(struct calib_map *m, const char *iface, int64_t learned_rate,
		  const char *updated_at)
{
	struct calib_entry *e = (struct calib_entry *)(uintptr_t)calib_map_find(m, iface);
	char *ts = strdup(updated_at != NULL ? updated_at : "");
	char *name;
	size_t cap = m->count;

	if (ts == NULL)
		return -1;
	if (e != NULL) {
		free(e->updated_at);
		e->updated_at = ts;
		e->learned_rate = learned_rate;
		return 0;
	}
	name = strdup(iface);
	if (name == NULL) {
		free(ts);
		return -1;
	}
	if (map_push(m, name, learned_rate, ts, &cap) < 0)
		return -1;
	qsort(m->entries, m->count, sizeof(m->entries[0]), entry_cmp);
	return 0;
}

bool calib_map_remove(struct calib_map *m, const char *iface)
{
	const struct calib_entry *e = calib_map_find(m, iface);
	size_t i;

	if (e == NULL)
		return false;
	i = (size_t)(e - m->entries);
	free(m->entries[i].iface);
	free(m->entries[i].updated_at);
	memmove(&m->entries[i], &m->entries[i + 1], (m->count - i - 1) * sizeof(m->entries[0]));
	m->count--;
	return true;
}

int calib_parse(const char *data, size_t len, struct calib_map *m)
{
	struct json_value *root;
	const struct json_value *ifs;
	size_t i, n, cap = 0;

	memset(m, 0, sizeof(*m));
	m->status = CALIB_INVALID;
	root = json_parse(data, len, BOUNDS_CALIB_FILE_MAX, 0, NULL);
	if (root == NULL || json_type(root) != JSON_OBJECT)
		goto out;
	ifs = json_object_get(root, "interfaces");
	if (ifs == NULL || json_type(ifs) != JSON_OBJECT)
		goto out;
	m->status = CALIB_OK;
	n = json_object_size(ifs);
	for (i = 0; i < n; i++) {
		size_t klen, tlen = 0;
		const char *key = json_object_key_at(ifs, i, &klen);
		const struct json_value *ent = json_object_value_at(ifs, i);
		const struct json_value *lr, *ua;
		const char *ts = "";
		int64_t rate;
		char *k, *t;

		if (key == NULL || ent == NULL || json_type(ent) != JSON_OBJECT ||
		    memchr(key, '\0', klen) != NULL) {
			m->dropped++;
			continue;
		}
		lr = json_object_get(ent, "learned_rate");
		if (lr == NULL || json_get_int64(lr, &rate) < 0 || rate <= 0) {
			m->dropped++;
			continue;
		}
		ua = json_object_get(ent, "updated_at");
		if (ua != NULL) {
			ts = json_get_string(ua, &tlen);
			if (ts == NULL || strlen(ts) != tlen) {
				m->dropped++;
				continue;
			}
		}
		k = strdup(key);
		t = strdup(ts);
		if (k == NULL || t == NULL) {
			free(k);
			free(t);
			goto oom;
		}
		if (map_push(m, k, rate, t, &cap) < 0)
			goto oom;
	}
	if (m->count > 1)
		qsort(m->entries, m->count, sizeof(m->entries[0]), entry_cmp);
out:
	json_free(root);
	return 0;
oom:
	json_free(root);
	calib_map_free(m);
	m->status = CALIB_UNREADABLE;
	return -1;
}

int calib_serialize(const struct calib_map *m, struct buf *out, struct errbuf *e)
{
	struct json_value *root = json_new_object();
	struct json_value *ifs = json_new_object();
	char *text = NULL;
	size_t i, len = 0;
	int rc = 0;

	for (i = 0; i < m->count; i++) {
		struct json_value *ent = json_new_object();
		rc |= json_object_set_int(ent, "learned_rate", m->entries[i].learned_rate);
		rc |= json_object_set_string(ent, "updated_at", m->entries[i].updated_at);
		rc |= json_object_set(ifs, m->entries[i].iface, ent);
	}
	rc |= json_object_set(root, "interfaces", ifs);
	rc |= json_object_set_int(root, "version", 1);
	if (root == NULL || rc != 0) {
		err_set(e, "calibration: out of memory");
		json_free(root);
		return -1;
	}
	text = json_write_alloc(root, JSON_WRITE_CANONICAL, BOUNDS_CALIB_FILE_MAX * 8, &len, e);
	json_free(root);
	if (text == NULL)
		return -1;
	rc = buf_append(out, text, len, e);
	free(text);
	return rc;
}

struct calib *calib_new(const char *path, int lock_wait_ms)
{
	struct calib *c = calloc(1, sizeof(*c));
	size_t n = strlen(path);

	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	c->lock_path = malloc(n + sizeof(".lock"));
	if (c->path == NULL || c->lock_path == NULL) {
		calib_free(c);
		return NULL;
	}
	memcpy(c->lock_path, path, n);
	memcpy(c->lock_path + n, ".lock", sizeof(".lock"));
	c->lock_wait_ms = lock_wait_ms;
	return c;
}

void calib_free(struct calib *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->lock_path);
	free(c);
}

const char *calib_path(const struct calib *c)
{
	return c->path;
}

void calib_load(const struct calib *c, struct calib_map *m)
{
	char *data = NULL;
	size_t len = 0;

	memset(m, 0, sizeof(*m));
	if (fsutil_read_file(c->path, BOUNDS_CALIB_FILE_MAX, 0, &data, &len, NULL) < 0) {
		m->status = errno == ENOENT ? CALIB_MISSING : CALIB_UNREADABLE;
		return;
	}
	calib_parse(data, len, m);
	free(data);
}

bool calib_lookup(const struct calib *c, const char *iface, int64_t *rate)
{
	struct calib_map m;
	const struct calib_entry *e;
	bool found = false;

	calib_load(c, &m);
	e = calib_map_find(&m, iface);
	if (e != NULL) {
		*rate = e->learned_rate;
		found = true;
	}
	calib_map_free(&m);
	return found;
}

int calib_now_utc(char *out, size_t outsz)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ? -1 : 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mkdir -p of the directory part of path (nothing for a bare name). */
static int make_parent(const char *path, struct errbuf *e)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc;

	if (slash == NULL || slash == path)
		return 0;
	dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		err_sys(e, ENOMEM, "mkdir %s", path);
		return -1;
	}
	rc = fsutil_mkdir_p(dir, CALIB_DIR_MODE, e);
	free(dir);
	return rc;
}

/* The locked read-modify-write shared by store and clear: edit(map, arg)
 * changes the freshly loaded map; the result is written atomically. */
static int locked_rewrite(struct calib *c, int (*edit)(struct calib_map *, void *), void *arg,
			  struct calib_write_info *info, struct errbuf *e)
{
	struct fsutil_write_opts opts = {.mode = CALIB_FILE_MODE, .flags = 0};
	struct calib_map m;
	struct buf *out = NULL;
	int64_t t0;
	int lock_fd = -1, rc = -1, saved;

	if (make_parent(c->path, e) < 0)
		return -1;
	t0 = mono_ms();
	if (fsutil_lock(c->lock_path, CALIB_FILE_MODE, c->lock_wait_ms, &lock_fd, NULL) == 0)
		info->locked = true;
	info->waited_ms = mono_ms() - t0;

	calib_load(c, &m);
	if (edit(&m, arg) < 0) {
		err_set(e, "calibration %s: out of memory", c->path);
		goto out;
	}
	out = buf_new(BOUNDS_CALIB_FILE_MAX * 8);
	if (out == NULL) {
		err_set(e, "calibration %s: out of memory", c->path);
		goto out;
	}
	if (calib_serialize(&m, out, e) < 0)
		goto out;
	if (fsutil_write_file(c->path, buf_data(out), buf_len(out), &opts, e) < 0)
		goto out;
	info->written = true;
	rc = 0;
out:
	saved = errno;
	buf_free(out);
	calib_map_free(&m);
	fsutil_unlock(lock_fd);
	errno = saved;
	return rc;
}

struct store_arg {
	const char *iface;
	int64_t rate;
	const char *ts;
};

static int edit_store(struct calib_map *m, void *arg)
{
	const struct store_arg *a = arg;

	return calib_map_set(m, a->iface, a->rate, a->ts);
}

int calib_store(struct calib *c, const char *iface, int64_t learned_rate, const char *updated_at,
		struct calib_write_info *info, struct errbuf *e)
{
	struct store_arg a = {.iface = iface, .rate = learned_rate};
	int rc;

	memset(info, 0, sizeof(*info));
	if (learned_rate <= 0)
		return 0;
	if (updated_at != NULL) {
		size_t n = strlen(updated_at);
		if (n >= sizeof(info->updated_at)) {
			err_set(e, "calibration: timestamp too long");
			return -1;
		}
		memcpy(info->updated_at, updated_at, n + 1);
	} else if (calib_now_utc(info->updated_at, sizeof(info->updated_at)) < 0) {
		err_set(e, "calibration: cannot format the current time");
		return -1;
	}
	a.ts = info->updated_at;
	pthread_mutex_lock(&store_mutex);
	rc = locked_rewrite(c, edit_store, &a, info, e);
	pthread_mutex_unlock(&store_mutex);
	return rc;
}

struct clear_arg {
	const char *iface;
	struct calib_map *removed;
};

static int edit_clear(struct calib_map *m, void *arg)
{
	struct clear_arg *a = arg;
	size_t i;

	if (a->iface != NULL) {
		const struct calib_entry *e = calib_map_find(m, a->iface);
		if (e == NULL)
			return 0;
		if (a->removed != NULL &&
		    calib_map_set(a->removed, e->iface, e->learned_rate, e->updated_at) < 0)
			return -1;
		calib_map_remove(m, a->iface);
		return 0;
	}
	for (i = 0; i < m->count; i++)
		if (a->removed != NULL &&
		    calib_map_set(a->removed, m->entries[i].iface, m->entries[i].learned_rate,
				  m->entries[i].updated_at) < 0)
			return -1;
	calib_map_free(m);
	return 0;
}

int calib_clear(struct calib *c, const char *iface, struct calib_map *removed,
		struct calib_write_info *info, struct errbuf *e)
{
	struct clear_arg a = {.iface = iface, .removed = removed};
	int rc;

	memset(info, 0, sizeof(*info));
	if (removed != NULL)
		memset(removed, 0, sizeof(*removed));
	pthread_mutex_lock(&store_mutex);
	rc = locked_rewrite(c, edit_clear, &a, info, e);
	pthread_mutex_unlock(&store_mutex);
	return rc;
}
