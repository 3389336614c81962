// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The exposition format of a crafted snapshot: names, HELP/TYPE, labels, aggregation. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "render.h"
#include "check.h"


static void feed_path(struct mw_core *c, const char *dst, uint32_t mtu)
{
	struct mw_event e = { .type = MW_EV_IFACE, .ts_ns = 1, .ifindex = 2, .mtu = 9000 };

	strcpy(e.ifname, "c0");
	core_feed(c, &e);
	memset(&e, 0, sizeof(e));
	e.ts_ns = 2;
	e.type = MW_EV_PTB_RX;
	e.family = e.flow.family = 4;
	e.ifindex = 2;
	e.mtu = mtu;
	inet_pton(AF_INET, dst, e.flow.daddr);
	core_feed(c, &e);
	e.type = MW_EV_ROUTE;
	core_feed(c, &e);
}

/* An event of a TCP flow 192.0.2.2:40000 > dst:443 on c0 (ifindex 2) at t nanoseconds. */
static struct mw_event flow_ev(uint16_t type, uint64_t t, const char *dst)
{
	struct mw_event e = { .type = type, .ts_ns = t, .family = 4, .ifindex = 2 };

	e.flow.family = 4;
	e.flow.proto = 6;
	inet_pton(AF_INET, "192.0.2.2", e.flow.saddr);
	inet_pton(AF_INET, dst, e.flow.daddr);
	e.flow.sport = 40000;
	e.flow.dport = 443;
	return e;
}

/* A black hole to dst (as test_core's test_blackhole): 1200 delivered, 9000 re-sent, stuck. */
static void feed_blackhole(struct mw_core *c, const char *dst)
{
	const uint64_t s = 1000000000ULL;
	struct mw_event e;
	uint32_t sizes[] = { 60, 1200, 9000 };

	for (int i = 0; i < 3; i++) {
		e = flow_ev(MW_EV_DF_MAX, s, dst);
		e.size = sizes[i];
		core_feed(c, &e);
		if (sizes[i] == 1200) {
			e.type = MW_EV_DELIVERED;
			core_feed(c, &e);
		}
	}
	for (uint32_t rto = 1; rto <= 2; rto++) {
		e = flow_ev(MW_EV_RETRANS, 2 * s + (rto - 1) * s / 2, dst);
		e.seq = 1000;
		e.aux2 = 1000;
		e.size = 9000;
		e.aux = rto;
		core_feed(c, &e);
	}
	e = flow_ev(MW_EV_TICK, 3 * s + 1, dst);
	core_feed(c, &e);
}

/*
 * Issue 28 item 5: the black hole came last, after more healthy prefixes than --top: it is
 * exported all the same, first, and the series stay --top.
 */
static void test_top_alarms_first(void)
{
	struct mw_core_opts co = {};
	struct mw_metrics_in in = { .prefix4 = 24, .prefix6 = 64, .top = 2, .version = "v",
				    .kernel = "k" };
	const char *healthy[] = { "198.51.100.2", "198.18.1.2", "198.18.2.2", "198.18.3.2" };
	char *b = NULL, *bh, *first;
	size_t len = 0;
	int n = 0;

	in.core = core_new(&co);
	for (int i = 0; i < 4; i++)
		feed_path(in.core, healthy[i], 1400);
	feed_blackhole(in.core, "203.0.113.9");
	CHECK("metrics-top-blackhole-made", core_findings(in.core, MW_V_ICMP_BLACKHOLE) == 1,
	      "%u", core_findings(in.core, MW_V_ICMP_BLACKHOLE));
	metrics_render(&in, &b, &len);
	/* The black hole's MTU is a bracket's end, not exported (issue 27): its verdict is. */
	for (char *p = b; (p = strstr(p, "\nmtuwatch_path_verdict{")); p++)
		n++;
	bh = strstr(b, "mtuwatch_path_verdict{verdict=\"icmp_blackhole\",cause=\"icmp_filtered\","
		     "dst_prefix=\"203.0.113.0/24\"");
	first = strstr(b, "\nmtuwatch_path_verdict{");
	CHECK("metrics-top-alarm-kept", bh && n == 2, "%d series: %s", n, b);
	CHECK("metrics-top-alarm-first", bh && first && first + 1 == bh, "%s", b);
	free(b);
	core_free(in.core);
}

struct counted {
	struct mw_finding_count tab[MW_METRIC_FINDING_ROWS];
	int n;
};

static void count_cb(const struct mw_finding *f, void *ctx)
{
	struct counted *k = ctx;

	k->n = metrics_count_finding(k->tab, k->n, f);
}

/* A fresh core that knows interface c0 (ifindex 2, MTU 9000). */
static struct mw_core *core_c0(const struct mw_core_opts *co)
{
	struct mw_core *c = core_new(co);
	struct mw_event e = { .type = MW_EV_IFACE, .ts_ns = 1, .ifindex = 2, .mtu = 9000 };

	strcpy(e.ifname, "c0");
	core_feed(c, &e);
	return c;
}

static char *render_at(struct mw_metrics_in *in, uint64_t now_ns)
{
	char *b = NULL;
	size_t len = 0;

	in->now_ns = now_ns;
	in->now_wall = 1.8e9 + now_ns / 1e9;
	metrics_render(in, &b, &len);
	return b;
}

#define BH_VERDICT "mtuwatch_path_verdict{verdict=\"icmp_blackhole\",cause=\"icmp_filtered\"," \
		   "dst_prefix=\"203.0.113.0/24\",iface=\"c0\"} 1\n"

/*
 * Issue 27: the core's verdicts as series, from the same findings live prints: a counter by
 * verdict and cause, the standing verdict per prefix with its since, no MTU from a bracket.
 */
static void test_verdict_series(void)
{
	const uint64_t s = 1000000000ULL, hold = MW_VERDICT_HOLD_S * s;
	struct counted *k = calloc(1, sizeof(*k));
	struct mw_core_opts co = { .on_finding = count_cb, .ctx = k };
	struct mw_metrics_in in = { .prefix4 = 24, .prefix6 = 64, .top = 20, .version = "v",
				    .kernel = "k" };
	struct mw_event e;
	char *b;

	in.core = core_c0(&co);
	feed_blackhole(in.core, "203.0.113.9");
	in.findings = k->tab;
	in.nfindings = k->n;
	b = render_at(&in, 3 * s + 1);
	CHECK("metrics-findings-total",
	      strstr(b, "# TYPE mtuwatch_findings_total counter\n") &&
	      strstr(b, "\nmtuwatch_findings_total{verdict=\"icmp_blackhole\",cause=\"icmp_filtered\","
		     "iface=\"c0\"} 1\n"), "%s", b);
	CHECK("metrics-path-verdict", strstr(b, "# TYPE mtuwatch_path_verdict gauge\n") &&
	      strstr(b, "\n" BH_VERDICT), "%s", b);
	/* given at 3 s + 1 ns on the core's clock: the wall clock then */
	CHECK("metrics-path-verdict-since",
	      strstr(b, "\nmtuwatch_path_verdict_since_seconds{verdict=\"icmp_blackhole\","
		     "cause=\"icmp_filtered\",dst_prefix=\"203.0.113.0/24\",iface=\"c0\"} "
		     "1800000003.000\n"), "%s", b);
	/* the verdict is there (above): its bracket's end (8999) is not an MTU */
	CHECK("metrics-no-bracket-mtu", strstr(b, BH_VERDICT) &&
	      !strstr(b, "mtuwatch_path_mtu_bytes{dst_prefix=\"203.0.113.0/24\""), "%s", b);
	free(b);

	/* The 9000-byte segment re-sent again at 400 s: evidence, the verdict stands past 603 s. */
	e = flow_ev(MW_EV_RETRANS, 400 * s, "203.0.113.9");
	e.seq = 1000;
	e.aux2 = 1000;
	e.size = 9000;
	e.aux = 3;
	core_feed(in.core, &e);
	e = flow_ev(MW_EV_TICK, 3 * s + hold + s, "203.0.113.9");
	core_feed(in.core, &e);
	b = render_at(&in, e.ts_ns);
	CHECK("metrics-verdict-evidence-keeps", strstr(b, BH_VERDICT) &&
	      strstr(b, "1800000003.000\n"), "%s", b);
	free(b);
	/* No evidence for the hold since: it ages out, and the counter stays. */
	e = flow_ev(MW_EV_TICK, 400 * s + hold + s, "203.0.113.9");
	core_feed(in.core, &e);
	b = render_at(&in, e.ts_ns);
	CHECK("metrics-verdict-ages-out", !strstr(b, "\nmtuwatch_path_verdict{") &&
	      !strstr(b, "\nmtuwatch_path_verdict_since_seconds{") &&
	      strstr(b, "\nmtuwatch_findings_total{verdict=\"icmp_blackhole\""), "%s", b);
	free(b);
	core_free(in.core);

	/* A black hole whose size then gets through is gone at once. */
	memset(k, 0, sizeof(*k));
	in.core = core_c0(&co);
	feed_blackhole(in.core, "203.0.113.9");
	b = render_at(&in, 3 * s + 1);
	CHECK("metrics-verdict-before-proof", strstr(b, BH_VERDICT) != NULL, "%s", b);
	free(b);
	{
		uint8_t a[4] = { 203, 0, 113, 9 }, o[4] = { 203, 0, 113, 10 };

		/* what keeps the kernel's entry from churn (driver: dsts_keep) */
		CHECK("standing-dst-black-hole", core_dst_standing(in.core, 4, a) &&
		      !core_dst_standing(in.core, 4, o), "standing");
	}
	e = flow_ev(MW_EV_DELIVERED, 5 * s, "203.0.113.9");
	e.size = 9000;
	core_feed(in.core, &e);
	b = render_at(&in, 5 * s);
	CHECK("metrics-verdict-ends-on-proof", !strstr(b, "\nmtuwatch_path_verdict{"), "%s", b);
	free(b);
	{
		uint8_t a[4] = { 203, 0, 113, 9 };

		CHECK("standing-dst-ends-on-proof", !core_dst_standing(in.core, 4, a), "standing");
	}
	core_free(in.core);

	/*
	 * --top 1: a dead peer (peer_unreachable, information) first, then the black hole: the
	 * black hole is the series kept, the dead peer is no alarm.
	 */
	memset(k, 0, sizeof(*k));
	in.core = core_c0(&co);
	in.top = 1;
	e = flow_ev(MW_EV_PROBE, s / 2, "198.51.100.7");
	core_feed(in.core, &e);
	CHECK("metrics-peer-unreachable-made", core_findings(in.core, MW_V_PEER_UNREACHABLE) == 1,
	      "%u", core_findings(in.core, MW_V_PEER_UNREACHABLE));
	b = render_at(&in, s / 2);
	CHECK("metrics-peer-unreachable-series", strstr(b, "\nmtuwatch_path_verdict{verdict=\""
							"peer_unreachable\"") != NULL, "%s", b);
	free(b);
	feed_blackhole(in.core, "203.0.113.9");
	b = render_at(&in, 3 * s + 1);
	CHECK("metrics-top-peer-unreachable-no-alarm", strstr(b, BH_VERDICT) &&
	      !strstr(b, "peer_unreachable\",cause=\"none\",dst_prefix"), "%s", b);
	free(b);
	CHECK("metrics-alarm-classes", verdict_alarm(MW_V_ICMP_BLACKHOLE) &&
	      verdict_alarm(MW_V_PTB_DROPPED) && verdict_alarm(MW_V_PTB_IGNORED) &&
	      verdict_alarm(MW_V_STALLED_TLS) && verdict_alarm(MW_V_STALLED_SSH) &&
	      !verdict_alarm(MW_V_PEER_UNREACHABLE) && !verdict_alarm(MW_V_PTB_SENT) &&
	      !verdict_alarm(MW_V_PMTU_LEARNED) && !verdict_alarm(MW_V_NONE), "alarm table");
	core_free(in.core);

	/* Findings on more interfaces than the bound: all counted, the series bounded. */
	memset(k, 0, sizeof(*k));
	{
		struct mw_finding f = { .verdict = MW_V_PTB_SENT };
		uint64_t sum = 0;

		for (int i = 0; i < 3 * MW_METRIC_FINDING_SETS; i++) {
			snprintf(f.iface, sizeof(f.iface), "veth%d", i);
			k->n = metrics_count_finding(k->tab, k->n, &f);
		}
		f.update = true;
		k->n = metrics_count_finding(k->tab, k->n, &f);
		for (int i = 0; i < k->n; i++)
			sum += k->tab[i].value;
		CHECK("metrics-findings-bounded", k->n == MW_METRIC_FINDING_SETS + 1 &&
		      sum == 3 * MW_METRIC_FINDING_SETS && !k->tab[k->n - 1].iface[0],
		      "%d rows, %llu counted", k->n, (unsigned long long)sum);
	}
	free(k);
}

int main(void)
{
	struct mw_metric_stat st[] = {
		{ .kind = MW_STAT_PTB_DROP, .iface = "c0", .family = 4, .reason = "IP_RPFILTER",
		  .value = 7 },
		{ .kind = MW_STAT_PTB_RX, .iface = "c0", .family = 6, .value = 3 },
		{ .kind = MW_STAT_LARGE_RETRANS, .iface = "we\"ird", .value = 2 },
	};
	struct mw_metric_attach att[] = { { "mw_xdp_ingress", "c0", 1 }, { "mw_tp_icmp_send", "", 0 } };
	struct mw_core_opts co = {};
	struct mw_metrics_in in = {
		.stats = st, .nstats = 3, .att = att, .natt = 2, .prefix4 = 24, .prefix6 = 64,
		.top = 20, .events_lost = 5, .ptb_suppressed = 1850, .version = "0.1.0", .kernel = "6.18",
	};
	char *b = NULL;
	size_t len = 0;

	in.core = core_c0(&co);
	feed_path(in.core, "198.51.100.2", 1500);
	feed_path(in.core, "198.51.100.77", 1400);
	feed_path(in.core, "203.0.113.9", 1446);
	CHECK("metrics-render", metrics_render(&in, &b, &len) == 0 && len == strlen(b), "render");
	CHECK("metrics-ptb-dropped", strstr(b, "mtuwatch_ptb_dropped_total{iface=\"c0\",family=\"ipv4\","
					 "reason=\"IP_RPFILTER\"} 7\n") != NULL, "%s", b);
	CHECK("metrics-help-type", strstr(b, "# HELP mtuwatch_ptb_dropped_total ") &&
	      strstr(b, "# TYPE mtuwatch_ptb_dropped_total counter\n") &&
	      strstr(b, "# TYPE mtuwatch_path_mtu_bytes gauge\n"), "missing HELP/TYPE");
	CHECK("metrics-label-escaping", strstr(b, "iface=\"we\\\"ird\"") != NULL, "not escaped");
	CHECK("metrics-prefix-aggregated",
	      strstr(b, "mtuwatch_path_mtu_bytes{dst_prefix=\"198.51.100.0/24\",iface=\"c0\"} 1400\n") &&
	      strstr(b, "dst_prefix=\"203.0.113.0/24\"") && !strstr(b, "198.51.100.2/"),
	      "%s", b);
	CHECK("metrics-self", strstr(b, "mtuwatch_program_attached{program=\"mw_tp_icmp_send\",iface=\"\"} 0") &&
	      strstr(b, "mtuwatch_events_lost_total 5\n") &&
	      strstr(b, "mtuwatch_build_info{version=\"0.1.0\",kernel=\"6.18\"} 1\n"), "%s", b);
	/* Issue 28 item 3: PTB the kernel's budget kept from user space are counted, visibly. */
	CHECK("metrics-ptb-suppressed", strstr(b, "# TYPE mtuwatch_ptb_suppressed_total counter\n") &&
	      strstr(b, "\nmtuwatch_ptb_suppressed_total 1850\n"), "%s", b);
	free(b);
	{
		struct mw_render r = { .json = true, .ptb_suppressed = 1850 };
		char *sb = NULL;
		size_t sl = 0;

		r.out = open_memstream(&sb, &sl);
		render_summary(&r, in.core, 5);
		r.json = false;
		render_summary(&r, in.core, 5);
		fclose(r.out);
		CHECK("summary-ptb-suppressed",
		      strstr(sb, "\"events_lost\":5,\"ptb_suppressed\":1850}") &&
		      strstr(sb, "\n1850 Packet Too Big suppressed ("), "%s", sb);
		free(sb);
	}
	in.top = 1;
	metrics_render(&in, &b, &len);
	{
		int n = 0;

		for (char *p = b; (p = strstr(p, "\nmtuwatch_path_mtu_bytes{")); p++)
			n++;
		CHECK("metrics-top-n-bounds-series", n == 1, "%d series", n);
	}
	free(b);
	{
		/* IPv4 and IPv6 large retransmits on one interface: one series, summed */
		struct mw_metric_stat m[3] = {
			{ .kind = MW_STAT_LARGE_RETRANS, .iface = "c0", .family = 4, .value = 2 },
			{ .kind = MW_STAT_LARGE_RETRANS, .iface = "c0", .family = 6, .value = 3 },
			{ .kind = MW_STAT_PTB_RX, .iface = "c0", .family = 6, .value = 1 },
		};
		int n = 0;

		for (int i = 0; i < 3; i++) {
			m[n] = m[i];
			n = metrics_merge_stat(m, n);
		}
		CHECK("metrics-no-duplicate-series", n == 2 && m[0].value == 5, "%d rows, %llu", n,
		      (unsigned long long)m[0].value);
	}
	{
		/* two pods' eth0 (--all-netns): one series each, named, never summed together */
		struct mw_metric_stat m[2] = {
			{ .kind = MW_STAT_PTB_SENT, .iface = "eth0", .netns = "cni-1",
			  .pod = "default/web", .value = 4 },
			{ .kind = MW_STAT_PTB_SENT, .iface = "eth0", .netns = "cni-2",
			  .pod = "default/db", .value = 1 },
		};
		struct mw_metrics_in pin = { .stats = m, .top = 20, .version = "v", .kernel = "k" };
		struct mw_ns_label l = {};
		char ns[MW_METRIC_NETNS_LEN], pod[MW_METRIC_POD_LEN];
		int n = 1;

		n = metrics_merge_stat(m, n);
		pin.nstats = n;
		metrics_render(&pin, &b, &len);
		CHECK("metrics-pod-labels", n == 2 &&
		      strstr(b, "mtuwatch_ptb_sent_total{iface=\"eth0\",netns=\"cni-1\","
			     "pod=\"default/web\"} 4\n") &&
		      strstr(b, "mtuwatch_ptb_sent_total{iface=\"eth0\",netns=\"cni-2\","
			     "pod=\"default/db\"} 1\n"), "%d rows: %s", n, b);
		free(b);
		memset(l.netns_name, 'n', sizeof(l.netns_name) - 1);
		memset(l.pod, 'p', sizeof(l.pod) - 1);
		metrics_ns_labels(4026532000u, &l, ns, pod);
		CHECK("metrics-ns-label-bounded", strlen(ns) == MW_METRIC_NETNS_LEN - 1 &&
		      strlen(pod) == MW_METRIC_POD_LEN - 1, "%zu %zu", strlen(ns), strlen(pod));
		metrics_ns_labels(4026532000u, NULL, ns, pod);
		CHECK("metrics-ns-label-unnamed", !strcmp(ns, "4026532000") && !pod[0], "'%s' '%s'",
		      ns, pod);
	}
	core_free(in.core);
	test_top_alarms_first();
	test_verdict_series();
	return 0;
}
