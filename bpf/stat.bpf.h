/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every probe family's BPF object shares: lock-free accumulation into
 * wait_stat values (regular hash maps), key generations, and drop counters.
 * Include after kvmlockstat.h.
 */
#ifndef STAT_BPF_H
#define STAT_BPF_H

#include "bits.bpf.h"

/* Events that could not be recorded, by reason: user space reports their growth. */
__u64 drops[NR_DROPS] = {};

static __always_inline void drop(enum drop_reason r)
{
	if (r < NR_DROPS)
		__sync_fetch_and_add(&drops[r], 1);
}

/*
 * A refused map update, counted as full (E2BIG) or as DROP_MAP_BUSY: the
 * bucket was locked on this CPU by an update this program interrupted.
 */
static __always_inline void map_refused(long err, enum drop_reason full)
{
	drop(err == -7 /* E2BIG */ ? full : DROP_MAP_BUSY);
}

/*
 * Find key in map, inserting a zeroed value first if needed.  NR_DROPS as
 * full: the caller counts its own loss.
 */
static __always_inline void *lookup_or_init(void *map, const void *key,
					    const void *init, enum drop_reason full)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */) {
		if (full < NR_DROPS)
			map_refused(err, full);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* false: the kernel has no task storage for tracing programs (before 5.11). */
const volatile bool use_task_storage = true;

/*
 * This thread's value: in task storage (one pointer away once created), or
 * where the kernel has none in a hash by thread id (user space creates only
 * one of the two maps).  The branch not taken is pruned at load, so a
 * kernel without the task storage helpers never sees them.
 */
#define thread_value(storage, by_tid, zero, create)					\
({											\
	__u32 __tid = bpf_get_current_pid_tgid();					\
	void *__v;									\
											\
	if (use_task_storage)								\
		__v = bpf_task_storage_get(storage, bpf_get_current_task_btf(), 0,	\
					   (create) ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0); \
	else if (create)								\
		__v = lookup_or_init(by_tid, &__tid, zero, NR_DROPS);			\
	else										\
		__v = bpf_map_lookup_elem(by_tid, &__tid);				\
	__v;										\
})

/*
 * Max and min need no atomics: every value is written by one writer at a
 * time, the keys of the shared maps carrying the thread, and the other maps
 * being per-CPU.
 */
static __always_inline void stat_max(__u64 *p, __u64 v)
{
	if (*p < v)
		*p = v;
}

static __always_inline void stat_min(__u64 *p, __u64 v)
{
	if (!*p || *p > v)
		*p = v;
}

static __always_inline void wait_stat_add(struct wait_stat *s, __u64 delta)
{
	/*
	 * 64-bit and opaque to clang: otherwise it bounds the index with a
	 * 32-bit compare, which the 6.1 verifier does not carry over to the
	 * 64-bit register ("unbounded min value" on the hist[] access).
	 */
	__u64 slot = hist_slot(delta);

	barrier_var(slot);
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	stat_max(&s->max_ns, delta);
	stat_min(&s->min_ns, delta);
	if (slot < MAX_SLOTS)
		__sync_fetch_and_add(&s->hist[slot], 1);
}

/*
 * Every aggregation key carries the generation it was added in: user
 * space drains only generations BPF has left (bpfmap_next_generation).
 */
__u32 gen = 0;

/*
 * Updates happen inside a window user space can wait for: the drain moves
 * 'gen' on, waits until no program is still in a window of the old
 * generation (active[old & 1] == 0), and only then deletes that
 * generation's entries, so no addition lands in a deleted entry however
 * long a CPU stalls (a TCG vCPU can stop for milliseconds).  The fetch
 * form of the atomic orders the re-read of gen after the increment.
 */
__u64 active[2] = {};

/*
 * Kernels before 5.12 refuse every atomic but the plain add (BPF_XADD), even
 * in code never run: their objects are built with BPF_XADD_ONLY, where the
 * add orders as the JIT makes it (x86: a full barrier, lock xadd; arm64: an
 * add the re-read of gen may pass, a window of nanoseconds against the
 * drain's system calls).
 */
static __always_inline void window_add(__u64 *p, __s64 v)
{
#ifdef BPF_XADD_ONLY
	__sync_fetch_and_add(p, v);
#else
	__u64 was = __sync_fetch_and_add(p, v);

	barrier_var(was);
#endif
}

static __always_inline __u32 window_enter(void)
{
	__u32 g = gen;

	window_add(&active[g & 1], 1);
	if (gen == g)
		return g;
	/* Moved on meanwhile: the drain of g may not have seen us, join the new one. */
	window_add(&active[g & 1], -1);
	g = gen;
	window_add(&active[g & 1], 1);
	return g;
}

/* The fetch form again: a release, so the additions are seen before the exit. */
static __always_inline void window_exit(__u32 g)
{
	window_add(&active[g & 1], -1);
}

#endif
