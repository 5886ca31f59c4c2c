/* installer/settings: §13.1 environment -> runtime.env -> default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "settings.h"

struct kv {
	const char *k, *v;
};

static const char *lookup(void *ctx, const char *key)
{
	const struct kv *e;
	for (e = ctx; e->k != NULL; e++)
		if (strcmp(e->k, key) == 0)
			return e->v;
	return NULL;
}

static int warnings;
static char last_warning[256];

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	memcpy(last_warning, msg, strlen(msg) + 1 < sizeof(last_warning) ? strlen(msg) + 1 : 1);
}

static void test_defaults(void **state)
{
	struct settings s;
	(void)state;
	warnings = 0;
	settings_load(&s, NULL, NULL, NULL, 0, warn, NULL);
	assert_true(s.enabled);
	assert_int_equal(s.health_timeout, 120);
	assert_int_equal(s.health_interval, 5);
	assert_true(s.rollback_on_failure);
	assert_string_equal(s.request_file, "/var/lib/agentd/remote-update.request");
	assert_string_equal(s.status_file, "/var/lib/agentd/remote-update.status");
	assert_int_equal(s.keep_releases, 3);
	assert_string_equal(s.channel_url, "");
	assert_string_equal(s.textfile_dir, "");
	assert_int_equal(warnings, 0);
}

static void test_precedence_and_ranges(void **state)
{
	static const char env[] = "AGENT_REMOTE_UPDATE_ENABLED=off\n"
				  "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=30\n"
				  "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=61\n"
				  "AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE=No\n"
				  "AGENT_INSTALL_KEEP_RELEASES=16\n"
				  "AGENT_REMOTE_UPDATE_STATUS_FILE=/srv/status\n"
				  "AGENT_REMOTE_UPDATE_REQUEST_FILE=relative/req\n"
				  "AGENTD_CHANNEL_URL=https://x.invalid/channels/stable.json\n"
				  "AGENTD_TEXTFILE_DIR=/var/lib/node_exporter\n";
	static const struct kv penv[] = {
		{"AGENT_REMOTE_UPDATE_ENABLED", "YES"},
		{"AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS", "9"}, /* below 10 */
		{"AGENT_INSTALL_KEEP_RELEASES", ""},                      /* empty: falls through */
		{"AGENTD_TEXTFILE_DIR", "/ignored"},                      /* runtime.env only */
		{NULL, NULL},
	};
	struct settings s;
	(void)state;
	warnings = 0;
	settings_load(&s, lookup, (void *)penv, env, strlen(env), warn, NULL);
	assert_true(s.enabled);                  /* environment wins */
	assert_int_equal(s.health_timeout, 120); /* invalid env value -> default, not the file */
	assert_int_equal(s.health_interval, 5);  /* 61 out of range */
	assert_false(s.rollback_on_failure);
	assert_int_equal(s.keep_releases, 16);
	assert_string_equal(s.status_file, "/srv/status");
	assert_string_equal(s.request_file, "/var/lib/agentd/remote-update.request");
	assert_string_equal(s.channel_url, "https://x.invalid/channels/stable.json");
	assert_string_equal(s.textfile_dir, "/var/lib/node_exporter");
	assert_int_equal(warnings, 3);
	assert_non_null(strstr(last_warning, "REQUEST_FILE"));
}

static void test_bool_and_edges(void **state)
{
	static const struct {
		const char *s;
		int ok, val;
	} b[] = {
		{"1", 1, 1}, {"true", 1, 1},  {"TRUE", 1, 1},  {"Yes", 1, 1},     {"on", 1, 1},
		{"0", 1, 0}, {"false", 1, 0}, {"no", 1, 0},    {"OFF", 1, 0},     {"", 0, 0},
		{"2", 0, 0}, {"y", 0, 0},     {"true ", 0, 0}, {"enabled", 0, 0},
	};
	size_t i;
	struct settings s;
	(void)state;
	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		bool v = false;
		int rc = settings_parse_bool(b[i].s, strlen(b[i].s), &v);
		assert_int_equal(rc, b[i].ok ? 0 : -1);
		if (b[i].ok)
			assert_int_equal(v, b[i].val);
	}
	/* range edges: 10 and 3600, 1 and 60, 2 and 16 */
	{
		static const char lo[] = "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=10\n"
					 "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=1\n"
					 "AGENT_INSTALL_KEEP_RELEASES=2\n";
		static const char hi[] = "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=3600\n"
					 "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=60\n"
					 "AGENT_INSTALL_KEEP_RELEASES=17\n";
		static const char junk[] = "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=+20\n"
					   "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=5s\n"
					   "AGENT_INSTALL_KEEP_RELEASES=1\n";
		settings_load(&s, NULL, NULL, lo, strlen(lo), NULL, NULL);
		assert_int_equal(s.health_timeout, 10);
		assert_int_equal(s.health_interval, 1);
		assert_int_equal(s.keep_releases, 2);
		settings_load(&s, NULL, NULL, hi, strlen(hi), NULL, NULL);
		assert_int_equal(s.health_timeout, 3600);
		assert_int_equal(s.health_interval, 60);
		assert_int_equal(s.keep_releases, 3);
		settings_load(&s, NULL, NULL, junk, strlen(junk), NULL, NULL);
		assert_int_equal(s.health_timeout, 120);
		assert_int_equal(s.health_interval, 5);
		assert_int_equal(s.keep_releases, 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_precedence_and_ranges),
		cmocka_unit_test(test_bool_and_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
