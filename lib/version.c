#include "version.h"

#ifndef AGENT_VERSION
#error "AGENT_VERSION must be defined when compiling lib/version.c (see Makefile)"
#endif

const char *version_get(void)
{
	return AGENT_VERSION;
}
