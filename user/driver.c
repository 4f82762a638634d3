// SPDX-License-Identifier: GPL-2.0
/* The run driver (driver.h): one loop for live and the exporter. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "collect.h"
#include "driver.h"
#include "vmid.h"

uint64_t driver_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void driver_describe_host(struct run *r)
{
	struct utsname u;
	time_t t = time(NULL);

	uname(&u);
	snprintf(r->hostname, sizeof(r->hostname), "%s", u.nodename);
	snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);
	snprintf(r->arch, sizeof(r->arch), "%s", u.machine);
	snprintf(r->version, sizeof(r->version), "%s", KVMLOCKSTAT_VERSION);
	r->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	strftime(r->start, sizeof(r->start), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

int driver_add_sink(struct driver *d, struct driver_sink s)
{
	if (d->nr_sinks == DRIVER_MAX_SINKS)
		return -ENOSPC;
	d->sinks[d->nr_sinks++] = s;
	return 0;
}

static uint64_t period_ns(const struct driver *d)
{
	return d->interval_s * 1e9;
}

void driver_start(struct driver *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	d->start = d->last = driver_now_ns();
	d->unix_start = ts.tv_sec + ts.tv_nsec / 1e9;
	d->next = d->start + period_ns(d);
}

/* The interval from the last boundary to now, which becomes the last. */
static struct interval_span span_to(struct driver *d, uint64_t now)
{
	struct interval_span iv = { (d->last - d->start) / 1e9, (now - d->start) / 1e9 };

	iv.unix_start = d->unix_start + iv.t_start_s;
	iv.index = d->nr_intervals++;
	d->last = now;
	return iv;
}

static int tick_to(struct driver *d, uint64_t now)
{
	struct interval_span iv = span_to(d, now);
	struct run delta;
	int err;

	run_init(&delta);
	delta.interval_s = iv.t_end_s - iv.t_start_s;
	delta.all_locks = d->total && d->total->all_locks;
	err = collect_drain(d->c, &delta);
	run_stamp_stacks(&delta, iv.t_end_s * 1e9);	/* perf.data's sample times */
	if (!err && d->total)
		err = run_merge(d->total, &delta);
	if (!err && d->total)
		vmid_annotate(d->total, d->c->only_pid);
	if (!err && d->total && d->rows)
		err = run_add_interval_rows(d->total, &delta, &iv);
	for (size_t i = 0; !err && i < d->nr_sinks; i++)
		err = d->sinks[i].interval(d->sinks[i].ctx, &delta, d->total, &iv);
	run_free(&delta);
	return err;
}

int driver_tick(struct driver *d, bool last)
{
	return tick_to(d, last && d->total ? d->start + d->total->duration_ns : driver_now_ns());
}

int driver_run(struct driver *d, driver_wait_fn wait, void *ctx)
{
	int ret;

	for (;;) {
		uint64_t now;

		ret = wait(ctx, d->next);
		if (ret)
			break;
		now = driver_now_ns();
		if (now < d->next)
			continue;
		ret = tick_to(d, now);
		if (ret && !d->keep_going)
			break;
		if (ret)
			fprintf(stderr, "kvmlockstat: drain failed: %s\n", strerror(-ret));
		d->next += period_ns(d);
		if (d->next < driver_now_ns())	/* a slow drain: do not try to catch up */
			d->next = driver_now_ns() + period_ns(d);
	}
	if (d->total)
		d->total->duration_ns = driver_now_ns() - d->start;
	return ret;
}

int driver_finish(struct driver *d)
{
	return driver_tick(d, true);
}
