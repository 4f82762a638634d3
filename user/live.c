// SPDX-License-Identifier: GPL-2.0
/*
 * The live run: attach, drain every interval into the run model, print
 * the interval table, and on the end of the run (duration, Ctrl-C,
 * SIGTERM, or the traced command's exit) detach, summarise and write
 * the record.  The report subcommand re-renders a record.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "attach.h"
#include "child.h"
#include "collect.h"
#include "fault.h"
#include "export.h"
#include "ksyms.h"
#include "kvmstats.h"
#include "live.h"
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
	struct export_opts out;
	const char *timeline;		/* --timeline CSV */
	char **command;
};

enum { OPT_BACKEND = 0x100, OPT_PERF_DATA, OPT_FOLDED, OPT_LOCK_FUNCTIONS, OPT_TIMELINE,
       OPT_PROG_STATS, OPT_FAULT_LATENCY, OPT_FAULT_TYPES };

static const struct argp_option live_options[] = {
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process (must hold a KVM VM fd)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C, SIGTERM or COMMAND's exit)", 0 },
	{ "interval", 'i', "SECONDS", 0, "Live table every SECONDS (default 1; 0: summary only)", 0 },
	{ "all-locks", 'a', NULL, 0, "Show every contended lock, not only KVM mmu_locks", 0 },
	{ "json", 'j', "FILE", 0, "Write the run as a JSON record (schema kvmlockstat-run/1)", 0 },
	{ "perf-data", OPT_PERF_DATA, "FILE", 0, "Write contended call chains as perf.data (perf report -i FILE)", 0 },
	{ "folded", OPT_FOLDED, "FILE", 0, "Write folded stacks (comm;frame;...;frame wait_ns) for flame graphs", 0 },
	{ "timeline", OPT_TIMELINE, "FILE", 0, "Write one CSV row per interval (-i) per VM: faults, "
	  "fast path, mmu_lock waits by mode and writer path, dirty-log ioctls; also in -j's record", 0 },
	{ "lock-functions", OPT_LOCK_FUNCTIONS, NULL, 0, "Also probe _raw_{read,write}_{lock,unlock} "
	  "(out of line on x86): exact mmu_lock hold and acquisition times, at a cost on every "
	  "rwlock in the kernel (x86 lab: 1.11x the untraced time, against 1.05x without; "
	  "arm64 inlines them: no cost there); without it hold time comes from the critical "
	  "sections", 0 },
	{ "backend", OPT_BACKEND, "NAME", 0, "Force a probe backend; repeat for both families. "
	  "Lock contention: tp_btf|raw_tp. Faults: auto|fentry|kprobe|tracepoint "
	  "(auto: fentry, else kprobe, else tracepoints)", 0 },
	{ "fault-latency", OPT_FAULT_LATENCY, NULL, 0, "Also time every fault (latency "
	  "mean/p50/p99/max and histogram) and, on arm64, each relax_perms and stage2_map "
	  "section under mmu_lock: an exit probe on every fault (make bench: x86 lab 1.70x the "
	  "untraced time against 1.04x by default; arm64 lab, instructions: 2.90x against 1.61x "
	  "on 6.1's kprobes, 1.87x against 1.18x on 6.12's fentry)", 0 },
	{ "fault-types", OPT_FAULT_TYPES, NULL, 0, "Count each fault with a probe, split by type "
	  "(translation, permission, access flag, other) with the fast-path hit rate over "
	  "permission faults (arm64: and the vCPU id). Without it, where KVM counts faults "
	  "itself (x86: pf_taken, pf_fast), kvmlockstat reads KVM's counters, which costs the "
	  "guest nothing; a probe per fault costs 1.18x the untraced time (x86 lab, against 1.04x; "
	  "arm64 lab, instructions: 1.98x against 1.61x on 6.1, 1.27x against 1.18x on 6.12)", 0 },
	{ "prog-stats", OPT_PROG_STATS, NULL, 0, "At the end, print each BPF program's run count "
	  "and run time (kernel BPF stats, switched on for the run) and kvmlockstat's own CPU "
	  "time and RSS on stderr: what each probe costs", 0 },
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

int parse_seconds(const char *arg, const char *what, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(*out) || *out < 0 || *out > 31536000) {
		fprintf(stderr, "kvmlockstat: invalid %s '%s': expected seconds >= 0\n", what, arg);
		return EINVAL;
	}
	return 0;
}

int parse_pid(const char *arg, uint32_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "kvmlockstat: invalid PID '%s'\n", arg);
		return EINVAL;
	}
	*pid = v;
	return 0;
}

static error_t live_parse(int key, char *arg, struct argp_state *state)
{
	struct live_opts *o = state->input;

	switch (key) {
	case 'p': return parse_pid(arg, &o->pid);
	case 'd': return parse_seconds(arg, "duration", &o->duration);
	case 'i': return parse_seconds(arg, "interval", &o->interval);
	case 'a': o->all_locks = true; return 0;
	case 'j': o->out.json = arg; return export_check_path(arg) ? EINVAL : 0;
	case OPT_PERF_DATA: o->out.perf_data = arg; return export_check_path(arg) ? EINVAL : 0;
	case OPT_FOLDED: o->out.folded = arg; return export_check_path(arg) ? EINVAL : 0;
	case OPT_TIMELINE: o->timeline = arg; return export_check_path(arg) ? EINVAL : 0;
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void describe_host(struct run *r, const struct live_opts *o)
{
	struct utsname u;
	time_t t = time(NULL);

	uname(&u);
	snprintf(r->hostname, sizeof(r->hostname), "%s", u.nodename);
	snprintf(r->kernel, sizeof(r->kernel), "%s", u.release);
	snprintf(r->arch, sizeof(r->arch), "%s", u.machine);
	snprintf(r->version, sizeof(r->version), "%s", KVMLOCKSTAT_VERSION);
	r->ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	strftime(r->start, sizeof(r->start), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
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

/* Consumer of each drained interval (the timeline); fn NULL: none. */
struct interval_sink {
	int (*fn)(void *ctx, const struct run *delta, struct run *total,
		  const struct interval_span *iv);
	void *ctx;
};

/* The run's clock: interval boundaries in monotonic ns, the start in unix time. */
struct run_clock {
	uint64_t start, last;
	double unix_start;
};

static void clock_start(struct run_clock *rc)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc->start = rc->last = now_ns();
	rc->unix_start = ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The interval from the last boundary to now, which becomes the last. */
static struct interval_span clock_span(struct run_clock *rc, uint64_t now)
{
	struct interval_span iv = { (rc->last - rc->start) / 1e9, (now - rc->start) / 1e9 };

	iv.unix_start = rc->unix_start + iv.t_start_s;
	rc->last = now;
	return iv;
}

/* One interval: drain, merge, refresh identities, hand to the sink, maybe print. */
static int tick(struct collector *c, struct run *total, bool print,
		const struct interval_span *iv, const struct interval_sink *sink)
{
	struct run delta;
	int err;

	run_init(&delta);
	delta.interval_s = iv->t_end_s - iv->t_start_s;
	delta.all_locks = total->all_locks;
	err = collect_drain(c, &delta);
	run_stamp_stacks(&delta, iv->t_end_s * 1e9);	/* perf.data's sample times */
	if (!err)
		err = run_merge(total, &delta);
	if (!err)
		vmid_annotate(total, c->only_pid);
	if (!err && sink->fn)
		err = sink->fn(sink->ctx, &delta, total, iv);
	if (!err && print)
		table_interval(stdout, &delta, total);
	run_free(&delta);
	return err;
}

/* Runs until the duration, a signal or the command's end. */
static int trace_loop(struct collector *c, struct run *r, const struct live_opts *o,
		      struct child *ch, struct run_clock *rc, const struct interval_sink *sink)
{
	const uint64_t start = rc->start, step = 100 * 1000 * 1000;
	uint64_t period = (o->interval ? o->interval : 1.0) * 1e9, next = start + period;
	uint64_t deadline = o->duration ? start + (uint64_t)(o->duration * 1e9) : UINT64_MAX;
	struct timespec nap = { 0, step };
	int err = 0;

	while (!stop_signal && !err) {
		uint64_t now = now_ns();

		if (now >= deadline || (ch->pid && child_poll(ch)))
			break;
		if (o->pid && process_gone(o->pid)) {
			fprintf(stderr, "kvmlockstat: process %u exited: the run ends with it\n", o->pid);
			break;
		}
		if (now >= next) {
			struct interval_span iv = clock_span(rc, now);

			err = tick(c, r, o->interval > 0, &iv, sink);
			next += period;
			continue;
		}
		/* A new vCPU's counters are taken while its VMM lives: an exit leaves none. */
		kvmstats_poll(c->stats, false);
		nanosleep(&nap, NULL);
	}
	r->duration_ns = now_ns() - start;
	return err;
}

static int finish(struct collector *c, struct run *r, const struct live_opts *o,
		  const struct ksyms *k, struct run_clock *rc, const struct interval_sink *sink)
{
	struct interval_span iv = clock_span(rc, rc->start + r->duration_ns);
	int err = tick(c, r, false, &iv, sink);

	table_summary(stdout, r);
	return export_run(r, &o->out, k) || err;
}

static int timeline_sink(void *tl, const struct run *delta, struct run *total,
			 const struct interval_span *iv)
{
	return timeline_interval(tl, delta, total, iv);
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
	struct attach_opts ao = { .all_locks = o->all_locks, .target_tgid = o->pid,
				  .backend = o->backend, .verbose = o->verbose };
	struct collector c = { .only_pid = o->pid, .all_locks = o->all_locks };
	struct fault_opts fo = { .backend = o->fault_backend, .target_tgid = o->pid,
				 .lock_functions = o->lock_functions, .fault_latency = o->fault_latency,
				 .fault_types = o->fault_types };
	struct child ch = { .gate = -1 };
	struct interval_sink sink = {};
	struct timeline *tl = NULL;
	struct run_clock rc;
	struct run r;
	int err, stats_fd = -1;

	run_init(&r);
	describe_host(&r, o);
	attach_set_verbose(o->verbose);
	if (attach_preflight(&r) || (o->pid && check_target(o->pid)))
		return 1;
	if (o->command && child_runnable(o->command[0]))
		return 127;	/* as a shell says "not found", before any probe is on */
	if (o->timeline && !(tl = timeline_open(o->timeline)))
		return 1;
	sink = (struct interval_sink){ tl ? timeline_sink : NULL, tl };
	install_signals();
	if (o->prog_stats)
		stats_fd = progstats_enable();
	if (o->command && (err = child_start(&ch, o->command))) {
		fprintf(stderr, "kvmlockstat: cannot start %s: %s\n", o->command[0], strerror(-err));
		timeline_close(tl, false);
		return 1;
	}
	if (attach_families(&c, &ao, &fo, &r)) {
		child_stop(&ch, SIGKILL, 0);
		timeline_close(tl, false);
		run_free(&r);
		return 1;
	}
	fprintf(stderr, "kvmlockstat: tracing mmu_lock contention (%s)%s\n", r.backend,
		o->duration ? "" : ", Ctrl-C to stop");
	if (o->command) {
		kvmstats_watch(c.stats, ch.pid);	/* its vCPUs from their creation on */
		child_release(&ch);
	}
	clock_start(&rc);
	err = trace_loop(&c, &r, o, &ch, &rc, &sink);
	if (stop_signal && o->command)
		child_stop(&ch, stop_signal, 5000);
	else if (o->command)
		child_stop(&ch, SIGTERM, 5000);	/* duration ended first */
	r.exit_status = o->command ? ch.status : -1;
	err = finish(&c, &r, o, c.ksyms, &rc, &sink) || err;
	err = timeline_close(tl, true) || err;
	if (o->prog_stats)
		progstats_print(stderr, stats_fd, r.duration_ns / 1e9);
	detach_families(&c);
	run_free(&r);
	/* A run stopped on purpose succeeded; otherwise the command's failure is ours. */
	if (!err && o->command && ch.status && !stop_signal)
		return ch.status;
	return err ? 1 : 0;
}

int cmd_live(int argc, char **argv)
{
	struct live_opts o = { .interval = 1, .fault_backend = -1 };
	struct argp argp = { live_options, live_parse, "[-- COMMAND [ARGS...]]", live_doc };

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	return run_live(&o);
}

/* ---- report ---- */

static error_t report_parse(int key, char *arg, struct argp_state *state)
{
	const char **path = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (*path)
			argp_error(state, "one record at a time");
		*path = arg;
		return 0;
	case ARGP_KEY_END:
		if (!*path)
			argp_error(state, "which record? usage: kvmlockstat report RUN.json");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct argp_option none[] = { {} };
	struct argp argp = { none, report_parse, "RUN.json",
			     "Re-render a run recorded with --json." };
	const char *path = NULL;
	char err[512];
	struct run r;

	if (argp_parse(&argp, argc, argv, 0, NULL, &path))
		return 2;
	if (record_read(path, &r, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat: %s\n", err);
		return 1;
	}
	table_summary(stdout, &r);
	timeline_summary(stdout, &r);
	run_free(&r);
	return 0;
}
