/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `mtuwatch probe`: data shared by bpf/probe.bpf.c and user/probe*.c. Kernel-includable: only
 * __u types, no libc.
 */
#ifndef MW_PROBE_H
#define MW_PROBE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MW_PROBE_QUOTE	128	/* bytes of a dropped segment kept to quote in our PTB */

/* What to watch; one entry, rewritten by user space between steps (no reload). */
struct mw_probe_cfg {
	__u8 addr[16];		/* the far host (IPv4 in the first 4 bytes) */
	__u8 family;		/* 4 or 6; 0: everything off */
	__u8 l3;		/* watched interface has no link-layer header */
	__u8 drop;		/* ptb-test: XDP drops the far host's DF segments over drop_above */
	__u8 segs;		/* ptb-test: XDP reports each segment (else it only observes) */
	__u16 rport;		/* far port, network order (0 in forward mode) */
	__u16 lport;		/* our port, network order (0: any) */
	__u32 drop_above;	/* IP length */
	__u32 max_drops;	/* bound on XDP drops per test */
	__u32 netns;		/* our namespace: kfree_skb fires for every namespace */
};

/* Evidence of one step; user space zeroes it before each step. */
struct mw_probe_stats {
	__u64 ptb_in;		/* PTBs quoting a packet to the far host, seen at ingress */
	__u64 ptb_drop;		/* such PTBs dropped on this host (kfree_skb) */
	__u64 seg_in;		/* far host's TCP segments to lport seen at ingress */
	__u64 seg_drop;		/* ... dropped on this host (kfree_skb) */
	__u32 ptb_in_mtu;
	__u32 ptb_drop_mtu;
	__u32 ptb_drop_reason;
	__u32 seg_drop_reason;
	__u32 seg_max;		/* largest IP length of the far host's segments */
	__u32 xdp_drops;
	__u8 ptb_in_from[16];
	__u8 ptb_drop_from[16];
};

/* ptb-test: one event per segment of the far host's XDP saw (dropped or passed). */
struct mw_probe_seg {
	__u64 ts;		/* bpf_ktime_get_ns */
	__u32 seq;		/* host order */
	__u32 len;		/* IP length */
	__u32 payload;		/* TCP payload bytes */
	__u8 df;		/* IPv4 DF, or IPv6 without a fragment header */
	__u8 frag;		/* a fragment (the host cleared DF, or fragments itself) */
	__u8 dropped;
	__u8 flags;		/* TCP flags */
	__u32 qlen;		/* bytes in quote */
	__u8 quote[MW_PROBE_QUOTE];	/* from the IP header on */
};

#endif
