/* SPDX-License-Identifier: GPL-2.0 */
/* Names for locks that have no symbol: the first caller outside lock code. */
#ifndef LOCKNAME_H
#define LOCKNAME_H

#include <stddef.h>
#include "model.h"

struct ksyms;

/* First frame of the call chain that is not lock or tracing machinery. */
const char *lockname_caller(const struct stack_rec *s, const struct ksyms *k);
/* Drops the probe's own frames (BPF program, tracepoint glue) from the top. */
void lockname_trim_tracing(struct stack_rec *s, const struct ksyms *k);
/* Names l after the caller of its heaviest recorded stack. */
void lockname_from_stacks(struct lock_rec *l, const struct ksyms *k);

#endif
