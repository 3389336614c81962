/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Header parsing shared by the tc egress and XDP programs. Both see a linear packet start
 * (data .. data_end) that holds at least the headers; TCP payload is read with a load helper
 * passed in by the caller, because tc and XDP have different ones.
 */
#ifndef MW_PARSE_H
#define MW_PARSE_H

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define IP_DF		0x4000
#define IP_MF_OFFSET	0x3fff
#define ICMP_DEST_UNREACH	3
#define ICMP_FRAG_NEEDED	4
#define ICMPV6_PKT_TOOBIG	2
#define NEXTHDR_ICMP	58
#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_DEST	60
#define TCPOPT_MSS	2
#define TCPOPT_EOL	0
#define TCPOPT_NOP	1

/*
 * Wire formats, declared here instead of taken from vmlinux.h: vmlinux.h marks every struct
 * for CO-RE relocation, and libbpf relocates each such type by walking the kernel's whole BTF
 * (~150k types, about a millisecond each at start-up) for offsets that no kernel can move.
 * Little-endian bit fields, as the kernel declares them on x86 and arm64.
 */
struct mw_eth {
	__u8 h_dest[6];
	__u8 h_source[6];
	__be16 h_proto;
};

struct mw_vlan {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct mw_ip4 {
	__u8 ihl:4, version:4;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct mw_ip6 {
	__u8 priority:4, version:4;
	__u8 flow_lbl[3];
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct mw_tcp {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u16 res1:4, doff:4, fin:1, syn:1, rst:1, psh:1, ack:1, urg:1, ece:1, cwr:1;
	__be16 window;
	__u16 check;
	__be16 urg_ptr;
};

/* ICMP destination unreachable / fragmentation needed (RFC 1191): the next hop's MTU. */
struct mw_icmp4 {
	__u8 type;
	__u8 code;
	__u16 checksum;
	__be16 unused;
	__be16 mtu;
};

/* ICMPv6 Packet Too Big (RFC 4443 3.2). */
struct mw_icmp6 {
	__u8 icmp6_type;
	__u8 icmp6_code;
	__u16 icmp6_cksum;
	__be32 icmp6_mtu;
};

_Static_assert(sizeof(struct mw_eth) == 14 && sizeof(struct mw_vlan) == 4, "wire format");
_Static_assert(sizeof(struct mw_ip4) == 20 && sizeof(struct mw_ip6) == 40, "wire format");
_Static_assert(sizeof(struct mw_tcp) == 20 && sizeof(struct mw_icmp4) == 8 &&
	       sizeof(struct mw_icmp6) == 8, "wire format");

/* What a packet's headers say; filled by mw_parse(). */
struct mw_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 l3_off;		/* offset of the IP header from data */
	__u32 l4_off;		/* offset of the transport header */
	__u32 l3_len;		/* IP total length as the header says */
	__u32 l3_hdr;		/* IP header length */
	__u8 family;
	__u8 proto;
	__u8 df;		/* IPv4 DF set, or IPv6 (never fragmented on the way) */
	__u8 frag;		/* a non-first fragment: no transport header */
};

/*
 * Skip up to two VLAN tags: the watched link may be a trunk. An L3 device (tun, WireGuard,
 * ipip: no link-layer header) starts at the IP header; `l3` is a constant per program.
 */
static __always_inline int mw_parse(void *data, void *data_end, struct mw_pkt *p, bool l3)
{
	struct mw_eth *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;

	if (l3) {
		__u8 *v = data;

		if ((void *)(v + 1) > data_end)
			return -1;
		off = 0;
		proto = (*v >> 4) == 4 ? bpf_htons(ETH_P_IP) :
			(*v >> 4) == 6 ? bpf_htons(ETH_P_IPV6) : 0;
		goto l3;
	}
	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;

	for (int i = 0; i < 2; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			struct mw_vlan *vh = data + off;

			if ((void *)(vh + 1) > data_end)
				return -1;
			proto = vh->h_vlan_encapsulated_proto;
			off += sizeof(*vh);
		}
	}
l3:
	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct mw_ip4 *ip = data + off;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return -1;
		p->family = 4;
		p->proto = ip->protocol;
		p->df = !!(ip->frag_off & bpf_htons(IP_DF));
		p->frag = !!(ip->frag_off & bpf_htons(0x1fff));
		p->l3_len = bpf_ntohs(ip->tot_len);
		p->l3_hdr = ihl;
		p->l4_off = off + ihl;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		return 0;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct mw_ip6 *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		__u32 l4 = off + sizeof(*ip6);
		__u8 nh = ip6->nexthdr;

		p->family = 6;
		p->df = 1;
		p->frag = 0;
		p->l3_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		/* Hop-by-hop, routing and destination options may stand before ICMPv6 or TCP. */
		for (int i = 0; i < 3; i++) {
			__u8 *x = data + (l4 & 0xfff);

			if (nh == NEXTHDR_FRAGMENT) {
				p->frag = 1;
				break;
			}
			if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST)
				break;
			if ((void *)(x + 2) > data_end)
				return -1;
			nh = x[0];
			l4 += (x[1] + 1) * 8;
		}
		p->proto = nh;
		p->l3_hdr = l4 - off;
		p->l4_off = l4;
		return 0;
	}
	return -1;
}

#endif /* MW_PARSE_H */
