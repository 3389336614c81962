// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE	/* setns */
/* The host reading behind `doctor` (and live's causes): rtnetlink, sysctls; the firewall is
 * read by firewall.c. */
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
#include "firewall.h"
#include "hostcfg.h"
#include "netutil.h"

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
	uint32_t route_mtu = 0;

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
		uint8_t dst[1][16] = {};
		struct mw_route_read rr;

		/* Listed, not looked up: a lookup would revive a flushed IPv4 exception. */
		memcpy(dst[0], l->remote, l->remote_family == 6 ? 16 : 4);
		if (net_route_read(-1, l->remote_family, 1, dst, &rr) == 0) {
			route_mtu = rr.mtu;
			low = hc_link_by_ifindex(h, rr.oif);
		}
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
