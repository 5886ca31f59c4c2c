/* installer/envplan: the §9 batch (order, owned keys, site and computed
 * defaults, comment flag), applied with envfile_apply. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envfile.h"
#include "envplan.h"

#define NAME "agent-bundle-linux-x86_64__20260301120000-1.4.0-3f9a1c07be52"

static char *apply(const struct envplan_in *in, const char *file, bool exists)
{
	struct errbuf e = {{0}};
	struct envplan *p = envplan_build(in, &e);
	struct buf *out = buf_new(1 << 20);
	const struct envfile_edit *ed;
	size_t n;
	bool changed;
	char *text;
	if (p == NULL)
		fail_msg("%s", e.msg);
	ed = envplan_edits(p, &n);
	if (envfile_apply(file, file ? strlen(file) : 0, exists, ed, n,
			  "# added by agent-install 1.4.0", out, NULL, &changed, &e) != 0)
		fail_msg("%s", e.msg);
	text = buf_steal(out, NULL);
	buf_free(out);
	envplan_free(p);
	return text;
}

static void test_owned(void **state)
{
	(void)state;
	assert_true(envplan_is_owned("AGENT_BUNDLE_NAME"));
	assert_true(envplan_is_owned("AGENT_REMOTE_UPDATE_REQUEST_FILE"));
	assert_true(envplan_is_owned("AGENT_REMOTE_UPDATE_STATUS_FILE"));
	assert_false(envplan_is_owned("AGENT_REMOTE_UPDATE_ENABLED"));
	assert_false(envplan_is_owned(""));
}

static void test_fresh_no_scanner(void **state)
{
	struct envplan_in in;
	char *t;
	(void)state;
	memset(&in, 0, sizeof(in));
	in.bundle_name = NAME;
	t = apply(&in, NULL, false);
	assert_string_equal(
		t, "AGENT_BUNDLE_NAME=" NAME "\n"
		   "AGENT_REMOTE_UPDATE_REQUEST_FILE=/var/lib/agentd/remote-update.request\n"
		   "AGENT_REMOTE_UPDATE_STATUS_FILE=/var/lib/agentd/remote-update.status\n"
		   "# added by agent-install 1.4.0\n"
		   "ANYSCAN_RESERVE_BANDWIDTH_BPS=5000000\n"
		   "ANYSCAN_RESERVE_LINK_RATE_BPS=1000000000\n"
		   "AGENT_REMOTE_UPDATE_ENABLED=true\n"
		   "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=120\n"
		   "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=5\n"
		   "AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE=true\n");
	free(t);
}

static void test_existing_file_sets_site_scanner(void **state)
{
	static const char file[] =
		"# operator\n"
		"AGENT_BUNDLE_NAME=old\n"
		"SCANNER_DEFAULT_RATE=250000\n"
		"AGENT_REMOTE_UPDATE_ENABLED=false\n"
		"AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=\n"
		"AGENT_REMOTE_UPDATE_REQUEST_FILE=/var/lib/agentd/remote-update.request\n"
		"AGENT_REMOTE_UPDATE_STATUS_FILE=/var/lib/agentd/remote-update.status\n";
	static const char site[] = "# site\nSITE_A=1\nSCANNER_RECEIVER_THREADS=2\n"
				   "AGENT_BUNDLE_NAME=evil\nSITE_A=2\n";
	struct envfile_edit sets[] = {{ENVFILE_UPSERT, "SITE_A", "cli", 0}};
	const char *const ifaces[] = {"eth0", "eth1"};
	struct envplan_in in;
	char *t;
	(void)state;
	memset(&in, 0, sizeof(in));
	in.bundle_name = NAME;
	in.sets = sets;
	in.nsets = 1;
	in.site = site;
	in.site_len = strlen(site);
	in.release_has_scanner = true;
	in.scanner_available = true;
	in.host_facts = true;
	in.cpus = 8;
	in.default_iface = "eth0";
	in.ifaces = ifaces;
	in.nifaces = 2;
	in.current = file;
	in.current_len = strlen(file);
	t = apply(&in, file, true);
	assert_string_equal(
		t, "# operator\n"
		   "AGENT_BUNDLE_NAME=" NAME "\n"
		   "SCANNER_DEFAULT_RATE=250000\n"
		   "AGENT_REMOTE_UPDATE_ENABLED=false\n"
		   "AGENT_REMOTE_UPDATE_HEALTHCHECK_TIMEOUT_SECONDS=120\n"
		   "AGENT_REMOTE_UPDATE_REQUEST_FILE=/var/lib/agentd/remote-update.request\n"
		   "AGENT_REMOTE_UPDATE_STATUS_FILE=/var/lib/agentd/remote-update.status\n"
		   "SITE_A=cli\n"
		   "# added by agent-install 1.4.0\n"
		   "SCANNER_RECEIVER_THREADS=2\n"
		   "SCANNER_BIN=/opt/agentd/bin/scanner\n"
		   "ANYSCAN_DYNAMIC_RATE_ENABLED=true\n"
		   "SCANNER_SENDER_THREADS=8\n"
		   "SCANNER_INTERFACE=eth0\n"
		   "ANYSCAN_SCANNER_INTERFACES=eth0,eth1\n"
		   "ANYSCAN_RATE_MAX_CONCURRENT_SUBPROCESSES=4\n"
		   "ANYSCAN_SCANNER_IO_ENGINE=af_packet\n"
		   "ANYSCAN_RESERVE_BANDWIDTH_BPS=5000000\n"
		   "ANYSCAN_RESERVE_LINK_RATE_BPS=1000000000\n"
		   "ANYSCAN_RESERVE_INTERFACES=eth0,eth1\n"
		   "ANYSCAN_TUNE_INTERFACES=eth0,eth1\n"
		   "AGENT_REMOTE_UPDATE_HEALTHCHECK_INTERVAL_SECONDS=5\n"
		   "AGENT_REMOTE_UPDATE_ROLLBACK_ON_FAILURE=true\n");
	free(t);
}

static void test_single_nic_and_aliases(void **state)
{
	static const char file[] = "ANYSCAN_RESERVE_INTERFACE=eth9\n";
	const char *const ifaces[] = {"eth0"};
	struct envplan_in in;
	char *t;
	(void)state;
	memset(&in, 0, sizeof(in));
	in.bundle_name = NAME;
	in.scanner_available = true; /* /usr/bin/scanner */
	in.host_facts = true;
	in.cpus = 0; /* at least 1 */
	in.default_iface = "eth0";
	in.ifaces = ifaces;
	in.nifaces = 1;
	in.multi_nic_auto_disabled = true;
	in.current = file;
	in.current_len = strlen(file);
	t = apply(&in, file, true);
	assert_non_null(strstr(t, "SCANNER_BIN=/usr/bin/scanner\n"));
	assert_non_null(strstr(t, "SCANNER_SENDER_THREADS=1\n"));
	assert_null(strstr(t, "ANYSCAN_SCANNER_INTERFACES="));
	assert_null(strstr(t, "ANYSCAN_RESERVE_INTERFACES=")); /* the singular alias is set */
	assert_non_null(strstr(t, "ANYSCAN_TUNE_INTERFACES=eth0\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned),
		cmocka_unit_test(test_fresh_no_scanner),
		cmocka_unit_test(test_existing_file_sets_site_scanner),
		cmocka_unit_test(test_single_nic_and_aliases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
