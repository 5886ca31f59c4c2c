#ifndef ERR_H
#define ERR_H
/*
 * Error text carried back to main.  A module that fails returns -1 and, when
 * handed a struct errbuf, fills it with "what: why" (for example
 * "write /var/lib/agentd/x.tmp.42: No space left on device").  Only main
 * prints it, prefixed with the program name.
 */
#include <stddef.h>

enum { ERRBUF_SIZE = 512 };

struct errbuf {
	char msg[ERRBUF_SIZE];
};

/* Format into e (if e is not NULL); truncates silently (error text only). */
void err_set(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As err_set, then append ": " and strerror(errnum). */
void err_sys(struct errbuf *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Clear e. */
void err_clear(struct errbuf *e);

#endif
