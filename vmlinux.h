/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CO-RE type definitions, one dump of real kernel BTF per architecture:
 * the layouts only seed relocations; libbpf fixes every field access up
 * against the running kernel's (and its modules') BTF at load time.
 */
#if defined(__TARGET_ARCH_x86)
#include "vmlinux/x86/vmlinux.h"
#elif defined(__TARGET_ARCH_arm64)
#include "vmlinux/arm64/vmlinux.h"
#else
#error "kvmlockstat: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif
