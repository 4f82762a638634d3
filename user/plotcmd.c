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
		{},
	};
	struct argp argp = { opts, sweep_args_parse, "BEFORE [AFTER]",
			     "Draw the scaling chart of one or two sweeps (gnuplot): dirty memory "
			     "time and mmu_lock contentions against vCPUs, before and after." };
	static struct sweep_args o;
	static struct series_buf before, after;
	int err = 1, ret;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--timeline", 10))
			return cmd_plot_timeline(argc, argv);

	o.plot = true;
	o.out = "kvmlockstat-scaling";
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (sweep_args_load(&o))
		goto out;
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
