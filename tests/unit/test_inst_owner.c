/* installer/owner: passwd/group parsing for ownership under a root (§7.3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "owner.h"
#include "test_inst_fixture.h"

static void test_parse(void **state)
{
	static const char pw[] = "root:x:0:0:root:/root:/bin/bash\n"
				 "agentdx:x:1:1::/:/bin/false\n"
				 "agentd:x:998:997::/var/lib/agentd:/usr/sbin/nologin\n";
	static const char gr[] = "root:x:0:\nagentd:x:997:\n";
	uid_t u = 0;
	gid_t g = 0;
	(void)state;
	assert_int_equal(owner_parse_passwd(pw, strlen(pw), "agentd", &u, &g), 0);
	assert_int_equal(u, 998);
	assert_int_equal(g, 997);
	assert_int_equal(owner_parse_group(gr, strlen(gr), "agentd", &g), 0);
	assert_int_equal(g, 997);
	assert_int_equal(owner_parse_passwd(pw, strlen(pw), "nobody", &u, &g), -1);
	assert_int_equal(owner_parse_passwd("", 0, "agentd", &u, &g), -1);
	/* malformed numbers, truncated lines, no final LF */
	assert_int_equal(owner_parse_passwd("agentd:x:abc:1::/:/bin/false\n", 29, "agentd", &u, &g),
			 -1);
	assert_int_equal(owner_parse_passwd("agentd:x:5", 10, "agentd", &u, &g), -1);
	assert_int_equal(owner_parse_group("agentd:x:7", 10, "agentd", &g), 0);
	assert_int_equal(g, 7);
	assert_int_equal(owner_parse_group("agentd:x:-7:", 12, "agentd", &g), -1);
	assert_int_equal(owner_parse_group("agentd:x:99999999999:", 21, "agentd", &g), -1);
}

static void test_resolve_under_root(void **state)
{
	struct layout *l = fx_layout("own");
	char p[PATH_MAX];
	uid_t u;
	gid_t g;
	(void)state;
	assert_non_null(l);
	assert_int_equal(owner_resolve(l, &u, &g), -1);
	assert_true(snprintf(p, sizeof(p), "%s/etc/passwd", layout_root(l)) > 0);
	assert_int_equal(fx_write(p, "agentd:x:4242:4343::/:/bin/false\n", 0644), 0);
	assert_int_equal(owner_resolve(l, &u, &g), -1); /* no group file */
	assert_true(snprintf(p, sizeof(p), "%s/etc/group", layout_root(l)) > 0);
	assert_int_equal(fx_write(p, "agentd:x:4343:\n", 0644), 0);
	assert_int_equal(owner_resolve(l, &u, &g), 0);
	assert_int_equal(u, 4242);
	assert_int_equal(g, 4343);
	layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_resolve_under_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
