// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `mtuwatch doctor`: audits a host's MTU configuration (read through hostcfg, no traffic sent)
 * and says which settings will black-hole large packets or defeat PMTUD, with the remedy.
 * Exit 0: no error or warning; 3: at least one; 1: runtime failure; 2: usage.
 * Over 800 lines on purpose: checks, output and the namespace walk share the private dr_run and
 * add(); split, they would publish those internals in a header.
 */
#define _GNU_SOURCE	/* setns */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/rtnetlink.h>
#include "commands.h"
#include "hostcfg.h"
#include "json.h"
#include "log.h"
#include "netutil.h"
#include "render.h"

enum dr_sev { DR_ERROR, DR_WARN, DR_INFO };

static const char *const sev_names[] = { "error", "warn", "info" };

/*
 * The stable check vocabulary: code and severity. The man page (DOCTOR CHECKS) lists the same;
 * tests/unit/test-docs.sh checks that the two agree.
 */
#define DR_CHECKS(X)                                                                           \
	X(overlay_mtu, DR_ERROR)                                                               \
	X(overlay_mtu_wasted, DR_INFO)                                                         \
	X(veth_peer_mtu, DR_ERROR)                                                             \
	X(bridge_mtu_mismatch, DR_WARN)                                                        \
	X(route_mtu_locked, DR_WARN)                                                           \
	X(firewall_drops_ptb, DR_ERROR)                                                        \
	X(rp_filter_strict, DR_INFO)                                                           \
	X(pmtu_disc_off, DR_WARN)                                                              \
	X(mtu_probing_off, DR_INFO)                                                            \
	X(no_mss_clamp, DR_WARN)                                                               \
	X(route_exception, DR_INFO)

#define X_ENUM(c, s) C_##c,
enum dr_check { DR_CHECKS(X_ENUM) C_NCHECKS };
#define X_ROW(c, s) { #c, s },
static const struct {
	const char *code;
	enum dr_sev sev;
} checks[] = { DR_CHECKS(X_ROW) };

#define DR_MAX_KV 10

struct dr_finding {
	enum dr_check check;
	char netns[HC_NAME_LEN];
	uint32_t netns_inode;
	char iface[IF_NAMESIZE];
	char explain[1024];
	char remedy[320];
	int nkv;
	struct {
		const char *k;
		bool num;
		long long n;
		char s[200];
	} kv[DR_MAX_KV];
};

struct dr_run {
	struct dr_finding *f;
	int n, cap;
	const struct hc_host *h;	/* the namespace being judged */
	char label[HC_NAME_LEN];
	bool json, all_netns;
	bool incomplete;	/* a namespace's firewall could not be read */
	int denied;		/* namespaces --all-netns was not allowed to enter */
};

static struct dr_finding *add(struct dr_run *r, enum dr_check c, const char *iface)
{
	struct dr_finding *f;

	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 32;
		struct dr_finding *nf = realloc(r->f, cap * sizeof(*nf));

		if (!nf)
			return NULL;
		r->f = nf;
		r->cap = cap;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->check = c;
	snprintf(f->netns, sizeof(f->netns), "%s", r->label);
	f->netns_inode = r->h->netns_inode;
	snprintf(f->iface, sizeof(f->iface), "%s", iface ? iface : "");
	return f;
}

static void num(struct dr_finding *f, const char *k, long long v)
{
	if (!f || f->nkv >= DR_MAX_KV)
		return;
	f->kv[f->nkv].k = k;
	f->kv[f->nkv].num = true;
	f->kv[f->nkv++].n = v;
}

static void str(struct dr_finding *f, const char *k, const char *v)
{
	if (!f || f->nkv >= DR_MAX_KV)
		return;
	f->kv[f->nkv].k = k;
	snprintf(f->kv[f->nkv++].s, sizeof(f->kv[0].s), "%s", v);
}

__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define EXPLAIN(f, ...)                                                                        \
	do {                                                                                   \
		if (f)                                                                         \
			say((f)->explain, sizeof((f)->explain), __VA_ARGS__);                  \
	} while (0)
#define REMEDY(f, ...)                                                                         \
	do {                                                                                   \
		if (f)                                                                         \
			say((f)->remedy, sizeof((f)->remedy), __VA_ARGS__);                    \
	} while (0)

/*
 * name as one shell word, for a remedy the reader pastes into a root shell: as is when it holds
 * only [A-Za-z0-9_.@%+=:,/-], else in single quotes (a quote as '\''). Interface and namespace
 * names may hold ';', '$(' or a quote ("x;id" is a valid interface name). Terminal escapes are
 * text_safe()'s business at output. Four buffers in turn: a remedy quotes at most four names.
 */
static const char *shq(const char *name)
{
	static char bufs[4][4 * HC_NAME_LEN + 3];
	static unsigned int next;
	char *b = bufs[next++ % 4];
	size_t o = 0, n = strnlen(name, HC_NAME_LEN);

	if (n && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789_.@%+=:,/-") == n)
		return name;
	b[o++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '\'') {
			memcpy(b + o, "'\\''", 4);
			o += 4;
		} else {
			b[o++] = name[i];
		}
	}
	b[o++] = '\'';
	b[o] = 0;
	return b;
}

static const char *ipstr(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	fmt_ip(family, a, buf, len);
	return buf;
}

/* ---- the checks -------------------------------------------------------------------------- */

static void check_overlays(struct dr_run *r)
{
	const struct hc_host *h = r->h;

	for (int i = 0; i < h->nlinks; i++) {
		const struct hc_link *l = &h->links[i];
		uint32_t allowed = hc_overlay_allowed_mtu(l);
		char how[160], ip[64];
		struct dr_finding *f;

		if (!hc_is_overlay(l->kind) || !allowed)
			continue;
		ip[0] = 0;
		if (l->remote_family)
			ipstr(l->remote_family, l->remote, ip, sizeof(ip));
		if (l->lower_how == HC_LOWER_BOUND)
			say(how, sizeof(how), "bound lower device %s%s%s", l->lower_name,
			    l->lower_netns[0] ? " in namespace " : "", l->lower_netns);
		else if (l->lower_how == HC_LOWER_ROUTE)
			say(how, sizeof(how), "%s, the route to its remote %s", l->lower_name, ip);
		else
			say(how, sizeof(how), "%s, the default route's device (no remote set)",
			    l->lower_name);
		if (hc_overlay_too_big(l)) {
			f = add(r, C_overlay_mtu, l->name);
			/* What the configuration implies, nothing more: whether a PTB reaches
			 * the sender depends on the driver, DF and the path (issue 25). */
			EXPLAIN(f, "%s MTU %u exceeds the %u its underlay carries: %s has MTU %u "
				"and %s adds %u bytes over IPv%u; packets of %u to %u bytes no "
				"longer fit once encapsulated: each is fragmented (outer DF "
				"clear) or dropped, and the sender learns the %u only if a "
				"Packet Too Big reaches it inside the overlay (seed 002: pod MTU "
				"= physical MTU - overhead, 8950 over a 1500 underlay black-holes "
				"where it does not)", l->name, l->mtu, allowed, how,
				l->lower_mtu, hc_kind_label(l->kind), l->overhead,
				l->remote_family ? l->remote_family : 4, allowed + 1, l->mtu,
				allowed);
			REMEDY(f, "ip link set dev %s mtu %u (and the MTU of the pods/veths behind "
				"it), or raise %s and every underlay hop to %u", shq(l->name), allowed,
				shq(l->lower_name), l->mtu + l->overhead);
		} else if (allowed - l->mtu >= 1000) {
			f = add(r, C_overlay_mtu_wasted, l->name);
			EXPLAIN(f, "%s MTU %u is far below the %u its underlay allows (%s, MTU %u, "
				"minus %u bytes of %s): every large transfer uses %u-byte packets "
				"where %u would fit (seed 002: Calico's default 1450 on a 9000 "
				"underlay)", l->name, l->mtu, allowed, how, l->lower_mtu,
				l->overhead, hc_kind_label(l->kind), l->mtu, allowed);
			REMEDY(f, "if every underlay hop carries %u: ip link set dev %s mtu %u "
				"(for Calico: veth_mtu / FELIX_VXLANMTU = %u)", l->lower_mtu,
				shq(l->name), allowed, allowed);
		} else {
			continue;
		}
		num(f, "mtu", l->mtu);
		num(f, "lower_mtu", l->lower_mtu);
		num(f, "overhead", l->overhead);
		num(f, "allowed_mtu", allowed);
		str(f, "kind", l->kind_name);
		str(f, "lower_iface", l->lower_name);
		str(f, "lower_from", l->lower_how == HC_LOWER_BOUND ? "bound" :
				     l->lower_how == HC_LOWER_ROUTE ? "route" : "default_route");
		if (l->remote_family)
			str(f, "remote", ip);
		if (l->lower_netns[0])
			str(f, "lower_netns", l->lower_netns);
	}
}

static void check_veths_bridges(struct dr_run *r)
{
	const struct hc_host *h = r->h;

	for (int i = 0; i < h->nlinks; i++) {
		const struct hc_link *l = &h->links[i];
		struct dr_finding *f;

		if (hc_veth_peer_smaller(l)) {
			char where[96];

			say(where, sizeof(where), "%s%s", l->peer_netns[0] ? " in namespace " : "",
			    l->peer_netns);
			f = add(r, C_veth_peer_mtu, l->name);
			EXPLAIN(f, "%s MTU %u but its peer %s%s has MTU %u: frames of %u to %u "
				"bytes sent into %s are dropped on the peer's receive with no "
				"ICMP, a black hole for every TCP flow that negotiated the larger "
				"MSS (seed 000: physical hosts at 9000 behind a 1500 hop)", l->name,
				l->mtu, l->peer_name, where, l->peer_mtu, l->peer_mtu + 1, l->mtu,
				l->name);
			REMEDY(f, "give both ends one MTU: ip link set dev %s mtu %u (or raise "
				"%s%s to %u)", shq(l->name), l->peer_mtu, shq(l->peer_name), where,
				l->mtu);
			num(f, "mtu", l->mtu);
			num(f, "peer_mtu", l->peer_mtu);
			str(f, "peer_iface", l->peer_name);
			str(f, "peer_netns", l->peer_netns);
		}
		if (l->kind == HC_K_BRIDGE) {
			uint32_t lo = 0, hi = 0;
			const char *lon = "", *hin = "";
			char ports[200] = "";
			size_t n = 0;

			for (int k = 0; k < h->nlinks; k++) {
				const struct hc_link *p = &h->links[k];

				if (p->master != l->ifindex)
					continue;
				if (!lo || p->mtu < lo) {
					lo = p->mtu;
					lon = p->name;
				}
				if (p->mtu > hi) {
					hi = p->mtu;
					hin = p->name;
				}
				if (n < sizeof(ports))
					n += snprintf(ports + n, sizeof(ports) - n, "%s%s %u",
						      n ? ", " : "", p->name, p->mtu);
			}
			if (lo == hi)
				continue;
			f = add(r, C_bridge_mtu_mismatch, l->name);
			EXPLAIN(f, "bridge %s has ports of different MTUs (%s): a frame from %s "
				"larger than %u is dropped when the bridge forwards it to %s, with "
				"no ICMP", l->name, ports, hin, lo, lon);
			REMEDY(f, "give every port of %s one MTU: ip link set dev %s mtu %u (or "
				"raise the smaller ports)", shq(l->name), shq(hin), lo);
			num(f, "mtu", l->mtu);
			num(f, "min_port_mtu", lo);
			num(f, "max_port_mtu", hi);
			str(f, "ports", ports);
		}
	}
}

static void route_name(const struct hc_route *rt, char *buf, size_t len)
{
	char ip[64];

	if (!rt->dst_len)
		say(buf, len, "default");
	else
		say(buf, len, "%s/%u", ipstr(rt->family, rt->dst, ip, sizeof(ip)), rt->dst_len);
}

static void check_routes(struct dr_run *r)
{
	const struct hc_host *h = r->h;

	for (int i = 0; i < h->nroutes; i++) {
		const struct hc_route *rt = &h->routes[i];
		const struct hc_link *dev = hc_link_by_ifindex(h, rt->oif);
		uint32_t hdr = rt->family == 6 ? 60 : 40;
		char dst[80], tab[24] = "";
		struct dr_finding *f;

		if (!rt->mtu && !rt->advmss)
			continue;
		route_name(rt, dst, sizeof(dst));
		if (rt->table != RT_TABLE_MAIN)
			say(tab, sizeof(tab), " table %u", rt->table);
		if (rt->mtu_locked) {
			const char *dn = dev ? dev->name : "?";

			f = add(r, C_route_mtu_locked, dev ? dev->name : "");
			EXPLAIN(f, "route %s%s dev %s has 'mtu lock %u': a Packet Too Big "
				"no longer lowers it (and IPv4 sends without DF), so a narrower "
				"hop on this path black-holes or fragments instead of PMTUD "
				"adapting", dst, tab, dn, rt->mtu);
			REMEDY(f, "ip -%u route change %s%s dev %s mtu %u (without 'lock'), or "
				"drop the mtu if the device's MTU is right", rt->family, dst, tab,
				shq(dn), rt->mtu);
		} else if (dev && rt->mtu > dev->mtu) {
			f = add(r, C_route_mtu_locked, dev->name);
			EXPLAIN(f, "route %s%s has mtu %u above %s's MTU %u: the kernel caps "
				"packets at the device, but TCP's MSS and PMTU state start from a "
				"size the device cannot send", dst, tab, rt->mtu, dev->name,
				dev->mtu);
			REMEDY(f, "ip -%u route change %s%s dev %s mtu %u (or remove the mtu)",
			       rt->family, dst, tab, shq(dev->name), dev->mtu);
		} else if (dev && rt->advmss && rt->advmss + hdr > dev->mtu) {
			f = add(r, C_route_mtu_locked, dev->name);
			EXPLAIN(f, "route %s%s has advmss %u, more than %s's MTU %u allows (%u): "
				"peers are told to send segments this host cannot receive on %s",
				dst, tab, rt->advmss, dev->name, dev->mtu, dev->mtu - hdr,
				dev->name);
			REMEDY(f, "ip -%u route change %s%s dev %s advmss %u (or remove the "
				"advmss)", rt->family, dst, tab, shq(dev->name), dev->mtu - hdr);
		} else {
			continue;
		}
		str(f, "dst", dst);
		num(f, "family", rt->family);
		num(f, "route_mtu", rt->mtu);
		num(f, "advmss", rt->advmss);
		num(f, "mtu", dev ? dev->mtu : 0);
		num(f, "table", rt->table);
		num(f, "locked", rt->mtu_locked);
	}
	for (int i = 0; i < h->ncache; i++) {
		const struct hc_route *rt = &h->cache[i];
		const struct hc_link *dev = hc_link_by_ifindex(h, rt->oif);
		char dst[64];
		struct dr_finding *f;

		const char *dn = dev ? dev->name : "?";

		ipstr(rt->family, rt->dst, dst, sizeof(dst));
		f = add(r, C_route_exception, dev ? dev->name : "");
		/*
		 * Say only what the entry shows (issue 25): a locked one is the kernel's floor,
		 * not a learned hop; one at or above the device's MTU narrows nothing now (the
		 * kernel moves exceptions with the device's MTU; IPv4's dump lags until the
		 * next lookup).
		 */
		if (rt->mtu_locked)
			EXPLAIN(f, "route exception: %s via %s has 'mtu lock %u' (expires in "
				"%us): a Packet Too Big advertised a hop MTU below the kernel's "
				"floor (net.ipv4.route.min_pmtu), so the kernel took %u and "
				"locked it; the narrower hop's real MTU is not known here. Until "
				"it expires, packets to %s leave without DF (from sockets in the "
				"default discovery mode) and are fragmented at that hop: PMTUD "
				"did not find the path's MTU, fragmentation carries the traffic",
				dst, dn, rt->mtu, rt->expires, rt->mtu, dst);
		else if (dev && rt->mtu >= dev->mtu)
			EXPLAIN(f, "route exception: %s via %s has mtu %u (expires in %us), not "
				"below %s's MTU %u: it does not narrow this path now (the kernel "
				"moves exceptions with the device's MTU; the hop a Packet Too Big "
				"once reported may still be narrower)", dst, dn, rt->mtu,
				rt->expires, dn, dev->mtu);
		else
			EXPLAIN(f, "PMTU already learned: %s via %s has mtu %u (expires in "
				"%us): a hop on that path is narrower than %s's MTU %u; PMTUD "
				"worked for it", dst, dn, rt->mtu, rt->expires, dn,
				dev ? dev->mtu : 0);
		if (rt->mtu_locked)
			REMEDY(f, "find the hop to %s with an MTU below %u and raise it (IPv4 "
			       "fragments meanwhile; fragments are lost where a firewall or NAT "
			       "drops them)", dst, rt->mtu);
		else
			REMEDY(f, "none needed if connections to %s work; if that hop's MTU is "
			       "permanent, a route with 'mtu %u' or MSS clamping avoids relearning "
			       "it", dst, rt->mtu);
		str(f, "dst", dst);
		num(f, "family", rt->family);
		num(f, "route_mtu", rt->mtu);
		num(f, "mtu", dev ? dev->mtu : 0);
		num(f, "expires", rt->expires);
		num(f, "locked", rt->mtu_locked);
	}
}

static const char *fw_what(enum hc_fw_what w, uint8_t fams)
{
	switch (w) {
	case HC_FW_DROPS_PTB:
		return fams == 2 ? "drops ICMPv6 Packet Too Big" :
		       fams == 1 ? "drops ICMP frag-needed" :
				   "drops ICMP frag-needed / ICMPv6 Packet Too Big";
	case HC_FW_DROPS_ICMP:
		return fams == 2 ? "drops all ICMPv6" : fams == 1 ? "drops all ICMP" :
								 "drops all ICMP and ICMPv6";
	case HC_FW_DROP_ALL:
		return "drops everything not accepted before it, and no rule ahead accepts "
		       "RELATED (which admits ICMP errors) or Packet Too Big";
	default:
		return "has a DROP policy and no rule accepts RELATED (which admits ICMP errors) "
		       "or Packet Too Big";
	}
}

static const char remedy_ipt_policy[] =
	"insert ahead of it: -A <chain> -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT "
	"(and for IPv6 -p ipv6-icmp --icmpv6-type packet-too-big -j ACCEPT)";
static const char remedy_nft_policy[] =
	"insert ahead of it: ct state established,related accept (and icmp type "
	"destination-unreachable accept; icmpv6 type packet-too-big accept)";
static const char remedy_ipt_rule[] =
	"delete the rule or put an accept of RELATED / --icmp-type fragmentation-needed / "
	"--icmpv6-type packet-too-big ahead of it";
static const char remedy_nft_rule[] =
	"delete the rule or put 'ct state related accept' / 'icmp type destination-unreachable "
	"accept' / 'icmpv6 type packet-too-big accept' ahead of it";

static void check_firewall(struct dr_run *r)
{
	const struct hc_host *h = r->h;

	for (int i = 0; i < h->nfw; i++) {
		const struct hc_fw_rule *w = &h->fw[i];
		struct dr_finding *f = add(r, C_firewall_drops_ptb, "");
		bool ipt = strncmp(w->backend, "iptables", 8) == 0;

		EXPLAIN(f, "%s table %s chain %s %s: rule '%s'. PMTUD depends on that message: "
			"connections whose path is narrower than this host's MTU stall once large "
			"segments flow (seed 000: TLS/SSH handshakes hang at the key exchange)",
			w->backend, w->table, w->chain, fw_what(w->what, w->families), w->rule);
		if (w->what == HC_FW_POLICY_DROP || w->what == HC_FW_DROP_ALL)
			REMEDY(f, "%s", ipt ? remedy_ipt_policy : remedy_nft_policy);
		else
			REMEDY(f, "%s", ipt ? remedy_ipt_rule : remedy_nft_rule);
		str(f, "backend", w->backend);
		str(f, "table", w->table);
		str(f, "chain", w->chain);
		str(f, "rule", w->rule);
		str(f, "family", w->families == 3 ? "inet" : w->families == 2 ? "ipv6" : "ipv4");
	}
}

/* Prefixes routed out of l, for saying which PTB sources strict rp_filter admits there. */
static void prefixes_via(const struct hc_host *h, uint32_t ifindex, bool *has_default, char *buf,
			 size_t len)
{
	size_t n = 0;

	*has_default = false;
	buf[0] = 0;
	for (int i = 0; i < h->nroutes; i++) {
		const struct hc_route *rt = &h->routes[i];
		char p[80];

		if (rt->family != 4 || rt->oif != ifindex || rt->table != RT_TABLE_MAIN)
			continue;
		if (!rt->dst_len) {
			*has_default = true;
			continue;
		}
		route_name(rt, p, sizeof(p));
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "", p);
	}
}

static const char pmtu_disc_off[] =
	"Path MTU Discovery is off: IPv4 sockets send without DF and fragment locally, a "
	"frag-needed lowers the route only to min_pmtu (mode 1) or is discarded (mode 2), so "
	"fragments meet every firewall and tunnel that drops them";
static const char pmtu_disc_hardened[] =
	"hardened mode: frag-needed is honoured only for protocols that check it against a "
	"socket (TCP, SCTP, DCCP); UDP-based protocols (QUIC, tunnels) never learn the path MTU";

static void check_sysctls(struct dr_run *r)
{
	const struct hc_host *h = r->h;
	const struct hc_sysctls *s = &h->sys;
	const struct hc_link *jumbo = NULL, *lo = NULL, *hi = NULL;
	struct dr_finding *f;

	for (int i = 0; i < h->nlinks; i++) {
		const struct hc_link *l = &h->links[i];
		char via[240];
		bool dflt;

		if (l->kind == HC_K_LOOPBACK)
			continue;
		if (l->up && l->mtu > 1500 && !jumbo)
			jumbo = l;
		/* Routed interfaces only: bridge ports and the like are not an IP hop. */
		if (l->up && !l->master) {
			if (!lo || l->mtu < lo->mtu)
				lo = l;
			if (!hi || l->mtu > hi->mtu)
				hi = l;
		}
		if (l->ipv6_mtu && l->ipv6_mtu < l->mtu) {
			f = add(r, C_pmtu_disc_off, l->name);
			EXPLAIN(f, "net.ipv6.conf.%s.mtu is %u, below the link's %u: IPv6 on %s "
				"sends at most %u while IPv4 and the peers' MSS assume %u; a fixed "
				"low value also hides the real path MTU", l->name, l->ipv6_mtu,
				l->mtu, l->name, l->ipv6_mtu, l->mtu);
			REMEDY(f, "sysctl -w net.ipv6.conf.%s.mtu=%u (or lower the link MTU itself "
				"if the path needs it)", shq(l->name), l->mtu);
			num(f, "mtu", l->mtu);
			num(f, "ipv6_mtu", l->ipv6_mtu);
		}
		if (l->rp_filter != 1 || !l->up)
			continue;
		prefixes_via(h, l->ifindex, &dflt, via, sizeof(via));
		f = add(r, C_rp_filter_strict, l->name);
		if (dflt)
			EXPLAIN(f, "strict rp_filter on %s (effective max(all=%d, %s)=1): a Packet "
				"Too Big that arrives on %s from a source routed out of another "
				"interface is dropped before PMTUD sees it, e.g. a router's "
				"management address (seed 002); the default route uses %s, so only "
				"sources routed elsewhere fail", l->name, s->rp_filter_all, l->name,
				l->name, l->name);
		else
			EXPLAIN(f, "strict rp_filter on %s (effective max(all=%d, %s)=1): a "
				"Packet Too Big that arrives on %s is dropped unless its source is "
				"in %s (the prefixes routed out of %s); a router's management or "
				"loopback address fails (seed 002)", l->name, s->rp_filter_all,
				l->name, l->name, via[0] ? via : "(none)", l->name);
		REMEDY(f, "loose mode keeps the spoofing check: sysctl -w "
			"net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2", shq(l->name));
		num(f, "rp_filter", l->rp_filter);
		num(f, "rp_filter_all", s->rp_filter_all);
		str(f, "accepted_sources", dflt ? "default" : via);
	}
	if (s->ip_no_pmtu_disc) {
		f = add(r, C_pmtu_disc_off, "");
		EXPLAIN(f, "net.ipv4.ip_no_pmtu_disc=%d: %s", s->ip_no_pmtu_disc,
			s->ip_no_pmtu_disc == 3 ? pmtu_disc_hardened : pmtu_disc_off);
		REMEDY(f, "sysctl -w net.ipv4.ip_no_pmtu_disc=0");
		num(f, "ip_no_pmtu_disc", s->ip_no_pmtu_disc);
	}
	if (jumbo && s->tcp_mtu_probing == 0) {
		f = add(r, C_mtu_probing_off, jumbo->name);
		EXPLAIN(f, "net.ipv4.tcp_mtu_probing=0 on a host with jumbo interfaces (%s MTU "
			"%u): when a Packet Too Big is lost or filtered on the way, TCP never "
			"probes down and the connection black-holes (seed 000: jumbo hosts behind "
			"a 1500 hop)", jumbo->name, jumbo->mtu);
		REMEDY(f, "sysctl -w net.ipv4.tcp_mtu_probing=1 (probe after a black hole is "
		       "suspected)");
		num(f, "mtu", jumbo->mtu);
		num(f, "tcp_mtu_probing", 0);
	}
	/*
	 * No icmp_ratelimit check: the kernel exempts frag-needed and Packet Too Big from
	 * icmp_ratelimit, icmp_ratemask and the global limit ("Don't limit PMTU discovery" in
	 * icmpv4_mask_allow / icmpv6_mask_allow). Measured here: 20 of 20 sent with
	 * icmp_ratelimit=10000 and icmp_msgs_per_sec=1. The man page (doctor) says so.
	 */
	if ((s->ip_forward || s->ipv6_forwarding) && lo && hi && lo->mtu != hi->mtu &&
	    !h->mss_clamp) {
		f = add(r, C_no_mss_clamp, lo->name);
		EXPLAIN(f, "this host forwards between %s (MTU %u) and %s (MTU %u) and no TCPMSS "
			"rule clamps the MSS: TCP flows through it rely on a Packet Too Big "
			"getting back to the sender, which a firewall or rp_filter on the way can "
			"drop", hi->name, hi->mtu, lo->name, lo->mtu);
		REMEDY(f, "nft add rule inet mangle forward tcp flags syn tcp option maxseg size "
			"set rt mtu (or iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST "
			"SYN -j TCPMSS --clamp-mss-to-pmtu)");
		num(f, "mtu", lo->mtu);
		num(f, "max_mtu", hi->mtu);
		str(f, "max_iface", hi->name);
	}
}

/* ---- output ------------------------------------------------------------------------------ */

static void render_json(const struct dr_finding *f)
{
	struct jsonw w;

	jsonw_init(&w, stdout);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "check", checks[f->check].code);
	jsonw_string_field(&w, "severity", sev_names[checks[f->check].sev]);
	jsonw_string_field(&w, "netns", f->netns);
	jsonw_uint_field(&w, "netns_inode", f->netns_inode);
	jsonw_string_field(&w, "iface", f->iface);
	for (int i = 0; i < f->nkv; i++) {
		if (f->kv[i].num)
			jsonw_int_field(&w, f->kv[i].k, f->kv[i].n);
		else
			jsonw_string_field(&w, f->kv[i].k, f->kv[i].s);
	}
	jsonw_string_field(&w, "explain", f->explain);
	jsonw_string_field(&w, "remedy", f->remedy);
	jsonw_end_object(&w);
}

static int render(struct dr_run *r, int nns)
{
	static const char *const heads[] = { "Errors", "Warnings", "Info" };
	int count[3] = {};

	for (int i = 0; i < r->n; i++)
		count[checks[r->f[i].check].sev]++;
	for (int sev = DR_ERROR; sev <= DR_INFO; sev++) {
		if (!count[sev])
			continue;
		if (!r->json)
			printf("%s%s (%d):\n", sev ? "\n" : "", heads[sev], count[sev]);
		for (int i = 0; i < r->n; i++) {
			const struct dr_finding *f = &r->f[i];
			char ex[TEXT_SAFE_LEN(sizeof(f->explain))];
			char re[TEXT_SAFE_LEN(sizeof(f->remedy))];
			char ns[TEXT_SAFE_LEN(sizeof(f->netns))];

			if ((int)checks[f->check].sev != sev)
				continue;
			if (r->json) {
				render_json(f);
				continue;
			}
			/* Names in them come from whoever named an interface, a namespace, a
			 * process or a firewall rule: never raw to a terminal. */
			printf("  %-19s ", checks[f->check].code);
			if (r->all_netns)
				printf("[netns %s] ", text_safe(ns, sizeof(ns), f->netns,
								  sizeof(f->netns)));
			printf("%s\n", text_safe(ex, sizeof(ex), f->explain, sizeof(f->explain)));
			printf("  %-19s remedy: %s\n", "",
			       text_safe(re, sizeof(re), f->remedy, sizeof(f->remedy)));
		}
	}
	if (!r->json)
		printf("%smtuwatch doctor: %d error(s), %d warning(s), %d info in %d "
		       "namespace(s)\n", r->n ? "\n" : "", count[DR_ERROR], count[DR_WARN],
		       count[DR_INFO], nns);
	return count[DR_ERROR] + count[DR_WARN] ? 3 : 0;
}

/* ---- namespaces -------------------------------------------------------------------------- */

/* Judges one namespace's reading; label names it when /run/netns has no name for it. */
static void judge(struct dr_run *r, const struct hc_host *h, const char *label)
{
	if (h->netns_name[0])
		snprintf(r->label, sizeof(r->label), "%s", h->netns_name);
	else if (label)
		snprintf(r->label, sizeof(r->label), "%s", label);
	else
		hc_netns_label(h, r->label, sizeof(r->label));
	/* A gate that cannot see the firewall must not pass: the findings still print, the
	 * exit status says the audit is incomplete. */
	if (h->fw_error[0]) {
		char safe[TEXT_SAFE_LEN(sizeof(r->label))];

		pr_warn("firewall of namespace %s not fully read: %s -- run as root with "
			"nftables and iptables installed\n",
			text_safe(safe, sizeof(safe), r->label, sizeof(r->label)), h->fw_error);
		r->incomplete = true;
	}
	r->h = h;
	check_overlays(r);
	check_veths_bridges(r);
	check_routes(r);
	check_firewall(r);
	check_sysctls(r);
	r->h = NULL;
}

static int judge_self(struct dr_run *r)
{
	struct hc_host *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	err = hc_read(h);
	if (!err)
		judge(r, h, NULL);
	free(h);
	return err;
}

struct ns_seen {
	uint64_t ino[1024];
	int n;
};

static bool seen(struct ns_seen *s, uint64_t ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->ino[i] == ino)
			return true;
	if (s->n < 1024)
		s->ino[s->n++] = ino;
	return false;
}

/* Reads the namespace at path (in a child: hc_read_path) and judges it. */
static void judge_path(struct dr_run *r, const char *path, const char *label,
		       struct ns_seen *s, int *nns)
{
	char safe[TEXT_SAFE_LEN(HC_NAME_LEN)];
	struct hc_host *h;
	struct stat st;
	int err;

	if (stat(path, &st) || seen(s, st.st_ino))
		return;	/* a process that exited meanwhile, or a namespace already read */
	h = calloc(1, sizeof(*h));
	if (!h)
		return;
	err = hc_read_path(h, path);
	if (!err) {
		judge(r, h, label);
		(*nns)++;
	} else if (err == -EINTR) {
		pr_warn("reading namespace %s was killed (being torn down?) -- skipped\n",
			text_safe(safe, sizeof(safe), label, HC_NAME_LEN));
	} else if (err == -EPERM) {
		r->denied++;	/* said once, at the end */
	} else if (err != -ENOENT) {
		pr_warn("cannot read namespace %s: %s -- skipped\n",
			text_safe(safe, sizeof(safe), label, HC_NAME_LEN), strerror(-err));
	}
	free(h);
}

static int walk_netns(struct dr_run *r, int *nns)
{
	struct ns_seen *s = calloc(1, sizeof(*s));
	struct dirent *e;
	struct stat st;
	int err;
	DIR *d;

	if (!s)
		return -ENOMEM;
	/* Our own namespace first, in this process. */
	if (stat("/proc/self/ns/net", &st) == 0)
		seen(s, st.st_ino);
	err = judge_self(r);
	if (err) {
		pr_warn("cannot read this namespace's links and routes: %s -- run as root\n",
			strerror(-err));
		free(s);
		return err;
	}
	(*nns)++;
	if ((d = opendir("/run/netns"))) {
		while ((e = readdir(d))) {
			char path[300];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
			judge_path(r, path, e->d_name, s, nns);
		}
		closedir(d);
	}
	if ((d = opendir("/proc"))) {
		while ((e = readdir(d))) {
			char path[300], label[64], comm[32] = "", cpath[300];

			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
			snprintf(cpath, sizeof(cpath), "/proc/%s/comm", e->d_name);
			read_text(cpath, comm, sizeof(comm));
			snprintf(label, sizeof(label), "pid %s (%s)", e->d_name, comm);
			judge_path(r, path, label, s, nns);
		}
		closedir(d);
	}
	free(s);
	return 0;
}

static void usage_doctor(FILE *o)
{
	fprintf(o,
		"Usage: mtuwatch doctor [--json] [--all-netns] [-v]\n"
		"\n"
		"Audits this host's MTU configuration without sending traffic: overlay and\n"
		"tunnel MTUs against their underlay, veth peers and bridge ports, locked routes,\n"
		"firewall rules that drop Packet Too Big, rp_filter, PMTUD sysctls, MSS clamping.\n"
		"\n"
		"  -j, --json       NDJSON: one object per finding\n"
		"      --all-netns  every network namespace reachable (/run/netns, processes)\n"
		"  -v, --verbose    debug messages\n"
		"\n"
		"Exit status: 0 no error or warning, 3 at least one, 1 runtime failure (also a\n"
		"firewall that could not be read), 2 usage error.\n");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all-netns", no_argument, NULL, 'A' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct dr_run r = {};
	int c, nns = 0, err, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jvh", longs, NULL)) != -1) {
		switch (c) {
		case 'j':
			r.json = true;
			break;
		case 'A':
			r.all_netns = true;
			break;
		case 'v':
			mw_verbose = true;
			break;
		case 'h':
			usage_doctor(stdout);
			return 0;
		default:
			bad_option(argv);
			return usage_error();
		}
	}
	if (optind < argc) {
		pr_warn("Unexpected argument '%s' -- see 'mtuwatch doctor --help'\n", argv[optind]);
		return usage_error();
	}
	if (r.all_netns) {
		err = walk_netns(&r, &nns);
		if (r.denied) {
			pr_warn("not allowed to enter %d network namespace(s) -- run as root "
				"(CAP_SYS_ADMIN)\n", r.denied);
			r.incomplete = true;
		}
	} else {
		err = judge_self(&r);
		if (err)
			pr_warn("cannot read this namespace's links and routes: %s -- run as root "
				"(CAP_NET_ADMIN)\n", strerror(-err));
		nns = 1;
	}
	if (err) {
		free(r.f);
		return 1;
	}
	rc = render(&r, nns);
	free(r.f);
	return r.incomplete ? 1 : rc;
}
