// SPDX-License-Identifier: GPL-2.0
/*
 * --timeline.  Rows are appended to PATH.part and flushed to disk at every
 * interval, so a run that is killed keeps every interval it recorded; the
 * end of the run renames the file into place.  Every VM known so far gets
 * a row in every interval (zeros when idle), so a VM's rows cover the run
 * and add up to its totals.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, strsep */
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "timeline.h"

#define COL(name, kind, field) { name, kind, offsetof(struct timeline_row, field) }
#define COLN(name, kind, field, needs) \
	{ name, kind, offsetof(struct timeline_row, field), false, needs }
#define CN(name, field) COL("waits_" name, TC_U64, field.count), \
			COL("wait_ns_" name, TC_U64, field.total_ns)

const struct timeline_col timeline_cols[] = {
	COL("interval", TC_U32, interval),
	COL("t_start_s", TC_SECONDS, t_start_s),
	COL("t_end_s", TC_SECONDS, t_end_s),
	COL("unix_start", TC_SECONDS, unix_start),
	COL("unix_end", TC_SECONDS, unix_end),
	COL("vm", TC_HEX, kvm),
	COL("pid", TC_U32, pid),
	COL("comm", TC_COMM, comm),
	COLN("faults_translation", TC_U64, faults[FAULT_TRANSLATION], TM_FAULT_TYPES),
	COLN("faults_permission", TC_U64, faults[FAULT_PERMISSION], TM_FAULT_TYPES),
	COLN("faults_access", TC_U64, faults[FAULT_ACCESS], TM_FAULT_TYPES),
	COLN("faults_other", TC_U64, faults[FAULT_OTHER], TM_FAULT_TYPES),
	/* All faults: the types' sum, or KVM's count where faults were not probed. */
	{ "faults_total", TC_U64, offsetof(struct timeline_row, faults_total), true, TM_FAULTS },
	COLN("fast_path_fast", TC_U64, fast_path_fast, TM_FAST_PATH),
	COLN("fast_path_slow", TC_U64, fast_path_slow, TM_FAST_PATH),
	COLN("fast_path_share", TC_SHARE, fast_path_share, TM_FAST_PATH),
	COL("waits_read", TC_U64, waits[MODE_READ].count),
	COL("waits_write", TC_U64, waits[MODE_WRITE].count),
	COL("waits_spin", TC_U64, waits[MODE_SPIN].count),
	COL("waits_mutex", TC_U64, waits[MODE_MUTEX].count),
	COL("waits_other", TC_U64, waits[MODE_OTHER].count),
	COL("wait_ns_read", TC_U64, waits[MODE_READ].total_ns),
	COL("wait_ns_write", TC_U64, waits[MODE_WRITE].total_ns),
	COL("wait_ns_spin", TC_U64, waits[MODE_SPIN].total_ns),
	COL("wait_ns_mutex", TC_U64, waits[MODE_MUTEX].total_ns),
	COL("wait_ns_other", TC_U64, waits[MODE_OTHER].total_ns),
	COL("waits_dirty_log", TC_U64, paths[WP_DIRTY_LOG].count),
	COL("waits_mmu_notifier", TC_U64, paths[WP_MMU_NOTIFIER].count),
	COL("waits_fault", TC_U64, paths[WP_FAULT].count),
	COL("waits_other_path", TC_U64, paths[WP_OTHER].count),
	COL("wait_ns_dirty_log", TC_U64, paths[WP_DIRTY_LOG].total_ns),
	COL("wait_ns_mmu_notifier", TC_U64, paths[WP_MMU_NOTIFIER].total_ns),
	COL("wait_ns_fault", TC_U64, paths[WP_FAULT].total_ns),
	COL("wait_ns_other_path", TC_U64, paths[WP_OTHER].total_ns),
	COLN("get_dirty_log_calls", TC_U64, get_dirty_log.count, TM_DIRTY_LOG),
	COLN("get_dirty_log_ns", TC_U64, get_dirty_log.total_ns, TM_DIRTY_LOG),
	COLN("clear_dirty_log_calls", TC_U64, clear_dirty_log.count, TM_DIRTY_LOG),
	COLN("clear_dirty_log_ns", TC_U64, clear_dirty_log.total_ns, TM_DIRTY_LOG),
};
const size_t nr_timeline_cols = sizeof(timeline_cols) / sizeof(timeline_cols[0]);

struct timeline {
	char *path, *part;
	FILE *f;
};

/* ---- one column's value ---- */

#define FIELD(row, col, type) ((type *)((char *)(row) + (col)->off))

void timeline_format(const struct timeline_col *col, const struct timeline_row *row,
		     char *buf, size_t len)
{
	struct timeline_row *r = (struct timeline_row *)row;
	double d;

	if (r->unmeasured & col->needs) {
		buf[0] = '\0';		/* not measured: no figure, not 0 */
		return;
	}
	switch (col->kind) {
	case TC_U32: snprintf(buf, len, "%" PRIu32, *FIELD(r, col, uint32_t)); break;
	case TC_U64: snprintf(buf, len, "%" PRIu64, *FIELD(r, col, uint64_t)); break;
	case TC_HEX: snprintf(buf, len, "0x%" PRIx64, *FIELD(r, col, uint64_t)); break;
	case TC_SECONDS: snprintf(buf, len, "%.6f", *FIELD(r, col, double)); break;
	case TC_SHARE:
		d = *FIELD(r, col, double);
		if (d < 0)
			buf[0] = '\0';
		else
			snprintf(buf, len, "%.6f", d);
		break;
	case TC_COMM:
		/* No separators, quotes or control characters: the CSV needs no quoting. */
		snprintf(buf, len, "%s", FIELD(r, col, char));
		for (char *p = buf; *p; p++)
			if (*p == ',' || *p == '"' || (unsigned char)*p < 0x20)
				*p = '_';
		break;
	}
}

static int parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	*v = strtoull(s, &end, base);
	return errno || *end ? -EINVAL : 0;
}

int timeline_parse(const struct timeline_col *col, struct timeline_row *row, const char *s)
{
	uint64_t v;
	double d;
	char *end;

	if (!*s && col->needs && col->kind != TC_SHARE) {
		row->unmeasured |= col->needs;
		return 0;
	}
	switch (col->kind) {
	case TC_U32:
		if (parse_u64(s, 10, &v) || v > UINT32_MAX)
			return -EINVAL;
		*FIELD(row, col, uint32_t) = v;
		return 0;
	case TC_U64:
	case TC_HEX:
		if (col->kind == TC_HEX && strncmp(s, "0x", 2))
			return -EINVAL;
		if (parse_u64(col->kind == TC_HEX ? s + 2 : s, col->kind == TC_HEX ? 16 : 10, &v))
			return -EINVAL;
		*FIELD(row, col, uint64_t) = v;
		return 0;
	case TC_SECONDS:
	case TC_SHARE:
		if (col->kind == TC_SHARE && !*s) {
			*FIELD(row, col, double) = -1;
			return 0;
		}
		errno = 0;
		d = strtod(s, &end);
		if (errno || end == s || *end || !isfinite(d) || d < 0 ||
		    (col->kind == TC_SHARE && d > 1))
			return -EINVAL;
		*FIELD(row, col, double) = d;
		return 0;
	case TC_COMM:
		snprintf(FIELD(row, col, char), TASK_COMM_LEN, "%s", s);
		return 0;
	}
	return -EINVAL;
}

static void write_row(FILE *f, const struct timeline_row *row)
{
	char buf[64];

	for (size_t i = 0; i < nr_timeline_cols; i++) {
		timeline_format(&timeline_cols[i], row, buf, sizeof(buf));
		fprintf(f, "%s%s", i ? "," : "", buf);
	}
	fputc('\n', f);
}

/* Pushes the interval's lines to disk: a killed run keeps them. */
static int sync_file(struct timeline *t)
{
	if (fflush(t->f) || ferror(t->f) || fsync(fileno(t->f)))
		return -errno ? -errno : -EIO;
	return 0;
}

struct timeline *timeline_open(const char *path)
{
	struct timeline *t = calloc(1, sizeof(*t));

	if (!t || !(t->path = strdup(path)) || asprintf(&t->part, "%s.part", path) < 0) {
		fprintf(stderr, "kvmlockstat: --timeline: out of memory\n");
		if (t)
			free(t->path);
		free(t);
		return NULL;
	}
	t->f = fopen(t->part, "w");
	if (!t->f) {
		fprintf(stderr, "kvmlockstat: --timeline: cannot create %s: %s\n", t->part,
			strerror(errno));
		free(t->part);
		free(t->path);
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < nr_timeline_cols; i++)
		fprintf(t->f, "%s%s", i ? "," : "", timeline_cols[i].name);
	fputc('\n', t->f);
	return t;
}

int timeline_write(struct timeline *t, const struct timeline_row *rows, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		write_row(t->f, &rows[i]);
	err = sync_file(t);
	if (err)
		fprintf(stderr, "kvmlockstat: --timeline: writing %s: %s\n", t->part, strerror(-err));
	return err;
}

int timeline_close(struct timeline *t, bool keep)
{
	int err = 0;

	if (!t)
		return 0;
	err = sync_file(t);
	if (fclose(t->f) && !err)
		err = -errno;
	if (keep && !err && rename(t->part, t->path))
		err = -errno;
	if (err)
		fprintf(stderr, "kvmlockstat: --timeline: %s: %s%s\n", t->path, strerror(-err),
			keep ? " (what was recorded stays in the .part file)" : "");
	if (!keep)
		unlink(t->part);
	free(t->part);
	free(t->path);
	free(t);
	return err;
}

/* ---- reading the CSV back (plot) ---- */

static int csv_fail(char *err, size_t len, const char *path, size_t line, const char *what)
{
	snprintf(err, len, "%s:%zu: %s", path, line, what);
	return -EINVAL;
}

/* Column index of each header field (-1: a column this version does not know). */
static int read_header(char *line, int *map, size_t *nf, const char *path, char *err, size_t len)
{
	bool seen[sizeof(timeline_cols) / sizeof(timeline_cols[0])] = {};
	char *f;

	*nf = 0;
	while ((f = strsep(&line, ",")) && *nf < 256) {
		int c = -1;

		for (size_t i = 0; i < nr_timeline_cols; i++)
			if (!strcmp(f, timeline_cols[i].name))
				c = i;
		if (c >= 0)
			seen[c] = true;
		map[(*nf)++] = c;
	}
	for (size_t i = 0; i < nr_timeline_cols; i++)
		if (!seen[i] && !timeline_cols[i].since_0_2) {
			char what[96];

			snprintf(what, sizeof(what), "not a kvmlockstat timeline: no column %s",
				 timeline_cols[i].name);
			return csv_fail(err, len, path, 1, what);
		}
	return 0;
}

static int read_row(char *line, const int *map, size_t nf, struct timeline_row *row)
{
	size_t i = 0;
	char *f;

	memset(row, 0, sizeof(*row));
	for (; (f = strsep(&line, ",")); i++) {
		if (i >= nf)
			return -EINVAL;
		if (map[i] >= 0 && timeline_parse(&timeline_cols[map[i]], row, f))
			return -(int)(i + 1);	/* which field */
	}
	return i == nf ? 0 : -EINVAL;
}

int timeline_read_csv(const char *path, struct timeline_row **rows, size_t *n,
		      char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int map[256], ret = 0;
	size_t nf = 0, lineno = 0, cap = 0, len = 0;
	char *line = NULL;

	*rows = NULL;
	*n = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (!ret && getline(&line, &len, f) > 0) {
		struct timeline_row *grown;

		line[strcspn(line, "\r\n")] = '\0';
		if (!lineno++) {
			ret = read_header(line, map, &nf, path, err, errlen);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(*rows, cap * sizeof(**rows));
			if (!grown) {
				ret = csv_fail(err, errlen, path, lineno, "out of memory");
				break;
			}
			*rows = grown;
		}
		ret = read_row(line, map, nf, &(*rows)[*n]);
		if (ret == -EINVAL)
			ret = csv_fail(err, errlen, path, lineno, "wrong number of fields");
		else if (ret < 0) {
			char what[96];

			snprintf(what, sizeof(what), "bad value in column %d", -ret);
			ret = csv_fail(err, errlen, path, lineno, what);
		} else
			(*n)++;
	}
	if (!ret && !lineno)
		ret = csv_fail(err, errlen, path, 1, "empty file");
	free(line);
	fclose(f);
	if (ret) {
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	return ret;
}

/* ---- report ---- */

static uint64_t row_waits(const struct timeline_row *row)
{
	uint64_t n = 0;

	for (int p = 0; p < NR_WAIT_PATHS; p++)
		n += row->paths[p].count;
	return n;
}

/* By VMM pid: a VM's rows say vm 0x0 until the probes have named it. */
static void vm_summary(FILE *f, const struct run *r, uint32_t pid)
{
	struct count_ns paths[NR_WAIT_PATHS] = {};
	const struct timeline_row *peak = NULL, *first_perm = NULL;
	size_t rows = 0, perm_rows = 0, log_rows = 0, log_measured = 0;
	uint64_t waits = 0, kvm = 0;

	for (size_t i = 0; i < r->nr_timeline; i++) {
		const struct timeline_row *row = &r->timeline[i];

		if (row->pid != pid)
			continue;
		rows++;
		kvm = row->kvm ? row->kvm : kvm;
		for (int p = 0; p < NR_WAIT_PATHS; p++) {
			paths[p].count += row->paths[p].count;
			paths[p].total_ns += row->paths[p].total_ns;
		}
		waits += row_waits(row);
		if (!peak || row_waits(row) > row_waits(peak))
			peak = row;
		if (row->faults[FAULT_PERMISSION] && !perm_rows++)
			first_perm = row;
		log_rows += row->get_dirty_log.count || row->clear_dirty_log.count;
		log_measured += !(row->unmeasured & TM_DIRTY_LOG);
	}
	fprintf(f, "  VM pid %u kvm 0x%" PRIx64 ": %zu rows, %" PRIu64 " mmu_lock waits", pid, kvm,
		rows, waits);
	for (int p = 0; p < NR_WAIT_PATHS; p++)
		fprintf(f, "%s %s %" PRIu64 " (%.3f ms)", p ? "," : ":", wait_path_names[p],
			paths[p].count, paths[p].total_ns / 1e6);
	fputc('\n', f);
	if (peak && row_waits(peak))
		fprintf(f, "    peak %.3f-%.3f s: %" PRIu64 " waits\n", peak->t_start_s,
			peak->t_end_s, row_waits(peak));
	if (first_perm)
		fprintf(f, "    permission faults in %zu intervals, from %.3f s\n", perm_rows,
			first_perm->t_start_s);
	if (log_measured)
		fprintf(f, "    dirty-log ioctls in %zu intervals\n", log_rows);
	else
		fprintf(f, "    dirty-log ioctls: not measured\n");
}

void timeline_summary(FILE *f, const struct run *r)
{
	const struct timeline_row *last;

	if (!r->nr_timeline)
		return;
	last = &r->timeline[r->nr_timeline - 1];
	fprintf(f, "\nTimeline: %u intervals, %.3f-%.3f s (unix %.3f-%.3f)\n", last->interval + 1,
		r->timeline[0].t_start_s, last->t_end_s, r->timeline[0].unix_start, last->unix_end);
	for (size_t i = 0; i < r->nr_timeline; i++) {
		bool first = true;

		/* Each VM once, in the order of its first row. */
		for (size_t j = 0; j < i && first; j++)
			first = r->timeline[j].pid != r->timeline[i].pid;
		if (first)
			vm_summary(f, r, r->timeline[i].pid);
	}
}
