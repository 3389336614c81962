/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the user side asks the network stack: interfaces, route MTUs, the namespace. */
#ifndef MW_NETUTIL_H
#define MW_NETUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mtuwatch.h"

struct mw_ifinfo {
	uint32_t ifindex;
	uint32_t mtu;
	bool up;
	bool loopback;
	bool l3;		/* no link-layer header: tun, WireGuard, ipip (not ARPHRD_ETHER) */
	/* from rtnetlink (links.c), not from net_iface(): */
	bool is_master;		/* a bridge, bond or team: what it receives came in at its ports */
	bool fwd;		/* a veth whose peer is in another namespace */
	uint32_t master;	/* ifindex of its bridge or bond, 0 if none */
	char name[MW_IFNAME_LEN];
	bool xdp_ours;		/* our XDP program is attached there (loader) */
	bool fwd_tc;		/* mw_tc_fwd_out is attached there (loader) */
};

/* Interfaces of the current namespace; returns the count or -errno. */
int net_ifaces(struct mw_ifinfo *out, int max);
/* One interface by name: 0, or -ENODEV. */
int net_iface(const char *name, struct mw_ifinfo *out);
/*
 * The route MTU towards dst (cached or configured; 0 when the route has none), its egress
 * interface, and whether the MTU is locked (`mtu lock`: the kernel ignores Packet Too Big).
 */
int net_route_mtu(uint8_t family, const uint8_t *dst, uint32_t *mtu, uint32_t *oif, bool *locked);
/*
 * The kernel's PMTU towards each dst in the namespace of nsfd (-1: ours), read without creating
 * anything: the exceptions are listed (a dump of cloned routes, as `ip route show cache`) and
 * the configured route found by longest prefix in a dump of the tables. A lookup
 * (RTM_GETROUTE for dst) would bind, and so bring back, an IPv4 exception that a flush made
 * stale. mtu: the exception's when exception, else the configured route's (0: none).
 */
struct mw_route_read {
	uint32_t mtu;
	uint32_t oif;
	bool locked;		/* `mtu lock` on the route, or a locked exception */
	bool exception;		/* a cached route with an MTU for dst: the kernel learned it */
};
/* r[i] for dst[i], i < n <= MW_ROUTE_READ_MAX, of one family: one dump of each kind for all. */
#define MW_ROUTE_READ_MAX 16
int net_route_read(int nsfd, uint8_t family, int n, const uint8_t (*dst)[16],
		   struct mw_route_read *r);
/*
 * Every PMTU exception of one family in the namespace of nsfd (-1: ours), listed as
 * net_route_read lists them: fn(dst, r, ctx) for each (r->exception set).
 */
typedef void (*mw_exception_fn)(const uint8_t *dst, const struct mw_route_read *r, void *ctx);
int net_exceptions(int nsfd, uint8_t family, mw_exception_fn fn, void *ctx);
/* Inode number of this process's network namespace (0 on failure). */
uint32_t net_self_netns(void);
/* Read a small text file (sysctl) into buf, newline stripped; -errno on failure. */
int read_text(const char *path, char *buf, size_t len);

struct nlmsghdr;
/*
 * One rtnetlink request (req: a complete message; NLM_F_DUMP set for a dump) on a fresh socket
 * in the current namespace. cb runs for every answer message other than DONE and ERROR; a
 * nonzero return from cb stops early. Returns 0, the kernel's -errno, or a socket -errno.
 */
int nl_request(void *req, size_t len, int (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx);
/* The same in the namespace of nsfd (a /run/netns or /proc/PID/ns/net file; -1: ours). */
int nl_request_ns(int nsfd, void *req, size_t len, int (*cb)(struct nlmsghdr *nh, void *ctx),
		  void *ctx);

/*
 * Other namespaces. netns_open: an open fd of a namespace file whose inode is inode, from
 * /run/netns (label = its name) or else /proc/PID/ns/net (label = "pid N (comm)"); -ENOENT
 * when no such namespace is reachable. netns_call: fn(arg) run in a short-lived thread that
 * entered nsfd's namespace (the process stays where it is); its return value, or -errno.
 * netns_socket: a socket created in nsfd's namespace (it stays there), or -errno.
 */
int netns_open(uint32_t inode, char *label, size_t len);
int netns_call(int nsfd, int (*fn)(void *arg), void *arg);
int netns_socket(int nsfd, int domain, int type, int protocol);
/* The namespace's cookie (SO_NETNS_COOKIE: never reused while the host runs), 0 if unknown. */
uint64_t netns_cookie(int nsfd);
/* One interface of nsfd's namespace by ifindex (RTM_GETLINK there): 0, -ENODEV or -errno. */
int net_link_ns(int nsfd, uint32_t ifindex, struct mw_ifinfo *out);

#endif
