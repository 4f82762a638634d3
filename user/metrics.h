/* SPDX-License-Identifier: GPL-2.0 */
/* The exporter's /metrics: the fleet totals as Prometheus metric families. */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include "fleet.h"
#include "promfmt.h"

struct metrics_opts {
	bool per_vcpu;		/* fault series split by a vcpu label */
};

/* Appends every metric family to b (b->oom set if memory ran out). */
void metrics_render(struct prom_buf *b, const struct fleet *f, const struct metrics_opts *o);

#endif
