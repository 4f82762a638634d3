/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sweeps: the records of one side of a comparison (one record, or a
 * directory of them, one per vCPU count), with kvm-dirtylog's reports
 * beside them, and the metrics read off each.  Used by diff and plot.
 */
#ifndef SWEEP_H
#define SWEEP_H

#include "model.h"

#define MAX_ROWS 64

struct point {
	int vcpus;
	const char *file;
	struct run run;
	const struct vm_rec *vm;	/* the traced VM: the busiest one */
	double dirty_ms;		/* kvm-dirtylog's mean dirty memory time per pass, or NAN */
};

struct side {
	const char *path;
	struct point pts[MAX_ROWS];
	int n;
};

struct metric {
	const char *name, *unit;
	double (*get)(const struct point *p);	/* NAN when the record lacks it */
};

extern const struct metric sweep_metrics[];
extern const size_t sweep_nr_metrics;

/* Loads a record or a directory; prints what is wrong (which file, which field). */
int sweep_load(struct side *s);
void sweep_free(struct side *s);
/* Sorted union of both sides' vCPU counts; returns how many. */
int sweep_keys(const struct side *b, const struct side *a, int *keys);
/* A metric at a vCPU count, NAN where that side has no such row or figure. */
double sweep_value(const struct metric *m, const struct side *s, int vcpus);

#endif
