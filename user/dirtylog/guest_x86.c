// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64 guest for kvm-dirtylog: a 64-bit long-mode guest with identity-mapped
 * 2 MiB pages, so one vCPU can address its slice wherever it sits below 512 GiB
 * (real mode's 1 MiB, or protected mode's 4 GiB, would cap -v x -b).
 *
 * System slot (GPA 0): code at 0x1000, PML4 at 0x2000, PDPT at 0x3000, one page
 * directory per GiB from 0x4000, the stack in the page after them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dirtylog.h"

const char dl_guest_arch[] = "x86_64";

#define CODE_GPA	0x1000ULL
#define PML4_GPA	0x2000ULL
#define PDPT_GPA	0x3000ULL
#define PD_GPA		0x4000ULL
#define DONE_PORT	0xf1	/* "out" here ends a pass: a KVM_EXIT_IO to user space */
#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_PS		0x80ULL
#define GIB		(1ULL << 30)
#define MAX_GPA		(512 * GIB)	/* what one PML4 entry maps */

/*
 * rdi = slice start, rsi = pages, r9 = stride, r8 = pass counter (the value written).
 * One 8-byte store per page, then "out" to tell the host the pass is over; the
 * next KVM_RUN resumes at the jmp and starts the next pass.
 */
asm(".pushsection .text\n"
    ".global dl_guest_code, dl_guest_code_end\n"
    "dl_guest_code:\n"
    "1:	mov %rdi, %rax\n"
    "	mov %rsi, %rcx\n"
    "2:	mov %r8, (%rax)\n"
    "	add %r9, %rax\n"
    "	dec %rcx\n"
    "	jnz 2b\n"
    "	inc %r8\n"
    "	out %al, $0xf1\n"
    "	jmp 1b\n"
    "dl_guest_code_end:\n"
    ".popsection\n");
extern const unsigned char dl_guest_code[], dl_guest_code_end[];

static struct kvm_cpuid2 *supported;

static uint64_t test_end(const struct dl_opts *o)
{
	return o->test_gpa + o->bytes_per_vcpu * (uint64_t)o->vcpus;
}

static uint64_t page_dirs(const struct dl_opts *o)
{
	uint64_t end = test_end(o);

	return (end > MAX_GPA ? MAX_GPA : end + GIB - 1) / GIB;
}

/* A backend that emulates the guest (kvm_pvm) or none that uses VMX/SVM: refuse. */
int guest_backend_check(int kvm_fd, char *why, size_t len)
{
	(void)kvm_fd;
	if (!access("/sys/module/kvm_pvm", F_OK)) {
		snprintf(why, len, "this host's KVM backend is kvm_pvm, which runs guests without "
			 "hardware virtualization (no EPT/NPT, no stage-2 faults): refusing to "
			 "report timings; run kvm-dirtylog on bare metal or in the lab (make lab)");
		return -1;
	}
	if (access("/sys/module/kvm_intel", F_OK) && access("/sys/module/kvm_amd", F_OK)) {
		snprintf(why, len, "neither kvm_intel nor kvm_amd is loaded: KVM is not backed by "
			 "VMX/SVM here, so there are no EPT/NPT faults to measure");
		return -1;
	}
	return 0;
}

/* kvm_intel's Page Modification Logging records dirty GPAs with no write fault. */
bool guest_logging_faults(void)
{
	char c = 'N';
	FILE *f = fopen("/sys/module/kvm_intel/parameters/pml", "r");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = 'N';
		fclose(f);
	}
	return c != 'Y' && c != 'y' && c != '1';
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (int n = 64; n <= 4096 && !supported; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			supported = c;
		else
			free(c);
	}
	return supported;
}

uint64_t guest_sys_size(const struct dl_opts *o)
{
	return PD_GPA + page_dirs(o) * 0x1000 + 0x1000;	/* + stack page */
}

/* The guest's MAXPHYADDR (CPUID 0x80000008) and what our page tables map. */
uint64_t guest_max_gpa(struct dl_vm *vm)
{
	struct kvm_cpuid2 *c = get_supported_cpuid(vm->kvm_fd);
	uint64_t max = MAX_GPA;

	for (uint32_t i = 0; c && i < c->nent; i++) {
		unsigned bits = c->entries[i].eax & 0xff;

		if (c->entries[i].function == 0x80000008 && bits >= 32 && bits < 64 &&
		    (1ULL << bits) < max)
			max = 1ULL << bits;
	}
	return max;
}

static uint64_t *gpa_ptr(struct dl_vm *vm, uint64_t gpa)
{
	return (uint64_t *)((char *)vm->sys_mem + gpa);
}

/* Identity map [0, n GiB) with 2 MiB pages. */
static void build_page_tables(struct dl_vm *vm)
{
	uint64_t n = page_dirs(vm->o);

	*gpa_ptr(vm, PML4_GPA) = PDPT_GPA | PTE_P | PTE_RW;
	for (uint64_t g = 0; g < n; g++) {
		uint64_t pd = PD_GPA + g * 0x1000;

		gpa_ptr(vm, PDPT_GPA)[g] = pd | PTE_P | PTE_RW;
		for (uint64_t e = 0; e < 512; e++)
			gpa_ptr(vm, pd)[e] = (g * GIB + e * (2ULL << 20)) | PTE_P | PTE_RW | PTE_PS;
	}
}

int guest_vm_setup(struct dl_vm *vm)
{
	if (!get_supported_cpuid(vm->kvm_fd))
		return dl_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	memcpy(gpa_ptr(vm, CODE_GPA), dl_guest_code, (size_t)(dl_guest_code_end - dl_guest_code));
	build_page_tables(vm);
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
				   .present = 1, .dpl = 0, .s = 1, .g = 1,
				   .l = code, .db = !code };
}

/* Long mode straight from reset: KVM loads the hidden segment state, so no GDT is needed. */
static int set_long_mode(struct dl_vcpu *vc)
{
	struct kvm_sregs s;

	if (ioctl(vc->fd, KVM_GET_SREGS, &s))
		return dl_err("KVM_GET_SREGS: %s", strerror(errno));
	flat_segment(&s.cs, 0x8, 11, true);
	flat_segment(&s.ds, 0x10, 3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .selector = 0x18, .limit = 0x67, .type = 11, .present = 1 };
	s.cr0 = 0x80050033;	/* PG | AM | WP | NE | ET | MP | PE */
	s.cr4 = 0x20;		/* PAE */
	s.cr3 = PML4_GPA;
	s.efer = 0x500;		/* LMA | LME */
	if (ioctl(vc->fd, KVM_SET_SREGS, &s))
		return dl_err("KVM_SET_SREGS (long mode): %s", strerror(errno));
	return 0;
}

int guest_vcpu_setup(struct dl_vm *vm, struct dl_vcpu *vc)
{
	struct kvm_regs r = {
		.rip = CODE_GPA, .rflags = 0x2, .rsp = vm->sys_size,
		.rdi = vc->gpa, .rsi = vc->pages, .r8 = 0, .r9 = DL_GUEST_PAGE,
	};

	/* Long mode needs CPUID.LM in the guest's CPUID, or KVM rejects EFER.LME. */
	if (ioctl(vc->fd, KVM_SET_CPUID2, supported))
		return dl_err("KVM_SET_CPUID2: %s", strerror(errno));
	if (set_long_mode(vc))
		return -1;
	if (ioctl(vc->fd, KVM_SET_REGS, &r))
		return dl_err("KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int guest_vm_finalize(struct dl_vm *vm)
{
	(void)vm;
	return 0;
}

int guest_exit_is_done(struct dl_vcpu *vc)
{
	struct kvm_run *r = vc->run;

	if (r->exit_reason == KVM_EXIT_IO && r->io.port == DONE_PORT &&
	    r->io.direction == KVM_EXIT_IO_OUT)
		return 1;
	return -1;
}
