// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for everything past the container: decoded events, as `report` hands
 * them over (any bytes, strings without a NUL, unknown types), go through the diagnosis core
 * and every renderer: plain and JSON findings, raw events (plain and JSON), the summary, the
 * Prometheus exposition and the `report --html` page. Besides the sanitizers, it aborts when
 * output breaks a promise: plain output carries no control byte but newline, JSON and metrics
 * are valid UTF-8 and one JSON object per line, the page has no control byte either and
 * every '<' in it opens one of the renderer's own elements.
 *
 * Input: an 8-byte header (flags, stall timer, self netns) then struct mw_event after
 * struct mw_event, each copied from the input as report copies it from a record (a short
 * last one is zero-filled); one of type 17 is also fed as another namespace's names.
 *
 * Built with -DFUZZ_REPLAY_MAIN and linked with tests/fuzz/replay_main.c it is a plain program
 * that runs the files named on its command line (directories one level deep) through the same
 * target: make check replays the seed corpus this way, with or without libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "html.h"
#include "metrics.h"
#include "reasons.h"
#include "render.h"

#define FZ_ALL_NETNS 0x01
#define FZ_NO_SELF 0x02

/* Drop reason names as hostile as a recording can make them (META drop_reason.N). */
static const char *const bad_reasons[] = {
	"NETFILTER_DROP",
	"\x1b]0;owned\x07\x1b[2J",
	"\xff\xfe\xc3(\xed\xa0\x80",
	"A_REASON_NAME_LONGER_THAN_THE_SIXTY_FOUR_BYTES_A_FINDING_KEEPS_FOR_IT_XXXXXXXX",
	"quote\" back\\slash\nnewline",
	"",
};

static const char *reason_name(uint32_t v, void *ctx)
{
	(void)ctx;
	return v < sizeof(bad_reasons) / sizeof(bad_reasons[0]) ? bad_reasons[v] : NULL;
}

struct sink {
	char *buf;
	size_t len;
	FILE *f;
};

static void sink_open(struct sink *s)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	if (!s->f)
		abort();
}

static void sink_close(struct sink *s)
{
	fclose(s->f);
	s->f = NULL;
}

/* Valid UTF-8 throughout; with plain set, no C0/C1 control or DEL but '\n'. */
static void check_text(const char *b, size_t len, bool plain)
{
	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_seq(b + i, len - i);
		if (!k)
			abort();
		if (!plain)
			continue;
		if (k == 1 && (((unsigned char)b[i] < 0x20 && b[i] != '\n') || b[i] == 0x7f))
			abort();
		if (k == 2 && (unsigned char)b[i] == 0xc2 && (unsigned char)b[i + 1] < 0xa0)
			abort();
	}
}

/* NDJSON: every line an object, no raw control byte inside. */
static void check_json(const char *b, size_t len)
{
	check_text(b, len, false);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(b + i, '\n', len - i);

		if (!nl || b[i] != '{' || nl[-1] != '}')
			abort();
		for (const char *p = b + i; p < nl; p++)
			if ((unsigned char)*p < 0x20)
				abort();
		i = nl - b + 1;
	}
}

struct run {
	struct mw_render plain, json;
	struct mw_html *html;
};

static void both(const struct mw_finding *f, void *ctx)
{
	struct run *r = ctx;

	render_finding(f, &r->plain);
	render_finding(f, &r->json);
	html_finding(f, r->html);
}

/* The page: plain text's promise, whole, and no element but the renderer's own. */
static void check_html(const char *b, size_t len)
{
	static const char *const tags[] = {
		"!DOCTYPE html>", "html", "head", "meta", "title", "style", "body", "header", "main",
		"section", "h1", "h2", "p ", "p>", "span", "code", "ol", "ul", "li", "table", "tr",
		"th", "td", "svg", "g ", "g>", "rect", "circle", "path", "line", "text",
	};

	check_text(b, len, true);
	if (len < 8 || memcmp(b + len - 8, "</html>\n", 8))
		abort();
	for (const char *p = b; (p = memchr(p, '<', len - (p - b))); ) {
		bool ok = false;

		p += p[1] == '/' ? 2 : 1;
		for (size_t i = 0; !ok && i < sizeof(tags) / sizeof(tags[0]); i++)
			ok = !strncmp(p, tags[i], strlen(tags[i]));
		if (!ok)
			abort();
	}
}

/*
 * Type 17 (no event has it) stands for a names record (MW_REC_NSNAME) made of the event's
 * bytes: names without a NUL, control bytes and bad UTF-8, as a hostile file has them.
 */
#define FZ_NSNAME 17
static void feed_names(struct mw_core *c, const struct mw_event *e)
{
	struct mw_nsname n;

	memset(&n, 'x', sizeof(n));
	n.ts_ns = e->ts_ns;
	n.netns = e->netns;
	n.flags = 0;
	memcpy(&n.cookie, e->peer, sizeof(n.cookie));
	memcpy(n.netns_name, e, sizeof(*e) < sizeof(n.netns_name) ? sizeof(*e) :
	       sizeof(n.netns_name));
	memcpy(n.pod, e->ifname, sizeof(e->ifname));
	memcpy(n.container, &e->flow, sizeof(e->flow));
	core_ns_names(c, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink sp, sj, rp, rj;
	struct run run = {};
	struct mw_core_opts o = {};
	struct mw_metric_stat stats[4] = {};
	struct mw_metric_attach att[1] = {};
	struct mw_metrics_in in = {};
	struct mw_core *c;
	struct mw_render raw_plain = {}, raw_json = { .json = true };
	char *body = NULL;
	size_t blen = 0, nstats = 0;

	if (size < 8)
		return 0;
	o.all_netns = data[0] & FZ_ALL_NETNS;
	o.stall_after_s = data[1] % 16;
	if (!(data[0] & FZ_NO_SELF))
		memcpy(&o.self_netns, data + 4, 4);
	o.reason_name = reason_name;
	o.on_finding = both;
	o.ctx = &run;
	c = core_new(&o);
	if (!c)
		return 0;
	run.html = html_new(reason_name, NULL);
	if (!run.html)
		abort();
	sink_open(&sp);
	sink_open(&sj);
	sink_open(&rp);
	sink_open(&rj);
	run.plain = (struct mw_render){ .out = sp.f, .all_netns = o.all_netns };
	run.json = (struct mw_render){ .out = sj.f, .json = true, .all_netns = o.all_netns };
	raw_plain.out = rp.f;
	raw_json.out = rj.f;

	for (size_t off = 8; off < size; off += sizeof(struct mw_event)) {
		struct mw_event e = {};
		size_t n = size - off < sizeof(e) ? size - off : sizeof(e);

		memcpy(&e, data + off, n);
		render_event_raw(&raw_plain, &e);
		render_event_raw(&raw_json, &e);
		if (e.type == FZ_NSNAME)
			feed_names(c, &e);
		html_event(run.html, &e);
		core_feed(c, &e);
		/* the exporter's counters carry kernel interface names too */
		if (nstats < 4 && e.type == MW_EV_IFACE) {
			struct mw_metric_stat *s = &stats[nstats];
			const char *rn;

			s->kind = 1 + e.aux % 5;
			s->family = e.family;
			snprintf(s->iface, sizeof(s->iface), "%.*s", (int)sizeof(e.ifname) - 1,
				 e.ifname);
			rn = reason_name(e.aux2 % 8, NULL);
			snprintf(s->reason, sizeof(s->reason), "%s", rn ? rn : "");
			s->value = e.size;
			nstats = (size_t)metrics_merge_stat(stats, (int)nstats);
		}
		if (e.type == MW_EV_ATTACH && !att[0].program[0]) {
			snprintf(att[0].program, sizeof(att[0].program), "mw_%.*s",
				 (int)sizeof(e.ifname) - 1, e.ifname);
			snprintf(att[0].iface, sizeof(att[0].iface), "%.*s",
				 (int)sizeof(e.ifname) - 1, e.ifname);
			att[0].attached = e.aux & 1;
		}
	}
	render_summary(&run.plain, c, core_lost(c));
	render_summary(&run.json, c, core_lost(c));

	in.stats = stats;
	in.nstats = (int)nstats;
	in.att = att;
	in.natt = att[0].program[0] ? 1 : 0;
	in.core = c;
	in.prefix4 = data[2] % 33;
	in.prefix6 = data[3] % 129;
	in.top = 20;
	in.events_lost = core_lost(c);
	in.version = "fuzz";
	in.kernel = "fuzz";
	if (metrics_render(&in, &body, &blen) == 0) {
		check_text(body, blen, false);
		if (blen && body[blen - 1] != '\n')
			abort();
	}
	free(body);
	{
		struct sink sh;

		sink_open(&sh);
		if (html_write(run.html, c, sh.f, core_lost(c), 0))
			abort();
		sink_close(&sh);
		check_html(sh.buf, sh.len);
		free(sh.buf);
	}
	html_free(run.html);

	sink_close(&sp);
	sink_close(&sj);
	sink_close(&rp);
	sink_close(&rj);
	check_text(sp.buf, sp.len, true);
	check_text(rp.buf, rp.len, true);
	check_json(sj.buf, sj.len);
	check_json(rj.buf, rj.len);
	free(sp.buf);
	free(sj.buf);
	free(rp.buf);
	free(rj.buf);
	core_free(c);
	return 0;
}

#ifdef FUZZ_REPLAY_MAIN
/* the verdict line and the largest input of tests/fuzz/replay_main.c, linked with it */
const char fuzz_replay_name[] = "fuzz-events-replay";
const unsigned int fuzz_replay_max = 16u << 20;
#endif
