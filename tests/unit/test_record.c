// SPDX-License-Identifier: GPL-2.0
/* JSON record: round trip through the file, and clear errors on bad input. */
#define _GNU_SOURCE	/* asprintf (testutil.h) */
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

static void sample_run(struct run *r)
{
	struct lock_rec *l;
	struct task_rec *t;
	struct stack_rec *s;
	struct vm_rec *v;

	run_init(r);
	strcpy(r->hostname, "host");
	strcpy(r->kernel, "6.1.0-test");
	strcpy(r->arch, "aarch64");
	strcpy(r->backend, "tp_btf");
	strcpy(r->command, "kvm-dirtylog -v 2");
	r->ncpus = 2;
	r->duration_ns = 1500000000;
	r->interval_s = 0.5;
	r->exit_status = 0;
	r->drops[DROP_STACK] = 7;
	run_add_missing(r, "fault latency", "kprobe refused (EPERM)");
	l = run_lock(r, 0xffff800009a31000ULL);
	l->kvm = 0xffff800009a30000ULL;
	strcpy(l->name, "mmu_lock");
	l->mode[MODE_WRITE] = (struct wait_stat){ .count = 3, .total_ns = 3000, .min_ns = 500,
						  .max_ns = 1500, .hist = { [9] = 1, [10] = 2 } };
	t = lock_task(l, 1234);
	t->tgid = 1200;
	t->in_vmm = true;
	strcpy(t->comm, "vcpu0");
	t->mode[MODE_WRITE] = l->mode[MODE_WRITE];
	s = lock_stack(l, 5, 1234, MODE_WRITE);
	s->count = 3;
	s->total_ns = 3000;
	s->nr_ips = 2;
	s->ips[0] = 0xffff8000080a0000ULL;
	s->ips[1] = 0xffffffffffffff00ULL;	/* top bit set: must survive as hex */
	v = run_vm(r, 1200, l->kvm);
	v->mmu_lock = l->addr;
	v->nr_vcpus = 2;
	strcpy(v->comm, "kvm-dirtylog");
}

static void round_trip(void **state)
{
	char *dir = make_temp_dir(), path[512], err[256];
	struct run in, out;

	sample_run(&in);
	snprintf(path, sizeof(path), "%s/run.json", dir);
	assert_int_equal(record_write(path, &in, NULL), 0);
	assert_int_equal(record_read(path, &out, err, sizeof(err)), 0);
	assert_string_equal(out.schema, RUN_SCHEMA);
	assert_string_equal(out.kernel, "6.1.0-test");
	assert_string_equal(out.command, "kvm-dirtylog -v 2");
	assert_int_equal(out.duration_ns, in.duration_ns);
	assert_int_equal(out.drops[DROP_STACK], 7);
	assert_int_equal(out.nr_missing, 1);
	assert_string_equal(out.missing[0].why, "kprobe refused (EPERM)");
	assert_int_equal(out.nr_locks, 1);
	assert_int_equal(out.locks[0].addr, in.locks[0].addr);
	assert_int_equal(out.locks[0].kvm, in.locks[0].kvm);
	assert_memory_equal(&out.locks[0].mode[MODE_WRITE], &in.locks[0].mode[MODE_WRITE],
			    sizeof(struct wait_stat));
	assert_int_equal(out.locks[0].nr_tasks, 1);
	assert_true(out.locks[0].tasks[0].in_vmm);
	assert_string_equal(out.locks[0].tasks[0].comm, "vcpu0");
	assert_int_equal(out.locks[0].nr_stacks, 1);
	assert_int_equal(out.locks[0].stacks[0].nr_ips, 2);
	assert_int_equal(out.locks[0].stacks[0].ips[1], 0xffffffffffffff00ULL);
	assert_int_equal(out.nr_vms, 1);
	assert_int_equal(out.vms[0].mmu_lock, in.vms[0].mmu_lock);
	assert_int_equal(out.vms[0].nr_vcpus, 2);
	run_free(&in);
	run_free(&out);
	remove_dir(dir);
	free(dir);
}

/* --prog-stats round-trips; a record without it reads as not measured. */
static void prog_stats_round_trip(void **state)
{
	char *dir = make_temp_dir(), path[512], err[256];
	struct run in, out;
	struct prog_stat *p;

	sample_run(&in);
	snprintf(path, sizeof(path), "%s/run.json", dir);
	assert_int_equal(record_write(path, &in, NULL), 0);
	assert_int_equal(record_read(path, &out, err, sizeof(err)), 0);
	assert_true(out.prog_stats.seconds == 0);
	assert_int_equal(out.prog_stats.nr_progs, 0);
	run_free(&out);
	in.prog_stats.seconds = 2.5;
	in.prog_stats.maxrss_kb = 26520;
	in.prog_stats.user_s = 0.25;
	p = run_add_prog_stat(&in, "contention_begin_btf");
	assert_non_null(p);
	p->run_cnt = 1000;
	p->run_time_ns = 123456789012ULL;
	p->recursion_misses = 3;
	assert_int_equal(record_write(path, &in, NULL), 0);
	assert_int_equal(record_read(path, &out, err, sizeof(err)), 0);
	assert_true(out.prog_stats.seconds == 2.5);
	assert_true(out.prog_stats.user_s == 0.25);
	assert_int_equal(out.prog_stats.maxrss_kb, 26520);
	assert_int_equal(out.prog_stats.nr_progs, 1);
	assert_string_equal(out.prog_stats.progs[0].name, "contention_begin_btf");
	assert_int_equal(out.prog_stats.progs[0].run_cnt, 1000);
	assert_int_equal(out.prog_stats.progs[0].run_time_ns, 123456789012ULL);
	assert_int_equal(out.prog_stats.progs[0].recursion_misses, 3);
	run_free(&in);
	run_free(&out);
	remove_dir(dir);
	free(dir);
}

/* Each broken record must be refused with the offending field named. */
static void expect_error(const char *text, const char *needle)
{
	char err[512] = "";
	struct run r;

	assert_int_not_equal(record_parse("bad.json", text, strlen(text), &r, err, sizeof(err)), 0);
	if (!strstr(err, needle) || strstr(err, "continue"))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_non_null(strstr(err, "bad.json"));
}

static void malformed_records(void **state)
{
	/* Plain words, none of json-c's ("continue at byte 0"). */
	expect_error("", ": empty file");
	expect_error(" \n", ": empty file");
	expect_error("{\"schema\": ", ": truncated at byte 11");
	expect_error("{\"schema\": \"kvmlockstat-run/1\"", ": truncated at byte 30");
	expect_error("{\"schema\": ]", "not valid JSON at byte 11");
	expect_error("{} x", "more after the record, at byte 3");
	expect_error("[]", "not a JSON object");
	expect_error("{}", "schema");
	expect_error("{\"schema\": \"other/9\"}", "schema");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"vms\": []}",
		     "locks");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"vms\": [],"
		     " \"locks\": [{\"addr\": 12}]}", "locks[0].addr");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"vms\": [],"
		     " \"locks\": [{\"addr\": \"0xzz\", \"contention\": {}}]}", "locks[0].addr");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {\"ncpus\": \"two\"},"
		     " \"run\": {}, \"vms\": [], \"locks\": []}", "host.ncpus");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"locks\": [],"
		     " \"vms\": [{\"pid\": 1, \"kvm\": \"0x1\", \"mmu_lock\": true}]}", "vms[0].mmu_lock");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"vms\": [],"
		     " \"locks\": [{\"addr\": \"0x1\", \"contention\": {\"write\": {\"count\": 1,"
		     " \"wait_ns\": 1, \"min_ns\": 1, \"max_ns\": 1, \"hist_log2_ns\": [1]}}}]}",
		     "hist_log2_ns");
	expect_error("{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {}, \"vms\": [],"
		     " \"locks\": []} trailing", "more after the record");
}

static void unwritable_path_leaves_nothing(void **state)
{
	char *dir = make_temp_dir(), path[512];
	struct run r;

	sample_run(&r);
	snprintf(path, sizeof(path), "%s/missing-dir/run.json", dir);
	assert_int_not_equal(record_write(path, &r, NULL), 0);
	assert_int_equal(count_entries(dir), 0);
	run_free(&r);
	remove_dir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(prog_stats_round_trip),
		cmocka_unit_test(malformed_records),
		cmocka_unit_test(unwritable_path_leaves_nothing),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
