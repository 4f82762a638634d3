/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Draining BPF maps into the run model, shared by every probe family:
 * lookup-and-delete drains (with key generations where BPF may still be
 * adding), per-CPU value sums, and the growth of BPF's drop counters.
 */
#ifndef BPFMAP_H
#define BPFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "model.h"

struct bpf_map;
struct bpf_object;

typedef int (*bpfmap_fn)(void *ctx, struct run *delta, const void *key, const void *val);
/*
 * Calls fn on every entry of map, deleting it (lookup-and-delete).  Per-CPU
 * maps give fn one value per possible CPU, each rounded up to 8 bytes.
 */
int bpfmap_drain(struct bpf_map *map, void *ctx, struct run *delta, bpfmap_fn fn);
/*
 * Same for maps whose keys carry a generation (a __u32 at gen_off): entries
 * of cur_gen, which BPF may still be adding to, are left for the next drain.
 */
int bpfmap_drain_gen(struct bpf_map *map, void *ctx, struct run *delta, bpfmap_fn fn,
		     size_t gen_off, uint32_t cur_gen);
/* Moves BPF to the next key generation once no update of the old one is under way. */
uint32_t bpfmap_next_generation(__u32 *gen, __u64 active[2]);
/*
 * Adds the growth since the last call of BPF's cumulative drop counters, and
 * of the runs of obj's programs the kernel skipped (recursion misses), to delta.
 */
void bpfmap_drops(struct bpf_object *obj, const __u64 now[NR_DROPS],
		  uint64_t seen[NR_DROPS], struct run *delta);
/* Sum over the possible CPUs of a per-CPU struct wait_stat value. */
void bpfmap_sum_wait_stats(const void *val, struct wait_stat *sum);

#endif
