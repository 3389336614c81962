/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Types shared by the kernel programs and the user side. Data only: no functions.
 *
 * Every event that crosses the ring buffer, every event the user side synthesises (interfaces,
 * route MTUs read back over rtnetlink, clock ticks) and every event stored by `record` is one
 * struct mw_event. One decoder feeds one diagnosis core, so live, report and export agree.
 * The layout is part of the record file format: append fields, never reorder them, and bump
 * MW_EVENT_VERSION when the meaning of a field changes.
 */
#ifndef MTUWATCH_H
#define MTUWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MW_EVENT_VERSION 1
#define MW_IFNAME_LEN 16

/* Event types. Values are stored in record files: never renumber. */
enum mw_event_type {
	MW_EV_NONE = 0,
	/* kernel */
	MW_EV_DF_MAX = 1,	/* tc egress: new largest DF size to a destination */
	MW_EV_DF_OVER = 2,	/* tc egress: first DF packet over the path MTU we know */
	MW_EV_PTB_RX = 3,	/* XDP: a Packet Too Big arrived */
	MW_EV_PTB_DROP = 4,	/* kfree_skb: a Packet Too Big was dropped on this host */
	MW_EV_PTB_SENT = 5,	/* kfree_skb(PKT_TOO_BIG) / icmp_send: this host is the bottleneck */
	MW_EV_RETRANS = 6,	/* tcp_retransmit_skb */
	MW_EV_SYN_MSS = 7,	/* XDP / tc: MSS option of a SYN or SYN-ACK */
	MW_EV_STATE = 8,	/* inet_sock_set_state */
	MW_EV_HS = 9,		/* a TLS / SSH handshake message was seen on a flow */
	MW_EV_SEG_MAX = 10,	/* new largest segment received on a tracked flow */
	MW_EV_RESEND = 11,	/* tc egress: a tracked flow sent a sequence range again */
	MW_EV_ACKED = 12,	/* the peer acknowledged more of a tracked flow's handshake data */
	MW_EV_RECOVERED = 13,	/* the peer acknowledged a range a tracked flow had re-sent */
	MW_EV_DELIVERED = 14,	/* the peer acknowledged a new largest DF segment of a flow */
	MW_EV_ENCAP_DROP = 15,	/* icmp_send: an encapsulated (VXLAN/Geneve) packet too big */
	/* user side, synthesised into the same stream */
	MW_EV_IFACE = 64,	/* a watched interface: ifindex, mtu, name */
	MW_EV_ROUTE = 65,	/* route MTU to a destination read back over rtnetlink */
	MW_EV_TICK = 66,	/* clock tick: lets stall timers fire identically on replay */
	MW_EV_ATTACH = 67,	/* a program attached (aux = 1) or degraded (aux = 0); name in ifname */
	MW_EV_LOST = 68,	/* events the kernel could not deliver (aux = running total) */
	MW_EV_SYSCTL = 69,	/* a sysctl that changes how PMTUD works: aux = enum mw_sysctl */
	MW_EV_LINK = 70,	/* what lies under a watched interface: overlay, veth peer */
	MW_EV_SNMP = 71,	/* a namespace counter that moved: aux = enum mw_snmp */
	MW_EV_PROBE = 72,	/* a confirmation probe's result (report replays it) */
	MW_EV_TYPE_MAX
};

/* Directions of a flow event, seen from the host mtuwatch runs on. */
enum mw_dir {
	MW_DIR_OUT = 0,
	MW_DIR_IN = 1,
};
/* Or'ed into mw_event.dir of RESEND / DELIVERED: the segment left without DF. */
#define MW_DIR_F_NODF	0x2
/* Or'ed into mw_event.dir of PTB_RX: the driver's exact count, not an arrival (no read-back). */
#define MW_DIR_F_SYNC	0x4
/*
 * Or'ed into mw_event.dir of any flow event of another namespace's flow seen at the node's end
 * of its veth (--all-netns): ifindex is the watching namespace's interface, not one of the
 * flow's own namespace. (Kernel side: flow key pad[0] == MW_KEY_NODE_IF, set after lookups.)
 */
#define MW_DIR_F_NODE_IF	0x8
#define MW_KEY_NODE_IF		1
/*
 * Or'ed into mw_event.dir of STATE ESTABLISHED: a connection we opened, not tracked (yet,
 * MW_SKC_LAZY): a sign of life of its destination and its egress, no flow. If it earns a flow,
 * tc egress sends its ESTABLISHED again without the flag.
 */
#define MW_DIR_F_UNTRACKED	0x10

/* MW_EV_IFACE aux: the device was deleted (the core forgets it unless a finding names it). */
#define MW_IFACE_GONE	1

/* MW_EV_SYSCTL aux: which setting; size = its value; ifindex where it is per interface. */
enum mw_sysctl {
	MW_SYS_TCP_MTU_PROBING = 1,
	MW_SYS_IP_NO_PMTU_DISC = 2,
	MW_SYS_RP_FILTER = 3,		/* effective value: max(all, interface) */
};

/* MW_EV_SNMP aux: counters of the namespace that tell why a Packet Too Big was ignored. */
enum mw_snmp {
	MW_SNMP_OUT_OF_WINDOW_ICMPS = 1,	/* TcpExt OutOfWindowIcmps: quoted seq not in flight */
	MW_SNMP_ICMP_IN_ERRORS = 2,		/* Icmp InErrors: among others, no socket matched */
	MW_SNMP_ICMP6_IN_ERRORS = 3,		/* Icmp6 InErrors */
};

/*
 * MW_EV_ROUTE aux bits. A read lists the kernel's PMTU exceptions (a dump of cloned routes,
 * which creates none) and the configured routes; recordings older than that hold a route
 * lookup (no MW_ROUTE_LISTED), whose mtu was judged against the interface's.
 */
enum mw_route_flags {
	MW_ROUTE_LOCKED = 1,	/* the route's MTU is locked (RTAX_LOCK) */
	MW_ROUTE_LEARNED = 2,	/* mtu is an exception the kernel learned (a cached route) */
	MW_ROUTE_IN_NS = 4,	/* read in the event's namespace (else ours, towards its dst) */
	MW_ROUTE_LISTED = 8,	/* exceptions listed: no MW_ROUTE_LEARNED means none for dst */
	MW_ROUTE_SWEPT = 16,	/* every exception listed, after new kinds of PTB went over the
				 * kernel's event budget: dst may be a path the core never saw */
};

/* MW_EV_PROBE aux2: how the destination was probed (the method that measured, or showed life). */
enum mw_probe_method {
	MW_PROBE_NONE = 0,	/* nothing answered, or nothing was sent (MW_PROBE_F_SKIPPED) */
	MW_PROBE_ICMP = 1,	/* ICMP echo with DF */
	MW_PROBE_UDP = 2,	/* UDP with DF, answered by port unreachable */
	MW_PROBE_TCP_SYN = 3,	/* a SYN to the flow's port: SYN-ACK or RST, a sign of life */
};

/* MW_EV_PROBE dir: what the probe found. */
#define MW_PROBE_F_ALIVE	0x1	/* the destination answered something */
#define MW_PROBE_F_EXACT	0x2	/* mtu is the path MTU: mtu answered, mtu + 1 vanished */
#define MW_PROBE_F_PTB		0x4	/* a PTB reached the probe socket: peer = sender */
#define MW_PROBE_F_SKIPPED	0x8	/* not probed (budget, address, no socket) */
#define MW_PROBE_F_UNREACH	0x10	/* an ICMP unreachable came back: peer = its sender */

/* MW_EV_LINK aux: the kind of device that changes what fits on the wire. */
enum mw_link_kind {
	MW_LINK_OTHER = 0,
	MW_LINK_VETH = 1,	/* size = the peer's MTU (in whatever namespace) */
	MW_LINK_OVERLAY = 2,	/* a tunnel: size = lower device MTU, aux2 = overhead */
	MW_LINK_BRIDGE_PORT = 3,	/* size = the smallest MTU among the bridge's ports */
};

/* Protocols recognised from a flow's first payload bytes. */
enum mw_app {
	MW_APP_UNKNOWN = 0,
	MW_APP_TLS = 1,
	MW_APP_SSH = 2,
	MW_APP_OTHER = 3,	/* payload seen, neither TLS nor SSH: stop looking */
};

/*
 * Handshake steps (MW_EV_HS aux). TLS values are the handshake message types of RFC 8446
 * plus MW_HS_TLS_CCS / MW_HS_TLS_APPDATA for the record types that end the clear-text
 * part; SSH values are offset by 0x100 from the SSH message numbers.
 */
#define MW_HS_TLS_CLIENT_HELLO	1
#define MW_HS_TLS_SERVER_HELLO	2
#define MW_HS_TLS_CERTIFICATE	11
#define MW_HS_TLS_SERVER_KEX	12
#define MW_HS_TLS_SERVER_DONE	14
#define MW_HS_TLS_CLIENT_KEX	16
#define MW_HS_TLS_FINISHED	20
#define MW_HS_TLS_CCS		0x80	/* ChangeCipherSpec record */
#define MW_HS_TLS_APPDATA	0x81	/* first application_data record: encrypted from here */
#define MW_HS_SSH_IDENT		0x100	/* "SSH-2.0-..." identification line */
#define MW_HS_SSH_BASE		0x100	/* + SSH message number */
#define MW_HS_SSH_KEXINIT	(MW_HS_SSH_BASE + 20)
#define MW_HS_SSH_NEWKEYS	(MW_HS_SSH_BASE + 21)
#define MW_HS_SSH_KEX_INIT	(MW_HS_SSH_BASE + 30)	/* KEX_ECDH_INIT / KEXDH_INIT */
#define MW_HS_SSH_KEX_REPLY	(MW_HS_SSH_BASE + 31)	/* KEX_ECDH_REPLY / KEXDH_REPLY */

/* Addresses are stored in network byte order; IPv4 uses the first 4 bytes. Ports: host order. */
struct mw_flow {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... */
	__u8 pad[2];
};

/*
 * An ACKED folded into the HS event of the same segment (the server's first flight also
 * acknowledges the ClientHello): the HS event's peer bytes hold it, in host order, with the
 * fields ACKED has (acked = size, sent = aux, dsize = mtu, dseq = seq). acked 0: none.
 */
struct mw_hs_acked {
	__u32 acked;
	__u32 sent;
	__u32 dsize;
	__u32 dseq;
};

/*
 * One event. Field use per type:
 *   DF_MAX / DF_OVER: flow.daddr = destination, size = on-wire size, mtu = known path MTU,
 *                     seq = TCP sequence number (TCP only)
 *   PTB_RX / PTB_DROP: peer = PTB sender, mtu = advertised MTU, flow = quoted inner header
 *                      (as the original packet had it), seq = its TCP sequence,
 *                      size = the quoted packet's length, aux = drop reason (PTB_DROP)
 *   PTB_SENT: flow = the packet that was too big, size = its size, mtu = egress MTU,
 *             ifindex = egress interface, aux = 1 when seen at icmp_send (emitted)
 *   RETRANS: flow = local->remote, seq, size = on-wire segment size, mtu = socket's pmtu,
 *            aux = consecutive timeout retransmissions, aux2 = snd_una
 *   RESEND: as RETRANS, seen leaving by tc egress on a tracked flow (the tracepoint then stays
 *           quiet for it); aux = times this seq left again, aux2 = the peer's highest ACK
 *           seen (snd_una as the wire shows it; 0 = none yet), mtu = bytes sent so far (from
 *           the first payload byte, not an MTU). It also sees
 *           sends the stack retries after a local drop, which the tracepoint never reports.
 *   SYN_MSS: flow in the packet's direction, aux = MSS, aux2 = 1 for SYN-ACK, dir; at most
 *            one a second per source address, MSS and interface (a sign of life)
 *   STATE: flow = local->remote, aux = old state, aux2 = new state, peer[0..7] = the
 *          namespace's cookie (u64, host order; 0: unknown, older recordings)
 *   HS: flow = local->remote, dir, aux2 = enum mw_app, size = the records' length; the
 *       MW_HS_* steps of one segment's records, 16 bits each, in order: aux low, aux high,
 *       mtu low, mtu high (0: no more). One step is aux = MW_HS_*, as in older recordings.
 *       seq (dir IN): the segment was also a new largest one received, of seq bytes on the
 *       wire: a SEG_MAX folded in, to be read before the steps (0: none; older recordings);
 *       peer (dir IN): the ACKED of the segment's ACK folded in, as struct mw_hs_acked, to
 *       be read first of all (acked 0: none; older recordings)
 *   SEG_MAX: flow = local->remote, dir (IN since 2026-11; a recording may hold OUT ones),
 *     size = largest on-wire segment so far, aux = mss seen
 *   ACKED: flow = local->remote, size = bytes of ours the peer acknowledged, aux = bytes sent
 *          (both counted from the first payload byte; only until the handshake is over);
 *          mtu / seq: the same ACK proved a new largest DF segment of mtu bytes ending at seq,
 *          a DELIVERED folded in, to be read first (mtu 0: none; older recordings). When the
 *          ACK's segment makes an HS event, that event carries the ACKED instead (HS peer)
 *   RECOVERED: flow = local->remote, seq = the re-sent sequence number now acknowledged,
 *              size = its on-wire size, aux = times it had been re-sent
 *   DELIVERED: flow = local->remote, size = on-wire size of the segment now acknowledged,
 *              seq = its sequence number (DF segments only; one per new largest size)
 *   PTB_RX / PTB_DROP are aggregated in the kernel per (sender, quoted destination, MTU,
 *              drop reason): an event only for the 1st, 2nd, 4th, 8th... of each, carrying
 *              the running count (PTB_RX: aux; PTB_DROP: aux2; 0 in old recordings = 1).
 *              PTB_DROP's direction is in dir (MW_DIR_OUT: dropped on its way out).
 *   ENCAP_DROP: this host could not send an overlay's outer packet (too big, DF): flow = the
 *               inner flow it carried, family = the inner family, ifindex / mtu / ifname =
 *               the lower device, size = outer length, aux = encapsulation overhead, aux2 =
 *               inner packet length; netns = the namespace of the lower device (any)
 *   IFACE: ifindex, mtu, ifname; aux = MW_IFACE_GONE when the device was deleted (0 in
 *          old recordings); ROUTE: flow.daddr, mtu (the exception's when aux has
 *          MW_ROUTE_LEARNED, else the configured route's; 0 = none), ifindex (in the
 *          namespace read), aux = enum mw_route_flags
 *   SYSCTL: aux = enum mw_sysctl, size = value, ifindex (0 = namespace-wide)
 *   LINK: ifindex, ifname = the device, mtu = its MTU, aux = enum mw_link_kind, size = the
 *         lower device's (or veth peer's) MTU, aux2 = encapsulation overhead, seq = lower
 *         ifindex, peer = lower device name (NUL-padded, 16 bytes)
 *   SNMP: aux = enum mw_snmp, size = increase since the last SNMP event, aux2 = total
 *   ATTACH: ifname = program, ifindex (0 = global), aux = attached
 *   PROBE: netns, family, flow.daddr = the destination probed, flow.sport/dport = the suspect
 *          flow's ports (dport: the TCP liveness port), aux2 = enum mw_probe_method, dir =
 *          MW_PROBE_F_*, mtu = largest DF size answered (0: none), size = smallest size
 *          that vanished (0: none), seq = probes sent, peer = PTB / unreachable sender,
 *          aux = that PTB's MTU, ifindex = egress interface
 *   LOST: aux = lost events so far (running total)
 */
struct mw_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u16 type;		/* enum mw_event_type */
	__u8 family;		/* 4 or 6 (copied from flow where it applies) */
	__u8 dir;		/* enum mw_dir */
	__u32 netns;		/* inode number of the event's network namespace */
	__u32 ifindex;
	__u32 size;
	__u32 mtu;
	__u32 aux;
	__u32 aux2;
	__u32 seq;
	__u8 peer[16];
	struct mw_flow flow;
	char ifname[MW_IFNAME_LEN];
};

/*
 * What another network namespace is called, resolved by the user side when its events first
 * show up (user/nsnames.c): its own record in a recording (MW_REC_NSNAME), fed to the core in
 * the event stream's order, so that report names a namespace that is long gone. cookie: the
 * namespace's cookie (SO_NETNS_COOKIE, host order; 0: unknown): two namespaces that got the
 * same inode one after the other differ by it. Strings NUL-padded (bounded by their fields
 * whatever a file says). Append fields, never reorder.
 */
#define MW_NS_NAME_LEN	128
#define MW_POD_LEN	256
#define MW_CONTAINER_LEN 64
struct mw_nsname {
	__u64 ts_ns;		/* CLOCK_MONOTONIC, as events */
	__u32 netns;		/* inode number */
	__u32 flags;		/* 0 */
	__u64 cookie;
	char netns_name[MW_NS_NAME_LEN];	/* /run/netns name, else "pid N (comm)" */
	char pod[MW_POD_LEN];			/* Kubernetes "namespace/name", "" if none */
	char container[MW_CONTAINER_LEN];	/* container name where known */
};

/* Global counters: per-CPU array, summed by user space. */
enum mw_counter {
	MW_CNT_EVENTS_LOST = 0,	/* ring buffer reserve failed */
	MW_CNT_DST_FULL,	/* destination map update failed */
	MW_CNT_FLOW_FULL,	/* flow map update failed */
	MW_CNT_PTB_SUPPRESSED,	/* new kinds of Packet Too Big over the per-second budget: no event */
	MW_CNT_MAX
};

/* Labelled counters for the exporter: per-CPU hash, updated only for packets that matter. */
enum mw_stat_kind {
	MW_STAT_PTB_RX = 1,	/* family */
	MW_STAT_PTB_DROP = 2,	/* family, reason */
	MW_STAT_PTB_SENT = 3,
	MW_STAT_OVERSIZE_DF = 4,
	MW_STAT_LARGE_RETRANS = 5,
};

struct mw_stat_key {
	__u32 ifindex;
	__u32 netns;
	__u16 kind;		/* enum mw_stat_kind */
	__u16 reason;		/* drop reason value (PTB_DROP) */
	__u8 family;
	__u8 pad[3];
};

/* Per destination and egress interface, kept by tc egress. */
struct mw_dst_key {
	__u8 daddr[16];
	__u32 ifindex;
	__u8 family;
	__u8 pad[3];
};

struct mw_dst_val {
	__u32 max_df;		/* largest DF on-wire size sent */
	__u32 pmtu;		/* path MTU user space has learned or bracketed (0 = unknown) */
	__u32 over_seen;	/* packets over pmtu */
	__u32 kept;		/* user space's, in dsts_keep: why (MW_DST_KEEP_*); never read in BPF */
};

/* Why a destination is in dsts_keep: an alarm's is the last to give its slot up. */
enum mw_dst_keep {
	MW_DST_KEEP_LEARNED = 1,	/* a path MTU learned: healthy, first to go */
	MW_DST_KEEP_ALARM = 2,		/* a black hole's bracket */
};

/* A TCP flow, local -> remote, in the namespace that owns it. */
struct mw_flow_key {
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 lport;
	__u16 rport;
	__u32 netns;
	__u8 family;
	__u8 pad[3];
};

struct mw_flow_dir {
	__u32 next_seq;		/* where the next TLS record / SSH packet starts (0 = unknown) */
	__u32 max_seg;		/* largest on-wire segment */
	__u32 snd_max;		/* end of the highest sequence range seen leaving (OUT only) */
	__u32 resend_seq;	/* last sequence number seen leaving again */
	__u32 start_seq;	/* sequence number of the first payload byte */
	__u32 acked;		/* bytes acknowledged by the other side (OUT only) */
	__u32 una;		/* the other side's highest ACK number (OUT only) */
	__u32 resend_size;	/* on-wire size of resend_seq's last re-send */
	__u32 proven;		/* largest DF segment the peer acknowledged (OUT only) */
	__u32 pend_end;		/* end of a larger DF segment awaiting its ACK (0 = none) */
	__u32 pend_size;	/* its on-wire size */
	__u16 mss;		/* advertised MSS */
	__u8 app_steps;		/* handshake messages parsed so far (bounded) */
	__u8 resend_cnt;	/* times resend_seq left again */
};

struct mw_flow_val {
	struct mw_flow_dir d[2];	/* indexed by enum mw_dir */
	__u8 app;			/* enum mw_app */
	__u8 done;			/* handshake over (encrypted or unrecognised): no more parsing */
	__u8 fwd_seen;			/* another namespace's flow, seen at a node's veth end */
	__u8 pad[5];
	__u64 attn;			/* counted in flow_attn: ingress must look (see MW_BLOOM_SLOT) */
};

/*
 * Kernel-only: what tc egress keeps in a local socket's storage for a tracked flow, so that
 * a segment that changes nothing costs no flow lookup. snd_max is kept here only (the flow
 * map's copy is brought up to date whenever the flow is looked up); the rest mirrors the
 * flow map and may only lag behind it, which costs a lookup, never an event.
 */
struct mw_sk_cache {
	__u32 snd_max;		/* end of the highest sequence range seen leaving */
	__u32 max_seg;		/* the flow's largest segment out */
	__u32 pend_size;	/* DF segments up to this size need no new delivery proof */
	__u32 flags;		/* MW_SKC_* */
	/* MW_SKC_LAZY: what ESTABLISHED said, kept for the moment the flow earns its entry */
	__u32 start_out;	/* snd_nxt then: our first payload byte */
	__u32 start_in;		/* rcv_nxt then: the peer's first payload byte */
	__u16 mss_local;	/* advmss */
	__u16 mss_peer;		/* rx_opt.mss_clamp */
	__u32 pad;
};
#define MW_SKC_TRACKED	0x1	/* the flow is in the flow map */
#define MW_SKC_QUIET	0x2	/* its handshake is over (done == 3): nothing to parse */
/*
 * A connection we opened, not tracked yet: it gets its flow entry (and its ESTABLISHED event)
 * from tc egress when it first sends a TLS or SSH opening or a segment some path could refuse
 * (design.md, "Connections that earn a flow"); until then nothing else about it is an event.
 */
#define MW_SKC_LAZY	0x4
#define MW_SKC_PLAIN	0x8	/* LAZY, and its first payload out was neither TLS nor SSH */

/*
 * Kernel-only: a per-CPU direct-mapped cache of destinations whose largest DF size (and path
 * MTU) a packet cannot change, so that most packets skip the destination map's hash. Its
 * entries are valid while their epoch equals dst_epoch, which user space bumps whenever it
 * writes a path MTU into the destination map.
 */
#define MW_DST_CACHE_SLOTS	256
struct mw_dst_cache {
	__u32 daddr[4];
	__u32 ifindex;
	__u32 max;		/* sizes up to this change nothing (0 = empty) */
	__u32 epoch;
	__u32 family;
};

/* Packet Too Big aggregated in the kernel: one entry per kind, counted. */
struct mw_ptb_key {
	__u8 peer[16];		/* the PTB's sender */
	__u8 dst[16];		/* the quoted packet's destination: the path */
	__u32 mtu;
	__u32 netns;
	__u16 reason;		/* 0: arrived (XDP / tc ingress); else the drop reason */
	__u8 family;
	__u8 dir;		/* drops: MW_DIR_OUT when it died on its way out */
};

/*
 * Kernel-only: counting filters over the ports of flows (arrays of counters), so that a
 * packet of a flow that cannot matter costs no hash lookup. flow_bloom counts tracked flows
 * (bumped when a flow enters the flow map, lowered when its delete succeeds): forwarded
 * packets and flows older than this run skip. flow_attn counts the flows whose arrivals
 * need work (attn set: handshake not over, a larger segment awaiting its ACK, a re-send
 * outstanding): the ACKs and data of a settled flow skip. A count never falls below the
 * flows it stands for: collisions and LRU evictions only leave counts too high, which costs
 * a lookup, never a verdict.
 */
#define MW_BLOOM_SLOTS	4096
#define MW_BLOOM_SLOT(lport, rport) \
	(((((__u32)(lport) << 16) | (__u32)(rport)) * 2654435761u) >> 20)

/*
 * The event ring, and the backlog past which the kernel wakes the reader. Below it, events
 * wait for the reader's own poll (every 100 ms): a wake-up per event costs an IPI. 1 MiB
 * holds about 9,000 events and the reader is woken at 1,100: long before the ring could
 * fill. The reader maps the ring twice, so its size is twice its share of our RSS.
 */
#define MW_RB_BYTES		(1 << 20)
#define MW_RB_WAKE_BYTES	(1 << 17)

/* Retransmission sizes at or above this count as "large" for the exporter's counter. */
#define MW_LARGE_SEG 1280

/*
 * DF packets up to these sizes fit every path the kernel can learn (IPv4: net.ipv4.route.
 * min_pmtu's default, 552; IPv6: the minimum MTU): tc egress keeps no destination for them.
 */
#define MW_DF_MIN4 552
#define MW_DF_MIN6 1280

#endif /* MTUWATCH_H */
