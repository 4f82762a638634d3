// SPDX-License-Identifier: GPL-2.0
/* Lock naming: the first caller outside lock and tracing machinery. */
#define _GNU_SOURCE	/* asprintf (testutil.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <errno.h>
#include <bpf/btf.h>
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

/*
 * A struct kvm as the kernel's BTF describes it, built with libbpf's BTF writer:
 *   struct kvm { rwlock_t mmu_lock; struct mutex slots_lock; long pad;
 *                struct kvm_arch { long x; spinlock_t tdp_mmu_pages_lock; } arch; };
 */
static struct btf *kvm_btf(void)
{
	struct btf *b = btf__new_empty();
	int lng, rw, rwt, mtx, sp, spt, arch, kvm;

	assert_non_null(b);
	lng = btf__add_int(b, "long", 8, BTF_INT_SIGNED);
	rw = btf__add_struct(b, "rwlock", 8);
	btf__add_field(b, "raw", lng, 0, 0);
	rwt = btf__add_typedef(b, "rwlock_t", rw);
	mtx = btf__add_struct(b, "mutex", 32);
	btf__add_field(b, "owner", lng, 0, 0);
	sp = btf__add_struct(b, "spinlock", 4);
	spt = btf__add_typedef(b, "spinlock_t", sp);
	arch = btf__add_struct(b, "kvm_arch", 16);
	btf__add_field(b, "x", lng, 0, 0);
	btf__add_field(b, "tdp_mmu_pages_lock", spt, 64, 0);
	kvm = btf__add_struct(b, "kvm", 64);
	btf__add_field(b, "mmu_lock", rwt, 0, 0);
	btf__add_field(b, "slots_lock", mtx, 64, 0);
	btf__add_field(b, "pad", lng, 320, 0);
	btf__add_field(b, "arch", arch, 384, 0);
	assert_true(kvm > 0);
	return b;
}

static void names_locks_inside_struct_kvm(void **state)
{
	struct btf *b = kvm_btf();
	struct kvm_lock_fields t;
	const uint64_t kvms[] = { 0xffff888100000000ULL, 0xffff888200000000ULL };
	struct lock_rec slots = { .addr = kvms[1] + 8 }, tdp = { .addr = kvms[0] + 56 },
			pad = { .addr = kvms[0] + 40 }, far = { .addr = 0xffff888300000008ULL };

	assert_int_equal(lockname_kvm_fields(b, &t), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.f[0].name, "mmu_lock");
	assert_string_equal(t.f[1].name, "slots_lock");
	assert_int_equal(t.f[1].offset, 8);
	assert_int_equal(t.f[1].size, 32);
	assert_string_equal(t.f[2].name, "arch.tdp_mmu_pages_lock");
	assert_int_equal(t.f[2].offset, 56);

	assert_true(lockname_in_kvm(&slots, kvms, 2, &t));
	assert_string_equal(slots.name, "kvm->slots_lock");
	assert_int_equal(slots.in_kvm, kvms[1]);	/* that VM, not the first */
	assert_true(lockname_in_kvm(&tdp, kvms, 2, &t));
	assert_string_equal(tdp.name, "kvm->arch.tdp_mmu_pages_lock");
	assert_false(lockname_in_kvm(&pad, kvms, 2, &t));	/* not a lock member */
	assert_false(lockname_in_kvm(&far, kvms, 2, &t));	/* in no known VM */
	assert_int_equal(far.in_kvm, 0);
	assert_int_equal(lockname_kvm_fields(NULL, &t), -ENOENT);
	btf__free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_first_real_caller),
		cmocka_unit_test(names_locks_inside_struct_kvm),
	};

	return cmocka_run_group_tests_name("lockname", tests, NULL, NULL);
}
