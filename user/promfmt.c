// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition format.  Label values are escaped (\\, \",
 * \n) since VM names come from command lines; nothing else is quoted.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "promfmt.h"

void prom_buf_free(struct prom_buf *b)
{
	free(b->s);
	*b = (struct prom_buf){ 0 };
}

static bool grow(struct prom_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 16384;
	char *s;

	if (b->len + need < b->cap)
		return true;
	while (cap <= b->len + need)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(b, n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put(struct prom_labels *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->s)) {
		l->truncated = true;
		return;
	}
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = '\0';
}

void prom_label(struct prom_labels *l, const char *key, const char *value)
{
	size_t mark = l->len;

	if (l->len)
		put(l, ",", 1);
	put(l, key, strlen(key));
	put(l, "=\"", 2);
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"')
			put(l, "\\", 1);
		if (*c == '\n')
			put(l, "\\n", 2);
		else
			put(l, c, 1);
	}
	put(l, "\"", 1);
	if (l->truncated) {	/* never emit half a label: drop it whole */
		l->len = mark;
		l->s[mark] = '\0';
	}
}

void prom_label_u64(struct prom_labels *l, const char *key, uint64_t value)
{
	char v[24];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)value);
	prom_label(l, key, v);
}

static void sample_head(struct prom_buf *b, const char *name, const struct prom_labels *l)
{
	if (l && l->len)
		prom_printf(b, "%s{%s} ", name, l->s);
	else
		prom_printf(b, "%s ", name);
}

void prom_sample_u64(struct prom_buf *b, const char *name, const struct prom_labels *l, uint64_t v)
{
	sample_head(b, name, l);
	prom_printf(b, "%llu\n", (unsigned long long)v);
}

void prom_sample(struct prom_buf *b, const char *name, const struct prom_labels *l, double v)
{
	sample_head(b, name, l);
	if (isnan(v))
		prom_printf(b, "NaN\n");
	else if (isinf(v))
		prom_printf(b, "%s\n", v > 0 ? "+Inf" : "-Inf");
	else
		prom_printf(b, "%.17g\n", v);
}

static void bucket(struct prom_buf *b, const char *name, const struct prom_labels *l,
		   const char *le, uint64_t v)
{
	struct prom_labels bl = *l;

	prom_label(&bl, "le", le);
	prom_sample_u64(b, name, &bl, v);
}

void prom_histogram_log2ns(struct prom_buf *b, const char *name, const struct prom_labels *l,
			   const __u64 *slots, int nr_slots, uint64_t count, uint64_t sum_ns)
{
	static const struct prom_labels none;
	char series[128], le[32];
	uint64_t below = 0;
	int i = 0;

	l = l ? l : &none;
	snprintf(series, sizeof(series), "%s_bucket", name);
	for (int k = PROM_LE_MIN_LOG2; k <= PROM_LE_MAX_LOG2; k += PROM_LE_STEP_LOG2) {
		/* Slot i lies wholly below 2^k ns when i + 1 <= k. */
		for (; i + 1 <= k && i < nr_slots; i++)
			below += slots[i];
		snprintf(le, sizeof(le), "%.9g", ldexp(1.0, k) / 1e9);
		bucket(b, series, l, le, below < count ? below : count);
	}
	/* +Inf is the count: a wait that raced the slot update still counts. */
	bucket(b, series, l, "+Inf", count);
	snprintf(series, sizeof(series), "%s_sum", name);
	prom_sample(b, series, l, sum_ns / 1e9);
	snprintf(series, sizeof(series), "%s_count", name);
	prom_sample_u64(b, series, l, count);
}
