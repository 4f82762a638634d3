// SPDX-License-Identifier: GPL-2.0
/*
 * Fault family: KVM's stage-2 / TDP fault path, the fast path of the paired
 * kernel change, mmu_lock hold times and the dirty-log side.
 *
 * Every probed function has the same entry/exit work in two flavours,
 * fentry/fexit (BPF trampoline, cheapest) and kprobe/kretprobe (arm64
 * before 6.4 has no trampoline); tracepoints stand in where function
 * probes are refused.  User space loads one flavour with set_autoload and
 * says which metrics the others would have given.
 *
 * Which mode of mmu_lock a critical section runs under is read from the
 * lock word at that moment, not inferred from the kernel version: that
 * stays right across the 5.18 rwlock change, the 6.2 parallel faults and
 * pKVM's write-locked faults.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kvmlockstat.h"
#include "stat.bpf.h"

/* Set by user space before load. */
const volatile __u32 targ_tgid = 0;		/* only this VMM's threads (0: all) */
const volatile int ret_pf_fixed = -1;		/* RET_PF_FIXED from kernel BTF: 4 on 6.1, 5 on 6.18 */
const volatile int ret_pf_spurious = -1;	/* RET_PF_SPURIOUS */
const volatile bool ept_exit_qual = false;	/* x86 kvm_page_fault tracepoint carries VMX's EPT exit qualification */
/*
 * --fault-latency: fault entries start a timed call that the (then loaded)
 * exit probe ends; without it an entry probe only counts the fault, and the
 * exit probes of the fault and relax_perms are not loaded at all.
 */
const volatile bool fault_latency = false;
const volatile bool lock_functions = false;	/* --lock-functions: they need mmu_locks filled */
/* x86 tracepoint layouts (kfacts: their argument counts and tracefs formats). */
const volatile bool kvm_page_fault_vcpu = true;	/* kvm_page_fault(vcpu, address, error_code) */
const volatile int fast_pf_args = 5;		/* fast_page_fault(vcpu, fault, sptep, old_spte, ret);
						   6: (vcpu, gpa, error_code, sptep, old_spte, ret) */
const volatile bool fast_pf_retry = false;	/* its last argument is bool retry, not int ret */

/* ioctl numbers: _IOW(KVMIO, 0x42, struct kvm_dirty_log), _IOWR(KVMIO, 0xc0, struct kvm_clear_dirty_log) */
#define KVM_GET_DIRTY_LOG	0x4010ae42U
#define KVM_CLEAR_DIRTY_LOG	0xc018aec0U

/* task_struct.flags: the task is in do_exit (include/linux/sched.h). */
#define PF_EXITING	0x00000004

/* qrwlock: a writer owns the lock when the low byte is _QW_LOCKED. */
#define QW_LOCKED	0xffU

/* x86 #PF error code bits (arch/x86/include/asm/kvm_host.h). */
#define PFERR_PRESENT	(1ULL << 0)
#define PFERR_RSVD	(1ULL << 3)
/* VMX EPT violation exit qualification: GPA readable/writable/executable. */
#define EPT_QUAL_PRESENT	(7ULL << 3)

/* arm64 ESR fault status code (arch/arm64/include/asm/esr.h). */
#define ESR_FSC_TYPE	0x3cULL
#define ESR_FSC_FAULT	0x04ULL
#define ESR_FSC_ACCESS	0x08ULL
#define ESR_FSC_PERM	0x0cULL

/* One probed call in flight per thread and level; levels nest. */
enum level { LVL_FAULT, LVL_IOCTL, LVL_SECTION, LVL_WRPROT, LVL_LOCK, NR_LEVELS };

struct inflight {
	__u64 ts;
	__u64 kvm;
	__u64 lock;		/* LVL_LOCK: the mmu_lock taken */
	__s32 vcpu_id;
	__u32 tag;		/* fault type, or enum vm_timing */
	__u32 mode;
	__u32 acquired;		/* LVL_LOCK: past _raw_*_lock's return */
};

struct inflight_set {
	struct thread_faults counts;	/* count-only probes: this thread's faults so far
					   (first: user space reads it from inflight_tid) */
	struct inflight lvl[NR_LEVELS];	/* ts != 0: in flight */
};

/*
 * Per-task storage, not a hash keyed by thread: a fault can sleep and end on
 * another CPU (so no per-CPU slot), and after a thread's first call the slot
 * is one pointer away, with no hash, update or delete per call.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight_set);
} inflight SEC(".maps");

/*
 * The same by thread id, where the kernel has no task storage for tracing
 * programs (user space creates only one of the two maps).  thread_exit
 * moves a thread's counts out and its entry away.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FAULT_ENTRIES);
	__type(key, __u32);
	__type(value, struct inflight_set);
} inflight_tid SEC(".maps");

static const struct inflight_set zero_set;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_FAULT_ENTRIES);
	__type(key, struct fault_key);
	__type(value, struct wait_stat);
} fault_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_VM_TIMING_ENTRIES);
	__type(key, struct timing_key);
	__type(value, struct wait_stat);
} vm_timings SEC(".maps");

/* mmu_lock address -> struct kvm, learnt from the fault and ioctl probes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u64);
} mmu_locks SEC(".maps");

static const struct wait_stat zero_stat;

static __always_inline bool wanted(void)
{
	return !targ_tgid || (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

/* Mode of mmu_lock while the caller holds it: spinlock before the rwlock change. */
static __always_inline __u32 mmu_lock_mode(struct kvm *kvm)
{
	if (bpf_core_field_exists(kvm->mmu_lock.raw_lock.cnts)) {
		__u32 cnts = BPF_CORE_READ(kvm, mmu_lock.raw_lock.cnts.counter);

		return (cnts & QW_LOCKED) == QW_LOCKED ? MODE_WRITE : MODE_READ;
	}
	return MODE_SPIN;
}

/* Lets the lock-function probes recognise this VM's mmu_lock. */
static __always_inline void note_vm(struct kvm *kvm)
{
	__u64 lock = (__u64)kvm + bpf_core_field_offset(struct kvm, mmu_lock);
	__u64 k = (__u64)kvm;

	if (!kvm || bpf_map_lookup_elem(&mmu_locks, &lock))
		return;
	if (bpf_map_update_elem(&mmu_locks, &lock, &k, BPF_NOEXIST) == -7 /* E2BIG: map full */)
		drop(DROP_INFO_FULL);
}

/*
 * A thread's counts at its exit, for user space to take (the task storage
 * goes with the task).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FAULT_ENTRIES);
	__type(key, __u32);
	__type(value, struct thread_faults);
} exited SEC(".maps");

/* This thread's storage; create: allocate it on first use. */
static __always_inline struct inflight_set *task_set(bool create)
{
	return thread_value(&inflight, &inflight_tid, &zero_set, create);
}

/* This thread's slot at level; create: allocate the thread's set on first use. */
static __always_inline struct inflight *slot(__u32 level, bool create)
{
	struct inflight_set *set = task_set(create);

	if (!set || level >= NR_LEVELS)
		return NULL;
	/*
	 * Keep the offset after the null check: clang may compute set + offset first,
	 * and 6.1's verifier refuses arithmetic on a map_value_or_null.
	 */
	barrier_var(set);
	return &set->lvl[level];
}

static __always_inline void begin(__u32 level, struct inflight *f)
{
	struct inflight *s = slot(level, true);

	if (!s) {
		drop(DROP_FAULT_INFLIGHT);	/* out of memory, or storage busy on this CPU */
		return;
	}
	*s = *f;
	s->ts = bpf_ktime_get_ns();
}

/* This thread's call at level in flight, or NULL. */
static __always_inline struct inflight *current_call(__u32 level)
{
	struct inflight *s = slot(level, false);

	return s && s->ts ? s : NULL;
}

/* Copies out and forgets this thread's call at level; 0 if there was one. */
static __always_inline int end(__u32 level, struct inflight *out)
{
	struct inflight *s = current_call(level);

	if (!s)
		return -1;
	*out = *s;
	s->ts = 0;
	return 0;
}

/*
 * This thread's counts, noting the VM and vCPU it runs.  Only the thread
 * itself writes them and a probe does not nest in itself on one task, so
 * plain increments do: no atomics, no map update per fault.
 */
static __always_inline struct thread_faults *thread_counts(__u64 kvm, __s32 vcpu_id)
{
	struct inflight_set *set = task_set(true);

	if (!set) {
		drop(DROP_FAULT_INFLIGHT);	/* out of memory, or storage busy on this CPU */
		return NULL;
	}
	barrier_var(set);
	if (!set->counts.events) {
		__u64 id = bpf_get_current_pid_tgid();

		set->counts.tid = id;		/* for the drain of inflight_tid */
		set->counts.tgid = id >> 32;
	}
	if (kvm)
		set->counts.kvm = kvm;
	if (vcpu_id >= 0)
		set->counts.vcpu_id = vcpu_id;
	else if (!set->counts.events && !set->counts.kvm)
		set->counts.vcpu_id = -1;	/* not named by vcpu_run_enter either */
	set->counts.events++;
	return &set->counts;
}

/* Adds one fault; delta is its latency, or 0 with timed false (count only). */
static __always_inline void add_fault(__u64 kvm, __s32 vcpu_id, __u32 type, __u64 delta,
				      bool timed)
{
	struct thread_faults *t;
	struct fault_key k = { .kvm = kvm, .vcpu_id = vcpu_id, .type = type };
	struct wait_stat *st;
	__u64 id;

	if (!timed) {
		t = thread_counts(kvm, vcpu_id);
		if (t && type < NR_FAULT_TYPES)
			t->count[type]++;
		return;
	}
	id = bpf_get_current_pid_tgid();
	k.tid = id;
	k.tgid = id >> 32;
	k.gen = window_enter();
	st = lookup_or_init(&fault_stats, &k, &zero_stat, DROP_FAULT_STAT_FULL);
	if (st)
		wait_stat_add(st, delta);
	window_exit(k.gen);
}

static __always_inline void add_path(__u64 kvm, __s32 vcpu_id, __u32 path)
{
	struct thread_faults *t = thread_counts(kvm, vcpu_id);

	if (t && path < NR_FAULT_PATHS)
		t->path[path]++;
}

/* A thread's counts outlive it in 'exited' until user space takes them. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(thread_exit)
{
	struct inflight_set *set = task_set(false);
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = id;
	long err;

	if (!set || !set->counts.events)
		return 0;
	set->counts.tid = tid;
	set->counts.tgid = id >> 32;
	err = bpf_map_update_elem(&exited, &tid, &set->counts, BPF_ANY);
	if (err)
		map_refused(err, DROP_FAULT_STAT_FULL);
	if (!use_task_storage)
		bpf_map_delete_elem(&inflight_tid, &tid);	/* its tid may come back */
	return 0;
}

/*
 * Every live thread's counts so far, for the drain.  An exiting thread is
 * left to thread_exit, so that no count is taken twice.
 */
SEC("iter/task")
int thread_counts_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct inflight_set *set;
	struct thread_faults out;

	if (!task || (task->flags & PF_EXITING))
		return 0;
	set = bpf_task_storage_get(&inflight, task, 0, 0);
	if (!set || !set->counts.events)
		return 0;
	out = set->counts;
	out.tid = task->pid;
	out.tgid = task->tgid;
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

static __always_inline void add_timing(__u64 kvm, __u32 timing, __u32 mode, __u64 delta)
{
	struct timing_key k = { .kvm = kvm, .timing = timing, .mode = mode };
	struct wait_stat *st;

	k.vmm_pid = BPF_CORE_READ((struct kvm *)kvm, userspace_pid);
	k.gen = window_enter();
	st = lookup_or_init(&vm_timings, &k, &zero_stat, DROP_FAULT_STAT_FULL);
	if (st)
		wait_stat_add(st, delta);
	window_exit(k.gen);
}

/* ---- faults: count and latency per vCPU thread ---- */

/* Without --fault-latency the entry alone counts the fault: one probe per fault. */
static __always_inline int fault_enter(struct kvm_vcpu *vcpu, __u32 type)
{
	struct inflight f = { .tag = type };
	struct kvm *kvm = BPF_CORE_READ(vcpu, kvm);

	if (!wanted())
		return 0;
	if (lock_functions)
		note_vm(kvm);
	f.kvm = (__u64)kvm;
	f.vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	if (fault_latency)
		begin(LVL_FAULT, &f);
	else
		add_fault(f.kvm, f.vcpu_id, type, 0, false);
	return 0;
}

static __always_inline int fault_exit(void)
{
	struct inflight f;

	if (!end(LVL_FAULT, &f))
		add_fault(f.kvm, f.vcpu_id, f.tag, bpf_ktime_get_ns() - f.ts, true);
	return 0;
}

/* Tracepoint backend: the fault is seen once, so only its count is known. */
static __always_inline int fault_seen(__u64 kvm, __s32 vcpu_id, __u32 type)
{
	if (!wanted())
		return 0;
	if (lock_functions)
		note_vm((struct kvm *)kvm);
	add_fault(kvm, vcpu_id, type, 0, false);
	return 0;
}

/*
 * KVM_RUN: names the VM and vCPU a thread runs, once per run ioctl, for
 * the fault tracepoints that do not (arm64's kvm_guest_fault, x86's
 * kvm_page_fault before it passed the vCPU).
 */
static __always_inline int vcpu_run_enter(struct kvm_vcpu *vcpu)
{
	struct inflight_set *set;

	if (!wanted())
		return 0;
	set = task_set(true);
	if (!set) {
		drop(DROP_FAULT_INFLIGHT);
		return 0;
	}
	barrier_var(set);
	set->counts.kvm = (__u64)BPF_CORE_READ(vcpu, kvm);
	set->counts.vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	return 0;
}

/* ---- critical sections run under mmu_lock (where the lock calls are inlined) ---- */

static __always_inline int section_enter(struct kvm *kvm, __u32 level, __u32 timing)
{
	struct inflight f = { .kvm = (__u64)kvm, .tag = timing };

	if (!kvm || !wanted())
		return 0;
	f.mode = mmu_lock_mode(kvm);
	begin(level, &f);
	return 0;
}

static __always_inline int section_exit(__u32 level)
{
	struct inflight f;

	if (!end(level, &f))
		add_timing(f.kvm, f.tag, f.mode, bpf_ktime_get_ns() - f.ts);
	return 0;
}

/* ---- dirty-log ioctls ---- */

static __always_inline int ioctl_enter(struct file *filp, unsigned int cmd)
{
	struct inflight f = { .mode = MODE_OTHER };
	struct kvm *kvm;

	if (!wanted())
		return 0;
	/* VM ioctls are rare next to faults: the place to learn each VM's mmu_lock. */
	kvm = BPF_CORE_READ(filp, private_data);
	note_vm(kvm);
	if (cmd == KVM_GET_DIRTY_LOG)
		f.tag = VT_GET_DIRTY_LOG;
	else if (cmd == KVM_CLEAR_DIRTY_LOG)
		f.tag = VT_CLEAR_DIRTY_LOG;
	else
		return 0;
	f.kvm = (__u64)kvm;
	begin(LVL_IOCTL, &f);
	return 0;
}

/* ---- out-of-line rwlock calls, filtered to known mmu_locks ---- */

static __always_inline int lock_enter(void *lock, __u32 mode)
{
	__u64 addr = (__u64)lock, *kvm = bpf_map_lookup_elem(&mmu_locks, &addr);
	struct inflight f = { .lock = addr, .mode = mode };

	if (!kvm)
		return 0;
	f.kvm = *kvm;
	begin(LVL_LOCK, &f);
	return 0;
}

/* Acquired: the wait ends, the hold begins. */
static __always_inline int lock_acquired(void)
{
	struct inflight *f = current_call(LVL_LOCK);
	__u64 now = bpf_ktime_get_ns();

	if (!f || f->acquired)
		return 0;
	add_timing(f->kvm, VT_ACQUIRE, f->mode, now - f->ts);
	f->ts = now;
	f->acquired = 1;
	return 0;
}

static __always_inline int lock_release(void *lock)
{
	struct inflight *f = current_call(LVL_LOCK);

	if (!f || f->lock != (__u64)lock)
		return 0;
	if (f->acquired)
		add_timing(f->kvm, VT_HOLD, f->mode, bpf_ktime_get_ns() - f->ts);
	f->ts = 0;
	return 0;
}

/*
 * The two function-probe flavours of one entry or exit, calling the same
 * helper.  Exits never read the return value, so they declare no args.
 */
#define FUNC_ENTRY(func, call, args...)						\
SEC("fentry/" #func) int BPF_PROG(fentry_##func, args) { return call; }		\
SEC("kprobe/" #func) int BPF_KPROBE(kprobe_##func, args) { return call; }

#define FUNC_EXIT(func, call)							\
SEC("fexit/" #func) int BPF_PROG(fexit_##func) { return call; }			\
SEC("kretprobe/" #func) int BPF_KRETPROBE(kretprobe_##func) { return call; }

/* Both arches */
FUNC_ENTRY(kvm_arch_vcpu_ioctl_run, vcpu_run_enter(vcpu), struct kvm_vcpu *vcpu)
FUNC_ENTRY(kvm_vm_ioctl, ioctl_enter(filp, cmd), struct file *filp, unsigned int cmd)
FUNC_EXIT(kvm_vm_ioctl, section_exit(LVL_IOCTL))
FUNC_ENTRY(kvm_arch_mmu_enable_log_dirty_pt_masked,
	   section_enter(kvm, LVL_WRPROT, VT_WRPROT), struct kvm *kvm)
FUNC_EXIT(kvm_arch_mmu_enable_log_dirty_pt_masked, section_exit(LVL_WRPROT))
FUNC_ENTRY(_raw_read_lock, lock_enter(lock, MODE_READ), void *lock)
FUNC_EXIT(_raw_read_lock, lock_acquired())
FUNC_ENTRY(_raw_write_lock, lock_enter(lock, MODE_WRITE), void *lock)
FUNC_EXIT(_raw_write_lock, lock_acquired())
FUNC_ENTRY(_raw_read_unlock, lock_release(lock), void *lock)
FUNC_ENTRY(_raw_write_unlock, lock_release(lock), void *lock)

#if defined(__TARGET_ARCH_arm64)

static __always_inline __u32 esr_fault_type(__u64 esr)
{
	switch (esr & ESR_FSC_TYPE) {
	case ESR_FSC_FAULT: return FAULT_TRANSLATION;
	case ESR_FSC_PERM: return FAULT_PERMISSION;
	case ESR_FSC_ACCESS: return FAULT_ACCESS;
	default: return FAULT_OTHER;
	}
}

static __always_inline int abort_enter(struct kvm_vcpu *vcpu)
{
	return fault_enter(vcpu, esr_fault_type(BPF_CORE_READ(vcpu, arch.fault.esr_el2)));
}

/* kvm_s2_mmu as 5.10 has it: a pointer to its VM, where later kernels point to kvm->arch. */
struct kvm_s2_mmu___kvm {
	struct kvm *kvm;
};

/* The stage-2 page table belongs to kvm->arch.mmu. */
static __always_inline struct kvm *pgt_kvm(struct kvm_pgtable *pgt)
{
	struct kvm_s2_mmu___kvm *old = (void *)BPF_CORE_READ(pgt, mmu);
	void *arch;

	if (bpf_core_field_exists(old->kvm))
		return BPF_CORE_READ(old, kvm);
	arch = BPF_CORE_READ(pgt, mmu, arch);
	return arch ? arch - bpf_core_field_offset(struct kvm, arch) : NULL;
}

/*
 * A relaxation under the read lock is the seed's fast path.  The vCPU is
 * left unknown (-1): user space joins it to the fault counts by thread.
 * Its time under mmu_lock needs the exit probe too (--fault-latency).
 */
static __always_inline int relax_enter(struct kvm_pgtable *pgt)
{
	struct kvm *kvm = pgt_kvm(pgt);
	__u32 mode;

	if (!kvm || !wanted())
		return 0;
	mode = mmu_lock_mode(kvm);
	add_path((__u64)kvm, -1, mode == MODE_READ ? PATH_RELAX_READ : PATH_RELAX_WRITE);
	if (fault_latency) {
		struct inflight f = { .kvm = (__u64)kvm, .tag = VT_RELAX, .mode = mode };

		begin(LVL_SECTION, &f);
	}
	return 0;
}

FUNC_ENTRY(kvm_handle_guest_abort, abort_enter(vcpu), struct kvm_vcpu *vcpu)
FUNC_EXIT(kvm_handle_guest_abort, fault_exit())
FUNC_ENTRY(kvm_pgtable_stage2_relax_perms, relax_enter(pgt), struct kvm_pgtable *pgt)
FUNC_EXIT(kvm_pgtable_stage2_relax_perms, section_exit(LVL_SECTION))
FUNC_ENTRY(kvm_pgtable_stage2_map, section_enter(pgt_kvm(pgt), LVL_SECTION, VT_MAP),
	   struct kvm_pgtable *pgt)
FUNC_EXIT(kvm_pgtable_stage2_map, section_exit(LVL_SECTION))

/*
 * Tracepoint backend: kvm_guest_fault has no vcpu argument, so the thread
 * stands for the vCPU and user space finds the VM by its process.  (The
 * per-CPU kvm_running_vcpu would name it, but the kernel refuses ldimm64 of
 * that static symbol: "failed to find the address".)
 */
SEC("raw_tp/kvm_guest_fault")
int BPF_PROG(tp_kvm_guest_fault, unsigned long pc, unsigned long esr)
{
	return fault_seen(0, -1, esr_fault_type(esr));
}

#elif defined(__TARGET_ARCH_x86)

static __always_inline __u32 pferr_fault_type(__u64 ec)
{
	if (ec & PFERR_RSVD)
		return FAULT_OTHER;	/* MMIO spte */
	return ec & PFERR_PRESENT ? FAULT_PERMISSION : FAULT_TRANSLATION;
}

FUNC_ENTRY(kvm_mmu_page_fault, fault_enter(vcpu, pferr_fault_type(error_code)),
	   struct kvm_vcpu *vcpu, __u64 gpa, __u64 error_code)
FUNC_EXIT(kvm_mmu_page_fault, fault_exit())

/*
 * fast_page_fault() is inlined on 6.1, its tracepoint is not: every
 * backend uses it for the lockless fixes.
 */
static __always_inline int fast_pf(struct kvm_vcpu *vcpu, __u64 sptep, __u64 old_spte, int ret)
{
	__u64 new_spte = 0;
	__u32 path;

	if (!wanted())
		return 0;
	bpf_probe_read_kernel(&new_spte, sizeof(new_spte), (void *)sptep);
	/*
	 * Fixed: ret is RET_PF_FIXED; where that value is unknown (no kvm module
	 * BTF) or ret is a bool (retry: handled), the spte it changed, as the
	 * event's own old and new fields tell.
	 */
	if (ret_pf_fixed >= 0 && !fast_pf_retry)
		path = ret == ret_pf_fixed ? PATH_FAST_FIXED :
		       ret == ret_pf_spurious ? PATH_FAST_SPURIOUS : PATH_FAST_MISSED;
	else
		path = new_spte != old_spte ? PATH_FAST_FIXED :
		       fast_pf_retry && ret ? PATH_FAST_SPURIOUS : PATH_FAST_MISSED;
	add_path((__u64)BPF_CORE_READ(vcpu, kvm), BPF_CORE_READ(vcpu, vcpu_id), path);
	return 0;
}

/*
 * Each layout in a function of its own, so each reads ctx at constant
 * offsets (merged, clang loads at a computed one, which the verifier
 * refuses on ctx).
 */
static __noinline int fast_pf_args6(__u64 *ctx)
{
	return fast_pf((void *)ctx[0], ctx[3], ctx[4], ctx[5]);
}

static __noinline int fast_pf_args5(__u64 *ctx)
{
	return fast_pf((void *)ctx[0], ctx[2], ctx[3], ctx[4]);
}

/* (vcpu, fault, sptep, old_spte, ret), or (vcpu, gpa, error_code, sptep, old_spte, ret) */
SEC("raw_tp/fast_page_fault")
int tp_fast_page_fault(__u64 *ctx)
{
	return fast_pf_args == 6 ? fast_pf_args6(ctx) : fast_pf_args5(ctx);
}

static __always_inline __u32 npf_fault_type(__u64 error_code)
{
	if (ept_exit_qual)
		return error_code & EPT_QUAL_PRESENT ? FAULT_PERMISSION : FAULT_TRANSLATION;
	return pferr_fault_type(error_code);
}

/*
 * Tracepoint backend: one event per NPF/EPT violation exit.  Its arguments
 * are (vcpu, address, error_code), or (address, error_code) without the
 * vCPU (5.10): the thread then stands for the vCPU.
 */
SEC("raw_tp/kvm_page_fault")
int tp_kvm_page_fault(__u64 *ctx)
{
	struct kvm_vcpu *vcpu;

	/* Constant offsets on each side: the verifier refuses a computed one on ctx. */
	if (!kvm_page_fault_vcpu)
		return fault_seen(0, -1, npf_fault_type(ctx[1]));
	vcpu = (void *)ctx[0];
	return fault_seen((__u64)BPF_CORE_READ(vcpu, kvm), BPF_CORE_READ(vcpu, vcpu_id),
			  npf_fault_type(ctx[2]));
}

#endif

char LICENSE[] SEC("license") = "GPL";
