// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stalled_tls and stalled_ssh: flows and their handshakes (TLS records, SSH key exchange
 * steps, segment sizes, acknowledged bytes), and a handshake that stops making progress for
 * the stall timer, with or without evidence that packet size is the cause.
 */
#include <stdio.h>
#include <string.h>
#include "core_int.h"

#define NSEC 1000000000ULL

/* ---- flows and handshakes -------------------------------------------------------------- */

enum {
	SSH_SEEN_KEXINIT = 1,
	SSH_SEEN_KEX_INIT = 2,
	SSH_SEEN_KEX_REPLY = 4,
	SSH_SEEN_NEWKEYS = 8,
};

/* "SSH handshake with <IPv6>:<port> stalled for <s>s (<step>)" */
#define MW_STALL_HEAD_LEN (48 + 64 + 96)

static uint32_t ssh_bit(uint32_t step)
{
	switch (step) {
	case MW_HS_SSH_KEXINIT:
		return SSH_SEEN_KEXINIT;
	case MW_HS_SSH_KEX_INIT:
		return SSH_SEEN_KEX_INIT;
	case MW_HS_SSH_KEX_REPLY:
		return SSH_SEEN_KEX_REPLY;
	case MW_HS_SSH_NEWKEYS:
		return SSH_SEEN_NEWKEYS;
	}
	return 0;
}

static void seg_max(struct mw_core *c, const struct mw_event *e, uint32_t size)
{
	struct flow *x = core_flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->max_seg[e->dir & 1] = size;
	if ((e->dir & 1) == MW_DIR_IN) {
		x->progress_ns = c->now;
		core_path_alive(c, e->netns, e->flow.family, e->flow.daddr);
	}
}

static bool tls_client_done(uint32_t step)
{
	return step == MW_HS_TLS_CLIENT_KEX || step == MW_HS_TLS_CCS ||
	       step == MW_HS_TLS_APPDATA || step == MW_HS_TLS_FINISHED;
}

static void on_hs(struct mw_core *c, const struct mw_event *e, uint32_t step)
{
	int dir = e->dir & 1;
	/* Only a conversation's opening creates a flow: a late event never revives a closed one. */
	bool opening = step == MW_HS_TLS_CLIENT_HELLO || step == MW_HS_SSH_IDENT;
	struct flow *x = core_flow_get(c, e->netns, &e->flow, opening);

	if (!x)
		return;
	if (dir == MW_DIR_IN)
		core_path_alive(c, e->netns, e->flow.family, e->flow.daddr);
	x->app = e->aux2;
	x->progress_ns = c->now;
	if (x->app == MW_APP_TLS) {
		if (step == MW_HS_TLS_CLIENT_HELLO)
			x->client = dir == MW_DIR_OUT;
		if (step == MW_HS_TLS_SERVER_HELLO) {
			if (dir == MW_DIR_IN)
				x->server_hello_in = true;
			else
				x->server_hello_out = true;
		}
		/* The client's second flight only leaves once the server's flight is in. */
		if (x->client == 1 && dir == MW_DIR_OUT && x->server_hello_in &&
		    tls_client_done(step))
			x->done = true;
		if (x->client == 0 && dir == MW_DIR_IN && x->server_hello_out &&
		    tls_client_done(step))
			x->done = true;
	} else if (x->app == MW_APP_SSH) {
		if (step == MW_HS_SSH_KEX_INIT)
			x->client = dir == MW_DIR_OUT;
		x->steps[dir] |= ssh_bit(step);
		if ((x->steps[0] & SSH_SEEN_NEWKEYS) && (x->steps[1] & SSH_SEEN_NEWKEYS))
			x->done = true;
	}
}

_Static_assert(sizeof(struct mw_hs_acked) == sizeof(((struct mw_event *)0)->peer),
	       "a folded ACKED fills an event's peer bytes");

/*
 * The steps of one segment's records, in order: aux low, aux high, mtu low, mtu high. peer:
 * the segment's ACK also acknowledged more of ours (an ACKED the event carries), first of
 * all; seq: the segment was also a new largest one received (a SEG_MAX it carries), next.
 */
void core_on_hs_steps(struct mw_core *c, const struct mw_event *e)
{
	const uint32_t packed[2] = { e->aux, e->mtu };
	struct mw_hs_acked a;

	/* The ACKED of the segment's ACK, folded in (peer; zero in older recordings): first. */
	memcpy(&a, e->peer, sizeof(a));
	if (a.acked) {
		struct mw_event x = *e;

		x.type = MW_EV_ACKED;
		x.size = a.acked;
		x.aux = a.sent;
		x.mtu = a.dsize;
		x.seq = a.dseq;
		memset(x.peer, 0, sizeof(x.peer));
		core_on_acked(c, &x);
	}
	if (e->seq)
		seg_max(c, e, e->seq);

	for (int i = 0; i < 4; i++) {
		uint32_t step = packed[i / 2] >> (16 * (i % 2)) & 0xffff;

		if (!step)
			break;
		on_hs(c, e, step);
	}
}

void core_on_seg_max(struct mw_core *c, const struct mw_event *e)
{
	seg_max(c, e, e->size);
}

/* mtu: the same ACK proved a new largest DF segment (a DELIVERED the event carries), first. */
void core_on_acked(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x;

	if (e->mtu)
		core_delivered(c, e, e->mtu);
	x = core_flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->bytes_acked = e->size;
	if (e->aux > x->bytes_sent)
		x->bytes_sent = e->aux;
	x->unacked_resends = 0;
	x->progress_ns = c->now;
	core_path_alive(c, e->netns, e->flow.family, e->flow.daddr);
}

void core_on_state(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x;

	if (e->aux2 == 1 /* TCP_ESTABLISHED */ && (e->dir & MW_DIR_F_UNTRACKED)) {
		/* A connection the kernel does not track (yet): its destination answers, no flow. */
		core_path_alive(c, e->netns, e->flow.family, e->flow.daddr);
		if (self_ns(c, e->netns) && e->ifindex) {
			struct path *p = core_path_get(c, e->netns, e->flow.family, e->flow.daddr,
						       true);

			if (!p->ifindex)
				core_path_touch(c, p, e->ifindex);
		}
	} else if (e->aux2 == 1 /* TCP_ESTABLISHED */) {
		x = core_flow_get(c, e->netns, &e->flow, true);
		x->mss_local = e->size;
		x->mss_peer = e->mtu;
		x->progress_ns = x->start_ns = c->now;
		/* A handshake completed: the destination answers. */
		core_path_alive(c, e->netns, e->flow.family, e->flow.daddr);
		/*
		 * Our socket's egress (its route's device): a connection of small segments only (a
		 * ClientHello) sends no DF_MAX that names it, as tc egress keeps no destination for
		 * what every path carries. A pod's flow is named where the node sees it (its veth).
		 */
		if (self_ns(c, e->netns) && e->ifindex) {
			struct path *p = core_path_get_id(c, x->netns, x->nsid, x->f.family,
							  x->f.daddr, true);

			x->ifindex = e->ifindex;
			if (!p->ifindex)
				core_path_touch(c, p, e->ifindex);
		}
	} else if (e->aux2 == 4 /* TCP_FIN_WAIT1 */ || e->aux2 == 8 /* TCP_CLOSE_WAIT */) {
		x = core_flow_get(c, e->netns, &e->flow, false);
		if (x)
			x->closing = true;
	} else if (e->aux2 == 7 /* TCP_CLOSE */) {
		x = core_flow_get(c, e->netns, &e->flow, false);
		if (x)
			x->used = false;
	}
}

static void stall_step(const struct flow *x, struct mw_finding *f)
{
	if (x->app == MW_APP_TLS) {
		if (x->client == 1 && !x->server_hello_in)
			snprintf(f->step, sizeof(f->step),
				 "after ClientHello, waiting for the server's ServerHello and Certificate");
		else if (x->client == 1)
			snprintf(f->step, sizeof(f->step),
				 "after ServerHello, waiting for the rest of the server's flight (Certificate)");
		else if (x->client == 0 && x->server_hello_out)
			snprintf(f->step, sizeof(f->step),
				 "sent ServerHello and Certificate, waiting for the client's Finished");
		else if (x->client == 0)
			snprintf(f->step, sizeof(f->step), "after ClientHello, the server has not answered");
		else
			snprintf(f->step, sizeof(f->step), "before ClientHello");
		return;
	}
	if (x->client == 1 && !(x->steps[MW_DIR_IN] & SSH_SEEN_KEX_REPLY))
		snprintf(f->step, sizeof(f->step), "waiting for KEX_ECDH_REPLY");
	else if (x->client == 1)
		snprintf(f->step, sizeof(f->step), "after KEX_ECDH_REPLY, waiting for NEWKEYS");
	else if (x->client == 0 && (x->steps[MW_DIR_OUT] & SSH_SEEN_KEX_REPLY))
		snprintf(f->step, sizeof(f->step),
			 "sent KEX_ECDH_REPLY, waiting for the client's NEWKEYS");
	else if (x->client == 0)
		snprintf(f->step, sizeof(f->step), "after KEX_ECDH_INIT, the server has not answered");
	else if ((x->steps[0] | x->steps[1]) & SSH_SEEN_KEXINIT)
		snprintf(f->step, sizeof(f->step), "after KEXINIT, waiting for the key exchange");
	else
		snprintf(f->step, sizeof(f->step),
			 "after the identification strings, waiting for KEXINIT");
}

/* The smallest large size re-sent: the one that tells the path MTU's upper bound. */
static uint32_t big_size(const struct flow *x)
{
	uint32_t m = 0;

	for (uint32_t i = 0; i < x->nrsizes; i++)
		if (x->rsizes[i] >= MW_LARGE_SEG && (!m || x->rsizes[i] < m))
			m = x->rsizes[i];
	return m;
}

void core_check_stall(struct mw_core *c, struct flow *x)
{
	uint64_t after = (uint64_t)c->o.stall_after_s * NSEC;
	struct mw_finding f;
	struct path *p;
	uint32_t hdr = x->f.family == 6 ? 60 : 40, big_retrans = 0;
	bool waiting;
	char seen[80];
	char peer[64];
	char head[MW_STALL_HEAD_LEN];

	if (x->reported || x->done || x->closing || (x->app != MW_APP_TLS && x->app != MW_APP_SSH))
		return;
	if (c->now < x->progress_ns + after)
		return;
	x->reported = true;
	core_finding_init(c, &f, x->app == MW_APP_TLS ? MW_V_STALLED_TLS : MW_V_STALLED_SSH,
			  x->netns, x->f.family, x->f.daddr, x->ifindex);
	f.proto = x->app == MW_APP_TLS ? "tls" : "ssh";
	f.flow = x->f;
	f.client = x->client == 1;
	f.peer_mss = x->mss_peer;
	f.max_seg_rcvd = x->max_seg[MW_DIR_IN];
	f.stalled_secs = (c->now - x->progress_ns) / NSEC;
	f.bytes_sent = x->bytes_sent;
	f.bytes_acked = x->bytes_acked;
	memcpy(f.sizes, x->rsizes, sizeof(f.sizes));
	f.nsizes = x->nrsizes;
	f.count = x->retrans;
	for (uint32_t i = 0; i < x->nrsizes; i++)
		if (x->rsizes[i] >= MW_LARGE_SEG)
			big_retrans++;
	stall_step(x, &f);
	for (int i = 0; i < MW_MAX_HINT_PORTS && c->o.hint_ports[i]; i++)
		if (c->o.hint_ports[i] == x->f.dport || c->o.hint_ports[i] == x->f.sport)
			f.port_hint = true;
	p = core_path_get_id(c, x->netns, x->nsid, x->f.family, x->f.daddr, false);
	if (p && !f.ifindex) {
		f.ifindex = p->ifindex;
		iface_name(c, p->ifindex, f.iface, sizeof(f.iface));
	}
	core_finding_ns(c, &f, x->nsid);
	/*
	 * MTU evidence: we retransmit only large segments, or the peer may send segments far
	 * larger than anything that ever arrived from it (its big flight is what we wait for).
	 */
	/*
	 * Sending end: only large segments are re-sent. Waiting end (the client waits for the
	 * server's large flight): the peer may send far more than ever arrived, and our last
	 * request is re-sent unacknowledged because the peer's ACK rides on that lost flight. A
	 * server that acknowledged the request and is merely slow is not an MTU problem.
	 */
	waiting = x->client == 1;
	f.mtu_evidence = (big_retrans && !x->small_retrans) ||
			 (waiting && x->unacked_resends && x->mss_peer &&
			  x->mss_peer + hdr > 1500 && x->max_seg[MW_DIR_IN] <= 1500);
	if (p && (p->reported & ((1u << MW_V_ICMP_BLACKHOLE) | (1u << MW_V_PTB_DROPPED))))
		f.mtu_evidence = true;
	if (p && p->bracket_hi)
		f.mtu = p->bracket_hi - 1;
	fmt_ip(x->f.family, x->f.daddr, peer, sizeof(peer));
	/*
	 * The step stands alone (it is also its own field): "after ClientHello, ...", "sent
	 * KEX_ECDH_REPLY, ...", "waiting for ...". Set apart, every role's and step's reads.
	 */
	snprintf(head, sizeof(head), "%s handshake with %s:%u stalled for %us (%s)",
		 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.stalled_secs, f.step);
	if (x->max_seg[MW_DIR_IN])
		snprintf(seen, sizeof(seen), "no segment larger than %u bytes ever arrived from it",
			 x->max_seg[MW_DIR_IN]);
	else
		snprintf(seen, sizeof(seen), "no data segment ever arrived from it");
	if (f.mtu_evidence && big_retrans)
		snprintf(f.explain, sizeof(f.explain),
			 "%s; this host re-sends its %u-byte segments and they never get "
			 "through (the peer acknowledged %u of %u bytes): the path MTU is "
			 "smaller than this host believes", head, big_size(x), x->bytes_acked,
			 x->bytes_sent);
	else if (f.mtu_evidence)
		snprintf(f.explain, sizeof(f.explain),
			 "%s; the peer advertised MSS %u but %s: its large flight is most "
			 "likely lost on the way (path MTU)", head, x->mss_peer, seen);
	else if (waiting && x->mss_peer && x->mss_peer + hdr > 1500 &&
		 x->max_seg[MW_DIR_IN] <= 1500 && !x->small_retrans) {
		char ping[96], probe[96];

		/* From this end a lost large flight and a slow peer look alike: say both. */
		core_ping_cmd(x->f.family, peer, x->mss_peer + hdr, ping, sizeof(ping));
		/* The reverse path is measured over TLS (or HTTP); an SSH port cannot be. */
		if (x->app == MW_APP_TLS)
			snprintf(probe, sizeof(probe), x->f.family == 6 ?
				 "mtuwatch probe [%s]:%u --tcp" : "mtuwatch probe %s:%u --tcp",
				 peer, x->f.dport);
		else
			snprintf(probe, sizeof(probe), "mtuwatch probe %s", peer);
		snprintf(f.explain, sizeof(f.explain),
			 "%s; the peer advertised MSS %u but %s: either its large flight is "
			 "lost on the way (path MTU: run mtuwatch on the peer, %s, or %s) or "
			 "the peer is slow", head, x->mss_peer, seen, probe, ping);
	} else
		snprintf(f.explain, sizeof(f.explain),
			 "%s; no sign that packet size is the cause (small segments are lost "
			 "too, or the peer is slow)", head);
	if (f.mtu_evidence) {
		if (p && p->ncauses) {
			memcpy(f.causes, p->causes, sizeof(f.causes));
			f.ncauses = p->ncauses;
		} else {
			core_add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
			core_add_cause(f.causes, &f.ncauses, MW_C_L2_MTU_MISMATCH);
		}
	}
	if (f.mtu_evidence && p && p->ignored_reasons && !p->ptb_forged)
		snprintf(f.remedy, sizeof(f.remedy),
			 "the sender gets the %s and ignores it: see the ptb_ignored finding for "
			 "%s; meanwhile align the MTUs on the path or clamp the MSS on the router",
			 core_ptb_words(x->f.family), peer);
	else if (f.mtu_evidence)
		snprintf(f.remedy, sizeof(f.remedy),
			 "align the MTUs on the path (e.g. the 9000-byte side to 1500) or clamp the "
			 "MSS on the router%s; check that %s from the bottleneck reaches the sender "
			 "(%s)",
			 c->mtu_probing > 0 ? "" : ", or set net.ipv4.tcp_mtu_probing=1 on the sender",
			 core_ptb_words(x->f.family), x->client == 1 ? "the peer" : "this host");
	else
		snprintf(f.remedy, sizeof(f.remedy),
			 "check the peer's service and the path's loss (ping, ss -ti)");
	core_emit(c, &f, p);
}
