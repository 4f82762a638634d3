/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structs and limits shared by the BPF programs and user space.
 * Keep it free of libc and vmlinux.h types: both sides include it.
 */
#ifndef KVMLOCKSTAT_H
#define KVMLOCKSTAT_H

#define MAX_SLOTS	36	/* log2(ns) histogram: slot 35 holds >= 2^35 ns (34 s) */
#define MAX_STACK_DEPTH	32
#define TASK_COMM_LEN	16
#define MAX_LOCK_ENTRIES	16384	/* default size of the aggregation maps (-M) */
#define MAX_TSTAMP_ENTRIES	16384	/* tasks waiting at once */

/* Acquisition mode, from the contention_begin flags. */
enum lock_mode {
	MODE_READ,	/* LCB_F_READ: rwlock/rwsem reader */
	MODE_WRITE,	/* LCB_F_WRITE: rwlock/rwsem writer */
	MODE_SPIN,	/* LCB_F_SPIN alone: spinlock (mmu_lock before the rwlock change) */
	MODE_MUTEX,	/* LCB_F_MUTEX */
	MODE_OTHER,	/* sleeping locks without a mode flag */
	NR_MODES,
};

/* Kernel's LCB_F_* (include/trace/events/lock.h); stable since 5.19. */
#define LCB_F_SPIN	(1U << 0)
#define LCB_F_READ	(1U << 1)
#define LCB_F_WRITE	(1U << 2)
#define LCB_F_RT	(1U << 3)
#define LCB_F_PERCPU	(1U << 4)
#define LCB_F_MUTEX	(1U << 5)

struct wait_stat {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 min_ns;
	__u64 hist[MAX_SLOTS];
};

/* One contended lock, one waiting task, one mode. */
struct lock_key {
	__u64 lock;
	__u32 tid;
	__u32 mode;
};

/* Same, split by the kernel call chain that waited. */
struct stack_key {
	__u64 lock;
	__u32 tid;
	__u32 mode;
	__s32 stack_id;
	__u32 pad;
};

struct stack_val {
	__u64 count;
	__u64 total_ns;
};

/* What BPF learnt about a lock the first time it saw it contend. */
struct lock_info {
	__u64 kvm;		/* struct kvm * owning it, 0 if not an mmu_lock */
	__u32 vmm_pid;		/* kvm->userspace_pid (the thread that created the VM) */
	__u32 is_mmu_lock;
	char vmm_comm[TASK_COMM_LEN];	/* group leader's comm if seen from the VMM */
};

struct task_info {
	__u32 tgid;
	__u32 in_vmm;		/* task shares the mm of a VM whose mmu_lock it waited on */
	char comm[TASK_COMM_LEN];
};

/* Events BPF could not account, reported so that no loss is silent. */
enum drop_reason {
	DROP_NESTED,		/* contention_begin while the task already waits */
	DROP_TSTAMP_FULL,	/* too many tasks waiting at once */
	DROP_STAT_FULL,		/* aggregation map full (-M) */
	DROP_STACK,		/* call chain not recorded */
	DROP_INFO_FULL,		/* lock or task identity map full */
	NR_DROPS,
};

#endif
