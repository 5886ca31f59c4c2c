#include "elfneed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PHNUM_MAX 256
#define DYN_MAX 4096

struct elf {
	int fd;
	uint64_t size;
	bool is64, be;
};

static int rd(const struct elf *f, uint64_t off, void *buf, size_t n)
{
	ssize_t r;

	if (off > f->size || n > f->size - off)
		return -1;
	do
		r = pread(f->fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -1;
}

static uint64_t get(const struct elf *f, const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = f->be ? (v << 8) | p[i] : v | ((uint64_t)p[i] << (8 * i));
	return v;
}

struct load {
	uint64_t vaddr, off, filesz;
};

static int vaddr_to_off(const struct load *ld, size_t n, uint64_t va, uint64_t *off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (va >= ld[i].vaddr && va - ld[i].vaddr < ld[i].filesz) {
			*off = ld[i].off + (va - ld[i].vaddr);
			return 0;
		}
	return -1;
}

int elfneed_read(const char *path, struct elfneed *out, struct errbuf *e)
{
	struct elf f = {-1, 0, false, false};
	struct load ld[PHNUM_MAX];
	uint8_t id[16], h[64], ph[56], d[16];
	uint64_t phoff, dyn_off = 0, dyn_size = 0, strtab = 0, strsz = 0, str_off;
	uint64_t needed[ELFNEED_MAX];
	size_t phentsize, phnum, nld = 0, nneed = 0, i, dsz;
	struct stat st;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0) {
		err_sys(e, errno, "open %s", path);
		return -1;
	}
	if (fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e, "%s is not a regular file", path);
		goto out;
	}
	f.size = (uint64_t)st.st_size;
	if (rd(&f, 0, id, 16) != 0 || memcmp(id, "\177ELF", 4) != 0 || (id[4] != 1 && id[4] != 2) ||
	    (id[5] != 1 && id[5] != 2)) {
		err_set(e, "%s is not an ELF file", path);
		goto out;
	}
	f.is64 = id[4] == 2;
	f.be = id[5] == 2;
	if (rd(&f, 0, h, f.is64 ? 64 : 52) != 0)
		goto bad;
	phoff = f.is64 ? get(&f, h + 32, 8) : get(&f, h + 28, 4);
	phentsize = (size_t)(f.is64 ? get(&f, h + 54, 2) : get(&f, h + 42, 2));
	phnum = (size_t)(f.is64 ? get(&f, h + 56, 2) : get(&f, h + 44, 2));
	if (phnum > PHNUM_MAX || phentsize < (f.is64 ? 56u : 32u))
		goto bad;
	for (i = 0; i < phnum; i++) {
		uint32_t type;
		if (rd(&f, phoff + i * phentsize, ph, f.is64 ? 56 : 32) != 0)
			goto bad;
		type = (uint32_t)get(&f, ph, 4);
		if (type == 1 /* PT_LOAD */) {
			ld[nld].off = f.is64 ? get(&f, ph + 8, 8) : get(&f, ph + 4, 4);
			ld[nld].vaddr = f.is64 ? get(&f, ph + 16, 8) : get(&f, ph + 8, 4);
			ld[nld].filesz = f.is64 ? get(&f, ph + 32, 8) : get(&f, ph + 16, 4);
			nld++;
		} else if (type == 2 /* PT_DYNAMIC */) {
			dyn_off = f.is64 ? get(&f, ph + 8, 8) : get(&f, ph + 4, 4);
			dyn_size = f.is64 ? get(&f, ph + 32, 8) : get(&f, ph + 16, 4);
		}
	}
	if (dyn_size == 0) {
		rc = 0; /* static: nothing needed */
		goto out;
	}
	dsz = f.is64 ? 16 : 8;
	for (i = 0; i < DYN_MAX && (i + 1) * dsz <= dyn_size; i++) {
		int64_t tag;
		uint64_t val;
		if (rd(&f, dyn_off + i * dsz, d, dsz) != 0)
			goto bad;
		tag = (int64_t)(f.is64 ? get(&f, d, 8) : get(&f, d, 4));
		val = f.is64 ? get(&f, d + 8, 8) : get(&f, d + 4, 4);
		if (tag == 0 /* DT_NULL */)
			break;
		if (tag == 1 /* DT_NEEDED */ && nneed < ELFNEED_MAX)
			needed[nneed++] = val;
		else if (tag == 5 /* DT_STRTAB */)
			strtab = val;
		else if (tag == 10 /* DT_STRSZ */)
			strsz = val;
	}
	if (nneed == 0) {
		rc = 0;
		goto out;
	}
	if (vaddr_to_off(ld, nld, strtab, &str_off) != 0)
		goto bad;
	for (i = 0; i < nneed; i++) {
		char *name = out->names[out->n];
		size_t k;
		if (needed[i] >= strsz)
			goto bad;
		for (k = 0; k < ELFNEED_NAME_MAX; k++) {
			if (needed[i] + k >= strsz ||
			    rd(&f, str_off + needed[i] + k, name + k, 1) != 0)
				goto bad;
			if (name[k] == '\0')
				break;
		}
		name[k] = '\0';
		out->n++;
	}
	rc = 0;
	goto out;
bad:
	err_set(e, "%s: malformed ELF headers", path);
	out->n = 0;
out:
	close(f.fd);
	return rc;
}

bool elfneed_has_prefix(const struct elfneed *n, const char *prefix)
{
	size_t i, l = strlen(prefix);

	for (i = 0; i < n->n; i++)
		if (strncmp(n->names[i], prefix, l) == 0)
			return true;
	return false;
}
