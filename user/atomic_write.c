// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_write.h"

/* write(2) may write less than asked (signals, pipes); loop until done. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Everything between mkstemp and rename; the caller cleans up on error. */
static int fill_temp(int fd, const void *buf, size_t len, mode_t mode)
{
	int err = write_all(fd, buf, len);

	if (err)
		return err;
	if (fchmod(fd, mode))
		return -errno;
	/* Without fsync a crash after rename can leave an empty file at path. */
	if (fsync(fd))
		return -errno;
	return 0;
}

int atomic_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t plen = strlen(path);
	char *tmp;
	int fd, err;

	tmp = malloc(plen + sizeof(suffix));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));

	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	err = fill_temp(fd, buf, len, mode);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}
