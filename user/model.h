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

struct stack_rec {
	int32_t stack_id;		/* BPF stack id, valid within one run only */
	uint32_t tid, mode;
	uint64_t count, total_ns;
	uint32_t nr_ips;
	uint64_t ips[MAX_STACK_DEPTH];	/* innermost first */
};

struct lock_rec {
	uint64_t addr;
	uint64_t kvm;			/* owning struct kvm for an mmu_lock, else 0 */
	char name[64];			/* "mmu_lock", or the top caller's symbol */
	struct wait_stat mode[NR_MODES];
	struct task_rec *tasks;
	size_t nr_tasks;
	struct stack_rec *stacks;
	size_t nr_stacks;
};

struct vm_rec {
	uint64_t kvm, mmu_lock;		/* 0 when the VM never contended */
	uint32_t pid;			/* VMM process (tgid) */
	char comm[TASK_COMM_LEN];
	int nr_vcpus;			/* kvm-vcpu fds of the VMM, -1 if unknown */
};

struct missing {
	char what[64];			/* metric or probe */
	char why[192];
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
	struct missing *missing;
	size_t nr_missing;
	uint64_t drops[NR_DROPS];
	struct lock_rec *locks;
	size_t nr_locks;
	struct vm_rec *vms;
	size_t nr_vms;
};

extern const char *const mode_names[NR_MODES];
extern const char *const drop_names[NR_DROPS];
int mode_from_name(const char *name);

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

/* Adds everything in src (one interval) into dst (the whole run). */
int run_merge(struct run *dst, const struct run *src);
/* Totals of a VM's mmu_lock, zero when it never contended. */
const struct lock_rec *vm_lock(const struct run *r, const struct vm_rec *vm);
/* Locks sorted by total wait, most first; caller frees the array. */
const struct lock_rec **run_locks_by_wait(const struct run *r, bool mmu_only);

void run_init(struct run *r);
void run_free(struct run *r);

#endif
