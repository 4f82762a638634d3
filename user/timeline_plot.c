// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat plot --timeline FILE.csv [--progress P.csv] [--pid PID] [-o PREFIX]:
 * a --timeline CSV on one time axis (faults, mmu_lock waits by writer path,
 * wait and dirty-log ioctl time, per second), with an optional progress
 * series (unix_time,rate) on the second y axis, e.g. a guest's pages/s.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd.h"
#include "plot.h"
#include "timeline.h"

struct tplot_opts {
	const char *timeline, *progress, *out;
	uint32_t pid;			/* 0: every VM, added up */
};

enum { OPT_TIMELINE = 0x100, OPT_PROGRESS, OPT_PID };

enum series {
	S_TRANSLATION, S_PERMISSION, S_ACCESS, S_FAULT_OTHER, S_UNTYPED,
	S_W_DIRTY_LOG, S_W_NOTIFIER, S_W_FAULT, S_W_OTHER,
	S_NS_DIRTY_LOG, S_NS_NOTIFIER, S_NS_FAULT, S_IOCTL_NS,
	NR_SERIES,
};

/* Per interval, everything the chart draws, per second of the interval. */
struct tseries {
	size_t n;
	double *t0, *t1, *y[NR_SERIES];
	const struct timeline_row *first;	/* the first row drawn: names the VM */
	size_t nr_vms;				/* VMs added up in an interval */
};

static void row_values(const struct timeline_row *r, double v[NR_SERIES])
{
	v[S_TRANSLATION] = r->faults[FAULT_TRANSLATION];
	v[S_PERMISSION] = r->faults[FAULT_PERMISSION];
	v[S_ACCESS] = r->faults[FAULT_ACCESS];
	v[S_FAULT_OTHER] = r->faults[FAULT_OTHER];
	/* Faults KVM counted but no probe typed (KVM's counters, the default on x86). */
	v[S_UNTYPED] = r->faults_total;
	for (int t = 0; t < NR_FAULT_TYPES; t++)
		v[S_UNTYPED] -= r->faults[t];
	if (v[S_UNTYPED] < 0)
		v[S_UNTYPED] = 0;	/* a file from before faults_total */
	/* Not measured: no point at all (a line at 0 would say there were none). */
	for (int t = 0; t < NR_FAULT_TYPES && (r->unmeasured & TM_FAULT_TYPES); t++)
		v[S_TRANSLATION + t] = NAN;
	if (r->unmeasured & TM_FAULT_TYPES)
		v[S_UNTYPED] = r->faults_total;
	if (r->unmeasured & TM_FAULTS)
		v[S_UNTYPED] = NAN;
	for (int p = 0; p < NR_WAIT_PATHS; p++)
		v[S_W_DIRTY_LOG + p] = r->paths[p].count;
	v[S_NS_DIRTY_LOG] = r->paths[WP_DIRTY_LOG].total_ns / 1e6;
	v[S_NS_NOTIFIER] = r->paths[WP_MMU_NOTIFIER].total_ns / 1e6;
	v[S_NS_FAULT] = r->paths[WP_FAULT].total_ns / 1e6;
	v[S_IOCTL_NS] = (r->get_dirty_log.total_ns + r->clear_dirty_log.total_ns) / 1e6;
	if (r->unmeasured & TM_DIRTY_LOG)
		v[S_IOCTL_NS] = NAN;
}

/* Rows come interval by interval: add up the VMs of each (or keep one pid's). */
static int make_series(struct tseries *s, const struct timeline_row *rows, size_t n, uint32_t pid)
{
	memset(s, 0, sizeof(*s));
	s->t0 = calloc(n + 1, sizeof(double));
	s->t1 = calloc(n + 1, sizeof(double));
	for (int k = 0; k < NR_SERIES; k++)
		s->y[k] = calloc(n + 1, sizeof(double));
	for (int k = 0; k < NR_SERIES; k++)
		if (!s->y[k])
			return -ENOMEM;
	if (!s->t0 || !s->t1)
		return -ENOMEM;
	for (size_t i = 0, last = 0; i < n; i++) {
		double v[NR_SERIES];

		if (pid && rows[i].pid != pid)
			continue;
		if (!s->n)
			s->first = &rows[i];
		if (rows[i].interval == s->first->interval)
			s->nr_vms++;
		if (!s->n || rows[i].interval != last) {
			last = rows[i].interval;
			s->t0[s->n] = rows[i].t_start_s;
			s->t1[s->n] = rows[i].t_end_s;
			s->n++;
		}
		row_values(&rows[i], v);
		for (int k = 0; k < NR_SERIES; k++)
			s->y[k][s->n - 1] += v[k];
	}
	for (size_t i = 0; i < s->n; i++) {
		double dt = s->t1[i] - s->t0[i];

		for (int k = 0; k < NR_SERIES; k++)
			s->y[k][i] = dt > 0 ? s->y[k][i] / dt : NAN;
	}
	return 0;
}

static void free_series(struct tseries *s)
{
	free(s->t0);
	free(s->t1);
	for (int k = 0; k < NR_SERIES; k++)
		free(s->y[k]);
}

/* unix_time,rate lines (an optional header and # comments skipped), x made relative. */
static int read_progress(const char *path, double unix0, double **x, double **y, size_t *n)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0, len = 0, lineno = 0;
	char *line = NULL;
	int err = 0;

	*x = *y = NULL;
	*n = 0;
	if (!f) {
		fprintf(stderr, "kvmlockstat plot: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!err && getline(&line, &len, f) > 0) {
		double t, r;
		char c;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (sscanf(line, " %lf , %lf %c", &t, &r, &c) != 2 || !isfinite(t) || !isfinite(r)) {
			if (lineno == 1)
				continue;	/* a header */
			fprintf(stderr, "kvmlockstat plot: %s:%zu: expected unix_time,rate\n", path, lineno);
			err = -EINVAL;
			break;
		}
		if (*n == cap) {
			double *gx, *gy;

			cap = cap ? 2 * cap : 256;
			gx = realloc(*x, cap * sizeof(double));
			if (gx)
				*x = gx;
			gy = realloc(*y, cap * sizeof(double));
			if (gy)
				*y = gy;
			if (!gx || !gy) {
				err = -ENOMEM;
				break;
			}
		}
		(*x)[*n] = t - unix0;
		(*y)[(*n)++] = r;
	}
	if (!err && !*n) {
		fprintf(stderr, "kvmlockstat plot: %s: no unix_time,rate line\n", path);
		err = -EINVAL;
	}
	free(line);
	fclose(f);
	return err;
}

static bool line_missing(const struct plot_line *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isnan(l->y[i]))
			return false;
	return true;
}

/* p without its lines that were not measured, named once each in missing (what[l]). */
static void keep_measured(struct plot_panel *p, const char *const *what, struct plot_line *kept,
			  size_t n, char *missing, size_t len)
{
	size_t k = 0;

	for (size_t l = 0; l < p->nr_lines; l++) {
		if (!line_missing(&p->lines[l], n)) {
			kept[k++] = p->lines[l];
			continue;
		}
		if (!strstr(missing, what[l]))
			snprintf(missing + strlen(missing), len - strlen(missing), "%s%s",
				 *missing ? ", " : "", what[l]);
	}
	p->nr_lines = k;
	p->lines = kept;
}

/* A panel whose lines are zero (or missing) throughout: left out of the chart. */
static bool panel_empty(const struct plot_panel *pn, size_t n)
{
	for (size_t l = 0; l < pn->nr_lines; l++)
		for (size_t i = 0; i < n; i++)
			if (isfinite(pn->lines[l].y[i]) && pn->lines[l].y[i] != 0)
				return false;
	return true;
}

/*
 * Wait and ioctl time per second of run, made in ms/s: rescaled to the unit
 * whose ticks read as plain numbers (a few µs/s rather than "0.004 ms/s").
 */
static const char *time_unit(struct tseries *s)
{
	static const struct { const char *unit; double scale; } units[] = {
		{ "ms per second", 1 }, { "µs per second", 1e3 }, { "ns per second", 1e6 },
	};
	double max = 0;
	size_t u = 0;

	for (int k = S_NS_DIRTY_LOG; k <= S_IOCTL_NS; k++)
		for (size_t i = 0; i < s->n; i++)
			if (isfinite(s->y[k][i]) && s->y[k][i] > max)
				max = s->y[k][i];
	while (u + 1 < sizeof(units) / sizeof(units[0]) && max > 0 && max * units[u].scale < 1)
		u++;
	for (int k = S_NS_DIRTY_LOG; k <= S_IOCTL_NS; k++)
		for (size_t i = 0; i < s->n; i++)
			s->y[k][i] *= units[u].scale;
	return units[u].unit;
}

/* "contend (pid 4242)" or "3 VMs added up", the date, and what was left out and why. */
static void chart_title(char *buf, size_t len, const struct tplot_opts *o, const struct tseries *s,
			const char *left_out, const char *missing)
{
	time_t t = (time_t)s->first->unix_start;
	char vm[64], date[32];
	struct tm tm;

	if (s->nr_vms == 1)
		snprintf(vm, sizeof(vm), "VM of %s (pid %u)", s->first->comm, s->first->pid);
	else
		snprintf(vm, sizeof(vm), "%zu VMs added up", s->nr_vms);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
	snprintf(buf, len, "kvmlockstat timeline: %s, %s, %s%s%s%s%s%s%s", vm, date, o->timeline,
		 *left_out || *missing ? "\n" : "",
		 *left_out ? "zero throughout, not drawn: " : "", left_out,
		 *left_out && *missing ? "; " : "",
		 *missing ? "not measured in this run, not drawn: " : "", missing);
}

static int draw(const struct tplot_opts *o, struct tseries *s, const double *px,
		const double *py, size_t pn)
{
	const char *unit = time_unit(s);
	const struct plot_line faults[] = {
		{ "permission", s->y[S_PERMISSION] }, { "translation", s->y[S_TRANSLATION] },
		{ "access flag", s->y[S_ACCESS] }, { "other", s->y[S_FAULT_OTHER] },
		{ "not typed (KVM's count)", s->y[S_UNTYPED] },
	}, waits[] = {
		{ "dirty log", s->y[S_W_DIRTY_LOG] }, { "MMU notifier", s->y[S_W_NOTIFIER] },
		{ "fault", s->y[S_W_FAULT] }, { "other", s->y[S_W_OTHER] },
	}, times[] = {
		{ "wait: dirty log", s->y[S_NS_DIRTY_LOG] }, { "wait: MMU notifier", s->y[S_NS_NOTIFIER] },
		{ "wait: fault", s->y[S_NS_FAULT] }, { "dirty-log ioctls", s->y[S_IOCTL_NS] },
	};
	const struct plot_panel all[] = {
		{ "Stage-2 / TDP faults by type", "faults per second", 5, faults },
		{ "kvm->mmu_lock waits by writer path", "waits per second", 4, waits },
		{ "mmu_lock wait time by path; dirty-log ioctl time", unit, 4, times },
	};
	static const char *const short_names[] = { "faults", "mmu_lock waits", "wait and ioctl time" };
	/* What a line that was not measured stands for, per panel and line. */
	static const char *const what[3][PLOT_MAX_LINES] = {
		{ "fault types", "fault types", "fault types", "fault types", "faults" },
		{ "mmu_lock waits", "mmu_lock waits", "mmu_lock waits", "mmu_lock waits" },
		{ "wait time", "wait time", "wait time", "dirty-log ioctls" },
	};
	struct plot_panel panels[3], p;
	struct plot_line kept[3][PLOT_MAX_LINES];
	char title[640], left_out[128] = "", missing[192] = "";
	struct plot_time_chart tc = {
		title, "seconds since kvmlockstat started", s->n, s->t0, s->t1, 0, panels,
		"progress (rate)", pn, px, py,
	};

	for (size_t i = 0; i < 3; i++) {
		p = all[i];
		keep_measured(&p, what[i], kept[i], s->n, missing, sizeof(missing));
		if (p.nr_lines && !panel_empty(&p, s->n)) {
			panels[tc.nr_panels++] = p;
			continue;
		}
		if (p.nr_lines)	/* measured, and zero throughout */
			snprintf(left_out + strlen(left_out), sizeof(left_out) - strlen(left_out),
				 "%s%s", *left_out ? ", " : "", short_names[i]);
	}
	if (!tc.nr_panels) {
		fprintf(stderr, "kvmlockstat plot: %s: every series is zero throughout: nothing to draw\n",
			o->timeline);
		return -ENODATA;
	}
	chart_title(title, sizeof(title), o, s, left_out, missing);
	return plot_time_chart(o->out, &tc);
}

static error_t tplot_parse(int key, char *arg, struct argp_state *state)
{
	struct tplot_opts *o = state->input;
	char *end;

	switch (key) {
	case OPT_TIMELINE: o->timeline = arg; return 0;
	case OPT_PROGRESS: o->progress = arg; return 0;
	case 'o': o->out = arg; return 0;
	case OPT_PID:
		o->pid = strtoul(arg, &end, 10);
		if (!*arg || *end || !o->pid)
			argp_error(state, "invalid --pid '%s'", arg);
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (the CSV goes after --timeline)", arg);
		return 0;
	case ARGP_KEY_END:
		if (!o->timeline)
			argp_error(state, "--timeline FILE.csv is required");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Default prefix: the CSV's name without .csv, plus -timeline. */
static char *default_prefix(const char *csv)
{
	size_t len = strlen(csv);
	char *p;

	if (len > 4 && !strcmp(csv + len - 4, ".csv"))
		len -= 4;
	return asprintf(&p, "%.*s-timeline", (int)len, csv) < 0 ? NULL : p;
}

int cmd_plot_timeline(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{ "timeline", OPT_TIMELINE, "FILE.csv", 0, "The CSV written by kvmlockstat --timeline", 0 },
		{ "progress", OPT_PROGRESS, "FILE.csv", 0, "Overlay unix_time,rate lines on the second y axis", 0 },
		{ "pid", OPT_PID, "PID", 0, "Only this VMM's rows (default: every VM added up)", 0 },
		{ "output", 'o', "PREFIX", 0, "Write PREFIX.svg and PREFIX.png (default: FILE-timeline)", 0 },
		{},
	};
	struct argp argp = { opts, tplot_parse, "--timeline FILE.csv",
			     "Draw a --timeline CSV on a time axis (gnuplot): faults by type, "
			     "mmu_lock waits and wait time by writer path, dirty-log ioctl time, per second." };
	struct tplot_opts o = {};
	struct timeline_row *rows = NULL;
	double *px = NULL, *py = NULL;
	char err[512], *prefix = NULL;
	struct tseries s = {};
	size_t n, pn = 0;
	int ret = 1;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (timeline_read_csv(o.timeline, &rows, &n, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat plot: %s\n", err);
		return 1;
	}
	if (!o.out && !(o.out = prefix = default_prefix(o.timeline)))
		goto out;
	if (make_series(&s, rows, n, o.pid)) {
		fprintf(stderr, "kvmlockstat plot: out of memory\n");
		goto out;
	}
	if (!s.n) {
		fprintf(stderr, "kvmlockstat plot: %s: no rows%s\n", o.timeline,
			o.pid ? " for that --pid" : "");
		goto out;
	}
	if (o.progress && read_progress(o.progress, rows[0].unix_start - rows[0].t_start_s,
					&px, &py, &pn))
		goto out;
	ret = draw(&o, &s, px, py, pn);
	ret = ret == -ENODATA ? 1 : plot_done(o.out, ret);	/* -ENODATA: draw said why */
out:
	free_series(&s);
	free(rows);
	free(px);
	free(py);
	free(prefix);
	return ret;
}
