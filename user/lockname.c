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

/* Frames of the probe itself: the BPF program and the tracepoint glue. */
static const char *const tracing_prefixes[] = {
	"bpf_", "__bpf", "__traceiter", "trace_contention", "perf_trace", "__perf",
};

#define has_prefix_in(sym, list) has_prefix(sym, list, sizeof(list) / sizeof(*list))

static bool has_prefix(const char *sym, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(sym, list[i], strlen(list[i])))
			return true;
	return false;
}

static bool is_internal(const char *sym)
{
	return has_prefix_in(sym, internal_prefixes);
}

void lockname_trim_tracing(struct stack_rec *s, const struct ksyms *k)
{
	uint32_t skip = 0;

	while (skip < s->nr_ips) {
		const char *sym = ksyms_name(k, s->ips[skip], NULL);

		/* JIT-ed programs are unnamed unless bpf_jit_kallsyms is set. */
		if (sym && !has_prefix_in(sym, tracing_prefixes))
			break;
		skip++;
	}
	if (skip == s->nr_ips)
		return;	/* nothing named: keep the chain as it is */
	memmove(s->ips, s->ips + skip, (s->nr_ips - skip) * sizeof(*s->ips));
	s->nr_ips -= skip;
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
