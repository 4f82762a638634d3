/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMLOCKSTAT_ATOMIC_WRITE_H
#define KVMLOCKSTAT_ATOMIC_WRITE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write len bytes of buf to path so that readers see either the old file or
 * the complete new one: the bytes go to "path.tmp.XXXXXX" in the same
 * directory, are fsync'ed, and the temp file is renamed over path.
 * mode is applied to the new file as given (no umask).
 * Returns 0 or -errno; on error no temp file is left behind and path is
 * untouched.
 */
int atomic_write_file(const char *path, const void *buf, size_t len, mode_t mode);

#endif
