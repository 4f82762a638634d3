/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --timeline: one row per interval per VM (struct timeline_row, kept in the
 * run by the run driver for the JSON record), written as CSV while the run
 * goes on.  The
 * column table serves the CSV writer and reader and the JSON record.
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdio.h>
#include "model.h"

enum timeline_kind { TC_U32, TC_U64, TC_SECONDS, TC_HEX, TC_COMM, TC_SHARE };

struct timeline_col {
	const char *name;
	enum timeline_kind kind;
	size_t off;			/* in struct timeline_row */
	bool since_0_2;			/* added after the first files: may be absent */
	uint32_t needs;			/* TM_* bit: empty when the row lacks it */
};

extern const struct timeline_col timeline_cols[];
extern const size_t nr_timeline_cols;

struct timeline;

/* Creates PATH.part with the header; NULL (and a message on stderr) on error. */
struct timeline *timeline_open(const char *path);
/* Writes rows (one interval's, run_add_interval_rows) to the file, flushed to disk. */
int timeline_write(struct timeline *t, const struct timeline_row *rows, size_t n);
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
/* Per-VM totals and peaks of r's timeline, for report. */
void timeline_summary(FILE *f, const struct run *r);

#endif
