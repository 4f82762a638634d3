// SPDX-License-Identifier: GPL-2.0
/* VM plumbing for kvm-dirtylog: /dev/kvm, memslots, vCPUs, dirty log, binary stats. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dirtylog.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* Counters worth a line in the report when the kernel has them (KVM_GET_STATS_FD). */
const char *const dl_stat_names[DL_NSTATS] = {
	"exits", "pf_taken", "pf_fast", "pf_fixed", "pf_spurious", "pf_emulate",
	"mmio_exit_user", "signal_exits",
};

int dl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("kvm-dirtylog: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

uint64_t dl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

/* A "/proc/meminfo"-style "Key:   N kB" value in bytes, 0 if absent. */
static uint64_t meminfo_bytes(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;
	size_t len = strlen(key);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':' &&
		    sscanf(line + len + 1, "%llu", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static int open_kvm(struct dl_vm *vm)
{
	int ver;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
			return dl_err("no /dev/kvm: KVM is not available on this machine "
				      "(no hardware virtualization, or the kvm module is not loaded)");
		return dl_err("/dev/kvm: %s", strerror(errno));
	}
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return dl_err("KVM API version %d, expected %d", ver, KVM_API_VERSION);
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0)
		return dl_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	return 0;
}

static int create_vm(struct dl_vm *vm)
{
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return dl_err("KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int check_limits(struct dl_vm *vm)
{
	const struct dl_opts *o = vm->o;
	int max = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	uint64_t end = o->test_gpa + o->bytes_per_vcpu * (uint64_t)o->vcpus;
	uint64_t max_gpa = guest_max_gpa(vm);

	if (max <= 0)
		max = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && o->vcpus > max)
		return dl_err("-v %d: this host's KVM allows at most %d vCPUs per VM", o->vcpus, max);
	int nslots = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);

	if (nslots > 0 && o->slots + 1 > nslots)
		return dl_err("-x %d: this host's KVM has %d memslots per VM, one is the guest's code",
			      o->slots, nslots);
	if (end > max_gpa)
		return dl_err("test memory [0x%llx, 0x%llx) is beyond the guest physical address "
			      "limit 0x%llx: use a smaller -b/-v or a lower -p",
			      (unsigned long long)o->test_gpa, (unsigned long long)end,
			      (unsigned long long)max_gpa);
	return 0;
}

static int enable_manual_protect(struct dl_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
				      .args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE } };
	int have = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	if (have <= 0 || !(have & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		return dl_err("-g: this KVM lacks KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2");
	/* Not KVM_DIRTY_LOG_INITIALLY_SET: enabling the log must write-protect every page,
	 * so that the first logged pass already faults on each write. */
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap))
		return dl_err("KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2): %s", strerror(errno));
	return 0;
}

static int set_region(struct dl_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		      uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return dl_err("KVM_SET_USER_MEMORY_REGION(slot %u, 0x%llx+0x%llx): %s", slot,
			      (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
	return 0;
}

static uint64_t slot_words(const struct dl_vm *vm)
{
	return round_up(vm->slot_pages, 64) / 64;
}

static void *slot_bitmap(const struct dl_vm *vm, int k)
{
	return (uint64_t *)vm->bitmap + (uint64_t)k * slot_words(vm);
}

/* (Re)declares every test memslot with these flags: KVM_MEM_LOG_DIRTY_PAGES or 0. */
static int set_test_regions(struct dl_vm *vm, uint32_t flags)
{
	uint64_t bytes = vm->slot_pages * DL_GUEST_PAGE;

	for (int k = 0; k < vm->o->slots; k++)
		if (set_region(vm, DL_TEST_SLOT + (uint32_t)k, flags, vm->o->test_gpa + k * bytes,
			       bytes, (char *)vm->test_mem + k * bytes))
			return -1;
	return 0;
}

static uint64_t backing_page(enum dl_backing b)
{
	switch (b) {
	case BACK_THP:
	case BACK_HUGETLB_2M:
		return 2ULL << 20;
	case BACK_HUGETLB_1G:
		return 1ULL << 30;
	case BACK_HUGETLB:
		return meminfo_bytes("Hugepagesize");
	default:
		return (uint64_t)sysconf(_SC_PAGESIZE);
	}
}

/* THP needs a 2 MiB aligned start; over-map and trim the ends. */
static void *map_aligned(uint64_t size, uint64_t align, int flags)
{
	uint8_t *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE, flags, -1, 0);
	uint8_t *start;

	if (p == MAP_FAILED)
		return p;
	start = (uint8_t *)round_up((uintptr_t)p, align);
	if (start > p)
		munmap(p, (size_t)(start - p));
	munmap(start + size, (size_t)(p + align - start));
	return start;
}

/* Free huge pages of this size, from the per-size sysfs pool. */
static uint64_t free_hugepages(uint64_t page)
{
	char path[96];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)(page >> 10));
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

/* Fails early and clearly instead of letting the populating pass hit the OOM killer. */
static int check_host_memory(struct dl_vm *vm, uint64_t page)
{
	uint64_t avail, need = vm->map_size;

	if (vm->o->backing >= BACK_HUGETLB) {
		avail = free_hugepages(page);
		if (need / page > avail)
			return dl_err("-s %s needs %llu huge pages of %llu KiB, %llu free: reserve "
				      "them in /sys/kernel/mm/hugepages/hugepages-%llukB/nr_hugepages",
				      dl_backing_name(vm->o->backing),
				      (unsigned long long)(need / page),
				      (unsigned long long)(page >> 10), (unsigned long long)avail,
				      (unsigned long long)(page >> 10));
		return 0;
	}
	avail = meminfo_bytes("MemAvailable");
	if (avail && need > avail)
		return dl_err("%d vCPUs x -b %llu MiB needs %llu MiB of host memory, %llu MiB available",
			      vm->o->vcpus, (unsigned long long)(vm->o->bytes_per_vcpu >> 20),
			      (unsigned long long)(need >> 20), (unsigned long long)(avail >> 20));
	return 0;
}

static int map_test_memory(struct dl_vm *vm)
{
	const struct dl_opts *o = vm->o;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint64_t page = backing_page(o->backing);

	if (!page)
		return dl_err("-s %s: no default huge page size (hugetlbfs missing?)",
			      dl_backing_name(o->backing));
	vm->test_size = o->bytes_per_vcpu * (uint64_t)o->vcpus;
	vm->test_pages = vm->test_size / DL_GUEST_PAGE;
	vm->slot_pages = vm->test_pages / (uint64_t)o->slots;
	vm->map_size = round_up(vm->test_size, page);
	if (check_host_memory(vm, page))
		return -1;
	if (o->backing >= BACK_HUGETLB) {
		flags |= MAP_HUGETLB;
		if (o->backing != BACK_HUGETLB)
			flags |= (__builtin_ctzll(page) << MAP_HUGE_SHIFT);
	}
	vm->test_mem = o->backing == BACK_THP ? map_aligned(vm->map_size, page, flags)
		: mmap(NULL, vm->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (vm->test_mem == MAP_FAILED) {
		vm->test_mem = NULL;
		return dl_err("mmap %llu MiB (%s): %s", (unsigned long long)(vm->map_size >> 20),
			      dl_backing_name(o->backing), strerror(errno));
	}
	if (o->backing == BACK_THP && madvise(vm->test_mem, vm->map_size, MADV_HUGEPAGE))
		return dl_err("madvise(MADV_HUGEPAGE): %s (THP disabled in this kernel?)",
			      strerror(errno));
	return set_test_regions(vm, 0);
}

static int map_sys_memory(struct dl_vm *vm)
{
	vm->sys_size = round_up(guest_sys_size(vm->o), 2ULL << 20);
	vm->sys_mem = mmap(NULL, vm->sys_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->sys_mem == MAP_FAILED) {
		vm->sys_mem = NULL;
		return dl_err("mmap system memory: %s", strerror(errno));
	}
	return set_region(vm, DL_SYS_SLOT, 0, DL_SYS_GPA, vm->sys_size, vm->sys_mem);
}

static int create_vcpu(struct dl_vm *vm, struct dl_vcpu *vc, int id)
{
	vc->vm = vm;
	vc->id = id;
	vc->pages = vm->o->bytes_per_vcpu / DL_GUEST_PAGE;
	vc->gpa = vm->o->test_gpa + (uint64_t)id * vm->o->bytes_per_vcpu;
	vc->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vc->fd < 0)
		return dl_err("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	vc->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vc->fd, 0);
	if (vc->run == MAP_FAILED) {
		vc->run = NULL;
		return dl_err("mmap vCPU %d run area: %s", id, strerror(errno));
	}
	if (guest_vcpu_setup(vm, vc))
		return -1;
	return dl_stats_open(&vc->stats, vc->fd);
}

static int create_vcpus(struct dl_vm *vm)
{
	vm->vcpu = calloc((size_t)vm->o->vcpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return dl_err("out of memory");
	for (int i = 0; i < vm->o->vcpus; i++) {
		vm->vcpu[i].fd = -1;
		vm->vcpu[i].stats.fd = -1;
	}
	for (int i = 0; i < vm->o->vcpus; i++)
		if (create_vcpu(vm, &vm->vcpu[i], i))
			return -1;
	return 0;
}

int dl_vm_create(struct dl_vm *vm, const struct dl_opts *o)
{
	char why[200] = "";

	*vm = (struct dl_vm){ .o = o, .kvm_fd = -1, .vm_fd = -1, .gic_fd = -1 };
	if (open_kvm(vm))
		return -1;
	if (guest_backend_check(vm->kvm_fd, why, sizeof(why)))
		return dl_err("%s", why);
	if (create_vm(vm) || check_limits(vm))
		return -1;
	if (o->manual_protect && enable_manual_protect(vm))
		return -1;
	if (map_sys_memory(vm) || map_test_memory(vm) || guest_vm_setup(vm))
		return -1;
	if (create_vcpus(vm) || guest_vm_finalize(vm))
		return -1;
	vm->bitmap = calloc(slot_words(vm) * (uint64_t)o->slots, sizeof(uint64_t));
	if (!vm->bitmap)
		return dl_err("out of memory");
	return 0;
}

void dl_vm_destroy(struct dl_vm *vm)
{
	for (int i = 0; vm->vcpu && i < vm->o->vcpus; i++) {
		struct dl_vcpu *vc = &vm->vcpu[i];

		if (vc->run)
			munmap(vc->run, vm->run_size);
		if (vc->stats.fd >= 0)
			close(vc->stats.fd);
		if (vc->fd >= 0)
			close(vc->fd);
	}
	free(vm->vcpu);
	free(vm->bitmap);
	if (vm->gic_fd >= 0)
		close(vm->gic_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->test_mem)
		munmap(vm->test_mem, vm->map_size);
	if (vm->sys_mem)
		munmap(vm->sys_mem, vm->sys_size);
}

int dl_set_logging(struct dl_vm *vm, bool on)
{
	return set_test_regions(vm, on ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

int dl_get_log(struct dl_vm *vm, uint64_t *ndirty)
{
	uint64_t n = 0, words = slot_words(vm) * (uint64_t)vm->o->slots;

	for (int k = 0; k < vm->o->slots; k++) {
		struct kvm_dirty_log log = { .slot = DL_TEST_SLOT + (uint32_t)k,
					     .dirty_bitmap = slot_bitmap(vm, k) };

		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log))
			return dl_err("KVM_GET_DIRTY_LOG(slot %u): %s", log.slot, strerror(errno));
	}
	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(((uint64_t *)vm->bitmap)[i]);
	*ndirty = n;
	return 0;
}

/* Re-protects exactly the pages the last KVM_GET_DIRTY_LOG reported. */
int dl_clear_log(struct dl_vm *vm)
{
	for (int k = 0; k < vm->o->slots; k++) {
		struct kvm_clear_dirty_log clr = { .slot = DL_TEST_SLOT + (uint32_t)k,
						   .first_page = 0,
						   .num_pages = (uint32_t)vm->slot_pages,
						   .dirty_bitmap = slot_bitmap(vm, k) };

		if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &clr))
			return dl_err("KVM_CLEAR_DIRTY_LOG(slot %u): %s", clr.slot, strerror(errno));
	}
	return 0;
}

/* Resolves dl_stat_names to data offsets once; a kernel without binary stats leaves -1. */
int dl_stats_open(struct dl_stats *s, int fd)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	size_t dsize;
	char *descs;

	for (int i = 0; i < DL_NSTATS; i++)
		s->data_off[i] = -1;
	s->fd = ioctl(fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0 || pread(s->fd, &h, sizeof(h), 0) != sizeof(h))
		return 0;
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	if (!descs)
		return dl_err("out of memory");
	if (pread(s->fd, descs, dsize * h.num_desc, h.desc_offset) == (ssize_t)(dsize * h.num_desc)) {
		for (uint32_t k = 0; k < h.num_desc; k++) {
			d = (struct kvm_stats_desc *)(descs + k * dsize);
			for (int i = 0; i < DL_NSTATS; i++)
				if (!strncmp(d->name, dl_stat_names[i], h.name_size))
					s->data_off[i] = (off_t)(h.data_offset + d->offset);
		}
	}
	free(descs);
	return 0;
}

void dl_stats_read(const struct dl_stats *s, uint64_t out[DL_NSTATS])
{
	for (int i = 0; i < DL_NSTATS; i++) {
		out[i] = 0;
		if (s->data_off[i] >= 0 &&
		    pread(s->fd, &out[i], sizeof(out[i]), s->data_off[i]) != sizeof(out[i]))
			out[i] = 0;
	}
}
