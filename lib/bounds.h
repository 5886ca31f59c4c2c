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

/* calibration file (rate-controller.md §1) */
#define BOUNDS_CALIB_FILE_MAX (1024 * 1024)

/* IMDS response body (rate-controller.md §1) */
#define BOUNDS_IMDS_BODY_MAX 4096

#endif
