// SPDX-License-Identifier: GPL-2.0
/*
 * Collector: a loop over the probe families (family.h).  Each family
 * drains its own maps into the interval's delta; what needs every
 * family's figures (the writer path of a wait needs the vCPUs the fault
 * families saw, a heap lock's name its call chains) is done here after.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "collect.h"
#include "family.h"
#include "kfacts.h"
#include "lockname.h"
#include "vmid.h"
#include "waitpath.h"

/* In attach order: KVM's counters before the fault probes, which leave out what they give. */
static const struct family *const families[NR_FAMILIES] = {
	&lock_family, &kvm_counters_family, &fault_family,
};

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !verbose))
		return 0;
	if (!verbose && level == LIBBPF_WARN)
		return 0;	/* failures are reported by us, once, in plain words */
	return vfprintf(stderr, fmt, ap);
}

void collect_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_libbpf);
}

int collect_open(struct collector *c, const struct kfacts *kf, const struct probe_opts *o)
{
	int err = kfacts_require(kf);

	c->kf = kf;
	c->only_pid = o->target_tgid;
	for (int i = 0; !err && i < NR_FAMILIES; i++)
		err = families[i]->open(&c->st[i], kf, o);
	if (err)
		collect_close(c);
	return err;
}

int collect_attach(struct collector *c, struct run *r)
{
	unsigned int covered = 0;
	int err = 0;

	for (int i = 0; !err && i < NR_FAMILIES; i++) {
		if (!c->st[i])
			continue;
		err = families[i]->attach(c->st[i], r, &covered);
		if (!err)
			families[i]->missing(c->st[i], r);
	}
	if (err)
		collect_close(c);
	return err;
}

void collect_poll(struct collector *c)
{
	for (int i = 0; i < NR_FAMILIES; i++)
		if (c->st[i] && families[i]->poll)
			families[i]->poll(c->st[i]);
}

void collect_close(struct collector *c)
{
	for (int i = 0; i < NR_FAMILIES; i++) {
		families[i]->detach(c->st[i]);
		c->st[i] = NULL;
	}
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
			s->path = wait_path_classify(s, c->kf->ksyms, known_vcpu(c, s->tid));
		}
	}
}

/* VMs the families saw without their VMM's name: one /proc read per VM, not per key. */
static void name_vms(struct run *delta)
{
	for (size_t i = 0; i < delta->nr_vms; i++)
		if (!delta->vms[i].comm[0])
			vmid_comm(delta->vms[i].pid, delta->vms[i].comm);
}

int collect_drain(struct collector *c, struct run *delta)
{
	const struct ksyms *k = c->kf->ksyms;
	int err = 0;

	for (int i = 0; !err && i < NR_FAMILIES; i++)
		if (c->st[i])
			err = families[i]->drain(c->st[i], delta);
	name_vms(delta);
	classify_waits(c, delta);
	for (size_t i = 0; i < delta->nr_locks && k; i++)
		if (!delta->locks[i].name[0])
			lockname_from_stacks(&delta->locks[i], k);
	return err;
}
