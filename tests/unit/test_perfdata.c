// SPDX-License-Identifier: GPL-2.0
/*
 * perfdata: the file's structure read back by hand (header, attr, records,
 * feature table), and atomic-write failure modes. That perf itself reads
 * the file is tests/integration/perfdata.sh's job.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "atomic_write.h"
#include "perfdata.h"
#include "testutil.h"

#define TEXT_START 0xffffffff81000000ULL
#define TEXT_END   0xffffffff82000000ULL
#define MOD_START  0xffffffffc0001000ULL

static struct pd_module mods[] = { { "kvm", MOD_START, 0x10000 } };
static const struct pd_kernel_layout layout = { TEXT_START, TEXT_END, 1, mods };
static const struct pd_kernel_layout no_modules = { TEXT_START, TEXT_END, 0, NULL };

static const uint64_t chain[] = { TEXT_START + 0x100, TEXT_START + 0x200 };
static const uint64_t mod_chain[] = { MOD_START + 0x10, TEXT_START + 0x200 };
static const struct pd_sample samples[] = {
	/* Starts in a module: the writer must not emit it first. */
	/* Times: the end of the interval each was drained in (0: unknown). */
	{ 10, 13, "CPU 2/KVM", 30, 1, 0xabc0, 2, mod_chain, 500000000 },
	{ 10, 11, "CPU 0/KVM", 750, 3, 0xabc0, 2, chain, 2000000000 },
	{ 10, 12, "CPU 1/KVM", 250, 1, 0xabc0, 2, chain, 1000000000 },
	{ 10, 11, "CPU 0/KVM", 5, 1, 0xabc0, 0, NULL, 0 },	/* same tid: one COMM */
};
#define NR_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* The on-disk header, as perf.data-file-format.txt gives it. */
struct file_header {
	char magic[8];
	uint64_t size, attr_size;
	struct { uint64_t offset, size; } attrs, data, event_types;
	uint64_t features[4];
};

static char *write_and_read(const char *dir, size_t *len)
{
	char *path, *buf;

	assert_true(asprintf(&path, "%s/perf.data", dir) > 0);
	assert_int_equal(perfdata_write_layout(path, samples, NR_SAMPLES, &layout), 0);
	buf = slurp(path, len);
	assert_non_null(buf);
	free(path);
	return buf;
}

static void test_header(void **state)
{
	const char *dir = *state;
	size_t len;
	char *buf = write_and_read(dir, &len);
	struct file_header h;
	struct perf_event_attr attr = { 0 };

	assert_true(len > sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_memory_equal(h.magic, "PERFILE2", 8);	/* little-endian hosts */
	assert_int_equal(h.size, sizeof(h));
	assert_int_equal(h.attrs.size, h.attr_size);	/* one event */
	memcpy(&attr, buf + h.attrs.offset, h.attr_size - 16);
	assert_int_equal(attr.size, h.attr_size - 16);
	assert_true(attr.sample_type & PERF_SAMPLE_CALLCHAIN);
	assert_true(attr.sample_type & PERF_SAMPLE_PERIOD);
	assert_int_equal(attr.sample_id_all, 1);
	/* HOSTNAME OSRELEASE VERSION ARCH NRCPUS CPUDESC CPUID CMDLINE
	 * EVENT_DESC, and BUILD_ID when the kernel has one (perfdata.sh
	 * checks its value with perf). */
	assert_int_equal(h.features[0] & ~(1ULL << 2),
			 (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) |
			 (1 << 8) | (1 << 9) | (1 << 11) | (1 << 12));
	/* Feature table right after the data, payloads inside the file. */
	assert_true(h.data.offset + h.data.size + 9 * 16 <= len);
	free(buf);
}

/* Kernel map, then module map: start, len, pgoff, name. */
static void check_mmap(const char *rec, size_t nmmap)
{
	uint64_t f[3];

	memcpy(f, rec + sizeof(struct perf_event_header) + 8, sizeof(f));
	if (nmmap == 0) {
		assert_int_equal(f[0], TEXT_START);
		assert_int_equal(f[1], TEXT_END - TEXT_START);
		assert_int_equal(f[2], TEXT_START);
		assert_string_equal(rec + sizeof(struct perf_event_header) + 32,
				    "[kernel.kallsyms]_text");
	} else {
		assert_int_equal(f[0], MOD_START);
		assert_int_equal(f[1], 0x10000);
		assert_int_equal(f[2], 0);
		assert_string_equal(rec + sizeof(struct perf_event_header) + 32, "[kvm]");
	}
}

/* Walk the data section: COMM x3, MMAP x2, then one SAMPLE per input,
 * the first one moved behind the first that starts in core kernel text. */
static void test_records(void **state)
{
	const char *dir = *state;
	size_t len, off, nsample = 0, nmmap = 0;
	char *buf = write_and_read(dir, &len);
	struct file_header h;
	static const uint32_t want[] = {
		PERF_RECORD_COMM, PERF_RECORD_COMM, PERF_RECORD_COMM,
		PERF_RECORD_MMAP, PERF_RECORD_MMAP,
		PERF_RECORD_SAMPLE, PERF_RECORD_SAMPLE, PERF_RECORD_SAMPLE,
		PERF_RECORD_SAMPLE,
	};
	/* The earliest core-text sample first, at the earliest time of all. */
	static const size_t order[] = { 2, 0, 1, 3 };
	static const uint64_t time[] = { 1, 500000000, 2000000000, 1 };
	size_t i = 0;

	memcpy(&h, buf, sizeof(h));
	for (off = h.data.offset; off < h.data.offset + h.data.size; i++) {
		struct perf_event_header eh;

		memcpy(&eh, buf + off, sizeof(eh));
		assert_true(i < 9);
		assert_int_equal(eh.type, want[i]);
		assert_int_equal(eh.size % 8, 0);
		if (eh.type == PERF_RECORD_SAMPLE) {
			uint64_t f[6];

			/* ip, pid|tid, time, addr, period, nr */
			memcpy(f, buf + off + sizeof(eh), sizeof(f));
			assert_int_equal(eh.misc, PERF_RECORD_MISC_KERNEL);
			assert_int_equal(f[4], samples[order[nsample]].weight);
			assert_int_equal(f[5], samples[order[nsample]].nr_ips + 1);
			assert_int_equal(f[2], time[nsample]);
			nsample++;
		}
		if (eh.type == PERF_RECORD_MMAP)
			check_mmap(buf + off, nmmap++);
		off += eh.size;
	}
	assert_int_equal(off, h.data.offset + h.data.size);
	assert_int_equal(i, 9);
	free(buf);
}

static void test_invalid_args(void **state)
{
	const struct pd_sample bad = { 1, 1, "x", 1, 1, 0, 2, NULL };

	const struct pd_kernel_layout reversed = { TEXT_END, TEXT_START, 0, NULL };
	const struct pd_kernel_layout no_mod_array = { TEXT_START, TEXT_END, 1, NULL };

	assert_int_equal(perfdata_write_layout("x", &bad, 1, &layout), -EINVAL);
	assert_int_equal(perfdata_write_layout("x", NULL, 1, &layout), -EINVAL);
	assert_int_equal(perfdata_write_layout("x", samples, 1, &reversed), -EINVAL);
	assert_int_equal(perfdata_write_layout("x", samples, 1, &no_mod_array), -EINVAL);
	assert_int_equal(perfdata_write_layout("x", samples, 1, NULL), -EINVAL);
	assert_int_equal(count_entries(*state), 0);
}

static void test_unwritable_paths(void **state)
{
	const char *dir = *state;
	char *path;

	assert_true(asprintf(&path, "%s/is-a-dir", dir) > 0);
	assert_int_equal(mkdir(path, 0755), 0);
	/* Temp file written, rename refused: the temp must go. */
	assert_int_equal(perfdata_write_layout(path, samples, NR_SAMPLES, &layout), -EISDIR);
	assert_int_equal(count_entries(dir), 1);
	free(path);
	assert_int_equal(perfdata_write_layout("/nonexistent-dir/perf.data", samples,
					       NR_SAMPLES, &no_modules), -ENOENT);
}

/*
 * A write that fails half way (file size limit): the previous file stays
 * intact and no temp file remains. In a child, as the limit is per process.
 */
static void test_short_write_keeps_old_file(void **state)
{
	const char *dir = *state;
	char *path, *old = NULL;
	size_t len;
	int status;
	pid_t pid;

	path = write_file_in(dir, "keep.data", "previous contents\n");
	assert_non_null(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 64, 64 };

		signal(SIGXFSZ, SIG_IGN);	/* get EFBIG, not a signal */
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(2);
		_exit(perfdata_write_layout(path, samples, NR_SAMPLES, &layout) == -EFBIG ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	old = slurp(path, &len);
	assert_string_equal(old, "previous contents\n");
	assert_int_equal(count_entries(dir), 1);
	free(old);
	free(path);
}

static void test_atomic_write_mode(void **state)
{
	const char *dir = *state;
	struct stat st;
	char *path;

	assert_true(asprintf(&path, "%s/m", dir) > 0);
	assert_int_equal(atomic_write_file(path, "abc", 3, 0640), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_size, 3);
	free(path);
}

/* Layout from synthetic kallsyms + modules: only live, placed modules. */
static void test_layout_load(void **state)
{
	const char *dir = *state;
	char *ks = write_file_in(dir, "kallsyms", SYNTH_KALLSYMS);
	char *mods_path = write_file_in(dir, "modules",
		"kvm_intel 401408 0 - Live 0xffffffffc0100000\n"
		"kvm 1142784 1 kvm_intel, Live 0xffffffffc0001000 (O)\n"
		"loading 4096 0 - Loading 0xffffffffc0300000\n"
		"hidden 4096 0 - Live 0x0000000000000000\n");
	struct pd_kernel_layout kl;

	assert_int_equal(perfdata_layout_load(&kl, ks, mods_path), 0);
	assert_int_equal(kl.text_start, 0xffffffff81000000);
	assert_int_equal(kl.text_end, 0xffffffff81001000);
	assert_int_equal(kl.nr_modules, 2);
	assert_string_equal(kl.modules[0].name, "kvm_intel");
	assert_int_equal(kl.modules[0].start, 0xffffffffc0100000);
	assert_int_equal(kl.modules[0].size, 401408);
	assert_string_equal(kl.modules[1].name, "kvm");
	perfdata_layout_free(&kl);
	assert_int_equal(kl.nr_modules, 0);

	/* No modules file: a kernel without CONFIG_MODULES. */
	assert_int_equal(perfdata_layout_load(&kl, ks, "/nonexistent/modules"), 0);
	assert_int_equal(kl.nr_modules, 0);
	perfdata_layout_free(&kl);
	free(ks);
	free(mods_path);
}

static void test_layout_errors(void **state)
{
	const char *dir = *state;
	char *ks = write_file_in(dir, "kallsyms", SYNTH_KALLSYMS);
	char *hidden = write_file_in(dir, "hidden", "0000000000000000 T _text\n"
						    "0000000000000000 T _etext\n");
	char *no_etext = write_file_in(dir, "no_etext", "ffffffff81000000 T _text\n");
	char *bad_mods = write_file_in(dir, "bad_modules", "kvm lots\n");
	struct pd_kernel_layout kl;

	assert_int_equal(perfdata_layout_load(&kl, hidden, NULL), -EPERM);
	assert_int_equal(perfdata_layout_load(&kl, no_etext, NULL), -ENOENT);
	assert_int_equal(perfdata_layout_load(&kl, ks, bad_mods), -EINVAL);
	assert_int_equal(kl.nr_modules, 0);	/* freed on error */
	free(ks);
	free(hidden);
	free(no_etext);
	free(bad_mods);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_records, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_args, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_paths, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_short_write_keeps_old_file, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_atomic_write_mode, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_layout_load, tempdir_setup, tempdir_teardown),
		cmocka_unit_test_setup_teardown(test_layout_errors, tempdir_setup, tempdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
