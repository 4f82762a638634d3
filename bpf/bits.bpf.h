/* SPDX-License-Identifier: GPL-2.0 */
/* Bit helpers for histogram slots, usable by every probe family. */
#ifndef BITS_BPF_H
#define BITS_BPF_H

static __always_inline __u64 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

/* Slot i counts values in [2^i, 2^(i+1)); slot 0 also takes 0. */
static __always_inline __u32 hist_slot(__u64 v)
{
	__u64 s = log2_u64(v);

	return s >= MAX_SLOTS ? MAX_SLOTS - 1 : s;
}

#endif
