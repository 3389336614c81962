// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The finding every verdict family fills: its frame (time, namespace, path, interface name),
 * its causes, its delivery (core_emit, which also keeps each path's worst verdict for the
 * summary), and the phrases and commands that several families' explanations share.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "core_int.h"

/*
 * How alarming each verdict is, for the summary's worst-of column. Verdicts of one rank are
 * ordered as enum mw_verdict lists them (icmp_blackhole first), so that the column does not
 * depend on which came first: live and a replay of its recording may order two findings of a
 * tick differently, and must still agree.
 */
static const int severity[MW_V_MAX] = {
	[MW_V_PMTU_LEARNED] = 1, [MW_V_PTB_SENT] = 2, [MW_V_STALLED_TLS] = 3,
	[MW_V_STALLED_SSH] = 3, [MW_V_PTB_IGNORED] = 4, [MW_V_PTB_DROPPED] = 4,
	[MW_V_ICMP_BLACKHOLE] = 5, [MW_V_PEER_UNREACHABLE] = 1,
};

int verdict_rank(enum mw_verdict v)
{
	return (unsigned int)v < MW_V_MAX ? severity[v] : 0;
}

/*
 * Alarms say something is broken and needs a hand. ptb_sent (this host is the bottleneck, as
 * designed), pmtu_learned (PMTUD worked) and peer_unreachable (a dead peer says nothing about
 * the MTU) are information.
 */
bool verdict_alarm(enum mw_verdict v)
{
	return verdict_rank(v) >= severity[MW_V_STALLED_TLS];
}

/* Does the path's standing verdict still stand (its evidence is recent)? */
bool core_standing(const struct mw_core *c, const struct path *p)
{
	return p->standing != MW_V_NONE &&
	       c->now < p->evidence_ns + MW_VERDICT_HOLD_S * 1000000000ULL;
}

bool core_dst_standing(struct mw_core *c, uint8_t family, const uint8_t *dst)
{
	uint8_t a[16] = {};
	struct path *p;

	memcpy(a, dst, family == 6 ? 16 : 4);
	p = core_path_get(c, c->o.self_netns, family, a, false);
	return p && core_standing(c, p);
}

/*
 * Evidence of verdict v came again on path p: it keeps v standing, or brings it back (a new
 * since) if v is the path's verdict and had aged out. Evidence of another verdict does not.
 */
void core_evidence(struct mw_core *c, struct path *p, enum mw_verdict v)
{
	if (!p || p->standing != v || v == MW_V_NONE)
		return;
	if (!core_standing(c, p))
		p->standing_ns = c->now;
	p->evidence_ns = c->now;
}

/* A finding on path p: the standing verdict is the worst of those whose evidence is recent. */
static void stand(struct mw_core *c, const struct mw_finding *f, struct path *p)
{
	bool lapsed = !core_standing(c, p);
	int r = severity[f->verdict], s = severity[p->standing];

	if (lapsed || r > s || (r == s && f->verdict < p->standing)) {
		if (lapsed || f->verdict != p->standing)
			p->standing_ns = c->now;
		p->standing = f->verdict;
		p->standing_cause = f->ncauses ? f->causes[0] : MW_C_NONE;
	}
	if (f->verdict == p->standing) {
		p->evidence_ns = c->now;
		p->standing_cause = f->ncauses ? f->causes[0] : MW_C_NONE;
	}
}

void fmt_ip(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
}

void core_finding_init(struct mw_core *c, struct mw_finding *f, enum mw_verdict v,
		       uint32_t netns, uint8_t family, const uint8_t *dst, uint32_t ifindex)
{
	memset(f, 0, sizeof(*f));
	f->verdict = v;
	f->ts_ns = c->now;
	f->netns = netns;
	f->foreign_netns = c->o.self_netns && netns != c->o.self_netns;
	f->family = family;
	if (dst)
		memcpy(f->dst, dst, addr_len(family));
	f->ifindex = ifindex;
	if (f->foreign_netns)
		core_finding_ns(c, f, core_nsid(c, netns));
	else
		iface_name(c, ifindex, f->iface, sizeof(f->iface));
}

/*
 * A finding of another namespace, identity nsid (core_ns.c): its names, and its interface as
 * that namespace calls it. core_emit says it again from the path, which may be of an older
 * identity of the inode than the one it stands for now.
 */
void core_finding_ns(struct mw_core *c, struct mw_finding *f, uint32_t nsid)
{
	const struct nsid *n = core_ns_get(c, nsid);

	if (!f->foreign_netns)
		return;
	if (n)
		f->ns = n->l;
	else
		memset(&f->ns, 0, sizeof(f->ns));
	core_ns_iface(c, nsid, f->ifindex, f->iface, sizeof(f->iface));
}

void core_emit(struct mw_core *c, struct mw_finding *f, struct path *p)
{
	if (!f->update)
		c->nfind[f->verdict]++;
	if (p && p->netns == f->netns)
		core_finding_ns(c, f, p->nsid);
	if (p && (severity[f->verdict] > severity[p->worst] ||
		  (severity[f->verdict] == severity[p->worst] && f->verdict < p->worst)))
		p->worst = f->verdict;
	if (p && f->verdict != MW_V_NONE)
		stand(c, f, p);
	/* Named by now: what leaves the core is a plain ifindex (MW_IFX_NODE is the core's). */
	f->ifindex &= ~MW_IFX_NODE;
	if (c->o.on_finding)
		c->o.on_finding(f, c->o.ctx);
}

void core_add_cause(uint8_t *causes, uint8_t *n, enum mw_cause cause)
{
	for (uint8_t i = 0; i < *n; i++)
		if (causes[i] == cause)
			return;
	if (*n < MW_MAX_CAUSES)
		causes[(*n)++] = cause;
}

/* `ping` payload that makes a packet of `mtu` bytes: 28 bytes of headers, 48 for IPv6. */
void core_ping_cmd(uint8_t family, const char *dst, uint32_t mtu, char *buf, size_t len)
{
	if (family == 6)
		snprintf(buf, len, "ping -6 -M do -s %u %s", mtu > 48 ? mtu - 48 : 0, dst);
	else
		snprintf(buf, len, "ping -M do -s %u %s", mtu > 28 ? mtu - 28 : 0, dst);
}

const char *core_ptb_words(uint8_t family)
{
	return family == 6 ? "ICMPv6 Packet Too Big" : "ICMP fragmentation-needed";
}

const char *core_clamp_cmd(uint8_t family)
{
	return family == 6 ? "ip6tables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j "
			     "TCPMSS --clamp-mss-to-pmtu" :
			     "iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j "
			     "TCPMSS --clamp-mss-to-pmtu";
}
