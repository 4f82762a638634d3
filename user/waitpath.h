/* SPDX-License-Identifier: GPL-2.0 */
/* Which path an mmu_lock waiter was on: dirty log, MMU notifier, fault, other. */
#ifndef WAITPATH_H
#define WAITPATH_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

struct ksyms;

/*
 * Path of the innermost frame that names one (innermost first; a compiler
 * suffix such as ".isra.0" is ignored); WP_OTHER when none does.
 */
enum wait_path wait_path_of_frames(const char *const *names, size_t n);
/*
 * Path of a recorded wait.  A chain with no frame (arm64 records none while
 * a vCPU is loaded) by a vCPU thread of the VM is a fault; k may be NULL.
 */
enum wait_path wait_path_classify(const struct stack_rec *s, const struct ksyms *k,
				  bool vcpu_thread);

#endif
