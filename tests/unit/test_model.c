// SPDX-License-Identifier: GPL-2.0
/* Run model: histogram maths, lookups and interval merging. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model.h"

/* A wait_stat as BPF would build it from these samples. */
static void add_samples(struct wait_stat *s, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int slot = 0;

		while (slot < MAX_SLOTS - 1 && (2ULL << slot) <= v[i])
			slot++;
		if (!s->count || v[i] < s->min_ns)
			s->min_ns = v[i];
		if (v[i] > s->max_ns)
			s->max_ns = v[i];
		s->count++;
		s->total_ns += v[i];
		s->hist[slot]++;
	}
}

static void merge_keeps_extremes(void **state)
{
	const uint64_t a[] = { 100, 2000, 3000 }, b[] = { 50, 90000 };
	struct wait_stat x = {}, y = {}, both = {};

	add_samples(&x, a, 3);
	add_samples(&y, b, 2);
	add_samples(&both, a, 3);
	add_samples(&both, b, 2);
	wait_stat_merge(&x, &y);
	assert_memory_equal(&x, &both, sizeof(x));
	assert_int_equal(wait_stat_mean(&x), (100 + 2000 + 3000 + 50 + 90000) / 5);
}

static void merge_into_empty_takes_min(void **state)
{
	const uint64_t a[] = { 700 };
	struct wait_stat x = {}, y = {};

	add_samples(&y, a, 1);
	wait_stat_merge(&x, &y);
	assert_int_equal(x.min_ns, 700);
	wait_stat_merge(&x, &(struct wait_stat){});	/* empty adds nothing */
	assert_int_equal(x.count, 1);
}

static void percentiles_stay_within_bounds(void **state)
{
	uint64_t v[100];
	struct wait_stat s = {};

	for (int i = 0; i < 100; i++)
		v[i] = 1000 + i * 10;	/* 1000..1990: all in slot [1024, 2048) but the first 3 */
	add_samples(&s, v, 100);
	assert_true(wait_stat_percentile(&s, 50) >= 1024);
	assert_true(wait_stat_percentile(&s, 50) < 2048);
	assert_true(wait_stat_percentile(&s, 99) <= s.max_ns);
	assert_true(wait_stat_percentile(&s, 0) >= s.min_ns);
	assert_true(wait_stat_percentile(&s, 50) <= wait_stat_percentile(&s, 99));
	assert_int_equal(wait_stat_percentile(&(struct wait_stat){}, 50), 0);
}

static void percentile_of_bimodal(void **state)
{
	uint64_t v[100];
	struct wait_stat s = {};

	for (int i = 0; i < 100; i++)
		v[i] = i < 90 ? 100 : 1000000;	/* 90% fast, 10% slow */
	add_samples(&s, v, 100);
	assert_true(wait_stat_percentile(&s, 50) < 256);
	assert_true(wait_stat_percentile(&s, 99) >= 524288);
}

static void run_merge_adds_intervals(void **state)
{
	const uint64_t a[] = { 10, 20 }, b[] = { 30 };
	struct run total, d1, d2;
	struct lock_rec *l;
	struct task_rec *t;
	struct vm_rec *v;

	run_init(&total);
	run_init(&d1);
	run_init(&d2);
	l = run_lock(&d1, 0xffff888100001000ULL);
	l->kvm = 0xffffc90000100000ULL;
	add_samples(&l->mode[MODE_WRITE], a, 2);
	t = lock_task(l, 42);
	add_samples(&t->mode[MODE_WRITE], a, 2);
	v = run_vm(&d1, 4242, l->kvm);
	v->mmu_lock = l->addr;
	l = run_lock(&d2, 0xffff888100001000ULL);
	add_samples(&l->mode[MODE_WRITE], b, 1);
	add_samples(&lock_task(l, 42)->mode[MODE_WRITE], b, 1);
	add_samples(&lock_task(l, 43)->mode[MODE_READ], b, 1);
	d2.drops[DROP_NESTED] = 3;

	assert_int_equal(run_merge(&total, &d1), 0);
	assert_int_equal(run_merge(&total, &d2), 0);
	assert_int_equal(total.nr_locks, 1);
	assert_int_equal(total.locks[0].mode[MODE_WRITE].count, 3);
	assert_int_equal(total.locks[0].mode[MODE_WRITE].total_ns, 60);
	assert_int_equal(total.locks[0].kvm, 0xffffc90000100000ULL);
	assert_int_equal(total.locks[0].nr_tasks, 2);
	assert_int_equal(total.drops[DROP_NESTED], 3);
	assert_ptr_equal(vm_lock(&total, &total.vms[0]), &total.locks[0]);
	run_free(&total);
	run_free(&d1);
	run_free(&d2);
}

static void proc_vm_joins_bpf_vm(void **state)
{
	struct run r;

	run_init(&r);
	run_vm(&r, 100, 0)->nr_vcpus = 2;		/* seen in /proc first */
	run_vm(&r, 100, 0xffffc90000200000ULL);		/* then named by BPF */
	run_vm(&r, 100, 0xffffc90000300000ULL);		/* a second VM of the same VMM */
	assert_int_equal(r.nr_vms, 2);
	assert_int_equal(r.vms[0].kvm, 0xffffc90000200000ULL);
	assert_int_equal(r.vms[0].nr_vcpus, 2);
	run_free(&r);
}

/*
 * -a: a VMM thread's first wait on some lock came before its VM's mmu_lock was
 * seen (the probe said no); once the VM is known, it is the VMM's on every lock.
 */
static void vmm_threads_whatever_lock_first(void **state)
{
	struct run total, d1, d2;
	struct task_rec *t;

	run_init(&total);
	run_init(&d1);
	run_init(&d2);
	t = lock_task(run_lock(&d1, 0x1000), 11);	/* a page-table lock, before the VM */
	t->tgid = 10;
	t = lock_task(run_lock(&d1, 0x1000), 21);	/* another process's thread */
	t->tgid = 20;
	assert_int_equal(run_merge(&total, &d1), 0);
	assert_false(lock_task(run_lock(&total, 0x1000), 11)->in_vmm);
	run_lock(&d2, 0x2000)->kvm = 0x5000;		/* then the VM's mmu_lock */
	t = lock_task(run_lock(&d2, 0x2000), 12);
	t->tgid = 10;
	t->in_vmm = true;
	run_vm(&d2, 10, 0x5000)->mmu_lock = 0x2000;
	assert_int_equal(run_merge(&total, &d2), 0);
	assert_true(lock_task(run_lock(&total, 0x1000), 11)->in_vmm);
	assert_false(lock_task(run_lock(&total, 0x1000), 21)->in_vmm);
	run_free(&total);
	run_free(&d1);
	run_free(&d2);
}

static void locks_sorted_by_wait(void **state)
{
	const uint64_t small[] = { 5 }, big[] = { 5000 };
	const struct lock_rec **v;
	struct run r;

	run_init(&r);
	add_samples(&run_lock(&r, 1)->mode[MODE_SPIN], small, 1);
	add_samples(&run_lock(&r, 2)->mode[MODE_READ], big, 1);
	run_lock(&r, 3)->kvm = 0x1000;
	v = run_locks_by_wait(&r, false);
	assert_int_equal(v[0]->addr, 2);
	assert_int_equal(v[1]->addr, 1);
	assert_int_equal(v[2]->addr, 3);
	assert_null(v[3]);
	free(v);
	v = run_locks_by_wait(&r, true);
	assert_int_equal(v[0]->addr, 3);
	assert_null(v[1]);
	free(v);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merge_keeps_extremes),
		cmocka_unit_test(merge_into_empty_takes_min),
		cmocka_unit_test(percentiles_stay_within_bounds),
		cmocka_unit_test(percentile_of_bimodal),
		cmocka_unit_test(run_merge_adds_intervals),
		cmocka_unit_test(proc_vm_joins_bpf_vm),
		cmocka_unit_test(locks_sorted_by_wait),
		cmocka_unit_test(vmm_threads_whatever_lock_first),
	};

	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
