// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A tracked flow's segments, as tc egress (egress.bpf.c) and the arrivals (ingress.bpf.c)
 * both see them: the inline path, and the declarations of the global functions it calls,
 * defined in handshake.bpf.c (flow_emit, hs_parse_tc, hs_parse_xdp) and ingress.bpf.c
 * (flow_acked).
 */
#ifndef MW_BPF_FLOW_H
#define MW_BPF_FLOW_H

#include "common.h"

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

/* Global functions of handshake.bpf.c and ingress.bpf.c (see there). */
int flow_emit(struct mw_flow_key *k, struct flow_ev *a, struct mw_hs_acked *acked);

/* A global function takes at most five arguments: the segment's numbers travel together. */
struct hs_seg {
	__u32 dir;
	__u32 seq;
	__u32 poff;
	__u32 plen;
	__u32 seg_max;		/* in: a new largest segment received; out: 0 if an event took it */
};

int hs_parse_tc(struct __sk_buff *skb, struct mw_flow_key *k, struct mw_flow_val *v,
		struct hs_seg *g);
int hs_parse_xdp(struct xdp_md *ctx, struct mw_flow_key *k, struct mw_flow_val *v,
		 struct hs_seg *g);
int flow_acked(struct mw_flow_key *k, struct mw_flow_val *v, __u32 ack, __u32 fold);
struct tcp_seg;
int fwd_df_max(struct mw_flow_key *k, __u32 size, __u32 seq, __u32 ifindex);
int fwd_quiet_pass(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex, __u32 plen, __u32 size);
int fwd_quiet_sync(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex, struct mw_flow_val *v);
int fwd_quiet_put(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex, struct mw_flow_val *v);
int fwd_in_tc(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g, __u32 ifindex);

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
 * A segment of another namespace's flow (a pod's), forwarded through the node's end of its
 * veth (fwd_ifs): dir is the pod's (what leaves the pod is OUT, although it arrives here).
 * The flow's namespace comes from its local address (fwd_addrs, filled at ESTABLISHED).
 * The caller passed the port filter. Besides the flow's own accounting, a new largest DF
 * segment is the size evidence that tc egress keeps per destination for local sockets: it
 * goes out as DF_MAX in the pod's namespace, so both halves of a black hole meet there.
 */
static __always_inline void fwd_seg(void *ctx, bool xdp, struct mw_pkt *p, struct mw_tcp *th,
				    int dir, __u32 seg_size, __u32 poff, __u32 plen, __u32 ifindex)
{
	struct mw_flow_key *k;
	struct mw_flow_val *v;
	__u32 *ifv, *ns, netns, old, zero = 0;

	/* What leaves the pod matters for its payload only (flow_seg_v); a settled flow's new
	 * bytes, no larger than before, change nothing (fwd_quiet). */
	if (dir == MW_DIR_OUT && (!plen || fwd_quiet_pass(p, th, ifindex, plen, seg_size)))
		return;
	ifv = bpf_map_lookup_elem(&fwd_ifs, &ifindex);
	if (!ifv)
		return;
	k = bpf_map_lookup_elem(&fwd_key, &zero);
	if (!k)
		return;
	__builtin_memset(k, 0, sizeof(*k));
	/*
	 * A veth end has one peer, so one namespace behind it: the first flow found by its
	 * address teaches it to the interface's entry (1: not yet), and the next packets skip
	 * the address lookup. (A namespace nested behind the pod's is not followed.)
	 */
	netns = *ifv;
	if (netns <= 1) {
		k->family = p->family;
		__builtin_memcpy(k->laddr, dir == MW_DIR_OUT ? p->saddr : p->daddr, 16);
		ns = bpf_map_lookup_elem(&fwd_addrs, k);
		if (!ns)
			return;
		netns = *ns;
		*ifv = netns;
	}
	flow_key_pkt(k, p, th, dir);
	k->netns = netns;
	v = bpf_map_lookup_elem(&flows, k);
	if (!v)
		return;
	if (!v->fwd_seen)
		v->fwd_seen = 1;
	/* No more lookups with k: its pad tells flow_emit that ifindex is ours, not the pod's. */
	k->pad[0] = MW_KEY_NODE_IF;
	old = v->d[MW_DIR_OUT].max_seg;
	if (dir == MW_DIR_OUT)
		fwd_quiet_sync(p, th, ifindex, v);
	flow_seg_v(ctx, xdp, p, th, dir, seg_size, poff, plen, ifindex, k, v);
	if (dir == MW_DIR_IN) {
		attn_settle(k, v);
		return;
	}
	if (p->df && seg_size > old)
		fwd_df_max(k, seg_size, bpf_ntohl(th->seq), ifindex);
	fwd_quiet_put(p, th, ifindex, v);
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

#endif /* MW_BPF_FLOW_H */
