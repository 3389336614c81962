// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet Too Big, whichever way it went: dropped on this host (ptb_dropped), accepted and the
 * route MTU read back lower (pmtu_learned), arrived yet changing nothing (ptb_ignored, and
 * why), or sent by this host as a router (ptb_sent).
 */
#include <stdio.h>
#include <string.h>
#include "core_int.h"

/* A PTB is judged this long after it arrived: the route read-back and a counter tick are in. */
#define PTB_JUDGE_NS (700 * 1000000ULL)
/* Counters that move this close to a PTB are taken to be about it. */
#define SNMP_WINDOW_NS (1500 * 1000000ULL)

static const char *ptb_allow(uint8_t family)
{
	return family == 6 ? "ICMPv6 type 2 (ip6tables -I INPUT -p ipv6-icmp --icmpv6-type "
			     "packet-too-big -j ACCEPT)" :
			     "ICMP type 3 code 4 (iptables -I INPUT -p icmp --icmp-type "
			     "fragmentation-needed -j ACCEPT)";
}

/* The next lower RFC 1191 plateau, for a PTB that advertises MTU 0 (pre-RFC 1191 routers). */
static uint32_t plateau_below(uint32_t size)
{
	static const uint32_t plateaus[] = { 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296,
					     68 };

	for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
		if (plateaus[i] < size)
			return plateaus[i];
	return 68;
}

/*
 * The kernel counts PTBs per kind and sends an event for the 1st, 2nd, 4th, 8th... of a kind,
 * and the driver the exact count now and then: a kind's count is the largest it was told (0,
 * in recordings of older versions, means one more). Returns how many are new.
 */
static uint32_t ptb_kind_count(struct path *p, const struct mw_event *e, uint32_t reason,
			       uint32_t n)
{
	struct ptb_kind *k = NULL;
	uint32_t add;

	for (int i = 0; i < MAX_PTB_KINDS && !k; i++)
		if (p->kinds[i].count && p->kinds[i].mtu == e->mtu &&
		    p->kinds[i].reason == reason && !memcmp(p->kinds[i].peer, e->peer, 16))
			k = &p->kinds[i];
	for (int i = 0; i < MAX_PTB_KINDS && !k; i++)
		if (!p->kinds[i].count)
			k = &p->kinds[i];
	if (!k) {
		/* More kinds than slots (forged from many sources): count them, as new. */
		return n ? n : 1;
	}
	if (!k->count) {
		memcpy(k->peer, e->peer, 16);
		k->mtu = e->mtu;
		k->reason = reason;
	}
	if (!n)
		n = k->count + 1;
	add = n > k->count ? n - k->count : 0;
	k->count += add;
	return add;
}

static uint32_t ptb_mtu_of(const struct mw_event *e)
{
	if (e->mtu)
		return e->mtu;
	return e->size ? plateau_below(e->size) : 0;
}

static bool snmp_near(const struct mw_core *c, enum mw_snmp k, const struct path *p)
{
	uint64_t t = c->snmp_ns[k];

	return t && t + SNMP_WINDOW_NS >= p->ptb_first_ns && t <= p->ptb_last_ns + SNMP_WINDOW_NS;
}

static const char *reason_str(struct mw_core *c, uint32_t v, char *buf, size_t len)
{
	const char *n = c->o.reason_name ? c->o.reason_name(v, c->o.reason_ctx) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "REASON_%u", v);
	return buf;
}

/*
 * The frees that say nothing about a PTB the kernel got: a socket's copy (its error queue's,
 * made after the kernel took the PTB; a raw or packet socket's) or a queue whose owner went
 * away (docs/design.md, "Which drops are evidence"). The kernel program sends none of them;
 * recordings made before it learned that may hold them (QUEUE_PURGE of `ping -w 1`'s queue).
 */
static bool reason_after_use(const char *name)
{
	static const char *const after[] = { "QUEUE_PURGE", "SOCKET_CLOSE", "SOCKET_FILTER",
					     "SOCKET_RCVBUFF", "SOCKET_BACKLOG", "PROTO_MEM",
					     "PACKET_SOCK_ERROR" };

	for (size_t i = 0; name && i < sizeof(after) / sizeof(after[0]); i++)
		if (!strcmp(name, after[i]))
			return true;
	return false;
}

void core_on_ptb_drop(struct mw_core *c, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct path *p;
	struct mw_finding f;
	char peer[64], dst[64], rb[32];
	uint32_t mtu = ptb_mtu_of(e);
	const char *rn;
	bool seen = false;

	if (reason_after_use(c->o.reason_name ? c->o.reason_name(e->aux, c->o.reason_ctx) : NULL))
		return;
	p = core_path_get(c, e->netns, fam, e->flow.daddr, true);
	core_path_touch(c, p, 0);
	p->ptb_dropped += ptb_kind_count(p, e, e->aux + 1, e->aux2);
	core_evidence(c, p, MW_V_PTB_DROPPED);
	p->route_due = 0;	/* dropped: the route cannot have learned from it */
	for (int i = 0; i < 4; i++)
		if (p->dropped_reasons[i] == e->aux + 1)
			seen = true;
	if (seen)
		return;
	for (int i = 0; i < 4; i++)
		if (!p->dropped_reasons[i]) {
			p->dropped_reasons[i] = e->aux + 1;
			break;
		}
	p->reported |= 1u << MW_V_PTB_DROPPED;

	core_finding_init(c, &f, MW_V_PTB_DROPPED, e->netns, p->family, p->dst, e->ifindex);
	memcpy(f.peer, e->peer, 16);
	f.mtu = mtu;
	f.reason = e->aux;
	f.flow = e->flow;
	f.outgoing = (e->dir & 1) == MW_DIR_OUT;
	f.count = p->ptb_dropped;
	rn = reason_str(c, e->aux, rb, sizeof(rb));
	snprintf(f.drop_reason, sizeof(f.drop_reason), "%s", rn);
	fmt_ip(e->family, e->peer, peer, sizeof(peer));
	fmt_ip(p->family, p->dst, dst, sizeof(dst));
	if (f.outgoing) {
		char to[64];

		core_add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
		/* The PTB goes back to the source of the packet it quotes. */
		fmt_ip(fam, e->flow.saddr, to, sizeof(to));
		snprintf(f.explain, sizeof(f.explain),
			 "this host's own %s (mtu %u) to %s for traffic to %s was dropped on its way "
			 "out (%s): the senders behind it never learn the path MTU",
			 core_ptb_words(p->family), mtu, to, dst, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "let %s leave this host (firewall OUTPUT and FORWARD rules), or clamp the MSS "
			 "on this router (%s)",
			 p->family == 6 ? "ICMPv6 type 2" : "ICMP type 3 code 4", core_clamp_cmd(p->family));
	} else if (!strcmp(rn, "IP_RPFILTER")) {
		core_add_cause(f.causes, &f.ncauses, MW_C_RP_FILTER);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and was dropped by "
			 "strict reverse-path filtering: %s is not routable back via %s (a router "
			 "answering from its management address)",
			 core_ptb_words(p->family), peer, mtu, dst, f.iface, peer, f.iface);
		snprintf(f.remedy, sizeof(f.remedy),
			 "have the router source ICMP errors from its interface address, or add a "
			 "route to %s via %s; loosening rp_filter to 2 only hides the problem and "
			 "weakens spoofing protection, not a production fix; meanwhile clamp the MSS "
			 "or lower the MTU to %u", peer, f.iface, mtu);
	} else if (strstr(rn, "NETFILTER") || strstr(rn, "NFT")) {
		core_add_cause(f.causes, &f.ncauses, MW_C_PTB_DROPPED_LOCAL);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and this host's "
			 "firewall dropped it (%s): the sender keeps sending too-large packets",
			 core_ptb_words(p->family), peer, mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "accept %s in INPUT; meanwhile lower the MTU to %u or clamp the MSS",
			 ptb_allow(p->family), mtu);
	} else {
		core_add_cause(f.causes, &f.ncauses, MW_C_PTB_DROPPED_LOCAL);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and was dropped on "
			 "this host (%s)", core_ptb_words(p->family), peer, mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "find why the kernel drops it (%s); meanwhile lower the MTU to %u or clamp "
			 "the MSS", rn, mtu);
	}
	memcpy(p->causes, f.causes, sizeof(p->causes));
	p->ncauses = f.ncauses;
	core_emit(c, &f, p);
}

/*
 * The MTU toward the path before a PTB changes it: the route's as last read, or the link's. A
 * PTB is "not lower" against this, never against the route MTU it taught the kernel itself.
 */
/* Path p's interface ifindex (p->ifindex, or an event's) in the namespace it belongs to. */
static struct iface *path_iface(struct mw_core *c, const struct path *p, uint32_t ifindex)
{
	if ((ifindex & MW_IFX_NODE) || self_ns(c, p->netns))
		return core_iface_get(c, ifindex & ~MW_IFX_NODE);
	return core_iface_get_ns(c, p->nsid, ifindex);
}

static uint32_t path_mtu_now(struct mw_core *c, struct path *p, uint32_t ifindex)
{
	struct iface *i = path_iface(c, p, p->ifindex ? p->ifindex : ifindex);

	if (p->route_seen && p->route_mtu)
		return p->route_mtu;
	return i ? i->mtu : 0;
}

void core_on_ptb_rx(struct mw_core *c, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct path *p = core_path_get(c, e->netns, fam, e->flow.daddr, true);
	uint32_t mtu = ptb_mtu_of(e);

	core_path_touch(c, p, 0);
	p->ptb_rx += ptb_kind_count(p, e, 0, e->aux);
	/* Another PTB: PMTUD still at work (learned), or still not heard (ignored). */
	core_evidence(c, p, MW_V_PMTU_LEARNED);
	core_evidence(c, p, MW_V_PTB_IGNORED);
	if (!p->ptb_first_ns) {
		p->ptb_first_ns = c->now;
		p->ptb_flow = e->flow;
		p->ptb_mtu = mtu;
		p->mtu_at_ptb = path_mtu_now(c, p, e->ifindex);
		memcpy(p->ptb_peer, e->peer, 16);
	} else if (mtu && mtu != p->ptb_mtu) {
		/* The path changed again (a hop further on is narrower now): judge the new one. */
		p->ptb_mtu = mtu;
		p->mtu_at_ptb = path_mtu_now(c, p, e->ifindex);
		memcpy(p->ptb_peer, e->peer, 16);
	}
	p->ptb_last_ns = c->now;
	/*
	 * Read what the kernel did with it now: a later change (a flush, an MTU set, a device
	 * deleted) must not stand for it. In the PTB's own namespace, whichever it is.
	 */
	if (!(e->dir & MW_DIR_F_SYNC) &&
	    (!(p->reported & (1u << MW_V_PMTU_LEARNED)) || (mtu && mtu != p->pmtu))) {
		p->route_due = c->now ? c->now : 1;
		p->route_in_ns = true;
		p->route_tries = 0;
	}
	if (!p->ifindex)
		p->ifindex = e->ifindex;
}

/*
 * A path through one of our overlays whose packets did not fit its underlay: the kernel's
 * tunnel (skb_tunnel_check_pmtu) lowers the inner destination's route MTU by itself, before it
 * encapsulates; a local sender gets no PTB (a bridged overlay's does, and takes the PTB way).
 * The exception is the evidence: read it back as a PTB's would be. mtu: what fits now (0: not
 * known), under: the underlay path's destination (NULL: not known).
 */
void core_overlay_read(struct mw_core *c, struct path *p, uint32_t overlay, uint32_t mtu,
		       const uint8_t *under)
{
	if ((p->reported & (1u << MW_V_PMTU_LEARNED)) && (!mtu || mtu == p->pmtu))
		return;
	p->encap_ifindex = overlay;
	if (mtu)
		p->encap_mtu = mtu;
	if (under)
		memcpy(p->encap_under, under, sizeof(p->encap_under));
	p->route_due = c->now + ROUTE_DELAY_NS;
	p->route_in_ns = true;
	p->route_tries = 0;
}

/*
 * The underlay path under learned mtu: every path through an overlay on it that sent more
 * than now fits inside has its exception made by the tunnel at its next packet.
 */
static void overlay_shrunk(struct mw_core *c, const struct path *under, uint32_t mtu)
{
	for (int i = 0; i < c->nlinks; i++) {
		const struct link *l = &c->links[i];

		if (l->kind != MW_LINK_OVERLAY || !l->lower_ifindex ||
		    l->lower_ifindex != under->ifindex || mtu <= l->overhead)
			continue;
		for (int j = 0; j < c->paths_hw; j++) {
			struct path *p = &c->paths[j];

			if (p->used && p != under && p->netns == under->netns &&
			    p->nsid == under->nsid && p->ifindex == l->ifindex &&
			    p->max_df > mtu - l->overhead)
				core_overlay_read(c, p, l->ifindex, mtu - l->overhead, under->dst);
		}
	}
}

/*
 * An overlay's facts came after its underlay learned a smaller MTU (live reads the devices on
 * its first tick, ~100 ms after it says it watches: pmtu.sh's first ping is often quicker):
 * judge the paths through it against what the underlay learned, as if in that order.
 */
void core_overlay_known(struct mw_core *c, const struct link *l)
{
	if (l->kind != MW_LINK_OVERLAY || !l->lower_ifindex)
		return;
	for (int j = 0; j < c->paths_hw; j++) {
		const struct path *u = &c->paths[j];

		if (u->used && self_ns(c, u->netns) && u->ifindex == l->lower_ifindex && u->pmtu &&
		    (u->reported & (1u << MW_V_PMTU_LEARNED)))
			overlay_shrunk(c, u, u->pmtu);
	}
}

static void overlay_explain(struct mw_core *c, const struct path *p, struct mw_finding *f,
			    uint32_t mtu, const char *dst)
{
	static const uint8_t zero[16];
	struct link *l = core_link_get(c, p->encap_ifindex);
	char ov[MW_IFNAME_LEN + 8], under[64];

	snprintf(ov, sizeof(ov), "%s", l ? l->name : "?");
	if (memcmp(p->encap_under, zero, sizeof(zero))) {
		uint8_t fam = 0;

		/* The underlay's family may differ from the inner one: find it by its path. */
		for (int i = 0; !fam && i < c->paths_hw; i++)
			if (c->paths[i].used && c->paths[i].netns == p->netns &&
			    !memcmp(c->paths[i].dst, p->encap_under, sizeof(zero)))
				fam = c->paths[i].family;
		fmt_ip(fam ? fam : p->family, p->encap_under, under, sizeof(under));
		snprintf(f->explain, sizeof(f->explain),
			 "the underlay path of overlay %s (to %s) learned a smaller MTU, and the "
			 "kernel's tunnel lowered the path MTU to %s to %u itself (%s's overhead "
			 "is %u), a route exception: Path MTU Discovery works through this overlay",
			 ov, under, dst, mtu, ov, l ? l->overhead : 0);
	} else {
		snprintf(f->explain, sizeof(f->explain),
			 "overlay %s could not send a packet to %s whole over its underlay, and the "
			 "kernel's tunnel lowered the path MTU to %s to %u itself, a route "
			 "exception: Path MTU Discovery works through this overlay", ov, dst, dst,
			 mtu);
	}
}

void core_on_route(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, false);
	bool listed = e->aux & MW_ROUTE_LISTED, learned = e->aux & MW_ROUTE_LEARNED;
	bool swept = e->aux & MW_ROUTE_SWEPT;
	struct iface *i;
	struct mw_finding f;
	char peer[64], dst[64], adv[48] = "";
	uint32_t want;

	/*
	 * A sweep after suppressed PTB events (driver's ptb_sweep) speaks only for paths whose
	 * PTB never came as an event: the others' own reads judge them.
	 */
	if (swept && p && (p->ptb_rx || p->ptb_dropped || p->encap_ifindex ||
			   (p->reported & (1u << MW_V_PMTU_LEARNED))))
		return;
	if (swept && !p)
		p = core_path_get(c, e->netns, e->family, e->flow.daddr, true);
	if (!p)
		return;
	want = p->ptb_rx ? p->ptb_mtu : p->encap_mtu;
	p->route_due = 0;
	if (!self_ns(c, p->netns) && !(e->aux & MW_ROUTE_IN_NS)) {
		p->via_ifindex = e->ifindex;
		return;
	}
	p->route_in_ns = false;
	p->route_seen = true;
	p->route_mtu = e->mtu;
	p->route_locked = e->aux & MW_ROUTE_LOCKED;
	p->route_learned = learned;
	/*
	 * Nothing learned yet, or not yet what the PTB advertised: the read may have come before
	 * the kernel handled the PTB (XDP sees it first), or before a lookup listed an IPv4
	 * exception. Again, a moment later.
	 */
	if (listed && (p->ptb_rx || p->encap_ifindex) && !p->ptb_dropped &&
	    p->route_tries < ROUTE_RETRIES && (!learned || (want && e->mtu > want))) {
		p->route_tries++;
		p->route_due = c->now + ROUTE_RETRY_NS(p->route_tries);
		p->route_in_ns = true;
	} else if (!self_ns(c, p->netns) && p->via_asked && !p->via_ifindex) {
		p->route_due = c->now;	/* our way towards it, still wanted */
	}
	/* Learned again, something else: the path changed since (pmtu.sh's `lock 552`). */
	if (!e->mtu || ((p->reported & (1u << MW_V_PMTU_LEARNED)) && e->mtu == p->pmtu) ||
	    (listed && !learned))
		return;
	if (e->ifindex)
		p->ifindex = e->ifindex;
	/* Our interface table: another namespace's ifindex names none of them. */
	i = self_ns(c, p->netns) ? core_iface_get(c, p->ifindex) : NULL;
	/*
	 * A listed exception is what the kernel learned, whatever the interface's MTU is now
	 * (raised since?). An older recording's lookup is judged as it was: below the interface
	 * MTU, and a locked route that did not fall to the PTB's MTU learned nothing.
	 */
	if (!listed && i && e->mtu >= i->mtu)
		return;
	if (!listed && p->route_locked && p->ptb_mtu && e->mtu > p->ptb_mtu)
		return;
	p->pmtu = e->mtu;
	p->pmtu_known = true;
	p->reported |= 1u << MW_V_PMTU_LEARNED;
	core_finding_init(c, &f, MW_V_PMTU_LEARNED, p->netns, p->family, p->dst, p->ifindex);
	memcpy(f.peer, p->ptb_peer, 16);
	f.mtu = e->mtu;
	f.count = p->ptb_rx;
	fmt_ip(p->family, p->ptb_peer, peer, sizeof(peer));
	fmt_ip(p->family, p->dst, dst, sizeof(dst));
	if (!p->ptb_rx && p->encap_ifindex) {
		overlay_explain(c, p, &f, e->mtu, dst);
	} else if (swept) {
		snprintf(f.explain, sizeof(f.explain),
			 "the kernel learned a path MTU of %u to %s, a route exception (on %s), from "
			 "a Packet Too Big that came with more new kinds than the kernel's event "
			 "budget passes (counted as suppressed, found by listing the exceptions): "
			 "Path MTU Discovery works on this path", e->mtu, dst, f.iface);
	} else if (listed) {
		if (p->ptb_mtu && p->ptb_mtu != e->mtu)
			snprintf(adv, sizeof(adv), " (it advertised %u)", p->ptb_mtu);
		char on[64];

		/* The interface's MTU as it is now: the link's changes reach the core (IFACE). */
		if (i)
			snprintf(on, sizeof(on), "interface %s has %u", f.iface, i->mtu);
		else
			snprintf(on, sizeof(on), "on %s", f.iface);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s was accepted and the kernel learned a path MTU of %u to %s"
			 "%s, a route exception (%s): Path MTU Discovery works on this path",
			 core_ptb_words(p->family), peer, e->mtu, dst, adv, on);
	} else {
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s was accepted and the route MTU to %s fell to %u (interface %s "
			 "has %u): Path MTU Discovery works on this path",
			 core_ptb_words(p->family), peer, dst, e->mtu, f.iface, i ? i->mtu : 0);
	}
	snprintf(f.remedy, sizeof(f.remedy),
		 "nothing urgent; if this path is permanent, set the interface or route MTU to %u "
		 "to save the first round of oversized packets", e->mtu);
	core_emit(c, &f, p);
	if (self_ns(c, p->netns))
		overlay_shrunk(c, p, e->mtu);
}

/* Why a PTB that arrived changed nothing: the route, the counters, the settings. */
static enum mw_ignore ignore_reason(struct mw_core *c, struct path *p, uint32_t cur)
{
	if (p->route_locked && !(p->route_mtu && p->route_mtu <= p->ptb_mtu))
		return MW_IGN_ROUTE_MTU_LOCKED;
	if (cur && p->ptb_mtu >= cur)
		return MW_IGN_MTU_NOT_LOWER;
	if (p->netns == c->o.self_netns || !c->o.self_netns) {
		if (snmp_near(c, MW_SNMP_OUT_OF_WINDOW_ICMPS, p))
			return MW_IGN_OUT_OF_WINDOW;
		if (snmp_near(c, p->family == 6 ? MW_SNMP_ICMP6_IN_ERRORS : MW_SNMP_ICMP_IN_ERRORS,
			      p))
			return MW_IGN_NO_SOCKET;
		if (p->family == 4 && c->no_pmtu_disc >= 2)
			return MW_IGN_PMTUDISC_OFF;
	}
	/* The route learned the MTU and the sender still sends larger: its socket ignores it. */
	if (p->route_mtu && p->route_mtu <= p->ptb_mtu)
		return MW_IGN_PMTUDISC_OFF;
	/*
	 * In our namespace every other way is ruled out: a real, in-window PTB with a lower MTU on
	 * an unlocked route, no sysctl discarding it. What remains is the sending socket's mode
	 * (IP_PMTUDISC_INTERFACE / OMIT, IPV6_PMTUDISC_INTERFACE), which leaves no trace outside
	 * the socket. Elsewhere the counters and settings are not ours to read.
	 */
	if (self_ns(c, p->netns))
		return MW_IGN_PMTUDISC_OFF;
	return MW_IGN_UNKNOWN;
}

static const enum mw_cause ignore_cause[MW_IGN_MAX] = {
	[MW_IGN_ROUTE_MTU_LOCKED] = MW_C_ROUTE_MTU_LOCKED,
	[MW_IGN_OUT_OF_WINDOW] = MW_C_OUT_OF_WINDOW_PTB,
	[MW_IGN_NO_SOCKET] = MW_C_UNTRANSLATED_PTB,
	[MW_IGN_PMTUDISC_OFF] = MW_C_PMTUDISC_OFF,
	[MW_IGN_MTU_NOT_LOWER] = MW_C_BAD_PTB_MTU,
};

static void explain_ignored(struct mw_core *c, struct path *p, struct mw_finding *f,
			    uint32_t cur)
{
	char peer[64], d[64], src[64];
	const char *w = core_ptb_words(p->family);

	fmt_ip(p->family, p->ptb_peer, peer, sizeof(peer));
	fmt_ip(p->family, p->dst, d, sizeof(d));
	fmt_ip(p->family, p->ptb_flow.saddr, src, sizeof(src));
	switch (f->ignore_reason) {
	case MW_IGN_ROUTE_MTU_LOCKED:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s (mtu %u) arrived and were not dropped, but the route to %s "
			 "has its MTU locked (`mtu lock`), so the kernel ignores them and keeps sending "
			 "segments larger than %u, which the path drops",
			 p->ptb_rx, w, peer, p->ptb_mtu, d, p->ptb_mtu);
		snprintf(f->remedy, sizeof(f->remedy),
			 "remove the lock from the route to %s (ip route change ... mtu %u without "
			 "`lock`), or set its MTU to what the PTB says (%u)", d, p->ptb_mtu,
			 p->ptb_mtu);
		break;
	case MW_IGN_OUT_OF_WINDOW:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s (mtu %u) arrived quoting a TCP sequence number this host does "
			 "not have in flight (TcpExtOutOfWindowIcmps rose), so the kernel ignored them: "
			 "they are forged (RFC 5927) or a middlebox rewrites sequence numbers without "
			 "fixing the header quoted inside ICMP",
			 p->ptb_rx, w, peer, p->ptb_mtu);
		snprintf(f->remedy, sizeof(f->remedy),
			 "find the middlebox that rewrites TCP sequence numbers (a firewall's "
			 "sequence randomisation) and make it translate ICMP payloads or turn the "
			 "feature off; if the PTBs are forged, block their source (%s)", peer);
		break;
	case MW_IGN_NO_SOCKET:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s (mtu %u) arrived quoting a flow from %s:%u that no socket here "
			 "has (Icmp InErrors rose), so they were discarded: a NAT or load balancer on "
			 "the way does not translate the header inside ICMP errors",
			 p->ptb_rx, w, peer, p->ptb_mtu, src, p->ptb_flow.sport);
		snprintf(f->remedy, sizeof(f->remedy),
			 "fix the NAT / load balancer's ICMP translation (conntrack must rewrite the "
			 "embedded header: check that nf_conntrack sees both directions); meanwhile "
			 "lower the MTU toward %s to %u or clamp the MSS", d, p->ptb_mtu);
		break;
	case MW_IGN_PMTUDISC_OFF:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s (mtu %u) arrived, but Path MTU Discovery is off for this "
			 "traffic (%s), so segments larger than %u keep leaving for %s",
			 p->ptb_rx, w, peer, p->ptb_mtu,
			 p->family == 4 && c->no_pmtu_disc >= 2 ?
				 "net.ipv4.ip_no_pmtu_disc discards them" :
				 "no counter moved, the route is not locked and did not learn, so the "
				 "sending socket's mode ignores the path MTU: IP_PMTUDISC_INTERFACE or "
				 "OMIT, IPV6_PMTUDISC_INTERFACE",
			 p->ptb_mtu, d);
		snprintf(f->remedy, sizeof(f->remedy),
			 "%s; or lower the sender's MTU toward %s to %u",
			 p->family == 4 && c->no_pmtu_disc >= 2 ?
				 "set net.ipv4.ip_no_pmtu_disc=0 (3 keeps TCP safe against forgery)" :
				 "let the application use IP_PMTUDISC_DO / WANT (the default)",
			 d, p->ptb_mtu);
		break;
	case MW_IGN_MTU_NOT_LOWER:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s advertise mtu %u, not below the current MTU of %u toward %s, "
			 "so the kernel has nothing to learn from them while the path still drops the "
			 "packets: the router reports the wrong MTU (often its ingress MTU)",
			 p->ptb_rx, w, peer, p->ptb_mtu, cur, d);
		snprintf(f->remedy, sizeof(f->remedy),
			 "fix the MTU configuration of the router at %s; meanwhile lower the MTU "
			 "toward %s or clamp the MSS", peer, d);
		break;
	default:
		snprintf(f->explain, sizeof(f->explain),
			 "%u %s from %s (mtu %u) arrived and were not dropped, yet segments larger "
			 "than %u keep leaving for %s and the route MTU did not fall: the kernel "
			 "ignored them for a reason mtuwatch cannot see",
			 p->ptb_rx, w, peer, p->ptb_mtu, p->ptb_mtu, d);
		snprintf(f->remedy, sizeof(f->remedy),
			 "check the route (ip route get %s), the sender's PMTU settings and nstat's "
			 "Icmp/TcpExt counters; meanwhile lower the MTU toward %s to %u", d, d,
			 p->ptb_mtu);
		break;
	}
}

/*
 * A PTB arrived, was not dropped, and yet what it asks for did not happen: segments above
 * its MTU keep leaving (or, when it advertises no lower MTU, the same segments stay stuck).
 */
void core_check_ptb_ignored(struct mw_core *c, struct path *p)
{
	struct mw_finding f;
	struct iface *i;
	uint32_t cur = 0;
	enum mw_ignore r;
	bool taken;

	if (!p->ptb_rx || p->ptb_dropped || p->ptb_judged ||
	    c->now < p->ptb_first_ns + PTB_JUDGE_NS)
		return;
	i = path_iface(c, p, p->ifindex);
	cur = p->route_mtu ? p->route_mtu : i ? i->mtu : 0;
	/*
	 * Measured against the MTU before the PTB: the exception it made (route_mtu == ptb_mtu)
	 * must not make it look "not lower" while fragments of a slow path are re-sent.
	 */
	if (p->mtu_at_ptb)
		cur = p->mtu_at_ptb;
	if (p->route_seen && p->route_mtu && p->route_mtu < (i ? i->mtu : 0) &&
	    p->route_mtu <= p->ptb_mtu && !p->over_after_ptb)
		goto accepted;	/* learned, and nothing larger left since: PMTUD works */
	/*
	 * The kernel holds an exception of the PTB's MTU (or lower), below the MTU before (or that
	 * unknown): it took the PTB. Only a sender that keeps sending larger ignores it; re-sends
	 * at that size (a slow path's fragments) say nothing. (IPv4 makes an exception of a PTB
	 * that advertises the MTU it had, too: that one stays "not lower".)
	 */
	taken = p->route_seen && p->route_learned && p->route_mtu && p->route_mtu <= p->ptb_mtu &&
		(!p->mtu_at_ptb || p->route_mtu < p->mtu_at_ptb);
	if (taken ? p->over_after_ptb < 2 :
		    cur && p->ptb_mtu >= cur ? p->resent_after_ptb < 2 : p->over_after_ptb < 2)
		return;		/* no sign (yet) that it was ignored */
	r = ignore_reason(c, p, taken ? 0 : cur);
	p->ptb_judged = true;
	p->ptb_forged = r == MW_IGN_OUT_OF_WINDOW || r == MW_IGN_NO_SOCKET;
	if (p->ignored_reasons & (1u << r))
		return;
	p->ignored_reasons |= 1u << r;
	core_finding_init(c, &f, MW_V_PTB_IGNORED, p->netns, p->family, p->dst, p->ifindex);
	memcpy(f.peer, p->ptb_peer, 16);
	f.mtu = p->ptb_mtu;
	f.count = p->ptb_rx;
	f.flow = p->ptb_flow;
	f.ignore_reason = r;
	if (ignore_cause[r])
		core_add_cause(f.causes, &f.ncauses, ignore_cause[r]);
	/* A forged PTB says nothing of the real hop, whose ICMP did not come either. */
	if (p->ptb_forged) {
		core_add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
		core_add_cause(f.causes, &f.ncauses, MW_C_L2_MTU_MISMATCH);
	}
	explain_ignored(c, p, &f, cur);
	if (!p->ptb_forged) {
		memcpy(p->causes, f.causes, sizeof(p->causes));
		p->ncauses = f.ncauses;
	}
	core_emit(c, &f, p);
	return;
accepted:
	p->ptb_judged = true;
}

void core_on_ptb_sent(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, true);
	struct mw_finding f;
	char src[64], dst[64];

	/*
	 * The egress is the path's interface: without it the summary shows "-". IPv4 reports each
	 * packet twice, icmp_send first and then the PKT_TOO_BIG drop; IPv6 (no icmpv6 tracepoint)
	 * and kernels whose ip_forward frees without a reason report it once. Count the first
	 * report and let the drop that follows an icmp_send be its echo, so the finding's count
	 * is never 0 and no packet counts twice.
	 */
	core_path_touch(c, p, e->ifindex);
	if (e->aux) {
		p->ptb_sent++;
		p->ptb_sent_icmp++;
	} else if (p->ptb_sent_icmp) {
		p->ptb_sent_icmp--;
	} else {
		p->ptb_sent++;
	}
	core_evidence(c, p, MW_V_PTB_SENT);
	if (p->reported & (1u << MW_V_PTB_SENT))
		return;
	p->reported |= 1u << MW_V_PTB_SENT;
	core_finding_init(c, &f, MW_V_PTB_SENT, e->netns, e->family, e->flow.daddr, e->ifindex);
	f.mtu = e->mtu;
	f.flow = e->flow;
	f.count = p->ptb_sent;
	fmt_ip(e->family, e->flow.saddr, src, sizeof(src));
	fmt_ip(e->family, e->flow.daddr, dst, sizeof(dst));
	snprintf(f.explain, sizeof(f.explain),
		 "this host forwards %s -> %s and drops its %u-byte packets because egress %s has "
		 "MTU %u: it sends %s and is the path's bottleneck",
		 src, dst, e->size, f.iface, e->mtu, core_ptb_words(e->family));
	snprintf(f.remedy, sizeof(f.remedy),
		 "make sure that the %s reaches %s (no ICMP filtering, a source address that passes "
		 "rp_filter), or clamp the MSS here: %s", core_ptb_words(e->family), src,
		 core_clamp_cmd(e->family));
	core_emit(c, &f, p);
}
