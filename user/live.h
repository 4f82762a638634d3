/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommands: each parses its own options and builds the pipeline it needs. */
#ifndef LIVE_H
#define LIVE_H

#include <stdint.h>

int cmd_live(int argc, char **argv);	/* default: trace, live table, summary, record */
int cmd_report(int argc, char **argv);	/* re-render a JSON record */

/* Option values shared by the subcommands; print one line and return EINVAL when bad. */
int parse_seconds(const char *arg, const char *what, double *out);
int parse_pid(const char *arg, uint32_t *pid);

#endif
