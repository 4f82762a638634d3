// SPDX-License-Identifier: GPL-2.0
/* kvm-dirtylog: entry point; see opts.c for the options and run.c for the passes. */
#include <stdio.h>
#include <stdlib.h>

#include "dirtylog.h"

int main(int argc, char **argv)
{
	struct dl_opts opts;
	struct dl_vm vm;
	struct dl_result res = { 0 };
	int ret = 1;

	if (dl_parse_opts(argc, argv, &opts))
		return 2;
	if (dl_vm_create(&vm, &opts) == 0 && dl_run(&vm, &res) == 0) {
		dl_report_text(&vm, &res);
		ret = opts.json_path && dl_report_json(&vm, &res, opts.json_path) ? 1 : 0;
	}
	fflush(stdout);
	dl_vm_destroy(&vm);
	free(res.iter);
	return ret;
}
