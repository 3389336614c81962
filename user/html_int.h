/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `report --html`'s insides, shared by its two files: html.c collects (META, events and
 * findings into bounded per-path series), html_page.c draws the page from them. Only they
 * include this; report sees html.h.
 */
#ifndef MW_HTML_INT_H
#define MW_HTML_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "html.h"

#define MAX_SERIES	512		/* paths whose series are kept */
#define IDX_SLOTS	1024		/* their hash index (power of two) */
#define MAX_DRAWN	256		/* timelines drawn */
#define MAX_FINDINGS	10000		/* findings listed */
#define MAX_ROUTE	256		/* route MTU changes kept a path */
#define MAX_IFACES	256
#define TCOLS		440		/* time columns of a timeline: 2 px each */
#define W0_NS		1000000ULL	/* first column width: 1 ms */

/* Geometry of a timeline (SVG user units). */
#define SVG_W	960
#define X0	72
#define X1	930
#define LANE_Y	26	/* the handshake lane's middle */
#define Y0	52
#define Y1	292
#define LEG_Y	336

enum mk {
	MK_SENT, MK_OVER, MK_RESEND, MK_DELIVERED, MK_RECOVERED, MK_RECEIVED,
	MK_PTB_RX, MK_PTB_DROP, MK_PTB_IGNORED, MK_PTB_SENT, MK_ENCAP,
	MK_PROBE_OK, MK_PROBE_LOST, MK_HS, MK_TCP, MK_MAX
};

enum shape { SH_DOT, SH_TRI_DOWN, SH_TRI_UP, SH_DIAMOND, SH_SQUARE, SH_CROSS };

/* Each kind: the classes of its marks (the stylesheet draws them), its legend, its shape. */
struct html_kind {
	const char *cls;
	const char *label;
	enum shape shape;
	bool lane;		/* drawn in the handshake lane: no size */
};
extern const struct html_kind html_kinds[MK_MAX];

/* Bucket flags (part of its key). */
#define BF_NODF		0x1	/* resend: left without DF */
#define BF_IN		0x1	/* hs: the peer's step */
#define BF_OUT		0x1	/* ptb dropped: on its way out */

struct bucket {
	uint64_t tmin, tmax;	/* ns from the recording's start */
	uint32_t col, row;	/* time column, size row at the series' resolution */
	uint32_t sub;		/* drop reason, ignore reason, step, state, probe method */
	uint32_t smin, smax;
	uint32_t count;
	uint8_t kind, flags;
	bool used;
};

struct route_chg {
	uint64_t t;
	uint32_t mtu, flags;
};

struct series {
	bool used, finding, drawn;
	uint32_t netns;
	uint8_t family;
	uint8_t dst[16];
	uint64_t w;		/* ns a time column spans */
	uint32_t q;		/* bytes a size row spans */
	bool mixed;		/* subs and flags merged (a last resort) */
	uint64_t tlast;		/* latest t put in */
	uint32_t smin_seen, smax_seen;	/* sizes put in (not the lane's) */
	struct bucket *b;
	uint32_t cap, n;
	uint64_t events, kcount[MK_MAX];
	struct route_chg *route;	/* changes of the route MTU read back, at most MAX_ROUTE */
	uint32_t nroute, route_cap, route_more;
};

struct hfinding {
	enum mw_verdict verdict;
	uint32_t netns;
	uint8_t family;
	uint8_t dst[16];
	uint64_t ts;
	uint32_t mtu, lo, hi;
	bool confirmed;
	enum mw_ignore ign;
	char iface[MW_IFNAME_LEN];
	struct mw_ns_label ns;
	bool foreign;
	char *line;
};

struct mw_html {
	mw_reason_fn reason_name;
	void *reason_ctx;
	uint64_t origin, last_ts, end_ns, events, untracked;
	int64_t time_base;
	bool have_base, all_netns;
	char host[256], kernel[256], tool[128];
	char ifaces[MAX_IFACES][128];
	int nifaces;
	struct series *s;	/* MAX_SERIES */
	int16_t idx[IDX_SLOTS];
	uint32_t hand;		/* eviction clock */
	struct hfinding *f;
	uint32_t nf, fcap, nf_more;
};

void html_esc(FILE *o, const char *s, size_t max);
void html_esc0(FILE *o, const char *s);
bool html_same_path(const struct hfinding *f, const struct series *s);

#endif
