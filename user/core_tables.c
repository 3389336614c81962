// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where the diagnosis core keeps what it knows: paths (namespace, destination) and flows
 * (namespace, 4-tuple; a namespace is an inode and which identity of it, core_ns.c) in
 * slot tables, hashed for O(1) lookups and bounded by forgetting the least recently used;
 * the interfaces (ours and other namespaces') and what lies under them, in small arrays.
 */
#include <stdio.h>
#include <string.h>
#include "core_int.h"

/* ---- interfaces and links ---------------------------------------------------------------- */

struct iface *core_iface_get_ns(struct mw_core *c, uint32_t nsid, uint32_t ifindex)
{
	for (int i = 0; i < c->nifaces; i++)
		if (c->ifaces[i].ifindex == ifindex && c->ifaces[i].nsid == nsid)
			return &c->ifaces[i];
	return NULL;
}

/* Path p's interface is (nsid, ifindex): as core_paths names it. */
static bool path_on_iface(const struct mw_core *c, const struct path *p, uint32_t nsid,
			  uint32_t ifindex)
{
	if ((p->ifindex & MW_IFX_NODE) || self_ns(c, p->netns))
		return !nsid && (p->ifindex & ~MW_IFX_NODE) == ifindex;
	return p->nsid == nsid && p->ifindex == ifindex;
}

/*
 * A deleted device leaves the table, which a node whose pods come and go (a veth each) would
 * otherwise fill for good (MAX_IFACES: newer devices then go unnamed); unless a path with a
 * finding still names it: the summary and the exporter print its name. Its ifindex, if the
 * kernel gives it to a new device, is that device's IFACE event's to overwrite.
 */
void core_iface_drop(struct mw_core *c, uint32_t nsid, uint32_t ifindex)
{
	struct iface *i = core_iface_get_ns(c, nsid, ifindex);

	if (!i)
		return;
	for (int k = 0; k < c->paths_hw; k++) {
		const struct path *p = &c->paths[k];

		if (p->used && p->worst && path_on_iface(c, p, nsid, ifindex))
			return;
	}
	*i = c->ifaces[--c->nifaces];
}

/* One of our own interfaces. */
struct iface *core_iface_get(struct mw_core *c, uint32_t ifindex)
{
	return core_iface_get_ns(c, 0, ifindex);
}

/*
 * An interface of another namespace (nsid): its name as that namespace says (an IFACE event
 * the driver made there), else "ifN": an ifindex means something only in its own namespace.
 * Except one of ours marked MW_IFX_NODE.
 */
void core_ns_iface(struct mw_core *c, uint32_t nsid, uint32_t ifindex, char *buf, size_t len)
{
	/* Ours, where that namespace's flow was seen (MW_IFX_NODE: a pod's veth end). */
	struct iface *i = !ifindex ? NULL : ifindex & MW_IFX_NODE ?
			  core_iface_get(c, ifindex & ~MW_IFX_NODE) :
			  core_iface_get_ns(c, nsid, ifindex);

	ifindex &= ~MW_IFX_NODE;
	if (i)
		snprintf(buf, len, "%s", i->name);
	else if (ifindex)
		snprintf(buf, len, "if%u", ifindex);
	else
		snprintf(buf, len, "-");
}

/* One of ours (this namespace's, or MW_IFX_NODE-marked): its name, "ifN", or "-". */
const char *iface_name(struct mw_core *c, uint32_t ifindex, char *buf, size_t len)
{
	core_ns_iface(c, 0, ifindex | (ifindex ? MW_IFX_NODE : 0), buf, len);
	return buf;
}

struct link *core_link_get(struct mw_core *c, uint32_t ifindex)
{
	for (int i = 0; i < c->nlinks; i++)
		if (c->links[i].ifindex == ifindex)
			return &c->links[i];
	return NULL;
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

/* The slot's recency list: the table's, or its spared one (see path_spare). */
static void lru_unlink(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	uint32_t *newest = l[id - 1].spared ? &t->spared_newest : &t->newest;
	uint32_t *oldest = l[id - 1].spared ? &t->spared_oldest : &t->oldest;

	if (l[id - 1].newer)
		l[l[id - 1].newer - 1].older = l[id - 1].older;
	else
		*newest = l[id - 1].older;
	if (l[id - 1].older)
		l[l[id - 1].older - 1].newer = l[id - 1].newer;
	else
		*oldest = l[id - 1].newer;
	l[id - 1].newer = l[id - 1].older = 0;
}

static void lru_push(struct slot_tab *t, struct tab_link *l, uint32_t id)
{
	uint32_t *newest = l[id - 1].spared ? &t->spared_newest : &t->newest;
	uint32_t *oldest = l[id - 1].spared ? &t->spared_oldest : &t->oldest;

	l[id - 1].older = *newest;
	l[id - 1].newer = 0;
	if (*newest)
		l[*newest - 1].newer = id;
	*newest = id;
	if (!*oldest)
		*oldest = id;
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
	l[id - 1].spared = false;
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
 * one is forgotten (bounded memory, O(1)), the spared list's only once the other is empty.
 * Returns slot + 1.
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
	id = t->oldest ? t->oldest : t->spared_oldest;
	tab_unlink(t, l, id);
	return id;
}

static uint64_t path_hash(const struct mw_core *c, uint32_t netns, uint8_t family,
			  const uint8_t *dst)
{
	return hash_addr(mix(c->hash_seed, (uint64_t)netns << 8 | family), dst, addr_len(family));
}

/*
 * A path worth more than a healthy one: a finding, or evidence of one to come: segments stuck
 * (the head re-sent on timeouts, a black hole's first sign), a Packet Too Big. Not a re-sent
 * large segment alone: ordinary loss on every bulk path.
 */
static bool path_precious(const struct path *p)
{
	/*
	 * A path MTU learned and said, nothing else pending: healthy, and gone before a path
	 * whose PTB still waits for its route read (thousands of PTBs at once, more than
	 * MAX_PATHS: the waiting ones were the ones forgotten, their discovery never said).
	 */
	if (p->reported == 1u << MW_V_PMTU_LEARNED && !p->route_due && !p->nsegs &&
	    !p->ptb_dropped && !p->ptb_sent)
		return false;
	return p->used && (p->reported || p->worst || p->nsegs || p->ptb_rx || p->ptb_dropped ||
			   p->ptb_sent);
}

/*
 * The table full: before the quietest path is forgotten, the quietest ones holding a finding
 * or evidence move to the spared list, forgotten only once no other path is left (issue 28:
 * under churn to thousands of destinations the black hole went quiet and was the one lost).
 * Each path moves once (it stays precious): O(1) amortized. Among spared paths, the least
 * recently fed goes first.
 */
static void path_spare(struct mw_core *c)
{
	uint32_t id;

	if (c->ptab.free || c->paths_hw < MAX_PATHS)
		return;
	while ((id = c->ptab.oldest) && path_precious(&c->paths[id - 1])) {
		lru_unlink(&c->ptab, c->plink, id);
		c->plink[id - 1].spared = true;
		lru_push(&c->ptab, c->plink, id);
	}
}

/*
 * The path to (netns, destination): O(1) whatever the number of paths. A new one, when the
 * table is full, replaces the least recently fed path (the quietest: every event that feeds
 * a path looks it up with create set), a healthy one while there is one (path_spare).
 */
struct path *core_path_get(struct mw_core *c, uint32_t netns, uint8_t family,
			   const uint8_t *dst, bool create)
{
	return core_path_get_id(c, netns, core_nsid(c, netns), family, dst, create);
}

/* The same for one identity of the inode (core_ns.c): a path of an older one, say. */
struct path *core_path_get_id(struct mw_core *c, uint32_t netns, uint32_t nsid, uint8_t family,
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
		if (p->netns == netns && p->nsid == nsid && p->family == family &&
		    !memcmp(p->dst, dst, addr_len(family))) {
			if (create)
				tab_touch(&c->ptab, c->plink, id);
			return p;
		}
	}
	if (!create)
		return NULL;
	path_spare(c);
	id = tab_alloc(&c->ptab, c->plink, &c->paths_hw, MAX_PATHS);
	p = &c->paths[id - 1];
	memset(p, 0, sizeof(*p));
	p->used = true;
	p->netns = netns;
	p->nsid = nsid;
	p->family = family;
	memcpy(p->dst, dst, addr_len(family));
	tab_link(&c->ptab, c->plink, id, b);
	return p;
}

void core_path_touch(struct mw_core *c, struct path *p, uint32_t ifindex)
{
	p->last_ns = c->now;
	/*
	 * A pod's path once seen at the node's end of its veth keeps that name: the pod's own
	 * events (a re-sent FIN of a flow older than this run, on the pod's eth0) come in any
	 * order, and the name must not depend on it.
	 */
	if (ifindex && (!(p->ifindex & MW_IFX_NODE) || (ifindex & MW_IFX_NODE)))
		p->ifindex = ifindex;
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
struct flow *core_flow_get(struct mw_core *c, uint32_t netns, const struct mw_flow *f,
			   bool create)
{
	uint32_t b = bucket_of(flow_hash(c, netns, f)), id, next, nsid = core_nsid(c, netns);
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
		if (x->netns == netns && x->nsid == nsid && flow_eq(&x->f, f)) {
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
	x->nsid = nsid;
	x->f = *f;
	x->client = -1;
	x->start_ns = x->progress_ns = c->now;
	tab_link(&c->ftab, c->flink, id, b);
	c->last_flow = id;
	return x;
}
