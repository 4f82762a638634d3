// SPDX-License-Identifier: GPL-2.0
/* kvmlockstat report RUN.json: re-renders a recorded run. */
#include <argp.h>
#include <stdio.h>
#include "cmd.h"
#include "progstats.h"
#include "record.h"
#include "table.h"
#include "timeline.h"

static error_t report_parse(int key, char *arg, struct argp_state *state)
{
	const char **path = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (*path)
			argp_error(state, "one record at a time");
		*path = arg;
		return 0;
	case ARGP_KEY_END:
		if (!*path)
			argp_error(state, "which record? usage: kvmlockstat report RUN.json");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct argp_option none[] = { {} };
	struct argp argp = { none, report_parse, "RUN.json",
			     "Re-render a run recorded with --json." };
	const char *path = NULL;
	char err[512];
	struct run r;

	if (argp_parse(&argp, argc, argv, 0, NULL, &path))
		return 2;
	if (record_read(path, &r, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat: %s\n", err);
		return 1;
	}
	table_summary(stdout, &r);
	timeline_summary(stdout, &r);
	if (r.prog_stats.seconds > 0)
		progstats_print(stdout, &r);
	run_free(&r);
	return 0;
}
