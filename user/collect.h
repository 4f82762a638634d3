/* SPDX-License-Identifier: GPL-2.0 */
/* Collector: drains the BPF maps into one interval's run model. */
#ifndef COLLECT_H
#define COLLECT_H

#include "model.h"

struct lock_bpf;
struct ksyms;

struct collector {
	struct lock_bpf *skel;
	uint32_t only_pid;		/* keep only this VMM's VMs (0: all) */
	bool all_locks;
	const struct ksyms *ksyms;	/* names non-KVM locks by caller; may be NULL */
	uint64_t drops_seen[NR_DROPS];	/* BPF counters are cumulative */
};

/* Moves everything BPF aggregated since the last call into delta. */
int collect_drain(struct collector *c, struct run *delta);

#endif
