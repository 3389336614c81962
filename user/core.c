// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Diagnosis: correlate sizes, retransmissions, Packet Too Big arrivals and drops, route MTUs
 * and handshakes per path (destination, egress interface) and per flow.
 *
 * False alarms cost an SRE as much as misses, so each verdict needs positive evidence:
 *  - icmp_blackhole: the same DF segment is re-sent at the head of its flow at least twice and
 *    stays unacknowledged; nothing of its size got through since (only an ACK proves
 *    delivery, and proof ages: a path can shrink); the destination still answers; and no
 *    Packet Too Big that could explain it arrived or was dropped. Loss of small segments (a
 *    dead peer, a congested link) vetoes it.
 *  - ptb_dropped: the kernel said so (kfree_skb with a reason), nothing inferred.
 *  - ptb_ignored: a PTB arrived, was not dropped, and segments above its MTU keep leaving;
 *    the route read back and the namespace's counters say why.
 *  - pmtu_learned: the route MTU read back after a Packet Too Big arrived fell below the
 *    interface MTU.
 * Every alarm names its causes (enum mw_cause), most likely first.
 *
 * This file takes the events in (core_feed) and hands each to its verdict family; it keeps the
 * host's facts (interfaces, links, overlays, sysctls, counters), the timer (TICK) and the
 * names. The families: core_blackhole.c, core_ptb.c, core_stall.c; under them core_finding.c
 * (the finding's frame and shared phrases) and core_tables.c (paths, flows, interfaces).
 * core_int.h holds what they share and says who calls whom.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core_int.h"

static const char *const verdict_names[MW_V_MAX] = {
	[MW_V_NONE] = "none",
	[MW_V_ICMP_BLACKHOLE] = "icmp_blackhole",
	[MW_V_PTB_DROPPED] = "ptb_dropped",
	[MW_V_PMTU_LEARNED] = "pmtu_learned",
	[MW_V_PTB_SENT] = "ptb_sent",
	[MW_V_STALLED_TLS] = "stalled_tls",
	[MW_V_STALLED_SSH] = "stalled_ssh",
	[MW_V_PTB_IGNORED] = "ptb_ignored",
	[MW_V_PEER_UNREACHABLE] = "peer_unreachable",
};

static const char *const cause_names[MW_C_MAX] = {
	[MW_C_NONE] = "none",
	[MW_C_ICMP_FILTERED] = "icmp_filtered",
	[MW_C_L2_MTU_MISMATCH] = "l2_mtu_mismatch",
	[MW_C_PTB_DROPPED_LOCAL] = "ptb_dropped_local",
	[MW_C_RP_FILTER] = "rp_filter",
	[MW_C_ROUTE_MTU_LOCKED] = "route_mtu_locked",
	[MW_C_OUT_OF_WINDOW_PTB] = "out_of_window_ptb",
	[MW_C_UNTRANSLATED_PTB] = "untranslated_ptb",
	[MW_C_PMTUDISC_OFF] = "pmtudisc_off",
	[MW_C_OVERLAY_MTU] = "overlay_mtu",
	[MW_C_MTU_PROBING_ACTIVE] = "mtu_probing_active",
	[MW_C_BAD_PTB_MTU] = "bad_ptb_mtu",
};

static const char *const ignore_names[MW_IGN_MAX] = {
	[MW_IGN_UNKNOWN] = "unknown",
	[MW_IGN_ROUTE_MTU_LOCKED] = "route_mtu_locked",
	[MW_IGN_OUT_OF_WINDOW] = "out_of_window",
	[MW_IGN_NO_SOCKET] = "no_socket",
	[MW_IGN_PMTUDISC_OFF] = "pmtudisc_off",
	[MW_IGN_MTU_NOT_LOWER] = "mtu_not_lower",
};

const char *cause_name(enum mw_cause c)
{
	return c < MW_C_MAX ? cause_names[c] : "unknown";
}

const char *ignore_name(enum mw_ignore r)
{
	return r < MW_IGN_MAX ? ignore_names[r] : "unknown";
}

const char *verdict_name(enum mw_verdict v)
{
	return v < MW_V_MAX ? verdict_names[v] : "unknown";
}

static const uint16_t default_hints[] = { 22, 443, 636, 6443, 7001, 8443, 9142 };

struct mw_core *core_new(const struct mw_core_opts *o)
{
	struct mw_core *c = calloc(1, sizeof(*c));
	int n = 0;

	if (!c)
		return NULL;
	c->o = *o;
	/* Chains stay short even for addresses chosen to collide (forged Packet Too Big). */
	if (getentropy(&c->hash_seed, sizeof(c->hash_seed)))
		c->hash_seed = (uintptr_t)c * 0x9e3779b97f4a7c15ULL;
	while (n < MW_MAX_HINT_PORTS && c->o.hint_ports[n])
		n++;
	for (size_t i = 0; i < sizeof(default_hints) / sizeof(default_hints[0]); i++)
		if (n < MW_MAX_HINT_PORTS)
			c->o.hint_ports[n++] = default_hints[i];
	if (!c->o.stall_after_s)
		c->o.stall_after_s = 3;
	c->mtu_probing = c->no_pmtu_disc = -1;
	return c;
}

void core_free(struct mw_core *c)
{
	free(c);
}

uint64_t core_lost(const struct mw_core *c)
{
	return c->lost;
}

uint32_t core_findings(const struct mw_core *c, enum mw_verdict v)
{
	return v < MW_V_MAX ? c->nfind[v] : 0;
}

static bool wanted(struct mw_core *c, uint32_t netns)
{
	return c->o.all_netns || !c->o.self_netns || netns == c->o.self_netns;
}

/* ---- host facts ------------------------------------------------------------------------- */

static void on_link(struct mw_core *c, const struct mw_event *e)
{
	struct link *l = core_link_get(c, e->ifindex);

	if (!l) {
		if (c->nlinks >= MAX_LINKS)
			return;
		l = &c->links[c->nlinks++];
	}
	l->ifindex = e->ifindex;
	l->kind = e->aux;
	l->mtu = e->mtu;
	l->lower_mtu = e->size;
	l->overhead = e->aux2;
	l->lower_ifindex = l->kind == MW_LINK_OVERLAY ? e->seq : 0;
	/* Names from a file are bounded by their fields, whatever the file says. */
	snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(e->ifname), e->ifname);
	snprintf(l->lower, sizeof(l->lower), "%.*s", (int)sizeof(e->peer), (const char *)e->peer);
	core_overlay_known(c, l);
}

/*
 * An overlay could not send an outer packet: remember the inner destination, whose path (a
 * pod's, maybe in another namespace) then names the overlay. Any namespace: the pod's own
 * mtuwatch hears the node's drop.
 */
static void on_encap_drop(struct mw_core *c, const struct mw_event *e)
{
	struct encap *x = NULL;

	for (int i = 0; i < c->nencaps; i++)
		if (c->encaps[i].family == e->family &&
		    !memcmp(c->encaps[i].dst, e->flow.daddr, addr_len(e->family)))
			x = &c->encaps[i];
	if (!x) {
		if (c->nencaps < MAX_ENCAPS)
			x = &c->encaps[c->nencaps++];
		else
			x = &c->encaps[c->encap_next++ % MAX_ENCAPS];
	}
	memset(x, 0, sizeof(*x));
	x->family = e->family;
	memcpy(x->dst, e->flow.daddr, addr_len(e->family));
	x->lower_mtu = e->mtu;
	x->overhead = e->aux;
	x->inner = e->aux2;
	snprintf(x->lower, sizeof(x->lower), "%.*s", (int)sizeof(e->ifname), e->ifname);
	/*
	 * Our own overlay, sending: before the outer packet was dropped the kernel's tunnel
	 * (skb_tunnel_check_pmtu) lowered the inner destination's route MTU itself, with no PTB
	 * to the sender. Read that exception back (a router's drop of another host's outer packet
	 * has no path of ours through an overlay: nothing to read).
	 */
	if (e->netns && wanted(c, e->netns) && self_ns(c, e->netns)) {
		struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, false);
		struct link *l = p ? core_link_get(c, p->ifindex) : NULL;

		if (l && l->kind == MW_LINK_OVERLAY)
			core_overlay_read(c, p, l->ifindex, 0, NULL);
	}
}

static void on_sysctl(struct mw_core *c, const struct mw_event *e)
{
	if (e->aux == MW_SYS_TCP_MTU_PROBING)
		c->mtu_probing = e->size;
	else if (e->aux == MW_SYS_IP_NO_PMTU_DISC)
		c->no_pmtu_disc = e->size;
}

static void on_snmp(struct mw_core *c, const struct mw_event *e)
{
	if (e->aux < 4 && e->size)
		c->snmp_ns[e->aux] = c->now;
}

/* Loopback never crosses a link: no MTU path, in any namespace. */
static bool is_loopback(uint8_t family, const uint8_t *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == 4)
		return a[0] == 127;
	if (family == 6)
		return !memcmp(a, v6lo, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
	return false;
}

static void on_tick(struct mw_core *c)
{
	for (int i = 0; i < c->paths_hw; i++) {
		struct path *p = &c->paths[i];

		if (!p->used)
			continue;
		if (p->ptb_rx)
			core_check_ptb_ignored(c, p);
		if (p->nsegs)
			core_check_blackhole(c, p);
	}
	for (int i = 0; i < c->flows_hw; i++)
		if (c->flows[i].used)
			core_check_stall(c, &c->flows[i]);
}

/*
 * An interface, ours or (the driver asked it there) another namespace's: kept per identity,
 * since an ifindex means something only in its own namespace.
 */
static void on_iface(struct mw_core *c, const struct mw_event *e)
{
	uint32_t nsid = 0;
	struct iface *i;

	if (e->netns && !self_ns(c, e->netns)) {
		if (!c->o.all_netns)
			return;
		core_ns_event(c, e);
		nsid = core_nsid(c, e->netns);
	}
	if (e->aux & MW_IFACE_GONE) {
		core_iface_drop(c, nsid, e->ifindex);
		return;
	}
	i = core_iface_get_ns(c, nsid, e->ifindex);
	if (!i) {
		if (c->nifaces >= MAX_IFACES)
			return;
		i = &c->ifaces[c->nifaces++];
	}
	i->nsid = nsid;
	i->ifindex = e->ifindex;
	i->mtu = e->mtu;
	memcpy(i->name, e->ifname, sizeof(i->name));
	i->name[sizeof(i->name) - 1] = 0;
}

/*
 * An IPv4 peer of an AF_INET6 socket (::ffff:a.b.c.d) is an IPv4 flow: every packet on the
 * wire is IPv4. The kernel side says so where it reads the socket (sk_flow); a recording of an
 * older build has such flows as IPv6 ones, with IPv6's 40-byte header counted in a re-send's
 * size. Read them as the kernel side now sends them, so that a report of an old recording
 * never says ::ffff: or 9020. Only socket events (state, re-sends) can carry them: a packet's
 * addresses on the wire are never mapped. Returns e, or tmp holding the IPv4 event.
 */
static const struct mw_event *unmap_v4(const struct mw_event *e, struct mw_event *tmp)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (e->flow.family != 6 || memcmp(e->flow.daddr, mapped, sizeof(mapped)))
		return e;
	*tmp = *e;
	tmp->flow.family = 4;
	if (tmp->family == 6)
		tmp->family = 4;
	memset(tmp->flow.daddr, 0, sizeof(tmp->flow.daddr));
	memcpy(tmp->flow.daddr, &e->flow.daddr[12], 4);
	memset(tmp->flow.saddr, 0, sizeof(tmp->flow.saddr));
	if (!memcmp(e->flow.saddr, mapped, sizeof(mapped)))
		memcpy(tmp->flow.saddr, &e->flow.saddr[12], 4);
	if (e->type == MW_EV_RETRANS && tmp->size > 40)
		tmp->size -= 20;
	return tmp;
}

void core_feed(struct mw_core *c, const struct mw_event *e)
{
	struct mw_event v4;

	if (e->ts_ns > c->now)
		c->now = e->ts_ns;
	switch (e->type) {
	case MW_EV_IFACE:
		on_iface(c, e);
		return;
	case MW_EV_TICK:
		on_tick(c);
		return;
	case MW_EV_LOST:
		c->lost = e->aux;
		return;
	case MW_EV_ATTACH:
		return;
	case MW_EV_LINK:
		on_link(c, e);
		return;
	case MW_EV_SYSCTL:
		on_sysctl(c, e);
		return;
	case MW_EV_SNMP:
		on_snmp(c, e);
		return;
	case MW_EV_ENCAP_DROP:
		on_encap_drop(c, e);
		return;
	default:
		break;
	}
	if (!wanted(c, e->netns))
		return;
	core_ns_event(c, e);
	e = unmap_v4(e, &v4);
	/* Another namespace's flow seen at our end of its veth: the ifindex is ours. */
	if ((e->dir & MW_DIR_F_NODE_IF) && e->ifindex && !self_ns(c, e->netns)) {
		if (e != &v4) {
			v4 = *e;
			e = &v4;
		}
		v4.ifindex |= MW_IFX_NODE;
	}
	/* Loopback is never an MTU path, in whatever namespace (--all-netns sees them all). */
	if (is_loopback(e->flow.family ? e->flow.family : e->family, e->flow.daddr) ||
	    is_loopback(e->flow.family ? e->flow.family : e->family, e->flow.saddr))
		return;
	switch (e->type) {
	case MW_EV_DF_MAX:
	case MW_EV_DF_OVER:
		core_on_df_max(c, e);
		break;
	case MW_EV_RETRANS:
	case MW_EV_RESEND:
		core_on_retrans(c, e);
		break;
	case MW_EV_PTB_RX:
		core_on_ptb_rx(c, e);
		break;
	case MW_EV_PTB_DROP:
		core_on_ptb_drop(c, e);
		break;
	case MW_EV_PTB_SENT:
		core_on_ptb_sent(c, e);
		break;
	case MW_EV_ROUTE:
		core_on_route(c, e);
		break;
	case MW_EV_HS:
		core_on_hs_steps(c, e);
		break;
	case MW_EV_SEG_MAX:
		core_on_seg_max(c, e);
		break;
	case MW_EV_ACKED:
		core_on_acked(c, e);
		break;
	case MW_EV_RECOVERED:
		core_on_recovered(c, e);
		break;
	case MW_EV_DELIVERED:
		core_on_delivered(c, e);
		break;
	case MW_EV_PROBE:
		core_on_probe(c, e);
		break;
	case MW_EV_SYN_MSS:
		/* A SYN-ACK came back: its source answers (flow is in the packet's direction). */
		if (e->aux2)
			core_path_alive(c, e->netns, e->flow.family, e->flow.saddr);
		break;
	case MW_EV_STATE:
		core_on_state(c, e);
		break;
	default:
		break;
	}
}

int core_route_requests(struct mw_core *c, uint64_t now_ns, struct mw_event *out, int max)
{
	int n = 0;

	for (int i = 0; i < c->paths_hw && n < max; i++) {
		struct path *p = &c->paths[i];

		if (!p->used || !p->route_due || p->route_due > now_ns)
			continue;
		/* Another namespace's: its PTB's exception there, or which way we route to it. */
		if (!self_ns(c, p->netns) && !p->via_asked && !p->route_in_ns)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = MW_EV_ROUTE;
		out[n].netns = p->netns;
		out[n].family = p->family;
		out[n].flow.family = p->family;
		memcpy(out[n].flow.daddr, p->dst, 16);
		out[n].ifindex = p->ifindex & ~MW_IFX_NODE;
		out[n].aux = p->route_in_ns || self_ns(c, p->netns) ? MW_ROUTE_IN_NS : 0;
		/* Ask again while more PTBs arrive; core_on_route clears it. */
		p->route_due = 0;
		n++;
	}
	return n;
}

int core_probe_requests(struct mw_core *c, struct mw_event *out, int max)
{
	int n = 0;

	for (int i = 0; i < c->paths_hw && n < max; i++) {
		struct path *p = &c->paths[i];

		if (!p->used || p->confirm != CONFIRM_WANTED)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = MW_EV_PROBE;
		out[n].netns = p->netns;
		out[n].family = p->family;
		out[n].flow.family = p->family;
		out[n].flow.proto = 6;
		memcpy(out[n].flow.daddr, p->dst, 16);
		out[n].flow.sport = p->confirm_sport;
		out[n].flow.dport = p->confirm_dport;
		out[n].size = p->confirm_size;
		out[n].ifindex = p->ifindex & ~MW_IFX_NODE;
		p->confirm = CONFIRM_ASKED;
		n++;
	}
	return n;
}

uint64_t core_route_next(const struct mw_core *c)
{
	uint64_t next = 0;

	for (int i = 0; i < c->paths_hw; i++) {
		const struct path *p = &c->paths[i];

		if (p->used && p->route_due && (!next || p->route_due < next) &&
		    (self_ns(c, p->netns) || p->via_asked || p->route_in_ns))
			next = p->route_due;
	}
	return next;
}

void core_paths(struct mw_core *c, void (*fn)(const struct mw_path_summary *p, void *ctx),
		void *ctx)
{
	for (int i = 0; i < c->paths_hw; i++) {
		struct path *p = &c->paths[i];
		struct mw_path_summary s = {};

		if (!p->used || (!p->retrans && !p->ptb_rx && !p->ptb_dropped && !p->ptb_sent &&
				 !p->worst))
			continue;
		s.netns = p->netns;
		s.family = p->family;
		memcpy(s.dst, p->dst, 16);
		s.ifindex = p->ifindex & ~MW_IFX_NODE;
		s.foreign_netns = !self_ns(c, p->netns);
		if (s.foreign_netns) {
			const struct nsid *n = core_ns_get(c, p->nsid);

			if (n)
				s.ns = n->l;
			core_ns_iface(c, p->nsid, p->ifindex, s.iface, sizeof(s.iface));
		} else {
			iface_name(c, p->ifindex, s.iface, sizeof(s.iface));
		}
		s.max_df = p->max_df;
		s.retrans = p->retrans;
		s.large_retrans = p->large_retrans;
		s.ptb_rx = p->ptb_rx;
		s.ptb_dropped = p->ptb_dropped;
		s.ptb_sent = p->ptb_sent;
		s.pmtu = p->pmtu;
		s.pmtu_known = p->pmtu_known;
		s.verdict = p->worst;
		if (core_standing(c, p)) {
			s.standing = p->standing;
			s.standing_ns = p->standing_ns;
			s.standing_cause = p->standing_cause;
		}
		fn(&s, ctx);
	}
}
