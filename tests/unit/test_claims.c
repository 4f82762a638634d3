// SPDX-License-Identifier: GPL-2.0
/*
 * Every program in the BPF skeletons is claimed by a probe point of its
 * family: a program none claims would silently never load.  The skeletons
 * are only opened (ELF and BTF parsed), not loaded: no root needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "family.h"
#include "fault.skel.h"
#include "kvmcounters.skel.h"
#include "lock.skel.h"

static void all_claimed(struct bpf_object *obj, const struct family *f)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj) {
		if (!f->claims(prog))
			fail_msg("%s family: program %s (%s) is claimed by no probe point", f->name,
				 bpf_program__name(prog), bpf_program__section_name(prog));
		n++;
	}
	assert_true(n > 0);
}

static void lock_programs(void **state)
{
	struct lock_bpf *s = lock_bpf__open();

	assert_non_null(s);
	all_claimed(s->obj, &lock_family);
	/* Claims are by name: another family's program is not the lock family's. */
	assert_false(lock_family.claims(s->progs.contention_begin_btf) &&
		     fault_family.claims(s->progs.contention_begin_btf));
	lock_bpf__destroy(s);
}

static void fault_programs(void **state)
{
	struct fault_bpf *s = fault_bpf__open();

	assert_non_null(s);
	all_claimed(s->obj, &fault_family);
	fault_bpf__destroy(s);
}

static void kvm_counter_programs(void **state)
{
	struct kvmcounters_bpf *s = kvmcounters_bpf__open();

	assert_non_null(s);
	all_claimed(s->obj, &kvm_counters_family);
	kvmcounters_bpf__destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lock_programs),
		cmocka_unit_test(fault_programs),
		cmocka_unit_test(kvm_counter_programs),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
