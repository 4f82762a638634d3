// SPDX-License-Identifier: GPL-2.0
/*
 * A lock without a symbol of its own (most of them live in heap objects)
 * is best known by who takes it.  The recorded chain starts inside the
 * tracing hook and the lock's slow path; skip those frames.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include "ksyms.h"
#include "lockname.h"

static const char *const internal_prefixes[] = {
	"bpf_", "__bpf", "trace_", "__trace", "perf_", "queued_", "native_queued",
	"__pv_queued", "_raw_", "__raw_", "do_raw_", "rwsem_", "__rwsem", "down_",
	"__down", "up_", "mutex_", "__mutex", "rt_mutex", "rt_spin", "rt_read",
	"rt_write", "osq_", "percpu_down", "__percpu_down", "lock_contended",
	"contention_", "_raw_spin", "preempt_", "__cond_resched",
};

/* Frames of the probe itself: the BPF program and the tracepoint glue. */
static const char *const tracing_prefixes[] = {
	"bpf_", "__bpf", "__traceiter", "trace_contention", "perf_trace", "__perf",
};

#define has_prefix_in(sym, list) has_prefix(sym, list, sizeof(list) / sizeof(*list))

static bool has_prefix(const char *sym, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(sym, list[i], strlen(list[i])))
			return true;
	return false;
}

static bool is_internal(const char *sym)
{
	return has_prefix_in(sym, internal_prefixes);
}

void lockname_trim_tracing(struct stack_rec *s, const struct ksyms *k)
{
	uint32_t skip = 0;

	while (skip < s->nr_ips) {
		const char *sym = ksyms_name(k, s->ips[skip], NULL);

		/* JIT-ed programs are unnamed unless bpf_jit_kallsyms is set. */
		if (sym && !has_prefix_in(sym, tracing_prefixes))
			break;
		skip++;
	}
	if (skip == s->nr_ips)
		return;	/* nothing named: keep the chain as it is */
	memmove(s->ips, s->ips + skip, (s->nr_ips - skip) * sizeof(*s->ips));
	s->nr_ips -= skip;
}

const char *lockname_caller(const struct stack_rec *s, const struct ksyms *k)
{
	for (uint32_t i = 0; i < s->nr_ips; i++) {
		const char *sym = ksyms_name(k, s->ips[i], NULL);

		if (sym && !is_internal(sym))
			return sym;
	}
	return NULL;
}

void lockname_from_stacks(struct lock_rec *l, const struct ksyms *k)
{
	const struct stack_rec *best = NULL;
	const char *sym;

	for (size_t i = 0; i < l->nr_stacks; i++)
		if (l->stacks[i].nr_ips && (!best || l->stacks[i].total_ns > best->total_ns))
			best = &l->stacks[i];
	if (best && (sym = lockname_caller(best, k)))
		snprintf(l->name, sizeof(l->name), "%s", sym);
}

/* The kernel's lock types, as struct kvm's members are declared. */
static const char *const lock_types[] = {
	"spinlock_t", "rwlock_t", "raw_spinlock_t", "arch_spinlock_t", "mutex", "rw_semaphore",
	"spinlock", "raw_spinlock", "qspinlock", "qrwlock", "percpu_rw_semaphore",
};

static bool is_lock_type(const char *name)
{
	for (size_t i = 0; i < sizeof(lock_types) / sizeof(*lock_types); i++)
		if (!strcmp(name, lock_types[i]))
			return true;
	return false;
}

/* Adds the lock members of struct/union id at base (bytes), recursing into embedded structs. */
static void add_lock_members(const struct btf *b, __u32 id, uint32_t base, const char *prefix,
			     struct kvm_lock_fields *t, int depth)
{
	const struct btf_type *st = btf__type_by_id(b, id);

	for (int i = 0; st && i < btf_vlen(st) && t->n < MAX_KVM_LOCK_FIELDS; i++) {
		const struct btf_member *m = &btf_members(st)[i];
		__u32 mid = btf__resolve_type(b, m->type) < 0 ? m->type : (__u32)btf__resolve_type(b, m->type);
		const struct btf_type *mt = btf__type_by_id(b, mid), *named = btf__type_by_id(b, m->type);
		uint32_t off = base + btf_member_bit_offset(st, i) / 8;
		const char *mname = btf__name_by_offset(b, m->name_off);
		char path[56];

		snprintf(path, sizeof(path), "%s%s", prefix, mname);
		/* A typedef's own name (spinlock_t) or the struct's (struct mutex). */
		if ((named && is_lock_type(btf__name_by_offset(b, named->name_off))) ||
		    (mt && btf_is_composite(mt) && is_lock_type(btf__name_by_offset(b, mt->name_off)))) {
			struct kvm_lock_field *f = &t->f[t->n++];

			snprintf(f->name, sizeof(f->name), "%s", path);
			f->offset = off;
			f->size = btf__resolve_size(b, m->type) > 0 ? btf__resolve_size(b, m->type) : 1;
		} else if (mt && btf_is_composite(mt) && depth < 2) {
			char sub[56];

			snprintf(sub, sizeof(sub), "%s.", path);
			add_lock_members(b, mid, off, *mname ? sub : prefix, t, depth + 1);
		}
	}
}

int lockname_kvm_fields(const struct btf *b, struct kvm_lock_fields *t)
{
	int id = b ? btf__find_by_name_kind(b, "kvm", BTF_KIND_STRUCT) : -ENOENT;

	t->n = 0;
	if (id <= 0)
		return -ENOENT;
	add_lock_members(b, id, 0, "", t, 0);
	return 0;
}

bool lockname_in_kvm(struct lock_rec *l, const uint64_t *kvms, size_t n,
		     const struct kvm_lock_fields *t)
{
	for (size_t v = 0; v < n; v++)
		for (size_t i = 0; kvms[v] && i < t->n; i++) {
			uint64_t at = kvms[v] + t->f[i].offset;

			if (l->addr < at || l->addr >= at + t->f[i].size)
				continue;
			snprintf(l->name, sizeof(l->name), "kvm->%s", t->f[i].name);
			l->in_kvm = kvms[v];
			return true;
		}
	return false;
}
