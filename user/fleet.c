// SPDX-License-Identifier: GPL-2.0
/*
 * Exporter totals.  BPF maps are drained (lookup-and-delete) every
 * interval; Prometheus wants counters that never go back, so each interval
 * is added here and scrapes read these sums.  Per-task records and stacks
 * are not exported: they are freed on arrival so memory follows the number
 * of running VMs, not the uptime.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleet.h"

void fleet_init(struct fleet *f)
{
	memset(f, 0, sizeof(*f));
	run_init(&f->total);
}

void fleet_free(struct fleet *f)
{
	run_free(&f->total);
	free(f->vmms);
	fleet_init(f);
}

const struct fleet_vmm *fleet_vmm(const struct fleet *f, uint32_t pid)
{
	for (size_t i = 0; i < f->nr_vmms; i++)
		if (f->vmms[i].pid == pid)
			return &f->vmms[i];
	return NULL;
}

static struct fleet_vmm *vmm_state(struct fleet *f, uint32_t pid, const struct fleet_env *env);

/* A VM's mmu_lock waits into its VMM's totals; by path from the stacks, before they go. */
static int add_waits(struct fleet *f, const struct lock_rec *l, uint32_t pid,
		     const struct fleet_env *env)
{
	struct fleet_vmm *s = vmm_state(f, pid, env);
	struct count_ns paths[NR_WAIT_PATHS];

	if (!s)
		return -ENOMEM;
	for (int m = 0; m < NR_MODES; m++)
		wait_stat_merge(&s->waits[m], &l->mode[m]);
	lock_wait_paths(l, paths);
	for (int p = 0; p < NR_WAIT_PATHS; p++) {
		s->paths[p].count += paths[p].count;
		s->paths[p].total_ns += paths[p].total_ns;
	}
	return 0;
}

/*
 * Two VMs of one process share its labels: both fold into one vm_rec and
 * their mmu_locks' waits into the VMM's totals; locks (with their tasks and
 * stacks) are not kept.
 */
static int fold_by_vmm(struct fleet *f, struct run *delta, const struct fleet_env *env)
{
	for (size_t i = 0; i < delta->nr_locks; i++) {
		const struct lock_rec *l = &delta->locks[i];

		for (size_t v = 0; v < delta->nr_vms; v++)
			if (delta->vms[v].mmu_lock == l->addr) {
				if (add_waits(f, l, delta->vms[v].pid, env))
					return -ENOMEM;
				break;
			}
		free(l->tasks);
		free(l->stacks);
	}
	free(delta->locks);
	delta->locks = NULL;
	delta->nr_locks = 0;
	for (size_t v = 0; v < delta->nr_vms; v++) {
		delta->vms[v].kvm = 0;
		delta->vms[v].mmu_lock = 0;
	}
	return 0;
}

static struct fleet_vmm *vmm_state(struct fleet *f, uint32_t pid, const struct fleet_env *env)
{
	struct fleet_vmm *s = (struct fleet_vmm *)fleet_vmm(f, pid), *grown;

	if (s)
		return s;
	grown = realloc(f->vmms, (f->nr_vmms + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	f->vmms = grown;
	s = &f->vmms[f->nr_vmms++];
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	env->name_of(pid, s->name, sizeof(s->name));
	return s;
}

static void forget(struct fleet *f, struct fleet_vmm *s)
{
	run_drop_vmm(&f->total, s->pid);
	*s = f->vmms[--f->nr_vmms];
	f->dropped_vmms++;
}

/* Running VMMs stay; one gone for grace_ns is dropped, with its series. */
static int track_lifetimes(struct fleet *f, uint64_t now_ns, uint64_t grace_ns,
			   const struct fleet_env *env)
{
	for (size_t i = 0; i < f->total.nr_vms; i++) {
		struct vm_rec *v = &f->total.vms[i];
		struct fleet_vmm *s = vmm_state(f, v->pid, env);

		if (!s)
			return -ENOMEM;
		if (env->alive(v->pid)) {
			if (s->gone_ns)		/* the pid came back: maybe another VM */
				env->name_of(s->pid, s->name, sizeof(s->name));
			s->gone_ns = 0;
			continue;
		}
		if (!s->gone_ns)
			s->gone_ns = now_ns;
	}
	for (size_t i = f->nr_vmms; i-- > 0;)
		if (f->vmms[i].gone_ns && now_ns - f->vmms[i].gone_ns >= grace_ns)
			forget(f, &f->vmms[i]);
	return 0;
}

int fleet_update(struct fleet *f, struct run *delta, const struct vmm *running, size_t n,
		 uint64_t now_ns, uint64_t grace_ns, const struct fleet_env *env)
{
	int err;

	err = fold_by_vmm(f, delta, env);
	if (!err)
		err = run_merge(&f->total, delta);
	if (!err)
		err = vmid_apply(&f->total, running, n, 0);
	if (!err)
		err = track_lifetimes(f, now_ns, grace_ns, env);
	return err;
}
