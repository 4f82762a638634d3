// SPDX-License-Identifier: GPL-2.0
/*
 * labmig-progress: the migration lab's logger of the guest's own progress.
 *
 *   labmig-progress [-i SECONDS] SRC.ram DST.ram OUT.csv
 *
 * Reads the guest's page counter (layout.h) from the RAM files of the source and
 * the destination QEMU (memory-backend-file,share=on) every interval and appends
 * "unix_time,rate" (pages written per second over the interval) to OUT.csv, one
 * flushed line at a time, until SIGTERM/SIGINT. The count that counts is the larger
 * of the two: the destination's RAM holds older copies of the page until it runs,
 * then carries on from the source's last count. A file that does not exist yet
 * (the destination before it starts) counts as 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"

struct ram {
	const char *path;
	const volatile uint8_t *map;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Maps the counter page once the file is there and long enough. QEMU creates the
 * file before it sizes it, and mmap() past the end succeeds but the first read
 * then dies of SIGBUS: hence the size check, not just open().
 */
static void ram_map(struct ram *r)
{
	struct stat st;
	void *p;
	int fd;

	if (r->map)
		return;
	fd = open(r->path, O_RDONLY);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || st.st_size < LM_COUNTER_HI + 4) {
		close(fd);
		return;
	}
	p = mmap(NULL, LM_PAGE, PROT_READ, MAP_SHARED, fd, LM_COUNTER & ~(LM_PAGE - 1));
	close(fd);
	if (p != MAP_FAILED)
		r->map = p;
}

/* The count, whole: retried while its high word and the copy after it differ. */
static uint64_t ram_count(struct ram *r)
{
	size_t off = LM_COUNTER & (LM_PAGE - 1);
	uint32_t hi;
	uint64_t v;

	ram_map(r);
	if (!r->map)
		return 0;
	do {
		hi = *(const volatile uint32_t *)(r->map + off + (LM_COUNTER_HI - LM_COUNTER));
		__sync_synchronize();
		v = *(const volatile uint64_t *)(r->map + off);
	} while ((uint32_t)(v >> 32) != hi);
	return v;
}

static uint64_t count(struct ram *src, struct ram *dst)
{
	uint64_t a = ram_count(src), b = ram_count(dst);

	return a > b ? a : b;
}

static int usage(void)
{
	fprintf(stderr, "usage: labmig-progress [-i SECONDS] SRC.ram DST.ram OUT.csv\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ram src = { 0 }, dst = { 0 };
	double interval = 0.5, t0, t1;
	uint64_t c0, c1;
	char *end;
	FILE *out;
	int opt;

	while ((opt = getopt(argc, argv, "i:")) != -1) {
		if (opt != 'i')
			return usage();
		interval = strtod(optarg, &end);
		if (*end || !(interval >= 0.01 && interval <= 60)) {
			fprintf(stderr, "labmig-progress: -i %s: seconds between 0.01 and 60\n", optarg);
			return 2;
		}
	}
	if (argc - optind != 3)
		return usage();
	src.path = argv[optind];
	dst.path = argv[optind + 1];
	out = fopen(argv[optind + 2], "w");
	if (!out) {
		fprintf(stderr, "labmig-progress: %s: %s\n", argv[optind + 2], strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fprintf(out, "unix_time,rate\n");
	fflush(out);
	t0 = now();
	c0 = count(&src, &dst);
	while (!stop) {
		usleep((useconds_t)(interval * 1e6));
		t1 = now();
		c1 = count(&src, &dst);
		/* A count that went back (a restarted guest) is a new start, not a rate. */
		if (c1 >= c0)
			fprintf(out, "%.6f,%.1f\n", t1, (double)(c1 - c0) / (t1 - t0));
		fflush(out);
		t0 = t1;
		c0 = c1;
	}
	return fclose(out) ? 1 : 0;
}
