/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --prog-stats: what each of kvmlockstat's BPF programs cost, from the
 * kernel's own accounting (bpf_prog_info run_cnt / run_time_ns, enabled
 * for the run with BPF_ENABLE_STATS), and kvmlockstat's own CPU and RSS.
 */
#ifndef PROGSTATS_H
#define PROGSTATS_H

#include <stdio.h>

/* Switches on the kernel's per-program run-time accounting; -1 (and one line) if refused. */
int progstats_enable(void);
/* Prints one line per BPF program this process holds, and its own rusage; closes fd. */
void progstats_print(FILE *f, int fd, double secs);

#endif
