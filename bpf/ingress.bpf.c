// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Arrivals, at XDP or at tc ingress: Packet Too Big, a SYN-ACK's MSS, the segments of tracked
 * flows (flow.h) and the peer's ACKs on them (flow_acked).
 */
#include "flow.h"

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

/* ---- XDP ingress ---------------------------------------------------------------------- */

/* The quoted header of a Packet Too Big: the packet we (or a host behind us) sent. */
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
 * A TCP arrival (neither a SYN nor a SYN-ACK), after the parse: the segment's flow part.
 * `xdp` is a constant at both call sites.
 */
static __always_inline void ingress_tcp(void *ctx, bool xdp, struct mw_pkt *p,
					struct tcp_seg *g, __u32 ifindex)
{
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
 * A pod's segment at the node's end of its veth (fwd_seg): global functions of their own,
 * one per direction (the pod's) so that each frame holds only what its direction needs,
 * called beside ingress_tcp_*, not from it: the call chains stay within 512 bytes. Where tc
 * ingress stands in for XDP, what leaves the pod is followed by mw_tc_fwd_out (see below).
 */
/*
 * fwd_quiet (maps.h), in leaf functions of their own: their frames are not on the way down
 * to flow_emit. fwd_quiet_slot: this CPU's slot for the segment's flow, when it holds it.
 */
static __always_inline struct fwd_quiet *fwd_quiet_slot(struct mw_pkt *p, struct mw_tcp *th,
							 __u32 ifindex, __u32 *slot)
{
	const __u32 *s4 = (const __u32 *)p->saddr, *d4 = (const __u32 *)p->daddr;
	struct fwd_quiet *q;

	*slot = (th->source ^ th->dest ^ ifindex) & (FWD_QUIET_SLOTS - 1);
	q = bpf_map_lookup_elem(&fwd_quiet, slot);
	if (!q || q->epoch != fwd_epoch + 1 || q->ifindex != ifindex || q->sport != th->source ||
	    q->dport != th->dest ||
	    ((q->saddr[0] ^ s4[0]) | (q->saddr[1] ^ s4[1]) | (q->saddr[2] ^ s4[2]) |
	     (q->saddr[3] ^ s4[3]) | (q->daddr[0] ^ d4[0]) | (q->daddr[1] ^ d4[1]) |
	     (q->daddr[2] ^ d4[2]) | (q->daddr[3] ^ d4[3])))
		return NULL;
	return q;
}

/* 1: the segment is a settled flow's new bytes, no larger than before: nothing to do. */
__noinline int fwd_quiet_pass(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex, __u32 plen,
			      __u32 size)
{
	struct fwd_quiet *q;
	__u32 slot, end;

	if (!p || !th)
		return 0;
	q = fwd_quiet_slot(p, th, ifindex, &slot);
	if (!q)
		return 0;
	end = bpf_ntohl(th->seq) + plen;
	if ((__s32)(end - q->snd_max) <= 0 || size > q->max_seg || (p->df && size > q->df_ok))
		return 0;
	q->snd_max = end;
	return 1;
}

/* The flow map's snd_max lags while fwd_quiet_pass keeps this CPU's: take it back. */
__noinline int fwd_quiet_sync(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex,
			      struct mw_flow_val *v)
{
	struct fwd_quiet *q;
	__u32 slot;

	if (!p || !th || !v)
		return 0;
	q = fwd_quiet_slot(p, th, ifindex, &slot);
	if (q && (__s32)(q->snd_max - v->d[MW_DIR_OUT].snd_max) > 0)
		v->d[MW_DIR_OUT].snd_max = q->snd_max;
	return 0;
}

/* After the segment: a settled flow takes this CPU's slot, an unsettled one leaves it. */
__noinline int fwd_quiet_put(struct mw_pkt *p, struct mw_tcp *th, __u32 ifindex,
			     struct mw_flow_val *v)
{
	struct mw_flow_dir *d;
	struct fwd_quiet *q;
	__u32 slot;

	if (!p || !th || !v)
		return 0;
	if (!flow_settled(v)) {
		q = fwd_quiet_slot(p, th, ifindex, &slot);
		if (q)
			q->epoch = 0;
		return 0;
	}
	slot = (th->source ^ th->dest ^ ifindex) & (FWD_QUIET_SLOTS - 1);
	q = bpf_map_lookup_elem(&fwd_quiet, &slot);
	if (!q)
		return 0;
	d = &v->d[MW_DIR_OUT];
	__builtin_memcpy(q->saddr, p->saddr, 16);
	__builtin_memcpy(q->daddr, p->daddr, 16);
	q->sport = th->source;
	q->dport = th->dest;
	q->ifindex = ifindex;
	q->snd_max = d->snd_max;
	q->max_seg = d->max_seg;
	q->df_ok = d->pend_size > d->proven ? d->pend_size : d->proven;
	q->epoch = fwd_epoch + 1;
	return 0;
}

/* A pod's new largest DF segment (see fwd_seg): its own frame, not fwd_out_*'s. */
__noinline int fwd_df_max(struct mw_flow_key *k, __u32 size, __u32 seq, __u32 ifindex)
{
	struct flow_ev a = { .type = MW_EV_DF_MAX, .ifindex = ifindex, .size = size, .seq = seq };

	if (k)
		flow_emit(k, &a, NULL);
	return 0;
}

__noinline int fwd_out_xdp(struct xdp_md *ctx, struct mw_pkt *p, struct tcp_seg *g,
			   __u32 ifindex)
{
	if (!ctx || !p || !g)
		return 0;
	fwd_seg(ctx, true, p, &g->th, MW_DIR_OUT, g->size, g->poff, g->plen, ifindex);
	return 0;
}

__noinline int fwd_out_tc(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g,
			  __u32 ifindex)
{
	if (!skb || !p || !g)
		return 0;
	fwd_seg(skb, false, p, &g->th, MW_DIR_OUT, g->size, g->poff, g->plen, ifindex);
	return 0;
}

__noinline int fwd_in_tc(struct __sk_buff *skb, struct mw_pkt *p, struct tcp_seg *g,
			 __u32 ifindex)
{
	if (!skb || !p || !g)
		return 0;
	fwd_seg(skb, false, p, &g->th, MW_DIR_IN, g->size, g->poff, g->plen, ifindex);
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
	bool mine = true, pod = false;
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
		 * SYNs and SYN-ACKs make no event: a SYN flood would be a ring buffer flood, and
		 * what a SYN-ACK says (the server lives, its MSS) the connection's ESTABLISHED
		 * says a moment later, read from the socket (one event a connection fewer).
		 */
		if (th->syn)
			return;
		/*
		 * Most arrivals (a settled flow's, a forwarded or untracked one's) need no flow
		 * work: the port filter says so inline, before the header copy and the call.
		 */
		{
			__u16 lport = bpf_ntohs(th->dest), rport = bpf_ntohs(th->source);

			mine = targ_attn ? ports_maybe(&flow_attn, lport, rport) :
					   ports_maybe(&flow_bloom, lport, rport);
			/*
			 * With --all-netns: a tracked flow of a pod, on its way out of it. Where
			 * tc ingress stands in for XDP, mw_tc_fwd_out follows it: this call
			 * chain has no room left for it on 6.1 (512 bytes).
			 */
			if (xdp && targ_fwd)
				pod = ports_maybe(&flow_bloom, rport, lport);
			if (!mine && !pod)
				return;
		}
		{
			struct tcp_seg g = { .poff = l4 + l4hdr };

			/* Pure ACKs too: they are how the peer says our flight arrived. */
			g.plen = p.l3_len > p.l3_hdr + l4hdr ? p.l3_len - p.l3_hdr - l4hdr : 0;
			/* tc ingress sees GRO-merged packets: the wire carried gso_size segments. */
			g.size = gso_size ? p.l3_hdr + l4hdr + gso_size : p.l3_len;
			__builtin_memcpy(&g.th, th, sizeof(g.th));
			if (xdp) {
				if (mine)
					ingress_tcp_xdp(ctx, &p, &g, ifindex);
				/* Leaving a pod through the node's end of its veth: its OUT. */
				if (pod)
					fwd_out_xdp(ctx, &p, &g, ifindex);
			} else {
				ingress_tcp_tc(ctx, &p, &g, ifindex);
			}
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
	ev_send_now(e);
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

/*
 * A pod's departures where tc ingress stands in for XDP (another program, often another
 * mtuwatch, holds the hook of the node's end of its veth): a program of its own beside
 * mw_tc_ingress, attached only there, whose call chain has the 512 bytes to itself.
 */
SEC("tc")
int mw_tc_fwd_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct mw_pkt p = {};
	struct mw_tcp *th;
	__u32 l4, l4hdr;

	if (!targ_fwd || mw_parse(data, data_end, &p, false) || p.frag ||
	    p.proto != IPPROTO_TCP)
		return TC_ACT_UNSPEC;
	l4 = p.l4_off & 0x1fff;		/* bounded as in ingress_main */
	th = data + l4;
	if ((void *)(th + 1) > data_end || th->syn)
		return TC_ACT_UNSPEC;
	l4hdr = th->doff * 4;
	if (l4hdr < sizeof(*th) ||
	    !ports_maybe(&flow_bloom, bpf_ntohs(th->source), bpf_ntohs(th->dest)))
		return TC_ACT_UNSPEC;
	{
		struct tcp_seg g = { .poff = l4 + l4hdr };

		g.plen = p.l3_len > p.l3_hdr + l4hdr ? p.l3_len - p.l3_hdr - l4hdr : 0;
		g.size = skb->gso_size ? p.l3_hdr + l4hdr + skb->gso_size : p.l3_len;
		__builtin_memcpy(&g.th, th, sizeof(g.th));
		fwd_out_tc(skb, &p, &g, skb->ifindex);
	}
	return TC_ACT_UNSPEC;
}
