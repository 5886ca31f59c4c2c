/* lib/envfile: runtime.env (spec bundle-install-update.md §8, tests of §24.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "envfile.h"

#define U(k, v)                                                                                    \
	{                                                                                          \
		ENVFILE_UPSERT, k, v, 0                                                            \
	}
#define UA(k, v)                                                                                   \
	{                                                                                          \
		ENVFILE_UPSERT, k, v, ENVFILE_E_IF_ABSENT                                          \
	}
#define UC(k, v)                                                                                   \
	{                                                                                          \
		ENVFILE_UPSERT, k, v, ENVFILE_E_IF_ABSENT | ENVFILE_E_COMMENT                      \
	}
#define R(k)                                                                                       \
	{                                                                                          \
		ENVFILE_REMOVE, k, NULL, 0                                                         \
	}
#define S(lit) lit, sizeof(lit) - 1

enum { N_ = ENVFILE_UNCHANGED, A_ = ENVFILE_ADDED, C_ = ENVFILE_CHANGED, D_ = ENVFILE_REMOVED };

/* ---- exact-byte editing cases ------------------------------------------------ */

struct apply_case {
	const char *name;
	const char *in;
	size_t in_len;
	bool exists;
	struct envfile_edit edits[4];
	size_t n;
	const char *comment;
	const char *want;
	size_t want_len;
	bool changed;
	int kinds[4];
	const char *old0; /* old value reported for edit 0, NULL = none */
};

static const struct apply_case apply_cases[] = {
	{"missing file becomes the single line",
	 S(""),
	 false,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\n"),
	 true,
	 {A_},
	 NULL},
	{"empty file", S(""), true, {U("A", "1")}, 1, NULL, S("A=1\n"), true, {A_}, NULL},
	{"several KEY lines all replaced",
	 S("A=1\nB=2\nA=3\n"),
	 true,
	 {U("A", "9")},
	 1,
	 NULL,
	 S("A=9\nB=2\nA=9\n"),
	 true,
	 {C_},
	 "1"},
	{"comments and blank lines kept",
	 S("# A=1\nA=2\n#c\n\n  \nB=3\n"),
	 true,
	 {U("A", "5")},
	 1,
	 NULL,
	 S("# A=1\nA=5\n#c\n\n  \nB=3\n"),
	 true,
	 {C_},
	 "2"},
	{"no final LF, append",
	 S("B=2"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("B=2\nA=1\n"),
	 true,
	 {A_},
	 NULL},
	{"no final LF, replace last",
	 S("B=2\nA=0"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("B=2\nA=1\n"),
	 true,
	 {C_},
	 "0"},
	{"no final LF, replace first",
	 S("A=0\nB=2"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\nB=2\n"),
	 true,
	 {C_},
	 "0"},
	{"CRLF file: KEY line replaced, others byte for byte",
	 S("A=1\r\nB=2\r\n"),
	 true,
	 {U("A", "x")},
	 1,
	 NULL,
	 S("A=x\nB=2\r\n"),
	 true,
	 {C_},
	 "1\r"},
	{"CRLF file: append",
	 S("B=2\r\n"),
	 true,
	 {U("A", "x")},
	 1,
	 NULL,
	 S("B=2\r\nA=x\n"),
	 true,
	 {A_},
	 NULL},
	{"empty value replaced",
	 S("A=\n"),
	 true,
	 {U("A", "v")},
	 1,
	 NULL,
	 S("A=v\n"),
	 true,
	 {C_},
	 ""},
	{"empty value written",
	 S("A=1\n"),
	 true,
	 {U("A", "")},
	 1,
	 NULL,
	 S("A=\n"),
	 true,
	 {C_},
	 "1"},
	{"empty value appended", S(""), false, {U("A", "")}, 1, NULL, S("A=\n"), true, {A_}, NULL},
	{"export, indented and commented lines untouched",
	 S("export A=1\n A=2\n#A=3\nA =4\n"),
	 true,
	 {U("A", "5")},
	 1,
	 NULL,
	 S("export A=1\n A=2\n#A=3\nA =4\nA=5\n"),
	 true,
	 {A_},
	 NULL},
	{"backslashes literal",
	 S("A=1\n"),
	 true,
	 {U("A", "a\\nb\\\\t\\x41")},
	 1,
	 NULL,
	 S("A=a\\nb\\\\t\\x41\n"),
	 true,
	 {C_},
	 "1"},
	{"quotes and dollars literal",
	 S(""),
	 false,
	 {U("A", "\"$HOME\" 'x' `id`")},
	 1,
	 NULL,
	 S("A=\"$HOME\" 'x' `id`\n"),
	 true,
	 {A_},
	 NULL},
	{"key prefix is not a match",
	 S("AB=1\nA\nA_=2\n"),
	 true,
	 {U("A", "2")},
	 1,
	 NULL,
	 S("AB=1\nA\nA_=2\nA=2\n"),
	 true,
	 {A_},
	 NULL},
	{"same value: nothing changed, no LF added",
	 S("A=1\nB=2"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\nB=2"),
	 false,
	 {N_},
	 "1"},
	{"same value twice: unchanged",
	 S("A=1\nA=1\n"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\nA=1\n"),
	 false,
	 {N_},
	 "1"},
	{"second KEY line differs: changed",
	 S("A=1\nA=2\n"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\nA=1\n"),
	 true,
	 {C_},
	 "1"},
	{"value with CR in file differs",
	 S("A=1\r\n"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("A=1\n"),
	 true,
	 {C_},
	 "1\r"},
	{"remove every KEY line",
	 S("A=1\nB=2\nA=3\n"),
	 true,
	 {R("A")},
	 1,
	 NULL,
	 S("B=2\n"),
	 true,
	 {D_},
	 "1"},
	{"remove last line without LF",
	 S("B=2\nA=1"),
	 true,
	 {R("A")},
	 1,
	 NULL,
	 S("B=2\n"),
	 true,
	 {D_},
	 "1"},
	{"remove first, last line without LF gets one",
	 S("A=1\nB=2"),
	 true,
	 {R("A")},
	 1,
	 NULL,
	 S("B=2\n"),
	 true,
	 {D_},
	 "1"},
	{"remove absent: unchanged",
	 S("B=2"),
	 true,
	 {R("A")},
	 1,
	 NULL,
	 S("B=2"),
	 false,
	 {N_},
	 NULL},
	{"remove from missing file: no-op",
	 S(""),
	 false,
	 {R("A")},
	 1,
	 NULL,
	 S(""),
	 false,
	 {N_},
	 NULL},
	{"remove keeps export and comments",
	 S("export A=1\n# A=2\nA=3\n"),
	 true,
	 {R("A")},
	 1,
	 NULL,
	 S("export A=1\n# A=2\n"),
	 true,
	 {D_},
	 "3"},
	{"remove the only line", S("A=1\n"), true, {R("A")}, 1, NULL, S(""), true, {D_}, "1"},
	{"if-absent: present",
	 S("A=1\n"),
	 true,
	 {UA("A", "2")},
	 1,
	 NULL,
	 S("A=1\n"),
	 false,
	 {N_},
	 "1"},
	{"if-absent: empty counts as absent",
	 S("A=\nB=1\n"),
	 true,
	 {UA("A", "2")},
	 1,
	 NULL,
	 S("A=2\nB=1\n"),
	 true,
	 {C_},
	 ""},
	{"if-absent: first empty, all replaced",
	 S("A=\nA=x\n"),
	 true,
	 {UA("A", "2")},
	 1,
	 NULL,
	 S("A=2\nA=2\n"),
	 true,
	 {C_},
	 ""},
	{"if-absent: first non-empty wins",
	 S("A=x\nA=\n"),
	 true,
	 {UA("A", "2")},
	 1,
	 NULL,
	 S("A=x\nA=\n"),
	 false,
	 {N_},
	 "x"},
	{"if-absent: missing", S(""), false, {UA("A", "2")}, 1, NULL, S("A=2\n"), true, {A_}, NULL},
	{"one batch: upsert, remove, append in order",
	 S("B=1\nA=0\n"),
	 true,
	 {U("A", "1"), R("B"), U("C", "3"), U("D", "4")},
	 4,
	 NULL,
	 S("A=1\nC=3\nD=4\n"),
	 true,
	 {C_, D_, A_, A_},
	 "0"},
	{"comment before the first flagged append",
	 S("X=1\n"),
	 true,
	 {U("A", "1"), UC("X", "2"), UC("B", "2"), UC("C", "3")},
	 4,
	 "# added by agent-install 1.0",
	 S("X=1\nA=1\n# added by agent-install 1.0\nB=2\nC=3\n"),
	 true,
	 {A_, N_, A_, A_},
	 NULL},
	{"no comment when nothing flagged is appended",
	 S("B=1\n"),
	 true,
	 {U("A", "1"), UC("B", "2")},
	 2,
	 "# added",
	 S("B=1\nA=1\n"),
	 true,
	 {A_, N_},
	 NULL},
	{"NUL bytes in other lines kept",
	 S("X=a\0b\nA=1\n\0\n"),
	 true,
	 {U("A", "2")},
	 1,
	 NULL,
	 S("X=a\0b\nA=2\n\0\n"),
	 true,
	 {C_},
	 "1"},
	{"inner and outer spaces literal",
	 S("A=1\n"),
	 true,
	 {U("A", " x y ")},
	 1,
	 NULL,
	 S("A= x y \n"),
	 true,
	 {C_},
	 "1"},
	{"lone LF lines",
	 S("\n\n"),
	 true,
	 {U("A", "1")},
	 1,
	 NULL,
	 S("\n\nA=1\n"),
	 true,
	 {A_},
	 NULL},
	{"value containing =",
	 S("A=b=c\n"),
	 true,
	 {U("A", "x=y")},
	 1,
	 NULL,
	 S("A=x=y\n"),
	 true,
	 {C_},
	 "b=c"},
	{"no edits", S("A=1"), true, {U("Z", "z")}, 0, NULL, S("A=1"), false, {N_}, NULL},
};

static void test_apply_table(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(apply_cases) / sizeof(apply_cases[0]); i++) {
		const struct apply_case *c = &apply_cases[i];
		struct envfile_outcome oc[4];
		struct buf *out = buf_new(BOUNDS_ENVFILE_MAX);
		struct errbuf e = {""};
		bool changed = !c->changed;
		int rc;

		rc = envfile_apply(c->in, c->in_len, c->exists, c->edits, c->n, c->comment, out, oc,
				   &changed, &e);
		if (rc != 0 || buf_len(out) != c->want_len ||
		    memcmp(buf_data(out), c->want, c->want_len) != 0 || changed != c->changed)
			print_error("case '%s': rc %d (%s), got [%s] changed %d\n", c->name, rc,
				    e.msg, buf_data(out), changed);
		assert_int_equal(rc, 0);
		assert_int_equal(buf_len(out), c->want_len);
		assert_memory_equal(buf_data(out), c->want, c->want_len);
		assert_int_equal(changed, c->changed);
		for (k = 0; k < c->n; k++) {
			if ((int)oc[k].kind != c->kinds[k])
				print_error("case '%s': edit %zu kind %d\n", c->name, k,
					    oc[k].kind);
			assert_int_equal(oc[k].kind, c->kinds[k]);
		}
		if (c->n > 0) {
			if (c->old0 == NULL) {
				assert_null(oc[0].old_value);
			} else {
				assert_non_null(oc[0].old_value);
				assert_int_equal(oc[0].old_len, strlen(c->old0));
				assert_string_equal(oc[0].old_value, c->old0);
			}
		}
		envfile_outcomes_free(oc, c->n);
		/* again without outcomes: same bytes */
		assert_int_equal(envfile_apply(c->in, c->in_len, c->exists, c->edits, c->n,
					       c->comment, out, NULL, NULL, &e),
				 0);
		assert_memory_equal(buf_data(out), c->want, c->want_len);
		buf_free(out);
	}
}

/* applying the same batch twice: the second time changes nothing */
static void test_apply_idempotent(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(apply_cases) / sizeof(apply_cases[0]); i++) {
		const struct apply_case *c = &apply_cases[i];
		struct buf *out = buf_new(BOUNDS_ENVFILE_MAX), *out2 = buf_new(BOUNDS_ENVFILE_MAX);
		bool changed = true;

		if (c->comment != NULL) { /* the comment is appended once per run, by design */
			buf_free(out);
			buf_free(out2);
			continue;
		}
		assert_int_equal(envfile_apply(c->in, c->in_len, c->exists, c->edits, c->n, NULL,
					       out, NULL, NULL, NULL),
				 0);
		assert_int_equal(envfile_apply(buf_data(out), buf_len(out), true, c->edits, c->n,
					       NULL, out2, NULL, &changed, NULL),
				 0);
		assert_false(changed);
		assert_int_equal(buf_len(out), buf_len(out2));
		assert_memory_equal(buf_data(out), buf_data(out2), buf_len(out));
		buf_free(out);
		buf_free(out2);
	}
}

static void test_apply_output_limit(void **state)
{
	struct envfile_edit ed[] = {U("A", "123456")};
	struct buf *out = buf_new(10);
	struct errbuf e;

	(void)state;
	assert_int_equal(envfile_apply(S("B=1\n"), true, ed, 1, NULL, out, NULL, NULL, &e), -1);
	assert_int_equal(errno, E2BIG);
	buf_free(out);
	out = buf_new(10); /* "B=1\nA=1234" + LF = 11 > 10; "A=12345\n" 8 fits */
	ed[0].value = "12345";
	assert_int_equal(envfile_apply(S(""), false, ed, 1, NULL, out, NULL, NULL, &e), 0);
	buf_free(out);
}

/* ---- lookup ------------------------------------------------------------------ */

static void test_get_table(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		const char *key;
		bool found;
		const char *val;
		size_t val_len;
		bool absent;
	} cases[] = {
		{S("A=1\nA=2\n"), "A", true, S("1"), false},
		{S("B=1\nA=  raw \"x\" \\n \n"), "A", true, S("  raw \"x\" \\n "), false},
		{S("A=1\r\n"), "A", true, S("1\r"), false},
		{S("A=\nA=2\n"), "A", true, S(""), true},
		{S("A="), "A", true, S(""), true},
		{S("A=last"), "A", true, S("last"), false},
		{S("export A=1\n A=2\n# A=3\n\tA=4\n"), "A", false, S(""), true},
		{S("AB=1\nA\n"), "A", false, S(""), true},
		{S("AB=1\nA=2\n"), "AB", true, S("1"), false},
		{S("A=x=y\n"), "A", true, S("x=y"), false},
		{S("X=\0\nA=a\0b\n"), "A", true, S("a\0b"), false},
		{S(""), "A", false, S(""), true},
		{S("\n\n"), "A", false, S(""), true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *v = NULL;
		size_t vl = 0;
		bool f = envfile_get(cases[i].data, cases[i].len, cases[i].key,
				     strlen(cases[i].key), &v, &vl);

		assert_int_equal(f, cases[i].found);
		if (f) {
			assert_int_equal(vl, cases[i].val_len);
			assert_memory_equal(v, cases[i].val, vl);
		}
		assert_int_equal(envfile_is_absent(cases[i].data, cases[i].len, cases[i].key,
						   strlen(cases[i].key)),
				 cases[i].absent);
	}
}

struct each_rec {
	char seen[512];
	int n;
	int stop_at;
};

static int each_cb(void *ctx, const char *key, size_t key_len, const char *val, size_t val_len)
{
	struct each_rec *r = ctx;
	size_t used = strlen(r->seen);

	snprintf(r->seen + used, sizeof(r->seen) - used, "[%.*s|%.*s]", (int)key_len, key,
		 (int)val_len, val);
	return ++r->n == r->stop_at ? 7 : 0;
}

static void test_each(void **state)
{
	static const char data[] =
		"# c\nA=1\nexport B=2\n 1X=3\nC_9=x=y\nA=dup\nbad-key=1\n_=u\nD=";
	struct each_rec r = {"", 0, 0};

	(void)state;
	assert_int_equal(envfile_each(data, sizeof(data) - 1, each_cb, &r), 0);
	assert_string_equal(r.seen, "[A|1][C_9|x=y][A|dup][_|u][D|]");
	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	assert_int_equal(envfile_each(data, sizeof(data) - 1, each_cb, &r), 7);
	assert_string_equal(r.seen, "[A|1][C_9|x=y]");
}

/* ---- validation -------------------------------------------------------------- */

static void test_keys(void **state)
{
	char k128[BOUNDS_ENV_KEY_MAX + 2];
	struct errbuf e;

	(void)state;
	memset(k128, 'K', sizeof(k128));
	k128[BOUNDS_ENV_KEY_MAX] = '\0';
	assert_true(envfile_key_valid(k128, BOUNDS_ENV_KEY_MAX));      /* max */
	assert_false(envfile_key_valid(k128, BOUNDS_ENV_KEY_MAX + 1)); /* max + 1 */
	assert_int_equal(envfile_check_key(k128, BOUNDS_ENV_KEY_MAX + 1, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 128 bytes"));
	assert_true(envfile_key_valid(S("A")));
	assert_true(envfile_key_valid(S("_")));
	assert_true(envfile_key_valid(S("a_Z9")));
	assert_false(envfile_key_valid(S("")));
	assert_false(envfile_key_valid(S("1A")));
	assert_false(envfile_key_valid(S("A-B")));
	assert_false(envfile_key_valid(S("A B")));
	assert_false(envfile_key_valid(S("A=")));
	assert_false(envfile_key_valid(S("A\0B")));
	assert_false(envfile_key_valid(S("\xc3\xa9")));
	assert_int_equal(envfile_check_key(S("A B"), &e), -1);
	assert_string_equal(
		e.msg,
		"invalid key 'A B': keys are [A-Za-z_][A-Za-z0-9_]* (byte 2 is not allowed)");
	assert_int_equal(envfile_check_key(S(""), &e), -1);
	assert_string_equal(e.msg, "empty key");
}

static void test_values(void **state)
{
	char v[BOUNDS_ENV_VALUE_MAX + 2];
	struct errbuf e;

	(void)state;
	memset(v, 'v', sizeof(v));
	assert_int_equal(envfile_check_value("K", v, BOUNDS_ENV_VALUE_MAX, &e), 0);
	assert_int_equal(envfile_check_value("K", v, BOUNDS_ENV_VALUE_MAX + 1, &e), -1);
	assert_string_equal(e.msg, "value for K is longer than 4096 bytes");
	assert_int_equal(envfile_check_value("K", S("a\nb"), &e), -1);
	assert_string_equal(e.msg, "value for K contains a newline");
	assert_int_equal(envfile_check_value("K", S("a\r"), &e), -1);
	assert_string_equal(e.msg, "value for K contains a carriage return");
	assert_int_equal(envfile_check_value("K", S("a\0b"), &e), -1);
	assert_string_equal(e.msg, "value for K contains a NUL byte");
	assert_int_equal(envfile_check_value("K", S(""), &e), 0);
	assert_int_equal(envfile_check_value("K", S("\\n $x \" ' `"), &e), 0);
}

static void test_batches(void **state)
{
	struct envfile_edit twice[] = {U("A", "1"), U("A", "2")};
	struct envfile_edit mixed[] = {U("A", "1"), R("A")};
	struct envfile_edit nl[] = {U("A", "1"), U("B", "x\ny")};
	struct envfile_edit badkey[] = {R("A B")};
	struct buf *out = buf_new(100);
	struct errbuf e;

	(void)state;
	assert_int_equal(envfile_check_edits(twice, 2, &e), -1);
	assert_string_equal(e.msg, "A given more than once");
	assert_int_equal(envfile_check_edits(mixed, 2, &e), -1);
	assert_int_equal(envfile_check_edits(nl, 2, &e), -1);
	assert_string_equal(e.msg, "value for B contains a newline");
	assert_int_equal(envfile_check_edits(badkey, 1, &e), -1);
	/* apply refuses them too, and writes nothing */
	assert_int_equal(envfile_apply(S("A=0\n"), true, nl, 2, NULL, out, NULL, NULL, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(buf_len(out), 0);
	buf_free(out);
}

static void test_warnings(void **state)
{
	static const struct {
		const char *v;
		bool warn;
	} cases[] = {
		{"", false},
		{"plain", false},
		{"a b c", false},
		{"A-z0-9._:/,@%+=-", false},
		{"http://u:p@h:1/x?y=1", false},
		{" lead", true},
		{"trail ", true},
		{"\tlead", true},
		{"trail\t", true},
		{"a\"b", true},
		{"a'b", true},
		{"a\\b", true},
		{"a$b", true},
		{"a`b", true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(envfile_value_warns(cases[i].v, strlen(cases[i].v)),
				 cases[i].warn);
}

/* ---- summary ----------------------------------------------------------------- */

static void test_summary(void **state)
{
	static const char in[] = "AGENT_BUNDLE_NAME=old-name\nANYSCAN_SCANNER_INTERFACES=eth0\n"
				 "API_TOKEN=abc\nHTTPS_PROXY=http://u:p@proxy:3128\nCR=x\r\n";
	struct envfile_edit ed[] = {
		U("SCANNER_DEFAULT_RATE", "500000"),
		U("AGENT_BUNDLE_NAME", "new-name"),
		R("ANYSCAN_SCANNER_INTERFACES"),
		U("API_TOKEN", "def"),
		U("DB_Password", "pw"),
		U("HTTPS_PROXY", "https://user@proxy:3128/"),
		U("CR", "y"),
		U("UNCHANGED_MISSING_REMOVE_X", "same"),
	};
	size_t n = sizeof(ed) / sizeof(ed[0]);
	struct envfile_outcome oc[8];
	struct buf *out = buf_new(BOUNDS_ENVFILE_MAX), *sum = buf_new(4096);
	struct errbuf e;
	char in2[sizeof(in) + 40];

	(void)state;
	/* make the last edit unchanged */
	snprintf(in2, sizeof(in2), "%sUNCHANGED_MISSING_REMOVE_X=same\n", in);
	assert_int_equal(envfile_apply(in2, strlen(in2), true, ed, n, NULL, out, oc, NULL, &e), 0);
	assert_int_equal(envfile_summary(ed, oc, n, false, sum, &e), 0);
	assert_string_equal(
		buf_data(sum),
		"added   SCANNER_DEFAULT_RATE=500000\n"
		"changed AGENT_BUNDLE_NAME=new-name (was old-name)\n"
		"removed ANYSCAN_SCANNER_INTERFACES\n"
		"changed API_TOKEN=*** (was ***)\n"
		"added   DB_Password=***\n"
		"changed HTTPS_PROXY=https://***@proxy:3128/ (was http://***@proxy:3128)\n"
		"changed CR=y (was x\\x0d)\n");
	buf_reset(sum);
	assert_int_equal(envfile_summary(ed, oc, 3, true, sum, &e), 0);
	assert_string_equal(buf_data(sum),
			    "would add SCANNER_DEFAULT_RATE=500000\n"
			    "would change AGENT_BUNDLE_NAME=new-name (was old-name)\n"
			    "would remove ANYSCAN_SCANNER_INTERFACES\n");
	envfile_outcomes_free(oc, n);
	buf_free(out);
	buf_free(sum);
}

static void test_mask(void **state)
{
	static const struct {
		const char *key, *val, *want;
	} cases[] = {
		{"X", "plain", "plain"},
		{"X", "http://host:1/a@b", "http://host:1/a@b"}, /* '@' after the path */
		{"X", "http://u:p@h", "http://***@h"},
		{"X", "http://u@h", "http://***@h"},
		{"X", "socks5://a:b@c:1,http://d:e@f", "socks5://***@c:1,http://***@f"},
		{"X", "user@example.com", "user@example.com"},
		{"X", "://@", "://***@"},
		{"SECRET", "s", "***"},
		{"my_secret_key", "s", "***"},
		{"PASSWORDLESS", "x", "***"},
		{"TOKENS", "", "***"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf *b = buf_new(256);

		assert_int_equal(envfile_mask_value(cases[i].key, cases[i].val,
						    strlen(cases[i].val), b, NULL),
				 0);
		assert_string_equal(buf_data(b), cases[i].want);
		buf_free(b);
	}
}

/* ---- locked read-modify-write (§8.4) ----------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	static char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static void put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

static int update1(const char *path, struct envfile_edit ed, const struct envfile_update_opts *o,
		   bool *changed, struct errbuf *e)
{
	return envfile_update(path, &ed, 1, o, NULL, changed, e);
}

static void test_update_new_file(void **state)
{
	struct envfile_edit ed[] = {U("A", "1"), U("B", "2")};
	struct envfile_outcome oc[2];
	struct errbuf e;
	struct stat st;
	bool changed = false;
	mode_t old;

	(void)state;
	old = umask(022);
	assert_int_equal(envfile_update("runtime.env", ed, 2, NULL, oc, &changed, &e), 0);
	umask(old);
	assert_true(changed);
	assert_int_equal(oc[0].kind, ENVFILE_ADDED);
	envfile_outcomes_free(oc, 2);
	assert_string_equal(slurp("runtime.env", NULL), "A=1\nB=2\n");
	assert_int_equal(stat("runtime.env", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat("runtime.env.lock", &st), 0); /* lock file stays */
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_temps("."), 0);
}

/* nothing changed: bytes, inode and mtime stay as they were */
static void test_update_nothing_changed(void **state)
{
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	struct errbuf e;
	struct stat a, b;
	bool changed = true;

	(void)state;
	put("r.env", S("A=1\nB=2"));
	assert_int_equal(utimensat(AT_FDCWD, "r.env", ts, 0), 0);
	assert_int_equal(stat("r.env", &a), 0);
	assert_int_equal(update1("r.env", (struct envfile_edit)U("A", "1"), NULL, &changed, &e), 0);
	assert_false(changed);
	assert_int_equal(update1("r.env", (struct envfile_edit)UA("B", "x"), NULL, &changed, &e),
			 0);
	assert_int_equal(update1("r.env", (struct envfile_edit)R("C"), NULL, &changed, &e), 0);
	assert_false(changed);
	assert_int_equal(stat("r.env", &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_mtim.tv_sec, 1000000000);
	assert_string_equal(slurp("r.env", NULL), "A=1\nB=2");
	/* remove on a missing file: nothing created */
	assert_int_equal(update1("gone.env", (struct envfile_edit)R("A"), NULL, &changed, &e), 0);
	assert_false(changed);
	assert_int_equal(access("gone.env", F_OK), -1);
}

static void test_update_preserves_owner_and_mode(void **state)
{
	struct errbuf e;
	struct stat st;

	(void)state;
	put("o.env", S("A=1\n"));
	assert_int_equal(chmod("o.env", 0604), 0);
	if (geteuid() == 0)
		assert_int_equal(chown("o.env", 1234, 5678), 0);
	assert_int_equal(update1("o.env", (struct envfile_edit)U("A", "2"), NULL, NULL, &e), 0);
	assert_int_equal(stat("o.env", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
	}
	assert_string_equal(slurp("o.env", NULL), "A=2\n");
}

static int drop_cap_chown(void)
{
	struct {
		uint32_t version;
		int pid;
	} h = {0x20080522, 0};
	struct {
		uint32_t effective, permitted, inheritable;
	} d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective &= ~1u; /* CAP_CHOWN */
	return (int)syscall(SYS_capset, &h, d);
}

/* §8.4 step 4: owner cannot be preserved -> failure, FILE untouched */
static void test_update_owner_not_preservable(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	put("n.env", S("A=1\n"));
	assert_int_equal(chown("n.env", 1234, 5678), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct errbuf e;

		if (drop_cap_chown() < 0)
			_exit(3);
		if (update1("n.env", (struct envfile_edit)U("A", "2"), NULL, NULL, &e) == 0)
			_exit(1);
		_exit(errno == EPERM && strstr(e.msg, "cannot preserve owner") != NULL ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(slurp("n.env", NULL), "A=1\n");
	assert_int_equal(count_temps("."), 0);
}

/* §8.4 step 5: a symlink is written through to its target */
static void test_update_through_symlink(void **state)
{
	char lnk[64];
	struct errbuf e;
	ssize_t n;

	(void)state;
	assert_int_equal(mkdir("srv", 0755), 0);
	put("srv/real.env", S("A=1\n"));
	assert_int_equal(chmod("srv/real.env", 0600), 0);
	assert_int_equal(symlink("srv/real.env", "link.env"), 0);
	assert_int_equal(update1("link.env", (struct envfile_edit)U("B", "2"), NULL, NULL, &e), 0);
	n = readlink("link.env", lnk, sizeof(lnk) - 1);
	assert_int_equal(n, 12);
	assert_string_equal(slurp("srv/real.env", NULL), "A=1\nB=2\n");
	{
		struct stat st;

		assert_int_equal(stat("srv/real.env", &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	assert_int_equal(count_temps("srv") + count_temps("."), 0);
}

static void test_update_size_limits(void **state)
{
	char *big = malloc(BOUNDS_ENVFILE_MAX + 1);
	struct errbuf e;
	struct stat st;

	(void)state;
	assert_non_null(big);
	memset(big, '#', BOUNDS_ENVFILE_MAX + 1);
	big[BOUNDS_ENVFILE_MAX - 1] = '\n';
	/* exactly 1 MiB: read fine; an upsert would grow it past the limit */
	put("max.env", big, BOUNDS_ENVFILE_MAX);
	assert_int_equal(update1("max.env", (struct envfile_edit)R("A"), NULL, NULL, &e), 0);
	assert_int_equal(update1("max.env", (struct envfile_edit)U("A", "1"), NULL, NULL, &e), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(e.msg, "max.env would be larger than 1048576 bytes");
	/* 1 MiB + 1: refused */
	put("over.env", big, BOUNDS_ENVFILE_MAX + 1);
	assert_int_equal(update1("over.env", (struct envfile_edit)U("A", "1"), NULL, NULL, &e), -1);
	assert_int_equal(errno, EFBIG);
	assert_string_equal(e.msg, "over.env is larger than 1048576 bytes");
	assert_int_equal(stat("over.env", &st), 0);
	assert_int_equal(st.st_size, BOUNDS_ENVFILE_MAX + 1);
	assert_int_equal(count_temps("."), 0);
	free(big);
}

static void test_update_validation(void **state)
{
	struct envfile_edit ed[] = {U("A", "1"), U("B", "x\ny")};
	struct errbuf e;

	(void)state;
	put("v.env", S("A=0\n"));
	assert_int_equal(envfile_update("v.env", ed, 2, NULL, NULL, NULL, &e), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(e.msg, "value for B contains a newline");
	assert_string_equal(slurp("v.env", NULL), "A=0\n");
	assert_int_equal(access("v.env.lock", F_OK), -1); /* refused before locking */
}

static void test_update_lock_timeout(void **state)
{
	struct envfile_update_opts o;
	int ready[2], rel[2], st;
	struct errbuf e;
	pid_t pid;
	char c;

	(void)state;
	put("l.env", S("A=1\n"));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(rel), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("l.env.lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		close(rel[1]);
		(void)read(rel[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	envfile_update_opts_init(&o);
	o.lock_timeout_ms = 100;
	assert_int_equal(update1("l.env", (struct envfile_edit)U("A", "2"), &o, NULL, &e), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_string_equal(e.msg, "l.env is locked by another writer");
	assert_string_equal(slurp("l.env", NULL), "A=1\n");
	close(rel[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(update1("l.env", (struct envfile_edit)U("A", "2"), &o, NULL, &e), 0);
	assert_string_equal(slurp("l.env", NULL), "A=2\n");
}

/* §24.1: two processes upserting different keys 100 times each lose nothing */
static void test_update_two_writers(void **state)
{
	pid_t pids[2];
	int w, st;
	size_t len;
	char *data;

	(void)state;
	for (w = 0; w < 2; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			int i;

			for (i = 0; i < 100; i++) {
				char key[32], val[32];
				struct envfile_edit ed = {ENVFILE_UPSERT, key, val, 0};
				struct errbuf e;

				snprintf(key, sizeof(key), "W%d_K%d", w, i);
				snprintf(val, sizeof(val), "%d", i);
				if (envfile_update("c.env", &ed, 1, NULL, NULL, NULL, &e) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (w = 0; w < 2; w++) {
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	data = slurp("c.env", &len);
	for (w = 0; w < 2; w++) {
		int i;

		for (i = 0; i < 100; i++) {
			char key[32], want[32];
			const char *v;
			size_t vl;

			snprintf(key, sizeof(key), "W%d_K%d", w, i);
			snprintf(want, sizeof(want), "%d", i);
			assert_true(envfile_get(data, len, key, strlen(key), &v, &vl));
			assert_int_equal(vl, strlen(want));
			assert_memory_equal(v, want, vl);
		}
	}
	assert_int_equal(count_temps("."), 0);
}

static void test_update_dry_run_and_initial(void **state)
{
	struct envfile_edit ed[] = {UC("B", "2"), UC("C", "3")};
	struct envfile_update_opts o;
	struct envfile_outcome oc[2];
	struct errbuf e;
	bool changed = false;

	(void)state;
	envfile_update_opts_init(&o);
	o.flags = ENVFILE_U_DRY_RUN;
	o.initial = "# template\nB=\n";
	o.initial_len = strlen(o.initial);
	o.append_comment = "# added by agent-install 9.9";
	assert_int_equal(envfile_update("t.env", ed, 2, &o, oc, &changed, &e), 0);
	assert_true(changed);
	assert_int_equal(oc[0].kind, ENVFILE_CHANGED);
	assert_int_equal(oc[1].kind, ENVFILE_ADDED);
	envfile_outcomes_free(oc, 2);
	assert_int_equal(access("t.env", F_OK), -1);
	assert_int_equal(access("t.env.lock", F_OK), -1);

	o.flags = 0;
	assert_int_equal(envfile_update("t.env", ed, 2, &o, NULL, &changed, &e), 0);
	assert_string_equal(slurp("t.env", NULL),
			    "# template\nB=2\n# added by agent-install 9.9\nC=3\n");
	/* a missing file with initial content is created even with no edit */
	assert_int_equal(envfile_update("t2.env", ed, 0, &o, NULL, &changed, &e), 0);
	assert_true(changed);
	assert_string_equal(slurp("t2.env", NULL), "# template\nB=\n");
}

static int enter_dir(void **state)
{
	static int n;
	char d[64];

	(void)state;
	snprintf(d, sizeof(d), "case%d", ++n);
	if (mkdir(d, 0755) < 0 || chdir(d) < 0)
		return -1;
	return 0;
}

static int leave_dir(void **state)
{
	(void)state;
	return chdir("..");
}

#define T(f) cmocka_unit_test_setup_teardown(f, enter_dir, leave_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_table),
		cmocka_unit_test(test_apply_idempotent),
		cmocka_unit_test(test_apply_output_limit),
		cmocka_unit_test(test_get_table),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_mask),
		T(test_update_new_file),
		T(test_update_nothing_changed),
		T(test_update_preserves_owner_and_mode),
		T(test_update_owner_not_preservable),
		T(test_update_through_symlink),
		T(test_update_size_limits),
		T(test_update_validation),
		T(test_update_lock_timeout),
		T(test_update_two_writers),
		T(test_update_dry_run_and_initial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
