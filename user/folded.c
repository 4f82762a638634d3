// SPDX-License-Identifier: GPL-2.0
/* Folded stacks ("a;b;c weight") from aggregated contention samples. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_write.h"
#include "folded.h"

struct stack_line {
	char *stack;
	uint64_t weight;
};

/* Frames are split on ';' and the weight on the last space: keep both
 * out of names, and control characters out of the line. */
static void put_frame(FILE *m, const char *name)
{
	for (; *name; name++) {
		char c = *name;

		if (c == ';')
			c = ':';
		else if (c == ' ' || (unsigned char)c < 0x20 || c == 0x7f)
			c = '_';
		fputc(c, m);
	}
}

static void put_ip(FILE *m, const struct ksyms *k, uint64_t ip)
{
	const char *name = ksyms_name(k, ip, NULL);

	if (name)
		put_frame(m, name);
	else
		fprintf(m, "0x%" PRIx64, ip);
}

/* "comm;outer;...;inner" in a malloc'ed string, or NULL. */
static char *format_stack(const struct pd_sample *s, const struct ksyms *k)
{
	char *buf = NULL;
	size_t len;
	uint32_t i;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	put_frame(m, s->comm && *s->comm ? s->comm : "[unknown]");
	for (i = s->nr_ips; i > 0; i--) {
		fputc(';', m);
		put_ip(m, k, s->ips[i - 1]);
	}
	if (fclose(m)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct stack_line *)a)->stack,
		      ((const struct stack_line *)b)->stack);
}

static void free_lines(struct stack_line *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].stack);
	free(v);
}

/* One line per nonzero sample, sorted so equal stacks are adjacent. */
static int collect(const struct pd_sample *s, size_t n, const struct ksyms *k,
		   int by_count, struct stack_line **out, size_t *nout)
{
	struct stack_line *v = calloc(n ? n : 1, sizeof(*v));
	size_t i, m = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint64_t w = by_count ? s[i].count : s[i].weight;

		if (!w)
			continue;
		v[m].stack = format_stack(&s[i], k);
		if (!v[m].stack) {
			free_lines(v, m);
			return -ENOMEM;
		}
		v[m++].weight = w;
	}
	qsort(v, m, sizeof(*v), cmp_line);
	*out = v;
	*nout = m;
	return 0;
}

int folded_fprint(FILE *out, const struct pd_sample *samples, size_t n,
		  const struct ksyms *k, int weight_by_count)
{
	struct stack_line *v;
	size_t m, i, j;
	int err;

	err = perfdata_check_samples(samples, n);
	if (err)
		return err;
	err = collect(samples, n, k, weight_by_count, &v, &m);
	if (err)
		return err;
	for (i = 0; i < m; i = j) {
		uint64_t sum = 0;

		for (j = i; j < m && !strcmp(v[j].stack, v[i].stack); j++)
			sum += v[j].weight;
		if (fprintf(out, "%s %" PRIu64 "\n", v[i].stack, sum) < 0) {
			err = -EIO;
			break;
		}
	}
	free_lines(v, m);
	return err;
}

int folded_write(const char *path, const struct pd_sample *samples, size_t n,
		 const struct ksyms *k, int weight_by_count)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int err;

	if (!path)
		return -EINVAL;
	m = open_memstream(&buf, &len);
	if (!m)
		return -errno;
	err = folded_fprint(m, samples, n, k, weight_by_count);
	if (fclose(m) && !err)
		err = -ENOMEM;
	if (!err)
		err = atomic_write_file(path, buf, len, 0644);
	free(buf);
	return err;
}
