// SPDX-License-Identifier: GPL-2.0
/* Text renderers over the run model. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "table.h"

#define TOP_TASKS 10
#define TOP_LOCKS 10
#define BAR_WIDTH 40

const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static void stat_cols(FILE *f, const char *label, const struct wait_stat *s)
{
	char tot[16], mean[16], p99[16], max[16];

	fprintf(f, "%-6s %9llu %11s %10s %10s %10s\n", label, (unsigned long long)s->count,
		fmt_ns(tot, sizeof(tot), s->total_ns), fmt_ns(mean, sizeof(mean), wait_stat_mean(s)),
		fmt_ns(p99, sizeof(p99), wait_stat_percentile(s, 99)),
		fmt_ns(max, sizeof(max), s->max_ns));
}

static const char *vm_label(char *buf, size_t len, const struct vm_rec *v)
{
	snprintf(buf, len, "pid %u (%s) kvm 0x%llx", v->pid, v->comm[0] ? v->comm : "?",
		 (unsigned long long)v->kvm);
	return buf;
}

/* Rows of a lock's modes that saw waits; "no contention" when none did. */
static void lock_modes(FILE *f, const char *indent, const struct lock_rec *l)
{
	bool any = false;

	for (int m = 0; l && m < NR_MODES; m++) {
		if (!l->mode[m].count)
			continue;
		fputs(indent, f);
		stat_cols(f, mode_names[m], &l->mode[m]);
		any = true;
	}
	if (!any)
		fprintf(f, "%sno contention\n", indent);
}

static void stat_header(FILE *f, const char *indent)
{
	fprintf(f, "%s%-6s %9s %11s %10s %10s %10s\n", indent, "MODE", "WAITS", "WAIT_TOTAL",
		"MEAN", "P99", "MAX");
}

static void other_locks(FILE *f, const struct run *r, int top)
{
	const struct lock_rec **v = run_locks_by_wait(r, false);
	int shown = 0;

	if (!v)
		return;
	for (size_t i = 0; v[i] && shown < top; i++) {
		struct wait_stat all;
		char tot[16], max[16];

		if (v[i]->kvm)
			continue;
		if (!shown++)
			fprintf(f, "  other locks (top %d by wait):\n  %-18s %-32s %9s %11s %10s\n",
				top, "LOCK", "CALLER", "WAITS", "WAIT_TOTAL", "MAX");
		wait_stat_sum_modes(&all, v[i]->mode);
		fprintf(f, "  0x%-16llx %-32.32s %9llu %11s %10s\n", (unsigned long long)v[i]->addr,
			v[i]->name[0] ? v[i]->name : "?", (unsigned long long)all.count,
			fmt_ns(tot, sizeof(tot), all.total_ns), fmt_ns(max, sizeof(max), all.max_ns));
	}
	free(v);
}

/* ---- fault family ---- */

static void fault_header(FILE *f)
{
	fprintf(f, "    %-5s %-8s %9s %7s %9s %6s %6s %9s %9s %9s %9s %9s\n", "VCPU", "TID", "FAULTS",
		"TRANSL", "PERM", "ACCESS", "OTHER", "MEAN", "P50", "P99", "MAX", "FAST-PATH");
}

/* One row of fault figures; latency columns only when latency was measured. */
static void fault_row(FILE *f, const char *who, const char *tid, const struct vcpu_rec *c,
		      bool latency)
{
	struct wait_stat all = {};
	char mean[16] = "-", p50[16] = "-", p99[16] = "-", max[16] = "-", hit[16] = "-";
	double rate = fault_hit_rate(c);

	char ty[NR_FAULT_TYPES][24];

	for (int t = 0; t < NR_FAULT_TYPES; t++) {
		wait_stat_merge(&all, &c->fault[t]);
		/* KVM's counters do not split faults by type. */
		snprintf(ty[t], sizeof(ty[t]), fault_from_kvm(c) ? "-" : "%llu",
			 (unsigned long long)c->fault[t].count);
	}
	if (latency && all.count) {
		fmt_ns(mean, sizeof(mean), wait_stat_mean(&all));
		fmt_ns(p50, sizeof(p50), wait_stat_percentile(&all, 50));
		fmt_ns(p99, sizeof(p99), wait_stat_percentile(&all, 99));
		fmt_ns(max, sizeof(max), all.max_ns);
	}
	if (rate >= 0)
		snprintf(hit, sizeof(hit), "%.1f%%", rate * 100);
	fprintf(f, "    %-5s %-8s %9llu %7s %9s %6s %6s %9s %9s %9s %9s %9s\n", who, tid,
		(unsigned long long)fault_count(c), ty[FAULT_TRANSLATION], ty[FAULT_PERMISSION],
		ty[FAULT_ACCESS], ty[FAULT_OTHER], mean, p50, p99, max, hit);
}

static void vcpu_rows(FILE *f, const struct vm_rec *v, bool latency)
{
	for (size_t i = 0; i < v->nr_vcpu_recs; i++) {
		char id[16], tid[16];

		snprintf(id, sizeof(id), "%d", v->vcpus[i].vcpu_id);
		snprintf(tid, sizeof(tid), v->vcpus[i].tid ? "%u" : "-", v->vcpus[i].tid);
		fault_row(f, v->vcpus[i].vcpu_id < 0 ? "?" : id, tid, &v->vcpus[i], latency);
	}
}

/* Rows of the modes seen, under a title shown only when one was. */
static void mode_rows(FILE *f, const char *title, const struct wait_stat s[NR_MODES])
{
	bool any = false;

	for (int m = 0; m < NR_MODES; m++) {
		if (!s[m].count)
			continue;
		if (!any)
			fprintf(f, "    %s:\n      %-6s %9s %11s %10s %10s %10s\n", title, "MODE",
				"COUNT", "TOTAL", "MEAN", "P99", "MAX");
		fputs("      ", f);
		stat_cols(f, mode_names[m], &s[m]);
		any = true;
	}
}

/* mmu_lock hold and acquisition per mode, and the dirty-log side's durations. */
static void vm_hold_rows(FILE *f, const struct vm_rec *v)
{
	static const int dirty_log[] = { VT_GET_DIRTY_LOG, VT_CLEAR_DIRTY_LOG, VT_WRPROT };
	struct wait_stat hold[NR_MODES];
	const char *src = "";

	for (int m = 0; m < NR_MODES; m++)
		src = vm_hold(v, m, &hold[m]);
	mode_rows(f, !strcmp(src, "lock_functions") ? "mmu_lock hold, lock to unlock" :
		  "mmu_lock hold, critical sections run under the lock (lock calls inlined)", hold);
	mode_rows(f, "mmu_lock acquisition, contended or not", v->timing[VT_ACQUIRE]);
	for (size_t i = 0; i < sizeof(dirty_log) / sizeof(dirty_log[0]); i++) {
		struct wait_stat all;

		wait_stat_sum_modes(&all, v->timing[dirty_log[i]]);
		if (!all.count)
			continue;
		fprintf(f, "    %-16s", vm_timing_names[dirty_log[i]]);
		stat_cols(f, "", &all);
	}
}

/* r says which backends measured what (the whole run's, also for an interval's v). */
static void vm_fault_block(FILE *f, const struct run *r, const struct vm_rec *v, bool per_vcpu)
{
	bool latency = r->metric_backend[FM_LATENCY][0];
	struct vcpu_rec all;

	if (!v->nr_vcpu_recs && !r->metric_backend[FM_FAULTS][0])
		return;
	vm_fault_totals(v, &all);
	fault_header(f);
	fault_row(f, "all", "-", &all, latency);
	if (per_vcpu)
		vcpu_rows(f, v, latency);
	vm_hold_rows(f, v);
}

static const struct vm_rec *same_vm(const struct run *r, const struct vm_rec *v)
{
	for (size_t i = 0; i < r->nr_vms; i++)
		if (r->vms[i].pid == v->pid && (r->vms[i].kvm == v->kvm || !r->vms[i].kvm || !v->kvm))
			return &r->vms[i];
	return NULL;
}

void table_interval(FILE *f, const struct run *delta, const struct run *total)
{
	char when[16], label[96];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	fprintf(f, "\n%s  mmu_lock contention in the last %.1fs\n", when, delta->interval_s);
	if (!total->nr_vms)
		fprintf(f, "  no KVM VM seen yet\n");
	for (size_t i = 0; i < total->nr_vms; i++) {
		const struct vm_rec *tv = &total->vms[i];
		const struct lock_rec *l = tv->mmu_lock ? run_find_lock(delta, tv->mmu_lock) : NULL;

		const struct vm_rec *dv = same_vm(delta, tv);

		fprintf(f, "  VM %s\n", vm_label(label, sizeof(label), tv));
		stat_header(f, "    ");
		lock_modes(f, "    ", l);
		if (dv)
			vm_fault_block(f, total, dv, false);
	}
	if (delta->all_locks)
		other_locks(f, delta, TOP_LOCKS);
	fflush(f);
}

/* log2 histogram, one row per non-empty slot range. */
void table_hist(FILE *f, const struct wait_stat *s)
{
	int first = -1, last = -1;
	uint64_t peak = 0;

	for (int i = 0; i < MAX_SLOTS; i++) {
		if (!s->hist[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (s->hist[i] > peak)
			peak = s->hist[i];
	}
	if (first < 0)
		return;
	fprintf(f, "      %-21s : %-9s distribution\n", "wait (ns)", "count");
	for (int i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ULL << i : 0, hi = (2ULL << i) - 1;
		int bar = peak ? (int)(s->hist[i] * BAR_WIDTH / peak) : 0;

		fprintf(f, "      %10llu -> %-8llu : %-9llu |%-*.*s|\n", lo, hi,
			(unsigned long long)s->hist[i], BAR_WIDTH, bar,
			"****************************************");
	}
}

static int by_task_wait(const void *a, const void *b)
{
	struct wait_stat sa, sb;

	wait_stat_sum_modes(&sa, ((const struct task_rec *)a)->mode);
	wait_stat_sum_modes(&sb, ((const struct task_rec *)b)->mode);
	return sa.total_ns < sb.total_ns ? 1 : sa.total_ns > sb.total_ns ? -1 : 0;
}

static void lock_tasks(FILE *f, const struct lock_rec *l)
{
	struct task_rec *t = malloc(l->nr_tasks * sizeof(*t) + 1);

	if (!t)
		return;
	memcpy(t, l->tasks, l->nr_tasks * sizeof(*t));
	qsort(t, l->nr_tasks, sizeof(*t), by_task_wait);
	fprintf(f, "    waiting tasks (top %d by wait):\n      %-8s %-16s %-4s ", TOP_TASKS,
		"TID", "COMM", "VMM");
	stat_header(f, "");
	for (size_t i = 0; i < l->nr_tasks && i < TOP_TASKS; i++)
		for (int m = 0; m < NR_MODES; m++) {
			if (!t[i].mode[m].count)
				continue;
			fprintf(f, "      %-8u %-16s %-4s ", t[i].tid, t[i].comm,
				t[i].in_vmm ? "yes" : "no");
			stat_cols(f, mode_names[m], &t[i].mode[m]);
		}
	free(t);
}

/* Waits by the writer path the waiter was on (user/waitpath.c). */
static void wait_paths_line(FILE *f, const struct lock_rec *l)
{
	struct count_ns p[NR_WAIT_PATHS];
	char ns[16];

	lock_wait_paths(l, p);
	fputs("    waits by path:", f);
	for (int i = 0; i < NR_WAIT_PATHS; i++)
		fprintf(f, "%s %s %llu (%s)", i ? "," : "", wait_path_names[i],
			(unsigned long long)p[i].count, fmt_ns(ns, sizeof(ns), p[i].total_ns));
	fputc('\n', f);
}

static void summary_vm(FILE *f, const struct run *r, const struct vm_rec *v)
{
	const struct lock_rec *l = vm_lock(r, v);
	char label[96];

	fprintf(f, "VM %s, %d vCPU fds, mmu_lock 0x%llx\n", vm_label(label, sizeof(label), v),
		v->nr_vcpus, (unsigned long long)v->mmu_lock);
	stat_header(f, "    ");
	lock_modes(f, "    ", l);
	vm_fault_block(f, r, v, true);
	if (!l)
		return;
	wait_paths_line(f, l);
	lock_tasks(f, l);
	for (int m = 0; m < NR_MODES; m++) {
		if (!l->mode[m].count)
			continue;
		fprintf(f, "    %s wait histogram:\n", mode_names[m]);
		table_hist(f, &l->mode[m]);
	}
}

static void summary_notes(FILE *f, const struct run *r)
{
	bool any = false;

	for (int d = 0; d < NR_DROPS; d++)
		if (r->drops[d]) {
			fprintf(f, "%s %s=%llu", any ? "," : "events not accounted:", drop_names[d],
				(unsigned long long)r->drops[d]);
			any = true;
		}
	if (any)
		fputc('\n', f);
	for (size_t i = 0; i < r->nr_missing; i++)
		fprintf(f, "not measured: %s: %s\n", r->missing[i].what, r->missing[i].why);
}

/* Which backend gave each fault metric ("-": not measured, see the notes). */
static void backends_line(FILE *f, const struct run *r)
{
	bool any = false;

	for (int m = 0; m < NR_FAULT_METRICS; m++)
		any |= r->metric_backend[m][0] != 0;
	if (!any)
		return;
	fputs("fault probes:", f);
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		fprintf(f, " %s=%s", fault_metric_names[m],
			r->metric_backend[m][0] ? r->metric_backend[m] : "-");
	if (r->hold_source[0])
		fprintf(f, " (hold from %s)", r->hold_source);
	fputc('\n', f);
}

void table_summary(FILE *f, const struct run *r)
{
	fprintf(f, "\n=== kvmlockstat: %.2f s on %s (%s), lock probes: %s, fault probes: %s ===\n",
		r->duration_ns / 1e9, r->hostname, r->kernel, r->backend[0] ? r->backend : "none",
		r->metric_backend[FM_FAULTS][0] ? r->metric_backend[FM_FAULTS] : "none");
	if (r->command[0])
		fprintf(f, "command: %s (exit status %d)\n", r->command, r->exit_status);
	backends_line(f, r);
	if (!r->nr_vms)
		fprintf(f, "no KVM VM seen\n");
	for (size_t i = 0; i < r->nr_vms; i++)
		summary_vm(f, r, &r->vms[i]);
	if (r->all_locks)
		other_locks(f, r, TOP_LOCKS);
	summary_notes(f, r);
	fflush(f);
}
