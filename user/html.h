/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `report --html`: a recording drawn as one self-contained page (inline SVG and CSS, no
 * script, nothing fetched). Another renderer over the same replay: report feeds it the
 * recording's META pairs and events as it feeds the core, and the core's findings through
 * on_finding; it judges nothing itself. Per path it keeps the event series bucketed by time
 * and size (at most HTML_MAX_MARKS marks a path, counts kept), so memory and the page stay
 * bounded whatever the recording's length.
 */
#ifndef MW_HTML_H
#define MW_HTML_H

#include <stdint.h>
#include <stdio.h>
#include "core.h"

/* Marks one path's timeline holds at most: buckets grow coarser past it. */
#define HTML_MAX_MARKS 1200

struct mw_html;

/* reason_name / ctx: the drop reason names of the recording (as the core's). */
struct mw_html *html_new(mw_reason_fn reason_name, void *reason_ctx);
void html_free(struct mw_html *h);
/* One META pair of the recording (bounded lengths, no NUL needed). */
void html_meta(struct mw_html *h, const char *k, size_t kl, const char *v, size_t vl);
/* Every event report feeds the core, in the same order. */
void html_event(struct mw_html *h, const struct mw_event *e);
/* The core's on_finding: ctx is the struct mw_html. */
void html_finding(const struct mw_finding *f, void *ctx);
/* The page, once the replay ended: header, one timeline per path with a finding, the rest. */
int html_write(struct mw_html *h, struct mw_core *c, FILE *out, uint64_t lost,
	       uint64_t ptb_suppressed);

#endif
