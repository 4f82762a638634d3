/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run model: one struct tree per run (VMs, locks, tasks, stacks,
 * histograms).  The collector fills it from BPF maps, the JSON reader
 * fills it from a record, and every output renders it.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "kvmlockstat.h"

#define RUN_SCHEMA "kvmlockstat-run/1"

struct task_rec {
	uint32_t tid, tgid;
	char comm[TASK_COMM_LEN];
	bool in_vmm;			/* shares the VMM's mm (vCPU, VMM thread) */
	struct wait_stat mode[NR_MODES];
};

/*
 * Path a mmu_lock waiter was on (user/waitpath.c): the writers the seed's
 * analysis names, from the wait's call chain.
 */
enum wait_path {
	WP_DIRTY_LOG,		/* KVM_GET/CLEAR_DIRTY_LOG (and other VM ioctls) */
	WP_MMU_NOTIFIER,	/* host MM: unmap, invalidate, age, change_pte */
	WP_FAULT,		/* a vCPU's stage-2 / TDP fault */
	WP_OTHER,		/* none of those, or an unnamed chain */
	NR_WAIT_PATHS,
};

struct count_ns {
	uint64_t count, total_ns;
};

struct stack_rec {
	int32_t stack_id;		/* BPF stack id, valid within one run only */
	uint32_t tid, mode;
	uint32_t path;			/* enum wait_path */
	uint64_t count, total_ns;
	uint64_t last_ns;		/* end of the last interval it waited in, since the run began */
	uint32_t nr_ips;
	uint64_t ips[MAX_STACK_DEPTH];	/* innermost first */
};

struct lock_rec {
	uint64_t addr;
	uint64_t kvm;			/* owning struct kvm for an mmu_lock, else 0 */
	uint64_t in_kvm;		/* the struct kvm another of its locks lies in, else 0 */
	char name[64];			/* "mmu_lock", or the top caller's symbol */
	struct wait_stat mode[NR_MODES];
	struct task_rec *tasks;
	size_t nr_tasks;
	struct stack_rec *stacks;
	size_t nr_stacks;
};

/* Fault path of one vCPU thread (fault family, or KVM's counters: tid 0). */
struct vcpu_rec {
	uint32_t tid;
	int32_t vcpu_id;		/* -1 when the probe could not tell */
	/* Latency per fault type; only count is set under the tracepoint backend. */
	struct wait_stat fault[NR_FAULT_TYPES];
	uint64_t path[NR_FAULT_PATHS];	/* how faults were resolved (enum fault_path) */
	uint64_t kvm[NR_KVM_COUNTERS];	/* KVM's counters over the same span */
};

struct vm_rec {
	uint64_t kvm, mmu_lock;		/* 0 when the VM never contended */
	uint32_t pid;			/* VMM process (tgid) */
	char comm[TASK_COMM_LEN];
	int nr_vcpus;			/* kvm-vcpu fds of the VMM, -1 if unknown */
	struct vcpu_rec *vcpus;		/* fault family, one per vCPU thread */
	size_t nr_vcpu_recs;
	/* Durations under / around mmu_lock, by the mode held (enum vm_timing). */
	struct wait_stat timing[NR_VM_TIMINGS][NR_MODES];
};

/* What the fault family measures; each comes from one backend or is missing. */
enum fault_metric {
	FM_FAULTS,		/* faults by type */
	FM_LATENCY,		/* fault latency */
	FM_FAST_PATH,		/* fast-path hit rate */
	FM_HOLD,		/* mmu_lock hold time per mode */
	FM_DIRTY_LOG,		/* dirty-log ioctls and write-protect */
	NR_FAULT_METRICS,
};

struct missing {
	char what[64];			/* metric or probe */
	char why[192];
};

/* --prog-stats: one BPF program's cost, from the kernel's own accounting. */
struct prog_stat {
	char name[64];
	uint64_t run_cnt, run_time_ns, recursion_misses;
};

/* --prog-stats of a run: every program kvmlockstat held, and its own cost. */
struct prog_stats {
	double seconds;			/* over which run_cnt was counted; 0: not measured */
	struct prog_stat *progs;
	size_t nr_progs;
	double user_s, sys_s;		/* kvmlockstat's own CPU time */
	uint64_t maxrss_kb;
};

/* Figures a run may not measure: their cells are empty (CSV) or null (JSON), never 0. */
enum {
	TM_FAULTS = 1 << 0,		/* faults at all */
	TM_FAULT_TYPES = 1 << 1,	/* faults by type (KVM's counters do not split them) */
	TM_FAST_PATH = 1 << 2,
	TM_DIRTY_LOG = 1 << 3,		/* dirty-log ioctl calls and time */
};

/*
 * One interval of one VM (--timeline): a CSV row, and an element of the
 * record's "timeline" array (columns in user/timeline.c).
 */
struct timeline_row {
	uint32_t interval;
	double t_start_s, t_end_s;	/* since the run began */
	double unix_start, unix_end;	/* wall clock, to join with other logs */
	uint64_t kvm;
	uint32_t pid;
	char comm[TASK_COMM_LEN];
	uint64_t faults[NR_FAULT_TYPES];
	uint64_t faults_total;
	uint64_t fast_path_fast, fast_path_slow;
	double fast_path_share;		/* -1: not defined in this interval */
	struct count_ns waits[NR_MODES];
	struct count_ns paths[NR_WAIT_PATHS];
	struct count_ns get_dirty_log, clear_dirty_log;
	uint32_t unmeasured;		/* TM_* bits: figures this run did not measure */
};

struct run {
	char schema[32];
	char version[32];
	char hostname[65], kernel[65], arch[16];
	int ncpus;
	char start[32];			/* ISO 8601, UTC */
	uint64_t duration_ns;
	double interval_s;
	bool all_locks;
	uint32_t target_pid;		/* -p, or the traced command's pid */
	char command[256];		/* -- COMMAND as one string, "" if none */
	int exit_status;		/* of COMMAND, -1 if none */
	char backend[16];		/* tp_btf or raw_tp */
	/* Fault family: "fentry", "kprobe", "tracepoint", "" when not measured. */
	char metric_backend[NR_FAULT_METRICS][16];
	char hold_source[24];		/* "lock_functions" or "critical_sections" */
	struct missing *missing;
	size_t nr_missing;
	uint64_t drops[NR_DROPS];
	struct lock_rec *locks;
	size_t nr_locks;
	struct vm_rec *vms;
	size_t nr_vms;
	struct timeline_row *timeline;	/* --timeline, interval then VM order */
	size_t nr_timeline;
	struct prog_stats prog_stats;	/* --prog-stats */
};

extern const char *const mode_names[NR_MODES];
extern const char *const drop_names[NR_DROPS];
extern const char *const fault_type_names[NR_FAULT_TYPES];
extern const char *const fault_path_names[NR_FAULT_PATHS];
extern const char *const vm_timing_names[NR_VM_TIMINGS];
extern const char *const fault_metric_names[NR_FAULT_METRICS];
extern const char *const wait_path_names[NR_WAIT_PATHS];
extern const char *const kvm_counter_names[NR_KVM_COUNTERS];
int mode_from_name(const char *name);
/* Index of name in names[n], -1 if absent. */
int name_index(const char *const *names, int n, const char *name);

/* Histogram and wait-stat maths. */
void wait_stat_merge(struct wait_stat *dst, const struct wait_stat *src);
uint64_t wait_stat_mean(const struct wait_stat *s);
uint64_t wait_stat_percentile(const struct wait_stat *s, double pct);
void wait_stat_sum_modes(struct wait_stat *dst, const struct wait_stat mode[NR_MODES]);

/* Lookups that add the record when it is not there yet (NULL on ENOMEM). */
struct lock_rec *run_lock(struct run *r, uint64_t addr);
struct lock_rec *run_find_lock(const struct run *r, uint64_t addr);
struct task_rec *lock_task(struct lock_rec *l, uint32_t tid);
struct stack_rec *lock_stack(struct lock_rec *l, int32_t stack_id, uint32_t tid, uint32_t mode);
struct vm_rec *run_vm(struct run *r, uint32_t pid, uint64_t kvm);
int run_add_missing(struct run *r, const char *what, const char *why);
struct prog_stat *run_add_prog_stat(struct run *r, const char *name);
struct vcpu_rec *vm_vcpu(struct vm_rec *v, uint32_t tid, int32_t vcpu_id);
/* The vCPU of that id whatever its thread (KVM's counters know no thread). */
struct vcpu_rec *vm_vcpu_by_id(struct vm_rec *v, int32_t vcpu_id);

/* Waits of a lock by path, from its stacks (which carry the path). */
void lock_wait_paths(const struct lock_rec *l, struct count_ns out[NR_WAIT_PATHS]);
/* Fast-path resolutions (fast, slow) of c, whatever the architecture. */
void fault_fast_slow(const struct vcpu_rec *c, uint64_t *fast, uint64_t *slow);

/* Fault figures. */
void vcpu_merge(struct vcpu_rec *dst, const struct vcpu_rec *src);
/* All of a VM's vCPUs added up (tid 0, vcpu_id -1). */
void vm_fault_totals(const struct vm_rec *v, struct vcpu_rec *sum);

/* One interval's span: seconds since the run began, its start's unix time, its number. */
struct interval_span {
	double t_start_s, t_end_s;
	double unix_start;
	uint32_t index;			/* 0 for the run's first interval */
};

/*
 * Appends one timeline row per VM of total (delta's figures, zeros for a
 * VM idle in the interval) to total->timeline.
 */
int run_add_interval_rows(struct run *total, const struct run *delta,
			  const struct interval_span *iv);
/*
 * Fast-path fixes / permission faults, in [0, 1]; -1 without permission
 * faults or without any resolution seen (backend without the path probes).
 * From KVM's counters alone (no fault probed): pf_fast / pf_taken, the
 * share of all faults resolved without mmu_lock, since KVM does not split
 * its count by fault type.
 */
double fault_hit_rate(const struct vcpu_rec *c);
/* Faults probed, else KVM's count of them. */
uint64_t fault_count(const struct vcpu_rec *c);
/* No fault was probed, the figures are KVM's counters. */
bool fault_from_kvm(const struct vcpu_rec *c);
/*
 * mmu_lock hold time in mode: the lock-function figure where it exists,
 * else the critical sections measured under the lock.  Returns the source.
 */
const char *vm_hold(const struct vm_rec *v, int mode, struct wait_stat *out);

/* Adds everything in src (one interval) into dst (the whole run). */
int run_merge(struct run *dst, const struct run *src);
/* Marks every stack of an interval's drain as waited in by t_ns (since the run began). */
void run_stamp_stacks(struct run *r, uint64_t t_ns);
/* Totals of a VM's mmu_lock, zero when it never contended. */
const struct lock_rec *vm_lock(const struct run *r, const struct vm_rec *vm);
/* Locks sorted by total wait, most first; caller frees the array. */
const struct lock_rec **run_locks_by_wait(const struct run *r, bool mmu_only);

/* Removes a VMM's VMs and their mmu_lock records (a VM gone for good). */
void run_drop_vmm(struct run *r, uint32_t pid);

void run_init(struct run *r);
void run_free(struct run *r);

#endif
