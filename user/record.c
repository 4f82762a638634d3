// SPDX-License-Identifier: GPL-2.0
/*
 * JSON record through json-c.  Kernel pointers and lock addresses are hex
 * strings ("0xffff..."), as perf and /proc/kallsyms print them, so they
 * match other tools and survive readers that parse numbers as doubles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json.h>
#include "atomic_write.h"
#include "ksyms.h"
#include "record.h"
#include "timeline.h"

/* ---- writing ---- */

static json_object *hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static void put(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *stat_json(const struct wait_stat *s)
{
	json_object *o = json_object_new_object(), *h;

	put(o, "count", u64(s->count));
	put(o, "wait_ns", u64(s->total_ns));
	put(o, "min_ns", u64(s->min_ns));
	put(o, "max_ns", u64(s->max_ns));
	put(o, "mean_ns", u64(wait_stat_mean(s)));
	put(o, "p50_ns", u64(wait_stat_percentile(s, 50)));
	put(o, "p99_ns", u64(wait_stat_percentile(s, 99)));
	if (!s->count)
		return o;
	h = json_object_new_array();
	for (int i = 0; i < MAX_SLOTS; i++)
		json_object_array_add(h, u64(s->hist[i]));
	put(o, "hist_log2_ns", h);
	return o;
}

/* read/write/spin always present (readers can rely on them), others when used. */
static json_object *modes_json(const struct wait_stat mode[NR_MODES])
{
	json_object *o = json_object_new_object();
	struct wait_stat all;

	for (int m = 0; m < NR_MODES; m++)
		if (m <= MODE_SPIN || mode[m].count)
			put(o, mode_names[m], stat_json(&mode[m]));
	wait_stat_sum_modes(&all, mode);
	put(o, "total", stat_json(&all));
	return o;
}

static json_object *stack_json(const struct stack_rec *s, const struct ksyms *k)
{
	json_object *o = json_object_new_object(), *ips = json_object_new_array();
	json_object *syms = k ? json_object_new_array() : NULL;

	put(o, "tid", u64(s->tid));
	put(o, "mode", json_object_new_string(mode_names[s->mode < NR_MODES ? s->mode : MODE_OTHER]));
	put(o, "count", u64(s->count));
	put(o, "wait_ns", u64(s->total_ns));
	put(o, "last_ns", u64(s->last_ns));
	put(o, "path", json_object_new_string(wait_path_names[s->path < NR_WAIT_PATHS ?
							      s->path : WP_OTHER]));
	for (uint32_t i = 0; i < s->nr_ips; i++) {
		uint64_t off;
		const char *name = k ? ksyms_name(k, s->ips[i], &off) : NULL;
		char buf[160];

		json_object_array_add(ips, hex(s->ips[i]));
		if (!syms)
			continue;
		if (name)
			snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, name, off);
		else
			snprintf(buf, sizeof(buf), "0x%" PRIx64, s->ips[i]);
		json_object_array_add(syms, json_object_new_string(buf));
	}
	put(o, "ips", ips);
	if (syms)
		put(o, "syms", syms);
	return o;
}

static json_object *task_json(const struct task_rec *t)
{
	json_object *o = json_object_new_object();

	put(o, "tid", u64(t->tid));
	put(o, "pid", u64(t->tgid));
	put(o, "comm", json_object_new_string(t->comm));
	put(o, "in_vmm", json_object_new_boolean(t->in_vmm));
	put(o, "contention", modes_json(t->mode));
	return o;
}

static json_object *lock_json(const struct lock_rec *l, const struct ksyms *k)
{
	json_object *o = json_object_new_object(), *a;

	put(o, "addr", hex(l->addr));
	put(o, "name", json_object_new_string(l->name));
	put(o, "kvm", l->kvm ? hex(l->kvm) : NULL);
	/* Another lock of a VM's struct kvm (named by its field): that VM's kvm. */
	put(o, "in_kvm", l->in_kvm ? hex(l->in_kvm) : NULL);
	put(o, "contention", modes_json(l->mode));
	a = json_object_new_array();
	for (size_t i = 0; i < l->nr_tasks; i++)
		json_object_array_add(a, task_json(&l->tasks[i]));
	put(o, "tasks", a);
	a = json_object_new_array();
	for (size_t i = 0; i < l->nr_stacks; i++)
		json_object_array_add(a, stack_json(&l->stacks[i], k));
	put(o, "stacks", a);
	return o;
}

/* Fault counts, latency by type, resolutions and the derived hit rate. */
static json_object *faults_json(const struct vcpu_rec *c)
{
	json_object *o = json_object_new_object(), *x = json_object_new_object();
	struct wait_stat all = {};
	double hit = fault_hit_rate(c);

	for (int t = 0; t < NR_FAULT_TYPES; t++) {
		put(x, fault_type_names[t], stat_json(&c->fault[t]));
		wait_stat_merge(&all, &c->fault[t]);
	}
	put(o, "by_type", x);
	all.count = fault_count(c);	/* KVM's count where no fault was probed */
	put(o, "total", stat_json(&all));
	x = json_object_new_object();
	for (int p = 0; p < NR_FAULT_PATHS; p++)
		put(x, fault_path_names[p], u64(c->path[p]));
	put(o, "paths", x);
	x = json_object_new_object();
	for (int k = 0; k < NR_KVM_COUNTERS; k++)
		put(x, kvm_counter_names[k], u64(c->kvm[k]));
	put(o, "kvm", x);
	put(o, "fast_path_hit_rate", hit < 0 ? NULL : json_object_new_double(hit));
	return o;
}

/* Durations by mode, only those that were seen. */
static json_object *timings_json(const struct vm_rec *v)
{
	json_object *o = json_object_new_object();

	for (int t = 0; t < NR_VM_TIMINGS; t++) {
		json_object *x = NULL;

		for (int m = 0; m < NR_MODES; m++) {
			if (!v->timing[t][m].count)
				continue;
			if (!x)
				x = json_object_new_object();
			put(x, mode_names[m], stat_json(&v->timing[t][m]));
		}
		if (x)
			put(o, vm_timing_names[t], x);
	}
	return o;
}

static json_object *hold_json(const struct vm_rec *v)
{
	json_object *o = json_object_new_object();
	const char *src = "";

	for (int m = 0; m <= MODE_SPIN; m++) {
		struct wait_stat h;

		src = vm_hold(v, m, &h);
		put(o, mode_names[m], stat_json(&h));
	}
	put(o, "source", json_object_new_string(src));
	return o;
}

static json_object *vcpus_json(const struct vm_rec *v)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < v->nr_vcpu_recs; i++) {
		json_object *o = json_object_new_object();

		put(o, "tid", u64(v->vcpus[i].tid));
		put(o, "vcpu_id", json_object_new_int(v->vcpus[i].vcpu_id));
		put(o, "faults", faults_json(&v->vcpus[i]));
		json_object_array_add(a, o);
	}
	return a;
}

/* mmu_lock waits by the path the waiter was on (user/waitpath.c). */
static json_object *wait_paths_json(const struct lock_rec *l)
{
	json_object *o = json_object_new_object();
	struct count_ns p[NR_WAIT_PATHS];

	lock_wait_paths(l, p);
	for (int i = 0; i < NR_WAIT_PATHS; i++) {
		json_object *x = json_object_new_object();

		put(x, "count", u64(p[i].count));
		put(x, "wait_ns", u64(p[i].total_ns));
		put(o, wait_path_names[i], x);
	}
	return o;
}

/* One timeline row: the CSV's columns as keys. */
static json_object *timeline_row_json(const struct timeline_row *row)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < nr_timeline_cols; i++) {
		const struct timeline_col *col = &timeline_cols[i];
		const void *p = (const char *)row + col->off;
		json_object *v = NULL;
		char buf[64];

		if (row->unmeasured & col->needs) {
			put(o, col->name, NULL);	/* not measured: null, not 0 */
			continue;
		}
		switch (col->kind) {
		case TC_U32: v = u64(*(const uint32_t *)p); break;
		case TC_U64: v = u64(*(const uint64_t *)p); break;
		case TC_HEX: v = hex(*(const uint64_t *)p); break;
		case TC_SECONDS:
		case TC_SHARE:
			if (*(const double *)p >= 0) {
				timeline_format(col, row, buf, sizeof(buf));
				v = json_object_new_double_s(*(const double *)p, buf);
			}
			break;
		case TC_COMM:
			timeline_format(col, row, buf, sizeof(buf));
			v = json_object_new_string(buf);
			break;
		}
		put(o, col->name, v);
	}
	return o;
}

static bool any_timing(const struct vm_rec *v)
{
	for (int t = 0; t < NR_VM_TIMINGS; t++)
		for (int m = 0; m < NR_MODES; m++)
			if (v->timing[t][m].count)
				return true;
	return false;
}

static json_object *vm_json(const struct run *r, const struct vm_rec *v)
{
	json_object *o = json_object_new_object();
	const struct lock_rec *l = vm_lock(r, v);
	struct wait_stat none[NR_MODES] = {};

	put(o, "pid", u64(v->pid));
	put(o, "comm", json_object_new_string(v->comm));
	put(o, "kvm", v->kvm ? hex(v->kvm) : NULL);
	put(o, "mmu_lock", v->mmu_lock ? hex(v->mmu_lock) : NULL);
	put(o, "nr_vcpus", json_object_new_int(v->nr_vcpus));
	put(o, "contention", modes_json(l ? l->mode : none));
	put(o, "wait_paths", wait_paths_json(l));
	if (v->nr_vcpu_recs || any_timing(v)) {
		struct vcpu_rec all;

		vm_fault_totals(v, &all);
		put(o, "faults", faults_json(&all));
		put(o, "hold", hold_json(v));
		put(o, "timings", timings_json(v));
		put(o, "vcpus", vcpus_json(v));
	}
	return o;
}

/* Which backend gave each metric; null for a metric not measured. */
static json_object *backends_json(const struct run *r)
{
	json_object *o = json_object_new_object();

	put(o, "lock_contention", json_object_new_string(r->backend));
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		put(o, fault_metric_names[m], r->metric_backend[m][0] ?
		    json_object_new_string(r->metric_backend[m]) : NULL);
	put(o, "mmu_lock_hold_source", r->hold_source[0] ?
	    json_object_new_string(r->hold_source) : NULL);
	return o;
}

/* --prog-stats: an optional field, absent from runs without it. */
static json_object *prog_stats_json(const struct prog_stats *ps)
{
	json_object *o = json_object_new_object(), *progs = json_object_new_array(), *self;

	put(o, "seconds", json_object_new_double(ps->seconds));
	for (size_t i = 0; i < ps->nr_progs; i++) {
		json_object *p = json_object_new_object();

		put(p, "name", json_object_new_string(ps->progs[i].name));
		put(p, "run_cnt", u64(ps->progs[i].run_cnt));
		put(p, "run_time_ns", u64(ps->progs[i].run_time_ns));
		put(p, "recursion_misses", u64(ps->progs[i].recursion_misses));
		json_object_array_add(progs, p);
	}
	put(o, "programs", progs);
	self = json_object_new_object();
	put(self, "user_s", json_object_new_double(ps->user_s));
	put(self, "sys_s", json_object_new_double(ps->sys_s));
	put(self, "maxrss_kb", u64(ps->maxrss_kb));
	put(o, "self", self);
	return o;
}

static json_object *run_json(const struct run *r, const struct ksyms *k)
{
	json_object *o = json_object_new_object(), *x;

	put(o, "schema", json_object_new_string(r->schema));
	put(o, "version", json_object_new_string(r->version));
	x = json_object_new_object();
	put(x, "hostname", json_object_new_string(r->hostname));
	put(x, "kernel", json_object_new_string(r->kernel));
	put(x, "arch", json_object_new_string(r->arch));
	put(x, "ncpus", json_object_new_int(r->ncpus));
	put(o, "host", x);
	x = json_object_new_object();
	put(x, "start", json_object_new_string(r->start));
	put(x, "duration_ns", u64(r->duration_ns));
	put(x, "interval_s", json_object_new_double(r->interval_s));
	put(x, "all_locks", json_object_new_boolean(r->all_locks));
	put(x, "target_pid", u64(r->target_pid));
	put(x, "command", json_object_new_string(r->command));
	put(x, "exit_status", json_object_new_int(r->exit_status));
	put(x, "backend", json_object_new_string(r->backend));
	put(o, "run", x);
	x = json_object_new_array();
	for (size_t i = 0; i < r->nr_missing; i++) {
		json_object *m = json_object_new_object();

		put(m, "what", json_object_new_string(r->missing[i].what));
		put(m, "why", json_object_new_string(r->missing[i].why));
		json_object_array_add(x, m);
	}
	put(o, "missing", x);
	put(o, "backends", backends_json(r));
	x = json_object_new_object();
	for (int d = 0; d < NR_DROPS; d++)
		put(x, drop_names[d], u64(r->drops[d]));
	put(o, "drops", x);
	x = json_object_new_array();
	for (size_t i = 0; i < r->nr_vms; i++)
		json_object_array_add(x, vm_json(r, &r->vms[i]));
	put(o, "vms", x);
	x = json_object_new_array();
	for (size_t i = 0; i < r->nr_locks; i++)
		json_object_array_add(x, lock_json(&r->locks[i], k));
	put(o, "locks", x);
	if (r->prog_stats.seconds > 0)
		put(o, "prog_stats", prog_stats_json(&r->prog_stats));
	if (!r->nr_timeline)
		return o;
	x = json_object_new_array();
	for (size_t i = 0; i < r->nr_timeline; i++)
		json_object_array_add(x, timeline_row_json(&r->timeline[i]));
	put(o, "timeline", x);
	return o;
}

int record_write(const char *path, const struct run *r, const struct ksyms *k)
{
	json_object *o = run_json(r, k);
	const char *text;
	int err;

	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	err = text ? atomic_write_file(path, text, strlen(text), 0644) : -ENOMEM;
	json_object_put(o);
	return err;
}

/* ---- reading: every field checked, errors name the file and the field ---- */

struct rd {
	const char *file;
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct rd *c, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (c->failed++)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: field '%s': %s", c->file, path, msg);
	return -EINVAL;
}

static json_object *field(struct rd *c, json_object *o, const char *path, const char *key,
			  json_type type, bool required)
{
	json_object *v;
	char full[192];

	snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", key);
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			fail(c, full, "missing");
		return NULL;
	}
	/* Integers are accepted where doubles are expected. */
	if (!json_object_is_type(v, type) &&
	    !(type == json_type_double && json_object_is_type(v, json_type_int))) {
		fail(c, full, "expected %s, found %s", json_type_to_name(type),
		     json_type_to_name(json_object_get_type(v)));
		return NULL;
	}
	return v;
}

static uint64_t get_u64(struct rd *c, json_object *o, const char *path, const char *key,
		       bool required)
{
	json_object *v = field(c, o, path, key, json_type_int, required);
	char full[192];

	if (!v)
		return 0;
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) <= INT64_MAX) {
		snprintf(full, sizeof(full), "%s.%s", path, key);
		fail(c, full, "negative");
		return 0;
	}
	return json_object_get_uint64(v);
}

static void get_str(struct rd *c, json_object *o, const char *path, const char *key,
		    char *buf, size_t len, bool required)
{
	json_object *v = field(c, o, path, key, json_type_string, required);

	snprintf(buf, len, "%s", v ? json_object_get_string(v) : "");
}

/* A hex string like "0xffff8881..."; full names the field in errors. */
static uint64_t parse_hex(struct rd *c, json_object *v, const char *full)
{
	const char *s = json_object_get_string(v);
	char *end;
	uint64_t x;

	if (!json_object_is_type(v, json_type_string)) {
		fail(c, full, "expected a hex string, found %s",
		     json_type_to_name(json_object_get_type(v)));
		return 0;
	}
	errno = 0;
	x = strtoull(s, &end, 16);
	if (strncmp(s, "0x", 2) || *end || errno)
		fail(c, full, "expected a hex string like \"0xffff8881...\", found \"%.40s\"", s);
	return x;
}

/* Hex string or null (an unknown pointer). */
static uint64_t get_hex(struct rd *c, json_object *o, const char *path, const char *key)
{
	json_object *v = field(c, o, path, key, json_type_string, false);
	char full[192];

	snprintf(full, sizeof(full), "%s%s%s", path, *path ? "." : "", key);
	return v ? parse_hex(c, v, full) : 0;
}

static void read_stat(struct rd *c, json_object *o, const char *path, struct wait_stat *s)
{
	json_object *h = field(c, o, path, "hist_log2_ns", json_type_array, false);

	s->count = get_u64(c, o, path, "count", true);
	s->total_ns = get_u64(c, o, path, "wait_ns", true);
	s->min_ns = get_u64(c, o, path, "min_ns", false);
	s->max_ns = get_u64(c, o, path, "max_ns", false);
	if (!h)
		return;
	if (json_object_array_length(h) != MAX_SLOTS) {
		char full[192];

		snprintf(full, sizeof(full), "%s.hist_log2_ns", path);
		fail(c, full, "expected %d slots, found %zu", MAX_SLOTS, json_object_array_length(h));
		return;
	}
	for (int i = 0; i < MAX_SLOTS; i++)
		s->hist[i] = json_object_get_uint64(json_object_array_get_idx(h, i));
}

static void read_modes(struct rd *c, json_object *o, const char *path, struct wait_stat mode[NR_MODES])
{
	json_object *m = field(c, o, path, "contention", json_type_object, true);
	char sub[192];

	for (int i = 0; m && i < NR_MODES; i++) {
		json_object *s = field(c, m, "", mode_names[i], json_type_object, false);

		snprintf(sub, sizeof(sub), "%s.contention.%s", path, mode_names[i]);
		if (s)
			read_stat(c, s, sub, &mode[i]);
	}
}

/* Calls fn for each element of the array o[key], with its path. */
static void each(struct rd *c, json_object *o, const char *path, const char *key, bool required,
		 void (*fn)(struct rd *, json_object *, const char *, void *), void *arg)
{
	json_object *a = field(c, o, path, key, json_type_array, required);
	char sub[192];

	for (size_t i = 0; a && i < json_object_array_length(a) && !c->failed; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		snprintf(sub, sizeof(sub), "%s%s%s[%zu]", path, *path ? "." : "", key, i);
		if (!json_object_is_type(e, json_type_object))
			fail(c, sub, "expected an object");
		else
			fn(c, e, sub, arg);
	}
}

static void read_task(struct rd *c, json_object *o, const char *path, void *arg)
{
	struct task_rec *t = lock_task(arg, get_u64(c, o, path, "tid", true));
	json_object *b;

	if (!t) {
		fail(c, path, "out of memory");
		return;
	}
	t->tgid = get_u64(c, o, path, "pid", true);
	get_str(c, o, path, "comm", t->comm, sizeof(t->comm), false);
	b = field(c, o, path, "in_vmm", json_type_boolean, false);
	t->in_vmm = b && json_object_get_boolean(b);
	read_modes(c, o, path, t->mode);
}

static void read_stack(struct rd *c, json_object *o, const char *path, void *arg)
{
	char mode[16];
	int m;
	struct stack_rec *s;
	json_object *ips = field(c, o, path, "ips", json_type_array, true);
	struct lock_rec *l = arg;

	get_str(c, o, path, "mode", mode, sizeof(mode), true);
	m = mode_from_name(mode);
	if (!c->failed && m < 0) {
		fail(c, path, "unknown mode \"%s\"", mode);
		return;
	}
	/* Stack ids do not survive a run: number the stacks as read. */
	s = lock_stack(l, (int32_t)l->nr_stacks, get_u64(c, o, path, "tid", true), m < 0 ? 0 : m);
	if (!s || !ips)
		return;
	s->count = get_u64(c, o, path, "count", true);
	s->total_ns = get_u64(c, o, path, "wait_ns", true);
	s->last_ns = get_u64(c, o, path, "last_ns", false);
	get_str(c, o, path, "path", mode, sizeof(mode), false);
	m = *mode ? name_index(wait_path_names, NR_WAIT_PATHS, mode) : WP_OTHER;
	if (m < 0)
		fail(c, path, "unknown path \"%s\"", mode);
	s->path = m < 0 ? WP_OTHER : m;
	for (size_t i = 0; i < json_object_array_length(ips) && i < MAX_STACK_DEPTH; i++) {
		char sub[200];

		snprintf(sub, sizeof(sub), "%s.ips[%zu]", path, i);
		s->ips[s->nr_ips++] = parse_hex(c, json_object_array_get_idx(ips, i), sub);
	}
}

static void read_lock(struct rd *c, json_object *o, const char *path, void *arg)
{
	struct run *r = arg;
	uint64_t addr = get_hex(c, o, path, "addr");
	struct lock_rec *l;

	if (c->failed)
		return;
	if (run_find_lock(r, addr)) {
		fail(c, path, "lock 0x%" PRIx64 " listed twice", addr);
		return;
	}
	l = run_lock(r, addr);
	if (!l) {
		fail(c, path, "out of memory");
		return;
	}
	l->kvm = get_hex(c, o, path, "kvm");
	l->in_kvm = get_hex(c, o, path, "in_kvm");
	get_str(c, o, path, "name", l->name, sizeof(l->name), false);
	read_modes(c, o, path, l->mode);
	each(c, o, path, "tasks", false, read_task, l);
	each(c, o, path, "stacks", false, read_stack, l);
}

/* A "faults" object into c; hit rate and totals are derived, not read. */
static void read_faults(struct rd *c, json_object *o, const char *path, struct vcpu_rec *vc)
{
	json_object *f = field(c, o, path, "faults", json_type_object, false), *x;
	char sub[224];

	if (!f)
		return;
	snprintf(sub, sizeof(sub), "%s.faults.by_type", path);
	x = field(c, f, sub, "by_type", json_type_object, true);
	for (int t = 0; x && t < NR_FAULT_TYPES; t++) {
		json_object *s = field(c, x, sub, fault_type_names[t], json_type_object, false);
		char st[256];

		snprintf(st, sizeof(st), "%s.%s", sub, fault_type_names[t]);
		if (s)
			read_stat(c, s, st, &vc->fault[t]);
	}
	snprintf(sub, sizeof(sub), "%s.faults.paths", path);
	x = field(c, f, sub, "paths", json_type_object, false);
	for (int p = 0; x && p < NR_FAULT_PATHS; p++)
		vc->path[p] = get_u64(c, x, sub, fault_path_names[p], false);
	snprintf(sub, sizeof(sub), "%s.faults.kvm", path);
	x = field(c, f, sub, "kvm", json_type_object, false);
	for (int k = 0; x && k < NR_KVM_COUNTERS; k++)
		vc->kvm[k] = get_u64(c, x, sub, kvm_counter_names[k], false);
}

static void read_vcpu(struct rd *c, json_object *o, const char *path, void *arg)
{
	json_object *id = field(c, o, path, "vcpu_id", json_type_int, true);
	struct vcpu_rec *vc = vm_vcpu(arg, get_u64(c, o, path, "tid", true),
				      id ? json_object_get_int(id) : -1);

	if (!vc) {
		fail(c, path, "out of memory");
		return;
	}
	read_faults(c, o, path, vc);
}

static void read_timings(struct rd *c, json_object *o, const char *path, struct vm_rec *v)
{
	json_object *x = field(c, o, path, "timings", json_type_object, false);

	if (!x)
		return;
	json_object_object_foreach(x, name, modes) {
		int t = name_index(vm_timing_names, NR_VM_TIMINGS, name);
		char sub[256];

		snprintf(sub, sizeof(sub), "%s.timings.%s", path, name);
		if (t < 0 || !json_object_is_type(modes, json_type_object)) {
			fail(c, sub, t < 0 ? "unknown timing" : "expected an object");
			return;
		}
		json_object_object_foreach(modes, mname, stat) {
			int m = mode_from_name(mname);
			char st[288];

			snprintf(st, sizeof(st), "%s.%s", sub, mname);
			if (m < 0 || !json_object_is_type(stat, json_type_object)) {
				fail(c, st, m < 0 ? "unknown mode" : "expected an object");
				return;
			}
			read_stat(c, stat, st, &v->timing[t][m]);
		}
	}
}

static void read_vm_faults(struct rd *c, json_object *o, const char *path, struct vm_rec *v)
{
	read_timings(c, o, path, v);
	each(c, o, path, "vcpus", false, read_vcpu, v);
}

static void read_vm(struct rd *c, json_object *o, const char *path, void *arg)
{
	struct run *r = arg;
	struct vm_rec *v = run_vm(r, get_u64(c, o, path, "pid", true), get_hex(c, o, path, "kvm"));
	json_object *n;

	if (!v) {
		fail(c, path, "out of memory");
		return;
	}
	v->mmu_lock = get_hex(c, o, path, "mmu_lock");
	get_str(c, o, path, "comm", v->comm, sizeof(v->comm), false);
	n = field(c, o, path, "nr_vcpus", json_type_int, false);
	v->nr_vcpus = n ? json_object_get_int(n) : -1;
	read_vm_faults(c, o, path, v);
}

static const json_type timeline_json_type[] = {
	[TC_U32] = json_type_int, [TC_U64] = json_type_int, [TC_SECONDS] = json_type_double,
	[TC_HEX] = json_type_string, [TC_COMM] = json_type_string, [TC_SHARE] = json_type_double,
};

/* A row: every column present (a null share is "not defined"), parsed as in the CSV. */
static void read_timeline_row(struct rd *c, json_object *o, const char *path, void *arg)
{
	struct run *r = arg;
	struct timeline_row *rows = realloc(r->timeline, (r->nr_timeline + 1) * sizeof(*rows));
	struct timeline_row *row;

	if (!rows) {
		fail(c, path, "out of memory");
		return;
	}
	r->timeline = rows;
	row = memset(&rows[r->nr_timeline++], 0, sizeof(*row));
	row->fast_path_share = -1;
	for (size_t i = 0; i < nr_timeline_cols && !c->failed; i++) {
		const struct timeline_col *col = &timeline_cols[i];
		json_object *v;
		char full[224];

		if (col->needs && col->kind != TC_SHARE && json_object_object_get_ex(o, col->name, &v) && !v) {
			row->unmeasured |= col->needs;
			continue;
		}
		v = field(c, o, path, col->name, timeline_json_type[col->kind],
			  col->kind != TC_SHARE && !col->since_0_2);
		snprintf(full, sizeof(full), "%s.%s", path, col->name);
		if (v && timeline_parse(col, row, json_object_get_string(v)))
			fail(c, full, "bad value \"%.40s\"", json_object_get_string(v));
	}
}

static void read_missing(struct rd *c, json_object *o, const char *path, void *arg)
{
	char what[64], why[192];

	get_str(c, o, path, "what", what, sizeof(what), true);
	get_str(c, o, path, "why", why, sizeof(why), true);
	run_add_missing(arg, what, why);
}

static double get_double(struct rd *c, json_object *o, const char *path, const char *key)
{
	json_object *v = field(c, o, path, key, json_type_double, false);

	return v ? json_object_get_double(v) : 0;
}

static void read_prog_stat(struct rd *c, json_object *o, const char *path, void *arg)
{
	struct run *r = arg;
	char name[64];
	struct prog_stat *p;

	get_str(c, o, path, "name", name, sizeof(name), true);
	p = run_add_prog_stat(r, name);
	if (!p) {
		fail(c, path, "out of memory");
		return;
	}
	p->run_cnt = get_u64(c, o, path, "run_cnt", false);
	p->run_time_ns = get_u64(c, o, path, "run_time_ns", false);
	p->recursion_misses = get_u64(c, o, path, "recursion_misses", false);
}

static void read_prog_stats(struct rd *c, json_object *root, struct run *r)
{
	json_object *ps = field(c, root, "", "prog_stats", json_type_object, false);
	json_object *self = ps ? field(c, ps, "prog_stats", "self", json_type_object, false) : NULL;

	if (!ps)
		return;
	r->prog_stats.seconds = get_double(c, ps, "prog_stats", "seconds");
	each(c, ps, "prog_stats", "programs", false, read_prog_stat, r);
	if (!self)
		return;
	r->prog_stats.user_s = get_double(c, self, "prog_stats.self", "user_s");
	r->prog_stats.sys_s = get_double(c, self, "prog_stats.self", "sys_s");
	r->prog_stats.maxrss_kb = get_u64(c, self, "prog_stats.self", "maxrss_kb", false);
}

static void read_header(struct rd *c, json_object *root, struct run *r)
{
	json_object *host = field(c, root, "", "host", json_type_object, true);
	json_object *run = field(c, root, "", "run", json_type_object, true);
	json_object *drops = field(c, root, "", "drops", json_type_object, false), *x;

	get_str(c, root, "", "version", r->version, sizeof(r->version), false);
	if (host) {
		get_str(c, host, "host", "hostname", r->hostname, sizeof(r->hostname), false);
		get_str(c, host, "host", "kernel", r->kernel, sizeof(r->kernel), false);
		get_str(c, host, "host", "arch", r->arch, sizeof(r->arch), false);
		r->ncpus = get_u64(c, host, "host", "ncpus", false);
	}
	if (run) {
		get_str(c, run, "run", "start", r->start, sizeof(r->start), false);
		r->duration_ns = get_u64(c, run, "run", "duration_ns", false);
		x = field(c, run, "run", "interval_s", json_type_double, false);
		r->interval_s = x ? json_object_get_double(x) : 0;
		x = field(c, run, "run", "all_locks", json_type_boolean, false);
		r->all_locks = x && json_object_get_boolean(x);
		get_str(c, run, "run", "command", r->command, sizeof(r->command), false);
		get_str(c, run, "run", "backend", r->backend, sizeof(r->backend), false);
		x = field(c, run, "run", "exit_status", json_type_int, false);
		r->exit_status = x ? json_object_get_int(x) : -1;
		x = field(c, run, "run", "target_pid", json_type_int, false);
		r->target_pid = x ? json_object_get_uint64(x) : 0;
	}
	for (int d = 0; drops && d < NR_DROPS; d++)
		if ((x = field(c, drops, "drops", drop_names[d], json_type_int, false)))
			r->drops[d] = json_object_get_uint64(x);
}

static void read_backends(struct rd *c, json_object *root, struct run *r)
{
	json_object *b = field(c, root, "", "backends", json_type_object, false);

	if (!b)
		return;
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		get_str(c, b, "backends", fault_metric_names[m], r->metric_backend[m],
			sizeof(r->metric_backend[m]), false);
	get_str(c, b, "backends", "mmu_lock_hold_source", r->hold_source,
		sizeof(r->hold_source), false);
}

static int read_root(struct rd *c, json_object *root, struct run *r)
{
	if (!json_object_is_type(root, json_type_object))
		return fail(c, "", "the record is not a JSON object");
	get_str(c, root, "", "schema", r->schema, sizeof(r->schema), true);
	if (!c->failed && strcmp(r->schema, RUN_SCHEMA))
		return fail(c, "schema", "\"%s\" is not %s", r->schema, RUN_SCHEMA);
	read_header(c, root, r);
	each(c, root, "", "missing", false, read_missing, r);
	read_backends(c, root, r);
	each(c, root, "", "locks", true, read_lock, r);
	each(c, root, "", "vms", true, read_vm, r);
	each(c, root, "", "timeline", false, read_timeline_row, r);
	read_prog_stats(c, root, r);
	return c->failed ? -EINVAL : 0;
}

int record_parse(const char *name, const char *text, size_t len, struct run *r,
		 char *err, size_t errlen)
{
	struct rd c = { .file = name, .err = err, .errlen = errlen };
	struct json_tokener *tok = json_tokener_new();
	json_object *root;
	int ret;

	run_init(r);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, len);
	if (!root || json_tokener_get_parse_end(tok) < len) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok), blank = 0;

		while (blank < len && strchr(" \t\r\n", text[blank]) && text[blank])
			blank++;
		/* In a reader's words, not json-c's ("continue" is its "need more input"). */
		if (blank == len)
			snprintf(err, errlen, "%s: empty file", name);
		else if (!root && je == json_tokener_continue)
			snprintf(err, errlen, "%s: truncated at byte %zu", name, len);
		else if (root)
			snprintf(err, errlen, "%s: more after the record, at byte %zu", name, at);
		else
			snprintf(err, errlen, "%s: not valid JSON at byte %zu (%s)", name, at,
				 json_tokener_error_desc(je));
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	ret = read_root(&c, root, r);
	json_object_put(root);
	if (ret)
		run_free(r);
	return ret;
}

int record_read(const char *path, struct run *r, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	run_init(r);
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	do {
		char *grown;

		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 65536 * 2;
			grown = realloc(text, cap);
			if (!grown) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = grown;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	ret = record_parse(path, text ? text : "", len, r, err, errlen);
	free(text);
	return ret;
}
