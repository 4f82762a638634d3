/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommands, one file each: each parses its own options and builds the pipeline it needs. */
#ifndef CMD_H
#define CMD_H

int cmd_live(int argc, char **argv);		/* live.c: trace, live table, summary, record */
int cmd_report(int argc, char **argv);		/* report.c: re-render a JSON record */
int cmd_diff(int argc, char **argv);		/* diff.c: before/after tables */
int cmd_plot(int argc, char **argv);		/* plotcmd.c: the scaling chart */
int cmd_plot_timeline(int argc, char **argv);	/* timeline_plot.c: plot --timeline */
int cmd_exporter(int argc, char **argv);	/* exporter.c: /metrics for Prometheus */

#endif
