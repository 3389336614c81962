/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The devices of this namespace as rtnetlink describes them (RTM_NEWLINK / RTM_DELLINK): at
 * start (a dump) and as they change (a socket on RTNLGRP_LINK the driver polls). Parsing only:
 * what to do with a device is the driver's and the loader's business.
 */
#ifndef MW_LINKS_H
#define MW_LINKS_H

#include <stdbool.h>
#include "netutil.h"

/* fn gets each device; del: it was deleted (only name and ifindex are then meaningful). */
typedef void (*mw_link_fn)(const struct mw_ifinfo *i, bool del, void *ctx);

/* Every device now (a dump), then the masters found among them; returns 0 or -errno. */
int links_dump(mw_link_fn fn, void *ctx);
/* Fill master, is_master and fwd of the n devices in ifs from a dump: 0 or -errno. */
int links_fill(struct mw_ifinfo *ifs, int n);
/* A non-blocking socket that hears every link change of this namespace, or -errno. */
int links_socket(void);
/* What fd holds, each to fn; returns messages read, or -ENOBUFS when some were lost
 * (then dump again), or another -errno. */
int links_read(int fd, mw_link_fn fn, void *ctx);

#endif
