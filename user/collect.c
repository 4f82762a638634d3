// SPDX-License-Identifier: GPL-2.0
/*
 * Collector.  Aggregation maps are drained with lookup-and-delete, key by
 * key, so an event that lands between two reads is counted in the next
 * interval instead of being lost.  Identity maps (locks, tasks) and stack
 * traces are only read: they stay valid for the whole run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "collect.h"
#include "fault.h"
#include "kvmstats.h"
#include "lockname.h"
#include "vmid.h"
#include "waitpath.h"
#include "lock.skel.h"

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
static size_t value_size(const struct bpf_map *map)
{
	size_t sz = bpf_map__value_size(map);
	enum bpf_map_type t = bpf_map__type(map);

	if (t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    t == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		return ((sz + 7) & ~(size_t)7) * libbpf_num_possible_cpus();
	return sz;
}

/* The drain itself; gen_off < 0: every entry, else skip keys of generation keep_gen. */
static int drain(struct bpf_map *map, void *ctx, struct run *delta, collect_fn fn,
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

int collect_map_drain(struct bpf_map *map, void *ctx, struct run *delta, collect_fn fn)
{
	return drain(map, ctx, delta, fn, -1, 0);
}

int collect_map_drain_gen(struct bpf_map *map, void *ctx, struct run *delta, collect_fn fn,
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
uint32_t collect_next_generation(__u32 *gen, __u64 active[2])
{
	struct timespec nap = { 0, 1000 * 1000 };
	uint32_t old = __atomic_fetch_add(gen, 1, __ATOMIC_SEQ_CST);

	/* Windows last microseconds; a stalled (TCG) CPU a few ms.  Give up after 1 s. */
	for (int i = 0; i < 1000 && __atomic_load_n(&active[old & 1], __ATOMIC_SEQ_CST); i++)
		nanosleep(&nap, NULL);
	return old + 1;
}

void collect_drops(const __u64 now[NR_DROPS], uint64_t seen[NR_DROPS], struct run *delta)
{
	for (int d = 0; d < NR_DROPS; d++) {
		delta->drops[d] += now[d] - seen[d];
		seen[d] = now[d];
	}
}

/* Lock identity, filtered: NULL when the lock is not to be shown. */
static struct lock_rec *lock_for(struct collector *c, struct run *delta, uint64_t addr)
{
	struct lock_info info;
	struct lock_rec *l;
	struct vm_rec *vm;
	uint32_t pid;

	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.lock_infos), &addr, &info))
		return c->all_locks ? run_lock(delta, addr) : NULL;
	pid = vmid_tgid(info.vmm_pid);
	if (c->only_pid && pid != c->only_pid)
		return NULL;
	l = run_lock(delta, addr);
	vm = run_vm(delta, pid, info.kvm);
	if (!l || !vm)
		return NULL;
	l->kvm = info.kvm;
	snprintf(l->name, sizeof(l->name), "mmu_lock");
	vm->mmu_lock = addr;
	if (info.vmm_comm[0])
		memcpy(vm->comm, info.vmm_comm, sizeof(vm->comm));
	else if (!vm->comm[0])
		vmid_comm(pid, vm->comm);
	return l;
}

/* The other locks of a VM whose mmu_lock was seen: named by their field of its struct kvm. */
static void name_vm_locks(struct collector *c, struct run *delta)
{
	int fd = bpf_map__fd(c->skel->maps.lock_infos);
	uint64_t kvms[1024], key, *prev = NULL;
	struct lock_info info;
	size_t n = 0;

	while (n < 1024 && !bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, &info))
			kvms[n++] = info.kvm;
		prev = &key;
	}
	for (size_t i = 0; i < delta->nr_locks; i++)
		if (!delta->locks[i].kvm)
			lockname_in_kvm(&delta->locks[i], kvms, n, c->kvm_fields);
}

static void task_identity(struct collector *c, struct task_rec *t)
{
	struct task_info ti;

	if (t->comm[0])
		return;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.tasks), &t->tid, &ti)) {
		t->tgid = vmid_tgid(t->tid);
		vmid_comm(t->tid, t->comm);
		return;
	}
	t->tgid = ti.tgid;
	t->in_vmm = ti.in_vmm;
	memcpy(t->comm, ti.comm, sizeof(t->comm));
}

static int add_lock_stat(void *ctx, struct run *delta, const void *k, const void *v)
{
	struct collector *c = ctx;
	const struct lock_key *key = k;
	struct lock_rec *l = lock_for(c, delta, key->lock);
	struct task_rec *t;

	if (!l || key->mode >= NR_MODES)
		return 0;
	wait_stat_merge(&l->mode[key->mode], v);
	t = lock_task(l, key->tid);
	if (!t)
		return -ENOMEM;
	task_identity(c, t);
	wait_stat_merge(&t->mode[key->mode], v);
	return 0;
}

static int add_stack_stat(void *ctx, struct run *delta, const void *k, const void *v)
{
	struct collector *c = ctx;
	const struct stack_key *key = k;
	const struct stack_val *val = v;
	struct lock_rec *l = lock_for(c, delta, key->lock);
	struct stack_rec *s;

	if (!l)
		return 0;
	s = lock_stack(l, key->stack_id, key->tid, key->mode);
	if (!s)
		return -ENOMEM;
	s->count += val->count;
	s->total_ns += val->total_ns;
	if (key->stack_id >= 0 && !s->nr_ips &&
	    !bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stacks), &key->stack_id, s->ips))
	{
		while (s->nr_ips < MAX_STACK_DEPTH && s->ips[s->nr_ips])
			s->nr_ips++;
		if (c->ksyms)
			lockname_trim_tracing(s, c->ksyms);
	}
	return 0;
}

static bool known_vcpu(const struct collector *c, uint32_t tid)
{
	for (size_t i = 0; i < c->nr_vcpu_tids; i++)
		if (c->vcpu_tids[i] == tid)
			return true;
	return false;
}

static void note_vcpu(struct collector *c, uint32_t tid)
{
	if (!known_vcpu(c, tid) && c->nr_vcpu_tids < sizeof(c->vcpu_tids) / sizeof(c->vcpu_tids[0]))
		c->vcpu_tids[c->nr_vcpu_tids++] = tid;
}

/*
 * Writer path of each wait drained.  A chain may be empty because a vCPU
 * was loaded (arm64): the thread is then a vCPU, known from its faults or
 * from it sleeping in KVM_RUN.
 */
static void classify_waits(struct collector *c, struct run *delta)
{
	for (size_t i = 0; i < delta->nr_vms; i++)
		for (size_t j = 0; j < delta->vms[i].nr_vcpu_recs; j++)
			note_vcpu(c, delta->vms[i].vcpus[j].tid);
	for (size_t i = 0; i < delta->nr_locks; i++) {
		struct lock_rec *l = &delta->locks[i];

		for (size_t j = 0; j < l->nr_stacks; j++) {
			struct stack_rec *s = &l->stacks[j];

			if (!s->nr_ips && !known_vcpu(c, s->tid) && vmid_in_kvm_run(s->tid))
				note_vcpu(c, s->tid);
			s->path = wait_path_classify(s, c->ksyms, known_vcpu(c, s->tid));
		}
	}
}

int collect_drain(struct collector *c, struct run *delta)
{
	int err;

	uint32_t cur = collect_next_generation(&c->skel->bss->gen, c->skel->bss->active);

	err = collect_map_drain_gen(c->skel->maps.lock_stats, c, delta, add_lock_stat,
				    offsetof(struct lock_key, gen), cur);
	if (!err)
		err = collect_map_drain_gen(c->skel->maps.stack_stats, c, delta, add_stack_stat,
					    offsetof(struct stack_key, gen), cur);
	if (!err && c->fault)
		err = fault_drain(c->fault, delta, c->only_pid);
	if (!err && c->stats && !(err = kvmstats_poll(c->stats, true)))
		err = kvmstats_drain(c->stats, delta);
	collect_drops(c->skel->bss->drops, c->drops_seen, delta);
	classify_waits(c, delta);
	for (size_t i = 0; i < delta->nr_locks && c->ksyms; i++)
		if (!delta->locks[i].name[0])
			lockname_from_stacks(&delta->locks[i], c->ksyms);
	if (c->kvm_fields)
		name_vm_locks(c, delta);
	return err;
}
