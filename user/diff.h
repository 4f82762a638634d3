/* SPDX-License-Identifier: GPL-2.0 */
/* kvmlockstat diff: before/after tables from recorded runs. */
#ifndef DIFF_H
#define DIFF_H

int cmd_diff(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
