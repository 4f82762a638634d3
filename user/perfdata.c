// SPDX-License-Identifier: GPL-2.0
/*
 * A perf.data writer for aggregated lock contentions, so that perf report
 * and perf script (and the tools that consume perf script's output) can
 * browse them.
 *
 * Layout (tools/perf/Documentation/perf.data-file-format.txt):
 *   file header | attrs (one) | ids (one) | data records | feature table |
 *   feature payloads
 * The whole file is built in memory, then written atomically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "atomic_write.h"
#include "ksyms.h"
#include "perfdata.h"

/* "PERFILE2" read as a native u64: perf tells the file's endianness by it. */
#define PD_MAGIC 0x32454c4946524550ULL

/*
 * perf refuses an attr larger than its own struct ("more recent and
 * unsupported ABI"), so write the smallest size that holds every field we
 * set: every perf since 4.x reads it.
 */
#define PD_ATTR_SIZE PERF_ATTR_SIZE_VER5

/* The only event: its id in the ids section, its name in EVENT_DESC. */
#define PD_EVENT_ID 1
#define PD_EVENT_NAME "kvmlockstat:lock-wait"

/* Feature bits: tools/perf/util/header.h, stable on-disk ABI. */
enum {
	PD_FEAT_BUILD_ID = 2,
	PD_FEAT_HOSTNAME = 3,
	PD_FEAT_OSRELEASE = 4,
	PD_FEAT_VERSION = 5,
	PD_FEAT_ARCH = 6,
	PD_FEAT_NRCPUS = 7,
	PD_FEAT_CPUDESC = 8,
	PD_FEAT_CPUID = 9,
	PD_FEAT_CMDLINE = 11,
	PD_FEAT_EVENT_DESC = 12,
	PD_FEAT_BITS = 256,
};

/* perf pads header strings to this (NAME_ALIGN in header.c). */
#define PD_NAME_ALIGN 64

/* perf's name for the kernel map, suffixed by the reference symbol whose
 * address pgoff carries; see put_kernel_mmap(). */
#define PD_KERNEL_MMAP_NAME "[kernel.kallsyms]_text"

#define PD_SAMPLE_TYPE (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
			PERF_SAMPLE_ADDR | PERF_SAMPLE_PERIOD | \
			PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_WEIGHT)

struct pd_section {
	uint64_t offset, size;
};

struct pd_file_header {
	uint64_t magic;
	uint64_t size;		/* of this header */
	uint64_t attr_size;	/* of one attr + its ids section */
	struct pd_section attrs, data, event_types;
	uint64_t features[PD_FEAT_BITS / 64];
};

/* With sample_id_all, every non-sample record ends with the sample's
 * TID and TIME fields (the ones of PD_SAMPLE_TYPE that sample_id covers). */
struct pd_sample_id {
	uint32_t pid, tid;
	uint64_t time;
};

/* What the feature sections say about this host, gathered once. */
struct pd_env {
	struct utsname uts;		/* "unknown" fields if uname failed */
	char cpudesc[128], cpuid[128];	/* "unknown" if not found */
	uint8_t kernel_build_id[20];
	uint8_t kernel_build_id_size;	/* 0: unknown, no BUILD_ID section */
};

/* Growable output buffer; the first failure sticks in err. */
struct wbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void wb_reserve(struct wbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *np;

	if (b->err || b->len + n <= b->cap)
		return;
	while (cap < b->len + n)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->err = -ENOMEM;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void wb_put(struct wbuf *b, const void *data, size_t n)
{
	wb_reserve(b, n);
	if (b->err || !n)	/* data may be NULL when n is 0 */
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void wb_zero(struct wbuf *b, size_t n)
{
	wb_reserve(b, n);
	if (b->err)
		return;
	memset(b->p + b->len, 0, n);
	b->len += n;
}

static void wb_u32(struct wbuf *b, uint32_t v) { wb_put(b, &v, sizeof(v)); }
static void wb_u64(struct wbuf *b, uint64_t v) { wb_put(b, &v, sizeof(v)); }

/* Overwrite bytes written earlier (offsets known only later). */
static void wb_patch(struct wbuf *b, size_t off, const void *data, size_t n)
{
	if (!b->err)
		memcpy(b->p + off, data, n);
}

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

/* A string padded with NULs to a multiple of align, at least one NUL. */
static void wb_padded_str(struct wbuf *b, const char *s, size_t align)
{
	size_t n = strlen(s);

	wb_put(b, s, n);
	wb_zero(b, align_up(n + 1, align) - n);
}

/* struct perf_header_string: u32 len, then len bytes. */
static void wb_header_str(struct wbuf *b, const char *s)
{
	wb_u32(b, (uint32_t)align_up(strlen(s) + 1, PD_NAME_ALIGN));
	wb_padded_str(b, s, PD_NAME_ALIGN);
}

/* ---- attr ---- */

static void fill_attr(struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	/*
	 * A software event keeps perf from looking for tracepoint formats
	 * (HEADER_TRACING_DATA) or a PMU; EVENT_DESC gives it our name.
	 * cpu-clock, not dummy: perf hides dummy events in places.
	 */
	attr->type = PERF_TYPE_SOFTWARE;
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	attr->size = PD_ATTR_SIZE;
	attr->sample_period = 1;
	attr->sample_type = PD_SAMPLE_TYPE;
	/* COMM/MMAP carry TID+TIME too, so perf can order them with samples. */
	attr->sample_id_all = 1;
}

static void put_attr(struct wbuf *b)
{
	struct perf_event_attr attr;

	fill_attr(&attr);
	wb_put(b, &attr, PD_ATTR_SIZE);
}

/* ---- data records ---- */

static void put_record_header(struct wbuf *b, uint32_t type, uint16_t misc,
			      size_t size)
{
	struct perf_event_header h = {
		.type = type, .misc = misc, .size = (uint16_t)size,
	};

	wb_put(b, &h, sizeof(h));
}

static void put_sample_id(struct wbuf *b, uint32_t pid, uint32_t tid)
{
	struct pd_sample_id id = { .pid = pid, .tid = tid, .time = 0 };

	wb_put(b, &id, sizeof(id));
}

/* Longest comm kept: perf itself keeps 16 (TASK_COMM_LEN), be generous. */
#define PD_COMM_MAX 255

static void put_comm(struct wbuf *b, uint32_t pid, uint32_t tid,
		     const char *comm)
{
	size_t n = strnlen(comm, PD_COMM_MAX);
	size_t slen = align_up(n + 1, 8);
	char name[PD_COMM_MAX + 1];

	memcpy(name, comm, n);
	name[n] = '\0';
	put_record_header(b, PERF_RECORD_COMM, 0,
			  sizeof(struct perf_event_header) + 8 + slen +
			  sizeof(struct pd_sample_id));
	wb_u32(b, pid);
	wb_u32(b, tid);
	wb_padded_str(b, name, 8);
	put_sample_id(b, pid, tid);
}

/* A kernel-space PERF_RECORD_MMAP: pid -1, misc KERNEL. */
static void put_kernel_map_event(struct wbuf *b, uint64_t start, uint64_t len,
				 uint64_t pgoff, const char *name)
{
	size_t slen = align_up(strlen(name) + 1, 8);

	put_record_header(b, PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL,
			  sizeof(struct perf_event_header) + 8 + 3 * 8 + slen +
			  sizeof(struct pd_sample_id));
	wb_u32(b, (uint32_t)-1);	/* pid -1: the kernel */
	wb_u32(b, 0);
	wb_u64(b, start);
	wb_u64(b, len);
	wb_u64(b, pgoff);
	wb_padded_str(b, name, 8);
	put_sample_id(b, (uint32_t)-1, 0);
}

/*
 * The kernel maps as perf record synthesizes them
 * (__perf_event__synthesize_kernel_mmap, perf_event__synthesize_modules):
 * "[kernel.kallsyms]_text" names the reference symbol and pgoff holds its
 * runtime address, by which perf relocates kallsyms/vmlinux symbols (what
 * makes KASLR work). Modules are "[name]", perf's own name when it has no
 * .ko path: their symbols then come from the same kallsyms.
 */
static int put_kernel_maps(struct wbuf *b, const struct pd_kernel_layout *kl)
{
	size_t i;

	put_kernel_map_event(b, kl->text_start, kl->text_end - kl->text_start,
			     kl->text_start, PD_KERNEL_MMAP_NAME);
	for (i = 0; i < kl->nr_modules; i++) {
		const struct pd_module *m = &kl->modules[i];
		char name[128];

		if (snprintf(name, sizeof(name), "[%s]", m->name) >= (int)sizeof(name))
			return -ENAMETOOLONG;
		put_kernel_map_event(b, m->start, m->size, 0, name);
	}
	return 0;
}

/* Fixed part of a sample: header, ip, pid/tid, time, addr, period,
 * callchain nr, context marker, weight. */
#define PD_SAMPLE_FIXED (sizeof(struct perf_event_header) + 8 * 8)
/* perf_event_header.size is 16 bits: cap the call chain to fit. */
#define PD_MAX_IPS ((UINT16_MAX - PD_SAMPLE_FIXED) / 8)

static void put_sample(struct wbuf *b, const struct pd_sample *s,
		       uint64_t time)
{
	/* Keep the innermost frames if a chain could overflow the record. */
	uint32_t nr = s->nr_ips < PD_MAX_IPS ? s->nr_ips : PD_MAX_IPS;

	put_record_header(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL,
			  PD_SAMPLE_FIXED + 8 * (size_t)nr);
	wb_u64(b, nr ? s->ips[0] : 0);
	wb_u32(b, s->pid);
	wb_u32(b, s->tid);
	wb_u64(b, time);
	wb_u64(b, s->lock_addr);
	wb_u64(b, s->weight);
	/* perf resolves chain entries as kernel addresses only after this
	 * marker (add_callchain_ip() in tools/perf/util/machine.c). */
	wb_u64(b, 1 + (uint64_t)nr);
	wb_u64(b, PERF_CONTEXT_KERNEL);
	wb_put(b, s->ips, 8 * (size_t)nr);
	wb_u64(b, s->count);
}

static int cmp_tid(const void *a, const void *b)
{
	const struct pd_sample *x = *(const struct pd_sample * const *)a;
	const struct pd_sample *y = *(const struct pd_sample * const *)b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	/* Named samples first: the first of each tid supplies the comm. */
	return (x->comm == NULL) - (y->comm == NULL);
}

/* One COMM per thread, so perf report shows names, not ":tid". */
static int put_comms(struct wbuf *b, const struct pd_sample *s, size_t n)
{
	const struct pd_sample **v = calloc(n ? n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = &s[i];
	qsort(v, n, sizeof(*v), cmp_tid);
	for (i = 0; i < n; i++) {
		if ((i && v[i]->tid == v[i - 1]->tid) || !v[i]->comm)
			continue;
		put_comm(b, v[i]->pid, v[i]->tid, v[i]->comm);
	}
	free(v);
	return 0;
}

static int in_core_text(const struct pd_sample *s, const struct pd_kernel_layout *kl)
{
	return s->nr_ips && s->ips[0] >= kl->text_start && s->ips[0] < kl->text_end;
}

/* A sample's time; 1 ns (after COMM/MMAP at 0) when it has none. */
static uint64_t sample_time(const struct pd_sample *s)
{
	return s->time_ns ? s->time_ns : 1;
}

static int put_data(struct wbuf *b, const struct pd_sample *s, size_t n,
		    const struct pd_kernel_layout *kl)
{
	size_t i, first = 0;
	uint64_t earliest = UINT64_MAX;
	int err;

	err = put_comms(b, s, n);
	if (!err)
		err = put_kernel_maps(b, kl);
	if (err)
		return err;
	/*
	 * perf splits module symbols out of kallsyms when it loads the core
	 * kernel's; a module address looked up before that stays [unknown].
	 * So the first sample perf sees starts in core kernel text (the
	 * lock slow paths are there), the others follow in order.
	 */
	/*
	 * perf orders samples by time (ties keep file order): the earliest of
	 * those in core text goes first, at the earliest time of all.
	 */
	first = n;
	for (i = 0; i < n; i++) {
		if (sample_time(&s[i]) < earliest)
			earliest = sample_time(&s[i]);
		if (in_core_text(&s[i], kl) && (first == n || sample_time(&s[i]) < sample_time(&s[first])))
			first = i;
	}
	if (first < n)
		put_sample(b, &s[first], earliest);
	for (i = 0; i < n; i++)
		if (i != first)
			put_sample(b, &s[i], sample_time(&s[i]));
	return b->err;
}

/* ---- feature sections ---- */

/* Not in the uapi header: perf's own flag for "build_id.size is valid". */
#define PD_MISC_BUILD_ID_SIZE (1 << 15)
/* The kernel's build-id record is keyed by perf's name for the kernel. */
#define PD_KERNEL_DSO_NAME "[kernel.kallsyms]"

/*
 * The running kernel's build-id, so that perf uses /proc/kallsyms only for
 * the kernel that wrote the file; elsewhere it looks in its build-id cache
 * rather than naming frames after the wrong kernel.
 * struct perf_record_header_build_id: header, pid, 20 bytes + size + 3
 * reserved, then the name padded to NAME_ALIGN.
 */
static void feat_build_id(struct wbuf *b, const struct pd_env *env)
{
	uint8_t id[24] = { 0 };
	size_t nlen = align_up(sizeof(PD_KERNEL_DSO_NAME), PD_NAME_ALIGN);

	memcpy(id, env->kernel_build_id, env->kernel_build_id_size);
	id[20] = env->kernel_build_id_size;
	put_record_header(b, 0, PERF_RECORD_MISC_KERNEL | PD_MISC_BUILD_ID_SIZE,
			  sizeof(struct perf_event_header) + 4 + sizeof(id) + nlen);
	wb_u32(b, (uint32_t)-1);	/* HOST_KERNEL_ID */
	wb_put(b, id, sizeof(id));
	wb_padded_str(b, PD_KERNEL_DSO_NAME, PD_NAME_ALIGN);
}

static void feat_hostname(struct wbuf *b, const struct pd_env *env)
{
	wb_header_str(b, env->uts.nodename);
}

static void feat_osrelease(struct wbuf *b, const struct pd_env *env)
{
	wb_header_str(b, env->uts.release);
}

/* Who wrote the file, where perf puts its own version. */
static void feat_version(struct wbuf *b, const struct pd_env *env)
{
#ifdef KVMLOCKSTAT_VERSION
	wb_header_str(b, "kvmlockstat " KVMLOCKSTAT_VERSION);
#else
	wb_header_str(b, "kvmlockstat");
#endif
}

/*
 * perf's header readers take VERSION, CPUDESC and CPUID for granted in
 * places: perf 6.1's "perf data convert --to-json" dereferences all three.
 */
static void feat_cpudesc(struct wbuf *b, const struct pd_env *env)
{
	wb_header_str(b, env->cpudesc);
}

static void feat_cpuid(struct wbuf *b, const struct pd_env *env)
{
	wb_header_str(b, env->cpuid);
}

/* perf picks register names, objdump and call-chain quirks by arch; some
 * perf script versions refuse a file without it. */
static void feat_arch(struct wbuf *b, const struct pd_env *env)
{
	wb_header_str(b, env->uts.machine);
}

static void feat_nrcpus(struct wbuf *b, const struct pd_env *env)
{
	long avail = sysconf(_SC_NPROCESSORS_CONF);
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	/* perf's order: available first, then online. */
	wb_u32(b, avail > 0 ? (uint32_t)avail : 1);
	wb_u32(b, online > 0 ? (uint32_t)online : 1);
}

/* Our own command line, as perf records its own: a string list. */
static void feat_cmdline(struct wbuf *b, const struct pd_env *env)
{
	char buf[4096];
	size_t len = 0, off;
	uint32_t nr = 0;
	FILE *f = fopen("/proc/self/cmdline", "re");

	if (f) {
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[len] = '\0';	/* a truncated last argument still ends */
	for (off = 0; off < len; off += strlen(buf + off) + 1)
		nr++;
	wb_u32(b, nr);
	for (off = 0; off < len; off += strlen(buf + off) + 1)
		wb_header_str(b, buf + off);
}

/* Gives the event its name in perf report/script headers and output. */
static void feat_event_desc(struct wbuf *b, const struct pd_env *env)
{
	wb_u32(b, 1);			/* events */
	wb_u32(b, PD_ATTR_SIZE);
	put_attr(b);
	wb_u32(b, 1);			/* ids */
	wb_header_str(b, PD_EVENT_NAME);
	wb_u64(b, PD_EVENT_ID);
}

static int has_build_id(const struct pd_env *env)
{
	return env->kernel_build_id_size != 0;
}

static const struct {
	int bit;
	void (*write)(struct wbuf *b, const struct pd_env *env);
	int (*present)(const struct pd_env *env);	/* NULL: always */
} features[] = {	/* in bit order: perf reads the table that way */
	{ PD_FEAT_BUILD_ID, feat_build_id, has_build_id },
	{ PD_FEAT_HOSTNAME, feat_hostname, NULL },
	{ PD_FEAT_OSRELEASE, feat_osrelease, NULL },
	{ PD_FEAT_VERSION, feat_version, NULL },
	{ PD_FEAT_ARCH, feat_arch, NULL },
	{ PD_FEAT_NRCPUS, feat_nrcpus, NULL },
	{ PD_FEAT_CPUDESC, feat_cpudesc, NULL },
	{ PD_FEAT_CPUID, feat_cpuid, NULL },
	{ PD_FEAT_CMDLINE, feat_cmdline, NULL },
	{ PD_FEAT_EVENT_DESC, feat_event_desc, NULL },
};
#define NR_FEATURES (sizeof(features) / sizeof(features[0]))

static int feature_present(size_t i, const struct pd_env *env)
{
	return !features[i].present || features[i].present(env);
}

/* The section table right after the data, then each payload. */
static void put_features(struct wbuf *b, struct pd_file_header *h,
			 const struct pd_env *env)
{
	size_t table = b->len, i, nr = 0;

	for (i = 0; i < NR_FEATURES; i++)
		nr += feature_present(i, env);
	wb_zero(b, nr * sizeof(struct pd_section));
	for (i = 0; i < NR_FEATURES; i++) {
		struct pd_section sec = { .offset = b->len };

		if (!feature_present(i, env))
			continue;
		features[i].write(b, env);
		wb_zero(b, align_up(b->len, 8) - b->len);
		sec.size = b->len - sec.offset;
		wb_patch(b, table, &sec, sizeof(sec));
		table += sizeof(sec);
		h->features[features[i].bit / 64] |= 1ULL << (features[i].bit % 64);
	}
}

/* ---- host facts ---- */

/* ELF note header, as in /sys/kernel/notes. */
struct pd_nhdr {
	uint32_t namesz, descsz, type;
};
#define PD_NT_GNU_BUILD_ID 3

/* Find the GNU build-id note in a notes blob; its size, or 0. */
static size_t find_build_id(const uint8_t *p, size_t len, uint8_t *out, size_t max)
{
	size_t off = 0;

	while (off + sizeof(struct pd_nhdr) <= len) {
		struct pd_nhdr n;
		size_t name = off + sizeof(n), desc;

		memcpy(&n, p + off, sizeof(n));
		desc = name + align_up(n.namesz, 4);
		off = desc + align_up(n.descsz, 4);
		if (off > len || off < desc)
			break;
		if (n.type == PD_NT_GNU_BUILD_ID && n.namesz == 4 &&
		    !memcmp(p + name, "GNU", 4) && n.descsz && n.descsz <= max) {
			memcpy(out, p + desc, n.descsz);
			return n.descsz;
		}
	}
	return 0;
}

/* Value of "key<tabs>: value" in the first CPU's block of /proc/cpuinfo. */
static int cpuinfo_field(const char *key, char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	size_t klen = strlen(key);
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f) && line[0] != '\n') {
		char *colon = strchr(line, ':');

		if (!colon || strncmp(line, key, klen) ||
		    strspn(line + klen, " \t") != (size_t)(colon - line - klen))
			continue;
		colon += strspn(colon + 1, " ") + 1;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, len, "%s", colon);
		found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

/* First line of a small file, newline stripped. */
static int read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok = f && fgets(out, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		out[strcspn(out, "\n")] = '\0';
	return ok;
}

/* perf's own formats: x86 "vendor,family,model,stepping", arm64 MIDR. */
static void load_cpu(struct pd_env *env)
{
	char vendor[64], family[16], model[16], stepping[16];

	if (!cpuinfo_field("model name", env->cpudesc, sizeof(env->cpudesc)))
		snprintf(env->cpudesc, sizeof(env->cpudesc), "unknown");
	if (cpuinfo_field("vendor_id", vendor, sizeof(vendor)) &&
	    cpuinfo_field("cpu family", family, sizeof(family)) &&
	    cpuinfo_field("model", model, sizeof(model)) &&
	    cpuinfo_field("stepping", stepping, sizeof(stepping)))
		snprintf(env->cpuid, sizeof(env->cpuid), "%s,%s,%s,%s",
			 vendor, family, model, stepping);
	else if (!read_line("/sys/devices/system/cpu/cpu0/regs/identification/midr_el1",
			    env->cpuid, sizeof(env->cpuid)))
		snprintf(env->cpuid, sizeof(env->cpuid), "unknown");
}

/* Host facts for the feature sections. No build-id is not an error: perf
 * then trusts /proc/kallsyms, as when perf record cannot read one either. */
static void load_env(struct pd_env *env)
{
	uint8_t notes[4096];
	size_t len = 0;
	FILE *f = fopen("/sys/kernel/notes", "re");

	memset(env, 0, sizeof(*env));
	if (uname(&env->uts)) {
		strcpy(env->uts.nodename, "unknown");
		strcpy(env->uts.release, "unknown");
		strcpy(env->uts.machine, "unknown");
	}
	load_cpu(env);
	if (f) {
		len = fread(notes, 1, sizeof(notes), f);
		fclose(f);
	}
	env->kernel_build_id_size = (uint8_t)find_build_id(notes, len,
			env->kernel_build_id, sizeof(env->kernel_build_id));
}

/* ---- file ---- */

static int build_file(struct wbuf *b, const struct pd_sample *s, size_t n,
		      const struct pd_kernel_layout *kl)
{
	struct pd_file_header h = {
		.magic = PD_MAGIC,
		.size = sizeof(h),
		.attr_size = PD_ATTR_SIZE + sizeof(struct pd_section),
	};
	struct pd_section ids;
	struct pd_env env;
	int err;

	load_env(&env);
	wb_zero(b, sizeof(h));		/* patched once offsets are known */

	h.attrs.offset = b->len;
	put_attr(b);
	ids.offset = b->len + sizeof(ids);
	ids.size = sizeof(uint64_t);
	wb_put(b, &ids, sizeof(ids));
	h.attrs.size = b->len - h.attrs.offset;
	wb_u64(b, PD_EVENT_ID);

	h.data.offset = b->len;
	err = put_data(b, s, n, kl);
	if (err)
		return err;
	h.data.size = b->len - h.data.offset;

	put_features(b, &h, &env);
	wb_patch(b, 0, &h, sizeof(h));
	return b->err;
}

int perfdata_check_samples(const struct pd_sample *s, size_t n)
{
	size_t i;

	if (n && !s)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (s[i].nr_ips && !s[i].ips)
			return -EINVAL;
	return 0;
}

int perfdata_write_layout(const char *path, const struct pd_sample *samples,
			  size_t n, const struct pd_kernel_layout *kl)
{
	struct wbuf b = { 0 };
	int err;

	if (!path || !kl || kl->text_end <= kl->text_start ||
	    (kl->nr_modules && !kl->modules))
		return -EINVAL;
	err = perfdata_check_samples(samples, n);
	if (err)
		return err;
	err = build_file(&b, samples, n, kl);
	/* 0600 like perf record: perf.data can reveal kernel addresses. */
	if (!err)
		err = atomic_write_file(path, b.p, b.len, 0600);
	free(b.p);
	return err;
}

/* ---- kernel layout ---- */

/* _text and _etext from kallsyms; -errno with a message. */
static int load_text_range(struct pd_kernel_layout *kl, const char *path)
{
	struct ksyms *k = ksyms_load(path);
	int err;

	if (!path)
		path = "/proc/kallsyms";
	if (!k) {
		err = -errno;
		if (err == -EPERM)
			fprintf(stderr, "perfdata: %s hides kernel addresses; run as root or set kernel.kptr_restrict=0\n", path);
		else
			fprintf(stderr, "perfdata: cannot read %s: %s\n", path, strerror(-err));
		return err;
	}
	err = ksyms_addr(k, "_text", &kl->text_start);
	if (!err)
		err = ksyms_addr(k, "_etext", &kl->text_end);
	if (err)
		fprintf(stderr, "perfdata: _text/_etext missing from %s\n", path);
	ksyms_free(k);
	return err;
}

static int add_module(struct pd_kernel_layout *kl, const char *name,
		      uint64_t start, uint64_t size)
{
	struct pd_module *m;

	m = realloc(kl->modules, (kl->nr_modules + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	kl->modules = m;
	m = &kl->modules[kl->nr_modules];
	m->name = strdup(name);
	if (!m->name)
		return -ENOMEM;
	m->start = start;
	m->size = size;
	kl->nr_modules++;
	return 0;
}

/*
 * "kvm_intel 401408 0 - Live 0xffffffffc0a00000 (O)": name, size, refs,
 * users, state, address. Address 0 (hidden) or a module still loading is
 * left out: perf could not place its symbols anyway.
 */
static int load_modules(struct pd_kernel_layout *kl, const char *path)
{
	FILE *f = fopen(path ? path : "/proc/modules", "re");
	char line[4096], name[64], state[16];
	unsigned long long size, addr;
	int err = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu %*s %*s %15s %llx", name, &size, state, &addr) != 4) {
			fprintf(stderr, "perfdata: bad line in %s: %s", path ? path : "/proc/modules", line);
			err = -EINVAL;
		} else if (addr && size && strcmp(state, "Live") == 0) {
			err = add_module(kl, name, addr, size);
		}
	}
	fclose(f);
	return err;
}

int perfdata_layout_load(struct pd_kernel_layout *kl, const char *kallsyms,
			 const char *modules)
{
	int err;

	memset(kl, 0, sizeof(*kl));
	err = load_text_range(kl, kallsyms);
	if (!err)
		err = load_modules(kl, modules);
	if (err)
		perfdata_layout_free(kl);
	return err;
}

void perfdata_layout_free(struct pd_kernel_layout *kl)
{
	size_t i;

	for (i = 0; kl && i < kl->nr_modules; i++)
		free(kl->modules[i].name);
	if (kl) {
		free(kl->modules);
		memset(kl, 0, sizeof(*kl));
	}
}

int perfdata_write(const char *path, const struct pd_sample *samples, size_t n)
{
	struct pd_kernel_layout kl;
	int err;

	err = perfdata_layout_load(&kl, NULL, NULL);
	if (err)
		return err;
	err = perfdata_write_layout(path, samples, n, &kl);
	perfdata_layout_free(&kl);
	return err;
}
