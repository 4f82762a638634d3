// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat plot BEFORE [AFTER]: the scaling chart of one or two sweeps
 * (records as for diff); plot --timeline FILE.csv hands over to
 * timeline_plot.c.
 */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "cmd.h"
#include "plot.h"
#include "sweep.h"

struct series_buf {
	double vcpus[MAX_ROWS], dirty[MAX_ROWS], cont[MAX_ROWS];
	char label[96];
	struct plot_series s;
};

static const struct metric *metric_named(const char *name)
{
	for (size_t m = 0; m < sweep_nr_metrics; m++)
		if (!strcmp(sweep_metrics[m].name, name))
			return &sweep_metrics[m];
	return NULL;
}

static void make_series(struct series_buf *b, const struct side *side, const char *role)
{
	int keys[MAX_ROWS], n = sweep_keys(side, &(struct side){}, keys);

	for (int i = 0; i < n; i++) {
		b->vcpus[i] = keys[i];
		b->dirty[i] = sweep_value(metric_named("dirty memory time"), side, keys[i]);
		b->cont[i] = sweep_value(metric_named("mmu_lock contentions"), side, keys[i]);
	}
	snprintf(b->label, sizeof(b->label), "%s (%s)", role, side->pts[0].run.kernel);
	b->s = (struct plot_series){ b->label, n, b->vcpus, b->dirty, b->cont };
}

int cmd_plot(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{ "output", 'o', "PREFIX", 0, "Write PREFIX.svg and PREFIX.png (default kvmlockstat-scaling)", 0 },
		/* Taken by cmd_plot_timeline before argp: listed so that --help shows both modes. */
		{ "timeline", 0x100, "FILE.csv", 0, "Timeline mode: draw a --timeline CSV over time "
		  "(see plot --timeline --help for its options)", 0 },
		{},
	};
	struct argp argp = { opts, sweep_args_parse, "BEFORE [AFTER]\n--timeline FILE.csv",
			     "Two modes.  Scaling: the chart of one or two sweeps (directories of "
			     "records at two or more vCPU counts; gnuplot): dirty memory time and "
			     "mmu_lock contentions against vCPUs, before and after.  Two single runs "
			     "are compared with 'kvmlockstat diff'.  Timeline: one run's --timeline "
			     "CSV on a time axis." };
	static struct sweep_args o;
	static struct series_buf before, after;
	int keys[2 * MAX_ROWS], err = 1, ret;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--timeline", 10))
			return cmd_plot_timeline(argc, argv);

	o.plot = true;
	o.out = "kvmlockstat-scaling";
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (sweep_args_load(&o))
		goto out;
	/* One x value is no scaling chart: say what the chart needs instead of gnuplot's words. */
	if (sweep_keys(&o.before, &o.after, keys) < 2) {
		fprintf(stderr, "kvmlockstat plot: a scaling chart needs records at two or more vCPU "
			"counts (a sweep directory); %s%s%s all have %d vCPUs: compare them with "
			"'kvmlockstat diff', or draw one run over time with 'plot --timeline'\n",
			o.before.path, o.after.path ? " and " : "", o.after.path ? o.after.path : "",
			keys[0]);
		goto out;
	}
	make_series(&before, &o.before, o.after.path ? "before" : "run");
	if (o.after.path)
		make_series(&after, &o.after, "after");
	ret = plot_scaling(o.out, &before.s, o.after.path ? &after.s : NULL);
	err = plot_done(o.out, ret);
out:
	sweep_free(&o.before);
	sweep_free(&o.after);
	return err;
}
