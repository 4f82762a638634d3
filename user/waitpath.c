// SPDX-License-Identifier: GPL-2.0
/*
 * Writer path of an mmu_lock wait, from its kernel call chain.  The entry
 * points are the functions through which each writer the seed's analysis
 * names takes the lock: the innermost of them in the chain says which
 * path the waiter was on (a fault under an MMU notifier cannot happen, a
 * dirty-log ioctl calls no fault handler, so the first match is the one).
 */
#include <string.h>
#include "ksyms.h"
#include "waitpath.h"

static const struct {
	const char *name;
	bool prefix;		/* name is a prefix: kvm_mmu_notifier_* */
	enum wait_path path;
} entries[] = {
	{ "kvm_get_dirty_log_protect", false, WP_DIRTY_LOG },
	{ "kvm_clear_dirty_log_protect", false, WP_DIRTY_LOG },
	{ "kvm_vm_ioctl_get_dirty_log", false, WP_DIRTY_LOG },
	{ "kvm_vm_ioctl_clear_dirty_log", false, WP_DIRTY_LOG },
	{ "kvm_get_dirty_log", false, WP_DIRTY_LOG },
	/* Where the two above are inlined; also memslot changes (enabling dirty logging). */
	{ "kvm_vm_ioctl", false, WP_DIRTY_LOG },
	{ "kvm_mmu_notifier_", true, WP_MMU_NOTIFIER },
	{ "kvm_handle_guest_abort", false, WP_FAULT },	/* arm64 */
	{ "user_mem_abort", false, WP_FAULT },
	{ "kvm_mmu_page_fault", false, WP_FAULT },	/* x86 */
	{ "kvm_tdp_page_fault", false, WP_FAULT },
	{ "direct_page_fault", false, WP_FAULT },
};

/* "user_mem_abort.isra.0" is user_mem_abort. */
static bool matches(const char *sym, const char *name, bool prefix)
{
	size_t len = strlen(name), end = strcspn(sym, ".");

	if (prefix)
		return !strncmp(sym, name, len);
	return end == len && !strncmp(sym, name, len);
}

static int path_of(const char *sym)
{
	for (size_t i = 0; sym && i < sizeof(entries) / sizeof(entries[0]); i++)
		if (matches(sym, entries[i].name, entries[i].prefix))
			return entries[i].path;
	return -1;
}

enum wait_path wait_path_of_frames(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int p = path_of(names[i]);

		if (p >= 0)
			return p;
	}
	return WP_OTHER;
}

enum wait_path wait_path_classify(const struct stack_rec *s, const struct ksyms *k,
				  bool vcpu_thread)
{
	const char *names[MAX_STACK_DEPTH];
	uint32_t n = s->nr_ips < MAX_STACK_DEPTH ? s->nr_ips : MAX_STACK_DEPTH;

	if (!n)
		return vcpu_thread ? WP_FAULT : WP_OTHER;
	if (!k)
		return WP_OTHER;
	for (uint32_t i = 0; i < n; i++)
		names[i] = ksyms_name(k, s->ips[i], NULL);
	return wait_path_of_frames(names, n);
}
