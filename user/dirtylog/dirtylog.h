/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm-dirtylog: a dirty-logging workload with the semantics of the kernel's
 * dirty_log_perf_test, written from the KVM API. One common driver (main.c,
 * opts.c, vm.c, run.c, report.c) and one guest file per architecture
 * (guest_arm64.c, guest_x86.c) behind the guest_* functions below.
 */
#ifndef KVM_DIRTYLOG_H
#define KVM_DIRTYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define DL_GUEST_PAGE	4096ULL		/* the guest touches one word per 4 KiB page */
#define DL_MAX_VCPUS	4096	/* beyond any KVM_CAP_MAX_VCPUS, so the host's limit is what refuses */
#define DL_SYS_GPA	0x0ULL		/* code, stack, page tables */
#define DL_TEST_GPA	(1ULL << 32)	/* default start of the dirty-logged memory */
#define DL_SYS_SLOT	0
#define DL_TEST_SLOT	1		/* test memslots are DL_TEST_SLOT .. + slots - 1 */
#define DL_MAX_SLOTS	512

enum dl_backing { BACK_ANON, BACK_THP, BACK_HUGETLB, BACK_HUGETLB_2M, BACK_HUGETLB_1G };

struct dl_opts {
	int vcpus;
	uint64_t bytes_per_vcpu;
	int iterations;
	enum dl_backing backing;
	bool manual_protect;
	uint64_t test_gpa;
	int slots;			/* -x: test memory split into this many memslots */
	const char *json_path;		/* NULL: text only; "-": JSON on stdout */
	int pin_cpus[DL_MAX_VCPUS];	/* -c: host CPU per vCPU, -1 = not pinned */
	int npin;
	int timeout_s;			/* per pass: a guest that hangs is an error */
	bool quiet;
};

/* KVM binary stats of one fd: names of interest resolved once to data offsets. */
#define DL_NSTATS 8
extern const char *const dl_stat_names[DL_NSTATS];
struct dl_stats {
	int fd;
	off_t data_off[DL_NSTATS];	/* -1: this kernel has no such stat */
};

struct dl_vm;

struct dl_vcpu {
	struct dl_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	uint64_t gpa;			/* start of its slice */
	uint64_t pages;
	struct dl_stats stats;
	uint64_t pass_ns;		/* duration of its last pass */
	int error;			/* non-zero: the pass failed, see errmsg */
	char errmsg[160];
};

struct dl_vm {
	const struct dl_opts *o;
	int kvm_fd;
	int vm_fd;
	int gic_fd;			/* arm64 vgic device, -1 elsewhere */
	size_t run_size;
	void *sys_mem;			/* system slot: code, stack, page tables */
	uint64_t sys_size;
	void *test_mem;
	uint64_t test_size;		/* memslot size: vcpus * bytes_per_vcpu */
	uint64_t map_size;		/* mapping size, rounded to the backing page */
	uint64_t test_pages;
	uint64_t slot_pages;		/* pages per test memslot */
	unsigned long *bitmap;		/* one 64-bit aligned bitmap per test memslot */
	struct dl_vcpu *vcpu;
};

/* Per dirty-logged pass (iteration >= 1); iteration 0 is the populating pass. */
struct dl_iter {
	uint64_t dirty_ns;		/* wall time until every vCPU finished */
	uint64_t vcpu_max_ns, vcpu_sum_ns;
	uint64_t get_ns, clear_ns;
	uint64_t pages_dirtied;		/* bits set in the fetched log */
	uint64_t stats[DL_NSTATS];	/* deltas summed over vCPUs */
};

struct dl_result {
	uint64_t populate_ns;
	uint64_t enable_ns, disable_ns;
	int niter;
	struct dl_iter *iter;		/* [0] populate, [1..niter] logged passes */
	bool have_stat[DL_NSTATS];
	char native_why[200];		/* how the run was shown to be hardware virt */
};

/* opts.c */
int dl_parse_opts(int argc, char **argv, struct dl_opts *o);
const char *dl_backing_name(enum dl_backing b);

/* vm.c */
int dl_vm_create(struct dl_vm *vm, const struct dl_opts *o);
void dl_vm_destroy(struct dl_vm *vm);
int dl_set_logging(struct dl_vm *vm, bool on);
int dl_get_log(struct dl_vm *vm, uint64_t *ndirty);
int dl_clear_log(struct dl_vm *vm);
int dl_stats_open(struct dl_stats *s, int fd);
void dl_stats_read(const struct dl_stats *s, uint64_t out[DL_NSTATS]);
uint64_t dl_now_ns(void);
int dl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* run.c */
int dl_run(struct dl_vm *vm, struct dl_result *res);

/* report.c */
void dl_report_text(const struct dl_vm *vm, const struct dl_result *r);
int dl_report_json(const struct dl_vm *vm, const struct dl_result *r, const char *path);

/* guest_<arch>.c: the only architecture-specific code */
extern const char dl_guest_arch[];
/* Refuses backends that do not run guests on hardware virtualization. */
int guest_backend_check(int kvm_fd, char *why, size_t len);
uint64_t guest_sys_size(const struct dl_opts *o);
uint64_t guest_max_gpa(struct dl_vm *vm);
int guest_vm_setup(struct dl_vm *vm);		/* after the system slot exists */
int guest_vcpu_setup(struct dl_vm *vm, struct dl_vcpu *vc);
int guest_vm_finalize(struct dl_vm *vm);	/* after every vCPU exists */
/* false: the hardware logs writes without faulting (Intel PML), so no exit per page */
bool guest_logging_faults(void);
/* 1: the vCPU reported the end of its pass, 0: not ours (e.g. EINTR), -1: bad exit */
int guest_exit_is_done(struct dl_vcpu *vc);

#endif
