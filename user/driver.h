/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run driver, for live and the exporter alike: the run's clock,
 * interval boundaries (a slow interval is not caught up: the next starts
 * from now), draining the collector, the timeline rows of the run, and
 * handing each interval to the sinks.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"

struct collector;

/* A consumer of each drained interval; it may take what it keeps out of delta. */
struct driver_sink {
	int (*interval)(void *ctx, struct run *delta, struct run *total,
			const struct interval_span *iv);
	void *ctx;
};

#define DRIVER_MAX_SINKS 4

struct driver {
	struct collector *c;
	struct run *total;		/* the run's totals (NULL: the sinks keep their own) */
	double interval_s;		/* period between drains */
	bool rows;			/* keep one timeline row per interval per VM in total */
	bool keep_going;		/* a failed drain is reported, the next one tried */
	struct driver_sink sinks[DRIVER_MAX_SINKS];
	size_t nr_sinks;
	/* the clock: monotonic ns; the start in unix time */
	uint64_t start, last, next;
	double unix_start;
	uint32_t nr_intervals;
};

/*
 * Waits until the monotonic time until_ns, or less; returns 0 to go on, a
 * positive value to stop the run (handed back by driver_run), or a
 * negative errno.
 */
typedef int (*driver_wait_fn)(void *ctx, uint64_t until_ns);

uint64_t driver_now_ns(void);
/* Fills the host's description in r: hostname, kernel, arch, version, CPUs, start. */
void driver_describe_host(struct run *r);
int driver_add_sink(struct driver *d, struct driver_sink s);
/* Starts the clock: the first interval ends interval_s from now. */
void driver_start(struct driver *d);
/* One interval, from the last boundary to now: drain, merge, rows, sinks. */
int driver_tick(struct driver *d, bool last);
/*
 * Ticks every interval_s until wait says stop; returns what wait returned
 * (or a drain's error), with total->duration_ns set.
 */
int driver_run(struct driver *d, driver_wait_fn wait, void *ctx);
/* The last interval, up to the end of the run (total->duration_ns after the start). */
int driver_finish(struct driver *d);

#endif
