/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMLOCKSTAT_FOLDED_H
#define KVMLOCKSTAT_FOLDED_H

#include <stddef.h>
#include <stdio.h>

#include "ksyms.h"
#include "perfdata.h"

/*
 * Folded stacks for flamegraph.pl / inferno / speedscope: one line per
 * distinct stack, "comm;outermost;...;innermost weight", sorted, identical
 * stacks merged. The root frame is the task name (spaces turned to '_' as
 * stackcollapse-perf does; ';' would split frames, so it becomes ':').
 * Kernel frames are symbol names from k; addresses k cannot name (or all,
 * if k is NULL) print as 0x hex. Weight is the wait time in ns, or the
 * contention count if weight_by_count. Zero-weight stacks are left out.
 */
int folded_fprint(FILE *out, const struct pd_sample *samples, size_t n,
		  const struct ksyms *k, int weight_by_count);

/* The same into path, written atomically; 0 or -errno. */
int folded_write(const char *path, const struct pd_sample *samples, size_t n,
		 const struct ksyms *k, int weight_by_count);

#endif
