/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Renderers over the core: plain lines and a table, or NDJSON. Chosen once per run. */
#ifndef MW_RENDER_H
#define MW_RENDER_H

#include <stdio.h>
#include "core.h"
#include "json.h"	/* utf8_seq(), which text_safe() shares with the JSON writer */

struct mw_render {
	FILE *out;
	bool json;
	bool all_netns;
	/* New kinds of Packet Too Big over the kernel's per-second budget: no event, counted. */
	uint64_t ptb_suppressed;
};

void render_finding(const struct mw_finding *f, void *render);
void render_summary(struct mw_render *r, struct mw_core *c, uint64_t lost);
void render_event_raw(struct mw_render *r, const struct mw_event *e);
/*
 * The one sanitizer of plain (terminal) output for strings from a file or the kernel (META
 * values, interface and drop reason names): at most max bytes of s, control bytes (C0, DEL,
 * C1) and invalid UTF-8 written as \xNN / \u00NN escapes, valid UTF-8 kept. Writes a
 * NUL-terminated string into buf (cut at a character boundary) and returns buf.
 */
const char *text_safe(char *buf, size_t buflen, const char *s, size_t max);
/* Room text_safe() needs so that nothing of an n-byte field is cut. */
#define TEXT_SAFE_LEN(n) (4 * (n) + 1)

#endif
