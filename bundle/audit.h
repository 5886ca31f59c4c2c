#ifndef AUDIT_H
#define AUDIT_H
/*
 * The build-time asset audit (spec bundle-install-update.md §6.1, §6.2):
 * resolve every rule of the table to an input file, check the inputs
 * (ELF machine and static linking, script shebangs, the site env, sizes),
 * and find inputs under the input directory that no rule consumed.
 *
 * Problems are collected, one line each, into a caller's buffer, so that
 * all of them are reported together; warnings go to a callback.
 */
#include "buf.h"
#include "err.h"
#include "manifest.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct audit_override {
	const char *path; /* bundle path (must have a rule) */
	const char *src;  /* file to use */
};

struct audit_input {
	const struct manifest_rule *rule;
	char src[PATH_MAX]; /* "" when there is no input for the rule */
	bool from_dir;      /* src is input_dir/<rule path> */
};

typedef void audit_warn_fn(void *ctx, const char *msg);

/* Fill in[0..rule count) (in rule order) from input_dir (may be NULL), the
 * overrides and site_env (env/runtime.env, may be NULL).  An override for a
 * path without a rule is a usage error: -1 with e (and *usage set).  A
 * missing required input is a problem line ("missing required inputs: a
 * (looked for DIR/a), b (...)"). */
int audit_resolve(const char *input_dir, const struct audit_override *ov, size_t nov,
		  const char *site_env, struct audit_input *in, size_t *n, struct buf *problems,
		  bool *usage, struct errbuf *e);

/* Checks of §6.1 on one opened input (fd, its size): ELF for bin/agentd,
 * bin/agent-install (static) and bin/scanner (any linking); "#!/bin/sh\n" for
 * scripts; §8.5 lines and no installer-owned key for env/runtime.env.
 * Problems are appended; -1 only when appending fails. */
int audit_check(const struct audit_input *in, int fd, unsigned long long size, const char *platform,
		struct buf *problems, struct errbuf *e);

/* Every regular file under input_dir that no rule consumed: a warning
 * "input not used by any rule: DIR/path" (a problem line when strict). */
int audit_unused(const char *input_dir, const struct audit_input *in, size_t n, bool strict,
		 audit_warn_fn *warn, void *warn_ctx, struct buf *problems, struct errbuf *e);

/* The ELF machine (e_machine) and class (1: 32-bit, 2: 64-bit) expected for
 * platform's arch; -1 when unknown. */
int audit_elf_machine(const char *platform, int *elf_class);

#endif
