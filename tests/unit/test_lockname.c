// SPDX-License-Identifier: GPL-2.0
/* Lock naming: the first caller outside lock and tracing machinery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "ksyms.h"
#include "lockname.h"
#include "testutil.h"

#define KALLSYMS \
	"ffffffff81000000 T _text\n" \
	"ffffffff81000100 T bpf_trace_run2\n" \
	"ffffffff81000200 T queued_write_lock_slowpath\n" \
	"ffffffff81000300 T _raw_write_lock\n" \
	"ffffffff81000400 T kvm_mmu_notifier_invalidate_range_start\n" \
	"ffffffff81000500 T __mmu_notifier_invalidate_range_start\n" \
	"ffffffff81001000 T _etext\n"

static void names_first_real_caller(void **state)
{
	char *dir = make_temp_dir(), *path = write_file_in(dir, "kallsyms", KALLSYMS);
	struct ksyms *k = ksyms_load(path);
	struct lock_rec l = {};
	struct stack_rec s[2] = {
		{ .nr_ips = 4, .total_ns = 10, .ips = { 0xffffffff81000110, 0xffffffff81000210,
							0xffffffff81000310, 0xffffffff81000510 } },
		{ .nr_ips = 5, .total_ns = 90, .ips = { 0xffffffff81000110, 0xffffffff81000210,
							0xffffffff81000310, 0xffffffff81000410,
							0xffffffff81000510 } },
	};

	assert_non_null(k);
	assert_string_equal(lockname_caller(&s[0], k), "__mmu_notifier_invalidate_range_start");
	l.stacks = s;
	l.nr_stacks = 2;
	lockname_from_stacks(&l, k);	/* the heavier stack names the lock */
	assert_string_equal(l.name, "kvm_mmu_notifier_invalidate_range_start");
	s[1].nr_ips = 3;		/* only lock internals: no name */
	assert_null(lockname_caller(&s[1], k));
	ksyms_free(k);
	free(path);
	remove_dir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_first_real_caller),
	};

	return cmocka_run_group_tests_name("lockname", tests, NULL, NULL);
}
