// SPDX-License-Identifier: GPL-2.0
/*
 * Probe attachment.  The lock family has two variants of each program:
 * tp_btf (typed, cheapest) and raw_tp (works where the verifier or the
 * kernel refuses tp_btf).  The unused set is switched off with
 * set_autoload before load, so a failed variant never blocks the other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "kvmstats.h"
#include "collect.h"
#include "fault.h"
#include "ksyms.h"
#include "lockname.h"
#include "lock.skel.h"

#define TRACEFS "/sys/kernel/tracing"

static bool verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !verbose))
		return 0;
	if (!verbose && level == LIBBPF_WARN)
		return 0;	/* failures are reported by us, once, in plain words */
	return vfprintf(stderr, fmt, ap);
}

void attach_set_verbose(bool v)
{
	verbose = v;
	libbpf_set_print(print_libbpf);
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* tracefs holds the lock events' format; mount it if nobody has. */
static int ensure_tracefs(void)
{
	if (path_exists(TRACEFS "/events"))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		fprintf(stderr, "kvmlockstat: tracefs not available: mount -t tracefs nodev "
			TRACEFS " failed: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The type name of struct kvm's mmu_lock ("rwlock_t", "spinlock_t") from
 * the kernel's BTF, or the kvm module's where KVM is a module (x86);
 * -ENOENT when no struct kvm is known (KVM not loaded).
 */
static struct btf *kvm_btf(struct btf **vmlinux, struct btf **mod)
{
	*mod = NULL;
	*vmlinux = btf__load_vmlinux_btf();
	if (!*vmlinux || btf__find_by_name_kind(*vmlinux, "kvm", BTF_KIND_STRUCT) > 0)
		return *vmlinux;
	*mod = btf__load_module_btf("kvm", *vmlinux);
	return *mod;
}

/* struct kvm's lock members, to name the other locks of a VM (lockname.c). */
static struct kvm_lock_fields *kvm_lock_fields(void)
{
	struct kvm_lock_fields *t = calloc(1, sizeof(*t));
	struct btf *vmlinux, *mod, *b = kvm_btf(&vmlinux, &mod);

	if (t && lockname_kvm_fields(b, t)) {
		free(t);
		t = NULL;
	}
	btf__free(mod);
	btf__free(vmlinux);
	return t;
}

static int mmu_lock_type(char *name, size_t len)
{
	struct btf *vmlinux, *mod, *b = kvm_btf(&vmlinux, &mod);
	const struct btf_type *t;
	int id = b ? btf__find_by_name_kind(b, "kvm", BTF_KIND_STRUCT) : -ENOENT, err = -ENOENT;

	for (int i = 0; id > 0 && i < btf_vlen(t = btf__type_by_id(b, id)); i++) {
		const struct btf_member *m = &btf_members(t)[i];

		if (strcmp(btf__name_by_offset(b, m->name_off), "mmu_lock"))
			continue;
		snprintf(name, len, "%s", btf__name_by_offset(b, btf__type_by_id(b, m->type)->name_off));
		err = 0;
	}
	btf__free(mod);
	btf__free(vmlinux);
	return err;
}

/* mmu_lock is a spinlock before the rwlock change (arm64 before 5.18). */
static bool mmu_lock_is_spinlock(void)
{
	char type[64];

	return !mmu_lock_type(type, sizeof(type)) && !strcmp(type, "spinlock_t");
}

int attach_preflight(struct run *r)
{
	char type[64];

	if (geteuid() != 0) {
		fprintf(stderr, "kvmlockstat: needs root (CAP_BPF and CAP_PERFMON to load BPF programs)\n");
		return -EPERM;
	}
	if (!path_exists("/sys/kernel/btf/vmlinux")) {
		fprintf(stderr, "kvmlockstat: no kernel BTF (/sys/kernel/btf/vmlinux): "
			"CO-RE needs a kernel built with CONFIG_DEBUG_INFO_BTF\n");
		return -ENOENT;
	}
	if (ensure_tracefs())
		return -ENOENT;
	if (!path_exists(TRACEFS "/events/lock/contention_begin") ||
	    !path_exists(TRACEFS "/events/lock/contention_end")) {
		fprintf(stderr, "kvmlockstat: kernel has no lock:contention_begin/end tracepoints "
			"(added in 5.19)\n");
		return -ENOENT;
	}
	if (mmu_lock_type(type, sizeof(type)))
		run_add_missing(r, "mmu_lock",
				"KVM is not loaded (no struct kvm in kernel or module BTF): "
				"only --all-locks can show anything");
	return 0;
}

static void pick_variant(struct lock_bpf *s, bool btf, bool spin)
{
	bpf_program__set_autoload(s->progs.contention_begin_btf, btf);
	bpf_program__set_autoload(s->progs.contention_end_btf, btf);
	bpf_program__set_autoload(s->progs.contention_begin_raw, !btf);
	bpf_program__set_autoload(s->progs.contention_end_raw, !btf);
	bpf_program__set_autoload(s->progs.spin_slowpath_enter, spin);
	bpf_program__set_autoload(s->progs.spin_slowpath_exit, spin);
}

static int try_variant(struct lock_bpf **out, const struct attach_opts *o, bool btf, bool spin)
{
	struct lock_bpf *s = lock_bpf__open();
	int err;

	if (!s)
		return -errno;
	s->rodata->all_locks = o->all_locks;
	s->rodata->targ_tgid = o->target_tgid;
	pick_variant(s, btf, spin);
	err = lock_bpf__load(s);
	if (!err)
		err = lock_bpf__attach(s);
	if (err) {
		lock_bpf__destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

/*
 * A spinlock mmu_lock's first waiter spins unseen by the tracepoints, so
 * there the slow path is probed too (kprobe); refused, the run goes on
 * and says what it cannot see.
 */
static int try_with_spin(struct lock_bpf **skel, const struct attach_opts *o, bool btf,
			 bool spin, struct run *r)
{
	int err = try_variant(skel, o, btf, spin);

	if (err && spin && !try_variant(skel, o, btf, false)) {
		char why[192];

		snprintf(why, sizeof(why), "mmu_lock is a spinlock here and the kprobe on "
			 "queued_spin_lock_slowpath was refused (%s): waiters that spin before "
			 "queueing are not counted", strerror(-err));
		run_add_missing(r, "spinlock first waiters", why);
		return 0;
	}
	if (!err && spin)
		strcat(r->backend, "+kprobe");
	return err;
}

int attach_lock(struct lock_bpf **skel, const struct attach_opts *o, struct run *r)
{
	static const char *const names[] = { "tp_btf", "raw_tp" };
	bool spin = mmu_lock_is_spinlock();
	int err = -EINVAL;

	for (int i = 0; i < 2; i++) {
		if (o->backend && strcmp(o->backend, names[i]))
			continue;
		snprintf(r->backend, sizeof(r->backend), "%s", names[i]);
		err = try_with_spin(skel, o, i == 0, spin, r);
		if (!err)
			return 0;
		if (verbose || o->backend)
			fprintf(stderr, "kvmlockstat: %s programs on lock:contention_* refused: %s\n",
				names[i], strerror(-err));
	}
	r->backend[0] = '\0';
	fprintf(stderr, "kvmlockstat: cannot attach to lock:contention_begin/end (%s)%s\n",
		strerror(-err), verbose ? "" : "; -v shows libbpf's log");
	return err;
}

void attach_detach(struct lock_bpf *skel)
{
	lock_bpf__destroy(skel);
}

int attach_families(struct collector *c, const struct attach_opts *lo, struct fault_opts *fo,
		    struct run *r)
{
	struct ksyms *k;

	if (attach_lock(&c->skel, lo, r))
		return 1;
	k = ksyms_load(NULL);
	if (!k)
		run_add_missing(r, "symbols", "cannot read /proc/kallsyms: stacks stay unnamed");
	c->ksyms = fo->ksyms = k;
	if (lo->all_locks)
		c->kvm_fields = kvm_lock_fields();
	if (fault_attach(&c->fault, fo, r)) {
		detach_families(c);
		return 1;
	}
	if (fo->stats) {
		/* The first poll fixes the baseline of the vCPUs already there. */
		c->stats = fo->stats;
		fo->stats = NULL;
		if (kvmstats_poll(c->stats, true)) {
			fprintf(stderr, "kvmlockstat: cannot read KVM's counters\n");
			detach_families(c);
			return 1;
		}
	}
	return 0;
}

void detach_families(struct collector *c)
{
	attach_detach(c->skel);
	fault_detach(c->fault);
	kvmstats_free(c->stats);
	c->stats = NULL;
	ksyms_free((struct ksyms *)c->ksyms);	/* loaded by attach_families */
	free(c->kvm_fields);
	c->kvm_fields = NULL;
	c->skel = NULL;
	c->fault = NULL;
	c->ksyms = NULL;
}
