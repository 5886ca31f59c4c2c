#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_set(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	/* truncation of an error message is acceptable: it stays terminated */
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void err_sys(struct errbuf *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (n < sizeof(e->msg))
		(void)snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
}

void err_clear(struct errbuf *e)
{
	if (e != NULL)
		e->msg[0] = '\0';
}
