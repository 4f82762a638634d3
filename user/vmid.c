// SPDX-License-Identifier: GPL-2.0
/*
 * VM identity from /proc: a KVM VM is an anon inode fd named kvm-vm, its
 * vCPUs are kvm-vcpu:N fds of the same process.  BPF names the VM by its
 * struct kvm and the thread that created it; this joins the two.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/kvm.h>
#include "vmid.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	char *ok;

	if (!f)
		return -errno;
	ok = fgets(buf, len, f);
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

void vmid_comm(uint32_t pid, char comm[TASK_COMM_LEN])
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	if (read_line(path, buf, sizeof(buf)))
		buf[0] = '\0';
	snprintf(comm, TASK_COMM_LEN, "%.15s", buf);
}

uint32_t vmid_tgid(uint32_t tid)
{
	char path[64], line[128];
	uint32_t tgid = tid;
	FILE *f;

	/* /proc/<tid> resolves for any thread, listed or not. */
	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	f = fopen(path, "r");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %u", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

bool vmid_in_kvm_run(uint32_t tid)
{
	char path[64], line[256], target[64];
	unsigned long nr, fd, req;
	ssize_t n;

	/* "NR ARG1 ARG2 ...", or "running" while the task is on a CPU. */
	snprintf(path, sizeof(path), "/proc/%u/syscall", tid);
	if (read_line(path, line, sizeof(line)) ||
	    sscanf(line, "%lu %lx %lx", &nr, &fd, &req) != 3 ||
	    nr != SYS_ioctl || req != KVM_RUN)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/fd/%lu", tid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strncmp(target, "anon_inode:kvm-vcpu:", 20);
}

/* Counts a process's KVM fds; returns 0 when it has none. */
static int count_kvm_fds(uint32_t pid, int *vms, int *vcpus)
{
	char dir[64], path[320], target[64];
	struct dirent *de;
	DIR *d;

	*vms = *vcpus = 0;
	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, "anon_inode:kvm-vm"))
			(*vms)++;
		else if (!strncmp(target, "anon_inode:kvm-vcpu:", 20))	/* not kvm-vcpu-stats */
			(*vcpus)++;
	}
	closedir(d);
	return *vms;
}

int vmid_scan(struct vmm **out, size_t *n)
{
	struct vmm *v = NULL, *grown;
	struct dirent *de;
	DIR *proc;

	*out = NULL;
	*n = 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		int vms, vcpus;
		uint32_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtoul(de->d_name, NULL, 10);
		if (!count_kvm_fds(pid, &vms, &vcpus))
			continue;
		grown = realloc(v, (*n + 1) * sizeof(*v));
		if (!grown) {
			closedir(proc);
			free(v);
			return -ENOMEM;
		}
		v = grown;
		v[*n] = (struct vmm){ .pid = pid, .nr_vms = vms, .nr_vcpus = vcpus };
		vmid_comm(pid, v[*n].comm);
		(*n)++;
	}
	closedir(proc);
	*out = v;
	return 0;
}

int vmid_annotate(struct run *r, uint32_t only_pid)
{
	struct vmm *vmms;
	size_t n;
	int err = vmid_scan(&vmms, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct vm_rec *v;

		if (only_pid && vmms[i].pid != only_pid)
			continue;
		v = run_vm(r, vmms[i].pid, 0);
		if (!v) {
			err = -ENOMEM;
			break;
		}
		v->nr_vcpus = vmms[i].nr_vcpus;
		if (!v->comm[0])
			memcpy(v->comm, vmms[i].comm, sizeof(v->comm));
	}
	free(vmms);
	return err;
}
