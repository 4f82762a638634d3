// SPDX-License-Identifier: GPL-2.0
/*
 * The lock family's variant choice (lock_plan) on the kernels it meets,
 * each described by its facts as kfacts reads them there: tracepoints,
 * trampolines, kprobes, task storage, mmu_lock's type and which slow paths
 * kallsyms names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "kfacts.h"
#include "ksyms.h"
#include "lock.h"
#include "testutil.h"

/* kallsyms as x86 (paravirt spinlocks) and arm64 name the slow paths. */
#define X86_SLOWPATHS \
	"ffffffff81100000 T native_queued_spin_lock_slowpath\n" \
	"ffffffff81100400 T __pv_queued_spin_lock_slowpath\n" \
	"ffffffff81100800 T queued_read_lock_slowpath\n" \
	"ffffffff81100a00 T queued_write_lock_slowpath\n"
#define ARM64_SLOWPATHS \
	"ffff800010100000 T queued_spin_lock_slowpath\n" \
	"ffff800010100400 T queued_read_lock_slowpath\n" \
	"ffff800010100800 T queued_write_lock_slowpath\n"

static struct ksyms *load_syms(const char *text)
{
	char *dir = make_temp_dir(), *path = dir ? write_file_in(dir, "kallsyms", text) : NULL;
	struct ksyms *k = path ? ksyms_load(path) : NULL;

	if (path)
		unlink(path);
	if (dir)
		rmdir(dir);
	free(path);
	free(dir);
	assert_non_null(k);
	return k;
}

/* A kernel before 5.11 and 5.19: no task storage, no contention tracepoints. */
static struct kfacts old_kernel(const char *mmu_lock_type, bool trampolines, const char *syms)
{
	struct kfacts kf = { .root = true, .vmlinux_btf = true, .kprobes = true,
			     .trampolines = trampolines, .kvm_loaded = mmu_lock_type[0] };

	snprintf(kf.mmu_lock_type, sizeof(kf.mmu_lock_type), "%s", mmu_lock_type);
	kf.ksyms = load_syms(syms);
	return kf;
}

static void plan_ok(const struct kfacts *kf, bool all_locks, struct lock_plan *p)
{
	int err = lock_plan(kf, all_locks, p);

	if (err)
		fail_msg("refused: %s", p->why);
	assert_string_equal(p->why, "");
}

/* arm64 5.10: spinlock mmu_lock, no trampolines: the spinlock slow path's kprobes. */
static void arm64_510(void **state)
{
	struct kfacts kf = old_kernel("spinlock_t", false, ARM64_SLOWPATHS);
	struct lock_plan p;

	plan_ok(&kf, false, &p);
	assert_false(p.tracepoints);
	assert_true(p.spin);
	assert_int_equal(p.rw, -1);
	assert_false(p.task_storage);
	ksyms_free(kf.ksyms);
}

/* x86 5.10: trampolines, but a spinlock mmu_lock: its slow path by kprobes still. */
static void x86_510(void **state)
{
	struct kfacts kf = old_kernel("spinlock_t", true, X86_SLOWPATHS);
	struct lock_plan p;

	plan_ok(&kf, false, &p);
	assert_true(p.spin);
	assert_int_equal(p.rw, -1);
	ksyms_free(kf.ksyms);
}

/* rwlock mmu_lock without the tracepoints (x86 5.12-5.18): fentry, else kprobes. */
static void rwlock_without_tracepoints(void **state)
{
	struct kfacts kf = old_kernel("rwlock_t", true, X86_SLOWPATHS);
	struct lock_plan p;

	kf.task_storage = kf.current_task_btf = true;
	plan_ok(&kf, false, &p);
	assert_false(p.spin);
	assert_int_equal(p.rw, LV_RW_FENTRY);
	assert_true(p.task_storage);
	kf.trampolines = false;
	plan_ok(&kf, false, &p);
	assert_int_equal(p.rw, LV_RW_KPROBE);
	/* Task storage without bpf_get_current_task_btf cannot be reached: by thread id. */
	kf.current_task_btf = false;
	plan_ok(&kf, false, &p);
	assert_false(p.task_storage);
	ksyms_free(kf.ksyms);
}

/* 5.19+: the tracepoints; the spinlock slow path beside them only for a spinlock mmu_lock. */
static void with_tracepoints(void **state)
{
	struct kfacts kf = old_kernel("rwlock_t", true, X86_SLOWPATHS);
	struct lock_plan p;

	kf.lock_tracepoints = kf.task_storage = kf.current_task_btf = true;
	plan_ok(&kf, false, &p);
	assert_true(p.tracepoints);
	assert_false(p.spin);
	assert_int_equal(p.rw, -1);
	snprintf(kf.mmu_lock_type, sizeof(kf.mmu_lock_type), "spinlock_t");
	plan_ok(&kf, false, &p);
	assert_true(p.spin);
	/* No KVM in BTF: the tracepoints still serve --all-locks. */
	kf.mmu_lock_type[0] = '\0';
	plan_ok(&kf, false, &p);
	assert_true(p.tracepoints);
	ksyms_free(kf.ksyms);
}

static void refused(struct kfacts *kf, bool all_locks, const char *why)
{
	struct lock_plan p;

	assert_int_equal(lock_plan(kf, all_locks, &p), -ENOENT);
	if (!strstr(p.why, why))
		fail_msg("reason '%s' does not say '%s'", p.why, why);
	ksyms_free(kf->ksyms);
}

/* Bad kernels: each refusal names what is missing. */
static void refusals(void **state)
{
	struct kfacts kf = old_kernel("", false, ARM64_SLOWPATHS);

	refused(&kf, false, "mmu_lock's type cannot be read");
	kf = old_kernel("spinlock_t", false, ARM64_SLOWPATHS);
	kf.kprobes = false;
	refused(&kf, false, "no kprobes");
	kf = old_kernel("spinlock_t", false, "ffff800010100400 T queued_read_lock_slowpath\n");
	refused(&kf, false, "queued_spin_lock_slowpath");
	kf = old_kernel("rwlock_t", true, "ffff800010100000 T queued_spin_lock_slowpath\n");
	refused(&kf, false, "queued_read_lock_slowpath is not in kallsyms");
	kf = old_kernel("struct mutex", false, ARM64_SLOWPATHS);
	refused(&kf, false, "mmu_lock is a struct mutex");
}

/* --all-locks without KVM: every slow path there is. */
static void all_locks_without_kvm(void **state)
{
	struct kfacts kf = old_kernel("", true, X86_SLOWPATHS);
	struct lock_plan p;

	plan_ok(&kf, true, &p);
	assert_true(p.spin);
	assert_int_equal(p.rw, LV_RW_FENTRY);
	ksyms_free(kf.ksyms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arm64_510),
		cmocka_unit_test(x86_510),
		cmocka_unit_test(rwlock_without_tracepoints),
		cmocka_unit_test(with_tracepoints),
		cmocka_unit_test(refusals),
		cmocka_unit_test(all_locks_without_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
