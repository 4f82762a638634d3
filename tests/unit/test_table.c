// SPDX-License-Identifier: GPL-2.0
/* Text tables: 80 columns when the output is no terminal, all-zero rows left out and said once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "table.h"

/* A VM of 4 vCPUs, 2 of which faulted, with every fault figure measured (latency too). */
static void busy_vm(struct run *r)
{
	struct vm_rec *v;
	struct lock_rec *l;

	run_init(r);
	strcpy(r->hostname, "host");
	strcpy(r->kernel, "6.1.0-57-amd64");
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		strcpy(r->metric_backend[m], "fentry");
	v = run_vm(r, 4242, 0xffff888100000000ULL);
	strcpy(v->comm, "qemu-system-x86");
	v->nr_vcpus = 4;
	v->mmu_lock = 0xffff8881000000a0ULL;
	for (int i = 0; i < 4; i++) {
		struct vcpu_rec *c = vm_vcpu(v, 100000 + i, i);

		if (i >= 2)
			continue;	/* idle vCPUs: all zero */
		for (int t = 0; t < NR_FAULT_TYPES; t++) {
			c->fault[t] = (struct wait_stat){ .count = 123456 + t, .total_ns = 999999999ULL,
							  .min_ns = 10, .max_ns = 999999999ULL };
			c->fault[t].hist[20] = c->fault[t].count;
		}
		c->path[0] = 1000;
		c->path[1] = 10;
	}
	/* dirty-log ioctls: whole calls, not waits on the lock */
	v->timing[VT_GET_DIRTY_LOG][MODE_WRITE] = (struct wait_stat){ .count = 57989,
		.total_ns = 3620000000ULL, .max_ns = 156400000 };
	v->timing[VT_GET_DIRTY_LOG][MODE_WRITE].hist[15] = 57989;
	l = run_lock(r, v->mmu_lock);
	l->kvm = v->kvm;
	l->mode[MODE_WRITE] = (struct wait_stat){ .count = 606, .total_ns = 123456789, .max_ns = 9999999 };
	l->mode[MODE_WRITE].hist[12] = 600;
	l->mode[MODE_WRITE].hist[30] = 6;
	struct task_rec *t = lock_task(l, 100000);
	t->tgid = 4242;
	t->in_vmm = true;
	snprintf(t->comm, sizeof(t->comm), "%s", "CPU 0/KVM-long-name");	/* cut, as the kernel cuts it */
	t->mode[MODE_WRITE] = l->mode[MODE_WRITE];
	run_add_missing(r, "something", "a reason long enough that the line would run past eighty columns of text");
	/* -a: another lock of the VM's struct kvm, named by its field (lockname.c). */
	r->all_locks = true;
	l = run_lock(r, 0xffff888100000b70ULL);
	snprintf(l->name, sizeof(l->name), "kvm->arch.tdp_mmu_pages_lock");
	l->in_kvm = v->kvm;
	l->mode[MODE_SPIN] = (struct wait_stat){ .count = 120194, .total_ns = 241000000, .max_ns = 900000 };
}

/* not inlined: gcc 12 then takes the returned buffer for the address of a local (-Wdangling-pointer) */
__attribute__((noinline)) static char *render(void (*fn)(FILE *, const struct run *), const struct run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, r);
	fclose(f);
	return buf;
}

static void assert_fits(const char *text, size_t width)
{
	for (const char *p = text; *p; ) {
		size_t n = strcspn(p, "\n");

		if (n > width)
			fail_msg("line of %zu columns: %.*s", n, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void summary_fits_80(void **state)
{
	struct run r;
	char *out;

	busy_vm(&r);
	out = render(table_summary, &r);
	assert_fits(out, 80);
	assert_non_null(strstr(out, "FAULTS"));
	assert_non_null(strstr(out, "P99"));		/* latency kept, narrower columns left out */
	assert_non_null(strstr(out, "CPU 0/KVM-long-"));	/* COMM cut to 15 */
	assert_non_null(strstr(out, "kvm->arch.tdp_mm (VM 4242)"));	/* the VM stays whole */
	free(out);
	run_free(&r);
}

static void zero_rows_left_out_once(void **state)
{
	struct run r;
	char *out;

	busy_vm(&r);
	out = render(table_summary, &r);
	/* vCPUs 2 and 3 never faulted: no row; vCPUs 0 and 1 have theirs. */
	assert_non_null(strstr(out, "100000"));
	assert_null(strstr(out, "100002"));
	assert_null(strstr(out, "100003"));
	assert_int_equal(count(out, "all zero are left out"), 1);
	free(out);
	out = render(table_summary, &r);
	assert_int_equal(count(out, "all zero are left out"), 1);	/* once per summary */
	free(out);
	run_free(&r);
}

/* Where needle first occurs in text at or after from, -1 if nowhere. */
static long at(const char *text, long from, const char *needle)
{
	const char *p = from < 0 ? NULL : strstr(text + from, needle);

	return p ? p - text : -1;
}

/* The dirty-log calls under a header of their own, never below the lock's MODE header. */
static void dirty_log_calls_titled(void **state)
{
	struct run r;
	char *out;
	long title, head, row, mode;

	busy_vm(&r);
	out = render(table_summary, &r);
	title = at(out, 0, "dirty-log side, whole calls:");
	head = at(out, title, "CALL");
	row = at(out, head, "get_dirty_log ");
	mode = at(out, title, "MODE");
	assert_true(title >= 0 && head > title && row > head);
	assert_true(mode < 0 || mode > row);	/* no MODE header between title and row */
	assert_true(at(out, row, "57989") > row);
	free(out);
	run_free(&r);
}

static void interval(FILE *f, const struct run *r)
{
	table_interval(f, r, r);
}

static void idle_interval_has_no_fault_table(void **state)
{
	struct run r;
	char *out;

	busy_vm(&r);
	for (size_t i = 0; i < r.vms[0].nr_vcpu_recs; i++)
		memset(r.vms[0].vcpus[i].fault, 0, sizeof(r.vms[0].vcpus[i].fault));
	memset(r.vms[0].vcpus[0].path, 0, sizeof(r.vms[0].vcpus[0].path));
	memset(r.vms[0].vcpus[1].path, 0, sizeof(r.vms[0].vcpus[1].path));
	out = render(interval, &r);
	assert_null(strstr(out, "FAULTS"));
	assert_non_null(strstr(out, "mmu_lock contention in the last"));
	assert_null(strstr(out, "\033"));	/* not a terminal: plain text */
	assert_fits(out, 80);
	assert_int_equal(count(out, "all zero are left out"), 1);
	free(out);
	out = render(interval, &r);
	assert_int_equal(count(out, "all zero are left out"), 0);	/* appended: said once */
	free(out);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_fits_80),
		cmocka_unit_test(zero_rows_left_out_once),
		cmocka_unit_test(dirty_log_calls_titled),
		cmocka_unit_test(idle_interval_has_no_fault_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
