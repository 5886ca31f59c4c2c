#ifndef VERSION_H
#define VERSION_H
/*
 * The program version: compiled into lib/version.c alone (from VERSION, or
 * make VERSION=x.y.z), so a build with another version recompiles one file
 * and every module reports the same string.
 */

/* "1.4.0" */
const char *version_get(void);

#endif
