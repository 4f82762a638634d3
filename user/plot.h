/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMLOCKSTAT_PLOT_H
#define KVMLOCKSTAT_PLOT_H

#include <stddef.h>

/* One kernel's scaling run: for each vCPU count, the dirty-memory pass
 * time and the number of mmu_lock contentions. */
struct plot_series {
	const char *label;		/* legend, e.g. "6.1" or "6.1 + series" */
	size_t n;
	const double *vcpus;
	const double *dirty_ms;
	const double *contentions;
};

/*
 * Render out_prefix.svg and out_prefix.png with gnuplot (package
 * gnuplot-nox): two panels side by side, dirty memory time vs vCPUs and
 * contentions vs vCPUs, one line per series. after may be NULL. Values that
 * are not finite are left out of the lines.
 * Each file is written atomically; returns 0 or -errno: -ENOENT when
 * gnuplot is not installed, -EIO when gnuplot fails (its message goes to
 * stderr), -EINVAL for bad series.
 */
int plot_scaling(const char *out_prefix, const struct plot_series *before,
		 const struct plot_series *after);

/*
 * The plot subcommands' last word on a plot_* result: "PREFIX.svg and
 * PREFIX.png written", or why not, on stderr; returns the exit status.
 */
int plot_done(const char *out_prefix, int err);

/* One line of a time chart panel: y[i] over the chart's interval i. */
struct plot_line {
	const char *title;
	const double *y;
};

#define PLOT_MAX_LINES 8	/* per panel */

struct plot_panel {
	const char *title, *ylabel;
	size_t nr_lines;
	const struct plot_line *lines;
};

/*
 * Panels stacked on one time axis, each line drawn as steps over the
 * intervals [x_start[i], x_end[i]); an optional overlay series (e.g. a
 * guest's progress rate) on the second y axis of every panel.
 */
struct plot_time_chart {
	const char *title, *xlabel;	/* title: a '\n' starts its second line */
	size_t n;
	const double *x_start, *x_end;
	size_t nr_panels;
	const struct plot_panel *panels;
	const char *overlay_title;
	size_t overlay_n;		/* 0: no overlay */
	const double *overlay_x, *overlay_y;
};

/* Renders out_prefix.svg and .png like plot_scaling (same errors). */
int plot_time_chart(const char *out_prefix, const struct plot_time_chart *tc);

#endif
