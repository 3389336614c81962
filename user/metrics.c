// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "render.h"

#define MAX_PREFIXES 256

/*
 * Label values: escape backslash, quote and newline as the exposition format requires. The
 * format is UTF-8: a byte that is not (an interface named by someone else) becomes U+FFFD,
 * else one bad name would fail the whole scrape.
 */
static void label(FILE *o, const char *name, const char *v, bool first)
{
	size_t n = strlen(v), k;

	fprintf(o, "%s%s=\"", first ? "" : ",", name);
	for (size_t i = 0; i < n; i += k) {
		k = utf8_seq(v + i, n - i);
		if (!k) {
			k = 1;
			fputs("\xef\xbf\xbd", o);
		} else if (v[i] == '\\' || v[i] == '"') {
			fprintf(o, "\\%c", v[i]);
		} else if (v[i] == '\n') {
			fputs("\\n", o);
		} else {
			fwrite(v + i, 1, k, o);
		}
	}
	fputc('"', o);
}

static void head(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* netns and pod, for another namespace's series only: ours keep the labels they always had. */
static void ns_labels(FILE *o, const char *netns, const char *pod)
{
	if (netns[0])
		label(o, "netns", netns, false);
	if (pod[0])
		label(o, "pod", pod, false);
}

static const char *fam(uint8_t f)
{
	return f == 6 ? "ipv6" : "ipv4";
}

static void stat_series(FILE *o, const struct mw_metrics_in *in, uint16_t kind, const char *name,
			bool with_family, bool with_reason)
{
	for (int i = 0; i < in->nstats; i++) {
		const struct mw_metric_stat *s = &in->stats[i];

		if (s->kind != kind)
			continue;
		fprintf(o, "%s{", name);
		label(o, "iface", s->iface, true);
		if (with_family)
			label(o, "family", fam(s->family), false);
		if (with_reason)
			label(o, "reason", s->reason, false);
		ns_labels(o, s->netns, s->pod);
		fprintf(o, "} %llu\n", (unsigned long long)s->value);
	}
}

struct prefix_row {
	uint8_t family;
	uint8_t net[16];
	char iface[MW_IFNAME_LEN];
	char netns[MW_METRIC_NETNS_LEN];
	char pod[MW_METRIC_POD_LEN];
	uint32_t mtu;		/* the smallest learned or measured in it (0: none) */
	/* the worst verdict standing on its paths, its first cause, since when */
	enum mw_verdict verdict;
	enum mw_cause cause;
	uint64_t since_ns;
	int rank;		/* verdict_rank(): which prefixes --top keeps */
};

struct prefix_ctx {
	const struct mw_metrics_in *in;
	struct prefix_row rows[MAX_PREFIXES];
	int n;
};

static void mask(uint8_t *a, int alen, int bits)
{
	for (int i = 0; i < alen; i++) {
		int keep = bits - i * 8;

		if (keep >= 8)
			continue;
		a[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

static void path_row(const struct mw_path_summary *p, void *ctx)
{
	struct prefix_ctx *pc = ctx;
	int alen = p->family == 6 ? 16 : 4;
	struct prefix_row r = { .family = p->family, .verdict = p->standing,
				.cause = p->standing_cause, .since_ns = p->standing_ns };
	int max = pc->in->top < MAX_PREFIXES ? pc->in->top : MAX_PREFIXES, low = -1;

	/* Never a black hole's bracket end (8999 for a 1500 path): only what is known. */
	if (p->pmtu_known)
		r.mtu = p->pmtu;
	r.rank = verdict_rank(r.verdict);
	if (!r.mtu && r.verdict == MW_V_NONE)
		return;
	memcpy(r.net, p->dst, alen);
	mask(r.net, alen, p->family == 6 ? pc->in->prefix6 : pc->in->prefix4);
	snprintf(r.iface, sizeof(r.iface), "%s", p->iface);
	if (p->foreign_netns)
		metrics_ns_labels(p->netns, &p->ns, r.netns, r.pod);
	/* One series per prefix, interface and namespace: the smallest MTU judged in it. */
	for (int i = 0; i < pc->n; i++) {
		struct prefix_row *x = &pc->rows[i];

		if (x->family == r.family && !memcmp(x->net, r.net, alen) &&
		    !strcmp(x->iface, r.iface) && !strcmp(x->netns, r.netns) &&
		    !strcmp(x->pod, r.pod)) {
			if (r.mtu && (!x->mtu || r.mtu < x->mtu))
				x->mtu = r.mtu;
			if (r.verdict == MW_V_NONE)
				return;
			if (r.verdict == x->verdict) {
				if (r.since_ns < x->since_ns)
					x->since_ns = r.since_ns;
			} else if (r.rank > x->rank || (r.rank == x->rank && r.verdict < x->verdict)) {
				x->verdict = r.verdict;
				x->cause = r.cause;
				x->since_ns = r.since_ns;
				x->rank = r.rank;
			}
			return;
		}
	}
	if (pc->n < max) {
		pc->rows[pc->n++] = r;
		return;
	}
	/*
	 * --top full: a worse verdict takes the place of the prefix with the mildest one (the
	 * last of those), whichever came first: under churn to many destinations the black hole
	 * is the one series that matters (issue 28). Information (peer_unreachable, pmtu_learned)
	 * never displaces an alarm.
	 */
	for (int i = pc->n - 1; i >= 0; i--)
		if (low < 0 || pc->rows[i].rank < pc->rows[low].rank)
			low = i;
	if (low >= 0 && r.rank > pc->rows[low].rank)
		pc->rows[low] = r;
}

int metrics_count_finding(struct mw_finding_count *tab, int n, const struct mw_finding *f)
{
	struct mw_finding_count r = { .verdict = f->verdict,
				      .cause = f->ncauses ? f->causes[0] : MW_C_NONE };
	bool full = n >= MW_METRIC_FINDING_SETS;

	if (f->update || f->verdict <= MW_V_NONE || f->verdict >= MW_V_MAX)
		return n;
	snprintf(r.iface, sizeof(r.iface), "%s", f->iface);
	if (f->foreign_netns)
		metrics_ns_labels(f->netns, &f->ns, r.netns, r.pod);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			struct mw_finding_count *x = &tab[i];

			if (x->verdict == r.verdict && x->cause == r.cause &&
			    !strcmp(x->iface, r.iface) && !strcmp(x->netns, r.netns) &&
			    !strcmp(x->pod, r.pod)) {
				x->value++;
				return n;
			}
		}
		if (!full || pass)
			break;
		/* Past the bound: its verdict and cause's row "elsewhere", found or made. */
		r.iface[0] = r.netns[0] = r.pod[0] = '\0';
	}
	if (n >= MW_METRIC_FINDING_ROWS)
		return n;	/* cannot happen: one row per verdict and cause is kept for it */
	r.value = 1;
	tab[n] = r;
	return n + 1;
}

/* Unix time of a moment on the core's clock. */
static double wall_of(const struct mw_metrics_in *in, uint64_t ns)
{
	if (ns > in->now_ns)
		ns = in->now_ns;
	return in->now_wall - (double)(in->now_ns - ns) / 1e9;
}

/*
 * The per-prefix series (which 0: MTU, 1: standing verdict, 2: its since): the worst verdicts
 * first, then the milder, each in the order the core gave them.
 */
static void path_series(FILE *o, const struct mw_metrics_in *in, const struct prefix_ctx *pc,
			int which)
{
	static const char *const name[] = { "mtuwatch_path_mtu_bytes", "mtuwatch_path_verdict",
					     "mtuwatch_path_verdict_since_seconds" };
	static const char *const help[] = {
		"Path MTU per destination prefix, where learned (Packet Too Big, route) or measured "
		"(confirmation probe): never a black hole's bracket.",
		"The verdict standing on a destination prefix (1); it ages out with its evidence.",
		"When the standing verdict was given (Unix time).",
	};

	int top = 0;

	head(o, name[which], "gauge", help[which]);
	for (int i = 0; pc && i < pc->n; i++)
		if (pc->rows[i].rank > top)
			top = pc->rows[i].rank;
	for (int rank = top; pc && rank >= 0; rank--) {
		for (int i = 0; i < pc->n; i++) {
			const struct prefix_row *x = &pc->rows[i];
			char a[64], pfx[80];

			if (x->rank != rank || (which ? x->verdict == MW_V_NONE : !x->mtu))
				continue;
			fmt_ip(x->family, x->net, a, sizeof(a));
			snprintf(pfx, sizeof(pfx), "%s/%d", a,
				 x->family == 6 ? in->prefix6 : in->prefix4);
			fprintf(o, "%s{", name[which]);
			if (which) {
				label(o, "verdict", verdict_name(x->verdict), true);
				label(o, "cause", cause_name(x->cause), false);
			}
			label(o, "dst_prefix", pfx, !which);
			label(o, "iface", x->iface, false);
			ns_labels(o, x->netns, x->pod);
			if (which == 0)
				fprintf(o, "} %u\n", x->mtu);
			else if (which == 1)
				fprintf(o, "} 1\n");
			else
				fprintf(o, "} %.3f\n", wall_of(in, x->since_ns));
		}
	}
}

void metrics_ns_labels(uint32_t netns, const struct mw_ns_label *l, char *ns, char *pod)
{
	if (l && l->netns_name[0])
		snprintf(ns, MW_METRIC_NETNS_LEN, "%.*s", (int)sizeof(l->netns_name),
			 l->netns_name);
	else
		snprintf(ns, MW_METRIC_NETNS_LEN, "%u", netns);
	snprintf(pod, MW_METRIC_POD_LEN, "%.*s", l ? (int)sizeof(l->pod) : 0, l ? l->pod : "");
}

/*
 * The kernel counts per (ifindex, netns, family, reason); a metric shows fewer labels. Sum
 * the rows that render alike, or Prometheus would see one series twice.
 */
int metrics_merge_stat(struct mw_metric_stat *out, int n)
{
	struct mw_metric_stat *s = &out[n];
	bool fam = s->kind == MW_STAT_PTB_RX || s->kind == MW_STAT_PTB_DROP;
	bool rsn = s->kind == MW_STAT_PTB_DROP;

	for (int i = 0; i < n; i++) {
		if (out[i].kind != s->kind || strcmp(out[i].iface, s->iface) ||
		    strcmp(out[i].netns, s->netns) || strcmp(out[i].pod, s->pod) ||
		    (fam && out[i].family != s->family) || (rsn && strcmp(out[i].reason, s->reason)))
			continue;
		out[i].value += s->value;
		return n;
	}
	return n + 1;
}

int metrics_render(const struct mw_metrics_in *in, char **body, size_t *len)
{
	struct prefix_ctx *pc;
	FILE *o = open_memstream(body, len);

	if (!o)
		return -errno;
	head(o, "mtuwatch_ptb_received_total", "counter",
	     "Packet Too Big (ICMP frag-needed / ICMPv6 type 2) messages that arrived.");
	stat_series(o, in, MW_STAT_PTB_RX, "mtuwatch_ptb_received_total", true, false);
	head(o, "mtuwatch_ptb_dropped_total", "counter",
	     "Packet Too Big messages this host dropped, by the kernel's drop reason.");
	stat_series(o, in, MW_STAT_PTB_DROP, "mtuwatch_ptb_dropped_total", true, true);
	head(o, "mtuwatch_ptb_sent_total", "counter",
	     "Packets this host dropped as too big for the egress MTU (it sends Packet Too Big).");
	stat_series(o, in, MW_STAT_PTB_SENT, "mtuwatch_ptb_sent_total", false, false);
	head(o, "mtuwatch_oversized_df_packets_total", "counter",
	     "DF packets larger than the path MTU mtuwatch learned for their destination.");
	stat_series(o, in, MW_STAT_OVERSIZE_DF, "mtuwatch_oversized_df_packets_total", false, false);
	head(o, "mtuwatch_large_retransmits_total", "counter",
	     "TCP retransmissions of segments of 1280 bytes or more.");
	stat_series(o, in, MW_STAT_LARGE_RETRANS, "mtuwatch_large_retransmits_total", false, false);

	head(o, "mtuwatch_stalled_handshakes_total", "counter",
	     "TLS and SSH handshakes that stalled (stalled_tls / stalled_ssh findings).");
	fprintf(o, "mtuwatch_stalled_handshakes_total{proto=\"tls\"} %u\n",
		in->core ? core_findings(in->core, MW_V_STALLED_TLS) : 0);
	fprintf(o, "mtuwatch_stalled_handshakes_total{proto=\"ssh\"} %u\n",
		in->core ? core_findings(in->core, MW_V_STALLED_SSH) : 0);

	head(o, "mtuwatch_findings_total", "counter",
	     "Findings of the diagnosis (as live prints them), by verdict and first cause.");
	for (int i = 0; i < in->nfindings; i++) {
		const struct mw_finding_count *x = &in->findings[i];

		fprintf(o, "mtuwatch_findings_total{");
		label(o, "verdict", verdict_name(x->verdict), true);
		label(o, "cause", cause_name(x->cause), false);
		label(o, "iface", x->iface, false);
		ns_labels(o, x->netns, x->pod);
		fprintf(o, "} %llu\n", (unsigned long long)x->value);
	}

	pc = calloc(1, sizeof(*pc));
	if (pc && in->core) {
		pc->in = in;
		core_paths(in->core, path_row, pc);
	}
	path_series(o, in, pc, 0);
	path_series(o, in, pc, 1);
	path_series(o, in, pc, 2);
	free(pc);

	head(o, "mtuwatch_program_attached", "gauge",
	     "1 if the program attached, 0 where it degraded.");
	for (int i = 0; i < in->natt; i++) {
		fprintf(o, "mtuwatch_program_attached{");
		label(o, "program", in->att[i].program, true);
		label(o, "iface", in->att[i].iface, false);
		fprintf(o, "} %d\n", in->att[i].attached);
	}
	head(o, "mtuwatch_events_lost_total", "counter",
	     "Events the kernel could not hand to mtuwatch (ring buffer full).");
	fprintf(o, "mtuwatch_events_lost_total %llu\n", (unsigned long long)in->events_lost);
	head(o, "mtuwatch_ptb_suppressed_total", "counter",
	     "Packet Too Big of a new kind over the per-second budget: counted, no event.");
	fprintf(o, "mtuwatch_ptb_suppressed_total %llu\n",
		(unsigned long long)in->ptb_suppressed);
	head(o, "mtuwatch_build_info", "gauge", "mtuwatch version and the kernel it runs on.");
	fprintf(o, "mtuwatch_build_info{");
	label(o, "version", in->version, true);
	label(o, "kernel", in->kernel, false);
	fprintf(o, "} 1\n");
	if (fclose(o))
		return -errno;
	return 0;
}
