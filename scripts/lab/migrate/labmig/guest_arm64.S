/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration lab's guest (arm64, bare metal, EL1, MMU off), booted by QEMU's
 * -kernel as an ELF. Fills the fill pages once (so migration has data to send, not
 * zero pages), then writes the working set page after page for ever; after each
 * page it stores the running page count at LM_COUNTER, which the lab's logger reads
 * from QEMU's shared RAM file. No exits: the count costs the guest one store.
 */
#include "layout.h"
#define RAM 0x40000000

	.text
	.global _start
_start:
	ldr	x9, =RAM + LM_PARAMS
	ldr	x10, =RAM + LM_COUNTER
	ldr	x11, =RAM + LM_DATA
	ldr	x1, [x9]		/* working-set pages */
	ldr	x2, [x9, #8]		/* fill pages */
	mov	x6, #0			/* pages written */
	mov	x3, #LM_PAGE
	add	x4, x11, x1, lsl #12	/* fill starts after the working set */
	cbz	x2, loop
fill:	add	x6, x6, #1
	str	x6, [x4]
	str	x6, [x10]
	lsr	x7, x6, #32
	str	w7, [x10, #8]
	add	x4, x4, x3
	subs	x2, x2, #1
	b.ne	fill
loop:	mov	x4, x11
	mov	x5, x1
1:	add	x6, x6, #1
	str	x6, [x4]
	str	x6, [x10]
	lsr	x7, x6, #32
	str	w7, [x10, #8]
	add	x4, x4, x3
	subs	x5, x5, #1
	b.ne	1b
	b	loop
