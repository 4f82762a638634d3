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

static void assert_svg(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);

	assert_non_null(buf);
	assert_true(len > 1000);
	assert_memory_equal(buf, "<?xml", 5);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "</svg>"));
	assert_non_null(strstr(buf, "mmu_lock contentions"));
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
	assert_svg(svg);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
