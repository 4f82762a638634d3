/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON record of a run (schema kvmlockstat-run/1, see README): the run
 * model written out, and read back into the same structs.
 */
#ifndef RECORD_H
#define RECORD_H

#include "model.h"

struct ksyms;

/* Writes path atomically; ksyms (may be NULL) adds symbol names to stacks. */
int record_write(const char *path, const struct run *r, const struct ksyms *k);
/* Reads a record; on error fills err with "file: field: problem". */
int record_read(const char *path, struct run *r, char *err, size_t errlen);
/* Same from a string (for tests and fuzzing); name is used in errors. */
int record_parse(const char *name, const char *text, size_t len, struct run *r,
		 char *err, size_t errlen);

#endif
