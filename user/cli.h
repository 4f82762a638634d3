/* SPDX-License-Identifier: GPL-2.0 */
/* Option values shared by the subcommands; each prints one line and returns EINVAL when bad. */
#ifndef CLI_H
#define CLI_H

#include <argp.h>
#include <stdbool.h>
#include <stdint.h>
#include "sweep.h"

/* The shortest drain interval: below it a run would only drain. */
#define MIN_INTERVAL_S 0.1

/* The probe options live and the exporter both take: one help text, so both --help agree. */
#define CLI_DOC_LOCK_FUNCTIONS \
	"Exact mmu_lock hold times (costly: probes every rwlock; see kvmlockstat(8))"
#define CLI_DOC_FAULT_TYPES \
	"Faults by type (costly: a probe on every fault; see kvmlockstat(8))"

int parse_seconds(const char *arg, const char *what, double *out);
int parse_pid(const char *arg, uint32_t *pid);
/* Seconds, at least MIN_INTERVAL_S; or 0 where zero_off (no intervals). */
int parse_interval(const char *arg, const char *what, bool zero_off, double *out);

/* diff and plot: BEFORE [AFTER], each a record or a sweep directory. */
struct sweep_args {
	struct side before, after;
	const char *format, *out;
	bool plot;	/* plot: AFTER is optional */
};

/* argp parser of struct sweep_args (-f FORMAT, -o OUT, BEFORE [AFTER]). */
error_t sweep_args_parse(int key, char *arg, struct argp_state *state);
/* Loads BEFORE and AFTER (when given): 0 or -1 after one line on stderr. */
int sweep_args_load(struct sweep_args *o);

#endif
