/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMLOCKSTAT_KSYMS_H
#define KVMLOCKSTAT_KSYMS_H

#include <stddef.h>
#include <stdint.h>

/* Kernel symbol table from /proc/kallsyms (or a file in its format), sorted
 * by address for binary search. Immutable once loaded: safe to share
 * between threads for lookups. */
struct ksyms;

/*
 * Load path (NULL = /proc/kallsyms). Returns NULL with errno set on failure:
 * EPERM when every address reads as 0 (kptr_restrict, not root), EINVAL on a
 * malformed line, ENOENT/EACCES/ENOMEM as the system reports them.
 */
struct ksyms *ksyms_load(const char *path);

/*
 * Name of the symbol containing addr, and addr's offset from it in *offset
 * (offset may be NULL). NULL if addr lies before the first symbol, past the
 * last one, or in the unlisted gap after the last symbol of a module.
 * When several symbols share an address, text symbols win over data, global
 * over local, then the first one listed.
 */
const char *ksyms_name(const struct ksyms *k, uint64_t addr, uint64_t *offset);

/* Module of the symbol containing addr ("vmlinux" for the core kernel), or
 * NULL where ksyms_name() returns NULL. */
const char *ksyms_module(const struct ksyms *k, uint64_t addr);

/* Address of the symbol called name (first listed if several): 0 or -ENOENT. */
int ksyms_addr(const struct ksyms *k, const char *name, uint64_t *addr);

/* Number of symbols loaded. */
size_t ksyms_count(const struct ksyms *k);

void ksyms_free(struct ksyms *k);

#endif
