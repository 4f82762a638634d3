// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the JSON record reader: whatever the bytes, the
 * reader returns 0 with a model it can free, or an error message that
 * names the input; never a crash, a leak or an out-of-bounds access.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct run r;

	if (record_parse("fuzz", (const char *)data, size, &r, err, sizeof(err)) == 0) {
		/* A record read back must be usable by every renderer's helpers. */
		const struct lock_rec **v = run_locks_by_wait(&r, false);

		for (size_t i = 0; i < r.nr_vms; i++)
			(void)vm_lock(&r, &r.vms[i]);
		free((void *)v);
		run_free(&r);
	} else if (!strstr(err, "fuzz")) {
		__builtin_trap();	/* every error must name its input */
	}
	return 0;
}
