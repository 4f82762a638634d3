// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's own per-vCPU counters as a fault source.  KVM already counts every
 * fault it handles (x86: pf_taken, pf_fast, pf_fixed, ...), per vCPU.
 * Reading those once per interval costs the guest nothing, where a BPF
 * program on the fault path costs it a probe per fault (README, Performance).
 *
 * Each VMM's vCPU fd is duplicated into kvmlockstat (pidfd_getfd, which
 * needs CAP_SYS_PTRACE) and a task_file iterator (bpf/kvmcounters.bpf.c) reads
 * the counters of the vCPUs behind kvmlockstat's own fds.  A held fd keeps
 * its VM alive: that is what keeps a VM's last counts readable after its
 * VMM exits, and why it is let go right after that last read.
 * (KVM's stats fd ioctl is the ABI, but KVM answers vCPU ioctls only from
 * the VM's own mm: EIO.)
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "family.h"
#include "kfacts.h"
#include "vmid.h"
#include "kvmcounters.skel.h"

#define MAX_WATCH 8
#define CAP_SYS_PTRACE_BIT 19

struct held_vcpu {
	uint32_t pid;
	int target_fd;			/* the vCPU's fd number in the VMM */
	int32_t vcpu_id;
	int fd;				/* kvmlockstat's duplicate of it */
	uint64_t last[NR_KVM_COUNTERS];
};

struct kvmstats;
static void kvmstats_free(struct kvmstats *ks);

struct kvmstats {
	uint32_t only_pid;
	uint32_t watch[MAX_WATCH];
	bool settled[MAX_WATCH];	/* its vCPUs are held and the last poll found no more */
	size_t nr_watch;
	struct held_vcpu *v;
	size_t n;
	bool started;			/* the first poll is done: later vCPUs count from 0 */
	struct kvmcounters_bpf *skel;
	struct bpf_link *iter;
};

static bool can_take_fds(void)
{
	char line[256];
	bool yes = false;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			yes = (strtoull(line + 7, NULL, 16) >> CAP_SYS_PTRACE_BIT) & 1;
	if (f)
		fclose(f);
	return yes;
}

/* The iterator over kvmlockstat's own files; only its own task where the kernel can (6.1+). */
static int open_iterator(struct kvmstats *ks)
{
	union bpf_iter_link_info li = { .task.tid = getpid() };
	LIBBPF_OPTS(bpf_iter_attach_opts, o, .link_info = &li, .link_info_len = sizeof(li));
	int err;

	ks->skel = kvmcounters_bpf__open();
	if (!ks->skel)
		return -errno;
	ks->skel->rodata->self_tgid = getpid();
	err = kvmcounters_bpf__load(ks->skel);
	if (err)
		return err;
	ks->iter = bpf_program__attach_iter(ks->skel->progs.kvm_counters, &o);
	if (!ks->iter)
		ks->iter = bpf_program__attach_iter(ks->skel->progs.kvm_counters, NULL);
	return ks->iter ? 0 : -errno;
}

/*
 * Reads KVM's counters of the vCPUs of only_pid (0: of every VMM found in
 * /proc), where this process may take a VMM's fds (pidfd_getfd:
 * CAP_SYS_PTRACE) and the BPF iterator loads.  NULL, with why set, when not.
 */
static struct kvmstats *kvmstats_open(uint32_t only_pid, char *why, size_t len)
{
	struct kvmstats *ks;
	int err;

	if (!can_take_fds()) {
		snprintf(why, len, "reading KVM's counters needs CAP_SYS_PTRACE (pidfd_getfd)");
		return NULL;
	}
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	ks->only_pid = only_pid;
	err = open_iterator(ks);
	if (err) {
		snprintf(why, len, "BPF task_file iterator refused (%s)", strerror(-err));
		kvmstats_free(ks);
		return NULL;
	}
	return ks;
}

/* Also looks at pid's fds on every poll (the traced command). */
static void kvmstats_watch(struct kvmstats *ks, uint32_t pid)
{
	if (ks && pid && ks->nr_watch < MAX_WATCH)
		ks->watch[ks->nr_watch++] = pid;
}

static bool held(const struct kvmstats *ks, uint32_t pid, int fd, int32_t vcpu_id)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].pid == pid && ks->v[i].target_fd == fd && ks->v[i].vcpu_id == vcpu_id)
			return true;
	return false;
}

/* delta NULL: only note the counters as the baseline. */
static int add_vcpu(struct held_vcpu *h, const struct vcpu_counters *rec, struct run *delta)
{
	struct vm_rec *vm = delta ? run_vm(delta, h->pid, rec->kvm) : NULL;
	struct vcpu_rec *vc = vm ? vm_vcpu(vm, rec->tid, rec->vcpu_id) : NULL;

	if (delta && !vc)
		return -ENOMEM;
	for (int k = 0; k < NR_KVM_COUNTERS; k++) {
		if (vc)
			vc->kvm[k] += rec->counter[k] - h->last[k];	/* counters only grow */
		h->last[k] = rec->counter[k];
	}
	return 0;
}

/* One iterator pass over every held vCPU. */
static int read_all(struct kvmstats *ks, struct run *delta)
{
	struct vcpu_counters rec;
	int fd = bpf_iter_create(bpf_link__fd(ks->iter)), err = 0;

	if (fd < 0)
		return -errno;
	while (!err && read(fd, &rec, sizeof(rec)) == sizeof(rec))
		for (size_t i = 0; i < ks->n && !err; i++)
			if (ks->v[i].fd == rec.fd)
				err = add_vcpu(&ks->v[i], &rec, delta);
	close(fd);
	return err;
}

static int pidfd_open_(uint32_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_getfd_(int pidfd, int fd)
{
	return syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* Holds a duplicate of the VMM's vCPU fd; the VMM's own fd is untouched. */
static int take(struct kvmstats *ks, uint32_t pid, int fd, int32_t vcpu_id)
{
	struct held_vcpu h = { .pid = pid, .target_fd = fd, .vcpu_id = vcpu_id, .fd = -1 };
	int pidfd = pidfd_open_(pid), err;
	struct held_vcpu *grown;
	__u8 one = 1;

	if (pidfd >= 0)
		h.fd = pidfd_getfd_(pidfd, fd);		/* close-on-exec already */
	err = h.fd < 0 ? -errno : 0;
	if (pidfd >= 0)
		close(pidfd);
	if (!err && bpf_map_update_elem(bpf_map__fd(ks->skel->maps.held_fds), &h.fd, &one, 0))
		err = -errno;
	grown = err ? NULL : realloc(ks->v, (ks->n + 1) * sizeof(*ks->v));
	if (!grown) {
		if (h.fd >= 0)
			close(h.fd);
		return err ? err : -ENOMEM;
	}
	ks->v = grown;
	ks->v[ks->n++] = h;
	return 0;
}

static bool holds_pid(const struct kvmstats *ks, uint32_t pid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].pid == pid)
			return true;
	return false;
}

/* Takes pid's vCPU fds not held yet. */
static void poll_pid(struct kvmstats *ks, uint32_t pid)
{
	char dir[64], path[320], target[64];
	struct dirent *de;
	DIR *d;

	if (ks->only_pid && pid != ks->only_pid)
		return;
	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		ssize_t n;
		int fd, id;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if ((id = vmid_vcpu_fd(target)) < 0)
			continue;
		fd = atoi(de->d_name);
		if (!held(ks, pid, fd, id))
			take(ks, pid, fd, id);	/* gone or refused: the next poll */
	}
	closedir(d);
}

/*
 * Takes the stats fd of every vCPU fd not held yet, of the VMMs known or
 * watched; full: of every VMM in /proc (once per interval, it is a scan).
 */
static int kvmstats_poll(struct kvmstats *ks, bool full)
{
	struct vmm *vmms;
	size_t n;
	int err = 0;

	if (!ks)
		return 0;
	if (full && ks->only_pid)
		poll_pid(ks, ks->only_pid);
	else if (full && !(err = vmid_scan(&vmms, &n))) {
		for (size_t i = 0; i < n; i++)
			poll_pid(ks, vmms[i].pid);
		free(vmms);
	}
	/*
	 * Between intervals only a watched command is looked at, until its vCPUs
	 * are held and a poll finds no more: its VM may live less than an
	 * interval.  Later vCPUs of any VMM are taken by the next full poll.
	 */
	for (size_t i = 0; i < ks->nr_watch; i++)
		if (full || !ks->settled[i]) {
			size_t before = ks->n;

			poll_pid(ks, ks->watch[i]);
			ks->settled[i] = ks->n == before && holds_pid(ks, ks->watch[i]);
		}
	/* A vCPU there before the run counts from now, a later one from its creation. */
	if (!ks->started && !err)
		err = read_all(ks, NULL);
	ks->started = true;
	return err;
}

/* The VMM still holds this vCPU fd. */
static bool still_there(const struct held_vcpu *h)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/fd/%d", h->pid, h->target_fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return vmid_vcpu_fd(target) == h->vcpu_id;
}

/*
 * Adds every held vCPU's counters since the last call into delta (per VMM
 * pid, VM, vCPU id and the thread that runs it); lets go of the vCPUs whose
 * VMM has exited, after this last read, since a held vCPU fd keeps the VM
 * alive.
 */
static int kvmstats_drain(struct kvmstats *ks, struct run *delta)
{
	size_t kept = 0;
	int err;

	if (!ks)
		return 0;
	err = read_all(ks, delta);
	for (size_t i = 0; i < ks->n; i++) {
		struct held_vcpu *h = &ks->v[i];

		if (still_there(h)) {
			ks->v[kept++] = *h;
			continue;
		}
		bpf_map_delete_elem(bpf_map__fd(ks->skel->maps.held_fds), &h->fd);
		close(h->fd);
	}
	ks->n = kept;
	return err;
}

static void kvmstats_free(struct kvmstats *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		close(ks->v[i].fd);
	free(ks->v);
	bpf_link__destroy(ks->iter);
	kvmcounters_bpf__destroy(ks->skel);
	free(ks);
}

/* ---- the family ---- */

#define M(x) (1U << (x))

struct kvm_counters {
	const struct kfacts *kf;
	const struct probe_opts *o;	/* its watch_pid is known by attach */
	uint32_t only_pid;
	struct kvmstats *ks;		/* NULL: not read (why says why) */
	char why[160];
};

/*
 * Faults are counted from KVM's own per-vCPU counters where KVM keeps them
 * and nothing asked for a probe per fault: the benchmark's cheapest way to
 * count them exactly.
 */
static int counters_open(void **st, const struct kfacts *kf, const struct probe_opts *o)
{
	struct kvm_counters *kc;

	*st = NULL;
	if (o->fault_types || o->fault_latency)
		return 0;
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->kf = kf;
	kc->only_pid = o->target_tgid;
	kc->o = o;
	snprintf(kc->why, sizeof(kc->why), "KVM keeps no per-vCPU fault counters here "
		 "(kvm_vcpu_stat.pf_taken/pf_fast not in BTF)");
	*st = kc;
	return 0;
}

static int counters_attach(void *st, struct run *r, unsigned int *covered)
{
	struct kvm_counters *kc = st;

	if (kc->kf->kvm_counts_faults)
		kc->ks = kvmstats_open(kc->only_pid, kc->why, sizeof(kc->why));
	if (!kc->ks)
		return 0;	/* probes count the faults */
	/* The first poll fixes the baseline of the vCPUs already there. */
	if (kvmstats_poll(kc->ks, true)) {
		fprintf(stderr, "kvmlockstat: cannot read KVM's counters\n");
		return -EIO;
	}
	kvmstats_watch(kc->ks, kc->o->watch_pid);	/* its vCPUs from their creation on */
	snprintf(r->metric_backend[FM_FAULTS], sizeof(r->metric_backend[FM_FAULTS]), "kvm_stats");
	snprintf(r->metric_backend[FM_FAST_PATH], sizeof(r->metric_backend[FM_FAST_PATH]),
		 "kvm_stats");
	*covered |= M(FM_FAULTS) | M(FM_FAST_PATH);
	return 0;
}

static int counters_drain(void *st, struct run *delta)
{
	struct kvm_counters *kc = st;
	int err = kvmstats_poll(kc->ks, true);

	return err ? err : kvmstats_drain(kc->ks, delta);
}

/* A new vCPU's counters are taken while its VMM lives: an exit leaves none. */
static void counters_poll(void *st)
{
	struct kvm_counters *kc = st;

	kvmstats_poll(kc->ks, false);
}

static void counters_missing(void *st, struct run *r)
{
	struct kvm_counters *kc = st;

	if (!kc->ks)
		run_add_missing(r, "KVM's fault counters", kc->why);
	else
		run_add_missing(r, "fault types", "opt-in: --fault-types (a probe on every fault); "
				"KVM's counters do not split faults by type");
}

static void counters_detach(void *st)
{
	struct kvm_counters *kc = st;

	if (!kc)
		return;
	kvmstats_free(kc->ks);
	free(kc);
}

static bool counters_claims(const struct bpf_program *prog)
{
	return !strcmp(bpf_program__name(prog), "kvm_counters");
}

const struct family kvm_counters_family = {
	.name = "kvm_counters",
	.open = counters_open,
	.attach = counters_attach,
	.drain = counters_drain,
	.poll = counters_poll,
	.missing = counters_missing,
	.detach = counters_detach,
	.claims = counters_claims,
};
