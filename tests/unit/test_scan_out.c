/* agent/scan_out: scan.md §9 endpoint parsing, filtering and dedup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scan_out.h"

static void run(const char *raw, size_t len, const char *target, const char *ports,
		const char *want)
{
	struct ports set;
	struct scan_buf out = {NULL, 0, 0};
	ports_parse_lenient(ports, strlen(ports), &set);
	assert_int_equal(scan_out_endpoints(raw, len, target, &set, &out), 0);
	assert_string_equal(out.len ? out.data : "", want);
	scan_buf_free(&out);
}

static void test_examples(void **state)
{
	const char *a = "10.0.0.1:80\n10.0.0.1:80 extra\n10.0.0.2\n10.0.0.300:80\n11.0.0.1:80\n"
			"10.0.0.3:22\n::1\n# comment\n\n10.0.0.4:443\n";
	const char *b = "10.0.0.1:80\n10.0.0.2\n10.0.0.3:81\n";
	(void)state;
	run(a, strlen(a), "10.0.0.0/24", "80,443", "10.0.0.1:80\n10.0.0.4:443\n");
	run(b, strlen(b), "10.0.0.0/24", "80", "10.0.0.1:80\n10.0.0.2\n");
}

static void test_edges(void **state)
{
	(void)state;
	run("", 0, "10.0.0.0/24", "80", "");
	/* unparsable range: no host filter */
	run("1.2.3.4:80\n", 11, "scan.example", "80", "1.2.3.4:80\n");
	/* port grammar */
	run("10.0.0.1:+80\n10.0.0.1:8_0\n10.0.0.1:0\n10.0.0.1:65536\n10.0.0.1:000080\n"
	    "10.0.0.1:00080\n",
	    strlen("10.0.0.1:+80\n10.0.0.1:8_0\n10.0.0.1:0\n10.0.0.1:65536\n10.0.0.1:000080\n"
		   "10.0.0.1:00080\n"),
	    "10.0.0.0/24", "80", "10.0.0.1:80\n");
	/* no trailing newline, CR line ends, leading whitespace, tabs */
	run("  10.0.0.9:80\r\n\t10.0.0.8:80", strlen("  10.0.0.9:80\r\n\t10.0.0.8:80"),
	    "10.0.0.0-10.0.0.255", "80", "10.0.0.9:80\n10.0.0.8:80\n");
	/* dedup keeps first-seen order; bare and host:port are distinct */
	run("10.0.0.2\n10.0.0.1:80\n10.0.0.2\n10.0.0.2:80\n10.0.0.1:80\n",
	    strlen("10.0.0.2\n10.0.0.1:80\n10.0.0.2\n10.0.0.2:80\n10.0.0.1:80\n"), "10.0.0.0/24",
	    "80", "10.0.0.2\n10.0.0.1:80\n10.0.0.2:80\n");
	/* range bounds inclusive */
	run("10.0.0.0:80\n10.0.0.7:80\n10.0.0.8:80\n", 36, "10.0.0.0-10.0.0.7", "80",
	    "10.0.0.0:80\n10.0.0.7:80\n");
	/* embedded NUL ends the token's validity, not the scan */
	run("10.0.0.1:80\0x\n10.0.0.2:80\n", 26, "10.0.0.0/24", "80", "10.0.0.2:80\n");
	/* non-canonical host is rejected (strict dotted quad) */
	run("010.0.0.1:80\n", 13, "10.0.0.0/24", "80", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
