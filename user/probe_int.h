/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `mtuwatch probe`, user side: what its rooms share. probe.h is the part the kernel includes
 * too (bpf/probe.bpf.c); this one is user space only. The command (probe.c: options, target,
 * results, rendering) sits on the forward probe (probe_forward.c) and the TCP probes
 * (probe_tcp.c), which both sit on the eBPF evidence (probe_ebpf.c); arrows point down only:
 * what a probe has to say while it runs (-v step lines) goes up through a callback.
 */
#ifndef MW_PROBE_INT_H
#define MW_PROBE_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "netutil.h"
#include "probe.h"
#include "reasons.h"

enum method { M_AUTO, M_ICMP, M_UDP };

struct popts {
	const char *target;
	char host[256];
	int port;		/* -1: none given */
	int family;		/* 0, 4, 6 */
	enum method method;
	bool tcp, ptb_test, json, help;
	int verbose;
	const char *http;
	double timeout;		/* seconds per step; 0: mode default */
	long max_probes;
	long max_size;		/* 0: the egress interface's MTU */
	long ptb_mtu;
};

struct target {
	int family;		/* 4 or 6 */
	struct sockaddr_storage sa;
	socklen_t salen;
	uint8_t addr[16];
	char str[INET6_ADDRSTRLEN];
	struct mw_ifinfo ifi;	/* the route's egress interface */
	int hdr;		/* IP + TCP header bytes (40 or 60) */
};

/* One step seen (step n, a size-byte packet, its result): said by the command, not the probe. */
typedef void probe_step_fn(void *ctx, int n, int size, const char *res, const char *detail);

struct probe_steps {
	probe_step_fn *fn;	/* NULL: nobody listens */
	void *ctx;
};

static inline void probe_step(const struct probe_steps *st, int n, int size, const char *res,
			      const char *detail)
{
	if (st && st->fn)
		st->fn(st->ctx, n, size, res, detail);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline void addr_str(int family, const uint8_t *a, char *buf, size_t len)
{
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, len);
}

/* The Internet checksum: ICMPv4 probes and Packet Too Big (the kernel sums ICMPv6). */
static inline uint16_t csum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (p[0] << 8) | p[1];
	if (n)
		s += p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s & 0xffff);
}

/* ---- eBPF evidence (probe_ebpf.c) ------------------------------------------------------------ */

struct pb {
	struct probe_bpf *skel;
	struct ring_buffer *rb;
	struct mw_probe_cfg cfg;
	struct mw_reasons reasons;
	bool reasons_ok;
	int tc_fd;		/* the TCX or XDP link */
	struct bpf_link *drop;
	bool on;
};

/* Every pb_ call but pb_open is a no-op while the eBPF side is off (b->on false). */
int pb_open(struct pb *b, const struct target *t, bool xdp, ring_buffer_sample_fn seg_cb,
	    void *ctx, int verbose, const char **what);
void pb_close(struct pb *b);
void pb_set_cfg(struct pb *b);
void pb_reset(struct pb *b);
void pb_stats(struct pb *b, struct mw_probe_stats *s);
const char *pb_reason(struct pb *b, uint32_t r, char *buf, size_t len);

/* ---- forward path (probe_forward.c) ---------------------------------------------------------- */

struct fwd_opts {
	enum method method;	/* M_AUTO: ICMP echo, else UDP */
	double timeout;		/* seconds per step */
	long max_probes;
	long max_size;		/* 0: the egress interface's MTU */
	struct probe_steps steps;
	char *note;		/* said (and cleared) once a probe socket is open; may be NULL */
	uint64_t gap_ns;	/* between probes (0: 100 ms, 10 a second) */
	bool quiet;		/* say nothing (live's confirmation): the result says it */
};

struct fwd_res {
	enum method method;	/* the one that measured: M_ICMP or M_UDP */
	int limit, base, lo_ok, hi_bad, probes;
	int sent;		/* probes of every method tried (probes: the last one's) */
	int lost_above;		/* the largest size that vanished */
	bool exact;
	/* a PTB the socket got */
	bool ptb_sock;
	uint32_t ptb_mtu;
	uint8_t ptb_from[16];
	/* eBPF: a PTB that arrived at the interface / that this host dropped */
	bool ptb_in, ptb_drop;
	uint32_t in_mtu, drop_mtu, drop_reason;
	uint8_t in_from[16], drop_from[16];
	uint32_t step_mtu;	/* MTU of a PTB the eBPF side saw in the last step */
	bool unreach;
	int type, code;
	uint8_t unreach_from[16];
};

/*
 * The forward path MTU toward t: DF probes of a binary search, ICMP echo else UDP for
 * M_AUTO. b may be off (no eBPF evidence). 0: r holds the result; 1: no result (said why).
 */
int probe_forward(const struct fwd_opts *fo, const struct target *t, struct pb *b,
		  struct fwd_res *r);

/* ---- TCP (probe_tcp.c) ----------------------------------------------------------------------- */

/* The reverse path's search, as the result reads it. */
struct rev_res {
	int limit, lo_ok, hi_bad, steps;
	int capped;		/* the far host sends no larger segments than this */
	int silent_above;	/* segments above hi_bad - 1 died on the way */
	int arrived;		/* the largest segment that reached the interface */
	uint64_t drops_here;
	uint32_t drop_reason;
};

/* Reverse path MTU from t (o->port): 0: r holds the result; 1: no result (said why). */
int probe_reverse(const struct popts *o, const struct target *t, struct pb *b,
		  const struct probe_steps *st, struct rev_res *r);

/* --ptb-test: its state while it runs, its outcome (scamper's names) after. */
struct ptbt {
	const struct popts *o;
	const struct target *t;
	struct pb *b;
	const struct probe_steps *st;
	int raw;
	int state;		/* 0: waiting for a full-size segment; 1: PTB sent */
	uint32_t seq0, first_len, max_len, retx_len;
	bool retx_df, data;
	int ptbs, steps;
	uint64_t t_ptb, tmo, *deadline;
	const char *outcome;
	char why[200];
};

/* The ring buffer callback pb_open takes for --ptb-test (ctx: the struct ptbt). */
int ptbt_on_seg(void *ctx, void *data, size_t len);
/* 0: p->outcome holds the result; 1: the test could not run (said why). */
int run_ptb_test(const struct popts *o, const struct target *t, struct pb *b, int raw,
		 struct ptbt *p);

#endif
