// SPDX-License-Identifier: GPL-2.0
/* plot: the real gnuplot renders a valid SVG and PNG, atomically. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plot.h"
#include "testutil.h"

/* Synthetic numbers shaped like a before/after scaling table. */
static const double vcpus[] = { 1, 2, 4, 8, 16, 32, 48 };
static const double before_ms[] = { 310, 420, 700, 1900, 6100, 17800, 32100 };
static const double before_cont[] = { 0, 1200, 9800, 61000, 250000, 910000, 1750000 };
static const double after_ms[] = { 300, 330, 380, 520, 1300, 3600, 6230 };
static const double after_cont[] = { 0, 40, 310, 2100, 9000, 30500, 61000 };

static const struct plot_series before = {
	"6.1 (write lock)", 7, vcpus, before_ms, before_cont,
};
static const struct plot_series after = {
	"6.1 + series (read lock)", 7, vcpus, after_ms, after_cont,
};

static int gnuplot_missing(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") != 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void assert_svg(const char *path, const char *needle)
{
	size_t len;
	char *buf = slurp(path, &len);

	assert_non_null(buf);
	assert_true(len > 1000);
	assert_memory_equal(buf, "<?xml", 5);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "</svg>"));
	assert_non_null(strstr(buf, needle));
	free(buf);
}

static void assert_png(const char *path)
{
	static const unsigned char magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	size_t len;
	char *buf = slurp(path, &len);

	assert_non_null(buf);
	assert_true(len > 1000);
	assert_memory_equal(buf, magic, sizeof(magic));
	assert_memory_equal(buf + 12, "IHDR", 4);
	free(buf);
}

static void test_before_after(void **state)
{
	const char *dir = *state;
	char *prefix = path_in(dir, "scaling");
	char *svg = path_in(dir, "scaling.svg"), *png = path_in(dir, "scaling.png");

	if (gnuplot_missing())
		skip();
	assert_int_equal(plot_scaling(prefix, &before, &after), 0);
	assert_svg(svg, "mmu_lock contentions");
	assert_png(png);
	assert_int_equal(count_entries(dir), 2);	/* no temp, no script */
	/* Keep a copy to look at, if asked. */
	if (getenv("PLOT_KEEP")) {
		char *cmd;

		assert_true(asprintf(&cmd, "cp %s %s %s", svg, png, getenv("PLOT_KEEP")) > 0);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(prefix);
	free(svg);
	free(png);
}

static void test_single_series_with_gap(void **state)
{
	const char *dir = *state;
	double ms[] = { 310, NAN, 700, 1900, INFINITY, 17800, 32100 };
	struct plot_series s = before;
	char *prefix = path_in(dir, "one"), *png = path_in(dir, "one.png");

	if (gnuplot_missing())
		skip();
	s.dirty_ms = ms;
	assert_int_equal(plot_scaling(prefix, &s, NULL), 0);
	assert_png(png);
	free(prefix);
	free(png);
}

static void test_invalid(void **state)
{
	const char *dir = *state;
	struct plot_series empty = before, holes = before;
	char *prefix = path_in(dir, "bad");

	empty.n = 0;
	holes.contentions = NULL;
	assert_int_equal(plot_scaling(prefix, NULL, &after), -EINVAL);
	assert_int_equal(plot_scaling(prefix, &empty, NULL), -EINVAL);
	assert_int_equal(plot_scaling(prefix, &before, &holes), -EINVAL);
	assert_int_equal(plot_scaling(NULL, &before, NULL), -EINVAL);
	assert_int_equal(count_entries(dir), 0);
	free(prefix);
}

/* gnuplot absent (empty PATH): -ENOENT and no files. */
static void test_no_gnuplot(void **state)
{
	const char *dir = *state;
	char *prefix = path_in(dir, "nognuplot");
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;

	setenv("PATH", "/nonexistent", 1);
	assert_int_equal(plot_scaling(prefix, &before, &after), -ENOENT);
	if (old)
		setenv("PATH", old, 1);
	assert_int_equal(count_entries(dir), 0);
	free(old);
	free(prefix);
}

/* plot_scaling with PATH holding only a fake gnuplot (a shell script). */
static int plot_with_fake_gnuplot(const char *dir, const char *body)
{
	char *bin = path_in(dir, "bin"), *gp, *prefix = path_in(dir, "fake");
	char *old = strdup(getenv("PATH"));
	int err;

	assert_int_equal(mkdir(bin, 0755), 0);
	gp = write_file_in(bin, "gnuplot", body);
	assert_non_null(gp);
	assert_int_equal(chmod(gp, 0755), 0);
	setenv("PATH", bin, 1);
	err = plot_scaling(prefix, &before, &after);
	setenv("PATH", old, 1);
	unlink(gp);
	rmdir(bin);
	free(gp);
	free(bin);
	free(prefix);
	free(old);
	return err;
}

/* gnuplot failing, or "succeeding" without output: -EIO, no files. */
static void test_gnuplot_fails(void **state)
{
	const char *dir = *state;

	assert_int_equal(plot_with_fake_gnuplot(dir, "#!/bin/sh\nexit 1\n"), -EIO);
	assert_int_equal(count_entries(dir), 0);
	assert_int_equal(plot_with_fake_gnuplot(dir, "#!/bin/sh\nexit 0\n"), -EIO);
	assert_int_equal(count_entries(dir), 0);
}

/* A timeline: steps over six intervals, an all-zero line, a progress overlay. */
static const double t0[] = { 0, 0.5, 1, 1.5, 2, 2.5 }, t1[] = { 0.5, 1, 1.5, 2, 2.5, 2.8 };
static const double perm[] = { 0, 0, 900, 1200, 1100, 0 }, zero[6];
static const double wl[] = { 0, 3, 40, 55, 38, 1 }, px[] = { -0.2, 0.6, 1.2, 2.1, 3 };
static const double py[] = { 1000, 1000, 200, 150, 990 };
static const struct plot_line fault_lines[] = { { "permission", perm }, { "access", zero } };
static const struct plot_line wait_lines[] = { { "dirty log", wl } };
static const struct plot_panel tpanels[] = {
	{ "faults by type", "faults/s", 2, fault_lines },
	{ "waits by writer path", "waits/s", 1, wait_lines },
};

static void test_time_chart(void **state)
{
	const char *dir = *state;
	char *prefix = path_in(dir, "tl"), *svg = path_in(dir, "tl.svg"), *png = path_in(dir, "tl.png");
	struct plot_time_chart tc = { "timeline", "seconds", 6, t0, t1, 2, tpanels,
				      "guest pages/s", 5, px, py };

	if (gnuplot_missing())
		skip();
	assert_int_equal(plot_time_chart(prefix, &tc), 0);
	assert_svg(svg, "waits by writer path");
	assert_svg(svg, "guest pages/s");
	assert_png(png);
	assert_int_equal(count_entries(dir), 2);
	tc.overlay_n = 0;			/* without the overlay */
	assert_int_equal(plot_time_chart(prefix, &tc), 0);
	assert_png(png);
	free(prefix);
	free(svg);
	free(png);
}

static void test_time_chart_invalid(void **state)
{
	const char *dir = *state;
	char *prefix = path_in(dir, "bad");
	struct plot_panel empty = { "none", "-", 0, fault_lines };
	struct plot_time_chart tc = { "t", "s", 6, t0, t1, 2, tpanels, "p", 5, px, py }, b;

	b = tc, b.n = 0;
	assert_int_equal(plot_time_chart(prefix, &b), -EINVAL);
	b = tc, b.nr_panels = 1, b.panels = &empty;
	assert_int_equal(plot_time_chart(prefix, &b), -EINVAL);
	b = tc, b.overlay_y = NULL;
	assert_int_equal(plot_time_chart(prefix, &b), -EINVAL);
	b = tc, b.x_end = NULL;
	assert_int_equal(plot_time_chart(prefix, &b), -EINVAL);
	assert_int_equal(plot_time_chart(prefix, NULL), -EINVAL);
	assert_int_equal(count_entries(dir), 0);
	free(prefix);
}

static void test_missing_dir(void **state)
{
	assert_int_equal(plot_scaling("/nonexistent-dir/scaling", &before, &after), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_before_after, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_single_series_with_gap, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_invalid, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_no_gnuplot, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_gnuplot_fails, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_time_chart, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_time_chart_invalid, tempdir_setup, tempdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
