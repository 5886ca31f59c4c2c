/* lib/verify: the structure pass on bundles written by bundle/writer (spec §5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bname.h"
#include "bounds.h"
#include "buf.h"
#include "hex.h"
#include "manifest.h"
#include "sha256.h"
#include "verify.h"
#include "writer.h"

struct file {
	const char *path;
	unsigned mode;
	const char *data;
	uint64_t listed_size; /* 0: strlen(data) */
};

static const char sh[] = "#!/bin/sh\n";

static const struct file base[] = {
	{"bin/agent-install", 0755, "AI", 0},
	{"bin/agentd", 0755, "AD", 0},
	{"bin/reserve-control-bandwidth.sh", 0755, sh, 0},
	{"bin/tune-scanner-host.sh", 0755, sh, 0},
	{"env/runtime.env.template", 0644, "# t\n", 0},
	{"install.sh", 0755, sh, 0},
	{"runit/agentd-remote-update/run", 0755, sh, 0},
	{"runit/agentd/run", 0755, sh, 0},
	{"systemd/agentd-remote-update.path", 0644, "p", 0},
	{"systemd/agentd-remote-update.service", 0644, "s", 0},
	{"systemd/agentd.service", 0644, "a", 0},
};
#define NBASE (sizeof(base) / sizeof(base[0]))

static int sink(void *ctx, const void *data, size_t len, struct errbuf *e)
{
	(void)e;
	return fwrite(data, 1, len, ctx) == len ? 0 : -1;
}

/* Write out.tar.gz holding files (MANIFEST built from them) and return the
 * name in name[]. */
static void make_bundle(const char *out, const struct file *f, size_t n, char *name)
{
	struct manifest *m = manifest_new("1.4.0", "linux-x86_64", 1772366400, NULL);
	struct buf *mf = buf_new(BOUNDS_MANIFEST_MAX);
	struct writer *w;
	uint8_t fp[32];
	char hex[65], fp12[13], p[512];
	const char *dirs[] = {"bin/",          "env/",    "runit/", "runit/agentd-remote-update/",
			      "runit/agentd/", "systemd/"};
	FILE *fo = fopen(out, "wb");
	size_t i;

	assert_non_null(m);
	assert_non_null(fo);
	for (i = 0; i < n; i++) {
		struct manifest_entry me;
		memset(&me, 0, sizeof(me));
		sha256_buf(f[i].data, strlen(f[i].data), me.sha256);
		me.mode = f[i].mode;
		me.size = f[i].listed_size ? f[i].listed_size : strlen(f[i].data);
		snprintf(me.path, sizeof(me.path), "%s", f[i].path);
		assert_int_equal(manifest_add(m, &me, NULL), 0);
	}
	assert_int_equal(manifest_format(m, mf, NULL), 0);
	sha256_buf(buf_data(mf), buf_len(mf), fp);
	hex_encode(fp, 32, hex, sizeof(hex));
	memcpy(fp12, hex, 12);
	fp12[12] = '\0';
	assert_int_equal(bname_format("linux-x86_64", 1772366400, "1.4.0", fp12, name,
				      BNAME_NAME_MAX + 1, NULL),
			 0);
	w = writer_new(1772366400, sink, fo, NULL);
	assert_non_null(w);
	snprintf(p, sizeof(p), "%s/", name);
	assert_int_equal(writer_dir(w, p, NULL), 0);
	snprintf(p, sizeof(p), "%s/MANIFEST", name);
	assert_int_equal(writer_file(w, p, 0644, buf_len(mf), NULL), 0);
	assert_int_equal(writer_data(w, buf_data(mf), buf_len(mf), NULL), 0);
	/* directories first, then files: fine for verification (order of files
	 * is what matters) */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", name, dirs[i]);
		assert_int_equal(writer_dir(w, p, NULL), 0);
	}
	for (i = 0; i < manifest_count(m); i++) {
		const struct manifest_entry *me = manifest_entry(m, i);
		size_t k;
		for (k = 0; k < n && strcmp(f[k].path, me->path) != 0; k++)
			;
		snprintf(p, sizeof(p), "%s/%s", name, me->path);
		assert_int_equal(writer_file(w, p, me->mode, strlen(f[k].data), NULL), 0);
		assert_int_equal(writer_data(w, f[k].data, strlen(f[k].data), NULL), 0);
	}
	assert_int_equal(writer_finish(w, NULL), 0);
	writer_free(w);
	fclose(fo);
	manifest_free(m);
	buf_free(mf);
}

struct seen {
	int dirs, begins, ends;
	size_t bytes;
};

static int h_dir(void *ctx, const char *rel, struct errbuf *e)
{
	(void)rel;
	(void)e;
	((struct seen *)ctx)->dirs++;
	return 0;
}

static int h_begin(void *ctx, const struct manifest_entry *ent, struct errbuf *e)
{
	(void)ent;
	(void)e;
	((struct seen *)ctx)->begins++;
	return 0;
}

static int h_data(void *ctx, const void *d, size_t len, struct errbuf *e)
{
	(void)d;
	(void)e;
	((struct seen *)ctx)->bytes += len;
	return 0;
}

static int h_end(void *ctx, const struct manifest_entry *ent, struct errbuf *e)
{
	(void)e;
	if (strcmp(ent->path, "install.sh") == 0) {
		err_set(e, "stop here");
		return -1;
	}
	((struct seen *)ctx)->ends++;
	return 0;
}

static void test_valid_and_hooks(void **state)
{
	char name[BNAME_NAME_MAX + 1], path[600];
	struct verify_opts o;
	struct verify_result r;
	struct errbuf e;
	struct seen s = {0};
	struct verify_hooks h = {&s, h_dir, h_begin, h_data, NULL};
	int fd;
	(void)state;
	make_bundle("b.tar.gz", base, NBASE, name);
	snprintf(path, sizeof(path), "%s.tar.gz", name);
	assert_int_equal(rename("b.tar.gz", path), 0);
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.size = -1;
	o.insecure_no_signature = true;
	o.platform = "linux-x86_64";
	o.hooks = &h;
	assert_int_equal(verify_bundle(&o, &r, &e), 0);
	assert_int_equal(r.code, VERIFY_OK);
	assert_string_equal(r.name, name);
	assert_string_equal(r.version, "1.4.0");
	assert_int_equal(r.files, NBASE);
	assert_false(r.signature_verified);
	assert_int_equal(s.dirs, 6);
	assert_int_equal(s.begins, (int)NBASE);
	assert_true(s.bytes == r.bytes);
	verify_result_free(&r);
	/* a hook failure stops the pass with VERIFY_HOOK and its message */
	h.file_end = h_end;
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(verify_structure(fd, &o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_HOOK);
	assert_string_equal(e.msg, "stop here");
	verify_result_free(&r);
	close(fd);
	/* no trusted key */
	o.insecure_no_signature = false;
	o.hooks = NULL;
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_NO_TRUSTED_KEY);
	verify_result_free(&r);
	/* expected size */
	o.insecure_no_signature = true;
	o.size = 1;
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_LIMIT_SIZE);
	verify_result_free(&r);
}

static void expect(const struct file *f, size_t n, enum verify_code code, const char *detail)
{
	char name[BNAME_NAME_MAX + 1];
	struct verify_opts o;
	struct verify_result r;
	struct errbuf e;

	make_bundle("x.tar.gz", f, n, name);
	memset(&o, 0, sizeof(o));
	o.path = "x.tar.gz";
	o.size = -1;
	o.insecure_no_signature = true;
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	if (r.code != code || strstr(e.msg, detail) == NULL)
		fail_msg("wanted [%s] '%s', got [%s] %s", verify_code_name(code), detail,
			 verify_code_name(r.code), e.msg);
	verify_result_free(&r);
}

static void test_manifest_level_failures(void **state)
{
	struct file f[NBASE + 1];
	(void)state;
	/* a required file not listed */
	memcpy(f, base, sizeof(base));
	expect(f + 1, NBASE - 1, VERIFY_REQUIRED_FILE_MISSING, "bin/agent-install");
	/* listed sizes past the limits, refused before any data is read */
	memcpy(f, base, sizeof(base));
	f[1].listed_size = BOUNDS_BUNDLE_MEMBER_MAX + 1;
	expect(f, NBASE, VERIFY_LIMIT_SIZE, "bin/agentd: listed size is larger than 512 MiB");
	memcpy(f, base, sizeof(base));
	f[0].listed_size = 400ULL * 1024 * 1024;
	f[1].listed_size = 400ULL * 1024 * 1024;
	f[2].listed_size = 400ULL * 1024 * 1024;
	expect(f, NBASE, VERIFY_LIMIT_SIZE, "more than 1 GiB");
	/* listed size differs from the data */
	memcpy(f, base, sizeof(base));
	f[3].listed_size = 99;
	expect(f, NBASE, VERIFY_ENTRY_SIZE, "bin/tune-scanner-host.sh");
}

static void test_not_a_bundle(void **state)
{
	struct verify_opts o;
	struct verify_result r;
	struct errbuf e;
	(void)state;
	memset(&o, 0, sizeof(o));
	o.size = -1;
	o.insecure_no_signature = true;
	o.path = "missing.tar.gz";
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_IO);
	verify_result_free(&r);
	o.path = ".";
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_NOT_A_BUNDLE);
	verify_result_free(&r);
	assert_int_equal(system("printf 'hello' >plain.tar.gz"), 0);
	o.path = "plain.tar.gz";
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_NOT_A_BUNDLE);
	assert_string_equal(e.msg, "not a gzip file");
	verify_result_free(&r);
	assert_int_equal(system(": >empty.tar.gz"), 0);
	o.path = "empty.tar.gz";
	assert_int_equal(verify_bundle(&o, &r, &e), -1);
	assert_int_equal(r.code, VERIFY_NOT_A_BUNDLE);
	verify_result_free(&r);
}

static void test_codes_and_sha256_file(void **state)
{
	uint8_t h[32];
	int c, d;
	(void)state;
	for (c = VERIFY_OK; c <= VERIFY_HOOK; c++) {
		assert_string_not_equal(verify_code_name((enum verify_code)c), "unknown");
		for (d = c + 1; d <= VERIFY_HOOK; d++)
			assert_string_not_equal(verify_code_name((enum verify_code)c),
						verify_code_name((enum verify_code)d));
	}
	assert_string_equal(verify_code_name(VERIFY_ENTRY_SHA256), "entry-sha256");
	assert_int_equal(
		verify_parse_sha256_file("db4b4d0d1cb480bf9aeea253771c00febe627f236765fa37d"
					 "6a5614f079a3aa0  x.tar.gz\n",
					 75, h, NULL),
		0);
	assert_int_equal(h[0], 0xdb);
	assert_int_equal(
		verify_parse_sha256_file("DB4B4D0D1CB480BF9AEEA253771C00FEBE627F236765FA37D"
					 "6A5614F079A3AA0\n",
					 65, h, NULL),
		0);
	assert_int_equal(verify_parse_sha256_file("db4b", 4, h, NULL), -1);
	assert_int_equal(verify_parse_sha256_file("", 0, h, NULL), -1);
	assert_int_equal(
		verify_parse_sha256_file("\nDB4B4D0D1CB480BF9AEEA253771C00FEBE627F236765FA3"
					 "7D6A5614F079A3AA0\n",
					 66, h, NULL),
		-1);
	assert_int_equal(
		verify_parse_sha256_file("zz4b4d0d1cb480bf9aeea253771c00febe627f236765fa37d"
					 "6a5614f079a3aa0\n",
					 65, h, NULL),
		-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_hooks),
		cmocka_unit_test(test_manifest_level_failures),
		cmocka_unit_test(test_not_a_bundle),
		cmocka_unit_test(test_codes_and_sha256_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
