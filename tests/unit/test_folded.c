// SPDX-License-Identifier: GPL-2.0
/* folded: exact output lines for synthetic samples and symbols. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "folded.h"
#include "testutil.h"
#include "ksyms_fixture.h"

/* Addresses inside the SYNTH_KALLSYMS functions. */
#define OUTER	0xffffffff81000100ULL
#define MIDDLE	0xffffffff81000200ULL
#define INNER	0xffffffff81000300ULL
#define MOD	0xffffffffc0001000ULL

static const uint64_t stack_a[] = { INNER + 0x10, MIDDLE + 0x20, OUTER + 0x30 };
/* Same functions, other return addresses: must fold into stack_a's line. */
static const uint64_t stack_a2[] = { INNER + 0x4, MIDDLE + 0x8, OUTER + 0xc };
static const uint64_t stack_b[] = { INNER + 0x4, 0xdead, OUTER };
static const uint64_t stack_mod[] = { MOD + 8 };

static const struct pd_sample samples[] = {
	{ 10, 11, "CPU 0/KVM", 300, 3, 0x1000, 3, stack_a },
	{ 10, 12, "CPU 1/KVM", 100, 1, 0x1000, 3, stack_b },
	{ 10, 11, "CPU 0/KVM", 50, 2, 0x1000, 3, stack_a2 },
	{ 10, 13, "idle", 0, 0, 0x1000, 3, stack_a },	/* no weight: no line */
	{ 20, 21, "a;b c", 7, 1, 0x2000, 0, NULL },	/* no stack: root only */
	{ 30, 31, NULL, 9, 1, 0x3000, 1, stack_mod },
};
#define NR_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* folded_fprint into a string. */
static char *render(const struct ksyms *k, const struct pd_sample *s, size_t n,
		    int by_count)
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(folded_fprint(m, s, n, k, by_count), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void test_by_wait_time(void **state)
{
	struct fixture *f = *state;
	char *out = render(f->k, samples, NR_SAMPLES, 0);

	assert_string_equal(out,
		"CPU_0/KVM;outer_fn;middle_fn;inner_fn 350\n"
		"CPU_1/KVM;outer_fn;0xdead;inner_fn 100\n"
		"[unknown];mod_fn 9\n"
		"a:b_c 7\n");
	free(out);
}

static void test_by_count(void **state)
{
	struct fixture *f = *state;
	char *out = render(f->k, samples, NR_SAMPLES, 1);

	assert_string_equal(out,
		"CPU_0/KVM;outer_fn;middle_fn;inner_fn 5\n"
		"CPU_1/KVM;outer_fn;0xdead;inner_fn 1\n"
		"[unknown];mod_fn 1\n"
		"a:b_c 1\n");
	free(out);
}

/* Without symbols every frame is an address, so equal functions at
 * different return addresses no longer merge. */
static void test_without_symbols(void **state)
{
	char *out = render(NULL, samples, 1, 0);

	assert_string_equal(out,
		"CPU_0/KVM;0xffffffff81000130;0xffffffff81000220;0xffffffff81000310 300\n");
	free(out);
}

static void test_empty_and_invalid(void **state)
{
	struct fixture *f = *state;
	const struct pd_sample bad = { 1, 1, "x", 1, 1, 0, 2, NULL };
	char *out = render(f->k, NULL, 0, 0);

	assert_string_equal(out, "");
	free(out);
	assert_int_equal(folded_fprint(stdout, NULL, 1, f->k, 0), -EINVAL);
	assert_int_equal(folded_fprint(stdout, &bad, 1, f->k, 0), -EINVAL);
}

static void test_write_file(void **state)
{
	struct fixture *f = *state;
	char *path, *want = render(f->k, samples, NR_SAMPLES, 0), *got;
	size_t len;

	assert_true(asprintf(&path, "%s/out.folded", f->dir) > 0);
	assert_int_equal(folded_write(path, samples, NR_SAMPLES, f->k, 0), 0);
	got = slurp(path, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(count_entries(f->dir), 1);	/* no temp left */
	free(got);
	free(want);
	free(path);
}

/* A target that cannot be replaced: error, nothing left behind. */
static void test_write_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	char *path;

	assert_true(asprintf(&path, "%s/is-a-dir", f->dir) > 0);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(folded_write(path, samples, NR_SAMPLES, f->k, 0), -EISDIR);
	assert_int_equal(count_entries(f->dir), 1);
	free(path);
	assert_int_equal(folded_write("/nonexistent-dir/x.folded", samples,
				      NR_SAMPLES, f->k, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_by_wait_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_by_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_symbols, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_fails_cleanly, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
