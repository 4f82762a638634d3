// SPDX-License-Identifier: GPL-2.0
/*
 * Metric families of the exporter.  Names and units follow Prometheus
 * conventions (seconds, _total counters, one family per measured figure).
 * Each family's samples are written together, VM after VM, as the format
 * requires; families whose probe is missing are left out (probe_up says
 * why) rather than exported as zeros that look measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"

#define NS 1e-9

/* mmu_lock modes a KVM mmu_lock can be waited for in (rwlock, or spinlock before 5.18). */
static const int lock_modes[] = { MODE_READ, MODE_WRITE, MODE_SPIN };
#define NR_LOCK_MODES (sizeof(lock_modes) / sizeof(lock_modes[0]))

static bool measured(const struct run *r, enum fault_metric m)
{
	return r->metric_backend[m][0] != '\0';
}

static void vm_labels(struct prom_labels *l, const struct fleet *f, const struct vm_rec *v)
{
	const struct fleet_vmm *s = fleet_vmm(f, v->pid);

	memset(l, 0, sizeof(*l));
	prom_label_u64(l, "vm_pid", v->pid);
	prom_label(l, "vm_name", s && s->name[0] ? s->name : v->comm);
}

static const struct wait_stat *vm_waits(const struct fleet *f, const struct vm_rec *v, int mode)
{
	static const struct wait_stat none;
	const struct fleet_vmm *s = fleet_vmm(f, v->pid);

	return s ? &s->waits[mode] : &none;
}

static void lock_families(struct prom_buf *b, const struct fleet *f)
{
	const struct run *r = &f->total;
	struct prom_labels l;

	prom_family(b, "kvmlockstat_mmu_lock_contentions_total", "counter",
		    "Contended acquisitions of the VM's kvm->mmu_lock (lock:contention_begin), by mode.");
	for (size_t i = 0; i < r->nr_vms; i++)
		for (size_t m = 0; m < NR_LOCK_MODES; m++) {
			vm_labels(&l, f, &r->vms[i]);
			prom_label(&l, "mode", mode_names[lock_modes[m]]);
			prom_sample_u64(b, "kvmlockstat_mmu_lock_contentions_total", &l,
					vm_waits(f, &r->vms[i], lock_modes[m])->count);
		}
	prom_family(b, "kvmlockstat_mmu_lock_wait_seconds", "histogram",
		    "Time waited for the VM's kvm->mmu_lock per contended acquisition, by mode.");
	for (size_t i = 0; i < r->nr_vms; i++)
		for (size_t m = 0; m < NR_LOCK_MODES; m++) {
			const struct wait_stat *w = vm_waits(f, &r->vms[i], lock_modes[m]);

			vm_labels(&l, f, &r->vms[i]);
			prom_label(&l, "mode", mode_names[lock_modes[m]]);
			prom_histogram_log2ns(b, "kvmlockstat_mmu_lock_wait_seconds", &l, w->hist,
					      MAX_SLOTS, w->count, w->total_ns);
		}
}

/* The same waits by the waiter's path: who wanted the lock (the seed's writers). */
static void path_families(struct prom_buf *b, const struct fleet *f)
{
	static const char *const names[2] = {
		"kvmlockstat_mmu_lock_path_contentions_total",
		"kvmlockstat_mmu_lock_path_wait_seconds_total",
	};
	static const char *const helps[2] = {
		"Contended acquisitions of the VM's mmu_lock by the waiter's path, from its call chain.",
		"Time waited for the VM's mmu_lock by the waiter's path.",
	};
	const struct run *r = &f->total;
	struct prom_labels l;

	for (int n = 0; n < 2; n++) {
		prom_family(b, names[n], "counter", helps[n]);
		for (size_t i = 0; i < r->nr_vms; i++) {
			const struct fleet_vmm *s = fleet_vmm(f, r->vms[i].pid);

			for (int p = 0; p < NR_WAIT_PATHS; p++) {
				const struct count_ns *c = s ? &s->paths[p] : &(struct count_ns){ 0 };

				vm_labels(&l, f, &r->vms[i]);
				prom_label(&l, "path", wait_path_names[p]);
				if (n)
					prom_sample(b, names[n], &l, c->total_ns * NS);
				else
					prom_sample_u64(b, names[n], &l, c->count);
			}
		}
	}
}

/*
 * The fault records a VM's series come from: its vCPU threads added up, or
 * with per_vcpu one record per vCPU id (threads of one id added up).
 */
static struct vcpu_rec *fault_rows(const struct vm_rec *v, bool per_vcpu, size_t *n)
{
	struct vcpu_rec *rows = calloc(v->nr_vcpu_recs + 1, sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	if (!per_vcpu) {
		vm_fault_totals(v, &rows[0]);
		*n = 1;
		return rows;
	}
	for (size_t i = 0; i < v->nr_vcpu_recs; i++) {
		size_t j = 0;

		while (j < *n && rows[j].vcpu_id != v->vcpus[i].vcpu_id)
			j++;
		if (j == *n)
			rows[(*n)++].vcpu_id = v->vcpus[i].vcpu_id;
		vcpu_merge(&rows[j], &v->vcpus[i]);
	}
	return rows;
}

static void fault_labels(struct prom_labels *l, const struct fleet *f, const struct vm_rec *v,
			 const struct vcpu_rec *row, bool per_vcpu)
{
	vm_labels(l, f, v);
	if (!per_vcpu)
		return;
	if (row->vcpu_id >= 0)
		prom_label_u64(l, "vcpu", row->vcpu_id);
	else
		prom_label(l, "vcpu", "unknown");
}

/* What one fault family exports from one row. */
struct fault_family {
	const char *name, *help;
	const char *label;		/* extra label, or NULL */
	const char *const *values;	/* its values */
	int nr_values;
	uint64_t (*value)(const struct vcpu_rec *c, int i);
};

static uint64_t by_type(const struct vcpu_rec *c, int i) { return c->fault[i].count; }
static uint64_t by_path(const struct vcpu_rec *c, int i) { return c->path[i]; }
static uint64_t permission(const struct vcpu_rec *c, int i) { return c->fault[FAULT_PERMISSION].count; }
static uint64_t all_faults(const struct vcpu_rec *c, int i) { return fault_count(c); }

/* Resolved without waiting for mmu_lock for write: fault_hit_rate()'s numerator. */
static uint64_t fast_fixes(const struct vcpu_rec *c, int i)
{
	uint64_t fast, slow;

	fault_fast_slow(c, &fast, &slow);
	return fast;
}

static void fault_family(struct prom_buf *b, const struct fleet *f, const struct fault_family *ff,
			 bool per_vcpu)
{
	const struct run *r = &f->total;
	struct prom_labels l;

	prom_family(b, ff->name, "counter", ff->help);
	for (size_t i = 0; i < r->nr_vms; i++) {
		size_t n;
		struct vcpu_rec *rows = fault_rows(&r->vms[i], per_vcpu, &n);

		if (!rows)
			b->oom = true;
		for (size_t j = 0; j < n; j++)
			for (int k = 0; k < (ff->label ? ff->nr_values : 1); k++) {
				fault_labels(&l, f, &r->vms[i], &rows[j], per_vcpu);
				if (ff->label)
					prom_label(&l, ff->label, ff->values[k]);
				prom_sample_u64(b, ff->name, &l, ff->value(&rows[j], k));
			}
		free(rows);
	}
}

static void fault_families(struct prom_buf *b, const struct fleet *f, bool per_vcpu)
{
	static const struct fault_family types = {
		"kvmlockstat_stage2_faults_total",
		"Stage-2 (arm64) / TDP (x86) faults taken by the VM's vCPUs, by type.",
		"type", fault_type_names, NR_FAULT_TYPES, by_type,
	}, fixes = {
		"kvmlockstat_fast_path_fixes_total",
		"Permission faults fixed on the fast path: relaxed under the read lock (arm64), "
		"fixed or found fixed without mmu_lock (x86 fast_page_fault).",
		NULL, NULL, 0, fast_fixes,
	}, perms = {
		"kvmlockstat_fast_path_permission_faults_total",
		"Permission faults, the fast path's candidates: rate(fixes) / rate(this) is its share.",
		NULL, NULL, 0, permission,
	}, paths = {
		"kvmlockstat_fault_resolutions_total",
		"How faults were resolved, by path.",
		"path", fault_path_names, NR_FAULT_PATHS, by_path,
	}, kvm_faults = {
		"kvmlockstat_faults_total",
		"Faults taken by the VM's vCPUs, KVM's own count (x86 pf_taken, not split by type; "
		"--fault-types probes them): rate(fast_path_fixes) / rate(this) is the share fixed "
		"without mmu_lock.",
		NULL, NULL, 0, all_faults,
	};
	const struct run *r = &f->total;
	/* KVM's counters give all faults and the lockless fixes, nothing by type or path. */
	bool kvm = !strcmp(r->metric_backend[FM_FAULTS], "kvm_stats");

	if (measured(r, FM_FAULTS))
		fault_family(b, f, kvm ? &kvm_faults : &types, per_vcpu);
	if (measured(r, FM_FAST_PATH)) {
		fault_family(b, f, &fixes, per_vcpu);
		if (!kvm) {
			fault_family(b, f, &perms, per_vcpu);
			fault_family(b, f, &paths, per_vcpu);
		}
	}
}

/* A counter pair (seconds and count) of per-VM durations, one sample per key. */
static void duration_pair(struct prom_buf *b, const struct fleet *f, const char *name,
			  const char *help, const char *label, const char *const *keys, int nr_keys,
			  void (*stat)(const struct vm_rec *v, int key, struct wait_stat *out))
{
	const struct run *r = &f->total;
	char seconds[128], count[128], h[256];
	struct prom_labels l;
	struct wait_stat w;

	snprintf(seconds, sizeof(seconds), "kvmlockstat_%s_seconds_total", name);
	snprintf(count, sizeof(count), "kvmlockstat_%s_total", name);
	for (int pass = 0; pass < 2; pass++) {
		snprintf(h, sizeof(h), "%s: %s.", help, pass ? "count" : "total seconds");
		prom_family(b, pass ? count : seconds, "counter", h);
		for (size_t i = 0; i < r->nr_vms; i++)
			for (int k = 0; k < nr_keys; k++) {
				stat(&r->vms[i], k, &w);
				vm_labels(&l, f, &r->vms[i]);
				prom_label(&l, label, keys[k]);
				if (pass)
					prom_sample_u64(b, count, &l, w.count);
				else
					prom_sample(b, seconds, &l, w.total_ns * NS);
			}
	}
}

static const char *const hold_modes[] = { "read", "write", "spin" };
static const char *const ioctls[] = { "get_dirty_log", "clear_dirty_log" };

static void hold_stat(const struct vm_rec *v, int k, struct wait_stat *out)
{
	vm_hold(v, lock_modes[k], out);
}

static void ioctl_stat(const struct vm_rec *v, int k, struct wait_stat *out)
{
	memset(out, 0, sizeof(*out));
	/* The ioctls are timed in mode "other" (no mmu_lock mode applies). */
	wait_stat_sum_modes(out, v->timing[k ? VT_CLEAR_DIRTY_LOG : VT_GET_DIRTY_LOG]);
}

static void vm_gauges(struct prom_buf *b, const struct fleet *f)
{
	const struct run *r = &f->total;
	struct prom_labels l;

	prom_family(b, "kvmlockstat_vm_vcpus", "gauge", "vCPU fds the VMM holds (-1: unknown).");
	for (size_t i = 0; i < r->nr_vms; i++) {
		vm_labels(&l, f, &r->vms[i]);
		prom_sample(b, "kvmlockstat_vm_vcpus", &l, r->vms[i].nr_vcpus);
	}
	prom_family(b, "kvmlockstat_vms", "gauge", "VMM processes with series (running or within the grace period).");
	prom_sample_u64(b, "kvmlockstat_vms", NULL, r->nr_vms);
	prom_family(b, "kvmlockstat_vms_dropped_total", "counter",
		    "VMM processes whose series were dropped after they exited and the grace period ran out.");
	prom_sample_u64(b, "kvmlockstat_vms_dropped_total", NULL, f->dropped_vmms);
}

static const struct missing *missing(const struct run *r, const char *what)
{
	for (size_t i = 0; i < r->nr_missing; i++)
		if (!strcmp(r->missing[i].what, what))
			return &r->missing[i];
	return NULL;
}

static void probe_up(struct prom_buf *b, const char *family, const char *probe, bool up)
{
	struct prom_labels l = { 0 };

	prom_label(&l, "family", family);
	prom_label(&l, "probe", probe);
	prom_sample_u64(b, "kvmlockstat_probe_up", &l, up);
}

static void health(struct prom_buf *b, const struct run *r)
{
	struct prom_labels l;

	prom_family(b, "kvmlockstat_probe_up", "gauge",
		    "1 if the probe is attached and measuring, 0 if it could not be (see the exporter's log).");
	probe_up(b, "lock", "contention", r->backend[0]);
	/* Only where mmu_lock is a spinlock: its first waiter needs the slow-path kprobe. */
	if (strstr(r->backend, "+kprobe") || missing(r, "spinlock first waiters"))
		probe_up(b, "lock", "spin_slowpath", strstr(r->backend, "+kprobe"));
	probe_up(b, "kvm", "mmu_lock", !missing(r, "mmu_lock"));
	/* kallsyms addresses (CAP_SYSLOG): name the waiters' paths from their call chains. */
	probe_up(b, "lock", "symbols", !missing(r, "symbols"));
	/* Fault latency is not exported (nor asked for: an exit probe on every fault). */
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		if (m != FM_LATENCY)
			probe_up(b, "fault", fault_metric_names[m], measured(r, m));
	prom_family(b, "kvmlockstat_drops_total", "counter",
		    "Events the probes could not account, by reason.");
	for (int d = 0; d < NR_DROPS; d++) {
		memset(&l, 0, sizeof(l));
		prom_label(&l, "reason", drop_names[d]);
		prom_sample_u64(b, "kvmlockstat_drops_total", &l, r->drops[d]);
	}
	prom_family(b, "kvmlockstat_build_info", "gauge", "kvmlockstat version and the kernel it runs on.");
	memset(&l, 0, sizeof(l));
	prom_label(&l, "version", r->version);
	prom_label(&l, "kernel", r->kernel);
	prom_sample_u64(b, "kvmlockstat_build_info", &l, 1);
}

void metrics_render(struct prom_buf *b, const struct fleet *f, const struct metrics_opts *o)
{
	const struct run *r = &f->total;

	lock_families(b, f);
	if (!missing(r, "symbols"))	/* paths are named from kallsyms */
		path_families(b, f);
	fault_families(b, f, o->per_vcpu);
	if (measured(r, FM_HOLD))
		duration_pair(b, f, "mmu_lock_hold", "kvm->mmu_lock held by the VM's faults and "
			      "dirty logging, by mode", "mode", hold_modes, 3, hold_stat);
	if (measured(r, FM_DIRTY_LOG))
		duration_pair(b, f, "dirty_log_ioctl", "KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG ioctls",
			      "ioctl", ioctls, 2, ioctl_stat);
	vm_gauges(b, f);
	health(b, r);
}
