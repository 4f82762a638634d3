/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault family (fault_family in family.h): backend choice (fentry, kprobe,
 * tracepoint), attachment and collection of fault counts, latency,
 * fast-path fixes, mmu_lock hold times and dirty-log durations into the
 * run model.
 */
#ifndef FAULT_H
#define FAULT_H

enum fault_backend { FB_FENTRY, FB_KPROBE, FB_TRACEPOINT, NR_FAULT_BACKENDS };

extern const char *const fault_backend_names[NR_FAULT_BACKENDS];

#endif
