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
	char name[MW_IFNAME_LEN];
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

#endif
