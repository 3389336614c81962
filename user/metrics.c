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
	uint32_t mtu;
	bool alarm;		/* a path in it holds a finding worse than a learned MTU */
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
	struct prefix_row r = { .family = p->family, .mtu = p->pmtu };
	int max = pc->in->top < MAX_PREFIXES ? pc->in->top : MAX_PREFIXES;

	r.alarm = p->verdict != MW_V_NONE && p->verdict != MW_V_PMTU_LEARNED;
	if (!p->pmtu)
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
			if (r.mtu < x->mtu)
				x->mtu = r.mtu;
			x->alarm |= r.alarm;
			return;
		}
	}
	if (pc->n < max) {
		pc->rows[pc->n++] = r;
		return;
	}
	/*
	 * --top full: an alarm takes a healthy prefix's place, whichever came first (under churn
	 * to many destinations the black hole is the one series that matters, issue 28).
	 */
	for (int i = pc->n - 1; r.alarm && i >= 0; i--) {
		if (!pc->rows[i].alarm) {
			pc->rows[i] = r;
			return;
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

	head(o, "mtuwatch_path_mtu_bytes", "gauge",
	     "Path MTU judged per destination prefix: learned from Packet Too Big, or the upper "
	     "end of a black hole's bracket.");
	pc = calloc(1, sizeof(*pc));
	if (pc && in->core) {
		pc->in = in;
		core_paths(in->core, path_row, pc);
		/* Alarms first, then the healthy prefixes, each in the order the core gave them. */
		for (int i = 0; i < 2 * pc->n; i++) {
			struct prefix_row *x = &pc->rows[i % pc->n];
			char a[64], pfx[80];

			if (x->alarm != (i < pc->n))
				continue;
			fmt_ip(x->family, x->net, a, sizeof(a));
			snprintf(pfx, sizeof(pfx), "%s/%d", a,
				 x->family == 6 ? in->prefix6 : in->prefix4);
			fprintf(o, "mtuwatch_path_mtu_bytes{");
			label(o, "dst_prefix", pfx, true);
			label(o, "iface", x->iface, false);
			ns_labels(o, x->netns, x->pod);
			fprintf(o, "} %u\n", x->mtu);
		}
	}
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
