// SPDX-License-Identifier: GPL-2.0
/*
 * --timeline: rows built from drained intervals as the live loop hands them
 * over, the CSV on disk after each interval and once finalised, read back,
 * and the record's timeline array through a JSON round trip.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "model.h"
#include "record.h"
#include "timeline.h"
#include "testutil.h"

#define KVM1 0xffff888100010000ULL
#define LOCK1 (KVM1 + 0x40)

static void add_stack(struct lock_rec *l, int32_t id, uint32_t tid, enum wait_path p,
		      uint64_t count, uint64_t ns)
{
	struct stack_rec *s = lock_stack(l, id, tid, MODE_WRITE);

	s->count = count;
	s->total_ns = ns;
	s->path = p;
}

/* One interval of VM 1: 5 write waits (3 dirty log, 2 notifier), 10 permission faults. */
static void busy_interval(struct run *d)
{
	struct lock_rec *l = run_lock(d, LOCK1);
	struct vm_rec *v = run_vm(d, 100, KVM1);
	struct vcpu_rec *c = vm_vcpu(v, 101, 0);

	l->kvm = KVM1;
	l->mode[MODE_WRITE] = (struct wait_stat){ .count = 5, .total_ns = 5000, .min_ns = 1,
						  .max_ns = 2000 };
	add_stack(l, 1, 102, WP_DIRTY_LOG, 3, 4000);
	add_stack(l, 2, 103, WP_MMU_NOTIFIER, 2, 1000);
	v->mmu_lock = LOCK1;
	strcpy(v->comm, "qemu,vm");		/* a comma the CSV must not carry */
	c->fault[FAULT_PERMISSION].count = 10;
	c->fault[FAULT_TRANSLATION].count = 1;
	c->path[PATH_RELAX_READ] = 8;
	c->path[PATH_RELAX_WRITE] = 2;
	v->timing[VT_GET_DIRTY_LOG][MODE_OTHER] = (struct wait_stat){ .count = 4, .total_ns = 400 };
}

/* What the live loop does each interval: merge, then hand over. */
static void interval(struct timeline *t, struct run *total, struct run *delta, double t0, double t1,
		     uint32_t index)
{
	struct interval_span iv = { t0, t1, 1700000000.0 + t0, index };
	size_t first = total->nr_timeline;

	assert_int_equal(run_merge(total, delta), 0);
	assert_int_equal(run_add_interval_rows(total, delta, &iv), 0);
	assert_int_equal(timeline_write(t, &total->timeline[first], total->nr_timeline - first), 0);
	run_free(delta);
}

static int count_lines(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);
	int n = 0;

	if (!buf)
		return -1;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	free(buf);
	return n;
}

/* The fault family's backends of the run; "" for a figure not measured. */
static const char *backends[NR_FAULT_METRICS] = {
	[FM_FAULTS] = "fentry", [FM_FAST_PATH] = "fentry", [FM_DIRTY_LOG] = "fentry",
};

/* Two intervals, two VMs (one idle throughout): the file grows per interval. */
static void record_two_intervals(struct run *total, const char *path)
{
	char part[600];
	struct timeline *t;
	struct run d;

	run_init(total);
	for (int m = 0; m < NR_FAULT_METRICS; m++)
		snprintf(total->metric_backend[m], sizeof(total->metric_backend[m]), "%s",
			 backends[m] ? backends[m] : "");
	run_vm(total, 200, 0)->nr_vcpus = 1;	/* a VMM seen only in /proc */
	snprintf(part, sizeof(part), "%s.part", path);
	t = timeline_open(path);
	assert_non_null(t);
	run_init(&d);
	busy_interval(&d);
	interval(t, total, &d, 0, 0.5, 0);
	/* A killed run keeps this much: header + one row per VM, on disk now. */
	assert_int_equal(count_lines(part), 3);
	assert_int_equal(access(path, F_OK), -1);
	run_init(&d);
	interval(t, total, &d, 0.5, 0.75, 1);
	assert_int_equal(count_lines(part), 5);
	assert_int_equal(timeline_close(t, true), 0);
	assert_int_equal(access(part, F_OK), -1);
}

static void csv_rows(void **state)
{
	char *dir = make_temp_dir(), path[512], err[256];
	struct timeline_row *rows;
	struct run total;
	size_t n;

	snprintf(path, sizeof(path), "%s/t.csv", dir);
	record_two_intervals(&total, path);
	assert_int_equal(timeline_read_csv(path, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(total.nr_timeline, 4);
	/* Interval 0, VM 100. */
	assert_int_equal(rows[0].interval, 0);
	assert_int_equal(rows[0].pid, 200);	/* total's VM order: the /proc VMM came first */
	assert_int_equal(rows[1].pid, 100);
	assert_int_equal(rows[1].kvm, KVM1);
	assert_string_equal(rows[1].comm, "qemu_vm");
	assert_int_equal(rows[1].faults[FAULT_PERMISSION], 10);
	assert_int_equal(rows[1].faults[FAULT_TRANSLATION], 1);
	assert_int_equal(rows[1].fast_path_fast, 8);
	assert_int_equal(rows[1].fast_path_slow, 2);
	assert_true(rows[1].fast_path_share > 0.79 && rows[1].fast_path_share < 0.81);
	assert_int_equal(rows[1].waits[MODE_WRITE].count, 5);
	assert_int_equal(rows[1].waits[MODE_WRITE].total_ns, 5000);
	assert_int_equal(rows[1].paths[WP_DIRTY_LOG].count, 3);
	assert_int_equal(rows[1].paths[WP_DIRTY_LOG].total_ns, 4000);
	assert_int_equal(rows[1].paths[WP_MMU_NOTIFIER].count, 2);
	assert_int_equal(rows[1].paths[WP_FAULT].count, 0);
	assert_int_equal(rows[1].get_dirty_log.count, 4);
	assert_int_equal(rows[1].get_dirty_log.total_ns, 400);
	assert_true(rows[1].unix_end - rows[1].unix_start > 0.4999);
	/* The idle VM and the idle interval: zero rows, share undefined. */
	assert_int_equal(rows[0].waits[MODE_WRITE].count, 0);
	assert_true(rows[0].fast_path_share < 0);
	assert_int_equal(rows[3].interval, 1);
	assert_true(rows[3].t_start_s == 0.5 && rows[3].t_end_s == 0.75);
	assert_int_equal(rows[3].faults[FAULT_PERMISSION], 0);
	assert_true(rows[3].fast_path_share < 0);
	/* The rows add up to the run's totals. */
	assert_int_equal(rows[1].waits[MODE_WRITE].count + rows[3].waits[MODE_WRITE].count,
			 run_find_lock(&total, LOCK1)->mode[MODE_WRITE].count);
	free(rows);
	run_free(&total);
	remove_dir(dir);
	free(dir);
}

/*
 * A run whose faults came from KVM's counters and whose dirty-log probes
 * were refused: those cells are empty (CSV) and null (JSON), never 0, they
 * read back as not measured, and the report says so.
 */
static void not_measured_is_not_zero(void **state)
{
	char *dir = make_temp_dir(), path[512], json[512], err[256], *text = NULL, *csv;
	struct timeline_row *rows;
	struct run total, back;
	size_t n, len = 0;
	FILE *f;

	backends[FM_FAULTS] = "kvm_stats";
	backends[FM_DIRTY_LOG] = NULL;
	snprintf(path, sizeof(path), "%s/t.csv", dir);
	snprintf(json, sizeof(json), "%s/r.json", dir);
	record_two_intervals(&total, path);
	backends[FM_FAULTS] = backends[FM_DIRTY_LOG] = "fentry";
	csv = slurp(path, &len);
	assert_non_null(csv);
	/* Row 2 (VM 100): faults_translation..faults_other empty, get/clear_dirty_log_* empty. */
	assert_non_null(strstr(csv, ",qemu_vm,,,,,"));
	assert_non_null(strstr(csv, ",,,,\n"));
	free(csv);
	assert_int_equal(timeline_read_csv(path, &rows, &n, err, sizeof(err)), 0);
	assert_int_equal(rows[1].unmeasured, TM_FAULT_TYPES | TM_DIRTY_LOG);
	free(rows);

	strcpy(total.schema, RUN_SCHEMA);
	assert_int_equal(record_write(json, &total, NULL), 0);
	text = slurp(json, &len);
	assert_non_null(strstr(text, "\"get_dirty_log_calls\":null"));
	assert_non_null(strstr(text, "\"faults_permission\":null"));
	assert_null(strstr(text, "\"faults_total\":null"));	/* KVM counted them */
	free(text);
	assert_int_equal(record_read(json, &back, err, sizeof(err)), 0);
	assert_int_equal(back.timeline[1].unmeasured, TM_FAULT_TYPES | TM_DIRTY_LOG);
	text = NULL;
	f = open_memstream(&text, &len);
	timeline_summary(f, &back);
	fclose(f);
	assert_non_null(strstr(text, "dirty-log ioctls: not measured"));
	assert_null(strstr(text, "dirty-log ioctls in"));
	free(text);
	run_free(&total);
	run_free(&back);
	remove_dir(dir);
	free(dir);
}

static void same_row(const struct timeline_row *a, const struct timeline_row *b)
{
	for (size_t c = 0; c < nr_timeline_cols; c++) {
		char x[64], y[64];

		timeline_format(&timeline_cols[c], a, x, sizeof(x));
		timeline_format(&timeline_cols[c], b, y, sizeof(y));
		if (strcmp(x, y))
			fail_msg("column %s: \"%s\" != \"%s\"", timeline_cols[c].name, x, y);
	}
}

static void json_round_trip_and_report(void **state)
{
	char *dir = make_temp_dir(), path[512], json[512], err[256], *text = NULL;
	struct run total, back;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.csv", dir);
	snprintf(json, sizeof(json), "%s/r.json", dir);
	record_two_intervals(&total, path);
	strcpy(total.schema, RUN_SCHEMA);
	assert_int_equal(record_write(json, &total, NULL), 0);
	assert_int_equal(record_read(json, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nr_timeline, total.nr_timeline);
	for (size_t i = 0; i < total.nr_timeline; i++)
		same_row(&total.timeline[i], &back.timeline[i]);
	/* The stacks keep their path, so the per-VM split survives too. */
	{
		struct count_ns p[NR_WAIT_PATHS];

		lock_wait_paths(run_find_lock(&back, LOCK1), p);
		assert_int_equal(p[WP_DIRTY_LOG].count, 3);
		assert_int_equal(p[WP_MMU_NOTIFIER].total_ns, 1000);
	}
	f = open_memstream(&text, &len);
	timeline_summary(f, &back);
	fclose(f);
	assert_non_null(strstr(text, "Timeline: 2 intervals, 0.000-0.750 s"));
	assert_non_null(strstr(text, "VM pid 100 kvm 0xffff888100010000: 2 rows, 5 mmu_lock waits:"
				     " dirty_log 3 (0.004 ms), mmu_notifier 2 (0.001 ms)"));
	assert_non_null(strstr(text, "permission faults in 1 intervals, from 0.000 s"));
	assert_non_null(strstr(text, "VM pid 200"));
	free(text);
	run_free(&total);
	run_free(&back);
	remove_dir(dir);
	free(dir);
}

static void expect_csv_error(const char *dir, const char *text, const char *needle)
{
	char *path = write_file_in(dir, "bad.csv", text), err[512] = "";
	struct timeline_row *rows;
	size_t n;

	assert_non_null(path);
	assert_int_not_equal(timeline_read_csv(path, &rows, &n, err, sizeof(err)), 0);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	assert_null(rows);
	unlink(path);
	free(path);
}

/* A real header with one good row, for variations. */
static char *header_and(const char *row)
{
	char *s = NULL, buf[64];
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	struct timeline_row r = { .fast_path_share = -1 };

	for (size_t c = 0; c < nr_timeline_cols; c++)
		fprintf(f, "%s%s", c ? "," : "", timeline_cols[c].name);
	fputc('\n', f);
	for (size_t c = 0; c < nr_timeline_cols; c++) {
		timeline_format(&timeline_cols[c], &r, buf, sizeof(buf));
		fprintf(f, "%s%s", c ? "," : "", buf);
	}
	fprintf(f, "\n%s", row);
	fclose(f);
	return s;
}

static void csv_errors(void **state)
{
	char *dir = make_temp_dir(), *text;

	expect_csv_error(dir, "", "empty file");
	expect_csv_error(dir, "interval,t_start_s\n0,0\n", "no column t_end_s");
	text = header_and("1,2\n");
	expect_csv_error(dir, text, ":3: wrong number of fields");
	free(text);
	text = header_and("");
	text[strlen(text) - 2] = 'x';		/* last field of row 2: not a number */
	expect_csv_error(dir, text, ":2: bad value in column");
	free(text);
	remove_dir(dir);
	free(dir);
}

static void expect_record_error(const char *timeline, const char *needle)
{
	char text[1024], err[512] = "";
	struct run r;

	snprintf(text, sizeof(text), "{\"schema\": \"kvmlockstat-run/1\", \"host\": {}, \"run\": {},"
		 " \"vms\": [], \"locks\": [], \"timeline\": %s}", timeline);
	assert_int_not_equal(record_parse("bad.json", text, strlen(text), &r, err, sizeof(err)), 0);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void record_errors(void **state)
{
	expect_record_error("{}", "timeline");
	expect_record_error("[{}]", "timeline[0].interval");
	expect_record_error("[{\"interval\": 0, \"t_start_s\": \"soon\"}]", "timeline[0].t_start_s");
	expect_record_error("[{\"interval\": 0, \"t_start_s\": -1}]", "timeline[0].t_start_s");
}

static void discarded_or_uncreatable(void **state)
{
	char *dir = make_temp_dir(), path[512];
	struct timeline *t;

	snprintf(path, sizeof(path), "%s/t.csv", dir);
	t = timeline_open(path);
	assert_non_null(t);
	assert_int_equal(timeline_close(t, false), 0);
	assert_int_equal(count_entries(dir), 0);
	snprintf(path, sizeof(path), "%s/no/t.csv", dir);
	assert_null(timeline_open(path));
	assert_int_equal(count_entries(dir), 0);
	remove_dir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csv_rows),
		cmocka_unit_test(json_round_trip_and_report),
		cmocka_unit_test(csv_errors),
		cmocka_unit_test(record_errors),
		cmocka_unit_test(not_measured_is_not_zero),
		cmocka_unit_test(discarded_or_uncreatable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
