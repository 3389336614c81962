// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tracepoints: drops (a Packet Too Big dropped, or the packet too big to forward),
 * retransmissions, socket state (which adds and removes tracked flows), icmp_send. Each as
 * tp_btf, with a raw_tp fallback where BTF tracing programs are refused (icmp_send: tp_btf).
 */
#include "common.h"

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

/* ---- tracepoints ---------------------------------------------------------------------- */

/*
 * An IPv4 peer of an AF_INET6 socket (::ffff:a.b.c.d: Java, a listener on [::]): every packet
 * on the wire is IPv4, so the flow is too, keyed as tc and the arrivals key its packets
 * (parse.h: four bytes, the rest zero), with IPv4's header sizes. The kernel maps both
 * addresses of such a socket together.
 */
static __always_inline void flow_unmap(struct mw_flow *f)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, f->daddr, 8);
	__builtin_memcpy(&mid, &f->daddr[8], 4);
	if (!hi && mid == bpf_htonl(0xffff)) {
		f->family = 4;
		__builtin_memcpy(f->daddr, &f->daddr[12], 4);
		__builtin_memcpy(f->saddr, &f->saddr[12], 4);
		__builtin_memset(&f->daddr[4], 0, 12);
		__builtin_memset(&f->saddr[4], 0, 12);
	}
}

static __always_inline void sk_flow(const struct sock *sk, struct mw_flow *f)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	f->proto = IPPROTO_TCP;
	f->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	/*
	 * A socket going to CLOSE gives its port back first (tcp_set_state: inet_put_port zeroes
	 * inet_num before the state changes and the tracepoint fires), unless the port was bound
	 * by hand: a client's LAST_ACK -> CLOSE arrived as port 0 and never matched the flow it
	 * closes (issue 28). inet_sport, the port on its packets, stays until the socket is freed.
	 */
	if (!f->sport)
		f->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	f->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET6) {
		f->family = 6;
		BPF_CORE_READ_INTO(&f->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&f->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		flow_unmap(f);
	} else {
		f->family = 4;
		BPF_CORE_READ_INTO((__u32 *)f->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)f->daddr, sk, __sk_common.skc_daddr);
	}
}

/*
 * sk_flow for a typed socket (tp_btf): the same fields by direct loads, no helper call each.
 * The CLOSE fallback to inet_sport stays a read: inet_sock lies past struct sock's type.
 */
static __always_inline void sk_flow_btf(const struct sock *sk, struct mw_flow *f)
{
	const struct sock_common *c = &sk->__sk_common;
	__u32 *sa = (__u32 *)f->saddr, *da = (__u32 *)f->daddr;

	f->proto = IPPROTO_TCP;
	f->sport = c->skc_num;
	if (!f->sport)
		f->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	f->dport = bpf_ntohs(c->skc_dport);
	if (c->skc_family == AF_INET6) {
		f->family = 6;
		for (int i = 0; i < 4; i++) {
			sa[i] = c->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			da[i] = c->skc_v6_daddr.in6_u.u6_addr32[i];
		}
		flow_unmap(f);
	} else {
		f->family = 4;
		sa[0] = c->skc_rcv_saddr;
		da[0] = c->skc_daddr;
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

/* Whether the kernel names `name`, and `reason` is it: one compare, constants from CO-RE. */
#define REASON_IS(reason, name)                                                           \
	(bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_##name) &&         \
	 (reason) == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_##name))

/*
 * A free that says nothing about the Packet Too Big the kernel got (docs/design.md, "Which
 * drops are evidence"): a socket's copy, or a queue whose owner went away. The clone queued
 * on a socket's error queue is made after the kernel took the PTB; a raw or packet socket's
 * copy is cloned off the original, which goes on to ICMP's own handler. Older kernels free
 * these as NOT_SPECIFIED, rejected before this.
 */
static __always_inline bool reason_after_use(__u32 reason)
{
	return REASON_IS(reason, QUEUE_PURGE) || REASON_IS(reason, SOCKET_CLOSE) ||
	       REASON_IS(reason, SOCKET_FILTER) || REASON_IS(reason, SOCKET_RCVBUFF) ||
	       REASON_IS(reason, SOCKET_BACKLOG) || REASON_IS(reason, PROTO_MEM) ||
	       REASON_IS(reason, PACKET_SOCK_ERROR);
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
	if (reason <= bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED) ||
	    reason_after_use(reason))
		return 0;
	/*
	 * A Packet Too Big is small: ICMPv6 fits in 1280 bytes (RFC 4443 2.4), ICMPv4 quotes
	 * at most 576 (RFC 1812 4.3.2.3); a link-layer header may still be counted. A larger
	 * drop is data and costs no more reads, unless it is the packet too big to forward.
	 */
	len = btf ? skb->len : BPF_CORE_READ(skb, len);
	if (len > MW_PTB_MAX_LEN && !REASON_IS(reason, PKT_TOO_BIG))
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
	if (REASON_IS(reason, PKT_TOO_BIG)) {
		too_big(skb, netns, 0);
		return 0;
	}
	if (skb_ptb(skb, proto, &tmp))
		return 0;
	tmp.netns = netns;
	tmp.ifindex = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	tmp.aux = reason;
	/*
	 * A PTB dropped on its way out (the router's own firewall) vs. one that arrived: this
	 * host's own ICMP was never received (skb_iif 0). Not skb->sk: an arrived PTB carries a
	 * socket only as some socket's copy (its error queue), rejected above by reason.
	 */
	out = !BPF_CORE_READ(skb, skb_iif);
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

/*
 * A Packet Too Big that another namespace received and handled (--all-netns): no packet hook
 * sees arrivals there, but ICMP's receive path consumes the PTB once it updated the route's
 * PMTU, so this event comes after what the kernel did with it, and user space reads that
 * namespace's exceptions then. Loaded only with --all-netns: every consumed skb passes here.
 */
static __always_inline int on_consume_skb(struct sk_buff *skb, bool btf)
{
	struct mw_event tmp = {}, *e;
	struct mw_ptb_key pk = {};
	struct net_device *dev;
	struct net *net;
	__u32 netns, len, n;
	__u16 proto;

	len = btf ? skb->len : BPF_CORE_READ(skb, len);
	if (len > MW_PTB_MAX_LEN)
		return 0;
	proto = btf ? skb->protocol : BPF_CORE_READ(skb, protocol);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return 0;
	dev = btf ? skb->dev : BPF_CORE_READ(skb, dev);
	if (!dev)
		return 0;
	net = btf ? dev->nd_net.net : BPF_CORE_READ(dev, nd_net.net);
	/* Ours has XDP / tc ingress, which saw the PTB arrive: not twice. */
	if (!net_wanted(net, btf, &netns) || netns == targ_self_netns)
		return 0;
	/* Arrived (not this host's own ICMP on its way out), and a PTB. */
	if (!BPF_CORE_READ(skb, skb_iif) || skb_ptb(skb, proto, &tmp))
		return 0;
	tmp.ifindex = BPF_CORE_READ(dev, ifindex);
	stat_add(MW_STAT_PTB_RX, tmp.ifindex, netns, tmp.family, 0);
	__builtin_memcpy(pk.peer, tmp.peer, 16);
	__builtin_memcpy(pk.dst, tmp.flow.daddr, 16);
	pk.mtu = tmp.mtu;
	pk.netns = netns;
	pk.family = tmp.family;
	n = ptb_count(&pk);
	if (!n)
		return 0;
	e = ev_new(MW_EV_PTB_RX);
	if (!e)
		return 0;
	tmp.ts_ns = e->ts_ns;
	tmp.type = MW_EV_PTB_RX;
	tmp.netns = netns;
	tmp.dir = MW_DIR_IN;
	tmp.aux = n;
	__builtin_memcpy(e, &tmp, sizeof(tmp));
	ev_send_now(e);
	return 0;
}

SEC("tp_btf/consume_skb")
int BPF_PROG(mw_tp_consume_skb, struct sk_buff *skb)
{
	return on_consume_skb(skb, true);
}

SEC("raw_tp/consume_skb")
int BPF_PROG(mw_raw_consume_skb, struct sk_buff *skb)
{
	return on_consume_skb(skb, false);
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

	if (!(btf && targ_sk_cache) || netns != targ_self_netns) {
		struct mw_flow_key k = {};
		struct mw_flow_val *v;
		struct mw_flow f = {};

		/*
		 * tc egress reports the retransmissions of the flows it tracks, with the size on
		 * the wire: do not report them twice. Another namespace's flow only once it was
		 * seen at a node's veth end: else this is all there is of its re-sends.
		 */
		sk_flow(sk, &f);
		flow_key_sk(&f, netns, &k);
		v = ports_maybe(&flow_bloom, k.lport, k.rport) ? bpf_map_lookup_elem(&flows, &k) :
								  NULL;
		if (v && (netns == targ_self_netns || v->fwd_seen))
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

#define STATE_EDGES	((1u << TCP_ESTABLISHED) | (1u << TCP_FIN_WAIT1) | (1u << TCP_CLOSE) | \
			 (1u << TCP_CLOSE_WAIT) | (1u << TCP_LISTEN))

/* Our active open: its storage keeps what its flow would start from (egress_sk_lazy). 0: kept */
static __always_inline int lazy_established(const struct sock *sk)
{
	const struct tcp_sock *t = bpf_skc_to_tcp_sock((void *)sk);
	struct mw_sk_cache *c;

	if (!t)
		return 1;
	c = bpf_sk_storage_get(&sk_cache, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c) {
		count(MW_CNT_FLOW_FULL);
		return 1;
	}
	/* A new socket's storage: created zeroed (snd_max, max_seg, pend_size). */
	c->start_out = t->snd_nxt;
	c->start_in = t->rcv_nxt;
	c->mss_local = t->advmss;
	c->mss_peer = t->rx_opt.mss_clamp;
	c->flags = MW_SKC_LAZY;
	return 0;
}

/*
 * `btf`: tp_btf, whose socket is a typed pointer that socket storage takes and that is read
 * directly (a load, no bpf_probe_read_kernel call).
 */
static __always_inline int on_state(const struct sock *sk, int oldstate, int newstate, bool btf)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct mw_flow_key k = {};
	struct mw_event *e;
	struct mw_flow f = {};
	__u32 netns, snd_nxt = 0, rcv_nxt = 0, advmss = 0, clamp = 0;
	bool lazy = false;

	/*
	 * Only the edges of a flow's life that the core reads are events: established, closing,
	 * closed (SYN_SENT, with no local port yet, was one that nothing read); and a new
	 * listener (below). About half of a connection's transitions (SYN_SENT, SYN_RECV,
	 * FIN_WAIT2, LAST_ACK, TIME_WAIT, CLOSING) end here, before any read of the socket.
	 */
	if ((__u32)newstate >= 32 || !((1u << newstate) & STATE_EDGES))
		return 0;
	if ((btf ? sk->sk_protocol : BPF_CORE_READ(sk, sk_protocol)) != IPPROTO_TCP)
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
	if (!net_wanted(btf ? sk->__sk_common.skc_net.net :
			      BPF_CORE_READ(sk, __sk_common.skc_net.net), btf, &netns))
		return 0;
	/*
	 * A connection we opened waits for a reason to be tracked (MW_SKC_LAZY): no flow entry,
	 * its ESTABLISHED a sign of life only (MW_DIR_F_UNTRACKED), no event at its close.
	 */
	if (btf && targ_sk_cache && netns == targ_self_netns) {
		if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT)
			lazy = !lazy_established(sk);
		else if (newstate != TCP_ESTABLISHED) {
			struct mw_sk_cache *c = bpf_sk_storage_get(&sk_cache, (void *)sk, 0, 0);

			if (c && (c->flags & MW_SKC_LAZY))
				return 0;
		}
	}
	if (btf)
		sk_flow_btf(sk, &f);
	else
		sk_flow(sk, &f);
	flow_key_sk(&f, netns, &k);
	if (newstate == TCP_ESTABLISHED) {
		/* A typed tcp_sock (one helper call) spares the reads below theirs. */
		const struct tcp_sock *t = btf ? bpf_skc_to_tcp_sock((void *)sk) : NULL;

		if (t) {
			snd_nxt = t->snd_nxt;
			rcv_nxt = t->rcv_nxt;
			advmss = t->advmss;
			clamp = t->rx_opt.mss_clamp;
		} else {
			snd_nxt = BPF_CORE_READ(tp, snd_nxt);
			rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
			advmss = BPF_CORE_READ(tp, advmss);
			clamp = BPF_CORE_READ(tp, rx_opt.mss_clamp);
		}
	}
	/*
	 * With --all-netns, another namespace's flows are tracked too: their segments are seen
	 * where they cross a node's veth end (fwd_seg), found by their local address.
	 */
	if (newstate == TCP_ESTABLISHED && !lazy && (netns == targ_self_netns || targ_fwd)) {
		/* The first payload byte in each direction is where a handshake starts. */
		struct mw_flow_val v = {};

		v.d[MW_DIR_OUT].next_seq = snd_nxt;
		v.d[MW_DIR_IN].next_seq = rcv_nxt;
		v.d[MW_DIR_OUT].start_seq = v.d[MW_DIR_OUT].next_seq;
		v.d[MW_DIR_IN].start_seq = v.d[MW_DIR_IN].next_seq;
		v.d[MW_DIR_OUT].mss = advmss;
		v.d[MW_DIR_IN].mss = clamp;
		if (!targ_hs_parse)
			v.done = 3;
		/* Arrivals need work until the handshake is over and nothing awaits an ACK. */
		v.attn = 1;
		if (bpf_map_update_elem(&flows, &k, &v, BPF_ANY)) {
			count(MW_CNT_FLOW_FULL);
		} else {
			ports_add(&flow_bloom, k.lport, k.rport, 1);
			ports_add(&flow_attn, k.lport, k.rport, 1);
			if (netns != targ_self_netns) {
				struct mw_flow_key a = { .family = k.family };

				/* No pod flow inherits a cached quiet state (fwd_quiet). */
				__sync_fetch_and_add(&fwd_epoch, 1);

				__builtin_memcpy(a.laddr, k.laddr, 16);
				bpf_map_update_elem(&fwd_addrs, &a, &netns, BPF_ANY);
			} else if (btf && targ_sk_cache) {
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
		if (!bpf_map_delete_elem(&flows, &k)) {
			ports_add(&flow_bloom, k.lport, k.rport, (__u32)-1);
			if (netns != targ_self_netns)
				__sync_fetch_and_add(&fwd_epoch, 1);
		}
	}
	e = ev_new(MW_EV_STATE);
	if (!e)
		return 0;
	e->netns = netns;
	e->family = f.family;
	e->flow = f;
	e->aux = oldstate;
	e->aux2 = newstate;
	/* Not tracked: still the sign of life a completed handshake is (a dead peer is not). */
	if (lazy)
		e->dir = MW_DIR_F_UNTRACKED;
	/*
	 * The namespace's cookie: inode numbers are reused as soon as a namespace dies, the
	 * cookie never (user space keeps two namespaces with one inode apart by it).
	 */
	if (bpf_core_field_exists(struct net, net_cookie)) {
		__u64 cookie = btf ? sk->__sk_common.skc_net.net->net_cookie :
				     BPF_CORE_READ(sk, __sk_common.skc_net.net, net_cookie);

		__builtin_memcpy(e->peer, &cookie, sizeof(cookie));
	}
	if (newstate == TCP_ESTABLISHED) {
		struct dst_entry *dst = BPF_CORE_READ(sk, sk_dst_cache);

		e->size = advmss;
		e->mtu = clamp;
		/* The route's device: the flow's egress, named though no DF_MAX names it. */
		if (dst)
			e->ifindex = BPF_CORE_READ(dst, dev, ifindex);
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
