// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rtnetlink link messages, parsed into struct mw_ifinfo. A bridge, bond or team is a master:
 * every packet it receives came in through one of its ports first (which is why XDP on a
 * master blocks XDP on its ports, and why its arrivals are watched there). A veth whose
 * RTM_NEWLINK carries IFLA_LINK_NETNSID has its peer in another namespace: this end is where
 * that namespace's traffic enters and leaves this one (bpf/maps.h fwd_ifs).
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "links.h"

#ifndef RTNLGRP_LINK
#define RTNLGRP_LINK 1
#endif

static bool kind_is_master(const char *kind)
{
	return !strcmp(kind, "bridge") || !strcmp(kind, "bond") || !strcmp(kind, "team");
}

/* One RTM_NEWLINK / RTM_DELLINK: 0 and i filled, or -EINVAL for anything else. */
static int parse_link(struct nlmsghdr *nh, struct mw_ifinfo *i, bool *del)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	char kind[16] = "";
	bool netnsid = false;

	if ((nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) || len < 0)
		return -EINVAL;
	memset(i, 0, sizeof(*i));
	*del = nh->nlmsg_type == RTM_DELLINK;
	i->ifindex = ifi->ifi_index;
	i->up = ifi->ifi_flags & IFF_UP;
	i->loopback = ifi->ifi_flags & IFF_LOOPBACK;
	/* As net_iface() says it: no Ethernet header (tun, WireGuard, ipip). */
	i->l3 = ifi->ifi_type != ARPHRD_ETHER && !i->loopback;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(i->name, sizeof(i->name), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
			break;
		case IFLA_MTU:
			if (RTA_PAYLOAD(a) >= 4)
				memcpy(&i->mtu, RTA_DATA(a), 4);
			break;
		case IFLA_MASTER:
			if (RTA_PAYLOAD(a) >= 4)
				memcpy(&i->master, RTA_DATA(a), 4);
			break;
		case IFLA_LINK_NETNSID:
			netnsid = true;
			break;
		case IFLA_LINKINFO: {
			int ilen = RTA_PAYLOAD(a);

			for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen))
				if (b->rta_type == IFLA_INFO_KIND)
					snprintf(kind, sizeof(kind), "%.*s", (int)RTA_PAYLOAD(b),
						 (char *)RTA_DATA(b));
			break;
		}
		}
	}
	i->is_master = kind_is_master(kind);
	i->fwd = netnsid && !strcmp(kind, "veth");
	return 0;
}

struct dump_ctx {
	mw_link_fn fn;
	void *ctx;
	struct mw_ifinfo *ifs;		/* links_fill */
	int n;
};

static int dump_cb(struct nlmsghdr *nh, void *arg)
{
	struct dump_ctx *c = arg;
	struct mw_ifinfo i;
	bool del;

	if (parse_link(nh, &i, &del))
		return 0;
	if (c->fn)
		c->fn(&i, del, c->ctx);
	for (int k = 0; k < c->n; k++) {
		/* A device that is some device's master is one, whatever its kind. */
		if (i.master && c->ifs[k].ifindex == i.master)
			c->ifs[k].is_master = true;
		if (c->ifs[k].ifindex != i.ifindex)
			continue;
		c->ifs[k].master = i.master;
		c->ifs[k].is_master |= i.is_master;
		c->ifs[k].fwd = i.fwd;
	}
	return 0;
}

static int dump(struct dump_ctx *c)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = RTM_GETLINK,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nh.nlmsg_seq = 1,
		.ifi.ifi_family = AF_UNSPEC,
	};

	return nl_request(&req, req.nh.nlmsg_len, dump_cb, c);
}

int links_dump(mw_link_fn fn, void *ctx)
{
	struct dump_ctx c = { .fn = fn, .ctx = ctx };

	return dump(&c);
}

int links_fill(struct mw_ifinfo *ifs, int n)
{
	struct dump_ctx c = { .ifs = ifs, .n = n };

	for (int k = 0; k < n; k++)
		ifs[k].is_master = ifs[k].fwd = false;
	return dump(&c);
}

int links_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1u << (RTNLGRP_LINK - 1) };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int size = 1 << 20;

	if (fd < 0)
		return -errno;
	/* A burst of container starts must not overflow it (then: a dump, see links_read). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int links_read(int fd, mw_link_fn fn, void *ctx)
{
	char buf[32768] __attribute__((aligned(4)));
	int n = 0, lost = 0;

	for (;;) {
		int len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = 1;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		if (len == 0)
			break;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			struct mw_ifinfo i;
			bool del;

			if (parse_link(nh, &i, &del))
				continue;
			fn(&i, del, ctx);
			n++;
		}
	}
	return lost ? -ENOBUFS : n;
}
