// SPDX-License-Identifier: GPL-2.0
/*
 * Fault figures of the run model: hit rate, vCPU identity, merging, the
 * mmu_lock hold source, and their JSON round trip.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model.h"
#include "record.h"
#include "testutil.h"

#define KVM 0xffff000012340000ULL

static struct wait_stat lat(uint64_t count, uint64_t ns)
{
	struct wait_stat s = { .count = count, .total_ns = count * ns, .min_ns = ns, .max_ns = ns };

	s.hist[63 - __builtin_clzll(ns)] = count;
	return s;
}

static void hit_rate(void **state)
{
	struct vcpu_rec c = {};

	assert_true(fault_hit_rate(&c) < 0);		/* no permission fault: no rate */
	c.fault[FAULT_PERMISSION].count = 200;
	assert_true(fault_hit_rate(&c) < 0);		/* no resolution seen: not measured */
	c.path[PATH_RELAX_WRITE] = 200;			/* before the change: all under the write lock */
	assert_float_equal(fault_hit_rate(&c), 0.0, 1e-9);
	c.path[PATH_RELAX_READ] = 150;
	c.path[PATH_RELAX_WRITE] = 50;
	assert_float_equal(fault_hit_rate(&c), 0.75, 1e-9);
	memset(&c, 0, sizeof(c));			/* x86: fixed and spurious are both lockless */
	c.fault[FAULT_PERMISSION].count = 10;
	c.path[PATH_FAST_FIXED] = 8;
	c.path[PATH_FAST_SPURIOUS] = 1;
	c.path[PATH_FAST_MISSED] = 1;
	assert_float_equal(fault_hit_rate(&c), 0.9, 1e-9);
	c.path[PATH_FAST_FIXED] = 20;			/* fixes whose fault entry was missed */
	assert_float_equal(fault_hit_rate(&c), 1.0, 1e-9);
}

/* KVM's counters stand in where no fault was probed, and only then. */
static void kvm_counters(void **state)
{
	struct vcpu_rec c = {};
	uint64_t fast, slow;

	c.kvm[KC_PF_TAKEN] = 400;
	c.kvm[KC_PF_FAST] = 300;
	assert_true(fault_from_kvm(&c));
	assert_int_equal(fault_count(&c), 400);
	fault_fast_slow(&c, &fast, &slow);
	assert_int_equal(fast, 300);
	assert_int_equal(slow, 100);
	assert_float_equal(fault_hit_rate(&c), 0.75, 1e-9);	/* of all faults: no type split */
	c.kvm[KC_PF_FAST] = 401;				/* a fix read before its fault */
	assert_float_equal(fault_hit_rate(&c), 1.0, 1e-9);
	c.kvm[KC_PF_FAST] = 300;
	c.fault[FAULT_PERMISSION].count = 10;			/* probed too (--fault-types) */
	c.path[PATH_FAST_FIXED] = 5;
	assert_false(fault_from_kvm(&c));
	assert_int_equal(fault_count(&c), 10);
	assert_float_equal(fault_hit_rate(&c), 0.5, 1e-9);
}

/* KVM's counters know the vCPU id before its thread ran it: the thread adopts that row. */
static void kvm_counter_identity(void **state)
{
	struct run r;
	struct vm_rec *v;
	struct vcpu_rec *a;

	run_init(&r);
	v = run_vm(&r, 100, KVM);
	a = vm_vcpu(v, 0, 2);
	a->kvm[KC_PF_TAKEN] = 7;
	assert_ptr_equal(vm_vcpu(v, 105, 2), a);
	assert_int_equal(a->tid, 105);
	assert_ptr_equal(vm_vcpu_by_id(v, 2), a);
	assert_int_equal(v->nr_vcpu_recs, 1);
	run_free(&r);
}

static void vcpu_identity(void **state)
{
	struct run r;
	struct vm_rec *v;
	struct vcpu_rec *a, *b;

	run_init(&r);
	v = run_vm(&r, 100, KVM);
	a = vm_vcpu(v, 101, -1);			/* tracepoint: thread known, vcpu_id not */
	b = vm_vcpu(v, 101, 3);
	assert_ptr_equal(a, b);
	assert_int_equal(b->vcpu_id, 3);
	assert_ptr_not_equal(vm_vcpu(v, 102, 0), b);
	assert_int_equal(v->nr_vcpu_recs, 2);
	run_free(&r);
}

static void merge_intervals(void **state)
{
	struct run total, delta;
	struct vcpu_rec all;

	run_init(&total);
	for (int i = 0; i < 2; i++) {
		struct vm_rec *v;
		struct vcpu_rec *c;

		run_init(&delta);
		v = run_vm(&delta, 100, KVM);
		c = vm_vcpu(v, 101, 0);
		c->fault[FAULT_PERMISSION] = lat(10, 2000);
		c->path[PATH_RELAX_READ] = 10;
		v->timing[VT_RELAX][MODE_READ] = lat(10, 500);
		assert_int_equal(run_merge(&total, &delta), 0);
		run_free(&delta);
	}
	assert_int_equal(total.nr_vms, 1);
	assert_int_equal(total.vms[0].nr_vcpu_recs, 1);
	vm_fault_totals(&total.vms[0], &all);
	assert_int_equal(fault_count(&all), 20);
	assert_int_equal(all.fault[FAULT_PERMISSION].total_ns, 40000);
	assert_int_equal(all.path[PATH_RELAX_READ], 20);
	assert_int_equal(total.vms[0].timing[VT_RELAX][MODE_READ].count, 20);
	run_free(&total);
}

static void hold_source(void **state)
{
	struct vm_rec v = {};
	struct wait_stat h;

	/* Inlined lock calls: the sections under the lock stand in, summed. */
	v.timing[VT_RELAX][MODE_READ] = lat(4, 1000);
	v.timing[VT_MAP][MODE_WRITE] = lat(2, 4000);
	v.timing[VT_WRPROT][MODE_WRITE] = lat(1, 8000);
	assert_string_equal(vm_hold(&v, MODE_WRITE, &h), "critical_sections");
	assert_int_equal(h.count, 3);
	assert_int_equal(h.total_ns, 16000);
	assert_int_equal(h.max_ns, 8000);
	/* Out-of-line lock calls give the real hold: they win. */
	v.timing[VT_HOLD][MODE_READ] = lat(5, 300);
	assert_string_equal(vm_hold(&v, MODE_READ, &h), "lock_functions");
	assert_int_equal(h.count, 5);
	assert_string_equal(vm_hold(&v, MODE_WRITE, &h), "lock_functions");
	assert_int_equal(h.count, 0);
}

static void record_round_trip(void **state)
{
	char *dir = make_temp_dir(), path[512], err[256];
	struct run in, out;
	struct vm_rec *v;
	struct vcpu_rec *c;

	run_init(&in);
	strcpy(in.backend, "raw_tp");
	strcpy(in.metric_backend[FM_FAULTS], "kprobe");
	strcpy(in.metric_backend[FM_FAST_PATH], "kprobe");
	strcpy(in.hold_source, "critical_sections");
	run_add_missing(&in, "fault latency", "fentry refused (Operation not supported)");
	v = run_vm(&in, 100, KVM);
	c = vm_vcpu(v, 101, 1);
	c->fault[FAULT_PERMISSION] = lat(64, 3000);
	c->fault[FAULT_TRANSLATION].count = 5;		/* count only (tracepoint) */
	c->path[PATH_RELAX_READ] = 64;
	c->kvm[KC_PF_TAKEN] = 69;
	c->kvm[KC_PF_FAST] = 60;
	v->timing[VT_RELAX][MODE_READ] = lat(64, 700);
	v->timing[VT_GET_DIRTY_LOG][MODE_OTHER] = lat(3, 90000);
	snprintf(path, sizeof(path), "%s/run.json", dir);
	assert_int_equal(record_write(path, &in, NULL), 0);
	assert_int_equal(record_read(path, &out, err, sizeof(err)), 0);
	assert_string_equal(out.metric_backend[FM_FAULTS], "kprobe");
	assert_string_equal(out.metric_backend[FM_LATENCY], "");
	assert_string_equal(out.hold_source, "critical_sections");
	assert_int_equal(out.nr_vms, 1);
	assert_int_equal(out.vms[0].nr_vcpu_recs, 1);
	assert_int_equal(out.vms[0].vcpus[0].vcpu_id, 1);
	assert_memory_equal(&out.vms[0].vcpus[0], c, sizeof(*c));
	assert_memory_equal(out.vms[0].timing, v->timing, sizeof(v->timing));
	assert_float_equal(fault_hit_rate(&out.vms[0].vcpus[0]), 1.0, 1e-9);
	run_free(&in);
	run_free(&out);
	remove_dir(dir);
	free(dir);
}

static void expect_error(const char *vm, const char *needle)
{
	char text[1024], err[512] = "";
	struct run r;

	snprintf(text, sizeof(text), "{\"schema\":\"%s\",\"host\":{\"ncpus\":1},"
		 "\"run\":{\"duration_ns\":1},\"locks\":[],\"vms\":[%s]}", RUN_SCHEMA, vm);
	assert_int_not_equal(record_parse("bad.json", text, strlen(text), &r, err, sizeof(err)), 0);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void record_errors(void **state)
{
	expect_error("{\"pid\":1,\"timings\":{\"bogus\":{}}}", "vms[0].timings.bogus");
	expect_error("{\"pid\":1,\"timings\":{\"hold\":{\"sideways\":{}}}}", "timings.hold.sideways");
	expect_error("{\"pid\":1,\"vcpus\":[{\"tid\":2}]}", "vms[0].vcpus[0].vcpu_id");
	expect_error("{\"pid\":1,\"vcpus\":[{\"tid\":2,\"vcpu_id\":0,\"faults\":{\"by_type\":"
		     "{\"permission\":{\"count\":-1,\"wait_ns\":0}}}}]}", "negative");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit_rate),
		cmocka_unit_test(kvm_counters),
		cmocka_unit_test(kvm_counter_identity),
		cmocka_unit_test(vcpu_identity),
		cmocka_unit_test(merge_intervals),
		cmocka_unit_test(hold_source),
		cmocka_unit_test(record_round_trip),
		cmocka_unit_test(record_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
