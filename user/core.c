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
/* A PTB is judged this long after it arrived: the route read-back and a counter tick are in. */
#define PTB_JUDGE_NS (700 * 1000000ULL)
/* Segments that leave this soon after a PTB may have been queued before it was processed. */
#define PTB_GRACE_NS (50 * 1000000ULL)
/* Counters that move this close to a PTB are taken to be about it. */
#define SNMP_WINDOW_NS (1500 * 1000000ULL)
/* Below these no path carries less: IPv6's minimum MTU; IPv4's conventional 576 (RFC 1122). */
#define FLOOR4 576
#define FLOOR6 1280
#define MAX_LINKS 64


/* A segment re-sent at the head of its flow's queue: stuck until the peer acknowledges it. */
struct stuck_seg {
	uint32_t seq;
	uint32_t size;
	uint32_t rto;		/* times it was re-sent at the head of the queue */
	uint16_t sport, dport;	/* its flow: sequence numbers mean nothing across flows */
	uint64_t first_ns;	/* first re-send */
	bool recovered;		/* acknowledged since: it got through */
	bool nodf;		/* left without DF: routers fragment it, not evidence of a size */
};

/* One kind of PTB on a path (sender, MTU, drop reason + 1 or 0 when it arrived), counted. */
struct ptb_kind {
	uint8_t peer[16];
	uint32_t mtu;
	uint32_t reason;
	uint32_t count;
};
#define MAX_PTB_KINDS 4

/* What a path has shown to get through: a size and when it was last acknowledged. */
struct proof {
	uint32_t size;
	uint64_t ns;
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
	struct proof proofs[MW_MAX_SIZES];	/* sizes acknowledged, the largest per slot */
	uint32_t nproofs;
	uint64_t alive_ns;			/* the destination last answered */
	struct ptb_kind kinds[MAX_PTB_KINDS];
	uint64_t ptb_first_ns, ptb_last_ns;
	struct mw_flow ptb_flow;		/* the first PTB's quoted flow */
	uint32_t over_after_ptb;		/* DF re-sends above the PTB's MTU since it came */
	uint32_t resent_after_ptb;		/* re-sends of any size since */
	uint32_t route_mtu;			/* last read back (0: none cached) */
	bool route_seen, route_locked;
	uint32_t via_ifindex;			/* foreign namespace: our egress to dst */
	bool via_asked;
	bool ptb_judged;			/* ptb_ignored decided (found or not) */
	bool ptb_forged;			/* the PTBs do not speak for this path's ICMP */
	uint32_t ignored_reasons;		/* bitmask of enum mw_ignore reported */
	uint8_t causes[MW_MAX_CAUSES];		/* of the path's alarm, for its stalls */
	uint8_t ncauses;
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
	bool closing;		/* FIN sent or received: never a stall */
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

/* An overlay's outer packet this host could not send, and the inner destination it carried. */
struct encap {
	uint8_t family;
	uint8_t dst[16];
	uint32_t lower_mtu, overhead, inner;
	char lower[MW_IFNAME_LEN];
};
#define MAX_ENCAPS 16

/* What lies under a watched interface (MW_EV_LINK). */
struct link {
	uint32_t ifindex;
	uint32_t kind;		/* enum mw_link_kind */
	uint32_t mtu, lower_mtu, overhead;
	char name[MW_IFNAME_LEN], lower[MW_IFNAME_LEN];
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
	struct link links[MAX_LINKS];
	int nlinks;
	struct encap encaps[MAX_ENCAPS];
	int nencaps, encap_next;
	/* the namespace's settings and counters (mtuwatch's own namespace) */
	int32_t mtu_probing, no_pmtu_disc;	/* -1: unknown */
	uint64_t snmp_ns[4];			/* last rise of each enum mw_snmp */
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
	[MW_V_PTB_IGNORED] = "ptb_ignored",
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

/* How alarming each verdict is, for the summary's worst-of column. */
static const int severity[MW_V_MAX] = {
	[MW_V_PMTU_LEARNED] = 1, [MW_V_PTB_SENT] = 2, [MW_V_STALLED_TLS] = 3,
	[MW_V_STALLED_SSH] = 3, [MW_V_PTB_IGNORED] = 4, [MW_V_PTB_DROPPED] = 4,
	[MW_V_ICMP_BLACKHOLE] = 5,
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
	/* An ifindex means something only in its own namespace: ours are named, others not. */
	if (f->foreign_netns && ifindex)
		snprintf(f->iface, sizeof(f->iface), "if%u", ifindex);
	else
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

/* ---- host facts ------------------------------------------------------------------------- */

static struct link *link_get(struct mw_core *c, uint32_t ifindex)
{
	for (int i = 0; i < c->nlinks; i++)
		if (c->links[i].ifindex == ifindex)
			return &c->links[i];
	return NULL;
}

static void on_link(struct mw_core *c, const struct mw_event *e)
{
	struct link *l = link_get(c, e->ifindex);

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
	/* Names from a file are bounded by their fields, whatever the file says. */
	snprintf(l->name, sizeof(l->name), "%.*s", (int)sizeof(e->ifname), e->ifname);
	snprintf(l->lower, sizeof(l->lower), "%.*s", (int)sizeof(e->peer), (const char *)e->peer);
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
}

static const struct encap *encap_for(const struct mw_core *c, const struct path *p)
{
	for (int i = 0; i < c->nencaps; i++)
		if (c->encaps[i].family == p->family &&
		    !memcmp(c->encaps[i].dst, p->dst, addr_len(p->family)))
			return &c->encaps[i];
	return NULL;
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

static bool snmp_near(const struct mw_core *c, enum mw_snmp k, const struct path *p)
{
	uint64_t t = c->snmp_ns[k];

	return t && t + SNMP_WINDOW_NS >= p->ptb_first_ns && t <= p->ptb_last_ns + SNMP_WINDOW_NS;
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

/* ---- paths ------------------------------------------------------------------------------ */

static void path_touch(struct mw_core *c, struct path *p, uint32_t ifindex)
{
	p->last_ns = c->now;
	if (ifindex)
		p->ifindex = ifindex;
}

/* The destination answered (a handshake, an ACK, data): it is alive now. */
static void path_alive(struct mw_core *c, uint32_t netns, uint8_t family, const uint8_t *dst)
{
	struct path *p = path_get(c, netns, family, dst, true);

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
}

static uint32_t family_floor(uint8_t family)
{
	return family == 6 ? FLOOR6 : FLOOR4;
}

static void add_cause(uint8_t *causes, uint8_t *n, enum mw_cause cause)
{
	for (uint8_t i = 0; i < *n; i++)
		if (causes[i] == cause)
			return;
	if (*n < MW_MAX_CAUSES)
		causes[(*n)++] = cause;
}

/*
 * An overlay under the egress whose MTU is above what its lower device carries after
 * encapsulation: the numbers go into the finding.
 */
static struct link *overlay_over(struct mw_core *c, uint32_t ifindex)
{
	struct link *l = link_get(c, ifindex);

	if (l && l->kind == MW_LINK_OVERLAY && l->lower_mtu &&
	    l->mtu + l->overhead > l->lower_mtu)
		return l;
	return NULL;
}

/* A veth or bridge port whose other side takes smaller frames than `size`. */
static struct link *l2_smaller(struct mw_core *c, uint32_t ifindex, uint32_t size)
{
	struct link *l = link_get(c, ifindex);

	if (l && (l->kind == MW_LINK_VETH || l->kind == MW_LINK_BRIDGE_PORT) && l->lower_mtu &&
	    l->lower_mtu < size)
		return l;
	return NULL;
}

/*
 * Causes of a black hole seen from the sender: no PTB arrived, so a filtered router and a
 * silent layer-2 hop look alike; the host's own devices say which is more likely.
 */
static bool self_ns(const struct mw_core *c, uint32_t netns)
{
	return !c->o.self_netns || netns == c->o.self_netns;
}

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
		add_cause(f->causes, &f->ncauses, MW_C_OVERLAY_MTU);
		snprintf(f->overlay_iface, sizeof(f->overlay_iface), "%s", ov->name);
		snprintf(f->lower_iface, sizeof(f->lower_iface), "%s", ov->lower);
		f->overlay_mtu = ov->mtu;
		f->lower_mtu = ov->lower_mtu;
		f->overhead = ov->overhead;
	} else if (en && en->lower_mtu && en->inner + en->overhead > en->lower_mtu) {
		/* Seen from the pod: the node's overlay dropped our packets; its name is the node's. */
		add_cause(f->causes, &f->ncauses, MW_C_OVERLAY_MTU);
		snprintf(f->lower_iface, sizeof(f->lower_iface), "%s", en->lower);
		f->overlay_mtu = en->inner > hi ? en->inner : hi;
		f->lower_mtu = en->lower_mtu;
		f->overhead = en->overhead;
	}
	if (self_ns(c, p->netns) && l2_smaller(c, p->ifindex, hi)) {
		add_cause(f->causes, &f->ncauses, MW_C_L2_MTU_MISMATCH);
		add_cause(f->causes, &f->ncauses, MW_C_ICMP_FILTERED);
	} else {
		add_cause(f->causes, &f->ncauses, MW_C_ICMP_FILTERED);
		add_cause(f->causes, &f->ncauses, MW_C_L2_MTU_MISMATCH);
	}
	if (c->mtu_probing > 0 && p->netns == c->o.self_netns)
		add_cause(f->causes, &f->ncauses, MW_C_MTU_PROBING_ACTIVE);
}

/* `ping` payload that makes a packet of `mtu` bytes: 28 bytes of headers, 48 for IPv6. */
static void ping_cmd(uint8_t family, const char *dst, uint32_t mtu, char *buf, size_t len)
{
	if (family == 6)
		snprintf(buf, len, "ping -6 -M do -s %u %s", mtu > 48 ? mtu - 48 : 0, dst);
	else
		snprintf(buf, len, "ping -M do -s %u %s", mtu > 28 ? mtu - 28 : 0, dst);
}

static const char *ptb_words(uint8_t family)
{
	return family == 6 ? "ICMPv6 Packet Too Big" : "ICMP fragmentation-needed";
}

static const char *ptb_allow(uint8_t family)
{
	return family == 6 ? "ICMPv6 type 2 (ip6tables -I INPUT -p ipv6-icmp --icmpv6-type "
			     "packet-too-big -j ACCEPT)" :
			     "ICMP type 3 code 4 (iptables -I INPUT -p icmp --icmp-type "
			     "fragmentation-needed -j ACCEPT)";
}

static const char *clamp_cmd(uint8_t family)
{
	return family == 6 ? "ip6tables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j "
			     "TCPMSS --clamp-mss-to-pmtu" :
			     "iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j "
			     "TCPMSS --clamp-mss-to-pmtu";
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

/* Is a stuck segment's size shown to get through since it got stuck? */
static bool delivered_since(const struct path *p, const struct stuck_seg *s)
{
	for (uint32_t i = 0; i < p->nproofs; i++)
		if (p->proofs[i].size >= s->size && p->proofs[i].ns + STUCK_NS / 4 >= s->first_ns)
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
	const char *fam = ptb_words(p->family);
	/* IPv6 has no DF: routers never fragment it. */
	const char *pk = p->family == 6 ? "Packets" : "DF packets";
	uint32_t mtu = f->mtu;

	fmt_addr(p->family, p->dst, d, sizeof(d));
	ping_cmd(p->family, d, mtu, ping, sizeof(ping));
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
			 f->overlay_mtu + f->overhead, clamp_cmd(p->family),
			 p->family == 4 ? "; net.ipv4.ip_forward_use_pmtu=1 on the node makes it send "
					  "frag-needed to the pods" : "", ping);
		return;
	}
	if (f->ncauses && f->causes[0] == MW_C_L2_MTU_MISMATCH) {
		struct link *l = link_get(c, p->ifindex);

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
		 probe, ping, f->iface, clamp_cmd(p->family), probing,
		 p->family == 6 ? "ICMPv6 type 2" : "type 3 code 4");
}

static void check_blackhole(struct mw_core *c, struct path *p)
{
	uint32_t hi = 0, stuck = 0, lo;
	struct mw_finding f;

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
		if (delivered_since(p, s))
			continue;
		/*
		 * The size used to get through: the path changed, or the peer died. Only a sign
		 * of life since tells them apart.
		 */
		if (delivered_ever(p, s->size) ? p->alive_ns < s->first_ns : !p->alive_ns)
			continue;
		/*
		 * One segment stuck for a second makes the finding; every other one re-sent
		 * twice without progress narrows its upper end (a 6424-byte certificate flight
		 * stuck beside 9000-byte bulk segments).
		 */
		if (c->now >= s->first_ns + STUCK_NS)
			stuck++;
		if (!hi || s->size < hi)
			hi = s->size;
	}
	if (!stuck)
		return;
	lo = bracket_low(p, hi);
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
	blackhole_causes(c, p, hi, &f);
	/* What the overlay lets through is tighter than what the segments showed. */
	if (f.lower_mtu && f.lower_mtu - f.overhead < f.mtu && f.lower_mtu - f.overhead >= lo) {
		f.mtu = f.lower_mtu - f.overhead;
		p->pmtu = f.mtu;
	} else if (f.ncauses && f.causes[0] == MW_C_L2_MTU_MISMATCH) {
		struct link *l = link_get(c, p->ifindex);

		/* The link's other side takes this much: the path cannot carry more. */
		if (l && l->lower_mtu < f.mtu && l->lower_mtu >= lo) {
			f.mtu = l->lower_mtu;
			p->pmtu = f.mtu;
		}
	}
	memcpy(p->causes, f.causes, sizeof(p->causes));
	p->ncauses = f.ncauses;
	explain_blackhole(c, p, &f, lo, hi);
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

static void on_retrans(struct mw_core *c, const struct mw_event *e)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, true);
	bool nodf = e->type == MW_EV_RESEND && (e->dir & MW_DIR_F_NODF);
	struct stuck_seg *s = NULL;
	struct flow *fl;

	path_touch(c, p, e->ifindex);
	p->retrans++;
	if (e->size >= MW_LARGE_SEG)
		p->large_retrans++;
	add_size(p->rsizes, &p->nrsizes, e->size);
	if (p->ptb_first_ns && c->now > p->ptb_first_ns + PTB_GRACE_NS) {
		p->resent_after_ptb++;
		if (!nodf && p->ptb_mtu && e->size > p->ptb_mtu)
			p->over_after_ptb++;
	}

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
	if (p) {
		p->alive_ns = c->now;
		seg_progress(c, p, e->flow.sport, e->flow.dport, e->seq + 1);
	}
}

/* The peer acknowledged a new largest DF segment of size bytes (DELIVERED, or in ACKED). */
static void delivered(struct mw_core *c, const struct mw_event *e, uint32_t size)
{
	struct path *p = path_get(c, e->netns, e->family, e->flow.daddr, true);

	if (!(e->dir & MW_DIR_F_NODF))
		path_proof(c, p, size);
}

static void on_delivered(struct mw_core *c, const struct mw_event *e)
{
	delivered(c, e, e->size);
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
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct path *p = path_get(c, e->netns, fam, e->flow.daddr, true);
	struct mw_finding f;
	char peer[64], dst[64], rb[32];
	uint32_t mtu = ptb_mtu_of(e);
	const char *rn;
	bool seen = false;

	path_touch(c, p, 0);
	p->ptb_dropped += ptb_kind_count(p, e, e->aux + 1, e->aux2);
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
	f.mtu = mtu;
	f.reason = e->aux;
	f.flow = e->flow;
	f.outgoing = (e->dir & 1) == MW_DIR_OUT;
	f.count = p->ptb_dropped;
	rn = reason_str(c, e->aux, rb, sizeof(rb));
	snprintf(f.drop_reason, sizeof(f.drop_reason), "%s", rn);
	fmt_addr(e->family, e->peer, peer, sizeof(peer));
	fmt_addr(p->family, p->dst, dst, sizeof(dst));
	if (f.outgoing) {
		char to[64];

		add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
		/* The PTB goes back to the source of the packet it quotes. */
		fmt_addr(fam, e->flow.saddr, to, sizeof(to));
		snprintf(f.explain, sizeof(f.explain),
			 "this host's own %s (mtu %u) to %s for traffic to %s was dropped on its way "
			 "out (%s): the senders behind it never learn the path MTU",
			 ptb_words(p->family), mtu, to, dst, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "let %s leave this host (firewall OUTPUT and FORWARD rules), or clamp the MSS "
			 "on this router (%s)",
			 p->family == 6 ? "ICMPv6 type 2" : "ICMP type 3 code 4", clamp_cmd(p->family));
	} else if (!strcmp(rn, "IP_RPFILTER")) {
		add_cause(f.causes, &f.ncauses, MW_C_RP_FILTER);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and was dropped by "
			 "strict reverse-path filtering: %s is not routable back via %s (a router "
			 "answering from its management address)",
			 ptb_words(p->family), peer, mtu, dst, f.iface, peer, f.iface);
		snprintf(f.remedy, sizeof(f.remedy),
			 "have the router source ICMP errors from its interface address, or add a "
			 "route to %s via %s; loosening rp_filter to 2 only hides the problem and "
			 "weakens spoofing protection, not a production fix; meanwhile clamp the MSS "
			 "or lower the MTU to %u", peer, f.iface, mtu);
	} else if (strstr(rn, "NETFILTER") || strstr(rn, "NFT")) {
		add_cause(f.causes, &f.ncauses, MW_C_PTB_DROPPED_LOCAL);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and this host's "
			 "firewall dropped it (%s): the sender keeps sending too-large packets",
			 ptb_words(p->family), peer, mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "accept %s in INPUT; meanwhile lower the MTU to %u or clamp the MSS",
			 ptb_allow(p->family), mtu);
	} else {
		add_cause(f.causes, &f.ncauses, MW_C_PTB_DROPPED_LOCAL);
		snprintf(f.explain, sizeof(f.explain),
			 "an %s from %s (mtu %u) for traffic to %s arrived on %s and was dropped on "
			 "this host (%s)", ptb_words(p->family), peer, mtu, dst, f.iface, rn);
		snprintf(f.remedy, sizeof(f.remedy),
			 "find why the kernel drops it (%s); meanwhile lower the MTU to %u or clamp "
			 "the MSS", rn, mtu);
	}
	memcpy(p->causes, f.causes, sizeof(p->causes));
	p->ncauses = f.ncauses;
	emit(c, &f, p);
}

static void on_ptb_rx(struct mw_core *c, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct path *p = path_get(c, e->netns, fam, e->flow.daddr, true);
	uint32_t mtu = ptb_mtu_of(e);

	path_touch(c, p, 0);
	p->ptb_rx += ptb_kind_count(p, e, 0, e->aux);
	if (!p->ptb_first_ns) {
		p->ptb_first_ns = c->now;
		p->ptb_flow = e->flow;
		p->ptb_mtu = mtu;
		memcpy(p->ptb_peer, e->peer, 16);
	}
	p->ptb_last_ns = c->now;
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
	if (!self_ns(c, p->netns)) {
		p->via_ifindex = e->ifindex;
		return;
	}
	p->route_seen = true;
	p->route_mtu = e->mtu;
	p->route_locked = e->aux & 1;
	if (!e->mtu || (p->reported & (1u << MW_V_PMTU_LEARNED)))
		return;
	if (e->ifindex)
		p->ifindex = e->ifindex;
	i = iface_get(c, p->ifindex);
	if (i && e->mtu >= i->mtu)
		return;
	/* A locked route that did not fall to the PTB's MTU learned nothing (IPv6 learns anyway). */
	if (p->route_locked && p->ptb_mtu && e->mtu > p->ptb_mtu)
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
		 "an %s from %s was accepted and the route MTU to %s fell to %u (interface %s has "
		 "%u): Path MTU Discovery works on this path",
		 ptb_words(p->family), peer, dst, e->mtu, f.iface, i ? i->mtu : 0);
	snprintf(f.remedy, sizeof(f.remedy),
		 "nothing urgent; if this path is permanent, set the interface or route MTU to %u "
		 "to save the first round of oversized packets", e->mtu);
	emit(c, &f, p);
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
	const char *w = ptb_words(p->family);

	fmt_addr(p->family, p->ptb_peer, peer, sizeof(peer));
	fmt_addr(p->family, p->dst, d, sizeof(d));
	fmt_addr(p->family, p->ptb_flow.saddr, src, sizeof(src));
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
static void check_ptb_ignored(struct mw_core *c, struct path *p)
{
	struct mw_finding f;
	struct iface *i;
	uint32_t cur = 0;
	enum mw_ignore r;

	if (!p->ptb_rx || p->ptb_dropped || p->ptb_judged ||
	    c->now < p->ptb_first_ns + PTB_JUDGE_NS)
		return;
	i = iface_get(c, p->ifindex);
	cur = p->route_mtu ? p->route_mtu : i ? i->mtu : 0;
	if (p->route_seen && p->route_mtu && p->route_mtu < (i ? i->mtu : 0) &&
	    p->route_mtu <= p->ptb_mtu && !p->over_after_ptb)
		goto accepted;	/* learned, and nothing larger left since: PMTUD works */
	if (cur && p->ptb_mtu >= cur ? p->resent_after_ptb < 2 : p->over_after_ptb < 2)
		return;		/* no sign (yet) that it was ignored */
	r = ignore_reason(c, p, cur);
	p->ptb_judged = true;
	p->ptb_forged = r == MW_IGN_OUT_OF_WINDOW || r == MW_IGN_NO_SOCKET;
	if (p->ignored_reasons & (1u << r))
		return;
	p->ignored_reasons |= 1u << r;
	finding_init(c, &f, MW_V_PTB_IGNORED, p->netns, p->family, p->dst, p->ifindex);
	memcpy(f.peer, p->ptb_peer, 16);
	f.mtu = p->ptb_mtu;
	f.count = p->ptb_rx;
	f.flow = p->ptb_flow;
	f.ignore_reason = r;
	if (ignore_cause[r])
		add_cause(f.causes, &f.ncauses, ignore_cause[r]);
	/* A forged PTB says nothing of the real hop, whose ICMP did not come either. */
	if (p->ptb_forged) {
		add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
		add_cause(f.causes, &f.ncauses, MW_C_L2_MTU_MISMATCH);
	}
	explain_ignored(c, p, &f, cur);
	if (!p->ptb_forged) {
		memcpy(p->causes, f.causes, sizeof(p->causes));
		p->ncauses = f.ncauses;
	}
	emit(c, &f, p);
	return;
accepted:
	p->ptb_judged = true;
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
		 "MTU %u: it sends %s and is the path's bottleneck",
		 src, dst, e->size, f.iface, e->mtu, ptb_words(e->family));
	snprintf(f.remedy, sizeof(f.remedy),
		 "make sure that the %s reaches %s (no ICMP filtering, a source address that passes "
		 "rp_filter), or clamp the MSS here: %s", ptb_words(e->family), src,
		 clamp_cmd(e->family));
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

static void seg_max(struct mw_core *c, const struct mw_event *e, uint32_t size)
{
	struct flow *x = flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->max_seg[e->dir & 1] = size;
	if ((e->dir & 1) == MW_DIR_IN) {
		x->progress_ns = c->now;
		path_alive(c, e->netns, e->flow.family, e->flow.daddr);
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
	struct flow *x = flow_get(c, e->netns, &e->flow, opening);

	if (!x)
		return;
	if (dir == MW_DIR_IN)
		path_alive(c, e->netns, e->flow.family, e->flow.daddr);
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

static void on_acked(struct mw_core *c, const struct mw_event *e);
_Static_assert(sizeof(struct mw_hs_acked) == sizeof(((struct mw_event *)0)->peer),
	       "a folded ACKED fills an event's peer bytes");

/*
 * The steps of one segment's records, in order: aux low, aux high, mtu low, mtu high. peer:
 * the segment's ACK also acknowledged more of ours (an ACKED the event carries), first of
 * all; seq: the segment was also a new largest one received (a SEG_MAX it carries), next.
 */
static void on_hs_steps(struct mw_core *c, const struct mw_event *e)
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
		on_acked(c, &x);
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

static void on_seg_max(struct mw_core *c, const struct mw_event *e)
{
	seg_max(c, e, e->size);
}

/* mtu: the same ACK proved a new largest DF segment (a DELIVERED the event carries), first. */
static void on_acked(struct mw_core *c, const struct mw_event *e)
{
	struct flow *x;

	if (e->mtu)
		delivered(c, e, e->mtu);
	x = flow_get(c, e->netns, &e->flow, false);

	if (!x)
		return;
	x->bytes_acked = e->size;
	if (e->aux > x->bytes_sent)
		x->bytes_sent = e->aux;
	x->unacked_resends = 0;
	x->progress_ns = c->now;
	path_alive(c, e->netns, e->flow.family, e->flow.daddr);
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
		/* A handshake completed: the destination answers. */
		path_alive(c, e->netns, e->flow.family, e->flow.daddr);
	} else if (e->aux2 == 4 /* TCP_FIN_WAIT1 */ || e->aux2 == 8 /* TCP_CLOSE_WAIT */) {
		x = flow_get(c, e->netns, &e->flow, false);
		if (x)
			x->closing = true;
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

	if (x->reported || x->done || x->closing || (x->app != MW_APP_TLS && x->app != MW_APP_SSH))
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
		 x->max_seg[MW_DIR_IN] <= 1500 && !x->small_retrans) {
		char ping[96], probe[96];

		/* From this end a lost large flight and a slow peer look alike: say both. */
		ping_cmd(x->f.family, peer, x->mss_peer + hdr, ping, sizeof(ping));
		/* The reverse path is measured over TLS (or HTTP); an SSH port cannot be. */
		if (x->app == MW_APP_TLS)
			snprintf(probe, sizeof(probe), x->f.family == 6 ?
				 "mtuwatch probe [%s]:%u --tcp" : "mtuwatch probe %s:%u --tcp",
				 peer, x->f.dport);
		else
			snprintf(probe, sizeof(probe), "mtuwatch probe %s", peer);
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; the peer advertised MSS %u but "
			 "%s: either its large flight is lost on the way (path MTU: run mtuwatch on "
			 "the peer, %s, or %s) or the peer is slow",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs, x->mss_peer, seen, probe, ping);
	} else
		snprintf(f.explain, sizeof(f.explain),
			 "%s handshake with %s:%u stalled %s for %us; no sign that packet size is the "
			 "cause (small segments are lost too, or the peer is slow)",
			 x->app == MW_APP_TLS ? "TLS" : "SSH", peer, x->f.dport, f.step,
			 f.stalled_secs);
	if (f.mtu_evidence) {
		if (p && p->ncauses) {
			memcpy(f.causes, p->causes, sizeof(f.causes));
			f.ncauses = p->ncauses;
		} else {
			add_cause(f.causes, &f.ncauses, MW_C_ICMP_FILTERED);
			add_cause(f.causes, &f.ncauses, MW_C_L2_MTU_MISMATCH);
		}
	}
	if (f.mtu_evidence && p && p->ignored_reasons && !p->ptb_forged)
		snprintf(f.remedy, sizeof(f.remedy),
			 "the sender gets the %s and ignores it: see the ptb_ignored finding for "
			 "%s; meanwhile align the MTUs on the path or clamp the MSS on the router",
			 ptb_words(x->f.family), peer);
	else if (f.mtu_evidence)
		snprintf(f.remedy, sizeof(f.remedy),
			 "align the MTUs on the path (e.g. the 9000-byte side to 1500) or clamp the "
			 "MSS on the router%s; check that %s from the bottleneck reaches the sender "
			 "(%s)",
			 c->mtu_probing > 0 ? "" : ", or set net.ipv4.tcp_mtu_probing=1 on the sender",
			 ptb_words(x->f.family), x->client == 1 ? "the peer" : "this host");
	else
		snprintf(f.remedy, sizeof(f.remedy),
			 "check the peer's service and the path's loss (ping, ss -ti)");
	emit(c, &f, p);
}

static void on_tick(struct mw_core *c)
{
	for (int i = 0; i < c->paths_hw; i++) {
		struct path *p = &c->paths[i];

		if (!p->used)
			continue;
		if (p->ptb_rx)
			check_ptb_ignored(c, p);
		if (p->nsegs)
			check_blackhole(c, p);
	}
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
	/* Loopback is never an MTU path, in whatever namespace (--all-netns sees them all). */
	if (is_loopback(e->flow.family ? e->flow.family : e->family, e->flow.daddr) ||
	    is_loopback(e->flow.family ? e->flow.family : e->family, e->flow.saddr))
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
		on_hs_steps(c, e);
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
	case MW_EV_DELIVERED:
		on_delivered(c, e);
		break;
	case MW_EV_SYN_MSS:
		/* A SYN-ACK came back: its source answers (flow is in the packet's direction). */
		if (e->aux2)
			path_alive(c, e->netns, e->flow.family, e->flow.saddr);
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
		/* rtnetlink answers for our namespace only: for another's, which way we route it */
		if (!self_ns(c, p->netns) && !p->via_asked)
			continue;
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
