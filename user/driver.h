/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one data path of a live session: kernel events and the events the driver synthesises
 * (interfaces, attach results, clock ticks, route MTUs read back, lost counts) go through
 * driver_event() in one order, to the record file if any and to the core. live, record and
 * export differ only in what they do with findings and when they stop.
 */
#ifndef MW_DRIVER_H
#define MW_DRIVER_H

#include <signal.h>
#include "core.h"
#include "facts.h"
#include "loader.h"
#include "reasons.h"

struct recfile_writer;
struct nsn_cache;

/* Record type of a struct mw_event in a record file (recfile reserves types below 16). */
#define MW_REC_EVENT 16
/* A struct mw_nsname: another namespace's names (docs/file-format.md). */
#define MW_REC_NSNAME 17

struct mw_driver {
	struct mw_session s;
	struct mw_core *core;
	struct mw_reasons reasons;	/* loaded on first use: driver_reason() */
	bool reasons_tried;
	struct recfile_writer *rec;
	uint64_t rec_events;
	uint64_t last_tick, last_flush;
	uint64_t lost;
	uint64_t last_keep;		/* the last dsts_keep sweep (session_keep_sweep) */
	uint64_t ptb_suppressed;	/* the kernel's count at the last sweep (ptb_sweep) */
	uint64_t sweep_lost;		/* events_lost at the last sweep */
	bool if_degraded[MW_MAX_IFACES];	/* gone: its attach results say degraded */
	uint32_t if_tried[MW_MAX_IFACES];	/* ifindex a re-attach last failed on */
	mw_finding_fn on_finding;	/* renderer */
	void *finding_ctx;
	struct mw_facts facts;		/* host facts, reported through driver_event */
	int links_fd;			/* rtnetlink link changes (links.c), or -errno */
	bool follow;			/* no -i: watch every up device, as they come and go */
	bool links_recheck;		/* a device left: read the watched ones' peers again */
	int said_full;			/* a new device found no room: said once */
	struct nsn_cache *nsn;		/* other namespaces' names (--all-netns), nsnames.h */
	struct mw_confirm *confirm;	/* active confirmation (confirm.h); NULL: --passive */
	/* called every tick (export: serve scrapes; record: child status) */
	void (*on_tick)(struct mw_driver *d);
	void *tick_ctx;
};

extern volatile sig_atomic_t mw_stop;

uint64_t mono_ns(void);
void install_signals(void);
struct watch_opts;
int driver_open(struct mw_driver *d, const struct watch_opts *w);
/* The session's interfaces and attach results, as events: call once, before driver_run(). */
#define driver_describe(d) session_describe(&(d)->s, mono_ns())
/* Runs until a signal, or duration seconds (negative: forever). */
void driver_run(struct mw_driver *d, int duration, int (*extra_poll)(struct mw_driver *d, int ms));
void driver_event(const struct mw_event *e, void *ctx);
const char *driver_reason(uint32_t value, void *ctx);
void driver_close(struct mw_driver *d);

#endif
