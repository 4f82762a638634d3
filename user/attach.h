/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and attaching the probe families, with fallbacks and preflight. */
#ifndef ATTACH_H
#define ATTACH_H

#include <stdbool.h>
#include "model.h"

struct lock_bpf;

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

#endif
