/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The diagnosis core's insides: the state it keeps and what its files call across. Only the
 * user/core*.c files include this; everyone else sees core.h.
 *
 * Who calls whom (arrows point down or sideways, never back: no circle):
 *
 *   core.c            entry points (core_new, core_feed, core_route_requests, core_paths),
 *                     the host's facts, the timer, the names
 *     -> core_blackhole.c   icmp_blackhole: proofs of delivery, stuck segments, the verdict
 *     -> core_ptb.c         ptb_dropped, pmtu_learned, ptb_ignored, ptb_sent
 *     -> core_stall.c       stalled_tls / stalled_ssh: flows and their handshakes; it also
 *                           calls core_blackhole.c (a handshake or an ACK is a sign of life
 *                           and a proof of delivery for the path)
 *   core_finding.c    the finding's frame, emit, causes, the phrases the families share
 *   core_tables.c     paths and flows (slot tables), interfaces and links
 *   core_ns.c         namespace identities (inode + cookie) and their names
 *
 * core.c calls the three families, core_tables.c and core_ns.c; each family calls
 * core_finding.c and core_tables.c; core_finding.c calls core_tables.c (interface names) and
 * core_ns.c; core_tables.c calls core_ns.c (which namespace an inode stands for now);
 * core_ns.c calls nobody.
 */
#ifndef MW_CORE_INT_H
#define MW_CORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core.h"

#define MAX_PATHS 4096
#define MAX_FLOWS 4096
#define MAX_IFACES 1024	/* ours and other namespaces' (those their findings name) */
#define MAX_NSIDS 1024
#define MAX_SEGS 16
#define MAX_LINKS 64
/* A route read-back is asked this long after the event that wants it. */
#define ROUTE_DELAY_NS (100 * 1000000ULL)
/*
 * A PTB's route exception is read as soon as its event comes. A read that finds nothing
 * learned yet is made again, up to ROUTE_RETRIES times: XDP sees the PTB just before the kernel
 * handles it, and an IPv4 exception is listed only once a lookup bound a route to it (the
 * flow's next packet, or someone's `ip route get`; mtuwatch never looks up, which would make
 * listed what nobody else had). A sender that stops after the PTB (ping) leaves it unlisted
 * until such a lookup, and the path may change again soon after (pmtu.sh's next step is
 * ~60 ms later): every 20 ms for the first 160 ms, then further apart. Only reads that found
 * nothing yet are made again, batched per namespace; a TCP sender re-sends at once and is
 * listed at the first or second read.
 */
#define ROUTE_RETRIES 11
#define ROUTE_RETRY_NS(try)                                                                  \
	((try) == 1 ? 2000000ULL : (try) <= 8 ? 20000000ULL : (try) == 9 ? 100000000ULL :    \
	 (try) == 10 ? 300000000ULL : 600000000ULL)

/* A segment re-sent at the head of its flow's queue: stuck until the peer acknowledges it. */
struct stuck_seg {
	uint32_t seq;
	uint32_t size;
	uint32_t rto;		/* times it was re-sent at the head of the queue */
	uint16_t sport, dport;	/* its flow: sequence numbers mean nothing across flows */
	uint64_t first_ns;	/* first re-send */
	bool recovered;		/* acknowledged since: it got through */
	bool nodf;		/* left without DF: routers fragment it, not evidence of a size */
};

/* One kind of PTB on a path (sender, MTU, drop reason + 1 or 0 when it arrived), counted. */
struct ptb_kind {
	uint8_t peer[16];
	uint32_t mtu;
	uint32_t reason;
	uint32_t count;
};
#define MAX_PTB_KINDS 4

/* What a path has shown to get through: a size and when it was last acknowledged. */
struct proof {
	uint32_t size;
	uint64_t ns;
};

struct path {
	bool used;
	uint32_t netns;
	uint32_t nsid;				/* which namespace of the inode (core_ns.c) */
	uint8_t family;
	uint8_t dst[16];
	uint32_t ifindex;
	uint32_t max_df;
	uint32_t sent_sizes[MW_MAX_SIZES];	/* staircase of new maxima (DF_MAX) */
	uint32_t sent_seqs[MW_MAX_SIZES];	/* their TCP sequence numbers */
	uint32_t nsent;
	uint32_t retrans, large_retrans;
	uint32_t rsizes[MW_MAX_SIZES], nrsizes;
	struct stuck_seg segs[MAX_SEGS];
	uint32_t nsegs;
	uint32_t delivered_max;			/* largest re-sent segment that got through */
	uint32_t ptb_rx, ptb_dropped, ptb_sent;
	/* icmp_send reports not yet followed by their PKT_TOO_BIG drop (core_on_ptb_sent). */
	uint32_t ptb_sent_icmp;
	uint32_t ptb_mtu;
	uint32_t mtu_at_ptb;			/* route or link MTU when ptb_mtu came (0: unknown) */
	uint8_t ptb_peer[16];
	uint32_t pmtu;
	uint32_t bracket_lo, bracket_hi;
	struct proof proofs[MW_MAX_SIZES];	/* sizes acknowledged, the largest per slot */
	uint32_t nproofs;
	uint64_t alive_ns;			/* the destination last answered */
	struct ptb_kind kinds[MAX_PTB_KINDS];
	uint64_t ptb_first_ns, ptb_last_ns;
	struct mw_flow ptb_flow;		/* the first PTB's quoted flow */
	uint32_t over_after_ptb;		/* DF re-sends above the PTB's MTU since it came */
	uint32_t resent_after_ptb;		/* re-sends of any size since */
	uint32_t route_mtu;			/* last read back (0: none cached) */
	bool route_seen, route_locked;
	bool route_learned;			/* ... and it was a learned exception */
	uint32_t via_ifindex;			/* foreign namespace: our egress to dst */
	bool via_asked;
	bool ptb_judged;			/* ptb_ignored decided (found or not) */
	bool ptb_forged;			/* the PTBs do not speak for this path's ICMP */
	uint32_t ignored_reasons;		/* bitmask of enum mw_ignore reported */
	uint8_t causes[MW_MAX_CAUSES];		/* of the path's alarm, for its stalls */
	uint8_t ncauses;
	uint64_t route_due;			/* route read-back wanted at this time */
	bool route_in_ns;			/* ...in the path's namespace (a PTB's) */
	uint8_t route_tries;			/* reads since the last PTB event */
	/*
	 * A local overlay (ifindex) carries this path and could not send its packets whole: the
	 * kernel's tunnel lowers the path's route MTU itself, no PTB (core_overlay_read).
	 * encap_mtu: what fits in it now (0: not known), encap_under: its underlay path's dst.
	 */
	uint32_t encap_ifindex, encap_mtu;
	uint8_t encap_under[16];
	/*
	 * Confirmation (core_blackhole.c): asked for a suspect path once, answered by an
	 * MW_EV_PROBE result from the driver (live, record) or the recording (report).
	 */
	uint8_t confirm;			/* enum confirm_state */
	uint16_t confirm_sport, confirm_dport;	/* the suspect flow's */
	uint32_t confirm_size;			/* the stuck segment's size */
	uint8_t probe_flags, probe_method;	/* MW_PROBE_F_*, enum mw_probe_method */
	uint32_t probe_mtu, probe_lost, probes;
	uint8_t probe_peer[16];
	uint64_t last_ns;
	uint32_t reported;			/* bitmask of verdicts reported */
	uint32_t dropped_reasons[4];		/* reasons already reported */
	enum mw_verdict worst;
	/*
	 * The verdict that stands now (core_paths, the exporter's gauge): unlike worst, it
	 * lapses MW_VERDICT_HOLD_S after its evidence last came (core_evidence), or at once
	 * when the evidence is contradicted (a black hole's size acknowledged).
	 */
	enum mw_verdict standing;
	uint8_t standing_cause;
	uint64_t standing_ns, evidence_ns;
	bool pmtu_known;			/* pmtu learned or measured, not a bracket's end */
};

enum confirm_state {
	CONFIRM_NONE = 0,
	CONFIRM_WANTED,		/* core_probe_requests hands it out */
	CONFIRM_ASKED,		/* the driver has it */
	CONFIRM_DONE,		/* its result came (MW_EV_PROBE) */
};

struct flow {
	bool used;
	uint32_t netns;
	uint32_t nsid;
	struct mw_flow f;	/* local -> remote */
	uint8_t app;
	int client;		/* -1 unknown, 1 we are the client, 0 the server */
	uint32_t steps[2];	/* SSH: bitmask of SSH_SEEN_* per direction */
	bool server_hello_in, server_hello_out;
	bool done;
	bool reported;
	bool closing;		/* FIN sent or received: never a stall */
	uint64_t start_ns, progress_ns;
	uint32_t mss_local, mss_peer;
	uint32_t max_seg[2];
	uint32_t ifindex;
	uint32_t rsizes[MW_MAX_SIZES], nrsizes;
	uint32_t retrans, small_retrans;
	uint32_t bytes_sent, bytes_acked;	/* of our data, from the first payload byte */
	uint32_t unacked_resends;	/* re-sends since the peer last acknowledged anything */
};

struct iface {
	uint32_t nsid;		/* 0: ours; else another namespace's (core_ns.c) */
	uint32_t ifindex;
	uint32_t mtu;
	char name[MW_IFNAME_LEN];
};

/* An overlay's outer packet this host could not send, and the inner destination it carried. */
struct encap {
	uint8_t family;
	uint8_t dst[16];
	uint32_t lower_mtu, overhead, inner;
	char lower[MW_IFNAME_LEN];
};
#define MAX_ENCAPS 16

/* What lies under a watched interface (MW_EV_LINK). */
struct link {
	uint32_t ifindex;
	uint32_t kind;		/* enum mw_link_kind */
	uint32_t mtu, lower_mtu, overhead;
	uint32_t lower_ifindex;	/* 0: not known */
	char name[MW_IFNAME_LEN], lower[MW_IFNAME_LEN];
};

/*
 * One namespace identity: an inode and, where known, its cookie. The kernel hands an inode
 * number to a new namespace as soon as the old one died, so an inode alone can stand for two:
 * each gets its own serial (nsid, from 1; 0 is mtuwatch's own namespace), and paths, flows and
 * interfaces are kept per nsid. current: the one the inode stands for now.
 */
struct nsid {
	uint32_t serial;
	uint32_t inode;
	bool current;
	struct mw_ns_label l;
};

/*
 * Index of a slot table (paths, flows): hash chains for O(1) lookups and a recency list for
 * O(1) eviction, kept beside the slots so that the slots stay plain data. Links are slot
 * numbers + 1 (0: none), so a zeroed table is an empty one.
 */
#define TAB_BUCKETS 8192	/* power of two, twice the slots: short chains */

struct tab_link {
	uint32_t hnext;		/* next slot in the same bucket */
	uint32_t newer, older;	/* recency list */
	uint32_t bucket;
	bool linked;		/* in a bucket and the recency list */
	bool spared;		/* in the spared list instead (paths: core_tables.c) */
};

struct slot_tab {
	uint32_t head[TAB_BUCKETS];
	uint32_t newest, oldest;
	uint32_t free;		/* slots released while linked, chained through hnext */
	uint32_t spared_newest, spared_oldest;	/* a second recency list, evicted from last */
};

struct mw_core {
	struct mw_core_opts o;
	struct path paths[MAX_PATHS];
	struct flow flows[MAX_FLOWS];
	struct iface ifaces[MAX_IFACES];
	int nifaces;
	struct link links[MAX_LINKS];
	int nlinks;
	struct encap encaps[MAX_ENCAPS];
	int nencaps, encap_next;
	/* the namespace's settings and counters (mtuwatch's own namespace) */
	int32_t mtu_probing, no_pmtu_disc;	/* -1: unknown */
	uint64_t snmp_ns[4];			/* last rise of each enum mw_snmp */
	int paths_hw, flows_hw;		/* one past the highest slot ever used */
	struct slot_tab ptab, ftab;
	struct tab_link plink[MAX_PATHS], flink[MAX_FLOWS];
	uint64_t hash_seed;
	struct nsid nsids[MAX_NSIDS];
	int nnsids, nsid_next;
	uint32_t nsid_serial;			/* last serial handed out */
	uint32_t nsc_inode, nsc_serial;		/* last lookup: events come in runs */
	uint32_t last_flow;		/* slot + 1 that core_flow_get() returned last */
	uint64_t now;
	uint64_t lost;
	uint32_t nfind[MW_V_MAX];
};

static inline int addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

/* Is netns the one mtuwatch judges by default (its devices, routes and counters are known)? */
static inline bool self_ns(const struct mw_core *c, uint32_t netns)
{
	return !c->o.self_netns || netns == c->o.self_netns;
}

/* core_ns.c */
void core_ns_event(struct mw_core *c, const struct mw_event *e);
uint32_t core_nsid(struct mw_core *c, uint32_t netns);
const struct nsid *core_ns_get(const struct mw_core *c, uint32_t serial);

/* core_tables.c */
struct iface *core_iface_get(struct mw_core *c, uint32_t ifindex);
/*
 * Inside the core, an ifindex of ours carried by another namespace's event (MW_DIR_F_NODE_IF:
 * a pod's flow seen at our end of its veth) has this bit set: it names our interface, never
 * one of that namespace's with the same number. Real ifindexes are positive ints.
 */
#define MW_IFX_NODE	0x80000000u
struct iface *core_iface_get_ns(struct mw_core *c, uint32_t nsid, uint32_t ifindex);
void core_iface_drop(struct mw_core *c, uint32_t nsid, uint32_t ifindex);
void core_ns_iface(struct mw_core *c, uint32_t nsid, uint32_t ifindex, char *buf, size_t len);
struct link *core_link_get(struct mw_core *c, uint32_t ifindex);
struct path *core_path_get(struct mw_core *c, uint32_t netns, uint8_t family,
			   const uint8_t *dst, bool create);
struct path *core_path_get_id(struct mw_core *c, uint32_t netns, uint32_t nsid, uint8_t family,
			      const uint8_t *dst, bool create);
void core_path_touch(struct mw_core *c, struct path *p, uint32_t ifindex);
struct flow *core_flow_get(struct mw_core *c, uint32_t netns, const struct mw_flow *f,
			   bool create);

/* core_finding.c */
void core_finding_ns(struct mw_core *c, struct mw_finding *f, uint32_t nsid);
void core_finding_init(struct mw_core *c, struct mw_finding *f, enum mw_verdict v,
		       uint32_t netns, uint8_t family, const uint8_t *dst, uint32_t ifindex);
void core_emit(struct mw_core *c, struct mw_finding *f, struct path *p);
void core_add_cause(uint8_t *causes, uint8_t *n, enum mw_cause cause);
void core_evidence(struct mw_core *c, struct path *p, enum mw_verdict v);
bool core_standing(const struct mw_core *c, const struct path *p);
void core_ping_cmd(uint8_t family, const char *dst, uint32_t mtu, char *buf, size_t len);
const char *core_ptb_words(uint8_t family);
const char *core_clamp_cmd(uint8_t family);

/* core_blackhole.c */
void core_path_alive(struct mw_core *c, uint32_t netns, uint8_t family, const uint8_t *dst);
void core_delivered(struct mw_core *c, const struct mw_event *e, uint32_t size);
void core_check_blackhole(struct mw_core *c, struct path *p);
void core_on_df_max(struct mw_core *c, const struct mw_event *e);
void core_on_retrans(struct mw_core *c, const struct mw_event *e);
void core_on_recovered(struct mw_core *c, const struct mw_event *e);
void core_on_delivered(struct mw_core *c, const struct mw_event *e);
void core_on_probe(struct mw_core *c, const struct mw_event *e);

/* core_ptb.c */
void core_on_ptb_drop(struct mw_core *c, const struct mw_event *e);
void core_on_ptb_rx(struct mw_core *c, const struct mw_event *e);
void core_on_route(struct mw_core *c, const struct mw_event *e);
void core_overlay_known(struct mw_core *c, const struct link *l);
void core_overlay_read(struct mw_core *c, struct path *p, uint32_t overlay, uint32_t mtu,
		       const uint8_t *under);
void core_check_ptb_ignored(struct mw_core *c, struct path *p);
void core_on_ptb_sent(struct mw_core *c, const struct mw_event *e);

/* core_stall.c */
void core_on_hs_steps(struct mw_core *c, const struct mw_event *e);
void core_on_seg_max(struct mw_core *c, const struct mw_event *e);
void core_on_acked(struct mw_core *c, const struct mw_event *e);
void core_on_state(struct mw_core *c, const struct mw_event *e);
void core_check_stall(struct mw_core *c, struct flow *x);

#endif /* MW_CORE_INT_H */
