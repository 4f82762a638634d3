// SPDX-License-Identifier: GPL-2.0
/*
 * The live run: attach, drain every interval into the run model, print
 * the interval table, and on the end of the run (duration, Ctrl-C,
 * SIGTERM, or the traced command's exit) detach, summarise and write
 * the record.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "child.h"
#include "collect.h"
#include "driver.h"
#include "family.h"
#include "fault.h"
#include "output.h"
#include "kfacts.h"
#include "cli.h"
#include "cmd.h"
#include "progstats.h"
#include "record.h"
#include "table.h"
#include "timeline.h"
#include "vmid.h"

struct live_opts {
	uint32_t pid;
	double duration;	/* seconds, 0 = until stopped */
	double interval;	/* seconds, 0 = no live table */
	bool all_locks, verbose;
	const char *backend;		/* lock family: tp_btf or raw_tp, NULL: best */
	int fault_backend;		/* enum fault_backend, -1: best available */
	bool lock_functions;		/* --lock-functions */
	bool fault_latency;		/* --fault-latency */
	bool fault_types;		/* --fault-types */
	bool prog_stats;		/* --prog-stats */
	struct output_opts out;
	const char *timeline;		/* --timeline CSV */
	char **command;
};

enum { OPT_BACKEND = 0x100, OPT_PERF_DATA, OPT_FOLDED, OPT_LOCK_FUNCTIONS, OPT_TIMELINE,
       OPT_PROG_STATS, OPT_FAULT_LATENCY, OPT_FAULT_TYPES };

static const struct argp_option live_options[] = {
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C or COMMAND's exit)", 0 },
	{ "interval", 'i', "SECONDS", 0, "Live table every SECONDS (default 1; 0: summary only)", 0 },
	{ "all-locks", 'a', NULL, 0, "Every contended lock, not only KVM mmu_locks", 0 },
	{ "json", 'j', "FILE", 0, "Write the run as a JSON record", 0 },
	{ "perf-data", OPT_PERF_DATA, "FILE", 0, "Write contended call chains as perf.data", 0 },
	{ "folded", OPT_FOLDED, "FILE", 0, "Write contended call chains as folded stacks", 0 },
	{ "timeline", OPT_TIMELINE, "FILE", 0, "Write one CSV row per interval per VM", 0 },
	{ "lock-functions", OPT_LOCK_FUNCTIONS, NULL, 0, CLI_DOC_LOCK_FUNCTIONS, 0 },
	{ "backend", OPT_BACKEND, "NAME", 0, "Force a probe backend: tp_btf|raw_tp, "
	  "auto|fentry|kprobe|tracepoint", 0 },
	{ "fault-latency", OPT_FAULT_LATENCY, NULL, 0, "Time every fault (costly: a probe on "
	  "every fault exit; see kvmlockstat(8))", 0 },
	{ "fault-types", OPT_FAULT_TYPES, NULL, 0, CLI_DOC_FAULT_TYPES, 0 },
	{ "prog-stats", OPT_PROG_STATS, NULL, 0, "At the end, each BPF program's run time and "
	  "kvmlockstat's CPU time", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static const char live_doc[] =
	"Measure KVM mmu_lock contention per VM, per waiting task and per mode "
	"(read/write/spin), from lock:contention_begin/end, on a stock kernel; and "
	"KVM's fault path per VM and vCPU: faults by type, fault latency, fast-path "
	"hit rate, mmu_lock hold per mode, dirty-log ioctl time (fentry, kprobes, or "
	"tracepoints for what they can give).\v"
	"EXAMPLES:\n"
	"  kvmlockstat                      # every VM on the host, table every second\n"
	"  kvmlockstat -p 4242 -d 30 -j run.json\n"
	"  kvmlockstat -i 0 -j run.json -- kvm-dirtylog -v 2 -b 64M\n"
	"  kvmlockstat -a -d 5              # every contended lock, by caller\n"
	"  kvmlockstat --backend kprobe -d 10   # fault probes through kprobes only\n"
	"  kvmlockstat report run.json      # re-render a record";

static error_t live_parse(int key, char *arg, struct argp_state *state)
{
	struct live_opts *o = state->input;

	switch (key) {
	case 'p': return parse_pid(arg, &o->pid);
	case 'd': return parse_seconds(arg, "duration", &o->duration);
	case 'i': return parse_interval(arg, "interval", true, &o->interval);
	case 'a': o->all_locks = true; return 0;
	case 'j': o->out.json = arg; return output_check_path(arg) ? EINVAL : 0;
	case OPT_PERF_DATA: o->out.perf_data = arg; return output_check_path(arg) ? EINVAL : 0;
	case OPT_FOLDED: o->out.folded = arg; return output_check_path(arg) ? EINVAL : 0;
	case OPT_TIMELINE: o->timeline = arg; return output_check_path(arg) ? EINVAL : 0;
	case 'v': o->verbose = true; return 0;
	case OPT_LOCK_FUNCTIONS: o->lock_functions = true; return 0;
	case OPT_PROG_STATS: o->prog_stats = true; return 0;
	case OPT_FAULT_LATENCY: o->fault_latency = true; return 0;
	case OPT_FAULT_TYPES: o->fault_types = true; return 0;
	case OPT_BACKEND:
		/* The two families' names are disjoint: each value picks its family. */
		if (!strcmp(arg, "tp_btf") || !strcmp(arg, "raw_tp"))
			o->backend = arg;
		else if (strcmp(arg, "auto") &&
			 (o->fault_backend = name_index(fault_backend_names, NR_FAULT_BACKENDS, arg)) < 0)
			argp_error(state, "--backend: '%s' is not tp_btf or raw_tp (lock probes), "
				   "nor auto, fentry, kprobe or tracepoint (fault probes)", arg);
		return 0;
	case ARGP_KEY_ARG:
		return ARGP_ERR_UNKNOWN;	/* makes argp hand over the rest as ARGP_KEY_ARGS */
	case ARGP_KEY_ARGS:
		/* Only what follows "--" is a command: a stray word is a mistake. */
		if (state->next < 1 || strcmp(state->argv[state->next - 1], "--"))
			argp_error(state, "unexpected argument '%s' (a command to trace goes after --)",
				   state->argv[state->next]);
		o->command = state->argv + state->next;
		return 0;
	case ARGP_KEY_END:
		if (o->pid && o->command)
			argp_error(state, "-p and -- COMMAND exclude each other");
		if (o->timeline && !o->interval)
			argp_error(state, "--timeline needs intervals: -i SECONDS > 0");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void describe_run(struct run *r, const struct live_opts *o)
{
	driver_describe_host(r);
	r->interval_s = o->interval;
	r->all_locks = o->all_locks;
	r->target_pid = o->pid;
	for (char **a = o->command; a && *a; a++) {
		size_t len = strlen(r->command);

		snprintf(r->command + len, sizeof(r->command) - len, "%s%s", len ? " " : "", *a);
	}
}

static int check_target(uint32_t pid)
{
	struct vmm *vmms;
	size_t n;
	bool found = false;

	if (vmid_scan(&vmms, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		found |= vmms[i].pid == pid;
	free(vmms);
	if (!found)
		fprintf(stderr, "kvmlockstat: process %u holds no KVM VM (no anon_inode:kvm-vm fd)%s\n",
			pid, kill(pid, 0) && errno == ESRCH ? ": no such process" : "");
	return found ? 0 : -1;
}

/* What ends the run: the duration, a signal or the command's end. */
struct live_wait {
	struct collector *c;
	struct child *ch;
	uint64_t deadline;
	uint32_t pid;			/* -p: the run ends with that process */
};

static int live_wait(void *ctx, uint64_t until)
{
	const struct live_wait *w = ctx;
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	uint64_t now = driver_now_ns();

	if (stop_signal || now >= w->deadline || (w->ch->pid && child_poll(w->ch)))
		return 1;
	if (w->pid && process_gone(w->pid)) {
		fprintf(stderr, "kvmlockstat: process %u exited: the run ends with it\n", w->pid);
		return 1;
	}
	if (now >= until)
		return 0;
	collect_poll(w->c);
	nanosleep(&nap, NULL);
	return 0;
}

/* The live table, printed each interval but the last (the summary follows it). */
static int table_sink(void *printing, struct run *delta, struct run *total,
		      const struct interval_span *iv)
{
	if (*(bool *)printing)
		table_interval(stdout, delta, total);
	return 0;
}

/* The interval's rows, which the driver has just added to total. */
static int timeline_sink(void *tl, struct run *delta, struct run *total,
			 const struct interval_span *iv)
{
	return timeline_write(tl, &total->timeline[total->nr_timeline - total->nr_vms],
			      total->nr_vms);
}

static int trace(struct driver *d, const struct live_opts *o, struct child *ch, bool *printing)
{
	struct live_wait w = { d->c, ch, UINT64_MAX, o->pid };
	int err;

	driver_start(d);
	if (o->duration)
		w.deadline = d->start + (uint64_t)(o->duration * 1e9);
	err = driver_run(d, live_wait, &w);
	*printing = false;
	return err < 0 ? err : 0;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int run_live(const struct live_opts *o)
{
	struct probe_opts po = { .target_tgid = o->pid, .all_locks = o->all_locks,
				 .lock_backend = o->backend, .fault_backend = o->fault_backend,
				 .lock_functions = o->lock_functions, .fault_latency = o->fault_latency,
				 .fault_types = o->fault_types, .verbose = o->verbose };
	struct collector c = {};
	struct child ch = { .gate = -1 };
	struct timeline *tl = NULL;
	struct kfacts kf;
	struct run r;
	struct driver d = { .c = &c, .total = &r, .interval_s = o->interval ? o->interval : 1.0,
			    .rows = o->timeline };
	bool printing = o->interval > 0;
	int err, stats_fd = -1;

	run_init(&r);
	describe_run(&r, o);
	collect_set_verbose(o->verbose);
	if (kfacts_read(&kf) || collect_open(&c, &kf, &po) || (o->pid && check_target(o->pid)))
		goto fail;
	if (o->command && child_runnable(o->command[0])) {
		run_free(&r);
		kfacts_free(&kf);
		return 127;	/* as a shell says "not found", before any probe is on */
	}
	if (o->timeline && !(tl = timeline_open(o->timeline)))
		goto fail;
	if (tl)
		driver_add_sink(&d, (struct driver_sink){ timeline_sink, tl });
	driver_add_sink(&d, (struct driver_sink){ table_sink, &printing });
	install_signals();
	if (o->prog_stats)
		stats_fd = progstats_enable();
	if (o->command && (err = child_start(&ch, o->command))) {
		fprintf(stderr, "kvmlockstat: cannot start %s: %s\n", o->command[0], strerror(-err));
		timeline_close(tl, false);
		goto fail;
	}
	po.watch_pid = ch.pid;	/* its vCPUs from their creation on */
	if (collect_attach(&c, &r)) {
		child_stop(&ch, SIGKILL, 0);
		timeline_close(tl, false);
		goto fail;
	}
	fprintf(stderr, "kvmlockstat: tracing mmu_lock contention (%s)%s\n", r.backend,
		o->duration ? "" : ", Ctrl-C to stop");
	if (o->command)
		child_release(&ch);
	err = trace(&d, o, &ch, &printing);
	if (stop_signal && o->command)
		child_stop(&ch, stop_signal, 5000);
	else if (o->command)
		child_stop(&ch, SIGTERM, 5000);	/* duration ended first */
	r.exit_status = o->command ? ch.status : -1;
	err = driver_finish(&d) || err;
	if (o->prog_stats)
		err = progstats_collect(&r, stats_fd, r.duration_ns / 1e9) || err;
	table_summary(stdout, &r);
	err = output_run(&r, &o->out, kf.ksyms) || err;
	err = timeline_close(tl, true) || err;
	if (o->prog_stats)
		progstats_print(stderr, &r);
	collect_close(&c);
	kfacts_free(&kf);
	run_free(&r);
	/* A run stopped on purpose succeeded; otherwise the command's failure is ours. */
	if (!err && o->command && ch.status && !stop_signal)
		return ch.status;
	return err ? 1 : 0;
fail:
	collect_close(&c);
	kfacts_free(&kf);
	run_free(&r);
	return 1;
}

int cmd_live(int argc, char **argv)
{
	struct live_opts o = { .interval = 1, .fault_backend = -1 };
	struct argp argp = { live_options, live_parse, "[-- COMMAND [ARGS...]]", live_doc };

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	return run_live(&o);
}
