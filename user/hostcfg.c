// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE	/* pipe2 */
/* The host reading behind `doctor` (and live's causes): rtnetlink, sysctls, firewall. */
#include <net/if.h>	/* ahead of the linux/ headers, which defer to it */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include "dynlib.h"
#include "hostcfg.h"
#include "netutil.h"

/* The firewall readers are at the end of this file. */
static void hc_read_firewall(struct hc_host *h);

static const struct {
	const char *name;
	enum hc_kind kind;
	const char *label;
} kinds[] = {
	{ "veth", HC_K_VETH, "veth" },
	{ "bridge", HC_K_BRIDGE, "bridge" },
	{ "vlan", HC_K_VLAN, "VLAN" },
	{ "vxlan", HC_K_VXLAN, "VXLAN" },
	{ "geneve", HC_K_GENEVE, "Geneve" },
	{ "wireguard", HC_K_WIREGUARD, "WireGuard" },
	{ "ipip", HC_K_IPIP, "IPIP" },
	{ "sit", HC_K_SIT, "SIT" },
	{ "gre", HC_K_GRE, "GRE" },
	{ "gretap", HC_K_GRETAP, "GRETAP" },
	{ "ip6gre", HC_K_IP6GRE, "ip6gre" },
	{ "ip6gretap", HC_K_IP6GRETAP, "ip6gretap" },
	{ "ip6tnl", HC_K_IP6TNL, "ip6tnl" },
};

enum hc_kind hc_kind_from_name(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, kind))
			return kinds[i].kind;
	return HC_K_OTHER;
}

const char *hc_kind_label(enum hc_kind k)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == k)
			return kinds[i].label;
	return k == HC_K_LOOPBACK ? "loopback" : "device";
}

bool hc_is_overlay(enum hc_kind k)
{
	return k >= HC_K_VLAN;
}

uint32_t hc_overhead(enum hc_kind k, uint8_t outer_family)
{
	/* The outer IP header is 20 (IPv4) or 40 (IPv6) bytes; the rest is the kind's own. */
	uint32_t ip = outer_family == 6 ? 40 : 20;

	switch (k) {
	case HC_K_VXLAN:
	case HC_K_GENEVE:	/* Ethernet 14 + UDP 8 + header 8; Geneve options come on top */
		return ip + 30;
	case HC_K_WIREGUARD:	/* UDP 8 + WireGuard header 16 + tag 16 */
		return ip + 40;
	case HC_K_IPIP:
	case HC_K_SIT:
		return 20;
	case HC_K_GRE:		/* GRE header 4 (+4 each for key, sequence, checksum: the
				 * reader adds them from the device's flags) */
		return 24;
	case HC_K_GRETAP:	/* and the inner Ethernet header */
		return 38;
	case HC_K_IP6GRE:	/* IPv6 40 + GRE 4 + the default encapsulation-limit option 8 */
		return 52;
	case HC_K_IP6GRETAP:
		return 66;
	case HC_K_IP6TNL:	/* IPv6 40 + the default encapsulation-limit option 8 */
		return 48;
	default:		/* VLAN: the tag rides outside the MTU */
		return 0;
	}
}

uint32_t hc_overlay_allowed_mtu(const struct hc_link *l)
{
	if (!l->lower_mtu || l->lower_mtu <= l->overhead)
		return 0;
	return l->lower_mtu - l->overhead;
}

bool hc_overlay_too_big(const struct hc_link *l)
{
	uint32_t allowed = hc_overlay_allowed_mtu(l);

	return hc_is_overlay(l->kind) && allowed && l->mtu > allowed;
}

bool hc_veth_peer_smaller(const struct hc_link *l)
{
	return l->kind == HC_K_VETH && l->peer_known && l->peer_mtu < l->mtu;
}

const struct hc_link *hc_link_by_ifindex(const struct hc_host *h, uint32_t ifindex)
{
	for (int i = 0; i < h->nlinks; i++)
		if (h->links[i].ifindex == ifindex)
			return &h->links[i];
	return NULL;
}

const struct hc_link *hc_link_by_name(const struct hc_host *h, const char *name)
{
	for (int i = 0; i < h->nlinks; i++)
		if (!strcmp(h->links[i].name, name))
			return &h->links[i];
	return NULL;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	return !rest || !((a[bytes] ^ b[bytes]) & (0xff << (8 - rest)));
}

const struct hc_route *hc_route_lookup(const struct hc_host *h, uint8_t family,
				       const uint8_t *dst)
{
	const struct hc_route *best = NULL;

	for (int i = 0; i < h->nroutes; i++) {
		const struct hc_route *r = &h->routes[i];

		if (r->family != family || !prefix_match(r->dst, dst, r->dst_len))
			continue;
		/* Longest prefix; among equals the main table wins, as without policy rules. */
		if (!best || r->dst_len > best->dst_len ||
		    (r->dst_len == best->dst_len && r->table == RT_TABLE_MAIN))
			best = r;
	}
	return best;
}

bool hc_route_mtu_locked(const struct hc_host *h, uint8_t family, const uint8_t *dst)
{
	const struct hc_route *r = hc_route_lookup(h, family, dst);

	return r && r->mtu_locked;
}

int hc_rp_filter(const struct hc_host *h, uint32_t ifindex)
{
	const struct hc_link *l = hc_link_by_ifindex(h, ifindex);

	return l ? l->rp_filter : -1;
}

const char *hc_netns_label(const struct hc_host *h, char *buf, int len)
{
	if (h->netns_name[0])
		snprintf(buf, len, "%s", h->netns_name);
	else
		snprintf(buf, len, "inode %u", h->netns_inode);
	return buf;
}

/* ---- rtnetlink: links -------------------------------------------------------------------- */

#define RTA_U32(rta) (*(uint32_t *)RTA_DATA(rta))

static void parse_addr(struct rtattr *rta, uint8_t *fam, uint8_t *addr)
{
	static const uint8_t zero[16];
	int n = RTA_PAYLOAD(rta);

	/* The kernel reports an unset remote as all zeroes. */
	if ((n != 4 && n != 16) || !memcmp(RTA_DATA(rta), zero, n))
		return;
	memcpy(addr, RTA_DATA(rta), n);
	*fam = n == 4 ? 4 : 6;
}

/* IFLA_INFO_DATA of the overlay kinds: the remote endpoint and the bound device. */
static void parse_info_data(struct hc_link *l, struct rtattr *data)
{
	int len = RTA_PAYLOAD(data);
	uint16_t oflags = 0;

	for (struct rtattr *a = RTA_DATA(data); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (l->kind) {
		case HC_K_VXLAN:
			if (a->rta_type == IFLA_VXLAN_GROUP || a->rta_type == IFLA_VXLAN_GROUP6)
				parse_addr(a, &l->remote_family, l->remote);
			else if (a->rta_type == IFLA_VXLAN_LINK)
				l->link = RTA_U32(a);
			break;
		case HC_K_GENEVE:
			if (a->rta_type == IFLA_GENEVE_REMOTE || a->rta_type == IFLA_GENEVE_REMOTE6)
				parse_addr(a, &l->remote_family, l->remote);
			break;
		case HC_K_IPIP:
		case HC_K_SIT:
		case HC_K_IP6TNL:
			if (a->rta_type == IFLA_IPTUN_REMOTE)
				parse_addr(a, &l->remote_family, l->remote);
			else if (a->rta_type == IFLA_IPTUN_LINK && RTA_U32(a))
				l->link = RTA_U32(a);
			break;
		case HC_K_GRE:
		case HC_K_GRETAP:
		case HC_K_IP6GRE:
		case HC_K_IP6GRETAP:
			if (a->rta_type == IFLA_GRE_REMOTE)
				parse_addr(a, &l->remote_family, l->remote);
			else if (a->rta_type == IFLA_GRE_LINK && RTA_U32(a))
				l->link = RTA_U32(a);
			else if (a->rta_type == IFLA_GRE_OFLAGS)
				oflags = *(uint16_t *)RTA_DATA(a);	/* big-endian, as GRE_* */
			break;
		default:
			break;
		}
	}
	/* Each optional GRE field (checksum, key, sequence number) adds 4 bytes. */
	l->overhead += 4 * (!!(oflags & GRE_CSUM) + !!(oflags & GRE_KEY) + !!(oflags & GRE_SEQ));
}

static void parse_link(struct hc_link *l, struct nlmsghdr *nh)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = IFLA_PAYLOAD(nh);
	struct rtattr *info_data = NULL;

	memset(l, 0, sizeof(*l));
	l->ifindex = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	l->link_netnsid = -1;
	l->rp_filter = -1;
	if (ifi->ifi_flags & IFF_LOOPBACK)
		l->kind = HC_K_LOOPBACK;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%s", (char *)RTA_DATA(a));
			break;
		case IFLA_MTU:
			l->mtu = RTA_U32(a);
			break;
		case IFLA_MASTER:
			l->master = RTA_U32(a);
			break;
		case IFLA_LINK:
			l->link = RTA_U32(a);
			break;
		case IFLA_LINK_NETNSID:
			l->link_netnsid = *(int32_t *)RTA_DATA(a);
			break;
		case IFLA_LINKINFO: {
			int ilen = RTA_PAYLOAD(a);

			for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, ilen);
			     b = RTA_NEXT(b, ilen)) {
				if (b->rta_type == IFLA_INFO_KIND)
					snprintf(l->kind_name, sizeof(l->kind_name), "%s",
						 (char *)RTA_DATA(b));
				else if (b->rta_type == IFLA_INFO_DATA)
					info_data = b;
			}
			break;
		}
		}
	}
	/* Some devices name themselves as their link; a peer elsewhere may share the index. */
	if (l->link == l->ifindex && l->link_netnsid < 0)
		l->link = 0;
	if (l->kind_name[0])
		l->kind = hc_kind_from_name(l->kind_name);
	if (info_data && l->kind != HC_K_VETH)
		parse_info_data(l, info_data);
}

static int link_cb(struct nlmsghdr *nh, void *ctx)
{
	struct hc_host *h = ctx;

	if (nh->nlmsg_type != RTM_NEWLINK || h->nlinks >= HC_MAX_LINKS)
		return 0;
	parse_link(&h->links[h->nlinks++], nh);
	return 0;
}

static int read_links(struct hc_host *h)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_DUMP },
		.ifi = { .ifi_family = AF_UNSPEC },
	};

	return nl_request(&req, sizeof(req), link_cb, h);
}

struct peer_ctx {
	uint32_t mtu;
	char name[IF_NAMESIZE];
	bool found;
};

static int peer_cb(struct nlmsghdr *nh, void *ctx)
{
	struct peer_ctx *p = ctx;
	struct hc_link l;

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	parse_link(&l, nh);
	p->mtu = l.mtu;
	snprintf(p->name, sizeof(p->name), "%s", l.name);
	p->found = true;
	return 1;
}

/* A link in another namespace, addressed by its namespace id as IFLA_LINK_NETNSID gave it. */
static int read_foreign_link(int32_t nsid, uint32_t ifindex, struct peer_ctx *p)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[16];
	} req = {
		.nh = { .nlmsg_type = RTM_GETLINK },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	struct rtattr *a = (struct rtattr *)req.attrs;

	a->rta_type = IFLA_TARGET_NETNSID;
	a->rta_len = RTA_LENGTH(sizeof(int32_t));
	*(int32_t *)RTA_DATA(a) = nsid;
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_ALIGN(a->rta_len);
	return nl_request(&req, req.nh.nlmsg_len, peer_cb, p);
}

static int nsid_cb(struct nlmsghdr *nh, void *ctx)
{
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct rtgenmsg));

	for (struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(nh) +
						  NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NETNSA_NSID)
			*(int32_t *)ctx = *(int32_t *)RTA_DATA(a);
	return 1;
}

/* The id this namespace gave the namespace behind fd (-1 when none). */
static int32_t nsid_of_fd(int fd)
{
	struct {
		struct nlmsghdr nh;
		struct rtgenmsg g;
		char pad[3];
		char attrs[16];
	} req = {
		.nh = { .nlmsg_type = RTM_GETNSID },
		.g = { .rtgen_family = AF_UNSPEC },
	};
	struct rtattr *a = (struct rtattr *)req.attrs;
	int32_t id = -1;

	a->rta_type = NETNSA_FD;
	a->rta_len = RTA_LENGTH(sizeof(uint32_t));
	*(uint32_t *)RTA_DATA(a) = fd;
	req.nh.nlmsg_len = offsetof(typeof(req), attrs) + RTA_ALIGN(a->rta_len);
	if (nl_request(&req, req.nh.nlmsg_len, nsid_cb, &id))
		return -1;
	return id;
}

/* Names of /run/netns namespaces by the id this namespace gives them: read once per hc_read,
 * on the first veth whose peer lives elsewhere (a node with many pods has many). */
static struct {
	int32_t id;
	char name[HC_NAME_LEN];
} ns_names[256];
static int n_ns_names = -1;

static void read_ns_names(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;

	n_ns_names = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && n_ns_names < 256) {
		char path[300];
		int32_t id;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		id = nsid_of_fd(fd);
		close(fd);
		if (id < 0)
			continue;
		ns_names[n_ns_names].id = id;
		snprintf(ns_names[n_ns_names++].name, HC_NAME_LEN, "%s", e->d_name);
	}
	closedir(d);
}

/* The /run/netns name of the namespace with this id, else "nsid N". */
static void nsid_name(int32_t nsid, char *buf, int len)
{
	if (n_ns_names < 0)
		read_ns_names();
	snprintf(buf, len, "nsid %d", nsid);
	for (int i = 0; i < n_ns_names; i++)
		if (ns_names[i].id == nsid)
			snprintf(buf, len, "%s", ns_names[i].name);
}

static void own_netns_name(struct hc_host *h)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	struct stat st;

	h->netns_inode = net_self_netns();
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		if (!stat(path, &st) && st.st_ino == h->netns_inode) {
			snprintf(h->netns_name, sizeof(h->netns_name), "%s", e->d_name);
			break;
		}
	}
	closedir(d);
}

/* ---- rtnetlink: routes ------------------------------------------------------------------- */

struct route_ctx {
	struct hc_host *h;
	bool cloned;
};

static int route_cb(struct nlmsghdr *nh, void *ctx)
{
	struct route_ctx *rc = ctx;
	struct hc_host *h = rc->h;
	struct rtmsg *rt = NLMSG_DATA(nh);
	int len = RTM_PAYLOAD(nh);
	struct hc_route r = {};
	uint32_t lock = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (nh->nlmsg_type != RTM_NEWROUTE || rt->rtm_type != RTN_UNICAST)
		return 0;
	if (!!(rt->rtm_flags & RTM_F_CLONED) != rc->cloned)
		return 0;
	r.family = rt->rtm_family == AF_INET6 ? 6 : 4;
	r.dst_len = rt->rtm_dst_len;
	r.table = rt->rtm_table;
	r.cached = rc->cloned;
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case RTA_DST:
			memcpy(r.dst, RTA_DATA(a), RTA_PAYLOAD(a) > 16 ? 16 : RTA_PAYLOAD(a));
			break;
		case RTA_OIF:
			r.oif = RTA_U32(a);
			break;
		case RTA_TABLE:
			r.table = RTA_U32(a);
			break;
		case RTA_CACHEINFO:
			if (hz > 0)
				r.expires = ((struct rta_cacheinfo *)RTA_DATA(a))->rta_expires / hz;
			break;
		case RTA_METRICS: {
			int mlen = RTA_PAYLOAD(a);

			for (struct rtattr *m = RTA_DATA(a); RTA_OK(m, mlen);
			     m = RTA_NEXT(m, mlen)) {
				if (m->rta_type == RTAX_MTU)
					r.mtu = RTA_U32(m);
				else if (m->rta_type == RTAX_ADVMSS)
					r.advmss = RTA_U32(m);
				else if (m->rta_type == RTAX_LOCK)
					lock = RTA_U32(m);
			}
			break;
		}
		}
	}
	r.mtu_locked = lock & (1u << RTAX_MTU);
	if (rc->cloned) {
		/* Exceptions that only redirect are not PMTU knowledge. */
		if (r.mtu && h->ncache < HC_MAX_CACHE)
			h->cache[h->ncache++] = r;
	} else if (h->nroutes < HC_MAX_ROUTES) {
		h->routes[h->nroutes++] = r;
	}
	return 0;
}

static int read_routes(struct hc_host *h, int family, bool cloned)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_DUMP },
		.rt = { .rtm_family = family, .rtm_flags = cloned ? RTM_F_CLONED : 0 },
	};
	struct route_ctx rc = { .h = h, .cloned = cloned };

	return nl_request(&req, sizeof(req), route_cb, &rc);
}

/* ---- sysctls ----------------------------------------------------------------------------- */

static long sysctl_int(const char *path, long dflt)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)))
		return dflt;
	return strtol(buf, NULL, 10);
}

static void read_sysctls(struct hc_host *h)
{
	struct hc_sysctls *s = &h->sys;

	s->ip_forward = sysctl_int("/proc/sys/net/ipv4/ip_forward", 0);
	s->ipv6_forwarding = sysctl_int("/proc/sys/net/ipv6/conf/all/forwarding", 0);
	s->ip_no_pmtu_disc = sysctl_int("/proc/sys/net/ipv4/ip_no_pmtu_disc", 0);
	s->tcp_mtu_probing = sysctl_int("/proc/sys/net/ipv4/tcp_mtu_probing", 0);
	s->icmp_ratelimit = sysctl_int("/proc/sys/net/ipv4/icmp_ratelimit", 0);
	s->icmp_ratemask = sysctl_int("/proc/sys/net/ipv4/icmp_ratemask", 0);
	s->rp_filter_all = sysctl_int("/proc/sys/net/ipv4/conf/all/rp_filter", 0);
	for (int i = 0; i < h->nlinks; i++) {
		struct hc_link *l = &h->links[i];
		char path[128];
		long v;

		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", l->name);
		v = sysctl_int(path, -1);
		if (v >= 0)
			l->rp_filter = v > s->rp_filter_all ? v : s->rp_filter_all;
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", l->name);
		if (sysctl_int(path, 1) == 0) {
			snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/mtu", l->name);
			l->ipv6_mtu = sysctl_int(path, 0);
		}
	}
}

/* ---- the pieces together ----------------------------------------------------------------- */

static const struct hc_route *default_route(const struct hc_host *h, uint8_t family)
{
	uint8_t any[16] = {};
	const struct hc_route *r = hc_route_lookup(h, family, any);

	return r && r->dst_len == 0 ? r : NULL;
}

static void resolve_lower(struct hc_host *h, struct hc_link *l)
{
	const struct hc_link *low = NULL;
	uint32_t route_mtu = 0, oif = 0;
	bool locked;

	l->overhead += hc_overhead(l->kind, l->remote_family ? l->remote_family :
				   (l->kind == HC_K_IP6TNL || l->kind == HC_K_IP6GRE ||
				    l->kind == HC_K_IP6GRETAP) ? 6 : 4);
	if (l->link && l->link_netnsid >= 0) {
		/* Created elsewhere and moved here (a pod's overlay): its socket and lower
		 * device stay in the namespace it came from. */
		struct peer_ctx p = {};

		if (read_foreign_link(l->link_netnsid, l->link, &p) || !p.found)
			return;
		l->lower_how = HC_LOWER_BOUND;
		l->lower_ifindex = l->link;
		l->lower_mtu = p.mtu;
		snprintf(l->lower_name, sizeof(l->lower_name), "%s", p.name);
		nsid_name(l->link_netnsid, l->lower_netns, sizeof(l->lower_netns));
		return;
	} else if (l->link_netnsid >= 0) {
		return;		/* its routes are another namespace's */
	} else if (l->link) {
		low = hc_link_by_ifindex(h, l->link);
		l->lower_how = HC_LOWER_BOUND;
	} else if (l->remote_family) {
		if (net_route_mtu(l->remote_family, l->remote, &route_mtu, &oif, &locked) == 0)
			low = hc_link_by_ifindex(h, oif);
		l->lower_how = HC_LOWER_ROUTE;
	} else if (l->kind != HC_K_VLAN) {
		const struct hc_route *r = default_route(h, 4);

		if (!r)
			r = default_route(h, 6);
		if (r) {
			low = hc_link_by_ifindex(h, r->oif);
			route_mtu = r->mtu;
		}
		l->lower_how = HC_LOWER_DEFAULT;
	}
	if (!low || low == l) {
		l->lower_how = HC_LOWER_NONE;
		return;
	}
	l->lower_ifindex = low->ifindex;
	snprintf(l->lower_name, sizeof(l->lower_name), "%s", low->name);
	l->lower_mtu = low->mtu;
	if (route_mtu && route_mtu < l->lower_mtu)
		l->lower_mtu = route_mtu;
}

static void resolve_peer(struct hc_host *h, struct hc_link *l)
{
	struct peer_ctx p = {};

	if (!l->link)
		return;
	if (l->link_netnsid < 0) {
		const struct hc_link *q = hc_link_by_ifindex(h, l->link);

		if (!q)
			return;
		p.found = true;
		p.mtu = q->mtu;
		snprintf(p.name, sizeof(p.name), "%s", q->name);
	} else {
		if (read_foreign_link(l->link_netnsid, l->link, &p) || !p.found)
			return;
		nsid_name(l->link_netnsid, l->peer_netns, sizeof(l->peer_netns));
	}
	l->peer_known = true;
	l->peer_ifindex = l->link;
	l->peer_mtu = p.mtu;
	snprintf(l->peer_name, sizeof(l->peer_name), "%s", p.name);
}

int hc_read(struct hc_host *h)
{
	int err = hc_read_net(h);

	if (!err)
		hc_read_firewall(h);
	return err;
}

int hc_read_net(struct hc_host *h)
{
	int err;

	memset(h, 0, sizeof(*h));
	n_ns_names = -1;	/* ids are per namespace: read again */
	own_netns_name(h);
	err = read_links(h);
	if (err)
		return err;
	for (int fam = 0; fam < 2; fam++) {
		err = read_routes(h, fam ? AF_INET6 : AF_INET, false);
		if (err && err != -EAFNOSUPPORT)
			return err;
		/* Older kernels without exception dumps answer with the routes: filtered out. */
		read_routes(h, fam ? AF_INET6 : AF_INET, true);
	}
	for (int i = 0; i < h->nlinks; i++) {
		struct hc_link *l = &h->links[i];

		if (l->kind == HC_K_VETH)
			resolve_peer(h, l);
		else if (hc_is_overlay(l->kind))
			resolve_lower(h, l);
	}
	read_sysctls(h);
	return 0;
}

int hc_read_path(struct hc_host *h, const char *nspath)
{
	struct shared {
		int err;
		struct hc_host h;
	} *sh;
	int fd, status, err;
	pid_t pid;

	fd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		err = -errno;
		close(fd);
		return err;
	}
	sh->err = -ECHILD;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		sh->err = setns(fd, CLONE_NEWNET) ? -errno : hc_read(&sh->h);
		_exit(0);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		err = -errno;
	else if (WIFSIGNALED(status))
		err = -EINTR;
	else
		err = sh->err;
	if (!err)
		memcpy(h, &sh->h, sizeof(*h));
	munmap(sh, sizeof(*sh));
	return err;
}

/* ---- firewall ----------------------------------------------------------------------------- */
/*
 * Each rule is reduced to what matters for a Packet Too Big: its verdict, whether it matches
 * ICMP / ICMPv6 only, whether an ICMP type match covers frag-needed (type 3 code 4) or PTB
 * (ICMPv6 type 2), and whether it accepts RELATED (ICMP errors of tracked flows are RELATED).
 * A chain is walked in order: an accept of RELATED or of PTB ahead of a drop admits PTB.
 */
enum fw_verdict { FV_NONE, FV_ACCEPT, FV_DROP, FV_REJECT };

struct fw_sem {
	enum fw_verdict verdict;
	bool icmp4, icmp6;	/* a protocol match that includes ICMP / ICMPv6 */
	bool proto_other;	/* a protocol match without either */
	bool type_match;	/* an ICMP type or code match */
	bool type_ptb;		/* ... that covers frag-needed / Packet Too Big */
	bool type_seen;		/* a type match (not only a code match) was read */
	bool code_miss;		/* an ICMP code match that excludes frag-needed */
	bool ct_match, ct_related;
	bool other_match;	/* anything else that narrows the rule */
	bool mss;		/* sets the TCP MSS option */
	char jump[32];		/* jump / goto target, "" when none */
	bool jump_admits;	/* ... and that chain accepts RELATED (set by the caller) */
};

struct fw_chain {
	char table[32], chain[32];
	uint8_t families;
	bool base;		/* hooked on input, forward or output */
	bool policy_drop;
	uint8_t admitted;	/* families whose PTB an earlier rule accepts */
	bool owned;		/* a table iptables-nft made: judged from iptables-nft-save */
	bool admits;		/* accepts RELATED itself or in a chain it jumps to */
};

/* A jump between chains of one table, for finding the chains that admit ICMP errors. */
struct fw_edge {
	int from;
	char to[32];
};

static int fw_chain_idx(const struct fw_chain *c, int nch, const char *table, const char *name)
{
	for (int i = 0; i < nch; i++)
		if (!strcmp(c[i].chain, name) && (!table || !strcmp(c[i].table, table)))
			return i;
	return -1;
}

/* Docker-style rulesets accept RELATED in a chain that FORWARD jumps to: a jump to a chain
 * that admits (transitively) admits too. */
static void fw_propagate(struct fw_chain *c, int nch, const struct fw_edge *e, int ne)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (int i = 0; i < ne; i++) {
			int to = fw_chain_idx(c, nch, c[e[i].from].table, e[i].to);

			if (to >= 0 && c[to].admits && !c[e[i].from].admits)
				c[e[i].from].admits = changed = true;
		}
	}
}

static void fw_add(struct hc_host *h, const char *backend, const struct fw_chain *c,
		   uint8_t fams, enum hc_fw_what what, const char *rule)
{
	struct hc_fw_rule *r;

	if (h->nfw >= HC_MAX_FW)
		return;
	r = &h->fw[h->nfw++];
	snprintf(r->backend, sizeof(r->backend), "%s", backend);
	snprintf(r->table, sizeof(r->table), "%s", c->table);
	snprintf(r->chain, sizeof(r->chain), "%s", c->chain);
	snprintf(r->rule, sizeof(r->rule), "%s", rule);
	r->families = fams;
	r->what = what;
}

/* One rule of a chain, in order. */
static void fw_judge(struct hc_host *h, const char *backend, struct fw_chain *c,
		     const struct fw_sem *s, const char *rule)
{
	bool proto_any = !s->icmp4 && !s->icmp6 && !s->proto_other;
	bool covers = !s->type_match || (s->type_ptb && !s->code_miss);
	uint8_t m = 0;

	if (s->mss)
		h->mss_clamp = true;
	if (s->jump_admits) {
		c->admitted |= c->families;
		return;
	}
	if (s->verdict == FV_ACCEPT) {
		if (s->ct_related)
			c->admitted |= c->families;
		else if (!s->ct_match && covers) {
			if (proto_any && !s->type_match && !s->other_match)
				m = 3;
			m |= (s->icmp4 ? 1 : 0) | (s->icmp6 ? 2 : 0);
			c->admitted |= m & c->families;
		}
		return;
	}
	if ((s->verdict != FV_DROP && s->verdict != FV_REJECT) || s->ct_match)
		return;
	m = (s->icmp4 ? 1 : 0) | (s->icmp6 ? 2 : 0);
	if (s->type_match && !s->icmp4 && !s->icmp6)
		m = 3;
	if (m && covers) {
		m &= c->families & ~c->admitted;
		if (m)
			fw_add(h, backend, c, m, s->type_match ? HC_FW_DROPS_PTB : HC_FW_DROPS_ICMP,
			       rule);
	} else if (proto_any && !s->type_match && !s->other_match && c->base) {
		m = c->families & ~c->admitted;
		if (m)
			fw_add(h, backend, c, m, HC_FW_DROP_ALL, rule);
	}
}

static void fw_chain_end(struct hc_host *h, const char *backend, struct fw_chain *c)
{
	uint8_t m = c->families & ~c->admitted;

	if (c->base && c->policy_drop && m)
		fw_add(h, backend, c, m, HC_FW_POLICY_DROP, "policy drop");
}

/* Runs a program (PATH, then /usr/sbin, /sbin), its stdout into *out (malloc'd). 0 or -errno;
 * -ENOENT when it is not installed. */
static int run_capture(const char *prog, char **out)
{
	static const char *dirs[] = { "/usr/sbin/", "/sbin/", "/usr/bin/" };
	size_t cap = 65536, n = 0;
	int p[2], st;
	pid_t pid;
	ssize_t r;

	*out = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		char path[128];

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp(prog, (char *[]){ (char *)prog, NULL });
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dirs[i], prog);
			execv(path, (char *[]){ (char *)prog, NULL });
		}
		_exit(127);
	}
	close(p[1]);
	*out = malloc(cap);
	while (*out && (r = read(p[0], *out + n, cap - n - 1)) > 0) {
		n += r;
		if (n + 1 == cap) {
			char *b = realloc(*out, cap * 2);

			if (!b)
				break;
			*out = b;
			cap *= 2;
		}
	}
	close(p[0]);
	if (*out)
		(*out)[n] = 0;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!*out)
		return -ENOMEM;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* --icmp-type / --icmpv6-type values as iptables-save prints them ("3/4", "2", names). */
static bool ipt_type_ptb(const char *v, bool v6)
{
	char *end;
	long t, code = -1;

	if (!strcmp(v, "any"))
		return true;
	if (!v6 && (!strcmp(v, "destination-unreachable") || !strcmp(v, "fragmentation-needed")))
		return true;
	if (v6 && !strcmp(v, "packet-too-big"))
		return true;
	t = strtol(v, &end, 10);
	if (end == v)
		return false;
	if (*end == '/')
		code = strtol(end + 1, NULL, 10);
	return v6 ? t == 2 : t == 3 && (code < 0 || code == 4);
}

static void ipt_rule(struct fw_sem *s, char *line, bool v6)
{
	char *save = NULL, *tok, *val;
	bool neg = false;

	memset(s, 0, sizeof(*s));
	strtok_r(line, " ", &save);	/* -A */
	strtok_r(NULL, " ", &save);	/* chain */
	while ((tok = strtok_r(NULL, " ", &save))) {
		if (!strcmp(tok, "!")) {
			neg = true;
			continue;
		}
		if (tok[0] != '-') {
			neg = false;
			continue;
		}
		if (!strcmp(tok, "-m") || !strcmp(tok, "--comment")) {
			strtok_r(NULL, " ", &save);
		} else if (!strcmp(tok, "-p") || !strcmp(tok, "--protocol")) {
			val = strtok_r(NULL, " ", &save);
			if (!val || neg)
				s->other_match = true;
			else if (!strcmp(val, "icmp") || !strcmp(val, "1"))
				s->icmp4 = true;
			else if (!strcmp(val, "ipv6-icmp") || !strcmp(val, "icmpv6") ||
				 !strcmp(val, "58"))
				s->icmp6 = true;
			else if (strcmp(val, "all") && strcmp(val, "0"))
				s->proto_other = true;
		} else if (!strcmp(tok, "--icmp-type") || !strcmp(tok, "--icmpv6-type")) {
			val = strtok_r(NULL, " ", &save);
			s->type_match = true;
			s->type_ptb = val && ipt_type_ptb(val, v6);
			if (neg)
				s->type_ptb = !s->type_ptb;
		} else if (!strcmp(tok, "--ctstate") || !strcmp(tok, "--state")) {
			val = strtok_r(NULL, " ", &save);
			s->ct_match = true;
			s->ct_related = !neg && val && strstr(val, "RELATED");
		} else if (!strcmp(tok, "-j") || !strcmp(tok, "--jump")) {
			val = strtok_r(NULL, " ", &save);
			if (!val)
				break;
			if (!strcmp(val, "ACCEPT"))
				s->verdict = FV_ACCEPT;
			else if (!strcmp(val, "DROP"))
				s->verdict = FV_DROP;
			else if (!strcmp(val, "REJECT"))
				s->verdict = FV_REJECT;
			else if (!strcmp(val, "TCPMSS"))
				s->mss = true;
			else
				snprintf(s->jump, sizeof(s->jump), "%s", val);
			break;	/* the target's own options follow */
		} else if (!strcmp(tok, "-g") || !strcmp(tok, "--goto")) {
			val = strtok_r(NULL, " ", &save);
			if (val)
				snprintf(s->jump, sizeof(s->jump), "%s", val);
			break;
		} else {
			s->other_match = true;
		}
		neg = false;
	}
}

static bool ipt_base_chain(const char *c)
{
	return !strcmp(c, "INPUT") || !strcmp(c, "FORWARD") || !strcmp(c, "OUTPUT");
}

/* One table of iptables-save output: find the admitting chains, then judge in order. */
static void ipt_table(struct hc_host *h, const char *backend, struct fw_chain *c, int nch,
		      char **rules, int nrules, bool v6)
{
	struct fw_edge edges[128];
	int ne = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < nrules; i++) {
			char name[32] = "", copy[512];
			struct fw_sem s;
			int k;

			sscanf(rules[i] + 3, "%31s", name);
			snprintf(copy, sizeof(copy), "%s", rules[i]);
			ipt_rule(&s, copy, v6);
			k = fw_chain_idx(c, nch, NULL, name);
			if (k < 0)
				continue;
			if (pass == 0) {
				if (s.verdict == FV_ACCEPT && s.ct_related)
					c[k].admits = true;
				if (s.jump[0] && ne < 128) {
					edges[ne].from = k;
					snprintf(edges[ne++].to, sizeof(edges[0].to), "%s", s.jump);
				}
				continue;
			}
			if (s.jump[0]) {
				int t = fw_chain_idx(c, nch, NULL, s.jump);

				s.jump_admits = t >= 0 && c[t].admits;
			}
			fw_judge(h, backend, &c[k], &s, rules[i]);
		}
		if (pass == 0)
			fw_propagate(c, nch, edges, ne);
	}
	for (int i = 0; i < nch; i++)
		fw_chain_end(h, backend, &c[i]);
}

void hc_fw_parse_iptables(struct hc_host *h, const char *backend, char *text, bool v6)
{
	struct fw_chain chains[64];
	char *rules[1024], table[24] = "", *save = NULL;
	int nch = 0, nrules = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			nch = nrules = 0;
		} else if (line[0] == ':' && nch < 64) {
			struct fw_chain *c = &chains[nch++];
			char name[32] = "", pol[16] = "";

			sscanf(line + 1, "%31s %15s", name, pol);
			memset(c, 0, sizeof(*c));
			snprintf(c->table, sizeof(c->table), "%s %s", v6 ? "ip6" : "ip", table);
			snprintf(c->chain, sizeof(c->chain), "%s", name);
			c->families = v6 ? 2 : 1;
			c->base = ipt_base_chain(name);
			c->policy_drop = !strcmp(pol, "DROP");
		} else if (!strncmp(line, "-A ", 3) && nrules < 1024) {
			rules[nrules++] = line;
		} else if (!strcmp(line, "COMMIT")) {
			ipt_table(h, backend, chains, nch, rules, nrules, v6);
			nch = nrules = 0;
		}
	}
}

static void fw_error(struct hc_host *h, const char *fmt, const char *what)
{
	size_t n = strlen(h->fw_error);

	snprintf(h->fw_error + n, sizeof(h->fw_error) - n, "%s", n ? "; " : "");
	n = strlen(h->fw_error);
	snprintf(h->fw_error + n, sizeof(h->fw_error) - n, fmt, what);
}

static void read_iptables(struct hc_host *h, const char *prog, const char *backend, bool v6)
{
	char *out = NULL;
	int err = run_capture(prog, &out);

	if (err)
		fw_error(h, err == -ENOENT ? "%s not installed" : "%s failed", prog);
	else
		hc_fw_parse_iptables(h, backend, out, v6);
	free(out);
}

/* Whether the legacy tables exist in this namespace: reading them would create them. */
static bool legacy_tables(const char *names_file)
{
	char buf[256];

	return read_text(names_file, buf, sizeof(buf)) == 0 && buf[0];
}

/* ---- nftables, through libnftables' JSON ---- */

/* Whether a match's right-hand side has the name or number (sets, lists, ranges). */
static bool nft_val_has(json_t *v, const char *name, long num)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return !strcmp(json_string_value(v), name);
	if (json_is_integer(v))
		return json_integer_value(v) == num;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (nft_val_has(e, name, num))
				return true;
		return false;
	}
	if (json_is_object(v)) {
		json_t *r = json_object_get(v, "range");

		if (json_object_get(v, "set"))
			return nft_val_has(json_object_get(v, "set"), name, num);
		if (json_is_array(r) && json_array_size(r) == 2 &&
		    json_is_integer(json_array_get(r, 0)) && json_is_integer(json_array_get(r, 1)))
			return json_integer_value(json_array_get(r, 0)) <= num &&
			       num <= json_integer_value(json_array_get(r, 1));
	}
	return false;
}

static void nft_match(struct fw_sem *s, json_t *m)
{
	const char *op = json_string_value(json_object_get(m, "op"));
	json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right");
	json_t *meta = json_object_get(left, "meta"), *pl = json_object_get(left, "payload");
	json_t *ct = json_object_get(left, "ct");
	const char *key = json_string_value(json_object_get(meta ? meta : ct, "key"));
	const char *proto = json_string_value(json_object_get(pl, "protocol"));
	const char *field = json_string_value(json_object_get(pl, "field"));
	bool neg = op && !strcmp(op, "!=");

	if (!proto)
		proto = "";
	if (!field)
		field = "";
	if ((meta && key && !strcmp(key, "l4proto")) ||
	    (!strcmp(proto, "ip") && !strcmp(field, "protocol")) ||
	    (!strcmp(proto, "ip6") && !strcmp(field, "nexthdr"))) {
		bool i4 = nft_val_has(right, "icmp", 1);
		bool i6 = nft_val_has(right, "ipv6-icmp", 58) || nft_val_has(right, "icmpv6", 58);

		if (neg)
			s->other_match = true;
		else if (i4 || i6) {
			s->icmp4 |= i4;
			s->icmp6 |= i6;
		} else {
			s->proto_other = true;
		}
	} else if (!strcmp(proto, "icmp") && !strcmp(field, "type")) {
		s->icmp4 = s->type_match = s->type_seen = true;
		s->type_ptb = nft_val_has(right, "destination-unreachable", 3) != neg;
	} else if (!strcmp(proto, "icmp") && !strcmp(field, "code")) {
		s->icmp4 = s->type_match = true;
		s->code_miss |= nft_val_has(right, "frag-needed", 4) == neg;
		if (!s->type_seen)
			s->type_ptb = true;	/* a code match alone: judged by the code */
	} else if (!strcmp(proto, "icmpv6") && !strcmp(field, "type")) {
		s->icmp6 = s->type_match = s->type_seen = true;
		s->type_ptb = nft_val_has(right, "packet-too-big", 2) != neg;
	} else if (ct && key && !strcmp(key, "state")) {
		s->ct_match = true;
		s->ct_related = !neg && nft_val_has(right, "related", -1);
	} else {
		s->other_match = true;
	}
}

static void nft_rule(struct fw_sem *s, json_t *exprs, bool *xt)
{
	size_t i;
	json_t *e;

	memset(s, 0, sizeof(*s));
	json_array_foreach(exprs, i, e) {
		json_t *mg = json_object_get(e, "mangle");

		if (json_object_get(e, "match")) {
			nft_match(s, json_object_get(e, "match"));
		} else if (json_object_get(e, "accept")) {
			s->verdict = FV_ACCEPT;
		} else if (json_object_get(e, "drop")) {
			s->verdict = FV_DROP;
		} else if (json_object_get(e, "reject")) {
			s->verdict = FV_REJECT;
		} else if (json_object_get(e, "xt")) {
			*xt = true;
		} else if (json_object_get(e, "jump") || json_object_get(e, "goto")) {
			json_t *j = json_object_get(e, "jump") ? json_object_get(e, "jump") :
								 json_object_get(e, "goto");
			const char *t = json_string_value(json_object_get(j, "target"));

			if (t)
				snprintf(s->jump, sizeof(s->jump), "%s", t);
		} else if (mg) {
			json_t *opt = json_object_get(json_object_get(mg, "key"), "tcp option");
			const char *n = json_string_value(json_object_get(opt, "name"));

			if (n && !strcmp(n, "maxseg"))
				s->mss = true;
		}
	}
}

/* The rule as `nft -a list ruleset` prints it, found by its handle in the text listing. */
static void nft_rule_text(const char *text, const char *family, const char *table,
			  const char *chain, long handle, char *out, size_t len)
{
	char want_t[96], want_c[64], want_h[32], line[512];
	bool in_t = false, in_c = false;
	const char *p = text, *nl;

	snprintf(out, len, "handle %ld", handle);
	if (!text)
		return;
	snprintf(want_t, sizeof(want_t), "table %s %s {", family, table);
	snprintf(want_c, sizeof(want_c), "chain %s {", chain);
	snprintf(want_h, sizeof(want_h), "# handle %ld", handle);
	for (; *p; p = nl + 1) {
		const char *s;
		size_t n;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		n = nl - p < (long)sizeof(line) - 1 ? (size_t)(nl - p) : sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		for (s = line; *s == '\t' || *s == ' '; s++)
			;
		if (!strncmp(s, "table ", 6))
			in_t = !strncmp(s, want_t, strlen(want_t));
		else if (!strncmp(s, "chain ", 6))
			in_c = in_t && !strncmp(s, want_c, strlen(want_c));
		else if (in_c) {
			char *h = strstr(line, want_h);

			if (h && (h[strlen(want_h)] == 0 || h[strlen(want_h)] == ' ')) {
				while (h > s && h[-1] == ' ')
					h--;
				*h = 0;
				snprintf(out, len, "%s (handle %ld)", s, handle);
				return;
			}
		}
		if (!*nl)
			break;
	}
}

static const char *nft_list(struct nft_ctx *ctx, unsigned int flags)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC), err;

	nft_ctx_output_set_flags(ctx, flags);
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx))
		err = -1;
	else {
		/* libnftables prints some netlink errors straight to stderr, not to its error
		 * buffer: the caller says what failed, in one line. */
		if (saved >= 0 && null >= 0)
			dup2(null, 2);
		err = nft_run_cmd_from_buffer(ctx, "list ruleset");
		if (saved >= 0 && null >= 0)
			dup2(saved, 2);
	}
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	return err ? NULL : nft_ctx_get_output_buffer(ctx);
}

static uint8_t nft_families(const char *f)
{
	if (!strcmp(f, "ip"))
		return 1;
	if (!strcmp(f, "ip6"))
		return 2;
	if (!strcmp(f, "inet"))
		return 3;
	return 0;	/* arp, bridge, netdev: not where PTB is filtered for this host */
}

static bool nft_ipt_chain(const char *c)
{
	return ipt_base_chain(c) || !strcmp(c, "PREROUTING") || !strcmp(c, "POSTROUTING");
}

int hc_fw_parse_nft_json(struct hc_host *h, const char *js, const char *text)
{
	struct fw_chain *chains = NULL;
	struct fw_edge edges[256];
	json_t *root, *arr, *e;
	int nch = 0, nedges = 0, owned = -1;
	size_t i;

	root = json_loads(js, 0, NULL);
	arr = json_object_get(root, "nftables");
	chains = calloc(256, sizeof(*chains));
	if (!json_is_array(arr) || !chains)
		goto out;
	owned = 0;
	/* Chains first (the listing has them ahead of their rules, but do not rely on it). */
	json_array_foreach(arr, i, e) {
		json_t *c = json_object_get(e, "chain");
		const char *fam, *tab, *name, *hook, *pol;
		struct fw_chain *fc;

		if (!c || nch >= 256)
			continue;
		fam = json_string_value(json_object_get(c, "family"));
		tab = json_string_value(json_object_get(c, "table"));
		name = json_string_value(json_object_get(c, "name"));
		hook = json_string_value(json_object_get(c, "hook"));
		pol = json_string_value(json_object_get(c, "policy"));
		if (!fam || !tab || !name || !nft_families(fam))
			continue;
		fc = &chains[nch++];
		snprintf(fc->table, sizeof(fc->table), "%s %s", fam, tab);
		snprintf(fc->chain, sizeof(fc->chain), "%s", name);
		fc->families = nft_families(fam);
		fc->base = hook && (!strcmp(hook, "input") || !strcmp(hook, "forward") ||
				    !strcmp(hook, "output"));
		fc->policy_drop = pol && !strcmp(pol, "drop");
		if (fc->families != 3 && nft_ipt_chain(name))
			fc->owned = true;
	}
	/* A table with one iptables-nft chain is iptables-nft's throughout. */
	for (int a = 0; a < nch; a++)
		for (int b = 0; b < nch; b++)
			if (chains[b].owned && !strcmp(chains[a].table, chains[b].table))
				chains[a].owned = true;
	/* Which chains accept RELATED, themselves or through the chains they jump to. */
	json_array_foreach(arr, i, e) {
		json_t *r = json_object_get(e, "rule");
		const char *fam = json_string_value(json_object_get(r, "family"));
		const char *tab = json_string_value(json_object_get(r, "table"));
		const char *name = json_string_value(json_object_get(r, "chain"));
		char tname[32];
		struct fw_sem s;
		bool xt = false;
		int k;

		if (!r || !fam || !tab || !name)
			continue;
		snprintf(tname, sizeof(tname), "%s %s", fam, tab);
		k = fw_chain_idx(chains, nch, tname, name);
		if (k < 0)
			continue;
		nft_rule(&s, json_object_get(r, "expr"), &xt);
		if (s.verdict == FV_ACCEPT && s.ct_related)
			chains[k].admits = true;
		if (s.jump[0] && nedges < 256) {
			edges[nedges].from = k;
			snprintf(edges[nedges++].to, sizeof(edges[0].to), "%s", s.jump);
		}
	}
	fw_propagate(chains, nch, edges, nedges);
	json_array_foreach(arr, i, e) {
		json_t *r = json_object_get(e, "rule");
		const char *fam, *tab, *name;
		char tname[32];
		struct fw_sem s;
		bool xt = false;

		if (!r)
			continue;
		fam = json_string_value(json_object_get(r, "family"));
		tab = json_string_value(json_object_get(r, "table"));
		name = json_string_value(json_object_get(r, "chain"));
		if (!fam || !tab || !name)
			continue;
		snprintf(tname, sizeof(tname), "%s %s", fam, tab);
		nft_rule(&s, json_object_get(r, "expr"), &xt);
		if (s.jump[0]) {
			int t = fw_chain_idx(chains, nch, tname, s.jump);

			s.jump_admits = t >= 0 && chains[t].admits;
		}
		for (int k = 0; k < nch; k++) {
			struct fw_chain *c = &chains[k];
			int before = h->nfw;

			if (strcmp(c->table, tname) || strcmp(c->chain, name))
				continue;
			if (xt)
				c->owned = true;
			if (c->owned)
				break;
			fw_judge(h, "nftables", c, &s, "");
			if (h->nfw > before)
				nft_rule_text(text, fam, tab, name,
					      json_integer_value(json_object_get(r, "handle")),
					      h->fw[h->nfw - 1].rule, sizeof(h->fw[0].rule));
			break;
		}
	}
	for (int k = 0; k < nch; k++) {
		if (chains[k].owned)
			owned |= chains[k].families;
		else
			fw_chain_end(h, "nftables", &chains[k]);
	}
out:
	json_decref(root);
	free(chains);
	return owned;
}

/* Returns which iptables-nft families own tables here (1 ip, 2 ip6). */
static uint8_t read_nftables(struct hc_host *h)
{
	struct nft_ctx *jctx, *tctx = NULL;
	const char *js, *text = NULL;
	char err[160];
	int owned = 0;

	if (dl_nft_open(err, sizeof(err))) {
		fw_error(h, "nftables: %s", err);
		return 0;
	}
	jctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!jctx) {
		fw_error(h, "%s", "nftables: no libnftables context");
		return 0;
	}
	js = nft_list(jctx, NFT_CTX_OUTPUT_JSON);
	if (!js) {
		fw_error(h, "nftables: 'list ruleset' failed%s",
			 geteuid() ? " (not root)" : "");
		goto out;
	}
	/* The text listing only quotes the rules found: read when there are rules at all. */
	if (strstr(js, "\"rule\"") && (tctx = nft_ctx_new(NFT_CTX_DEFAULT)))
		text = nft_list(tctx, NFT_CTX_OUTPUT_HANDLE);
	owned = hc_fw_parse_nft_json(h, js, text);
	if (owned < 0) {
		fw_error(h, "%s", "nftables: unreadable JSON ruleset");
		owned = 0;
	}
out:
	if (tctx)
		nft_ctx_free(tctx);
	nft_ctx_free(jctx);
	return owned;
}

static void hc_read_firewall(struct hc_host *h)
{
	uint8_t owned = read_nftables(h);

	if (owned & 1)
		read_iptables(h, "iptables-nft-save", "iptables-nft", false);
	if (owned & 2)
		read_iptables(h, "ip6tables-nft-save", "iptables-nft", true);
	if (legacy_tables("/proc/net/ip_tables_names"))
		read_iptables(h, "iptables-legacy-save", "iptables-legacy", false);
	if (legacy_tables("/proc/net/ip6_tables_names"))
		read_iptables(h, "ip6tables-legacy-save", "iptables-legacy", true);
}
