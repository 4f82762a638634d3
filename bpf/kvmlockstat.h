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
#define MAX_LOCK_ENTRIES	16384	/* size of the aggregation maps */

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
	__u32 gen;		/* collection generation (see collect_next_generation) */
	__u32 pad;
};

/* Same, split by the kernel call chain that waited. */
struct stack_key {
	__u64 lock;
	__u32 tid;
	__u32 mode;
	__s32 stack_id;
	__u32 gen;
};

struct stack_val {
	__u64 count;
	__u64 total_ns;
};

/* What BPF learnt about a lock the first time it saw it contend. */
struct lock_info {
	__u64 kvm;		/* struct kvm * owning it, 0 if not an mmu_lock */
	__u32 vmm_pid;		/* VMM: tgid of a waiter sharing the VM's mm, else kvm->userspace_pid */
	char vmm_comm[TASK_COMM_LEN];	/* group leader's comm if seen from the VMM */
	__u64 mm;		/* kvm->mm when noted: another mm at the same address is a new VM */
};

struct task_info {
	__u32 tgid;
	__u32 in_vmm;		/* task shares the mm of a VM whose mmu_lock was seen */
	char comm[TASK_COMM_LEN];
};

/* Events BPF could not account, reported so that no loss is silent. */
enum drop_reason {
	DROP_NESTED,		/* contention_begin while the task already waits */
	DROP_TSTAMP_FULL,	/* no wait slot: task storage out of memory or busy on this CPU */
	DROP_STAT_FULL,		/* aggregation map full (MAX_LOCK_ENTRIES) */
	DROP_STACK,		/* call chain not recorded */
	DROP_INFO_FULL,		/* lock or task identity map full */
	DROP_FAULT_INFLIGHT,	/* fault family: no in-flight slot (task storage out of memory or busy) */
	DROP_FAULT_STAT_FULL,	/* fault family: aggregation map full */
	DROP_MAP_BUSY,		/* a map insert refused: its bucket locked on this CPU (nesting) */
	/*
	 * Runs of the family's programs the kernel skipped: a program already
	 * running on this CPU (preempted inside it, on a preemptible kernel)
	 * is not entered again.  Read by user space from each program's info.
	 */
	DROP_RECURSION_MISS,
	NR_DROPS,
};

/* ---- fault family (bpf/fault.bpf.c) ---- */

/*
 * Aggregation keys carry the generation BPF read from its global 'gen':
 * user space bumps it, lets running programs finish, then drains only the
 * older generation, so no increment lands in an entry being deleted.
 */

/* Per-CPU maps: each key costs sizeof(value) x possible CPUs, preallocated. */
#define MAX_FAULT_ENTRIES	1024	/* (VM, vCPU thread, fault type) keys: 256 vCPUs x 4 */
#define MAX_VM_TIMING_ENTRIES	512	/* (VM, timing, mode) keys: ~11 per VM */

/*
 * Stage-2 (arm64) / TDP (x86) fault type.  arm64: the fault status code of
 * the vCPU's ESR; x86: the #PF error code's present and reserved bits.
 */
enum fault_type {
	FAULT_TRANSLATION,	/* no mapping yet (arm64 FSC_FAULT, x86 !P) */
	FAULT_PERMISSION,	/* mapped without the needed right: dirty logging's write-protect */
	FAULT_ACCESS,		/* arm64 access flag (FSC_ACCESS) */
	FAULT_OTHER,		/* x86 RSVD (MMIO sptes), anything else */
	NR_FAULT_TYPES,
};

/* How a fault was resolved, counted per vCPU thread. */
enum fault_path {
	PATH_RELAX_READ,	/* arm64 kvm_pgtable_stage2_relax_perms under the read lock: fast path */
	PATH_RELAX_WRITE,	/* same under the write lock (or a spinlock mmu_lock) */
	PATH_FAST_FIXED,	/* x86 fast_page_fault fixed it without mmu_lock (RET_PF_FIXED) */
	PATH_FAST_SPURIOUS,	/* x86 fast_page_fault found it already fixed (RET_PF_SPURIOUS) */
	PATH_FAST_MISSED,	/* x86 fast_page_fault gave up: slow path under mmu_lock */
	NR_FAULT_PATHS,
};

/*
 * KVM's own per-vCPU fault counters (bpf/kvmcounters.bpf.c, user/kvmcounters.c), as
 * KVM names them: x86 counts every fault (pf_taken) and those the lockless
 * fast path resolved (pf_fast); pf_fixed includes the fast path's fixes.
 */
enum kvm_counter {
	KC_PF_TAKEN, KC_PF_FAST, KC_PF_FIXED, KC_PF_SPURIOUS, KC_PF_EMULATE,
	NR_KVM_COUNTERS,
};

/* One vCPU's counters, as the task_file iterator writes them. */
struct vcpu_counters {
	__u64 kvm;		/* struct kvm * */
	__s32 fd;		/* kvmlockstat's own fd of the vCPU */
	__s32 vcpu_id;
	__u32 tid;		/* thread that last ran it (vcpu->pid) */
	__u32 pad;
	__u64 counter[NR_KVM_COUNTERS];
};

/*
 * A thread's faults as count-only probes count them: in the thread's own task
 * storage, cumulative (no map update per fault), read by an iterator each
 * interval and handed over at the thread's exit (bpf/fault.bpf.c).
 */
struct thread_faults {
	__u64 kvm;		/* last VM seen, 0: unknown (arm64 tracepoint) */
	__s32 vcpu_id;		/* -1: unknown */
	__u32 tid, tgid;
	__u32 events;		/* 0: nothing counted yet */
	__u64 count[NR_FAULT_TYPES];
	__u64 path[NR_FAULT_PATHS];
};

/* Per-VM durations, each split by the mmu_lock mode held (enum lock_mode). */
enum vm_timing {
	VT_HOLD,		/* mmu_lock held: _raw_*_lock return -> _raw_*_unlock */
	VT_ACQUIRE,		/* _raw_*_lock call, contended or not */
	VT_RELAX,		/* arm64 kvm_pgtable_stage2_relax_perms (runs under mmu_lock) */
	VT_MAP,			/* arm64 kvm_pgtable_stage2_map (runs under mmu_lock) */
	VT_WRPROT,		/* kvm_arch_mmu_enable_log_dirty_pt_masked (write-protect, under mmu_lock) */
	VT_GET_DIRTY_LOG,	/* KVM_GET_DIRTY_LOG ioctl (mode: other) */
	VT_CLEAR_DIRTY_LOG,	/* KVM_CLEAR_DIRTY_LOG ioctl (mode: other) */
	NR_VM_TIMINGS,
};

struct fault_key {
	__u64 kvm;		/* struct kvm *, 0 when the probe cannot tell (arm64 tracepoint) */
	__u32 tid;		/* vCPU thread */
	__s32 vcpu_id;		/* vcpu->vcpu_id, -1 if unknown */
	__u32 type;		/* enum fault_type */
	__u32 tgid;		/* the VMM: known even after it exits */
	__u32 gen;		/* collection generation (see fault_drain) */
	__u32 pad;
};

struct timing_key {
	__u64 kvm;
	__u32 vmm_pid;		/* kvm->userspace_pid */
	__u16 timing;		/* enum vm_timing */
	__u16 mode;		/* enum lock_mode */
	__u32 gen;
	__u32 pad;
};

#endif
