/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault family: backend choice (fentry, kprobe, tracepoint), attachment and
 * collection of fault counts, latency, fast-path fixes, mmu_lock hold times
 * and dirty-log durations into the run model.
 */
#ifndef FAULT_H
#define FAULT_H

#include <stdbool.h>
#include <stdint.h>
#include "model.h"

struct fault_probes;
struct kvmstats;
struct ksyms;

enum fault_backend { FB_FENTRY, FB_KPROBE, FB_TRACEPOINT, NR_FAULT_BACKENDS };

extern const char *const fault_backend_names[NR_FAULT_BACKENDS];

struct fault_opts {
	int backend;			/* enum fault_backend, or -1: best available */
	uint32_t target_tgid;		/* only this VMM's threads (0: all) */
	const struct ksyms *ksyms;	/* which functions exist; NULL: read /proc/kallsyms */
	bool lock_functions;		/* probe _raw_{read,write}_{lock,unlock}: exact hold, costly */
	bool fault_latency;		/* time each fault (and arm64 relax_perms): an exit probe more */
	bool fault_types;		/* probe each fault even where KVM counts them (types, exact rate) */
	/* out: KVM's counters, which then give faults and fast path (kvmcounters.h); NULL: probes */
	struct kvmstats *stats;
};

/*
 * Attaches the fault family with the first backend that loads, records in r
 * the backend of each metric and, in r->missing, each metric it could not
 * collect and why; prints one line naming those.  Returns 0 with *out NULL
 * when nothing could be attached in auto mode; an error (after one line on
 * stderr) when a forced backend fails.
 */
int fault_attach(struct fault_probes **out, struct fault_opts *o, struct run *r);
/* Moves what BPF aggregated since the last call into delta. */
int fault_drain(struct fault_probes *fp, struct run *delta, uint32_t only_pid);
void fault_detach(struct fault_probes *fp);

#endif
