// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Over 800 lines on purpose: one unit (httpd.c), its cases sharing one client and server fork. */
/*
 * Behaviour tests of the /metrics endpoint (user/httpd.c on libmicrohttpd) over real
 * loopback sockets, plain HTTP; TLS and basic auth are tested with real clients in
 * tests/e2e/test-export.sh. Each server runs in a forked child driving the poll loop exactly
 * as mtuwatch does; the parent is the client. The child puts SIGPIPE back to its default
 * action after httpd_new_on() (which ignores it), so a send without MSG_NOSIGNAL that hits
 * EPIPE kills it and the liveness checks fail. Servers are made as `mtuwatch export` makes
 * them (httpd_listen, then httpd_new_on); the listen-spec parser is tested on its own too.
 *
 * Prints one "PASS: name" or "FAIL: name: reason" line per case; exit 0.
 * Build: make build/test_httpd
 */
#define _GNU_SOURCE
#include "../../user/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

#define BIG_BODY	(16u * 1024 * 1024)	/* far more than tcp_wmem max + a small rcvbuf */

enum render_mode { R_SMALL, R_BIG, R_FAIL };

struct server {
	pid_t pid;
	uint16_t port;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---------------------------------------------------------------------------
 * Server side (child)
 */

static unsigned int renders;

static int render(void *ctx, char **body, size_t *len)
{
	enum render_mode mode = *(enum render_mode *)ctx;
	char *b;
	int n;

	renders++;
	if (mode == R_FAIL)
		return -1;
	if (mode == R_BIG) {
		b = malloc(BIG_BODY);
		if (!b)
			return -1;
		memset(b, 'x', BIG_BODY);
		b[BIG_BODY - 1] = '\n';
		*body = b;
		*len = BIG_BODY;
		return 0;
	}
	b = malloc(256);
	if (!b)
		return -1;
	n = snprintf(b, 256,
		     "# TYPE mtuwatch_build_info gauge\n"
		     "mtuwatch_build_info{version=\"test\",kernel=\"6.18\"} 1\n"
		     "mtuwatch_test_renders %u\n", renders);
	*body = b;
	*len = (size_t)n;
	return 0;
}

/* The exporter's path (user/export.c): the listening socket, then the server on it. */
static struct httpd *server_new(const char *spec, const struct httpd_limits *lim, char *err,
				size_t errlen)
{
	int lfd = httpd_listen(spec, err, errlen);

	if (lfd < 0)
		return NULL;
	return httpd_new_on(lfd, spec, lim, NULL, err, errlen);
}

/*
 * A port free on every address of both families now: bind port 0, read it back, close. The
 * parser refuses port 0 (an ephemeral port no scraper could be told), so the tests pick one;
 * another process may take it before the server binds it, so start_server retries.
 */
static uint16_t free_port(void)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(struct sockaddr_in6);
	int off = 0, fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd >= 0) {
		ss.ss_family = AF_INET6;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ss.ss_family = AF_INET;
		len = sizeof(struct sockaddr_in);
	}
	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&ss, len) &&
	    !getsockname(fd, (struct sockaddr *)&ss, &len))
		port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
							((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port;
}

static void server_loop(struct httpd *h, enum render_mode mode)
{
	int max = httpd_max_pollfds(h);
	struct pollfd *fds = calloc((size_t)max, sizeof(*fds));

	if (!fds)
		_exit(3);
	for (;;) {
		int n = httpd_pollfds(h, fds, max);

		if (poll(fds, (nfds_t)n, httpd_next_timeout_ms(h)) < 0 && errno != EINTR)
			_exit(4);
		httpd_process(h, fds, n, render, &mode);
	}
}

static int start_server_on(struct server *s, const char *spec, const struct httpd_limits *lim,
			   enum render_mode mode, char *err, size_t errlen)
{
	int p[2];
	char buf[256];
	ssize_t r;

	if (pipe(p))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		struct httpd *h;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		h = server_new(spec, lim, buf + 1, sizeof(buf) - 1);
		signal(SIGPIPE, SIG_DFL);
		if (!h) {
			buf[0] = 'E';
			if (write(p[1], buf, strlen(buf) + 1) < 0)
				_exit(2);
			_exit(1);
		}
		buf[0] = 'P';
		buf[1] = '\0';
		if (write(p[1], buf, strlen(buf) + 1) < 0)
			_exit(2);
		close(p[1]);
		server_loop(h, mode);
	}
	close(p[1]);
	r = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (r <= 1) {
		snprintf(err, errlen, "server child wrote nothing");
		return -1;
	}
	buf[r] = '\0';
	if (buf[0] != 'P') {
		snprintf(err, errlen, "%s", buf + 1);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return -1;
	}
	return 0;
}

/* A server child on HOST ("127.0.0.1", "[::1]", "" for every address) and a free port. */
static int start_server(struct server *s, const char *host, const struct httpd_limits *lim,
			enum render_mode mode, char *err, size_t errlen)
{
	char spec[64];
	int rc = -1;

	for (int i = 0; i < 5; i++) {
		s->port = free_port();
		snprintf(spec, sizeof(spec), "%s:%u", host, s->port);
		rc = start_server_on(s, spec, lim, mode, err, errlen);
		if (!rc || !strstr(err, "Address already in use"))
			break;
	}
	return rc;
}

static bool server_alive(struct server *s)
{
	int st;

	return s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == 0;
}

static void stop_server(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

/* ---------------------------------------------------------------------------
 * Client side
 */

/* Blocking client socket; rcvbuf > 0 shrinks the receive window (slow reader). */
static int connect_to(int family, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = 5 };
	socklen_t len;
	int fd;

	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		len = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An IPv4 loopback client from 127.0.0.2: another source address than connect_to's. */
static int connect_from_2(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&b, sizeof(b)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = send(fd, p, len, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

struct resp {
	char *raw;		/* everything received, NUL-terminated */
	size_t rawlen;
	int status;		/* 0 if no parseable status line */
	const char *hdrs;	/* after the status line */
	size_t hdrslen;
	const char *body;
	size_t bodylen;
	bool eof;		/* ended with EOF or RST, not a timeout */
	int err;		/* errno of the terminating recv, 0 on EOF */
};

static void resp_free(struct resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* Read until EOF/error or timeout_ms; then parse. */
static void read_resp(int fd, struct resp *r, int timeout_ms)
{
	size_t cap = 65536;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	const char *eoh;

	memset(r, 0, sizeof(*r));
	r->raw = malloc(cap + 1);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
			break;
		if (r->rawlen == cap) {
			cap *= 2;
			r->raw = realloc(r->raw, cap + 1);
		}
		n = recv(fd, r->raw + r->rawlen, cap - r->rawlen, 0);
		if (n <= 0) {
			r->eof = true;
			r->err = n < 0 ? errno : 0;
			break;
		}
		r->rawlen += (size_t)n;
	}
	r->raw[r->rawlen] = '\0';
	if (r->rawlen < 12 || memcmp(r->raw, "HTTP/1.1 ", 9))
		return;
	r->status = atoi(r->raw + 9);
	r->hdrs = strstr(r->raw, "\r\n");
	eoh = strstr(r->raw, "\r\n\r\n");
	if (!r->hdrs || !eoh) {
		r->status = 0;
		return;
	}
	r->hdrs += 2;
	r->hdrslen = (size_t)(eoh + 2 - r->hdrs);
	r->body = eoh + 4;
	r->bodylen = r->rawlen - (size_t)(r->body - r->raw);
}

/* Value of header name (exact, case-insensitive) copied into out; false if absent. */
static bool resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	const char *p = r->hdrs, *end = r->hdrs + r->hdrslen;
	size_t nlen = strlen(name);

	while (p && p < end) {
		const char *eol = strstr(p, "\r\n");

		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && !strncasecmp(p, name, nlen)) {
			const char *v = p + nlen + 1;
			size_t vlen;

			while (*v == ' ')
				v++;
			vlen = (size_t)(eol - v);
			if (vlen >= outlen)
				vlen = outlen - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = eol + 2;
	}
	return false;
}

static int count_substr(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i;
	int n = 0;

	for (i = 0; i + nl <= len; i++)
		if (!memcmp(hay + i, needle, nl))
			n++;
	return n;
}

/* One request on a fresh connection; returns elapsed ms or -1 on connect/send failure. */
static long exchange(int family, uint16_t port, const void *req, size_t len, struct resp *r,
		     int timeout_ms)
{
	uint64_t t0 = now_ms();
	int fd = connect_to(family, port, 0);

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (len && send_all(fd, req, len)) {
		/* The server may answer and close before taking everything: still read. */
	}
	read_resp(fd, r, timeout_ms);
	close(fd);
	return (long)(now_ms() - t0);
}

static long exchange_str(uint16_t port, const char *req, struct resp *r)
{
	return exchange(AF_INET, port, req, strlen(req), r, 3000);
}

/*
 * Wait until the server closes fd (EOF or RST). Returns ms waited, or -1 if
 * still open after max_ms. Data the server sends is discarded.
 */
static long wait_closed(int fd, int max_ms)
{
	uint64_t t0 = now_ms(), end = t0 + (uint64_t)max_ms;
	char buf[65536];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= end)
			return -1;
		if (poll(&pfd, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return (long)(now_ms() - t0);
	}
}

/* Nonblocking "is it closed right now?" */
static bool is_closed_now(int fd)
{
	return wait_closed(fd, 1) >= 0;
}

#define GET_METRICS "GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n"

/* A complete, correct 200 scrape: status, headers, body matching Content-Length. */
static bool check_scrape(const struct resp *r, char *why, size_t whylen)
{
	char v[64];

	if (r->status != 200) {
		snprintf(why, whylen, "status %d (raw %zu bytes)", r->status, r->rawlen);
		return false;
	}
	if (!resp_header(r, "Content-Type", v, sizeof(v)) ||
	    strcmp(v, "text/plain; version=0.0.4; charset=utf-8")) {
		snprintf(why, whylen, "bad Content-Type");
		return false;
	}
	if (!resp_header(r, "Content-Length", v, sizeof(v)) ||
	    strtoull(v, NULL, 10) != r->bodylen) {
		snprintf(why, whylen, "Content-Length %s != body %zu", v, r->bodylen);
		return false;
	}
	if (!resp_header(r, "Connection", v, sizeof(v)) || strcmp(v, "close")) {
		snprintf(why, whylen, "no Connection: close");
		return false;
	}
	if (!r->eof) {
		snprintf(why, whylen, "server did not close after the response");
		return false;
	}
	return true;
}

static void expect_status(uint16_t port, const char *name, const void *req, size_t len,
			  int want, int want_alt)
{
	struct resp r;

	exchange(AF_INET, port, req, len, &r, 3000);
	if (r.status != want && r.status != want_alt)
		fail(name, "got status %d, want %d", r.status, want);
	else if (!r.eof)
		fail(name, "connection not closed after error response");
	else
		pass(name);
	resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * Test cases: basic protocol (server A)
 */

static void t_get_metrics(uint16_t port)
{
	const char *name = "get_metrics_200";
	struct resp r;
	char why[128];

	exchange_str(port, GET_METRICS, &r);
	if (!check_scrape(&r, why, sizeof(why)))
		fail(name, "%s", why);
	else if (!strstr(r.body, "mtuwatch_build_info{version=\"test\",kernel=\"6.18\"} 1\n"))
		fail(name, "body lacks the rendered metrics");
	else if (!resp_header(&r, "Connection", why, sizeof(why)) || strcasecmp(why, "close"))
		fail(name, "no Connection: close");
	else if (!memmem(r.raw, r.rawlen, "\r\n\r\n", 4))
		fail(name, "headers not terminated by an empty line");
	else
		pass(name);
	resp_free(&r);
}

static unsigned int render_count(const struct resp *r)
{
	const char *p = r->body ? strstr(r->body, "mtuwatch_test_renders ") : NULL;

	return p ? (unsigned int)strtoul(p + 22, NULL, 10) : 0;
}

static void t_render_once(uint16_t port)
{
	const char *name = "render_called_once_per_scrape";
	struct resp a, b;
	unsigned int ca, cb;

	exchange_str(port, GET_METRICS, &a);
	exchange_str(port, GET_METRICS, &b);
	ca = render_count(&a);
	cb = render_count(&b);
	if (!ca || cb != ca + 1)
		fail(name, "render counter went %u -> %u", ca, cb);
	else
		pass(name);
	resp_free(&a);
	resp_free(&b);
}

static void t_head(uint16_t port)
{
	const char *name = "head_metrics_no_body";
	struct resp g, h;
	char v[64];

	exchange_str(port, GET_METRICS, &g);
	exchange_str(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &h);
	if (h.status != 200)
		fail(name, "status %d", h.status);
	else if (h.bodylen != 0)
		fail(name, "%zu body bytes sent for HEAD", h.bodylen);
	else if (!h.eof)
		fail(name, "connection not closed");
	else if (!resp_header(&h, "Content-Length", v, sizeof(v)) ||
		 strtoull(v, NULL, 10) != g.bodylen)
		/* the render counter has the same digit count in both bodies */
		fail(name, "HEAD Content-Length %s != GET body %zu", v, g.bodylen);
	else if (!resp_header(&h, "Content-Type", v, sizeof(v)) ||
		 strcmp(v, "text/plain; version=0.0.4; charset=utf-8"))
		fail(name, "bad Content-Type");
	else
		pass(name);
	resp_free(&g);
	resp_free(&h);
}

static void t_query_and_forms(uint16_t port)
{
	static const char *const ok[] = {
		"GET /metrics?name[]=foo&x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.0\r\n\r\n",
		"GET http://localhost:9877/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET /metrics HTTP/1.1\nHost: x\n\n",	/* leading CRLF, bare LFs */
		"GET /metrics HTTP/1.1\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n",
	};
	const char *name = "query_string_and_request_forms_200";
	char why[128];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct resp r;
		bool good;

		exchange_str(port, ok[i], &r);
		good = check_scrape(&r, why, sizeof(why));
		resp_free(&r);
		if (!good) {
			fail(name, "request #%zu: %s", i, why);
			return;
		}
	}
	pass(name);
}

static void t_render_fail(uint16_t port)
{
	const char *name = "render_failure_500";
	struct resp r;

	exchange_str(port, GET_METRICS, &r);
	if (r.status != 500)
		fail(name, "status %d", r.status);
	else
		pass(name);
	resp_free(&r);
}

static void t_405(uint16_t port)
{
	static const char *const reqs[] = {
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"PUT /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"get /metrics HTTP/1.1\r\nHost: x\r\n\r\n",	/* methods are case-sensitive */
	};
	const char *name = "other_methods_405_with_allow";
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct resp r;
		char v[64];

		exchange_str(port, reqs[i], &r);
		if (r.status != 405) {
			fail(name, "request #%zu: status %d", i, r.status);
		} else if (!resp_header(&r, "Allow", v, sizeof(v)) || strcmp(v, "GET, HEAD")) {
			fail(name, "request #%zu: Allow header missing or wrong", i);
		} else {
			resp_free(&r);
			continue;
		}
		resp_free(&r);
		return;
	}
	pass(name);
}

static void t_404(uint16_t port)
{
	static const char *const reqs[] = {
		"GET /other HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /METRICS HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /other HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	const char *name = "other_paths_404";
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct resp r;
		int st;
		size_t bl;

		exchange_str(port, reqs[i], &r);
		st = r.status;
		bl = r.bodylen;
		resp_free(&r);
		if (st != 404) {
			fail(name, "request #%zu: status %d", i, st);
			return;
		}
		if (i == 5 && bl) {
			fail(name, "HEAD 404 carried a body");
			return;
		}
	}
	pass(name);
}

/*
 * Malformed requests. libmicrohttpd tolerates some forms a strict parser would refuse (a
 * double space, a header line without a valid name) and serves them: harmless here, with one
 * request per connection and no bodies. What is promised: the plainly broken ones get a 400,
 * and none of them hangs, crashes the server or gets more than one response.
 */
static void t_400(uint16_t port)
{
	static const char *const must[] = {
		"GET /metrics\r\n\r\n",				/* HTTP/0.9 */
		"GET /metrics HTTP/1.1 \r\n\r\n",		/* trailing space */
		"GET /metrics HTTP/1.x\r\n\r\n",
		"GET /metrics HTTX/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	};
	static const char *const any[] = {
		"GARBAGE\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",		/* double space */
		"GET metrics HTTP/1.1\r\n\r\n",			/* not origin-form */
		"GET /met rics HTTP/1.1\r\n\r\n",
		"G@T /metrics HTTP/1.1\r\n\r\n",		/* non-token method */
		"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",	/* obs-fold */
		"GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n",		/* bare CR */
		"GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n",		/* control char */
		"GET /m\xe9trics HTTP/1.1\r\n\r\n",			/* non-ASCII target */
		"GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n",	/* NUL: length below */
	};
	const char *name = "malformed_requests_400";
	size_t i;

	for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		struct resp r;
		int st;
		bool eof;

		exchange_str(port, must[i], &r);
		st = r.status;
		eof = r.eof;
		resp_free(&r);
		if (st != 400 || !eof) {
			fail(name, "request #%zu: status %d eof %d", i, st, eof);
			return;
		}
	}
	pass(name);
	name = "odd_requests_answered_once_or_closed";
	for (i = 0; i < sizeof(any) / sizeof(any[0]); i++) {
		size_t len = i == 11 ? sizeof("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n") - 1 :
				       strlen(any[i]);
		struct resp r;
		int st;
		bool eof, two;

		exchange(AF_INET, port, any[i], len, &r, 3000);
		st = r.status;
		eof = r.eof;
		two = r.body && memmem(r.body, r.bodylen, "HTTP/1.", 7);
		resp_free(&r);
		if (!eof || two || (st && (st < 200 || st > 505))) {
			fail(name, "request #%zu: status %d eof %d two responses %d", i, st, eof, two);
			return;
		}
	}
	pass(name);
}

static void t_505(uint16_t port)
{
	static const char *const reqs[] = {
		"GET /metrics HTTP/2.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",	/* the h2c preface */
	};
	size_t i;

	for (i = 0; i < 2; i++) {
		struct resp r;
		int st;

		exchange_str(port, reqs[i], &r);
		st = r.status;
		resp_free(&r);
		if (st != 505) {
			fail("http2_version_505", "request #%zu: status %d", i, st);
			return;
		}
	}
	pass("http2_version_505");
}

static void t_oversized(uint16_t port)
{
	size_t n = 12000, i, off;
	char *req = malloc(n + 64);
	struct resp r;

	/* Well-formed headers, just too many of them: 8 KiB default limit. */
	off = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; off < n; i++)
		off += (size_t)sprintf(req + off, "X-Pad-%zu: %064d\r\n", i, 0);
	off += (size_t)sprintf(req + off, "\r\n");
	exchange(AF_INET, port, req, off, &r, 3000);
	if (r.status != 431 && r.status != 413)
		fail("oversized_headers_431", "status %d", r.status);
	else
		pass("oversized_headers_431");
	resp_free(&r);

	/* One endless request line, no newline at all. */
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n - 5);
	exchange(AF_INET, port, req, n, &r, 3000);
	if (r.status != 431 && r.status != 414 && r.status != 413 && !(r.status == 0 && r.eof))
		fail("long_request_line_refused", "status %d eof %d", r.status, r.eof);
	else
		pass("long_request_line_refused");
	resp_free(&r);

	/* Just under the limit is fine (8192 bytes exactly including the final CRLF). */
	off = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\nX: ");
	memset(req + off, 'b', 8192 - off - 4);
	memcpy(req + 8192 - 4, "\r\n\r\n", 4);
	exchange(AF_INET, port, req, 8192, &r, 3000);
	if (r.status != 200)
		fail("request_at_limit_200", "status %d", r.status);
	else
		pass("request_at_limit_200");
	resp_free(&r);
	free(req);
}

static void t_413(uint16_t port)
{
	static const char cl[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
				 "hello";
	static const char te[] = "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "5\r\nhello\r\n0\r\n\r\n";

	expect_status(port, "request_body_413", cl, sizeof(cl) - 1, 413, 413);
	expect_status(port, "transfer_encoding_413", te, sizeof(te) - 1, 413, 413);
}

static void t_pipelined(uint16_t port)
{
	const char *name = "pipelined_requests_one_response_then_close";
	struct resp r;

	exchange_str(port, GET_METRICS GET_METRICS GET_METRICS, &r);
	if (r.status != 200)
		fail(name, "status %d", r.status);
	else if (count_substr(r.raw, r.rawlen, "HTTP/1.1 ") != 1)
		fail(name, "%d responses", count_substr(r.raw, r.rawlen, "HTTP/1.1 "));
	else if (!r.eof || r.err)
		fail(name, "not a clean close (eof %d, %s)", r.eof, strerror(r.err));
	else
		pass(name);
	resp_free(&r);
}

/*
 * A body the server refuses is mostly unread when the 413 is written. A plain
 * close() with those bytes unread would RST the connection (and on some
 * stacks destroy the response); lingering close must deliver the response
 * followed by a clean FIN while the client is still sending.
 */
static void t_lingering_close(uint16_t port)
{
	const char *name = "lingering_close_after_refused_body";
	size_t blen = 100000, off;
	char *req = malloc(blen + 128);
	struct resp r;
	int fd;

	off = (size_t)sprintf(req, "GET /metrics HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", blen);
	memset(req + off, 'B', blen);
	fd = connect_to(AF_INET, port, 0);
	if (fd < 0) {
		fail(name, "connect failed");
		free(req);
		return;
	}
	/* Headers and body in one go: most of the body is still unread at the 413. */
	if (send_all(fd, req, off + blen)) {
		fail(name, "sending the body failed: %s", strerror(errno));
	} else {
		read_resp(fd, &r, 3000);
		if (r.status != 413)
			fail(name, "status %d", r.status);
		else if (!r.eof || r.err)
			fail(name, "not a clean close (eof %d, %s)", r.eof, strerror(r.err));
		else
			pass(name);
		resp_free(&r);
	}
	close(fd);
	free(req);
}

/* xorshift: deterministic garbage so a failure is reproducible */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void t_garbage(struct server *s)
{
	const char *name = "garbage_bytes";
	char buf[4096];
	int i, round;

	for (round = 0; round < 20; round++) {
		struct resp r;
		size_t len = 1 + rnd() % sizeof(buf);

		for (i = 0; i < (int)len; i++)
			buf[i] = (char)rnd();
		/* Every other round without NULs and newlines: pure line-length junk. */
		if (round & 1)
			for (i = 0; i < (int)len; i++)
				if (!buf[i] || buf[i] == '\n')
					buf[i] = 'z';
		/*
		 * Junk without a newline is not answered: the server waits for the
		 * rest until the read timeout, so only glance at it (then close
		 * mid-request, which is a case of its own).
		 */
		exchange(AF_INET, s->port, buf, len, &r, (round & 1) ? 100 : 1500);
		if (r.status && r.status != 400 && r.status != 431 && r.status != 505) {
			fail(name, "round %d: status %d", round, r.status);
			resp_free(&r);
			return;
		}
		resp_free(&r);
	}
	/* TLS ClientHello start: refused or closed within the read timeout */
	{
		static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
		struct resp r;

		exchange(AF_INET, s->port, tls, sizeof(tls) - 1, &r, 1500);
		if (r.status != 400 && !(r.status == 0 && r.eof)) {
			fail(name, "TLS hello: status %d eof %d", r.status, r.eof);
			resp_free(&r);
			return;
		}
		resp_free(&r);
	}
	if (!server_alive(s)) {
		fail(name, "server died");
		return;
	}
	{
		struct resp r;
		char why[128];

		exchange_str(s->port, GET_METRICS, &r);
		if (!check_scrape(&r, why, sizeof(why)))
			fail(name, "scrape afterwards: %s", why);
		else
			pass(name);
		resp_free(&r);
	}
}

static void t_close_mid_request(struct server *s)
{
	const char *name = "client_close_mid_request";
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct resp r;
	char why[128];
	int i;

	for (i = 0; i < 10; i++) {
		int fd = connect_to(AF_INET, s->port, 0);

		if (fd < 0) {
			fail(name, "connect failed");
			return;
		}
		send_all(fd, "GET /metr", 9);
		if (i & 1)	/* RST instead of FIN */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		else if (i % 4 == 2)
			shutdown(fd, SHUT_WR);	/* half-close, then read */
		/*
		 * Dropped at once or, when libmicrohttpd's edge-triggered epoll saw the data and
		 * the FIN as one event, by the read deadline (1000 ms here) at the latest.
		 */
		if (i % 4 == 2) {
			long w = wait_closed(fd, 3000);

			if (w < 0) {
				fail(name, "half-closed client not dropped");
				close(fd);
				return;
			}
		}
		close(fd);
	}
	sleep_ms(50);
	if (!server_alive(s)) {
		fail(name, "server died");
		return;
	}
	exchange_str(s->port, GET_METRICS, &r);
	if (!check_scrape(&r, why, sizeof(why)))
		fail(name, "scrape afterwards: %s", why);
	else
		pass(name);
	resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * Slow clients and timeouts (server A: read timeout 1000 ms)
 */

static void t_slow_clients(struct server *s, int read_timeout_ms)
{
	static const char trickle[] = "GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
	int idle = connect_to(AF_INET, s->port, 0);
	int slow = connect_to(AF_INET, s->port, 0);
	long idle_closed = -1, slow_closed = -1, elapsed;
	uint64_t t0 = now_ms();
	size_t sent = 0;
	struct resp r;
	char why[128];

	if (idle < 0 || slow < 0) {
		fail("slow_client_does_not_block_scrape", "connect failed");
		return;
	}
	send_all(slow, trickle, 1);
	sent = 1;
	sleep_ms(100);

	elapsed = exchange_str(s->port, GET_METRICS, &r);
	if (!check_scrape(&r, why, sizeof(why)))
		fail("slow_client_does_not_block_scrape", "%s", why);
	else if (elapsed > 400)
		fail("slow_client_does_not_block_scrape", "scrape took %ld ms", elapsed);
	else
		pass("slow_client_does_not_block_scrape");
	resp_free(&r);

	/* Keep trickling one byte every 100 ms: an idle timer would never fire. */
	while (now_ms() - t0 < (uint64_t)read_timeout_ms * 3 &&
	       (idle_closed < 0 || slow_closed < 0)) {
		if (slow_closed < 0) {
			if (is_closed_now(slow))
				slow_closed = (long)(now_ms() - t0);
			else if (sent < sizeof(trickle) - 1 &&
				 send(slow, trickle + sent, 1, MSG_NOSIGNAL) == 1)
				sent++;
		}
		if (idle_closed < 0 && is_closed_now(idle))
			idle_closed = (long)(now_ms() - t0);
		sleep_ms(100);
	}
	if (idle_closed < 0)
		fail("idle_client_dropped_after_read_timeout", "still open after %d ms",
		     read_timeout_ms * 3);
	else if (idle_closed < read_timeout_ms - 150)
		fail("idle_client_dropped_after_read_timeout", "dropped too early (%ld ms)",
		     idle_closed);
	else
		pass("idle_client_dropped_after_read_timeout");
	if (slow_closed < 0)
		fail("slowloris_dropped_after_read_timeout", "still open after %d ms (%zu bytes)",
		     read_timeout_ms * 3, sent);
	else if (slow_closed < read_timeout_ms - 150)
		fail("slowloris_dropped_after_read_timeout", "dropped too early (%ld ms)",
		     slow_closed);
	else
		pass("slowloris_dropped_after_read_timeout");
	close(idle);
	close(slow);
}

/* ---------------------------------------------------------------------------
 * Connection limit (server B: max_conns 4, read timeout 3000 ms)
 */

static void t_conn_limit(struct server *s)
{
	const char *name = "conn_limit_evicts_oldest_idle";
	int fds[6], i, open_after[6];
	struct resp r;
	char why[128];
	long elapsed;

	for (i = 0; i < 6; i++) {
		fds[i] = connect_to(AF_INET, s->port, 0);
		if (fds[i] < 0) {
			fail(name, "connect %d failed", i);
			while (i--)
				close(fds[i]);
			return;
		}
		sleep_ms(40);
	}
	/* max 4: the two extra accepts (after the 100 ms grace) evicted #0 and #1 */
	sleep_ms(400);
	for (i = 0; i < 6; i++)
		open_after[i] = !is_closed_now(fds[i]);
	elapsed = exchange_str(s->port, GET_METRICS, &r);
	if (open_after[0] || open_after[1] || !open_after[2] || !open_after[3] ||
	    !open_after[4] || !open_after[5])
		fail(name, "open after flood: %d%d%d%d%d%d, want 001111", open_after[0],
		     open_after[1], open_after[2], open_after[3], open_after[4], open_after[5]);
	else if (!check_scrape(&r, why, sizeof(why)))
		fail(name, "scrape: %s", why);
	else if (elapsed > 1000)
		fail(name, "scrape took %ld ms (read timeout is 3000)", elapsed);
	else if (!is_closed_now(fds[2]) && wait_closed(fds[2], 200) < 0)
		fail(name, "the scrape did not evict the oldest idle connection");
	else if (is_closed_now(fds[5]))
		fail(name, "the newest idle connection was evicted");
	else
		pass(name);
	resp_free(&r);
	for (i = 0; i < 6; i++)
		close(fds[i]);
}

/*
 * Slots go first to the address that holds the most: a flood of bare connects from 127.0.0.2
 * must not evict a client of 127.0.0.1 that connected a moment ago and has yet to send its
 * request (fill the table with old idle connections of both, connect the victim, then open
 * eight more connections from the flooder before the victim sends). The flood must also have
 * evicted something (it has, if the old idle connections of its own address are closed).
 */
static void t_conn_limit_grace(struct server *s)
{
	const char *name = "conn_limit_flood_spares_other_address";
	int idle[4], flood[8], victim, i;
	struct resp r;

	for (i = 0; i < 4; i++)
		idle[i] = i < 2 ? connect_to(AF_INET, s->port, 0) : connect_from_2(s->port);
	sleep_ms(300);
	victim = connect_to(AF_INET, s->port, 0);
	for (i = 0; i < 8; i++) {
		flood[i] = connect_from_2(s->port);
		sleep_ms(5);
	}
	sleep_ms(20);
	if (victim < 0 || send_all(victim, GET_METRICS, strlen(GET_METRICS))) {
		fail(name, "victim connect/send failed");
	} else if (idle[2] < 0 || idle[3] < 0 ||
		   (wait_closed(idle[2], 1000) < 0 && !is_closed_now(idle[2]))) {
		fail(name, "the flood evicted nothing of its own");
	} else {
		read_resp(victim, &r, 3000);
		if (r.status != 200)
			fail(name, "victim got status %d (evicted?)", r.status);
		else
			pass(name);
		resp_free(&r);
	}
	if (victim >= 0)
		close(victim);
	for (i = 0; i < 4; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	for (i = 0; i < 8; i++)
		if (flood[i] >= 0)
			close(flood[i]);
}

/* ---------------------------------------------------------------------------
 * Slow readers (server C: 16 MiB body, max_conns 2, write timeout 1500 ms)
 */

static int start_stuck_reader(uint16_t port)
{
	int fd = connect_to(AF_INET, port, 4096);

	if (fd >= 0 && send_all(fd, GET_METRICS, strlen(GET_METRICS))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Has the server reset/closed fd? Looks without consuming queued data. */
static bool peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLRDHUP));
}

static void t_slow_readers(struct server *s, int write_timeout_ms)
{
	struct resp r;
	char why[128];
	long elapsed, w;
	int stuck, stuck2, fd;
	size_t got = 0;
	bool stuck_gone;
	uint64_t t0;

	stuck = start_stuck_reader(s->port);
	t0 = now_ms();
	sleep_ms(100);
	elapsed = exchange(AF_INET, s->port, GET_METRICS, strlen(GET_METRICS), &r, 5000);
	/*
	 * "Not blocked" means the scrape finished while the stuck reader still
	 * held its slot, i.e. it did not have to wait for the write timeout.
	 */
	stuck_gone = peer_gone(stuck);
	if (!check_scrape(&r, why, sizeof(why)))
		fail("slow_reader_does_not_block_scrape", "%s", why);
	else if (r.bodylen != BIG_BODY)
		fail("slow_reader_does_not_block_scrape", "body %zu bytes", r.bodylen);
	else if (stuck_gone)
		fail("slow_reader_does_not_block_scrape",
		     "took %ld ms, only after the slow reader was dropped", elapsed);
	else
		pass("slow_reader_does_not_block_scrape");
	resp_free(&r);

	/* The stuck reader must be cut off at the write deadline, not served forever. */
	while (now_ms() - t0 < (uint64_t)write_timeout_ms + 500)
		sleep_ms(50);
	for (;;) {
		char buf[65536];
		ssize_t n = recv(stuck, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got >= BIG_BODY)
		fail("write_timeout_drops_slow_reader", "whole response delivered");
	else if (!server_alive(s))
		fail("write_timeout_drops_slow_reader", "server died");
	else
		pass("write_timeout_drops_slow_reader");
	close(stuck);

	/* Both slots busy writing: a third client waits in the backlog until one frees. */
	stuck = start_stuck_reader(s->port);
	stuck2 = start_stuck_reader(s->port);
	sleep_ms(100);
	elapsed = exchange(AF_INET, s->port, GET_METRICS, strlen(GET_METRICS), &r, 5000);
	if (!check_scrape(&r, why, sizeof(why)))
		fail("conn_limit_all_writing_waits_in_backlog", "%s", why);
	else if (elapsed < write_timeout_ms - 400 || elapsed > write_timeout_ms + 2500)
		fail("conn_limit_all_writing_waits_in_backlog",
		     "took %ld ms, want about the write timeout (%d) - 100", elapsed,
		     write_timeout_ms);
	else
		pass("conn_limit_all_writing_waits_in_backlog");
	resp_free(&r);
	close(stuck);
	close(stuck2);

	/* Reset in the middle of a large response, repeatedly: no SIGPIPE death. */
	for (int i = 0; i < 10; i++) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		char buf[4096];

		fd = connect_to(AF_INET, s->port, 0);
		if (fd < 0)
			break;
		send_all(fd, GET_METRICS, strlen(GET_METRICS));
		if (recv(fd, buf, sizeof(buf), 0) <= 0) {
			close(fd);
			break;
		}
		if (i & 1) {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
	/*
	 * Request, then close at once: the server gets the FIN (CLOSE_WAIT), its
	 * response draws a RST, and the kernel turns that into EPIPE on the next
	 * send -- which raises SIGPIPE unless MSG_NOSIGNAL is used.
	 */
	for (int i = 0; i < 5; i++) {
		fd = connect_to(AF_INET, s->port, 0);
		if (fd < 0)
			break;
		send_all(fd, GET_METRICS, strlen(GET_METRICS));
		close(fd);
		sleep_ms(20);
	}
	sleep_ms(100);
	w = exchange(AF_INET, s->port, GET_METRICS, strlen(GET_METRICS), &r, 5000);
	if (!server_alive(s))
		fail("client_reset_during_write_survives", "server died");
	else if (r.status != 200 || r.bodylen != BIG_BODY)
		fail("client_reset_during_write_survives", "scrape afterwards: status %d, %ld ms",
		     r.status, w);
	else
		pass("client_reset_during_write_survives");
	resp_free(&r);
}

/* ---------------------------------------------------------------------------
 * Addresses, errors, API
 */

static void t_ipv6(void)
{
	struct server s = { 0 };
	struct resp r;
	char err[256], why[128];
	int fd;

	if (start_server(&s, "[::1]", NULL, R_SMALL, err, sizeof(err))) {
		fail("ipv6_loopback", "%s", err);
	} else {
		exchange(AF_INET6, s.port, GET_METRICS, strlen(GET_METRICS), &r, 3000);
		if (!check_scrape(&r, why, sizeof(why)))
			fail("ipv6_loopback", "%s", why);
		else
			pass("ipv6_loopback");
		resp_free(&r);
		/* "[::1]" is IPv6-only: 127.0.0.1 on that port must not reach it */
		fd = connect_to(AF_INET, s.port, 0);
		if (fd >= 0) {
			fail("ipv6_spec_is_v6only", "IPv4 connect succeeded");
			close(fd);
		} else {
			pass("ipv6_spec_is_v6only");
		}
		stop_server(&s);
	}

	if (start_server(&s, "", NULL, R_SMALL, err, sizeof(err))) {
		fail("all_addresses_dual_stack", "%s", err);
		return;
	}
	exchange(AF_INET6, s.port, GET_METRICS, strlen(GET_METRICS), &r, 3000);
	if (!check_scrape(&r, why, sizeof(why))) {
		fail("all_addresses_dual_stack", "via ::1: %s", why);
	} else {
		resp_free(&r);
		exchange(AF_INET, s.port, GET_METRICS, strlen(GET_METRICS), &r, 3000);
		if (!check_scrape(&r, why, sizeof(why)))
			fail("all_addresses_dual_stack", "via 127.0.0.1: %s", why);
		else
			pass("all_addresses_dual_stack");
	}
	resp_free(&r);
	stop_server(&s);
}

static void t_bind_error(uint16_t busy_port)
{
	char spec[64], err[256], want[256];
	struct httpd *h;

	snprintf(spec, sizeof(spec), "127.0.0.1:%u", busy_port);
	snprintf(want, sizeof(want),
		 "cannot listen on %s: Address already in use -- is another mtuwatch export running?",
		 spec);
	h = server_new(spec, NULL, err, sizeof(err));
	if (h) {
		fail("bind_error_message", "second listener on %s succeeded", spec);
		httpd_free(h);
	} else if (strcmp(err, want)) {
		fail("bind_error_message", "got \"%s\"", err);
	} else {
		pass("bind_error_message");
	}
}

static void t_bad_specs(void)
{
	static const char *const bad[] = {
		"", "9877", "localhost:9877", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:98x", "::1:9877", "[::1", "[::1]9877", "[::1]:",
		"[127.0.0.1]:9877", "1.2.3:9877", "[]:9877", "127.0.0.1:000009877",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct httpd *h = server_new(bad[i], NULL, err, sizeof(err));

		if (h) {
			fail("invalid_listen_specs_rejected", "\"%s\" accepted", bad[i]);
			httpd_free(h);
			return;
		}
		if (!strstr(err, "invalid listen address")) {
			fail("invalid_listen_specs_rejected", "\"%s\": error \"%s\"", bad[i], err);
			return;
		}
	}
	pass("invalid_listen_specs_rejected");
}

/*
 * The one listen-spec parser, which `mtuwatch export --listen` checks with too. The first
 * rows are specs the exporter's own check once passed and the server refused (exit 1, not the
 * usage error 2): a sign, spaces, extra leading zeros.
 */
static void t_listen_parse(void)
{
	static const struct {
		const char *spec;
		int family;		/* 0: refused */
		uint16_t port;
		bool dual;
		const char *why;	/* refused: a part of the message */
	} cases[] = {
		{ "127.0.0.1:+9877", 0, 0, false, "port '+9877'" },
		{ "127.0.0.1: 9877", 0, 0, false, "port ' 9877'" },
		{ "127.0.0.1:\t9877", 0, 0, false, "not a decimal number" },
		{ "127.0.0.1:-0", 0, 0, false, "port '-0'" },
		{ "127.0.0.1:000009877", 0, 0, false, "port '000009877'" },
		{ "[::1]:+9877", 0, 0, false, "port '+9877'" },
		{ ":+9877", 0, 0, false, "port '+9877'" },
		{ "127.0.0.1:0", 0, 0, false, "1-65535" },
		{ ":0", 0, 0, false, "1-65535" },
		{ "[::1]:0", 0, 0, false, "1-65535" },
		{ "127.0.0.1:65536", 0, 0, false, "1-65535" },
		{ "127.0.0.1:9877 ", 0, 0, false, "port '9877 '" },
		{ "127.0.0.1:9877\n", 0, 0, false, "not a decimal number" },
		{ "127.0.0.1:0x10", 0, 0, false, "port '0x10'" },
		{ "127.0.0.1:", 0, 0, false, "port ''" },
		{ " 127.0.0.1:9877", 0, 0, false, "not a numeric IPv4 address" },
		{ "9877", 0, 0, false, "no ':PORT'" },
		{ "", 0, 0, false, "empty" },
		{ "localhost:9877", 0, 0, false, "'localhost' is not a numeric IPv4 address" },
		{ "::1:9877", 0, 0, false, "needs brackets" },
		{ "[::1]9877", 0, 0, false, "no ']:PORT'" },
		{ "[::1", 0, 0, false, "no ']:PORT'" },
		{ "[127.0.0.1]:9877", 0, 0, false, "not a numeric IPv6 address" },
		{ "[fe80::1%lo]:9877", 0, 0, false, "not a numeric IPv6 address" },
		{ "127.0.0.1:9877", AF_INET, 9877, false, NULL },
		{ "0.0.0.0:9877", AF_INET, 9877, false, NULL },
		{ "10.1.2.3:1", AF_INET, 1, false, NULL },
		{ "127.0.0.1:65535", AF_INET, 65535, false, NULL },
		{ "127.0.0.1:09877", AF_INET, 9877, false, NULL },
		{ "[::1]:9877", AF_INET6, 9877, false, NULL },
		{ "[::]:9877", AF_INET6, 9877, false, NULL },
		{ "[::ffff:127.0.0.1]:9877", AF_INET6, 9877, false, NULL },
		{ ":9877", AF_INET6, 9877, true, NULL },
	};
	const char *name = "listen_spec_parser";
	struct httpd_addr a;
	char err[256];
	uint16_t port;
	bool v6;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *spec = cases[i].spec;
		int rc;

		err[0] = '\0';
		rc = httpd_listen_parse(spec, &a, err, sizeof(err));
		if (!cases[i].family) {
			if (!rc) {
				fail(name, "\"%s\" accepted", spec);
				return;
			}
			/* One line: the spec, what is wrong, the accepted forms. */
			if (strncmp(err, "invalid listen address '", 24) ||
			    (!strpbrk(spec, "\t\n") && !strstr(err, spec)) ||
			    !strstr(err, cases[i].why) || strpbrk(err, "\t\n") ||
			    !strstr(err, "-- use " HTTPD_LISTEN_FORMS)) {
				fail(name, "\"%s\": error \"%s\"", spec, err);
				return;
			}
			continue;
		}
		if (rc) {
			fail(name, "\"%s\" refused: %s", spec, err);
			return;
		}
		v6 = a.ss.ss_family == AF_INET6;
		port = ntohs(v6 ? ((struct sockaddr_in6 *)&a.ss)->sin6_port :
				  ((struct sockaddr_in *)&a.ss)->sin_port);
		if (a.ss.ss_family != cases[i].family || a.dual != cases[i].dual ||
		    port != cases[i].port ||
		    a.len != (v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))) {
			fail(name, "\"%s\": family %d port %u dual %d len %u", spec,
			     a.ss.ss_family, port, a.dual, (unsigned int)a.len);
			return;
		}
	}
	if (httpd_listen_parse(NULL, &a, err, sizeof(err)) != -1 ||
	    strncmp(err, "invalid listen address", 22)) {
		fail(name, "NULL: \"%s\"", err);
		return;
	}
	pass(name);
}

/* In-process: the poll interface and timeout bookkeeping without a child. */
static void t_api(void)
{
	const char *name = "pollfds_and_next_timeout";
	struct httpd_limits lim = { .max_conns = 3, .read_timeout_ms = 700 };
	struct pollfd fds[8];
	enum render_mode mode = R_SMALL;
	char err[256], spec[64];
	uint16_t port = free_port();
	struct httpd *h;
	int n, to, fd;
	uint64_t t0;

	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	h = server_new(spec, &lim, err, sizeof(err));
	if (!h) {
		fail(name, "%s", err);
		return;
	}
	n = httpd_pollfds(h, fds, 8);
	to = httpd_next_timeout_ms(h);
	if (httpd_max_pollfds(h) != HTTPD_POLLFDS || n != 2 || fds[0].events != POLLIN ||
	    fds[1].events != POLLIN || to != -1) {
		fail(name, "idle server: max %d n %d timeout %d", httpd_max_pollfds(h), n, to);
		goto out;
	}
	fd = connect_to(AF_INET, port, 0);
	poll(fds, (nfds_t)n, 1000);
	httpd_process(h, fds, n, render, &mode);
	n = httpd_pollfds(h, fds, 8);
	to = httpd_next_timeout_ms(h);
	if (n != 2 || to < 0 || to > 700) {
		fail(name, "one idle client: n %d timeout %d", n, to);
		close(fd);
		goto out;
	}
	/* Honour the timeout exactly as a caller would; the client must be gone. */
	t0 = now_ms();
	while (httpd_next_timeout_ms(h) != -1 && now_ms() - t0 < 2000) {
		n = httpd_pollfds(h, fds, 8);
		poll(fds, (nfds_t)n, httpd_next_timeout_ms(h));
		httpd_process(h, fds, n, render, &mode);
	}
	if (httpd_pollfds(h, fds, 8) != 2 || httpd_next_timeout_ms(h) != -1)
		fail(name, "client not expired by the timeout loop");
	else if (!is_closed_now(fd))
		fail(name, "client socket still open");
	else
		pass(name);
	close(fd);
out:
	httpd_free(h);
	httpd_free(NULL);
}

int main(void)
{
	struct httpd_limits la = { .read_timeout_ms = 1000, .write_timeout_ms = 1000 };
	struct httpd_limits lb = { .max_conns = 4, .read_timeout_ms = 3000 };
	struct httpd_limits lc = { .max_conns = 2, .read_timeout_ms = 1000,
				   .write_timeout_ms = 1500 };
	struct server a = { 0 }, b = { 0 }, c = { 0 }, f = { 0 };
	char err[256];

	signal(SIGPIPE, SIG_IGN);	/* the client side; the server child restores it */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (start_server(&a, "127.0.0.1", &la, R_SMALL, err, sizeof(err))) {
		fail("server_start", "%s", err);
		return 0;
	}
	t_get_metrics(a.port);
	t_render_once(a.port);
	t_head(a.port);
	t_query_and_forms(a.port);
	t_405(a.port);
	t_404(a.port);
	t_400(a.port);
	t_505(a.port);
	t_oversized(a.port);
	t_413(a.port);
	t_pipelined(a.port);
	t_lingering_close(a.port);
	t_garbage(&a);
	t_close_mid_request(&a);
	t_bind_error(a.port);
	t_slow_clients(&a, (int)la.read_timeout_ms);

	if (start_server(&f, "127.0.0.1", NULL, R_FAIL, err, sizeof(err))) {
		fail("render_failure_500", "%s", err);
	} else {
		t_render_fail(f.port);
		stop_server(&f);
	}

	if (start_server(&b, "127.0.0.1", &lb, R_SMALL, err, sizeof(err)))
		fail("conn_limit_evicts_oldest_idle", "%s", err);
	else
		t_conn_limit(&b);
	if (b.pid)
		t_conn_limit_grace(&b);

	if (start_server(&c, "127.0.0.1", &lc, R_BIG, err, sizeof(err)))
		fail("slow_reader_does_not_block_scrape", "%s", err);
	else
		t_slow_readers(&c, (int)lc.write_timeout_ms);

	t_ipv6();
	t_bad_specs();
	t_listen_parse();
	t_api();

	if (!server_alive(&a) || (b.pid && !server_alive(&b)) || (c.pid && !server_alive(&c)))
		fail("servers_survived", "a server child exited");
	else
		pass("servers_survived");
	stop_server(&a);
	stop_server(&b);
	stop_server(&c);
	return 0;
}
