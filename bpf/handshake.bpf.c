// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TLS / SSH handshake parser of tc egress and the arrivals, and flow_emit, through which
 * every event about a flow goes out: global functions (see flow.h), verified once per
 * program that calls them.
 */
#include "flow.h"

/*
 * Reads len bytes at off of the packet; tc and XDP have different helpers. `xdp` is a
 * compile-time constant at every call site, so the other branch is dropped.
 */
static __always_inline long pkt_load(void *ctx, bool xdp, __u32 off, void *to, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

static __always_inline void flow_event_key(struct mw_event *e, struct mw_flow_key *k)
{
	e->netns = k->netns;
	e->family = k->family;
	__builtin_memcpy(e->flow.saddr, k->laddr, 16);
	__builtin_memcpy(e->flow.daddr, k->raddr, 16);
	e->flow.sport = k->lport;
	e->flow.dport = k->rport;
	e->flow.family = k->family;
	e->flow.proto = IPPROTO_TCP;
}

/*
 * Every event about a flow (tracked, or a packet's own) goes out through this global
 * function: the verifier walks it once per program instead of once per path that emits one
 * (reserving, zeroing and filling an event was a fifth of tc egress's and XDP's
 * verification, start-up time). acked (NULL: none): an ACKED waiting to be folded into this
 * HS event (the event's peer bytes, see struct mw_hs_acked); taken, it is cleared.
 * Pointer arguments of a global function may be NULL as far as the verifier knows: checked.
 */
__noinline int flow_emit(struct mw_flow_key *k, struct flow_ev *a, struct mw_hs_acked *acked)
{
	struct mw_event *e;

	if (!k || !a)
		return 0;
	e = ev_new(a->type);
	if (!e)
		return 0;
	flow_event_key(e, k);
	if (a->proto)
		e->flow.proto = a->proto;
	e->dir = a->dir | (k->pad[0] == MW_KEY_NODE_IF ? MW_DIR_F_NODE_IF : 0);
	e->size = a->size;
	e->seq = a->seq;
	e->aux = a->aux;
	e->aux2 = a->aux2;
	e->mtu = a->mtu;
	e->ifindex = a->ifindex;
	if (acked && acked->acked) {
		__builtin_memcpy(e->peer, acked, sizeof(*acked));
		acked->acked = 0;
	}
	ev_send(e);
	return 0;
}

/*
 * steps: up to two MW_HS_* steps, 16 bits each (the first in the low half); more: two more.
 * seg: the segment's size if it is a new largest one received (0: not): the segment's first
 * HS event carries it (seq) instead of a SEG_MAX event of its own. The same goes for the
 * ACKED of the segment's ACK, which flow_acked left in hs_fold (flow_emit takes it).
 */
static __always_inline void hs_event(struct mw_flow_key *k, int dir, __u32 steps, __u32 more,
				     __u8 app, __u32 len, __u32 *seg)
{
	struct flow_ev a = { .type = MW_EV_HS, .dir = dir, .aux = steps, .mtu = more, .aux2 = app,
			     .size = len, .seq = *seg };
	__u32 zero = 0;

	*seg = 0;
	flow_emit(k, &a, bpf_map_lookup_elem(&hs_fold, &zero));
}

/*
 * Parse the clear-text start of a TLS or SSH conversation. Only a segment that starts exactly
 * where the previous record ended is parsed (next_seq), so a segment that starts mid-record
 * (a retransmission, reordering, a capture that joined late) is never misread. Bounded: at
 * most 4 records per segment and HS_MAX_STEPS per flow.
 */
static __always_inline void hs_parse_body(void *ctx, bool xdp, struct mw_flow_key *k,
					  struct mw_flow_val *v, int dir, __u32 seq, __u32 poff,
					  __u32 plen, __u32 *seg)
{
	struct mw_flow_dir *d = &v->d[dir & 1];
	__u32 rel, off;
	__u8 h[8];

	if (v->done & (1 << dir) || !d->next_seq || seq != d->next_seq)
		return;
	if (d->app_steps >= HS_MAX_STEPS) {
		v->done |= 1 << dir;
		return;
	}
	if (plen < 6)
		return;
	if (pkt_load(ctx, xdp, poff, h, 6))
		return;

	if (v->app == MW_APP_UNKNOWN) {
		if (h[0] == 22 && h[1] == 3 && h[2] <= 4)
			v->app = MW_APP_TLS;
		else if (h[0] == 'S' && h[1] == 'S' && h[2] == 'H' && h[3] == '-')
			v->app = MW_APP_SSH;
		else {
			v->app = MW_APP_OTHER;
			v->done = 3;
			return;
		}
	}

	rel = 0;
	if (v->app == MW_APP_SSH && !(d->app_steps)) {
		/* The identification line ends with LF within 255 bytes (RFC 4253 4.2). */
		/*
		 * The line goes to per-CPU scratch, not the stack: with flow_emit's frame the
		 * stack would pass 512 bytes as 6.1 counts it (frames rounded up to 32).
		 */
		__u32 zero = 0, n = plen < SSH_LINE ? plen : SSH_LINE;
		__u8 *line = bpf_map_lookup_elem(&scratch, &zero);

		if (h[0] != 'S' || h[1] != 'S' || h[2] != 'H' || h[3] != '-') {
			v->done |= 1 << dir;
			return;
		}
		if (n < 8 || !line)
			return;
		/* The same value, in a form whose bounds [1, 64] the verifier sees whatever
		 * registers the compiler picks. */
		n = ((n - 1) & (SSH_LINE - 1)) + 1;
		if (pkt_load(ctx, xdp, poff, line, n))
			return;
		rel = 0;
		for (__u32 i = 4; i < SSH_LINE; i++) {
			if (i >= n)
				break;
			if (line[i] == '\n') {
				rel = i + 1;
				break;
			}
		}
		if (!rel) {
			/* Longer than we look: give up rather than guess. */
			v->done |= 1 << dir;
			return;
		}
		d->app_steps++;
		hs_event(k, dir, MW_HS_SSH_IDENT, 0, MW_APP_SSH, rel, seg);
		d->next_seq = seq + rel;
	}

	/*
	 * The records of one segment go out as one event (up to four steps): a TLS 1.3 server's
	 * ServerHello, ChangeCipherSpec and first encrypted record usually share a segment.
	 */
	__u32 steps = 0, more = 0, n = 0, bytes = 0;

	for (int i = 0; i < 4; i++) {
		__u32 rlen, step;

		if (rel + 6 > plen)
			break;
		off = poff + rel;
		if (pkt_load(ctx, xdp, off, h, 6))
			goto out;
		if (v->app == MW_APP_TLS) {
			if (h[1] != 3 || h[2] > 4) {
				v->done |= 1 << dir;
				goto out;
			}
			rlen = ((__u32)h[3] << 8) | h[4];
			if (rlen == 0 || rlen > 16384 + 2048) {
				v->done |= 1 << dir;
				goto out;
			}
			if (h[0] == 22)
				step = h[5];
			else if (h[0] == 20)
				step = MW_HS_TLS_CCS;
			else if (h[0] == 23)
				step = MW_HS_TLS_APPDATA;
			else if (h[0] == 21)
				step = 0;	/* alert: not a step */
			else {
				v->done |= 1 << dir;
				goto out;
			}
			rlen += 5;
		} else {
			__u32 plen_ssh = ((__u32)h[0] << 24) | ((__u32)h[1] << 16) |
					 ((__u32)h[2] << 8) | h[3];

			/* RFC 4253 6.1: packets up to 35000 bytes must be accepted. */
			if (plen_ssh < 5 || plen_ssh > 256 * 1024 || h[4] >= plen_ssh) {
				v->done |= 1 << dir;
				goto out;
			}
			step = MW_HS_SSH_BASE + h[5];
			rlen = plen_ssh + 4;
		}
		if (step) {
			d->app_steps++;
			if (n < 2)
				steps |= step << (16 * n);
			else
				more |= step << (16 * (n & 1));
			n++;
			bytes += rlen;
		}
		/* Past these points everything is encrypted: stop looking in this direction. */
		if (step == MW_HS_TLS_APPDATA || step == MW_HS_SSH_NEWKEYS) {
			v->done |= 1 << dir;
			d->next_seq = 0;
			goto out;
		}
		rel += rlen;
		d->next_seq = seq + rel;
		if (rel >= plen)
			goto out;
	}
	/* More records in this segment than we parse: stop rather than lose the boundary. */
	if (rel < plen)
		v->done |= 1 << dir;
out:
	if (n)
		hs_event(k, dir, steps, more, v->app, bytes, seg);
}

/*
 * The parser as global functions, one per program type (the context's type is what the
 * verifier checks a global function's first argument against, on 6.1 too): the verifier
 * walks each once per program instead of once per path that reaches a call. Pointer
 * arguments of global functions may be NULL as far as the verifier knows: checked.
 */
__noinline int hs_parse_tc(struct __sk_buff *skb, struct mw_flow_key *k, struct mw_flow_val *v,
			   struct hs_seg *g)
{
	if (!skb || !k || !v || !g)
		return 0;
	hs_parse_body(skb, false, k, v, g->dir & 1, g->seq, g->poff, g->plen, &g->seg_max);
	return 0;
}

__noinline int hs_parse_xdp(struct xdp_md *ctx, struct mw_flow_key *k, struct mw_flow_val *v,
			    struct hs_seg *g)
{
	if (!ctx || !k || !v || !g)
		return 0;
	hs_parse_body(ctx, true, k, v, g->dir & 1, g->seq, g->poff, g->plen, &g->seg_max);
	return 0;
}
