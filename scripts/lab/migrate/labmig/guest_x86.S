/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration lab's guest (x86, bare metal), booted by QEMU's -kernel through
 * multiboot: 32-bit protected mode, flat segments, paging off, interrupts off.
 * Same workload as guest_arm64.S: fill once, then write the working set for ever,
 * the 64-bit page count (edx:eax) stored at LM_COUNTER after every page: high
 * word, low word, then the high word again at LM_COUNTER_HI (see layout.h).
 */
#include "layout.h"
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0

	.code32
	.text
	.align	4			/* the header: within the image's first 8 KiB */
	.long	MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.global _start
_start:
	mov	$LM_PARAMS, %esp	/* multiboot leaves no stack: below the parameters */
	mov	$LM_PARAMS, %esi
	xor	%eax, %eax
	xor	%edx, %edx
	mov	(%esi), %edi
	shl	$12, %edi
	add	$LM_DATA, %edi		/* fill starts after the working set */
	mov	8(%esi), %ecx
	test	%ecx, %ecx
	jz	loop
fill:	call	page
	dec	%ecx
	jnz	fill
loop:	mov	$LM_DATA, %edi
	mov	(%esi), %ecx
1:	call	page
	dec	%ecx
	jnz	1b
	jmp	loop

/* One page: count it, write it, publish the count; edi to the next page. */
page:	add	$1, %eax
	adc	$0, %edx
	mov	%eax, (%edi)
	mov	%edx, LM_COUNTER + 4
	mov	%eax, LM_COUNTER
	mov	%edx, LM_COUNTER_HI
	add	$LM_PAGE, %edi
	ret
