/* SPDX-License-Identifier: GPL-2.0 */
/* The traced command (-- COMMAND): started held, released once probes are on. */
#ifndef CHILD_H
#define CHILD_H

#include <stdbool.h>
#include <sys/types.h>

struct child {
	pid_t pid;
	int gate;		/* write end: one byte releases the child */
	bool exited;
	int status;		/* shell-style: exit code, or 128 + signal */
};

int child_start(struct child *c, char **argv);
void child_release(struct child *c);
/* True once the child has exited (reaps it). */
bool child_poll(struct child *c);
/* Forwards sig, waits up to timeout_ms, then kills it. */
void child_stop(struct child *c, int sig, int timeout_ms);
/* 0 if cmd names an executable file (itself, or through PATH); else -errno, said on stderr. */
int child_runnable(const char *cmd);
/* True once process pid has exited (gone, or a zombie). */
bool process_gone(pid_t pid);

#endif
