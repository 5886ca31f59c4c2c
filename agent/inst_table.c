#include "inst_table.h"

#include <string.h>

static const struct inst_defaults table[] = {
	{"m5.xlarge", 200000, 100000, 1000000},       {"m5.2xlarge", 400000, 100000, 1500000},
	{"c6in.xlarge", 500000, 100000, 2000000},     {"c6in.2xlarge", 1000000, 100000, 4000000},
	{"c6in.4xlarge", 1500000, 200000, 6000000},   {"c6in.8xlarge", 3000000, 500000, 8000000},
	{"c6in.16xlarge", 3500000, 500000, 10000000}, {"c6in.32xlarge", 4000000, 1000000, 12000000},
	{"c6in.metal", 4000000, 1000000, 12000000},
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

const struct inst_defaults *inst_lookupn(const char *t, size_t len)
{
	size_t i;

	if (t == NULL)
		return NULL;
	while (len > 0 && is_space(t[0])) {
		t++;
		len--;
	}
	while (len > 0 && is_space(t[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].instance_type) == len &&
		    memcmp(table[i].instance_type, t, len) == 0)
			return &table[i];
	return NULL;
}

const struct inst_defaults *inst_lookup(const char *t)
{
	return t == NULL ? NULL : inst_lookupn(t, strlen(t));
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool inst_shape_ok(const char *s, size_t len)
{
	size_t i, dot = 0, dots = 0;

	if (s == NULL)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			dots++;
			dot = i;
		} else if (!is_alnum_lower(s[i])) {
			return false;
		}
	}
	return dots == 1 && dot > 0 && dot + 1 < len;
}

const struct inst_defaults *inst_table(size_t *count)
{
	*count = sizeof(table) / sizeof(table[0]);
	return table;
}
