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

#endif
