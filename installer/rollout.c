#include "rollout.h"

#include "sha256.h"

#include <string.h>

unsigned rollout_bucket(const char *id, size_t id_len, const char *version, size_t version_len)
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	uint32_t v;

	sha256_init(&s);
	sha256_update(&s, id, id_len);
	sha256_update(&s, "\n", 1);
	sha256_update(&s, version, version_len);
	sha256_final(&s, d);
	v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | (uint32_t)d[3];
	return (unsigned)(v % 100u);
}

bool rollout_selected(unsigned bucket, unsigned percent)
{
	return bucket < percent;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static size_t put(const char *s, size_t n, char *out, size_t out_size)
{
	if (n == 0 || n + 1 > out_size)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return n;
}

size_t rollout_id_choose(const char *agent_id, const char *instance_id, const char *machine_id,
			 size_t machine_id_len, const char *hostname, char *out, size_t out_size)
{
	if (out_size > 0)
		out[0] = '\0';
	if (agent_id != NULL && agent_id[0] != '\0')
		return put(agent_id, strlen(agent_id), out, out_size);
	if (instance_id != NULL && instance_id[0] != '\0')
		return put(instance_id, strlen(instance_id), out, out_size);
	if (machine_id != NULL) {
		const char *a = machine_id, *b = machine_id + machine_id_len;
		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		if (b > a && memchr(a, '\0', (size_t)(b - a)) == NULL)
			return put(a, (size_t)(b - a), out, out_size);
	}
	if (hostname != NULL && hostname[0] != '\0')
		return put(hostname, strlen(hostname), out, out_size);
	return 0;
}
