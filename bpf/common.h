// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch kernel side: tc egress sizes, XDP arrivals (Packet Too Big, SYN MSS, handshake
 * bytes), and tracepoints for drops, retransmissions and socket state.
 *
 * Hot path rule: a packet that does not matter costs a parse and at most one map lookup.
 * Events go to the ring buffer only when something changes for a destination or flow.
 *
 * One object, built from a file per hook (Makefile: linked by bpftool gen object): maps.bpf.c
 * (maps and shared globals, declared in maps.h), egress.bpf.c (tc egress), ingress.bpf.c
 * (XDP and tc ingress), handshake.bpf.c (the TLS/SSH parser and the flow events),
 * tracepoints.bpf.c. This header: what they all use; flow.h: what tc egress and the arrivals
 * share about a tracked flow. Helpers stay static __always_inline in headers: only the
 * global functions, each in the file of its hook, are calls across the files.
 */
#ifndef MW_BPF_COMMON_H
#define MW_BPF_COMMON_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "mtuwatch.h"
#include "parse.h"

/*
 * TC_ACT_UNSPEC: "no opinion", so that the next program on the hook runs (TCX_NEXT, or the
 * next clsact filter). TC_ACT_OK would end the chain and blind whatever runs after us.
 */
#define TC_ACT_UNSPEC	(-1)
#define AF_INET		2
#define AF_INET6	10
#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_FIN_WAIT1	4
#define TCP_CLOSE	7
#define TCP_CLOSE_WAIT	8
#define HS_MAX_STEPS	24	/* stop parsing a flow after this many messages */
#define SSH_LINE	64	/* how much of an SSH identification line we look at */
#define MW_PTB_MAX_LEN	(1280 + 64)	/* no Packet Too Big is longer (see on_kfree_skb) */

#include "maps.h"

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

/* Only for packets that matter: a hash update per call. */
static __always_inline void stat_add(__u16 kind, __u32 ifindex, __u32 netns, __u8 family,
				     __u16 reason)
{
	struct mw_stat_key k = {};
	__u64 one = 1, *v;

	k.kind = kind;
	k.ifindex = ifindex;
	k.netns = netns;
	k.family = family;
	k.reason = reason;
	v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&stats, &k, &one, BPF_NOEXIST);
}

/*
 * The counting port filters (flow_bloom: tracked flows; flow_attn: flows whose arrivals need
 * work): may a flow with these ports be counted? An array read, no hash.
 */
static __always_inline bool ports_maybe(void *filter, __u16 lport, __u16 rport)
{
	__u32 i = MW_BLOOM_SLOT(lport, rport);
	__u32 *c = bpf_map_lookup_elem(filter, &i);

	return !c || *c;
}

static __always_inline void ports_add(void *filter, __u16 lport, __u16 rport, __u32 delta)
{
	__u32 i = MW_BLOOM_SLOT(lport, rport);
	__u32 *c = bpf_map_lookup_elem(filter, &i);

	if (c)
		__sync_fetch_and_add(c, delta);
}

/* Reserve a zeroed event; a failed reserve is counted, never silent. */
static __always_inline struct mw_event *ev_new(__u16 type)
{
	struct mw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(MW_CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	return e;
}

/*
 * Hand an event to user space without waking it. A wake-up is an irq_work, and its
 * self-IPI is a VM exit in a guest: per event, it cost more than the rest of the program
 * together under many short connections. User space polls the ring every 100 ms anyway;
 * only a backlog that could fill the ring before then wakes it.
 */
static __always_inline void ev_send(struct mw_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > MW_RB_WAKE_BYTES)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/*
 * A Packet Too Big wakes user space at once: it reads the route exception the PTB made before
 * a flush or a later change can alter it. Rare (ptb_count thins them, new kinds budgeted).
 */
static __always_inline void ev_send_now(struct mw_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}


/*
 * Count a Packet Too Big of its kind; returns the running count when it deserves an event
 * (the 1st, 2nd, 4th, 8th, ... of its kind), 0 otherwise. New kinds are limited to a budget
 * per second and CPU, so that forged PTBs from random sources cannot flood the ring either.
 */
static __always_inline __u32 ptb_count(struct mw_ptb_key *k)
{
	__u64 *n = bpf_map_lookup_elem(&ptbs, k), one = 1;
	__u32 i0 = 0, i1 = 1;
	__u64 *sec, *used, now;

	if (n) {
		__u64 c = __sync_fetch_and_add(n, 1) + 1;

		if (c > 0xffffffffULL)
			return 0;
		return (c & (c - 1)) ? 0 : (__u32)c;
	}
	sec = bpf_map_lookup_elem(&ptb_budget, &i0);
	used = bpf_map_lookup_elem(&ptb_budget, &i1);
	if (!sec || !used)
		return 0;
	now = bpf_ktime_get_ns() >> 30;		/* about a second */
	if (*sec != now) {
		*sec = now;
		*used = 0;
	}
	if (++*used > PTB_NEW_PER_SEC) {
		count(MW_CNT_PTB_SUPPRESSED);
		return 0;
	}
	bpf_map_update_elem(&ptbs, k, &one, BPF_NOEXIST);
	return 1;
}

#endif /* MW_BPF_COMMON_H */
