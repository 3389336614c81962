/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loads and attaches the kernel side, with fallbacks: TCX -> clsact, native XDP -> generic,
 * tp_btf -> raw_tp, optional programs dropped. What attached and what degraded is reported
 * as MW_EV_ATTACH events so that live, record and export all show it.
 *
 * The loader (loader.c: load, attach, the session's life; loader_ifaces.c: interfaces gone,
 * back, new and deleted; loader_clsact.c: clsact filters and their cleanup; loader_maps.c:
 * the ring buffer and the maps at run time) is the only
 * part of the tool that touches the kernel side: the rest asks through these functions and
 * never includes the skeleton. This header is the three files' shared one (struct
 * mw_session); loader_clsact.h is only between loader.c and loader_clsact.c.
 */
#ifndef MW_LOADER_H
#define MW_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "mtuwatch.h"
#include "netutil.h"

#define MW_MAX_IFACES 64
#define MW_MAX_ATTACH 160
#define MW_TC_PRIO 0x4d57	/* "MW": priority of our clsact filters; handles are per instance */
#define MW_TC_PRIO_FWD (MW_TC_PRIO + 1)	/* mw_tc_fwd_out's, after mw_tc_ingress */

typedef void (*mw_event_fn)(const struct mw_event *e, void *ctx);

struct mw_attach {
	char prog[32];
	char iface[MW_IFNAME_LEN];	/* "" for global programs */
	char mode[16];			/* tcx, clsact, native, generic, tp_btf, raw_tp */
	bool attached;
};

struct mw_session_opts {
	const char *ifaces[MW_MAX_IFACES];
	int nifaces;			/* 0: every up, non-loopback interface */
	bool all_netns;
	bool verbose;
	bool no_handshakes;
	bool xdp;			/* arrivals at XDP (else tc ingress, XDP only as a fallback) */
};

struct mw_session {
	struct mtuwatch_bpf *skel;
	struct ring_buffer *rb;
	struct mw_ifinfo ifaces[MW_MAX_IFACES];
	int nifaces;
	bool if_gone[MW_MAX_IFACES];
	int link_fds[3 * MW_MAX_IFACES];
	int nlink_fds;
	struct {
		int ifindex;
		uint32_t handle;
		uint16_t prio;
		bool ingress;
	} clsact[3 * MW_MAX_IFACES];		/* our clsact filters, removed at exit */
	int nclsact;
	int qdisc[MW_MAX_IFACES];		/* clsact qdiscs to remove once empty */
	int nqdisc;
	uint32_t tc_handle;			/* of our filters; also names our owner token */
	int owner_fd;				/* the token: see owner_bind() */
	bool sweep_mw_qdisc;			/* the iface being attached: qdisc is mtuwatch's */
	int said_clsact;
	int said_tc_in;				/* XDP failed and tc ingress stands in: said once */
	int watchdog;				/* pid of the child that cleans up after a kill */
	struct bpf_link *links[8];
	int nlinks;
	struct mw_attach att[MW_MAX_ATTACH];
	int natt;
	uint32_t self_netns;
	int mode[16];			/* per program role: tp_btf, raw_tp or left out */
	mw_event_fn cb;
	void *ctx;
};

/* loader.c: load, attach, and the session's life. */

/* Returns 0, or an exit code (1 runtime, 2 usage) after printing one line. */
int session_open(struct mw_session *s, const struct mw_session_opts *o, mw_event_fn cb,
		 void *ctx);
/* Emit the IFACE and ATTACH events that describe this session. */
void session_describe(struct mw_session *s, uint64_t now_ns);
void session_close(struct mw_session *s);
/* With -v: one line saying how long start-up (from exec to now) took, and its phases. */
void session_phase(const char *what);

/* loader_ifaces.c: the interfaces after start. */

/* Interfaces that vanished since the last call (printed once each). */
void session_check_ifaces(struct mw_session *s);
/* Attach again to gone interface k of s, now back under its name: 0, or -errno. */
int session_reattach(struct mw_session *s, int k);
/* Watch a device that appeared after start (links.c describes it): its index k, or -errno. */
int session_add_iface(struct mw_session *s, const struct mw_ifinfo *i);
/* Interface k's veth peer moved to another namespace (fwd) or back: follow its pod or stop. */
void session_iface_fwd(struct mw_session *s, int k, bool fwd);
/* Forget watched interface k, deleted: its links and attach results; later ones move down. */
void session_forget_iface(struct mw_session *s, int k);

/* loader_maps.c: the loaded session at run time, its ring buffer and maps. */

/* Whether s holds the kernel side (opened and loaded, not yet closed). */
bool session_loaded(const struct mw_session *s);
/* Poll the ring buffer; returns events handled or -errno. */
int session_poll(struct mw_session *s, int timeout_ms);
/* For a caller's own poll(): the descriptor that is readable when the kernel wakes us, and
 * the read of what the ring holds (events handled or -errno). */
int session_poll_fd(struct mw_session *s);
int session_consume(struct mw_session *s);
uint64_t session_counter(struct mw_session *s, int idx);
/* The kernel's exact PTB counts (map ptbs), each entry to fn; returns entries seen or -errno. */
int session_ptb_counts(struct mw_session *s,
		       void (*fn)(const struct mw_ptb_key *k, uint64_t count, void *ctx), void *ctx);
/* The labelled counters (map stats), each summed over CPUs, to fn until it returns nonzero;
 * returns 0 or -errno. */
int session_read_stats(struct mw_session *s,
		       int (*fn)(const struct mw_stat_key *k, uint64_t value, void *ctx), void *ctx);
/*
 * Tell tc egress the path MTU we know, so it reports the first packet over it (when loaded).
 * The destination moves to dsts_keep, where churn cannot evict it; alarm: a black hole's,
 * which takes the slot of a learned one when dsts_keep is full.
 */
void session_set_pmtu(struct mw_session *s, uint32_t ifindex, uint8_t family, const uint8_t *dst,
		      uint32_t mtu, bool alarm);
/*
 * Give back to dsts (evictable again, its path MTU kept) every dsts_keep entry whose finding
 * no longer stands (standing returns false); returns how many went.
 */
int session_keep_sweep(struct mw_session *s,
		       bool (*standing)(uint8_t family, const uint8_t *dst, void *ctx), void *ctx);
/*
 * Mark (on) or unmark a watched interface as the node's end of a veth whose peer is in another
 * namespace: with --all-netns, that namespace's flows are followed there (bpf/maps.h fwd_ifs).
 */
void session_set_fwd_if(struct mw_session *s, uint32_t ifindex, bool on);

/* The test binary's hook (build/test-hooks/mtuwatch only; always false in the shipped one): true when
 * MW_TEST_REFUSE names this program or pseudo-entry ("tcx", "xdp-taken"), see loader.c. */
bool mw_test_refused(const char *name);

/* loader_clsact.c: clsact filters, for kernels without TCX. */

/* mtuwatch cleanup: remove the clsact filters of dead instances on the named interfaces (all
 * of this namespace when n is 0), one line each on out; returns an exit code. */
int session_cleanup(const char *const *names, int n, FILE *out);

#endif
