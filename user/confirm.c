// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Active confirmation: the destination of a suspect path (the core names it) is probed with
 * the forward probe of `mtuwatch probe` (probe_forward.c: a small DF probe for liveness, then
 * a binary search on the size), and when neither ICMP echo nor UDP gets an answer, with a TCP
 * SYN to the flow's own port (a SYN-ACK or a RST is a sign of life). The result goes back as
 * an MW_EV_PROBE event, through the one stream: a recording holds it and report judges alike.
 *
 * The probe runs on a thread of its own, one at a time, so that the event loop keeps draining
 * the ring buffer. Budget: one confirmation per destination per CONFIRM_EVERY_NS, at most
 * CONFIRM_MAX_PROBES probes each, CONFIRM_GAP_NS apart (one probe in flight at a time: at most
 * four probes a second in all); never loopback, multicast, link-local or unspecified
 * addresses, never another namespace's path. Sockets exist only while a probe runs.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "confirm.h"
#include "loader.h"
#include "log.h"
#include "netutil.h"
#include "probe_int.h"

#define CONFIRM_EVERY_NS	(300 * 1000000000ULL)	/* per destination: 5 minutes */
#define CONFIRM_GAP_NS		(250 * 1000000ULL)	/* 4 probes a second at most */
#define CONFIRM_MAX_PROBES	16	/* 576..9000 takes 14 steps of a binary search */
#define CONFIRM_QUEUE		8
#define CONFIRM_RECENT		256
#define SYN_TIMEOUT_MS		2000

struct recent {
	uint32_t netns;
	uint8_t family;
	uint8_t dst[16];
	uint64_t at;
};

struct mw_confirm {
	uint32_t self_netns;
	struct mw_event q[CONFIRM_QUEUE];
	int nq;
	struct recent recent[CONFIRM_RECENT];
	int recent_next;
	pthread_t th;
	bool busy;
	int done;		/* set by the thread (atomic) */
	struct mw_event job, res;
};

struct mw_confirm *confirm_new(uint32_t self_netns)
{
	struct mw_confirm *cf = calloc(1, sizeof(*cf));

	if (cf)
		cf->self_netns = self_netns;
	return cf;
}

/* Addresses that are never a path's far end: this host, a group, the link, nothing. */
static bool never_probe(uint8_t family, const uint8_t *a)
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == 6 && !memcmp(a, mapped, 12))
		return never_probe(4, a + 12);
	if (family == 4)
		return a[0] == 0 || a[0] == 127 || a[0] >= 224 || (a[0] == 169 && a[1] == 254);
	return !memcmp(a, zero, 15) || a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* Was dst confirmed less than CONFIRM_EVERY_NS ago? If not, it is now. */
static bool recently(struct mw_confirm *cf, const struct mw_event *q, uint64_t now)
{
	int len = q->family == 6 ? 16 : 4;
	struct recent *r;

	for (int i = 0; i < CONFIRM_RECENT; i++) {
		r = &cf->recent[i];
		if (r->at && r->netns == q->netns && r->family == q->family &&
		    !memcmp(r->dst, q->flow.daddr, len))
			return now < r->at + CONFIRM_EVERY_NS;
	}
	r = &cf->recent[cf->recent_next++ % CONFIRM_RECENT];
	r->netns = q->netns;
	r->family = q->family;
	memcpy(r->dst, q->flow.daddr, sizeof(r->dst));
	r->at = now;
	return false;
}

/* A SYN to the flow's port: connected or refused, the host answered. */
static bool tcp_alive(const struct target *t, uint16_t port)
{
	struct sockaddr_storage sa = t->sa;
	struct linger lg = { 1, 0 };	/* close with a RST: no connection is left behind */
	struct pollfd p;
	socklen_t len = sizeof(int);
	int fd, err = 0;
	bool alive = false;

	/* The port is at the same offset in sockaddr_in6. */
	((struct sockaddr_in *)&sa)->sin_port = htons(port);
	fd = socket(t->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (!connect(fd, (struct sockaddr *)&sa, t->salen)) {
		alive = true;
	} else if (errno == ECONNREFUSED) {
		alive = true;
	} else if (errno == EINPROGRESS) {
		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, SYN_TIMEOUT_MS) == 1 &&
		    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			alive = !err || err == ECONNREFUSED;
	}
	close(fd);
	return alive;
}

/* The probe itself, in mtuwatch's own namespace. */
static int run_probe(void *arg)
{
	struct mw_confirm *cf = arg;
	const struct mw_event *q = &cf->job;
	struct mw_event *r = &cf->res;
	struct mw_ifinfo ifs[MW_MAX_IFACES];
	struct fwd_opts fo = { .method = M_AUTO, .timeout = 1, .max_probes = CONFIRM_MAX_PROBES,
			       .gap_ns = CONFIRM_GAP_NS, .quiet = true };
	struct fwd_res fr = {};
	struct target t = {};
	struct pb b = {};	/* off: the session's own programs see what comes back */
	uint32_t mtu, oif;
	bool locked;
	int n;

	t.family = q->family;
	memcpy(t.addr, q->flow.daddr, 16);
	if (t.family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t.sa;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, t.addr, 16);
		t.salen = sizeof(*s6);
		t.hdr = 60;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t.sa;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, t.addr, 4);
		t.salen = sizeof(*s4);
		t.hdr = 40;
	}
	addr_str(t.family, t.addr, t.str, sizeof(t.str));
	r->dir = MW_PROBE_F_SKIPPED;
	if (net_route_mtu(t.family, t.addr, &mtu, &oif, &locked) || !oif)
		return 0;
	n = net_ifaces(ifs, MW_MAX_IFACES);
	for (int i = 0; i < n; i++)
		if (ifs[i].ifindex == oif)
			t.ifi = ifs[i];
	if (!t.ifi.ifindex || t.ifi.loopback)
		return 0;
	r->ifindex = oif;
	/* Up to the stuck size: if that is answered, the segment was lost, not too large. */
	fo.max_size = q->size && q->size < t.ifi.mtu ? q->size : t.ifi.mtu;
	if (fo.max_size < (t.family == 6 ? 1280 : 576))
		fo.max_size = 0;
	r->dir = 0;
	if (!probe_forward(&fo, &t, &b, &fr)) {
		r->dir |= MW_PROBE_F_ALIVE;
		if (fr.exact)
			r->dir |= MW_PROBE_F_EXACT;
		r->aux2 = fr.method == M_ICMP ? MW_PROBE_ICMP : MW_PROBE_UDP;
		r->mtu = fr.lo_ok;
		r->size = fr.lost_above ? fr.hi_bad : 0;
		r->seq = fr.sent;
		if (fr.ptb_sock) {
			r->dir |= MW_PROBE_F_PTB;
			r->aux = fr.ptb_mtu;
			memcpy(r->peer, fr.ptb_from, 16);
		}
		return 0;
	}
	r->seq = fr.sent;
	if (fr.unreach) {
		r->dir |= MW_PROBE_F_UNREACH;
		memcpy(r->peer, fr.unreach_from, 16);
	}
	/* ICMP echo and UDP unanswered: a SYN to the flow's own port, where one is known. */
	if (q->flow.proto == IPPROTO_TCP && q->flow.dport && !fr.unreach) {
		r->seq++;
		if (tcp_alive(&t, q->flow.dport)) {
			r->dir |= MW_PROBE_F_ALIVE;
			r->aux2 = MW_PROBE_TCP_SYN;
		}
	}
	return 0;
}

static void *probe_thread(void *arg)
{
	struct mw_confirm *cf = arg;

	run_probe(cf);
	__atomic_store_n(&cf->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The result event of request q (its identity: namespace, destination, flow). */
static void result_of(const struct mw_event *q, struct mw_event *r)
{
	memset(r, 0, sizeof(*r));
	r->type = MW_EV_PROBE;
	r->netns = q->netns;
	r->family = q->family;
	r->flow = q->flow;
	r->ifindex = q->ifindex;
}

static void start(struct mw_confirm *cf)
{
	sigset_t all, old;

	cf->job = cf->q[0];
	memmove(&cf->q[0], &cf->q[1], --cf->nq * sizeof(cf->q[0]));
	result_of(&cf->job, &cf->res);
	cf->done = 0;
	/* Signals are the event loop's: it leaves on SIGINT while the probe finishes or not. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	cf->busy = !pthread_create(&cf->th, NULL, probe_thread, cf);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!cf->busy) {
		cf->res.dir = MW_PROBE_F_SKIPPED;
		cf->done = 1;
		cf->busy = true;
		cf->th = 0;
	}
}

void confirm_poll(struct mw_confirm *cf, const struct mw_event *req, int nreq, uint64_t now,
		  void (*emit)(const struct mw_event *e, void *ctx), void *ctx)
{
	struct mw_event r;

	for (int i = 0; i < nreq; i++) {
		const struct mw_event *q = &req[i];

		/*
		 * Another namespace's path (--all-netns) is not probed: the probe would have to
		 * run inside it, sending from a container, and would keep a namespace that is
		 * going away alive for its duration (its inode not free for the next one).
		 */
		if ((q->netns && q->netns != cf->self_netns) ||
		    never_probe(q->family, q->flow.daddr) || recently(cf, q, now) ||
		    cf->nq >= CONFIRM_QUEUE) {
			result_of(q, &r);
			r.ts_ns = now;
			r.dir = MW_PROBE_F_SKIPPED;
			emit(&r, ctx);
			continue;
		}
		cf->q[cf->nq++] = *q;
	}
	if (cf->busy && __atomic_load_n(&cf->done, __ATOMIC_ACQUIRE)) {
		if (cf->th)
			pthread_join(cf->th, NULL);
		cf->busy = false;
		cf->res.ts_ns = now;
		emit(&cf->res, ctx);
	}
	if (!cf->busy && cf->nq)
		start(cf);
}

void confirm_free(struct mw_confirm *cf)
{
	if (!cf)
		return;
	/*
	 * A probe still running is left to end with the process (it holds only its sockets):
	 * waiting for its steps would delay the exit by seconds.
	 */
	if (cf->busy && !__atomic_load_n(&cf->done, __ATOMIC_ACQUIRE))
		return;
	if (cf->busy && cf->th)
		pthread_join(cf->th, NULL);
	free(cf);
}
