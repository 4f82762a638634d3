/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Collector: opens, attaches, drains and detaches every probe family
 * (family.h), in one loop, into one interval's run model.
 */
#ifndef COLLECT_H
#define COLLECT_H

#include <stdbool.h>
#include "model.h"

struct kfacts;
struct probe_opts;

#define NR_FAMILIES 3

struct collector {
	const struct kfacts *kf;	/* outlives the collector */
	uint32_t only_pid;		/* keep only this VMM's VMs (0: all) */
	void *st[NR_FAMILIES];		/* each family's state, NULL: not used */
	/* vCPU threads seen so far (their faults, or KVM_RUN): path of chainless waits. */
	uint32_t vcpu_tids[256];
	size_t nr_vcpu_tids;
};

/* libbpf's own messages on stderr (verbose), or only ours. */
void collect_set_verbose(bool verbose);
/*
 * Checks what every family needs of the kernel and prepares each family
 * for it; loads nothing.  On anything missing prints one line naming it
 * and returns a negative errno.
 */
int collect_open(struct collector *c, const struct kfacts *kf, const struct probe_opts *o);
/*
 * Attaches every family (an error, reported, when one cannot go on;
 * then nothing stays attached), recording in r what each gives and, in
 * r->missing, what it cannot and why.
 */
int collect_attach(struct collector *c, struct run *r);
/* Moves everything BPF aggregated since the last call into delta. */
int collect_drain(struct collector *c, struct run *delta);
/* Between intervals: what a family watches for (new vCPUs). */
void collect_poll(struct collector *c);
/* Detaches every family. */
void collect_close(struct collector *c);

#endif
