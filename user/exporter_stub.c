// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter in static builds (the labs' binaries): libmicrohttpd's
 * static archive needs gnutls and its dependencies, which the labs do
 * not ship, so those builds say what they lack instead.
 */
#include <stdio.h>
#include "cmd.h"

int cmd_exporter(int argc, char **argv)
{
	fprintf(stderr, "kvmlockstat: exporter not in this static build (libmicrohttpd); "
		"use a dynamic build\n");
	return 1;
}
