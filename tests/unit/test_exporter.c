// SPDX-License-Identifier: GPL-2.0
/* Exporter: exposition format, VM names from qemu command lines, fleet totals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fleet.h"
#include "metrics.h"
#include "promfmt.h"
#include "vmid.h"

static void label_values_escaped(void **state)
{
	struct prom_labels l = { 0 };
	struct prom_buf b = { 0 };

	prom_label(&l, "vm_name", "a\"b\\c\nd");
	prom_label_u64(&l, "vm_pid", 42);
	prom_sample_u64(&b, "m_total", &l, 18446744073709551615ULL);
	assert_string_equal(b.s, "m_total{vm_name=\"a\\\"b\\\\c\\nd\",vm_pid=\"42\"} 18446744073709551615\n");
	prom_buf_free(&b);
}

static void label_too_long_dropped_whole(void **state)
{
	struct prom_labels l = { 0 };
	char big[600];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	prom_label(&l, "a", "1");
	prom_label(&l, "b", big);
	assert_string_equal(l.s, "a=\"1\"");
}

/* Returns the value of the sample whose text starts with prefix, -1 if none. */
static double sample(const char *text, const char *prefix)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, strlen(prefix)))
			return strtod(p + strlen(prefix), NULL);
	return -1;
}

static void histogram_cumulative_in_seconds(void **state)
{
	__u64 slots[MAX_SLOTS] = { 0 };
	struct prom_buf b = { 0 };

	slots[3] = 2;	/* 8-15 ns: below the first bucket, 256 ns */
	slots[9] = 5;	/* 512-1023 ns: le 1.024e-06 */
	slots[35] = 1;	/* >= 34 s: +Inf only */
	prom_histogram_log2ns(&b, "w_seconds", NULL, slots, MAX_SLOTS, 8, 123456789);
	assert_false(b.oom);
	assert_true(sample(b.s, "w_seconds_bucket{le=\"2.56e-07\"} ") == 2);
	assert_true(sample(b.s, "w_seconds_bucket{le=\"1.024e-06\"} ") == 7);
	assert_true(sample(b.s, "w_seconds_bucket{le=\"17.1798692\"} ") == 7);
	assert_true(sample(b.s, "w_seconds_bucket{le=\"+Inf\"} ") == 8);
	assert_true(sample(b.s, "w_seconds_count ") == 8);
	assert_true(sample(b.s, "w_seconds_sum ") > 0.123456788 && sample(b.s, "w_seconds_sum ") < 0.12345679);
	prom_buf_free(&b);
}


static void qemu_names(void **state)
{
	static const char a[] = "qemu-system-x86_64\0-name\0guest=web01,debug-threads=on\0-m\0" "4096";
	static const char b[] = "qemu\0-m\0" "1G\0--name\0db,,primary,process=qemu-db";
	static const char c[] = "qemu\0-name=solo";
	static const char d[] = "qemu\0-m\0" "1G";
	static const char e[] = "qemu\0-name";
	static const char f[] = "qemu\0-name\0process=x,guest=late";
	char out[64];

	assert_int_equal(vmid_parse_name(a, sizeof(a), out, sizeof(out)), 0);
	assert_string_equal(out, "web01");
	assert_int_equal(vmid_parse_name(b, sizeof(b), out, sizeof(out)), 0);
	assert_string_equal(out, "db,primary");
	assert_int_equal(vmid_parse_name(c, sizeof(c), out, sizeof(out)), 0);
	assert_string_equal(out, "solo");
	assert_int_not_equal(vmid_parse_name(d, sizeof(d), out, sizeof(out)), 0);
	assert_int_not_equal(vmid_parse_name(e, sizeof(e), out, sizeof(out)), 0);
	assert_int_equal(vmid_parse_name(f, sizeof(f), out, sizeof(out)), 0);
	assert_string_equal(out, "late");
}

/* ---- fleet ---- */

static uint32_t alive_pid;	/* the one VMM the fake environment says runs */

static void fake_name(uint32_t pid, char *out, size_t len) { snprintf(out, len, "vm%u", pid); }
static bool fake_alive(uint32_t pid) { return pid == alive_pid; }
static const struct fleet_env env = { fake_name, fake_alive };

/* One drained interval as collect_drain builds it: a VM, its mmu_lock, waits, faults. */
static void interval(struct run *d, uint32_t pid, uint64_t kvm, uint64_t waits, uint64_t perm)
{
	struct vm_rec *v;
	struct lock_rec *l;
	struct task_rec *t;
	struct stack_rec *s;

	run_init(d);
	v = run_vm(d, pid, kvm);
	l = run_lock(d, kvm + 8);
	l->kvm = kvm;
	v->mmu_lock = l->addr;
	l->mode[MODE_WRITE].count = waits;
	l->mode[MODE_WRITE].total_ns = waits * 1000;
	l->mode[MODE_WRITE].hist[9] = waits;
	t = lock_task(l, pid + 1);
	t->mode[MODE_WRITE] = l->mode[MODE_WRITE];
	s = lock_stack(l, 7, pid + 1, MODE_WRITE);
	s->path = WP_DIRTY_LOG;
	s->count = waits;
	s->total_ns = waits * 1000;
	vm_vcpu(v, pid + 1, 0)->fault[FAULT_PERMISSION].count = perm;
	vm_vcpu(v, pid + 1, 0)->path[PATH_FAST_FIXED] = perm / 2;
}

static void render(const struct fleet *f, bool per_vcpu, struct prom_buf *b)
{
	struct metrics_opts o = { .per_vcpu = per_vcpu };

	prom_buf_free(b);
	metrics_render(b, f, &o);
	assert_false(b->oom);
}

static void totals_grow_and_fold_per_vmm(void **state)
{
	struct fleet f;
	struct run d;
	struct prom_buf b = { 0 };
	const char *w = "kvmlockstat_mmu_lock_contentions_total{vm_pid=\"100\",vm_name=\"vm100\",mode=\"write\"} ";

	fleet_init(&f);
	strcpy(f.total.metric_backend[FM_FAULTS], "tracepoint");
	strcpy(f.total.metric_backend[FM_FAST_PATH], "tracepoint");
	alive_pid = 100;
	interval(&d, 100, 0xffff1000, 5, 4);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 1, 10, &env), 0);
	run_free(&d);
	/* A second VM of the same process: one set of series, both VMs added up. */
	interval(&d, 100, 0xffff2000, 3, 2);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 2, 10, &env), 0);
	run_free(&d);
	assert_int_equal(f.total.nr_vms, 1);
	assert_int_equal(f.total.nr_locks, 0);	/* not kept: memory follows the VMs */
	render(&f, false, &b);
	assert_true(sample(b.s, w) == 8);
	assert_true(sample(b.s, "kvmlockstat_mmu_lock_path_contentions_total{vm_pid=\"100\",vm_name=\"vm100\",path=\"dirty_log\"} ") == 8);
	assert_true(sample(b.s, "kvmlockstat_mmu_lock_path_contentions_total{vm_pid=\"100\",vm_name=\"vm100\",path=\"fault\"} ") == 0);
	assert_true(sample(b.s, "kvmlockstat_fast_path_permission_faults_total{vm_pid=\"100\",vm_name=\"vm100\"} ") == 6);
	assert_true(sample(b.s, "kvmlockstat_fast_path_fixes_total{vm_pid=\"100\",vm_name=\"vm100\"} ") == 3);
	/* An empty drain leaves every counter where it was. */
	run_init(&d);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 3, 10, &env), 0);
	run_free(&d);
	render(&f, true, &b);
	assert_true(sample(b.s, w) == 8);
	assert_true(sample(b.s, "kvmlockstat_stage2_faults_total{vm_pid=\"100\",vm_name=\"vm100\",vcpu=\"0\",type=\"permission\"} ") == 6);
	/* Families of unmeasured metrics are left out, not exported as zeros. */
	assert_null(strstr(b.s, "kvmlockstat_mmu_lock_hold_seconds_total"));
	assert_non_null(strstr(b.s, "kvmlockstat_probe_up{family=\"fault\",probe=\"mmu_lock_hold\"} 0"));
	prom_buf_free(&b);
	fleet_free(&f);
}

static void exited_vm_dropped_after_grace(void **state)
{
	struct fleet f;
	struct run d;
	struct prom_buf b = { 0 };

	fleet_init(&f);
	alive_pid = 0;		/* it exits right after this interval */
	interval(&d, 200, 0xffff3000, 1, 0);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 1000, 500, &env), 0);
	run_free(&d);
	render(&f, false, &b);
	assert_non_null(strstr(b.s, "vm_pid=\"200\""));	/* within the grace period */
	run_init(&d);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 1499, 500, &env), 0);
	assert_int_equal(f.total.nr_vms, 1);
	assert_int_equal(fleet_update(&f, &d, NULL, 0, 1500, 500, &env), 0);
	run_free(&d);
	assert_int_equal(f.total.nr_vms, 0);
	assert_int_equal(f.total.nr_locks, 0);
	render(&f, false, &b);
	assert_null(strstr(b.s, "vm_pid=\"200\""));
	assert_true(sample(b.s, "kvmlockstat_vms_dropped_total ") == 1);
	prom_buf_free(&b);
	fleet_free(&f);
}

static void idle_vmms_get_series(void **state)
{
	struct vmm running[] = { { .pid = 300, .comm = "qemu", .nr_vms = 1, .nr_vcpus = 4 } };
	struct fleet f;
	struct run d;
	struct prom_buf b = { 0 };

	fleet_init(&f);
	alive_pid = 300;
	run_init(&d);
	assert_int_equal(fleet_update(&f, &d, running, 1, 1, 10, &env), 0);
	run_free(&d);
	render(&f, false, &b);
	assert_true(sample(b.s, "kvmlockstat_mmu_lock_contentions_total{vm_pid=\"300\",vm_name=\"vm300\",mode=\"read\"} ") == 0);
	assert_true(sample(b.s, "kvmlockstat_vm_vcpus{vm_pid=\"300\",vm_name=\"vm300\"} ") == 4);
	prom_buf_free(&b);
	fleet_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_values_escaped),
		cmocka_unit_test(label_too_long_dropped_whole),
		cmocka_unit_test(histogram_cumulative_in_seconds),
		cmocka_unit_test(qemu_names),
		cmocka_unit_test(totals_grow_and_fold_per_vmm),
		cmocka_unit_test(exited_vm_dropped_after_grace),
		cmocka_unit_test(idle_vmms_get_series),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
