/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exporter's state: every drained interval added into totals kept for
 * the life of the process (so counters only grow), folded per VMM process
 * (the labels name processes), and VMs that exited dropped after a grace
 * period so that their series end instead of piling up.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "vmid.h"

struct fleet_vmm {
	uint32_t pid;
	char name[128];		/* qemu -name, else comm */
	uint64_t gone_ns;	/* when its VM fds were last seen missing, 0 while running */
	/* Its VMs' mmu_lock waits, by mode and by the waiter's path (from the stacks). */
	struct wait_stat waits[NR_MODES];
	struct count_ns paths[NR_WAIT_PATHS];
};

struct fleet {
	/* One vm_rec per VMM (kvm 0: its VMs added up); no locks, tasks or stacks. */
	struct run total;
	struct fleet_vmm *vmms;
	size_t nr_vmms;
	uint64_t dropped_vmms;	/* VMMs dropped after the grace period */
};

/* How the fleet learns a VMM's name and whether it still runs (vmid.c in the exporter). */
struct fleet_env {
	void (*name_of)(uint32_t pid, char *out, size_t len);
	bool (*alive)(uint32_t pid);
};

void fleet_init(struct fleet *f);
void fleet_free(struct fleet *f);
/*
 * Adds one drained interval (consumed: its tasks and stacks are freed) to
 * the totals; running lists the VMMs found holding a VM fd (vmid_scan), so
 * idle VMs have series too.  A VMM env->alive denies is dropped grace_ns later.
 */
int fleet_update(struct fleet *f, struct run *delta, const struct vmm *running, size_t n,
		 uint64_t now_ns, uint64_t grace_ns, const struct fleet_env *env);
const struct fleet_vmm *fleet_vmm(const struct fleet *f, uint32_t pid);

#endif
