/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A probe family: one BPF object (bpf/<family>.bpf.c) and its user side,
 * with every variant the kernels need kept inside it.  Every family has
 * the same small interface, and the collector (collect.c) is a loop over
 * them: families never call each other or the collector.  What one family
 * tells the next (KVM's counters give the fault counts, so the fault
 * probes leave them out) goes through the covered mask of attach.
 */
#ifndef FAMILY_H
#define FAMILY_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"

struct kfacts;
struct bpf_program;

/* What the user asked of the probes (live's and the exporter's options). */
struct probe_opts {
	uint32_t target_tgid;		/* only this VMM's threads (0: all) */
	bool all_locks;			/* every contended lock, not only mmu_locks */
	const char *lock_backend;	/* NULL: best available; "tp_btf" or "raw_tp" */
	int fault_backend;		/* enum fault_backend, or -1: best available */
	bool lock_functions;		/* probe _raw_{read,write}_{lock,unlock}: exact hold, costly */
	bool fault_latency;		/* time each fault (and arm64 relax_perms): an exit probe more */
	bool fault_types;		/* probe each fault even where KVM counts them */
	bool verbose;			/* say why each variant was refused */
	uint32_t watch_pid;		/* the traced command (set by attach): its vCPUs from their creation on */
};

struct family {
	const char *name;
	/*
	 * Checks the kernel facts and the options and prepares *st; loads
	 * nothing.  0 with *st NULL: nothing to do on this kernel or with
	 * these options.  A negative errno (after one line on stderr): the
	 * run cannot go on.  kf and o outlive st.
	 */
	int (*open)(void **st, const struct kfacts *kf, const struct probe_opts *o);
	/*
	 * Loads and attaches the best variant that works, records it in r
	 * (backend, metric_backend) and adds the FM_ metrics it gives to
	 * *covered, which holds those of the families attached before.  A
	 * negative errno (after one line on stderr): the run cannot go on.
	 */
	int (*attach)(void *st, struct run *r, unsigned int *covered);
	/* Moves what it measured since the last call into delta. */
	int (*drain)(void *st, struct run *delta);
	/* Between intervals; NULL: nothing to do there. */
	void (*poll)(void *st);
	/* Writes what it could not measure, and why, into r->missing. */
	void (*missing)(void *st, struct run *r);
	/* Detaches every probe and frees st (NULL is fine). */
	void (*detach)(void *st);
	/*
	 * Is prog (of the family's BPF object) one of its probe points'?  A
	 * program no point claims would never load: the family refuses to
	 * attach (loudly) and a unit test checks every skeleton.
	 */
	bool (*claims)(const struct bpf_program *prog);
};

/*
 * Opens family name's skeleton for this kernel's BPF atomics: name_xadd is
 * the same source built for kernels with the plain atomic add alone
 * (bpf/stat.bpf.h), so the two skeletons have one layout.
 */
#define FAMILY_OPEN(name, kf)								\
	({ _Static_assert(sizeof(struct name##_bpf) == sizeof(struct name##_xadd_bpf),	\
			  "one source, one skeleton layout");				\
	   (kf)->bpf_atomics ? name##_bpf__open() : (struct name##_bpf *)name##_xadd_bpf__open(); })

extern const struct family lock_family;		/* lock.c: mmu_lock contention */
extern const struct family kvm_counters_family;	/* kvmcounters.c: KVM's own fault counters */
extern const struct family fault_family;	/* fault.c: faults, latency, hold, dirty log */

#endif
