// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tc egress: the sizes leaving (the destination map's DF evidence) and the segments of
 * tracked flows (flow.h), with the socket's storage as their cache (targ_sk_cache).
 */
#include "flow.h"

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
 * A connection we opened earns its flow entry (MW_SKC_LAZY): made here, from what its
 * socket's storage kept at ESTABLISHED, with the ESTABLISHED event it did not send then. The
 * segment that earned it is then the flow's first, for the flow code. 0: tracked now.
 */
__noinline int flow_track_sk(struct __sk_buff *skb, struct mw_pkt *p, struct mw_tcp *th,
			     struct mw_sk_cache *c)
{
	struct mw_flow_key k = {};
	struct mw_flow_val v = {};
	struct bpf_sock *sk;
	struct tcp_sock *tp;
	struct mw_event *e;
	__u32 ack;

	if (!skb || !p || !th || !c)
		return 1;
	flow_key_pkt(&k, p, th, MW_DIR_OUT);
	v.d[MW_DIR_OUT].start_seq = c->start_out;
	v.d[MW_DIR_OUT].next_seq = c->start_out;
	v.d[MW_DIR_IN].start_seq = c->start_in;
	v.d[MW_DIR_IN].next_seq = c->start_in;
	ack = bpf_ntohl(th->ack_seq);
	if (th->ack && ack != c->start_in) {
		/*
		 * The peer spoke first (an SSH server's identification line): those bytes went
		 * by unparsed. Its next record starts where our ACK says; no identification
		 * line is expected there.
		 */
		v.d[MW_DIR_IN].next_seq = ack;
		v.d[MW_DIR_IN].app_steps = 1;
	}
	v.d[MW_DIR_OUT].mss = c->mss_local;
	v.d[MW_DIR_IN].mss = c->mss_peer;
	if (c->flags & MW_SKC_PLAIN) {
		v.app = MW_APP_OTHER;
		v.done = 3;
	} else if (!targ_hs_parse) {
		v.done = 3;
	}
	v.attn = 1;
	if (bpf_map_update_elem(&flows, &k, &v, BPF_ANY)) {
		count(MW_CNT_FLOW_FULL);
		c->flags = 0;
		return 1;
	}
	ports_add(&flow_bloom, k.lport, k.rport, 1);
	ports_add(&flow_attn, k.lport, k.rport, 1);
	/* What left before was not seen as the flow's: this segment starts its accounting. */
	sk = skb->sk;
	tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;
	c->snd_max = tp ? tp->snd_nxt : 0;
	c->max_seg = 0;
	c->pend_size = 0;
	c->flags = MW_SKC_TRACKED;
	e = ev_new(MW_EV_STATE);
	if (!e)
		return 0;
	e->netns = targ_self_netns;
	e->family = k.family;
	e->flow.family = k.family;
	e->flow.proto = IPPROTO_TCP;
	__builtin_memcpy(e->flow.saddr, k.laddr, 16);
	__builtin_memcpy(e->flow.daddr, k.raddr, 16);
	e->flow.sport = k.lport;
	e->flow.dport = k.rport;
	e->aux = TCP_SYN_SENT;
	e->aux2 = TCP_ESTABLISHED;
	e->size = c->mss_local;
	e->mtu = c->mss_peer;
	e->ifindex = skb->ifindex;
	ev_send(e);
	return 0;
}

/*
 * Whether a segment of a connection we opened and do not track yet (MW_SKC_LAZY) earns it
 * its flow entry, and then makes it: a segment some path could refuse (over the sizes every
 * path carries: the black holes), or a first payload that opens TLS or SSH (the handshakes
 * whose stalls we explain). A first payload of anything else marks it PLAIN: only a large
 * segment can still earn it. True: tracked from this segment on.
 */
static __always_inline bool egress_sk_lazy(struct __sk_buff *skb, struct mw_pkt *p,
					   struct tcp_seg *g, struct mw_sk_cache *c)
{
	bool want = g->size > (p->family == 6 ? MW_DF_MIN6 : MW_DF_MIN4);
	__u8 h[4];

	if (!want && !(c->flags & MW_SKC_PLAIN)) {
		if (bpf_ntohl(g->th.seq) != c->start_out)
			return false;
		if (targ_hs_parse && g->plen >= 4 && !bpf_skb_load_bytes(skb, g->poff, h, 4) &&
		    ((h[0] == 22 && h[1] == 3 && h[2] <= 4) ||
		     (h[0] == 'S' && h[1] == 'S' && h[2] == 'H' && h[3] == '-')))
			want = true;
		else
			c->flags |= MW_SKC_PLAIN;
	}
	return want && !flow_track_sk(skb, p, &g->th, c);
}

/*
 * tc egress's fast path, inline (a bulk flow's every segment): NULL when the segment needs no
 * flow work (no socket: forwarded; an untracked socket; a settled flow's new bytes, no larger
 * than before: its storage takes the new end), else the socket's storage, for egress_flow.
 */
static __always_inline struct mw_sk_cache *egress_sk_busy(struct __sk_buff *skb,
							  struct mw_pkt *p, struct tcp_seg *g)
{
	struct bpf_sock *sk = skb->sk;
	struct mw_sk_cache *c;
	__u32 end, size = g->size;

	/* Forwarded packets have no socket: the router needs no flow state. */
	if (!sk)
		return NULL;
	/* The storage lookup checks for a full socket itself: no bpf_sk_fullsock call. */
	c = bpf_sk_storage_get(&sk_cache, sk, 0, 0);
	if (!c)
		return NULL;
	if (c->flags & MW_SKC_LAZY)
		return egress_sk_lazy(skb, p, g, c) ? c : NULL;
	if (!(c->flags & MW_SKC_TRACKED))
		return NULL;
	end = bpf_ntohl(g->th.seq) + g->plen;
	if ((!c->snd_max || (__s32)(end - c->snd_max) > 0) && (c->flags & MW_SKC_QUIET) &&
	    size <= c->max_seg && (!p->df || size <= c->pend_size)) {
		c->snd_max = end;
		return NULL;
	}
	return c;
}


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
	/* A destination with a finding is in dsts_keep, never in both (session_set_pmtu). */
	dv = dst_kept ? bpf_map_lookup_elem(&dsts_keep, &dk) : NULL;
	if (!dv)
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

	/*
	 * Sizes no path refuses need no destination entry (no hash, no event): Linux never
	 * learns an IPv4 path MTU below 552 (route/min_pmtu; below it the route is locked and
	 * DF cleared), IPv6 none below 1280. A connection that only exchanges small segments
	 * (most of a busy node's churn) leaves the map alone.
	 */
	if (p.df && size > (p.family == 6 ? MW_DF_MIN6 : MW_DF_MIN4)) {
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
			struct mw_sk_cache *c = egress_sk_busy(skb, &p, &g);

			if (c)
				egress_flow(skb, &p, &g, c);
		}
	}
	/*
	 * With --all-netns: a segment into a pod, through the node's end of its veth (fwd_seg),
	 * is an arrival of the pod's flow, forwarded or from one of our own sockets (a health
	 * check to the pod: that it is also our flow's departure does not make it less the
	 * pod's arrival). Its ACKs matter too: no payload needed.
	 */
	if (targ_fwd && th && !g.th.syn) {
		__u16 lport = bpf_ntohs(g.th.dest), rport = bpf_ntohs(g.th.source);

		if (targ_attn ? ports_maybe(&flow_attn, lport, rport) :
				ports_maybe(&flow_bloom, lport, rport)) {
			g.poff = p.l4_off + l4hdr;
			g.plen = p.l3_len > p.l3_hdr + l4hdr ? p.l3_len - p.l3_hdr - l4hdr : 0;
			fwd_in_tc(skb, &p, &g, skb->ifindex);
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
