// SPDX-License-Identifier: GPL-2.0
/*
 * Test driver: write a perf.data through perfdata_write() from samples
 * given on the command line, with call chains named by kernel symbols and
 * resolved against this host's /proc/kallsyms.
 *
 *   perfdata_gen [-k KALLSYMS] [-m MODULES] [-f FOLDED] OUT SAMPLE...
 *   SAMPLE = pid,tid,comm,weight,count,lock_addr,frame;frame;...
 *   frame  = symbol[+offset] | 0xADDRESS      (innermost first)
 *
 * -k/-m replace /proc/kallsyms and /proc/modules, both for naming frames
 * and for the kernel maps written (perfdata_write_layout), so a test can
 * add modules this kernel does not have. -f also writes the same samples
 * as folded stacks (folded_write), to compare with what perf makes of OUT.
 *
 * Exit 0 on success; 1 with a message naming the failing step otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "ksyms.h"
#include "perfdata.h"

#define MAX_FRAMES 127

struct gen_sample {
	struct pd_sample s;
	uint64_t ips[MAX_FRAMES];
};

static int parse_u64(const char *str, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(str, &end, 0);
	return errno || end == str || *end ? -EINVAL : 0;
}

/* "sym+0x10" or "0xffff..." to an address. */
static int parse_frame(const struct ksyms *k, char *frame, uint64_t *ip)
{
	char *plus = strchr(frame, '+');
	uint64_t off = 0;

	if (!strncmp(frame, "0x", 2))
		return parse_u64(frame, ip);
	if (plus) {
		*plus = '\0';
		if (parse_u64(plus + 1, &off))
			return -EINVAL;
	}
	if (ksyms_addr(k, frame, ip)) {
		fprintf(stderr, "perfdata_gen: no symbol %s in kallsyms\n", frame);
		return -ENOENT;
	}
	*ip += off;
	return 0;
}

static int parse_frames(const struct ksyms *k, char *list, struct gen_sample *g)
{
	char *save = NULL, *f;

	for (f = strtok_r(list, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
		if (g->s.nr_ips == MAX_FRAMES || parse_frame(k, f, &g->ips[g->s.nr_ips]))
			return -EINVAL;
		g->s.nr_ips++;
	}
	g->s.ips = g->ips;
	return 0;
}

static int parse_sample(const struct ksyms *k, char *arg, struct gen_sample *g)
{
	char *field[7], *save = NULL;
	uint64_t v[6];
	int i;

	for (i = 0; i < 7; i++) {
		field[i] = strtok_r(i ? NULL : arg, ",", &save);
		if (!field[i])
			return -EINVAL;
	}
	for (i = 0; i < 6; i++)
		if (i != 2 && parse_u64(field[i], &v[i]))
			return -EINVAL;
	g->s.pid = (uint32_t)v[0];
	g->s.tid = (uint32_t)v[1];
	g->s.comm = field[2];
	g->s.weight = v[3];
	g->s.count = v[4];
	g->s.lock_addr = v[5];
	/* Optional: the sample's time in ns. */
	field[0] = strtok_r(NULL, ",", &save);
	if (field[0] && parse_u64(field[0], &g->s.time_ns))
		return -EINVAL;
	return parse_frames(k, field[6], g);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-k KALLSYMS] [-m MODULES] [-f FOLDED] OUT [pid,tid,comm,weight,count,lock,frames[,time_ns]]...\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *kallsyms = NULL, *modules = NULL, *folded = NULL, *out;
	struct pd_kernel_layout kl;
	struct gen_sample *g;
	struct pd_sample *s;
	struct ksyms *k;
	int i, n, opt, err;

	while ((opt = getopt(argc, argv, "k:m:f:")) != -1) {
		if (opt == 'k')
			kallsyms = optarg;
		else if (opt == 'm')
			modules = optarg;
		else if (opt == 'f')
			folded = optarg;
		else
			usage(argv[0]);
	}
	if (optind >= argc)
		usage(argv[0]);
	out = argv[optind++];
	n = argc - optind;

	k = ksyms_load(kallsyms);
	if (!k) {
		perror("perfdata_gen: ksyms_load");
		return 1;
	}
	g = calloc(n ? n : 1, sizeof(*g));
	s = calloc(n ? n : 1, sizeof(*s));
	if (!g || !s)
		return 1;
	for (i = 0; i < n; i++) {
		/* A copy: strtok would cut argv, which perf shows as cmdline. */
		char *arg = strdup(argv[optind + i]);

		if (!arg || parse_sample(k, arg, &g[i])) {
			fprintf(stderr, "perfdata_gen: bad sample '%s'\n", argv[optind + i]);
			return 1;
		}
		s[i] = g[i].s;	/* comm points into arg: kept to the end */
	}
	if (!kallsyms && !modules) {
		err = perfdata_write(out, s, n);	/* what kvmlockstat calls */
	} else {
		err = perfdata_layout_load(&kl, kallsyms, modules);
		if (!err)
			err = perfdata_write_layout(out, s, n, &kl);
		perfdata_layout_free(&kl);
	}
	if (err) {
		fprintf(stderr, "perfdata_gen: writing %s: %s\n", out, strerror(-err));
		return 1;
	}
	if (folded && (err = folded_write(folded, s, n, k, 0))) {
		fprintf(stderr, "perfdata_gen: writing %s: %s\n", folded, strerror(-err));
		return 1;
	}
	ksyms_free(k);
	free(g);
	free(s);
	return 0;
}
