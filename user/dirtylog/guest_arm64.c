// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 guest for kvm-dirtylog: EL1 with the stage-1 MMU off (flat, so the whole
 * 40-bit IPA space is addressable without page tables), code at 0x1000. The end
 * of a pass is a store to an unmapped IPA, which KVM hands to us as KVM_EXIT_MMIO.
 * More than one vCPU needs an in-kernel GICv3 (KVM_RUN fails with ENXIO otherwise).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dirtylog.h"

const char dl_guest_arch[] = "arm64";

#define CODE_GPA	0x1000ULL
#define GICD_GPA	0x08000000ULL	/* distributor, 64 KiB */
#define GICR_GPA	0x080a0000ULL	/* redistributors, 128 KiB per vCPU */
#define DONE_GPA	0x3f000000ULL	/* above the redistributors of 512 vCPUs, below 1 GiB */
#define IPA_BITS	40		/* VM type 0 */

/*
 * x0 = slice start, x1 = pages, x2 = stride, x3 = DONE_GPA, x6 = pass counter.
 * One 8-byte store per page, then the MMIO store that ends the pass; the next
 * KVM_RUN resumes at "b 1b" and starts the next pass.
 */
asm(".pushsection .text\n"
    ".global dl_guest_code, dl_guest_code_end\n"
    "dl_guest_code:\n"
    "1:	mov x4, x0\n"
    "	mov x5, x1\n"
    "2:	str x6, [x4]\n"
    "	add x4, x4, x2\n"
    "	subs x5, x5, #1\n"
    "	b.ne 2b\n"
    "	add x6, x6, #1\n"
    "	str x6, [x3]\n"
    "	b 1b\n"
    "dl_guest_code_end:\n"
    ".popsection\n");
extern const unsigned char dl_guest_code[], dl_guest_code_end[];

/* arm64 KVM is always hardware virtualization (VHE or nVHE): nothing to refuse. */
int guest_backend_check(int kvm_fd, char *why, size_t len)
{
	(void)kvm_fd;
	(void)why;
	(void)len;
	return 0;
}

/* No PML-like logging here: each first write after a log fetch is a permission fault. */
bool guest_logging_faults(void)
{
	return true;
}

uint64_t guest_sys_size(const struct dl_opts *o)
{
	(void)o;
	return CODE_GPA + 0x1000;
}

uint64_t guest_max_gpa(struct dl_vm *vm)
{
	(void)vm;
	return 1ULL << IPA_BITS;
}

int guest_vm_setup(struct dl_vm *vm)
{
	memcpy((char *)vm->sys_mem + CODE_GPA, dl_guest_code,
	       (size_t)(dl_guest_code_end - dl_guest_code));
	return 0;
}

static uint64_t core_reg(size_t offset)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset / sizeof(__u32));
}

static int set_reg(struct dl_vcpu *vc, size_t offset, uint64_t val)
{
	struct kvm_one_reg reg = { .id = core_reg(offset), .addr = (uintptr_t)&val };

	if (ioctl(vc->fd, KVM_SET_ONE_REG, &reg))
		return dl_err("vCPU %d: KVM_SET_ONE_REG: %s", vc->id, strerror(errno));
	return 0;
}

#define XREG(n) (offsetof(struct kvm_regs, regs.regs) + (n) * sizeof(__u64))

int guest_vcpu_setup(struct dl_vm *vm, struct dl_vcpu *vc)
{
	struct kvm_vcpu_init init;

	/* The host CPU's own target; reset leaves the vCPU at EL1h with DAIF masked. */
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		return dl_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
	if (ioctl(vc->fd, KVM_ARM_VCPU_INIT, &init))
		return dl_err("vCPU %d: KVM_ARM_VCPU_INIT: %s", vc->id, strerror(errno));
	if (set_reg(vc, offsetof(struct kvm_regs, regs.pc), DL_SYS_GPA + CODE_GPA) ||
	    set_reg(vc, XREG(0), vc->gpa) || set_reg(vc, XREG(1), vc->pages) ||
	    set_reg(vc, XREG(2), DL_GUEST_PAGE) || set_reg(vc, XREG(3), DONE_GPA) ||
	    set_reg(vc, XREG(6), 0))
		return -1;
	return 0;
}

static int gic_attr(struct dl_vm *vm, uint32_t group, uint64_t attr, uint64_t *val)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)val };

	return ioctl(vm->gic_fd, KVM_SET_DEVICE_ATTR, &a);
}

/* The GICv3 must be created and initialised once every vCPU exists. */
int guest_vm_finalize(struct dl_vm *vm)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = GICD_GPA, redist = GICR_GPA;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &dev)) {
		if (vm->o->vcpus == 1)
			return 0;	/* one vCPU runs without an interrupt controller */
		return dl_err("-v %d needs an in-kernel GICv3 (KVM_CREATE_DEVICE: %s)",
			      vm->o->vcpus, strerror(errno));
	}
	vm->gic_fd = (int)dev.fd;
	if (gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist) ||
	    gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist))
		return dl_err("vGICv3 addresses: %s", strerror(errno));
	if (gic_attr(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL))
		return dl_err("vGICv3 init: %s", strerror(errno));
	return 0;
}

int guest_exit_is_done(struct dl_vcpu *vc)
{
	struct kvm_run *r = vc->run;

	if (r->exit_reason == KVM_EXIT_MMIO && r->mmio.phys_addr == DONE_GPA && r->mmio.is_write)
		return 1;
	return -1;
}
