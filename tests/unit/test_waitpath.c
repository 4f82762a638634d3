// SPDX-License-Identifier: GPL-2.0
/*
 * Writer-path classifier: real call-chain shapes (x86 6.18 host, arm64 6.1
 * lab) resolved through a kallsyms fixture, innermost frame first.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "model.h"
#include "waitpath.h"

#define FIXTURE_KALLSYMS \
	"ffffffff81000000 T _text\n" \
	"ffffffff81000100 T queued_write_lock_slowpath\n" \
	"ffffffff81000200 T queued_read_lock_slowpath\n" \
	"ffffffff81000300 T __x64_sys_ioctl\n" \
	"ffffffff81000400 T __mmu_notifier_invalidate_range_start\n" \
	"ffffffff81000500 T do_madvise\n" \
	"ffffffff81000600 T el0_svc\n" \
	"ffffffff81000700 T some_driver_fn\n" \
	"ffffffff81001000 T _etext\n" \
	"ffffffffc0001000 t kvm_arch_mmu_enable_log_dirty_pt_masked\t[kvm]\n" \
	"ffffffffc0001100 t kvm_get_dirty_log_protect\t[kvm]\n" \
	"ffffffffc0001200 t kvm_clear_dirty_log_protect\t[kvm]\n" \
	"ffffffffc0001300 t kvm_vm_ioctl\t[kvm]\n" \
	"ffffffffc0001400 t kvm_mmu_notifier_invalidate_range_start\t[kvm]\n" \
	"ffffffffc0001500 t kvm_mmu_notifier_change_pte\t[kvm]\n" \
	"ffffffffc0001600 t kvm_tdp_mmu_map\t[kvm]\n" \
	"ffffffffc0001700 t kvm_tdp_page_fault\t[kvm]\n" \
	"ffffffffc0001800 t kvm_mmu_page_fault\t[kvm]\n" \
	"ffffffffc0001900 t user_mem_abort.isra.0\t[kvm]\n" \
	"ffffffffc0001a00 t kvm_handle_guest_abort\t[kvm]\n" \
	"ffffffffc0001b00 t kvm_set_memslot\t[kvm]\n" \
	"ffffffffc0001c00 t user_mem_abort_helper\t[kvm]\n" \
	"ffffffffc0001d00 t kvm_unmap_gfn_range\t[kvm]\n" \
	"ffffffffc0001e00 t direct_page_fault.constprop.0\t[kvm]\n" \
	"ffffffffc0001f00 t kvm_arch_vcpu_ioctl_run\t[kvm]\n"
#include "ksyms_fixture.h"

#define KVM(off) (0xffffffffc0001000ULL + (off) + 0x10)
#define CORE(off) (0xffffffff81000000ULL + (off) + 0x10)

static enum wait_path classify(void **state, const uint64_t *ips, size_t n, bool vcpu)
{
	struct fixture *f = *state;
	struct stack_rec s = { .nr_ips = n };

	memcpy(s.ips, ips, n * sizeof(*ips));
	return wait_path_classify(&s, f->k, vcpu);
}

/* x86: queued_write_lock_slowpath <- write-protect <- kvm_get_dirty_log_protect <- ioctl. */
static void dirty_log_chains(void **state)
{
	const uint64_t get[] = { CORE(0x100), KVM(0x000), KVM(0x100), KVM(0x300), CORE(0x300) };
	const uint64_t clear[] = { CORE(0x100), KVM(0x000), KVM(0x200), KVM(0x300), CORE(0x300) };
	/* Memslot change (e.g. enabling dirty logging): only kvm_vm_ioctl names it. */
	const uint64_t memslot[] = { CORE(0x100), KVM(0xb00), KVM(0x300), CORE(0x300) };

	assert_int_equal(classify(state, get, 5, false), WP_DIRTY_LOG);
	assert_int_equal(classify(state, clear, 5, false), WP_DIRTY_LOG);
	assert_int_equal(classify(state, memslot, 4, false), WP_DIRTY_LOG);
}

static void notifier_chains(void **state)
{
	const uint64_t zap[] = { CORE(0x100), KVM(0xd00), KVM(0x400), CORE(0x400), CORE(0x500) };
	const uint64_t pte[] = { CORE(0x100), KVM(0x500), CORE(0x500) };

	assert_int_equal(classify(state, zap, 5, false), WP_MMU_NOTIFIER);
	assert_int_equal(classify(state, pte, 3, true), WP_MMU_NOTIFIER);
}

static void fault_chains(void **state)
{
	/* x86 TDP MMU: read lock under kvm_tdp_page_fault <- kvm_mmu_page_fault <- vcpu run. */
	const uint64_t x86[] = { CORE(0x200), KVM(0x600), KVM(0x700), KVM(0x800), KVM(0xf00) };
	const uint64_t direct[] = { CORE(0x100), KVM(0xe00), KVM(0xf00) };
	/* arm64 (compiler suffix on user_mem_abort). */
	const uint64_t arm[] = { CORE(0x100), KVM(0x900), KVM(0xa00), KVM(0xf00) };
	/* A name that only starts like a fault entry is not one. */
	const uint64_t lookalike[] = { CORE(0x100), KVM(0xc00), CORE(0x600) };

	assert_int_equal(classify(state, x86, 5, true), WP_FAULT);
	assert_int_equal(classify(state, direct, 3, true), WP_FAULT);
	assert_int_equal(classify(state, arm, 4, true), WP_FAULT);
	assert_int_equal(classify(state, lookalike, 3, false), WP_OTHER);
}

/* Innermost wins: a notifier entered from an ioctl is the notifier's wait. */
static void innermost_entry_wins(void **state)
{
	const uint64_t nested[] = { CORE(0x100), KVM(0x400), CORE(0x400), KVM(0x300), CORE(0x300) };

	assert_int_equal(classify(state, nested, 5, false), WP_MMU_NOTIFIER);
}

static void other_and_unnamed(void **state)
{
	const uint64_t driver[] = { CORE(0x100), CORE(0x700), CORE(0x300) };
	const uint64_t unknown[] = { 0xffffffffd0000000ULL, 0x10 };
	struct stack_rec s = { .nr_ips = 2, .ips = { KVM(0x100), KVM(0x300) } };

	assert_int_equal(classify(state, driver, 3, false), WP_OTHER);
	assert_int_equal(classify(state, driver, 3, true), WP_OTHER);	/* a chain says more than the thread */
	assert_int_equal(classify(state, unknown, 2, false), WP_OTHER);
	/* No symbols: a chain cannot be read. */
	assert_int_equal(wait_path_classify(&s, NULL, false), WP_OTHER);
}

/* arm64 records no kernel chain while a vCPU is loaded: a vCPU's chainless wait is a fault. */
static void empty_chain_of_vcpu_is_fault(void **state)
{
	struct fixture *f = *state;
	struct stack_rec s = { .stack_id = -14, .nr_ips = 0 };

	assert_int_equal(wait_path_classify(&s, f->k, true), WP_FAULT);
	assert_int_equal(wait_path_classify(&s, f->k, false), WP_OTHER);
	assert_int_equal(wait_path_classify(&s, NULL, true), WP_FAULT);
}

static void frames_by_name(void **state)
{
	const char *names[] = { "queued_write_lock_slowpath", NULL, "kvm_clear_dirty_log_protect" };
	const char *notifier[] = { "kvm_mmu_notifier_clear_flush_young" };
	const char *prefix_only[] = { "kvm_mmu_notifier" };

	(void)state;
	assert_int_equal(wait_path_of_frames(names, 3), WP_DIRTY_LOG);
	assert_int_equal(wait_path_of_frames(notifier, 1), WP_MMU_NOTIFIER);
	assert_int_equal(wait_path_of_frames(prefix_only, 1), WP_OTHER);
	assert_int_equal(wait_path_of_frames(names, 0), WP_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dirty_log_chains),
		cmocka_unit_test(notifier_chains),
		cmocka_unit_test(fault_chains),
		cmocka_unit_test(innermost_entry_wins),
		cmocka_unit_test(other_and_unnamed),
		cmocka_unit_test(empty_chain_of_vcpu_is_fault),
		cmocka_unit_test(frames_by_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
