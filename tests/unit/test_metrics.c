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
	for (char *p = b; (p = strstr(p, "\nmtuwatch_path_mtu_bytes{")); p++)
		n++;
	bh = strstr(b, "mtuwatch_path_mtu_bytes{dst_prefix=\"203.0.113.0/24\"");
	first = strstr(b, "\nmtuwatch_path_mtu_bytes{");
	CHECK("metrics-top-alarm-kept", bh && n == 2, "%d series: %s", n, b);
	CHECK("metrics-top-alarm-first", bh && first && first + 1 == bh, "%s", b);
	free(b);
	core_free(in.core);
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

	in.core = core_new(&co);
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
	return 0;
}
