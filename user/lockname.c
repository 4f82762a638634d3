// SPDX-License-Identifier: GPL-2.0
/*
 * A lock without a symbol of its own (most of them live in heap objects)
 * is best known by who takes it.  The recorded chain starts inside the
 * tracing hook and the lock's slow path; skip those frames.
 */
#include <stdio.h>
#include <string.h>
#include "ksyms.h"
#include "lockname.h"

static const char *const internal_prefixes[] = {
	"bpf_", "__bpf", "trace_", "__trace", "perf_", "queued_", "native_queued",
	"__pv_queued", "_raw_", "__raw_", "do_raw_", "rwsem_", "__rwsem", "down_",
	"__down", "up_", "mutex_", "__mutex", "rt_mutex", "rt_spin", "rt_read",
	"rt_write", "osq_", "percpu_down", "__percpu_down", "lock_contended",
	"contention_", "_raw_spin", "preempt_", "__cond_resched",
};

static bool is_internal(const char *sym)
{
	for (size_t i = 0; i < sizeof(internal_prefixes) / sizeof(*internal_prefixes); i++)
		if (!strncmp(sym, internal_prefixes[i], strlen(internal_prefixes[i])))
			return true;
	return false;
}

const char *lockname_caller(const struct stack_rec *s, const struct ksyms *k)
{
	for (uint32_t i = 0; i < s->nr_ips; i++) {
		const char *sym = ksyms_name(k, s->ips[i], NULL);

		if (sym && !is_internal(sym))
			return sym;
	}
	return NULL;
}

void lockname_from_stacks(struct lock_rec *l, const struct ksyms *k)
{
	const struct stack_rec *best = NULL;
	const char *sym;

	for (size_t i = 0; i < l->nr_stacks; i++)
		if (l->stacks[i].nr_ips && (!best || l->stacks[i].total_ns > best->total_ns))
			best = &l->stacks[i];
	if (best && (sym = lockname_caller(best, k)))
		snprintf(l->name, sizeof(l->name), "%s", sym);
}
