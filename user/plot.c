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

static void put_value(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.17g", v);
	else
		fputs(" ?", f);		/* set datafile missing '?' */
}

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

static void put_panels(FILE *f, const struct plot_series *before,
		       const struct plot_series *after)
{
	fputs("set multiplot layout 1,2\n"
	      "set title 'Dirty memory pass time'\n"
	      "set ylabel 'time (ms)'\n"
	      "set format y '%g'\n", f);
	put_plot(f, 2, before, after);
	fputs("set title 'kvm->mmu_lock contentions'\n"
	      "set ylabel 'contentions'\n"
	      "set format y '%.1s%c'\n", f);	/* 1.8M, not 1.8e+06 */
	put_plot(f, 3, before, after);
	fputs("unset multiplot\n", f);
}

static void put_script(FILE *f, const struct outputs *o,
		       const struct plot_series *before,
		       const struct plot_series *after)
{
	size_t i;

	fputs("set datafile missing '?'\n", f);
	put_datablock(f, "before", before);
	if (after)
		put_datablock(f, "after", after);
	fputs("set grid\n"
	      "set key top left\n"
	      "set xlabel 'vCPUs'\n"
	      "set yrange [0:*]\n"
	      "set style line 1 lc rgb '#c0392b' lw 2 pt 7 ps 0.8\n"
	      "set style line 2 lc rgb '#2471a3' lw 2 pt 5 ps 0.8\n", f);
	for (i = 0; i < NR_FORMATS; i++) {
		fputs("set terminal ", f);
		fprintf(f, formats[i].terminal, PLOT_WIDTH, PLOT_HEIGHT);
		/* Labels are literal: no '_' subscripts in "mmu_lock". */
		fputs("\nset termoption noenhanced\nset output ", f);
		put_quoted(f, o->tmp[i]);
		fputc('\n', f);
		put_panels(f, before, after);
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

static int write_script(const char *path, const struct outputs *o,
			const struct plot_series *before,
			const struct plot_series *after)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	put_script(f, o, before, after);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int plot_scaling(const char *out_prefix, const struct plot_series *before,
		 const struct plot_series *after)
{
	struct outputs o;
	char *script = NULL;
	int err;

	if (!out_prefix || check_series(before) || (after && check_series(after)))
		return -EINVAL;
	err = make_outputs(out_prefix, &o);
	if (!err) {
		script = make_temp(o.final[0]);
		if (!script)
			err = -ENOMEM;
	}
	if (!err)
		err = write_script(script, &o, before, after);
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
