/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMLOCKSTAT_PERFDATA_H
#define KVMLOCKSTAT_PERFDATA_H

#include <stdint.h>
#include <stddef.h>

/* One aggregated contention site: a (task, lock, kernel stack) triple. */
struct pd_sample {
	uint32_t pid, tid;      /* tgid and thread id of the contending task */
	const char *comm;       /* task name */
	uint64_t weight;        /* wait time in ns: becomes the sample period */
	uint64_t count;         /* number of contentions aggregated in this sample */
	uint64_t lock_addr;     /* lock address */
	uint32_t nr_ips;        /* kernel call chain, innermost first */
	const uint64_t *ips;
	uint64_t time_ns;       /* when it was seen (end of its last interval); 0: unknown */
};

/*
 * Write a perf.data file that perf report / perf script read, one
 * PERF_RECORD_SAMPLE per element of samples:
 *   period = weight (so perf's percentages are wait-time shares),
 *   ip = ips[0], callchain = PERF_CONTEXT_KERNEL + ips,
 *   addr = lock_addr (perf script -F addr), weight = count (-F weight).
 * ips must hold exactly nr_ips addresses (no zero padding); time = time_ns.
 * Samples keep their order, except that the earliest one starting in core
 * kernel text is moved to the front, at the earliest time of all: perf can
 * name module frames only after it has loaded the core kernel's symbols. Loaded modules (/proc/modules) get
 * their own maps, as perf record writes them.
 * Kernel symbols resolve through /proc/kallsyms at report time on this
 * host; _text/_etext are read from it now, which needs root (or
 * kptr_restrict=0): -EPERM otherwise. The kernel's build-id (from
 * /sys/kernel/notes) goes in HEADER_BUILD_ID, so on another host perf says
 * "No kallsyms or vmlinux with build-id ..." instead of misnaming frames.
 * Writes path atomically (temp file + rename); returns 0 or -errno, never
 * leaves a half-written file.
 */
int perfdata_write(const char *path, const struct pd_sample *samples, size_t n);

/* -EINVAL if samples is NULL with n > 0 or a sample has nr_ips but no ips. */
int perfdata_check_samples(const struct pd_sample *samples, size_t n);

/* A loaded module's place in the kernel address space (/proc/modules). */
struct pd_module {
	char *name;		/* "kvm_intel" */
	uint64_t start, size;
};

/* Where kernel code lives: perf maps sample addresses through it. */
struct pd_kernel_layout {
	uint64_t text_start, text_end;	/* _text, _etext */
	size_t nr_modules;
	struct pd_module *modules;
};

/*
 * Read the layout from kallsyms and modules files (NULL: /proc/kallsyms,
 * /proc/modules). A missing modules file means no modules (kernels built
 * without CONFIG_MODULES). 0 or -errno, with a message on stderr: -EPERM
 * when addresses are hidden (not root, kptr_restrict).
 */
int perfdata_layout_load(struct pd_kernel_layout *kl, const char *kallsyms,
			 const char *modules);
void perfdata_layout_free(struct pd_kernel_layout *kl);

/* perfdata_write() with a given layout (tests, offline conversion). */
int perfdata_write_layout(const char *path, const struct pd_sample *samples,
			  size_t n, const struct pd_kernel_layout *kl);

#endif
