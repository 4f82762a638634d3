/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --timeline: one row per interval per VM (struct timeline_row), written as
 * CSV while the run goes on and kept in the run for the JSON record.  The
 * column table serves the CSV writer and reader and the JSON record.
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdio.h>
#include "model.h"

enum timeline_kind { TC_U32, TC_U64, TC_SECONDS, TC_HEX, TC_COMM, TC_SHARE };

/* Figures a run may not measure: their cells are empty (CSV) or null (JSON), never 0. */
enum {
	TM_FAULTS = 1 << 0,		/* faults at all */
	TM_FAULT_TYPES = 1 << 1,	/* faults by type (KVM's counters do not split them) */
	TM_FAST_PATH = 1 << 2,
	TM_DIRTY_LOG = 1 << 3,		/* dirty-log ioctl calls and time */
};

struct timeline_col {
	const char *name;
	enum timeline_kind kind;
	size_t off;			/* in struct timeline_row */
	bool since_0_2;			/* added after the first files: may be absent */
	uint32_t needs;			/* TM_* bit: empty when the row lacks it */
};

/* The TM_* bits of what r did not measure (from its backends). */
uint32_t timeline_unmeasured(const struct run *r);

extern const struct timeline_col timeline_cols[];
extern const size_t nr_timeline_cols;

/* One interval's span: seconds since the run began, and its start's unix time. */
struct interval_span {
	double t_start_s, t_end_s;
	double unix_start;
};

struct timeline;

/* Creates PATH.part with the header; NULL (and a message on stderr) on error. */
struct timeline *timeline_open(const char *path);
/*
 * Appends one row per VM of total (delta's figures, zeros for a VM idle in
 * the interval) to total->timeline and to the file, flushed to disk.
 */
int timeline_interval(struct timeline *t, const struct run *delta, struct run *total,
		      const struct interval_span *iv);
/* Renames PATH.part to PATH (keep) or removes it; frees t.  0 or -errno. */
int timeline_close(struct timeline *t, bool keep);

/* Value of column col of row as CSV text (empty for an undefined share). */
void timeline_format(const struct timeline_col *col, const struct timeline_row *row,
		     char *buf, size_t len);
/* Parses text into column col of row; 0 or -EINVAL. */
int timeline_parse(const struct timeline_col *col, struct timeline_row *row, const char *text);
/* Reads a timeline CSV (header names the columns); err gets "file:line: problem". */
int timeline_read_csv(const char *path, struct timeline_row **rows, size_t *n,
		      char *err, size_t errlen);
/* kvmlockstat plot --timeline (user/timeline_plot.c). */
int cmd_plot_timeline(int argc, char **argv);
/* Per-VM totals and peaks of r's timeline, for report. */
void timeline_summary(FILE *f, const struct run *r);

#endif
