/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Host facts as events: the sysctls that change how PMTUD behaves, the namespace counters
 * that tell why a Packet Too Big was ignored, what lies under each device, and the kernel's
 * exact PTB counts. Facts report through the emit callback their owner gives (the driver's
 * data path), so that they know nothing of where the events go.
 */
#ifndef MW_FACTS_H
#define MW_FACTS_H

#include <stdbool.h>
#include <stdint.h>
#include "loader.h"

struct mw_facts {
	struct mw_session *s;		/* the kernel side, for the PTB counts */
	mw_event_fn emit;
	void *ctx;
	/* host facts last read */
	uint64_t sysctl_ns;
	int sysctl[4];
	uint64_t snmp[4];
	bool snmp_ok[4];
	bool links_done;
	bool ptb_syncing;		/* facts_ptb_counts is feeding its own events */
	uint64_t ptb_last_ns, ptb_sync_ns;	/* last PTB event from the kernel; last sync */
};

/* Facts of session s (its namespace, its PTB counts), each as an event to emit(e, ctx). */
void facts_init(struct mw_facts *f, struct mw_session *s, mw_event_fn emit, void *ctx);
/* Sysctls and namespace counters as events (first: the baseline, and every setting). */
void facts_poll(struct mw_facts *f, uint64_t now, bool first);
/* A PTB event came from the kernel at now: its exact counts are synced for a while. */
void facts_ptb_seen(struct mw_facts *f, uint64_t now);
/* The kernel's exact PTB counts per kind, as PTB events (after PTBs came; final: now). */
void facts_ptb_counts(struct mw_facts *f, uint64_t now, bool final);

#endif
