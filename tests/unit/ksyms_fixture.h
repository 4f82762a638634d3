/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmocka fixture: the synthetic kallsyms of testutil.h, loaded (header-only).
 * A test may define FIXTURE_KALLSYMS to its own table before including it.
 */
#ifndef KVMLOCKSTAT_KSYMS_FIXTURE_H
#define KVMLOCKSTAT_KSYMS_FIXTURE_H

#include "ksyms.h"
#include "testutil.h"

#ifndef FIXTURE_KALLSYMS
#define FIXTURE_KALLSYMS SYNTH_KALLSYMS
#endif

struct fixture {
	char *dir;
	struct ksyms *k;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *path;

	if (!f || !(f->dir = make_temp_dir()))
		return -1;
	path = write_file_in(f->dir, "kallsyms", FIXTURE_KALLSYMS);
	if (!path)
		return -1;
	f->k = ksyms_load(path);
	unlink(path);
	free(path);
	*state = f;
	return f->k ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ksyms_free(f->k);
	remove_dir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#endif
