// SPDX-License-Identifier: GPL-2.0
/*
 * Scaling charts through gnuplot. The script, with the data inline, goes
 * to a temp file; gnuplot renders into temp outputs that are renamed into
 * place only once gnuplot succeeded, so a failed run leaves nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf */
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"

extern char **environ;

#define PLOT_WIDTH 1100
#define PLOT_HEIGHT 450

/* Output formats, each a gnuplot terminal; the script renders them all. */
static const struct {
	const char *ext;
	const char *terminal;
} formats[] = {
	{ "svg", "svg size %d,%d dynamic font 'sans,11' background rgb 'white'" },
	{ "png", "pngcairo size %d,%d font 'sans,10' background rgb 'white'" },
};
#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

struct outputs {
	char *final[NR_FORMATS];
	char *tmp[NR_FORMATS];
};

/* A gnuplot single-quoted string: only ' needs escaping, as ''. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* A gnuplot double-quoted string: a newline becomes \n, a second line in a title. */
static void put_dquoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void put_value(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.17g", v);
	else
		fputs(" ?", f);		/* set datafile missing '?' */
}

/* What one chart writes into the script: its data, then (per format) its panels. */
struct chart {
	int width, height;
	void (*data)(FILE *f, const void *ctx);
	void (*panels)(FILE *f, const void *ctx);
	const void *ctx;
};

/* $name << EOD: vcpus dirty_ms contentions, one line per point. */
static void put_datablock(FILE *f, const char *name, const struct plot_series *s)
{
	size_t i;

	fprintf(f, "$%s << EOD\n", name);
	for (i = 0; i < s->n; i++) {
		put_value(f, s->vcpus[i]);
		put_value(f, s->dirty_ms[i]);
		put_value(f, s->contentions[i]);
		fputc('\n', f);
	}
	fputs("EOD\n", f);
}

/* "plot $before using 1:COL ..., $after using 1:COL ..." */
static void put_plot(FILE *f, int col, const struct plot_series *before,
		     const struct plot_series *after)
{
	fprintf(f, "plot $before using 1:%d with linespoints ls 1 title ", col);
	put_quoted(f, before->label ? before->label : "before");
	if (after) {
		fprintf(f, ", $after using 1:%d with linespoints ls 2 title ", col);
		put_quoted(f, after->label ? after->label : "after");
	}
	fputc('\n', f);
}

static bool any_finite(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			return true;
	return false;
}

/*
 * Dirty memory time comes from kvm-dirtylog's reports beside the records:
 * without one the panel says so and draws no line (a line needs a point,
 * and a missing figure is not a zero).
 */
static void put_dirty_panel(FILE *f, const struct plot_series *before,
			    const struct plot_series *after)
{
	if (any_finite(before->dirty_ms, before->n) ||
	    (after && any_finite(after->dirty_ms, after->n))) {
		put_plot(f, 2, before, after);
		return;
	}
	fputs("set label 1 \"not measured:\\nno kvm-dirtylog report beside the records\" "
	      "at graph 0.5,0.5 center\n"
	      "plot [0:1] [0:1] NaN notitle\n"
	      "unset label 1\n", f);
}

static void put_panels(FILE *f, const struct plot_series *before,
		       const struct plot_series *after)
{
	fputs("set multiplot layout 1,2\n"
	      "set title 'Dirty memory pass time'\n"
	      "set ylabel 'time (ms)'\n"
	      "set format y '%g'\n", f);
	put_dirty_panel(f, before, after);
	fputs("set title 'kvm->mmu_lock contentions'\n"
	      "set ylabel 'contentions'\n"
	      "set format y '%.1s%c'\n", f);	/* 1.8M, not 1.8e+06 */
	put_plot(f, 3, before, after);
	fputs("unset multiplot\n", f);
}

struct scaling {
	const struct plot_series *before, *after;
};

static void scaling_data(FILE *f, const void *ctx)
{
	const struct scaling *sc = ctx;

	put_datablock(f, "before", sc->before);
	if (sc->after)
		put_datablock(f, "after", sc->after);
	fputs("set xlabel 'vCPUs'\n"
	      "set yrange [0:*]\n", f);
}

static void scaling_panels(FILE *f, const void *ctx)
{
	const struct scaling *sc = ctx;

	put_panels(f, sc->before, sc->after);
}

static void put_script(FILE *f, const struct outputs *o, const struct chart *c)
{
	size_t i;

	fputs("set datafile missing '?'\n", f);
	fputs("set grid\n"
	      "set key top left\n"
	      "set style line 1 lc rgb '#c0392b' lw 2 pt 7 ps 0.8\n"
	      "set style line 2 lc rgb '#2471a3' lw 2 pt 5 ps 0.8\n"
	      "set style line 3 lc rgb '#27ae60' lw 2 pt 9 ps 0.8\n"
	      "set style line 4 lc rgb '#8e44ad' lw 2 pt 11 ps 0.8\n"
	      "set style line 5 lc rgb '#7f8c8d' lw 1.5 dt 2\n"
	      "set style line 6 lc rgb '#d68910' lw 2 pt 13 ps 0.8\n"
	      "set style line 7 lc rgb '#17a589' lw 2 pt 3 ps 0.8\n"
	      "set style line 8 lc rgb '#1c2833' lw 2 pt 1 ps 0.8\n"
	      "set style line 9 lc rgb '#e84393' lw 2 pt 2 ps 0.8\n", f);
	c->data(f, c->ctx);
	for (i = 0; i < NR_FORMATS; i++) {
		fputs("set terminal ", f);
		fprintf(f, formats[i].terminal, c->width, c->height);
		/* Labels are literal: no '_' subscripts in "mmu_lock". */
		fputs("\nset termoption noenhanced\nset output ", f);
		put_quoted(f, o->tmp[i]);
		fputc('\n', f);
		c->panels(f, c->ctx);
		fputs("set output\n", f);	/* closes the file */
	}
}

static int check_series(const struct plot_series *s)
{
	if (!s || !s->n)
		return -EINVAL;
	if (!s->vcpus || !s->dirty_ms || !s->contentions)
		return -EINVAL;
	return 0;
}

/* An empty temp file named like path.tmp.XXXXXX; malloc'ed name or NULL. */
static char *make_temp(const char *path)
{
	char *name;
	int fd;

	if (asprintf(&name, "%s.tmp.XXXXXX", path) < 0)
		return NULL;
	fd = mkstemp(name);
	if (fd < 0 || fchmod(fd, 0644) || close(fd)) {
		if (fd >= 0)
			unlink(name);
		free(name);
		return NULL;
	}
	return name;
}

static void free_outputs(struct outputs *o)
{
	size_t i;

	for (i = 0; i < NR_FORMATS; i++) {
		if (o->tmp[i])
			unlink(o->tmp[i]);
		free(o->tmp[i]);
		free(o->final[i]);
	}
}

static int make_outputs(const char *prefix, struct outputs *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < NR_FORMATS; i++) {
		if (asprintf(&o->final[i], "%s.%s", prefix, formats[i].ext) < 0) {
			o->final[i] = NULL;
			return -ENOMEM;
		}
		errno = 0;
		o->tmp[i] = make_temp(o->final[i]);
		if (!o->tmp[i])
			return errno ? -errno : -ENOMEM;
	}
	return 0;
}

/*
 * gnuplot SCRIPT, no shell; 0, -ENOENT if not installed, -EIO if it failed.
 * posix_spawn rather than fork: the caller may be multi-threaded.
 */
static int run_gnuplot(const char *script)
{
	char *argv[] = { "gnuplot", (char *)script, NULL };
	posix_spawn_file_actions_t fa;
	int err, status;
	pid_t pid;

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		return -err;
	/* gnuplot must not wait on our terminal. */
	err = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
					       O_RDONLY, 0);
	if (!err)
		err = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err == ENOENT)
		fprintf(stderr, "plot: gnuplot not found (apt-get install gnuplot-nox)\n");
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* gnuplot can exit 0 after an error in a multiplot: insist on output. */
static int commit_outputs(struct outputs *o)
{
	struct stat st;
	size_t i;

	for (i = 0; i < NR_FORMATS; i++)
		if (stat(o->tmp[i], &st) || st.st_size == 0)
			return -EIO;
	for (i = 0; i < NR_FORMATS; i++) {
		if (rename(o->tmp[i], o->final[i]))
			return -errno;
		free(o->tmp[i]);
		o->tmp[i] = NULL;	/* renamed: nothing to clean up */
	}
	return 0;
}

static int write_script(const char *path, const struct outputs *o, const struct chart *c)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	put_script(f, o, c);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static int render(const char *out_prefix, const struct chart *c)
{
	struct outputs o;
	char *script = NULL;
	int err;

	err = make_outputs(out_prefix, &o);
	if (!err) {
		script = make_temp(o.final[0]);
		if (!script)
			err = -ENOMEM;
	}
	if (!err)
		err = write_script(script, &o, c);
	if (!err)
		err = run_gnuplot(script);
	if (!err)
		err = commit_outputs(&o);
	if (script)
		unlink(script);
	free(script);
	free_outputs(&o);
	return err;
}

int plot_scaling(const char *out_prefix, const struct plot_series *before,
		 const struct plot_series *after)
{
	struct scaling sc = { before, after };
	struct chart c = { PLOT_WIDTH, PLOT_HEIGHT, scaling_data, scaling_panels, &sc };

	if (!out_prefix || check_series(before) || (after && check_series(after)))
		return -EINVAL;
	return render(out_prefix, &c);
}

/* ---- time charts ---- */

/* $tl: x then every line of every panel; the last values again at the end (steps). */
static void time_data(FILE *f, const void *ctx)
{
	const struct plot_time_chart *tc = ctx;

	fputs("$tl << EOD\n", f);
	for (size_t i = 0; i <= tc->n; i++) {
		size_t row = i < tc->n ? i : tc->n - 1;

		put_value(f, i < tc->n ? tc->x_start[i] : tc->x_end[row]);
		for (size_t p = 0; p < tc->nr_panels; p++)
			for (size_t l = 0; l < tc->panels[p].nr_lines; l++)
				put_value(f, tc->panels[p].lines[l].y[row]);
		fputc('\n', f);
	}
	fputs("EOD\n", f);
	if (tc->overlay_n) {
		fputs("$overlay << EOD\n", f);
		for (size_t i = 0; i < tc->overlay_n; i++) {
			put_value(f, tc->overlay_x[i]);
			put_value(f, tc->overlay_y[i]);
			fputc('\n', f);
		}
		fputs("EOD\n", f);
	}
	fputs("set format y '%.1s%c'\n", f);
}

/*
 * An explicit [0:max] range: gnuplot 5.4 warns "empty y range" for an
 * all-zero panel even with [0:1<*] once a y2 axis is on.
 */
static void put_range(FILE *f, const char *axis, const double *const *ys, size_t nr, size_t n)
{
	double max = 0;

	for (size_t l = 0; l < nr; l++)
		for (size_t i = 0; i < n; i++)
			if (isfinite(ys[l][i]) && ys[l][i] > max)
				max = ys[l][i];
	fprintf(f, "set %srange [0:%.17g]\n", axis, max > 0 ? max * 1.08 : 1);
	/* SI prefixes only for big numbers: "200.0m" under 1 reads as a second unit. */
	fprintf(f, "set format %s '%s'\n", axis, max >= 1000 ? "%.1s%c" : "%g");
}

/* Line l's style: 1-4 and 6-9 (PLOT_MAX_LINES distinct colours); 5 is the overlay's. */
static size_t line_style(size_t l)
{
	return l < 4 ? l + 1 : l + 2;
}

static void time_panel(FILE *f, const struct plot_time_chart *tc, size_t p, int *col)
{
	const struct plot_panel *pn = &tc->panels[p];
	const double *ys[PLOT_MAX_LINES];
	size_t nr = pn->nr_lines;

	for (size_t l = 0; l < nr; l++)
		ys[l] = pn->lines[l].y;
	put_range(f, "y", ys, nr, tc->n);

	fputs("set title ", f);
	put_quoted(f, pn->title);
	fputs("\nset ylabel ", f);
	put_quoted(f, pn->ylabel);
	fputc('\n', f);
	if (p + 1 == tc->nr_panels) {
		fputs("set xlabel ", f);
		put_quoted(f, tc->xlabel);
		fputc('\n', f);
	}
	fputs("plot", f);
	for (size_t l = 0; l < pn->nr_lines; l++) {
		fprintf(f, "%s $tl using 1:%d with steps ls %zu title ", l ? "," : "", (*col)++,
			line_style(l));
		put_quoted(f, pn->lines[l].title);
	}
	if (tc->overlay_n) {
		fputs(", $overlay using 1:2 axes x1y2 with lines ls 5 title ", f);
		put_quoted(f, tc->overlay_title);
	}
	fputc('\n', f);
}

static void time_panels(FILE *f, const void *ctx)
{
	const struct plot_time_chart *tc = ctx;
	int col = 2;

	fprintf(f, "set multiplot layout %zu,1 title ", tc->nr_panels);
	put_dquoted(f, tc->title);	/* may hold a second line */
	/* Same margins and x range in every panel: one time axis down the page. */
	fprintf(f, "\nunset xlabel\nset key top right\nset lmargin 11\nset rmargin 11\n"
		"set xrange [%.17g:%.17g]\n", tc->x_start[0], tc->x_end[tc->n - 1]);
	if (tc->overlay_n) {
		fputs("set y2tics\nset ytics nomirror\nset y2label ", f);
		put_quoted(f, tc->overlay_title);
		fputc('\n', f);
		put_range(f, "y2", &tc->overlay_y, 1, tc->overlay_n);
	}
	for (size_t p = 0; p < tc->nr_panels; p++)
		time_panel(f, tc, p, &col);
	fputs("unset multiplot\n", f);
}

int plot_time_chart(const char *out_prefix, const struct plot_time_chart *tc)
{
	struct chart c = { PLOT_WIDTH, 60 + 260 * (int)(tc ? tc->nr_panels : 0),
			   time_data, time_panels, tc };

	if (!out_prefix || !tc || !tc->n || !tc->nr_panels || !tc->x_start || !tc->x_end ||
	    (tc->overlay_n && (!tc->overlay_x || !tc->overlay_y)))
		return -EINVAL;
	for (size_t p = 0; p < tc->nr_panels; p++)
		if (!tc->panels[p].nr_lines || tc->panels[p].nr_lines > PLOT_MAX_LINES)
			return -EINVAL;
	return render(out_prefix, &c);
}

int plot_done(const char *out_prefix, int err)
{
	if (err)
		fprintf(stderr, "kvmlockstat plot: %s%s\n", strerror(-err),
			err == -ENOENT ? " (gnuplot not installed: apt-get install gnuplot-nox)" : "");
	else
		fprintf(stderr, "kvmlockstat plot: %s.svg and %s.png written\n", out_prefix, out_prefix);
	return err ? 1 : 0;
}
