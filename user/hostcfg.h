/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A data-only reading of one network namespace's MTU-relevant configuration: links (kind, MTU,
 * lower device and encapsulation overhead of overlays, veth peer MTU across namespaces, bridge
 * ports), routes (mtu, advmss, lock), learned route exceptions, sysctls and the firewall rules
 * that drop Packet Too Big. No output, no policy, no exit(): `doctor` judges it, and `live` asks
 * it for a finding's cause (overlay, veth peer, locked route, strict rp_filter).
 *
 * Usage: struct hc_host *h = calloc(1, sizeof(*h)); hc_read(h) reads the namespace the calling
 * thread is in (setns() first for another one); then the helpers below answer from h.
 */
#ifndef MW_HOSTCFG_H
#define MW_HOSTCFG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include "firewall.h"	/* struct hc_fw_rule: hc_host holds the firewall's findings */

#define HC_MAX_LINKS	256
#define HC_MAX_ROUTES	1024
#define HC_MAX_CACHE	256
#define HC_NAME_LEN	64

enum hc_kind {
	HC_K_OTHER,		/* physical or a kind no overhead applies to */
	HC_K_LOOPBACK,
	HC_K_VETH,
	HC_K_BRIDGE,
	HC_K_VLAN,
	HC_K_VXLAN,
	HC_K_GENEVE,
	HC_K_WIREGUARD,
	HC_K_IPIP,
	HC_K_SIT,
	HC_K_GRE,
	HC_K_GRETAP,
	HC_K_IP6GRE,
	HC_K_IP6GRETAP,
	HC_K_IP6TNL,
};

/* How an overlay's lower device was found. */
enum hc_lower_how {
	HC_LOWER_NONE,		/* not an overlay, or nothing found */
	HC_LOWER_BOUND,		/* IFLA_LINK / IFLA_VXLAN_LINK: the device it is bound to */
	HC_LOWER_ROUTE,		/* egress device of the route to the remote endpoint */
	HC_LOWER_DEFAULT,	/* no remote (FDB-driven VXLAN, WireGuard): the default route's */
};

struct hc_link {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	char kind_name[16];	/* IFLA_INFO_KIND as the kernel says it; "" for a physical NIC */
	enum hc_kind kind;
	uint32_t mtu;
	bool up;
	uint32_t master;	/* bridge (or bond) ifindex, 0 when none */
	uint32_t link;		/* IFLA_LINK: lower device, or the veth peer's ifindex */
	int32_t link_netnsid;	/* namespace id of IFLA_LINK's device, -1: this namespace */
	/* Overlays and tunnels. */
	uint8_t remote_family;	/* 4 or 6; 0 when the device has no remote */
	uint8_t remote[16];
	uint32_t overhead;	/* encapsulation bytes for the kind and the remote's family */
	enum hc_lower_how lower_how;
	uint32_t lower_ifindex;
	char lower_name[IF_NAMESIZE];
	uint32_t lower_mtu;	/* the lower device's MTU, or the route's mtu when smaller */
	char lower_netns[HC_NAME_LEN];	/* where the lower device lives when the overlay was
					 * moved here from there; "": this namespace */
	/* veth: the peer, wherever it lives. */
	bool peer_known;
	uint32_t peer_ifindex;
	uint32_t peer_mtu;
	char peer_name[IF_NAMESIZE];
	char peer_netns[HC_NAME_LEN];	/* /run/netns name or "nsid N"; "": this namespace */
	/* Per-interface sysctls. */
	int rp_filter;		/* effective: max(all, this interface); 0 off, 1 strict,
				 * 2 loose, -1 unknown */
	uint32_t ipv6_mtu;	/* net.ipv6.conf.IF.mtu; 0 when IPv6 is off or absent */
};

struct hc_route {
	uint8_t family;		/* 4 or 6 */
	uint8_t dst_len;
	uint8_t dst[16];
	uint32_t table;
	uint32_t oif;
	uint32_t mtu;		/* RTAX_MTU, 0 when none */
	uint32_t advmss;	/* RTAX_ADVMSS, 0 when none */
	bool mtu_locked;	/* RTAX_LOCK has RTAX_MTU: `mtu lock` */
	bool cached;		/* a route exception (`ip route show cache`) */
	uint32_t expires;	/* seconds left, exceptions only */
};

struct hc_sysctls {
	int ip_forward, ipv6_forwarding;
	int ip_no_pmtu_disc, tcp_mtu_probing;
	int icmp_ratelimit;	/* ms */
	uint32_t icmp_ratemask;
	int rp_filter_all;
};

struct hc_host {
	uint32_t netns_inode;
	char netns_name[HC_NAME_LEN];	/* from /run/netns, "" when it has none */
	struct hc_link links[HC_MAX_LINKS];
	int nlinks;
	struct hc_route routes[HC_MAX_ROUTES];
	int nroutes;
	struct hc_route cache[HC_MAX_CACHE];	/* route exceptions with an mtu */
	int ncache;
	struct hc_sysctls sys;
	struct hc_fw_rule fw[HC_MAX_FW];
	int nfw;
	bool mss_clamp;		/* a TCPMSS / `tcp option maxseg size set` rule exists */
	char fw_error[160];	/* why a firewall backend could not be read; "" when all were */
};

/* Reads the calling thread's namespace into h (zeroed first). 0, or -errno when links or
 * routes cannot be read; a firewall backend that cannot be read only sets fw_error.
 * Costs milliseconds (netlink dumps, sysctl reads, an nftables listing, and iptables-save runs
 * where iptables tables exist): read once per session or on demand, never per event. Not
 * thread-safe (one static netlink buffer). */
int hc_read(struct hc_host *h);
/* The same without the firewall (no iptables-save runs): what `live` needs for causes. */
int hc_read_net(struct hc_host *h);
/* The same for the namespace at nspath (/run/netns/NAME, /proc/PID/ns/net), read by a child
 * process that enters it: the caller never leaves its namespace, and a teardown that kills
 * every process inside (`ip netns pids`) kills only the child. 0; -EINTR when the child was
 * killed; -errno of open, setns or hc_read. */
int hc_read_path(struct hc_host *h, const char *nspath);

const struct hc_link *hc_link_by_ifindex(const struct hc_host *h, uint32_t ifindex);
enum hc_kind hc_kind_from_name(const char *kind);
/* "VXLAN", "veth", ...: for messages. */
const char *hc_kind_label(enum hc_kind k);
bool hc_is_overlay(enum hc_kind k);
/* Encapsulation bytes a packet gains on a device of this kind, by the outer header's family
 * (4 or 6; 0 means IPv4): VXLAN 50/70, Geneve 50/70 without options, WireGuard 60/80,
 * IPIP/SIT 20, GRE 24, GRETAP 38, ip6gre 52, ip6gretap 66 and ip6tnl 48 (these three with
 * the default encapsulation-limit option), VLAN 0. */
uint32_t hc_overhead(enum hc_kind k, uint8_t outer_family);
/* The largest MTU the overlay can have: lower_mtu - overhead; 0 when the lower is unknown. */
uint32_t hc_overlay_allowed_mtu(const struct hc_link *l);
/* Causes, as doctor judges them and live names them: an overlay whose MTU exceeds what its
 * underlay carries (overlay_mtu); a veth whose peer has a smaller MTU (veth_peer_mtu). */
bool hc_overlay_too_big(const struct hc_link *l);
bool hc_veth_peer_smaller(const struct hc_link *l);
/* The route the main lookup would pick for dst (longest prefix over every table read; policy
 * rules are not evaluated), or NULL. */
const struct hc_route *hc_route_lookup(const struct hc_host *h, uint8_t family,
				       const uint8_t *dst);
/* Whether that route carries `mtu lock`. */
bool hc_route_mtu_locked(const struct hc_host *h, uint8_t family, const uint8_t *dst);
/* Short label for a namespace: its /run/netns name, else "inode N". */
const char *hc_netns_label(const struct hc_host *h, char *buf, int len);

#endif
