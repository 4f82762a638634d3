// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlockstat diff BEFORE AFTER: each side is a record or a directory of
 * records (a lab sweep, one record per vCPU count).  Rows are matched by
 * the traced VM's vCPU count and printed per metric in the layout of the
 * seed's cover letter, with absolute and relative change; or as JSON/CSV.
 */
#include <argp.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <json.h>
#include "cli.h"
#include "cmd.h"
#include "sweep.h"

static double value(const struct metric *m, const struct side *s, int vcpus)
{
	return sweep_value(m, s, vcpus);
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

	for (size_t m = 0; m < sweep_nr_metrics; m++) {
		if (!metric_present(&sweep_metrics[m], b, a, keys, n))
			continue;
		printf("\n%s (%s)\n%s| %5s | %12s | %12s | %12s | %8s |\n%s", sweep_metrics[m].name,
		       sweep_metrics[m].unit, rule, "#vCPU", "before", "after", "change", "relative", rule);
		for (int i = 0; i < n; i++) {
			double vb = value(&sweep_metrics[m], b, keys[i]), va = value(&sweep_metrics[m], a, keys[i]);
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
	for (size_t m = 0; m < sweep_nr_metrics; m++)
		for (int i = 0; i < n; i++) {
			double vb = value(&sweep_metrics[m], b, keys[i]), va = value(&sweep_metrics[m], a, keys[i]);
			char sb[32], sa[32], sd[32];

			if (isnan(vb) && isnan(va))
				continue;
			fmt_num(sb, sizeof(sb), vb);
			fmt_num(sa, sizeof(sa), va);
			fmt_num(sd, sizeof(sd), va - vb);
			/* A missing side is an empty cell; a leading '-' is a decrease. */
			printf("%s,%s,%d,%s,%s,%s,", sweep_metrics[m].name, sweep_metrics[m].unit, keys[i],
			       isnan(vb) ? "" : sb, isnan(va) ? "" : sa, isnan(va - vb) ? "" : sd);
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
	for (size_t m = 0; m < sweep_nr_metrics; m++) {
		json_object *jm, *rows;

		if (!metric_present(&sweep_metrics[m], b, a, keys, n))
			continue;
		jm = json_object_new_object();
		rows = json_object_new_array();
		json_object_object_add(jm, "name", json_object_new_string(sweep_metrics[m].name));
		json_object_object_add(jm, "unit", json_object_new_string(sweep_metrics[m].unit));
		for (int i = 0; i < n; i++)
			json_object_array_add(rows, json_row(&sweep_metrics[m], b, a, keys[i]));
		json_object_object_add(jm, "rows", rows);
		json_object_array_add(list, jm);
	}
	json_object_object_add(root, "metrics", list);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

int cmd_diff(int argc, char **argv)
{
	static const struct argp_option opts[] = {
		{ "format", 'f', "table|json|csv", 0, "Output format (default table)", 0 },
		{},
	};
	struct argp argp = { opts, sweep_args_parse, "BEFORE AFTER",
			     "Compare two runs, or two sweeps (directories of records, one per "
			     "vCPU count, with kvm-dirtylog's reports beside them), metric by "
			     "metric, with absolute and relative change." };
	static struct sweep_args o;	/* big: MAX_ROWS runs a side */
	int keys[2 * MAX_ROWS], n, err = 1;

	o.format = "table";
	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (sweep_args_load(&o))
		goto out;
	n = sweep_keys(&o.before, &o.after, keys);
	if (!strcmp(o.format, "json"))
		print_json(&o.before, &o.after, keys, n);
	else if (!strcmp(o.format, "csv"))
		print_csv(&o.before, &o.after, keys, n);
	else
		print_tables(&o.before, &o.after, keys, n);
	err = 0;
out:
	sweep_free(&o.before);
	sweep_free(&o.after);
	return err;
}
