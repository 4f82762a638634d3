/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --prog-stats: what each of kvmlockstat's BPF programs cost, from the
 * kernel's own accounting (bpf_prog_info run_cnt / run_time_ns, enabled
 * for the run with BPF_ENABLE_STATS), and kvmlockstat's own CPU and RSS,
 * kept in the run (and its record) and printed from there.
 */
#ifndef PROGSTATS_H
#define PROGSTATS_H

#include <stdio.h>
#include "model.h"

/* Switches on the kernel's per-program run-time accounting; -1 (and one line) if refused. */
int progstats_enable(void);
/* Reads every BPF program this process holds, and its own rusage, into r; closes fd. */
int progstats_collect(struct run *r, int fd, double secs);
/* One line per program of r's --prog-stats, a total and kvmlockstat's own cost. */
void progstats_print(FILE *f, const struct run *r);

#endif
