/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus text exposition of a snapshot: in-kernel counters read at scrape time, the
 * core's judged paths and findings, and self-metrics. Pure: the exporter fills the snapshot,
 * tests fill it by hand.
 */
#ifndef MW_METRICS_H
#define MW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "core.h"

/*
 * Another namespace's labels (netns: its name, else its inode; pod: "namespace/name"), bounded
 * like every label value: cut at these lengths. Empty for mtuwatch's own namespace.
 */
#define MW_METRIC_NETNS_LEN 64
#define MW_METRIC_POD_LEN 128

struct mw_metric_stat {
	uint16_t kind;		/* enum mw_stat_kind */
	char iface[MW_IFNAME_LEN];
	char netns[MW_METRIC_NETNS_LEN];
	char pod[MW_METRIC_POD_LEN];
	uint8_t family;
	char reason[64];
	uint64_t value;
};

struct mw_metric_attach {
	char program[32];
	char iface[MW_IFNAME_LEN];
	int attached;
};

/*
 * mtuwatch_findings_total: findings counted by verdict, first cause, interface and namespace
 * (metrics_count_finding). A table of MW_METRIC_FINDING_ROWS rows: past MW_METRIC_FINDING_SETS
 * label sets, a new one is counted in its verdict and cause's row with empty iface, netns and
 * pod ("elsewhere"), so that the count stays right and the series stay bounded.
 */
#define MW_METRIC_FINDING_SETS 256
#define MW_METRIC_FINDING_ROWS (MW_METRIC_FINDING_SETS + MW_V_MAX * MW_C_MAX)

struct mw_finding_count {
	uint8_t verdict;	/* enum mw_verdict */
	uint8_t cause;		/* enum mw_cause: the first (most likely) one, or none */
	char iface[MW_IFNAME_LEN];
	char netns[MW_METRIC_NETNS_LEN];
	char pod[MW_METRIC_POD_LEN];
	uint64_t value;
};

struct mw_metrics_in {
	const struct mw_metric_stat *stats;
	int nstats;
	const struct mw_metric_attach *att;
	int natt;
	struct mw_core *core;		/* paths and stall counts; may be NULL */
	int prefix4, prefix6;		/* destinations are aggregated to these prefix lengths */
	int top;			/* at most this many path series */
	uint64_t events_lost;
	uint64_t ptb_suppressed;	/* new kinds of PTB over the kernel's budget: no event */
	const char *version;
	const char *kernel;
	const struct mw_finding_count *findings;	/* metrics_count_finding's table */
	int nfindings;
	/* now on the core's clock (ns) and on the wall (Unix seconds): the since timestamps */
	uint64_t now_ns;
	double now_wall;
};

/*
 * Counts finding f (a confirmation of one given already, f->update, is not a new one) into
 * tab, n rows used, MW_METRIC_FINDING_ROWS long; returns the rows used now.
 */
int metrics_count_finding(struct mw_finding_count *tab, int n, const struct mw_finding *f);

/*
 * Another namespace's netns and pod label values (ns: MW_METRIC_NETNS_LEN bytes, pod:
 * MW_METRIC_POD_LEN): its name, else its inode; the pod, else "". l may be NULL (no names).
 */
void metrics_ns_labels(uint32_t netns, const struct mw_ns_label *l, char *ns, char *pod);
/* Folds out[n] into an earlier row that renders with the same labels; returns the count. */
int metrics_merge_stat(struct mw_metric_stat *out, int n);
/* Renders into a malloc'd buffer; 0 or -errno. */
int metrics_render(const struct mw_metrics_in *in, char **body, size_t *len);

#endif
