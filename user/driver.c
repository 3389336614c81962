// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "confirm.h"
#include "driver.h"
#include "links.h"
#include "log.h"
#include "nsnames.h"
#include "recfile.h"

#define TICK_NS (500 * 1000000ULL)
#define FLUSH_NS (1000 * 1000000ULL)
/* How often dsts_keep gives back what no finding holds any more: a walk of at most 1,024 keys. */
#define KEEP_SWEEP_NS (2000 * 1000000ULL)

volatile sig_atomic_t mw_stop;

static void on_signal(int sig)
{
	(void)sig;
	mw_stop = 1;
}

void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must interrupt poll() so that we leave promptly. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void feed(struct mw_driver *d, const struct mw_event *e)
{
	if (d->rec) {
		if (recfile_write(d->rec, MW_REC_EVENT, e, sizeof(*e)) == 0)
			d->rec_events++;
	}
	if (e->type == MW_EV_PTB_RX || e->type == MW_EV_PTB_DROP)
		facts_ptb_seen(&d->facts, mono_ns());
	core_feed(d->core, e);
}

/*
 * An event of another namespace: its names and its interface, asked there before the core
 * sees the event (a finding it makes names them), and into the one stream: the recording
 * keeps them where live used them, for report.
 */
static void name_ns(struct mw_driver *d, const struct mw_event *e)
{
	uint64_t now = mono_ns(), cookie = 0;
	struct mw_event ie;
	struct mw_nsname n;

	if (e->type == MW_EV_STATE)
		memcpy(&cookie, e->peer, sizeof(cookie));
	if (nsn_check(d->nsn, e->netns, cookie, now, &n) > 0) {
		n.ts_ns = e->ts_ns;
		if (d->rec)
			recfile_write(d->rec, MW_REC_NSNAME, &n, sizeof(n));
		core_ns_names(d->core, &n);
	}
	/*
	 * A route read back names our egress, not one of that namespace's devices; so does a pod
	 * flow's event seen at our end of its veth (MW_DIR_F_NODE_IF).
	 */
	if (e->ifindex && e->type != MW_EV_IFACE && e->type != MW_EV_ROUTE &&
	    !(e->dir & MW_DIR_F_NODE_IF) &&
	    nsn_iface(d->nsn, e->netns, e->ifindex, now, &ie) > 0) {
		ie.ts_ns = e->ts_ns;
		feed(d, &ie);
	}
}

void driver_event(const struct mw_event *e, void *ctx)
{
	struct mw_driver *d = ctx;

	if (d->nsn && e->netns && e->netns != d->s.self_netns)
		name_ns(d, e);
	feed(d, e);
}

static void finding(const struct mw_finding *f, void *ctx)
{
	struct mw_driver *d = ctx;

	/* Let tc egress flag the first packet over what we now know of the path. */
	if (!f->foreign_netns && f->ifindex &&
	    (f->verdict == MW_V_PMTU_LEARNED || f->verdict == MW_V_ICMP_BLACKHOLE))
		session_set_pmtu(&d->s, f->ifindex, f->family, f->dst, f->mtu,
				 f->verdict == MW_V_ICMP_BLACKHOLE);
	if (d->on_finding)
		d->on_finding(f, d->finding_ctx);
}

/*
 * Drop reason names come from the kernel's BTF, whose parse costs about 100 ms: done on the
 * first drop that needs a name (or by record, which stores them all), not at start-up.
 */
const char *driver_reason(uint32_t value, void *ctx)
{
	struct mw_driver *d = ctx;
	int err;

	if (!d->reasons_tried) {
		d->reasons_tried = true;
		err = reasons_from_btf(&d->reasons, NULL);
		if (err)
			pr_warn("note: drop reason names unavailable from BTF (%s); reasons print as "
				"numbers\n", strerror(-err));
	}
	return reasons_name(value, &d->reasons);
}

int driver_open(struct mw_driver *d, const struct watch_opts *w)
{
	const struct mw_session_opts *so = &w->so;
	struct mw_core_opts co = {};

	d->links_fd = -1;
	co.self_netns = net_self_netns();
	co.all_netns = so->all_netns;
	co.stall_after_s = w->stall_after;
	memcpy(co.hint_ports, w->ports, sizeof(w->ports));
	co.reason_name = driver_reason;
	co.reason_ctx = d;
	co.on_finding = finding;
	co.ctx = d;
	d->core = core_new(&co);
	if (!d->core) {
		pr_warn("Failed: out of memory\n");
		return 1;
	}
	/* Other namespaces' names: only when their events are judged. */
	if (so->all_netns && !(d->nsn = nsn_new())) {
		pr_warn("Failed: out of memory\n");
		return 1;
	}
	facts_init(&d->facts, &d->s, driver_event, d);
	/* Before the session reads the devices: a change in between is heard, not missed. */
	d->links_fd = links_socket();
	if (d->links_fd < 0)
		pr_debug("no rtnetlink link notifications (%s): interfaces are read once\n",
			 strerror(-d->links_fd));
	d->follow = !so->nifaces && d->links_fd >= 0;
	/* On unless --passive (export: only with --confirm; it sets confirm to 0 otherwise). */
	if (w->confirm && !(d->confirm = confirm_new(co.self_netns))) {
		pr_warn("Failed: out of memory\n");
		return 1;
	}
	return session_open(&d->s, so, driver_event, d);
}

static void attach_events(struct mw_driver *d, const char *iface, uint64_t now)
{
	for (int a = 0; a < d->s.natt; a++) {
		const struct mw_attach *at = &d->s.att[a];
		struct mw_event e = { .ts_ns = now, .type = MW_EV_ATTACH };

		if (strcmp(at->iface, iface))
			continue;
		e.netns = d->s.self_netns;
		e.ifindex = if_nametoindex(iface);
		e.aux = at->attached;
		snprintf(e.ifname, sizeof(e.ifname), "%s", at->prog + 3);
		driver_event(&e, d);
	}
}

static void iface_event(struct mw_driver *d, int k, uint64_t now)
{
	struct mw_event e = { .ts_ns = now, .type = MW_EV_IFACE, .netns = d->s.self_netns };

	e.ifindex = d->s.ifaces[k].ifindex;
	e.mtu = d->s.ifaces[k].mtu;
	memcpy(e.ifname, d->s.ifaces[k].name, sizeof(e.ifname));
	driver_event(&e, d);
}

/*
 * Watched interfaces that were deleted: their programs went with them, so their attach
 * results (the exporter's mtuwatch_program_attached) say degraded until the interface comes
 * back under its name, when the programs are attached again.
 */
static void check_ifaces(struct mw_driver *d, uint64_t now)
{
	struct mw_session *s = &d->s;

	/* Without -i, devices come and go by their rtnetlink messages (follow_links). */
	if (d->follow)
		return;
	session_check_ifaces(s);
	for (int k = 0; k < s->nifaces; k++) {
		uint32_t now_if;
		int err;

		if (!s->if_gone[k])
			continue;
		if (!d->if_degraded[k]) {
			d->if_degraded[k] = true;
			for (int a = 0; a < s->natt; a++)
				if (!strcmp(s->att[a].iface, s->ifaces[k].name))
					s->att[a].attached = false;
			attach_events(d, s->ifaces[k].name, now);
		}
		now_if = if_nametoindex(s->ifaces[k].name);
		if (!now_if || now_if == d->if_tried[k])
			continue;	/* still gone, or this device was tried already */
		err = session_reattach(s, k);
		if (err) {
			d->if_tried[k] = now_if;
			pr_warn("interface %s is back but could not be watched again: %s\n",
				s->ifaces[k].name, strerror(-err));
			continue;
		}
		d->if_tried[k] = 0;
		d->if_degraded[k] = false;
		pr_warn("interface %s is back (ifindex %u): its programs are attached again\n",
			s->ifaces[k].name, s->ifaces[k].ifindex);
		iface_event(d, k, now);
		attach_events(d, s->ifaces[k].name, now);
	}
}

/* Index of the watched, present interface ifindex, or -1. */
static int watched(const struct mw_session *s, uint32_t ifindex)
{
	for (int k = 0; k < s->nifaces; k++)
		if (!s->if_gone[k] && s->ifaces[k].ifindex == ifindex)
			return k;
	return -1;
}

static void forget(struct mw_driver *d, int k)
{
	int n = d->s.nifaces - k - 1;
	struct mw_event e = { .ts_ns = mono_ns(), .type = MW_EV_IFACE, .netns = d->s.self_netns,
			      .aux = MW_IFACE_GONE };

	pr_debug("interface %s deleted: forgotten\n", d->s.ifaces[k].name);
	/* The core's table too (a recording replays it): pods' veths come and go. */
	e.ifindex = d->s.ifaces[k].ifindex;
	e.mtu = d->s.ifaces[k].mtu;
	memcpy(e.ifname, d->s.ifaces[k].name, sizeof(e.ifname));
	driver_event(&e, d);
	session_forget_iface(&d->s, k);
	memmove(&d->if_degraded[k], &d->if_degraded[k + 1], n * sizeof(d->if_degraded[0]));
	memmove(&d->if_tried[k], &d->if_tried[k + 1], n * sizeof(d->if_tried[0]));
}

/*
 * One RTM_NEWLINK / RTM_DELLINK. A watched device's new MTU or name becomes an IFACE event
 * (the core then judges with the MTU the device has now, and a recording replays it); without
 * -i, a device that is (or comes) up is watched like those of the start, and a deleted one is
 * forgotten, its programs gone with it. With -i, a named device that comes back is attached
 * again by check_ifaces. A device that goes down stays watched: nothing crosses it meanwhile.
 */
static void on_link(const struct mw_ifinfo *i, bool del, void *ctx)
{
	struct mw_driver *d = ctx;
	struct mw_session *s = &d->s;
	int k = watched(s, i->ifindex);
	uint64_t now = mono_ns();

	if (k >= 0 && del) {
		if (d->follow)
			forget(d, k);
		return;
	}
	/*
	 * A veth end moved to another namespace is deleted here, and its peer hears nothing:
	 * whether a watched veth's peer is elsewhere is read again (follow_links).
	 */
	if (del) {
		d->links_recheck = true;
		return;
	}
	if (k >= 0) {
		struct mw_ifinfo *w = &s->ifaces[k];
		bool changed = w->mtu != i->mtu || strncmp(w->name, i->name, sizeof(w->name));

		if (w->fwd != i->fwd)
			session_iface_fwd(s, k, i->fwd);
		if (w->mtu != i->mtu)
			pr_debug("interface %s: MTU %u -> %u\n", i->name, w->mtu, i->mtu);
		w->mtu = i->mtu;
		w->up = i->up;
		w->master = i->master;
		w->fwd = i->fwd;
		w->is_master |= i->is_master;
		/* A rename under -i is the named device leaving: check_ifaces says so. */
		if (d->follow && changed) {
			for (int a = 0; a < s->natt; a++)
				if (!strcmp(s->att[a].iface, w->name))
					snprintf(s->att[a].iface, sizeof(s->att[a].iface), "%s",
						 i->name);
			memcpy(w->name, i->name, sizeof(w->name));
		}
		if (changed) {
			iface_event(d, k, now);
			/* What lies under it (a veth peer's MTU...) is read again on a tick. */
			d->facts.links_done = false;
		}
		return;
	}
	if (!d->follow || !i->up || i->loopback || !i->name[0])
		return;
	k = session_add_iface(s, i);
	if (k < 0) {
		if (!d->said_full++)
			pr_warn("note: new interface %s is not watched: %s -- restart mtuwatch to "
				"watch it\n", i->name, strerror(-k));
		return;
	}
	d->if_degraded[k] = false;
	d->if_tried[k] = 0;
	pr_debug("new interface %s (ifindex %u, MTU %u): watched\n", i->name, i->ifindex, i->mtu);
	iface_event(d, k, now);
	attach_events(d, i->name, now);
	d->facts.links_done = false;
}

struct resync {
	struct mw_driver *d;
	bool seen[MW_MAX_IFACES];
};

static void on_link_resync(const struct mw_ifinfo *i, bool del, void *ctx)
{
	struct resync *r = ctx;
	int k = watched(&r->d->s, i->ifindex);

	if (k >= 0)
		r->seen[k] = true;
	on_link(i, del, r->d);
}

/* What the link socket heard; when the kernel dropped some of it, what the devices are now. */
static void follow_links(struct mw_driver *d)
{
	struct resync *r;
	int n;

	if (d->links_fd < 0)
		return;
	n = links_read(d->links_fd, on_link, d);
	if (n != -ENOBUFS) {
		if (d->links_recheck)
			links_dump(on_link, d);
		d->links_recheck = false;
		return;
	}
	d->links_recheck = false;
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->d = d;
	pr_debug("link notifications overflowed: reading every device again\n");
	if (!links_dump(on_link_resync, r) && d->follow)
		for (int k = d->s.nifaces - 1; k >= 0; k--)
			if (k < MW_MAX_IFACES && !r->seen[k])
				forget(d, k);
	free(r);
}

/*
 * Route read-backs the core asked for, each as a ROUTE event. Read by listing (the
 * exceptions, the tables): a lookup would bring back an IPv4 exception a flush left stale.
 * Another namespace's PTB is read in that namespace, entered by its inode for this batch only:
 * an fd kept open would keep a deleted namespace, and its devices, alive.
 */
static void route_checks(struct mw_driver *d, uint64_t now)
{
	struct mw_event req[MW_ROUTE_READ_MAX];
	int n = core_route_requests(d->core, now, req, MW_ROUTE_READ_MAX);
	bool done[MW_ROUTE_READ_MAX] = {};

	/* One batch per namespace and family: a dump answers all of its destinations. */
	for (int i = 0; i < n; i++) {
		uint32_t ns = req[i].aux & MW_ROUTE_IN_NS ? req[i].netns : d->s.self_netns;
		uint8_t dst[MW_ROUTE_READ_MAX][16];
		struct mw_route_read rr[MW_ROUTE_READ_MAX];
		int idx[MW_ROUTE_READ_MAX], k = 0, nsfd = -1;

		if (done[i])
			continue;
		for (int j = i; j < n; j++) {
			uint32_t nj = req[j].aux & MW_ROUTE_IN_NS ? req[j].netns : d->s.self_netns;

			if (done[j] || nj != ns || req[j].family != req[i].family)
				continue;
			done[j] = true;
			idx[k] = j;
			memcpy(dst[k++], req[j].flow.daddr, 16);
		}
		if (ns != d->s.self_netns) {
			nsfd = netns_open(ns, NULL, 0);
			if (nsfd < 0)
				continue;	/* gone already */
		}
		if (net_route_read(nsfd, req[i].family, k, dst, rr)) {
			if (nsfd >= 0)
				close(nsfd);
			continue;
		}
		if (nsfd >= 0)
			close(nsfd);
		for (int m = 0; m < k; m++) {
			struct mw_event *e = &req[idx[m]];

			e->ts_ns = now;
			e->mtu = rr[m].mtu;
			e->aux = MW_ROUTE_LISTED | (e->aux & MW_ROUTE_IN_NS) |
				 (rr[m].locked ? MW_ROUTE_LOCKED : 0) |
				 (rr[m].exception ? MW_ROUTE_LEARNED : 0);
			if (rr[m].oif)
				e->ifindex = rr[m].oif;
			pr_debug("route read: netns %u family %u mtu %u oif %u flags 0x%x\n",
				 e->netns, e->family, rr[m].mtu, rr[m].oif, e->aux);
			driver_event(e, d);
		}
	}
}

struct sweep {
	struct mw_driver *d;
	uint64_t now;
	uint32_t netns;
	uint8_t family;
	unsigned int n;
};

/*
 * A sweep lists thousands of exceptions (3,000 in one namespace took ~140 ms here) while the
 * ring fills at its busiest (the PTBs that made them): the ring is read every SWEEP_DRAIN of
 * them, or 1 MiB of events is lost behind it. The core takes events out of time order (its
 * clock only moves forward), so nothing waits for the sweep's end.
 */
#define SWEEP_DRAIN 256

static void sweep_one(const uint8_t *dst, const struct mw_route_read *r, void *ctx)
{
	struct sweep *w = ctx;
	struct mw_event e = { .ts_ns = w->now, .type = MW_EV_ROUTE, .netns = w->netns,
			      .family = w->family, .ifindex = r->oif, .mtu = r->mtu };

	e.flow.family = w->family;
	memcpy(e.flow.daddr, dst, w->family == 6 ? 16 : 4);
	e.aux = MW_ROUTE_LISTED | MW_ROUTE_LEARNED | MW_ROUTE_SWEPT |
		(r->locked ? MW_ROUTE_LOCKED : 0) |
		(w->netns != w->d->s.self_netns ? MW_ROUTE_IN_NS : 0);
	driver_event(&e, w->d);
	if (++w->n % SWEEP_DRAIN == 0)
		session_consume(&w->d->s);
}

/* With --all-netns: the exceptions of another namespace, if the inode is still the one named. */
static void sweep_ns(uint32_t inode, uint64_t cookie, void *ctx)
{
	struct sweep w = *(struct sweep *)ctx;
	int fd;

	if (inode == w.d->s.self_netns)
		return;
	fd = netns_open(inode, NULL, 0);
	if (fd < 0)
		return;
	if (!cookie || netns_cookie(fd) == cookie) {
		w.netns = inode;
		w.family = 4;
		net_exceptions(fd, 4, sweep_one, &w);
		w.family = 6;
		net_exceptions(fd, 6, sweep_one, &w);
	}
	close(fd);
}

/*
 * New kinds of Packet Too Big over the kernel's event budget (256 a second per CPU, against
 * forged floods) are counted, not streamed; the genuine ones still made the kernel learn a
 * route exception. When the count moved, every exception of our namespace is listed as a
 * ROUTE event (MW_ROUTE_SWEPT): the core reports the ones it has not (pmtu_learned), so no
 * discovery is lost, however many arrive at once. A forged PTB makes no exception. With
 * --all-netns the budget is shared, so the namespaces with events in the last SWEEP_NS_RECENT
 * (a pod's own connections) are listed too: one dump per namespace and family. Events lost
 * to a full ring buffer may have been PTBs too: a sweep then as well.
 */
#define SWEEP_NS_RECENT (10 * 1000000000ULL)
static void ptb_sweep(struct mw_driver *d, uint64_t now)
{
	uint64_t n = session_counter(&d->s, MW_CNT_PTB_SUPPRESSED);
	uint64_t lost = session_counter(&d->s, MW_CNT_EVENTS_LOST);
	struct sweep w = { .d = d, .now = now, .netns = d->s.self_netns, .family = 4 };

	if (n == d->ptb_suppressed && lost == d->sweep_lost)
		return;
	d->ptb_suppressed = n;
	d->sweep_lost = lost;
	net_exceptions(-1, 4, sweep_one, &w);
	w.family = 6;
	net_exceptions(-1, 6, sweep_one, &w);
	if (d->nsn)
		nsn_each(d->nsn, now > SWEEP_NS_RECENT ? now - SWEEP_NS_RECENT : 0, sweep_ns, &w);
}

/* A destination kept from churn (dsts_keep) stays while its finding stands. */
static bool keep_standing(uint8_t family, const uint8_t *dst, void *ctx)
{
	struct mw_driver *d = ctx;

	return core_dst_standing(d->core, family, dst);
}

static void confirm_emit(const struct mw_event *e, void *ctx)
{
	driver_event(e, ctx);
}

/* Destinations the core would have confirmed: probed off the loop, results as events. */
static void confirm_checks(struct mw_driver *d, uint64_t now)
{
	struct mw_event req[8];
	int n;

	if (!d->confirm)
		return;
	n = core_probe_requests(d->core, req, 8);
	confirm_poll(d->confirm, req, n, now, confirm_emit, d);
}

/* The ring buffer and the link socket: either wakes us. */
static int poll_events(struct mw_driver *d, int ms)
{
	struct pollfd fds[2] = {
		{ .fd = session_poll_fd(&d->s), .events = POLLIN },
		{ .fd = d->links_fd, .events = POLLIN },
	};

	if (poll(fds, d->links_fd >= 0 ? 2 : 1, ms) < 0)
		return -errno;
	/* Whether or not the kernel woke us (it does only past a backlog): read the ring. */
	return session_consume(&d->s);
}

/* How long the loop may wait for events: less when a route read-back is due sooner. */
static int poll_ms(struct mw_driver *d)
{
	uint64_t next = core_route_next(d->core), now;

	if (!next)
		return 100;
	now = mono_ns();
	if (next <= now)
		return 0;
	return next - now >= 100000000ULL ? 100 : (int)((next - now) / 1000000) + 1;
}

void driver_run(struct mw_driver *d, int duration, int (*extra_poll)(struct mw_driver *d, int ms))
{
	uint64_t start = mono_ns(), end = duration >= 0 ? start + duration * 1000000000ULL : 0;

	facts_poll(&d->facts, start, true);

	while (!mw_stop) {
		uint64_t now;
		int err;

		int ms = poll_ms(d);

		if (extra_poll)
			err = extra_poll(d, ms);
		else
			err = poll_events(d, ms);
		if (err < 0 && err != -EINTR) {
			pr_warn("Failed to read events: %s\n", strerror(-err));
			break;
		}
		follow_links(d);
		now = mono_ns();
		route_checks(d, now);
		confirm_checks(d, now);
		if (now - d->last_tick >= TICK_NS) {
			struct mw_event t = { .ts_ns = now, .type = MW_EV_TICK };
			uint64_t lost = session_counter(&d->s, MW_CNT_EVENTS_LOST);

			if (lost != d->lost) {
				struct mw_event l = { .ts_ns = now, .type = MW_EV_LOST, .aux = lost };

				d->lost = lost;
				driver_event(&l, d);
			}
			d->last_tick = now;
			facts_poll(&d->facts, now, false);
			facts_ptb_counts(&d->facts, now, false);
			ptb_sweep(d, now);
			driver_event(&t, d);
			if (now - d->last_keep >= KEEP_SWEEP_NS) {
				d->last_keep = now;
				session_keep_sweep(&d->s, keep_standing, d);
			}
			check_ifaces(d, now);
			if (d->on_tick)
				d->on_tick(d);
		}
		if (d->rec && now - d->last_flush >= FLUSH_NS) {
			recfile_flush(d->rec);
			d->last_flush = now;
		}
		if (end && now >= end)
			break;
	}
	/* Drain what is queued, then one last tick so timers judge up to now. */
	session_poll(&d->s, 0);
	facts_ptb_counts(&d->facts, mono_ns(), true);
	ptb_sweep(d, mono_ns());
	{
		struct mw_event t = { .ts_ns = mono_ns(), .type = MW_EV_TICK };

		driver_event(&t, d);
	}
}

void driver_close(struct mw_driver *d)
{
	if (d->links_fd >= 0)
		close(d->links_fd);
	d->links_fd = -1;
	session_close(&d->s);
	core_free(d->core);
	reasons_free(&d->reasons);
	nsn_free(d->nsn);
	d->nsn = NULL;
	confirm_free(d->confirm);
	d->confirm = NULL;
	d->core = NULL;
}
