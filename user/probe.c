// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch probe: measure a path MTU on demand, toward one host the user names.
 *   probe HOST                 forward path MTU: binary search with DF probes (ICMP echo or UDP,
 *                              IP_PMTUDISC_PROBE + IP_RECVERR); the eBPF side tells "no PTB
 *                              came" from "a PTB came and this host dropped it".
 *   probe HOST:PORT --tcp      reverse path MTU: the kernel's own TCP with a chosen MSS, a large
 *                              answer elicited (TLS ClientHello or HTTP GET), arriving segment
 *                              sizes seen at ingress; binary search on the MSS.
 *   ... --tcp --ptb-test       does the far host honour Packet Too Big? XDP drops its full-size
 *                              segment, we send a PTB quoting it, the retransmission tells.
 * Bounds: at most --max-probes steps (default 40), at most 10 probes a second, one timeout per
 * step; nothing is sent to anyone but the named host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "commands.h"
#include "log.h"
#include "netutil.h"
#include "probe.h"
#include "probe.skel.h"
#include "reasons.h"

#define PROBE_GAP_NS	100000000ULL	/* at most 10 probes a second */
#define PROBE_MAGIC	0x6d777062u	/* "mwpb": our payload, to match answers */
#define TCP_READ_MAX	(1 << 20)	/* bytes read per TCP step, at most */
#define PTB_MAX_SENT	3		/* PTBs per --ptb-test */
#define MW_BPF_TCX_INGRESS 46		/* libbpf 1.1's headers predate TCX */

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

/* ---- eBPF evidence ------------------------------------------------------------------------- */

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

static int probe_verbose;
/* Why the eBPF side is off in forward mode; said once a probe socket is open. */
static char ebpf_note[256];

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (probe_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	uint64_t n = now_ns();

	if (t > n) {
		struct timespec ts = { (t - n) / 1000000000ULL, (t - n) % 1000000000ULL };

		nanosleep(&ts, NULL);
	}
}

static void pb_set_cfg(struct pb *b)
{
	uint32_t k = 0;

	if (b->on)
		bpf_map_update_elem(bpf_map__fd(b->skel->maps.probe_cfg), &k, &b->cfg, BPF_ANY);
}

static void pb_reset(struct pb *b)
{
	struct mw_probe_stats z = {};
	uint32_t k = 0;

	if (b->on)
		bpf_map_update_elem(bpf_map__fd(b->skel->maps.probe_stats), &k, &z, BPF_ANY);
}

static void pb_stats(struct pb *b, struct mw_probe_stats *s)
{
	uint32_t k = 0;

	memset(s, 0, sizeof(*s));
	if (b->on)
		bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.probe_stats), &k, s);
}

static const char *pb_reason(struct pb *b, uint32_t r, char *buf, size_t len)
{
	const char *n = b->reasons_ok ? reasons_name(r, &b->reasons) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "reason %u", r);
	return buf;
}

static void pb_close(struct pb *b)
{
	if (b->tc_fd > 0)
		close(b->tc_fd);
	bpf_link__destroy(b->drop);
	ring_buffer__free(b->rb);
	probe_bpf__destroy(b->skel);
	if (b->reasons_ok)
		reasons_free(&b->reasons);
	memset(b, 0, sizeof(*b));
}

/* XDP on ifindex: native, else the generic hook (it drops just as well). A link fd or -errno. */
static int attach_xdp(int pfd, int ifindex)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 0);
	int fd = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);

	if (fd >= 0)
		return fd;
	lo.flags = 2;	/* XDP_FLAGS_SKB_MODE */
	fd = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);
	return fd >= 0 ? fd : -errno;
}

/*
 * Load and attach. Observing (forward, reverse): tc ingress as a TCX link, or XDP where the
 * kernel has no TCX. ptb-test: XDP, which must drop before anything else sees the segment.
 * kfree_skb always. Links are fds: they go when the process does, even on SIGKILL. Returns 0
 * or -errno with *what naming the step that failed.
 */
static int pb_open(struct pb *b, const struct target *t, bool xdp, ring_buffer_sample_fn seg_cb,
		   void *ctx, const char **what)
{
	int err, fd;

	memset(b, 0, sizeof(*b));
	libbpf_set_print(libbpf_quiet);
	*what = "open the eBPF object";
	b->skel = probe_bpf__open();
	if (!b->skel)
		return -errno;
	bpf_program__set_expected_attach_type(b->skel->progs.mw_probe_tc, MW_BPF_TCX_INGRESS);
	*what = "load the eBPF programs";
	err = probe_bpf__load(b->skel);
	if (err)
		goto fail;
	b->on = true;
	memcpy(b->cfg.addr, t->addr, 16);
	b->cfg.family = t->family;
	b->cfg.l3 = t->ifi.l3;
	b->cfg.segs = xdp;
	b->cfg.netns = net_self_netns();
	pb_set_cfg(b);
	pb_reset(b);
	fd = -EOPNOTSUPP;
	if (!xdp) {
		/* MW_TEST_REFUSE=mw_probe_tc (the loader's test hook): a kernel without TCX. */
		const char *refuse = getenv("MW_TEST_REFUSE");

		if (!refuse || !strstr(refuse, "mw_probe_tc"))
			fd = bpf_link_create(bpf_program__fd(b->skel->progs.mw_probe_tc),
					     t->ifi.ifindex, MW_BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			fd = fd == -EOPNOTSUPP ? fd : -errno;
			pr_warn("note: tc ingress (TCX) on %s refused (%s): observing with XDP "
				"instead\n", t->ifi.name, strerror(-fd));
		}
	}
	if (fd < 0) {
		*what = "attach XDP (one XDP program per interface: is another one there?)";
		fd = attach_xdp(bpf_program__fd(b->skel->progs.mw_probe_xdp), t->ifi.ifindex);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
	}
	b->tc_fd = fd;
	if (xdp) {
		*what = "create the ring buffer";
		b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.probe_segs), seg_cb, ctx, NULL);
		if (!b->rb) {
			err = -errno;
			goto fail;
		}
	}
	*what = "attach the kfree_skb tracepoint";
	b->drop = bpf_program__attach(b->skel->progs.mw_probe_drop);
	if (!b->drop) {
		err = -errno;
		goto fail;
	}
	b->reasons_ok = reasons_from_btf(&b->reasons, NULL) == 0;
	return 0;
fail:
	pb_close(b);
	return err ? err : -EINVAL;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void json_str(FILE *o, const char *k, const char *v)
{
	if (!v) {
		fprintf(o, ",\"%s\":null", k);
		return;
	}
	fprintf(o, ",\"%s\":\"", k);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fprintf(o, "\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			fprintf(o, "\\u%04x", *v);
		else
			fputc(*v, o);
	}
	fputc('"', o);
}

static void json_num(FILE *o, const char *k, long v, bool valid)
{
	if (valid)
		fprintf(o, ",\"%s\":%ld", k, v);
	else
		fprintf(o, ",\"%s\":null", k);
}

static void addr_str(int family, const uint8_t *a, char *buf, size_t len)
{
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, len);
}

/* ---- target ---------------------------------------------------------------------------------- */

static int split_target(struct popts *o)
{
	const char *s = o->target, *c;
	char *end;
	size_t n;

	o->port = -1;
	if (s[0] == '[') {
		c = strchr(s, ']');
		if (!c || (c[1] && c[1] != ':')) {
			pr_warn("Invalid target '%s' -- expected HOST, HOST:PORT or [IPV6]:PORT\n",
				s);
			return -1;
		}
		n = c - s - 1;
		c = c[1] ? c + 1 : NULL;
		s++;
	} else {
		c = strchr(s, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL;	/* a bare IPv6 address */
		n = c ? (size_t)(c - s) : strlen(s);
	}
	if (!n || n >= sizeof(o->host)) {
		pr_warn("Invalid target '%s' -- expected HOST, HOST:PORT or [IPV6]:PORT\n",
			o->target);
		return -1;
	}
	memcpy(o->host, s, n);
	o->host[n] = 0;
	if (c) {
		errno = 0;
		long p = strtol(c + 1, &end, 10);

		if (errno || end == c + 1 || *end || p < 1 || p > 65535) {
			pr_warn("Invalid port in '%s' -- expected 1 to 65535\n", o->target);
			return -1;
		}
		o->port = p;
	}
	return 0;
}

static int resolve(const struct popts *o, struct target *t)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res, *ai;
	struct mw_ifinfo ifs[MW_MAX_IFACES];
	uint32_t mtu, oif;
	bool locked;
	int err, n;

	hints.ai_family = o->family == 4 ? AF_INET : o->family == 6 ? AF_INET6 : AF_UNSPEC;
	err = getaddrinfo(o->host, NULL, &hints, &res);
	if (err) {
		pr_warn("Cannot resolve '%s': %s\n", o->host, gai_strerror(err));
		return 1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			break;
	if (!ai) {
		freeaddrinfo(res);
		pr_warn("No IPv4 or IPv6 address for '%s'\n", o->host);
		return 1;
	}
	memset(t, 0, sizeof(*t));
	memcpy(&t->sa, ai->ai_addr, ai->ai_addrlen);
	t->salen = ai->ai_addrlen;
	freeaddrinfo(res);
	if (t->sa.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

		t->family = 4;
		t->hdr = 40;
		memcpy(t->addr, &sin->sin_addr, 4);
		if (o->port > 0)
			sin->sin_port = htons(o->port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

		t->family = 6;
		t->hdr = 60;
		memcpy(t->addr, &sin6->sin6_addr, 16);
		if (o->port > 0)
			sin6->sin6_port = htons(o->port);
	}
	addr_str(t->family, t->addr, t->str, sizeof(t->str));
	if (net_route_mtu(t->family, t->addr, &mtu, &oif, &locked) || !oif) {
		pr_warn("No route to %s -- check 'ip route get %s'\n", t->str, t->str);
		return 1;
	}
	n = net_ifaces(ifs, MW_MAX_IFACES);
	for (int i = 0; i < n; i++)
		if (ifs[i].ifindex == oif)
			t->ifi = ifs[i];
	if (!t->ifi.ifindex) {
		pr_warn("Cannot find the interface (index %u) of the route to %s\n", oif, t->str);
		return 1;
	}
	if (t->ifi.loopback) {
		pr_warn("%s is this host (route via %s) -- probe a remote host\n", t->str,
			t->ifi.name);
		return 2;
	}
	return 0;
}

/* ---- forward path ---------------------------------------------------------------------------- */

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
	/* what the last answer said */
	uint32_t mtu;
	uint8_t from[16];
	bool from_ok;
	int type, code;
};

static uint16_t csum16(const uint8_t *p, size_t n)
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
	sleep_until(f->last_send + PROBE_GAP_NS);
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

struct fwd_res {
	int limit, base, lo_ok, hi_bad, probes;
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

static void step_line(const struct popts *o, const struct target *t, int n, int size,
		      const char *res, const char *detail)
{
	if (!o->verbose)
		return;
	if (o->json) {
		printf("{\"step\":%d,\"dst\":\"%s\",\"size\":%d", n, t->str, size);
		json_str(stdout, "result", res);
		json_str(stdout, "detail", detail[0] ? detail : NULL);
		printf("}\n");
	} else {
		printf("step %d: %d bytes: %s%s%s\n", n, size, res, detail[0] ? ": " : "", detail);
	}
}

/* One size, up to `tries` times while it is lost; folds the answer into r. */
static enum fres fwd_step(struct fwd *f, struct pb *b, const struct popts *o, struct fwd_res *r,
			  int size, int tries, uint64_t tmo)
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
		step_line(o, f->t, r->probes, size, fres_name[x], detail);
		/* A lost probe is tried again (answers are rate-limited), unless a PTB says why. */
		if (x != F_LOST || s.ptb_drop || s.ptb_in)
			break;
	}
	return x;
}

/* 0: done (r filled); 1: the base probe got no answer; 2: unreachable or nothing sent. */
static int fwd_search(struct fwd *f, struct pb *b, const struct popts *o, struct fwd_res *r)
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

static int fwd_report(const struct popts *o, const struct target *t, struct pb *b,
		      const struct fwd_res *r, enum method m)
{
	char from[INET6_ADDRSTRLEN] = "", rb[32] = "", line[512];
	const char *reason = NULL, *meth = m == M_ICMP ? "icmp" : "udp";
	bool seen = r->ptb_sock || r->ptb_in || r->ptb_drop;
	/* Known: everything from hi_bad up vanishes (hi_bad = lo_ok + 1 when exact). */
	int bh = r->lost_above > r->lo_ok ? r->hi_bad - 1 : 0;
	uint32_t pmtu = 0;
	size_t n = 0;

	if (r->ptb_sock) {
		addr_str(t->family, r->ptb_from, from, sizeof(from));
		pmtu = r->ptb_mtu;
	} else if (r->ptb_drop) {
		addr_str(t->family, r->drop_from, from, sizeof(from));
		pmtu = r->drop_mtu;
	} else if (r->ptb_in) {
		addr_str(t->family, r->in_from, from, sizeof(from));
		pmtu = r->in_mtu;
	}
	if (r->ptb_drop)
		reason = pb_reason(b, r->drop_reason, rb, sizeof(rb));
	if (o->json) {
		printf("{\"dst\":\"%s\",\"mode\":\"forward\"", t->str);
		json_str(stdout, "method", meth);
		json_str(stdout, "iface", t->ifi.name);
		json_num(stdout, "path_mtu", r->lo_ok, true);
		printf(",\"exact\":%s", r->exact ? "true" : "false");
		json_num(stdout, "upper_bound", r->hi_bad - 1, true);
		printf(",\"ptb_seen\":%s", seen ? "true" : "false");
		json_str(stdout, "ptb_from", seen ? from : NULL);
		json_num(stdout, "ptb_mtu", pmtu, seen);
		printf(",\"ptb_delivered\":%s", r->ptb_sock ? "true" : "false");
		printf(",\"ptb_dropped\":%s", r->ptb_drop ? "true" : b->on ? "false" : "null");
		json_str(stdout, "drop_reason", reason);
		json_num(stdout, "blackhole_above", bh, bh > 0);
		json_num(stdout, "probes", r->probes, true);
		printf(",\"ebpf\":%s}\n", b->on ? "true" : "false");
		return 0;
	}
	n += snprintf(line + n, sizeof(line) - n, "%s: path MTU %d", t->str, r->lo_ok);
	if (!r->exact)
		n += snprintf(line + n, sizeof(line) - n, " (up to %d: --max-probes reached)",
			      r->hi_bad - 1);
	else if (r->lo_ok == r->limit)
		n += snprintf(line + n, sizeof(line) - n, " (the MTU of %s: nothing smaller on "
			      "the path)", t->ifi.name);
	if (r->ptb_sock && !bh)
		n += snprintf(line + n, sizeof(line) - n, "; Packet Too Big from %s says %u", from,
			      pmtu);
	else if (bh && r->ptb_drop)
		n += snprintf(line + n, sizeof(line) - n, "; probes above %d vanish: a Packet Too "
			      "Big from %s (mtu %u) reached this host and was dropped here (%s)",
			      bh, from, pmtu, reason);
	else if (bh && r->ptb_in)
		n += snprintf(line + n, sizeof(line) - n, "; probes above %d vanish: a Packet Too "
			      "Big from %s (mtu %u) arrived at %s but never reached the socket", bh,
			      from, pmtu, t->ifi.name);
	else if (bh && b->on)
		n += snprintf(line + n, sizeof(line) - n, "; black hole above %d: larger probes "
			      "vanish and no Packet Too Big arrived at %s", bh, t->ifi.name);
	else if (bh)
		n += snprintf(line + n, sizeof(line) - n, "; black hole above %d: larger probes "
			      "vanish and no Packet Too Big reached the socket (as root, mtuwatch "
			      "tells a dropped one from none)", bh);
	snprintf(line + n, sizeof(line) - n, "; method %s, %d probes", meth, r->probes);
	printf("%s\n", line);
	return 0;
}

static int run_forward(const struct popts *o, struct target *t, struct pb *b)
{
	enum method order[2] = { M_ICMP, M_UDP };
	int norder = 2, err, rc = 1;
	struct fwd_res r;
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
					pr_warn("ICMP echo needs CAP_NET_RAW or a ping_group_range "
						"that holds your group -- use --method udp, or run "
						"as root\n");
					return 1;
				}
				pr_debug("no ICMP echo socket (%s): probing with UDP\n",
					 strerror(-err));
				continue;
			}
			pr_warn("Cannot open a %s probe socket to %s: %s\n",
				order[i] == M_ICMP ? "ICMP" : "UDP", t->str, strerror(-err));
			return 1;
		}
		if (ebpf_note[0]) {
			pr_warn("%s\n", ebpf_note);
			ebpf_note[0] = 0;
		}
		memset(&r, 0, sizeof(r));
		rc = fwd_search(&f, b, o, &r);
		close(f.fd);
		if (rc == 0)
			return fwd_report(o, t, b, &r, order[i]);
		if (rc == 2) {
			char a[INET6_ADDRSTRLEN];

			addr_str(t->family, r.unreach_from, a, sizeof(a));
			pr_warn("%s is unreachable (ICMP type %d code %d from %s)\n", t->str,
				r.type, r.code, a);
			return 1;
		}
		if (i + 1 < norder)
			pr_debug("no answer to ICMP echo: trying UDP\n");
	}
	pr_warn("%s does not answer a %d-byte probe (%s) -- try --method %s, or a longer "
		"--timeout\n", t->str, t->family == 6 ? 1280 : 576,
		norder == 2 ? "ICMP echo, UDP" : o->method == M_ICMP ? "ICMP echo" : "UDP",
		o->method == M_UDP ? "icmp" : "udp");
	return 1;
}

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

static const char *tcp_method(const struct popts *o)
{
	return o->http ? "tcp-http" : "tcp-tls";
}

static int run_reverse(const struct popts *o, const struct target *t, struct pb *b)
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
				step_line(o, t, steps, size, res, detail);
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
				step_line(o, t, steps, size, "no complete answer", "");
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
		step_line(o, t, steps, size, res, detail);
		size = steps == 1 ? limit : lo_ok + (hi_bad - lo_ok) / 2;
	}

	bool exact = hi_bad - lo_ok <= 1 && !capped;
	int bh = silent_above ? hi_bad - 1 : 0;
	const char *reason = drops_here ? pb_reason(b, drop_reason, rb, sizeof(rb)) : NULL;

	if (o->json) {
		printf("{\"dst\":\"%s\",\"port\":%d,\"mode\":\"reverse\"", t->str, o->port);
		json_str(stdout, "method", tcp_method(o));
		json_str(stdout, "iface", t->ifi.name);
		json_num(stdout, "reverse_path_mtu", lo_ok, true);
		printf(",\"exact\":%s", exact ? "true" : "false");
		json_num(stdout, "far_host_max_segment", capped, capped);
		/* PTBs toward the far host cannot be seen from here. */
		printf(",\"ptb_seen\":null,\"ptb_from\":null");
		json_num(stdout, "blackhole_above", bh, bh > 0);
		printf(",\"silent_drop\":%s", bh ? "true" : "false");
		json_num(stdout, "largest_arrived", arrived, true);
		json_num(stdout, "dropped_here", drops_here, true);
		json_str(stdout, "drop_reason", reason);
		json_num(stdout, "probes", steps, true);
		printf("}\n");
		return 0;
	}
	printf("%s port %d: reverse path MTU %d", t->str, o->port, lo_ok);
	if (capped)
		printf(" at least (the far host sends no larger segments)");
	else if (!exact)
		printf(" (up to %d: --max-probes reached)", hi_bad - 1);
	else if (lo_ok == limit)
		printf(" (the MTU of %s: nothing smaller on the way back)", t->ifi.name);
	if (bh && drops_here)
		printf("; its segments above %d are dropped on this host (%s; up to %d bytes "
		       "arrive at %s)", bh, reason, arrived, t->ifi.name);
	else if (bh)
		printf("; its segments above %d die silently on the way (its PMTUD does not "
		       "recover them)", bh);
	printf("; method %s, %d connections\n", tcp_method(o), steps);
	return 0;
}

/* ---- TCP: does the far host honour Packet Too Big? ------------------------------------------- */

struct ptbt {
	const struct popts *o;
	const struct target *t;
	struct pb *b;
	int raw;
	int state;		/* 0: waiting for a full-size segment; 1: PTB sent */
	uint32_t seq0, first_len, max_len, retx_len;
	bool retx_df, data;
	int ptbs, steps;
	uint64_t t_ptb, tmo, *deadline;
	const char *outcome;
	char why[200];
};

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
	step_line(p->o, p->t, ++p->steps, e->len,
		  p->ptbs == 1 ? "full-size segment" : "retransmitted, still too big", d);
	if (sendto(p->raw, buf, 8 + q, 0, (struct sockaddr *)&sa, p->t->salen) < 0) {
		pr_warn("Cannot send the Packet Too Big to %s: %s\n", p->t->str, strerror(errno));
		return -1;
	}
	return 0;
}

static int on_seg(void *ctx, void *data, size_t len)
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
			step_line(p->o, p->t, ++p->steps, e->len, "full-size segment", d);
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
	step_line(p->o, p->t, ++p->steps, e->len, "retransmission", d);
	return 0;
}

static bool ptb_tick(void *ctx)
{
	struct ptbt *p = ctx;

	ring_buffer__consume(p->b->rb);
	return p->outcome != NULL;
}

static int run_ptb_test(const struct popts *o, const struct target *t, struct pb *b, int raw,
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

static int ptb_report(const struct popts *o, const struct target *t, const struct ptbt *p)
{
	uint32_t mtu = o->ptb_mtu;

	if (o->json) {
		printf("{\"dst\":\"%s\",\"port\":%d,\"mode\":\"ptb-test\"", t->str, o->port);
		json_str(stdout, "method", tcp_method(o));
		json_str(stdout, "iface", t->ifi.name);
		json_str(stdout, "ptb_test", p->outcome);
		json_num(stdout, "ptb_test_mtu", mtu, true);
		json_num(stdout, "ptbs_sent", p->ptbs, true);
		json_num(stdout, "first_size", p->first_len, p->first_len);
		json_num(stdout, "retransmit_size", p->retx_len, p->retx_len);
		printf(",\"retransmit_df\":%s",
		       !p->retx_len ? "null" : p->retx_df ? "true" : "false");
		json_num(stdout, "largest_segment", p->max_len, p->data);
		printf(",\"path_mtu\":null,\"ptb_seen\":null,\"ptb_from\":null,"
		       "\"blackhole_above\":null}\n");
		return 0;
	}
	printf("%s port %d: ptb-test %s: ", t->str, o->port, p->outcome);
	if (!strcmp(p->outcome, "success"))
		printf("after a Packet Too Big (mtu %u) quoting its %u-byte segment, the host "
		       "retransmitted in %u-byte segments\n", mtu, p->first_len, p->retx_len);
	else if (!strcmp(p->outcome, "fail"))
		printf("the host ignored %d Packet Too Big (mtu %u): it kept retransmitting its "
		       "%u-byte segment with DF (a path below %u black-holes it)\n", p->ptbs, mtu,
		       p->retx_len ? p->retx_len : p->first_len, p->first_len);
	else if (!strcmp(p->outcome, "cleardf"))
		printf("after a Packet Too Big (mtu %u) the host cleared DF and retransmitted "
		       "%u bytes (%s): routers must fragment for it\n", mtu, p->retx_len,
		       p->why[0] ? p->why : "no DF");
	else if (!strcmp(p->outcome, "nodf"))
		printf("the host sends %u-byte segments without DF: it does not use PMTUD, routers "
		       "fragment for it\n", p->first_len ? p->first_len : p->max_len);
	else if (!strcmp(p->outcome, "toosmall"))
		printf("the host's segments were at most %u bytes, not above the test MTU %u: "
		       "nothing to test -- use --http PATH with a larger object or a smaller "
		       "--ptb-mtu\n", p->max_len, mtu);
	else if (!strcmp(p->outcome, "noretransmit"))
		printf("after %d Packet Too Big (mtu %u) the host sent nothing more for that data "
		       "within %.1fs\n", p->ptbs, mtu, o->timeout);
	else
		printf("no data came from the host within %.1fs\n", o->timeout);
	return 0;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage_probe(FILE *o)
{
	fprintf(o,
		"Usage: mtuwatch probe HOST[:PORT] [-4|-6] [--method auto|icmp|udp]\n"
		"                      [--max-size N]\n"
		"       mtuwatch probe HOST:PORT --tcp [--http PATH] [--max-size N]\n"
		"       mtuwatch probe HOST:PORT --tcp --ptb-test [--ptb-mtu MTU] [--http PATH]\n"
		"           common: [--timeout SECS] [--max-probes N] [--json] [-v]\n"
		"\n"
		"Measures a path MTU toward HOST, and only HOST: the forward path with DF\n"
		"probes (ICMP echo where allowed, else UDP to PORT, default 33434), the reverse\n"
		"path with TCP connections that advertise a chosen MSS (--tcp), or whether HOST\n"
		"honours Packet Too Big (--ptb-test). At most --max-probes steps, 10 probes a\n"
		"second, one timeout per step.\n"
		"\n"
		"  -4, -6                  use HOST's IPv4 / IPv6 address\n"
		"      --method M          forward probes: auto (ICMP echo, else UDP), icmp, udp\n"
		"      --tcp               reverse path: the far host's segments toward us\n"
		"      --http PATH         elicit the answer with GET PATH (default: a TLS\n"
		"                          ClientHello)\n"
		"      --ptb-test          drop HOST's full-size segment, send a Packet Too Big\n"
		"      --ptb-mtu MTU       MTU that Packet Too Big says (default 1280)\n"
		"      --max-size N        largest packet to try (default: the interface MTU)\n"
		"      --timeout SECS      time for each step (default 1; 2 with --tcp)\n"
		"      --max-probes N      steps at most (default 40)\n"
		"  -j, --json              NDJSON: step objects with -v, then one result object\n"
		"  -v, --verbose           one line per step (-vv: libbpf messages too)\n"
		"\n"
		"EXAMPLES:\n"
		"  mtuwatch probe 198.51.100.2                 forward path MTU\n"
		"  mtuwatch probe 198.51.100.2:443 --tcp       reverse path MTU (TLS server)\n"
		"  mtuwatch probe 198.51.100.2:443 --tcp --ptb-test   does it honour PTB?\n");
}

static int parse_probe(int argc, char **argv, struct popts *o)
{
	static const struct option longs[] = {
		{ "tcp", no_argument, NULL, 'T' },
		{ "ptb-test", no_argument, NULL, 'P' },
		{ "http", required_argument, NULL, 'H' },
		{ "method", required_argument, NULL, 'm' },
		{ "ptb-mtu", required_argument, NULL, 'u' },
		{ "max-size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max-probes", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	long v;
	char *end;
	int c;

	o->max_probes = 40;
	o->ptb_mtu = 1280;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "46jvh", longs, NULL)) != -1) {
		switch (c) {
		case '4':
		case '6':
			o->family = c - '0';
			break;
		case 'T':
			o->tcp = true;
			break;
		case 'P':
			o->ptb_test = o->tcp = true;
			break;
		case 'H':
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n")) {
				pr_warn("Invalid --http path '%s' -- expected /PATH, no spaces\n",
					optarg);
				return -1;
			}
			o->http = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				o->method = M_AUTO;
			else if (!strcmp(optarg, "icmp"))
				o->method = M_ICMP;
			else if (!strcmp(optarg, "udp"))
				o->method = M_UDP;
			else {
				pr_warn("Invalid --method '%s' -- expected auto, icmp or udp\n",
					optarg);
				return -1;
			}
			break;
		case 'u':
			if (parse_uint(optarg, "--ptb-mtu", 65535, &v))
				return -1;
			if (v < 68) {
				pr_warn("Invalid --ptb-mtu %ld -- use 68 to 65535\n", v);
				return -1;
			}
			o->ptb_mtu = v;
			break;
		case 's':
			if (parse_uint(optarg, "--max-size", 65535, &v))
				return -1;
			if (v < 576) {
				pr_warn("Invalid --max-size %ld -- use 576 to 65535\n", v);
				return -1;
			}
			o->max_size = v;
			break;
		case 't':
			errno = 0;
			o->timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || o->timeout < 0.05 ||
			    o->timeout > 60) {
				pr_warn("Invalid --timeout '%s' -- expected 0.05 to 60 seconds\n",
					optarg);
				return -1;
			}
			break;
		case 'n':
			if (parse_uint(optarg, "--max-probes", 1000, &v))
				return -1;
			if (v < 2) {
				pr_warn("Invalid --max-probes %ld -- use 2 to 1000\n", v);
				return -1;
			}
			o->max_probes = v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			bad_option(argv);
			return -1;
		}
	}
	if (optind >= argc) {
		pr_warn("probe needs a HOST -- see 'mtuwatch probe --help'\n");
		return -1;
	}
	o->target = argv[optind++];
	if (optind < argc) {
		pr_warn("Unexpected argument '%s' -- one HOST per probe\n", argv[optind]);
		return -1;
	}
	if (split_target(o))
		return -1;
	if (o->tcp && o->port < 0) {
		pr_warn("--tcp needs HOST:PORT, e.g. %s%s%s:443\n", strchr(o->host, ':') ? "[" : "",
			o->host, strchr(o->host, ':') ? "]" : "");
		return -1;
	}
	if (o->http && !o->tcp) {
		pr_warn("--http goes with --tcp (probe HOST:PORT --tcp --http PATH)\n");
		return -1;
	}
	if (!o->tcp && o->port > 0 && o->method == M_ICMP) {
		pr_warn("A port is for UDP probes -- drop ':%d' or use --method udp\n", o->port);
		return -1;
	}
	if (!o->timeout)
		o->timeout = o->tcp ? 2 : 1;
	return 0;
}

int cmd_probe(int argc, char **argv)
{
	struct popts o = {};
	struct ptbt p = {};
	struct target t;
	struct pb b = {};
	const char *what = "";
	int rc, raw = -1, err;

	if (parse_probe(argc, argv, &o))
		return usage_error();
	if (o.help) {
		usage_probe(stdout);
		return 0;
	}
	probe_verbose = o.verbose;
	mw_verbose = o.verbose > 0;
	srand(getpid() ^ time(NULL));
	rc = resolve(&o, &t);
	if (rc)
		return rc;
	if (o.ptb_test && t.family == 6 && o.ptb_mtu < 1280) {
		pr_warn("Invalid --ptb-mtu %ld for IPv6 -- the IPv6 minimum is 1280\n", o.ptb_mtu);
		return 2;
	}
	if (o.ptb_test) {
		raw = socket(t.family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC,
			     t.family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		if (raw < 0) {
			pr_warn("--ptb-test sends a Packet Too Big from a raw socket: %s -- it "
				"needs CAP_NET_RAW (run as root)\n", strerror(errno));
			return 1;
		}
	}
	p.o = &o;
	p.t = &t;
	p.b = &b;
	p.raw = raw;
	err = pb_open(&b, &t, o.ptb_test, on_seg, &p, &what);
	if (err) {
		if (o.tcp) {
			pr_warn("--tcp watches the far host's segments with eBPF: cannot %s on "
				"%s: %s -- it needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (run "
				"as root)\n", what, t.ifi.name, strerror(-err));
			if (raw >= 0)
				close(raw);
			return 1;
		}
		snprintf(ebpf_note, sizeof(ebpf_note), "note: no eBPF evidence (cannot %s: %s): "
			 "a Packet Too Big this host drops looks like none -- run as root to tell "
			 "them apart", what, strerror(-err));
	}
	if (o.verbose && !o.json)
		printf("probing %s via %s (MTU %u)%s\n", t.str, t.ifi.name, t.ifi.mtu,
		       b.on ? ", eBPF evidence on" : "");
	if (!o.tcp)
		rc = run_forward(&o, &t, &b);
	else if (!o.ptb_test)
		rc = run_reverse(&o, &t, &b);
	else {
		rc = run_ptb_test(&o, &t, &b, raw, &p);
		if (!rc)
			rc = ptb_report(&o, &t, &p);
	}
	pb_close(&b);
	if (raw >= 0)
		close(raw);
	return rc;
}
