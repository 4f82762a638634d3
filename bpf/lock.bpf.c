// SPDX-License-Identifier: GPL-2.0
/*
 * Lock contention family: lock:contention_begin/end, aggregated in maps;
 * where the kernel has no such tracepoints (before 5.19), the lock slow
 * paths themselves, entry and return.
 *
 * qrwlock/qspinlock fire these only on their slow paths, so every event
 * here is a real wait.  Which waits are on a KVM mmu_lock is decided
 * exactly, on any kernel with BTF: the lock must sit at
 * offsetof(struct kvm, mmu_lock) inside an object whose vm_list node is
 * linked both ways, i.e. a live struct kvm.  That holds whether mmu_lock
 * is a spinlock (arm64 before 5.18) or an rwlock.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvmlockstat.h"
#include "stat.bpf.h"

/* Set by user space before load. */
const volatile bool all_locks = false;	/* aggregate every lock, not just mmu_locks */
const volatile __u32 targ_tgid = 0;	/* with all_locks: only this process's waits */
const volatile bool slowpaths_only = false;	/* no contention tracepoints: the slow paths are the source */

struct wait_start {
	__u64 ts;		/* 0: not waiting; WAIT_CLAIMED: being filled in */
	__u64 lock;
	__u32 flags;
	__s32 stack_id;
	__u32 nest;		/* slow paths entered inside this wait, not yet returned */
	__u32 pad;
};

/*
 * One per task (spinning and sleeping waits alike, at most one at a time):
 * task storage, so a wait costs no hash update and delete, only a pointer
 * the kernel caches in the task.  Created on a task's first mmu_lock wait.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wait_start);
} tstamp SEC(".maps");

/*
 * The same slot keyed by thread id, where the kernel has no task storage
 * for tracing programs (user space creates only one of the two maps).  A
 * thread's entry stays after its wait, with ts 0: a thread waits at most
 * once at a time, so the counts stay exact; exited threads' entries are
 * the price (MAX_LOCK_ENTRIES threads that ever waited).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_LOCK_ENTRIES);
	__type(key, __u32);
	__type(value, struct wait_start);
} tstamp_tid SEC(".maps");

static const struct wait_start zero_ws;

/*
 * The slot is claimed before it is filled in, so that an interrupt that
 * contends meanwhile counts as nested rather than taking the slot over.
 */
#define WAIT_CLAIMED	1

static __always_inline struct wait_start *wait_slot(bool create)
{
	return thread_value(&tstamp, &tstamp_tid, &zero_ws, create);
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_LOCK_ENTRIES);
	__type(key, struct lock_key);
	__type(value, struct wait_stat);
} lock_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_LOCK_ENTRIES);
	__type(key, struct stack_key);
	__type(value, struct stack_val);
} stack_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_LOCK_ENTRIES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/*
 * Only mmu_locks are kept here: re-deciding every wait costs three reads.
 * LRU: on a host where VMs come and go for weeks, the entries of VMs long
 * gone make room for new ones instead of filling the map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct lock_info);
} lock_infos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_LOCK_ENTRIES);
	__type(key, __u32);
	__type(value, struct task_info);
} tasks SEC(".maps");

/*
 * The address spaces of the VMMs whose mmu_lock was seen: a task waiting
 * on any lock is a VMM's thread when its mm is one of them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);	/* as lock_infos: exited VMMs age out */
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} vmm_mms SEC(".maps");

static const struct wait_stat zero_stat;
static const struct stack_val zero_sval;

/*
 * Since 5.17 a VM's active memslots pointer points into the VM itself
 * (kvm->memslots[0] is &kvm->__memslots[0][0] or [0][1]): an invariant no
 * other object satisfies by chance, unlike a list_head at the right offset.
 */
static __always_inline bool memslots_point_inside(struct kvm *kvm)
{
	__u64 inside, p;

	if (!bpf_core_field_exists(kvm->__memslots))
		return true;	/* older kernels: the vm_list check alone */
	inside = (__u64)kvm + bpf_core_field_offset(struct kvm, __memslots);
	p = (__u64)BPF_CORE_READ(kvm, memslots[0]);
	return p == inside || p == inside + bpf_core_type_size(struct kvm_memslots);
}

/* The struct kvm whose mmu_lock is at lock, or NULL. */
static __always_inline struct kvm *mmu_lock_owner(__u64 lock)
{
	struct list_head *next, *back;
	struct kvm *kvm;

	/* Kernels without KVM: the branch below is pruned at load. */
	if (!bpf_core_type_exists(struct kvm))
		return NULL;
	kvm = (void *)(lock - bpf_core_field_offset(struct kvm, mmu_lock));
	next = BPF_CORE_READ(kvm, vm_list.next);
	if (!next)
		return NULL;
	back = BPF_CORE_READ(next, prev);
	if (back != &kvm->vm_list || !BPF_CORE_READ(kvm, mm) || !memslots_point_inside(kvm))
		return NULL;
	return kvm;
}

/*
 * The VMM is the process whose mm the VM holds: exact when a task of that
 * process waits.  Otherwise kvm->userspace_pid (a thread id, 0 until the VM
 * is fully created), kept until a better answer comes.
 */
static __always_inline void note_mmu_lock(__u64 lock, struct kvm *kvm,
					  struct task_struct *task)
{
	struct lock_info info = {}, *old = bpf_map_lookup_elem(&lock_infos, &lock);
	__u64 mm = (__u64)BPF_CORE_READ(kvm, mm);
	bool own = (__u64)BPF_CORE_READ(task, mm) == mm;
	__u8 one = 1;
	long err;

	/* The same VM (its mm unchanged), already named by its VMM or by the best guess. */
	if (old && old->mm == mm && (old->vmm_comm[0] || (old->vmm_pid && !own)))
		return;
	/* A new VM, or a new one where an exited VM's struct kvm was freed. */
	if (!old || old->mm != mm)
		bpf_map_update_elem(&vmm_mms, &mm, &one, BPF_ANY);
	info.mm = mm;
	info.kvm = (__u64)kvm;
	info.vmm_pid = own ? BPF_CORE_READ(task, tgid) : BPF_CORE_READ(kvm, userspace_pid);
	if (own)
		BPF_CORE_READ_STR_INTO(&info.vmm_comm, task, group_leader, comm);
	/* Losing a race to another CPU is fine; a refused update is a loss. */
	err = bpf_map_update_elem(&lock_infos, &lock, &info, BPF_ANY);
	if (err)
		map_refused(err, DROP_INFO_FULL);
}

/*
 * A VMM's thread shares the mm of its VM, whichever lock it waits on: the
 * VM's own mm for an mmu_lock, else any VMM mm seen so far.  A thread first
 * seen before its VMM's mmu_lock was is marked at a later wait.
 */
static __always_inline bool task_in_vmm(struct task_struct *task, struct kvm *kvm)
{
	__u64 mm = (__u64)BPF_CORE_READ(task, mm);

	if (kvm)
		return mm == (__u64)BPF_CORE_READ(kvm, mm);
	return mm && bpf_map_lookup_elem(&vmm_mms, &mm);
}

static __always_inline void note_task(__u32 tid, __u32 tgid, struct kvm *kvm,
				      struct task_struct *task)
{
	struct task_info ti = {}, *old = bpf_map_lookup_elem(&tasks, &tid);

	if (old) {
		if (!old->in_vmm && task_in_vmm(task, kvm))
			old->in_vmm = 1;
		return;
	}
	ti.tgid = tgid;
	ti.in_vmm = task_in_vmm(task, kvm);
	bpf_get_current_comm(&ti.comm, sizeof(ti.comm));
	if (bpf_map_update_elem(&tasks, &tid, &ti, BPF_NOEXIST) < 0 &&
	    !bpf_map_lookup_elem(&tasks, &tid))
		drop(DROP_INFO_FULL);
}

static __always_inline __u32 lock_mode(__u32 flags)
{
	if (flags & LCB_F_READ)
		return MODE_READ;
	if (flags & LCB_F_WRITE)
		return MODE_WRITE;
	if (flags & LCB_F_MUTEX)
		return MODE_MUTEX;
	if (flags & LCB_F_SPIN)
		return MODE_SPIN;
	return MODE_OTHER;
}

static __always_inline void account(__u32 tid, const struct wait_start *ws, __u64 delta)
{
	struct lock_key lk = { .lock = ws->lock, .tid = tid, .mode = lock_mode(ws->flags) };
	struct stack_key sk = { .lock = ws->lock, .tid = tid, .mode = lk.mode,
				.stack_id = ws->stack_id };
	struct wait_stat *st;
	struct stack_val *sv;

	lk.gen = sk.gen = window_enter();
	st = lookup_or_init(&lock_stats, &lk, &zero_stat, DROP_STAT_FULL);
	if (st)
		wait_stat_add(st, delta);
	sv = lookup_or_init(&stack_stats, &sk, &zero_sval, DROP_STAT_FULL);
	if (sv) {
		__sync_fetch_and_add(&sv->count, 1);
		__sync_fetch_and_add(&sv->total_ns, delta);
	}
	window_exit(lk.gen);
}

/*
 * A wait starts: from the tracepoint, or (slow) from a lock slow path, which
 * beside the tracepoints takes only mmu_locks.
 */
static __always_inline int on_begin(void *ctx, __u64 lock, __u32 flags, bool slow)
{
	/* Only read through probes: the plain helper exists on every kernel. */
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id, tgid = id >> 32;
	bool mmu_only = slow && !slowpaths_only;
	struct wait_start *cur;
	struct kvm *kvm;

	cur = wait_slot(false);
	/*
	 * No slow path waits inside its own wait on the same lock: the return
	 * of the last one was lost (a kretprobe out of instances).  That wait
	 * is ended now, its time an upper bound, so that the thread's later
	 * waits are not all taken for nested ones.
	 */
	if (slow && cur && cur->ts > WAIT_CLAIMED && cur->lock == lock) {
		account(tid, cur, bpf_ktime_get_ns() - cur->ts);
		cur->ts = 0;
	}
	if (cur && cur->ts) {
		/* Its return must not end the wait it is nested in. */
		if (slow)
			cur->nest++;
		/* Same lock: the slow-path probe is already timing this wait. */
		if (cur->ts == WAIT_CLAIMED || cur->lock != lock)
			drop(DROP_NESTED);	/* a qrwlock's own wait_lock, an irq */
		return 0;
	}
	kvm = mmu_lock_owner(lock);
	if (!kvm && (mmu_only || !all_locks || (targ_tgid && tgid != targ_tgid)))
		return 0;
	if (kvm)
		note_mmu_lock(lock, kvm, task);
	note_task(tid, tgid, kvm, task);

	cur = cur ? cur : wait_slot(true);
	if (!cur) {
		drop(DROP_TSTAMP_FULL);
		return 0;
	}
	cur->ts = WAIT_CLAIMED;
	cur->nest = 0;
	cur->lock = lock;
	cur->flags = flags;
	cur->stack_id = bpf_get_stackid(ctx, &stacks, 0);
	if (cur->stack_id < 0)
		drop(DROP_STACK);
	cur->ts = bpf_ktime_get_ns();
	return 0;
}

/*
 * A wait ends; slow: a slow path returns (a kretprobe has no lock argument),
 * ending the wait its entry began unless it was entered inside one.
 */
static __always_inline int on_end(__u64 lock, bool slow)
{
	__u32 tid = bpf_get_current_pid_tgid();
	struct wait_start *ws;
	__u64 now = bpf_ktime_get_ns();

	ws = wait_slot(false);
	/* A nested wait ends first: it was never recorded, keep the outer one. */
	if (!ws || ws->ts <= WAIT_CLAIMED || (!slow && ws->lock != lock))
		return 0;
	if (slow && ws->nest) {
		ws->nest--;
		return 0;
	}
	account(tid, ws, now - ws->ts);
	ws->ts = 0;
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(contention_begin_btf, void *lock, unsigned int flags)
{
	return on_begin(ctx, (__u64)lock, flags, false);
}

SEC("tp_btf/contention_end")
int BPF_PROG(contention_end_btf, void *lock, int ret)
{
	return on_end((__u64)lock, false);
}

/* Fallback for kernels whose verifier refuses tp_btf here. */
SEC("raw_tp/contention_begin")
int BPF_PROG(contention_begin_raw, void *lock, unsigned int flags)
{
	return on_begin(ctx, (__u64)lock, flags, false);
}

SEC("raw_tp/contention_end")
int BPF_PROG(contention_end_raw, void *lock, int ret)
{
	return on_end((__u64)lock, false);
}

/*
 * The slow paths: entering one is a contended acquisition, as
 * CONFIG_LOCK_STAT counts it, and its return ends the wait.
 *
 * qspinlock fires contention_begin only once a waiter queues: the first
 * waiter, spinning on the pending bit, is never seen, so on 2 CPUs nearly
 * every wait on a spinlock goes unseen.  Where mmu_lock is a spinlock
 * (arm64 before 5.18, x86 before 5.12) user space also loads the spinlock
 * pair (mmu_locks only); the tracepoint pair, if it fires inside, finds the
 * wait already timed.  Where the kernel has no contention tracepoints the
 * slow paths are the only source, for mmu_lock's own type of lock.
 *
 * Each slow path in both flavours; the targets are set by user space (x86
 * with paravirt spinlocks names the spinlock's native_ and __pv_), and the
 * kprobes are attached by it, one program on every name.  The spinlock's is
 * a kprobe only: a trampoline program there re-enters itself when its map
 * update contends, which kprobes guard against (bpf_prog_active).
 */
#define SLOWPATH_KPROBE(name, flags)						\
SEC("kprobe") int BPF_KPROBE(name##_kprobe, void *lock)			\
{ return on_begin(ctx, (__u64)lock, flags, true); }				\
SEC("kretprobe") int BPF_KRETPROBE(name##_kretprobe) { return on_end(0, true); }

#define SLOWPATH(name, func, flags)						\
SEC("fentry/" #func) int BPF_PROG(name##_fentry, void *lock)			\
{ return on_begin(ctx, (__u64)lock, flags, true); }				\
SEC("fexit/" #func) int BPF_PROG(name##_fexit, void *lock) { return on_end(0, true); } \
SLOWPATH_KPROBE(name, flags)

SLOWPATH_KPROBE(spin_slowpath, LCB_F_SPIN)
SLOWPATH(read_slowpath, queued_read_lock_slowpath, LCB_F_READ)
SLOWPATH(write_slowpath, queued_write_lock_slowpath, LCB_F_WRITE)

char LICENSE[] SEC("license") = "GPL";
