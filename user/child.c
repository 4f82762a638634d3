// SPDX-License-Identifier: GPL-2.0
/*
 * The traced command is forked first and held on a pipe: its VM must not
 * start before the probes are attached, or the populating pass (where the
 * first contention happens) would be missed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "child.h"

int child_start(struct child *c, char **argv)
{
	int fds[2];
	char go;

	memset(c, 0, sizeof(*c));
	c->status = -1;
	if (pipe(fds))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		close(fds[1]);
		/* EOF without the byte: the tracer failed, do not run untraced. */
		if (read(fds[0], &go, 1) != 1)
			_exit(125);
		close(fds[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "kvmlockstat: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	c->gate = fds[1];
	return 0;
}

void child_release(struct child *c)
{
	if (write(c->gate, "g", 1) != 1)
		perror("kvmlockstat: releasing the command");
	close(c->gate);
	c->gate = -1;
}

bool child_poll(struct child *c)
{
	int st;

	if (c->exited || !c->pid)
		return c->exited;
	if (waitpid(c->pid, &st, WNOHANG) != c->pid)
		return false;
	c->exited = true;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return true;
}

void child_stop(struct child *c, int sig, int timeout_ms)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	if (!c->pid || child_poll(c))
		return;
	if (c->gate >= 0) {
		close(c->gate);	/* never released: it exits on EOF */
		c->gate = -1;
	}
	kill(c->pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (child_poll(c))
			return;
		nanosleep(&tick, NULL);
	}
	kill(c->pid, SIGKILL);
	while (!child_poll(c))
		nanosleep(&tick, NULL);
}

static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return access(path, X_OK) ? -errno : 0;
}

/* What execvp would find, checked before any probe is attached. */
int child_runnable(const char *cmd)
{
	const char *path = getenv("PATH"), *p;
	char buf[4096];
	int err = -ENOENT;

	if (strchr(cmd, '/'))
		err = executable(cmd);
	else
		for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; err && p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
			int len = strcspn(p, ":");
			int e;

			snprintf(buf, sizeof(buf), "%.*s/%s", len, len ? p : ".", cmd);
			e = executable(buf);
			if (!e || e != -ENOENT)
				err = e;
		}
	if (err)
		fprintf(stderr, "kvmlockstat: cannot run %s: %s\n", cmd,
			err == -ENOENT && !strchr(cmd, '/') ? "command not found" : strerror(-err));
	return err;
}

bool process_gone(pid_t pid)
{
	char path[64], buf[256], *state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'. */
	state = strrchr(buf, ')');
	return state && (state[2] == 'Z' || state[2] == 'X');
}
