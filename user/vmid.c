// SPDX-License-Identifier: GPL-2.0
/*
 * VM identity from /proc: a KVM VM is an anon inode fd named kvm-vm, its
 * vCPUs are kvm-vcpu:N fds of the same process.  BPF names the VM by its
 * struct kvm and the thread that created it; this joins the two.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
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

int vmid_kvm_run_vcpu(uint32_t tid)
{
	char path[64], line[256], target[64];
	unsigned long nr, fd, req;
	ssize_t n;

	/* "NR ARG1 ARG2 ...", or "running" while the task is on a CPU. */
	snprintf(path, sizeof(path), "/proc/%u/syscall", tid);
	if (read_line(path, line, sizeof(line)) ||
	    sscanf(line, "%lu %lx %lx", &nr, &fd, &req) != 3 ||
	    nr != SYS_ioctl || req != KVM_RUN)
		return -1;
	snprintf(path, sizeof(path), "/proc/%u/fd/%lu", tid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	return vmid_vcpu_fd(target);
}

bool vmid_in_kvm_run(uint32_t tid)
{
	return vmid_kvm_run_vcpu(tid) >= 0;
}

int vmid_vcpu_fd(const char *target)
{
	static const char prefix[] = "anon_inode:kvm-vcpu:";
	const char *id = target + sizeof(prefix) - 1;

	if (strncmp(target, prefix, sizeof(prefix) - 1) || !isdigit((unsigned char)*id))
		return -1;
	return atoi(id);
}

/*
 * Counts a process's KVM fds; returns 0 when it has none.  *denied: some fd
 * could not be read (another user's process without CAP_SYS_PTRACE).
 */
static int count_fds(uint32_t pid, int *vms, int *vcpus, bool *denied)
{
	char dir[64], path[320], target[64];
	struct dirent *de;
	DIR *d;

	*vms = *vcpus = 0;
	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	d = opendir(dir);
	if (!d) {
		*denied |= errno == EACCES || errno == EPERM;
		return 0;
	}
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0 && (errno == EACCES || errno == EPERM))
			*denied = true;
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, "anon_inode:kvm-vm"))
			(*vms)++;
		else if (vmid_vcpu_fd(target) >= 0)
			(*vcpus)++;
	}
	closedir(d);
	return *vms;
}

static int count_kvm_fds(uint32_t pid, int *vms, int *vcpus)
{
	bool denied = false;

	return count_fds(pid, vms, vcpus, &denied);
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

int vmid_apply(struct run *r, const struct vmm *vmms, size_t n, uint32_t only_pid)
{
	for (size_t i = 0; i < n; i++) {
		struct vm_rec *v;

		if (only_pid && vmms[i].pid != only_pid)
			continue;
		v = run_vm(r, vmms[i].pid, 0);
		if (!v)
			return -ENOMEM;
		v->nr_vcpus = vmms[i].nr_vcpus;
		if (!v->comm[0])
			memcpy(v->comm, vmms[i].comm, sizeof(v->comm));
	}
	return 0;
}

int vmid_annotate(struct run *r, uint32_t only_pid)
{
	struct vmm *vmms;
	size_t n;
	int err = vmid_scan(&vmms, &n);

	if (err)
		return err;
	err = vmid_apply(r, vmms, n, only_pid);
	free(vmms);
	return err;
}

/* Copies one comma-separated element of a qemu option value, ",," read as ",". */
static const char *opt_element(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == ',' && s[1] != ',')
			break;
		if (*s == ',')
			s++;
		if (n + 1 < len)
			out[n++] = *s;
	}
	out[n] = '\0';
	return *s ? s + 1 : s;
}

int vmid_parse_name(const char *cmdline, size_t len, char *out, size_t outlen)
{
	const char *end = cmdline + len, *arg = cmdline, *value = NULL;
	bool first = true;
	char el[256];

	/* argv is NUL-separated; the value follows "-name" or "--name" (or "-name=..."). */
	for (; arg < end && !value; arg += strnlen(arg, end - arg) + 1) {
		if (!strncmp(arg, "--", 2) && arg[2] != '-')
			arg++;
		if (!strcmp(arg, "-name") && arg + 6 < end)
			value = arg + 6;
		else if (!strncmp(arg, "-name=", 6))
			value = arg + 6;
	}
	if (!value)
		return -ENOENT;
	/* "-name NAME[,process=...]" or "-name guest=NAME[,...]": guest is the implied key. */
	for (const char *p = value; *p; first = false) {
		p = opt_element(p, el, sizeof(el));
		if (!strncmp(el, "guest=", 6) && el[6]) {
			snprintf(out, outlen, "%s", el + 6);
			return 0;
		}
		if (first && el[0] && !strchr(el, '=')) {
			snprintf(out, outlen, "%s", el);
			return 0;
		}
	}
	return -ENOENT;
}

bool vmid_vmm_alive(uint32_t pid)
{
	bool denied = false;
	int vms, vcpus;

	/* Unreadable fds (another user's VMM, no CAP_SYS_PTRACE): alive while the process is. */
	return count_fds(pid, &vms, &vcpus, &denied) || denied;
}

void vmid_vm_name(uint32_t pid, char *out, size_t outlen)
{
	char path[64], buf[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	if ((f = fopen(path, "r"))) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	if (!n || vmid_parse_name(buf, n, out, outlen)) {
		char comm[TASK_COMM_LEN];

		vmid_comm(pid, comm);
		snprintf(out, outlen, "%s", comm);
	}
}
