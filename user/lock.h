/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lock family's variants and their choice from the kernel facts (a
 * pure function: the unit tests hold it to kernels they describe).
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>

struct kfacts;

/* Program sets of bpf/lock.bpf.c. */
enum lock_variant {
	LV_BTF,		/* tp_btf on lock:contention_begin/end */
	LV_RAW,		/* raw_tp on the same */
	LV_SPIN,	/* kprobe pair on the spinlock slow path */
	LV_RW_FENTRY,	/* fentry/fexit on queued_{read,write}_lock_slowpath */
	LV_RW_KPROBE,	/* kprobe/kretprobe on the same */
};

/* Most links one variant makes: the spinlock pair on three names, two rwlock pairs. */
#define MAX_LOCK_LINKS 16

struct lock_plan {
	bool tracepoints;	/* lock:contention_*: LV_BTF, else LV_RAW */
	bool spin;		/* LV_SPIN */
	int rw;			/* LV_RW_FENTRY, LV_RW_KPROBE, or -1 */
	bool task_storage;	/* wait slots in task storage, else by thread id (before 5.11) */
	char why[192];		/* the family cannot run on this kernel: why; else "" */
};

/*
 * The variants for kernel kf (all_locks: --all-locks).  0, or -ENOENT with
 * p->why saying what the kernel lacks.
 */
int lock_plan(const struct kfacts *kf, bool all_locks, struct lock_plan *p);

#endif
