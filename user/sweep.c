// SPDX-License-Identifier: GPL-2.0
/* Sweeps: records (and kvm-dirtylog reports) of one side of a comparison. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json.h>
#include "record.h"
#include "sweep.h"


/* One record's figures, keyed by vCPU count. */
static const struct wait_stat *vm_modes(const struct point *p)
{
	static const struct wait_stat none[NR_MODES];
	const struct lock_rec *l = vm_lock(&p->run, p->vm);

	return l ? l->mode : none;
}

static double total_of(const struct point *p, int mode)
{
	struct wait_stat all;

	if (mode >= 0)
		return vm_modes(p)[mode].count;
	wait_stat_sum_modes(&all, vm_modes(p));
	return all.count;
}

static double m_dirty_ms(const struct point *p) { return p->dirty_ms; }
static double m_contentions(const struct point *p) { return total_of(p, -1); }
static double m_read(const struct point *p) { return total_of(p, MODE_READ); }
static double m_write(const struct point *p) { return total_of(p, MODE_WRITE); }

static double m_wait_ms(const struct point *p)
{
	struct wait_stat all;

	wait_stat_sum_modes(&all, vm_modes(p));
	return all.total_ns / 1e6;
}

static double m_mean_wait_us(const struct point *p)
{
	struct wait_stat all;

	wait_stat_sum_modes(&all, vm_modes(p));
	return all.count ? wait_stat_mean(&all) / 1e3 : NAN;
}

static double m_faults(const struct point *p)
{
	struct vcpu_rec sum;

	vm_fault_totals(p->vm, &sum);
	return p->vm->nr_vcpu_recs ? (double)fault_count(&sum) : NAN;
}

static double m_hit_rate(const struct point *p)
{
	struct vcpu_rec sum;
	double h;

	vm_fault_totals(p->vm, &sum);
	h = fault_hit_rate(&sum);
	return h < 0 ? NAN : h * 100;
}

static double hold_ms(const struct point *p, int mode)
{
	struct wait_stat s;

	vm_hold(p->vm, mode, &s);
	return s.count ? s.total_ns / 1e6 : NAN;
}

static double m_hold_read(const struct point *p) { return hold_ms(p, MODE_READ); }
static double m_hold_write(const struct point *p) { return hold_ms(p, MODE_WRITE); }

const struct metric sweep_metrics[] = {
	{ "dirty memory time", "ms", m_dirty_ms },
	{ "mmu_lock contentions", "count", m_contentions },
	{ "read contentions", "count", m_read },
	{ "write contentions", "count", m_write },
	{ "mmu_lock wait time", "ms", m_wait_ms },
	{ "mean wait", "us", m_mean_wait_us },
	{ "stage-2 faults", "count", m_faults },
	{ "fast-path hit rate", "%", m_hit_rate },
	{ "mmu_lock read hold", "ms", m_hold_read },
	{ "mmu_lock write hold", "ms", m_hold_write },
};
const size_t sweep_nr_metrics = sizeof(sweep_metrics) / sizeof(sweep_metrics[0]);

/* The VM that did the work: most mmu_lock waits, then most faults. */
static const struct vm_rec *busiest_vm(const struct run *r)
{
	const struct vm_rec *best = NULL;
	double best_score = -1;

	for (size_t i = 0; i < r->nr_vms; i++) {
		struct point p = { .run = *r, .vm = &r->vms[i] };
		double f = m_faults(&p), score = m_contentions(&p) + (isnan(f) ? 0 : f);

		if (score > best_score) {
			best = &r->vms[i];
			best_score = score;
		}
	}
	return best;
}

static int vcpus_of(const struct vm_rec *v)
{
	return v->nr_vcpus > 0 ? v->nr_vcpus : (int)v->nr_vcpu_recs;
}

static const struct point *find_row(const struct side *s, int vcpus)
{
	for (int i = 0; i < s->n; i++)
		if (s->pts[i].vcpus == vcpus)
			return &s->pts[i];
	return NULL;
}


static int add_record(struct side *s, const char *file)
{
	struct point *p = &s->pts[s->n];
	char err[512];

	if (s->n == MAX_ROWS) {
		fprintf(stderr, "kvmlockstat: %s: more than %d records\n", s->path, MAX_ROWS);
		return -1;
	}
	if (record_read(file, &p->run, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat: %s\n", err);
		return -1;
	}
	p->file = strdup(file);
	p->vm = busiest_vm(&p->run);
	if (!p->vm) {
		fprintf(stderr, "kvmlockstat: %s: field 'vms': no VM in this record\n", file);
		return -1;
	}
	p->vcpus = vcpus_of(p->vm);
	p->dirty_ms = NAN;
	for (int i = 0; i < s->n; i++)
		if (s->pts[i].vcpus == p->vcpus) {
			fprintf(stderr, "kvmlockstat: %s and %s both have %d vCPUs: one record per "
				"vCPU count on each side\n", s->pts[i].file, file, p->vcpus);
			return -1;
		}
	s->n++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A record, or every *.json in a directory that is a kvmlockstat record. */
#define DIRTYLOG_SCHEMA "kvm-dirtylog/1"

/*
 * kvm-dirtylog's mean dirty memory time per logged pass joins the record that
 * traced it: the report's pid is the VMM pid of the record's VM.  (Matching on
 * the vCPU count alone would pick up other reports in the same directory.)
 */
static int attach_dirtylog(struct side *s, const char *file)
{
	json_object *root = json_object_from_file(file), *pid, *sum, *t;

	if (!root || !json_object_object_get_ex(root, "pid", &pid) ||
	    !json_object_object_get_ex(root, "summary", &sum) ||
	    !json_object_object_get_ex(sum, "dirty_memory_avg_ns", &t)) {
		fprintf(stderr, "kvmlockstat: %s: field 'pid' or 'summary.dirty_memory_avg_ns': "
			"missing or not JSON\n", file);
		json_object_put(root);
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (s->pts[i].vm->pid == (uint32_t)json_object_get_int(pid))
			s->pts[i].dirty_ms = json_object_get_double(t) / 1e6;
	json_object_put(root);
	return 0;
}

int sweep_load(struct side *s)
{
	struct dirent **ents;
	struct stat st;
	int n, err = 0, found = 0, nr_dirtylogs = 0;
	char *dirtylogs[MAX_ROWS];

	if (stat(s->path, &st)) {
		fprintf(stderr, "kvmlockstat: %s: %s\n", s->path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_record(s, s->path);
	n = scandir(s->path, &ents, NULL, by_name);
	for (int i = 0; i < n; i++) {
		char file[4096], head[4096] = "";
		size_t len = strlen(ents[i]->d_name);
		FILE *f;

		snprintf(file, sizeof(file), "%s/%s", s->path, ents[i]->d_name);
		/* Other JSON (workload reports) may share the directory: look for our schema. */
		if (!err && len > 5 && !strcmp(ents[i]->d_name + len - 5, ".json") && (f = fopen(file, "r"))) {
			head[fread(head, 1, sizeof(head) - 1, f)] = '\0';
			fclose(f);
			if (strstr(head, RUN_SCHEMA)) {
				err = add_record(s, file);
				found++;
			} else if (strstr(head, DIRTYLOG_SCHEMA) && nr_dirtylogs < MAX_ROWS) {
				dirtylogs[nr_dirtylogs++] = strdup(file);
			}
		}
		free(ents[i]);
	}
	free(ents);
	for (int i = 0; i < nr_dirtylogs; i++) {
		if (!err)
			err = attach_dirtylog(s, dirtylogs[i]);
		free(dirtylogs[i]);
	}
	if (!err && !found) {
		fprintf(stderr, "kvmlockstat: %s: no kvmlockstat record (*.json with schema %s)\n",
			s->path, RUN_SCHEMA);
		return -1;
	}
	return err;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int sweep_keys(const struct side *b, const struct side *a, int *keys)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		keys[n++] = b->pts[i].vcpus;
	for (int i = 0; i < a->n; i++)
		if (!find_row(b, a->pts[i].vcpus))
			keys[n++] = a->pts[i].vcpus;
	qsort(keys, n, sizeof(*keys), cmp_int);
	return n;
}

double sweep_value(const struct metric *m, const struct side *s, int vcpus)
{
	const struct point *p = find_row(s, vcpus);

	return p ? m->get(p) : NAN;
}

void sweep_free(struct side *s)
{
	for (int i = 0; i < s->n; i++) {
		run_free(&s->pts[i].run);
		free((void *)s->pts[i].file);
	}
	s->n = 0;
}
