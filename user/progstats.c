// SPDX-License-Identifier: GPL-2.0
/*
 * --prog-stats.  The programs are found through this process's own file
 * descriptors (anon_inode:bpf-prog), so every family and backend that got
 * loaded is listed without the families handing their skeletons over.
 * The kernel counts run time inside the program only: the trampoline or
 * kprobe breakpoint that enters it is not included.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "progstats.h"

int progstats_enable(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0)
		fprintf(stderr, "kvmlockstat: --prog-stats: BPF_ENABLE_STATS refused (%s): "
			"run times will read 0 unless kernel.bpf_stats_enabled=1\n", strerror(errno));
	return fd;
}

static int is_prog_fd(int dirfd, const char *name)
{
	char link[64];
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);

	if (n < 0)
		return 0;
	link[n] = 0;
	return !strcmp(link, "anon_inode:bpf-prog");
}

/* The program's full name from its BTF (info.name stops at 15 characters). */
static void full_name(int fd, const struct bpf_prog_info *info, char *name, size_t len)
{
	struct bpf_func_info fi = {};
	struct bpf_prog_info more = { .nr_func_info = 1, .func_info_rec_size = sizeof(fi),
				      .func_info = (__u64)(unsigned long)&fi };
	__u32 more_len = sizeof(more);
	struct btf *btf = NULL;
	const struct btf_type *t;

	snprintf(name, len, "%s", info->name);
	if (!info->btf_id || !info->nr_func_info || bpf_obj_get_info_by_fd(fd, &more, &more_len))
		return;
	btf = btf__load_from_kernel_by_id(info->btf_id);
	t = btf ? btf__type_by_id(btf, fi.type_id) : NULL;
	if (t)
		snprintf(name, len, "%s", btf__name_by_offset(btf, t->name_off));
	btf__free(btf);
}

static int read_prog(struct run *r, int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct prog_stat *p;
	char name[128];

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	full_name(fd, &info, name, sizeof(name));
	p = run_add_prog_stat(r, name);
	if (!p)
		return -ENOMEM;
	p->run_cnt = info.run_cnt;
	p->run_time_ns = info.run_time_ns;
	p->recursion_misses = info.recursion_misses;
	return 0;
}

int progstats_collect(struct run *r, int stats_fd, double secs)
{
	DIR *d = opendir("/proc/self/fd");
	struct rusage ru;
	struct dirent *e;
	int err = 0;

	while (d && !err && (e = readdir(d)))
		if (e->d_name[0] != '.' && is_prog_fd(dirfd(d), e->d_name))
			err = read_prog(r, atoi(e->d_name));
	if (d)
		closedir(d);
	getrusage(RUSAGE_SELF, &ru);
	r->prog_stats.seconds = secs;
	r->prog_stats.user_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	r->prog_stats.sys_s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r->prog_stats.maxrss_kb = ru.ru_maxrss;
	if (stats_fd >= 0)
		close(stats_fd);
	return err;
}

void progstats_print(FILE *f, const struct run *r)
{
	const struct prog_stats *ps = &r->prog_stats;
	unsigned long long runs = 0, ns = 0;
	double secs = ps->seconds;

	for (size_t i = 0; i < ps->nr_progs; i++) {
		const struct prog_stat *p = &ps->progs[i];

		fprintf(f, "prog-stats: %-40s run_cnt %12llu run_time_ns %14llu ns/run %8.0f "
			"runs/s %10.0f misses %llu\n", p->name, (unsigned long long)p->run_cnt,
			(unsigned long long)p->run_time_ns,
			p->run_cnt ? (double)p->run_time_ns / p->run_cnt : 0.0,
			secs > 0 ? p->run_cnt / secs : 0.0, (unsigned long long)p->recursion_misses);
		runs += p->run_cnt;
		ns += p->run_time_ns;
	}
	fprintf(f, "prog-stats: total run_cnt %llu run_time_ns %llu events/s %.0f over %.3f s\n",
		runs, ns, secs > 0 ? runs / secs : 0.0, secs);
	fprintf(f, "prog-stats: kvmlockstat user_s %.3f sys_s %.3f maxrss_kb %llu\n",
		ps->user_s, ps->sys_s, (unsigned long long)ps->maxrss_kb);
}
