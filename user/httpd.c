// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Minimal hardened HTTP/1.x server for the Prometheus endpoint. See httpd.h
 * for the contract; this file keeps to it with fixed memory per connection
 * (allocated once in httpd_new), incremental parsing (each received byte is
 * examined once, so trickled requests cannot cost quadratic CPU) and
 * deadlines on every connection state.
 */
#define _GNU_SOURCE
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT_PAUSE_MS		100
#define LISTEN_BACKLOG		128
/* A lingering client may send us at most this much before we just close. */
#define LINGER_MAX_DRAIN	(256 * 1024)

enum conn_state {
	C_FREE = 0,
	C_READ,		/* waiting for the request line and headers */
	C_WRITE,	/* sending the response */
	C_LINGER,	/* response sent, SHUT_WR done, draining until EOF */
};

enum method {
	M_NONE = 0,
	M_GET,
	M_HEAD,
	M_OTHER,	/* syntactically valid, not allowed */
};

struct conn {
	int fd;
	enum conn_state st;
	uint64_t start_ms;	/* accept time: eviction order */
	uint64_t deadline_ms;	/* of the current state */
	uint64_t accept_gen;	/* httpd_process() call that accepted it */

	/* request parsing */
	char *req;		/* max_request bytes, owned by struct httpd */
	size_t len;		/* bytes received */
	size_t scanned;		/* bytes already examined by the parser */
	size_t line_start;	/* start of the line being received */
	bool have_reqline;
	enum method method;
	bool path_ok;		/* target is /metrics */
	bool has_body;		/* Content-Length > 0 or Transfer-Encoding */

	/* response */
	char hdr[320];
	size_t hdr_len, hdr_off;
	char *body;		/* malloc()ed by render(), NULL for error responses */
	size_t body_len, body_off;

	size_t drained;		/* bytes discarded while lingering */
};

struct httpd {
	int lfd;
	uint16_t port;
	struct httpd_limits lim;
	struct conn *conns;
	char *reqbuf;		/* max_conns * max_request */
	unsigned int nconns;
	uint64_t accept_paused_until;
	uint64_t gen;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------
 * Listen spec parsing and socket setup
 */

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * Fill ss from "A.B.C.D:P", "[V6]:P" or ":P". *dual is set for ":P", which
 * means "every address of every family".
 */
static int parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
		      bool *dual)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs;
	size_t hlen;
	uint16_t port;

	*dual = false;
	memset(ss, 0, sizeof(*ss));
	if (!spec)
		return -1;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return -1;
		hs = spec + 1;
		hlen = (size_t)(rb - hs);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -1;
		hs = spec;
		hlen = (size_t)(colon - spec);
		/* An unbracketed IPv6 address would be ambiguous with the port. */
		if (memchr(spec, ':', hlen))
			return -1;
	}
	if (parse_port(colon + 1, &port))
		return -1;
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, hs, hlen);
	host[hlen] = '\0';

	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sslen = sizeof(*s6);
	} else if (hlen == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		*sslen = sizeof(*s6);
		*dual = true;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*sslen = sizeof(*s4);
	}
	return 0;
}

static int open_listener(const struct sockaddr_storage *ss, socklen_t sslen, bool dual,
			 int *err_out)
{
	int one = 1, v6only = dual ? 0 : 1;
	int fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err_out = errno;
		return -1;
	}
	/* Restart after a crash must not wait for TIME_WAIT sockets to expire. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto fail;
	/*
	 * Be explicit rather than inherit net.ipv6.bindv6only: "[::]:P" means
	 * IPv6 only, ":P" means both families.
	 */
	if (ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	if (bind(fd, (const struct sockaddr *)ss, sslen))
		goto fail;
	if (listen(fd, LISTEN_BACKLOG))
		goto fail;
	return fd;
fail:
	*err_out = errno;
	close(fd);
	return -1;
}

static unsigned int clampu(unsigned int v, unsigned int def, unsigned int lo, unsigned int hi)
{
	if (!v)
		return def;
	if (v < lo)
		return lo;
	return v > hi ? hi : v;
}

struct httpd *httpd_new(const char *listen_spec, const struct httpd_limits *lim,
			char *err, size_t errlen)
{
	struct sockaddr_storage ss, bound;
	socklen_t sslen = 0, blen = sizeof(bound);
	struct httpd_limits l = { 0 };
	struct httpd *h;
	bool dual;
	int e = 0;
	unsigned int i;

	if (err && errlen)
		err[0] = '\0';
	if (parse_spec(listen_spec, &ss, &sslen, &dual)) {
		if (err)
			snprintf(err, errlen,
				 "invalid listen address '%s': expected IPV4:PORT, [IPV6]:PORT or :PORT",
				 listen_spec ? listen_spec : "(null)");
		return NULL;
	}
	if (lim)
		l = *lim;
	l.max_conns = clampu(l.max_conns, HTTPD_DEFAULT_MAX_CONNS, 1, HTTPD_MAX_CONNS_LIMIT);
	l.max_request = clampu(l.max_request, HTTPD_DEFAULT_MAX_REQUEST, HTTPD_MIN_REQUEST,
			       HTTPD_MAX_REQUEST_LIMIT);
	l.read_timeout_ms = clampu(l.read_timeout_ms, HTTPD_DEFAULT_READ_TIMEOUT_MS, 1,
				   24 * 3600 * 1000);
	l.write_timeout_ms = clampu(l.write_timeout_ms, HTTPD_DEFAULT_WRITE_TIMEOUT_MS, 1,
				    24 * 3600 * 1000);

	h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	h->lfd = -1;
	h->lim = l;
	h->conns = calloc(l.max_conns, sizeof(*h->conns));
	h->reqbuf = malloc((size_t)l.max_conns * l.max_request);
	if (!h->conns || !h->reqbuf)
		goto nomem;
	for (i = 0; i < l.max_conns; i++) {
		h->conns[i].fd = -1;
		h->conns[i].req = h->reqbuf + (size_t)i * l.max_request;
	}

	h->lfd = open_listener(&ss, sslen, dual, &e);
	if (h->lfd < 0 && dual && (e == EAFNOSUPPORT || e == EADDRNOTAVAIL)) {
		/* Kernel without IPv6: "all addresses" degrades to all IPv4 ones. */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = port;
		h->lfd = open_listener(&ss, sizeof(*s4), false, &e);
	}
	if (h->lfd < 0) {
		if (err)
			snprintf(err, errlen, "cannot listen on %s: %s%s", listen_spec, strerror(e),
				 e == EADDRINUSE ?
				 " -- is another mtuwatch export running?" : "");
		httpd_free(h);
		return NULL;
	}
	if (getsockname(h->lfd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6 ?
				((struct sockaddr_in6 *)&bound)->sin6_port :
				((struct sockaddr_in *)&bound)->sin_port);
	return h;

nomem:
	if (err)
		snprintf(err, errlen, "cannot listen on %s: %s", listen_spec, strerror(ENOMEM));
	httpd_free(h);
	return NULL;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h ? h->port : 0;
}

int httpd_max_pollfds(const struct httpd *h)
{
	return h ? 1 + (int)h->lim.max_conns : 0;
}

/* ---------------------------------------------------------------------------
 * Connection lifecycle
 */

static void conn_close(struct httpd *h, struct conn *c, bool abortive)
{
	if (c->st == C_FREE)
		return;
	if (abortive) {
		/* RST: drop queued response data now instead of keeping it in the kernel. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	free(c->body);
	c->fd = -1;
	c->st = C_FREE;
	c->body = NULL;
	h->nconns--;
}

void httpd_free(struct httpd *h)
{
	unsigned int i;

	if (!h)
		return;
	if (h->conns)
		for (i = 0; i < h->lim.max_conns; i++)
			conn_close(h, &h->conns[i], false);
	if (h->lfd >= 0)
		close(h->lfd);
	free(h->conns);
	free(h->reqbuf);
	free(h);
}

static uint64_t linger_ms(const struct httpd *h)
{
	return h->lim.read_timeout_ms < HTTPD_LINGER_MS ? h->lim.read_timeout_ms : HTTPD_LINGER_MS;
}

/*
 * Send as much of header + body as the socket takes. Returns 0 when done or
 * when the socket is full (state stays C_WRITE), -1 when the connection was
 * closed.
 */
static int conn_flush(struct httpd *h, struct conn *c)
{
	while (c->hdr_off < c->hdr_len || c->body_off < c->body_len) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t r;
		size_t hrem = c->hdr_len - c->hdr_off;

		if (hrem) {
			iov[msg.msg_iovlen].iov_base = c->hdr + c->hdr_off;
			iov[msg.msg_iovlen++].iov_len = hrem;
		}
		if (c->body_off < c->body_len) {
			iov[msg.msg_iovlen].iov_base = c->body + c->body_off;
			iov[msg.msg_iovlen++].iov_len = c->body_len - c->body_off;
		}
		/* MSG_NOSIGNAL: a client that went away must not SIGPIPE the daemon. */
		r = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			conn_close(h, c, true);
			return -1;
		}
		if ((size_t)r <= hrem) {
			c->hdr_off += (size_t)r;
		} else {
			c->hdr_off = c->hdr_len;
			c->body_off += (size_t)r - hrem;
		}
	}
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_off = 0;
	/*
	 * Half-close and drain rather than close(): closing with unread request
	 * bytes (a body, pipelined requests) makes the kernel send a RST that can
	 * destroy the response before the client has read it.
	 */
	if (shutdown(c->fd, SHUT_WR)) {
		conn_close(h, c, false);
		return -1;
	}
	c->st = C_LINGER;
	c->drained = 0;
	c->deadline_ms = now_ms() + linger_ms(h);
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/*
 * Queue a response and try to send it right away (the common case finishes
 * here). For status 200, body/len is the rendered exposition and is taken
 * over; other statuses get a one-line text body, stored after the headers in
 * c->hdr. head: send headers only, with the Content-Length of the body.
 */
static void conn_respond(struct httpd *h, struct conn *c, int status, char *body, size_t len,
			 bool head)
{
	char ebody[64];
	int n;

	if (status != 200) {
		n = snprintf(ebody, sizeof(ebody), "%d %s\n", status, reason(status));
		len = (size_t)n;
	}
	n = snprintf(c->hdr, sizeof(c->hdr),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Connection: close\r\n"
		     "\r\n"
		     "%s",
		     status, reason(status),
		     status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
				     "text/plain; charset=utf-8",
		     len,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     status != 200 && !head ? ebody : "");
	/* Cannot truncate: the longest reason and body are far below sizeof(c->hdr). */
	c->hdr_len = (size_t)n < sizeof(c->hdr) ? (size_t)n : sizeof(c->hdr) - 1;
	c->hdr_off = 0;
	if (status != 200 || head) {
		free(body);
		body = NULL;
		len = 0;
	}
	c->body = body;
	c->body_len = len;
	c->body_off = 0;
	c->st = C_WRITE;
	c->deadline_ms = now_ms() + h->lim.write_timeout_ms;
	conn_flush(h, c);
}

/* ---------------------------------------------------------------------------
 * Request parsing
 */

static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Returns 0 if acceptable, else the HTTP status to answer with. */
static int parse_request_line(struct conn *c, const char *p, size_t n)
{
	const char *end = p + n, *sp1, *sp2, *t, *te, *q;
	size_t mlen, tlen;

	sp1 = memchr(p, ' ', n);
	if (!sp1)
		return 400;
	mlen = (size_t)(sp1 - p);
	if (mlen == 0 || mlen > 32)
		return 400;
	for (q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return 400;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2)
		return 400;		/* HTTP/0.9 "GET /" is not supported */
	tlen = (size_t)(sp2 - t);
	if (tlen == 0)
		return 400;
	for (q = t; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 400;

	/* Version: exactly "HTTP/D.D" up to the end of the line. */
	q = sp2 + 1;
	if (end - q != 8 || memcmp(q, "HTTP/", 5) || !is_digit(q[5]) || q[6] != '.' ||
	    !is_digit(q[7]))
		return 400;
	if (q[5] != '1')
		return 505;

	if (mlen == 3 && !memcmp(p, "GET", 3))
		c->method = M_GET;
	else if (mlen == 4 && !memcmp(p, "HEAD", 4))
		c->method = M_HEAD;
	else
		c->method = M_OTHER;

	/* Target: origin-form "/path?query", absolute-form "http://host/path", or "*". */
	te = sp2;
	if (*t == '*' && tlen != 1)
		return 400;
	if (*t != '/' && *t != '*') {
		const char *s = t;

		if (tlen > 7 && !strncasecmp(s, "http://", 7))
			s += 7;
		else if (tlen > 8 && !strncasecmp(s, "https://", 8))
			s += 8;
		else
			return 400;
		t = memchr(s, '/', (size_t)(te - s));
		if (!t) {
			c->path_ok = false;
			return 0;
		}
	}
	for (q = t; q < te && *q != '?' && *q != '#'; q++)
		;
	c->path_ok = (size_t)(q - t) == 8 && !memcmp(t, "/metrics", 8);
	return 0;
}

static bool hdr_name_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp(p, name, n);
}

static int parse_header_line(struct conn *c, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n), *v, *end = p + n, *q;
	size_t nlen;

	/*
	 * The name must be a non-empty token right before the colon. That also
	 * rejects obsolete line folding (a leading space), a request smuggling
	 * vector that RFC 9112 lets a server refuse with 400.
	 */
	if (!colon || colon == p)
		return 400;
	nlen = (size_t)(colon - p);
	for (q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return 400;
	v = colon + 1;
	for (q = v; q < end; q++) {
		unsigned char ch = (unsigned char)*q;

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 400;
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;

	if (hdr_name_is(p, nlen, "Transfer-Encoding")) {
		c->has_body = true;
	} else if (hdr_name_is(p, nlen, "Content-Length")) {
		bool nonzero = false;

		if (v == end)
			return 400;
		for (q = v; q < end; q++) {
			if (!is_digit(*q))
				return 400;
			if (*q != '0')
				nonzero = true;
		}
		if (nonzero)
			c->has_body = true;
	}
	return 0;
}

static void conn_answer(struct httpd *h, struct conn *c, httpd_render_fn render, void *ctx)
{
	char *body = NULL;
	size_t len = 0;
	int status;

	if (c->method == M_OTHER)
		status = 405;
	else if (c->has_body)
		status = 413;
	else if (!c->path_ok)
		status = 404;
	else
		status = 200;
	if (status != 200) {
		conn_respond(h, c, status, NULL, 0, c->method == M_HEAD);
		return;
	}
	if (!render || render(ctx, &body, &len) || (!body && len)) {
		free(body);
		conn_respond(h, c, 500, NULL, 0, c->method == M_HEAD);
		return;
	}
	conn_respond(h, c, 200, body, len, c->method == M_HEAD);
}

/*
 * Examine bytes [scanned, len). Each complete line is validated as soon as it
 * arrives, so garbage gets its 400 without waiting for the read timeout.
 * Returns 1 when a response has been started, 0 when more input is needed.
 */
static int conn_parse(struct httpd *h, struct conn *c, httpd_render_fn render, void *ctx)
{
	size_t i;
	int status;

	for (i = c->scanned; i < c->len; i++) {
		const char *line;
		size_t n;

		if (c->req[i] == '\0') {
			conn_respond(h, c, 400, NULL, 0, c->method == M_HEAD);
			return 1;
		}
		if (c->req[i] != '\n')
			continue;
		line = c->req + c->line_start;
		n = i - c->line_start;
		c->line_start = i + 1;
		/* CRLF or, leniently, bare LF ends a line; a CR anywhere else is an error. */
		if (n && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\r', n)) {
			conn_respond(h, c, 400, NULL, 0, c->method == M_HEAD);
			return 1;
		}
		if (!c->have_reqline) {
			if (n == 0)
				continue;	/* RFC 9112 2.2: ignore empty lines before it */
			status = parse_request_line(c, line, n);
			c->have_reqline = true;
		} else if (n == 0) {
			c->scanned = i + 1;
			conn_answer(h, c, render, ctx);
			return 1;
		} else {
			status = parse_header_line(c, line, n);
		}
		if (status) {
			conn_respond(h, c, status, NULL, 0, c->method == M_HEAD);
			return 1;
		}
	}
	c->scanned = c->len;
	if (c->len >= h->lim.max_request) {
		conn_respond(h, c, 431, NULL, 0, c->method == M_HEAD);
		return 1;
	}
	return 0;
}

static void conn_read(struct httpd *h, struct conn *c, httpd_render_fn render, void *ctx)
{
	for (;;) {
		size_t room = h->lim.max_request - c->len;
		ssize_t r;

		r = recv(c->fd, c->req + c->len, room, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(h, c, false);
			return;
		}
		if (r == 0) {
			/* Client gave up (or half-closed) before a full request. */
			conn_close(h, c, false);
			return;
		}
		c->len += (size_t)r;
		if (conn_parse(h, c, render, ctx))
			return;
	}
}

static void conn_drain(struct httpd *h, struct conn *c)
{
	char buf[4096];

	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			conn_close(h, c, false);
			return;
		}
		c->drained += (size_t)r;
		if (c->drained > LINGER_MAX_DRAIN) {
			conn_close(h, c, false);
			return;
		}
	}
}

/* ---------------------------------------------------------------------------
 * Accepting, eviction and the poll interface
 */

static bool evictable(const struct httpd *h, const struct conn *c, uint64_t now)
{
	if (c->accept_gen == h->gen)
		return false;	/* accepted in this very call: give it a chance */
	if (c->st == C_LINGER)
		return true;
	return c->st == C_READ && now >= c->start_ms + HTTPD_EVICT_GRACE_MS;
}

/* Lingering connections first (their response is out), then the oldest reader. */
static struct conn *pick_victim(const struct httpd *h, uint64_t now)
{
	struct conn *best = NULL;
	unsigned int i;

	for (i = 0; i < h->lim.max_conns; i++) {
		struct conn *c = &h->conns[i];

		if (c->st == C_FREE || !evictable(h, c, now))
			continue;
		if (!best || (c->st == C_LINGER && best->st != C_LINGER) ||
		    (c->st == best->st && c->start_ms < best->start_ms))
			best = c;
	}
	return best;
}

static bool can_accept(const struct httpd *h, uint64_t now)
{
	if (now < h->accept_paused_until)
		return false;
	return h->nconns < h->lim.max_conns || pick_victim(h, now);
}

static struct conn *free_slot(struct httpd *h)
{
	unsigned int i;

	for (i = 0; i < h->lim.max_conns; i++)
		if (h->conns[i].st == C_FREE)
			return &h->conns[i];
	return NULL;
}

static void accept_new(struct httpd *h, httpd_render_fn render, void *ctx)
{
	unsigned int budget = h->lim.max_conns;

	while (budget--) {
		uint64_t now = now_ms();
		struct conn *c;
		int fd;

		if (!can_accept(h, now))
			return;
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* The listener stays readable: pause rather than spin. */
				h->accept_paused_until = now + ACCEPT_PAUSE_MS;
				return;
			default:
				return;	/* EAGAIN and friends */
			}
		}
		c = free_slot(h);
		if (!c) {
			c = pick_victim(h, now);
			conn_close(h, c, false);
		}
		memset(c, 0, sizeof(*c));
		c->req = h->reqbuf + (size_t)(c - h->conns) * h->lim.max_request;
		c->fd = fd;
		c->st = C_READ;
		c->start_ms = now;
		c->deadline_ms = now + h->lim.read_timeout_ms;
		c->accept_gen = h->gen;
		h->nconns++;
		/* Clients send right after connecting; often the request is already here. */
		conn_read(h, c, render, ctx);
	}
}

int httpd_pollfds(struct httpd *h, struct pollfd *fds, int max)
{
	uint64_t now = now_ms();
	unsigned int i;
	int n = 0;

	if (!h || !fds || max <= 0)
		return 0;
	if (can_accept(h, now)) {
		fds[n].fd = h->lfd;
		fds[n].events = POLLIN;
		fds[n++].revents = 0;
	}
	for (i = 0; i < h->lim.max_conns && n < max; i++) {
		struct conn *c = &h->conns[i];

		if (c->st == C_FREE)
			continue;
		fds[n].fd = c->fd;
		fds[n].events = c->st == C_WRITE ? POLLOUT : POLLIN;
		fds[n++].revents = 0;
	}
	return n;
}

int httpd_next_timeout_ms(struct httpd *h)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	bool full;
	unsigned int i;

	if (!h)
		return -1;
	full = h->nconns >= h->lim.max_conns;
	if (h->accept_paused_until > now)
		next = h->accept_paused_until;
	for (i = 0; i < h->lim.max_conns; i++) {
		const struct conn *c = &h->conns[i];

		if (c->st == C_FREE)
			continue;
		if (c->deadline_ms < next)
			next = c->deadline_ms;
		/* A full table starts polling the listener again once a reader ages. */
		if (full && c->st == C_READ && c->start_ms + HTTPD_EVICT_GRACE_MS > now &&
		    c->start_ms + HTTPD_EVICT_GRACE_MS < next)
			next = c->start_ms + HTTPD_EVICT_GRACE_MS;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

static struct conn *find_conn(struct httpd *h, int fd)
{
	unsigned int i;

	for (i = 0; i < h->lim.max_conns; i++)
		if (h->conns[i].st != C_FREE && h->conns[i].fd == fd)
			return &h->conns[i];
	return NULL;
}

void httpd_process(struct httpd *h, const struct pollfd *fds, int n,
		   httpd_render_fn render, void *ctx)
{
	bool listen_ready = false;
	uint64_t now;
	unsigned int i;
	int k;

	if (!h)
		return;
	h->gen++;
	/*
	 * Client sockets first, accept last: a descriptor closed here and reused
	 * by accept() cannot be mistaken for an entry later in fds.
	 */
	for (k = 0; fds && k < n; k++) {
		struct conn *c;

		if (!fds[k].revents || fds[k].fd < 0)
			continue;
		if (fds[k].fd == h->lfd) {
			listen_ready = true;
			continue;
		}
		c = find_conn(h, fds[k].fd);
		if (!c)
			continue;
		switch (c->st) {
		case C_READ:
			conn_read(h, c, render, ctx);
			break;
		case C_WRITE:
			conn_flush(h, c);
			break;
		case C_LINGER:
			conn_drain(h, c);
			break;
		default:
			break;
		}
	}

	now = now_ms();
	for (i = 0; i < h->lim.max_conns; i++) {
		struct conn *c = &h->conns[i];

		if (c->st != C_FREE && now >= c->deadline_ms)
			conn_close(h, c, c->st == C_WRITE);
	}

	if (listen_ready)
		accept_new(h, render, ctx);
}
