// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Diagnosis: correlate sizes, retransmissions, Packet Too Big arrivals and drops, route MTUs
 * and handshakes per path (destination, egress interface) and per flow.
 *
 * False alarms cost an SRE as much as misses, so each verdict needs positive evidence:
 *  - icmp_blackhole: the same DF segment is retransmitted by timeout at least twice with no
 *    progress, every such segment is larger than something that got through, and no Packet
 *    Too Big for the destination arrived or was dropped. Loss of small segments (a dead
 *    peer, a congested link) vetoes it.
 *  - ptb_dropped: the kernel said so (kfree_skb with a reason), nothing inferred.
 *  - pmtu_learned: the route MTU read back after a Packet Too Big arrived fell below the
 *    interface MTU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "core.h"

#define MAX_PATHS 4096
#define MAX_FLOWS 4096
#define MAX_IFACES 256
#define MAX_SEGS 16
#define MAX_ROUTE_REQ 64
#define NSEC 1000000000ULL
#define ROUTE_DELAY_NS (100 * 1000000ULL)
#define SMALL_SEG 640		/* a stuck segment this small: not an MTU problem */
/*
 * A black-hole claim needs a stuck segment above this: IPv6's minimum MTU, and below what any
 * real tunnel or overlay leaves. Under it, a segment stuck because its ACK rides on the peer's
 * lost large flight would read as a tiny path MTU.
 */
#define MIN_BLACKHOLE_SIZE 1280
/* A segment must stay stuck this long: loss recovers within an RTO or two, a black hole never. */
#define STUCK_NS (1000 * 1000000ULL)

/* A segment re-sent at the head of its flow's queue: stuck until the peer acknowledges it. */
struct stuck_seg {
	uint32_t seq;
	uint32_t size;
	uint32_t rto;		/* times it was re-sent at the head of the queue */
	uint16_t sport, dport;	/* its flow: sequence numbers mean nothing across flows */
	uint64_t first_ns;	/* first re-send */
	bool recovered;		/* acknowledged since: it got through */
};

struct path {
	bool used;
	uint32_t netns;
	uint8_t family;
	uint8_t dst[16];
	uint32_t ifindex;
	uint32_t max_df;
	uint32_t sent_sizes[MW_MAX_SIZES];	/* staircase of new maxima (DF_MAX) */
	uint32_t sent_seqs[MW_MAX_SIZES];	/* their TCP sequence numbers */
	uint32_t nsent;
	uint32_t retrans, large_retrans;
	uint32_t rsizes[MW_MAX_SIZES], nrsizes;
	struct stuck_seg segs[MAX_SEGS];
	uint32_t nsegs;
	uint32_t delivered_max;			/* largest re-sent segment that got through */
	uint32_t ptb_rx, ptb_dropped, ptb_sent;
	uint32_t ptb_mtu;
	uint8_t ptb_peer[16];
	uint32_t pmtu;
	uint32_t bracket_lo, bracket_hi;
	uint64_t route_due;			/* route read-back wanted at this time */
	uint64_t last_ns;
	uint32_t reported;			/* bitmask of verdicts reported */
	uint32_t dropped_reasons[4];		/* reasons already reported */
	enum mw_verdict worst;
};

struct flow {
	bool used;
	uint32_t netns;
	struct mw_flow f;	/* local -> remote */
	uint8_t app;
	int client;		/* -1 unknown, 1 we are the client, 0 the server */
	uint32_t steps[2];	/* SSH: bitmask of SSH_SEEN_* per direction */
	bool server_hello_in, server_hello_out;
	bool done;
	bool reported;
	uint64_t start_ns, progress_ns;
	uint32_t mss_local, mss_peer;
	uint32_t max_seg[2];
	uint32_t ifindex;
	uint32_t rsizes[MW_MAX_SIZES], nrsizes;
	uint32_t retrans, small_retrans;
	uint32_t bytes_sent, bytes_acked;	/* of our data, from the first payload byte */
	uint32_t unacked_resends;	/* re-sends since the peer last acknowledged anything */
};

struct iface {
	uint32_t ifindex;
	uint32_t mtu;
	char name[MW_IFNAME_LEN];
};

/*
 * Index of a slot table (paths, flows): hash chains for O(1) lookups and a recency list for
 * O(1) eviction, kept beside the slots so that the slots stay plain data. Links are slot
 * numbers + 1 (0: none), so a zeroed table is an empty one.
 */
#define TAB_BUCKETS 8192	/* power of two, twice the slots: short chains */

struct tab_link {
	uint32_t hnext;		/* next slot in the same bucket */
	uint32_t newer, older;	/* recency list */
	uint32_t bucket;
	bool linked;		/* in a bucket and the recency list */
};

struct slot_tab {
	uint32_t head[TAB_BUCKETS];
	uint32_t newest, oldest;
	uint32_t free;		/* slots released while linked, chained through hnext */
};

struct mw_core {
	struct mw_core_opts o;
	struct path paths[MAX_PATHS];
	struct flow flows[MAX_FLOWS];
	struct iface ifaces[MAX_IFACES];
	int nifaces;
	int paths_hw, flows_hw;		/* one past the highest slot ever used */
	struct slot_tab ptab, ftab;
	struct tab_link plink[MAX_PATHS], flink[MAX_FLOWS];
	uint64_t hash_seed;
	uint32_t last_flow;		/* slot + 1 that flow_get() returned last */
	uint64_t now;
	uint64_t lost;
	uint32_t nfind[MW_V_MAX];
};

static const char *const verdict_names[MW_V_MAX] = {
	[MW_V_NONE] = "none",
	[MW_V_ICMP_BLACKHOLE] = "icmp_blackhole",
	[MW_V_PTB_DROPPED] = "ptb_dropped",
	[MW_V_PMTU_LEARNED] = "pmtu_learned",
	[MW_V_PTB_SENT] = "ptb_sent",
	[MW_V_STALLED_TLS] = "stalled_tls",
	[MW_V_STALLED_SSH] = "stalled_ssh",
};

/* How alarming each verdict is, for the summary's worst-of column. */
static const int severity[MW_V_MAX] = {
	[MW_V_PMTU_LEARNED] = 1, [MW_V_PTB_SENT] = 2, [MW_V_STALLED_TLS] = 3,
	[MW_V_STALLED_SSH] = 3, [MW_V_PTB_DROPPED] = 4, [MW_V_ICMP_BLACKHOLE] = 5,
};

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

static struct iface *iface_get(struct mw_core *c, uint32_t ifindex)
{
	for (int i = 0; i < c->nifaces; i++)
		if (c->ifaces[i].ifindex == ifindex)
			return &c->ifaces[i];
	return NULL;
}

const char *iface_name(struct mw_core *c, uint32_t ifindex, char *buf, size_t len)
{
	struct iface *i = iface_get(c, ifindex);

	if (i)
		snprintf(buf, len, "%s", i->name);
	else if (ifindex)
		snprintf(buf, len, "if%u", ifindex);
	else
		snprintf(buf, len, "-");
	return buf;
}

static bool wanted(struct mw_core *c, uint32_t netns)
{
	return c->o.all_netns || !c->o.self_netns || netns == c->o.self_netns;
}

static int addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

/* ---- slot tables ------------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t hash_addr(uint64_t h, const uint8_t *a, int len)
{
	uint64_t v[2] = {};

	memcpy(v, a, len);
	h = mix(h, v[0]);
	return len > 8 ? mix(h, v[1]) : h;
}

static uint32_t bucket_of(uint64_t h)
{
	h ^= h >> 32;
	return (uint32_t)h & (TAB_BUCKETS - 1);
}

static void lru_unlink(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	if (l[id - 1].newer)
		l[l[id - 1].newer - 1].older = l[id - 1].older;
	else
		t->newest = l[id - 1].older;
	if (l[id - 1].older)
		l[l[id - 1].older - 1].newer = l[id - 1].newer;
	else
		t->oldest = l[id - 1].newer;
	l[id - 1].newer = l[id - 1].older = 0;
}

static void lru_push(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	l[id - 1].older = t->newest;
	l[id - 1].newer = 0;
	if (t->newest)
		l[t->newest - 1].newer = id;
	t->newest = id;
	if (!t->oldest)
		t->oldest = id;
}

/* Most recently used: O(1). */
static void tab_touch(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	if (t->newest == id)
		return;
	lru_unlink(t, l, id);
	lru_push(t, l, id);
}

static void tab_link(struct slot_tab *t, struct tab_link *l, uint32_t id, uint32_t b)
{
	l[id - 1].bucket = b;
	l[id - 1].hnext = t->head[b];
	t->head[b] = id;
	l[id - 1].linked = true;
	lru_push(t, l, id);
}

/* Out of its bucket (a walk of one short chain) and the recency list. */
static void tab_unlink(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	uint32_t *pp = &t->head[l[id - 1].bucket];

	if (!l[id - 1].linked)
		return;
	while (*pp && *pp != id)
		pp = &l[*pp - 1].hnext;
	if (*pp)
		*pp = l[id - 1].hnext;
	l[id - 1].hnext = 0;
	lru_unlink(t, l, id);
	l[id - 1].linked = false;
}

/* A slot the diagnosis released (used = false): out of the index, first to be reused. */
static void tab_release(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	tab_unlink(t, l, id);
	l[id - 1].hnext = t->free;
	t->free = id;
}

/*
 * A slot for a new entry: one released, else one never used, else the least recently used
 * one is forgotten (bounded memory, O(1)). Returns slot + 1.
 */
static uint32_t tab_alloc(struct slot_tab *t, struct tab_link *l, int *hw, int max)
{
	uint32_t id;

	if (t->free) {
		id = t->free;
		t->free = l[id - 1].hnext;
		l[id - 1].hnext = 0;
		return id;
	}
	if (*hw < max)
		return (uint32_t)++*hw;
	id = t->oldest;
	tab_unlink(t, l, id);
	return id;
}

static uint64_t path_hash(const struct mw_core *c, uint32_t netns, uint8_t family,
			  const uint8_t *dst)
{
	return hash_addr(mix(c->hash_seed, (uint64_t)netns << 8 | family), dst, addr_len(family));
}

/*
 * The path to (netns, destination): O(1) whatever the number of paths. A new one, when the
 * table is full, replaces the least recently fed path (the quietest: every event that feeds
 * a path looks it up with create set).
 */
static struct path *path_get(struct mw_core *c, uint32_t netns, uint8_t family,
			     const uint8_t *dst, bool create)
{
	uint32_t b = bucket_of(path_hash(c, netns, family, dst)), id, next;
	struct path *p;

	for (id = c->ptab.head[b]; id; id = next) {
		next = c->plink[id - 1].hnext;
		p = &c->paths[id - 1];
		if (!p->used) {
			tab_release(&c->ptab, c->plink, id);	/* released by the diagnosis */
			continue;
		}
		if (p->netns == netns && p->family == family &&
		    !memcmp(p->dst, dst, addr_len(family))) {
			if (create)
				tab_touch(&c->ptab, c->plink, id);
			return p;
		}
	}
	if (!create)
		return NULL;
	id = tab_alloc(&c->ptab, c->plink, &c->paths_hw, MAX_PATHS);
	p = &c->paths[id - 1];
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->netns = netns;
	p->family = family;
	memcpy(p->dst, dst, addr_len(family));
	tab_link(&c->ptab, c->plink, id, b);
	return p;
}

static bool flow_eq(const struct mw_flow *a, const struct mw_flow *b)
{
	int n = addr_len(a->family);

	return a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->saddr, b->saddr, n) && !memcmp(a->daddr, b->daddr, n);
}

static uint64_t flow_hash(const struct mw_core *c, uint32_t netns, const struct mw_flow *f)
{
	uint64_t h = mix(c->hash_seed ^ 0x5bd1e995, (uint64_t)netns << 40 |
			 (uint64_t)f->family << 32 | (uint32_t)f->sport << 16 | f->dport);

	h = hash_addr(h, f->saddr, addr_len(f->family));
	return hash_addr(h, f->daddr, addr_len(f->family));
}

/*
 * The flow (netns, 4-tuple): O(1). Every event of a flow counts as use; a new flow, when the
 * table is full, replaces the least recently seen one. A flow the diagnosis released (used
 * cleared on close) leaves the index on the next call, or when a lookup meets it.
 */
static struct flow *flow_get(struct mw_core *c, uint32_t netns, const struct mw_flow *f,
			     bool create)
{
	uint32_t b = bucket_of(flow_hash(c, netns, f)), id, next;
	struct flow *x;

	if (c->last_flow && !c->flows[c->last_flow - 1].used && c->flink[c->last_flow - 1].linked)
		tab_release(&c->ftab, c->flink, c->last_flow);
	c->last_flow = 0;
	for (id = c->ftab.head[b]; id; id = next) {
		next = c->flink[id - 1].hnext;
		x = &c->flows[id - 1];
		if (!x->used) {
			tab_release(&c->ftab, c->flink, id);
			continue;
		}
		if (x->netns == netns && flow_eq(&x->f, f)) {
			tab_touch(&c->ftab, c->flink, id);
			c->last_flow = id;
			return x;
		}
	}
	if (!create)
		return NULL;
	id = tab_alloc(&c->ftab, c->flink, &c->flows_hw, MAX_FLOWS);
	x = &c->flows[id - 1];
	memset(x, 0, sizeof(*x));
	x->used = true;
	x->netns = netns;
	x->f = *f;
	x->client = -1;
	x->start_ns = x->progress_ns = c->now;
	tab_link(&c->ftab, c->flink, id, b);
	c->last_flow = id;
	return x;
}

static void add_size(uint32_t *sizes, uint32_t *n, uint32_t size)
{
	for (uint32_t i = 0; i < *n; i++)
		if (sizes[i] == size)
			return;
	if (*n < MW_MAX_SIZES)
		sizes[(*n)++] = size;
}

static void fmt_addr(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
}

static void finding_init(struct mw_core *c, struct mw_finding *f, enum mw_verdict v,
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
	iface_name(c, ifindex, f->iface, sizeof(f->iface));
}

static void emit(struct mw_core *c, struct mw_finding *f, struct path *p)
{
	c->nfind[f->verdict]++;
	if (p && severity[f->verdict] > severity[p->worst])
		p->worst = f->verdict;
	if (c->o.on_finding)
		c->o.on_finding(f, c->o.ctx);
}

/* ---- paths ------------------------------------------------------------------------------ */

static void path_touch(struct mw_core *c, struct path *p, uint32_t ifindex)
{
	p->last_ns = c->now;
	if (ifindex)
		p->ifindex = ifindex;
}

/* Largest size sent that is smaller than every stuck segment: presumed to have got through. */
static uint32_t bracket_low(const struct path *p, uint32_t hi)
{
	uint32_t lo = 0;

	for (uint32_t i = 0; i < p->nsent; i++) {
		bool stuck = false;

		/* A segment that was itself sent again did not get through. */
		for (uint32_t k = 0; k < p->nsegs; k++)
			if (p->sent_seqs[i] && p->segs[k].seq == p->sent_seqs[i])
				stuck = true;
		if (!stuck && p->sent_sizes[i] < hi && p->sent_sizes[i] > lo)
			lo = p->sent_sizes[i];
	}
	return lo;
}

/* Largest TCP segment sent to the destination and never sent again: it got through. */
static uint32_t proven_size(const struct path *p)
{
	uint32_t m = 0;

	for (uint32_t i = 0; i < p->nsent; i++) {
		bool again = false;

		if (!p->sent_seqs[i])
			continue;	/* not TCP: nothing says whether it arrived */
		for (uint32_t k = 0; k < p->nsegs; k++)
			if (p->segs[k].seq == p->sent_seqs[i])
				again = true;
		if (!again && p->sent_sizes[i] > m)
			m = p->sent_sizes[i];
	}
	return m;
}

static void check_blackhole(struct mw_core *c, struct path *p)
{
	uint32_t hi = 0, stuck = 0, lo;
	struct mw_finding f;
	char d[64];

	if (p->reported & (1u << MW_V_ICMP_BLACKHOLE))
		return;
	if (p->ptb_rx || p->ptb_dropped)
		return;
	for (uint32_t i = 0; i < p->nsegs; i++) {
		struct stuck_seg *s = &p->segs[i];

		if (s->recovered || s->rto < 2)
			continue;
		/* Small segments stuck too: the peer or the whole path is gone, not the MTU. */
		if (s->size <= SMALL_SEG)
			return;
		if (s->size <= MIN_BLACKHOLE_SIZE || c->now < s->first_ns + STUCK_NS)
			continue;
		stuck++;
		if (!hi || s->size < hi)
			hi = s->size;
	}
	if (!stuck)
		return;
	/* A segment this large got through before: the path carries it, this is loss. */
	if (p->delivered_max >= hi || proven_size(p) >= hi)
		return;
	lo = bracket_low(p, hi);
	/* Nothing smaller ever went out: no proof that the path works at all. */
	if (!lo)
		return;
	p->bracket_lo = lo;
	p->bracket_hi = hi;
	p->pmtu = hi - 1;
	p->reported |= 1u << MW_V_ICMP_BLACKHOLE;

	finding_init(c, &f, MW_V_ICMP_BLACKHOLE, p->netns, p->family, p->dst, p->ifindex);
	f.bracket_lo = lo;
	f.bracket_hi = hi;
	f.mtu = hi - 1;
	f.count = p->retrans;
	memcpy(f.sizes, p->rsizes, sizeof(f.sizes));
	f.nsizes = p->nrsizes;
	fmt_addr(p->family, p->dst, d, sizeof(d));
	snprintf(f.explain, sizeof(f.explain),
		 "DF packets of %u bytes to %s via %s are retransmitted without progress and no "
		 "Packet Too Big arrives: the path MTU is between %u and %u bytes and a hop on the "
		 "way drops the oversized packets silently (its ICMP is filtered)",
		 hi, d, f.iface, lo, hi - 1);
	snprintf(f.remedy, sizeof(f.remedy),
		 "align the MTUs along the path (or lower %s's MTU to the path's), clamp the TCP "
		 "MSS on the router (iptables -t mangle ... TCPMSS --clamp-mss-to-pmtu), or set "
		 "net.ipv4.tcp_mtu_probing=1 on the senders; ask whoever filters ICMP to let type 3 "
		 "code 4 / ICMPv6 type 2 through", f.iface);
	emit(c, &f, p);
}

static void on_df_max(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, true);
	uint32_t i;

	path_touch(c, p, e->ifindex);
	if (e->size > p->max_df)
		p->max_df = e->size;
	i = p->nsent < MW_MAX_SIZES ? p->nsent++ : MW_MAX_SIZES - 1;
	p->sent_sizes[i] = e->size;
	p->sent_seqs[i] = e->seq;
}

/* Every stuck segment of the flow below ack got through: remember how large it was. */
static void seg_progress(struct path *p, uint16_t sport, uint16_t dport, uint32_t ack)
{
	for (uint32_t i = 0; i < p->nsegs; i++) {
		struct stuck_seg *s = &p->segs[i];

		if (s->recovered || s->sport != sport || s->dport != dport ||
		    (int32_t)(ack - s->seq) <= 0)
			continue;
		s->recovered = true;
		if (s->size > p->delivered_max)
			p->delivered_max = s->size;
	}
}

static void on_retrans(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, true);
	struct stuck_seg *s = NULL;
	struct flow *fl;

	path_touch(c, p, e->ifindex);
	p->retrans++;
	if (e->size >= MW_LARGE_SEG)
		p->large_retrans++;
	add_size(p->rsizes, &p->nrsizes, e->size);

	fl = flow_get(c, e->netns, &e->flow, false);
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
		seg_progress(p, e->flow.sport, e->flow.dport, e->aux2);
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
	s->rto++;
	check_blackhole(c, p);
}

static void on_recovered(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, false);
	struct flow *x = flow_get(c, e->netns, &e->flow, false);

	if (x) {
		x->unacked_resends = 0;
		x->progress_ns = c->now;
	}
	if (p)
		seg_progress(p, e->flow.sport, e->flow.dport, e->seq + 1);
}

static const char *reason_str(struct mw_core *c, uint32_t v, char *buf, size_t len)
{
	const char *n = c->o.reason_name ? c->o.reason_name(v, c->o.reason_ctx) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "REASON_%u", v);
	return buf;
}

static void on_ptb_drop(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->flow.family ? e->flow.family : e->family,
				  e->flow.daddr, true);
	struct mw_finding f;
	char peer[64], dst[64], rb[32];
	const char *rn;
	bool seen = false;

	path_touch(c, p, 0);
	p->ptb_dropped++;
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

	finding_init(c, &f, MW_V_PTB_DROPPED, e->netns, p->family, p->dst, e->ifindex);
	memcpy(f.peer, e->peer, 16);
	f.mtu = e->mtu;
	f.reason = e->aux;
	f.flow = e->flow;
	f.outgoing = e->aux2;
	f.count = p->ptb_dropped;
	rn = reason_str(c, e->aux, rb, sizeof(rb));
	snprintf(f.drop_reason, sizeof(f.drop_reason), "%s", rn);
	fmt_addr(e->family, e->peer, peer, sizeof(peer));
	fmt_addr(p->family, p->dst, dst, sizeof(dst));
	if (f.outgoing) {
		char to[64];

		/* The PTB goes back to the source of the packet it quotes. */
		fmt_addr(e->flow.family ? e->flow.family : e->family, e->flow.saddr, to, sizeof(to));
		snprintf(f.explain, sizeof(f.explain),
			 "this host's own Packet Too Big (mtu %u) to %s for traffic to %s was "
			 "dropped on its way out (%s): the senders behind it never learn the path MTU",
			 e->mtu, to, dst, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "let ICMP type 3 code 4 / ICMPv6 type 2 leave this host (firewall OUTPUT "
			 "and FORWARD rules), or clamp the MSS on this router");
	} else if (!strcmp(rn, "IP_RPFILTER")) {
		snprintf(f.explain, sizeof(f.explain),
			 "a Packet Too Big from %s (mtu %u) for traffic to %s arrived on %s and was "
			 "dropped by strict reverse-path filtering: %s is not routable back via %s "
			 "(a router answering from its management address)",
			 peer, e->mtu, dst, f.iface, peer, f.iface);
		snprintf(f.remedy, sizeof(f.remedy),
			 "have the router source ICMP errors from its interface address, or add a "
			 "route to %s via %s; loosening rp_filter to 2 only hides the problem and "
			 "weakens spoofing protection, not a production fix; meanwhile clamp the MSS "
			 "or lower the MTU to %u", peer, f.iface, e->mtu);
	} else if (strstr(rn, "NETFILTER") || strstr(rn, "NFT")) {
		snprintf(f.explain, sizeof(f.explain),
			 "a Packet Too Big from %s (mtu %u) for traffic to %s arrived on %s and this "
			 "host's firewall dropped it (%s): the sender keeps sending too-large packets",
			 peer, e->mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "accept ICMP type 3 code 4 (fragmentation-needed) and ICMPv6 type 2 "
			 "(packet-too-big) in INPUT (e.g. iptables -I INPUT -p icmp --icmp-type "
			 "fragmentation-needed -j ACCEPT); meanwhile lower the MTU to %u or clamp the MSS",
			 e->mtu);
	} else {
		snprintf(f.explain, sizeof(f.explain),
			 "a Packet Too Big from %s (mtu %u) for traffic to %s arrived on %s and was "
			 "dropped on this host (%s)", peer, e->mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "find why the kernel drops it (%s); meanwhile lower the MTU to %u or clamp "
			 "the MSS", rn, e->mtu);
	}
	emit(c, &f, p);
}

static void on_ptb_rx(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->flow.family ? e->flow.family : e->family,
				  e->flow.daddr, true);

	path_touch(c, p, 0);
	p->ptb_rx++;
	p->ptb_mtu = e->mtu;
	memcpy(p->ptb_peer, e->peer, 16);
	if (!(p->reported & (1u << MW_V_PMTU_LEARNED)))
		p->route_due = c->now + ROUTE_DELAY_NS;
	if (!p->ifindex)
		p->ifindex = e->ifindex;
}

static void on_route(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, false);
	struct iface *i;
	struct mw_finding f;
	char peer[64], dst[64];

	if (!p)
		return;
	p->route_due = 0;
	if (!e->mtu || (p->reported & (1u << MW_V_PMTU_LEARNED)))
		return;
	if (e->ifindex)
		p->ifindex = e->ifindex;
	i = iface_get(c, p->ifindex);
	if (i && e->mtu >= i->mtu)
		return;
	p->pmtu = e->mtu;
	p->reported |= 1u << MW_V_PMTU_LEARNED;
	finding_init(c, &f, MW_V_PMTU_LEARNED, p->netns, p->family, p->dst, p->ifindex);
	memcpy(f.peer, p->ptb_peer, 16);
	f.mtu = e->mtu;
	f.count = p->ptb_rx;
	fmt_addr(p->family, p->ptb_peer, peer, sizeof(peer));
	fmt_addr(p->family, p->dst, dst, sizeof(dst));
	snprintf(f.explain, sizeof(f.explain),
		 "a Packet Too Big from %s was accepted and the route MTU to %s fell to %u "
		 "(interface %s has %u): Path MTU Discovery works on this path",
		 peer, dst, e->mtu, f.iface, i ? i->mtu : 0);
	snprintf(f.remedy, sizeof(f.remedy),
		 "nothing urgent; if this path is permanent, set the interface or route MTU to %u "
		 "to save the first round of oversized packets", e->mtu);
	emit(c, &f, p);
}

static void on_ptb_sent(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, true);
	struct mw_finding f;
	char src[64], dst[64];

	path_touch(c, p, 0);
	if (!e->aux)
		p->ptb_sent++;
	if (p->reported & (1u << MW_V_PTB_SENT))
		return;
	p->reported |= 1u << MW_V_PTB_SENT;
	finding_init(c, &f, MW_V_PTB_SENT, e->netns, e->family, e->flow.daddr, e->ifindex);
	f.mtu = e->mtu;
	f.flow = e->flow;
	f.count = p->ptb_sent;
	fmt_addr(e->family, e->flow.saddr, src, sizeof(src));
	fmt_addr(e->family, e->flow.daddr, dst, sizeof(dst));
	snprintf(f.explain, sizeof(f.explain),
		 "this host forwards %s -> %s and drops its %u-byte packets because egress %s has "
		 "MTU %u: it sends Packet Too Big and is the path's bottleneck",
		 src, dst, e->size, f.iface, e->mtu);
	snprintf(f.remedy, sizeof(f.remedy),
		 "make sure that Packet Too Big reaches %s (no ICMP filtering, a source address "
		 "that passes rp_filter), or clamp the MSS here: iptables -t mangle -A FORWARD -p "
		 "tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu", src);
	emit(c, &f, p);
}

/* ---- flows and handshakes -------------------------------------------------------------- */

enum {
	SSH_SEEN_KEXINIT = 1,
	SSH_SEEN_KEX_INIT = 2,
	SSH_SEEN_KEX_REPLY = 4,
	SSH_SEEN_NEWKEYS = 8,
};

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

static bool tls_client_done(uint32_t step)
{
	return step == MW_HS_TLS_CLIENT_KEX || step == MW_HS_TLS_CCS ||
	       step == MW_HS_TLS_APPDATA || step == MW_HS_TLS_FINISHED;
}

static void on_hs(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x = flow_get(c, e->netns, &e->flow, true);
	int dir = e->dir & 1;
	uint32_t step = e->aux;

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

static void on_seg_max(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x = flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->max_seg[e->dir & 1] = e->size;
	if (e->dir == MW_DIR_IN)
		x->progress_ns = c->now;
}

static void on_acked(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x = flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->bytes_acked = e->size;
	if (e->aux > x->bytes_sent)
		x->bytes_sent = e->aux;
	x->unacked_resends = 0;
	x->progress_ns = c->now;
}

static void on_state(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x;

	if (e->aux2 == 1 /* TCP_ESTABLISHED */) {
		x = flow_get(c, e->netns, &e->flow, true);
		x->mss_local = e->size;
		x->mss_peer = e->mtu;
		x->progress_ns = x->start_ns = c->now;
		x->ifindex = e->ifindex;
	} else if (e->aux2 == 7 /* TCP_CLOSE */) {
		x = flow_get(c, e->netns, &e->flow, false);
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

static void check_stall(struct mw_core *c, struct flow *x)
{
	uint64_t after = (uint64_t)c->o.stall_after_s * NSEC;
	struct mw_finding f;
	struct path *p;
	uint32_t hdr = x->f.family == 6 ? 60 : 40, big_retrans = 0;
	bool waiting;
	char seen[80];
	char peer[64];

	if (x->reported || x->done || (x->app != MW_APP_TLS && x->app != MW_APP_SSH))
		return;
	if (c->now < x->progress_ns + after)
		return;
	x->reported = true;
	finding_init(c, &f, x->app == MW_APP_TLS ? MW_V_STALLED_TLS : MW_V_STALLED_SSH, x->netns,
		     x->f.family, x->f.daddr, x->ifindex);
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
	p = path_get(c, x->netns, x->f.family, x->f.daddr, false);
	if (p && !f.ifindex) {
		f.ifindex = p->ifindex;
		iface_name(c, p->ifindex, f.iface, sizeof(f.iface));
	}
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
	fmt_addr(x->f.family, x->f.daddr, peer, sizeof(peer));
	if (x->max_seg[MW_DIR_IN])
		snprintf(seen, sizeof(seen), "no segment larger than %u bytes ever arrived from it",
			 x->max_seg[MW_DIR_IN]);
	else
		snprintf(seen, sizeof(seen), "no data segment ever arrived from it");
	if (f.mtu_evidence && big_retrans)
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; this host re-sends its "
			 "%u-byte segments and they never get through (the peer acknowledged %u of %u "
			 "bytes): the path MTU is smaller than this host believes",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs, big_size(x), x->bytes_acked, x->bytes_sent);
	else if (f.mtu_evidence)
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; the peer advertised MSS %u but "
			 "%s: its large flight is most likely lost on the way (path MTU)",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs, x->mss_peer, seen);
	else if (waiting && x->mss_peer && x->mss_peer + hdr > 1500 &&
		 x->max_seg[MW_DIR_IN] <= 1500 && !x->small_retrans)
		/* From this end a lost large flight and a slow peer look alike: say both. */
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; the peer advertised MSS %u but "
			 "%s: either its large flight is lost on the way (path MTU: run mtuwatch on "
			 "the peer, or ping -M do -s %u it) or the peer is slow",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs, x->mss_peer, seen, x->mss_peer + hdr - 28);
	else
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; no sign that packet size is the "
			 "cause (small segments are lost too, or the peer is slow)",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs);
	if (f.mtu_evidence)
		snprintf(f.remedy, sizeof(f.remedy),
			 "align the MTUs on the path (e.g. the 9000-byte side to 1500), clamp the MSS "
			 "on the router, or set net.ipv4.tcp_mtu_probing=1 on the sender; check that "
			 "ICMP fragmentation-needed reaches the sender");
	else
		snprintf(f.remedy, sizeof(f.remedy),
			 "check the peer's service and the path's loss (ping, ss -ti)");
	emit(c, &f, p);
}

static void on_tick(struct mw_core *c)
{
	for (int i = 0; i < c->paths_hw; i++)
		if (c->paths[i].used && c->paths[i].nsegs)
			check_blackhole(c, &c->paths[i]);
	for (int i = 0; i < c->flows_hw; i++)
		if (c->flows[i].used)
			check_stall(c, &c->flows[i]);
}

static void on_iface(struct mw_core *c, const struct mw_event *e)
{
	struct iface *i = iface_get(c, e->ifindex);

	if (!i) {
		if (c->nifaces >= MAX_IFACES)
			return;
		i = &c->ifaces[c->nifaces++];
	}
	i->ifindex = e->ifindex;
	i->mtu = e->mtu;
	memcpy(i->name, e->ifname, sizeof(i->name));
	i->name[sizeof(i->name) - 1] = 0;
}

void core_feed(struct mw_core *c, const struct mw_event *e)
{
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
	default:
		break;
	}
	if (!wanted(c, e->netns))
		return;
	switch (e->type) {
	case MW_EV_DF_MAX:
	case MW_EV_DF_OVER:
		on_df_max(c, e);
		break;
	case MW_EV_RETRANS:
	case MW_EV_RESEND:
		on_retrans(c, e);
		break;
	case MW_EV_PTB_RX:
		on_ptb_rx(c, e);
		break;
	case MW_EV_PTB_DROP:
		on_ptb_drop(c, e);
		break;
	case MW_EV_PTB_SENT:
		on_ptb_sent(c, e);
		break;
	case MW_EV_ROUTE:
		on_route(c, e);
		break;
	case MW_EV_HS:
		on_hs(c, e);
		break;
	case MW_EV_SEG_MAX:
		on_seg_max(c, e);
		break;
	case MW_EV_ACKED:
		on_acked(c, e);
		break;
	case MW_EV_RECOVERED:
		on_recovered(c, e);
		break;
	case MW_EV_STATE:
		on_state(c, e);
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
		if (p->netns != c->o.self_netns && c->o.self_netns)
			continue;	/* rtnetlink answers for our namespace only */
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = MW_EV_ROUTE;
		out[n].netns = p->netns;
		out[n].family = p->family;
		out[n].flow.family = p->family;
		memcpy(out[n].flow.daddr, p->dst, 16);
		out[n].ifindex = p->ifindex;
		/* Ask again while more PTBs arrive; on_route clears it. */
		p->route_due = 0;
		n++;
	}
	return n;
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
		s.ifindex = p->ifindex;
		iface_name(c, p->ifindex, s.iface, sizeof(s.iface));
		s.max_df = p->max_df;
		s.retrans = p->retrans;
		s.large_retrans = p->large_retrans;
		s.ptb_rx = p->ptb_rx;
		s.ptb_dropped = p->ptb_dropped;
		s.ptb_sent = p->ptb_sent;
		s.pmtu = p->pmtu;
		s.verdict = p->worst;
		fn(&s, ctx);
	}
}
