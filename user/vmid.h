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

/*
 * The vCPU id of an fd whose /proc link is target ("anon_inode:kvm-vcpu:N"),
 * -1 for anything else (the kvm-vcpu-stats fds a VMM may hold among them).
 */
int vmid_vcpu_fd(const char *target);
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
/* The same, giving the vCPU id of that fd; -1 when it is not there now. */
int vmid_kvm_run_vcpu(uint32_t tid);
/* Adds VMMs without contention to the run and fills vCPU counts and names. */
int vmid_annotate(struct run *r, uint32_t only_pid);
/* The same from a scan already made. */
int vmid_apply(struct run *r, const struct vmm *vmms, size_t n, uint32_t only_pid);
/*
 * The VM's name from a VMM command line (NUL-separated argv of len bytes):
 * qemu's "-name guest=NAME,..." or "-name NAME,..."; -ENOENT without one.
 */
int vmid_parse_name(const char *cmdline, size_t len, char *out, size_t outlen);
/*
 * Whether the process still holds a VM fd; true too while it exists but its
 * fds cannot be read (another user's VMM without CAP_SYS_PTRACE).
 */
bool vmid_vmm_alive(uint32_t pid);
/* The name from /proc/PID/cmdline, else the process's comm. */
void vmid_vm_name(uint32_t pid, char *out, size_t outlen);

#endif
