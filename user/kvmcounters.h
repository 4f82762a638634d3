/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM's own per-vCPU fault counters (KVM_GET_STATS_FD, 5.14+): the default
 * source of fault counts where KVM keeps them (x86's pf_taken, pf_fast...),
 * read from user space once per interval, so counting costs the guest no
 * probe per fault.
 */
#ifndef KVMCOUNTERS_H
#define KVMCOUNTERS_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"

struct kvmstats;

/*
 * Reads KVM's counters of the vCPUs of only_pid (0: of every VMM found in
 * /proc), on a kernel whose KVM counts faults per vCPU (the caller knows it
 * from BTF: kvm_vcpu_stat.pf_taken/pf_fast), where this process may take a
 * VMM's fds (pidfd_getfd: CAP_SYS_PTRACE) and the BPF iterator loads.  NULL,
 * with why set, when not.
 */
struct kvmstats *kvmstats_open(uint32_t only_pid, char *why, size_t len);
/* Also looks at pid's fds on every poll (the traced command). */
void kvmstats_watch(struct kvmstats *ks, uint32_t pid);
/*
 * Takes the stats fd of every vCPU fd not held yet, of the VMMs known or
 * watched; full: of every VMM in /proc (once per interval, it is a scan).
 */
int kvmstats_poll(struct kvmstats *ks, bool full);
/*
 * Adds every held vCPU's counters since the last call into delta (per VMM
 * pid, VM, vCPU id and the thread that runs it); lets go of the vCPUs whose VMM has exited, after this
 * last read, since a held vCPU fd keeps the VM alive.
 */
int kvmstats_drain(struct kvmstats *ks, struct run *delta);
void kvmstats_free(struct kvmstats *ks);

#endif
