// SPDX-License-Identifier: GPL-2.0
/* Text renderers over the run model. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "table.h"

#define TOP_TASKS 10
#define TOP_LOCKS 10
#define MIN_WIDTH 80
#define MAX_WIDTH 200

/* Columns to fill: 80, or the terminal's width when it is wider. */
static int out_width(FILE *f)
{
	struct winsize ws;

	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col > MIN_WIDTH)
		return ws.ws_col < MAX_WIDTH ? ws.ws_col : MAX_WIDTH;
	return MIN_WIDTH;
}

/*
 * Set when a view leaves out all-zero rows or tables, and said once at its
 * end: every screen and every summary says it, appended intervals only once.
 */
static bool zero_left_out;

static void say_left_out(FILE *f, bool every_time)
{
	static bool said_in_stream;

	if (zero_left_out && (every_time || !said_in_stream)) {
		fputs("(rows and tables that are all zero are left out)\n", f);
		said_in_stream |= !every_time;
	}
	zero_left_out = false;
}

/* Prose in lines of at most the output's width, broken at spaces; later lines indented. */
static void put_wrapped(FILE *f, const char *indent, const char *fmt, ...)
{
	int width = out_width(f), room = width, ind = (int)strlen(indent);
	char buf[2048], *p = buf;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	while ((int)strlen(p) > room) {
		char *cut = p + room;

		while (cut > p && *cut != ' ')
			cut--;
		if (cut == p)	/* one long word: break it */
			cut = p + room;
		fprintf(f, "%.*s\n%s", (int)(cut - p), p, indent);
		p = *cut == ' ' ? cut + 1 : cut;
		room = width - ind;
	}
	fprintf(f, "%s\n", p);
}

const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 100000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", ns / 1e6);	/* 8 characters at most */
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static void stat_cols(FILE *f, int width, const char *label, const struct wait_stat *s)
{
	char tot[16], mean[16], p99[16], max[16];

	fprintf(f, "%-*s %9llu %11s %10s %10s %10s\n", width, label, (unsigned long long)s->count,
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
		stat_cols(f, 6, mode_names[m], &l->mode[m]);
		any = true;
	}
	if (!any)
		fprintf(f, "%sno contention\n", indent);
}

/* The header over stat_cols' columns, the label column width wide. */
static void stat_head(FILE *f, const char *indent, int width, const char *label,
		      const char *count, const char *total)
{
	fprintf(f, "%s%-*s %9s %11s %10s %10s %10s\n", indent, width, label, count, total,
		"MEAN", "P99", "MAX");
}

static void stat_header(FILE *f, const char *indent)
{
	stat_head(f, indent, 6, "MODE", "WAITS", "WAIT_TOTAL");
}

static void other_locks(FILE *f, const struct run *r, int top)
{
	const struct lock_rec **v = run_locks_by_wait(r, false);
	/* The caller's name gets what the other columns leave of the width. */
	int shown = 0, caller = out_width(f) - 54;

	if (!v)
		return;
	for (size_t i = 0; v[i] && shown < top; i++) {
		struct wait_stat all;
		char tot[16], max[16], name[128];

		if (v[i]->kvm)
			continue;
		if (!shown++)
			fprintf(f, "  other locks (top %d by wait):\n  %-18s %-*s %9s %11s %10s\n",
				top, "LOCK", caller, "CALLER", "WAITS", "WAIT_TOTAL", "MAX");
		wait_stat_sum_modes(&all, v[i]->mode);
		/* A lock of a VM's struct kvm says which VM, whole: "kvm->slots_lock (VM 4242)". */
		snprintf(name, sizeof(name), "%s", v[i]->name[0] ? v[i]->name : "?");
		for (size_t j = 0; v[i]->in_kvm && j < r->nr_vms; j++)
			if (r->vms[j].kvm == v[i]->in_kvm) {
				char vm[24];
				int room = caller - snprintf(vm, sizeof(vm), " (VM %u)", r->vms[j].pid);

				snprintf(name + (room > 0 && (int)strlen(name) > room ? room : (int)strlen(name)),
					 sizeof(name) - strlen(name), "%s", vm);
			}
		fprintf(f, "  0x%-16llx %-*.*s %9llu %11s %10s\n", (unsigned long long)v[i]->addr,
			caller, caller, name, (unsigned long long)all.count,
			fmt_ns(tot, sizeof(tot), all.total_ns), fmt_ns(max, sizeof(max), all.max_ns));
	}
	free(v);
}

/* ---- fault family ---- */

enum fault_col {
	FC_VCPU, FC_TID, FC_FAULTS, FC_TRANSL, FC_PERM, FC_ACCESS, FC_OTHER,
	FC_MEAN, FC_P50, FC_P99, FC_MAX, FC_FAST, NR_FC,
};

static const struct {
	const char *name;
	int width;
} fault_cols[NR_FC] = {
	{ "VCPU", 4 }, { "TID", 7 }, { "FAULTS", 9 }, { "TRANSL", 8 }, { "PERM", 8 },
	{ "ACCESS", 7 }, { "OTHER", 7 }, { "MEAN", 8 }, { "P50", 8 }, { "P99", 8 },
	{ "MAX", 8 }, { "FAST-PATH", 9 },
};

/* Left out first when the table is wider than the output (the figures stay in -j's record). */
static const enum fault_col fault_drop_order[] = {
	FC_P50, FC_MEAN, FC_TID, FC_ACCESS, FC_OTHER, FC_P99,
};

struct fault_cells {
	char c[NR_FC][24];
};

/* One row of fault figures; "-" for what was not measured. */
static void fault_cells(struct fault_cells *row, const char *who, const char *tid,
			const struct vcpu_rec *c, bool latency)
{
	static const int type_col[NR_FAULT_TYPES] = {
		[FAULT_TRANSLATION] = FC_TRANSL, [FAULT_PERMISSION] = FC_PERM,
		[FAULT_ACCESS] = FC_ACCESS, [FAULT_OTHER] = FC_OTHER,
	};
	struct wait_stat all = {};
	double rate = fault_hit_rate(c);

	for (int i = 0; i < NR_FC; i++)
		strcpy(row->c[i], "-");
	snprintf(row->c[FC_VCPU], sizeof(row->c[0]), "%s", who);
	snprintf(row->c[FC_TID], sizeof(row->c[0]), "%s", tid);
	snprintf(row->c[FC_FAULTS], sizeof(row->c[0]), "%llu", (unsigned long long)fault_count(c));
	for (int t = 0; t < NR_FAULT_TYPES; t++) {
		wait_stat_merge(&all, &c->fault[t]);
		/* KVM's counters do not split faults by type. */
		if (!fault_from_kvm(c))
			snprintf(row->c[type_col[t]], sizeof(row->c[0]), "%llu",
				 (unsigned long long)c->fault[t].count);
	}
	if (latency && all.count) {
		fmt_ns(row->c[FC_MEAN], sizeof(row->c[0]), wait_stat_mean(&all));
		fmt_ns(row->c[FC_P50], sizeof(row->c[0]), wait_stat_percentile(&all, 50));
		fmt_ns(row->c[FC_P99], sizeof(row->c[0]), wait_stat_percentile(&all, 99));
		fmt_ns(row->c[FC_MAX], sizeof(row->c[0]), all.max_ns);
	}
	if (rate >= 0)
		snprintf(row->c[FC_FAST], sizeof(row->c[0]), "%.1f%%", rate * 100);
}

/*
 * Columns shown: not those that are "-" in every row (not measured: the notes
 * say why), then as many as fit the output's width.
 */
static void fault_layout(FILE *f, const struct fault_cells *rows, size_t n, bool show[NR_FC])
{
	int width = 4 - 1;

	for (int i = 0; i < NR_FC; i++) {
		show[i] = i <= FC_FAULTS;
		for (size_t r = 0; r < n && !show[i]; r++)
			show[i] = strcmp(rows[r].c[i], "-") != 0;
		if (show[i])
			width += fault_cols[i].width + 1;
	}
	for (size_t d = 0; d < sizeof(fault_drop_order) / sizeof(fault_drop_order[0]) &&
			   width > out_width(f); d++)
		if (show[fault_drop_order[d]]) {
			show[fault_drop_order[d]] = false;
			width -= fault_cols[fault_drop_order[d]].width + 1;
		}
}

static void fault_line(FILE *f, const bool show[NR_FC], const char *const cell[NR_FC])
{
	fputs("   ", f);
	for (int i = 0; i < NR_FC; i++)
		if (show[i])
			fprintf(f, i <= FC_TID ? " %-*s" : " %*s", fault_cols[i].width, cell[i]);
	fputc('\n', f);
}

static void fault_table(FILE *f, const struct fault_cells *rows, size_t n)
{
	const char *cell[NR_FC];
	bool show[NR_FC];

	fault_layout(f, rows, n, show);
	for (int i = 0; i < NR_FC; i++)
		cell[i] = fault_cols[i].name;
	fault_line(f, show, cell);
	for (size_t r = 0; r < n; r++) {
		for (int i = 0; i < NR_FC; i++)
			cell[i] = rows[r].c[i];
		fault_line(f, show, cell);
	}
}

/* The VM's row, then (per_vcpu) a row per vCPU that faulted; nothing when no fault. */
static void fault_rows(FILE *f, const struct vm_rec *v, bool per_vcpu, bool latency)
{
	struct fault_cells *rows = calloc(v->nr_vcpu_recs + 1, sizeof(*rows));
	struct vcpu_rec all;
	size_t n = 1;

	if (!rows)
		return;
	vm_fault_totals(v, &all);
	fault_cells(&rows[0], "all", "-", &all, latency);
	for (size_t i = 0; per_vcpu && i < v->nr_vcpu_recs; i++) {
		const struct vcpu_rec *c = &v->vcpus[i];
		char id[16], tid[16];

		if (!fault_count(c)) {
			zero_left_out = true;
			continue;
		}
		snprintf(id, sizeof(id), c->vcpu_id < 0 ? "?" : "%d", c->vcpu_id);
		snprintf(tid, sizeof(tid), c->tid ? "%u" : "-", c->tid);
		fault_cells(&rows[n++], id, tid, c, latency);
	}
	if (fault_count(&all))
		fault_table(f, rows, n);
	else
		zero_left_out = true;
	free(rows);
}

/* Rows of the modes seen, under a title shown only when one was. */
static void mode_rows(FILE *f, const char *title, const struct wait_stat s[NR_MODES])
{
	bool any = false;

	for (int m = 0; m < NR_MODES; m++) {
		if (!s[m].count)
			continue;
		if (!any) {
			fprintf(f, "    %s:\n", title);
			stat_head(f, "      ", 6, "MODE", "COUNT", "TOTAL");
		}
		fputs("      ", f);
		stat_cols(f, 6, mode_names[m], &s[m]);
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
	for (size_t i = 0, any = 0; i < sizeof(dirty_log) / sizeof(dirty_log[0]); i++) {
		struct wait_stat all;

		wait_stat_sum_modes(&all, v->timing[dirty_log[i]]);
		if (!all.count)
			continue;
		/* a title of its own: these are calls, not waits of the lock table above */
		if (!any++) {
			fputs("    dirty-log side, whole calls:\n", f);
			stat_head(f, "      ", 15, "CALL", "COUNT", "TOTAL");
		}
		fputs("      ", f);
		stat_cols(f, 15, vm_timing_names[dirty_log[i]], &all);	/* 76 columns */
	}
}

/* r says which backends measured what (the whole run's, also for an interval's v). */
static void vm_fault_block(FILE *f, const struct run *r, const struct vm_rec *v, bool per_vcpu)
{
	bool latency = r->metric_backend[FM_LATENCY][0];

	if (!v->nr_vcpu_recs && !r->metric_backend[FM_FAULTS][0])
		return;
	fault_rows(f, v, per_vcpu, latency);
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

	bool tty = isatty(fileno(f));

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	/* A terminal gets one screen redrawn in place (as top does); a file or pipe, every interval. */
	fputs(tty ? "\033[H\033[2J" : "\n", f);
	fprintf(f, "%s  mmu_lock contention in the last %.1fs\n", when, delta->interval_s);
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
	say_left_out(f, tty);
	fflush(f);
}

/* log2 histogram, one row per non-empty slot range. */
void table_hist(FILE *f, const struct wait_stat *s)
{
	int first = -1, last = -1, hi_w, count_w, bar_width;
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
	/* Columns as wide as the last slot's bound and the peak; the bars get the rest. */
	hi_w = snprintf(NULL, 0, "%llu", (2ULL << last) - 1);
	hi_w = hi_w < 8 ? 8 : hi_w;
	count_w = snprintf(NULL, 0, "%llu", (unsigned long long)peak);
	count_w = count_w < 9 ? 9 : count_w;
	bar_width = out_width(f) - (6 + 10 + 4 + hi_w + 3 + count_w + 2 + 1);
	fprintf(f, "      %-*s : %-*s distribution\n", 14 + hi_w, "wait (ns)", count_w, "count");
	for (int i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ULL << i : 0, hi = (2ULL << i) - 1;
		int bar = peak ? (int)(s->hist[i] * bar_width / peak) : 0;

		fprintf(f, "      %10llu -> %-*llu : %-*llu |", lo, hi_w, hi, count_w,
			(unsigned long long)s->hist[i]);
		for (int b = 0; b < bar_width; b++)
			fputc(b < bar ? '*' : ' ', f);
		fputs("|\n", f);
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
	/* 80 columns: TID, COMM (15 characters at most) and VMM, then short figures. */
	fprintf(f, "    waiting tasks (top %d by wait):\n  %-7s %-15s %-3s %-5s %8s %8s %8s %8s %8s\n",
		TOP_TASKS, "TID", "COMM", "VMM", "MODE", "WAITS", "TOTAL", "MEAN", "P99", "MAX");
	for (size_t i = 0; i < l->nr_tasks && i < TOP_TASKS; i++)
		for (int m = 0; m < NR_MODES; m++) {
			const struct wait_stat *w = &t[i].mode[m];
			char tot[16], mean[16], p99[16], max[16];

			if (!w->count)
				continue;
			fprintf(f, "  %-7u %-15.15s %-3s %-5s %8llu %8s %8s %8s %8s\n", t[i].tid, t[i].comm,
				t[i].in_vmm ? "yes" : "no", mode_names[m], (unsigned long long)w->count,
				fmt_ns(tot, sizeof(tot), w->total_ns),
				fmt_ns(mean, sizeof(mean), wait_stat_mean(w)),
				fmt_ns(p99, sizeof(p99), wait_stat_percentile(w, 99)),
				fmt_ns(max, sizeof(max), w->max_ns));
		}
	free(t);
}

/* Waits by the writer path the waiter was on (user/waitpath.c). */
static void wait_paths_line(FILE *f, const struct lock_rec *l)
{
	struct count_ns p[NR_WAIT_PATHS];
	char ns[16], line[512];
	int len = 0;

	lock_wait_paths(l, p);
	for (int i = 0; i < NR_WAIT_PATHS; i++)
		len += snprintf(line + len, sizeof(line) - len, "%s %s %llu (%s)", i ? "," : "",
				wait_path_names[i], (unsigned long long)p[i].count,
				fmt_ns(ns, sizeof(ns), p[i].total_ns));
	put_wrapped(f, "      ", "    waits by path:%s", line);
}

static void summary_vm(FILE *f, const struct run *r, const struct vm_rec *v)
{
	const struct lock_rec *l = vm_lock(r, v);
	char label[96];

	put_wrapped(f, "    ", "VM %s, %d vCPU fds, mmu_lock 0x%llx", vm_label(label, sizeof(label), v),
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
	/*
	 * Once per reason, the figures it cost together; options not asked for
	 * ("opt-in: ...") are --help's business and stay in the record only.
	 */
	for (size_t i = 0; i < r->nr_missing; i++) {
		char what[512] = "";
		size_t j, len = 0;

		if (!strncmp(r->missing[i].why, "opt-in:", 7))
			continue;
		for (j = 0; j < i && strcmp(r->missing[j].why, r->missing[i].why); j++)
			;
		if (j < i)
			continue;	/* said with the first of its reason */
		for (j = i; j < r->nr_missing; j++)
			if (!strcmp(r->missing[j].why, r->missing[i].why))
				len += snprintf(what + len, len < sizeof(what) ? sizeof(what) - len : 0, "%s%s",
						len ? ", " : "", r->missing[j].what);
		put_wrapped(f, "  ", "not measured: %s: %s", what, r->missing[i].why);
	}
}

/* Which backend gave each fault metric ("-": not measured, see the notes). */
static void backends_line(FILE *f, const struct run *r)
{
	bool any = false;

	for (int m = 0; m < NR_FAULT_METRICS; m++)
		any |= r->metric_backend[m][0] != 0;
	if (!any)
		return;
	char line[512];
	int len = 0;

	for (int m = 0; m < NR_FAULT_METRICS; m++)
		len += snprintf(line + len, sizeof(line) - len, " %s=%s", fault_metric_names[m],
				r->metric_backend[m][0] ? r->metric_backend[m] : "-");
	if (r->hold_source[0])
		snprintf(line + len, sizeof(line) - len, " (hold from %s)", r->hold_source);
	put_wrapped(f, "  ", "fault probes:%s", line);
}

void table_summary(FILE *f, const struct run *r)
{
	fputc('\n', f);
	put_wrapped(f, "    ", "=== kvmlockstat: %.2f s on %s (%s), lock probes: %s, fault probes: %s ===",
		    r->duration_ns / 1e9, r->hostname, r->kernel, r->backend[0] ? r->backend : "none",
		    r->metric_backend[FM_FAULTS][0] ? r->metric_backend[FM_FAULTS] : "none");
	if (r->command[0])
		put_wrapped(f, "  ", "command: %s (exit status %d)", r->command, r->exit_status);
	backends_line(f, r);
	if (!r->nr_vms)
		fprintf(f, "no KVM VM seen\n");
	for (size_t i = 0; i < r->nr_vms; i++)
		summary_vm(f, r, &r->vms[i]);
	if (r->all_locks)
		other_locks(f, r, TOP_LOCKS);
	summary_notes(f, r);
	say_left_out(f, true);
	fflush(f);
}
