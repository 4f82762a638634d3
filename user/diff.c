// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat diff BEFORE AFTER: each side is a record or a directory of
 * records (a lab sweep, one record per vCPU count).  Rows are matched by
 * the traced VM's vCPU count and printed per metric in the layout of the
 * seed's cover letter, with absolute and relative change; or as JSON/CSV.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json.h>
#include "diff.h"
#include "model.h"
#include "record.h"

#define MAX_ROWS 64

/* One record's figures, keyed by vCPU count. */
struct point {
	int vcpus;
	const char *file;
	struct run run;
	const struct vm_rec *vm;	/* the traced VM: the busiest one */
};

struct side {
	const char *path;
	struct point pts[MAX_ROWS];
	int n;
};

struct metric {
	const char *name, *unit;
	double (*get)(const struct point *p);	/* NAN when the record lacks it */
};

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

static const struct metric metrics[] = {
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
#define NR_METRICS (sizeof(metrics) / sizeof(metrics[0]))

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

static int add_record(struct side *s, const char *file)
{
	struct point *p = &s->pts[s->n];
	char err[512];

	if (s->n == MAX_ROWS) {
		fprintf(stderr, "kvmlockstat diff: %s: more than %d records\n", s->path, MAX_ROWS);
		return -1;
	}
	if (record_read(file, &p->run, err, sizeof(err))) {
		fprintf(stderr, "kvmlockstat diff: %s\n", err);
		return -1;
	}
	p->file = strdup(file);
	p->vm = busiest_vm(&p->run);
	if (!p->vm) {
		fprintf(stderr, "kvmlockstat diff: %s: field 'vms': no VM in this record\n", file);
		return -1;
	}
	p->vcpus = vcpus_of(p->vm);
	for (int i = 0; i < s->n; i++)
		if (s->pts[i].vcpus == p->vcpus) {
			fprintf(stderr, "kvmlockstat diff: %s and %s both have %d vCPUs: one record per "
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
static int load_side(struct side *s)
{
	struct dirent **ents;
	struct stat st;
	int n, err = 0, found = 0;

	if (stat(s->path, &st)) {
		fprintf(stderr, "kvmlockstat diff: %s: %s\n", s->path, strerror(errno));
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
			}
		}
		free(ents[i]);
	}
	free(ents);
	if (!err && !found) {
		fprintf(stderr, "kvmlockstat diff: %s: no kvmlockstat record (*.json with schema %s)\n",
			s->path, RUN_SCHEMA);
		return -1;
	}
	return err;
}

static const struct point *find_row(const struct side *s, int vcpus)
{
	for (int i = 0; i < s->n; i++)
		if (s->pts[i].vcpus == vcpus)
			return &s->pts[i];
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Sorted union of both sides' vCPU counts. */
static int row_keys(const struct side *b, const struct side *a, int *keys)
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

static double value(const struct metric *m, const struct side *s, int vcpus)
{
	const struct point *p = find_row(s, vcpus);

	return p ? m->get(p) : NAN;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static void fmt_rel(char *buf, size_t len, double before, double after)
{
	if (isnan(before) || isnan(after) || before == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%+.1f%%", (after - before) / before * 100);
}

static bool metric_present(const struct metric *m, const struct side *b, const struct side *a,
			   const int *keys, int n)
{
	for (int i = 0; i < n; i++)
		if (!isnan(value(m, b, keys[i])) || !isnan(value(m, a, keys[i])))
			return true;
	return false;
}

static void print_tables(const struct side *b, const struct side *a, const int *keys, int n)
{
	const char *rule = "+-------+--------------+--------------+--------------+----------+\n";

	for (size_t m = 0; m < NR_METRICS; m++) {
		if (!metric_present(&metrics[m], b, a, keys, n))
			continue;
		printf("\n%s (%s)\n%s| %5s | %12s | %12s | %12s | %8s |\n%s", metrics[m].name,
		       metrics[m].unit, rule, "#vCPU", "before", "after", "change", "relative", rule);
		for (int i = 0; i < n; i++) {
			double vb = value(&metrics[m], b, keys[i]), va = value(&metrics[m], a, keys[i]);
			char sb[32], sa[32], sd[32], sr[32];

			fmt_num(sb, sizeof(sb), vb);
			fmt_num(sa, sizeof(sa), va);
			fmt_num(sd, sizeof(sd), va - vb);
			fmt_rel(sr, sizeof(sr), vb, va);
			printf("| %5d | %12s | %12s | %12s | %8s |\n%s", keys[i], sb, sa, sd, sr, rule);
		}
	}
}

static void print_csv(const struct side *b, const struct side *a, const int *keys, int n)
{
	printf("metric,unit,vcpus,before,after,change,relative_pct\n");
	for (size_t m = 0; m < NR_METRICS; m++)
		for (int i = 0; i < n; i++) {
			double vb = value(&metrics[m], b, keys[i]), va = value(&metrics[m], a, keys[i]);
			char sb[32], sa[32], sd[32];

			if (isnan(vb) && isnan(va))
				continue;
			fmt_num(sb, sizeof(sb), vb);
			fmt_num(sa, sizeof(sa), va);
			fmt_num(sd, sizeof(sd), va - vb);
			printf("%s,%s,%d,%s,%s,%s,", metrics[m].name, metrics[m].unit, keys[i],
			       *sb == '-' ? "" : sb, *sa == '-' ? "" : sa, *sd == '-' ? "" : sd);
			if (!isnan(vb) && !isnan(va) && vb != 0)
				printf("%.2f", (va - vb) / vb * 100);
			putchar('\n');
		}
}

/* JSON numbers: null where a side lacks the figure. */
static json_object *json_num(double v)
{
	return isnan(v) ? NULL : json_object_new_double(v);
}

static json_object *json_row(const struct metric *m, const struct side *b, const struct side *a,
			     int vcpus)
{
	double vb = value(m, b, vcpus), va = value(m, a, vcpus);
	json_object *row = json_object_new_object();

	json_object_object_add(row, "vcpus", json_object_new_int(vcpus));
	json_object_object_add(row, "before", json_num(vb));
	json_object_object_add(row, "after", json_num(va));
	json_object_object_add(row, "change", json_num(va - vb));
	json_object_object_add(row, "relative", json_num(vb != 0 ? (va - vb) / vb : NAN));
	return row;
}

static void print_json(const struct side *b, const struct side *a, const int *keys, int n)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(root, "schema", json_object_new_string("kvmlockstat-diff/1"));
	json_object_object_add(root, "before", json_object_new_string(b->path));
	json_object_object_add(root, "after", json_object_new_string(a->path));
	for (size_t m = 0; m < NR_METRICS; m++) {
		json_object *jm, *rows;

		if (!metric_present(&metrics[m], b, a, keys, n))
			continue;
		jm = json_object_new_object();
		rows = json_object_new_array();
		json_object_object_add(jm, "name", json_object_new_string(metrics[m].name));
		json_object_object_add(jm, "unit", json_object_new_string(metrics[m].unit));
		for (int i = 0; i < n; i++)
			json_object_array_add(rows, json_row(&metrics[m], b, a, keys[i]));
		json_object_object_add(jm, "rows", rows);
		json_object_array_add(list, jm);
	}
	json_object_object_add(root, "metrics", list);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

struct diff_opts {
	struct side before, after;
	const char *format;
};

static error_t diff_parse(int key, char *arg, struct argp_state *state)
{
	struct diff_opts *o = state->input;

	switch (key) {
	case 'f':
		if (strcmp(arg, "table") && strcmp(arg, "json") && strcmp(arg, "csv"))
			argp_error(state, "--format: '%s' is not table, json or csv", arg);
		o->format = arg;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num >= 2)
			argp_error(state, "two inputs: BEFORE AFTER");
		(state->arg_num ? &o->after : &o->before)->path = arg;
		return 0;
	case ARGP_KEY_END:
		if (state->arg_num != 2)
			argp_error(state, "two inputs: BEFORE AFTER");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void free_side(struct side *s)
{
	for (int i = 0; i < s->n; i++) {
		run_free(&s->pts[i].run);
		free((void *)s->pts[i].file);
	}
}

int cmd_diff(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{ "format", 'f', "table|json|csv", 0, "Output format (default table)", 0 },
		{},
	};
	struct argp argp = { opts, diff_parse, "BEFORE AFTER",
			     "Compare two runs, or two sweeps (directories of records, one per "
			     "vCPU count), metric by metric, with absolute and relative change." };
	static struct diff_opts o;	/* big: MAX_ROWS runs a side */
	int keys[2 * MAX_ROWS], n, err = 1;

	o.format = "table";
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (load_side(&o.before) || load_side(&o.after))
		goto out;
	n = row_keys(&o.before, &o.after, keys);
	if (!strcmp(o.format, "json"))
		print_json(&o.before, &o.after, keys, n);
	else if (!strcmp(o.format, "csv"))
		print_csv(&o.before, &o.after, keys, n);
	else
		print_tables(&o.before, &o.after, keys, n);
	err = 0;
out:
	free_side(&o.before);
	free_side(&o.after);
	return err;
}
