// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `report --html` (html.h), collecting: the replay's META pairs, events and findings into
 * per-path series that html_page.c draws as SVG timelines under the findings the core gave.
 * Nothing here judges: marks are what the events say, the lines (bracket, measured MTU) and
 * "ignored" marks are what the findings say.
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
#include "html_int.h"
#include "json.h"	/* utf8_seq() */
#include "render.h"	/* render_finding(): the finding's line as report prints it */

/* Each kind: the classes of its marks (the stylesheet draws them), its legend, its shape. */
const struct html_kind html_kinds[MK_MAX] = {
	{ "sent", "DF segment sent (new largest)", SH_DOT, false },
	{ "sent over", "DF segment over the known path MTU", SH_DOT, false },
	{ "resend", "re-sent", SH_DOT, false },
	{ "delivered", "delivered (acknowledged)", SH_DOT, false },
	{ "recovered", "re-sent segment acknowledged", SH_DOT, false },
	{ "received", "largest segment received", SH_DOT, false },
	{ "ptb arrived", "Packet Too Big arrived (its MTU)", SH_TRI_DOWN, false },
	{ "ptb dropped", "Packet Too Big dropped here", SH_CROSS, false },
	{ "ptb ignored", "Packet Too Big ignored", SH_TRI_DOWN, false },
	{ "ptb emitted", "Packet Too Big sent by this host", SH_TRI_UP, false },
	{ "encap-drop", "overlay packet too big", SH_SQUARE, false },
	{ "probe answered", "probe: largest size answered", SH_DIAMOND, false },
	{ "probe vanished", "probe: smallest size lost", SH_DIAMOND, false },
	{ "hs", "handshake step", SH_SQUARE, true },
	{ "tcp-state", "TCP state", SH_SQUARE, true },
};

/* ---- escaping ------------------------------------------------------------------------------ */

/*
 * A string from the recording into HTML text or a double-quoted attribute: at most max bytes,
 * markup characters as entities, control bytes (C0, DEL, C1) and invalid UTF-8 as visible
 * \xNN / \u00NN (as text_safe() writes them for a terminal), valid UTF-8 kept.
 */
void html_esc(FILE *o, const char *s, size_t max)
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

void html_esc0(FILE *o, const char *s)
{
	html_esc(o, s, 4096);
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
	for (int i = 0; i < MAX_SERIES; i++) {
		free(h->s[i].b);
		free(h->s[i].route);
	}
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

/* Is finding f of series s's path (the core's key: namespace, family, destination)? */
bool html_same_path(const struct hfinding *f, const struct series *s)
{
	uint8_t d[16] = {};

	memcpy(d, f->dst, addr_bytes(f->family));
	return f->netns == s->netns && f->family == s->family && !memcmp(d, s->dst, 16);
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
		free(s->route);
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
		b.row = html_kinds[b.kind].lane ? 0 : b.smin / s->q;
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
	if (!html_kinds[kind].lane) {
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
	b.row = html_kinds[kind].lane ? 0 : size / s->q;
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
	if (s->nroute == s->route_cap) {
		uint32_t cap = s->route_cap ? s->route_cap * 2 : 8;
		struct route_chg *n = realloc(s->route, cap * sizeof(*n));

		if (!n)
			return;
		s->route = n;
		s->route_cap = cap;
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
		uint32_t steps[4] = { e->aux & 0xffff, e->aux >> 16,
				      e->mtu & 0xffff, e->mtu >> 16 };

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
	if (h->nf == h->fcap) {
		uint32_t cap = h->fcap ? h->fcap * 2 : 16;
		struct hfinding *n = realloc(h->f, cap * sizeof(*n));

		if (!n)
			return;
		h->f = n;
		h->fcap = cap;
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
