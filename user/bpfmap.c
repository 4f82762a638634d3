// SPDX-License-Identifier: GPL-2.0
/*
 * BPF map draining.  Aggregation maps are drained with lookup-and-delete,
 * key by key, so an event that lands between two reads is counted in the
 * next interval instead of being lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfmap.h"

static void *collect_keys(int fd, size_t key_sz, size_t *n)
{
	char *keys = NULL, *grown, *prev = NULL;
	size_t cap = 0;

	*n = 0;
	for (;;) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(keys, cap * key_sz);
			if (!grown) {
				free(keys);
				return NULL;
			}
			keys = grown;
		}
		prev = *n ? keys + (*n - 1) * key_sz : NULL;
		if (bpf_map_get_next_key(fd, prev, keys + *n * key_sz))
			break;
		(*n)++;
	}
	return keys;
}

/* Per-CPU maps hand user space one value per possible CPU, each 8-aligned. */
static size_t stride(size_t sz)
{
	return (sz + 7) & ~(size_t)7;
}

static size_t value_size(const struct bpf_map *map)
{
	size_t sz = bpf_map__value_size(map);
	enum bpf_map_type t = bpf_map__type(map);

	if (t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    t == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		return stride(sz) * libbpf_num_possible_cpus();
	return sz;
}

/* The drain itself; gen_off < 0: every entry, else skip keys of generation keep_gen. */
static int drain(struct bpf_map *map, void *ctx, struct run *delta, bpfmap_fn fn,
		 long gen_off, uint32_t keep_gen)
{
	size_t key_sz = bpf_map__key_size(map), val_sz = value_size(map), n;
	int fd = bpf_map__fd(map), err = 0;
	char *keys = collect_keys(fd, key_sz, &n), *val = malloc(val_sz);

	if (!keys || !val) {
		free(keys);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		char *key = keys + i * key_sz;
		uint32_t g;

		if (gen_off >= 0) {
			memcpy(&g, key + gen_off, sizeof(g));
			if (g == keep_gen)
				continue;	/* BPF may still be adding to it */
		}
		/* lookup_and_delete on hash maps needs 5.14; older: two steps. */
		if (bpf_map_lookup_and_delete_elem(fd, key, val)) {
			if (bpf_map_lookup_elem(fd, key, val))
				continue;
			bpf_map_delete_elem(fd, key);
		}
		err = fn(ctx, delta, key, val);
	}
	free(keys);
	free(val);
	return err;
}

int bpfmap_drain(struct bpf_map *map, void *ctx, struct run *delta, bpfmap_fn fn)
{
	return drain(map, ctx, delta, fn, -1, 0);
}

int bpfmap_drain_gen(struct bpf_map *map, void *ctx, struct run *delta, bpfmap_fn fn,
			  size_t gen_off, uint32_t cur_gen)
{
	return drain(map, ctx, delta, fn, gen_off, cur_gen);
}

/*
 * Deleting an entry a program is adding to would lose (or misplace) that
 * addition.  So: move BPF to a new generation of keys, wait until no
 * program is still inside an update window of the old one (window_enter
 * in stat.bpf.h), and let the caller drain only the old generations.
 */
uint32_t bpfmap_next_generation(__u32 *gen, __u64 active[2])
{
	struct timespec nap = { 0, 1000 * 1000 };
	uint32_t old = __atomic_fetch_add(gen, 1, __ATOMIC_SEQ_CST);

	/* Windows last microseconds; a stalled (TCG) CPU a few ms.  Give up after 1 s. */
	for (int i = 0; i < 1000 && __atomic_load_n(&active[old & 1], __ATOMIC_SEQ_CST); i++)
		nanosleep(&nap, NULL);
	return old + 1;
}

/* Runs of obj's loaded programs the kernel skipped so far (0 before 5.12, which keeps no count). */
static uint64_t recursion_misses(struct bpf_object *obj)
{
	struct bpf_program *prog;
	uint64_t sum = 0;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	return sum;
}

void bpfmap_drops(struct bpf_object *obj, const __u64 now[NR_DROPS],
		  uint64_t seen[NR_DROPS], struct run *delta)
{
	uint64_t missed = recursion_misses(obj);

	for (int d = 0; d < NR_DROPS; d++) {
		uint64_t v = d == DROP_RECURSION_MISS ? missed : now[d];

		delta->drops[d] += v - seen[d];
		seen[d] = v;
	}
}

void bpfmap_sum_wait_stats(const void *val, struct wait_stat *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int cpu = 0; cpu < libbpf_num_possible_cpus(); cpu++)
		wait_stat_merge(sum, (const void *)((const char *)val + cpu * stride(sizeof(*sum))));
}
