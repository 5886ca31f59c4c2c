/* agent/scan_env: scan.md §3 (env parsing), §14.1 (interface list,
 * MN-01..MN-06), NB-20; agent/scan_inv: §2.1/§2.2 (stdin), §14.3 (MN-18). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "scan_env.h"
#include "scan_inv.h"

static void check_ifaces(const char *in, const char *const *want)
{
	char **list = NULL;
	size_t n = 0, i;
	assert_int_equal(scan_env_parse_interfaces(in, &list, &n), 0);
	for (i = 0; want[i] != NULL; i++) {
		assert_true(i < n);
		assert_string_equal(list[i], want[i]);
	}
	assert_int_equal(n, i);
	assert_null(list[n]);
	scan_env_list_free(list);
}

/* MN-01..MN-06 */
static void test_interfaces(void **state)
{
	static const char *const none[] = {NULL};
	static const char *const one[] = {"eth0", NULL};
	static const char *const three[] = {"eth0", "eth1", "eth2", NULL};
	static const char *const four[] = {"eth0", "eth1", "eth2", "eth3", NULL};
	(void)state;
	check_ifaces(NULL, none);
	check_ifaces("", none);
	check_ifaces("   ", none);
	check_ifaces(",,,", none);
	check_ifaces("eth0", one);
	check_ifaces("eth0,eth1,eth2", three);
	check_ifaces("eth0 eth1, eth2;eth3", four);
	check_ifaces("eth0,eth1,eth0,eth2", three);
	check_ifaces("eth0\teth1\neth2;;eth0, ,eth3", four);
}

static void check_words(const char *in, const char *const *want)
{
	struct scan_argv a = {NULL, 0, 0};
	struct errbuf e;
	size_t i;
	assert_int_equal(scan_env_split_words(in, &a, &e), 0);
	for (i = 0; want[i] != NULL; i++) {
		assert_true(i < a.n);
		assert_string_equal(a.v[i], want[i]);
	}
	assert_int_equal(a.n, i);
	scan_argv_free(&a);
}

/* §3.2 SCANNER_EXTRA_ARGS */
static void test_split_words(void **state)
{
	static const char *const w1[] = {"--foo", "a b", "--bar", NULL};
	static const char *const w2[] = {"a b", "x\"y", "p\\q", NULL};
	static const char *const w3[] = {"#", "c", "d", NULL};
	static const char *const w4[] = {"", "ab", "a\\b", NULL};
	static const char *const none[] = {NULL};
	struct scan_argv a = {NULL, 0, 0};
	struct errbuf e;
	(void)state;
	check_words("--foo 'a b' --bar", w1);
	check_words("a\\ b \"x\\\"y\" \"p\\q\"", w2);
	check_words("# c d", w3);
	check_words("'' a'b' 'a\\b'", w4);
	check_words("  \t ", none);
	err_clear(&e);
	assert_int_equal(scan_env_split_words("--foo 'a b", &a, &e), -1);
	assert_string_equal(e.msg, "no closing quotation");
	scan_argv_free(&a);
	err_clear(&e);
	assert_int_equal(scan_env_split_words("\"abc", &a, &e), -1);
	assert_string_equal(e.msg, "no closing quotation");
	scan_argv_free(&a);
}

static int parse_env(const char *const *envp, struct scan_env *cfg, struct errbuf *e)
{
	err_clear(e);
	return scan_env_parse(cfg, envp, 3, e);
}

static void test_env_defaults(void **state)
{
	const char *envp[] = {NULL};
	struct scan_env c;
	struct errbuf e;
	(void)state;
	assert_int_equal(parse_env(envp, &c, &e), 0);
	assert_string_equal(c.probe_module, "tcp");
	assert_int_equal(c.cooldown, 5);
	assert_int_equal(c.sender_threads, 3);
	assert_int_equal(c.receiver_threads, 1);
	assert_int_equal(c.dynamic, 1);
	assert_int_equal(c.shard_mode, 0);
	assert_int_equal(c.engine, SCAN_ENGINE_AUTO);
	assert_true(c.grace == 5.0);
	assert_int_equal(c.max_concurrent, 4);
	assert_int_equal(c.n_interfaces, 0);
	assert_int_equal(c.has_default_rate, 0);
	assert_null(c.interface);
	scan_env_free(&c);
}

static void test_env_values(void **state)
{
	const char *envp[] = {"SCANNER_COOLDOWN_SECONDS=-3",
			      "SCANNER_SENDER_THREADS=0",
			      "SCANNER_RECEIVER_THREADS= +4 ",
			      "SCANNER_INTERFACE=  eth1 ",
			      "SCANNER_SOURCE_IP=   ",
			      "ANYSCAN_DYNAMIC_RATE_ENABLED=no",
			      "ANYSCAN_ADAPTER_SHARD_MODE= YES ",
			      "ANYSCAN_SCANNER_ENGINE= ZMAP ",
			      "ANYSCAN_SHUTDOWN_GRACE_SECONDS=0.5",
			      "SCANNER_DEFAULT_RATE=abc",
			      "SCANNER_ICMP_PRESCAN=2",
			      "ANYSCAN_SCANNER_INTERFACES=eth0;eth1",
			      NULL};
	struct scan_env c;
	struct errbuf e;
	(void)state;
	assert_int_equal(parse_env(envp, &c, &e), 0);
	assert_int_equal(c.cooldown, 0);
	assert_int_equal(c.sender_threads, 1);
	assert_int_equal(c.receiver_threads, 4);
	assert_string_equal(c.interface, "eth1");
	assert_null(c.source_ip);
	assert_int_equal(c.dynamic, 0);
	assert_int_equal(c.shard_mode, 1);
	assert_int_equal(c.engine, SCAN_ENGINE_ZMAP);
	assert_true(c.grace == 0.5);
	assert_int_equal(c.has_default_rate, 0);
	assert_string_equal(c.default_rate_invalid, "abc");
	assert_int_equal(c.icmp, 0);
	assert_int_equal(c.n_interfaces, 2);
	scan_env_free(&c);
}

/* §2.3 rows 4-5, §3.2: fatal messages; NB-20 */
static void test_env_errors(void **state)
{
	static const struct {
		const char *var;
		const char *msg;
	} cases[] = {
		{"SCANNER_COOLDOWN_SECONDS=5s", "invalid integer for SCANNER_COOLDOWN_SECONDS: 5s"},
		{"SCANNER_SENDER_THREADS=1_0", "invalid integer for SCANNER_SENDER_THREADS: 1_0"},
		{"SCANNER_RECEIVER_THREADS= 1.5 ",
		 "invalid integer for SCANNER_RECEIVER_THREADS: 1.5"},
		{"SCANNER_SENDER_THREADS=99999999999999999999",
		 "invalid integer for SCANNER_SENDER_THREADS: 99999999999999999999"},
		{"ANYSCAN_SCANNER_ENGINE= Bogus ", "invalid value for ANYSCAN_SCANNER_ENGINE: "
						   "Bogus (expected auto, anyscan or zmap)"},
		{"ANYSCAN_SHUTDOWN_GRACE_SECONDS=-1",
		 "invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: -1"},
		{"ANYSCAN_SHUTDOWN_GRACE_SECONDS=inf",
		 "invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: inf"},
		{"ANYSCAN_SHUTDOWN_GRACE_SECONDS=nan",
		 "invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: nan"},
		{"ANYSCAN_SHUTDOWN_GRACE_SECONDS=1e3",
		 "invalid number for ANYSCAN_SHUTDOWN_GRACE_SECONDS: 1e3"},
		{"SCANNER_EXTRA_ARGS=--foo 'bar",
		 "invalid SCANNER_EXTRA_ARGS: no closing quotation"},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *envp[2] = {cases[i].var, NULL};
		struct scan_env c;
		struct errbuf e;
		assert_int_equal(parse_env(envp, &c, &e), -1);
		assert_string_equal(e.msg, cases[i].msg);
		scan_env_free(&c);
	}
	{
		const char *envp[] = {"ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES=x", NULL};
		const char *ok[] = {"ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES=-1", NULL};
		int64_t m = 0;
		struct errbuf e;
		assert_int_equal(scan_env_check_multi(envp, &m, &e), -1);
		assert_string_equal(
			e.msg, "invalid integer for ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES: x");
		assert_int_equal(scan_env_check_multi(ok, &m, &e), 0);
		assert_int_equal(m, -1);
	}
}

/* §2.1, §2.2 */
static void test_inv_parse(void **state)
{
	static const struct {
		const char *in;
		enum scan_inv_status st;
		const char *msg;
	} cases[] = {
		{"", SCAN_INV_BAD_JSON, "invalid scanner adapter invocation json: "},
		{"{", SCAN_INV_BAD_JSON, "invalid scanner adapter invocation json: "},
		{"[1]", SCAN_INV_NOT_OBJECT, "scanner adapter invocation must be a json object"},
		{"\"x\"", SCAN_INV_NOT_OBJECT, "scanner adapter invocation must be a json object"},
		{"{}", SCAN_INV_MISSING_TARGET, "missing required invocation field: target_range"},
		{"{\"target_range\":5,\"ports\":\"80\"}", SCAN_INV_MISSING_TARGET,
		 "missing required invocation field: target_range"},
		{"{\"target_range\":\"  \",\"ports\":\"80\"}", SCAN_INV_MISSING_TARGET,
		 "missing required invocation field: target_range"},
		{"{\"target_range\":\"10.0.0.1\"}", SCAN_INV_MISSING_PORTS,
		 "missing required invocation field: ports"},
		{"{\"target_range\":\"10.0.0.1\",\"ports\":[80]}", SCAN_INV_MISSING_PORTS,
		 "missing required invocation field: ports"},
		{"{\"target_range\":\"10.0.0.1\",\"ports\":\"80\"}", SCAN_INV_OK, ""},
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scan_inv inv;
		struct errbuf e;
		err_clear(&e);
		assert_int_equal(scan_inv_parse(cases[i].in, strlen(cases[i].in), &inv, &e),
				 cases[i].st);
		assert_true(strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) == 0);
		scan_inv_free(&inv);
	}
}

static void test_inv_fields(void **state)
{
	const char *in = "{\"target_range\":\" 10.0.0.0/24 \",\"ports\":\" 80 \",\"rate_limit\":-7,"
			 "\"sender_threads\":0,\"receiver_threads\":2,\"checkpoint_path\":\"  \","
			 "\"resume\":[0],\"output_path\":\" /tmp/x \",\"ports\":\"81\"}";
	struct scan_inv inv;
	struct errbuf e;
	char *big;
	(void)state;
	assert_int_equal(scan_inv_parse(in, strlen(in), &inv, &e), SCAN_INV_OK);
	assert_string_equal(inv.target_range, "10.0.0.0/24");
	assert_string_equal(inv.ports, "81"); /* duplicate keys: last wins */
	assert_int_equal(inv.has_rate, 1);
	assert_int_equal(inv.rate_limit, -7);
	assert_int_equal(inv.sender_threads, 0);
	assert_int_equal(inv.receiver_threads, 2);
	assert_null(inv.checkpoint_path);
	assert_int_equal(inv.resume, 1);
	assert_string_equal(inv.output_path, "/tmp/x");
	scan_inv_free(&inv);

	/* over 1 MiB */
	big = malloc(SCAN_INV_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', SCAN_INV_MAX + 1);
	big[0] = '{';
	big[SCAN_INV_MAX] = '}';
	big[SCAN_INV_MAX + 1] = '\0';
	err_clear(&e);
	assert_int_equal(scan_inv_parse(big, SCAN_INV_MAX + 1, &inv, &e), SCAN_INV_BAD_JSON);
	assert_string_equal(e.msg, "invalid scanner adapter invocation json: input larger than "
				   "1048576 bytes");
	scan_inv_free(&inv);
	free(big);
}

/* MN-18 */
static void test_shard_invocation(void **state)
{
	const char *in = "{\"target_range\":\"10.0.0.0/24\",\"ports\":\"80,443\",\"rate_limit\":"
			 "1000000,\"checkpoint_path\":\"/var/lib/agentd/state.checkpoint\","
			 "\"x\":\"\\u00e9\"}";
	struct scan_inv inv, shard;
	struct errbuf e;
	char *text;
	(void)state;
	assert_int_equal(scan_inv_parse(in, strlen(in), &inv, &e), SCAN_INV_OK);
	text = scan_inv_shard_json(&inv, "10.0.0.0-10.0.0.63", "/tmp/shard.out",
				   "/tmp/shard.checkpoint");
	assert_non_null(text);
	assert_string_equal(text,
			    "{\"target_range\": \"10.0.0.0-10.0.0.63\", \"ports\": \"80,443\", "
			    "\"rate_limit\": 1000000, \"checkpoint_path\": "
			    "\"/tmp/shard.checkpoint\", \"x\": \"\\u00e9\", \"output_path\": "
			    "\"/tmp/shard.out\"}");
	assert_int_equal(scan_inv_parse(text, strlen(text), &shard, &e), SCAN_INV_OK);
	assert_string_equal(shard.target_range, "10.0.0.0-10.0.0.63");
	assert_string_equal(shard.ports, "80,443");
	assert_int_equal(shard.rate_limit, 1000000);
	assert_string_equal(shard.output_path, "/tmp/shard.out");
	assert_string_equal(shard.checkpoint_path, "/tmp/shard.checkpoint");
	/* the parent is unchanged */
	assert_string_equal(json_get_string(json_object_get(inv.doc, "target_range"), NULL),
			    "10.0.0.0/24");
	assert_null(json_object_get(inv.doc, "output_path"));
	free(text);
	scan_inv_free(&shard);
	scan_inv_free(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interfaces),   cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_env_defaults), cmocka_unit_test(test_env_values),
		cmocka_unit_test(test_env_errors),   cmocka_unit_test(test_inv_parse),
		cmocka_unit_test(test_inv_fields),   cmocka_unit_test(test_shard_invocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
