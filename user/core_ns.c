// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Namespace identities. An event names its namespace by inode number, and the kernel gives a
 * dead namespace's number to the next one created: two pods started one after the other can
 * share it. A namespace's cookie (SO_NETNS_COOKIE, never reused while the host runs) tells them
 * apart; it arrives in the event stream in two places, STATE events (the kernel side reads it
 * from the socket) and the names the user side resolved (struct mw_nsname). A cookie other
 * than the one known for an inode starts a new identity, whose paths, flows, interfaces and
 * findings are kept apart from the old one's; an unknown cookie (0: older recordings, events
 * without a socket) never does, and the first one seen is adopted. Live and report see the
 * same stream, so they split at the same place.
 */
#include <stdio.h>
#include <string.h>
#include "core_int.h"

const struct nsid *core_ns_get(const struct mw_core *c, uint32_t serial)
{
	for (int i = 0; serial && i < c->nnsids; i++)
		if (c->nsids[i].serial == serial)
			return &c->nsids[i];
	return NULL;
}

static struct nsid *ns_current(struct mw_core *c, uint32_t inode)
{
	for (int i = 0; i < c->nnsids; i++)
		if (c->nsids[i].current && c->nsids[i].inode == inode)
			return &c->nsids[i];
	return NULL;
}

/*
 * A new identity for inode, the old one (if any) kept for its paths' names. Bounded: past
 * MAX_NSIDS the oldest slot is reused, and paths of the identity it held lose their names.
 */
static struct nsid *ns_new(struct mw_core *c, uint32_t inode, uint64_t cookie)
{
	struct nsid *old = ns_current(c, inode), *n;

	if (old)
		old->current = false;
	if (c->nnsids < MAX_NSIDS)
		n = &c->nsids[c->nnsids++];
	else
		n = &c->nsids[c->nsid_next++ % MAX_NSIDS];
	memset(n, 0, sizeof(*n));
	n->serial = ++c->nsid_serial;
	n->inode = inode;
	n->current = true;
	n->l.cookie = cookie;
	c->nsc_inode = 0;
	return n;
}

/* The identity an inode stands for now, made on first sight (cookie: 0 if unknown). */
static struct nsid *ns_see(struct mw_core *c, uint32_t inode, uint64_t cookie)
{
	struct nsid *n = ns_current(c, inode);

	if (!n)
		return ns_new(c, inode, cookie);
	if (!cookie || cookie == n->l.cookie)
		return n;
	if (!n->l.cookie) {
		n->l.cookie = cookie;	/* learned: the same namespace, as far as we know */
		return n;
	}
	return ns_new(c, inode, cookie);
}

/* Every event of another namespace, before anything looks its paths up. */
void core_ns_event(struct mw_core *c, const struct mw_event *e)
{
	uint64_t cookie = 0;

	if (self_ns(c, e->netns))
		return;
	if (e->type == MW_EV_STATE)
		memcpy(&cookie, e->peer, sizeof(cookie));
	/* the common case, a run of one namespace's events: its identity is the one cached */
	if (!cookie && c->nsc_inode == e->netns)
		return;
	ns_see(c, e->netns, cookie);
}

uint32_t core_nsid(struct mw_core *c, uint32_t netns)
{
	struct nsid *n;

	if (self_ns(c, netns))
		return 0;
	if (c->nsc_inode == netns)
		return c->nsc_serial;
	n = ns_current(c, netns);
	if (!n)
		return 0;
	c->nsc_inode = netns;
	c->nsc_serial = n->serial;
	return n->serial;
}

uint64_t core_ns_cookie(struct mw_core *c, uint32_t netns)
{
	const struct nsid *n = core_ns_get(c, core_nsid(c, netns));

	return n ? n->l.cookie : 0;
}

static void copy_name(char *dst, size_t len, const char *src, size_t max)
{
	/* From a file: bounded by its field, whatever it holds. */
	snprintf(dst, len, "%.*s", (int)strnlen(src, max), src);
}

void core_ns_names(struct mw_core *c, const struct mw_nsname *m)
{
	struct nsid *n;

	if (m->ts_ns > c->now)
		c->now = m->ts_ns;
	if (!c->o.all_netns || self_ns(c, m->netns))
		return;
	n = ns_see(c, m->netns, m->cookie);
	copy_name(n->l.netns_name, sizeof(n->l.netns_name), m->netns_name,
		  sizeof(m->netns_name));
	copy_name(n->l.pod, sizeof(n->l.pod), m->pod, sizeof(m->pod));
	copy_name(n->l.container, sizeof(n->l.container), m->container, sizeof(m->container));
}
