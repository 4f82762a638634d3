// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel facts, read once.  Parsing the kernel's BTF takes tens of
 * milliseconds (the kvm module's split BTF needs vmlinux's too), so both
 * are loaded here once, every fact the families ask is taken from them,
 * and they are freed before any probe is attached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kfacts.h"
#include "ksyms.h"
#include "lockname.h"

#define TRACEFS "/sys/kernel/tracing"

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* tracefs holds the events' formats; mount it if nobody has. */
static int ensure_tracefs(void)
{
	if (path_exists(TRACEFS "/events"))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY)
		return errno;
	return 0;
}

/* Value of the enumerator name in b. */
static int btf_enum_value(const struct btf *b, const char *name, int *val)
{
	for (__u32 id = 1; id < btf__type_cnt(b); id++) {
		const struct btf_type *t = btf__type_by_id(b, id);

		for (int i = 0; btf_is_enum(t) && i < btf_vlen(t); i++)
			if (!strcmp(btf__name_by_offset(b, btf_enum(t)[i].name_off), name)) {
				*val = btf_enum(t)[i].val;
				return 0;
			}
	}
	return -ENOENT;
}

/* Member member of struct strct in b, or NULL. */
static const struct btf_member *btf_member(const struct btf *b, const char *strct,
					   const char *member)
{
	int id = btf__find_by_name_kind(b, strct, BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(b, id) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(b, btf_members(t)[i].name_off), member))
			return &btf_members(t)[i];
	return NULL;
}

/* The functions whose first argument the fault probes read (bpf/fault.bpf.c). */
static const char *const sig_funcs[KFACTS_NR_SIGS] = {
	"kvm_handle_guest_abort", "kvm_mmu_page_fault", "kvm_pgtable_stage2_relax_perms",
	"kvm_pgtable_stage2_map", "kvm_arch_mmu_enable_log_dirty_pt_masked", "kvm_vm_ioctl",
	"kvm_arch_vcpu_ioctl_run",
};

/* The struct func's first parameter points to, into out ("" if BTF has no func). */
static void first_arg(const struct btf *b, const char *func, char *out, size_t len)
{
	int id = btf__find_by_name_kind(b, func, BTF_KIND_FUNC);
	const struct btf_type *t = id > 0 ? btf__type_by_id(b, btf__type_by_id(b, id)->type) : NULL;

	out[0] = '\0';
	if (!t || !btf_is_func_proto(t) || !btf_vlen(t))
		return;
	t = btf__type_by_id(b, btf_params(t)[0].type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(b, t->type);
	if (!t || !btf_is_ptr(t))
		return (void)snprintf(out, len, "(not a pointer)");
	t = btf__type_by_id(b, t->type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(b, t->type);
	snprintf(out, len, "%s", t && t->name_off ? btf__name_by_offset(b, t->name_off) : "?");
}

/*
 * The KVM facts, from the kernel's BTF or the kvm module's where KVM is a
 * module (x86; its split BTF also holds the base types).
 */
static void read_kvm_btf(struct kfacts *kf, const struct btf *b)
{
	const struct btf_member *m = btf_member(b, "kvm", "mmu_lock");

	kf->kvm_loaded = btf__find_by_name_kind(b, "kvm", BTF_KIND_STRUCT) > 0;
	if (m)
		snprintf(kf->mmu_lock_type, sizeof(kf->mmu_lock_type), "%s",
			 btf__name_by_offset(b, btf__type_by_id(b, m->type)->name_off));
	if (btf_enum_value(b, "RET_PF_FIXED", &kf->ret_pf_fixed))
		kf->ret_pf_fixed = -1;
	if (btf_enum_value(b, "RET_PF_SPURIOUS", &kf->ret_pf_spurious))
		kf->ret_pf_spurious = -1;
	for (int i = 0; i < KFACTS_NR_SIGS; i++) {
		kf->sigs[i].func = sig_funcs[i];
		first_arg(b, sig_funcs[i], kf->sigs[i].arg0, sizeof(kf->sigs[i].arg0));
	}
	kf->kvm_counts_faults = btf_member(b, "kvm_vcpu_stat", "pf_taken") &&
				btf_member(b, "kvm_vcpu_stat", "pf_fast");
	kf->kvm_locks = calloc(1, sizeof(*kf->kvm_locks));
	if (kf->kvm_locks && lockname_kvm_fields(b, kf->kvm_locks)) {
		free(kf->kvm_locks);
		kf->kvm_locks = NULL;
	}
}

/* Does the program load, and attach (to raw tracepoint tp; NULL: its BTF target)? */
static bool attaches(enum bpf_prog_type type, const struct bpf_prog_load_opts *po,
		     const struct bpf_insn *insns, size_t n, const char *tp)
{
	int fd = bpf_prog_load(type, NULL, "GPL", insns, n, po), link;

	if (fd < 0)
		return false;
	link = bpf_raw_tracepoint_open(tp, fd);
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0;
}

/*
 * Whether an fentry program attaches: a kernel may know the program type
 * and still refuse the trampoline (ENOTSUPP), so this loads "return 0" on
 * a function only BPF's own test runner calls, attaches it and lets go.
 */
static bool probe_trampolines(const struct btf *vmlinux)
{
	const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = btf__find_by_name_kind(vmlinux, "bpf_fentry_test1", BTF_KIND_FUNC);
	LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = id);

	return id > 0 && attaches(BPF_PROG_TYPE_TRACING, &po, ret0, 2, NULL);
}

/*
 * Whether the verifier takes an atomic fetch-add (on the stack): kernels
 * before 5.12 refuse any atomic but the plain add, in any instruction.
 */
static bool probe_atomics(void)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_STX | BPF_DW | BPF_MEM, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_0,
		  .off = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_STX | BPF_DW | BPF_ATOMIC, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1,
		  .off = -8, .imm = BPF_ADD | BPF_FETCH },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", prog,
			       sizeof(prog) / sizeof(prog[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Does a raw_tp program reading argument n-1 of tracepoint tp attach (n arguments or more)? */
static bool tp_has_args(const char *tp, int n)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_LDX | BPF_DW | BPF_MEM, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1,
		  .off = (n - 1) * 8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return attaches(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, prog, 3, tp);
}

/*
 * How many arguments tracepoint tp passes: the kernel refuses to attach a
 * raw_tp program that reads past them.  0: not there, or not attachable.
 */
static int probe_tp_args(const char *tp)
{
	for (int n = 8; n > 0; n--)
		if (tp_has_args(tp, n))
			return n;
	return 0;
}

static void read_btf(struct kfacts *kf)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;

	if (!vmlinux)
		return;
	mod = btf__load_module_btf("kvm", vmlinux);	/* NULL where KVM is built in */
	read_kvm_btf(kf, mod ? mod : vmlinux);
	if (kf->root)
		kf->trampolines = probe_trampolines(vmlinux);
	btf__free(mod);
	btf__free(vmlinux);
}

/* Does event sys_event's tracefs format have a field called name? */
static bool event_has_field(const char *sys_event, const char *name)
{
	char path[160], line[256], want[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/format", sys_event);
	snprintf(want, sizeof(want), " %s;", name);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "field:") && strstr(line, want);
	if (f)
		fclose(f);
	return found;
}

/*
 * KVMLOCKSTAT_DENY_FACTS=task_storage,bpf_atomics,...: those BPF features
 * taken as missing, so that the tests exercise the variants of older
 * kernels (per-thread maps, the plain-add objects) on a kernel that has
 * them, against the same truth.
 */
static void deny_facts(struct kfacts *kf)
{
	const char *deny = getenv("KVMLOCKSTAT_DENY_FACTS");
	const struct { const char *name; bool *fact; } facts[] = {
		{ "task_storage", &kf->task_storage }, { "current_task_btf", &kf->current_task_btf },
		{ "bpf_atomics", &kf->bpf_atomics }, { "trampolines", &kf->trampolines },
	};

	for (size_t i = 0; deny && i < sizeof(facts) / sizeof(facts[0]); i++)
		if (strstr(deny, facts[i].name))
			*facts[i].fact = false;
}

int kfacts_read(struct kfacts *kf)
{
	memset(kf, 0, sizeof(*kf));
	kf->ret_pf_fixed = kf->ret_pf_spurious = -1;
	kf->root = geteuid() == 0;
	kf->vmlinux_btf = path_exists("/sys/kernel/btf/vmlinux");
	kf->tracefs_err = ensure_tracefs();
	kf->lock_tracepoints = kfacts_has_tracepoint(kf, "lock/contention_begin") &&
			       kfacts_has_tracepoint(kf, "lock/contention_end");
	kf->kprobes = path_exists("/sys/bus/event_source/devices/kprobe") ||
		      path_exists(TRACEFS "/kprobe_events");
	kf->ept_exit_qual = path_exists("/sys/module/kvm_intel");
	kf->fast_pf_retry = event_has_field("kvmmmu/fast_page_fault", "retry");
	if (kf->root) {
		kf->task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL) == 1;
		kf->current_task_btf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
							       BPF_FUNC_get_current_task_btf,
							       NULL) == 1;
		kf->bpf_atomics = probe_atomics();
		kf->kvm_page_fault_args = probe_tp_args("kvm_page_fault");
		kf->fast_page_fault_args = probe_tp_args("fast_page_fault");
	}
	read_btf(kf);
	deny_facts(kf);
	kf->ksyms = ksyms_load(NULL);
	return !kf->ksyms && errno == ENOMEM ? -ENOMEM : 0;
}

void kfacts_free(struct kfacts *kf)
{
	ksyms_free(kf->ksyms);
	kf->ksyms = NULL;
	free(kf->kvm_locks);
	kf->kvm_locks = NULL;
}

int kfacts_require(const struct kfacts *kf)
{
	if (!kf->root) {
		fprintf(stderr, "kvmlockstat: needs root (CAP_BPF and CAP_PERFMON to load BPF programs)\n");
		return -EPERM;
	}
	if (!kf->vmlinux_btf) {
		fprintf(stderr, "kvmlockstat: no kernel BTF (/sys/kernel/btf/vmlinux): "
			"CO-RE needs a kernel built with CONFIG_DEBUG_INFO_BTF\n");
		return -ENOENT;
	}
	if (kf->tracefs_err) {
		fprintf(stderr, "kvmlockstat: tracefs not available: mount -t tracefs nodev "
			TRACEFS " failed: %s\n", strerror(kf->tracefs_err));
		return -ENOENT;
	}
	return 0;
}

bool kfacts_has_tracepoint(const struct kfacts *kf, const char *sys_event)
{
	char path[160];

	snprintf(path, sizeof(path), TRACEFS "/events/%s", sys_event);
	return access(path, F_OK) == 0;
}

bool kfacts_arg0_is(const struct kfacts *kf, const char *func, const char *strct)
{
	for (int i = 0; i < KFACTS_NR_SIGS; i++)
		if (kf->sigs[i].func && !strcmp(kf->sigs[i].func, func))
			return !kf->sigs[i].arg0[0] || !strcmp(kf->sigs[i].arg0, strct);
	return true;
}

bool kfacts_has_function(const struct kfacts *kf, const char *name)
{
	uint64_t addr;

	return kf->ksyms && !ksyms_addr(kf->ksyms, name, &addr);
}
