// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat: KVM mmu_lock contention and stage-2 fault-path analysis.
 * main only dispatches; every subcommand lives in a module of its own.
 */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cmd.h"

static const struct subcmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} subcmds[] = {
	{ "live", cmd_live, "trace mmu_lock contention now (the default)" },
	{ "report", cmd_report, "re-render a recorded run: report RUN.json" },
	{ "diff", cmd_diff, "before/after tables: diff BEFORE AFTER (records or sweep directories)" },
	{ "plot", cmd_plot, "charts (SVG + PNG): plot BEFORE [AFTER]; plot --timeline FILE.csv" },
	{ "exporter", cmd_exporter, "serve the probes' totals to Prometheus: exporter --listen ADDR:PORT" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmlockstat [SUBCOMMAND] [OPTIONS] [-- COMMAND [ARGS...]]\n\n"
		   "subcommands:\n");
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(*subcmds); i++)
		fprintf(f, "  %-8s %s\n", subcmds[i].name, subcmds[i].help);
	fprintf(f, "\n'kvmlockstat SUBCOMMAND --help' documents each one; with no subcommand\n"
		   "the options are those of 'live'. 'kvmlockstat --version' (-V): the\n"
		   "version and the libbpf it runs with.\n");
}

/* The libbpf we run with, not the one we were built against: the shared
 * library may be newer, and its version decides which CO-RE features work. */
static int version(void)
{
	printf("kvmlockstat %s\nlibbpf %s (libbpf.so.%u)\n", KVMLOCKSTAT_VERSION,
	       libbpf_version_string(), libbpf_major_version());
	return 0;
}

int main(int argc, char **argv)
{
	argp_err_exit_status = 2;	/* a usage error is 2, like the option values we reject */
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
		return version();
	if (argc > 1 && !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	/* --help: the subcommands and --version first, then live's options (argp prints them). */
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-?"))) {
		usage(stdout);
		printf("\nlive (the default):\n");
		fflush(stdout);
	}
	for (size_t i = 0; argc > 1 && i < sizeof(subcmds) / sizeof(*subcmds); i++)
		if (!strcmp(argv[1], subcmds[i].name))
			return subcmds[i].run(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr, "kvmlockstat: unknown subcommand '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	return cmd_live(argc, argv);
}
