// SPDX-License-Identifier: GPL-2.0
/*
 * Fault family, user side.  Backends are tried best first: fentry/fexit,
 * kprobe/kretprobe, then tracepoints.  Each try opens a fresh skeleton and
 * switches on (set_autoload) only the programs of that backend whose
 * function exists on this kernel (inlined functions are not in kallsyms),
 * so one refused flavour never blocks the next.  What a backend cannot give
 * is written into the run, metric by metric, with the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpfmap.h"
#include "family.h"
#include "fault.h"
#include "kfacts.h"
#include "vmid.h"
#include "fault.skel.h"
#include "fault_xadd.skel.h"

#define M(x) (1U << (x))

const char *const fault_backend_names[NR_FAULT_BACKENDS] = {
	[FB_FENTRY] = "fentry", [FB_KPROBE] = "kprobe", [FB_TRACEPOINT] = "tracepoint",
};

/* Human names of the metrics, for the one-line notice and the record. */
static const char *const metric_titles[NR_FAULT_METRICS] = {
	[FM_FAULTS] = "faults by type", [FM_LATENCY] = "fault latency",
	[FM_FAST_PATH] = "fast-path hit rate", [FM_HOLD] = "mmu_lock hold time",
	[FM_DIRTY_LOG] = "dirty-log ioctl and write-protect time",
};

/*
 * What each probe point measures, by its entry and by its exit program.
 * Tracepoint targets are "system/event".
 */
struct probe_point {
	const char *target;
	unsigned int entry_metrics, exit_metrics;
	bool fallback;		/* a tracepoint that stands in for function probes */
	bool timed;		/* exit loaded only with --fault-latency: one probe per fault without */
	const char *replaces;	/* counts that function's faults as exactly (same type and
				   thread), more cheaply: used instead when no latency is asked for */
	bool no_vcpu_id;	/* knows the thread, not the vCPU id: not with --fault-types */
	bool lock_function;	/* runs for every rwlock in the kernel: --lock-functions */
	bool helper;		/* serves the count-only probes: loaded when faults are probed */
	bool latency_only;	/* entry and exit only with --fault-latency */
	bool task_storage;	/* reads task storage: not where the kernel has none */
	const char *arg0;	/* the struct its first argument points to (checked in BTF) */
	bool vcpu_ids;		/* a thread's vCPU, for the count-only probes */
};

static const struct probe_point points[] = {
	{ "kvm_handle_guest_abort", M(FM_FAULTS), M(FM_LATENCY), .timed = true, .arg0 = "kvm_vcpu" },
	{ "kvm_mmu_page_fault", M(FM_FAULTS), M(FM_LATENCY), .timed = true, .arg0 = "kvm_vcpu" },
	{ "kvm_pgtable_stage2_relax_perms", M(FM_FAST_PATH), M(FM_HOLD), .timed = true,
	  .arg0 = "kvm_pgtable" },
	/*
	 * Runs inside the write-locked populate section, where its kprobe pair
	 * lengthened the hold (arm64 lab: 3-6x the waits of a run without it): opt-in
	 * with the timing.
	 */
	{ "kvm_pgtable_stage2_map", 0, M(FM_HOLD), .latency_only = true, .arg0 = "kvm_pgtable" },
	{ "kvm_arch_mmu_enable_log_dirty_pt_masked", 0, M(FM_DIRTY_LOG) | M(FM_HOLD), .arg0 = "kvm" },
	{ "kvm_vm_ioctl", 0, M(FM_DIRTY_LOG), .arg0 = "file" },
	{ "_raw_read_lock", 0, M(FM_HOLD), .lock_function = true },
	{ "_raw_write_lock", 0, M(FM_HOLD), .lock_function = true },
	{ "_raw_read_unlock", M(FM_HOLD), 0, .lock_function = true },
	{ "_raw_write_unlock", M(FM_HOLD), 0, .lock_function = true },
	{ "kvmmmu/fast_page_fault", M(FM_FAST_PATH) },
	{ "kvm/kvm_page_fault", M(FM_FAULTS), .fallback = true, .replaces = "kvm_mmu_page_fault" },
	{ "kvm/kvm_guest_fault", M(FM_FAULTS), .fallback = true,
	  .replaces = "kvm_handle_guest_abort", .no_vcpu_id = true },
	/*
	 * A thread's counts live in its task storage, read by an iterator (or,
	 * without task storage, in a map by thread id), handed over at exit.
	 */
	{ "sched/sched_process_exit", .helper = true },
	{ "iter/task", .helper = true, .task_storage = true },
	/* Names the vCPU of threads the fault tracepoints see without it: once per KVM_RUN. */
	{ "kvm_arch_vcpu_ioctl_run", .vcpu_ids = true, .arg0 = "kvm_vcpu" },
};

#define NR_POINTS (sizeof(points) / sizeof(points[0]))

/* What the last drain read of a thread's cumulative counts. */
struct thread_seen {
	uint32_t tid;
	int32_t vcpu_id;	/* learnt from /proc where BPF could not tell; -1 */
	uint64_t count[NR_FAULT_TYPES];
	uint64_t path[NR_FAULT_PATHS];
};

/* The fault family's options, from the user's (struct probe_opts). */
struct fault_opts {
	int backend;			/* enum fault_backend, or -1: best available */
	uint32_t target_tgid;		/* only this VMM's threads (0: all) */
	const struct kfacts *kf;	/* which functions and tracepoints exist */
	bool lock_functions;		/* probe _raw_{read,write}_{lock,unlock}: exact hold, costly */
	bool fault_latency;		/* time each fault (and arm64 relax_perms): an exit probe more */
	bool fault_types;		/* probe each fault even where KVM counts them (types, exact rate) */
	bool counted;			/* faults and fast path counted by KVM's counters: no probes */
};

/* Why each backend that was tried got refused, for the notice. */
struct tries {
	char text[256];		/* "fentry refused (...), kprobe on f refused (...)" */
	char prog[64];		/* the probe point refused at attach, "" at load */
	bool nothing;		/* the backend had no probe point on this kernel */
};

struct fault_probes {
	struct fault_opts o;
	struct tries t;			/* the backends refused */
	unsigned int got;		/* metrics measured, by this family or an earlier one */
	struct fault_bpf *skel;
	struct bpf_link **links;	/* one per program that loaded */
	size_t nr_links;
	struct bpf_link *counts_iter;	/* the link of thread_counts_iter, among links */
	uint64_t drops_seen[NR_DROPS];
	struct thread_seen *seen;
	size_t nr_seen;
};

/* A program's flavour and probe point, from its section name. */
struct prog_info {
	int backend;			/* enum fault_backend */
	bool exit;			/* fexit or kretprobe */
	const struct probe_point *pt;
};

static unsigned int prog_metrics(const struct prog_info *pi)
{
	return pi->exit ? pi->pt->exit_metrics : pi->pt->entry_metrics;
}

static int section_backend(const char *sec, size_t len)
{
	static const struct { const char *prefix; int backend; } kinds[] = {
		{ "fentry", FB_FENTRY }, { "fexit", FB_FENTRY },
		{ "kprobe", FB_KPROBE }, { "kretprobe", FB_KPROBE },
		{ "raw_tp", FB_TRACEPOINT }, { "tp_btf", FB_TRACEPOINT }, { "iter", FB_TRACEPOINT },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].prefix) == len && !strncmp(sec, kinds[i].prefix, len))
			return kinds[i].backend;
	return -1;
}

static const char *point_name(const struct probe_point *pt)
{
	const char *slash = strchr(pt->target, '/');

	return slash ? slash + 1 : pt->target;
}

static int prog_info(const struct bpf_program *prog, struct prog_info *pi)
{
	const char *sec = bpf_program__section_name(prog), *slash = strchr(sec, '/');

	if (!slash)
		return -1;
	pi->backend = section_backend(sec, slash - sec);
	pi->exit = !strncmp(sec, "fexit/", 6) || !strncmp(sec, "kretprobe/", 10);
	pi->pt = NULL;
	for (size_t i = 0; i < NR_POINTS; i++)
		if (!strcmp(point_name(&points[i]), slash + 1))
			pi->pt = &points[i];
	return pi->backend < 0 || !pi->pt ? -1 : 0;
}

/* Per-thread state in task storage (5.11+), else in a map by thread id. */
static bool task_storage(const struct kfacts *k)
{
	return k->task_storage && k->current_task_btf;
}

static bool point_exists(const struct probe_point *pt, const struct kfacts *k)
{
	if (strchr(pt->target, '/'))
		return kfacts_has_tracepoint(k, pt->target);
	/* A changed signature is no probe point: the probe would read the wrong argument. */
	return kfacts_has_function(k, pt->target) &&
	       (!pt->arg0 || kfacts_arg0_is(k, pt->target, pt->arg0));
}

/* The tracepoint that counts pt's faults instead, or NULL. */
static const struct probe_point *replacement(const struct probe_point *pt,
					     const struct fault_opts *o)
{
	for (size_t i = 0; !o->fault_latency && i < NR_POINTS; i++)
		if (points[i].replaces && !strcmp(points[i].replaces, pt->target) &&
		    !(o->fault_types && points[i].no_vcpu_id))
			return &points[i];
	return NULL;
}

/* A tracepoint counts pt's faults instead, when latency is not asked for. */
static bool replaced(const struct probe_point *pt, const struct fault_opts *o,
		     const struct kfacts *k)
{
	const struct probe_point *r = replacement(pt, o);

	return r && point_exists(r, k);
}

/*
 * Does the try of backend load this program?  What the lab's benchmark
 * (make bench) showed costly is opt-in: the _raw_{read,write}_{lock,unlock}
 * probes run for every rwlock in the kernel (--lock-functions), and the exit
 * probes that time each fault double its probes (--fault-latency).
 */
static bool prog_wanted(const struct prog_info *pi, int backend, const struct fault_opts *o,
			const struct kfacts *k)
{
	const unsigned int counted = M(FM_FAULTS) | M(FM_FAST_PATH);

	if (pi->pt->helper)
		return !o->counted && (!pi->pt->task_storage || task_storage(k));
	if (pi->pt->vcpu_ids)
		return !o->counted && pi->backend == backend && point_exists(pi->pt, k);
	if (!o->lock_functions && pi->pt->lock_function)
		return false;
	if (!o->fault_latency && pi->pt->latency_only)
		return false;
	/* KVM counts these itself: no probe per fault for them. */
	if (o->counted && prog_metrics(pi) && !(prog_metrics(pi) & ~counted))
		return false;
	if (!o->fault_latency && pi->exit && pi->pt->timed)
		return false;
	if (pi->backend == FB_TRACEPOINT)
		return (!pi->pt->fallback || backend == FB_TRACEPOINT ||
			(pi->pt->replaces && !o->fault_latency &&
			 !(o->fault_types && pi->pt->no_vcpu_id))) && point_exists(pi->pt, k);
	return pi->backend == backend && !replaced(pi->pt, o, k) && point_exists(pi->pt, k);
}

static void set_rodata(struct fault_bpf *s, const struct fault_opts *o,
		       const struct kfacts *kf)
{
	/* One of the two per-thread maps: the other's type may not exist here. */
	bpf_map__set_autocreate(s->maps.inflight, task_storage(kf));
	bpf_map__set_autocreate(s->maps.inflight_tid, !task_storage(kf));
	s->rodata->use_task_storage = task_storage(kf);
	s->rodata->kvm_page_fault_vcpu = kf->kvm_page_fault_args != 2;
	s->rodata->fast_pf_args = kf->fast_page_fault_args == 6 ? 6 : 5;
	s->rodata->fast_pf_retry = kf->fast_pf_retry;
	s->rodata->targ_tgid = o->target_tgid;
	s->rodata->ret_pf_fixed = kf->ret_pf_fixed;
	s->rodata->ret_pf_spurious = kf->ret_pf_spurious;
	s->rodata->ept_exit_qual = kf->ept_exit_qual;
	s->rodata->fault_latency = o->fault_latency;
	s->rodata->lock_functions = o->lock_functions;
}

/* Switches on this backend's programs; returns how many function probes. */
static int pick_programs(struct fault_bpf *s, int backend, const struct fault_opts *o,
			 const struct kfacts *k)
{
	struct bpf_program *prog;
	int funcs = 0;

	bpf_object__for_each_program(prog, s->obj) {
		struct prog_info pi;
		bool on = !prog_info(prog, &pi) && prog_wanted(&pi, backend, o, k);

		bpf_program__set_autoload(prog, on);
		funcs += on && pi.backend != FB_TRACEPOINT;
	}
	return funcs;
}

static void unload(struct fault_probes *fp)
{
	for (size_t i = 0; i < fp->nr_links; i++)
		bpf_link__destroy(fp->links[i]);
	free(fp->links);
	fault_bpf__destroy(fp->skel);
	free(fp->seen);
	fp->links = NULL;
	fp->nr_links = 0;
	fp->skel = NULL;
	fp->counts_iter = NULL;
	fp->seen = NULL;
	fp->nr_seen = 0;
}

/* Attaches program by program, so that a refusal names its probe point. */
static int attach_all(struct fault_probes *fp, struct tries *t)
{
	struct bpf_program *prog;
	size_t n = 0;

	bpf_object__for_each_program(prog, fp->skel->obj)
		n++;
	fp->links = calloc(n, sizeof(*fp->links));
	if (!fp->links)
		return -ENOMEM;
	bpf_object__for_each_program(prog, fp->skel->obj) {
		struct bpf_link *l;
		struct prog_info pi;

		if (!bpf_program__autoload(prog))
			continue;
		l = bpf_program__attach(prog);
		if (!l) {
			int err = -errno;

			if (!prog_info(prog, &pi))
				snprintf(t->prog, sizeof(t->prog), "%s", pi.pt->target);
			return err;
		}
		fp->links[fp->nr_links++] = l;
		if (prog == fp->skel->progs.thread_counts_iter)
			fp->counts_iter = l;
	}
	return 0;
}

static int try_backend(struct fault_probes *fp, int backend, const struct fault_opts *o,
		       const struct kfacts *kf, const struct kfacts *k, struct tries *t)
{
	int funcs, err;

	t->prog[0] = 0;
	t->nothing = false;
	fp->skel = FAMILY_OPEN(fault, kf);
	if (!fp->skel)
		return -errno;
	set_rodata(fp->skel, o, kf);
	funcs = pick_programs(fp->skel, backend, o, k);
	/* A function backend with no function to probe is no backend. */
	t->nothing = backend != FB_TRACEPOINT && !funcs;
	err = t->nothing ? -ENOENT : fault_bpf__load(fp->skel);
	if (!err)
		err = attach_all(fp, t);
	if (err)
		unload(fp);
	return err;
}

/* Which metrics the loaded programs give, and by which backend. */
static unsigned int covered(struct fault_bpf *s, struct run *r)
{
	struct bpf_program *prog;
	unsigned int got = 0;
	bool lockfn = false, sections = false;

	bpf_object__for_each_program(prog, s->obj) {
		struct prog_info pi;

		if (!bpf_program__autoload(prog) || prog_info(prog, &pi))
			continue;
		for (int m = 0; m < NR_FAULT_METRICS; m++) {
			if (!(prog_metrics(&pi) & M(m)))
				continue;
			/* A function probe outranks a tracepoint for the same metric. */
			if (!(got & M(m)) || pi.backend != FB_TRACEPOINT)
				snprintf(r->metric_backend[m], sizeof(r->metric_backend[m]), "%s",
					 fault_backend_names[pi.backend]);
			got |= M(m);
		}
		lockfn |= pi.pt->lock_function;
		sections |= (prog_metrics(&pi) & M(FM_HOLD)) && !pi.pt->lock_function;
	}
	if (got & M(FM_HOLD))
		snprintf(r->hold_source, sizeof(r->hold_source), "%s",
			 lockfn ? "lock_functions" : sections ? "critical_sections" : "");
	return got;
}

/* Function probe points of metric m that this kernel lacks, as "a, b". */
static void absent_points(int m, const struct kfacts *k, struct fault_bpf *s, char *buf, size_t len)
{
	struct bpf_program *prog;

	buf[0] = 0;
	bpf_object__for_each_program(prog, s->obj) {
		struct prog_info pi;
		size_t used = strlen(buf);

		if (prog_info(prog, &pi) || pi.backend != FB_KPROBE || !(prog_metrics(&pi) & M(m)) ||
		    point_exists(pi.pt, k) || strstr(buf, pi.pt->target))
			continue;
		snprintf(buf + used, len - used, "%s%s", used ? ", " : "", pi.pt->target);
	}
}

/* The kernel's ENOTSUPP (524), e.g. no BPF trampoline: libc has no text for it. */
#define ENOTSUPP_KERNEL 524

static const char *refusal(int err, const struct tries *t)
{
	if (t->nothing)
		return "no probe point on this kernel";
	if (err == -ENOTSUPP_KERNEL)
		return "not supported by this kernel";
	return strerror(-err);
}

static void note_try(struct tries *t, int backend, int err)
{
	size_t used = strlen(t->text);

	snprintf(t->text + used, sizeof(t->text) - used, "%s%s%s%s refused (%s)",
		 used ? ", " : "", fault_backend_names[backend], t->prog[0] ? " on " : "", t->prog,
		 refusal(err, t));
}

/*
 * One entry in r->missing per metric not covered, and one line on stderr
 * (not for an opt-in metric left out: that is the default, not a loss).
 * forced: the backend asked for with --backend, -1 in auto mode.
 */
static void report_missing(struct run *r, unsigned int got, const struct tries *t,
			   const struct kfacts *k, struct fault_bpf *s, const struct fault_opts *o)
{
	int forced = o->backend;

	char why[256], absent[160], general[256];

	if (forced >= 0)
		snprintf(general, sizeof(general), "needs function probes, --backend %s asked for",
			 fault_backend_names[forced]);
	else
		snprintf(general, sizeof(general), "%s", t->text[0] ? t->text : "KVM not loaded");

	for (int m = 0; m < NR_FAULT_METRICS; m++) {
		if (got & M(m))
			continue;
		if (m == FM_LATENCY && !o->fault_latency) {
			run_add_missing(r, metric_titles[m], "opt-in: --fault-latency "
					"(an exit probe on every fault)");
			continue;
		}
		absent[0] = 0;
		if (s && forced < 0)
			absent_points(m, k, s, absent, sizeof(absent));
		if (absent[0])
			snprintf(why, sizeof(why), "not in kallsyms (inlined or KVM not loaded), or its "
				 "first argument not the one probed (BTF): %s", absent);
		else
			snprintf(why, sizeof(why), "%s", general);
		run_add_missing(r, metric_titles[m], why);	/* said once, in the summary */
	}
}

static bool fault_claims(const struct bpf_program *prog)
{
	struct prog_info pi;

	return !prog_info(prog, &pi);
}

/* Every program of fault.bpf.c must be a probe point's: else one line each, -EINVAL. */
static int check_claims(void)
{
	struct fault_bpf *s = fault_bpf__open();
	struct bpf_program *prog;
	int err = 0;

	if (!s)
		return -errno;
	bpf_object__for_each_program(prog, s->obj) {
		if (fault_claims(prog))
			continue;
		fprintf(stderr, "kvmlockstat: BPF program %s (%s) is no probe point's of the fault "
			"family\n", bpf_program__name(prog), bpf_program__section_name(prog));
		err = -EINVAL;
	}
	fault_bpf__destroy(s);
	return err;
}

static int fault_open(void **st, const struct kfacts *kf, const struct probe_opts *po)
{
	struct fault_probes *fp;
	int err = check_claims();

	*st = NULL;
	if (err)
		return err;
	fp = calloc(1, sizeof(*fp));
	*st = fp;
	if (!fp)
		return -ENOMEM;
	fp->o = (struct fault_opts){ .backend = po->fault_backend, .target_tgid = po->target_tgid,
				     .kf = kf, .lock_functions = po->lock_functions,
				     .fault_latency = po->fault_latency,
				     .fault_types = po->fault_types };
	return 0;
}

/*
 * Attaches with the first backend that loads and records the backend of
 * each metric.  Nothing attached in auto mode is no error (missing says
 * why); a forced backend that fails is (after one line on stderr).
 */
static int fault_attach(void *st, struct run *r, unsigned int *given)
{
	struct fault_probes *fp = st;
	const struct fault_opts *o = &fp->o;
	int err = -ENOENT;

	fp->o.counted = (*given & (M(FM_FAULTS) | M(FM_FAST_PATH))) ==
			(M(FM_FAULTS) | M(FM_FAST_PATH));
	for (int b = 0; b < NR_FAULT_BACKENDS; b++) {
		if (o->backend >= 0 && b != o->backend)
			continue;
		err = try_backend(fp, b, o, o->kf, o->kf, &fp->t);
		if (!err)
			break;
		note_try(&fp->t, b, err);
	}
	if (err && o->backend >= 0) {
		fprintf(stderr, "kvmlockstat: --backend %s: %s; -v shows libbpf's log\n",
			fault_backend_names[o->backend], fp->t.text);
		return err;
	}
	fp->got = (fp->skel ? covered(fp->skel, r) : 0) | *given;
	*given |= fp->got;
	return 0;
}

/* One entry per metric not covered, and one line on stderr naming them. */
static void fault_missing(void *st, struct run *r)
{
	struct fault_probes *fp = st;

	report_missing(r, fp->got, &fp->t, fp->o.kf, fp->skel, &fp->o);
}

static void fault_detach(void *st)
{
	struct fault_probes *fp = st;

	if (!fp)
		return;
	unload(fp);
	free(fp);
}

/* ---- collection ---- */

struct drain_ctx {
	uint32_t only_pid;
	struct fault_probes *fp;
};

/* The VM a key belongs to, NULL when filtered out (or ENOMEM). */
static struct vm_rec *vm_for(struct run *delta, uint32_t pid, uint64_t kvm, uint32_t only_pid)
{
	if (only_pid && pid != only_pid)
		return NULL;
	return run_vm(delta, pid, kvm);
}

static int add_fault(void *ctx, struct run *delta, const void *k, const void *v)
{
	const struct fault_key *key = k;
	struct drain_ctx *c = ctx;
	struct vm_rec *vm = vm_for(delta, key->tgid, key->kvm, c->only_pid);
	struct vcpu_rec *vc;
	struct wait_stat sum;

	if (!vm || key->type >= NR_FAULT_TYPES)
		return 0;
	vc = vm_vcpu(vm, key->tid, key->vcpu_id);
	if (!vc)
		return -ENOMEM;
	bpfmap_sum_wait_stats(v, &sum);
	wait_stat_merge(&vc->fault[key->type], &sum);
	return 0;
}

static int add_timing(void *ctx, struct run *delta, const void *k, const void *v)
{
	const struct timing_key *key = k;
	struct drain_ctx *c = ctx;
	struct vm_rec *vm = vm_for(delta, vmid_tgid(key->vmm_pid), key->kvm, c->only_pid);
	struct wait_stat sum;

	if (!vm || key->timing >= NR_VM_TIMINGS || key->mode >= NR_MODES)
		return 0;
	bpfmap_sum_wait_stats(v, &sum);
	wait_stat_merge(&vm->timing[key->timing][key->mode], &sum);
	return 0;
}

/* Names each VM's mmu_lock from the addresses BPF learnt, contended or not. */
static void name_mmu_locks(struct fault_probes *fp, struct run *delta)
{
	int fd = bpf_map__fd(fp->skel->maps.mmu_locks);
	__u64 key, next, kvm;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		for (size_t i = 0; !bpf_map_lookup_elem(fd, &next, &kvm) && i < delta->nr_vms; i++)
			if (delta->vms[i].kvm == kvm)
				delta->vms[i].mmu_lock = next;
		key = next;
		prev = &key;
	}
}

static struct thread_seen *seen_of(struct fault_probes *fp, uint32_t tid)
{
	struct thread_seen *grown;

	for (size_t i = 0; i < fp->nr_seen; i++)
		if (fp->seen[i].tid == tid)
			return &fp->seen[i];
	grown = realloc(fp->seen, (fp->nr_seen + 1) * sizeof(*fp->seen));
	if (!grown)
		return NULL;
	fp->seen = grown;
	memset(&grown[fp->nr_seen], 0, sizeof(*grown));
	grown[fp->nr_seen].tid = tid;
	grown[fp->nr_seen].vcpu_id = -1;
	return &grown[fp->nr_seen++];
}

static uint64_t grown_by(uint64_t now, uint64_t *seen)
{
	/* Less than last time: a new thread under a reused tid, counting from 0. */
	uint64_t d = now >= *seen ? now - *seen : now;

	*seen = now;
	return d;
}

/* What a thread counted since the last drain; gone: its final counts (at exit). */
static int add_thread(struct fault_probes *fp, struct run *delta, const struct thread_faults *t,
		      uint32_t only_pid, bool gone)
{
	struct thread_seen *s = seen_of(fp, t->tid);
	struct vm_rec *vm = vm_for(delta, t->tgid, t->kvm, only_pid);
	struct vcpu_rec *vc;

	if (!s)
		return -ENOMEM;
	/*
	 * A tracepoint without the vCPU (arm64's kvm_guest_fault): the thread's
	 * vCPU is the kvm-vcpu fd it sits in KVM_RUN on, once /proc catches it
	 * off a CPU.
	 */
	if (t->vcpu_id < 0 && s->vcpu_id < 0 && !gone)
		s->vcpu_id = vmid_kvm_run_vcpu(t->tid);
	vc = vm ? vm_vcpu(vm, t->tid, t->vcpu_id >= 0 ? t->vcpu_id : s->vcpu_id) : NULL;
	if (vm && !vc)
		return -ENOMEM;
	for (int i = 0; i < NR_FAULT_TYPES; i++) {
		uint64_t d = grown_by(t->count[i], &s->count[i]);

		if (vc)
			vc->fault[i].count += d;
	}
	for (int p = 0; p < NR_FAULT_PATHS; p++) {
		uint64_t d = grown_by(t->path[p], &s->path[p]);

		if (vc)
			vc->path[p] += d;
	}
	if (gone)
		*s = fp->seen[--fp->nr_seen];
	return 0;
}

static int add_exited(void *ctx, struct run *delta, const void *k, const void *v)
{
	struct drain_ctx *c = ctx;

	return add_thread(c->fp, delta, v, c->only_pid, true);
}

/*
 * Without task storage the live threads' counts are in inflight_tid, each
 * value beginning with them; read, not deleted (BPF adds to them in place).
 */
static int drain_by_tid(struct fault_probes *fp, struct run *delta, struct drain_ctx *c)
{
	struct bpf_map *map = fp->skel->maps.inflight_tid;
	size_t size = bpf_map__value_size(map);
	int fd = bpf_map__fd(map), err = 0;
	__u32 key, next;
	void *prev = NULL, *val = malloc(size);

	if (!val)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, val) && ((struct thread_faults *)val)->events)
			err = add_thread(fp, delta, val, c->only_pid, false);
		key = next;
		prev = &key;
	}
	free(val);
	return err;
}

/*
 * The count-only probes' figures: live threads through the iterator, then
 * the threads that exited since (in that order, so a thread caught by both
 * is counted once: the iterator skips exiting threads).
 */
static int drain_thread_counts(struct fault_probes *fp, struct run *delta, struct drain_ctx *c)
{
	struct thread_faults t;
	int fd, err = 0;

	if (!task_storage(fp->o.kf))
		err = drain_by_tid(fp, delta, c);
	if (err || !fp->counts_iter)
		return err ? err : bpfmap_drain(fp->skel->maps.exited, c, delta, add_exited);
	fd = bpf_iter_create(bpf_link__fd(fp->counts_iter));
	if (fd < 0)
		return -errno;
	while (!err && read(fd, &t, sizeof(t)) == sizeof(t))
		err = add_thread(fp, delta, &t, c->only_pid, false);
	close(fd);
	return err ? err : bpfmap_drain(fp->skel->maps.exited, c, delta, add_exited);
}

static int fault_drain(void *st, struct run *delta)
{
	struct fault_probes *fp = st;
	struct drain_ctx c = { .only_pid = fp->o.target_tgid, .fp = fp };
	struct fault_bpf *s = fp->skel;
	uint32_t cur;
	int err;

	if (!s)
		return 0;
	cur = bpfmap_next_generation(&s->bss->gen, s->bss->active);
	err = bpfmap_drain_gen(s->maps.fault_stats, &c, delta, add_fault,
			       offsetof(struct fault_key, gen), cur);
	if (!err)
		err = bpfmap_drain_gen(s->maps.vm_timings, &c, delta, add_timing,
				       offsetof(struct timing_key, gen), cur);
	if (!err)
		err = drain_thread_counts(fp, delta, &c);
	bpfmap_drops(s->obj, s->bss->drops, fp->drops_seen, delta);
	name_mmu_locks(fp, delta);
	return err;
}

const struct family fault_family = {
	.name = "fault",
	.open = fault_open,
	.attach = fault_attach,
	.drain = fault_drain,
	.missing = fault_missing,
	.detach = fault_detach,
	.claims = fault_claims,
};
