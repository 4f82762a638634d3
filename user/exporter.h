/* SPDX-License-Identifier: GPL-2.0 */
/* kvmlockstat exporter: the probes' totals served to Prometheus over HTTP. */
#ifndef EXPORTER_H
#define EXPORTER_H

int cmd_exporter(int argc, char **argv);

#endif
