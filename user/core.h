/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The aggregation and diagnosis core. It sees only struct mw_event (kernel events and the
 * ones the driver synthesises) and calls back with findings. It never touches the kernel,
 * the clock or the network, so live, record/report and export judge an incident alike and
 * unit tests can drive it with crafted events.
 */
#ifndef MW_CORE_H
#define MW_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "mtuwatch.h"

enum mw_verdict {
	MW_V_NONE = 0,
	MW_V_ICMP_BLACKHOLE,
	MW_V_PTB_DROPPED,
	MW_V_PMTU_LEARNED,
	MW_V_PTB_SENT,
	MW_V_STALLED_TLS,
	MW_V_STALLED_SSH,
	MW_V_PTB_IGNORED,
	MW_V_PEER_UNREACHABLE,		/* information: a confirmation probe got no answer */
	MW_V_MAX
};

/* Why a black hole or a failed PMTUD happens: stable codes, documented in the man page. */
enum mw_cause {
	MW_C_NONE = 0,
	MW_C_ICMP_FILTERED,	/* a router's PTB is filtered on the way back */
	MW_C_L2_MTU_MISMATCH,	/* a layer-2 hop takes smaller frames and drops larger silently */
	MW_C_PTB_DROPPED_LOCAL,	/* this host dropped the PTB (firewall, other reasons) */
	MW_C_RP_FILTER,		/* strict reverse-path filtering dropped the PTB */
	MW_C_ROUTE_MTU_LOCKED,	/* `mtu lock` on the route: PTBs are ignored */
	MW_C_OUT_OF_WINDOW_PTB,	/* PTB quoting a sequence not in flight: forged or rewritten */
	MW_C_UNTRANSLATED_PTB,	/* PTB quoting a flow no socket has: NAT not fixing ICMP */
	MW_C_PMTUDISC_OFF,	/* ip_no_pmtu_disc or the socket's mode ignores PMTU */
	MW_C_OVERLAY_MTU,	/* overlay MTU above what its lower device carries */
	MW_C_MTU_PROBING_ACTIVE,	/* tcp_mtu_probing is on: TCP works around it slowly */
	MW_C_BAD_PTB_MTU,	/* the PTB advertises an MTU not below the current one */
	MW_C_MAX
};

/* Why a Packet Too Big that arrived changed nothing (ptb_ignored). */
enum mw_ignore {
	MW_IGN_UNKNOWN = 0,
	MW_IGN_ROUTE_MTU_LOCKED,
	MW_IGN_OUT_OF_WINDOW,
	MW_IGN_NO_SOCKET,
	MW_IGN_PMTUDISC_OFF,
	MW_IGN_MTU_NOT_LOWER,
	MW_IGN_MAX
};

#define MW_MAX_CAUSES 6

#define MW_MAX_SIZES 8

/*
 * Who another namespace is (core_ns.c): its cookie and names as the user side resolved them
 * (struct mw_nsname); empty strings where unknown, all empty for mtuwatch's own namespace.
 */
struct mw_ns_label {
	uint64_t cookie;
	char netns_name[MW_NS_NAME_LEN];
	char pod[MW_POD_LEN];
	char container[MW_CONTAINER_LEN];
};

struct mw_finding {
	enum mw_verdict verdict;
	uint64_t ts_ns;
	uint32_t netns;
	bool foreign_netns;		/* not the namespace mtuwatch runs in */
	struct mw_ns_label ns;		/* its names (foreign_netns) */
	uint8_t family;
	uint8_t dst[16];		/* the path's destination */
	uint8_t peer[16];		/* PTB sender (ptb_dropped, pmtu_learned) */
	uint32_t ifindex;
	char iface[MW_IFNAME_LEN];
	uint32_t mtu;			/* advertised / learned / egress MTU */
	uint32_t bracket_lo;		/* icmp_blackhole: largest size that got through */
	uint32_t bracket_hi;		/* smallest that did not */
	uint32_t reason;		/* drop reason value */
	char drop_reason[64];		/* its name without SKB_DROP_REASON_ */
	bool outgoing;			/* ptb_dropped: the PTB was dropped on its way out */
	struct mw_flow flow;		/* quoted / stalled flow */
	uint32_t count;			/* events behind the finding so far */
	uint32_t sizes[MW_MAX_SIZES];	/* retransmitted on-wire sizes, distinct */
	uint32_t nsizes;
	/* stalls */
	const char *proto;		/* "tls" / "ssh" */
	char step[96];
	bool client;			/* this host is the handshake's client */
	bool mtu_evidence;
	bool port_hint;			/* the flow's port is a well-known one for proto */
	uint32_t peer_mss;
	uint32_t max_seg_rcvd;
	uint32_t stalled_secs;
	uint32_t bytes_sent;		/* of our data since the first payload byte (0: unknown) */
	uint32_t bytes_acked;		/* of those, acknowledged by the peer */
	/* causes, most likely first */
	uint8_t causes[MW_MAX_CAUSES];
	uint8_t ncauses;
	enum mw_ignore ignore_reason;	/* ptb_ignored */
	/* overlay_mtu: the device, its MTU, what lies under it */
	char overlay_iface[MW_IFNAME_LEN];
	char lower_iface[MW_IFNAME_LEN];
	uint32_t overlay_mtu, lower_mtu, overhead;
	/*
	 * icmp_blackhole: mtu measured by a confirmation probe (bracket tight around it). A
	 * confirmation of a finding already given comes as a second one, update set, which the
	 * core does not count again.
	 */
	bool confirmed;
	bool update;
	/* the confirmation probe behind the finding (icmp_blackhole, peer_unreachable) */
	bool probed;
	uint8_t probe_method;		/* enum mw_probe_method */
	uint32_t probes;
	bool ptb_probe;			/* a PTB reached the probe: peer is its sender */
	char explain[480];
	char remedy[480];
};

typedef void (*mw_finding_fn)(const struct mw_finding *f, void *ctx);
/* Name of a drop reason value, NULL if unknown. */
typedef const char *(*mw_reason_fn)(uint32_t value, void *ctx);

#define MW_MAX_HINT_PORTS 32

struct mw_core_opts {
	/* Well-known ports of TLS/SSH services: only a hint, the bytes decide (0 = end). */
	uint16_t hint_ports[MW_MAX_HINT_PORTS];
	uint32_t self_netns;		/* namespace mtuwatch judges by default */
	bool all_netns;			/* judge every namespace, label findings */
	uint32_t stall_after_s;		/* handshake stall timer (default 3) */
	mw_reason_fn reason_name;
	void *reason_ctx;
	mw_finding_fn on_finding;
	void *ctx;
};

/* One row of the per-path summary. */
struct mw_path_summary {
	uint32_t netns;
	bool foreign_netns;
	struct mw_ns_label ns;
	uint8_t family;
	uint8_t dst[16];
	uint32_t ifindex;
	char iface[MW_IFNAME_LEN];
	uint32_t max_df;
	uint32_t retrans;
	uint32_t large_retrans;
	uint32_t ptb_rx;
	uint32_t ptb_dropped;
	uint32_t ptb_sent;
	uint32_t pmtu;			/* learned, or the bracket's upper end */
	bool pmtu_known;		/* pmtu learned (route) or measured (probe), no bracket */
	enum mw_verdict verdict;	/* the worst finding on this path */
	/* The verdict standing now (MW_V_NONE: none, or it aged out), since when, its cause. */
	enum mw_verdict standing;
	uint64_t standing_ns;
	enum mw_cause standing_cause;
};

/*
 * A standing verdict ages out this long after its evidence last came: a finding of it, or the
 * events that make it (a DF segment over the path's MTU re-sent, a PTB dropped, sent or
 * received). A black hole's also ends at once when a segment over its MTU is acknowledged.
 */
#define MW_VERDICT_HOLD_S 600

struct mw_core;

struct mw_core *core_new(const struct mw_core_opts *o);
void core_free(struct mw_core *c);
void core_feed(struct mw_core *c, const struct mw_event *e);
/*
 * Another namespace's names (live: the driver, before the event that made it ask; report: the
 * recording's MW_REC_NSNAME record, in the same place). A cookie other than the one known for
 * the inode starts a new namespace, as a STATE event's does (core_ns.c).
 */
void core_ns_names(struct mw_core *c, const struct mw_nsname *n);
/* The cookie the core knows for the namespace an inode now stands for (0: none). */
uint64_t core_ns_cookie(struct mw_core *c, uint32_t netns);
/* Destinations whose route MTU the driver should read back (PTBs that were not dropped). */
int core_route_requests(struct mw_core *c, uint64_t now_ns, struct mw_event *out, int max);
/*
 * Destinations the core would have the driver probe (MW_EV_PROBE requests: netns, family,
 * flow.daddr, flow ports, size = the stuck segment's size). Each is handed out once; the driver
 * answers it with an MW_EV_PROBE result (MW_PROBE_F_SKIPPED when it does not probe).
 */
int core_probe_requests(struct mw_core *c, struct mw_event *out, int max);
/*
 * Whether our namespace's path to dst still has a standing verdict (its evidence recent): the
 * driver keeps the kernel's entry for it out of churn's reach while it does.
 */
bool core_dst_standing(struct mw_core *c, uint8_t family, const uint8_t *dst);
/* When the next route read-back is wanted (0: none): the driver wakes for it. */
uint64_t core_route_next(const struct mw_core *c);
void core_paths(struct mw_core *c, void (*fn)(const struct mw_path_summary *p, void *ctx),
		void *ctx);
uint64_t core_lost(const struct mw_core *c);
uint32_t core_findings(const struct mw_core *c, enum mw_verdict v);
const char *verdict_name(enum mw_verdict v);
/* An alarm: something is broken (icmp_blackhole, ptb_dropped, ptb_ignored, stalled_*). */
bool verdict_alarm(enum mw_verdict v);
/* How alarming a verdict is (the summary's worst-of order): higher is worse. */
int verdict_rank(enum mw_verdict v);
const char *cause_name(enum mw_cause c);
const char *ignore_name(enum mw_ignore r);
const char *iface_name(struct mw_core *c, uint32_t ifindex, char *buf, size_t len);
/* An address of family 4 or 6 as text ("?" if not): the core's words and every renderer's. */
void fmt_ip(uint8_t family, const uint8_t *a, char *buf, size_t len);

#endif /* MW_CORE_H */
