/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Renderers over the core: plain lines and a table, or NDJSON. Chosen once per run. */
#ifndef MW_RENDER_H
#define MW_RENDER_H

#include <stdio.h>
#include "core.h"

struct mw_render {
	FILE *out;
	bool json;
	bool all_netns;
};

void render_finding(const struct mw_finding *f, void *render);
void render_summary(struct mw_render *r, struct mw_core *c, uint64_t lost);
void render_event_raw(struct mw_render *r, const struct mw_event *e);
/* Writes s as a JSON string literal (quotes included). */
void json_str(FILE *out, const char *s);
void fmt_ip(uint8_t family, const uint8_t *a, char *buf, size_t len);

#endif
