// SPDX-License-Identifier: GPL-2.0
/*
 * tpcount: the floor of the guest-overhead benchmark.  It counts fault-path
 * events the cheapest way the kernel offers, perf counters with no BPF and
 * no record written (what `perf stat -a -e` does), around a command:
 *
 *   tpcount [-e SPEC]... -- COMMAND [ARGS...]
 *     tp:GROUP/EVENT   a tracepoint
 *     func:FUNCTION    ftrace's function event filtered to FUNCTION: an
 *                      ftrace call site, no breakpoint
 *     kprobe:FUNCTION  a kprobe event on FUNCTION: the breakpoint trap
 *                      a kprobe costs, without a BPF program behind it
 *
 * Prints "tpcount: SPEC COUNT" per event and exits with COMMAND's status.
 * The lab has no perf binary, and perf cannot count the function event per
 * function; this is a benchmark tool, not part of kvmlockstat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"
#define MAX_SPECS 8
#define MAX_CPUS 64

struct spec {
	const char *text;
	char event[128];	/* GROUP/EVENT under TRACEFS/events */
	char filter[160];	/* perf filter, func: only */
	int kprobe;		/* a kprobe event of ours, removed at exit */
	int fd[MAX_CPUS];
};

static struct spec specs[MAX_SPECS];
static int nr_specs, nr_cpus;

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

static void remove_kprobes(void)
{
	char line[sizeof(specs[0].event) + 4];

	for (int i = 0; i < nr_specs; i++) {
		if (!specs[i].kprobe)
			continue;
		snprintf(line, sizeof(line), "-:%s\n", specs[i].event);
		write_file(TRACEFS "/kprobe_events", line);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "tpcount: %s: %s\n", what, strerror(errno));
	remove_kprobes();
	exit(1);
}

/* Bad input: exit 2, leaving no kprobe event of an earlier -e behind. */
static void bad_input(const char *text, const char *why)
{
	fprintf(stderr, "tpcount: '%s': %s\n", text, why);
	remove_kprobes();
	exit(2);
}

static void parse_spec(struct spec *s, const char *text, int n)
{
	const char *arg = strchr(text, ':');
	char line[192];

	s->text = text;
	if (!arg || !arg[1])
		bad_input(text, "tp:GROUP/EVENT, func:FUNCTION or kprobe:FUNCTION");
	arg++;
	if (!strncmp(text, "tp:", 3)) {
		snprintf(s->event, sizeof(s->event), "%s", arg);
	} else if (!strncmp(text, "func:", 5)) {
		snprintf(s->event, sizeof(s->event), "ftrace/function");
		snprintf(s->filter, sizeof(s->filter), "ip == %s", arg);
	} else if (!strncmp(text, "kprobe:", 7)) {
		snprintf(s->event, sizeof(s->event), "kprobes/tpcount_%d_%d", getpid(), n);
		snprintf(line, sizeof(line), "p:%s %s\n", s->event, arg);
		if (write_file(TRACEFS "/kprobe_events", line))
			die(line);
		s->kprobe = 1;
	} else {
		bad_input(text, "unknown kind");
	}
}

static long event_id(const struct spec *s)
{
	char path[256];
	FILE *f;
	long id = -1;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/id", s->event);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%ld", &id) != 1)
		die(path);
	fclose(f);
	return id;
}

/* One counter per CPU, system-wide, created disabled so the filter is in place first. */
static void open_counters(struct spec *s)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr),
		.config = event_id(s), .disabled = 1,
	};

	for (int cpu = 0; cpu < nr_cpus; cpu++) {
		s->fd[cpu] = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (s->fd[cpu] < 0)
			die(s->text);
		if (s->filter[0] && ioctl(s->fd[cpu], PERF_EVENT_IOC_SET_FILTER, s->filter))
			die(s->filter);
	}
}

static void enable_all(unsigned long req)
{
	for (int i = 0; i < nr_specs; i++)
		for (int cpu = 0; cpu < nr_cpus; cpu++)
			ioctl(specs[i].fd[cpu], req, 0);
}

static uint64_t total(const struct spec *s)
{
	uint64_t sum = 0, v;

	for (int cpu = 0; cpu < nr_cpus; cpu++)
		if (read(s->fd[cpu], &v, sizeof(v)) == sizeof(v))
			sum += v;
	return sum;
}

int main(int argc, char **argv)
{
	int opt, status;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+e:")) != -1) {
		if (opt != 'e' || nr_specs == MAX_SPECS)
			bad_input(opt == 'e' ? optarg : "?",
				  "usage: tpcount [-e SPEC]... -- COMMAND [ARGS...] (at most 8 SPECs)");
		parse_spec(&specs[nr_specs], optarg, nr_specs);
		nr_specs++;
	}
	if (optind >= argc)
		bad_input("--", "no command");
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (nr_cpus > MAX_CPUS)
		nr_cpus = MAX_CPUS;
	for (int i = 0; i < nr_specs; i++)
		open_counters(&specs[i]);
	enable_all(PERF_EVENT_IOC_ENABLE);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "tpcount: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	enable_all(PERF_EVENT_IOC_DISABLE);
	for (int i = 0; i < nr_specs; i++)
		printf("tpcount: %s %llu\n", specs[i].text, (unsigned long long)total(&specs[i]));
	for (int i = 0; i < nr_specs; i++)
		for (int cpu = 0; cpu < nr_cpus; cpu++)
			close(specs[i].fd[cpu]);
	remove_kprobes();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
