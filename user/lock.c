// SPDX-License-Identifier: GPL-2.0
/*
 * Lock family, user side.  It has two variants of each program: tp_btf
 * (typed, cheapest) and raw_tp (works where the verifier or the kernel
 * refuses tp_btf).  The unused set is switched off with set_autoload
 * before load, so a failed variant never blocks the other.  Its maps:
 * wait statistics per lock, mode and task, and per call chain; identity
 * maps (locks, tasks) and stack traces are only read, they stay valid for
 * the whole run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfmap.h"
#include "family.h"
#include "kfacts.h"
#include "lockname.h"
#include "vmid.h"
#include "lock.skel.h"

struct attach_opts {
	bool all_locks;
	uint32_t target_tgid;	/* with all_locks: only this process's waits */
	const char *backend;	/* NULL: best available; "tp_btf" or "raw_tp" */
	bool verbose;
};

struct lock_probes {
	struct lock_bpf *skel;
	const struct kfacts *kf;
	struct attach_opts ao;
	uint32_t only_pid;		/* keep only this VMM's VMs (0: all) */
	bool all_locks;
	const struct ksyms *ksyms;	/* names non-KVM locks by caller; may be NULL */
	uint64_t drops_seen[NR_DROPS];	/* BPF counters are cumulative */
	char spin_why[192];		/* why spinlock first waiters are not seen, or "" */
};

/* Each program of lock.bpf.c and the variant that loads it. */
enum lock_variant { LV_BTF, LV_RAW, LV_SPIN };

static const struct {
	const char *name;
	enum lock_variant variant;
} lock_progs[] = {
	{ "contention_begin_btf", LV_BTF }, { "contention_end_btf", LV_BTF },
	{ "contention_begin_raw", LV_RAW }, { "contention_end_raw", LV_RAW },
	{ "spin_slowpath_enter", LV_SPIN }, { "spin_slowpath_exit", LV_SPIN },
};

static int variant_of(const struct bpf_program *prog)
{
	for (size_t i = 0; i < sizeof(lock_progs) / sizeof(lock_progs[0]); i++)
		if (!strcmp(bpf_program__name(prog), lock_progs[i].name))
			return lock_progs[i].variant;
	return -1;
}

static bool lock_claims(const struct bpf_program *prog)
{
	return variant_of(prog) >= 0;
}

/* -EINVAL (and one line) when a program is in no variant: it would never load. */
static int pick_variant(struct lock_bpf *s, bool btf, bool spin)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->obj) {
		int v = variant_of(prog);

		if (v < 0) {
			fprintf(stderr, "kvmlockstat: BPF program %s is in no variant of the lock "
				"family\n", bpf_program__name(prog));
			return -EINVAL;
		}
		bpf_program__set_autoload(prog, v == LV_BTF ? btf : v == LV_RAW ? !btf : spin);
	}
	return 0;
}

static int try_variant(struct lock_bpf **out, const struct attach_opts *o, bool btf, bool spin)
{
	struct lock_bpf *s = lock_bpf__open();
	int err;

	if (!s)
		return -errno;
	s->rodata->all_locks = o->all_locks;
	s->rodata->targ_tgid = o->target_tgid;
	err = pick_variant(s, btf, spin);
	if (!err)
		err = lock_bpf__load(s);
	if (!err)
		err = lock_bpf__attach(s);
	if (err) {
		lock_bpf__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

/*
 * A spinlock mmu_lock's first waiter spins unseen by the tracepoints, so
 * there the slow path is probed too (kprobe); refused, the run goes on
 * and says what it cannot see.
 */
static int try_with_spin(struct lock_bpf **skel, const struct attach_opts *o, bool btf,
			 bool spin, struct run *r, char *spin_why)
{
	int err = try_variant(skel, o, btf, spin);

	if (err && spin && !try_variant(skel, o, btf, false)) {
		snprintf(spin_why, 192, "mmu_lock is a spinlock here and the kprobe on "
			 "queued_spin_lock_slowpath was refused (%s): waiters that spin before "
			 "queueing are not counted", strerror(-err));
		return 0;
	}
	if (!err && spin)
		strcat(r->backend, "+kprobe");
	return err;
}

static int attach_lock(struct lock_bpf **skel, const struct attach_opts *o, bool spin,
		       struct run *r, char spin_why[192])
{
	static const char *const names[] = { "tp_btf", "raw_tp" };
	int err = -EINVAL;

	for (int i = 0; i < 2; i++) {
		if (o->backend && strcmp(o->backend, names[i]))
			continue;
		snprintf(r->backend, sizeof(r->backend), "%s", names[i]);
		err = try_with_spin(skel, o, i == 0, spin, r, spin_why);
		if (!err)
			return 0;
		if (o->verbose || o->backend)
			fprintf(stderr, "kvmlockstat: %s programs on lock:contention_* refused: %s\n",
				names[i], strerror(-err));
	}
	r->backend[0] = '\0';
	fprintf(stderr, "kvmlockstat: cannot attach to lock:contention_begin/end (%s)%s\n",
		strerror(-err), o->verbose ? "" : "; -v shows libbpf's log");
	return err;
}

/* Lock identity, filtered: NULL when the lock is not to be shown. */
static struct lock_rec *lock_for(struct lock_probes *c, struct run *delta, uint64_t addr)
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
	return l;
}

static void task_identity(struct lock_probes *c, struct task_rec *t)
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
	struct lock_probes *c = ctx;
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
	struct lock_probes *c = ctx;
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

static int lock_open(void **st, const struct kfacts *kf, const struct probe_opts *o)
{
	struct lock_probes *lp;

	*st = NULL;
	if (!kf->lock_tracepoints) {
		fprintf(stderr, "kvmlockstat: kernel has no lock:contention_begin/end tracepoints "
			"(added in 5.19)\n");
		return -ENOENT;
	}
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	lp->kf = kf;
	lp->ao = (struct attach_opts){ .all_locks = o->all_locks, .target_tgid = o->target_tgid,
				       .backend = o->lock_backend, .verbose = o->verbose };
	lp->only_pid = o->target_tgid;
	lp->all_locks = o->all_locks;
	lp->ksyms = kf->ksyms;
	*st = lp;
	return 0;
}

/* mmu_lock is a spinlock before the rwlock change (arm64 before 5.18). */
static int lock_attach(void *st, struct run *r, unsigned int *covered)
{
	struct lock_probes *lp = st;
	bool spin = !strcmp(lp->kf->mmu_lock_type, "spinlock_t");

	return attach_lock(&lp->skel, &lp->ao, spin, r, lp->spin_why) ? -EINVAL : 0;
}

/* The other locks of a VM whose mmu_lock was seen: named by their field of its struct kvm. */
static void name_vm_locks(struct lock_probes *c, struct run *delta)
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
			lockname_in_kvm(&delta->locks[i], kvms, n, c->kf->kvm_locks);
}

static int lock_drain(void *st, struct run *delta)
{
	struct lock_probes *c = st;
	int err;

	uint32_t cur = bpfmap_next_generation(&c->skel->bss->gen, c->skel->bss->active);

	err = bpfmap_drain_gen(c->skel->maps.lock_stats, c, delta, add_lock_stat,
			       offsetof(struct lock_key, gen), cur);
	if (!err)
		err = bpfmap_drain_gen(c->skel->maps.stack_stats, c, delta, add_stack_stat,
				       offsetof(struct stack_key, gen), cur);
	bpfmap_drops(c->skel->bss->drops, c->drops_seen, delta);
	if (c->all_locks && c->kf->kvm_locks)
		name_vm_locks(c, delta);
	return err;
}

static void lock_missing(void *st, struct run *r)
{
	struct lock_probes *lp = st;

	if (!lp->kf->mmu_lock_type[0])
		run_add_missing(r, "mmu_lock",
				"KVM is not loaded (no struct kvm in kernel or module BTF): "
				"only --all-locks can show anything");
	if (lp->spin_why[0])
		run_add_missing(r, "spinlock first waiters", lp->spin_why);
	if (!lp->ksyms)
		run_add_missing(r, "symbols", "cannot read /proc/kallsyms: stacks stay unnamed");
}

static void lock_detach(void *st)
{
	struct lock_probes *lp = st;

	if (!lp)
		return;
	lock_bpf__destroy(lp->skel);
	free(lp);
}

const struct family lock_family = {
	.name = "lock",
	.open = lock_open,
	.attach = lock_attach,
	.drain = lock_drain,
	.missing = lock_missing,
	.detach = lock_detach,
	.claims = lock_claims,
};
