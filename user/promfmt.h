/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition format (version 0.0.4): a growing buffer,
 * HELP/TYPE lines, escaped label sets, samples and log2(ns) histograms.
 * Knows nothing of kvmlockstat's model: metrics.c maps the model onto it.
 */
#ifndef PROMFMT_H
#define PROMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_buf {
	char *s;
	size_t len, cap;
	bool oom;		/* an append failed: the text is incomplete */
};

/* A label set, rendered as it is built: k1="v1",k2="v2". */
struct prom_labels {
	char s[512];
	size_t len;
	bool truncated;
};

void prom_buf_free(struct prom_buf *b);
void prom_printf(struct prom_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The "# HELP" and "# TYPE" lines that open a metric family. */
void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help);

/* Appends key="value" (value escaped as the format requires). */
void prom_label(struct prom_labels *l, const char *key, const char *value);
void prom_label_u64(struct prom_labels *l, const char *key, uint64_t value);

/* name{labels} value; l may be NULL.  Integers are printed exactly. */
void prom_sample_u64(struct prom_buf *b, const char *name, const struct prom_labels *l, uint64_t v);
void prom_sample(struct prom_buf *b, const char *name, const struct prom_labels *l, double v);

/*
 * A histogram in seconds from log2(ns) slots (slot i counts [2^i, 2^(i+1)) ns):
 * cumulative buckets le=2^k ns for every second slot boundary from
 * PROM_LE_MIN_LOG2 to PROM_LE_MAX_LOG2, then +Inf, _sum and _count.
 */
#define PROM_LE_MIN_LOG2 8	/* 256 ns */
#define PROM_LE_MAX_LOG2 34	/* 17.2 s */
#define PROM_LE_STEP_LOG2 2	/* every 4x */
void prom_histogram_log2ns(struct prom_buf *b, const char *name, const struct prom_labels *l,
			   const __u64 *slots, int nr_slots, uint64_t count, uint64_t sum_ns);

#endif
