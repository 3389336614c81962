/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Between loader.c and loader_ifaces.c only: attaching one interface of the session. */
#ifndef MW_LOADER_INT_H
#define MW_LOADER_INT_H

#include "loader.h"

/* Everything interface k of s gets: tc egress, XDP or tc ingress, its fwd_ifs mark. */
void loader_attach_iface(struct mw_session *s, int k);
bool loader_fwd_out(struct mw_session *s, struct mw_ifinfo *i);

#endif
