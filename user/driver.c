// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <time.h>
#include "cli.h"
#include "driver.h"
#include "log.h"
#include "nsnames.h"
#include "recfile.h"

#define TICK_NS (500 * 1000000ULL)
#define FLUSH_NS (1000 * 1000000ULL)

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
	/* a route read back names our egress, not one of that namespace's devices */
	if (e->ifindex && e->type != MW_EV_IFACE && e->type != MW_EV_ROUTE &&
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
		session_set_pmtu(&d->s, f->ifindex, f->family, f->dst, f->mtu);
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

/*
 * Watched interfaces that were deleted: their programs went with them, so their attach
 * results (the exporter's mtuwatch_program_attached) say degraded until the interface comes
 * back under its name, when the programs are attached again.
 */
static void check_ifaces(struct mw_driver *d, uint64_t now)
{
	struct mw_session *s = &d->s;

	session_check_ifaces(s);
	for (int k = 0; k < s->nifaces; k++) {
		struct mw_event e = { .ts_ns = now, .type = MW_EV_IFACE, .netns = s->self_netns };
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
		e.ifindex = s->ifaces[k].ifindex;
		e.mtu = s->ifaces[k].mtu;
		memcpy(e.ifname, s->ifaces[k].name, sizeof(e.ifname));
		driver_event(&e, d);
		attach_events(d, s->ifaces[k].name, now);
	}
}

static void route_checks(struct mw_driver *d, uint64_t now)
{
	struct mw_event req[16];
	int n = core_route_requests(d->core, now, req, 16);

	for (int i = 0; i < n; i++) {
		uint32_t mtu = 0, oif = 0;
		bool locked;

		if (net_route_mtu(req[i].family, req[i].flow.daddr, &mtu, &oif, &locked))
			continue;
		req[i].ts_ns = now;
		req[i].mtu = mtu;
		req[i].aux = locked;
		if (oif)
			req[i].ifindex = oif;
		driver_event(&req[i], d);
	}
}

void driver_run(struct mw_driver *d, int duration, int (*extra_poll)(struct mw_driver *d, int ms))
{
	uint64_t start = mono_ns(), end = duration >= 0 ? start + duration * 1000000000ULL : 0;

	facts_poll(&d->facts, start, true);

	while (!mw_stop) {
		uint64_t now;
		int err;

		if (extra_poll)
			err = extra_poll(d, 100);
		else
			err = session_poll(&d->s, 100);
		if (err < 0 && err != -EINTR) {
			pr_warn("Failed to read events: %s\n", strerror(-err));
			break;
		}
		now = mono_ns();
		route_checks(d, now);
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
			driver_event(&t, d);
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
	{
		struct mw_event t = { .ts_ns = mono_ns(), .type = MW_EV_TICK };

		driver_event(&t, d);
	}
}

void driver_close(struct mw_driver *d)
{
	session_close(&d->s);
	core_free(d->core);
	reasons_free(&d->reasons);
	nsn_free(d->nsn);
	d->nsn = NULL;
	d->core = NULL;
}
