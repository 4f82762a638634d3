// SPDX-License-Identifier: GPL-2.0
/*
 * mmstorm: contends this process's own mmap_lock (an rwsem), a lock no
 * other process can touch: threads map, fault in and unmap memory, so
 * page faults (read) and mmap/munmap (write) collide.  Used where no
 * /dev/kvm exists to check kvmlockstat's counts against the kernel's.
 *   mmstorm [-s SECONDS] [-t THREADS]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_bool stop;

static void *storm(void *arg)
{
	const size_t len = 256 << 10;

	while (!stop) {
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			perror("mmstorm: mmap");
			exit(1);
		}
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		munmap(p, len);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = 2, threads = 4, opt;
	pthread_t th[64];

	while ((opt = getopt(argc, argv, "s:t:")) != -1) {
		if (opt == 's')
			secs = atoi(optarg);
		else if (opt == 't')
			threads = atoi(optarg);
		else
			return 2;
	}
	if (secs < 1 || threads < 1 || threads > 64) {
		fprintf(stderr, "mmstorm: -s >= 1, 1 <= -t <= 64\n");
		return 2;
	}
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, storm, NULL);
	sleep(secs);
	stop = true;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return 0;
}
