/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Between the loader's files only (loader.c, loader_ifaces.c, loader_clsact.c): this
 * instance's clsact filters (where the kernel has no TCX), their owner tokens, and the sweep of
 * filters whose owner is gone. The commands reach the sweep through session_cleanup()
 * (loader.h).
 */
#ifndef MW_LOADER_CLSACT_H
#define MW_LOADER_CLSACT_H

#include <stdbool.h>
#include <stdio.h>
#include "loader.h"

/*
 * This instance's own filter of program pfd (named name) at priority prio (MW_TC_PRIO, or
 * MW_TC_PRIO_FWD for the second filter of a hook), on a clsact qdisc made if missing.
 */
int clsact_attach(struct mw_session *s, struct mw_ifinfo *i, bool ingress, int pfd,
		  const char *name, uint16_t prio);
/* This instance's filters, and the qdiscs it may remove once nothing else uses them. */
void clsact_release(struct mw_session *s);
/* A child that removes our filters if we are killed (ended by session_close). */
void watchdog_start(struct mw_session *s);
/* Remove the orphaned mw_ filters of ifindex (see loader_clsact.c); returns how many. */
int sweep_iface(int ifindex, const char *ifname, FILE *out, bool *mw_qdisc);
/* Remove the clsact qdisc of ifindex. */
int tc_qdisc_del(int ifindex);

#endif
