// SPDX-License-Identifier: GPL-2.0
/* Run model: records, lookups, merging and histogram maths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

const char *const mode_names[NR_MODES] = {
	[MODE_READ] = "read", [MODE_WRITE] = "write", [MODE_SPIN] = "spin",
	[MODE_MUTEX] = "mutex", [MODE_OTHER] = "other",
};

const char *const drop_names[NR_DROPS] = {
	[DROP_NESTED] = "nested_wait",
	[DROP_TSTAMP_FULL] = "tstamp_map_full",
	[DROP_STAT_FULL] = "stat_map_full",
	[DROP_STACK] = "stack_not_recorded",
	[DROP_INFO_FULL] = "info_map_full",
	[DROP_FAULT_INFLIGHT] = "fault_inflight_full",
	[DROP_FAULT_STAT_FULL] = "fault_stat_map_full",
	[DROP_MAP_BUSY] = "map_busy",
	[DROP_RECURSION_MISS] = "recursion_miss",
};

const char *const fault_type_names[NR_FAULT_TYPES] = {
	[FAULT_TRANSLATION] = "translation", [FAULT_PERMISSION] = "permission",
	[FAULT_ACCESS] = "access_flag", [FAULT_OTHER] = "other",
};

const char *const fault_path_names[NR_FAULT_PATHS] = {
	[PATH_RELAX_READ] = "relax_read_lock", [PATH_RELAX_WRITE] = "relax_write_lock",
	[PATH_FAST_FIXED] = "fast_fixed", [PATH_FAST_SPURIOUS] = "fast_spurious",
	[PATH_FAST_MISSED] = "fast_missed",
};

const char *const vm_timing_names[NR_VM_TIMINGS] = {
	[VT_HOLD] = "hold", [VT_ACQUIRE] = "acquire", [VT_RELAX] = "relax_perms",
	[VT_MAP] = "stage2_map", [VT_WRPROT] = "write_protect",
	[VT_GET_DIRTY_LOG] = "get_dirty_log", [VT_CLEAR_DIRTY_LOG] = "clear_dirty_log",
};

const char *const fault_metric_names[NR_FAULT_METRICS] = {
	[FM_FAULTS] = "faults", [FM_LATENCY] = "fault_latency", [FM_FAST_PATH] = "fast_path",
	[FM_HOLD] = "mmu_lock_hold", [FM_DIRTY_LOG] = "dirty_log",
};

const char *const wait_path_names[NR_WAIT_PATHS] = {
	[WP_DIRTY_LOG] = "dirty_log", [WP_MMU_NOTIFIER] = "mmu_notifier",
	[WP_FAULT] = "fault", [WP_OTHER] = "other",
};

const char *const kvm_counter_names[NR_KVM_COUNTERS] = {
	[KC_PF_TAKEN] = "pf_taken", [KC_PF_FAST] = "pf_fast", [KC_PF_FIXED] = "pf_fixed",
	[KC_PF_SPURIOUS] = "pf_spurious", [KC_PF_EMULATE] = "pf_emulate",
};

int name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(name, names[i]))
			return i;
	return -1;
}

int mode_from_name(const char *name)
{
	for (int i = 0; i < NR_MODES; i++)
		if (!strcmp(name, mode_names[i]))
			return i;
	return -1;
}

void wait_stat_merge(struct wait_stat *dst, const struct wait_stat *src)
{
	if (!src->count)
		return;
	if (!dst->count || (src->min_ns && src->min_ns < dst->min_ns))
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	dst->count += src->count;
	dst->total_ns += src->total_ns;
	for (int i = 0; i < MAX_SLOTS; i++)
		dst->hist[i] += src->hist[i];
}

uint64_t wait_stat_mean(const struct wait_stat *s)
{
	return s->count ? s->total_ns / s->count : 0;
}

/*
 * Percentile from the log2 histogram: find the slot holding the rank,
 * interpolate linearly inside [2^i, 2^(i+1)), and never report more
 * than the exact max or less than the exact min.
 */
uint64_t wait_stat_percentile(const struct wait_stat *s, double pct)
{
	uint64_t hist_total = 0, seen = 0;
	double rank;

	for (int i = 0; i < MAX_SLOTS; i++)
		hist_total += s->hist[i];
	if (!hist_total)
		return 0;
	rank = pct / 100.0 * hist_total;
	for (int i = 0; i < MAX_SLOTS; i++) {
		double lo = i ? (double)(1ULL << i) : 0, hi = (double)(2ULL << i);
		uint64_t v;

		if (!s->hist[i] || seen + s->hist[i] < rank) {
			seen += s->hist[i];
			continue;
		}
		v = lo + (hi - lo) * ((rank - seen) / s->hist[i]);
		if (s->max_ns && v > s->max_ns)
			v = s->max_ns;
		if (v < s->min_ns)
			v = s->min_ns;
		return v;
	}
	return s->max_ns;
}

void wait_stat_sum_modes(struct wait_stat *dst, const struct wait_stat mode[NR_MODES])
{
	memset(dst, 0, sizeof(*dst));
	for (int m = 0; m < NR_MODES; m++)
		wait_stat_merge(dst, &mode[m]);
}

/* Grows *arr by one zeroed element; returns it, or NULL on ENOMEM. */
static void *push(void *arr_p, size_t *n, size_t size)
{
	void **arr = arr_p;
	char *grown = realloc(*arr, (*n + 1) * size);

	if (!grown)
		return NULL;
	*arr = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

struct lock_rec *run_find_lock(const struct run *r, uint64_t addr)
{
	for (size_t i = 0; i < r->nr_locks; i++)
		if (r->locks[i].addr == addr)
			return &r->locks[i];
	return NULL;
}

struct lock_rec *run_lock(struct run *r, uint64_t addr)
{
	struct lock_rec *l = run_find_lock(r, addr);

	if (!l && (l = push(&r->locks, &r->nr_locks, sizeof(*l))))
		l->addr = addr;
	return l;
}

struct task_rec *lock_task(struct lock_rec *l, uint32_t tid)
{
	struct task_rec *t;

	for (size_t i = 0; i < l->nr_tasks; i++)
		if (l->tasks[i].tid == tid)
			return &l->tasks[i];
	if ((t = push(&l->tasks, &l->nr_tasks, sizeof(*t))))
		t->tid = tid;
	return t;
}

struct stack_rec *lock_stack(struct lock_rec *l, int32_t stack_id, uint32_t tid, uint32_t mode)
{
	struct stack_rec *s;

	for (size_t i = 0; i < l->nr_stacks; i++) {
		s = &l->stacks[i];
		if (s->stack_id == stack_id && s->tid == tid && s->mode == mode)
			return s;
	}
	if ((s = push(&l->stacks, &l->nr_stacks, sizeof(*s)))) {
		s->stack_id = stack_id;
		s->tid = tid;
		s->mode = mode;
	}
	return s;
}

struct vm_rec *run_vm(struct run *r, uint32_t pid, uint64_t kvm)
{
	struct vm_rec *v;

	for (size_t i = 0; i < r->nr_vms; i++) {
		v = &r->vms[i];
		/* A VMM seen only in /proc (kvm 0) is the same VM once BPF names it. */
		if (v->pid == pid && (v->kvm == kvm || !v->kvm || !kvm)) {
			if (!v->kvm)
				v->kvm = kvm;
			return v;
		}
	}
	if ((v = push(&r->vms, &r->nr_vms, sizeof(*v)))) {
		v->pid = pid;
		v->kvm = kvm;
		v->nr_vcpus = -1;
	}
	return v;
}

struct vcpu_rec *vm_vcpu(struct vm_rec *v, uint32_t tid, int32_t vcpu_id)
{
	struct vcpu_rec *c;

	for (size_t i = 0; i < v->nr_vcpu_recs; i++) {
		c = &v->vcpus[i];
		/* A thread seen without its vcpu_id (tracepoint) is the same vCPU. */
		if (c->tid == tid && (c->vcpu_id == vcpu_id || c->vcpu_id < 0 || vcpu_id < 0)) {
			if (c->vcpu_id < 0)
				c->vcpu_id = vcpu_id;
			return c;
		}
		/* KVM's counters of that vCPU (no thread known): the thread runs it. */
		if (!c->tid && vcpu_id >= 0 && c->vcpu_id == vcpu_id) {
			c->tid = tid;
			return c;
		}
	}
	if ((c = push(&v->vcpus, &v->nr_vcpu_recs, sizeof(*c)))) {
		c->tid = tid;
		c->vcpu_id = vcpu_id;
	}
	return c;
}

struct vcpu_rec *vm_vcpu_by_id(struct vm_rec *v, int32_t vcpu_id)
{
	for (size_t i = 0; i < v->nr_vcpu_recs; i++)
		if (v->vcpus[i].vcpu_id == vcpu_id)
			return &v->vcpus[i];
	return vm_vcpu(v, 0, vcpu_id);
}

void vcpu_merge(struct vcpu_rec *dst, const struct vcpu_rec *src)
{
	for (int t = 0; t < NR_FAULT_TYPES; t++)
		wait_stat_merge(&dst->fault[t], &src->fault[t]);
	for (int p = 0; p < NR_FAULT_PATHS; p++)
		dst->path[p] += src->path[p];
	for (int k = 0; k < NR_KVM_COUNTERS; k++)
		dst->kvm[k] += src->kvm[k];
}

void vm_fault_totals(const struct vm_rec *v, struct vcpu_rec *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->vcpu_id = -1;
	for (size_t i = 0; i < v->nr_vcpu_recs; i++)
		vcpu_merge(sum, &v->vcpus[i]);
}

static uint64_t probed_faults(const struct vcpu_rec *c)
{
	uint64_t n = 0;

	for (int t = 0; t < NR_FAULT_TYPES; t++)
		n += c->fault[t].count;
	return n;
}

bool fault_from_kvm(const struct vcpu_rec *c)
{
	return !probed_faults(c) && c->kvm[KC_PF_TAKEN];
}

uint64_t fault_count(const struct vcpu_rec *c)
{
	return fault_from_kvm(c) ? c->kvm[KC_PF_TAKEN] : probed_faults(c);
}

void fault_fast_slow(const struct vcpu_rec *c, uint64_t *fast, uint64_t *slow)
{
	if (fault_from_kvm(c)) {
		/* Everything the fast path did not resolve went under mmu_lock. */
		*fast = c->kvm[KC_PF_FAST];
		*slow = c->kvm[KC_PF_TAKEN] > *fast ? c->kvm[KC_PF_TAKEN] - *fast : 0;
		return;
	}
	*fast = c->path[PATH_RELAX_READ] + c->path[PATH_FAST_FIXED] + c->path[PATH_FAST_SPURIOUS];
	*slow = c->path[PATH_RELAX_WRITE] + c->path[PATH_FAST_MISSED];
}

double fault_hit_rate(const struct vcpu_rec *c)
{
	uint64_t perm = c->fault[FAULT_PERMISSION].count, fast, slow, seen;

	fault_fast_slow(c, &fast, &slow);
	/*
	 * KVM counts pf_taken before a fault and pf_fast after it, and a read can
	 * fall between the two: an interval may hold a fix whose fault is in the last.
	 */
	if (fault_from_kvm(c))
		return fast >= c->kvm[KC_PF_TAKEN] ? 1.0 : (double)fast / c->kvm[KC_PF_TAKEN];
	seen = fast + slow;
	/* No resolution observed: the backend could not see them (tracepoints). */
	if (!perm || !seen)
		return -1;
	/* A fix counted whose fault entry was missed (probe attached mid-fault). */
	return fast >= perm ? 1.0 : (double)fast / perm;
}

const char *vm_hold(const struct vm_rec *v, int mode, struct wait_stat *out)
{
	static const int sections[] = { VT_RELAX, VT_MAP, VT_WRPROT };
	bool lockfn = false;

	for (int m = 0; m < NR_MODES; m++)
		lockfn |= v->timing[VT_HOLD][m].count > 0;
	memset(out, 0, sizeof(*out));
	if (lockfn) {
		*out = v->timing[VT_HOLD][mode];
		return "lock_functions";
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		wait_stat_merge(out, &v->timing[sections[i]][mode]);
	return "critical_sections";
}

int run_add_missing(struct run *r, const char *what, const char *why)
{
	struct missing *m = push(&r->missing, &r->nr_missing, sizeof(*m));

	if (!m)
		return -ENOMEM;
	strncpy(m->what, what, sizeof(m->what) - 1);
	strncpy(m->why, why, sizeof(m->why) - 1);
	return 0;
}

struct prog_stat *run_add_prog_stat(struct run *r, const char *name)
{
	struct prog_stat *p = push(&r->prog_stats.progs, &r->prog_stats.nr_progs, sizeof(*p));

	if (p)
		snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

static int merge_lock(struct run *dst, const struct lock_rec *src)
{
	struct lock_rec *l = run_lock(dst, src->addr);

	if (!l)
		return -ENOMEM;
	if (src->kvm)
		l->kvm = src->kvm;
	if (src->in_kvm)
		l->in_kvm = src->in_kvm;
	if (src->name[0])
		memcpy(l->name, src->name, sizeof(l->name));
	for (int m = 0; m < NR_MODES; m++)
		wait_stat_merge(&l->mode[m], &src->mode[m]);
	for (size_t i = 0; i < src->nr_tasks; i++) {
		const struct task_rec *st = &src->tasks[i];
		struct task_rec *t = lock_task(l, st->tid);

		if (!t)
			return -ENOMEM;
		t->tgid = st->tgid;
		t->in_vmm |= st->in_vmm;
		if (st->comm[0])
			memcpy(t->comm, st->comm, sizeof(t->comm));
		for (int m = 0; m < NR_MODES; m++)
			wait_stat_merge(&t->mode[m], &st->mode[m]);
	}
	for (size_t i = 0; i < src->nr_stacks; i++) {
		const struct stack_rec *ss = &src->stacks[i];
		struct stack_rec *s = lock_stack(l, ss->stack_id, ss->tid, ss->mode);

		if (!s)
			return -ENOMEM;
		s->count += ss->count;
		s->total_ns += ss->total_ns;
		if (ss->last_ns > s->last_ns)
			s->last_ns = ss->last_ns;
		s->path = ss->path;
		if (ss->nr_ips) {
			s->nr_ips = ss->nr_ips;
			memcpy(s->ips, ss->ips, sizeof(s->ips));
		}
	}
	return 0;
}

static int merge_vm_faults(struct vm_rec *dst, const struct vm_rec *src)
{
	for (size_t i = 0; i < src->nr_vcpu_recs; i++) {
		const struct vcpu_rec *sc = &src->vcpus[i];
		struct vcpu_rec *c = vm_vcpu(dst, sc->tid, sc->vcpu_id);

		if (!c)
			return -ENOMEM;
		vcpu_merge(c, sc);
	}
	for (int t = 0; t < NR_VM_TIMINGS; t++)
		for (int m = 0; m < NR_MODES; m++)
			wait_stat_merge(&dst->timing[t][m], &src->timing[t][m]);
	return 0;
}

/*
 * A thread of a VMM process is the VMM's on every lock it waited on, whatever
 * the probe could tell at its first wait there (before its VM's mmu_lock was seen).
 */
static void mark_vmm_threads(struct run *r)
{
	for (size_t i = 0; i < r->nr_locks; i++)
		for (size_t j = 0; j < r->locks[i].nr_tasks; j++) {
			struct task_rec *t = &r->locks[i].tasks[j];

			for (size_t v = 0; !t->in_vmm && t->tgid && v < r->nr_vms; v++)
				t->in_vmm = r->vms[v].pid == t->tgid;
		}
}

int run_merge(struct run *dst, const struct run *src)
{
	for (size_t i = 0; i < src->nr_locks; i++)
		if (merge_lock(dst, &src->locks[i]))
			return -ENOMEM;
	for (size_t i = 0; i < src->nr_vms; i++) {
		const struct vm_rec *sv = &src->vms[i];
		struct vm_rec *v = run_vm(dst, sv->pid, sv->kvm);

		if (!v)
			return -ENOMEM;
		if (sv->mmu_lock)
			v->mmu_lock = sv->mmu_lock;
		if (sv->comm[0])
			memcpy(v->comm, sv->comm, sizeof(v->comm));
		if (sv->nr_vcpus >= 0)
			v->nr_vcpus = sv->nr_vcpus;
		if (merge_vm_faults(v, sv))
			return -ENOMEM;
	}
	for (int d = 0; d < NR_DROPS; d++)
		dst->drops[d] += src->drops[d];
	mark_vmm_threads(dst);
	return 0;
}

void run_stamp_stacks(struct run *r, uint64_t t_ns)
{
	for (size_t i = 0; i < r->nr_locks; i++)
		for (size_t j = 0; j < r->locks[i].nr_stacks; j++)
			r->locks[i].stacks[j].last_ns = t_ns;
}

void lock_wait_paths(const struct lock_rec *l, struct count_ns out[NR_WAIT_PATHS])
{
	memset(out, 0, NR_WAIT_PATHS * sizeof(*out));
	for (size_t i = 0; l && i < l->nr_stacks; i++) {
		const struct stack_rec *s = &l->stacks[i];
		struct count_ns *p = &out[s->path < NR_WAIT_PATHS ? s->path : WP_OTHER];

		p->count += s->count;
		p->total_ns += s->total_ns;
	}
}

const struct lock_rec *vm_lock(const struct run *r, const struct vm_rec *vm)
{
	return vm->mmu_lock ? run_find_lock(r, vm->mmu_lock) : NULL;
}

static uint64_t lock_wait(const struct lock_rec *l)
{
	uint64_t t = 0;

	for (int m = 0; m < NR_MODES; m++)
		t += l->mode[m].total_ns;
	return t;
}

static int by_wait_desc(const void *a, const void *b)
{
	uint64_t wa = lock_wait(*(const struct lock_rec **)a);
	uint64_t wb = lock_wait(*(const struct lock_rec **)b);

	return wa < wb ? 1 : wa > wb ? -1 : 0;
}

const struct lock_rec **run_locks_by_wait(const struct run *r, bool mmu_only)
{
	const struct lock_rec **v = calloc(r->nr_locks + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < r->nr_locks; i++)
		if (!mmu_only || r->locks[i].kvm)
			v[n++] = &r->locks[i];
	qsort(v, n, sizeof(*v), by_wait_desc);
	return v;	/* NULL-terminated */
}

void run_drop_vmm(struct run *r, uint32_t pid)
{
	for (size_t i = r->nr_vms; i-- > 0;) {
		struct vm_rec *v = &r->vms[i];
		struct lock_rec *l;

		if (v->pid != pid)
			continue;
		if ((l = v->mmu_lock ? run_find_lock(r, v->mmu_lock) : NULL)) {
			free(l->tasks);
			free(l->stacks);
			*l = r->locks[--r->nr_locks];
		}
		free(v->vcpus);
		r->vms[i] = r->vms[--r->nr_vms];
	}
}

void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->schema, RUN_SCHEMA);
	r->exit_status = -1;
}

void run_free(struct run *r)
{
	for (size_t i = 0; i < r->nr_locks; i++) {
		free(r->locks[i].tasks);
		free(r->locks[i].stacks);
	}
	free(r->locks);
	for (size_t i = 0; i < r->nr_vms; i++)
		free(r->vms[i].vcpus);
	free(r->vms);
	free(r->missing);
	free(r->timeline);
	free(r->prog_stats.progs);
	run_init(r);
}

/* ---- rows of one interval ---- */

/* The TM_* bits of what r did not measure (from its backends). */
static uint32_t run_unmeasured(const struct run *r)
{
	const char *faults = r->metric_backend[FM_FAULTS];
	uint32_t m = 0;

	if (!faults[0])
		m |= TM_FAULTS | TM_FAULT_TYPES;
	else if (!strcmp(faults, "kvm_stats"))
		m |= TM_FAULT_TYPES;
	if (!r->metric_backend[FM_FAST_PATH][0])
		m |= TM_FAST_PATH;
	if (!r->metric_backend[FM_DIRTY_LOG][0])
		m |= TM_DIRTY_LOG;
	return m;
}

/* The interval's record of a VM of the whole run (NULL: idle). */
static const struct vm_rec *delta_vm(const struct run *d, const struct vm_rec *tv)
{
	for (size_t i = 0; i < d->nr_vms; i++) {
		const struct vm_rec *v = &d->vms[i];

		if (v->pid == tv->pid && (v->kvm == tv->kvm || !v->kvm || !tv->kvm))
			return v;
	}
	return NULL;
}

static void add_timing(struct count_ns *c, const struct wait_stat mode[NR_MODES])
{
	for (int m = 0; m < NR_MODES; m++) {
		c->count += mode[m].count;
		c->total_ns += mode[m].total_ns;
	}
}

static void fill_row(struct timeline_row *row, const struct run *delta, const struct vm_rec *tv)
{
	const struct vm_rec *dv = delta_vm(delta, tv);
	const struct lock_rec *l = tv->mmu_lock ? run_find_lock(delta, tv->mmu_lock) : NULL;
	struct vcpu_rec sum = {};

	row->kvm = tv->kvm;
	row->pid = tv->pid;
	memcpy(row->comm, tv->comm, sizeof(row->comm));
	if (dv)
		vm_fault_totals(dv, &sum);
	for (int t = 0; t < NR_FAULT_TYPES; t++)
		row->faults[t] = sum.fault[t].count;
	row->faults_total = fault_count(&sum);
	fault_fast_slow(&sum, &row->fast_path_fast, &row->fast_path_slow);
	row->fast_path_share = fault_hit_rate(&sum);
	for (int m = 0; l && m < NR_MODES; m++)
		row->waits[m] = (struct count_ns){ l->mode[m].count, l->mode[m].total_ns };
	lock_wait_paths(l, row->paths);
	if (dv) {
		add_timing(&row->get_dirty_log, dv->timing[VT_GET_DIRTY_LOG]);
		add_timing(&row->clear_dirty_log, dv->timing[VT_CLEAR_DIRTY_LOG]);
	}
}

int run_add_interval_rows(struct run *total, const struct run *delta,
			  const struct interval_span *iv)
{
	struct timeline_row *rows;
	size_t n = total->nr_timeline;

	rows = realloc(total->timeline, (n + total->nr_vms + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	total->timeline = rows;
	for (size_t i = 0; i < total->nr_vms; i++) {
		struct timeline_row *row = &rows[n + i];

		memset(row, 0, sizeof(*row));
		row->interval = iv->index;
		row->t_start_s = iv->t_start_s;
		row->t_end_s = iv->t_end_s;
		row->unix_start = iv->unix_start;
		row->unix_end = iv->unix_start + (iv->t_end_s - iv->t_start_s);
		fill_row(row, delta, &total->vms[i]);
		row->unmeasured = run_unmeasured(total);
	}
	total->nr_timeline += total->nr_vms;
	return 0;
}
