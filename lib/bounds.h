#ifndef BOUNDS_H
#define BOUNDS_H
/*
 * Every hard maximum on data that comes from outside the process lives here
 * (STYLE.md: "Limits live together in one header").  Add yours with a
 * comment naming the spec section it comes from.
 */

/* runtime.env (spec bundle-install-update.md §8.5) */
#define BOUNDS_ENVFILE_MAX (1024 * 1024)
#define BOUNDS_ENV_KEY_MAX 128
#define BOUNDS_ENV_VALUE_MAX 4096

/* JSON reader (rate-controller.md §16.1) */
#define BOUNDS_JSON_DEPTH 32
/* one metric line (rate-controller.md §16.2): its largest string comes from
 * the invocation (scan.md §2.1, at most 1 MiB), and a byte escapes to at
 * most 6 ("\u00xx", "\ufffd") */
#define BOUNDS_METRIC_LINE_MAX (8 * 1024 * 1024)

/* calibration file (rate-controller.md §1) */
#define BOUNDS_CALIB_FILE_MAX (1024 * 1024)

/* IMDS response body (rate-controller.md §1) */
#define BOUNDS_IMDS_BODY_MAX 4096

/* HTTP client (bundle-install-update.md §17, rate-controller.md §10.3) */
#define BOUNDS_HTTP_HEADERS 128               /* response headers kept per response */
#define BOUNDS_HTTP_CHUNK_LINE 4096           /* chunk-size line with extensions */
#define BOUNDS_HTTP_HEADER_BLOCK (64 * 1024)  /* default response header block */
#define BOUNDS_HTTP_URL_MAX 4096              /* a URL, and a Location target */
#define BOUNDS_HTTP_REDIRECTS 5               /* §17: at most 5 redirects */
#define BOUNDS_HTTP_REQ_HEADERS 32            /* caller-supplied request headers */
#define BOUNDS_IMDS_HEADER_MAX (8 * 1024)     /* rate-controller.md §10.3 */
#define BOUNDS_IMDS_TOKEN_MAX 4096            /* rate-controller.md §10.3 */
#define BOUNDS_CA_FILE_MAX (16 * 1024 * 1024) /* a PEM CA bundle */

/* bundles (spec bundle-install-update.md §2.3, §4.3, §5.2) */
#define BOUNDS_MANIFEST_MAX (1024 * 1024)                  /* MANIFEST bytes, §2.3 */
#define BOUNDS_MANIFEST_FILES 4096                         /* MANIFEST file lines, §2.3 */
#define BOUNDS_MANIFEST_PATH_MAX 200                       /* one MANIFEST path, §2.3 */
#define BOUNDS_BUNDLE_FILE_MAX (512ULL * 1024 * 1024)      /* compressed bundle, §5.2 */
#define BOUNDS_BUNDLE_ENTRIES 4096                         /* files + directories, §5.2 */
#define BOUNDS_BUNDLE_MEMBER_MAX (512ULL * 1024 * 1024)    /* one file in a bundle, §5.2 */
#define BOUNDS_BUNDLE_CONTENT_MAX (1024ULL * 1024 * 1024)  /* sum of file sizes, §5.2 */
#define BOUNDS_BUNDLE_INFLATED_MAX (1088ULL * 1024 * 1024) /* decompressed bytes, §5.2 */
#define BOUNDS_BUNDLE_PAX_MAX (64 * 1024)                  /* one pax extended header, §5.2 */
#define BOUNDS_BUNDLE_ENTRY_PATH_MAX 255                   /* archive path, §5.2 */
#define BOUNDS_SIG_MAX 72                                  /* DER signature, §4.1 */
#define BOUNDS_KEYS_MAX 16                                 /* keys in trusted.pem, §4.3 */
#define BOUNDS_KEY_FILE_MAX (64 * 1024)                    /* a PEM key file */

/* agentd run (spec bundle-install-update.md §13.8, §22.2) */
#define BOUNDS_CHANNEL_MAX (64 * 1024)    /* a channel manifest, §13.8 */
#define BOUNDS_PROM_MAX (4 * 1024 * 1024) /* agentd.prom with many interfaces, §22.2 */

/* `agentd rate classify` input line and `rate simulate` model reply line
 * (rate-controller.md §21.1 item 8: at least 64 KiB) */
#define BOUNDS_RATE_LINE_MAX (1024 * 1024)

#endif
