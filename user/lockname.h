/* SPDX-License-Identifier: GPL-2.0 */
/* Names for locks that have no symbol: the first caller outside lock code. */
#ifndef LOCKNAME_H
#define LOCKNAME_H

#include <stddef.h>
#include "model.h"

struct ksyms;

/* First frame of the call chain that is not lock or tracing machinery. */
const char *lockname_caller(const struct stack_rec *s, const struct ksyms *k);
/* Drops the probe's own frames (BPF program, tracepoint glue) from the top. */
void lockname_trim_tracing(struct stack_rec *s, const struct ksyms *k);
/* Names l after the caller of its heaviest recorded stack. */
void lockname_from_stacks(struct lock_rec *l, const struct ksyms *k);

/* The lock-type members of struct kvm, nested ones by their path ("arch.tdp_mmu_pages_lock"). */
#define MAX_KVM_LOCK_FIELDS 64
struct kvm_lock_fields {
	size_t n;
	struct kvm_lock_field {
		char name[56];
		uint32_t offset, size;		/* bytes into struct kvm */
	} f[MAX_KVM_LOCK_FIELDS];
};

struct btf;
/* Fills t from b's struct kvm (spinlock_t, rwlock_t, struct mutex, ... members): 0 or -ENOENT. */
int lockname_kvm_fields(const struct btf *b, struct kvm_lock_fields *t);
/*
 * A lock that lies in a field of one of the VMs' struct kvm (kvms[n]) is
 * named after it ("kvm->slots_lock") and attributed to that VM (l->in_kvm).
 * True when it did.
 */
bool lockname_in_kvm(struct lock_rec *l, const uint64_t *kvms, size_t n,
		     const struct kvm_lock_fields *t);

#endif
