// SPDX-License-Identifier: GPL-2.0
/*
 * KVM counter family: KVM's own per-vCPU fault counters (vcpu->stat), read
 * by a task_file iterator once per interval instead of a probe per fault.
 *
 * The iterator walks kvmlockstat's own files only: user space holds a
 * duplicate (pidfd_getfd) of each VMM's vCPU fd and lists its number in
 * held_fds.  Holding it keeps the vCPU alive after its VMM exits, so the
 * last interval's counts are still there to read.  KVM_GET_STATS_FD would
 * be the ABI, but KVM refuses vCPU ioctls from outside the VM's mm (EIO).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "kvmlockstat.h"

const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, int);
	__type(value, __u8);
} held_fds SEC(".maps");

/* x86's counters: absent from arm64's struct kvm_vcpu_stat, hence the flavour. */
struct kvm_vcpu_stat___x86 {
	u64 pf_taken, pf_fixed, pf_emulate, pf_spurious, pf_fast;
} __attribute__((preserve_access_index));

struct kvm_vcpu___x86 {
	struct kvm_vcpu_stat___x86 stat;
} __attribute__((preserve_access_index));

#define READ_COUNTER(v, field) \
	(bpf_core_field_exists(v->stat.field) ? BPF_CORE_READ(v, stat.field) : 0)

SEC("iter/task_file")
int kvm_counters(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct vcpu_counters out = { .fd = ctx->fd };
	struct kvm_vcpu___x86 *x;
	struct kvm_vcpu *vcpu;
	int fd = ctx->fd;

	if (!task || !file || task->tgid != self_tgid || !bpf_map_lookup_elem(&held_fds, &fd))
		return 0;
	vcpu = BPF_CORE_READ(file, private_data);
	x = (void *)vcpu;
	out.kvm = (__u64)BPF_CORE_READ(vcpu, kvm);
	out.vcpu_id = BPF_CORE_READ(vcpu, vcpu_id);
	out.tid = BPF_CORE_READ(vcpu, pid, numbers[0].nr);
	out.counter[KC_PF_TAKEN] = READ_COUNTER(x, pf_taken);
	out.counter[KC_PF_FAST] = READ_COUNTER(x, pf_fast);
	out.counter[KC_PF_FIXED] = READ_COUNTER(x, pf_fixed);
	out.counter[KC_PF_SPURIOUS] = READ_COUNTER(x, pf_spurious);
	out.counter[KC_PF_EMULATE] = READ_COUNTER(x, pf_emulate);
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
