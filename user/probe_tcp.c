// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch probe --tcp: the far host's segments toward us. The reverse path MTU: the kernel's
 * own TCP with a chosen MSS, a large answer elicited (TLS ClientHello or HTTP GET), arriving
 * segment sizes seen at ingress, a binary search on the MSS. --ptb-test: does the far host
 * honour Packet Too Big? XDP drops its full-size segment, we send a PTB quoting it, the
 * retransmission tells. Both fill a result for probe.c to render; they render nothing (the -v
 * step lines go through a struct probe_steps).
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "probe_int.h"

#define TCP_READ_MAX	(1 << 20)	/* bytes read per TCP step, at most */
#define PTB_MAX_SENT	3		/* PTBs per --ptb-test */

/* ---- TCP: a large answer from the far host --------------------------------------------------- */

/*
 * A TLS 1.2 ClientHello (no supported_versions: the server answers in plaintext up to
 * ServerHelloDone, so we see where its flight ends). SNI only for a name, not an address.
 */
static size_t tls_hello(uint8_t *b, const char *host)
{
	static const uint16_t suites[] = { 0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0x009e,
					   0x009f, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035 };
	static const uint8_t exts[] = {
		0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
		0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,
		0x00, 0x0d, 0x00, 0x16, 0x00, 0x14, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x08, 0x04,
		0x08, 0x05, 0x08, 0x06, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x02, 0x01,
		0x00, 0x17, 0x00, 0x00,
		0xff, 0x01, 0x00, 0x01, 0x00,
	};
	struct in6_addr tmp;
	size_t n = 0, hs, ext, hl = strlen(host);
	bool sni = hl < 200 && inet_pton(AF_INET, host, &tmp) != 1 &&
		   inet_pton(AF_INET6, host, &tmp) != 1;

	b[n++] = 0x16, b[n++] = 0x03, b[n++] = 0x01, n += 2;	/* record; length later */
	hs = n;
	b[n++] = 0x01, n += 3;					/* ClientHello */
	b[n++] = 0x03, b[n++] = 0x03;
	for (int i = 0; i < 32; i++)
		b[n++] = rand() & 0xff;
	b[n++] = 0;						/* no session id */
	b[n++] = 0, b[n++] = sizeof(suites);
	for (size_t i = 0; i < sizeof(suites) / 2; i++)
		b[n++] = suites[i] >> 8, b[n++] = suites[i] & 0xff;
	b[n++] = 1, b[n++] = 0;					/* null compression */
	ext = n;
	n += 2;
	if (sni) {
		b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = hl + 5;
		b[n++] = 0, b[n++] = hl + 3, b[n++] = 0, b[n++] = 0, b[n++] = hl;
		memcpy(b + n, host, hl);
		n += hl;
	}
	memcpy(b + n, exts, sizeof(exts));
	n += sizeof(exts);
	b[ext] = (n - ext - 2) >> 8, b[ext + 1] = (n - ext - 2) & 0xff;
	b[hs + 1] = 0, b[hs + 2] = (n - hs - 4) >> 8, b[hs + 3] = (n - hs - 4) & 0xff;
	b[3] = (n - 5) >> 8, b[4] = (n - 5) & 0xff;
	return n;
}

/* Has the server's TLS flight ended (ServerHelloDone, or an alert)? */
static bool tls_done(const uint8_t *s, size_t n, bool *alert)
{
	static uint8_t hs[1 << 16];
	size_t off = 0, hn = 0;

	while (off + 5 <= n) {
		size_t len = (s[off + 3] << 8) | s[off + 4];

		if (s[off] == 0x15) {
			*alert = true;
			return true;
		}
		if (off + 5 + len > n)
			len = n - off - 5;	/* a partial record: its handshake bytes so far */
		if (s[off] == 0x16 && hn + len <= sizeof(hs)) {
			memcpy(hs + hn, s + off + 5, len);
			hn += len;
		}
		off += 5 + len;
	}
	for (size_t m = 0; m + 4 <= hn;) {
		size_t len = (hs[m + 1] << 16) | (hs[m + 2] << 8) | hs[m + 3];

		if (hs[m] == 14)
			return true;
		m += 4 + len;
	}
	return false;
}

static size_t request(const struct popts *o, uint8_t *b, size_t len)
{
	if (o->http)
		return snprintf((char *)b, len, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
				"mtuwatch-probe/" MW_VERSION "\r\nAccept: */*\r\nConnection: close"
				"\r\n\r\n", o->http, o->host);
	return tls_hello(b, o->host);
}

/* Connect with MSS mss (0: the kernel's), our port told to the eBPF side first. -errno. */
static int tcp_connect(const struct popts *o, const struct target *t, struct pb *b, int mss,
		       uint64_t deadline)
{
	struct sockaddr_storage me = {};
	socklen_t ml = sizeof(me);
	struct linger lg = { 1, 0 };	/* close with RST: no far-side state left behind */
	struct pollfd p;
	int fd, err = 0, one = 1;

	fd = socket(t->family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -errno;
	if (mss && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)))
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	me.ss_family = t->sa.ss_family;
	if (bind(fd, (struct sockaddr *)&me, t->salen) ||
	    getsockname(fd, (struct sockaddr *)&me, &ml))
		goto fail;
	b->cfg.lport = ((struct sockaddr_in *)&me)->sin_port;	/* same offset for IPv6 */
	b->cfg.rport = htons(o->port);
	pb_set_cfg(b);
	pb_reset(b);
	if (connect(fd, (struct sockaddr *)&t->sa, t->salen) && errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){ fd, POLLOUT, 0 };
	for (;;) {
		uint64_t n = now_ns();
		int k;

		if (n >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		k = poll(&p, 1, (deadline - n + 999999) / 1000000);
		if (k > 0)
			break;
		if (k < 0 && errno != EINTR)
			goto fail;
	}
	ml = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &ml);
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

struct trial {
	size_t bytes;
	bool complete, alert, ssh;
	struct mw_probe_stats s;
};

/* Read the answer until it is complete, the step's time is up, or tick says stop. */
static void tcp_read(int fd, bool http, const uint64_t *deadline, struct trial *tr,
		     bool (*tick)(void *), void *ctx)
{
	static uint8_t buf[TCP_READ_MAX];

	while (!tr->complete && tr->bytes < sizeof(buf)) {
		uint64_t n = now_ns();
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k;

		if (n >= *deadline || (tick && tick(ctx)))
			break;
		if (poll(&p, 1, tick ? 20 : (*deadline - n + 999999) / 1000000) <= 0)
			continue;
		k = recv(fd, buf + tr->bytes, sizeof(buf) - tr->bytes, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			tr->complete = k == 0;
			break;
		}
		tr->bytes += k;
		if (tr->bytes >= 4 && !memcmp(buf, "SSH-", 4))
			tr->ssh = true;
		/* A first flight is a few kB; past 64 kB it is not a TLS 1.2 server's flight. */
		if (!http && (tr->bytes >= 65536 || tls_done(buf, tr->bytes, &tr->alert)))
			tr->complete = true;
	}
}

/* One reverse-path step: MSS mss; returns -errno when it could not connect. */
static int tcp_trial(const struct popts *o, const struct target *t, struct pb *b, int mss,
		     uint64_t tmo, struct trial *tr)
{
	uint8_t req[1024];
	uint64_t deadline = now_ns() + tmo;
	size_t n;
	int fd;

	memset(tr, 0, sizeof(*tr));
	fd = tcp_connect(o, t, b, mss, deadline);
	if (fd < 0)
		return fd;
	n = request(o, req, sizeof(req));
	if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n) {
		int err = -errno;

		close(fd);
		return err;
	}
	tcp_read(fd, o->http, &deadline, tr, NULL, NULL);
	pb_stats(b, &tr->s);
	close(fd);
	return 0;
}

int probe_reverse(const struct popts *o, const struct target *t, struct pb *b,
		  const struct probe_steps *st, struct rev_res *r)
{
	uint64_t tmo = (uint64_t)(o->timeout * 1e9);
	int limit = o->max_size ? o->max_size : (long)t->ifi.mtu;
	int base = t->family == 6 ? 1280 : 576;
	int lo_ok, hi_bad = limit + 1, size, steps = 0, capped = 0, silent_above = 0, err;
	int arrived = 0;	/* the largest segment that reached the interface */
	uint64_t drops_here = 0;
	uint32_t drop_reason = 0;
	char detail[256], rb[32];
	struct trial tr;

	if (base > limit)
		base = limit;
	size = base;
	lo_ok = 0;
	while (steps < o->max_probes && hi_bad - lo_ok > 1) {
		const char *res;

		steps++;
		err = tcp_trial(o, t, b, size - t->hdr, tmo, &tr);
		if (err) {
			pr_warn("Cannot connect to %s port %d: %s\n", t->str, o->port,
				strerror(-err));
			return 1;
		}
		if (tr.s.seg_drop) {
			drops_here += tr.s.seg_drop;
			drop_reason = tr.s.seg_drop_reason;
		}
		if (tr.ssh) {
			pr_warn("%s port %d is an SSH server: it sends nothing large before key "
				"exchange -- probe a TLS or HTTP port of the same host\n", t->str,
				o->port);
			return 1;
		}
		if ((int)tr.s.seg_max > arrived)
			arrived = tr.s.seg_max;
		/*
		 * Full-size segments reached the interface: they fit the path, unless this host
		 * dropped them (a firewall, say) and the answer stalled here: then, for the
		 * application, they did not fit.
		 */
		if (tr.s.seg_max >= (uint32_t)size && !(tr.s.seg_drop && !tr.complete)) {
			res = "fits";
			lo_ok = size;
			snprintf(detail, sizeof(detail), "%llu segments, largest %u, %zu bytes%s",
				 (unsigned long long)tr.s.seg_in, tr.s.seg_max, tr.bytes,
				 tr.complete ? ", answer complete" : "");
		} else if (tr.complete) {
			/* The far host sends nothing this big: above that it cannot be tested. */
			res = "answer complete, smaller segments";
			snprintf(detail, sizeof(detail), "largest segment %u, %zu bytes%s",
				 tr.s.seg_max, tr.bytes, tr.alert ? " (TLS alert)" : "");
			if (size == base) {
				probe_step(st, steps, size, res, detail);
				pr_warn("%s port %d answers too little to measure (%zu bytes, "
					"largest segment %u) -- use --http PATH with a larger "
					"object\n", t->str, o->port, tr.bytes, tr.s.seg_max);
				return 1;
			}
			if ((int)tr.s.seg_max > lo_ok)
				lo_ok = tr.s.seg_max;
			capped = lo_ok;
			hi_bad = lo_ok + 1;
		} else {
			res = tr.s.seg_drop ? "dropped here" : "too big";
			if (size == base) {
				probe_step(st, steps, size, "no complete answer", "");
				pr_warn("%s port %d sent no complete answer in %.1fs even with MSS "
					"%d (%zu bytes) -- is it a %s server? try --timeout\n",
					t->str, o->port, o->timeout, size - t->hdr, tr.bytes,
					o->http ? "HTTP" : "TLS");
				return 1;
			}
			hi_bad = size;
			silent_above = 1;
			snprintf(detail, sizeof(detail), "answer stalled after %zu bytes; largest "
				 "segment that arrived %u%s%s", tr.bytes, tr.s.seg_max,
				 tr.s.seg_drop ? ", dropped on this host: " : "",
				 tr.s.seg_drop ?
					 pb_reason(b, tr.s.seg_drop_reason, rb, sizeof(rb)) : "");
		}
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), " (MSS %d)",
			 size - t->hdr);
		probe_step(st, steps, size, res, detail);
		size = steps == 1 ? limit : lo_ok + (hi_bad - lo_ok) / 2;
	}
	*r = (struct rev_res){ .limit = limit, .lo_ok = lo_ok, .hi_bad = hi_bad, .steps = steps,
			       .capped = capped, .silent_above = silent_above, .arrived = arrived,
			       .drops_here = drops_here, .drop_reason = drop_reason };
	return 0;
}

/* ---- TCP: does the far host honour Packet Too Big? ------------------------------------------- */

static int send_ptb(struct ptbt *p, const struct mw_probe_seg *e)
{
	uint8_t buf[8 + MW_PROBE_QUOTE] = {};
	struct sockaddr_storage sa = p->t->sa;
	uint32_t mtu = p->o->ptb_mtu, q = e->qlen > MW_PROBE_QUOTE ? MW_PROBE_QUOTE : e->qlen;
	char d[160];

	((struct sockaddr_in *)&sa)->sin_port = 0;
	if (p->t->family == 4) {
		uint16_t c;

		buf[0] = ICMP_DEST_UNREACH;
		buf[1] = ICMP_FRAG_NEEDED;
		buf[6] = mtu >> 8;
		buf[7] = mtu & 0xff;
		memcpy(buf + 8, e->quote, q);
		c = csum16(buf, 8 + q);
		memcpy(buf + 2, &c, 2);
	} else {
		uint32_t m = htonl(mtu);

		buf[0] = ICMP6_PACKET_TOO_BIG;
		memcpy(buf + 4, &m, 4);
		memcpy(buf + 8, e->quote, q);	/* the kernel sums ICMPv6 */
	}
	p->ptbs++;
	p->t_ptb = now_ns();
	*p->deadline = p->t_ptb + p->tmo;	/* the host gets a step's time to answer it */
	snprintf(d, sizeof(d), "seq %u, DF, dropped at ingress; Packet Too Big #%d (mtu %u) sent",
		 e->seq, p->ptbs, mtu);
	probe_step(p->st, ++p->steps, e->len,
		  p->ptbs == 1 ? "full-size segment" : "retransmitted, still too big", d);
	if (sendto(p->raw, buf, 8 + q, 0, (struct sockaddr *)&sa, p->t->salen) < 0) {
		pr_warn("Cannot send the Packet Too Big to %s: %s\n", p->t->str, strerror(errno));
		return -1;
	}
	return 0;
}

int ptbt_on_seg(void *ctx, void *data, size_t len)
{
	struct ptbt *p = ctx;
	const struct mw_probe_seg *e = data;
	uint32_t mtu = p->o->ptb_mtu;
	char d[160];
	bool covers;

	if (p->outcome || len < sizeof(*e))
		return 0;
	if (e->frag) {
		p->outcome = p->state ? "cleardf" : "nodf";
		snprintf(p->why, sizeof(p->why), "a %u-byte fragment arrived", e->len);
		return 0;
	}
	if (!e->payload)
		return 0;
	p->data = true;
	if (e->len > p->max_len)
		p->max_len = e->len;
	if (p->state == 0) {
		if (e->dropped) {
			p->seq0 = e->seq;
			p->first_len = e->len;
			p->state = 1;
			if (send_ptb(p, e))
				p->outcome = "error";
		} else if (e->len > mtu && !e->df) {
			p->outcome = "nodf";
			p->first_len = e->len;
			snprintf(d, sizeof(d), "seq %u without DF: passed, nothing to answer",
				 e->seq);
			probe_step(p->st, ++p->steps, e->len, "full-size segment", d);
		}
		return 0;
	}
	/* After the PTB: only the retransmission of the dropped byte judges. */
	covers = e->seq == p->seq0 || ((int32_t)(e->seq - p->seq0) < 0 &&
				       (int32_t)(e->seq + e->payload - p->seq0) > 0);
	if (!covers || e->ts < p->t_ptb)
		return 0;
	p->retx_len = e->len;
	p->retx_df = e->df;
	if (e->len <= mtu) {
		p->outcome = "success";
	} else if (!e->df) {
		p->outcome = "cleardf";
	} else if (p->ptbs < PTB_MAX_SENT) {
		if (send_ptb(p, e))
			p->outcome = "error";
		return 0;
	} else {
		p->outcome = "fail";
	}
	snprintf(d, sizeof(d), "seq %u, %u bytes, DF %s", e->seq, e->len, e->df ? "set" : "clear");
	probe_step(p->st, ++p->steps, e->len, "retransmission", d);
	return 0;
}

static bool ptb_tick(void *ctx)
{
	struct ptbt *p = ctx;

	ring_buffer__consume(p->b->rb);
	return p->outcome != NULL;
}

int run_ptb_test(const struct popts *o, const struct target *t, struct pb *b, int raw,
		 struct ptbt *p)
{
	uint64_t tmo = (uint64_t)(o->timeout * 1e9), deadline;
	uint8_t req[1024];
	struct trial tr = {};
	size_t n;
	int fd;

	fd = tcp_connect(o, t, b, 0, now_ns() + tmo);
	if (fd < 0) {
		pr_warn("Cannot connect to %s port %d: %s\n", t->str, o->port, strerror(-fd));
		return 1;
	}
	/* Armed only now: the handshake passes, the answer's full-size segments do not. */
	b->cfg.drop = 1;
	b->cfg.drop_above = o->ptb_mtu;
	b->cfg.max_drops = 16;
	pb_set_cfg(b);
	n = request(o, req, sizeof(req));
	if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n) {
		pr_warn("Cannot send the request to %s: %s\n", t->str, strerror(errno));
		close(fd);
		return 1;
	}
	deadline = now_ns() + tmo;
	p->tmo = tmo;
	p->deadline = &deadline;
	/* Past the end of the answer the host may still retransmit: keep watching till the time. */
	while (!p->outcome && now_ns() < deadline) {
		tcp_read(fd, o->http, &deadline, &tr, ptb_tick, p);
		ring_buffer__consume(b->rb);
		if (tr.complete && !p->state)
			break;
		if (tr.complete)
			usleep(20000);
	}
	if (!p->outcome) {
		if (p->state)
			p->outcome = p->ptbs >= PTB_MAX_SENT ? "fail" : "noretransmit";
		else
			p->outcome = p->data ? "toosmall" : "nodata";
	}
	b->cfg.drop = 0;
	pb_set_cfg(b);
	close(fd);
	return 0;
}
