// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch probe: the forward path MTU toward one host. A binary search with DF probes (ICMP
 * echo or UDP, IP_PMTUDISC_PROBE + IP_RECVERR); the eBPF side, when it is on, tells "no PTB
 * came" from "a PTB came and this host dropped it". probe_forward() probes one destination and
 * fills a struct fwd_res; it renders nothing (the -v step lines go through fo->steps).
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include "log.h"
#include "probe_int.h"

#define PROBE_GAP_NS	100000000ULL	/* at most 10 probes a second */
#define PROBE_MAGIC	0x6d777062u	/* "mwpb": our payload, to match answers */

static void sleep_until(uint64_t t)
{
	uint64_t n = now_ns();

	if (t > n) {
		struct timespec ts = { (t - n) / 1000000000ULL, (t - n) % 1000000000ULL };

		nanosleep(&ts, NULL);
	}
}

#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#define UDP_PORT_DEFAULT 33434	/* traceroute's: nobody listens there, the host says so */

enum fres { F_NONE, F_FIT, F_PTB, F_LOST, F_LOCAL, F_UNREACH };
static const char *fres_name[] = { "none", "fits", "too big", "lost", "local mtu", "unreachable" };

struct fwd {
	int fd;
	enum method m;
	bool raw;		/* raw ICMP socket (IPv4 answers carry the IP header) */
	const struct target *t;
	uint16_t id, seq;
	uint64_t last_send;
	uint64_t gap;		/* between two probes */
	/* what the last answer said */
	uint32_t mtu;
	uint8_t from[16];
	bool from_ok;
	int type, code;
};

/* Returns 0, or -errno (EPERM/EACCES: not allowed). */
static int fwd_open(struct fwd *f, const struct target *t, enum method m)
{
	int fam = t->family == 6 ? AF_INET6 : AF_INET, one = 1, v, fd;
	struct sockaddr_storage sa = t->sa;

	memset(f, 0, sizeof(*f));
	f->t = t;
	f->m = m;
	f->id = getpid() & 0xffff;
	if (m == M_ICMP) {
		int proto = t->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;

		fd = socket(fam, SOCK_RAW | SOCK_CLOEXEC, proto);
		if (fd >= 0)
			f->raw = true;
		else	/* a ping socket, where ping_group_range lets us */
			fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, proto);
		if (fd < 0)
			return -errno;
		((struct sockaddr_in *)&sa)->sin_port = 0;	/* same offset in sockaddr_in6 */
	} else {
		fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!((struct sockaddr_in *)&sa)->sin_port)
			((struct sockaddr_in *)&sa)->sin_port = htons(UDP_PORT_DEFAULT);
	}
	f->fd = fd;
	/* PROBE: DF set, and the kernel's cached PMTU ignored, so any size up to the link goes. */
	if (t->family == 4) {
		v = IP_PMTUDISC_PROBE;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
		if (f->raw) {
			uint32_t flt = ~(1U << ICMP_ECHOREPLY);

			setsockopt(fd, SOL_RAW, ICMP_FILTER, &flt, sizeof(flt));
		}
	} else {
		v = IPV6_PMTUDISC_PROBE;
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
		if (f->raw) {
			struct icmp6_filter flt;

			ICMP6_FILTER_SETBLOCKALL(&flt);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &flt);
			setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &flt, sizeof(flt));
		}
	}
	if (connect(fd, (struct sockaddr *)&sa, t->salen))
		return -errno;
	return 0;
}

static int fwd_send(struct fwd *f, int size)
{
	static uint8_t buf[65536];
	/* size is the IP packet: the kernel adds the IP header, and the UDP header for UDP. */
	int len = size - (f->t->family == 6 ? 40 : 20) - (f->m == M_UDP ? 8 : 0);
	int off = f->m == M_ICMP ? 8 : 0;
	uint32_t magic = htonl(PROBE_MAGIC);
	uint16_t seq;

	if (len < off + 8 || len > (int)sizeof(buf) - 8)
		return -EINVAL;
	f->seq++;
	seq = htons(f->seq);
	memset(buf, 0xa5, len);
	if (f->m == M_ICMP) {
		uint16_t id = htons(f->id);

		buf[0] = f->t->family == 6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		buf[1] = 0;
		buf[2] = buf[3] = 0;
		memcpy(buf + 4, &id, 2);
		memcpy(buf + 6, &seq, 2);
	}
	memcpy(buf + off, &magic, 4);
	memcpy(buf + off + 4, &seq, 2);
	if (f->m == M_ICMP && f->t->family == 4) {
		uint16_t c = csum16(buf, len);

		memcpy(buf + 2, &c, 2);
	}
	sleep_until(f->last_send + f->gap);
	f->last_send = now_ns();
	if (send(f->fd, buf, len, 0) < 0)
		return -errno;
	return 0;
}

/* One error from the error queue; F_NONE when it is not about the probe in flight. */
static enum fres fwd_err(struct fwd *f)
{
	uint8_t data[2048];
	char cbuf[512];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct sock_extended_err *ee = NULL;
	struct cmsghdr *cm;
	int off = f->m == M_ICMP ? 8 : 0;
	uint32_t magic = htonl(PROBE_MAGIC);
	uint16_t seq = htons(f->seq);
	ssize_t n;

	n = recvmsg(f->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (n < 0)
		return F_NONE;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if ((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
		    (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR))
			ee = (struct sock_extended_err *)CMSG_DATA(cm);
	if (!ee)
		return F_NONE;
	/* An answer to an earlier probe (retry, or one that came late) says nothing now. */
	if (n >= off + 6 && !memcmp(data + off, &magic, 4) && memcmp(data + off + 4, &seq, 2))
		return F_NONE;
	f->from_ok = false;
	{
		struct sockaddr *sa = SO_EE_OFFENDER(ee);

		if (sa->sa_family == AF_INET) {
			memcpy(f->from, &((struct sockaddr_in *)sa)->sin_addr, 4);
			f->from_ok = true;
		} else if (sa->sa_family == AF_INET6) {
			memcpy(f->from, &((struct sockaddr_in6 *)sa)->sin6_addr, 16);
			f->from_ok = true;
		}
	}
	f->type = ee->ee_type;
	f->code = ee->ee_code;
	f->mtu = ee->ee_info;
	switch (ee->ee_origin) {
	case SO_EE_ORIGIN_LOCAL:
		return ee->ee_errno == EMSGSIZE ? F_LOCAL : F_NONE;
	case SO_EE_ORIGIN_ICMP:
		if (ee->ee_type == ICMP_DEST_UNREACH && ee->ee_code == ICMP_FRAG_NEEDED)
			return F_PTB;
		if (ee->ee_type == ICMP_DEST_UNREACH && ee->ee_code == ICMP_PORT_UNREACH)
			return f->m == M_UDP ? F_FIT : F_NONE;
		return ee->ee_type == ICMP_DEST_UNREACH ? F_UNREACH : F_NONE;
	case SO_EE_ORIGIN_ICMP6:
		if (ee->ee_type == ICMP6_PACKET_TOO_BIG)
			return F_PTB;
		if (ee->ee_type == ICMP6_DST_UNREACH && ee->ee_code == ICMP6_DST_UNREACH_NOPORT)
			return f->m == M_UDP ? F_FIT : F_NONE;
		return ee->ee_type == ICMP6_DST_UNREACH ? F_UNREACH : F_NONE;
	}
	return F_NONE;
}

/* A normal answer: an echo reply to this probe (or, for UDP, any datagram back). */
static enum fres fwd_data(struct fwd *f)
{
	static uint8_t buf[65536];
	uint32_t magic = htonl(PROBE_MAGIC);
	uint16_t seq = htons(f->seq), id = htons(f->id);
	ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
	uint8_t *p = buf;

	if (n < 0)
		return F_NONE;
	if (f->m == M_UDP)
		return F_FIT;
	if (f->raw && f->t->family == 4) {
		int hl = (buf[0] & 0xf) * 4;

		if (n < hl + 16)
			return F_NONE;
		p += hl;
		n -= hl;
	}
	if (n < 16 || p[0] != (f->t->family == 6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY))
		return F_NONE;
	if (f->raw && memcmp(p + 4, &id, 2))
		return F_NONE;	/* another ping's */
	if (memcmp(p + 6, &seq, 2) || memcmp(p + 8, &magic, 4))
		return F_NONE;
	return F_FIT;
}

static enum fres fwd_wait(struct fwd *f, uint64_t deadline)
{
	for (;;) {
		uint64_t n = now_ns();
		struct pollfd p = { f->fd, POLLIN, 0 };
		enum fres r;
		int k;

		if (n >= deadline)
			return F_LOST;
		k = poll(&p, 1, (deadline - n + 999999) / 1000000);
		if (k < 0 && errno != EINTR)
			return F_LOST;
		if (k <= 0)
			continue;
		if (p.revents & POLLERR) {
			r = fwd_err(f);
			if (r != F_NONE)
				return r;
		}
		if (p.revents & POLLIN) {
			r = fwd_data(f);
			if (r != F_NONE)
				return r;
		}
	}
}

/* One size, up to `tries` times while it is lost; folds the answer into r. */
static enum fres fwd_step(struct fwd *f, struct pb *b, const struct fwd_opts *o,
			  struct fwd_res *r, int size, int tries, uint64_t tmo)
{
	enum fres x = F_LOST;
	struct mw_probe_stats s;
	char detail[256] = "", a[INET6_ADDRSTRLEN], rb[32];
	int err;

	for (int i = 0; i < tries && r->probes < o->max_probes; i++) {
		pb_reset(b);
		r->probes++;
		err = fwd_send(f, size);
		if (err == -EMSGSIZE) {
			x = F_LOCAL;
			f->mtu = f->t->ifi.mtu;
		} else if (err) {
			snprintf(detail, sizeof(detail), "send failed: %s", strerror(-err));
			x = F_LOST;
		} else {
			x = fwd_wait(f, now_ns() + tmo);
		}
		pb_stats(b, &s);
		r->step_mtu = s.ptb_drop ? s.ptb_drop_mtu : s.ptb_in ? s.ptb_in_mtu : 0;
		if (s.ptb_in) {
			r->ptb_in = true;
			r->in_mtu = s.ptb_in_mtu;
			memcpy(r->in_from, s.ptb_in_from, 16);
		}
		if (s.ptb_drop) {
			r->ptb_drop = true;
			r->drop_mtu = s.ptb_drop_mtu;
			r->drop_reason = s.ptb_drop_reason;
			memcpy(r->drop_from, s.ptb_drop_from, 16);
		}
		detail[0] = 0;
		switch (x) {
		case F_PTB:
			r->ptb_sock = true;
			r->ptb_mtu = f->mtu;
			if (f->from_ok)
				memcpy(r->ptb_from, f->from, 16);
			addr_str(f->t->family, f->from, a, sizeof(a));
			snprintf(detail, sizeof(detail), "Packet Too Big from %s, mtu %u", a,
				 f->mtu);
			break;
		case F_LOCAL:
			snprintf(detail, sizeof(detail), "over the local MTU %u", f->mtu);
			break;
		case F_UNREACH:
			r->unreach = true;
			r->type = f->type;
			r->code = f->code;
			memcpy(r->unreach_from, f->from, 16);
			addr_str(f->t->family, f->from, a, sizeof(a));
			snprintf(detail, sizeof(detail), "ICMP unreachable type %d code %d from %s",
				 f->type, f->code, a);
			break;
		case F_LOST:
			if (s.ptb_drop) {
				addr_str(f->t->family, s.ptb_drop_from, a, sizeof(a));
				snprintf(detail, sizeof(detail),
					 "no answer; a Packet Too Big from %s (mtu %u) was dropped "
					 "on this host: %s", a, s.ptb_drop_mtu,
					 pb_reason(b, s.ptb_drop_reason, rb, sizeof(rb)));
			} else if (s.ptb_in) {
				addr_str(f->t->family, s.ptb_in_from, a, sizeof(a));
				snprintf(detail, sizeof(detail),
					 "no answer; a Packet Too Big from %s (mtu %u) arrived but "
					 "never reached the socket", a, s.ptb_in_mtu);
			} else {
				snprintf(detail, sizeof(detail), "no answer in %.1fs%s",
					 tmo / 1e9, b->on ? ", no Packet Too Big arrived" : "");
			}
			break;
		default:
			break;
		}
		probe_step(&o->steps, r->probes, size, fres_name[x], detail);
		/* A lost probe is tried again (answers are rate-limited), unless a PTB says why. */
		if (x != F_LOST || s.ptb_drop || s.ptb_in)
			break;
	}
	return x;
}

/* 0: done (r filled); 1: the base probe got no answer; 2: unreachable or nothing sent. */
static int fwd_search(struct fwd *f, struct pb *b, const struct fwd_opts *o, struct fwd_res *r)
{
	uint64_t tmo = (uint64_t)(o->timeout * 1e9);
	/* Port unreachables are rate-limited by the far host (about 1/s after a burst of 6): a
	 * lost UDP probe is tried once more. Echo replies are not limited: one try each. */
	int tries = f->m == M_UDP ? 2 : 1, size, hint = 0;
	enum fres x;

	r->limit = o->max_size ? o->max_size : (long)f->t->ifi.mtu;
	r->base = f->t->family == 6 ? 1280 : 576;
	if (r->base > r->limit)
		r->base = r->limit;
	r->lo_ok = 0;
	r->hi_bad = r->limit + 1;
	x = fwd_step(f, b, o, r, r->base, tries, tmo);
	if (x == F_UNREACH)
		return 2;
	if (x != F_FIT)
		return 1;
	r->lo_ok = r->base;
	size = r->limit;
	while (r->hi_bad - r->lo_ok > 1 && r->probes < o->max_probes) {
		x = fwd_step(f, b, o, r, size, tries, tmo);
		hint = 0;
		switch (x) {
		case F_FIT:
			r->lo_ok = size;
			break;
		case F_UNREACH:
			return 2;
		case F_PTB:
		case F_LOCAL:
			/* What the hop says it carries: trusted as PMTUD trusts it, then tried. */
			if (size < r->hi_bad)
				r->hi_bad = size;
			if (f->mtu < (uint32_t)r->hi_bad && (int)f->mtu > r->lo_ok) {
				r->hi_bad = f->mtu + 1;
				hint = f->mtu;
			}
			break;
		default:	/* lost */
			if (size < r->hi_bad)
				r->hi_bad = size;
			if (size > r->lost_above)
				r->lost_above = size;
			/* A PTB that arrived but never reached the socket says as much. */
			if ((int)r->step_mtu > r->lo_ok && (int)r->step_mtu < r->hi_bad) {
				r->hi_bad = r->step_mtu + 1;
				hint = r->step_mtu;
			}
			break;
		}
		size = hint ? hint : r->lo_ok + (r->hi_bad - r->lo_ok) / 2;
	}
	r->exact = r->hi_bad - r->lo_ok <= 1;
	return 0;
}

int probe_forward(const struct fwd_opts *o, const struct target *t, struct pb *b,
		  struct fwd_res *r)
{
	enum method order[2] = { M_ICMP, M_UDP };
	int norder = 2, err, rc = 1, sent = 0;
	struct fwd f;

	if (o->method != M_AUTO) {
		order[0] = o->method;
		norder = 1;
	}
	for (int i = 0; i < norder; i++) {
		err = fwd_open(&f, t, order[i]);
		if (err) {
			if (f.fd > 0)
				close(f.fd);
			if (order[i] == M_ICMP && (err == -EPERM || err == -EACCES)) {
				if (o->method == M_ICMP) {
					if (!o->quiet)
						pr_warn("ICMP echo needs CAP_NET_RAW or "
							"a ping_group_range that holds your "
							"group -- use --method udp, or run "
							"as root\n");
					return 1;
				}
				pr_debug("no ICMP echo socket (%s): probing with UDP\n",
					 strerror(-err));
				continue;
			}
			if (!o->quiet)
				pr_warn("Cannot open a %s probe socket to %s: %s\n",
					order[i] == M_ICMP ? "ICMP" : "UDP", t->str,
					strerror(-err));
			return 1;
		}
		f.gap = o->gap_ns ? o->gap_ns : PROBE_GAP_NS;
		if (o->note && o->note[0]) {
			pr_warn("%s\n", o->note);
			o->note[0] = 0;
		}
		memset(r, 0, sizeof(*r));
		rc = fwd_search(&f, b, o, r);
		close(f.fd);
		sent += r->probes;
		r->sent = sent;
		if (rc == 0) {
			r->method = order[i];
			return 0;
		}
		if (rc == 2) {
			char a[INET6_ADDRSTRLEN];

			addr_str(t->family, r->unreach_from, a, sizeof(a));
			if (!o->quiet)
				pr_warn("%s is unreachable (ICMP type %d code %d from %s)\n",
					t->str, r->type, r->code, a);
			return 1;
		}
		if (i + 1 < norder)
			pr_debug("no answer to ICMP echo: trying UDP\n");
	}
	if (!o->quiet)
		pr_warn("%s does not answer a %d-byte probe (%s) -- try --method %s, or a "
			"longer --timeout\n", t->str, t->family == 6 ? 1280 : 576,
			norder == 2 ? "ICMP echo, UDP" :
			o->method == M_ICMP ? "ICMP echo" : "UDP",
			o->method == M_UDP ? "icmp" : "udp");
	return 1;
}
