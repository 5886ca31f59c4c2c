#ifndef VERIFY_H
#define VERIFY_H
/*
 * Bundle verification (spec bundle-install-update.md §5), shared by
 * `agent-bundle verify`/`list` and `agent-install`.  Nothing is unpacked or
 * written: the bundle is checked in one read for size, sha256 and signature,
 * then in a streaming structure pass (gzip by zlib, tar by libarchive) where
 * every entry is checked against the MANIFEST, with the limits of §5.2 step 6
 * enforced as the data streams.
 *
 * A failure returns -1 with r->code (a stable code of §5, verify_code_name)
 * and a detail in e, e.g. "bin/agentd (manifest b4c8f661..., archive
 * 9e1f0c2a...)".  The caller prints "verify failed [<code>]: <detail>".
 *
 * The installer's extraction (§5.5) runs verify_structure() again on its
 * private copy with hooks that receive the directories and file data; the
 * hooks see data before its hash is known, and the pass fails with
 * entry-sha256 at the end of a file whose hash differs.  Without hooks the
 * file data is hashed on a second thread (pthreads) while this one inflates;
 * the result and the error reported are those of the sequential order.
 */
#include "bname.h"
#include "err.h"
#include "manifest.h"
#include "sig.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verify_code {
	VERIFY_OK = 0,
	VERIFY_IO,                    /* io: cannot open or read the bundle */
	VERIFY_LIMIT_SIZE,            /* limit-size */
	VERIFY_LIMIT_ENTRIES,         /* limit-entries */
	VERIFY_SHA256_MISMATCH,       /* sha256-mismatch */
	VERIFY_NO_TRUSTED_KEY,        /* no-trusted-key (§4.4: empty set, no --insecure) */
	VERIFY_SIGNATURE_MISSING,     /* signature-missing */
	VERIFY_SIGNATURE_INVALID,     /* signature-invalid */
	VERIFY_SIGNATURE_MALFORMED,   /* signature-malformed */
	VERIFY_NOT_A_BUNDLE,          /* not-a-bundle */
	VERIFY_BAD_TOP_DIR,           /* bad-top-dir */
	VERIFY_MANIFEST_NOT_FIRST,    /* manifest-not-first */
	VERIFY_MANIFEST_SYNTAX,       /* manifest-syntax */
	VERIFY_FINGERPRINT_MISMATCH,  /* fingerprint-mismatch */
	VERIFY_NAME_MISMATCH,         /* name-mismatch */
	VERIFY_REQUIRED_FILE_MISSING, /* required-file-missing */
	VERIFY_PLATFORM_MISMATCH,     /* platform-mismatch */
	VERIFY_ENTRY_PATH,            /* entry-path */
	VERIFY_ENTRY_TYPE,            /* entry-type */
	VERIFY_ENTRY_SETID,           /* entry-setid */
	VERIFY_ENTRY_UNLISTED,        /* entry-unlisted */
	VERIFY_ENTRY_MODE,            /* entry-mode */
	VERIFY_ENTRY_DUPLICATE,       /* entry-duplicate */
	VERIFY_ENTRY_ORDER,           /* entry-order */
	VERIFY_ENTRY_SIZE,            /* entry-size */
	VERIFY_ENTRY_SHA256,          /* entry-sha256 */
	VERIFY_ENTRY_MISSING,         /* entry-missing */
	VERIFY_HOOK,                  /* hook: a hook of the caller failed (its e) */
};

/* The stable text of a code ("entry-sha256"). */
const char *verify_code_name(enum verify_code c);

/* Receivers for the structure pass (all may be NULL).  rel is the path
 * relative to the top-level directory ("bin", "bin/agentd").  Return 0 or -1
 * with e filled to abort the pass (code VERIFY_HOOK). */
struct verify_hooks {
	void *ctx;
	int (*dir)(void *ctx, const char *rel, struct errbuf *e);
	int (*file_begin)(void *ctx, const struct manifest_entry *ent, struct errbuf *e);
	int (*file_data)(void *ctx, const void *data, size_t len, struct errbuf *e);
	/* Called after the file's size and hash matched. */
	int (*file_end)(void *ctx, const struct manifest_entry *ent, struct errbuf *e);
};

typedef void verify_warn_fn(void *ctx, const char *msg);

struct verify_opts {
	const char *path;      /* the bundle file */
	const char *file_name; /* name checked per §5.3; NULL: basename of path */
	bool have_sha256;      /* expected sha256 in sha256[] */
	uint8_t sha256[32];
	int64_t size;          /* expected size, or -1 */
	bool have_fingerprint; /* expected fingerprint in fingerprint[] */
	uint8_t fingerprint[32];
	const char *sig_path;          /* NULL: the sibling of path (§4.2) */
	const struct sig_keyset *keys; /* trusted set (may be NULL = empty) */
	bool insecure_no_signature;    /* skip the signature (§4.4) */
	bool structure_only;           /* skip size/sha256/signature (list, extraction pass) */
	const char *platform;          /* expected platform key, or NULL: not checked */
	verify_warn_fn *warn;          /* warnings (renamed file, §5.3), may be NULL */
	void *warn_ctx;
	const struct verify_hooks *hooks; /* may be NULL */
};

struct verify_result {
	enum verify_code code;
	char name[BNAME_NAME_MAX + 1]; /* top-level directory */
	char version[BNAME_VERSION_MAX + 1];
	char platform[BNAME_PLATFORM_MAX + 1];
	char fingerprint[65];
	char key_id[SIG_KEY_ID_LEN + 1]; /* "" unless a signature was verified */
	bool signature_verified;
	uint64_t files, bytes;     /* MANIFEST file lines and their total size */
	uint8_t file_sha256[32];   /* of the bundle file (unless structure_only) */
	struct manifest *manifest; /* parsed MANIFEST (owned; verify_result_free) */
	char *manifest_text;       /* its exact bytes, NUL-terminated (owned) */
	size_t manifest_len;
};

/* §5.2 steps 2-6.  0 when valid (r filled, r->code VERIFY_OK), -1 with r->code
 * and e otherwise.  Always call verify_result_free(r) afterwards. */
int verify_bundle(const struct verify_opts *o, struct verify_result *r, struct errbuf *e);

/* Step 5-6 only, on an open descriptor positioned at the start (used by the
 * extraction pass).  o->path is used in messages; o->hooks receive data. */
int verify_structure(int fd, const struct verify_opts *o, struct verify_result *r,
		     struct errbuf *e);

void verify_result_free(struct verify_result *r);

/* §1.5: parse the first line of a .sha256 file: its first whitespace-
 * separated field must be 64 hex digits (any case). */
int verify_parse_sha256_file(const char *text, size_t len, uint8_t out[32], struct errbuf *e);

#endif
