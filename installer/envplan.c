#include "envplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENVPLAN_MAX 512

struct envplan {
	struct envfile_edit edits[ENVPLAN_MAX];
	char *owned[ENVPLAN_MAX * 2]; /* strings we allocated */
	size_t n, nowned;
};

static const char *const owned_keys[] = {
	"AGENT_BUNDLE_NAME",
	"AGENT_REMOTE_UPDATE_REQUEST_FILE",
	"AGENT_REMOTE_UPDATE_STATUS_FILE",
};

bool envplan_is_owned(const char *key)
{
	size_t i;
	for (i = 0; i < sizeof(owned_keys) / sizeof(owned_keys[0]); i++)
		if (strcmp(key, owned_keys[i]) == 0)
			return true;
	return false;
}

bool envplan_is_probe(const char *key)
{
	return strcmp(key, "ANYSCAN_AF_XDP_AVAILABLE") == 0 ||
	       strcmp(key, "ANYSCAN_PFRING_ZC_AVAILABLE") == 0 ||
	       strcmp(key, "ANYSCAN_DPDK_AVAILABLE") == 0;
}

static bool has_key(const struct envplan *p, const char *key)
{
	size_t i;
	for (i = 0; i < p->n; i++)
		if (strcmp(p->edits[i].key, key) == 0)
			return true;
	return false;
}

static char *keep(struct envplan *p, char *s)
{
	if (s == NULL || p->nowned >= sizeof(p->owned) / sizeof(p->owned[0])) {
		free(s);
		return NULL;
	}
	p->owned[p->nowned++] = s;
	return s;
}

/* Add an edit unless the key is already in the batch.  key and value are
 * copied. */
static int add(struct envplan *p, const char *key, size_t klen, const char *value, size_t vlen,
	       unsigned flags, struct errbuf *e)
{
	char *k, *v;

	k = keep(p, strndup(key, klen));
	v = keep(p, strndup(value, vlen));
	if (k == NULL || v == NULL) {
		err_set(e, "runtime.env plan: out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (has_key(p, k))
		return 0;
	if (p->n >= ENVPLAN_MAX) {
		err_set(e, "runtime.env plan: more than %d keys", ENVPLAN_MAX);
		errno = E2BIG;
		return -1;
	}
	p->edits[p->n].op = ENVFILE_UPSERT;
	p->edits[p->n].key = k;
	p->edits[p->n].value = v;
	p->edits[p->n].flags = flags;
	p->n++;
	return 0;
}

static int adds(struct envplan *p, const char *key, const char *value, unsigned flags,
		struct errbuf *e)
{
	return add(p, key, strlen(key), value, strlen(value), flags, e);
}

struct site_ctx {
	struct envplan *p;
	struct errbuf *e;
	int rc;
};

static int site_line(void *ctx, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct site_ctx *c = ctx;
	char k[256];

	if (klen >= sizeof(k))
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	if (envplan_is_owned(k) || has_key(c->p, k))
		return 0; /* the first KEY line wins (§8.1); owned keys never from a site */
	if (add(c->p, key, klen, val, vlen, ENVFILE_E_IF_ABSENT | ENVFILE_E_COMMENT, c->e) != 0) {
		c->rc = -1;
		return 1;
	}
	return 0;
}

static int join_ifaces(const char *const *ifaces, size_t n, char *out, size_t size)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		size_t l = strlen(ifaces[i]);
		if (o + l + 2 > size)
			return -1;
		if (i > 0)
			out[o++] = ',';
		memcpy(out + o, ifaces[i], l);
		o += l;
		out[o] = '\0';
	}
	return 0;
}

struct envplan *envplan_build(const struct envplan_in *in, struct errbuf *e)
{
	const unsigned D = ENVFILE_E_IF_ABSENT | ENVFILE_E_COMMENT;
	struct envplan *p = calloc(1, sizeof(*p));
	char buf[4096];
	size_t i;
	int rc = 0;

	if (p == NULL) {
		err_set(e, "runtime.env plan: out of memory");
		return NULL;
	}
	/* 1: --set, always written */
	for (i = 0; i < in->nsets && rc == 0; i++)
		rc = adds(p, in->sets[i].key, in->sets[i].value, 0, e);
	/* 2: installer-owned keys (not for `env defaults`: bundle_name NULL) */
	if (rc == 0 && in->bundle_name != NULL) {
		rc |= adds(p, "AGENT_BUNDLE_NAME", in->bundle_name, 0, e);
		rc |= adds(p, "AGENT_REMOTE_UPDATE_REQUEST_FILE",
			   "/var/lib/agentd/remote-update.request", 0, e);
		rc |= adds(p, "AGENT_REMOTE_UPDATE_STATUS_FILE",
			   "/var/lib/agentd/remote-update.status", 0, e);
	}
	/* 3: probe keys */
	if (rc == 0 && in->probes) {
		rc |= adds(p, "ANYSCAN_AF_XDP_AVAILABLE", in->xdp ? "true" : "false", 0, e);
		rc |= adds(p, "ANYSCAN_PFRING_ZC_AVAILABLE", in->pfring ? "true" : "false", 0, e);
		rc |= adds(p, "ANYSCAN_DPDK_AVAILABLE", in->dpdk ? "true" : "false", 0, e);
	}
	/* 4: site defaults */
	if (rc == 0 && in->site != NULL) {
		struct site_ctx c = {p, e, 0};
		(void)envfile_each(in->site, in->site_len, site_line, &c);
		rc = c.rc;
	}
	/* 5: computed defaults, in the order of the §9.5 table */
	if (rc == 0 && in->scanner_available) {
		rc |= adds(p, "SCANNER_BIN",
			   in->release_has_scanner ? "/opt/agentd/bin/scanner" : "/usr/bin/scanner",
			   D, e);
		rc |= adds(p, "SCANNER_DEFAULT_RATE", "500000", D, e);
		rc |= adds(p, "ANYSCAN_DYNAMIC_RATE_ENABLED", "true", D, e);
		if (in->host_facts) {
			int n = snprintf(buf, sizeof(buf), "%u", in->cpus > 0 ? in->cpus : 1);
			if (n > 0 && (size_t)n < sizeof(buf))
				rc |= adds(p, "SCANNER_SENDER_THREADS", buf, D, e);
		}
		rc |= adds(p, "SCANNER_RECEIVER_THREADS", "1", D, e);
		if (in->host_facts && in->default_iface != NULL && in->default_iface[0] != '\0')
			rc |= adds(p, "SCANNER_INTERFACE", in->default_iface, D, e);
		if (in->host_facts && in->nifaces >= 2 && !in->multi_nic_auto_disabled &&
		    join_ifaces(in->ifaces, in->nifaces, buf, sizeof(buf)) == 0)
			rc |= adds(p, "ANYSCAN_SCANNER_INTERFACES", buf, D, e);
		rc |= adds(p, "ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES", "4", D, e);
		rc |= adds(p, "ANYSCAN_SCANNER_IO_ENGINE", "af_packet", D, e);
	}
	if (rc == 0) {
		rc |= adds(p, "ANYSCAN_RESERVE_BANDWIDTH_BPS", "5000000", D, e);
		rc |= adds(p, "ANYSCAN_RESERVE_LINK_RATE_BPS", "1000000000", D, e);
	}
	if (rc == 0 && in->host_facts) {
		/* managed interfaces: the list if >= 2, else the default interface */
		const char *managed = NULL;
		if (in->nifaces >= 2 && join_ifaces(in->ifaces, in->nifaces, buf, sizeof(buf)) == 0)
			managed = buf;
		else if (in->default_iface != NULL && in->default_iface[0] != '\0')
			managed = in->default_iface;
		if (managed != NULL) {
			const char *c = in->current != NULL ? in->current : "";
			size_t cl = in->current != NULL ? in->current_len : 0;
			if (envfile_is_absent(c, cl, "ANYSCAN_RESERVE_INTERFACE", 25))
				rc |= adds(p, "ANYSCAN_RESERVE_INTERFACES", managed, D, e);
			if (envfile_is_absent(c, cl, "ANYSCAN_TUNE_INTERFACE", 22))
				rc |= adds(p, "ANYSCAN_TUNE_INTERFACES", managed, D, e);
		}
	}
	if (rc == 0) {
		rc |= adds(p, "AGENT_REMOTE_UPDATE_ENABLED", "true", D, e);
		rc |= adds(p, "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS", "120", D, e);
		rc |= adds(p, "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS", "5", D, e);
		rc |= adds(p, "AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE", "true", D, e);
	}
	if (rc != 0) {
		envplan_free(p);
		return NULL;
	}
	return p;
}

void envplan_free(struct envplan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p);
}

const struct envfile_edit *envplan_edits(const struct envplan *p, size_t *n)
{
	*n = p->n;
	return p->edits;
}
