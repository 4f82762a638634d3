// SPDX-License-Identifier: GPL-2.0
/*
 * File outputs.  Stack-based formats (perf.data, folded) get one sample
 * per recorded (lock, waiting task, mode, call chain), weighted by wait
 * time: mmu_locks only, or every lock when the run used --all-locks.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "output.h"
#include "folded.h"
#include "perfdata.h"
#include "record.h"

static const struct task_rec *find_task(const struct lock_rec *l, uint32_t tid)
{
	for (size_t i = 0; i < l->nr_tasks; i++)
		if (l->tasks[i].tid == tid)
			return &l->tasks[i];
	return NULL;
}

static struct pd_sample *make_samples(const struct run *r, size_t *n)
{
	struct pd_sample *v = NULL, *grown;

	*n = 0;
	for (size_t i = 0; i < r->nr_locks; i++) {
		const struct lock_rec *l = &r->locks[i];

		if (!l->kvm && !r->all_locks)
			continue;
		for (size_t j = 0; j < l->nr_stacks; j++) {
			const struct stack_rec *s = &l->stacks[j];
			const struct task_rec *t = find_task(l, s->tid);

			if (!s->nr_ips)
				continue;
			grown = realloc(v, (*n + 1) * sizeof(*v));
			if (!grown) {
				free(v);
				return NULL;
			}
			v = grown;
			v[(*n)++] = (struct pd_sample){
				.pid = t ? t->tgid : s->tid, .tid = s->tid,
				.comm = t && t->comm[0] ? t->comm : "?",
				.weight = s->total_ns, .count = s->count, .lock_addr = l->addr,
				.nr_ips = s->nr_ips, .ips = s->ips, .time_ns = s->last_ns,
			};
		}
	}
	return v ? v : calloc(1, sizeof(*v));	/* an empty run still writes valid files */
}

static int report(const char *what, const char *path, int err)
{
	if (err)
		fprintf(stderr, "kvmlockstat: writing %s %s: %s\n", what, path, strerror(-err));
	else
		fprintf(stderr, "kvmlockstat: %s written to %s\n", what, path);
	return err;
}

int output_run(const struct run *r, const struct output_opts *o, const struct ksyms *k)
{
	struct pd_sample *s = NULL;
	size_t n = 0;
	int err = 0, e;

	if (o->json && (e = report("record", o->json, record_write(o->json, r, k))))
		err = e;
	if (!o->perf_data && !o->folded)
		return err;
	s = make_samples(r, &n);
	if (!s)
		return -ENOMEM;
	if (o->perf_data && (e = report("perf.data", o->perf_data, perfdata_write(o->perf_data, s, n))))
		err = e;
	if (o->folded && (e = report("folded stacks", o->folded, folded_write(o->folded, s, n, k, 0))))
		err = e;
	free(s);
	return err;
}

int output_check_path(const char *path)
{
	char *copy = strdup(path), *dir;
	int ok;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	ok = access(dir, W_OK) == 0;
	if (!ok)
		fprintf(stderr, "kvmlockstat: cannot write '%s': directory '%s': %s\n", path, dir,
			strerror(errno));
	free(copy);
	return ok ? 0 : -EINVAL;
}
