/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory layout shared by the migration lab's bare-metal guest (guest_*.S) and the
 * progress logger (progress.c), as offsets from the start of guest RAM, which is
 * also the offset in QEMU's RAM backing file (arm64 virt: RAM at 0x40000000;
 * x86 pc: RAM at 0, file offset = address below 3.5 GiB).
 * Assembler-safe: only #defines.
 */
#ifndef LABMIG_LAYOUT_H
#define LABMIG_LAYOUT_H

#define LM_PAGE		0x1000
#define LM_CODE		0x100000	/* guest code (ELF load address - RAM base) */
#define LM_PARAMS	0x200000	/* u64 working-set pages, u64 fill pages (QEMU -device loader) */
#define LM_COUNTER	0x201000	/* u64 pages written so far, stored by the guest after every page, */
#define LM_COUNTER_HI	0x201008	/* then its high 32 bits again: a reader that finds them equal to the
					 * u64's has a whole value even when a 32-bit guest stores it in halves */
#define LM_DATA		0x400000	/* first page the workload writes */

#endif
