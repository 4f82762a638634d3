/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and attaching the probe families, with fallbacks and preflight. */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>
#include "model.h"

struct lock_bpf;
struct collector;
struct fault_opts;

struct attach_opts {
	bool all_locks;
	uint32_t target_tgid;	/* with all_locks: only this process's waits */
	const char *backend;	/* NULL: best available; "tp_btf" or "raw_tp" */
	bool verbose;
};

/*
 * Checks what the kernel offers; on anything missing prints one line naming
 * it and returns non-zero.  Records optional gaps in r->missing.
 */
int attach_preflight(struct run *r);
/* Opens, loads and attaches the lock family; fills r->backend. */
int attach_lock(struct lock_bpf **skel, const struct attach_opts *o, struct run *r);
void attach_detach(struct lock_bpf *skel);
void attach_set_verbose(bool verbose);
/*
 * Both families as live and the exporter run them: the lock family (an
 * error, reported, when it cannot attach), kallsyms for naming (missing:
 * noted in r), then the fault family, which degrades on its own.  Fills
 * c->skel, c->ksyms and c->fault; on failure nothing stays attached.
 */
int attach_families(struct collector *c, const struct attach_opts *lo, struct fault_opts *fo,
		    struct run *r);
void detach_families(struct collector *c);

#endif
