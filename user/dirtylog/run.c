// SPDX-License-Identifier: GPL-2.0
/*
 * The passes: one thread per vCPU runs its slice each time the main thread
 * releases a pass; the main thread times the pass, then fetches (and clears)
 * the dirty log between passes, exactly where a migration would.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "dirtylog.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	int pass;		/* last pass released, -1 before the first */
	int finished;		/* vCPUs done with it */
	bool stop;		/* threads leave their loop */
	volatile bool abort;	/* a pass timed out: KVM_RUN's EINTR ends it */
} ctl = { .lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER,
	    .done = PTHREAD_COND_INITIALIZER, .pass = -1 };

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return EINTR */
}

static void vcpu_fail(struct dl_vcpu *vc, const char *what)
{
	vc->error = 1;
	snprintf(vc->errmsg, sizeof(vc->errmsg), "vCPU %d: %s", vc->id, what);
}

static void describe_exit(struct dl_vcpu *vc)
{
	struct kvm_run *r = vc->run;
	char buf[128];

	if (r->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(buf, sizeof(buf), "guest entry failed (hardware reason 0x%llx)",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	else if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(buf, sizeof(buf), "KVM internal error, suberror %u", r->internal.suberror);
	else
		snprintf(buf, sizeof(buf), "unexpected exit reason %u", r->exit_reason);
	vcpu_fail(vc, buf);
}

/* Runs the guest until it reports the end of its pass over its slice. */
static void run_pass(struct dl_vcpu *vc)
{
	uint64_t t0 = dl_now_ns();
	char why[80];
	int done = 0;

	while (!done) {
		if (ioctl(vc->fd, KVM_RUN, NULL) < 0) {
			if (errno == EINTR && !ctl.abort)
				continue;
			if (errno == EINTR)
				snprintf(why, sizeof(why), "pass timed out after %.1f s (-t %d)",
					 (double)(dl_now_ns() - t0) / 1e9, vc->vm->o->timeout_s);
			else
				snprintf(why, sizeof(why), "KVM_RUN: %s", strerror(errno));
			vcpu_fail(vc, why);
			break;
		}
		done = guest_exit_is_done(vc);
		if (done < 0) {
			describe_exit(vc);
			break;
		}
	}
	vc->pass_ns = dl_now_ns() - t0;
}

static void pin(struct dl_vcpu *vc)
{
	const struct dl_opts *o = vc->vm->o;
	cpu_set_t set;

	if (!o->npin)
		return;
	CPU_ZERO(&set);
	CPU_SET(o->pin_cpus[vc->id], &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		vcpu_fail(vc, "cannot pin to the CPU given with -c");
}

static void *vcpu_thread(void *arg)
{
	struct dl_vcpu *vc = arg;
	int seen = -1;

	pin(vc);
	for (;;) {
		pthread_mutex_lock(&ctl.lock);
		while (ctl.pass == seen && !ctl.stop)
			pthread_cond_wait(&ctl.go, &ctl.lock);
		if (ctl.stop) {
			pthread_mutex_unlock(&ctl.lock);
			return NULL;
		}
		seen = ctl.pass;
		pthread_mutex_unlock(&ctl.lock);

		if (!vc->error)
			run_pass(vc);

		pthread_mutex_lock(&ctl.lock);
		ctl.finished++;
		pthread_cond_signal(&ctl.done);
		pthread_mutex_unlock(&ctl.lock);
	}
}

static void add_ns(struct timespec *t, uint64_t ns)
{
	ns += (uint64_t)t->tv_nsec;
	t->tv_sec += (time_t)(ns / 1000000000ULL);
	t->tv_nsec = (long)(ns % 1000000000ULL);
}

/*
 * Waits for every vCPU; past the timeout, kicks them out of KVM_RUN until they
 * return. The condition variable runs on CLOCK_MONOTONIC (see start_threads) so
 * that a wall-clock step cannot fake or hide a timeout.
 */
static void wait_pass(struct dl_vm *vm, pthread_t *tids)
{
	struct timespec deadline;
	int n = vm->o->vcpus;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	add_ns(&deadline, (uint64_t)vm->o->timeout_s * 1000000000ULL);
	while (ctl.finished < n) {
		if (pthread_cond_timedwait(&ctl.done, &ctl.lock, &deadline) != ETIMEDOUT)
			continue;
		ctl.abort = true;
		for (int i = 0; i < n; i++)
			pthread_kill(tids[i], SIGUSR1);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		add_ns(&deadline, 100000000ULL);
	}
}

static void stats_snapshot(struct dl_vm *vm, uint64_t sum[DL_NSTATS])
{
	uint64_t one[DL_NSTATS];

	memset(sum, 0, sizeof(uint64_t) * DL_NSTATS);
	for (int i = 0; i < vm->o->vcpus; i++) {
		dl_stats_read(&vm->vcpu[i].stats, one);
		for (int k = 0; k < DL_NSTATS; k++)
			sum[k] += one[k];
	}
}

static int first_error(struct dl_vm *vm)
{
	for (int i = 0; i < vm->o->vcpus; i++)
		if (vm->vcpu[i].error)
			return dl_err("%s", vm->vcpu[i].errmsg);
	return 0;
}

/* Releases pass 'pass' to every vCPU and records its wall time and KVM stats. */
static int do_pass(struct dl_vm *vm, pthread_t *tids, int pass, struct dl_iter *it)
{
	uint64_t before[DL_NSTATS], after[DL_NSTATS], t0;

	stats_snapshot(vm, before);
	pthread_mutex_lock(&ctl.lock);
	ctl.finished = 0;
	ctl.pass = pass;
	t0 = dl_now_ns();
	pthread_cond_broadcast(&ctl.go);
	wait_pass(vm, tids);
	it->dirty_ns = dl_now_ns() - t0;
	pthread_mutex_unlock(&ctl.lock);
	stats_snapshot(vm, after);

	for (int k = 0; k < DL_NSTATS; k++)
		it->stats[k] = after[k] - before[k];
	for (int i = 0; i < vm->o->vcpus; i++) {
		it->vcpu_sum_ns += vm->vcpu[i].pass_ns;
		if (vm->vcpu[i].pass_ns > it->vcpu_max_ns)
			it->vcpu_max_ns = vm->vcpu[i].pass_ns;
	}
	return first_error(vm);
}

static int fetch_log(struct dl_vm *vm, struct dl_iter *it)
{
	uint64_t t0 = dl_now_ns();

	if (dl_get_log(vm, &it->pages_dirtied))
		return -1;
	it->get_ns = dl_now_ns() - t0;
	if (!vm->o->manual_protect)
		return 0;
	t0 = dl_now_ns();
	if (dl_clear_log(vm))
		return -1;
	it->clear_ns = dl_now_ns() - t0;
	return 0;
}

static int stat_index(const char *name)
{
	for (int k = 0; k < DL_NSTATS; k++)
		if (!strcmp(dl_stat_names[k], name))
			return k;
	return -1;
}

/*
 * The run only means something if the guest ran on hardware virtualization: then
 * every write of a logged pass faulted into KVM (one exit per page at least) and
 * left exactly one bit per page in the log. A backend that emulates the guest, or
 * a broken log, fails one of the two, and we stop rather than print timings.
 * Intel PML logs writes without faulting: there only the log can be checked.
 */
static int check_native(struct dl_vm *vm, struct dl_result *res, const struct dl_iter *it)
{
	int ex = stat_index("exits");
	bool faults = guest_logging_faults();

	if (it->pages_dirtied != vm->test_pages)
		return dl_err("the dirty log shows %llu of the %llu pages the guest wrote: KVM_RUN "
			      "does not behave like hardware virtualization here; no results",
			      (unsigned long long)it->pages_dirtied,
			      (unsigned long long)vm->test_pages);
	if (faults && res->have_stat[ex] && it->stats[ex] < vm->test_pages)
		return dl_err("%llu vCPU exits for %llu write-protected pages: the guest's writes did "
			      "not fault into KVM, so it is not running on hardware virtualization; "
			      "no results", (unsigned long long)it->stats[ex],
			      (unsigned long long)vm->test_pages);
	snprintf(res->native_why, sizeof(res->native_why),
		 "first logged pass: %llu/%llu pages in the dirty log%s",
		 (unsigned long long)it->pages_dirtied, (unsigned long long)vm->test_pages,
		 !faults ? " (PML: writes logged without faults)" :
		 res->have_stat[ex] ? ", at least one vCPU exit per page" : "");
	return 0;
}

static int timed_logging(struct dl_vm *vm, bool on, uint64_t *ns)
{
	uint64_t t0 = dl_now_ns();
	int ret = dl_set_logging(vm, on);

	*ns = dl_now_ns() - t0;
	return ret;
}

static int passes(struct dl_vm *vm, pthread_t *tids, struct dl_result *res)
{
	if (do_pass(vm, tids, 0, &res->iter[0]))
		return -1;
	res->populate_ns = res->iter[0].dirty_ns;
	res->iter[0].pages_dirtied = vm->test_pages;
	if (timed_logging(vm, true, &res->enable_ns))
		return -1;
	for (int i = 1; i <= res->niter; i++) {
		if (do_pass(vm, tids, i, &res->iter[i]) || fetch_log(vm, &res->iter[i]))
			return -1;
		if (i == 1 && check_native(vm, res, &res->iter[1]))
			return -1;
		if (res->iter[i].pages_dirtied != vm->test_pages)
			return dl_err("iteration %d: %llu of %llu pages in the dirty log", i,
				      (unsigned long long)res->iter[i].pages_dirtied,
				      (unsigned long long)vm->test_pages);
	}
	return timed_logging(vm, false, &res->disable_ns);
}

static int start_threads(struct dl_vm *vm, pthread_t *tids)
{
	struct sigaction sa = { .sa_handler = kick_handler };	/* no SA_RESTART */
	pthread_condattr_t attr;

	sigaction(SIGUSR1, &sa, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ctl.done, &attr);
	pthread_condattr_destroy(&attr);
	for (int i = 0; i < vm->o->vcpus; i++) {
		int err = pthread_create(&tids[i], NULL, vcpu_thread, &vm->vcpu[i]);

		if (err) {
			dl_err("pthread_create: %s", strerror(err));
			return i;	/* dl_run stops and joins the ones started */
		}
	}
	return vm->o->vcpus;
}

int dl_run(struct dl_vm *vm, struct dl_result *res)
{
	pthread_t *tids = calloc((size_t)vm->o->vcpus, sizeof(*tids));
	int started, ret = -1;

	res->niter = vm->o->iterations;
	res->iter = calloc((size_t)res->niter + 1, sizeof(*res->iter));
	if (!tids || !res->iter)
		return dl_err("out of memory");
	for (int k = 0; k < DL_NSTATS; k++)
		res->have_stat[k] = vm->vcpu[0].stats.data_off[k] >= 0;
	started = start_threads(vm, tids);
	if (started == vm->o->vcpus)
		ret = passes(vm, tids, res);

	pthread_mutex_lock(&ctl.lock);
	ctl.stop = true;
	pthread_cond_broadcast(&ctl.go);
	pthread_mutex_unlock(&ctl.lock);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return ret;
}
