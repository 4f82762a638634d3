// SPDX-License-Identifier: GPL-2.0
/* Command line of kvm-dirtylog: the options users of dirty_log_perf_test expect. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dirtylog.h"

static const char usage[] =
"Usage: kvm-dirtylog [-v VCPUS] [-b SIZE] [-i ITERATIONS] [-s BACKING] [-g]\n"
"                    [-x SLOTS] [-p GPA] [-c CPU,CPU...] [-t SECONDS] [-q] [--json FILE]\n"
"\n"
"Dirty-logging workload: one thread per vCPU, each writing one word to every\n"
"4 KiB page of its own slice of a dirty-logged memslot. Pass 0 populates the\n"
"memory, dirty logging is then enabled and each of the ITERATIONS passes runs\n"
"after the log was fetched (and cleared), so every write takes a stage-2\n"
"(EPT/NPT) write-protection fault (Intel PML logs them without one).\n"
"\n"
"  -v VCPUS       vCPUs, one host thread each (default 1)\n"
"  -b SIZE        guest memory per vCPU, e.g. 64M, 2G (default 64M)\n"
"  -i ITERATIONS  dirty-logged passes after the populating pass (default 2)\n"
"  -s BACKING     anonymous, anonymous_thp, anonymous_hugetlb (default huge\n"
"                 page size), anonymous_hugetlb_2mb, anonymous_hugetlb_1gb\n"
"                 (default anonymous)\n"
"  -g             manual dirty-log protect: enable KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2\n"
"                 so KVM_GET_DIRTY_LOG only reads and KVM_CLEAR_DIRTY_LOG\n"
"                 re-protects (note: dirty_log_perf_test enables it by default\n"
"                 and its -g turns it off; here -g turns it on)\n"
"  -x SLOTS       split the test memory into this many memslots (default 1)\n"
"  -p GPA         guest physical address of the test memory (default 0x100000000)\n"
"  -c CPUS        pin vCPU threads to these host CPUs, in order (e.g. 0,1)\n"
"  -t SECONDS     fail a pass that takes longer than this (default 600)\n"
"  -q             no per-iteration lines\n"
"  --json FILE    also write the results as JSON (\"-\" for stdout)\n"
"  -h             this help\n"
"\n"
"Exits non-zero, without results, when KVM does not run the guest on hardware\n"
"virtualization (e.g. a backend that emulates guest instructions).\n";

static const struct { const char *name; enum dl_backing b; } backings[] = {
	{ "anonymous", BACK_ANON },
	{ "anonymous_thp", BACK_THP },
	{ "anonymous_hugetlb", BACK_HUGETLB },
	{ "anonymous_hugetlb_2mb", BACK_HUGETLB_2M },
	{ "anonymous_hugetlb_1gb", BACK_HUGETLB_1G },
};

const char *dl_backing_name(enum dl_backing b)
{
	for (size_t i = 0; i < sizeof(backings) / sizeof(backings[0]); i++)
		if (backings[i].b == b)
			return backings[i].name;
	return "?";
}

static int parse_backing(const char *s, enum dl_backing *out)
{
	for (size_t i = 0; i < sizeof(backings) / sizeof(backings[0]); i++) {
		if (!strcmp(s, backings[i].name)) {
			*out = backings[i].b;
			return 0;
		}
	}
	return dl_err("-s: unknown backing '%s' (anonymous, anonymous_thp, anonymous_hugetlb, "
		      "anonymous_hugetlb_2mb, anonymous_hugetlb_1gb)", s);
}

/* Binary suffixes as the perf test takes them: 4096, 64K, 64M, 2G, 1T. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	char *end;
	unsigned long long v;
	const char *p;

	if (!*s || *s == '-')
		return dl_err("-b: '%s' is not a size (e.g. 64M, 2G)", s);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return dl_err("-b: '%s' is not a size (e.g. 64M, 2G)", s);
	if (*end) {
		p = strchr(suffixes, *end >= 'a' ? *end - 32 : *end);
		if (!p || (end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib")))
			return dl_err("-b: bad size suffix in '%s' (K, M, G, T)", s);
		for (int shift = (int)(p - suffixes) + 1; shift; shift--) {
			if (v > ULLONG_MAX / 1024)
				return dl_err("-b: '%s' is too large", s);
			v *= 1024;
		}
	}
	if (v < DL_GUEST_PAGE || v % DL_GUEST_PAGE)
		return dl_err("-b: %s is not a positive multiple of the %llu-byte guest page",
			      s, DL_GUEST_PAGE);
	*out = v;
	return 0;
}

static int parse_int(const char *opt, const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return dl_err("%s: '%s' is not an integer in [%d, %d]", opt, s, min, max);
	*out = (int)v;
	return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		return dl_err("%s: '%s' is not an address", opt, s);
	return 0;
}

static int parse_cpus(const char *s, struct dl_opts *o)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int ret = 0;

	o->npin = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		if (o->npin == DL_MAX_VCPUS)
			ret = dl_err("-c: more than %d CPUs", DL_MAX_VCPUS);
		else
			ret = parse_int("-c", tok, 0, CPU_SETSIZE - 1, &o->pin_cpus[o->npin++]);
	}
	free(copy);
	if (!ret && !o->npin)
		ret = dl_err("-c: empty CPU list");
	return ret;
}

/* Checks that need more than one option. */
static int check_opts(const struct dl_opts *o)
{
	if (o->npin && o->npin < o->vcpus)
		return dl_err("-c: %d CPUs given for %d vCPUs", o->npin, o->vcpus);
	if (o->test_gpa % (1ULL << 30))
		return dl_err("-p: 0x%llx is not 1 GiB aligned (huge backings need it)",
			      (unsigned long long)o->test_gpa);
	if (o->test_gpa < (1ULL << 30))
		return dl_err("-p: the first GiB holds the guest's code and devices");
	if (o->bytes_per_vcpu > UINT64_MAX / (uint64_t)o->vcpus ||
	    o->test_gpa + o->bytes_per_vcpu * o->vcpus < o->test_gpa)
		return dl_err("-b: %d vCPUs x %llu bytes overflows the guest address space",
			      o->vcpus, (unsigned long long)o->bytes_per_vcpu);
	if ((o->bytes_per_vcpu / DL_GUEST_PAGE * (uint64_t)o->vcpus) % (uint64_t)o->slots)
		return dl_err("-x %d: the %llu test pages do not split evenly into %d memslots",
			      o->slots, (unsigned long long)(o->bytes_per_vcpu / DL_GUEST_PAGE * o->vcpus),
			      o->slots);
	return 0;
}

int dl_parse_opts(int argc, char **argv, struct dl_opts *o)
{
	static const struct option longopts[] = {
		{ "json", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, ret = 0;

	*o = (struct dl_opts){ .vcpus = 1, .bytes_per_vcpu = 64ULL << 20, .iterations = 2,
			       .backing = BACK_ANON, .test_gpa = DL_TEST_GPA, .slots = 1, .timeout_s = 600 };
	while (!ret && (c = getopt_long(argc, argv, "v:b:i:s:gx:p:c:t:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': ret = parse_int("-v", optarg, 1, DL_MAX_VCPUS, &o->vcpus); break;
		case 'b': ret = parse_size(optarg, &o->bytes_per_vcpu); break;
		case 'i': ret = parse_int("-i", optarg, 1, 1000000, &o->iterations); break;
		case 's': ret = parse_backing(optarg, &o->backing); break;
		case 'g': o->manual_protect = true; break;
		case 'x': ret = parse_int("-x", optarg, 1, DL_MAX_SLOTS, &o->slots); break;
		case 'p': ret = parse_u64("-p", optarg, &o->test_gpa); break;
		case 'c': ret = parse_cpus(optarg, o); break;
		case 't': ret = parse_int("-t", optarg, 1, 86400, &o->timeout_s); break;
		case 'q': o->quiet = true; break;
		case 'J': o->json_path = optarg; break;
		case 'h': fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); return -1;
		}
	}
	if (!ret && optind < argc)
		ret = dl_err("unexpected argument '%s' (see -h)", argv[optind]);
	return ret ? ret : check_opts(o);
}
