// SPDX-License-Identifier: GPL-2.0
/*
 * Lock family, user side.  Its variants (lock.h) are chosen from the kernel
 * facts: the contention tracepoints, tp_btf (typed, cheapest) or raw_tp
 * (where the verifier or the kernel refuses tp_btf), with the spinlock slow
 * path beside them where mmu_lock is a spinlock; or, on kernels without the
 * tracepoints, the slow paths of mmu_lock's kind of lock alone.  The unused
 * programs are switched off with set_autoload before load, so a failed
 * variant never blocks the next.  Its maps:
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
#include "lock.h"
#include "lockname.h"
#include "vmid.h"
#include "lock.skel.h"
#include "lock_xadd.skel.h"

struct attach_opts {
	bool all_locks;
	uint32_t target_tgid;	/* with all_locks: only this process's waits */
	const char *backend;	/* NULL: best available; "tp_btf" or "raw_tp" */
	bool verbose;
};

struct lock_probes {
	struct lock_bpf *skel;
	struct bpf_link *links[MAX_LOCK_LINKS];
	size_t nr_links;
	const struct kfacts *kf;
	struct attach_opts ao;
	struct lock_plan plan;
	uint32_t only_pid;		/* keep only this VMM's VMs (0: all) */
	bool all_locks;
	const struct ksyms *ksyms;	/* names non-KVM locks by caller; may be NULL */
	uint64_t drops_seen[NR_DROPS];	/* BPF counters are cumulative */
	char spin_why[192];		/* why spinlock first waiters are not seen, or "" */
};

/* Each program of lock.bpf.c and the variant that loads it. */
static const struct {
	const char *name;
	enum lock_variant variant;
	const char *target;		/* slow paths: the function (spinlock: its names, below) */
} lock_progs[] = {
	{ "contention_begin_btf", LV_BTF }, { "contention_end_btf", LV_BTF },
	{ "contention_begin_raw", LV_RAW }, { "contention_end_raw", LV_RAW },
	{ "spin_slowpath_kprobe", LV_SPIN }, { "spin_slowpath_kretprobe", LV_SPIN },
	{ "read_slowpath_fentry", LV_RW_FENTRY, "queued_read_lock_slowpath" },
	{ "read_slowpath_fexit", LV_RW_FENTRY, "queued_read_lock_slowpath" },
	{ "write_slowpath_fentry", LV_RW_FENTRY, "queued_write_lock_slowpath" },
	{ "write_slowpath_fexit", LV_RW_FENTRY, "queued_write_lock_slowpath" },
	{ "read_slowpath_kprobe", LV_RW_KPROBE, "queued_read_lock_slowpath" },
	{ "read_slowpath_kretprobe", LV_RW_KPROBE, "queued_read_lock_slowpath" },
	{ "write_slowpath_kprobe", LV_RW_KPROBE, "queued_write_lock_slowpath" },
	{ "write_slowpath_kretprobe", LV_RW_KPROBE, "queued_write_lock_slowpath" },
};

#define NR_LOCK_PROGS (sizeof(lock_progs) / sizeof(lock_progs[0]))

/*
 * The spinlock slow path's names: x86 with paravirt spinlocks has the
 * bare-metal one and the paravirt one (a guest that is itself a KVM host),
 * and calls whichever it chose at boot, so every name present is probed.
 */
static const char *const spin_slowpaths[] = {
	"queued_spin_lock_slowpath", "native_queued_spin_lock_slowpath",
	"__pv_queued_spin_lock_slowpath",
};

static const char *const rw_slowpaths[] = {
	"queued_read_lock_slowpath", "queued_write_lock_slowpath",
};

static int prog_index(const struct bpf_program *prog)
{
	for (size_t i = 0; i < NR_LOCK_PROGS; i++)
		if (!strcmp(bpf_program__name(prog), lock_progs[i].name))
			return i;
	return -1;
}

static bool lock_claims(const struct bpf_program *prog)
{
	return prog_index(prog) >= 0;
}

/* Every function in names[0..n) is in kallsyms; else names the first one missing. */
static bool have_all(const struct kfacts *kf, const char *const *names, size_t n,
		     const char **absent)
{
	for (size_t i = 0; i < n; i++)
		if (!kfacts_has_function(kf, names[i])) {
			*absent = names[i];
			return false;
		}
	return true;
}

static bool have_any(const struct kfacts *kf, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kfacts_has_function(kf, names[i]))
			return true;
	return false;
}

/*
 * The slow paths where they are the only source: those of mmu_lock's type
 * of lock (both with --all-locks).  0, or -ENOENT with p->why said.
 */
static int plan_slowpaths(const struct kfacts *kf, bool all_locks, struct lock_plan *p)
{
	bool spin = !strcmp(kf->mmu_lock_type, "spinlock_t"),
	     rw = !strcmp(kf->mmu_lock_type, "rwlock_t");
	const char *absent = NULL;

	if (!kf->mmu_lock_type[0] && !all_locks) {
		snprintf(p->why, sizeof(p->why), "no lock:contention_* tracepoints (5.19+), and "
			 "mmu_lock's type cannot be read: struct kvm is in no BTF (KVM not "
			 "loaded, or a module built without BTF)");
		return -ENOENT;
	}
	if (kf->mmu_lock_type[0] && !spin && !rw) {
		snprintf(p->why, sizeof(p->why), "no lock:contention_* tracepoints (5.19+), and "
			 "mmu_lock is a %s, which has no slow path to probe", kf->mmu_lock_type);
		return -ENOENT;
	}
	p->spin = spin || all_locks;
	if (rw || all_locks)
		p->rw = kf->trampolines ? LV_RW_FENTRY : LV_RW_KPROBE;
	if (!kf->kprobes && (p->spin || p->rw == LV_RW_KPROBE))
		snprintf(p->why, sizeof(p->why), "no lock:contention_* tracepoints (5.19+) and "
			 "no kprobes (CONFIG_KPROBES) for the lock slow paths");
	else if (p->spin && !have_any(kf, spin_slowpaths, 3))
		snprintf(p->why, sizeof(p->why), "no lock:contention_* tracepoints (5.19+) and "
			 "no spinlock slow path in kallsyms (queued_spin_lock_slowpath)");
	else if (p->rw >= 0 && !have_all(kf, rw_slowpaths, 2, &absent))
		snprintf(p->why, sizeof(p->why), "no lock:contention_* tracepoints (5.19+) and "
			 "%s is not in kallsyms", absent);
	return p->why[0] ? -ENOENT : 0;
}

int lock_plan(const struct kfacts *kf, bool all_locks, struct lock_plan *p)
{
	*p = (struct lock_plan){ .rw = -1, .task_storage = kf->task_storage &&
							    kf->current_task_btf };
	p->tracepoints = kf->lock_tracepoints;
	/* A spinlock mmu_lock's first waiter is seen only in the slow path. */
	if (p->tracepoints) {
		p->spin = !strcmp(kf->mmu_lock_type, "spinlock_t");
		return 0;
	}
	return plan_slowpaths(kf, all_locks, p);
}

static bool variant_on(const struct lock_plan *p, bool btf, bool spin, int v)
{
	switch (v) {
	case LV_BTF: return p->tracepoints && btf;
	case LV_RAW: return p->tracepoints && !btf;
	case LV_SPIN: return spin;
	default: return v == p->rw;
	}
}

/* -EINVAL (and one line) when a program is in no variant: it would never load. */
static int pick_variant(struct lock_bpf *s, const struct lock_plan *p, bool btf, bool spin)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->obj) {
		int i = prog_index(prog);

		if (i < 0) {
			fprintf(stderr, "kvmlockstat: BPF program %s is in no variant of the lock "
				"family\n", bpf_program__name(prog));
			return -EINVAL;
		}
		bpf_program__set_autoload(prog, variant_on(p, btf, spin, lock_progs[i].variant));
	}
	/* One of the two wait-slot maps: the other's type may not exist here. */
	bpf_map__set_autocreate(s->maps.tstamp, p->task_storage);
	bpf_map__set_autocreate(s->maps.tstamp_tid, !p->task_storage);
	s->rodata->use_task_storage = p->task_storage;
	s->rodata->slowpaths_only = !p->tracepoints;
	return 0;
}

static int add_link(struct lock_probes *lp, struct bpf_link *l)
{
	if (!l)
		return -errno;
	if (lp->nr_links == MAX_LOCK_LINKS) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	lp->links[lp->nr_links++] = l;
	return 0;
}

/* A slow path's kprobe pair on every name of its function. */
static int attach_kprobe(struct lock_probes *lp, struct bpf_program *prog, const char *target)
{
	bool ret = strstr(bpf_program__section_name(prog), "kretprobe") != NULL;
	int err = 0, n = 0;

	if (target)
		return add_link(lp, bpf_program__attach_kprobe(prog, ret, target));
	for (size_t i = 0; !err && i < sizeof(spin_slowpaths) / sizeof(*spin_slowpaths); i++) {
		if (!kfacts_has_function(lp->kf, spin_slowpaths[i]))
			continue;
		err = add_link(lp, bpf_program__attach_kprobe(prog, ret, spin_slowpaths[i]));
		n++;
	}
	return err ? err : n ? 0 : -ENOENT;
}

static void unload(struct lock_probes *lp)
{
	while (lp->nr_links)
		bpf_link__destroy(lp->links[--lp->nr_links]);
	lock_bpf__destroy(lp->skel);
	lp->skel = NULL;
}

/* Attaches program by program: the kprobes by name, the others where their section says. */
static int attach_progs(struct lock_probes *lp)
{
	struct bpf_program *prog;
	int err = 0;

	bpf_object__for_each_program(prog, lp->skel->obj) {
		int i = prog_index(prog);

		if (!bpf_program__autoload(prog))
			continue;
		if (!strncmp(bpf_program__section_name(prog), "kprobe", 6) ||
		    !strncmp(bpf_program__section_name(prog), "kretprobe", 9))
			err = attach_kprobe(lp, prog, lock_progs[i].target);
		else
			err = add_link(lp, bpf_program__attach(prog));
		if (err)
			return err;
	}
	return 0;
}

static int try_variant(struct lock_probes *lp, bool btf, bool spin)
{
	const struct attach_opts *o = &lp->ao;
	struct lock_bpf *s = FAMILY_OPEN(lock, lp->kf);
	int err;

	if (!s)
		return -errno;
	lp->skel = s;
	s->rodata->all_locks = o->all_locks;
	s->rodata->targ_tgid = o->target_tgid;
	err = pick_variant(s, &lp->plan, btf, spin);
	if (!err)
		err = lock_bpf__load(s);
	if (!err)
		err = attach_progs(lp);
	if (err)
		unload(lp);
	return err;
}

/*
 * Beside the tracepoints, a spinlock mmu_lock's slow path is probed too
 * (kprobe); refused, the run goes on and says what it cannot see.
 */
static int try_with_spin(struct lock_probes *lp, bool btf, struct run *r)
{
	bool spin = lp->plan.spin;
	int err = try_variant(lp, btf, spin);

	if (err && spin && !try_variant(lp, btf, false)) {
		snprintf(lp->spin_why, sizeof(lp->spin_why), "mmu_lock is a spinlock here and the "
			 "kprobe on queued_spin_lock_slowpath was refused (%s): waiters that spin "
			 "before queueing are not counted", strerror(-err));
		return 0;
	}
	if (!err && spin)
		strcat(r->backend, "+kprobe");
	return err;
}

static int attach_tracepoints(struct lock_probes *lp, struct run *r)
{
	static const char *const names[] = { "tp_btf", "raw_tp" };
	const struct attach_opts *o = &lp->ao;
	int err = -EINVAL;

	for (int i = 0; i < 2; i++) {
		if (o->backend && strcmp(o->backend, names[i]))
			continue;
		snprintf(r->backend, sizeof(r->backend), "%s", names[i]);
		err = try_with_spin(lp, i == 0, r);
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

/*
 * No contention tracepoints: the slow paths alone, the rwlock's through
 * trampolines where the kernel has them, else kprobes.  The backend names
 * the flavours: "kprobe", "fentry" or "fentry+kprobe".
 */
static int attach_slowpaths(struct lock_probes *lp, struct run *r)
{
	struct lock_plan *p = &lp->plan;
	int err = try_variant(lp, false, p->spin);

	if (err && p->rw == LV_RW_FENTRY && lp->kf->kprobes) {
		if (lp->ao.verbose)
			fprintf(stderr, "kvmlockstat: fentry on the rwlock slow paths refused: %s\n",
				strerror(-err));
		p->rw = LV_RW_KPROBE;
		err = try_variant(lp, false, p->spin);
	}
	if (err) {
		fprintf(stderr, "kvmlockstat: cannot attach to the lock slow paths (%s)%s\n",
			strerror(-err), lp->ao.verbose ? "" : "; -v shows libbpf's log");
		return err;
	}
	snprintf(r->backend, sizeof(r->backend), "%s%s%s",
		 p->rw == LV_RW_FENTRY ? "fentry" : "",
		 p->rw == LV_RW_FENTRY && p->spin ? "+" : "",
		 p->spin || p->rw == LV_RW_KPROBE ? "kprobe" : "");
	return 0;
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
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return -ENOMEM;
	*st = lp;
	lp->kf = kf;
	lp->ao = (struct attach_opts){ .all_locks = o->all_locks, .target_tgid = o->target_tgid,
				       .backend = o->lock_backend, .verbose = o->verbose };
	lp->only_pid = o->target_tgid;
	lp->all_locks = o->all_locks;
	lp->ksyms = kf->ksyms;
	if (lock_plan(kf, o->all_locks, &lp->plan) && !kf->kprobes) {
		/* Nothing else could stand in: the run would measure no lock at all. */
		fprintf(stderr, "kvmlockstat: %s\n", lp->plan.why);
		return -ENOENT;
	}
	if (o->lock_backend && !lp->plan.tracepoints) {
		fprintf(stderr, "kvmlockstat: --lock-backend %s: kernel has no "
			"lock:contention_begin/end tracepoints (5.19+)\n", o->lock_backend);
		return -EINVAL;
	}
	if (lp->plan.why[0])
		fprintf(stderr, "kvmlockstat: mmu_lock waits not measured: %s\n", lp->plan.why);
	return 0;
}

/* The plan's variant, or nothing when it refused the kernel (missing says why). */
static int lock_attach(void *st, struct run *r, unsigned int *covered)
{
	struct lock_probes *lp = st;

	if (lp->plan.why[0])
		return 0;
	if (lp->plan.tracepoints)
		return attach_tracepoints(lp, r) ? -EINVAL : 0;
	return attach_slowpaths(lp, r) ? -EINVAL : 0;
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
	uint32_t cur;
	int err;

	if (!c->skel)
		return 0;
	cur = bpfmap_next_generation(&c->skel->bss->gen, c->skel->bss->active);

	err = bpfmap_drain_gen(c->skel->maps.lock_stats, c, delta, add_lock_stat,
			       offsetof(struct lock_key, gen), cur);
	if (!err)
		err = bpfmap_drain_gen(c->skel->maps.stack_stats, c, delta, add_stack_stat,
				       offsetof(struct stack_key, gen), cur);
	bpfmap_drops(c->skel->obj, c->skel->bss->drops, c->drops_seen, delta);
	if (c->all_locks && c->kf->kvm_locks)
		name_vm_locks(c, delta);
	return err;
}

static void lock_missing(void *st, struct run *r)
{
	struct lock_probes *lp = st;

	if (lp->plan.why[0]) {
		run_add_missing(r, "mmu_lock waits", lp->plan.why);
		return;
	}
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
	unload(lp);
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
