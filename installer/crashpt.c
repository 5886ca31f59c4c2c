#include "crashpt.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static char armed[32];

void crashpt_arm(const char *point)
{
	size_t n = point != NULL ? strlen(point) : 0;

	if (n >= sizeof(armed))
		n = 0; /* no such point: never matches */
	memcpy(armed, point != NULL ? point : "", n);
	armed[n] = '\0';
}

void crashpt_hit(const char *point)
{
	if (armed[0] != '\0' && strcmp(armed, point) == 0)
		(void)kill(getpid(), SIGKILL);
}
