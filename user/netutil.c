// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE	/* setns */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "netutil.h"

static int if_query(int fd, const char *name, struct mw_ifinfo *o)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFMTU, &ifr))
		return -errno;
	o->mtu = ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		return -errno;
	o->up = ifr.ifr_flags & IFF_UP;
	o->loopback = ifr.ifr_flags & IFF_LOOPBACK;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		o->l3 = ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER && !o->loopback;
	snprintf(o->name, sizeof(o->name), "%s", name);
	return 0;
}

int net_iface(const char *name, struct mw_ifinfo *out)
{
	int fd, err;

	memset(out, 0, sizeof(*out));
	out->ifindex = if_nametoindex(name);
	if (!out->ifindex)
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = if_query(fd, name, out);
	close(fd);
	return err;
}

int net_ifaces(struct mw_ifinfo *out, int max)
{
	struct if_nameindex *ni = if_nameindex(), *p;
	int n = 0;

	if (!ni)
		return -errno;
	for (p = ni; p->if_index && n < max; p++) {
		if (net_iface(p->if_name, &out[n]) == 0)
			n++;
	}
	if_freenameindex(ni);
	return n;
}

uint32_t net_self_netns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st))
		return 0;
	return st.st_ino;
}

int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

/*
 * RTM_GETROUTE for one destination; the answer carries RTAX_MTU when a PMTU is cached or
 * configured, and RTAX_LOCK with the MTU bit when the route says `mtu lock`.
 */
int net_route_mtu(uint8_t family, const uint8_t *dst, uint32_t *mtu, uint32_t *oif, bool *locked)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req = {};
	char buf[8192];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct rtattr *rta;
	int alen = family == 6 ? 16 : 4, fd, len, err = -ENOENT;
	struct timeval tv = { .tv_sec = 1 };

	*mtu = 0;
	*oif = 0;
	*locked = false;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = family == 6 ? AF_INET6 : AF_INET;
	req.rt.rtm_dst_len = alen * 8;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), dst, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);

	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	len = recv(fd, buf, sizeof(buf), 0);
	if (len < 0) {
		err = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)len);
	     nh = NLMSG_NEXT(nh, len)) {
		struct rtmsg *rt;
		int rlen;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *ne = NLMSG_DATA(nh);

			err = ne->error;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWROUTE)
			continue;
		rt = NLMSG_DATA(nh);
		rlen = RTM_PAYLOAD(nh);
		err = 0;
		for (rta = RTM_RTA(rt); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
			if (rta->rta_type == RTA_OIF)
				*oif = *(uint32_t *)RTA_DATA(rta);
			if (rta->rta_type == RTA_METRICS) {
				struct rtattr *m = RTA_DATA(rta);
				int mlen = RTA_PAYLOAD(rta);

				for (; RTA_OK(m, mlen); m = RTA_NEXT(m, mlen))
					if (m->rta_type == RTAX_MTU)
						*mtu = *(uint32_t *)RTA_DATA(m);
					else if (m->rta_type == RTAX_LOCK)
						*locked = *(uint32_t *)RTA_DATA(m) & (1u << RTAX_MTU);
			}
		}
		break;
	}
out:
	close(fd);
	return err;
}

/* The best route of a dump for one destination being read. */
struct route_best {
	int len;		/* its prefix length (-1: none yet) */
	bool main;		/* in the main table */
	uint32_t mtu, oif;
	bool locked;
};

/* A dump matched against the destinations being read: each message is parsed once. */
struct route_match {
	uint8_t family;
	bool cloned;		/* listing exceptions: only a destination itself matches */
	int n;
	const uint8_t (*dst)[16];
	struct route_best *best;
};

static bool prefix_has(const uint8_t *pfx, int plen, const uint8_t *dst)
{
	int bytes = plen / 8, bits = plen % 8;

	if (memcmp(pfx, dst, bytes))
		return false;
	return !bits || !((pfx[bytes] ^ dst[bytes]) & (0xff00 >> bits));
}

static int route_match_cb(struct nlmsghdr *nh, void *ctx)
{
	struct route_match *m = ctx;
	struct rtmsg *rt = NLMSG_DATA(nh);
	int alen = m->family == 6 ? 16 : 4, rlen = RTM_PAYLOAD(nh);
	uint8_t pfx[16] = {};
	uint32_t mtu = 0, oif = 0, table = rt->rtm_table;
	bool locked = false, main;
	struct rtattr *rta;

	if (nh->nlmsg_type != RTM_NEWROUTE ||
	    rt->rtm_family != (m->family == 6 ? AF_INET6 : AF_INET))
		return 0;
	if (m->cloned != !!(rt->rtm_flags & RTM_F_CLONED))
		return 0;	/* a kernel that ignores the filter sends both */
	if (!m->cloned && rt->rtm_type != RTN_UNICAST)
		return 0;
	for (rta = RTM_RTA(rt); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		if (rta->rta_type == RTA_DST && RTA_PAYLOAD(rta) >= (unsigned)alen)
			memcpy(pfx, RTA_DATA(rta), alen);
		else if (rta->rta_type == RTA_OIF)
			oif = *(uint32_t *)RTA_DATA(rta);
		else if (rta->rta_type == RTA_TABLE)
			table = *(uint32_t *)RTA_DATA(rta);
		else if (rta->rta_type == RTA_METRICS) {
			struct rtattr *x = RTA_DATA(rta);
			int xlen = RTA_PAYLOAD(rta);

			for (; RTA_OK(x, xlen); x = RTA_NEXT(x, xlen))
				if (x->rta_type == RTAX_MTU)
					mtu = *(uint32_t *)RTA_DATA(x);
				else if (x->rta_type == RTAX_LOCK)
					locked = *(uint32_t *)RTA_DATA(x) & (1u << RTAX_MTU);
		}
	}
	/* An exception without an MTU is a redirect's: the kernel learned no PMTU. */
	if (m->cloned && (rt->rtm_dst_len != alen * 8 || !mtu))
		return 0;
	main = table == RT_TABLE_MAIN;
	for (int i = 0; i < m->n; i++) {
		struct route_best *b = &m->best[i];

		if (m->cloned ? memcmp(pfx, m->dst[i], alen) :
				!prefix_has(pfx, rt->rtm_dst_len, m->dst[i]))
			continue;
		/* Tables but not rules: the longest prefix, the main table's on a tie. */
		if (rt->rtm_dst_len < b->len || (rt->rtm_dst_len == b->len && !main))
			continue;
		b->len = rt->rtm_dst_len;
		b->main = main;
		b->mtu = mtu;
		b->oif = oif;
		b->locked = locked;
	}
	return 0;
}

static int route_dump(int nsfd, struct route_match *m)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.rt = { .rtm_family = m->family == 6 ? AF_INET6 : AF_INET,
			.rtm_flags = m->cloned ? RTM_F_CLONED : 0 },
	};

	for (int i = 0; i < m->n; i++)
		m->best[i].len = -1;
	return nl_request_ns(nsfd, &req, sizeof(req), route_match_cb, m);
}

int net_route_read(int nsfd, uint8_t family, int n, const uint8_t (*dst)[16],
		   struct mw_route_read *r)
{
	struct route_best ex[MW_ROUTE_READ_MAX], cf[MW_ROUTE_READ_MAX];
	struct route_match mx = { .family = family, .cloned = true, .n = n, .dst = dst, .best = ex };
	struct route_match mc = { .family = family, .n = n, .dst = dst, .best = cf };
	int err;

	if (n < 1 || n > MW_ROUTE_READ_MAX)
		return -EINVAL;
	err = route_dump(nsfd, &mx);
	if (!err)
		err = route_dump(nsfd, &mc);
	if (err)
		return err;
	for (int i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		if (ex[i].len >= 0) {
			r[i].exception = true;
			r[i].mtu = ex[i].mtu;
			r[i].oif = ex[i].oif;
			r[i].locked = ex[i].locked;
		} else if (cf[i].len >= 0) {
			r[i].mtu = cf[i].mtu;
			r[i].oif = cf[i].oif;
		}
		r[i].locked |= cf[i].len >= 0 && cf[i].locked;
	}
	return 0;
}

struct exc_list {
	uint8_t family;
	mw_exception_fn fn;
	void *ctx;
};

static int exc_cb(struct nlmsghdr *nh, void *ctx)
{
	struct exc_list *x = ctx;
	struct rtmsg *rt = NLMSG_DATA(nh);
	int alen = x->family == 6 ? 16 : 4, rlen = RTM_PAYLOAD(nh);
	struct mw_route_read r = { .exception = true };
	uint8_t dst[16] = {};
	bool have = false;
	struct rtattr *rta;

	if (nh->nlmsg_type != RTM_NEWROUTE ||
	    rt->rtm_family != (x->family == 6 ? AF_INET6 : AF_INET) ||
	    !(rt->rtm_flags & RTM_F_CLONED) || rt->rtm_dst_len != alen * 8)
		return 0;
	for (rta = RTM_RTA(rt); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
		if (rta->rta_type == RTA_DST && RTA_PAYLOAD(rta) >= (unsigned)alen) {
			memcpy(dst, RTA_DATA(rta), alen);
			have = true;
		} else if (rta->rta_type == RTA_OIF) {
			r.oif = *(uint32_t *)RTA_DATA(rta);
		} else if (rta->rta_type == RTA_METRICS) {
			struct rtattr *m = RTA_DATA(rta);
			int mlen = RTA_PAYLOAD(rta);

			for (; RTA_OK(m, mlen); m = RTA_NEXT(m, mlen))
				if (m->rta_type == RTAX_MTU)
					r.mtu = *(uint32_t *)RTA_DATA(m);
				else if (m->rta_type == RTAX_LOCK)
					r.locked = *(uint32_t *)RTA_DATA(m) & (1u << RTAX_MTU);
		}
	}
	/* An exception without an MTU is a redirect's: the kernel learned no PMTU. */
	if (have && r.mtu)
		x->fn(dst, &r, x->ctx);
	return 0;
}

int net_exceptions(int nsfd, uint8_t family, mw_exception_fn fn, void *ctx)
{
	struct exc_list x = { .family = family, .fn = fn, .ctx = ctx };
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.rt = { .rtm_family = family == 6 ? AF_INET6 : AF_INET, .rtm_flags = RTM_F_CLONED },
	};

	return nl_request_ns(nsfd, &req, sizeof(req), exc_cb, &x);
}

int nl_request(void *req, size_t len, int (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx)
{
	return nl_request_ns(-1, req, len, cb, ctx);
}

int nl_request_ns(int nsfd, void *req, size_t len, int (*cb)(struct nlmsghdr *nh, void *ctx),
		  void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	struct nlmsghdr *rq = req;
	bool dump = rq->nlmsg_flags & NLM_F_DUMP;
	static char buf[65536];
	int fd, err = 0, one = 1;
	ssize_t n;

	if (nsfd >= 0)
		fd = netns_socket(nsfd, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	else
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Without it a dump of another namespace's links is refused: harmless when unsupported. */
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	rq->nlmsg_flags |= NLM_F_REQUEST;
	if (!rq->nlmsg_seq)
		rq->nlmsg_seq = 1;
	if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			err = -errno;
			goto out;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			if (cb(nh, ctx))
				goto out;
			if (!dump)
				goto out;
		}
	}
out:
	close(fd);
	return err;
}

/* ---- other namespaces ------------------------------------------------------------------- */

static bool ns_file_is(const char *path, uint32_t inode)
{
	struct stat st;

	return stat(path, &st) == 0 && (uint32_t)st.st_ino == inode;
}

int netns_open(uint32_t inode, char *label, size_t len)
{
	struct dirent *e;
	char path[300];
	int fd = -ENOENT;
	DIR *d;

	if (label && len)
		label[0] = 0;
	if ((d = opendir("/run/netns"))) {
		while (fd < 0 && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
			if (!ns_file_is(path, inode))
				continue;
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
			else if (label && len)
				snprintf(label, len, "%s", e->d_name);
		}
		closedir(d);
	}
	if (fd >= 0 || !(d = opendir("/proc")))
		return fd;
	while (fd < 0 && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		if (!ns_file_is(path, inode))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
		} else if (label && len) {
			char comm[32] = "", cpath[300];

			snprintf(cpath, sizeof(cpath), "/proc/%s/comm", e->d_name);
			read_text(cpath, comm, sizeof(comm));
			snprintf(label, len, "pid %s (%s)", e->d_name, comm);
		}
	}
	closedir(d);
	return fd;
}

struct ns_call {
	int nsfd;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *ns_thread(void *p)
{
	struct ns_call *c = p;

	/* setns(CLONE_NEWNET) moves only this thread: the rest of mtuwatch stays where it is. */
	c->ret = setns(c->nsfd, CLONE_NEWNET) ? -errno : c->fn(c->arg);
	return NULL;
}

int netns_call(int nsfd, int (*fn)(void *arg), void *arg)
{
	struct ns_call c = { .nsfd = nsfd, .fn = fn, .arg = arg };
	pthread_t t;
	int err;

	if (nsfd < 0)
		return fn(arg);
	err = pthread_create(&t, NULL, ns_thread, &c);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return c.ret;
}

struct ns_sock {
	int domain, type, protocol;
};

static int ns_sock_fn(void *arg)
{
	struct ns_sock *s = arg;
	int fd = socket(s->domain, s->type, s->protocol);

	return fd < 0 ? -errno : fd;
}

int netns_socket(int nsfd, int domain, int type, int protocol)
{
	struct ns_sock s = { domain, type, protocol };

	return netns_call(nsfd, ns_sock_fn, &s);
}

/* The cookie of nsfd's namespace (SO_NETNS_COOKIE of a socket made there), 0 if unknown. */
uint64_t netns_cookie(int nsfd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = netns_socket(nsfd, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

static int link_cb(struct nlmsghdr *nh, void *ctx)
{
	struct mw_ifinfo *o = ctx;
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));

	if (nh->nlmsg_type != RTM_NEWLINK || len < 0)
		return 0;
	o->ifindex = ifi->ifi_index;
	o->up = ifi->ifi_flags & IFF_UP;
	o->loopback = ifi->ifi_flags & IFF_LOOPBACK;
	for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			snprintf(o->name, sizeof(o->name), "%.*s", (int)RTA_PAYLOAD(a),
				 (char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= 4)
			o->mtu = *(uint32_t *)RTA_DATA(a);
	}
	return 1;
}

int net_link_ns(int nsfd, uint32_t ifindex, struct mw_ifinfo *out)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
	};
	int err;

	memset(out, 0, sizeof(*out));
	err = nl_request_ns(nsfd, &req, sizeof(req), link_cb, out);
	if (err)
		return err;
	return out->ifindex == ifindex && out->name[0] ? 0 : -ENODEV;
}
