// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch kernel side: tc egress sizes, XDP arrivals (Packet Too Big, SYN MSS, handshake
 * bytes), and tracepoints for drops, retransmissions and socket state.
 *
 * Hot path rule: a packet that does not matter costs a parse and at most one map lookup.
 * Events go to the ring buffer only when something changes for a destination or flow.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "mtuwatch.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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

/* Set by user space between open and load. */
const volatile __u32 targ_netns = 0;		/* judge only this namespace (0 = all) */
const volatile __u32 targ_self_netns = 0;	/* namespace of the watched interfaces */
const volatile __u32 targ_hs_parse = 1;		/* recognise TLS/SSH handshakes */
/* inet_sock_set_state runs as tp_btf: it keeps sk_cache, tc egress and retransmit use it. */
const volatile __u32 targ_sk_cache = 0;
/*
 * Arrivals of settled flows skip the flow map (flow_attn). Only with targ_sk_cache, whose
 * egress path reads the socket's snd_una for a re-send (the ACKs it then did not see).
 */
const volatile __u32 targ_attn = 0;

/* Bumped by user space whenever it writes a path MTU into dsts: invalidates dst_cache. */
__u32 dst_epoch = 0;

/* The watched namespace's struct net, learnt by the tracepoints (see net_wanted); 0: not yet. */
__u64 self_net = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MW_RB_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mw_stat_key);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mw_dst_key);
	__type(value, struct mw_dst_val);
} dsts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mw_flow_key);
	__type(value, struct mw_flow_val);
} flows SEC(".maps");

/* Ports of tracked flows, counted (see MW_BLOOM_SLOT): most packets skip the flow map. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_BLOOM_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} flow_bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_BLOOM_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} flow_attn SEC(".maps");

/* Local sockets' tracked flows, as tc egress needs them (see struct mw_sk_cache). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mw_sk_cache);
} sk_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MW_DST_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct mw_dst_cache);
} dst_cache SEC(".maps");

/*
 * The last SYN-ACK event per source (direct-mapped by address): a SYN-ACK is a sign of life,
 * and one a second per server and MSS says all of it, however many connections a client
 * opens (the connection's ESTABLISHED, a moment later, says it again for each). Shared by
 * the CPUs: a race costs an extra event, never a lost one.
 */
#define SYN_SEEN_SLOTS	256
struct syn_seen {
	__u32 addr[4];
	__u32 mss;
	__u32 ifindex;
	__u64 ts_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYN_SEEN_SLOTS);
	__type(key, __u32);
	__type(value, struct syn_seen);
} syn_seen SEC(".maps");

/*
 * An arrival's ACKED on its way into the HS event of the same segment (see flow_acked), per
 * CPU: on the stack it would push tc egress's call chain past 512 bytes on 6.1. Written and
 * consumed within one program run, so never seen by another packet.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_hs_acked);
} hs_fold SEC(".maps");

/* Room for one event being put together, per CPU (the XDP program's stack is full). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_event);
} scratch SEC(".maps");

/* Packet Too Big by kind: a flood of identical (or forged) PTBs is counted, not streamed. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mw_ptb_key);
	__type(value, __u64);
} ptbs SEC(".maps");

/* Per-CPU budget of events for new kinds of PTB: [0] = second it counts, [1] = used. */
#define PTB_NEW_PER_SEC	256
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} ptb_budget SEC(".maps");

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

/*
 * A flow's arrivals need work again. Count first, then flag: the count never falls below
 * the flagged flows. Both are locked instructions, so the flag is read after the caller's
 * store of what is pending (see attn_settle, which stores the flag before reading that).
 */
static __always_inline void attn_enter(struct mw_flow_key *k, struct mw_flow_val *v)
{
	/*
	 * Already flagged (a handshake's every segment): nothing to count, and no locked add on
	 * the filter's line, which the arrivals' CPU reads. The read is a locked one, like the
	 * exchange below: ordered after the caller's store, so a flag ingress clears meanwhile
	 * is followed by its re-check seeing that store (attn_settle).
	 */
	if (__sync_fetch_and_add(&v->attn, 0))
		return;
	ports_add(&flow_attn, k->lport, k->rport, 1);
	if (__sync_val_compare_and_swap(&v->attn, 0, 1) != 0)
		ports_add(&flow_attn, k->lport, k->rport, (__u32)-1);
}

/* Arrivals of a settled flow (handshake over, nothing awaiting an ACK) need nothing. */
static __always_inline bool flow_settled(struct mw_flow_val *v)
{
	return v->done == 3 && !v->d[MW_DIR_OUT].pend_end && !v->d[MW_DIR_OUT].resend_cnt;
}

static __always_inline void attn_settle(struct mw_flow_key *k, struct mw_flow_val *v)
{
	if (!v->attn || !flow_settled(v))
		return;
	if (__sync_val_compare_and_swap(&v->attn, 1, 0) != 1)
		return;
	ports_add(&flow_attn, k->lport, k->rport, (__u32)-1);
	/* tc egress may have made something pending meanwhile, and seen the flag still set. */
	if (!flow_settled(v))
		attn_enter(k, v);
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

static __always_inline bool netns_wanted(__u32 ns)
{
	return !targ_netns || ns == targ_netns;
}

/*
 * Whether the events of the namespace whose struct net is `net` are wanted, and its number.
 * The first time the watched namespace's number is read here, its struct net's address is
 * kept: from then on a comparison answers for every event, ours or another namespace's,
 * without reading the struct net (a cache line of its own, cold for a re-send or a drop in
 * another namespace). Sound: mtuwatch lives in that namespace, which therefore outlives it, so
 * no other namespace can have that address meanwhile. `btf`: net is a typed pointer.
 */
static __always_inline bool net_wanted(const struct net *net, bool btf, __u32 *netns)
{
	__u64 self = self_net;

	if (self) {
		if ((__u64)net == self) {
			*netns = targ_self_netns;
			/* Constants: true while the filter is "ours" or "all" (user space's only two). */
			return netns_wanted(targ_self_netns);
		}
		if (targ_netns == targ_self_netns)
			return false;
	}
	*netns = btf ? net->ns.inum : BPF_CORE_READ(net, ns.inum);
	if (!self && *netns == targ_self_netns)
		self_net = (__u64)net;
	return netns_wanted(*netns);
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

/* ---- TLS / SSH handshake recognition ------------------------------------------------- */

/*
 * Reads len bytes at off of the packet; tc and XDP have different helpers. `xdp` is a
 * compile-time constant at every call site, so the other branch is dropped.
 */
static __always_inline long pkt_load(void *ctx, bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline void flow_event_key(struct mw_event *e, struct mw_flow_key *k)
{
	e->netns = k->netns;
	e->family = k->family;
	__builtin_memcpy(e->flow.saddr, k->laddr, 16);
	__builtin_memcpy(e->flow.daddr, k->raddr, 16);
	e->flow.sport = k->lport;
	e->flow.dport = k->rport;
	e->flow.family = k->family;
	e->flow.proto = IPPROTO_TCP;
}

/* The fields of an event about a tracked flow, besides the flow (see flow_emit). */
struct flow_ev {
	__u16 type;
	__u8 dir;
	__u8 proto;		/* 0: TCP */
	__u32 size;
	__u32 seq;
	__u32 aux;
	__u32 aux2;
	__u32 mtu;
	__u32 ifindex;
};

/*
 * Every event about a flow (tracked, or a packet's own) goes out through this global
 * function: the verifier walks it once per program instead of once per path that emits one
 * (reserving, zeroing and filling an event was a fifth of tc egress's and XDP's
 * verification, start-up time). acked (NULL: none): an ACKED waiting to be folded into this
 * HS event (the event's peer bytes, see struct mw_hs_acked); taken, it is cleared.
 * Pointer arguments of a global function may be NULL as far as the verifier knows: checked.
 */
__noinline int flow_emit(struct mw_flow_key *k, struct flow_ev *a, struct mw_hs_acked *acked)
{
	struct mw_event *e;

	if (!k || !a)
		return 0;
	e = ev_new(a->type);
	if (!e)
		return 0;
	flow_event_key(e, k);
	if (a->proto)
		e->flow.proto = a->proto;
	e->dir = a->dir;
	e->size = a->size;
	e->seq = a->seq;
	e->aux = a->aux;
	e->aux2 = a->aux2;
	e->mtu = a->mtu;
	e->ifindex = a->ifindex;
	if (acked && acked->acked) {
		__builtin_memcpy(e->peer, acked, sizeof(*acked));
		acked->acked = 0;
	}
	ev_send(e);
	return 0;
}

/*
 * steps: up to two MW_HS_* steps, 16 bits each (the first in the low half); more: two more.
 * seg: the segment's size if it is a new largest one received (0: not): the segment's first
 * HS event carries it (seq) instead of a SEG_MAX event of its own. The same goes for the
 * ACKED of the segment's ACK, which flow_acked left in hs_fold (flow_emit takes it).
 */
static __always_inline void hs_event(struct mw_flow_key *k, int dir, __u32 steps, __u32 more,
				     __u8 app, __u32 len, __u32 *seg)
{
	struct flow_ev a = { .type = MW_EV_HS, .dir = dir, .aux = steps, .mtu = more, .aux2 = app,
			     .size = len, .seq = *seg };
	__u32 zero = 0;

	*seg = 0;
	flow_emit(k, &a, bpf_map_lookup_elem(&hs_fold, &zero));
}

/*
 * Parse the clear-text start of a TLS or SSH conversation. Only a segment that starts exactly
 * where the previous record ended is parsed (next_seq), so a segment that starts mid-record
 * (a retransmission, reordering, a capture that joined late) is never misread. Bounded: at
 * most 4 records per segment and HS_MAX_STEPS per flow.
 */
static __always_inline void hs_parse_body(void *ctx, bool xdp, struct mw_flow_key *k,
					  struct mw_flow_val *v, int dir, __u32 seq, __u32 poff,
					  __u32 plen, __u32 *seg)
{
	struct mw_flow_dir *d = &v->d[dir & 1];
	__u32 rel, off;
	__u8 h[8];

	if (v->done & (1 << dir) || !d->next_seq || seq != d->next_seq)
		return;
	if (d->app_steps >= HS_MAX_STEPS) {
		v->done |= 1 << dir;
		return;
	}
	if (plen < 6)
		return;
	if (pkt_load(ctx, xdp, poff, h, 6))
		return;

	if (v->app == MW_APP_UNKNOWN) {
		if (h[0] == 22 && h[1] == 3 && h[2] <= 4)
			v->app = MW_APP_TLS;
		else if (h[0] == 'S' && h[1] == 'S' && h[2] == 'H' && h[3] == '-')
			v->app = MW_APP_SSH;
		else {
			v->app = MW_APP_OTHER;
			v->done = 3;
			return;
		}
	}

	rel = 0;
	if (v->app == MW_APP_SSH && !(d->app_steps)) {
		/* The identification line ends with LF within 255 bytes (RFC 4253 4.2). */
		/*
		 * The line goes to per-CPU scratch, not the stack: with flow_emit's frame the
		 * stack would pass 512 bytes as 6.1 counts it (frames rounded up to 32).
		 */
		__u32 zero = 0, n = plen < SSH_LINE ? plen : SSH_LINE;
		__u8 *line = bpf_map_lookup_elem(&scratch, &zero);

		if (h[0] != 'S' || h[1] != 'S' || h[2] != 'H' || h[3] != '-') {
			v->done |= 1 << dir;
			return;
		}
		if (n < 8 || !line)
			return;
		/* The same value, in a form whose bounds [1, 64] the verifier sees whatever
		 * registers the compiler picks. */
		n = ((n - 1) & (SSH_LINE - 1)) + 1;
		if (pkt_load(ctx, xdp, poff, line, n))
			return;
		rel = 0;
		for (__u32 i = 4; i < SSH_LINE; i++) {
			if (i >= n)
				break;
			if (line[i] == '\n') {
				rel = i + 1;
				break;
			}
		}
		if (!rel) {
			/* Longer than we look: give up rather than guess. */
			v->done |= 1 << dir;
			return;
		}
		d->app_steps++;
		hs_event(k, dir, MW_HS_SSH_IDENT, 0, MW_APP_SSH, rel, seg);
		d->next_seq = seq + rel;
	}

	/*
	 * The records of one segment go out as one event (up to four steps): a TLS 1.3 server's
	 * ServerHello, ChangeCipherSpec and first encrypted record usually share a segment.
	 */
	__u32 steps = 0, more = 0, n = 0, bytes = 0;

	for (int i = 0; i < 4; i++) {
		__u32 rlen, step;

		if (rel + 6 > plen)
			break;
		off = poff + rel;
		if (pkt_load(ctx, xdp, off, h, 6))
			goto out;
		if (v->app == MW_APP_TLS) {
			if (h[1] != 3 || h[2] > 4) {
				v->done |= 1 << dir;
				goto out;
			}
			rlen = ((__u32)h[3] << 8) | h[4];
			if (rlen == 0 || rlen > 16384 + 2048) {
				v->done |= 1 << dir;
				goto out;
			}
			if (h[0] == 22)
				step = h[5];
			else if (h[0] == 20)
				step = MW_HS_TLS_CCS;
			else if (h[0] == 23)
				step = MW_HS_TLS_APPDATA;
			else if (h[0] == 21)
				step = 0;	/* alert: not a step */
			else {
				v->done |= 1 << dir;
				goto out;
			}
			rlen += 5;
		} else {
			__u32 plen_ssh = ((__u32)h[0] << 24) | ((__u32)h[1] << 16) |
					 ((__u32)h[2] << 8) | h[3];

			/* RFC 4253 6.1: packets up to 35000 bytes must be accepted. */
			if (plen_ssh < 5 || plen_ssh > 256 * 1024 || h[4] >= plen_ssh) {
				v->done |= 1 << dir;
				goto out;
			}
			step = MW_HS_SSH_BASE + h[5];
			rlen = plen_ssh + 4;
		}
		if (step) {
			d->app_steps++;
			if (n < 2)
				steps |= step << (16 * n);
			else
				more |= step << (16 * (n & 1));
			n++;
			bytes += rlen;
		}
		/* Past these points everything is encrypted: stop looking in this direction. */
		if (step == MW_HS_TLS_APPDATA || step == MW_HS_SSH_NEWKEYS) {
			v->done |= 1 << dir;
			d->next_seq = 0;
			goto out;
		}
		rel += rlen;
		d->next_seq = seq + rel;
		if (rel >= plen)
			goto out;
	}
	/* More records in this segment than we parse: stop rather than lose the boundary. */
	if (rel < plen)
		v->done |= 1 << dir;
out:
	if (n)
		hs_event(k, dir, steps, more, v->app, bytes, seg);
}

/*
 * The parser as global functions, one per program type (the context's type is what the
 * verifier checks a global function's first argument against, on 6.1 too): the verifier
 * walks each once per program instead of once per path that reaches a call. Pointer
 * arguments of global functions may be NULL as far as the verifier knows: checked.
 */
/* A global function takes at most five arguments: the segment's numbers travel together. */
struct hs_seg {
	__u32 dir;
	__u32 seq;
	__u32 poff;
	__u32 plen;
	__u32 seg_max;		/* in: a new largest segment received; out: 0 if an event took it */
};

__noinline int hs_parse_tc(struct __sk_buff *skb, struct mw_flow_key *k, struct mw_flow_val *v,
			   struct hs_seg *g)
{
	if (!skb || !k || !v || !g)
		return 0;
	hs_parse_body(skb, false, k, v, g->dir & 1, g->seq, g->poff, g->plen, &g->seg_max);
	return 0;
}

__noinline int hs_parse_xdp(struct xdp_md *ctx, struct mw_flow_key *k, struct mw_flow_val *v,
			    struct hs_seg *g)
{
	if (!ctx || !k || !v || !g)
		return 0;
	hs_parse_body(ctx, true, k, v, g->dir & 1, g->seq, g->poff, g->plen, &g->seg_max);
	return 0;
}

/* A sequence range leaves again: a retransmission, or a send retried after a local drop. */
static __always_inline int flow_resend(struct mw_flow_key *k, struct mw_flow_dir *d, __u32 seq,
				       __u32 size, __u32 ifindex, __u8 df)
{
	struct flow_ev a = { .type = MW_EV_RESEND };

	if (d->resend_seq == seq && d->resend_cnt) {
		if (d->resend_cnt < 255)
			d->resend_cnt++;
	} else {
		d->resend_seq = seq;
		d->resend_cnt = 1;
	}
	d->resend_size = size;
	if (size >= MW_LARGE_SEG)
		stat_add(MW_STAT_LARGE_RETRANS, ifindex, k->netns, k->family, 0);
	a.dir = MW_DIR_OUT | (df ? 0 : MW_DIR_F_NODF);
	a.ifindex = ifindex;
	a.size = size;
	a.seq = seq;
	a.aux = d->resend_cnt;
	a.aux2 = d->una;
	a.mtu = d->snd_max - d->start_seq;
	flow_emit(k, &a, NULL);
	return 1;
}

static __always_inline void acked_emit(struct mw_flow_key *k, __u32 acked, __u32 sent,
				       __u32 dsize, __u32 dseq)
{
	struct flow_ev a = { .type = MW_EV_ACKED, .size = acked, .aux = sent, .mtu = dsize,
			     .seq = dseq };

	flow_emit(k, &a, NULL);
}

/*
 * The peer's ACKs on a tracked flow: a store per ACK, an event only when it means something.
 * A re-sent range being acknowledged (RECOVERED) is what tells loss from a black hole; while
 * the handshake is in clear text, more of our bytes acknowledged (ACKED) is its progress.
 * fold: the segment may make an HS event, which then carries ACKED (hs_fold) instead of an
 * event of its own (the server's first flight acknowledges the ClientHello).
 */
__noinline int flow_acked(struct mw_flow_key *k, struct mw_flow_val *v, __u32 ack, __u32 fold)
{
	struct mw_flow_dir *d;
	__u32 acked, dsize = 0, dseq = 0;
	bool recov, progress;

	if (!k || !v)
		return 0;
	d = &v->d[MW_DIR_OUT];
	acked = ack - d->start_seq;
	if (d->una && (__s32)(ack - d->una) <= 0)
		return 0;
	d->una = ack;
	recov = d->resend_cnt && (__s32)(ack - d->resend_seq) > 0;
	progress = v->done != 3 && (__s32)acked > 0 && (__s32)(acked - d->acked) > 0;
	/* A larger DF segment than any before is acknowledged: the path carries that size. */
	if (d->pend_end && (__s32)(ack - d->pend_end) >= 0) {
		dsize = d->pend_size;
		dseq = d->pend_end;
		d->proven = d->pend_size;
		d->pend_end = 0;
		/*
		 * The same ACK usually says both (the handshake's first flight is its largest
		 * segment yet): then ACKED carries the proof, one event instead of two.
		 */
		if (!progress || recov) {
			struct flow_ev a = { .type = MW_EV_DELIVERED, .size = dsize, .seq = dseq };

			flow_emit(k, &a, NULL);
			dsize = 0;
		}
	}
	if (recov) {
		struct flow_ev a = { .type = MW_EV_RECOVERED, .seq = d->resend_seq,
				     .size = d->resend_size, .aux = d->resend_cnt };

		flow_emit(k, &a, NULL);
		d->resend_cnt = 0;
	}
	if (!progress)
		return 0;
	d->acked = acked;
	if (fold) {
		__u32 zero = 0;
		struct mw_hs_acked *f = bpf_map_lookup_elem(&hs_fold, &zero);

		if (f) {
			f->acked = acked;
			f->sent = d->snd_max ? d->snd_max - d->start_seq : 0;
			f->dsize = dsize;
			f->dseq = dseq;
			return 0;
		}
	}
	acked_emit(k, acked, d->snd_max ? d->snd_max - d->start_seq : 0, dsize, dseq);
	return 0;
}

static __always_inline void flow_key_pkt(struct mw_flow_key *k, struct mw_pkt *p,
					 struct mw_tcp *th, int dir)
{
	k->netns = targ_self_netns;
	k->family = p->family;
	if (dir == MW_DIR_OUT) {
		__builtin_memcpy(k->laddr, p->saddr, 16);
		__builtin_memcpy(k->raddr, p->daddr, 16);
		k->lport = bpf_ntohs(th->source);
		k->rport = bpf_ntohs(th->dest);
	} else {
		__builtin_memcpy(k->laddr, p->daddr, 16);
		__builtin_memcpy(k->raddr, p->saddr, 16);
		k->lport = bpf_ntohs(th->dest);
		k->rport = bpf_ntohs(th->source);
	}
}

/* A segment of a tracked flow: new largest segment, re-sends, ACKs, handshake bytes. */
static __always_inline void flow_seg_v(void *ctx, bool xdp, struct mw_pkt *p, struct mw_tcp *th,
				       int dir, __u32 seg_size, __u32 poff, __u32 plen,
				       __u32 ifindex, struct mw_flow_key *k, struct mw_flow_val *v)
{
	/* Payload in clear text may make an HS event: it carries the ACKED of the same ACK. */
	bool parse = targ_hs_parse && v->done != 3 && plen;

	if (dir == MW_DIR_IN && th->ack)
		flow_acked(k, v, bpf_ntohl(th->ack_seq), parse);
	if (!plen)
		return;
	if (dir == MW_DIR_OUT) {
		struct mw_flow_dir *d = &v->d[MW_DIR_OUT];
		__u32 seq = bpf_ntohl(th->seq), end = seq + plen;
		bool again = d->snd_max && (__s32)(seq - d->snd_max) < 0 &&
			     (__s32)(end - d->snd_max) <= 0;

		if (!d->snd_max || (__s32)(end - d->snd_max) > 0)
			d->snd_max = end;
		if (again && flow_resend(k, d, seq, seg_size, ifindex, p->df)) {
			/* Its ACK (RECOVERED) is what ingress must now watch for. */
			attn_enter(k, v);
			return;
		}
		/* Only an ACK proves that a size got through; DF alone says it was not split. */
		if (p->df && seg_size > d->proven && seg_size > d->pend_size) {
			d->pend_end = end;
			d->pend_size = seg_size;
			attn_enter(k, v);
		}
	}
	/*
	 * The largest segment received is what a stall finding weighs (and a sign of life);
	 * the largest sent is kept for tc egress's socket cache only: no event for it. During
	 * the handshake the segment's HS event carries it, if the segment makes one.
	 */
	__u32 seg_max = 0;

	if (seg_size > v->d[dir].max_seg) {
		v->d[dir].max_seg = seg_size;
		if (dir == MW_DIR_IN)
			seg_max = seg_size;
	}
	if (parse) {
		struct hs_seg g = { .dir = dir, .seq = bpf_ntohl(th->seq), .poff = poff,
				    .plen = plen, .seg_max = seg_max };

		if (xdp)
			hs_parse_xdp(ctx, k, v, &g);
		else
			hs_parse_tc(ctx, k, v, &g);
		seg_max = g.seg_max;
	}
	/*
	 * What no HS event carried goes out alone, in the order the core reads them. Both are
	 * arrivals' only: tc egress's frame keeps no room for them (6.1's 512-byte stack).
	 */
	if (dir == MW_DIR_IN && parse) {
		__u32 zero = 0;
		struct mw_hs_acked *f = bpf_map_lookup_elem(&hs_fold, &zero);

		if (f && f->acked) {
			acked_emit(k, f->acked, f->sent, f->dsize, f->dseq);
			f->acked = 0;
		}
	}
	if (dir == MW_DIR_IN && seg_max) {
		struct flow_ev a = { .type = MW_EV_SEG_MAX, .dir = dir, .size = seg_max,
				     .aux = v->d[dir].mss };

		flow_emit(k, &a, NULL);
	}
}

/*
 * Per tracked flow, found by its 4-tuple. Only flows that established while we run are in
 * the map (inet_sock_set_state adds them); the port filters spare every other packet the
 * hash lookup: forwarded ones and older flows, and the arrivals of settled flows.
 */
static __always_inline void flow_seg(void *ctx, bool xdp, struct mw_pkt *p, struct mw_tcp *th,
				     int dir, __u32 seg_size, __u32 poff, __u32 plen, __u32 ifindex)
{
	struct mw_flow_key k = {};
	struct mw_flow_val *v;

	flow_key_pkt(&k, p, th, dir);
	/* Arrivals passed their port filter (flow_attn or flow_bloom) in ingress_main already. */
	if (dir == MW_DIR_OUT && !ports_maybe(&flow_bloom, k.lport, k.rport))
		return;
	v = bpf_map_lookup_elem(&flows, &k);
	if (!v)
		return;
	flow_seg_v(ctx, xdp, p, th, dir, seg_size, poff, plen, ifindex, &k, v);
	if (dir == MW_DIR_IN)
		attn_settle(&k, v);
}

/*
 * tc egress of a local socket's segment that egress_sk_busy could not settle from the
 * socket's storage c (a re-send, a larger segment, a handshake still in clear text): the
 * flow map's entry does the rest, and the storage takes what the next segments are judged by.
 */
static __always_inline void egress_flow_sk(struct __sk_buff *skb, struct mw_pkt *p,
					   struct mw_tcp *th, __u32 size, __u32 poff, __u32 plen,
					   struct mw_sk_cache *c)
{
	struct mw_flow_key k = {};
	struct bpf_sock *sk;
	struct mw_flow_val *v;
	struct mw_flow_dir *d;
	struct tcp_sock *tp;

	flow_key_pkt(&k, p, th, MW_DIR_OUT);
	v = bpf_map_lookup_elem(&flows, &k);
	if (!v) {
		/* Evicted (LRU) or closed: untracked from now on, as the flow map says. */
		c->flags = 0;
		return;
	}
	d = &v->d[MW_DIR_OUT];
	d->snd_max = c->snd_max;
	/*
	 * Ingress skipped the ACKs of the flow while it was settled: the socket knows the
	 * peer's highest ACK (RESEND reports it; a re-send at it is a stuck segment).
	 */
	sk = skb->sk;
	tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;
	if (tp) {
		__u32 una = tp->snd_una;

		if (!d->una || (__s32)(una - d->una) > 0)
			d->una = una;
	}
	flow_seg_v(skb, false, p, th, MW_DIR_OUT, size, poff, plen, skb->ifindex, &k, v);
	c->snd_max = d->snd_max;
	c->max_seg = d->max_seg;
	c->pend_size = d->pend_size > d->proven ? d->pend_size : d->proven;
	c->flags = MW_SKC_TRACKED | (v->done == 3 ? MW_SKC_QUIET : 0);
}

/*
 * tc egress's fast path, inline (a bulk flow's every segment): NULL when the segment needs no
 * flow work (no socket: forwarded; an untracked socket; a settled flow's new bytes, no larger
 * than before: its storage takes the new end), else the socket's storage, for egress_flow.
 */
static __always_inline struct mw_sk_cache *egress_sk_busy(struct __sk_buff *skb,
							  struct mw_pkt *p, struct mw_tcp *th,
							  __u32 size, __u32 plen)
{
	struct bpf_sock *sk = skb->sk;
	struct mw_sk_cache *c;
	__u32 end;

	/* Forwarded packets have no socket: the router needs no flow state. */
	if (!sk)
		return NULL;
	/* The storage lookup checks for a full socket itself: no bpf_sk_fullsock call. */
	c = bpf_sk_storage_get(&sk_cache, sk, 0, 0);
	if (!c || !(c->flags & MW_SKC_TRACKED))
		return NULL;
	end = bpf_ntohl(th->seq) + plen;
	if ((!c->snd_max || (__s32)(end - c->snd_max) > 0) && (c->flags & MW_SKC_QUIET) &&
	    size <= c->max_seg && (!p->df || size <= c->pend_size)) {
		c->snd_max = end;
		return NULL;
	}
	return c;
}

/*
 * A packet, for the global functions of tc egress and ingress: its TCP header is a copy (no
 * packet pointer crosses into a global function).
 */
struct tcp_seg {
	struct mw_tcp th;	/* the packet's TCP header (doff 0: none) */
	__u32 size;		/* on-wire size (a GSO packet's segments') */
	__u32 poff;		/* payload offset and length (the handshake parser's) */
	__u32 plen;
};

/*
 * A DF packet the destination cache could not settle: look the destination up (or add it),
 * send DF_MAX / DF_OVER when the size is new or over the known path MTU, refill this CPU's
 * cache slot. A global function: verified once, not for every way the parse can end.
 */
__noinline int dst_update(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g,
			  __u32 slot, __u32 epoch)
{
	struct mw_dst_key dk = {};
	struct mw_dst_val *dv;
	struct mw_dst_cache *dc;
	__u32 size;

	if (!skb || !p || !g)
		return 0;
	size = g->size;
	dk.ifindex = skb->ifindex;
	dk.family = p->family;
	__builtin_memcpy(dk.daddr, p->daddr, 16);
	dv = bpf_map_lookup_elem(&dsts, &dk);
	if (!dv) {
		struct mw_dst_val nv = { .max_df = 0 };

		bpf_map_update_elem(&dsts, &dk, &nv, BPF_NOEXIST);
		dv = bpf_map_lookup_elem(&dsts, &dk);
		if (!dv) {
			count(MW_CNT_DST_FULL);
			return 0;
		}
	}
	if (size > dv->max_df || (dv->pmtu && size > dv->pmtu)) {
		bool over = dv->pmtu && size > dv->pmtu;

		if (over) {
			stat_add(MW_STAT_OVERSIZE_DF, skb->ifindex, targ_self_netns, p->family, 0);
			/* Only the first packet over the known path MTU is an event. */
			if (dv->over_seen++ && size <= dv->max_df)
				return 0;
		}
		if (size > dv->max_df)
			dv->max_df = size;
		{
			struct mw_flow_key fk = { .netns = targ_self_netns, .family = p->family };
			struct flow_ev a = { .type = over ? MW_EV_DF_OVER : MW_EV_DF_MAX,
					     .ifindex = skb->ifindex, .size = size, .mtu = dv->pmtu,
					     .proto = p->proto };

			__builtin_memcpy(fk.laddr, p->saddr, 16);
			__builtin_memcpy(fk.raddr, p->daddr, 16);
			if (g->th.doff) {
				fk.lport = bpf_ntohs(g->th.source);
				fk.rport = bpf_ntohs(g->th.dest);
				a.seq = bpf_ntohl(g->th.seq);
			}
			flow_emit(&fk, &a, NULL);
		}
	}
	dc = bpf_map_lookup_elem(&dst_cache, &slot);
	if (dc) {
		__builtin_memcpy(dc->daddr, p->daddr, 16);
		dc->ifindex = skb->ifindex;
		dc->family = p->family;
		dc->epoch = epoch;
		dc->max = dv->pmtu && dv->pmtu < dv->max_df ? dv->pmtu : dv->max_df;
	}
	return 0;
}

/*
 * The flow part of tc egress, a global function for the same reason: it was most of tc
 * egress's verification, walked once per way the parse before it can end. c: the socket's
 * storage egress_sk_busy found (with targ_sk_cache; NULL without).
 */
__noinline int egress_flow(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g,
			   struct mw_sk_cache *c)
{
	if (!skb || !p || !g)
		return 0;
	if (targ_sk_cache) {
		if (c)
			egress_flow_sk(skb, p, &g->th, g->size, g->poff, g->plen, c);
	} else
		flow_seg(skb, false, p, &g->th, MW_DIR_OUT, g->size, g->poff, g->plen,
			 skb->ifindex);
	return 0;
}

/* ---- tc egress ------------------------------------------------------------------------ */

static __always_inline int tc_egress(struct __sk_buff *skb, bool l3)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct tcp_seg g = {};
	struct mw_pkt p = {};
	struct mw_tcp *th = NULL;
	struct mw_dst_cache *dc;
	__u32 size, l4hdr = 0, slot, epoch;
	/* The destination as words, read in place (daddr is 4-byte aligned in mw_pkt). */
	const __u32 *a = (const __u32 *)p.daddr;

	/*
	 * Every segment of a tracked flow matters to its handshake and ACK accounting, whatever
	 * its DF bit (Linux clears DF under ip_no_pmtu_disc, `mtu lock` routes and
	 * IP_PMTUDISC_DONT); DF only gates the size evidence of the destination map.
	 */
	if (mw_parse(data, data_end, &p, l3))
		return TC_ACT_UNSPEC;
	if (!p.df && p.proto != IPPROTO_TCP)
		return TC_ACT_UNSPEC;

	size = p.l3_len;
	if (p.proto == IPPROTO_TCP && !p.frag) {
		th = data + p.l4_off;
		if ((void *)(th + 1) > data_end)
			return TC_ACT_UNSPEC;
		l4hdr = th->doff * 4;
		if (l4hdr < sizeof(*th))
			return TC_ACT_UNSPEC;
		__builtin_memcpy(&g.th, th, sizeof(g.th));
	}
	/* A GSO packet leaves as segments of gso_size payload plus these headers. */
	if (skb->gso_size && th)
		size = p.l3_hdr + l4hdr + skb->gso_size;
	else if (skb->gso_size && p.proto == IPPROTO_UDP)
		size = p.l3_hdr + 8 + skb->gso_size;
	g.size = size;

	if (p.df) {
		/* This CPU saw this destination lately, and this size changes nothing: no hash. */
		slot = ((a[0] ^ a[1] ^ a[2] ^ a[3] ^ skb->ifindex) * 2654435761u) >> 24;
		epoch = dst_epoch;
		dc = bpf_map_lookup_elem(&dst_cache, &slot);
		if (!(dc && size <= dc->max && dc->epoch == epoch && dc->ifindex == skb->ifindex &&
		      dc->family == p.family && !((dc->daddr[0] ^ a[0]) | (dc->daddr[1] ^ a[1]) |
						  (dc->daddr[2] ^ a[2]) | (dc->daddr[3] ^ a[3]))))
			dst_update(skb, &p, &g, slot, epoch);
	}
	if (th && p.l3_len > p.l3_hdr + l4hdr) {
		/* For a GSO packet the TCP header's seq is the first segment's: still right. */
		g.poff = p.l4_off + l4hdr;
		g.plen = p.l3_len - p.l3_hdr - l4hdr;
		if (!targ_sk_cache) {
			egress_flow(skb, &p, &g, NULL);
		} else {
			struct mw_sk_cache *c = egress_sk_busy(skb, &p, th, size, g.plen);

			if (c)
				egress_flow(skb, &p, &g, c);
		}
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mw_tc_egress(struct __sk_buff *skb)
{
	return tc_egress(skb, false);
}

/* The same for devices without a link-layer header (tun, WireGuard, ipip). */
SEC("tc")
int mw_tc_egress_l3(struct __sk_buff *skb)
{
	return tc_egress(skb, true);
}

/* ---- XDP ingress ---------------------------------------------------------------------- */

/*
 * A SYN-ACK's MSS option, as global functions (one per context type): the option walk is
 * verified once, apart from the rest of the ingress program. th_off: the TCP header's offset.
 */
__noinline int syn_mss_xdp(struct xdp_md *ctx, __u32 th_off)
{
	void *data, *data_end;
	struct mw_tcp *th;

	if (!ctx)
		return 0;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	th = data + (th_off & 0xfff);
	if ((void *)(th + 1) > data_end)
		return 0;
	return mw_tcp_mss(data, data_end, th);
}

__noinline int syn_mss_tc(struct __sk_buff *skb, __u32 th_off)
{
	void *data, *data_end;
	struct mw_tcp *th;

	if (!skb)
		return 0;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	th = data + (th_off & 0xfff);
	if ((void *)(th + 1) > data_end)
		return 0;
	return mw_tcp_mss(data, data_end, th);
}

/* The quoted header of a Packet Too Big: the packet we (or a host behind us) sent. */
/*
 * Did this source's SYN-ACK, with this MSS on this interface, make an event less than a second
 * ago? If not, remember this one. A global function: verified once, apart from the ingress
 * program's paths.
 */
__noinline int syn_repeat(struct syn_seen *s)
{
	struct syn_seen *ss;
	__u32 slot;
	__u64 now;

	if (!s)
		return 0;
	slot = ((s->addr[0] ^ s->addr[1] ^ s->addr[2] ^ s->addr[3]) * 2654435761u) >> 24;
	ss = bpf_map_lookup_elem(&syn_seen, &slot);
	if (!ss)
		return 0;
	now = bpf_ktime_get_ns();
	if (ss->mss == s->mss && ss->ifindex == s->ifindex && now - ss->ts_ns < 1000000000ull &&
	    !((ss->addr[0] ^ s->addr[0]) | (ss->addr[1] ^ s->addr[1]) |
	      (ss->addr[2] ^ s->addr[2]) | (ss->addr[3] ^ s->addr[3])))
		return 1;
	__builtin_memcpy(ss->addr, s->addr, 16);
	ss->mss = s->mss;
	ss->ifindex = s->ifindex;
	ss->ts_ns = now;
	return 0;
}

static __always_inline int ptb_inner(void *data, void *data_end, __u32 off, __u8 family,
				     struct mw_event *e)
{
	__u32 l4;

	if (family == 4) {
		struct mw_ip4 *ip = data + off;

		if ((void *)(ip + 1) > data_end)
			return -1;
		__builtin_memcpy(e->flow.saddr, &ip->saddr, 4);
		__builtin_memcpy(e->flow.daddr, &ip->daddr, 4);
		e->flow.proto = ip->protocol;
		e->size = bpf_ntohs(ip->tot_len);
		l4 = off + ip->ihl * 4;
	} else {
		struct mw_ip6 *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__builtin_memcpy(e->flow.saddr, &ip6->saddr, 16);
		__builtin_memcpy(e->flow.daddr, &ip6->daddr, 16);
		e->flow.proto = ip6->nexthdr;
		e->size = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		l4 = off + sizeof(*ip6);
	}
	e->flow.family = family;
	if (e->flow.proto == IPPROTO_TCP || e->flow.proto == IPPROTO_UDP) {
		/* ICMPv4 quotes at least 8 bytes of the transport header: ports and TCP seq. */
		__u8 *l = data + (l4 & 0xffff);

		if ((void *)(l + 8) > data_end)
			return 0;
		e->flow.sport = ((__u16)l[0] << 8) | l[1];
		e->flow.dport = ((__u16)l[2] << 8) | l[3];
		if (e->flow.proto == IPPROTO_TCP)
			e->seq = ((__u32)l[4] << 24) | ((__u32)l[5] << 16) | ((__u32)l[6] << 8) | l[7];
	}
	return 0;
}

/*
 * A TCP arrival (not a SYN), after the parse: a SYN-ACK's MSS, or the segment's flow part.
 * `xdp` is a constant at both call sites.
 */
static __always_inline void ingress_tcp(void *ctx, bool xdp, struct mw_pkt *p,
					struct tcp_seg *g, __u32 ifindex)
{
	if (g->th.syn) {
		struct mw_flow_key fk = { .netns = targ_self_netns, .family = p->family };
		struct flow_ev a = { .type = MW_EV_SYN_MSS, .ifindex = ifindex, .dir = MW_DIR_IN,
				     .aux2 = 1 };
		struct syn_seen ss = { .ifindex = ifindex };

		a.aux = xdp ? syn_mss_xdp(ctx, p->l4_off) : syn_mss_tc(ctx, p->l4_off);
		__builtin_memcpy(ss.addr, p->saddr, 16);
		ss.mss = a.aux;
		if (syn_repeat(&ss))
			return;
		/* The packet's own direction: from the server that answers. */
		__builtin_memcpy(fk.laddr, p->saddr, 16);
		__builtin_memcpy(fk.raddr, p->daddr, 16);
		fk.lport = bpf_ntohs(g->th.source);
		fk.rport = bpf_ntohs(g->th.dest);
		flow_emit(&fk, &a, NULL);
		return;
	}
	flow_seg(ctx, xdp, p, &g->th, MW_DIR_IN, g->size, g->poff, g->plen, ifindex);
}

/*
 * ingress_tcp as a global function per context type (as hs_parse): verified once, not once
 * for every way the parse before it can end.
 */
__noinline int ingress_tcp_xdp(struct xdp_md *ctx, struct mw_pkt *p, struct tcp_seg *g,
			       __u32 ifindex)
{
	if (!ctx || !p || !g)
		return 0;
	ingress_tcp(ctx, true, p, g, ifindex);
	return 0;
}

__noinline int ingress_tcp_tc(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g,
			      __u32 ifindex)
{
	if (!skb || !p || !g)
		return 0;
	ingress_tcp(skb, false, p, g, ifindex);
	return 0;
}

/*
 * Arrivals: Packet Too Big, SYN MSS, handshake bytes. Runs at XDP, or at tc ingress where
 * XDP cannot attach (another program holds the interface's XDP hook). `xdp` is a constant
 * at both call sites. Returns nothing: both hooks always pass the packet on.
 */
static __always_inline void ingress_main(void *ctx, bool xdp, void *data, void *data_end,
					 __u32 ifindex, __u32 gso_size, bool l3)
{
	struct mw_pkt p = {};
	struct mw_event *e, *tmp;
	__u32 zero = 0, l4;
	__u32 n;

	if (mw_parse(data, data_end, &p, l3) || p.frag)
		return;
	/*
	 * p goes to a global function (the TCP path), so it lives in memory, where the verifier
	 * loses the bounds of its fields: the offset is read once, bounded by a mask that keeps
	 * every value the parse can give (at most ~6.2k: three IPv6 extension headers).
	 */
	l4 = p.l4_off & 0x1fff;

	if (p.proto == IPPROTO_TCP) {
		struct mw_tcp *th = data + l4;
		__u32 l4hdr;

		if ((void *)(th + 1) > data_end)
			return;
		l4hdr = th->doff * 4;
		if (l4hdr < sizeof(*th))
			return;
		/*
		 * The MSS a server offers us, from its SYN-ACK (bounded by our own connects). A
		 * server's peer MSS comes from its socket at ESTABLISHED: no event per SYN, which
		 * a SYN flood would turn into a ring buffer flood.
		 */
		if (th->syn && !th->ack)
			return;
		/*
		 * Most arrivals (a settled flow's, a forwarded or untracked one's) need no flow
		 * work: the port filter says so inline, before the header copy and the call.
		 */
		if (!th->syn) {
			__u16 lport = bpf_ntohs(th->dest), rport = bpf_ntohs(th->source);

			if (targ_attn ? !ports_maybe(&flow_attn, lport, rport) :
					!ports_maybe(&flow_bloom, lport, rport))
				return;
		}
		{
			struct tcp_seg g = { .poff = l4 + l4hdr };

			/* Pure ACKs too: they are how the peer says our flight arrived. */
			g.plen = p.l3_len > p.l3_hdr + l4hdr ? p.l3_len - p.l3_hdr - l4hdr : 0;
			/* tc ingress sees GRO-merged packets: the wire carried gso_size segments. */
			g.size = gso_size ? p.l3_hdr + l4hdr + gso_size : p.l3_len;
			__builtin_memcpy(&g.th, th, sizeof(g.th));
			if (xdp)
				ingress_tcp_xdp(ctx, &p, &g, ifindex);
			else
				ingress_tcp_tc(ctx, &p, &g, ifindex);
		}
		return;
	}

	/* A Packet Too Big is parsed into per-CPU scratch: the stack is for the TCP path. */
	if (p.proto != IPPROTO_ICMP && p.proto != NEXTHDR_ICMP)
		return;
	tmp = bpf_map_lookup_elem(&scratch, &zero);
	if (!tmp)
		return;
	__builtin_memset(tmp, 0, sizeof(*tmp));
	if (p.proto == IPPROTO_ICMP && p.family == 4) {
		struct mw_icmp4 *ic = data + l4;

		if ((void *)(ic + 1) > data_end)
			return;
		if (ic->type != ICMP_DEST_UNREACH || ic->code != ICMP_FRAG_NEEDED)
			return;
		stat_add(MW_STAT_PTB_RX, ifindex, targ_self_netns, 4, 0);
		tmp->mtu = bpf_ntohs(ic->mtu);
		tmp->family = 4;
		__builtin_memcpy(tmp->peer, p.saddr, 4);
		ptb_inner(data, data_end, l4 + sizeof(*ic), 4, tmp);
	} else if (p.proto == NEXTHDR_ICMP && p.family == 6) {
		struct mw_icmp6 *ic = data + l4;

		if ((void *)(ic + 1) > data_end)
			return;
		if (ic->icmp6_type != ICMPV6_PKT_TOOBIG)
			return;
		stat_add(MW_STAT_PTB_RX, ifindex, targ_self_netns, 6, 0);
		tmp->mtu = bpf_ntohl(ic->icmp6_mtu);
		tmp->family = 6;
		__builtin_memcpy(tmp->peer, p.saddr, 16);
		ptb_inner(data, data_end, l4 + sizeof(*ic), 6, tmp);
	} else {
		return;
	}
	/* Declared here, not on top: its stack slot is the TCP path's copies' (3 calls deep). */
	struct mw_ptb_key pk = {};

	__builtin_memcpy(pk.peer, tmp->peer, 16);
	__builtin_memcpy(pk.dst, tmp->flow.daddr, 16);
	pk.mtu = tmp->mtu;
	pk.netns = targ_self_netns;
	pk.family = tmp->family;
	n = ptb_count(&pk);
	if (!n)
		return;
	e = ev_new(MW_EV_PTB_RX);
	if (!e)
		return;
	tmp->ts_ns = e->ts_ns;
	tmp->type = MW_EV_PTB_RX;
	tmp->netns = targ_self_netns;
	tmp->ifindex = ifindex;
	tmp->dir = MW_DIR_IN;
	tmp->aux = n;
	__builtin_memcpy(e, tmp, sizeof(*tmp));
	ev_send(e);
}

/* Frags-aware so that it attaches on jumbo MTUs; headers are always in the first buffer. */
SEC("xdp.frags")
int mw_xdp_ingress(struct xdp_md *ctx)
{
	ingress_main(ctx, true, (void *)(long)ctx->data, (void *)(long)ctx->data_end,
		     ctx->ingress_ifindex, 0, false);
	return XDP_PASS;
}

/* The same at tc ingress, for interfaces whose XDP hook is taken. */
SEC("tc")
int mw_tc_ingress(struct __sk_buff *skb)
{
	ingress_main(skb, false, (void *)(long)skb->data, (void *)(long)skb->data_end,
		     skb->ifindex, skb->gso_size, false);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int mw_tc_ingress_l3(struct __sk_buff *skb)
{
	ingress_main(skb, false, (void *)(long)skb->data, (void *)(long)skb->data_end,
		     skb->ifindex, skb->gso_size, true);
	return TC_ACT_UNSPEC;
}

/* ---- tracepoints ---------------------------------------------------------------------- */

static __always_inline void sk_flow(const struct sock *sk, struct mw_flow *f)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	f->proto = IPPROTO_TCP;
	f->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	f->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET6) {
		f->family = 6;
		BPF_CORE_READ_INTO(&f->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&f->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		f->family = 4;
		BPF_CORE_READ_INTO((__u32 *)f->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)f->daddr, sk, __sk_common.skc_daddr);
	}
}

static __always_inline void flow_key_sk(struct mw_flow *f, __u32 netns, struct mw_flow_key *k)
{
	__builtin_memcpy(k->laddr, f->saddr, 16);
	__builtin_memcpy(k->raddr, f->daddr, 16);
	k->lport = f->sport;
	k->rport = f->dport;
	k->netns = netns;
	k->family = f->family;
}

/* Parse the IP + ICMP headers of a freed skb: is it a Packet Too Big? */
/* proto: skb->protocol, already known to be IPv4 or IPv6 by the caller. */
static __always_inline int skb_ptb(struct sk_buff *skb, __u16 proto, struct mw_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 b[96];
	__u32 l4, inner;

	if (bpf_probe_read_kernel(b, sizeof(b), head + nh))
		return -1;
	if (proto == bpf_htons(ETH_P_IP)) {
		__u32 ihl = (b[0] & 0xf) * 4;

		if ((b[0] >> 4) != 4 || b[9] != IPPROTO_ICMP || ihl < 20 || ihl > 24)
			return -1;
		l4 = ihl;
		if (b[l4 & 63] != ICMP_DEST_UNREACH || b[(l4 + 1) & 63] != ICMP_FRAG_NEEDED)
			return -1;
		e->family = 4;
		__builtin_memcpy(e->peer, &b[12], 4);
		e->mtu = ((__u32)b[(l4 + 6) & 63] << 8) | b[(l4 + 7) & 63];
		inner = l4 + 8;
		if ((b[inner & 63] >> 4) == 4) {
			__u32 iihl = (b[inner & 63] & 0xf) * 4;
			/* The outer header is 20 or 24 bytes (checked above): two constant offsets. */
			__u32 ip4 = inner == 28 ? 28 : 32;

			e->flow.family = 4;
			e->flow.proto = b[ip4 + 9];
			e->size = ((__u32)b[ip4 + 2] << 8) | b[ip4 + 3];
			__builtin_memcpy(e->flow.saddr, &b[ip4 + 12], 4);
			__builtin_memcpy(e->flow.daddr, &b[ip4 + 16], 4);
			if (iihl == 20) {
				__u32 t = ip4 + 20;

				e->flow.sport = ((__u16)b[t] << 8) | b[t + 1];
				e->flow.dport = ((__u16)b[t + 2] << 8) | b[t + 3];
				e->seq = ((__u32)b[t + 4] << 24) | ((__u32)b[t + 5] << 16) |
					 ((__u32)b[t + 6] << 8) | b[t + 7];
			}
		}
		return 0;
	}
	if ((b[0] >> 4) != 6 || b[6] != NEXTHDR_ICMP || b[40] != ICMPV6_PKT_TOOBIG)
		return -1;
	e->family = 6;
	__builtin_memcpy(e->peer, &b[8], 16);
	e->mtu = ((__u32)b[44] << 24) | ((__u32)b[45] << 16) | ((__u32)b[46] << 8) | b[47];
	/* inner IPv6 header at 48; its addresses at 56 and 72 run past b: read them apart. */
	e->flow.family = 6;
	e->flow.proto = b[48 + 6];
	e->size = (((__u32)b[48 + 4] << 8) | b[48 + 5]) + 40;
	bpf_probe_read_kernel(e->flow.saddr, 16, head + nh + 56);
	bpf_probe_read_kernel(e->flow.daddr, 16, head + nh + 72);
	if (e->flow.proto == IPPROTO_TCP || e->flow.proto == IPPROTO_UDP) {
		__u8 t[8];

		if (!bpf_probe_read_kernel(t, sizeof(t), head + nh + 88)) {
			e->flow.sport = ((__u16)t[0] << 8) | t[1];
			e->flow.dport = ((__u16)t[2] << 8) | t[3];
			e->seq = ((__u32)t[4] << 24) | ((__u32)t[5] << 16) | ((__u32)t[6] << 8) | t[7];
		}
	}
	return 0;
}

/* The packet this host dropped because it was too big for the next hop: we are the bottleneck. */
static __always_inline void too_big(struct sk_buff *skb, __u32 netns, __u32 via_icmp)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 proto = BPF_CORE_READ(skb, protocol);
	struct dst_entry *dst;
	struct net_device *dev;
	struct mw_event *e;
	__u8 b[40];

	/*
	 * A packet of one of this host's own sockets, larger than the path MTU it has already
	 * learned (queued before it learned): its own output, not forwarding. Not a bottleneck.
	 */
	if (BPF_CORE_READ(skb, sk))
		return;
	if (bpf_probe_read_kernel(b, sizeof(b), head + nh))
		return;
	dst = (struct dst_entry *)(BPF_CORE_READ(skb, _skb_refdst) & ~1UL);
	dev = dst ? BPF_CORE_READ(dst, dev) : NULL;
	e = ev_new(MW_EV_PTB_SENT);
	if (!e)
		return;
	e->netns = netns;
	e->aux = via_icmp;
	if (dev) {
		e->ifindex = BPF_CORE_READ(dev, ifindex);
		e->mtu = BPF_CORE_READ(dev, mtu);
	}
	if (proto == bpf_htons(ETH_P_IP) && (b[0] >> 4) == 4) {
		e->family = 4;
		e->flow.proto = b[9];
		e->size = ((__u32)b[2] << 8) | b[3];
		__builtin_memcpy(e->flow.saddr, &b[12], 4);
		__builtin_memcpy(e->flow.daddr, &b[16], 4);
	} else if (proto == bpf_htons(ETH_P_IPV6) && (b[0] >> 4) == 6) {
		e->family = 6;
		e->flow.proto = b[6];
		e->size = (((__u32)b[4] << 8) | b[5]) + 40;
		__builtin_memcpy(e->flow.saddr, &b[8], 16);
		bpf_probe_read_kernel(e->flow.daddr, 16, head + nh + 24);
	} else {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	e->flow.family = e->family;
	/* The drop and icmp_send see the same packet: count it once, at the drop. */
	if (!via_icmp)
		stat_add(MW_STAT_PTB_SENT, e->ifindex, netns, e->family, 0);
	ev_send(e);
}

/*
 * `btf`: a constant, true for tp_btf, whose arguments are typed kernel pointers that plain
 * loads may read (a load each); raw_tp must go through bpf_probe_read_kernel (a helper call
 * each). Most frees end after these first reads.
 */
static __always_inline int on_kfree_skb(struct sk_buff *skb, __u32 reason, bool btf)
{
	struct mw_event tmp = {}, *e;
	struct mw_ptb_key pk = {};
	bool out;
	struct net_device *dev;
	__u32 netns, len;
	__u16 proto;

	/*
	 * Most frees are of no interest: decide on the reason and the protocol before anything
	 * else, and reserve ring buffer space only for a Packet Too Big (a drop storm must not
	 * contend on the ring's lock or count as lost events).
	 */
	if (reason <= bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
		return 0;
	/*
	 * A Packet Too Big is small: ICMPv6 fits in 1280 bytes (RFC 4443 2.4), ICMPv4 quotes
	 * at most 576 (RFC 1812 4.3.2.3); a link-layer header may still be counted. A larger
	 * drop is data and costs no more reads, unless it is the packet too big to forward.
	 */
	len = btf ? skb->len : BPF_CORE_READ(skb, len);
	if (len > MW_PTB_MAX_LEN &&
	    !(bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_PKT_TOO_BIG) &&
	      reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_PKT_TOO_BIG)))
		return 0;
	proto = btf ? skb->protocol : BPF_CORE_READ(skb, protocol);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return 0;
	dev = btf ? skb->dev : BPF_CORE_READ(skb, dev);
	if (dev) {
		struct net *net = btf ? dev->nd_net.net : BPF_CORE_READ(dev, nd_net.net);

		if (!net_wanted(net, btf, &netns))
			return 0;
	} else if (!net_wanted(BPF_CORE_READ(skb, sk, __sk_common.skc_net.net), false, &netns)) {
		return 0;
	}
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_PKT_TOO_BIG) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_PKT_TOO_BIG)) {
		too_big(skb, netns, 0);
		return 0;
	}
	if (skb_ptb(skb, proto, &tmp))
		return 0;
	tmp.netns = netns;
	tmp.ifindex = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	tmp.aux = reason;
	/* A PTB dropped on its way out (the router's own firewall) vs. one that arrived. */
	out = BPF_CORE_READ(skb, sk) != NULL || !BPF_CORE_READ(skb, skb_iif);
	tmp.dir = out ? MW_DIR_OUT : MW_DIR_IN;
	stat_add(MW_STAT_PTB_DROP, tmp.ifindex, netns, tmp.family, reason);
	__builtin_memcpy(pk.peer, tmp.peer, 16);
	__builtin_memcpy(pk.dst, tmp.flow.daddr, 16);
	pk.mtu = tmp.mtu;
	pk.netns = netns;
	pk.reason = reason ? reason : 0xffff;
	pk.family = tmp.family;
	pk.dir = tmp.dir;
	tmp.aux2 = ptb_count(&pk);
	if (!tmp.aux2)
		return 0;
	e = ev_new(MW_EV_PTB_DROP);
	if (!e)
		return 0;
	tmp.ts_ns = e->ts_ns;
	tmp.type = MW_EV_PTB_DROP;
	__builtin_memcpy(e, &tmp, sizeof(tmp));
	ev_send(e);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(mw_tp_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_kfree_skb(skb, reason, true);
}

/* Fallback where BTF tracing programs are refused: same arguments, read through probes. */
SEC("raw_tp/kfree_skb")
int BPF_PROG(mw_raw_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
	return on_kfree_skb(skb, reason, false);
}

static __always_inline int on_retransmit(const struct sock *sk, const struct sk_buff *skb,
					 bool btf)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct skb_shared_info *shinfo;
	struct mw_event *e;
	__u32 netns, payload, segs = 0, gso = 0, hdr;
	struct dst_entry *dst;

	if (btf && targ_sk_cache) {
		struct mw_sk_cache *c;

		/* Another namespace's re-send costs a comparison (see net_wanted), no lookup. */
		if (!net_wanted(sk->__sk_common.skc_net.net, true, &netns))
			return 0;
		/*
		 * tc egress reports the re-sends of the flows it tracks, with the size on the
		 * wire: not twice. (A flow the LRU evicted stays marked until its next segment
		 * leaves: under that many flows, some re-sends go unreported.)
		 */
		c = bpf_sk_storage_get(&sk_cache, (void *)sk, 0, 0);
		if (c && (c->flags & MW_SKC_TRACKED))
			return 0;
	} else if (!net_wanted(BPF_CORE_READ(sk, __sk_common.skc_net.net), false, &netns)) {
		return 0;
	}
	shinfo = (struct skb_shared_info *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, end));
	bpf_probe_read_kernel(&segs, sizeof(__u16), &shinfo->gso_segs);
	bpf_probe_read_kernel(&gso, sizeof(__u16), &shinfo->gso_size);
	payload = BPF_CORE_READ(skb, len);
	if (segs > 1 && gso && gso < payload)
		payload = gso;

	if (!(btf && targ_sk_cache) && netns == targ_self_netns) {
		struct mw_flow_key k = {};
		struct mw_flow f = {};

		/* tc egress reports the retransmissions of the flows it tracks, with the size on
		 * the wire: do not report them twice. */
		sk_flow(sk, &f);
		flow_key_sk(&f, netns, &k);
		if (ports_maybe(&flow_bloom, k.lport, k.rport) && bpf_map_lookup_elem(&flows, &k))
			return 0;
	}
	e = ev_new(MW_EV_RETRANS);
	if (!e)
		return 0;
	sk_flow(sk, &e->flow);
	hdr = BPF_CORE_READ(tp, tcp_header_len) + (e->flow.family == 6 ? 40 : 20);
	e->netns = netns;
	e->family = e->flow.family;
	e->size = payload + hdr;
	/* Through tcp_sock, not a cast to inet_connection_sock: one type less to relocate. */
	e->mtu = BPF_CORE_READ(tp, inet_conn.icsk_pmtu_cookie);
	e->aux = BPF_CORE_READ(tp, inet_conn.icsk_retransmits);
	e->aux2 = BPF_CORE_READ(tp, snd_una);
	bpf_probe_read_kernel(&e->seq, sizeof(e->seq), (void *)skb->cb);
	dst = BPF_CORE_READ(sk, sk_dst_cache);
	if (dst)
		e->ifindex = BPF_CORE_READ(dst, dev, ifindex);
	if (e->size >= MW_LARGE_SEG)
		stat_add(MW_STAT_LARGE_RETRANS, e->ifindex, netns, e->family, 0);
	ev_send(e);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(mw_tp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retransmit(sk, skb, true);
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(mw_raw_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	return on_retransmit(sk, skb, false);
}

/* `btf`: tp_btf, whose socket is a typed pointer that socket storage takes. */
static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, bool btf)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct mw_flow_key k = {};
	struct mw_event *e;
	struct mw_flow f = {};
	__u32 netns;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/*
	 * A listener's edges are no flow's. The first one in our namespace teaches net_wanted
	 * its struct net: user space opens and closes a listener right after attaching, for a
	 * host (a router) whose own TCP traffic may never say it.
	 */
	if (newstate == TCP_LISTEN || oldstate == TCP_LISTEN) {
		if (newstate == TCP_LISTEN && !self_net)
			net_wanted(BPF_CORE_READ(sk, __sk_common.skc_net.net), false, &netns);
		return 0;
	}
	/*
	 * Only the edges of a flow's life that the core reads are events: established, closing,
	 * closed (SYN_SENT, with no local port yet, was one that nothing read).
	 */
	if (newstate != TCP_ESTABLISHED && newstate != TCP_CLOSE && newstate != TCP_FIN_WAIT1 &&
	    newstate != TCP_CLOSE_WAIT)
		return 0;
	if (!net_wanted(BPF_CORE_READ(sk, __sk_common.skc_net.net), false, &netns))
		return 0;
	sk_flow(sk, &f);
	flow_key_sk(&f, netns, &k);
	if (newstate == TCP_ESTABLISHED && netns == targ_self_netns) {
		/* The first payload byte in each direction is where a handshake starts. */
		struct mw_flow_val v = {};

		v.d[MW_DIR_OUT].next_seq = BPF_CORE_READ(tp, snd_nxt);
		v.d[MW_DIR_IN].next_seq = BPF_CORE_READ(tp, rcv_nxt);
		v.d[MW_DIR_OUT].start_seq = v.d[MW_DIR_OUT].next_seq;
		v.d[MW_DIR_IN].start_seq = v.d[MW_DIR_IN].next_seq;
		v.d[MW_DIR_OUT].mss = BPF_CORE_READ(tp, advmss);
		v.d[MW_DIR_IN].mss = BPF_CORE_READ(tp, rx_opt.mss_clamp);
		if (!targ_hs_parse)
			v.done = 3;
		/* Arrivals need work until the handshake is over and nothing awaits an ACK. */
		v.attn = 1;
		if (bpf_map_update_elem(&flows, &k, &v, BPF_ANY)) {
			count(MW_CNT_FLOW_FULL);
		} else {
			ports_add(&flow_bloom, k.lport, k.rport, 1);
			ports_add(&flow_attn, k.lport, k.rport, 1);
			if (btf && targ_sk_cache) {
				struct mw_sk_cache *c = bpf_sk_storage_get(&sk_cache, (void *)sk, 0,
									   BPF_SK_STORAGE_GET_F_CREATE);

				/* Without it tc egress cannot see the flow: as good as a full map. */
				if (c)
					c->flags = MW_SKC_TRACKED;
				else
					count(MW_CNT_FLOW_FULL);
			}
		}
	} else if (newstate == TCP_CLOSE) {
		struct mw_flow_val *v = bpf_map_lookup_elem(&flows, &k);

		if (v && __sync_lock_test_and_set(&v->attn, 0))
			ports_add(&flow_attn, k.lport, k.rport, (__u32)-1);
		if (!bpf_map_delete_elem(&flows, &k))
			ports_add(&flow_bloom, k.lport, k.rport, (__u32)-1);
	}
	e = ev_new(MW_EV_STATE);
	if (!e)
		return 0;
	e->netns = netns;
	e->family = f.family;
	e->flow = f;
	e->aux = oldstate;
	e->aux2 = newstate;
	if (newstate == TCP_ESTABLISHED) {
		e->size = BPF_CORE_READ(tp, advmss);
		e->mtu = BPF_CORE_READ(tp, rx_opt.mss_clamp);
	}
	ev_send(e);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(mw_tp_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(sk, oldstate, newstate, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(mw_raw_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	return on_state(sk, oldstate, newstate, false);
}

/* Optional: confirms that a Packet Too Big actually left (rate limits can suppress it). */
#define VXLAN_PORT	4789
#define VXLAN_PORT_LINUX	8472	/* the kernel's default when no dstport is given */
#define GENEVE_PORT	6081

/*
 * A frag-needed about an overlay's own outer packet (VXLAN or Geneve without options, over
 * IPv4): this host encapsulated a packet it cannot send. Not forwarding, and the inner flow
 * is whoever's path (a pod's) black-holes: say so, from whatever namespace, so that the pod's
 * own mtuwatch hears it too. Returns 1 when it was one.
 */
static __always_inline int encap_drop(struct sk_buff *skb, __u32 netns)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	struct dst_entry *dst;
	struct net_device *dev;
	struct mw_event *e;
	__u16 dport, etype;
	__u32 outer, inner;
	__u8 b[96];

	if (bpf_probe_read_kernel(b, sizeof(b), head + nh))
		return 0;
	if (b[0] != 0x45 || b[9] != IPPROTO_UDP)
		return 0;
	dport = ((__u16)b[22] << 8) | b[23];
	if (dport != VXLAN_PORT && dport != VXLAN_PORT_LINUX && dport != GENEVE_PORT)
		return 0;
	/* Geneve with options would move the inner frame: not parsed, not claimed. */
	if (dport == GENEVE_PORT && (b[28] & 0x3f))
		return 0;
	etype = ((__u16)b[48] << 8) | b[49];
	outer = ((__u32)b[2] << 8) | b[3];
	e = ev_new(MW_EV_ENCAP_DROP);
	if (!e)
		return 1;
	if (etype == ETH_P_IP && (b[50] >> 4) == 4) {
		inner = ((__u32)b[52] << 8) | b[53];
		e->family = 4;
		e->flow.proto = b[59];
		__builtin_memcpy(e->flow.saddr, &b[62], 4);
		__builtin_memcpy(e->flow.daddr, &b[66], 4);
		if ((b[50] & 0xf) == 5) {
			e->flow.sport = ((__u16)b[70] << 8) | b[71];
			e->flow.dport = ((__u16)b[72] << 8) | b[73];
		}
	} else if (etype == ETH_P_IPV6 && (b[50] >> 4) == 6) {
		inner = (((__u32)b[54] << 8) | b[55]) + 40;
		e->family = 6;
		e->flow.proto = b[56];
		__builtin_memcpy(e->flow.saddr, &b[58], 16);
		__builtin_memcpy(e->flow.daddr, &b[74], 16);
		e->flow.sport = ((__u16)b[90] << 8) | b[91];
		e->flow.dport = ((__u16)b[92] << 8) | b[93];
	} else {
		bpf_ringbuf_discard(e, 0);
		return 1;
	}
	e->flow.family = e->family;
	e->netns = netns;
	e->size = outer;
	e->aux2 = inner;
	e->aux = outer > inner ? outer - inner : 0;
	dst = (struct dst_entry *)(BPF_CORE_READ(skb, _skb_refdst) & ~1UL);
	dev = dst ? BPF_CORE_READ(dst, dev) : NULL;
	if (dev) {
		e->ifindex = BPF_CORE_READ(dev, ifindex);
		e->mtu = BPF_CORE_READ(dev, mtu);
		BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
	}
	ev_send(e);
	return 1;
}

SEC("tp_btf/icmp_send")
int BPF_PROG(mw_tp_icmp_send, struct sk_buff *skb, int type, int code)
{
	struct net_device *dev;
	__u32 netns;

	if (type != ICMP_DEST_UNREACH || code != ICMP_FRAG_NEEDED)
		return 0;
	dev = BPF_CORE_READ(skb, dev);
	netns = dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
	if (encap_drop(skb, netns))
		return 0;
	if (!netns_wanted(netns))
		return 0;
	too_big(skb, netns, 1);
	return 0;
}
