/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel facts: what this kernel offers the probe families, read once at
 * start (BTF of vmlinux and of the kvm module, tracefs, kallsyms, BPF
 * program and map types).  Families choose their variants from these
 * facts; nothing else in kvmlockstat probes the kernel.  A kernel that
 * lacks something is a new fact here and a new variant in one family.
 */
#ifndef KFACTS_H
#define KFACTS_H

#include <stdbool.h>
#include <stddef.h>

struct ksyms;
struct kvm_lock_fields;

#define KFACTS_NR_SIGS 7

struct kfacts {
	bool root;			/* effective uid 0: may load BPF */
	bool vmlinux_btf;		/* /sys/kernel/btf/vmlinux: CO-RE works */
	int tracefs_err;		/* 0: tracefs mounted (by us if nobody had), else errno */
	bool lock_tracepoints;		/* lock:contention_begin/end (5.19+) */
	bool kprobes;			/* kprobes can be created (CONFIG_KPROBES: PMU or kprobe_events) */
	/* BPF features, from loading minimal programs and maps */
	bool trampolines;		/* an fentry program attaches (BPF trampoline) */
	bool task_storage;		/* BPF_MAP_TYPE_TASK_STORAGE (5.11+) */
	bool current_task_btf;		/* bpf_get_current_task_btf() (5.11+) */
	bool bpf_atomics;		/* atomics beyond the plain add: fetch, cmpxchg (5.12+) */
	/* KVM, from its BTF (vmlinux, or the kvm module's where KVM is a module) */
	bool kvm_loaded;		/* struct kvm is known */
	char mmu_lock_type[32];		/* struct kvm's mmu_lock: "rwlock_t", "spinlock_t"; "" */
	int ret_pf_fixed, ret_pf_spurious;	/* x86 fast-path results; -1: not in BTF */
	bool kvm_counts_faults;		/* kvm_vcpu_stat has pf_taken and pf_fast (x86) */
	bool ept_exit_qual;		/* kvm_intel is loaded: EPT exit qualifications */
	struct kvm_lock_fields *kvm_locks;	/* struct kvm's lock members (-a names them); NULL */
	/*
	 * x86 tracepoints whose arguments changed across kernels: how many each
	 * passes (a raw_tp program reading the last one attaches; 0: unknown),
	 * and from the tracefs format, whether fast_page_fault ends in bool retry.
	 */
	int kvm_page_fault_args;	/* 3: (vcpu, address, error_code); 2: no vcpu */
	int fast_page_fault_args;	/* 5: (vcpu, fault, sptep, old_spte, ret); 6: (vcpu, gpa, ec, ...) */
	bool fast_pf_retry;		/* kvmmmu:fast_page_fault ends in bool retry, not int ret */
	/*
	 * KVM's fault-path functions the probes read arguments of, and what their
	 * first argument points to in BTF ("kvm_pgtable", ...; "" where BTF has no
	 * such function: a module without BTF, or inlined).
	 */
	struct kfacts_sig {
		const char *func;
		char arg0[32];
	} sigs[KFACTS_NR_SIGS];
	struct ksyms *ksyms;		/* /proc/kallsyms; NULL when unreadable */
};

/* Reads every fact (mounting tracefs where nobody has).  0, or -ENOMEM. */
int kfacts_read(struct kfacts *kf);
void kfacts_free(struct kfacts *kf);
/*
 * What every family needs (root, BTF, tracefs): on anything missing prints
 * one line naming it and returns a negative errno.
 */
int kfacts_require(const struct kfacts *kf);
/* Is tracepoint "system/event" in tracefs? */
bool kfacts_has_tracepoint(const struct kfacts *kf, const char *sys_event);
/*
 * Does func's first argument point to struct strct?  True too where BTF
 * does not describe func (nothing contradicts the probe then).
 */
bool kfacts_arg0_is(const struct kfacts *kf, const char *func, const char *strct);
/* Is function name in kallsyms (not inlined, its module loaded)? */
bool kfacts_has_function(const struct kfacts *kf, const char *name);

#endif
