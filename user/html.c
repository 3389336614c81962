// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `report --html` (html.h): the replay's events as per-path series, drawn as SVG timelines
 * under the findings the core gave. Nothing here judges: marks are what the events say, the
 * lines (bracket, measured MTU) and "ignored" marks are what the findings say.
 *
 * Bounds: series are kept for MAX_SERIES paths (a path without a finding makes room for a new
 * one); each keeps at most HTML_MAX_MARKS buckets of (kind, time column, size row), which
 * grow coarser (coarsen()) when a path has more;
 * a bucket keeps its count, its size and time range. Every string from the recording goes
 * through esc() (markup as entities, control bytes as \xNN), and the page carries a Content
 * Security Policy that allows no script and no fetch, should anything get through anyway.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "html.h"
#include "json.h"	/* utf8_seq() */
#include "render.h"	/* render_finding(): the finding's line as report prints it */

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

enum shape { SH_DOT, SH_TRI_DOWN, SH_TRI_UP, SH_DIAMOND, SH_SQUARE };

/* Each kind: the classes of its marks (the stylesheet draws them), its legend, its shape. */
static const struct {
	const char *cls;
	const char *label;
	enum shape shape;
	bool lane;		/* drawn in the handshake lane: no size */
} kinds[MK_MAX] = {
	{ "sent", "DF segment sent (new largest)", SH_DOT, false },
	{ "sent over", "DF segment over the known path MTU", SH_DOT, false },
	{ "resend", "re-sent", SH_DOT, false },
	{ "delivered", "delivered (acknowledged)", SH_DOT, false },
	{ "recovered", "re-sent segment acknowledged", SH_DOT, false },
	{ "received", "largest segment received", SH_DOT, false },
	{ "ptb arrived", "Packet Too Big arrived (its MTU)", SH_TRI_DOWN, false },
	{ "ptb dropped", "Packet Too Big dropped here", SH_TRI_DOWN, false },
	{ "ptb ignored", "Packet Too Big ignored", SH_TRI_DOWN, false },
	{ "ptb emitted", "Packet Too Big sent by this host", SH_TRI_UP, false },
	{ "encap-drop", "overlay packet too big", SH_SQUARE, false },
	{ "probe answered", "probe: largest size answered", SH_DIAMOND, false },
	{ "probe vanished", "probe: smallest size lost", SH_DIAMOND, false },
	{ "hs", "handshake step", SH_SQUARE, true },
	{ "tcp-state", "TCP state", SH_SQUARE, true },
};

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
	struct route_chg route[MAX_ROUTE];
	uint32_t nroute, route_more;
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
	uint32_t nf, nf_more;
};

/* ---- escaping ------------------------------------------------------------------------------ */

/*
 * A string from the recording into HTML text or a double-quoted attribute: at most max bytes,
 * markup characters as entities, control bytes (C0, DEL, C1) and invalid UTF-8 as visible
 * \xNN / \u00NN (as text_safe() writes them for a terminal), valid UTF-8 kept.
 */
static void esc(FILE *o, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	for (size_t i = 0, k; i < n; i += k) {
		unsigned char ch = s[i];

		k = utf8_seq(s + i, n - i);
		if (!k) {
			k = 1;
			fprintf(o, "\\x%02x", ch);
		} else if (k == 1) {
			switch (ch) {
			case '&':
				fputs("&amp;", o);
				break;
			case '<':
				fputs("&lt;", o);
				break;
			case '>':
				fputs("&gt;", o);
				break;
			case '"':
				fputs("&quot;", o);
				break;
			case '\'':
				fputs("&#39;", o);
				break;
			default:
				if (ch < 0x20 || ch == 0x7f)
					fprintf(o, "\\x%02x", ch);
				else
					fputc(ch, o);
			}
		} else if (k == 2 && ch == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			fprintf(o, "\\u%04x", (unsigned char)s[i + 1]);
		} else {
			fwrite(s + i, 1, k, o);
		}
	}
}

static void esc0(FILE *o, const char *s)
{
	esc(o, s, 4096);
}

/* ---- collecting ---------------------------------------------------------------------------- */

struct mw_html *html_new(mw_reason_fn reason_name, void *reason_ctx)
{
	struct mw_html *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->s = calloc(MAX_SERIES, sizeof(*h->s));
	if (!h->s) {
		free(h);
		return NULL;
	}
	memset(h->idx, 0xff, sizeof(h->idx));
	h->reason_name = reason_name;
	h->reason_ctx = reason_ctx;
	return h;
}

void html_free(struct mw_html *h)
{
	if (!h)
		return;
	for (int i = 0; i < MAX_SERIES; i++)
		free(h->s[i].b);
	for (uint32_t i = 0; i < h->nf; i++)
		free(h->f[i].line);
	free(h->f);
	free(h->s);
	free(h);
}

static void copy_val(char *dst, size_t len, const char *v, size_t vl)
{
	if (vl >= len)
		vl = len - 1;
	memcpy(dst, v, vl);
	dst[vl] = 0;
}

static bool is_key(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && !memcmp(k, want, kl);
}

void html_meta(struct mw_html *h, const char *k, size_t kl, const char *v, size_t vl)
{
	char num[32];

	copy_val(num, sizeof(num), v, vl);
	if (is_key(k, kl, "hostname")) {
		copy_val(h->host, sizeof(h->host), v, vl);
	} else if (is_key(k, kl, "kernel")) {
		copy_val(h->kernel, sizeof(h->kernel), v, vl);
	} else if (is_key(k, kl, "tool")) {
		copy_val(h->tool, sizeof(h->tool), v, vl);
	} else if (is_key(k, kl, "time_base_ns")) {
		h->time_base = strtoll(num, NULL, 10);
		h->have_base = true;
	} else if (is_key(k, kl, "all_netns")) {
		h->all_netns = atoi(num);
	} else if (is_key(k, kl, "end_monotonic_ns")) {
		h->end_ns = strtoull(num, NULL, 10);
	} else if (kl > 6 && !memcmp(k, "iface.", 6) && h->nifaces < MAX_IFACES) {
		copy_val(h->ifaces[h->nifaces++], sizeof(h->ifaces[0]), v, vl);
	}
}

static uint32_t addr_bytes(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static uint32_t key_hash(uint32_t netns, uint8_t family, const uint8_t *dst)
{
	uint32_t x = 2166136261u ^ family;

	x = (x ^ netns) * 16777619u;
	for (uint32_t i = 0; i < addr_bytes(family); i++)
		x = (x ^ dst[i]) * 16777619u;
	return x ^ (x >> 15);
}

static bool series_is(const struct series *s, uint32_t netns, uint8_t family, const uint8_t *dst)
{
	return s->netns == netns && s->family == family && !memcmp(s->dst, dst, 16);
}

/* Backward-shift deletion of linear probing: the index keeps no tombstones. */
static void idx_del(struct mw_html *h, uint32_t i)
{
	uint32_t j = i, m = IDX_SLOTS - 1;

	for (;;) {
		struct series *s;
		uint32_t home;

		j = (j + 1) & m;
		if (h->idx[j] < 0)
			break;
		s = &h->s[h->idx[j]];
		home = key_hash(s->netns, s->family, s->dst) & m;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			h->idx[i] = h->idx[j];
			i = j;
		}
	}
	h->idx[i] = -1;
}

/* A free series: an unused one, else the next one without a finding (clock); NULL if none. */
static struct series *series_room(struct mw_html *h)
{
	for (uint32_t n = 0; n < MAX_SERIES; n++) {
		uint32_t i = h->hand++ % MAX_SERIES;
		struct series *s = &h->s[i];
		uint32_t m = IDX_SLOTS - 1, j;

		if (!s->used)
			return s;
		if (s->finding)
			continue;
		for (j = key_hash(s->netns, s->family, s->dst) & m; h->idx[j] != (int16_t)i;
		     j = (j + 1) & m)
			;
		idx_del(h, j);
		free(s->b);
		memset(s, 0, sizeof(*s));
		return s;
	}
	return NULL;
}

static struct series *series_get(struct mw_html *h, uint32_t netns, uint8_t family,
				 const uint8_t *addr)
{
	uint8_t dst[16] = {};
	uint32_t m = IDX_SLOTS - 1, j;
	struct series *s;

	if (family != 4 && family != 6)
		return NULL;
	memcpy(dst, addr, addr_bytes(family));
	for (j = key_hash(netns, family, dst) & m; h->idx[j] >= 0; j = (j + 1) & m)
		if (series_is(&h->s[h->idx[j]], netns, family, dst))
			return &h->s[h->idx[j]];
	s = series_room(h);
	if (!s)
		return NULL;
	/* the slot found above may have moved if a deletion shifted the chain: look again */
	for (j = key_hash(netns, family, dst) & m; h->idx[j] >= 0; j = (j + 1) & m)
		;
	h->idx[j] = s - h->s;
	s->used = true;
	s->netns = netns;
	s->family = family;
	memcpy(s->dst, dst, 16);
	s->w = W0_NS;
	s->q = 1;
	return s;
}

static uint32_t bucket_hash(const struct bucket *b)
{
	uint32_t x = b->col * 2654435761u;

	x ^= (b->row + 0x9e3779b9u + (x << 6) + (x >> 2));
	x ^= (b->sub * 40503u) + ((uint32_t)b->kind << 8) + b->flags;
	return x ^ (x >> 13);
}

static bool bucket_same(const struct bucket *a, const struct bucket *b)
{
	return a->col == b->col && a->row == b->row && a->sub == b->sub && a->kind == b->kind &&
	       a->flags == b->flags;
}

/* Into table t (cap slots, a power of two), merged with its equal; false: out of memory. */
static void bucket_put(struct bucket *t, uint32_t cap, uint32_t *n, const struct bucket *b)
{
	uint32_t j = bucket_hash(b) & (cap - 1);

	for (; t[j].used; j = (j + 1) & (cap - 1)) {
		struct bucket *x = &t[j];

		if (!bucket_same(x, b))
			continue;
		x->count += b->count;
		if (b->smin < x->smin)
			x->smin = b->smin;
		if (b->smax > x->smax)
			x->smax = b->smax;
		if (b->tmin < x->tmin)
			x->tmin = b->tmin;
		if (b->tmax > x->tmax)
			x->tmax = b->tmax;
		return;
	}
	t[j] = *b;
	t[j].used = true;
	(*n)++;
}

/* Every bucket again at the series' (new) resolution, into a table of cap slots. */
static bool rebucket(struct series *s, uint32_t cap)
{
	struct bucket *t = calloc(cap, sizeof(*t));
	uint32_t n = 0;

	if (!t)
		return false;
	for (uint32_t i = 0; i < s->cap; i++) {
		struct bucket b = s->b[i];

		if (!b.used)
			continue;
		b.col = b.tmin / s->w;
		b.row = kinds[b.kind].lane ? 0 : b.smin / s->q;
		if (s->mixed)
			b.sub = b.flags = 0;
		bucket_put(t, cap, &n, &b);
	}
	free(s->b);
	s->b = t;
	s->cap = cap;
	s->n = n;
	return true;
}

/*
 * Over HTML_MAX_MARKS: the dimension whose buckets are thinner on screen grows coarser (about
 * square buckets over what the series spans so far), until one column and one row are left;
 * then reasons, steps and flags merge too.
 */
static void coarsen(struct series *s)
{
	while (s->n > HTML_MAX_MARKS) {
		uint64_t span = s->tlast > s->w ? s->tlast : s->w;
		uint32_t range = s->smax_seen > s->smin_seen ? s->smax_seen - s->smin_seen : 0;
		double px = (double)(X1 - X0) * s->w / span;
		double py = (double)(Y1 - Y0) * s->q / (range > s->q ? range : s->q);
		bool cols = s->tlast / s->w > 0;
		bool rows = s->smax_seen / s->q != s->smin_seen / s->q && s->q < (1u << 31);

		if (cols && (!rows || px <= py))
			s->w *= 2;
		else if (rows)
			s->q *= 2;
		else if (!s->mixed)
			s->mixed = true;
		else
			return;	/* kinds x one column x one row: cannot happen */
		if (!rebucket(s, s->cap))
			return;
	}
}

static void add(struct mw_html *h, uint32_t netns, uint8_t family, const uint8_t *dst,
		enum mk kind, uint64_t ts, uint32_t size, uint32_t sub, uint8_t flags)
{
	struct series *s = series_get(h, netns, family, dst);
	struct bucket b = {};
	uint64_t t = ts > h->origin ? ts - h->origin : 0;

	if (!s) {
		h->untracked++;
		return;
	}
	s->events++;
	s->kcount[kind]++;
	if (t > s->tlast)
		s->tlast = t;
	if (!kinds[kind].lane) {
		if (!s->smax_seen || size < s->smin_seen)
			s->smin_seen = size;
		if (size > s->smax_seen)
			s->smax_seen = size;
	}
	if (t / s->w >= TCOLS) {
		while (t / s->w >= TCOLS)
			s->w *= 2;
		if (s->b && !rebucket(s, s->cap))
			return;
	}
	if (!s->b || (s->n + 1) * 10 > s->cap * 7) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;

		if (!s->b) {
			s->b = calloc(cap, sizeof(*s->b));
			if (!s->b)
				return;
			s->cap = cap;
		} else if (!rebucket(s, cap)) {
			return;
		}
	}
	b.tmin = b.tmax = t;
	b.col = t / s->w;
	b.row = kinds[kind].lane ? 0 : size / s->q;
	b.kind = kind;
	b.sub = s->mixed ? 0 : sub;
	b.flags = s->mixed ? 0 : flags;
	b.smin = b.smax = size;
	b.count = 1;
	bucket_put(s->b, s->cap, &s->n, &b);
	if (s->n > HTML_MAX_MARKS)
		coarsen(s);
}

static void route_add(struct mw_html *h, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	struct series *s = series_get(h, e->netns, fam, e->flow.daddr);
	uint32_t fl = e->aux & (MW_ROUTE_LOCKED | MW_ROUTE_LEARNED);
	uint64_t t = e->ts_ns > h->origin ? e->ts_ns - h->origin : 0;

	if (!s) {
		h->untracked++;
		return;
	}
	s->events++;
	if (s->nroute && s->route[s->nroute - 1].mtu == e->mtu &&
	    s->route[s->nroute - 1].flags == fl)
		return;	/* read back again, unchanged */
	if (s->nroute == MAX_ROUTE) {
		s->route_more++;
		return;
	}
	s->route[s->nroute++] = (struct route_chg){ .t = t, .mtu = e->mtu, .flags = fl };
}

void html_event(struct mw_html *h, const struct mw_event *e)
{
	uint8_t fam = e->flow.family ? e->flow.family : e->family;
	const uint8_t *d = e->flow.daddr;
	uint64_t ts = e->ts_ns;

	if (!h->origin && ts)
		h->origin = ts;
	if (ts > h->last_ts)
		h->last_ts = ts;
	h->events++;
	switch (e->type) {
	case MW_EV_DF_MAX:
		add(h, e->netns, fam, d, MK_SENT, ts, e->size, 0, 0);
		break;
	case MW_EV_DF_OVER:
		add(h, e->netns, fam, d, MK_OVER, ts, e->size, 0, 0);
		break;
	case MW_EV_RETRANS:
		add(h, e->netns, fam, d, MK_RESEND, ts, e->size, 0, 0);
		break;
	case MW_EV_RESEND:
		add(h, e->netns, fam, d, MK_RESEND, ts, e->size, 0,
		    e->dir & MW_DIR_F_NODF ? BF_NODF : 0);
		break;
	case MW_EV_DELIVERED:
		add(h, e->netns, fam, d, MK_DELIVERED, ts, e->size, 0, 0);
		break;
	case MW_EV_ACKED:
		if (e->mtu)	/* a DELIVERED folded in */
			add(h, e->netns, fam, d, MK_DELIVERED, ts, e->mtu, 0, 0);
		break;
	case MW_EV_RECOVERED:
		add(h, e->netns, fam, d, MK_RECOVERED, ts, e->size, 0, 0);
		break;
	case MW_EV_SEG_MAX:
		if ((e->dir & 1) == MW_DIR_IN)
			add(h, e->netns, fam, d, MK_RECEIVED, ts, e->size, 0, 0);
		break;
	case MW_EV_HS: {
		struct mw_hs_acked a;
		uint32_t steps[4] = { e->aux & 0xffff, e->aux >> 16, e->mtu & 0xffff, e->mtu >> 16 };

		memcpy(&a, e->peer, sizeof(a));
		if ((e->dir & 1) == MW_DIR_IN) {
			if (a.acked && a.dsize)
				add(h, e->netns, fam, d, MK_DELIVERED, ts, a.dsize, 0, 0);
			if (e->seq)
				add(h, e->netns, fam, d, MK_RECEIVED, ts, e->seq, 0, 0);
		}
		for (int i = 0; i < 4 && steps[i]; i++)
			add(h, e->netns, fam, d, MK_HS, ts, e->size, steps[i],
			    (e->dir & 1) == MW_DIR_IN ? BF_IN : 0);
		break;
	}
	case MW_EV_STATE:
		add(h, e->netns, fam, d, MK_TCP, ts, 0, e->aux2, 0);
		break;
	case MW_EV_PTB_RX:
		if (!(e->dir & MW_DIR_F_SYNC))	/* a count the driver synced, not an arrival */
			add(h, e->netns, fam, d, MK_PTB_RX, ts, e->mtu ? e->mtu : e->size, 0, 0);
		break;
	case MW_EV_PTB_DROP:
		add(h, e->netns, fam, d, MK_PTB_DROP, ts, e->mtu ? e->mtu : e->size, e->aux,
		    (e->dir & 1) == MW_DIR_OUT ? BF_OUT : 0);
		break;
	case MW_EV_PTB_SENT:
		add(h, e->netns, e->family, d, MK_PTB_SENT, ts, e->mtu, 0, 0);
		break;
	case MW_EV_ENCAP_DROP:
		add(h, e->netns, e->family, d, MK_ENCAP, ts, e->size, 0, 0);
		break;
	case MW_EV_PROBE:
		if (e->mtu)
			add(h, e->netns, fam, d, MK_PROBE_OK, ts, e->mtu, e->aux2, e->dir);
		if (e->size)
			add(h, e->netns, fam, d, MK_PROBE_LOST, ts, e->size, e->aux2, e->dir);
		break;
	case MW_EV_ROUTE:
		route_add(h, e);
		break;
	default:
		break;
	}
}

void html_finding(const struct mw_finding *f, void *ctx)
{
	struct mw_html *h = ctx;
	struct mw_render r = { .all_netns = h->all_netns };
	struct hfinding *x;
	struct series *s;
	char *buf = NULL;
	size_t len = 0;

	s = series_get(h, f->netns, f->family, f->dst);
	if (s)
		s->finding = true;
	if (s && f->verdict == MW_V_PTB_IGNORED)
		add(h, f->netns, f->family, f->dst, MK_PTB_IGNORED, f->ts_ns, f->mtu,
		    f->ignore_reason, 0);
	if (h->nf == MAX_FINDINGS) {
		h->nf_more++;
		return;
	}
	if (!(h->nf & (h->nf - 1))) {
		struct hfinding *n = realloc(h->f, (h->nf ? h->nf * 2 : 16) * sizeof(*n));

		if (!n)
			return;
		h->f = n;
	}
	/* the line as `report` prints it: text_safe()d there, escaped for HTML when written */
	r.out = open_memstream(&buf, &len);
	if (!r.out)
		return;
	render_finding(f, &r);
	fclose(r.out);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = 0;
	x = &h->f[h->nf++];
	memset(x, 0, sizeof(*x));
	x->verdict = f->verdict;
	x->netns = f->netns;
	x->family = f->family;
	memcpy(x->dst, f->dst, addr_bytes(f->family));
	x->ts = f->ts_ns > h->origin ? f->ts_ns - h->origin : 0;
	x->mtu = f->mtu;
	x->lo = f->bracket_lo;
	x->hi = f->bracket_hi;
	x->confirmed = f->confirmed;
	x->ign = f->ignore_reason;
	memcpy(x->iface, f->iface, sizeof(x->iface));
	x->foreign = f->foreign_netns;
	x->ns = f->ns;
	x->line = buf;
}

/* ---- drawing ------------------------------------------------------------------------------- */


static const char css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
	"h1{font-size:1.4em;margin:0 0 .4em}h2{font-size:1.1em;margin:1.4em 0 .3em}"
	"table{border-collapse:collapse}td,th{padding:1px 10px 1px 0;text-align:left;"
	"vertical-align:top}th{font-weight:600}"
	"table.healthy td,table.healthy th{padding:1px 8px;border-bottom:1px solid #eee}"
	"table.healthy td.n{text-align:right}"
	"ol.findings li{margin:.3em 0}code{white-space:pre-wrap;font-size:12px}"
	".note{color:#666;font-size:12px}"
	"svg.timeline{display:block;width:100%;max-width:960px;height:auto;"
	"border:1px solid #ddd;background:#fdfdfd}"
	"svg text{font:10px sans-serif;fill:#444}svg .axis-title{font-size:11px;fill:#222}"
	".grid{stroke:#eee}.axis{stroke:#999}.lane{fill:#f2f2f2}"
	".sent{fill:#1f77b4}.sent.over{fill:#08306b}"
	".resend{fill:none;stroke:#d62728;stroke-width:1.6}.resend.nodf{stroke-dasharray:2 1}"
	".delivered{fill:#2ca02c}.recovered{fill:none;stroke:#2ca02c;stroke-width:1.6}"
	".received{fill:#9467bd}"
	".ptb.arrived{fill:#ff7f0e}.ptb.dropped{fill:#111}"
	".ptb.ignored{fill:none;stroke:#ff7f0e;stroke-width:1.6}.ptb.emitted{fill:#8c564b}"
	".encap-drop{fill:#e377c2}.probe.answered{fill:#17becf}"
	".probe.vanished{fill:none;stroke:#17becf;stroke-width:1.6}"
	".hs{fill:#555}.hs.in{fill:#bcbd22}.tcp-state{fill:#aaa}"
	".agg{fill-opacity:.75}"
	".route{fill:none;stroke:#9467bd;stroke-width:2;stroke-opacity:.8}"
	".bracket{stroke:#d62728;stroke-dasharray:6 3}.bracket-band{fill:#d62728;fill-opacity:.07}"
	".mtu.measured{stroke:#2ca02c;stroke-width:2}.mtu.learned{stroke:#2ca02c;"
	"stroke-dasharray:5 2}"
	".finding-at{stroke:#444;stroke-dasharray:1 3}"
	".line-label{font-size:10px}";

static const char *step_name(uint32_t s, char *buf, size_t len)
{
	switch (s) {
	case MW_HS_TLS_CLIENT_HELLO:
		return "ClientHello";
	case MW_HS_TLS_SERVER_HELLO:
		return "ServerHello";
	case MW_HS_TLS_CERTIFICATE:
		return "Certificate";
	case MW_HS_TLS_SERVER_KEX:
		return "ServerKeyExchange";
	case MW_HS_TLS_SERVER_DONE:
		return "ServerHelloDone";
	case MW_HS_TLS_CLIENT_KEX:
		return "ClientKeyExchange";
	case MW_HS_TLS_FINISHED:
		return "Finished";
	case MW_HS_TLS_CCS:
		return "ChangeCipherSpec";
	case MW_HS_TLS_APPDATA:
		return "application data";
	case MW_HS_SSH_IDENT:
		return "SSH identification";
	case MW_HS_SSH_KEXINIT:
		return "KEXINIT";
	case MW_HS_SSH_NEWKEYS:
		return "NEWKEYS";
	case MW_HS_SSH_KEX_INIT:
		return "KEX_ECDH_INIT";
	case MW_HS_SSH_KEX_REPLY:
		return "KEX_ECDH_REPLY";
	}
	if (s > MW_HS_SSH_BASE)
		snprintf(buf, len, "SSH message %u", s - MW_HS_SSH_BASE);
	else
		snprintf(buf, len, "TLS message %u", s);
	return buf;
}

static const char *tcp_state(uint32_t s)
{
	static const char *const n[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"NEW_SYN_RECV",
	};

	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static const char *probe_method(uint32_t m)
{
	static const char *const n[] = { "none", "icmp", "udp", "tcp_syn" };

	return m < 4 ? n[m] : "?";
}

/* A step of 1, 2 or 5 times a power of ten giving about n ticks over range. */
static double nice_step(double range, int n)
{
	double raw = range / n, p = 1;

	if (raw <= 0)
		return 1;
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	if (raw / p < 1.5)
		return p;
	if (raw / p < 3.5)
		return 2 * p;
	if (raw / p < 7.5)
		return 5 * p;
	return 10 * p;
}

struct scale {
	double span_s;		/* seconds across the plot */
	double ylo, yhi;
};

static double xs(const struct scale *sc, uint64_t t)
{
	double x = X0 + (t / 1e9) / sc->span_s * (X1 - X0);

	return x > X1 ? X1 : x;
}

static double ys(const struct scale *sc, double v)
{
	return Y1 - (v - sc->ylo) / (sc->yhi - sc->ylo) * (Y1 - Y0);
}

static bool same_path(const struct hfinding *f, const struct series *s)
{
	uint8_t d[16] = {};

	memcpy(d, f->dst, addr_bytes(f->family));
	return f->netns == s->netns && f->family == s->family && !memcmp(d, s->dst, 16);
}

static int by_kind_time(const void *a, const void *b)
{
	const struct bucket *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	return x->tmin < y->tmin ? -1 : x->tmin > y->tmin;
}

/* The detail of a mark: reason, step, method; into the title and a data attribute. */
static void mark_detail(struct mw_html *h, FILE *o, const struct bucket *b, bool attr)
{
	char buf[48];
	const char *n;

	switch (b->kind) {
	case MK_PTB_DROP:
		n = h->reason_name ? h->reason_name(b->sub, h->reason_ctx) : NULL;
		if (attr) {
			fputs(" data-reason=\"", o);
			if (n)
				esc(o, n, 64);
			else
				fprintf(o, "%u", b->sub);
			fprintf(o, "\" data-direction=\"%s\"", b->flags & BF_OUT ? "out" : "in");
		} else {
			fputs(", reason ", o);
			if (n)
				esc(o, n, 64);
			else
				fprintf(o, "%u", b->sub);
			if (b->flags & BF_OUT)
				fputs(", on its way out", o);
		}
		break;
	case MK_PTB_IGNORED:
		fprintf(o, attr ? " data-reason=\"%s\"" : ", %s", ignore_name(b->sub));
		break;
	case MK_HS:
		n = step_name(b->sub, buf, sizeof(buf));
		fprintf(o, attr ? " data-step=\"%s\"" : ", %s", n);
		if (!attr)
			fprintf(o, b->flags & BF_IN ? " (peer)" : " (this host)");
		break;
	case MK_TCP:
		fprintf(o, attr ? " data-step=\"%s\"" : ", %s", tcp_state(b->sub));
		break;
	case MK_PROBE_OK:
	case MK_PROBE_LOST:
		fprintf(o, attr ? " data-method=\"%s\"" : ", %s probe", probe_method(b->sub));
		break;
	case MK_RESEND:
		if (b->flags & BF_NODF && !attr)
			fputs(", without DF", o);
		break;
	default:
		break;
	}
}

static void mark(struct mw_html *h, FILE *o, const struct scale *sc, const struct bucket *b)
{
	double x = xs(sc, b->tmin / 2 + b->tmax / 2);
	double y = kinds[b->kind].lane ? LANE_Y : ys(sc, b->smin / 2.0 + b->smax / 2.0);
	double r = 3;
	const char *extra = "";

	for (uint32_t c = b->count; c > 1 && r < 8; c >>= 1)
		r += 0.7;
	if (b->kind == MK_RESEND && (b->flags & BF_NODF))
		extra = " nodf";
	else if (b->kind == MK_HS)
		extra = b->flags & BF_IN ? " in" : " out";
	switch (kinds[b->kind].shape) {
	case SH_DOT:
		fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", x, y, r);
		break;
	case SH_TRI_DOWN:
		fprintf(o, "<path d=\"M%.1f %.1fh%.1fl%.1f %.1fz\"", x - r, y - r, 2 * r, -r, 1.7 * r);
		break;
	case SH_TRI_UP:
		fprintf(o, "<path d=\"M%.1f %.1fh%.1fl%.1f %.1fz\"", x - r, y + r, 2 * r, -r, -1.7 * r);
		break;
	case SH_DIAMOND:
		fprintf(o, "<path d=\"M%.1f %.1fl%.1f %.1fl%.1f %.1fl%.1f %.1fz\"", x, y - r - 1, r + 1,
			r + 1, -r - 1, r + 1, -r - 1, -r - 1);
		break;
	case SH_SQUARE:
		fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x - r, y - r,
			2 * r, 2 * r);
		break;
	}
	fprintf(o, " class=\"mark %s%s%s\" data-t=\"%.3f\" data-size=\"%u\"", kinds[b->kind].cls,
		extra, b->count > 1 ? " agg" : "", b->tmin / 1e9, b->smin);
	if (b->smax != b->smin)
		fprintf(o, " data-size-max=\"%u\"", b->smax);
	fprintf(o, " data-count=\"%u\"", b->count);
	mark_detail(h, o, b, true);
	fprintf(o, "><title>%s", kinds[b->kind].label);
	if (b->count > 1)
		fprintf(o, ": %u events aggregated", b->count);
	if (!kinds[b->kind].lane) {
		fprintf(o, b->count > 1 ? ", " : ": ");
		if (b->smax != b->smin)
			fprintf(o, "%u-%u bytes", b->smin, b->smax);
		else
			fprintf(o, "%u bytes", b->smin);
	}
	mark_detail(h, o, b, false);
	if (b->tmax != b->tmin)
		fprintf(o, ", %.3f-%.3f s", b->tmin / 1e9, b->tmax / 1e9);
	else
		fprintf(o, ", %.3f s", b->tmin / 1e9);
	fprintf(o, "</title></%s>\n", kinds[b->kind].shape == SH_DOT ? "circle" :
				     kinds[b->kind].shape == SH_SQUARE ? "rect" : "path");
}

static void hline(FILE *o, const struct scale *sc, const char *cls, uint32_t v, const char *what)
{
	double y = ys(sc, v);

	fprintf(o, "<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" data-mtu=\"%u\">"
		"<title>%s %u</title></line>\n<text class=\"line-label\" x=\"%d\" y=\"%.1f\" "
		"text-anchor=\"end\">%s %u</text>\n", cls, X0, X1, y, y, v, what, v, X1 - 2, y - 3,
		what, v);
}

static void legend(FILE *o, const struct series *s, int *rows)
{
	double x = X0, y = LEG_Y;

	*rows = 1;
	for (int k = 0; k < MK_MAX; k++) {
		char label[96];
		int w;

		if (!s->kcount[k])
			continue;
		snprintf(label, sizeof(label), "%s (%llu)", kinds[k].label,
			 (unsigned long long)s->kcount[k]);
		w = 16 + 5.6 * strlen(label) + 14;
		if (x + w > X1 + 20) {
			x = X0;
			y += 18;
			(*rows)++;
		}
		fprintf(o, "<g class=\"legend-item\" data-kind=\"%s\" data-count=\"%llu\">", kinds[k].cls,
			(unsigned long long)s->kcount[k]);
		switch (kinds[k].shape) {
		case SH_DOT:
			fprintf(o, "<circle class=\"swatch %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>",
				kinds[k].cls, x + 5, y - 4);
			break;
		case SH_TRI_DOWN:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fh8l-4 7z\"/>", kinds[k].cls,
				x + 1, y - 8);
			break;
		case SH_TRI_UP:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fh8l-4 -7z\"/>", kinds[k].cls,
				x + 1, y);
			break;
		case SH_DIAMOND:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fl4 4l-4 4l-4 -4z\"/>",
				kinds[k].cls, x + 5, y - 9);
			break;
		case SH_SQUARE:
			fprintf(o, "<rect class=\"swatch %s\" x=\"%.1f\" y=\"%.1f\" width=\"8\" "
				"height=\"8\"/>", kinds[k].cls, x + 1, y - 8);
			break;
		}
		fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">%s</text></g>\n", x + 14, y, label);
		x += w;
	}
}

static void fmt_addr(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	fmt_ip(family, a, buf, len);
}

/* The path's name as report's lines give it: address, interface, namespace. */
static void path_title(FILE *o, const struct hfinding *f, const char *dst)
{
	esc0(o, dst);
	if (f && f->iface[0]) {
		fputs(" via ", o);
		esc(o, f->iface, sizeof(f->iface));
	}
	if (f && f->foreign) {
		if (f->ns.pod[0]) {
			fputs(" [pod ", o);
			esc(o, f->ns.pod, sizeof(f->ns.pod));
			fputc(']', o);
		} else if (f->ns.netns_name[0]) {
			fputs(" [netns ", o);
			esc(o, f->ns.netns_name, sizeof(f->ns.netns_name));
			fputc(']', o);
		} else {
			fprintf(o, " [netns %u]", f->netns);
		}
	}
}

static void timeline(struct mw_html *h, FILE *o, struct series *s, int id, uint64_t span_ns)
{
	struct scale sc = { .span_s = span_ns / 1e9 };
	const struct hfinding *first = NULL, *bh = NULL, *learned = NULL;
	struct bucket *m = NULL;
	uint32_t nm = 0, lane = 0, nagg = 0;
	double lo = 1e12, hi = -1, tick;
	char dst[64];
	int rows;

	fmt_addr(s->family, s->dst, dst, sizeof(dst));
	for (uint32_t i = 0; i < h->nf; i++) {
		const struct hfinding *f = &h->f[i];

		if (!same_path(f, s))
			continue;
		if (!first)
			first = f;
		if (f->verdict == MW_V_ICMP_BLACKHOLE)
			bh = f;		/* the last one: a confirmation updates the first */
		if (f->verdict == MW_V_PMTU_LEARNED)
			learned = f;
	}
	if (s->n)
		m = malloc(s->n * sizeof(*m));
	for (uint32_t i = 0; m && i < s->cap; i++) {
		if (!s->b[i].used)
			continue;
		m[nm++] = s->b[i];
		nagg += s->b[i].count > 1;
		if (kinds[s->b[i].kind].lane) {
			lane++;
			continue;
		}
		if (s->b[i].smin < lo)
			lo = s->b[i].smin;
		if (s->b[i].smax > hi)
			hi = s->b[i].smax;
	}
	if (m)
		qsort(m, nm, sizeof(*m), by_kind_time);
#define WIDEN(v) do { if ((v) && (v) < lo) lo = (v); if ((v) && (v) > hi) hi = (v); } while (0)
	if (bh) {
		WIDEN(bh->lo);
		WIDEN(bh->hi);
	}
	if (learned)
		WIDEN(learned->mtu);
	for (uint32_t i = 0; i < s->nroute; i++)
		WIDEN(s->route[i].mtu);
#undef WIDEN
	if (hi < 0) {
		lo = 1200;
		hi = 1500;
	}
	if (hi - lo < 200) {
		lo -= 100;
		hi += 100;
	}
	tick = nice_step(hi - lo, 5);
	sc.ylo = (long long)((lo - (hi - lo) * 0.05) / tick) * tick;
	if (sc.ylo < 0)
		sc.ylo = 0;
	sc.yhi = hi + (hi - lo) * 0.08;

	fprintf(o, "<section class=\"timeline-path\" id=\"path-%d\" data-prefix=\"", id);
	esc0(o, dst);
	fprintf(o, "\" data-netns=\"%u\">\n<h2>", s->netns);
	path_title(o, first, dst);
	fputs("</h2>\n<p class=\"verdicts\">", o);
	for (uint32_t i = 0, n = 0; i < h->nf; i++)
		if (same_path(&h->f[i], s))
			fprintf(o, "%s<span class=\"verdict\">%s</span> at %.3f s", n++ ? "; " : "",
				verdict_name(h->f[i].verdict), h->f[i].ts / 1e9);
	fputs("</p>\n", o);
	fprintf(o, "<p class=\"note agg-note\" data-events=\"%llu\" data-marks=\"%u\">%llu events "
		"drawn as %u marks", (unsigned long long)s->events, nm,
		(unsigned long long)s->events, nm);
	if (nagg)
		fprintf(o, " (%u aggregated: events within %.3f s and %u byte%s of size share a "
			"mark, drawn larger; its title and data-count give the count)", nagg,
			s->w / 1e9, s->q, s->q > 1 ? "s" : "");
	if (s->route_more)
		fprintf(o, "; %u more route MTU changes not drawn", s->route_more);
	fputs("</p>\n", o);

	/* legend first into a buffer: its rows set the height */
	{
		char *lb = NULL;
		size_t ll = 0;
		FILE *lf = open_memstream(&lb, &ll);

		rows = 1;
		if (lf) {
			legend(lf, s, &rows);
			fclose(lf);
		}
		fprintf(o, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
			"viewBox=\"0 0 %d %d\" role=\"img\">\n<g class=\"path\" data-prefix=\"",
			SVG_W, LEG_Y + rows * 18);
		esc0(o, dst);
		fputs("\">\n", o);
		/* lane, grid, axes */
		fprintf(o, "<rect class=\"lane\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">handshake</text>\n", X0,
			LANE_Y - 9, X1 - X0, X0 - 4, LANE_Y + 3);
		fputs("<g class=\"y-axis\">", o);
		for (double v = sc.ylo; v <= sc.yhi; v += tick) {
			double y = ys(&sc, v);

			fprintf(o, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
				"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>", X0, X1, y,
				y, X0 - 4, y + 3, v);
		}
		fprintf(o, "<text class=\"axis-title\" transform=\"translate(14 %d) rotate(-90)\" "
			"text-anchor=\"middle\">bytes</text></g>\n", (Y0 + Y1) / 2);
		tick = nice_step(sc.span_s, 8);
		fputs("<g class=\"x-axis\">", o);
		for (double t = 0; t <= sc.span_s * 1.0001; t += tick) {
			double x = X0 + t / sc.span_s * (X1 - X0);

			fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
				"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, x, Y0,
				Y1, x, Y1 + 14, t);
		}
		fprintf(o, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds "
			"from the recording's start</text></g>\n", X0, X1, Y1, Y1, (X0 + X1) / 2,
			Y1 + 30);
		/* what the findings say: bracket or measured MTU, learned MTU, when */
		if (bh && bh->confirmed && bh->lo) {
			hline(o, &sc, "mtu measured", bh->lo, "measured MTU");
		} else if (bh && bh->lo && bh->hi) {
			fprintf(o, "<rect class=\"bracket-band\" x=\"%d\" y=\"%.1f\" width=\"%d\" "
				"height=\"%.1f\"/>\n", X0, ys(&sc, bh->hi), X1 - X0,
				ys(&sc, bh->lo) - ys(&sc, bh->hi));
			hline(o, &sc, "bracket hi", bh->hi, "lost at");
			hline(o, &sc, "bracket lo", bh->lo, "got through at");
		} else if (bh && bh->hi) {
			hline(o, &sc, "bracket hi", bh->hi, "lost at");
		}
		if (learned)
			hline(o, &sc, "mtu learned", learned->mtu, "learned MTU");
		for (uint32_t i = 0; i < h->nf; i++) {
			const struct hfinding *f = &h->f[i];
			double x;

			if (!same_path(f, s))
				continue;
			x = xs(&sc, f->ts);
			fprintf(o, "<line class=\"finding-at\" data-verdict=\"%s\" x1=\"%.1f\" "
				"x2=\"%.1f\" y1=\"%d\" y2=\"%d\"><title>%s at %.3f s</title></line>\n",
				verdict_name(f->verdict), x, x, LANE_Y - 9, Y1,
				verdict_name(f->verdict), f->ts / 1e9);
		}
		/* the route MTU as a step line, each value until the next change */
		for (uint32_t i = 0; i < s->nroute; i++) {
			const struct route_chg *r = &s->route[i];
			uint64_t end = i + 1 < s->nroute ? s->route[i + 1].t : span_ns;

			if (!r->mtu)
				continue;
			fprintf(o, "<path class=\"route\" d=\"M%.1f %.1fH%.1f\" data-t=\"%.3f\" "
				"data-mtu=\"%u\"><title>route MTU %u%s%s, from %.3f s</title></path>\n",
				xs(&sc, r->t), ys(&sc, r->mtu), xs(&sc, end) + 1, r->t / 1e9, r->mtu,
				r->mtu, r->flags & MW_ROUTE_LEARNED ? " (learned exception)" : "",
				r->flags & MW_ROUTE_LOCKED ? " (locked)" : "", r->t / 1e9);
		}
		/* the marks, one group a kind */
		for (uint32_t i = 0; i < nm; i++) {
			if (!i || m[i].kind != m[i - 1].kind)
				fprintf(o, "%s<g class=\"series\" data-kind=\"%s\">\n", i ? "</g>\n" : "",
					kinds[m[i].kind].cls);
			mark(h, o, &sc, &m[i]);
		}
		if (nm)
			fputs("</g>\n", o);
		/* step names in the lane where they do not overlap */
		if (lane) {
			double next = 0;

			fputs("<g class=\"step-labels\">", o);
			for (uint32_t i = 0; i < nm; i++) {
				char buf[48];
				const char *n;
				double x;

				if (!kinds[m[i].kind].lane)
					continue;
				x = xs(&sc, m[i].tmin / 2 + m[i].tmax / 2);
				n = m[i].kind == MK_HS ? step_name(m[i].sub, buf, sizeof(buf)) :
							 tcp_state(m[i].sub);
				if (x < next || m[i].count > 1)
					continue;
				if (x > X1 - 100)	/* near the right edge: end there */
					fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">%s"
						"</text>", x - 5, LANE_Y - 11, n);
				else
					fprintf(o, "<text x=\"%.1f\" y=\"%d\">%s</text>", x + 5,
						LANE_Y - 11, n);
				next = x + 5 + 5.5 * strlen(n) + 4;
			}
			fputs("</g>\n", o);
		}
		fputs("<g class=\"legend\">\n", o);
		if (lb)
			fwrite(lb, 1, ll, o);
		free(lb);
		fputs("</g>\n</g>\n</svg>\n</section>\n", o);
	}
	free(m);
}

struct rows {
	FILE *o;
	int n;
};

static void healthy_row(const struct mw_path_summary *p, void *ctx)
{
	struct rows *r = ctx;
	FILE *o = r->o;
	char dst[64];

	if (p->verdict != MW_V_NONE)
		return;
	if (!r->n++)
		fputs("<table class=\"healthy\">\n<tr><th>destination</th><th>interface</th>"
		      "<th>namespace</th><th>max DF</th><th>re-sent</th><th>PTB in</th>"
		      "<th>PTB dropped</th><th>PTB sent</th><th>MTU</th></tr>\n", o);
	fmt_addr(p->family, p->dst, dst, sizeof(dst));
	fputs("<tr class=\"healthy-path\" data-prefix=\"", o);
	esc0(o, dst);
	fputs("\"><td>", o);
	esc0(o, dst);
	fputs("</td><td>", o);
	esc(o, p->iface, sizeof(p->iface));
	fputs("</td><td>", o);
	if (!p->foreign_netns)
		fputs("this host's", o);
	else if (p->ns.pod[0])
		esc(o, p->ns.pod, sizeof(p->ns.pod));
	else if (p->ns.netns_name[0])
		esc(o, p->ns.netns_name, sizeof(p->ns.netns_name));
	else
		fprintf(o, "%u", p->netns);
	fprintf(o, "</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%u</td>"
		"<td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">", p->max_df,
		p->retrans, p->ptb_rx, p->ptb_dropped, p->ptb_sent);
	if (p->pmtu)
		fprintf(o, "%u", p->pmtu);
	else
		fputs("-", o);
	fputs("</td></tr>\n", o);
}

static void meta_row(FILE *o, const char *name, const char *v, size_t max)
{
	fprintf(o, "<tr><th>%s</th><td>", name);
	if (v && *v)
		esc(o, v, max);
	else
		fputs("(not recorded)", o);
	fputs("</td></tr>\n", o);
}

int html_write(struct mw_html *h, struct mw_core *c, FILE *o, uint64_t lost,
	       uint64_t ptb_suppressed)
{
	uint64_t end = h->last_ts, span;
	struct rows rows = { .o = o };
	int drawn = 0, notdrawn = 0;

	/* the recorder's own end, when it is plausible: the timeline runs to where it stopped */
	if (h->end_ns > end && h->end_ns - end < 86400ULL * 1000000000ULL)
		end = h->end_ns;
	span = end > h->origin && h->origin ? end - h->origin : 0;
	if (span < 1000000000ULL)
		span = 1000000000ULL;	/* at least a second across */
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n<title>mtuwatch report: ", o);
	esc(o, h->host, sizeof(h->host));
	fprintf(o, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>mtuwatch report: "
		"<span class=\"host\">", css);
	esc(o, h->host, sizeof(h->host));
	fputs("</span></h1>\n<table class=\"meta\">\n", o);
	meta_row(o, "host", h->host, sizeof(h->host));
	meta_row(o, "kernel", h->kernel, sizeof(h->kernel));
	meta_row(o, "recorded by", h->tool, sizeof(h->tool));
	fputs("<tr><th>recording</th><td class=\"span\">", o);
	if (h->have_base && h->origin) {
		time_t t = (time_t)((int64_t)(h->origin / 1000000000ULL) +
				    h->time_base / 1000000000LL);
		struct tm tm;
		char when[64];

		if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
			fprintf(o, "from %s, ", when);
	}
	fprintf(o, "%.3f s (%llu events", (end > h->origin ? end - h->origin : 0) / 1e9,
		(unsigned long long)h->events);
	fprintf(o, ", %llu lost, %llu Packet Too Big suppressed)</td></tr>\n",
		(unsigned long long)lost, (unsigned long long)ptb_suppressed);
	fprintf(o, "<tr><th>namespaces</th><td>%s</td></tr>\n", h->all_netns ? "all" :
		"the recorder's own");
	fputs("<tr><th>interfaces</th><td><ul class=\"ifaces\">", o);
	for (int i = 0; i < h->nifaces; i++) {
		fputs("<li>", o);
		esc(o, h->ifaces[i], sizeof(h->ifaces[i]));
		fputs("</li>", o);
	}
	fputs("</ul></td></tr>\n</table>\n", o);
	fprintf(o, "<h2>Findings (%u)</h2>\n", h->nf + h->nf_more);
	if (!h->nf)
		fputs("<p class=\"none\">no finding</p>\n", o);
	else
		fputs("<ol class=\"findings\">\n", o);
	for (uint32_t i = 0; i < h->nf; i++) {
		char dst[64];

		fmt_addr(h->f[i].family, h->f[i].dst, dst, sizeof(dst));
		fprintf(o, "<li class=\"finding\" data-verdict=\"%s\" data-prefix=\"",
			verdict_name(h->f[i].verdict));
		esc0(o, dst);
		fputs("\"><code>", o);
		esc0(o, h->f[i].line);
		fputs("</code></li>\n", o);
	}
	if (h->nf)
		fputs("</ol>\n", o);
	if (h->nf_more)
		fprintf(o, "<p class=\"note\">%u more findings not listed</p>\n", h->nf_more);
	fputs("</header>\n<main>\n", o);
	/* in the order of their first finding; then any whose findings were not listed */
	for (uint32_t i = 0; i <= h->nf; i++) {
		for (int j = 0; j < MAX_SERIES; j++) {
			struct series *s = &h->s[j];

			if (!s->used || !s->finding || s->drawn ||
			    (i < h->nf && !same_path(&h->f[i], s)))
				continue;
			s->drawn = true;
			if (drawn == MAX_DRAWN)
				notdrawn++;
			else
				timeline(h, o, s, drawn++, span);
		}
	}
	if (notdrawn)
		fprintf(o, "<p class=\"note\">%d more paths with findings not drawn</p>\n", notdrawn);
	if (h->untracked)
		fprintf(o, "<p class=\"note\">%llu events of paths past the %d kept are not drawn"
			"</p>\n", (unsigned long long)h->untracked, MAX_SERIES);
	fputs("<h2>Healthy paths</h2>\n", o);
	if (c)
		core_paths(c, healthy_row, &rows);
	if (rows.n)
		fputs("</table>\n", o);
	else
		fputs("<p class=\"none\">no path without a finding showed retransmissions or Packet "
		      "Too Big</p>\n", o);
	fputs("</main>\n</body>\n</html>\n", o);
	fflush(o);
	return ferror(o) ? -1 : 0;
}
