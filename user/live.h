/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommands: each parses its own options and builds the pipeline it needs. */
#ifndef LIVE_H
#define LIVE_H

int cmd_live(int argc, char **argv);	/* default: trace, live table, summary, record */
int cmd_report(int argc, char **argv);	/* re-render a JSON record */

#endif
