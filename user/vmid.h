/* SPDX-License-Identifier: GPL-2.0 */
/* VM identity: VMM processes, their VMs and vCPU fds, thread -> process. */
#ifndef VMID_H
#define VMID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

struct vmm {
	uint32_t pid;
	char comm[TASK_COMM_LEN];
	int nr_vms;	/* anon_inode:kvm-vm fds */
	int nr_vcpus;	/* anon_inode:kvm-vcpu:N fds */
};

/* Every process holding a KVM VM fd; *out is malloc'ed. */
int vmid_scan(struct vmm **out, size_t *n);
/* Process (tgid) of a thread id; the thread itself if it is gone. */
uint32_t vmid_tgid(uint32_t tid);
/* comm of a task, "" if it is gone. */
void vmid_comm(uint32_t pid, char comm[TASK_COMM_LEN]);
/*
 * Whether thread tid sits in KVM_RUN on one of its process's kvm-vcpu fds
 * (false while it is on a CPU: /proc only shows a sleeping task's syscall).
 */
bool vmid_in_kvm_run(uint32_t tid);
/* Adds VMMs without contention to the run and fills vCPU counts and names. */
int vmid_annotate(struct run *r, uint32_t only_pid);

#endif
