/* SPDX-License-Identifier: GPL-2.0 */
/* Text renderers: the live per-interval table and the end-of-run summary. */
#ifndef TABLE_H
#define TABLE_H

#include <stdio.h>
#include "model.h"

/* Human-readable duration: 850ns, 12.3us, 4.56ms, 1.20s. */
const char *fmt_ns(char *buf, size_t len, uint64_t ns);
void table_interval(FILE *f, const struct run *delta, const struct run *total);
void table_summary(FILE *f, const struct run *r);
void table_hist(FILE *f, const struct wait_stat *s);

#endif
