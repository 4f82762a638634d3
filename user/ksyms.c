// SPDX-License-Identifier: GPL-2.0
/* Kernel symbols from /proc/kallsyms: load once, look up by address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

/*
 * kallsyms gives no symbol sizes: a symbol is taken to end where the next
 * one starts. That fails at the end of each module (and of the table),
 * where what follows is unmapped or unknown, so there an address counts as
 * inside the symbol only this far past its start.
 */
#define KSYM_TAIL_MAX (64 * 1024)

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for the core kernel */
	unsigned int rank;	/* lower wins among symbols at one address */
	unsigned int idx;	/* line order, last tie breaker */
};

struct ksyms {
	struct ksym *syms;
	size_t n;
	char *text;		/* the file; names point into it */
};

/* Read a whole file; /proc files report size 0, so grow as we go. */
static char *read_all(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1 << 20, len = 0;
	char *buf = NULL, *nbuf;
	int err = 0;

	if (!f)
		return NULL;
	for (;;) {
		nbuf = realloc(buf, cap + 1);
		if (!nbuf) {
			err = ENOMEM;
			break;
		}
		buf = nbuf;
		len += fread(buf + len, 1, cap - len, f);
		if (len < cap) {
			if (ferror(f))
				err = EIO;
			break;
		}
		cap *= 2;
	}
	fclose(f);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Text symbols are what call chains point into: prefer them, and global
 * names over local ones, when several symbols share an address. */
static unsigned int type_rank(char type)
{
	switch (type) {
	case 'T': return 0;
	case 't': return 1;
	case 'W': case 'w': return 2;
	default: return 3;
	}
}

/*
 * Parse "ffffffff81000000 T _text" or "... t name\t[module]" in place.
 * Returns 1 for a symbol, 0 for a line to skip, -EINVAL if malformed.
 */
static int parse_line(char *line, struct ksym *s)
{
	char *end, *name, *mod;
	char type;

	if (!*line)
		return 0;
	errno = 0;
	s->addr = strtoull(line, &end, 16);
	if (end == line || errno || end[0] != ' ' || !end[1] || end[2] != ' ')
		return -EINVAL;
	type = end[1];
	name = end + 3;
	mod = strchr(name, '\t');
	s->module = NULL;
	if (mod) {
		*mod++ = '\0';
		end = mod + strlen(mod) - 1;
		if (mod[0] != '[' || end <= mod || *end != ']')
			return -EINVAL;
		*end = '\0';
		s->module = mod + 1;
	}
	if (!*name)
		return -EINVAL;
	/* Absolute symbols are constants (per-CPU offsets...), not addresses. */
	if (type == 'a' || type == 'A' || type == 'U')
		return 0;
	s->name = name;
	s->rank = type_rank(type);
	return 1;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Fill k->syms from k->text; 0 or -errno. */
static int parse_all(struct ksyms *k)
{
	char *line, *save = NULL;
	int nonzero = 0, ret;

	k->syms = calloc(count_lines(k->text), sizeof(*k->syms));
	if (!k->syms)
		return -ENOMEM;
	for (line = strtok_r(k->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct ksym *s = &k->syms[k->n];

		ret = parse_line(line, s);
		if (ret < 0)
			return ret;
		if (!ret)
			continue;
		s->idx = (unsigned int)k->n++;
		nonzero |= s->addr != 0;
	}
	if (!k->n)
		return -EINVAL;
	/* kptr_restrict shows every address as 0: useless, say why. */
	if (!nonzero)
		return -EPERM;
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
	return 0;
}

struct ksyms *ksyms_load(const char *path)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t len;
	int err;

	if (!k)
		return NULL;
	k->text = read_all(path ? path : "/proc/kallsyms", &len);
	if (!k->text) {
		err = errno;
		free(k);
		errno = err;
		return NULL;
	}
	err = parse_all(k);
	if (err) {
		ksyms_free(k);
		errno = -err;
		return NULL;
	}
	return k;
}

static int same_module(const struct ksym *a, const struct ksym *b)
{
	if (!a->module || !b->module)
		return a->module == b->module;
	return strcmp(a->module, b->module) == 0;
}

/* Best symbol containing addr, or NULL. */
static const struct ksym *find(const struct ksyms *k, uint64_t addr)
{
	size_t lo = 0, hi, first;
	uint64_t end;

	if (!k)
		return NULL;
	hi = k->n;
	/* hi ends as the first index whose address is above addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!hi)
		return NULL;
	first = hi - 1;
	while (first && k->syms[first - 1].addr == k->syms[hi - 1].addr)
		first--;

	end = k->syms[first].addr + KSYM_TAIL_MAX;
	if (hi < k->n && same_module(&k->syms[first], &k->syms[hi]))
		end = k->syms[hi].addr;
	else if (hi < k->n && k->syms[hi].addr < end)
		end = k->syms[hi].addr;
	return addr < end ? &k->syms[first] : NULL;
}

const char *ksyms_name(const struct ksyms *k, uint64_t addr, uint64_t *offset)
{
	const struct ksym *s = find(k, addr);

	if (s && offset)
		*offset = addr - s->addr;
	return s ? s->name : NULL;
}

const char *ksyms_module(const struct ksyms *k, uint64_t addr)
{
	const struct ksym *s = find(k, addr);

	if (!s)
		return NULL;
	return s->module ? s->module : "vmlinux";
}

int ksyms_addr(const struct ksyms *k, const char *name, uint64_t *addr)
{
	const struct ksym *best = NULL;
	size_t i;

	for (i = 0; k && i < k->n; i++) {
		const struct ksym *s = &k->syms[i];

		if (strcmp(s->name, name) == 0 && (!best || s->idx < best->idx))
			best = s;
	}
	if (!best)
		return -ENOENT;
	*addr = best->addr;
	return 0;
}

size_t ksyms_count(const struct ksyms *k)
{
	return k ? k->n : 0;
}

void ksyms_free(struct ksyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->text);
	free(k);
}
