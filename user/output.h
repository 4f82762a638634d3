/* SPDX-License-Identifier: GPL-2.0 */
/* File outputs of a run, shared by the live run and report. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include "model.h"

struct ksyms;

struct output_opts {
	const char *json;	/* JSON record */
	const char *perf_data;	/* perf.data for perf report / perf script */
	const char *folded;	/* folded stacks for flame graphs */
};

/* Writes every requested file; reports each failure on stderr; 0 or -errno. */
int output_run(const struct run *r, const struct output_opts *o, const struct ksyms *k);
/* Checks up front that each requested file can be created (0, or prints why). */
int output_check_path(const char *path);

#endif
