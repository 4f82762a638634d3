// SPDX-License-Identifier: GPL-2.0
/* Text report (dirty_log_perf_test's wording) and the JSON record the lab reads. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dirtylog.h"

static const char *secs(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%09llus", (unsigned long long)(ns / 1000000000ULL),
		 (unsigned long long)(ns % 1000000000ULL));
	return buf;
}

static FILE *txt;

static void print_stats(const struct dl_result *r, const struct dl_iter *it)
{
	bool any = false;

	for (int k = 0; k < DL_NSTATS; k++) {
		if (!r->have_stat[k])
			continue;
		fprintf(txt, "%s%s=%llu", any ? " " : "  KVM stats (sum over vCPUs): ", dl_stat_names[k],
		       (unsigned long long)it->stats[k]);
		any = true;
	}
	if (any)
		fputc('\n', txt);
}

static void print_iteration(const struct dl_vm *vm, const struct dl_result *r, int i)
{
	const struct dl_iter *it = &r->iter[i];
	char a[32], b[32];

	fprintf(txt, "Iteration %d dirty memory time: %s (slowest vCPU %s), %llu pages dirtied\n", i,
	       secs(it->dirty_ns, a, sizeof(a)), secs(it->vcpu_max_ns, b, sizeof(b)),
	       (unsigned long long)it->pages_dirtied);
	fprintf(txt, "Iteration %d get dirty log time: %s\n", i, secs(it->get_ns, a, sizeof(a)));
	if (vm->o->manual_protect)
		fprintf(txt, "Iteration %d clear dirty log time: %s\n", i, secs(it->clear_ns, a, sizeof(a)));
	print_stats(r, it);
}

static void print_total(const char *what, uint64_t total, int n)
{
	char a[32], b[32];

	fprintf(txt, "%s over %d iterations took %s. (Avg %s/iteration)\n", what, n,
	       secs(total, a, sizeof(a)), secs(total / (uint64_t)n, b, sizeof(b)));
}

void dl_report_text(const struct dl_vm *vm, const struct dl_result *r)
{
	/* With --json -, stdout is the JSON alone. */
	txt = vm->o->json_path && !strcmp(vm->o->json_path, "-") ? stderr : stdout;
	const struct dl_opts *o = vm->o;
	uint64_t dirty = 0, get = 0, clear = 0;
	char a[32];

	fprintf(txt, "kvm-dirtylog: %s, %d vCPU(s) x %llu MiB (%llu pages each), %s, manual protect %s\n",
	       dl_guest_arch, o->vcpus, (unsigned long long)(o->bytes_per_vcpu >> 20),
	       (unsigned long long)(o->bytes_per_vcpu / DL_GUEST_PAGE), dl_backing_name(o->backing),
	       o->manual_protect ? "on" : "off");
	fprintf(txt, "Populate memory time: %s\n", secs(r->populate_ns, a, sizeof(a)));
	fprintf(txt, "Enabling dirty logging time: %s\n", secs(r->enable_ns, a, sizeof(a)));
	for (int i = 1; i <= r->niter; i++) {
		if (!o->quiet)
			print_iteration(vm, r, i);
		dirty += r->iter[i].dirty_ns;
		get += r->iter[i].get_ns;
		clear += r->iter[i].clear_ns;
	}
	fprintf(txt, "Disabling dirty logging time: %s\n", secs(r->disable_ns, a, sizeof(a)));
	print_total("Dirty memory time", dirty, r->niter);
	print_total("Get dirty log", get, r->niter);
	if (o->manual_protect)
		print_total("Clear dirty log", clear, r->niter);
	fprintf(txt, "Hardware virtualization check: %s\n", r->native_why);
}

static void json_stats(FILE *f, const struct dl_result *r, const struct dl_iter *it)
{
	bool first = true;

	fputs("\"kvm_stats\":{", f);
	for (int k = 0; k < DL_NSTATS; k++) {
		if (!r->have_stat[k])
			continue;
		fprintf(f, "%s\"%s\":%llu", first ? "" : ",", dl_stat_names[k],
			(unsigned long long)it->stats[k]);
		first = false;
	}
	fputc('}', f);
}

static void json_iter(FILE *f, const struct dl_result *r, int i, int vcpus)
{
	const struct dl_iter *it = &r->iter[i];

	fprintf(f, "{\"iteration\":%d,\"dirty_memory_ns\":%llu,\"vcpu_max_ns\":%llu,"
		"\"vcpu_avg_ns\":%llu,\"get_dirty_log_ns\":%llu,\"clear_dirty_log_ns\":%llu,"
		"\"pages_dirtied\":%llu,", i, (unsigned long long)it->dirty_ns,
		(unsigned long long)it->vcpu_max_ns,
		(unsigned long long)(it->vcpu_sum_ns / (uint64_t)vcpus),
		(unsigned long long)it->get_ns, (unsigned long long)it->clear_ns,
		(unsigned long long)it->pages_dirtied);
	json_stats(f, r, it);
	fputc('}', f);
}

static void json_summary(FILE *f, const struct dl_result *r)
{
	uint64_t dirty = 0, get = 0, clear = 0, pages = 0;

	for (int i = 1; i <= r->niter; i++) {
		dirty += r->iter[i].dirty_ns;
		get += r->iter[i].get_ns;
		clear += r->iter[i].clear_ns;
		pages += r->iter[i].pages_dirtied;
	}
	fprintf(f, "\"summary\":{\"dirty_memory_ns\":%llu,\"dirty_memory_avg_ns\":%llu,"
		"\"get_dirty_log_ns\":%llu,\"get_dirty_log_avg_ns\":%llu,"
		"\"clear_dirty_log_ns\":%llu,\"clear_dirty_log_avg_ns\":%llu,"
		"\"pages_dirtied\":%llu}", (unsigned long long)dirty,
		(unsigned long long)(dirty / (uint64_t)r->niter), (unsigned long long)get,
		(unsigned long long)(get / (uint64_t)r->niter), (unsigned long long)clear,
		(unsigned long long)(clear / (uint64_t)r->niter), (unsigned long long)pages);
}

static void json_write(FILE *f, const struct dl_vm *vm, const struct dl_result *r)
{
	const struct dl_opts *o = vm->o;

	fprintf(f, "{\"schema\":\"kvm-dirtylog/1\",\"arch\":\"%s\",\"config\":{\"vcpus\":%d,"
		"\"bytes_per_vcpu\":%llu,\"pages_per_vcpu\":%llu,\"page_size\":%llu,"
		"\"iterations\":%d,\"backing\":\"%s\",\"manual_protect\":%s,\"test_gpa\":%llu,"
		"\"memslots\":%d},",
		dl_guest_arch, o->vcpus, (unsigned long long)o->bytes_per_vcpu,
		(unsigned long long)(o->bytes_per_vcpu / DL_GUEST_PAGE),
		(unsigned long long)DL_GUEST_PAGE, o->iterations, dl_backing_name(o->backing),
		o->manual_protect ? "true" : "false", (unsigned long long)o->test_gpa, o->slots);
	fprintf(f, "\"pid\":%d,\"populate\":", (int)getpid());
	json_iter(f, r, 0, o->vcpus);
	fprintf(f, ",\"enable_dirty_log_ns\":%llu,\"disable_dirty_log_ns\":%llu,\"iterations\":[",
		(unsigned long long)r->enable_ns, (unsigned long long)r->disable_ns);
	for (int i = 1; i <= r->niter; i++) {
		if (i > 1)
			fputc(',', f);
		json_iter(f, r, i, o->vcpus);
	}
	fputs("],", f);
	json_summary(f, r);
	fprintf(f, ",\"native_check\":\"%s\"}\n", r->native_why);
}

int dl_report_json(const struct dl_vm *vm, const struct dl_result *r, const char *path)
{
	bool to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "w");

	if (!f)
		return dl_err("--json %s: %s", path, strerror(errno));
	json_write(f, vm, r);
	if (to_stdout)
		return fflush(f) ? dl_err("--json: write error") : 0;
	return fclose(f) ? dl_err("--json %s: %s", path, strerror(errno)) : 0;
}
