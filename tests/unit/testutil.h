/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the output-module unit tests (header-only). */
#ifndef KVMLOCKSTAT_TESTUTIL_H
#define KVMLOCKSTAT_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A small kallsyms: an alias pair at one address (local listed first, so
 * the preference for globals is visible), a data and an absolute symbol,
 * two modules listed out of address order.
 */
#define SYNTH_KALLSYMS \
	"ffffffff81000000 t alias_local\n" \
	"ffffffff81000000 T _text\n" \
	"ffffffff81000100 T outer_fn\n" \
	"ffffffff81000200 t middle_fn\n" \
	"ffffffff81000300 T inner_fn\n" \
	"ffffffff81000400 D some_data\n" \
	"0000000000000010 A abs_sym\n" \
	"ffffffff81001000 T _etext\n" \
	"ffffffffc0001400 t mod_fn2\t[kvm]\n" \
	"ffffffffc0001000 t mod_fn\t[kvm]\n" \
	"ffffffffc0100000 t other_mod_fn\t[kvm_intel]\n"

/* A fresh directory under $TMPDIR (or /tmp); malloc'ed path. */
static inline char *make_temp_dir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir;

	if (asprintf(&dir, "%s/kvmlockstat-test.XXXXXX", base) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Write text to dir/name; malloc'ed path or NULL. */
static inline char *write_file_in(const char *dir, const char *name,
				  const char *text)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return NULL;
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		free(path);
		return NULL;
	}
	return path;
}

/* Entries of dir, "." and ".." excluded; -1 if unreadable. */
static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Whole file in a malloc'ed NUL-terminated buffer, length in *len. */
static inline char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(n + 1)) &&
	    fread(buf, 1, n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* rm -r for the flat directories the tests make. */
static inline void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0) {
			if (unlink(p))
				rmdir(p);	/* the "path is a directory" cases */
			free(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* cmocka setup/teardown: a fresh temp directory as the test's state. */
static inline int tempdir_setup(void **state)
{
	*state = make_temp_dir();
	return *state ? 0 : -1;
}

static inline int tempdir_teardown(void **state)
{
	remove_dir(*state);
	free(*state);
	return 0;
}

#endif
