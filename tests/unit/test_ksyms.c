// SPDX-License-Identifier: GPL-2.0
/* ksyms: parsing, ordering and lookup rules on a synthetic kallsyms. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ksyms.h"
#include "testutil.h"
#include "ksyms_fixture.h"

/* Load a one-off file's text; returns NULL with errno like ksyms_load. */
static struct ksyms *load_text(const char *dir, const char *text)
{
	char *path = write_file_in(dir, "one-off", text);
	struct ksyms *k;
	int err;

	assert_non_null(path);
	k = ksyms_load(path);
	err = errno;
	unlink(path);
	free(path);
	errno = err;
	return k;
}

static void test_exact_and_offset(void **state)
{
	struct fixture *f = *state;
	uint64_t off = 99;

	assert_string_equal(ksyms_name(f->k, 0xffffffff81000100, &off), "outer_fn");
	assert_int_equal(off, 0);
	assert_string_equal(ksyms_name(f->k, 0xffffffff810002ff, &off), "middle_fn");
	assert_int_equal(off, 0xff);
	/* The end of a symbol is the start of the next. */
	assert_string_equal(ksyms_name(f->k, 0xffffffff81000300, &off), "inner_fn");
	assert_int_equal(off, 0);
	assert_string_equal(ksyms_name(f->k, 0xffffffff81000123, NULL), "outer_fn");
}

static void test_alias_prefers_global_text(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(ksyms_name(f->k, 0xffffffff81000010, NULL), "_text");
}

static void test_outside(void **state)
{
	struct fixture *f = *state;
	uint64_t off = 7;

	assert_null(ksyms_name(f->k, 0xffffffff80ffffff, &off));
	assert_int_equal(off, 7);	/* untouched on a miss */
	assert_null(ksyms_name(f->k, 0, NULL));
	/* Past the last symbol of the table: only a bounded tail counts. */
	assert_string_equal(ksyms_name(f->k, 0xffffffffc0100010, NULL), "other_mod_fn");
	assert_null(ksyms_name(f->k, 0xffffffffc0200000, NULL));
	assert_null(ksyms_name(f->k, UINT64_MAX, NULL));
}

static void test_module_tail(void **state)
{
	struct fixture *f = *state;

	/* Sorted despite file order. */
	assert_string_equal(ksyms_name(f->k, 0xffffffffc0001010, NULL), "mod_fn");
	assert_string_equal(ksyms_name(f->k, 0xffffffffc0001500, NULL), "mod_fn2");
	/* Between two modules: far past kvm's last symbol is nobody's. */
	assert_null(ksyms_name(f->k, 0xffffffffc0080000, NULL));
	/* Between vmlinux's last symbol and the first module: same rule. */
	assert_null(ksyms_name(f->k, 0xffffffffa0000000, NULL));
}

static void test_module_names(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(ksyms_module(f->k, 0xffffffffc0001010), "kvm");
	assert_string_equal(ksyms_module(f->k, 0xffffffffc0100000), "kvm_intel");
	assert_string_equal(ksyms_module(f->k, 0xffffffff81000100), "vmlinux");
	assert_null(ksyms_module(f->k, 0x1000));
}

static void test_addr_by_name(void **state)
{
	struct fixture *f = *state;
	uint64_t a = 0;

	assert_int_equal(ksyms_addr(f->k, "_etext", &a), 0);
	assert_int_equal(a, 0xffffffff81001000);
	assert_int_equal(ksyms_addr(f->k, "mod_fn2", &a), 0);
	assert_int_equal(a, 0xffffffffc0001400);
	assert_int_equal(ksyms_addr(f->k, "abs_sym", &a), -ENOENT);
	assert_int_equal(ksyms_addr(f->k, "nope", &a), -ENOENT);
	/* absolute symbols are skipped: 11 lines, 10 symbols */
	assert_int_equal(ksyms_count(f->k), 10);
}

static void test_restricted_is_eperm(void **state)
{
	struct fixture *f = *state;

	errno = 0;
	assert_null(load_text(f->dir, "0000000000000000 T _text\n"
				      "0000000000000000 T func\n"));
	assert_int_equal(errno, EPERM);
}

static void test_malformed_is_einval(void **state)
{
	struct fixture *f = *state;
	static const char *bad[] = {
		"zzzz T func\n",
		"ffffffff81000000 T\n",
		"ffffffff81000000 Tfunc\n",
		"ffffffff81000000 t f\t[kvm\n",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(load_text(f->dir, bad[i]));
		assert_int_equal(errno, EINVAL);
	}
}

static void test_missing_file(void **state)
{
	errno = 0;
	assert_null(ksyms_load("/nonexistent/kallsyms"));
	assert_int_equal(errno, ENOENT);
}

static void test_null_table(void **state)
{
	uint64_t a;

	assert_null(ksyms_name(NULL, 0xffffffff81000000, NULL));
	assert_int_equal(ksyms_addr(NULL, "_text", &a), -ENOENT);
	ksyms_free(NULL);
}

/* The real table, when readable: _text must name itself. */
static void test_proc_kallsyms(void **state)
{
	struct ksyms *k = ksyms_load(NULL);
	uint64_t text, off;

	if (!k && errno == EPERM)
		skip();
	assert_non_null(k);
	assert_int_equal(ksyms_addr(k, "_text", &text), 0);
	assert_non_null(ksyms_name(k, text, &off));
	assert_int_equal(off, 0);
	assert_true(ksyms_count(k) > 1000);
	ksyms_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exact_and_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_prefers_global_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restricted_is_eperm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_is_einval, setup, teardown),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_null_table),
		cmocka_unit_test(test_proc_kallsyms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
