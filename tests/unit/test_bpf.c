// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Over 800 lines on purpose: crafted packets run through one BPF object, loaded once for all. */
/*
 * BPF program tests: load the real object, run tc egress and XDP on crafted packets with
 * BPF_PROG_TEST_RUN and check the events they emit. Needs root (CAP_BPF), no network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mtuwatch.h"
#include "check.h"
#include "mtuwatch.skel.h"
#include "loader.h"

/* bpf/maps.h's MW_DSTS_KEEP: the map's size, as loaded */
#define MW_DSTS_KEEP_N ((int)bpf_map__max_entries(skel->maps.dsts_keep))

#define SELF_NS 777

static struct mw_event evs[64];
static int nev;
static struct mtuwatch_bpf *skel;
static struct ring_buffer *rb;


static int on_ev(void *ctx, void *data, size_t len)
{
	if (nev < 64)
		memcpy(&evs[nev++], data, sizeof(struct mw_event));
	return 0;
}

static const struct mw_event *ev_of(uint16_t type)
{
	for (int i = 0; i < nev; i++)
		if (evs[i].type == type)
			return &evs[i];
	return NULL;
}

/* The i-th event of a type, or NULL. */
static const struct mw_event *nth_of(uint16_t type, int i)
{
	for (int k = 0; k < nev; k++)
		if (evs[k].type == type && !i--)
			return &evs[k];
	return NULL;
}

static int count_of(uint16_t type)
{
	int n = 0;

	for (int i = 0; i < nev; i++)
		n += evs[i].type == type;
	return n;
}

/* Run a program on a packet; returns the program's verdict or -errno. */
static int run(struct bpf_program *p, void *pkt, size_t len, struct __sk_buff *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .repeat = 1);
	int err;

	if (ctx) {
		o.ctx_in = ctx;
		o.ctx_size_in = sizeof(*ctx);
	}
	nev = 0;
	err = bpf_prog_test_run_opts(bpf_program__fd(p), &o);
	if (err)
		return -errno;
	ring_buffer__consume(rb);
	return o.retval;
}

/*
 * Headers are built in aligned locals and copied into the packet: after a 14-byte Ethernet
 * header they sit at offsets no header struct may be accessed at (UBSan: misaligned access).
 */
static size_t eth(uint8_t *b, uint16_t proto)
{
	struct ethhdr e = {};

	e.h_proto = htons(proto);
	memcpy(b, &e, sizeof(e));
	return sizeof(e);
}

static size_t ip4(uint8_t *b, const char *s, const char *d, uint8_t proto, uint16_t tot, bool df)
{
	struct iphdr ip = {};

	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = proto;
	ip.tot_len = htons(tot);
	ip.frag_off = df ? htons(0x4000) : 0;
	inet_pton(AF_INET, s, &ip.saddr);
	inet_pton(AF_INET, d, &ip.daddr);
	memcpy(b, &ip, sizeof(ip));
	return sizeof(ip);
}

static size_t ip6(uint8_t *b, const char *s, const char *d, uint8_t nh, uint16_t plen)
{
	struct ipv6hdr ip = {};

	ip.version = 6;
	ip.nexthdr = nh;
	ip.hop_limit = 64;
	ip.payload_len = htons(plen);
	inet_pton(AF_INET6, s, &ip.saddr);
	inet_pton(AF_INET6, d, &ip.daddr);
	memcpy(b, &ip, sizeof(ip));
	return sizeof(ip);
}

static size_t tcp(uint8_t *b, uint16_t sp, uint16_t dp, uint32_t seq, bool syn, uint16_t mss)
{
	struct tcphdr t = {};
	size_t len = sizeof(t);

	t.source = htons(sp);
	t.dest = htons(dp);
	t.seq = htonl(seq);
	t.doff = 5;
	t.ack = !syn;
	t.syn = syn;
	if (mss) {
		uint8_t *o = b + len;

		o[0] = 1;	/* NOP first: the parser must walk options */
		o[1] = 2;
		o[2] = 4;
		o[3] = mss >> 8;
		o[4] = mss & 0xff;
		o[5] = o[6] = o[7] = 1;
		len += 8;
		t.doff = len / 4;
	}
	memcpy(b, &t, sizeof(t));
	return len;
}

/* Change a TCP header already in a packet: read it out, set ack (and ack_seq if nonzero). */
static void tcp_ack(uint8_t *b, uint32_t ack_seq)
{
	struct tcphdr t;

	memcpy(&t, b, sizeof(t));
	t.ack = 1;
	if (ack_seq)
		t.ack_seq = htonl(ack_seq);
	memcpy(b, &t, sizeof(t));
}

/* ICMP fragmentation needed (type 3 code 4) advertising mtu. */
static size_t icmp4_ptb(uint8_t *b, uint16_t mtu)
{
	struct icmphdr ic = {};

	ic.type = 3;
	ic.code = 4;
	ic.un.frag.mtu = htons(mtu);
	memcpy(b, &ic, sizeof(ic));
	return sizeof(ic);
}

/* ICMPv6 Packet Too Big advertising mtu. */
static size_t icmp6_ptb(uint8_t *b, uint32_t mtu)
{
	struct icmp6hdr ic = {};

	ic.icmp6_type = 2;
	ic.icmp6_dataun.un_data32[0] = htonl(mtu);
	memcpy(b, &ic, sizeof(ic));
	return sizeof(ic);
}

/* Forget the PTB kinds the kernel counted: the next identical PTB is a first again. */
static void ptbs_reset(void)
{
	struct mw_ptb_key k, next;
	int fd = bpf_map__fd(skel->maps.ptbs);

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		k = next;
		bpf_map_delete_elem(fd, &k);
	}
}

static void test_ptb4(void)
{
	uint8_t p[256] = {};
	size_t n = eth(p, ETH_P_IP);
	const struct mw_event *e;
	char a[64];

	n += ip4(p + n, "192.0.2.1", "192.0.2.2", IPPROTO_ICMP, 20 + 8 + 20 + 20, false);
	n += icmp4_ptb(p + n, 1446);
	n += ip4(p + n, "192.0.2.2", "198.51.100.2", IPPROTO_TCP, 9000, true);
	n += tcp(p + n, 40000, 443, 0x01020304, false, 0);
	CHECK("xdp-ptb4-pass", run(skel->progs.mw_xdp_ingress, p, n, NULL) == 2 /* XDP_PASS */,
	      "verdict");
	e = ev_of(MW_EV_PTB_RX);
	CHECK("xdp-ptb4-event", e != NULL, "no PTB_RX event (%d events)", nev);
	if (!e)
		return;
	inet_ntop(AF_INET, e->peer, a, sizeof(a));
	CHECK("xdp-ptb4-mtu-sender", e->mtu == 1446 && !strcmp(a, "192.0.2.1"), "mtu %u from %s",
	      e->mtu, a);
	inet_ntop(AF_INET, e->flow.daddr, a, sizeof(a));
	CHECK("xdp-ptb4-inner", !strcmp(a, "198.51.100.2") && e->flow.sport == 40000 &&
	      e->flow.dport == 443 && e->seq == 0x01020304 && e->size == 9000 &&
	      e->flow.proto == IPPROTO_TCP, "inner %s:%u seq %x size %u", a, e->flow.dport, e->seq,
	      e->size);
	CHECK("xdp-ptb4-netns", e->netns == SELF_NS, "%u", e->netns);
	/* on a tun/WireGuard device the same PTB starts at its IP header */
	CHECK("tc-ingress-l3-ptb4", run(skel->progs.mw_tc_ingress_l3, p + ETH_HLEN, n - ETH_HLEN,
					NULL) == -1 && ev_of(MW_EV_PTB_RX) &&
	      ev_of(MW_EV_PTB_RX)->mtu == 1446, "no PTB_RX from an L3 packet");
	/* the same packet at tc ingress, the fallback when XDP is taken */
	ptbs_reset();
	CHECK("tc-ingress-ptb4-unspec", run(skel->progs.mw_tc_ingress, p, n, NULL) == -1, "verdict");
	e = ev_of(MW_EV_PTB_RX);
	CHECK("tc-ingress-ptb4-event", e && e->mtu == 1446 && e->flow.dport == 443, "%s",
	      e ? "fields" : "no event");
}

static void test_ptb6(void)
{
	uint8_t p[256] = {};
	size_t n = eth(p, ETH_P_IPV6);
	const struct mw_event *e;
	char a[64];

	n += ip6(p + n, "2001:db8:1::1", "2001:db8:1::2", 58, 8 + 40 + 20);
	n += icmp6_ptb(p + n, 1280);
	n += ip6(p + n, "2001:db8:1::2", "2001:db8:2::2", IPPROTO_TCP, 8940);
	n += tcp(p + n, 40001, 22, 77, false, 0);
	run(skel->progs.mw_xdp_ingress, p, n, NULL);
	e = ev_of(MW_EV_PTB_RX);
	CHECK("xdp-ptb6-event", e != NULL, "no event");
	if (!e)
		return;
	inet_ntop(AF_INET6, e->flow.daddr, a, sizeof(a));
	CHECK("xdp-ptb6-fields", e->mtu == 1280 && e->family == 6 && !strcmp(a, "2001:db8:2::2") &&
	      e->flow.dport == 22 && e->seq == 77 && e->size == 8980, "mtu %u dst %s size %u",
	      e->mtu, a, e->size);
}

/* The same PTB behind a hop-by-hop options header. */
static void test_ptb6_ext(void)
{
	uint8_t p[256] = {};
	size_t n = eth(p, ETH_P_IPV6);
	const struct mw_event *e;

	n += ip6(p + n, "2001:db8:1::1", "2001:db8:1::2", 0 /* hop-by-hop */, 8 + 8 + 40 + 20);
	p[n] = 58;	/* next: ICMPv6 */
	p[n + 1] = 0;	/* 8 bytes */
	p[n + 2] = 1;	/* PadN */
	p[n + 3] = 4;
	n += 8;
	n += icmp6_ptb(p + n, 1400);
	n += ip6(p + n, "2001:db8:1::2", "2001:db8:2::2", IPPROTO_TCP, 8940);
	n += tcp(p + n, 40001, 22, 77, false, 0);
	run(skel->progs.mw_xdp_ingress, p, n, NULL);
	e = ev_of(MW_EV_PTB_RX);
	CHECK("xdp-ptb6-behind-hop-by-hop", e && e->mtu == 1400 && e->flow.dport == 22, "%s",
	      e ? "fields" : "no event");
}

/* Forget the SYN-ACKs seen (one event a second per server): each check starts afresh. */
/*
 * SYNs and SYN-ACKs make no event, at XDP or tc ingress: the connection's ESTABLISHED says
 * what a SYN-ACK would (the server answers), read from the socket.
 */
static void test_syn_mss(void)
{
	uint8_t p[256] = {};
	size_t n = eth(p, ETH_P_IP);
	uint8_t *t;

	n += ip4(p + n, "198.51.100.2", "192.0.2.2", IPPROTO_TCP, 20 + 28, true);
	t = p + n;
	n += tcp(p + n, 443, 40000, 1, true, 8960);
	run(skel->progs.mw_xdp_ingress, p, n, NULL);
	CHECK("xdp-syn-no-event", nev == 0, "%d events", nev);
	tcp_ack(t, 0);
	run(skel->progs.mw_xdp_ingress, p, n, NULL);
	CHECK("xdp-synack-no-event", nev == 0, "%d events", nev);
	run(skel->progs.mw_tc_ingress, p, n, NULL);
	CHECK("tc-ingress-synack-no-event", nev == 0, "%d events", nev);
}

static void test_gso(void)
{
	uint8_t p[4096] = {};
	struct __sk_buff ctx = {};
	size_t n = eth(p, ETH_P_IP);
	const struct mw_event *e;

	n += ip4(p + n, "192.0.2.2", "198.51.100.9", IPPROTO_TCP, 20 + 20 + 2896, true);
	n += tcp(p + n, 40002, 5201, 1, false, 0);
	n += 2896;
	ctx.gso_size = 1448;
	ctx.gso_segs = 2;
	CHECK("tc-gso-unspec", run(skel->progs.mw_tc_egress, p, n, &ctx) == -1,
	      "verdict not TC_ACT_UNSPEC: programs after ours would not run");
	e = ev_of(MW_EV_DF_MAX);
	CHECK("tc-gso-segment-size", e && e->size == 20 + 20 + 1448, "size %u (skb len %zu)",
	      e ? e->size : 0, n);
	/* Same size again: nothing changed, no event. */
	run(skel->progs.mw_tc_egress, p, n, &ctx);
	CHECK("tc-no-event-when-unchanged", nev == 0, "%d events", nev);
}

static void test_ipv6_and_nondf(void)
{
	uint8_t p[2048] = {};
	size_t n = eth(p, ETH_P_IPV6);
	const struct mw_event *e;

	n += ip6(p + n, "2001:db8:1::2", "2001:db8:2::7", IPPROTO_TCP, 20 + 1400);
	n += tcp(p + n, 40003, 443, 1, false, 0);
	n += 1400;
	run(skel->progs.mw_tc_egress, p, n, NULL);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("tc-ipv6-size", e && e->family == 6 && e->size == 1460, "%s %u",
	      e ? "size" : "no event", e ? e->size : 0);
	/* Sizes every path carries (IPv6: 1280) keep no destination: no event, no entry. */
	memset(p, 0, sizeof(p));
	n = eth(p, ETH_P_IPV6);
	n += ip6(p + n, "2001:db8:1::2", "2001:db8:2::8", IPPROTO_TCP, 20 + 1200);
	n += tcp(p + n, 40003, 443, 1, false, 0);
	n += 1200;
	run(skel->progs.mw_tc_egress, p, n, NULL);
	CHECK("tc-ipv6-1280-fits-no-event", nev == 0, "%d events", nev);

	/* tun/WireGuard egress: no link-layer header */
	memset(p, 0, sizeof(p));
	n = ip4(p, "192.0.2.2", "203.0.113.77", IPPROTO_UDP, 1228, true);
	n += 1208;
	run(skel->progs.mw_tc_egress_l3, p, n, NULL);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("tc-egress-l3-size", e && e->size == 1228 && e->family == 4, "%s %u",
	      e ? "size" : "no event", e ? e->size : 0);

	memset(p, 0, sizeof(p));
	n = eth(p, ETH_P_IP);
	n += ip4(p + n, "192.0.2.2", "198.51.100.10", IPPROTO_UDP, 1400, false);
	n += 1380;
	run(skel->progs.mw_tc_egress, p, n, NULL);
	CHECK("tc-non-df-ignored", nev == 0, "%d events", nev);
}

/* A tracked flow (as inet_sock_set_state creates it) and a segment of it leaving. */
static void track(uint16_t lport, uint32_t next_out)
{
	struct mw_flow_key k = {};
	struct mw_flow_val v = {};

	k.netns = SELF_NS;
	k.family = 4;
	inet_pton(AF_INET, "192.0.2.2", k.laddr);
	inet_pton(AF_INET, "198.51.100.2", k.raddr);
	k.lport = lport;
	k.rport = 443;
	v.d[MW_DIR_OUT].next_seq = v.d[MW_DIR_OUT].start_seq = next_out;
	v.d[MW_DIR_IN].next_seq = v.d[MW_DIR_IN].start_seq = 1;
	v.attn = 1;
	bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &k, &v, BPF_ANY);
	/* ... and counts its ports in both pre-filters, as on_state does. */
	uint32_t slot = MW_BLOOM_SLOT(k.lport, k.rport), cnt = 0;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.flow_bloom), &slot, &cnt);
	cnt++;
	bpf_map_update_elem(bpf_map__fd(skel->maps.flow_bloom), &slot, &cnt, BPF_ANY);
	cnt = 0;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.flow_attn), &slot, &cnt);
	cnt++;
	bpf_map_update_elem(bpf_map__fd(skel->maps.flow_attn), &slot, &cnt, BPF_ANY);
}

static int seg(uint16_t lport, uint32_t seq, const void *pl, size_t plen)
{
	uint8_t p[2048] = {};
	size_t n = eth(p, ETH_P_IP);

	n += ip4(p + n, "192.0.2.2", "198.51.100.2", IPPROTO_TCP, 40 + plen, true);
	n += tcp(p + n, lport, 443, seq, false, 0);
	memcpy(p + n, pl, plen);
	return run(skel->progs.mw_tc_egress, p, n + plen, NULL);
}

static void test_handshakes(void)
{
	uint8_t ch[300] = { 22, 3, 1, 0, 200, 1 /* ClientHello */ };
	uint8_t two[64] = { 20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 20, 0 };
	uint8_t ssh[128];
	const char *ident = "SSH-2.0-OpenSSH_9.2p1 Debian\r\n";
	size_t il = strlen(ident);
	const struct mw_event *e;
	int hs;

	track(41000, 1000);
	seg(41000, 1000, ch, 205);
	e = ev_of(MW_EV_HS);
	CHECK("tls-client-hello", e && e->aux == MW_HS_TLS_CLIENT_HELLO && e->aux2 == MW_APP_TLS &&
	      e->dir == MW_DIR_OUT, "%s step %u", e ? "event" : "no event", e ? e->aux : 0);
	/* CCS and application data in one segment: one event with both steps, then encrypted */
	seg(41000, 1205, two, 6 + 25);
	e = ev_of(MW_EV_HS);
	CHECK("tls-two-records-one-event", count_of(MW_EV_HS) == 1 && e &&
	      e->aux == (MW_HS_TLS_CCS | MW_HS_TLS_APPDATA << 16) && e->mtu == 0 && e->size == 31,
	      "%d events, aux %#x mtu %u size %u", count_of(MW_EV_HS), e ? e->aux : 0,
	      e ? e->mtu : 0, e ? e->size : 0);
	seg(41000, 1236, ch, 205);
	CHECK("tls-stops-after-appdata", count_of(MW_EV_HS) == 0, "%d events",
	      count_of(MW_EV_HS));

	/* a flow whose first record starts at 1000: a segment at 1100 starts mid-record */
	track(41006, 1000);
	seg(41006, 1100, ch, 205);
	CHECK("tls-mid-record-ignored", count_of(MW_EV_HS) == 0, "%d events", count_of(MW_EV_HS));
	/* the same bytes again: a resend, reported as such and never parsed twice */
	seg(41000, 1000, ch, 205);
	CHECK("tc-resend-event", count_of(MW_EV_RESEND) == 1 && count_of(MW_EV_HS) == 0 &&
	      ev_of(MW_EV_RESEND)->seq == 1000 && ev_of(MW_EV_RESEND)->size == 245, "%d resends",
	      count_of(MW_EV_RESEND));
	seg(41000, 1000, ch, 205);
	CHECK("tc-resend-counts", ev_of(MW_EV_RESEND) && ev_of(MW_EV_RESEND)->aux == 2, "aux %u",
	      ev_of(MW_EV_RESEND) ? ev_of(MW_EV_RESEND)->aux : 0);

	/* truncated record header */
	track(41001, 1000);
	CHECK("tls-truncated-no-crash", seg(41001, 1000, ch, 3) == -1 && count_of(MW_EV_HS) == 0,
	      "%d events", count_of(MW_EV_HS));

	/* not TLS on port 443 */
	track(41002, 1000);
	seg(41002, 1000, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	seg(41002, 1027, ch, 205);
	CHECK("non-tls-on-443", count_of(MW_EV_HS) == 0, "%d events", count_of(MW_EV_HS));

	/* absurd TLS length */
	track(41003, 1000);
	{
		uint8_t bad[16] = { 22, 3, 3, 0xff, 0xff, 1 };

		seg(41003, 1000, bad, 16);
		CHECK("tls-absurd-length", count_of(MW_EV_HS) == 0, "%d events",
		      count_of(MW_EV_HS));
	}

	/* SSH: identification line and KEXINIT in one segment */
	track(41004, 5000);
	memcpy(ssh, ident, il);
	memset(ssh + il, 0, sizeof(ssh) - il);
	ssh[il + 3] = 60;	/* packet_length 60 */
	ssh[il + 4] = 4;	/* padding */
	ssh[il + 5] = 20;	/* SSH_MSG_KEXINIT */
	seg(41004, 5000, ssh, il + 64);
	hs = count_of(MW_EV_HS);
	CHECK("ssh-ident-and-kexinit", hs == 2 && nth_of(MW_EV_HS, 0)->aux == MW_HS_SSH_IDENT &&
	      nth_of(MW_EV_HS, 1)->aux == MW_HS_SSH_KEXINIT &&
	      nth_of(MW_EV_HS, 1)->aux2 == MW_APP_SSH, "%d events", hs);
	{
		uint8_t kex[64] = { 0, 0, 0, 40, 6, 30 };

		seg(41004, 5000 + il + 64, kex, 44);
		e = ev_of(MW_EV_HS);
		CHECK("ssh-kex-ecdh-init", e && e->aux == MW_HS_SSH_KEX_INIT, "%s",
		      e ? "wrong step" : "no event");
	}
	/* SSH with an absurd packet length after the ident */
	track(41005, 1);
	memcpy(ssh, ident, il);
	ssh[il] = 0xff;
	ssh[il + 1] = 0xff;
	seg(41005, 1, ssh, il + 8);
	CHECK("ssh-absurd-length", count_of(MW_EV_HS) == 1, "%d events", count_of(MW_EV_HS));
	/* the peer acknowledges 100 bytes of our handshake data: progress, said once */
	track(41007, 5000);
	{
		uint8_t a[128] = {};
		size_t n = eth(a, ETH_P_IP);
		uint8_t *t;

		n += ip4(a + n, "198.51.100.2", "192.0.2.2", IPPROTO_TCP, 40, true);
		t = a + n;
		n += tcp(a + n, 443, 41007, 1, false, 0);
		tcp_ack(t, 5100);
		run(skel->progs.mw_xdp_ingress, a, n, NULL);
		e = ev_of(MW_EV_ACKED);
		CHECK("xdp-ack-progress", e && e->size == 100 && e->flow.sport == 41007, "%s",
		      e ? "wrong fields" : "no event");
		run(skel->progs.mw_xdp_ingress, a, n, NULL);
		CHECK("xdp-dup-ack-no-event", count_of(MW_EV_ACKED) == 0, "%d events",
		      count_of(MW_EV_ACKED));
	}
	/* a segment with payload but no tracked flow: nothing */
	seg(41999, 1, ch, 205);
	CHECK("untracked-flow-no-parse", count_of(MW_EV_HS) == 0, "%d events",
	      count_of(MW_EV_HS));
	/*
	 * The port pre-filter gates the flow lookup: a flow in the map whose ports are not
	 * counted is not looked up (so on_state must count every flow it adds), and counting
	 * them again brings the flow code back.
	 */
	{
		int bfd = bpf_map__fd(skel->maps.flow_bloom);
		uint32_t slot = MW_BLOOM_SLOT(41010, 443), zero = 0, saved = 0;

		track(41010, 1000);
		bpf_map_lookup_elem(bfd, &slot, &saved);
		bpf_map_update_elem(bfd, &slot, &zero, BPF_ANY);
		seg(41010, 1000, ch, 205);
		CHECK("prefilter-zero-skips-flow", nev == 0, "%d events", nev);
		bpf_map_update_elem(bfd, &slot, &saved, BPF_ANY);
		seg(41010, 1000, ch, 205);
		CHECK("prefilter-counted-flow-parsed", count_of(MW_EV_HS) == 1, "%d events",
		      count_of(MW_EV_HS));
	}
}

static void df_out(const char *dst, size_t len)
{
	uint8_t p[2048] = {};
	size_t n = eth(p, ETH_P_IP);

	n += ip4(p + n, "192.0.2.2", dst, IPPROTO_UDP, len, true);
	run(skel->progs.mw_tc_egress, p, n + len - 20, NULL);
}

static uint64_t oversize_total(void)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.stats);
	struct mw_stat_key k, next;
	uint64_t vals[ncpu], total = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.kind == MW_STAT_OVERSIZE_DF && !bpf_map_lookup_elem(fd, &k, vals))
			for (int i = 0; i < ncpu; i++)
				total += vals[i];
	}
	return total;
}

/*
 * The per-CPU destination cache spares repeated sizes the hash, never an event: a larger
 * size still makes DF_MAX, and once user space writes a path MTU (bumping dst_epoch, as
 * session_set_pmtu does) every packet over it is counted again.
 */
/* IPv4 DF packets of 552 bytes or less fit every path Linux learns: no event, no entry. */
static void test_dst_small(void)
{
	const char *dst = "198.51.100.79";
	struct mw_dst_key k = { .ifindex = 1, .family = 4 }, next, *prev = NULL;
	int fd = bpf_map__fd(skel->maps.dsts);
	bool found = false;
	const struct mw_event *e;

	inet_pton(AF_INET, dst, k.daddr);
	int n1;

	df_out(dst, MW_DF_MIN4);
	n1 = nev;
	df_out(dst, 60);
	CHECK("dst-small-no-event", n1 == 0 && nev == 0, "%d, %d events", n1, nev);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		found |= k.family == 4 && !memcmp(k.daddr + 0, (uint8_t[]){ 198, 51, 100, 79 }, 4);
	}
	CHECK("dst-small-no-entry", !found, "in dsts");
	df_out(dst, MW_DF_MIN4 + 1);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("dst-first-larger-event", e && e->size == MW_DF_MIN4 + 1, "%s",
	      e ? "size" : "no event");
}

static void test_dst_cache(void)
{
	const char *dst = "198.51.100.77";
	struct mw_dst_key k, next;
	struct mw_dst_val v;
	int fd = bpf_map__fd(skel->maps.dsts);
	void *prev = NULL;
	const struct mw_event *e;
	uint8_t a[4];
	bool found = false;

	inet_pton(AF_INET, dst, a);
	df_out(dst, 1200);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("dstc-first", e && e->size == 1200, "%s", e ? "size" : "no event");
	df_out(dst, 1200);
	CHECK("dstc-same-size-quiet", nev == 0, "%d events", nev);
	df_out(dst, 1300);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("dstc-larger-seen", e && e->size == 1300, "%s", e ? "size" : "no event");
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!memcmp(k.daddr, a, 4) && !bpf_map_lookup_elem(fd, &k, &v)) {
			found = true;
			break;
		}
	}
	CHECK("dstc-in-map", found && v.max_df == 1300, "%s", found ? "max" : "not found");
	if (!found)
		return;
	v.pmtu = 1250;
	v.over_seen = 0;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	__atomic_add_fetch(&skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
	df_out(dst, 1300);
	e = ev_of(MW_EV_DF_OVER);
	CHECK("dstc-epoch-over", e && e->size == 1300 && e->mtu == 1250, "%s",
	      e ? "fields" : "no event");
	df_out(dst, 1300);
	df_out(dst, 1200);
	CHECK("dstc-over-counted", oversize_total() == 2 && nev == 0, "%llu counted, %d events",
	      (unsigned long long)oversize_total(), nev);
}

/*
 * A destination with a finding lives in dsts_keep (session_set_pmtu moves it there): tc
 * egress takes its path MTU from there, not from a fresh dsts entry, once dst_kept says the
 * map holds any. Without dst_kept the map is not looked at (healthy traffic pays nothing).
 */
static void test_dst_keep(void)
{
	const char *dst = "198.51.100.78";
	int kfd = bpf_map__fd(skel->maps.dsts_keep);
	struct mw_dst_key k = { .ifindex = 1, .family = 4 };
	struct mw_dst_val v = { .pmtu = 1250 };
	const struct mw_event *e;

	inet_pton(AF_INET, dst, k.daddr);
	CHECK("dstk-put", !bpf_map_update_elem(kfd, &k, &v, BPF_ANY), "%s", strerror(errno));
	df_out(dst, 1300);
	e = ev_of(MW_EV_DF_MAX);
	CHECK("dstk-unused-without-kept", e && e->size == 1300 && !e->mtu, "%s",
	      e ? "fields" : "no event");
	__atomic_add_fetch(&skel->bss->dst_kept, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
	df_out(dst, 1300);
	e = ev_of(MW_EV_DF_OVER);
	CHECK("dstk-over-kept", e && e->size == 1300 && e->mtu == 1250, "%s",
	      e ? "fields" : "no event");
	df_out(dst, 1400);
	bpf_map_lookup_elem(kfd, &k, &v);
	CHECK("dstk-updated-in-place", v.max_df == 1400, "max_df %u", v.max_df);
	bpf_map_delete_elem(kfd, &k);
	skel->bss->dst_kept = 0;
	__atomic_add_fetch(&skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
}

/* Only the black hole's finding (198.51.100.78) still stands. */
static bool standing_78(uint8_t family, const uint8_t *dst, void *ctx)
{
	return dst[0] == 198 && dst[1] == 51 && dst[2] == 100 && dst[3] == 78;
}

/*
 * dsts_keep full of learned (healthy) paths: a black hole still gets a slot, a learned one
 * gives its own back to dsts (path MTU kept); a finding that no longer stands leaves it too.
 */
static void test_dst_keep_room(void)
{
	struct mw_session s = { .skel = skel };
	int kfd = bpf_map__fd(skel->maps.dsts_keep), fd = bpf_map__fd(skel->maps.dsts);
	struct mw_dst_key k = { .ifindex = 1, .family = 4 }, l = k;
	struct mw_dst_val v = {};
	uint8_t a[4] = { 198, 18 };
	int n = 0, released;

	for (int i = 0; i < MW_DSTS_KEEP_N; i++) {
		a[2] = i >> 8;
		a[3] = i & 0xff;
		session_set_pmtu(&s, 1, 4, a, 1400, false);
	}
	for (struct mw_dst_key *p = NULL, nx; !bpf_map_get_next_key(kfd, p, &nx); p = &l, n++)
		l = nx;
	CHECK("dstk-full-of-learned", n == MW_DSTS_KEEP_N && (int)skel->bss->dst_kept == MW_DSTS_KEEP_N,
	      "%d entries, dst_kept %u", n, skel->bss->dst_kept);
	inet_pton(AF_INET, "198.51.100.78", k.daddr);
	session_set_pmtu(&s, 1, 4, k.daddr, 1280, true);
	CHECK("dstk-alarm-takes-a-slot", !bpf_map_lookup_elem(kfd, &k, &v) && v.pmtu == 1280 &&
	      v.kept == MW_DST_KEEP_ALARM && (int)skel->bss->dst_kept == MW_DSTS_KEEP_N, "%s, dst_kept %u",
	      strerror(errno), skel->bss->dst_kept);
	/* the learned entry that made room: in dsts, its path MTU with it */
	n = 0;
	for (struct mw_dst_key *p = NULL, nx; !bpf_map_get_next_key(fd, p, &nx); p = &l) {
		l = nx;
		if (l.daddr[0] == 198 && l.daddr[1] == 18 && !bpf_map_lookup_elem(fd, &l, &v) &&
		    v.pmtu == 1400 && !v.kept)
			n++;
	}
	CHECK("dstk-learned-back-in-dsts", n == 1, "%d", n);
	/* another learned path with dsts_keep full: it stays in dsts, takes no alarm's slot */
	a[2] = 0xff;
	a[3] = 0xfe;
	session_set_pmtu(&s, 1, 4, a, 1400, false);
	memset(&l, 0, sizeof(l));
	l.ifindex = 1;
	l.family = 4;
	memcpy(l.daddr, a, 4);
	CHECK("dstk-learned-no-room-stays-in-dsts", bpf_map_lookup_elem(kfd, &l, &v) &&
	      !bpf_map_lookup_elem(fd, &l, &v) && v.pmtu == 1400, "pmtu %u", v.pmtu);
	/* every finding lapsed but the black hole's: only it stays */
	released = 0;
	for (int i = 0; i < 40 && (n = session_keep_sweep(&s, standing_78, NULL)) > 0; i++)
		released += n;
	n = 0;
	for (struct mw_dst_key *p = NULL, nx; !bpf_map_get_next_key(kfd, p, &nx); p = &l, n++)
		l = nx;
	CHECK("dstk-sweep-keeps-standing", n == 1 && !bpf_map_lookup_elem(kfd, &k, &v) &&
	      released == MW_DSTS_KEEP_N - 1 && skel->bss->dst_kept == 1,
	      "%d left, %d released, dst_kept %u", n, released, skel->bss->dst_kept);
	bpf_map_delete_elem(kfd, &k);
	skel->bss->dst_kept = 0;
	memset(&l, 0, sizeof(l));
	l.ifindex = 1;
	l.family = 4;
	for (int i = 0; i <= 0xffff; i++) {
		a[2] = i >> 8;
		a[3] = i & 0xff;
		memcpy(l.daddr, a, 4);
		bpf_map_delete_elem(fd, &l);
	}
	__atomic_add_fetch(&skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
}

static uint32_t attn_count(uint16_t lport)
{
	uint32_t slot = MW_BLOOM_SLOT(lport, 443), cnt = 0;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.flow_attn), &slot, &cnt);
	return cnt;
}

/* The peer's pure ACK of our bytes up to `ack`, arriving at XDP. */
static void ack_in(uint16_t lport, uint32_t ack)
{
	uint8_t a[128] = {};
	size_t n = eth(a, ETH_P_IP);
	uint8_t *t;

	n += ip4(a + n, "198.51.100.2", "192.0.2.2", IPPROTO_TCP, 40, true);
	t = a + n;
	n += tcp(a + n, 443, lport, 1, false, 0);
	tcp_ack(t, ack);
	run(skel->progs.mw_xdp_ingress, a, n, NULL);
}

/* The peer's segment of `plen` bytes at `seq`, acknowledging ours up to `ack`, at XDP. */
static void seg_in(uint16_t lport, uint32_t seq, uint32_t ack, const void *pl, size_t plen)
{
	uint8_t a[2048] = {};
	size_t n = eth(a, ETH_P_IP);
	uint8_t *t;

	n += ip4(a + n, "198.51.100.2", "192.0.2.2", IPPROTO_TCP, 40 + plen, true);
	t = a + n;
	n += tcp(a + n, 443, lport, seq, false, 0);
	tcp_ack(t, ack);
	memcpy(a + n, pl, plen);
	run(skel->progs.mw_xdp_ingress, a, n + plen, NULL);
}

/*
 * Events the kernel folds: the ACK of a handshake's first flight proves its size too (one
 * ACKED carrying the DELIVERED), and the peer's first flight is a new largest segment too
 * (one HS carrying the SEG_MAX). When only one thing happens, its own event goes out.
 */
static void test_folding(void)
{
	uint8_t ch[300] = { 22, 3, 1, 0, 200, 1 /* ClientHello */ };
	uint8_t sh[400] = { 22, 3, 3, 0, 200, 2 /* ServerHello */ };
	uint8_t mid[600] = { 0 };
	const struct mw_event *e;

	track(41040, 5000);
	seg(41040, 5000, ch, 205);
	ack_in(41040, 5205);
	e = ev_of(MW_EV_ACKED);
	CHECK("acked-carries-delivered", e && e->size == 205 && e->mtu == 245 &&
	      e->seq == 5205 && count_of(MW_EV_DELIVERED) == 0, "%s: size %u mtu %u seq %u, "
	      "%d DELIVERED", e ? "fields" : "no ACKED", e ? e->size : 0, e ? e->mtu : 0,
	      e ? e->seq : 0, count_of(MW_EV_DELIVERED));
	seg_in(41040, 1, 5205, sh, 205);
	e = ev_of(MW_EV_HS);
	CHECK("hs-carries-seg-max", e && e->aux == MW_HS_TLS_SERVER_HELLO && e->seq == 245 &&
	      e->dir == MW_DIR_IN && count_of(MW_EV_SEG_MAX) == 0, "%s: step %u seq %u, %d SEG_MAX",
	      e ? "fields" : "no HS", e ? e->aux : 0, e ? e->seq : 0, count_of(MW_EV_SEG_MAX));
	/* Larger, but not at a record boundary: no HS event, so SEG_MAX goes out alone. */
	seg_in(41040, 1000, 5205, mid, 560);
	e = ev_of(MW_EV_SEG_MAX);
	CHECK("seg-max-alone", e && e->size == 600 && count_of(MW_EV_HS) == 0, "%s: size %u",
	      e ? "fields" : "no SEG_MAX", e ? e->size : 0);
	/* A record at the boundary, but no larger than before: HS without a size. */
	seg_in(41040, 206, 5205, sh, 205);
	e = ev_of(MW_EV_HS);
	CHECK("hs-without-seg-max", e && e->seq == 0 && count_of(MW_EV_SEG_MAX) == 0, "%s: seq %u",
	      e ? "fields" : "no HS", e ? e->seq : 0);

	/*
	 * The server's first flight acknowledges the ClientHello: one HS event carries the
	 * ACKED (and the DELIVERED that ACKED carries) in its peer bytes, no ACKED of its own.
	 */
	struct mw_hs_acked a;

	track(41041, 5000);
	seg(41041, 5000, ch, 205);
	seg_in(41041, 1, 5205, sh, 205);
	e = ev_of(MW_EV_HS);
	if (e)
		memcpy(&a, e->peer, sizeof(a));
	CHECK("hs-carries-acked", e && a.acked == 205 && a.sent == 205 && a.dsize == 245 &&
	      a.dseq == 5205 && e->seq == 245 && count_of(MW_EV_ACKED) == 0 &&
	      count_of(MW_EV_DELIVERED) == 0 && nev == 1, "%s: acked %u sent %u delivered %u "
	      "at %u, %d events", e ? "fields" : "no HS", e ? a.acked : 0, e ? a.sent : 0,
	      e ? a.dsize : 0, e ? a.dseq : 0, nev);
	/* More of ours acknowledged by a segment that makes no HS event: ACKED goes alone. */
	seg(41041, 5205, ch, 205);
	seg_in(41041, 2000, 5410, mid, 100);
	e = ev_of(MW_EV_ACKED);
	CHECK("acked-alone-without-hs", e && e->size == 410 && count_of(MW_EV_HS) == 0,
	      "%s: size %u, %d HS", e ? "fields" : "no ACKED", e ? e->size : 0,
	      count_of(MW_EV_HS));
	/* ... and nothing of it lingers for the next HS event (per-CPU hs_fold was taken). */
	seg_in(41041, 206, 5410, sh, 205);
	e = ev_of(MW_EV_HS);
	if (e)
		memcpy(&a, e->peer, sizeof(a));
	CHECK("hs-fold-taken-once", e && a.acked == 0 && count_of(MW_EV_ACKED) == 0,
	      "%s: acked %u", e ? "fields" : "no HS", e ? a.acked : 0);
}

/*
 * Arrivals of a settled flow (handshake over, nothing awaiting an ACK) skip the flow map:
 * the flow leaves flow_attn when ingress finds it settled, and comes back when tc egress
 * sends a larger DF segment or re-sends one, so that its ACK is still seen.
 */
static void test_attention(void)
{
	uint8_t data[1400] = { 'x' };	/* neither TLS nor SSH: the handshake is over at once */
	struct mw_flow_key k = { .netns = SELF_NS, .family = 4, .lport = 41020, .rport = 443 };
	struct mw_flow_val v;
	const struct mw_event *e;
	int fd = bpf_map__fd(skel->maps.flows);

	inet_pton(AF_INET, "192.0.2.2", k.laddr);
	inet_pton(AF_INET, "198.51.100.2", k.raddr);
	track(41020, 1000);
	seg(41020, 1000, data, 1000);
	CHECK("attn-pending-kept", attn_count(41020) == 1, "count %u", attn_count(41020));
	ack_in(41020, 2000);
	e = ev_of(MW_EV_DELIVERED);
	CHECK("attn-ack-delivered", e && e->size == 1040, "%s", e ? "wrong size" : "no event");
	CHECK("attn-settled-leaves", attn_count(41020) == 0 &&
	      !bpf_map_lookup_elem(fd, &k, &v) && v.attn == 0, "count %u", attn_count(41020));
	/* Settled: something pending behind ingress's back is not looked at (no lookup). */
	v.d[MW_DIR_OUT].pend_end = 2500;
	v.d[MW_DIR_OUT].pend_size = 1100;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	ack_in(41020, 2500);
	CHECK("attn-settled-skips", count_of(MW_EV_DELIVERED) == 0, "%d events",
	      count_of(MW_EV_DELIVERED));
	v.d[MW_DIR_OUT].pend_end = 0;
	v.d[MW_DIR_OUT].pend_size = 1040;
	v.d[MW_DIR_OUT].una = 2000;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	/* A larger segment leaves: ingress looks again, and its ACK proves it. */
	seg(41020, 2000, data, 1200);
	CHECK("attn-larger-enters", attn_count(41020) == 1, "count %u", attn_count(41020));
	ack_in(41020, 3200);
	e = ev_of(MW_EV_DELIVERED);
	CHECK("attn-larger-delivered", e && e->size == 1240 && attn_count(41020) == 0, "%s %u",
	      e ? "size" : "no event", e ? e->size : 0);
	/* A re-send: ingress looks until its ACK says it got through. */
	seg(41020, 3200, data, 100);
	seg(41020, 3200, data, 100);
	CHECK("attn-resend-enters", count_of(MW_EV_RESEND) == 1 && attn_count(41020) == 1,
	      "%d resends, count %u", count_of(MW_EV_RESEND), attn_count(41020));
	ack_in(41020, 3300);
	CHECK("attn-resend-recovered", count_of(MW_EV_RECOVERED) == 1 && attn_count(41020) == 0,
	      "%d events, count %u", count_of(MW_EV_RECOVERED), attn_count(41020));
}

/* A full ring buffer: every event that cannot be reserved is counted, none is lost silently. */
static void test_lost(void)
{
	uint8_t p[256] = {}, data[100] = { 'x' };
	size_t n = eth(p, ETH_P_IP);
	uint32_t key = MW_CNT_EVENTS_LOST;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], lost = 0;
	int got;
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 60000);

	/*
	 * Re-sends of a tracked flow's segment: an event each (SYN-ACKs are one a second per
	 * server, PTBs are aggregated in the kernel, see test_ptb_flood).
	 */
	track(41030, 1000);
	seg(41030, 1000, data, sizeof(data));
	n += ip4(p + n, "192.0.2.2", "198.51.100.2", IPPROTO_TCP, 40 + sizeof(data), true);
	n += tcp(p + n, 41030, 443, 1000, false, 0);
	memcpy(p + n, data, sizeof(data));
	n += sizeof(data);
	o.data_in = p;
	o.data_size_in = n;
	nev = 0;
	ring_buffer__consume(rb);
	/* 60000 re-sends and nobody reading: the 1 MiB ring holds about 8000 events. */
	bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mw_tc_egress), &o);
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, vals))
		for (int i = 0; i < ncpu; i++)
			lost += vals[i];
	nev = 0;
	got = ring_buffer__consume(rb);
	CHECK("ringbuf-full-counts-lost", lost > 0 && lost + got == 60000 &&
	      count_of(MW_EV_RESEND) == nev, "lost %llu + read %d", (unsigned long long)lost, got);
}

/*
 * A PTB flood: identical PTBs cost a counter, an event goes out for the 1st, 2nd, 4th, ...;
 * forged ones of new kinds are limited per second and CPU; the exporter's count stays exact.
 */
static void test_ptb_flood(void)
{
	uint8_t p[256] = {};
	size_t n = eth(p, ETH_P_IP), mtu_at;
	struct mw_stat_key sk = { .kind = MW_STAT_PTB_RX, .family = 4, .netns = SELF_NS };
	uint32_t key = MW_CNT_PTB_SUPPRESSED;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], total = 0, supp = 0;
	int got;
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1000);

	ptbs_reset();
	n += ip4(p + n, "192.0.2.1", "192.0.2.2", IPPROTO_ICMP, 20 + 8 + 20 + 8, false);
	mtu_at = n + 6;
	n += icmp4_ptb(p + n, 1400);
	n += ip4(p + n, "192.0.2.2", "198.51.100.3", IPPROTO_TCP, 1500, true);
	n += 8;
	o.data_in = p;
	o.data_size_in = n;
	nev = 0;
	ring_buffer__consume(rb);
	nev = 0;
	bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mw_xdp_ingress), &o);
	ring_buffer__consume(rb);
	/* 1, 2, 4, ..., 512: ten events for a thousand PTBs, the last one saying 512 */
	got = count_of(MW_EV_PTB_RX);
	CHECK("ptb-flood-aggregated", got == 10 && nth_of(MW_EV_PTB_RX, 9) &&
	      nth_of(MW_EV_PTB_RX, 9)->aux == 512, "%d events", got);
	{
		struct mw_stat_key k, next;
		int fd = bpf_map__fd(skel->maps.stats);
		void *prev = NULL;

		/* every PTB_RX counter, whatever interface the test run says it came in on */
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			k = next;
			prev = &k;
			if (k.kind != sk.kind || k.family != 4 ||
			    bpf_map_lookup_elem(fd, &k, vals))
				continue;
			for (int i = 0; i < ncpu; i++)
				total += vals[i];
		}
	}
	CHECK("ptb-flood-exact-count", total >= 1000, "stats say %llu", (unsigned long long)total);
	/* 1000 kinds in a burst (a new MTU each): at most the budget makes events */
	nev = 0;
	o.repeat = 1;
	for (int i = 0; i < 1000; i++) {
		p[mtu_at] = (1000 + i) >> 8;
		p[mtu_at + 1] = (1000 + i) & 0xff;
		bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mw_xdp_ingress), &o);
		ring_buffer__consume(rb);
		nev = 0;
	}
	ring_buffer__consume(rb);
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, vals))
		for (int i = 0; i < ncpu; i++)
			supp += vals[i];
	CHECK("ptb-forged-kinds-budgeted", supp >= 1000 - 2 * 256 - 10, "suppressed %llu",
	      (unsigned long long)supp);
	ptbs_reset();
}

int main(void)
{
	int err;

	libbpf_set_print(NULL);
	skel = mtuwatch_bpf__open();
	if (!skel) {
		fail("bpf-open", "%s", strerror(errno));
		return 0;
	}
	skel->rodata->targ_self_netns = SELF_NS;
	skel->rodata->targ_netns = SELF_NS;
	/*
	 * The arrivals filter on, socket storage off: BPF_PROG_TEST_RUN has no socket, so tc
	 * egress takes its flow-map path here (the one kernels without tp_btf use), and the
	 * filter's own rules are what test_attention checks. Both together: the e2e tests.
	 */
	skel->rodata->targ_attn = 1;
	err = mtuwatch_bpf__load(skel);
	CHECK("bpf-load", !err, "%s -- need root and a BTF kernel", strerror(-err));
	if (err)
		return 0;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_ev, NULL, NULL);
	test_ptb4();
	test_ptb6();
	test_ptb6_ext();
	test_syn_mss();
	test_gso();
	test_ipv6_and_nondf();
	test_handshakes();
	test_attention();
	test_folding();
	test_dst_small();
	test_dst_cache();
	test_dst_keep();
	test_dst_keep_room();
	test_ptb_flood();
	test_lost();
	ring_buffer__free(rb);
	mtuwatch_bpf__destroy(skel);
	return 0;
}
