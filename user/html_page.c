// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `report --html` (html.h), drawing: the page from what html.c collected. A header (host,
 * kernel, interfaces, span, each finding's line as report prints it), one SVG timeline per path
 * with a finding (marks by kind, the findings' lines, the route MTU, a legend with counts),
 * the healthy paths in a table. Every string of the recording goes through html_esc(); every
 * attribute is double-quoted; the page allows no script and no fetch (its CSP).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "html_int.h"

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
	".ptb.arrived{fill:#ff7f0e}.ptb.dropped{fill:none;stroke:#111;stroke-width:2}"
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
	double y = Y1 - (v - sc->ylo) / (sc->yhi - sc->ylo) * (Y1 - Y0);

	return y > Y1 ? Y1 : y;	/* a size of 0 (none given) sits on the axis */
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
				html_esc(o, n, 64);
			else
				fprintf(o, "%u", b->sub);
			fprintf(o, "\" data-direction=\"%s\"", b->flags & BF_OUT ? "out" : "in");
		} else {
			fputs(", reason ", o);
			if (n)
				html_esc(o, n, 64);
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
	double y = html_kinds[b->kind].lane ? LANE_Y : ys(sc, b->smin / 2.0 + b->smax / 2.0);
	double r = 3;
	const char *extra = "";

	for (uint32_t c = b->count; c > 1 && r < 8; c >>= 1)
		r += 0.7;
	if (b->kind == MK_RESEND && (b->flags & BF_NODF))
		extra = " nodf";
	else if (b->kind == MK_HS)
		extra = b->flags & BF_IN ? " in" : " out";
	switch (html_kinds[b->kind].shape) {
	case SH_DOT:
		fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", x, y, r);
		break;
	case SH_TRI_DOWN:
		fprintf(o, "<path d=\"M%.1f %.1fh%.1fl%.1f %.1fz\"", x - r, y - r, 2 * r, -r,
			1.7 * r);
		break;
	case SH_TRI_UP:
		fprintf(o, "<path d=\"M%.1f %.1fh%.1fl%.1f %.1fz\"", x - r, y + r, 2 * r, -r,
			-1.7 * r);
		break;
	case SH_DIAMOND:
		fprintf(o, "<path d=\"M%.1f %.1fl%.1f %.1fl%.1f %.1fl%.1f %.1fz\"", x, y - r - 1,
			r + 1, r + 1, -r - 1, r + 1, -r - 1, -r - 1);
		break;
	case SH_SQUARE:
		fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x - r,
			y - r, 2 * r, 2 * r);
		break;
	case SH_CROSS:	/* over the arrival of the same PTB, which stays visible under it */
		fprintf(o, "<path d=\"M%.1f %.1fl%.1f %.1fm0 %.1fl%.1f %.1f\"", x - r, y - r, 2 * r,
			2 * r, -2 * r, -2 * r, 2 * r);
		break;
	}
	fprintf(o, " class=\"mark %s%s%s\" data-t=\"%.3f\" data-size=\"%u\"",
		html_kinds[b->kind].cls, extra, b->count > 1 ? " agg" : "", b->tmin / 1e9, b->smin);
	if (b->smax != b->smin)
		fprintf(o, " data-size-max=\"%u\"", b->smax);
	fprintf(o, " data-count=\"%u\"", b->count);
	mark_detail(h, o, b, true);
	fprintf(o, "><title>%s", html_kinds[b->kind].label);
	if (b->count > 1)
		fprintf(o, ": %u events aggregated", b->count);
	if (!html_kinds[b->kind].lane) {
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
	fprintf(o, "</title></%s>\n", html_kinds[b->kind].shape == SH_DOT ? "circle" :
				     html_kinds[b->kind].shape == SH_SQUARE ? "rect" : "path");
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
		snprintf(label, sizeof(label), "%s (%llu)", html_kinds[k].label,
			 (unsigned long long)s->kcount[k]);
		w = 16 + 5.6 * strlen(label) + 14;
		if (x + w > X1 + 20) {
			x = X0;
			y += 18;
			(*rows)++;
		}
		fprintf(o, "<g class=\"legend-item\" data-kind=\"%s\" data-count=\"%llu\">",
			html_kinds[k].cls, (unsigned long long)s->kcount[k]);
		switch (html_kinds[k].shape) {
		case SH_DOT:
			fprintf(o, "<circle class=\"swatch %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>",
				html_kinds[k].cls, x + 5, y - 4);
			break;
		case SH_TRI_DOWN:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fh8l-4 7z\"/>",
				html_kinds[k].cls, x + 1, y - 8);
			break;
		case SH_TRI_UP:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fh8l-4 -7z\"/>",
				html_kinds[k].cls, x + 1, y);
			break;
		case SH_DIAMOND:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fl4 4l-4 4l-4 -4z\"/>",
				html_kinds[k].cls, x + 5, y - 9);
			break;
		case SH_SQUARE:
			fprintf(o, "<rect class=\"swatch %s\" x=\"%.1f\" y=\"%.1f\" width=\"8\" "
				"height=\"8\"/>", html_kinds[k].cls, x + 1, y - 8);
			break;
		case SH_CROSS:
			fprintf(o, "<path class=\"swatch %s\" d=\"M%.1f %.1fl8 8m0 -8l-8 8\"/>",
				html_kinds[k].cls, x + 1, y - 8);
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
	html_esc0(o, dst);
	if (f && f->iface[0]) {
		fputs(" via ", o);
		html_esc(o, f->iface, sizeof(f->iface));
	}
	if (f && f->foreign) {
		if (f->ns.pod[0]) {
			fputs(" [pod ", o);
			html_esc(o, f->ns.pod, sizeof(f->ns.pod));
			fputc(']', o);
		} else if (f->ns.netns_name[0]) {
			fputs(" [netns ", o);
			html_esc(o, f->ns.netns_name, sizeof(f->ns.netns_name));
			fputc(']', o);
		} else {
			fprintf(o, " [netns %u]", f->netns);
		}
	}
}

/* One timeline being drawn: the path, its marks sorted by kind and time, its findings. */
struct tl {
	struct mw_html *h;
	FILE *o;
	struct series *s;
	struct scale sc;
	uint64_t span_ns;
	struct bucket *m;
	uint32_t nm, lane, nagg;
	const struct hfinding *first, *bh, *learned;
	char dst[64];
};

/* The path's findings that draw something, and its buckets sorted by kind, then time. */
static void tl_collect(struct tl *t)
{
	struct series *s = t->s;

	for (uint32_t i = 0; i < t->h->nf; i++) {
		const struct hfinding *f = &t->h->f[i];

		if (!html_same_path(f, s))
			continue;
		if (!t->first)
			t->first = f;
		if (f->verdict == MW_V_ICMP_BLACKHOLE)
			t->bh = f;	/* the last one: a confirmation updates the first */
		if (f->verdict == MW_V_PMTU_LEARNED)
			t->learned = f;
	}
	if (s->n)
		t->m = malloc(s->n * sizeof(*t->m));
	for (uint32_t i = 0; t->m && i < s->cap; i++) {
		if (!s->b[i].used)
			continue;
		t->m[t->nm++] = s->b[i];
		t->nagg += s->b[i].count > 1;
		t->lane += html_kinds[s->b[i].kind].lane;
	}
	if (t->m)
		qsort(t->m, t->nm, sizeof(*t->m), by_kind_time);
}

static void widen(double *lo, double *hi, double v)
{
	if (!v)
		return;
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* The size axis: every mark's size and every line's value, with a margin; the tick step. */
static double tl_scale(struct tl *t)
{
	double lo = 1e12, hi = -1, tick;

	for (uint32_t i = 0; i < t->nm; i++) {
		if (html_kinds[t->m[i].kind].lane)
			continue;
		widen(&lo, &hi, t->m[i].smin);
		widen(&lo, &hi, t->m[i].smax);
	}
	if (t->bh) {
		widen(&lo, &hi, t->bh->lo);
		widen(&lo, &hi, t->bh->hi);
	}
	if (t->learned)
		widen(&lo, &hi, t->learned->mtu);
	for (uint32_t i = 0; i < t->s->nroute; i++)
		widen(&lo, &hi, t->s->route[i].mtu);
	if (hi < 0) {
		lo = 1200;
		hi = 1500;
	}
	if (hi - lo < 200) {
		lo -= 100;
		hi += 100;
	}
	tick = nice_step(hi - lo, 5);
	t->sc.ylo = (long long)((lo - (hi - lo) * 0.05) / tick) * tick;
	if (t->sc.ylo < 0)
		t->sc.ylo = 0;
	t->sc.yhi = hi + (hi - lo) * 0.08;
	return tick;
}

/* The section's heading: the path, its verdicts and when, how much was aggregated. */
static void tl_heading(struct tl *t, int id)
{
	struct series *s = t->s;
	FILE *o = t->o;

	fprintf(o, "<section class=\"timeline-path\" id=\"path-%d\" data-prefix=\"", id);
	html_esc0(o, t->dst);
	fprintf(o, "\" data-netns=\"%u\">\n<h2>", s->netns);
	path_title(o, t->first, t->dst);
	fputs("</h2>\n<p class=\"verdicts\">", o);
	for (uint32_t i = 0, n = 0; i < t->h->nf; i++)
		if (html_same_path(&t->h->f[i], s))
			fprintf(o, "%s<span class=\"verdict\">%s</span> at %.3f s", n++ ? "; " : "",
				verdict_name(t->h->f[i].verdict), t->h->f[i].ts / 1e9);
	fputs("</p>\n", o);
	fprintf(o, "<p class=\"note agg-note\" data-events=\"%llu\" data-marks=\"%u\">%llu events "
		"drawn as %u marks", (unsigned long long)s->events, t->nm,
		(unsigned long long)s->events, t->nm);
	if (t->nagg)
		fprintf(o, " (%u aggregated: events within %.3f s and %u byte%s of size share a "
			"mark, drawn larger; its title and data-count give the count)", t->nagg,
			s->w / 1e9, s->q, s->q > 1 ? "s" : "");
	if (s->route_more)
		fprintf(o, "; %u more route MTU changes not drawn", s->route_more);
	fputs("</p>\n", o);
}

/* The handshake lane, the grid and both axes. */
static void tl_axes(struct tl *t, double tick)
{
	const struct scale *sc = &t->sc;
	FILE *o = t->o;

	fprintf(o, "<rect class=\"lane\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\"/>"
		"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">handshake</text>\n", X0, LANE_Y - 9,
		X1 - X0, X0 - 4, LANE_Y + 3);
	fputs("<g class=\"y-axis\">", o);
	for (double v = sc->ylo; v <= sc->yhi; v += tick) {
		double y = ys(sc, v);

		fprintf(o, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>", X0, X1, y, y,
			X0 - 4, y + 3, v);
	}
	fprintf(o, "<text class=\"axis-title\" transform=\"translate(14 %d) rotate(-90)\" "
		"text-anchor=\"middle\">bytes</text></g>\n", (Y0 + Y1) / 2);
	tick = nice_step(sc->span_s, 8);
	fputs("<g class=\"x-axis\">", o);
	for (double s = 0; s <= sc->span_s * 1.0001; s += tick) {
		double x = X0 + s / sc->span_s * (X1 - X0);

		fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", x, x, Y0, Y1,
			x, Y1 + 14, s);
	}
	fprintf(o, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
		"<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds from "
		"the recording's start</text></g>\n", X0, X1, Y1, Y1, (X0 + X1) / 2, Y1 + 30);
}

/* What the findings say: the bracket or the measured MTU, a learned MTU, when each came. */
static void tl_findings(struct tl *t)
{
	const struct hfinding *bh = t->bh;
	const struct scale *sc = &t->sc;
	FILE *o = t->o;

	if (bh && bh->confirmed && bh->lo) {
		hline(o, sc, "mtu measured", bh->lo, "measured MTU");
	} else if (bh && bh->lo && bh->hi) {
		fprintf(o, "<rect class=\"bracket-band\" x=\"%d\" y=\"%.1f\" width=\"%d\" "
			"height=\"%.1f\"/>\n", X0, ys(sc, bh->hi), X1 - X0,
			ys(sc, bh->lo) - ys(sc, bh->hi));
		hline(o, sc, "bracket hi", bh->hi, "lost at");
		hline(o, sc, "bracket lo", bh->lo, "got through at");
	} else if (bh && bh->hi) {
		hline(o, sc, "bracket hi", bh->hi, "lost at");
	}
	if (t->learned)
		hline(o, sc, "mtu learned", t->learned->mtu, "learned MTU");
	for (uint32_t i = 0; i < t->h->nf; i++) {
		const struct hfinding *f = &t->h->f[i];
		double x;

		if (!html_same_path(f, t->s))
			continue;
		x = xs(sc, f->ts);
		fprintf(o, "<line class=\"finding-at\" data-verdict=\"%s\" x1=\"%.1f\" x2=\"%.1f\" "
			"y1=\"%d\" y2=\"%d\"><title>%s at %.3f s</title></line>\n",
			verdict_name(f->verdict), x, x, LANE_Y - 9, Y1, verdict_name(f->verdict),
			f->ts / 1e9);
	}
}

/* The route MTU as a step line: each value read back until the next change. */
static void tl_route(struct tl *t)
{
	const struct series *s = t->s;

	for (uint32_t i = 0; i < s->nroute; i++) {
		const struct route_chg *r = &s->route[i];
		uint64_t end = i + 1 < s->nroute ? s->route[i + 1].t : t->span_ns;

		if (!r->mtu)
			continue;
		fprintf(t->o, "<path class=\"route\" d=\"M%.1f %.1fH%.1f\" data-t=\"%.3f\" "
			"data-mtu=\"%u\"><title>route MTU %u%s%s, from %.3f s</title></path>\n",
			xs(&t->sc, r->t), ys(&t->sc, r->mtu), xs(&t->sc, end) + 1, r->t / 1e9,
			r->mtu, r->mtu, r->flags & MW_ROUTE_LEARNED ? " (learned exception)" : "",
			r->flags & MW_ROUTE_LOCKED ? " (locked)" : "", r->t / 1e9);
	}
}

/* The marks, one group a kind; then the lane's step names where they do not overlap. */
static void tl_marks(struct tl *t)
{
	FILE *o = t->o;
	double next = 0;

	for (uint32_t i = 0; i < t->nm; i++) {
		if (!i || t->m[i].kind != t->m[i - 1].kind)
			fprintf(o, "%s<g class=\"series\" data-kind=\"%s\">\n", i ? "</g>\n" : "",
				html_kinds[t->m[i].kind].cls);
		mark(t->h, o, &t->sc, &t->m[i]);
	}
	if (t->nm)
		fputs("</g>\n", o);
	if (!t->lane)
		return;
	fputs("<g class=\"step-labels\">", o);
	for (uint32_t i = 0; i < t->nm; i++) {
		const struct bucket *b = &t->m[i];
		char buf[48];
		const char *n;
		double x;

		if (!html_kinds[b->kind].lane || b->count > 1)
			continue;
		x = xs(&t->sc, b->tmin / 2 + b->tmax / 2);
		if (x < next)
			continue;
		n = b->kind == MK_HS ? step_name(b->sub, buf, sizeof(buf)) : tcp_state(b->sub);
		if (x > X1 - 100)	/* near the right edge: end there */
			fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">%s</text>", x - 5,
				LANE_Y - 11, n);
		else
			fprintf(o, "<text x=\"%.1f\" y=\"%d\">%s</text>", x + 5, LANE_Y - 11, n);
		next = x + 5 + 5.5 * strlen(n) + 4;
	}
	fputs("</g>\n", o);
}

static void timeline(struct mw_html *h, FILE *o, struct series *s, int id, uint64_t span_ns)
{
	struct tl t = { .h = h, .o = o, .s = s, .sc.span_s = span_ns / 1e9, .span_ns = span_ns };
	char *lb = NULL;
	size_t ll = 0;
	FILE *lf;
	double tick;
	int rows = 1;

	fmt_addr(s->family, s->dst, t.dst, sizeof(t.dst));
	tl_collect(&t);
	tick = tl_scale(&t);
	tl_heading(&t, id);
	/* the legend first, into a buffer: its rows set the height */
	lf = open_memstream(&lb, &ll);
	if (lf) {
		legend(lf, s, &rows);
		fclose(lf);
	}
	fprintf(o, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
		"%d\" role=\"img\">\n<g class=\"path\" data-prefix=\"", SVG_W, LEG_Y + rows * 18);
	html_esc0(o, t.dst);
	fputs("\">\n", o);
	tl_axes(&t, tick);
	tl_findings(&t);
	tl_route(&t);
	tl_marks(&t);
	fputs("<g class=\"legend\">\n", o);
	if (lf)
		fwrite(lb, 1, ll, o);
	free(lb);
	fputs("</g>\n</g>\n</svg>\n</section>\n", o);
	free(t.m);
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
	html_esc0(o, dst);
	fputs("\"><td>", o);
	html_esc0(o, dst);
	fputs("</td><td>", o);
	html_esc(o, p->iface, sizeof(p->iface));
	fputs("</td><td>", o);
	if (!p->foreign_netns)
		fputs("this host's", o);
	else if (p->ns.pod[0])
		html_esc(o, p->ns.pod, sizeof(p->ns.pod));
	else if (p->ns.netns_name[0])
		html_esc(o, p->ns.netns_name, sizeof(p->ns.netns_name));
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
		html_esc(o, v, max);
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
	html_esc(o, h->host, sizeof(h->host));
	fprintf(o, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>mtuwatch report: "
		"<span class=\"host\">", css);
	html_esc(o, h->host, sizeof(h->host));
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
		html_esc(o, h->ifaces[i], sizeof(h->ifaces[i]));
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
		html_esc0(o, dst);
		fputs("\"><code>", o);
		html_esc0(o, h->f[i].line);
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
			    (i < h->nf && !html_same_path(&h->f[i], s)))
				continue;
			s->drawn = true;
			if (drawn == MAX_DRAWN)
				notdrawn++;
			else
				timeline(h, o, s, drawn++, span);
		}
	}
	if (notdrawn)
		fprintf(o, "<p class=\"note\">%d more paths with findings not drawn</p>\n",
			notdrawn);
	if (h->untracked)
		fprintf(o, "<p class=\"note\">%llu events of paths past the %d kept are not drawn"
			"</p>\n", (unsigned long long)h->untracked, MAX_SERIES);
	fputs("<h2>Healthy paths</h2>\n", o);
	if (c)
		core_paths(c, healthy_row, &rows);
	if (rows.n)
		fputs("</table>\n", o);
	else
		fputs("<p class=\"none\">no path without a finding showed retransmissions or "
		      "Packet Too Big</p>\n", o);
	fputs("</main>\n</body>\n</html>\n", o);
	fflush(o);
	return ferror(o) ? -1 : 0;
}
