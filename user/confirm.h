/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Active confirmation (docs/design.md "Confirmation"): the driver probes the destination of a
 * suspect path the core names (core_probe_requests) with the forward probe of `mtuwatch probe`,
 * on a thread of its own, and hands the result back as an MW_EV_PROBE event.
 */
#ifndef MW_CONFIRM_H
#define MW_CONFIRM_H

#include <stdbool.h>
#include <stdint.h>
#include "mtuwatch.h"

struct mw_confirm;

/* self_netns: the namespace mtuwatch runs in (only its paths are probed). */
struct mw_confirm *confirm_new(uint32_t self_netns);
/*
 * Requests in (the core's), results out (through emit, as MW_EV_PROBE events stamped now):
 * call from the event loop; it never blocks.
 */
void confirm_poll(struct mw_confirm *cf, const struct mw_event *req, int nreq, uint64_t now,
		  void (*emit)(const struct mw_event *e, void *ctx), void *ctx);
/* Waits for a probe in flight (bounded by its steps), then frees. */
void confirm_free(struct mw_confirm *cf);

#endif
