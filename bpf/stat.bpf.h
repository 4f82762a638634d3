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

/* Find key in map, inserting a zeroed value first if needed. */
static __always_inline void *lookup_or_init(void *map, const void *key,
					    const void *init, __u64 *drops)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST: another CPU won the race */) {
		if (drops)
			__sync_fetch_and_add(drops, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* Atomic max/min: retry a few times; losing to a concurrent update is fine. */
static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *p;

		if (old >= v || __sync_val_compare_and_swap(p, old, v) == old)
			return;
	}
}

static __always_inline void atomic_min(__u64 *p, __u64 v)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = *p;

		if ((old && old <= v) || __sync_val_compare_and_swap(p, old, v) == old)
			return;
	}
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
	atomic_max(&s->max_ns, delta);
	atomic_min(&s->min_ns, delta);
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

static __always_inline __u32 window_enter(void)
{
	__u32 g = gen;
	__u64 was = __sync_fetch_and_add(&active[g & 1], 1);

	barrier_var(was);
	if (gen == g)
		return g;
	/* Moved on meanwhile: the drain of g may not have seen us, join the new one. */
	__sync_fetch_and_add(&active[g & 1], -1);
	g = gen;
	was = __sync_fetch_and_add(&active[g & 1], 1);
	barrier_var(was);
	return g;
}

/* The fetch form again: a release, so the additions are seen before the exit. */
static __always_inline void window_exit(__u32 g)
{
	__u64 was = __sync_fetch_and_add(&active[g & 1], -1);

	barrier_var(was);
}

#endif
