// SPDX-License-Identifier: GPL-2.0
/*
 * contend: makes a real VM's kvm->mmu_lock contend without running guest
 * code (this host's KVM backend emulates guests, so no real stage-2 fault
 * ever happens here).  A VM gets one dirty-logged memslot; some threads
 * loop KVM_GET_DIRTY_LOG (mmu_lock for write while write-protecting),
 * others touch and MADV_DONTNEED the slot's memory, whose MMU-notifier
 * invalidations take mmu_lock for write too.
 *
 *   contend [-s SECONDS] [-m MIB] [-g GETTERS] [-z ZAPPERS]
 * Prints "contend: pid N vm ready" once the VM exists, then runs; at the end
 * the operation counts and their rates over the measured run (what
 * scripts/bench/host-lock.sh compares, traced and untraced).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <stdbool.h>
#include <unistd.h>

#define SLOT_GPA 0x100000000ULL

struct vm {
	int kvm, fd;
	char *mem;
	size_t size;
	unsigned long *bitmap;
};

static atomic_bool stop;
static atomic_ulong ops_getlog, ops_zap;

static void die(const char *what)
{
	fprintf(stderr, "contend: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void vm_create(struct vm *vm, size_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = SLOT_GPA, .memory_size = size,
	};

	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		die("/dev/kvm");
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		die("KVM_CREATE_VM");
	vm->size = size;
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap");
	region.userspace_addr = (unsigned long)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	/* One vCPU makes the VM look like one to every tool (kvm-vcpu fd). */
	if (ioctl(vm->fd, KVM_CREATE_VCPU, 0) < 0)
		die("KVM_CREATE_VCPU");
	vm->bitmap = calloc(size / 4096 / 8 + 8, 1);
	if (!vm->bitmap)
		die("calloc");
}

static void *getter(void *arg)
{
	struct vm *vm = arg;
	unsigned long *bitmap = calloc(vm->size / 4096 / 8 + 8, 1);
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

	while (!stop) {
		if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log))
			die("KVM_GET_DIRTY_LOG");
		ops_getlog++;
	}
	free(bitmap);
	return NULL;
}

static void *zapper(void *arg)
{
	struct vm *vm = arg;

	while (!stop) {
		for (size_t off = 0; off < vm->size; off += 4096)
			vm->mem[off]++;
		if (madvise(vm->mem, vm->size, MADV_DONTNEED))
			die("madvise");
		ops_zap++;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long arg_num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < lo || v > hi) {
		fprintf(stderr, "contend: %s must be %ld..%ld, not '%s'\n", what, lo, hi, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long secs = 5, mib = 64, getters = 2, zappers = 2;
	pthread_t th[64];
	struct vm vm;
	int opt, n = 0;
	double t0, secs_run;

	while ((opt = getopt(argc, argv, "s:m:g:z:")) != -1) {
		switch (opt) {
		case 's': secs = arg_num(optarg, 1, 3600, "-s seconds"); break;
		case 'm': mib = arg_num(optarg, 1, 4096, "-m MiB"); break;
		case 'g': getters = arg_num(optarg, 1, 16, "-g getters"); break;
		case 'z': zappers = arg_num(optarg, 1, 16, "-z zappers"); break;
		default:
			fprintf(stderr, "usage: contend [-s SECONDS] [-m MIB] [-g GETTERS] [-z ZAPPERS]\n");
			return 2;
		}
	}
	vm_create(&vm, mib << 20);
	printf("contend: pid %d vm ready\n", getpid());
	fflush(stdout);
	t0 = now_s();
	for (long i = 0; i < getters; i++)
		pthread_create(&th[n++], NULL, getter, &vm);
	for (long i = 0; i < zappers; i++)
		pthread_create(&th[n++], NULL, zapper, &vm);
	sleep(secs);
	stop = true;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	secs_run = now_s() - t0;
	printf("contend: %lu KVM_GET_DIRTY_LOG, %lu zap passes\n", ops_getlog, ops_zap);
	printf("contend: ops/s getlog %.1f zap %.3f over %.3f s\n", ops_getlog / secs_run,
	       ops_zap / secs_run, secs_run);
	return 0;
}
