// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * icmp_blackhole: what a path has shown to get through (sizes acknowledged, signs of life),
 * what stays stuck (DF segments re-sent at the head of their flow), and the verdict, its
 * bracket, its causes (overlay, layer-2 mismatch, filtered ICMP) and its words.
 */
#include <stdio.h>
#include <string.h>
#include "core_int.h"

#define SMALL_SEG 640		/* a stuck segment this small: not an MTU problem */
/*
 * A black-hole claim needs a stuck segment above this: IPv6's minimum MTU, and below what any
 * real tunnel or overlay leaves. Under it, a segment stuck because its ACK rides on the peer's
 * lost large flight would read as a tiny path MTU.
 */
#define MIN_BLACKHOLE_SIZE 1280
/* A segment must stay stuck this long: loss recovers within an RTO or two, a black hole never. */
#define STUCK_NS (1000 * 1000000ULL)
#define PROOF_STALE_NS (3 * STUCK_NS)	/* see delivered_since */
/* Segments that leave this soon after a PTB may have been queued before it was processed. */
#define PTB_GRACE_NS (50 * 1000000ULL)
/* Below these no path carries less: IPv6's minimum MTU; IPv4's conventional 576 (RFC 1122). */
#define FLOOR4 576
#define FLOOR6 1280

/* ---- paths ------------------------------------------------------------------------------ */

/* The destination answered (a handshake, an ACK, data): it is alive now. */
void core_path_alive(struct mw_core *c, uint32_t netns, uint8_t family, const uint8_t *dst)
{
	struct path *p = core_path_get(c, netns, family, dst, true);

	p->alive_ns = c->now;
}

/* The peer acknowledged a segment of this size: the path carries it (as of now). */
static void path_proof(struct mw_core *c, struct path *p, uint32_t size)
{
	uint32_t i, min = 0;

	for (i = 0; i < p->nproofs; i++)
		if (p->proofs[i].size == size)
			break;
	if (i == p->nproofs) {
		if (p->nproofs < MW_MAX_SIZES) {
			p->nproofs++;
		} else {
			/* Full: forget the smallest, the least telling. */
			for (i = 1, min = 0; i < MW_MAX_SIZES; i++)
				if (p->proofs[i].size < p->proofs[min].size)
					min = i;
			i = min;
		}
	}
	p->proofs[i].size = size;
	p->proofs[i].ns = c->now;
	p->alive_ns = c->now;
	if (size > p->delivered_max)
		p->delivered_max = size;
	/* A size over the black hole's MTU got through: it is gone, whatever the hold says. */
	if (p->standing == MW_V_ICMP_BLACKHOLE && p->pmtu && size > p->pmtu)
		p->standing = MW_V_NONE;
}

static uint32_t family_floor(uint8_t family)
{
	return family == 6 ? FLOOR6 : FLOOR4;
}

/*
 * An overlay under the egress whose MTU is above what its lower device carries after
 * encapsulation: the numbers go into the finding.
 */
static struct link *overlay_over(struct mw_core *c, uint32_t ifindex)
{
	struct link *l = core_link_get(c, ifindex);

	if (l && l->kind == MW_LINK_OVERLAY && l->lower_mtu &&
	    l->mtu + l->overhead > l->lower_mtu)
		return l;
	return NULL;
}

/* A veth or bridge port whose other side takes smaller frames than `size`. */
static struct link *l2_smaller(struct mw_core *c, uint32_t ifindex, uint32_t size)
{
	struct link *l = core_link_get(c, ifindex);

	if (l && (l->kind == MW_LINK_VETH || l->kind == MW_LINK_BRIDGE_PORT) && l->lower_mtu &&
	    l->lower_mtu < size)
		return l;
	return NULL;
}

static const struct encap *encap_for(const struct mw_core *c, const struct path *p)
{
	for (int i = 0; i < c->nencaps; i++)
		if (c->encaps[i].family == p->family &&
		    !memcmp(c->encaps[i].dst, p->dst, addr_len(p->family)))
			return &c->encaps[i];
	return NULL;
}

/*
 * Causes of a black hole seen from the sender: no PTB arrived, so a filtered router and a
 * silent layer-2 hop look alike; the host's own devices say which is more likely.
 */
static void blackhole_causes(struct mw_core *c, struct path *p, uint32_t hi,
			     struct mw_finding *f)
{
	/*
	 * Devices are known in mtuwatch's own namespace; a container's traffic crosses them
	 * on the way our routes send it (a pod behind a node's overlay).
	 */
	uint32_t dev = self_ns(c, p->netns) ? p->ifindex : p->via_ifindex;
	struct link *ov = overlay_over(c, dev);
	const struct encap *en = encap_for(c, p);

	if (ov) {
		core_add_cause(f->causes, &f->ncauses, MW_C_OVERLAY_MTU);
		snprintf(f->overlay_iface, sizeof(f->overlay_iface), "%s", ov->name);
		snprintf(f->lower_iface, sizeof(f->lower_iface), "%s", ov->lower);
		f->overlay_mtu = ov->mtu;
		f->lower_mtu = ov->lower_mtu;
		f->overhead = ov->overhead;
	} else if (en && en->lower_mtu && en->inner + en->overhead > en->lower_mtu) {
		/* Seen from the pod: the node's overlay dropped our packets; its name is the node's. */
		core_add_cause(f->causes, &f->ncauses, MW_C_OVERLAY_MTU);
		snprintf(f->lower_iface, sizeof(f->lower_iface), "%s", en->lower);
		f->overlay_mtu = en->inner > hi ? en->inner : hi;
		f->lower_mtu = en->lower_mtu;
		f->overhead = en->overhead;
	}
	if (self_ns(c, p->netns) && l2_smaller(c, p->ifindex, hi)) {
		core_add_cause(f->causes, &f->ncauses, MW_C_L2_MTU_MISMATCH);
		core_add_cause(f->causes, &f->ncauses, MW_C_ICMP_FILTERED);
	} else {
		core_add_cause(f->causes, &f->ncauses, MW_C_ICMP_FILTERED);
		core_add_cause(f->causes, &f->ncauses, MW_C_L2_MTU_MISMATCH);
	}
	if (c->mtu_probing > 0 && p->netns == c->o.self_netns)
		core_add_cause(f->causes, &f->ncauses, MW_C_MTU_PROBING_ACTIVE);
}

/*
 * Is a stuck segment's size shown to get through since it got stuck? A proof excuses it for
 * PROOF_STALE_NS at most: a segment of that size still stuck that long after the last one
 * got through (re-sent three or four times by then) says the path changed right after it, as
 * a path that shrinks while a flow's first large segments are still being acknowledged.
 */
static bool delivered_since(const struct mw_core *c, const struct path *p,
			    const struct stuck_seg *s)
{
	for (uint32_t i = 0; i < p->nproofs; i++)
		if (p->proofs[i].size >= s->size && p->proofs[i].ns + STUCK_NS / 4 >= s->first_ns &&
		    c->now < p->proofs[i].ns + PROOF_STALE_NS)
			return true;
	return false;
}

static bool delivered_ever(const struct path *p, uint32_t size)
{
	for (uint32_t i = 0; i < p->nproofs; i++)
		if (p->proofs[i].size >= size)
			return true;
	return false;
}

/* The largest size proven to get through that is below hi, at least the family's floor. */
static uint32_t bracket_low(const struct path *p, uint32_t hi)
{
	uint32_t lo = family_floor(p->family);

	for (uint32_t i = 0; i < p->nproofs; i++)
		if (p->proofs[i].size < hi && p->proofs[i].size > lo)
			lo = p->proofs[i].size;
	return lo < hi ? lo : 0;
}

static void explain_blackhole(struct mw_core *c, struct path *p, struct mw_finding *f,
			      uint32_t lo, uint32_t hi)
{
	char d[64], ping[96], probe[96], probing[120] = "";
	const char *fam = core_ptb_words(p->family);
	/* IPv6 has no DF: routers never fragment it. */
	const char *pk = p->family == 6 ? "Packets" : "DF packets";
	uint32_t mtu = f->mtu;

	fmt_ip(p->family, p->dst, d, sizeof(d));
	core_ping_cmd(p->family, d, mtu, ping, sizeof(ping));
	snprintf(probe, sizeof(probe), "mtuwatch probe %s", d);
	if (c->mtu_probing <= 0)
		snprintf(probing, sizeof(probing), ", or set net.ipv4.tcp_mtu_probing=1 on the "
			 "senders");
	if (f->ncauses && f->causes[0] == MW_C_OVERLAY_MTU) {
		snprintf(f->explain, sizeof(f->explain),
			 "%s of %u bytes to %s leave via %s and are re-sent without "
			 "progress: %s is an overlay with MTU %u over %s (MTU %u), and with its "
			 "%u bytes of encapsulation only %u fit, so larger packets are lost and no "
			 "%s comes back; the path MTU is between %u and %u bytes",
			 pk, hi, d, f->iface,
			 f->overlay_iface[0] ? f->overlay_iface : "the node's overlay",
			 f->overlay_mtu, f->lower_iface,
			 f->lower_mtu, f->overhead, f->lower_mtu - f->overhead, fam, lo, mtu);
		snprintf(f->remedy, sizeof(f->remedy),
			 "set the overlay (and pod) MTU to the physical MTU minus the encapsulation: "
			 "%u - %u = %u, or raise the underlay's MTU to %u; meanwhile clamp the MSS "
			 "(%s)%s; confirm with %s",
			 f->lower_mtu, f->overhead, f->lower_mtu - f->overhead,
			 f->overlay_mtu + f->overhead, core_clamp_cmd(p->family),
			 p->family == 4 ? "; net.ipv4.ip_forward_use_pmtu=1 on the node makes it send "
					  "frag-needed to the pods" : "", ping);
		return;
	}
	if (f->ncauses && f->causes[0] == MW_C_L2_MTU_MISMATCH) {
		struct link *l = core_link_get(c, p->ifindex);

		snprintf(f->explain, sizeof(f->explain),
			 "%s of %u bytes to %s via %s are re-sent without progress and no %s "
			 "arrives: %s's other side takes at most %u bytes and drops larger frames "
			 "on receive, a silent layer-2 mismatch where no ICMP can exist; the path "
			 "MTU is between %u and %u bytes",
			 pk, hi, d, f->iface, fam, f->iface, l ? l->lower_mtu : 0, lo, mtu);
		snprintf(f->remedy, sizeof(f->remedy),
			 "give both sides of the link the same MTU (or lower %s's to %u)%s; clamping "
			 "the MSS on a router helps only routed traffic; confirm with %s",
			 f->iface, l ? l->lower_mtu : mtu, probing, ping);
		return;
	}
	snprintf(f->explain, sizeof(f->explain),
		 "%s of %u bytes to %s via %s are re-sent without progress and no %s "
		 "arrives, while the destination still answers smaller packets: the path MTU is "
		 "between %u and %u bytes. A hop drops the larger packets silently: either a router "
		 "whose %s is filtered on its way back, or a layer-2 hop (switch, vSwitch, veth) "
		 "with a smaller MTU that cannot send any; from this end the two look alike%s",
		 pk, hi, d, f->iface, fam, lo, mtu, fam,
		 c->mtu_probing > 0 ? "; tcp_mtu_probing is on here, so TCP shrinks its segments "
				      "after repeated timeouts and works around it, slowly" : "");
	snprintf(f->remedy, sizeof(f->remedy),
		 "find the hop (%s finds the exact MTU; %s tests it by hand), then align the MTUs "
		 "on the path or lower %s's to it, or clamp the MSS on the router (%s)%s; have "
		 "whoever filters ICMP let %s through",
		 probe, ping, f->iface, core_clamp_cmd(p->family), probing,
		 p->family == 6 ? "ICMPv6 type 2" : "type 3 code 4");
}

/* ---- confirmation ---------------------------------------------------------------------- */

static const char *const method_names[] = {
	[MW_PROBE_NONE] = "none", [MW_PROBE_ICMP] = "ICMP echo", [MW_PROBE_UDP] = "UDP",
	[MW_PROBE_TCP_SYN] = "a TCP SYN",
};

static const char *method_words(uint8_t m)
{
	return m <= MW_PROBE_TCP_SYN ? method_names[m] : "?";
}

/* Ask the driver to probe the path's destination: once per path, for its smallest stuck size. */
static void want_confirm(struct path *p, const struct stuck_seg *s)
{
	if (p->confirm != CONFIRM_NONE)
		return;
	p->confirm = CONFIRM_WANTED;
	p->confirm_sport = s->sport;
	p->confirm_dport = s->dport;
	p->confirm_size = s->size;
}

/* A probe answered: its result is known. */
static bool probe_answered(const struct path *p)
{
	return p->confirm == CONFIRM_DONE && !(p->probe_flags & MW_PROBE_F_SKIPPED) &&
	       (p->probe_flags & MW_PROBE_F_ALIVE);
}

/* A probe measured that this size gets through: its segment was lost, not too large. */
static bool probe_fits(const struct path *p, uint32_t size)
{
	return probe_answered(p) && p->probe_mtu >= size;
}

/* The probe's result, as the finding says it. */
static void probe_into(const struct path *p, struct mw_finding *f)
{
	if (p->confirm != CONFIRM_DONE || (p->probe_flags & MW_PROBE_F_SKIPPED))
		return;
	f->probed = true;
	f->probe_method = p->probe_method;
	f->probes = p->probes;
	f->ptb_probe = p->probe_flags & MW_PROBE_F_PTB;
	if (f->ptb_probe)
		memcpy(f->peer, p->probe_peer, sizeof(f->peer));
}

static void explain_confirmed(struct path *p, struct mw_finding *f, uint32_t hi)
{
	char d[64], ping[96];
	const char *fam = core_ptb_words(p->family);
	const char *pk = p->family == 6 ? "Packets" : "DF packets";

	fmt_ip(p->family, p->dst, d, sizeof(d));
	core_ping_cmd(p->family, d, f->mtu, ping, sizeof(ping));
	snprintf(f->explain, sizeof(f->explain),
		 "%s of %u bytes to %s via %s are re-sent without progress and no %s arrives; "
		 "mtuwatch probed %s with %s (%u probes): %u bytes are answered, %u vanish, so "
		 "the path MTU is %u bytes and a hop drops larger packets silently (a router whose "
		 "%s is filtered, or a layer-2 hop with a smaller MTU)",
		 pk, hi, d, f->iface, fam, d, method_words(f->probe_method), f->probes, f->mtu,
		 f->mtu + 1, f->mtu, fam);
	snprintf(f->remedy, sizeof(f->remedy),
		 "align the MTUs on the path or lower %s's (or the route's: ip route ... mtu "
		 "%u) to %u, or clamp the MSS on the router (%s); have whoever filters ICMP let %s "
		 "through; check with %s",
		 f->iface, f->mtu, f->mtu, core_clamp_cmd(p->family),
		 p->family == 6 ? "ICMPv6 type 2" : "type 3 code 4", ping);
}

/*
 * The icmp_blackhole finding of a path whose segments above lo, up to hi, stay stuck; update: a
 * confirmation of the one given before. Returns whether the MTU is pinned by what the host's
 * own devices say (nothing for a probe to add).
 */
static bool blackhole_emit(struct mw_core *c, struct path *p, uint32_t lo, uint32_t hi,
			   bool update)
{
	struct mw_finding f;
	bool pinned = false;

	core_finding_init(c, &f, MW_V_ICMP_BLACKHOLE, p->netns, p->family, p->dst, p->ifindex);
	f.update = update;
	f.bracket_lo = lo;
	f.bracket_hi = hi;
	f.mtu = hi - 1;
	p->pmtu = f.mtu;
	p->pmtu_known = false;	/* a bracket's end (or a device's bound below): not measured */
	f.count = p->retrans;
	memcpy(f.sizes, p->rsizes, sizeof(f.sizes));
	f.nsizes = p->nrsizes;
	blackhole_causes(c, p, hi, &f);
	/* What the overlay lets through is tighter than what the segments showed. */
	if (f.lower_mtu && f.lower_mtu - f.overhead < f.mtu && f.lower_mtu - f.overhead >= lo) {
		f.mtu = f.lower_mtu - f.overhead;
		p->pmtu = f.mtu;
		pinned = true;
	} else if (f.ncauses && f.causes[0] == MW_C_L2_MTU_MISMATCH) {
		struct link *l = core_link_get(c, p->ifindex);

		/* The link's other side takes this much: the path cannot carry more. */
		if (l && l->lower_mtu < f.mtu && l->lower_mtu >= lo) {
			f.mtu = l->lower_mtu;
			p->pmtu = f.mtu;
			pinned = true;
		}
	}
	probe_into(p, &f);
	memcpy(p->causes, f.causes, sizeof(p->causes));
	p->ncauses = f.ncauses;
	/* A probe's measurement beats any bracket: the path MTU, exactly. */
	if (!pinned && probe_answered(p) && (p->probe_flags & MW_PROBE_F_EXACT) &&
	    p->probe_mtu && p->probe_mtu < hi) {
		f.confirmed = true;
		f.mtu = p->probe_mtu;
		f.bracket_lo = p->probe_mtu;
		f.bracket_hi = p->probe_mtu + 1;
		p->pmtu = f.mtu;
		p->pmtu_known = true;
		explain_confirmed(p, &f, hi);
	} else {
		explain_blackhole(c, p, &f, lo, hi);
	}
	core_emit(c, &f, p);
	return pinned;
}

/* The probe got no answer at all: the destination, or the whole path, is gone. */
static void peer_unreachable(struct mw_core *c, struct path *p)
{
	struct mw_finding f;
	char d[64], from[64] = "";

	if (p->reported & (1u << MW_V_PEER_UNREACHABLE))
		return;
	p->reported |= 1u << MW_V_PEER_UNREACHABLE;
	core_finding_init(c, &f, MW_V_PEER_UNREACHABLE, p->netns, p->family, p->dst, p->ifindex);
	f.probed = true;
	f.probe_method = p->probe_method;
	f.probes = p->probes;
	f.count = p->retrans;
	memcpy(f.sizes, p->rsizes, sizeof(f.sizes));
	f.nsizes = p->nrsizes;
	fmt_ip(p->family, p->dst, d, sizeof(d));
	if (p->probe_flags & MW_PROBE_F_UNREACH) {
		char a[48];

		fmt_ip(p->family, p->probe_peer, a, sizeof(a));
		snprintf(from, sizeof(from), ", and %s said it is unreachable", a);
	}
	snprintf(f.explain, sizeof(f.explain),
		 "segments to %s via %s are re-sent without progress and a confirmation probe got "
		 "no answer at all (ICMP echo, UDP%s; %u probes)%s: the destination or the whole "
		 "path is down, which says nothing about its MTU, so no MTU verdict is given",
		 d, f.iface, p->confirm_dport ? ", a TCP SYN to the flow's port" : "", f.probes,
		 from);
	snprintf(f.remedy, sizeof(f.remedy),
		 "check that %s is up and routed (ping %s; ip route get %s); information only", d,
		 d, d);
	core_emit(c, &f, p);
}

void core_on_probe(struct mw_core *c, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct path *p = core_path_get(c, e->netns, fam, e->flow.daddr, true);

	if (!p)
		return;
	p->confirm = CONFIRM_DONE;
	p->probe_flags = e->dir;
	p->probe_method = e->aux2;
	p->probe_mtu = e->mtu;
	p->probe_lost = e->size;
	p->probes = e->seq;
	memcpy(p->probe_peer, e->peer, sizeof(p->probe_peer));
	if (!p->confirm_dport)
		p->confirm_dport = e->flow.dport;
	if (e->dir & MW_PROBE_F_SKIPPED)
		return;
	if (!(e->dir & MW_PROBE_F_ALIVE)) {
		peer_unreachable(c, p);
		return;
	}
	/* The probe's answer is a sign of life, as a handshake's would be. */
	p->alive_ns = c->now;
	if (p->reported & (1u << MW_V_ICMP_BLACKHOLE)) {
		/* Given already: say what the probe adds, unless the stuck size fits after all. */
		if (!probe_fits(p, p->bracket_hi))
			blackhole_emit(c, p, p->bracket_lo, p->bracket_hi, true);
		return;
	}
	core_check_blackhole(c, p);
}

void core_check_blackhole(struct mw_core *c, struct path *p)
{
	uint32_t hi = 0, stuck = 0, lo;
	const struct stuck_seg *want = NULL, *small = NULL;

	if (p->reported & (1u << MW_V_ICMP_BLACKHOLE))
		return;
	/* A PTB was dropped here (its own finding) or accepted: not a silent hop. */
	if (p->ptb_dropped || (p->reported & (1u << MW_V_PMTU_LEARNED)))
		return;
	/*
	 * A PTB arrived: it speaks for the path unless it is shown forged or untranslated
	 * (it then tells nothing about whether the real hop's ICMP comes back). Until judged,
	 * wait.
	 */
	if (p->ptb_rx && (!p->ptb_judged || !p->ptb_forged))
		return;
	for (uint32_t i = 0; i < p->nsegs; i++) {
		struct stuck_seg *s = &p->segs[i];

		if (s->recovered || s->rto < 2 || s->nodf)
			continue;
		/* Small segments stuck too: the peer or the whole path is gone, not the MTU. */
		if (s->size <= SMALL_SEG)
			return;
		if (s->size <= MIN_BLACKHOLE_SIZE)
			continue;
		/* Something this large got through since: this is loss, not a size limit. */
		if (delivered_since(c, p, s))
			continue;
		/* A probe showed this size gets through: loss, not a size limit. */
		if (probe_fits(p, s->size))
			continue;
		/*
		 * The size used to get through: the path changed, or the peer died. Only a sign
		 * of life since tells them apart: a confirmation probe can give one.
		 */
		if (delivered_ever(p, s->size) ? p->alive_ns < s->first_ns : !p->alive_ns) {
			if (c->now >= s->first_ns + STUCK_NS && (!want || s->size < want->size))
				want = s;
			continue;
		}
		/*
		 * One segment stuck for a second makes the finding; every other one re-sent
		 * twice without progress narrows its upper end (a 6424-byte certificate flight
		 * stuck beside 9000-byte bulk segments).
		 */
		if (c->now >= s->first_ns + STUCK_NS)
			stuck++;
		if (!hi || s->size < hi) {
			hi = s->size;
			small = s;
		}
	}
	if (!stuck) {
		if (want)
			want_confirm(p, want);
		return;
	}
	lo = bracket_low(p, hi);
	p->bracket_lo = lo;
	p->bracket_hi = hi;
	p->reported |= 1u << MW_V_ICMP_BLACKHOLE;
	/* A bracket the host's devices do not pin: a probe measures it (once). */
	if (!blackhole_emit(c, p, lo, hi, false) && hi - lo > 1 && small)
		want_confirm(p, small);
}

/* ---- what leaves, what is re-sent, what is acknowledged ---------------------------------- */

static void add_size(uint32_t *sizes, uint32_t *n, uint32_t size)
{
	for (uint32_t i = 0; i < *n; i++)
		if (sizes[i] == size)
			return;
	if (*n < MW_MAX_SIZES)
		sizes[(*n)++] = size;
}

void core_on_df_max(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, true);
	uint32_t i;

	core_path_touch(c, p, e->ifindex);
	if (e->size > p->max_df)
		p->max_df = e->size;
	i = p->nsent < MW_MAX_SIZES ? p->nsent++ : MW_MAX_SIZES - 1;
	p->sent_sizes[i] = e->size;
	p->sent_seqs[i] = e->seq;
	if (p->ptb_first_ns && c->now > p->ptb_first_ns + PTB_GRACE_NS && p->ptb_mtu &&
	    e->size > p->ptb_mtu)
		p->over_after_ptb++;
}

/* Every stuck segment of the flow below ack got through: remember how large it was. */
static void seg_progress(struct mw_core *c, struct path *p, uint16_t sport, uint16_t dport,
			 uint32_t ack)
{
	for (uint32_t i = 0; i < p->nsegs; i++) {
		struct stuck_seg *s = &p->segs[i];

		if (s->recovered || s->sport != sport || s->dport != dport ||
		    (int32_t)(ack - s->seq) <= 0)
			continue;
		s->recovered = true;
		if (!s->nodf)
			path_proof(c, p, s->size);
	}
}

void core_on_retrans(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, true);
	bool nodf = e->type == MW_EV_RESEND && (e->dir & MW_DIR_F_NODF);
	struct stuck_seg *s = NULL;
	struct flow *fl;

	core_path_touch(c, p, e->ifindex);
	p->retrans++;
	if (e->size >= MW_LARGE_SEG)
		p->large_retrans++;
	add_size(p->rsizes, &p->nrsizes, e->size);
	if (p->ptb_first_ns && c->now > p->ptb_first_ns + PTB_GRACE_NS) {
		p->resent_after_ptb++;
		if (!nodf && p->ptb_mtu && e->size > p->ptb_mtu)
			p->over_after_ptb++;
	}
	/* A DF segment over what the path carries, re-sent: its verdict's evidence, again. */
	if (!nodf && p->pmtu && e->size > p->pmtu)
		core_evidence(c, p, MW_V_ICMP_BLACKHOLE);
	if (!nodf && p->ptb_mtu && e->size > p->ptb_mtu)
		core_evidence(c, p, MW_V_PTB_IGNORED);

	fl = core_flow_get(c, e->netns, &e->flow, false);
	if (fl) {
		if (e->type == MW_EV_RESEND && e->mtu > fl->bytes_sent)
			fl->bytes_sent = e->mtu;
		fl->retrans++;
		fl->unacked_resends++;
		add_size(fl->rsizes, &fl->nrsizes, e->size);
		if (e->size <= SMALL_SEG)
			fl->small_retrans++;
	}

	/* The peer's ACK moved past a stuck segment of this flow: it got through after all. */
	if (e->aux2)
		seg_progress(c, p, e->flow.sport, e->flow.dport, e->aux2);
	/*
	 * Only re-sends of the oldest unacknowledged segment say "stuck": the tracepoint's
	 * timeout retransmissions with seq == snd_una, and tc's re-sends at the peer's ACK
	 * (or before any ACK was seen).
	 */
	if (e->type == MW_EV_RETRANS ? (!e->aux || e->seq != e->aux2) :
				       (e->aux2 && e->seq != e->aux2))
		return;
	for (uint32_t i = 0; i < p->nsegs; i++)
		if (p->segs[i].seq == e->seq && p->segs[i].sport == e->flow.sport &&
		    p->segs[i].dport == e->flow.dport)
			s = &p->segs[i];
	if (!s) {
		s = &p->segs[p->nsegs < MAX_SEGS ? p->nsegs++ : MAX_SEGS - 1];
		memset(s, 0, sizeof(*s));
		s->seq = e->seq;
		s->sport = e->flow.sport;
		s->dport = e->flow.dport;
		s->first_ns = c->now;
	}
	s->size = e->size;
	s->nodf = nodf;
	s->rto++;
	/* Another namespace's path: ask which of our devices its traffic leaves by. */
	if (!self_ns(c, p->netns) && !p->via_asked && e->size > MIN_BLACKHOLE_SIZE) {
		p->via_asked = true;
		p->route_due = c->now + ROUTE_DELAY_NS;
	}
	core_check_blackhole(c, p);
}

void core_on_recovered(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, false);
	struct flow *x = core_flow_get(c, e->netns, &e->flow, false);

	if (x) {
		x->unacked_resends = 0;
		x->progress_ns = c->now;
	}
	if (p) {
		p->alive_ns = c->now;
		seg_progress(c, p, e->flow.sport, e->flow.dport, e->seq + 1);
	}
}

/* The peer acknowledged a new largest DF segment of size bytes (DELIVERED, or in ACKED). */
void core_delivered(struct mw_core *c, const struct mw_event *e, uint32_t size)
{
	struct path *p = core_path_get(c, e->netns, e->family, e->flow.daddr, true);

	if (!(e->dir & MW_DIR_F_NODF))
		path_proof(c, p, size);
}

void core_on_delivered(struct mw_core *c, const struct mw_event *e)
{
	core_delivered(c, e, e->size);
}
