/* SPDX-License-Identifier: GPL-2.0 */
/* Collector: drains the BPF maps into one interval's run model. */
#ifndef COLLECT_H
#define COLLECT_H

#include "model.h"

struct lock_bpf;
struct fault_probes;
struct ksyms;
struct bpf_map;

struct collector {
	struct lock_bpf *skel;
	uint32_t only_pid;		/* keep only this VMM's VMs (0: all) */
	bool all_locks;
	const struct ksyms *ksyms;	/* names non-KVM locks by caller; may be NULL */
	uint64_t drops_seen[NR_DROPS];	/* BPF counters are cumulative */
	struct fault_probes *fault;	/* fault family, NULL when not attached */
	struct kvmstats *stats;		/* KVM's own fault counters, NULL when not read */
	struct kvm_lock_fields *kvm_fields;	/* struct kvm's locks (BTF), NULL when unknown */
	/* vCPU threads seen so far (their faults, or KVM_RUN): path of chainless waits. */
	uint32_t vcpu_tids[256];
	size_t nr_vcpu_tids;
};

typedef int (*collect_fn)(void *ctx, struct run *delta, const void *key, const void *val);
/*
 * Calls fn on every entry of map, deleting it (lookup-and-delete).  Per-CPU
 * maps give fn one value per possible CPU, each rounded up to 8 bytes.
 */
int collect_map_drain(struct bpf_map *map, void *ctx, struct run *delta, collect_fn fn);
/*
 * Same for maps whose keys carry a generation (a __u32 at gen_off): entries
 * of cur_gen, which BPF may still be adding to, are left for the next drain.
 */
int collect_map_drain_gen(struct bpf_map *map, void *ctx, struct run *delta, collect_fn fn,
			  size_t gen_off, uint32_t cur_gen);
/* Moves BPF to the next key generation once no update of the old one is under way. */
uint32_t collect_next_generation(__u32 *gen, __u64 active[2]);
/* Adds the growth of BPF's cumulative drop counters since the last call to delta. */
void collect_drops(const __u64 now[NR_DROPS], uint64_t seen[NR_DROPS], struct run *delta);

/* Moves everything BPF aggregated since the last call into delta. */
int collect_drain(struct collector *c, struct run *delta);

#endif
