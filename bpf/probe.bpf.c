// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kernel side of `mtuwatch probe`: evidence for one far host the user named.
 *   tc ingress   Packet Too Big quoting a packet to the far host; sizes of the far host's TCP
 *                segments (reverse path search).
 *   XDP          ptb-test: drops the far host's full-size DF segments (as a path with a smaller
 *                MTU would) and hands each segment, with the bytes to quote, to user space.
 *   kfree_skb    a PTB or a segment of the far host that this host dropped, and why.
 * Everything is off until user space writes the far host into cfg; any other packet costs a
 * parse and one array lookup.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "parse.h"
#include "probe.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_UNSPEC	(-1)	/* the next program on the hook runs (mtuwatch live, say) */
#define IPPROTO_ICMP_	1
#define IPPROTO_TCP_	6

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_probe_cfg);
} probe_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_probe_stats);
} probe_stats SEC(".maps");

/* Bounded by the test itself: a handful of segments per connection. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} probe_segs SEC(".maps");

static __always_inline bool addr_eq(const __u8 *a, const __u8 *b, __u8 family)
{
	if (family == 4)
		return *(__u32 *)a == *(__u32 *)b;
	return ((__u64 *)a)[0] == ((__u64 *)b)[0] && ((__u64 *)a)[1] == ((__u64 *)b)[1];
}

static __always_inline struct mw_probe_cfg *cfg_get(void)
{
	__u32 k = 0;
	struct mw_probe_cfg *c = bpf_map_lookup_elem(&probe_cfg, &k);

	return c && c->family ? c : NULL;
}

static __always_inline struct mw_probe_stats *stats_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&probe_stats, &k);
}

/*
 * A PTB (ICMP frag-needed / ICMPv6 packet-too-big) whose quoted packet went to the far host.
 * icmp points at the ICMP header; returns the MTU it carries, 0 if it is not one of ours.
 */
static __always_inline __u32 ptb_mtu(const __u8 *icmp, const __u8 *end, __u8 family,
				     const struct mw_probe_cfg *c)
{
	if (family == 4) {
		const struct mw_ip4 *in = (const void *)(icmp + 8);

		if ((void *)(in + 1) > (void *)end)
			return 0;
		if (icmp[0] != ICMP_DEST_UNREACH || icmp[1] != ICMP_FRAG_NEEDED)
			return 0;
		if (!addr_eq((const __u8 *)&in->daddr, c->addr, 4))
			return 0;
		return ((__u32)icmp[6] << 8) | icmp[7];
	}
	{
		const struct mw_ip6 *in = (const void *)(icmp + 8);

		if ((void *)(in + 1) > (void *)end)
			return 0;
		if (icmp[0] != ICMPV6_PKT_TOOBIG)
			return 0;
		if (!addr_eq((const __u8 *)&in->daddr, c->addr, 6))
			return 0;
		return bpf_ntohl(*(__u32 *)(icmp + 4));
	}
}

static __always_inline bool seg_ours(const struct mw_tcp *th, const struct mw_probe_cfg *c)
{
	return th->source == c->rport && (!c->lport || th->dest == c->lport);
}

/*
 * What tc ingress (or XDP, where the kernel has no TCX) notes about one packet: a PTB about the
 * far host, or the size of one of its segments. len: the IP length that crossed the wire.
 */
static __always_inline void observe(void *data, void *end, const struct mw_pkt *p,
				    const struct mw_probe_cfg *c, struct mw_probe_stats *s,
				    __u32 len)
{
	if (p->proto == (p->family == 4 ? IPPROTO_ICMP_ : NEXTHDR_ICMP)) {
		__u8 *icmp = data + (p->l4_off & 0xff);
		__u32 mtu = ptb_mtu(icmp, end, p->family, c);

		if (!mtu)
			return;
		__sync_fetch_and_add(&s->ptb_in, 1);
		s->ptb_in_mtu = mtu;
		__builtin_memcpy(s->ptb_in_from, p->saddr, 16);
		return;
	}
	if (p->proto == IPPROTO_TCP_ && c->rport && addr_eq(p->saddr, c->addr, p->family)) {
		struct mw_tcp *th = data + (p->l4_off & 0xff);

		if ((void *)(th + 1) > end || !seg_ours(th, c))
			return;
		__sync_fetch_and_add(&s->seg_in, 1);
		if (len > s->seg_max)
			s->seg_max = len;
	}
}

SEC("tc")
int mw_probe_tc(struct __sk_buff *skb)
{
	struct mw_probe_cfg *c = cfg_get();
	struct mw_probe_stats *s;
	void *data, *end;
	struct mw_pkt p;
	__u32 len;

	if (!c)
		return TC_ACT_UNSPEC;
	/* Headers up to an ICMPv6 PTB's quoted IPv6 header must be linear to be read. */
	if (skb->data_end - skb->data < 160)
		bpf_skb_pull_data(skb, skb->len < 160 ? skb->len : 160);
	/* Opaque to the compiler: it must reload data/data_end as plain ctx loads. */
	asm volatile("" : "+r"(skb));
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (mw_parse(data, end, &p, c->l3) || p.family != c->family || p.frag)
		return TC_ACT_UNSPEC;
	s = stats_get();
	if (!s)
		return TC_ACT_UNSPEC;
	len = p.l3_len;
	/* GRO may have merged wire segments: the size that crossed the path is gso_size. */
	if (p.proto == IPPROTO_TCP_ && skb->gso_segs > 1 && skb->gso_size) {
		struct mw_tcp *th = data + (p.l4_off & 0xff);

		if ((void *)(th + 1) <= end)
			len = skb->gso_size + p.l3_hdr + th->doff * 4;
	}
	observe(data, end, &p, c, s, len);
	return TC_ACT_UNSPEC;
}

SEC("xdp.frags")
int mw_probe_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct mw_probe_cfg *c = cfg_get();
	struct mw_probe_stats *s;
	struct mw_probe_seg *e;
	struct mw_tcp *th;
	struct mw_pkt p;
	__u32 qlen;
	bool drop;

	if (!c || mw_parse(data, end, &p, c->l3) || p.family != c->family)
		return XDP_PASS;
	s = stats_get();
	if (!s)
		return XDP_PASS;
	/* Observer only (no TCX on this kernel): XDP sees wire frames, before any GRO. */
	if (!c->segs) {
		if (!p.frag)
			observe(data, end, &p, c, s, p.l3_len);
		return XDP_PASS;
	}
	if (!addr_eq(p.saddr, c->addr, p.family))
		return XDP_PASS;
	if (p.frag || p.proto == NEXTHDR_FRAGMENT) {
		/* The far host fragments (IPv6) or sent a later fragment: it gave up on DF. */
		e = bpf_ringbuf_reserve(&probe_segs, sizeof(*e), 0);
		if (!e)
			return XDP_PASS;
		__builtin_memset(e, 0, sizeof(*e));
		e->ts = bpf_ktime_get_ns();
		e->len = p.l3_len;
		e->frag = 1;
		bpf_ringbuf_submit(e, 0);
		return XDP_PASS;
	}
	if (p.proto != IPPROTO_TCP_)
		return XDP_PASS;
	th = data + (p.l4_off & 0xff);
	if ((void *)(th + 1) > end || !seg_ours(th, c))
		return XDP_PASS;

	drop = c->drop && p.df && p.l3_len > c->drop_above && s->xdp_drops < c->max_drops;
	e = bpf_ringbuf_reserve(&probe_segs, sizeof(*e), 0);
	if (e) {
		e->ts = bpf_ktime_get_ns();
		e->seq = bpf_ntohl(th->seq);
		e->len = p.l3_len;
		e->payload = p.l3_len - p.l3_hdr - th->doff * 4;
		e->df = p.df;
		/* A first IPv4 fragment: MF set, offset 0 (later ones have p.frag). */
		e->frag = p.family == 4 && !p.df && p.l3_len > (__u32)(end - data) - p.l3_off;
		e->dropped = drop;
		e->flags = ((__u8 *)th)[13];
		qlen = p.l3_len < MW_PROBE_QUOTE ? p.l3_len : MW_PROBE_QUOTE;
		e->qlen = 0;
		if (qlen >= 1 && qlen <= MW_PROBE_QUOTE &&
		    !bpf_xdp_load_bytes(ctx, p.l3_off & 0xff, e->quote, qlen))
			e->qlen = qlen;
		bpf_ringbuf_submit(e, 0);
	}
	if (!drop)
		return XDP_PASS;
	__sync_fetch_and_add(&s->xdp_drops, 1);
	return XDP_DROP;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(mw_probe_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct mw_probe_cfg *c = cfg_get();
	struct mw_probe_stats *s;
	struct net_device *dev;
	__u8 b[96] = {}, *l4;
	__u32 netns, hl, mtu;
	__u16 proto;
	__u8 fam;

	if (!c)
		return 0;
	proto = BPF_CORE_READ(skb, protocol);
	fam = proto == bpf_htons(ETH_P_IP) ? 4 : proto == bpf_htons(ETH_P_IPV6) ? 6 : 0;
	if (fam != c->family)
		return 0;
	/* Only this namespace: in a lab the router's drops fire here too, but are not ours. */
	dev = BPF_CORE_READ(skb, dev);
	if (dev)
		netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	else
		netns = BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);
	if (netns != c->netns)
		return 0;
	if (bpf_probe_read_kernel(b, sizeof(b), BPF_CORE_READ(skb, head) +
				  BPF_CORE_READ(skb, network_header)))
		return 0;
	s = stats_get();
	if (!s)
		return 0;
	if (fam == 4) {
		if ((b[0] >> 4) != 4)
			return 0;
		hl = (b[0] & 0xf) * 4;
		if (hl < 20 || hl > 36)	/* room for ICMP + quoted header in b[] */
			return 0;
		l4 = b + hl;
		if (b[9] == IPPROTO_TCP_) {
			if (!c->rport || !addr_eq(b + 12, c->addr, 4) ||
			    *(__u16 *)l4 != c->rport ||
			    (c->lport && *(__u16 *)(l4 + 2) != c->lport))
				return 0;
			__sync_fetch_and_add(&s->seg_drop, 1);
			s->seg_drop_reason = reason;
			return 0;
		}
		if (b[9] != IPPROTO_ICMP_)
			return 0;
		mtu = ptb_mtu(l4, b + sizeof(b), 4, c);
		if (!mtu)
			return 0;
		__builtin_memcpy(s->ptb_drop_from, b + 12, 4);
	} else {
		if ((b[0] >> 4) != 6)
			return 0;
		l4 = b + 40;
		if (b[6] == IPPROTO_TCP_) {
			if (!c->rport || !addr_eq(b + 8, c->addr, 6) ||
			    *(__u16 *)l4 != c->rport ||
			    (c->lport && *(__u16 *)(l4 + 2) != c->lport))
				return 0;
			__sync_fetch_and_add(&s->seg_drop, 1);
			s->seg_drop_reason = reason;
			return 0;
		}
		if (b[6] != NEXTHDR_ICMP)
			return 0;
		mtu = ptb_mtu(l4, b + sizeof(b), 6, c);
		if (!mtu)
			return 0;
		__builtin_memcpy(s->ptb_drop_from, b + 8, 16);
	}
	__sync_fetch_and_add(&s->ptb_drop, 1);
	s->ptb_drop_mtu = mtu;
	s->ptb_drop_reason = reason;
	return 0;
}
