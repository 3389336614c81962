/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * httpd: the /metrics endpoint of `mtuwatch export`, on libmicrohttpd (HTTP/1.1 parsing, TLS
 * through GnuTLS), with our own connection admission on top.
 *
 * It serves exactly one resource, GET/HEAD /metrics, for Prometheus. It is single-threaded
 * and never blocks: the caller owns the event loop and polls our descriptors next to its own
 * (e.g. the libbpf ring buffer epoll fd):
 *
 *	struct pollfd fds[HTTPD_POLLFDS + own];
 *	for (;;) {
 *		int n = httpd_pollfds(h, fds, HTTPD_POLLFDS);
 *		// ...append the caller's own fds after fds[n]...
 *		poll(fds, n + own, min(httpd_next_timeout_ms(h), own_timeout));
 *		httpd_process(h, fds, n, render, ctx);
 *	}
 *
 * Behaviour:
 *  - GET and HEAD of /metrics (query string ignored) -> 200 with
 *    "Content-Type: text/plain; version=0.0.4; charset=utf-8"; HEAD carries the
 *    Content-Length the GET would have, and no body. render() runs once per such request;
 *    nonzero return -> 500. Other methods -> 405 with "Allow: GET, HEAD"; other paths ->
 *    404; a request with a body -> 413; malformed requests -> 400 (libmicrohttpd);
 *    request line plus headers beyond what lim->max_request leaves room for -> 431/414.
 *  - With a web config (webconfig.h): TLS as configured, client certificates checked per
 *    client_auth_type after the handshake (a client that fails the policy is disconnected
 *    without a response, as a Go exporter's handshake would fail), and basic auth checked
 *    before anything else (401 with WWW-Authenticate otherwise). bcrypt runs in a worker
 *    thread while the connection is suspended, so the caller's loop never waits for it;
 *    client addresses take turns, at most 2 checks of one address wait (more get a 401 at
 *    once), so a guessing flood delays another address's first login by about one check.
 *  - Every response carries "Connection: close": one request per connection, so the
 *    admission rules below see every request.
 *  - We accept() ourselves, until the backlog is empty, and hand sockets to libmicrohttpd,
 *    so that we, not the library, decide who gets a slot. At most lim->max_conns connections
 *    are live. When all are taken, each newcomer makes one that has not completed its
 *    request shut down at once: from the client address (IPv6: /64) holding the most
 *    connections, its oldest, sparing one whose request is already in its socket. Idle,
 *    slowloris, half-open clients or a connect flood from one address cannot lock out a
 *    scrape, which sends its request at once. If nothing is evictable, new connections wait
 *    in the kernel backlog.
 *  - Read deadline: the whole request (TLS handshake included) must arrive within
 *    read_timeout_ms of the accept (a deadline, not an idle timer: trickling one byte a
 *    second does not help). Write deadline: the response must be taken within
 *    write_timeout_ms, else the connection is reset (SO_LINGER 0) so queued data is freed.
 *  - If accept() fails for lack of descriptors or memory, accepting pauses for 100 ms.
 *
 * Listen specs (numeric addresses only, no DNS), parsed by httpd_listen_parse() alone:
 *	"127.0.0.1:9877"	IPv4 address
 *	"[::1]:9877"		IPv6 address ("[::]:9877" is IPv6-only)
 *	":9877"			all addresses, IPv4 and IPv6 (dual-stack socket;
 *				IPv4-only 0.0.0.0 if the kernel has no IPv6)
 *	"0.0.0.0:9877"		all IPv4 addresses
 * The port is strict decimal, 1-65535: no sign, no spaces, at most 5 digits. A bare "9877" is
 * refused: it would have to mean loopback or every address, and binding beyond loopback is
 * the user's explicit choice.
 *
 * Not thread-safe: one thread drives one struct httpd.
 */
#ifndef MTUWATCH_HTTPD_H
#define MTUWATCH_HTTPD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct webconfig;

/* Upper bounds accepted for struct httpd_limits (larger values are clamped). */
#define HTTPD_MAX_CONNS_LIMIT	1024
#define HTTPD_MAX_REQUEST_LIMIT	(1024 * 1024)
#define HTTPD_MIN_REQUEST	1024

/* Defaults, used for every field of struct httpd_limits left at 0. */
#define HTTPD_DEFAULT_MAX_CONNS		16
#define HTTPD_DEFAULT_MAX_REQUEST	8192
#define HTTPD_DEFAULT_READ_TIMEOUT_MS	5000
#define HTTPD_DEFAULT_WRITE_TIMEOUT_MS	10000

/* httpd_pollfds() fills at most this many entries. */
#define HTTPD_POLLFDS			3

struct httpd_limits {
	unsigned int max_conns;		/* concurrent client connections */
	unsigned int max_request;	/* bytes of request line + headers */
	unsigned int read_timeout_ms;	/* accept -> complete request */
	unsigned int write_timeout_ms;	/* response start -> fully sent */
};

struct httpd;

/*
 * Produce the exposition text. On success return 0 and set *body to a malloc()ed buffer of
 * *len bytes (NULL/0 for an empty body is fine); httpd free()s it. On failure return nonzero:
 * the client gets a 500, and if *body was set anyway it is freed.
 */
typedef int (*httpd_render_fn)(void *ctx, char **body, size_t *len);

/* The accepted forms, as error messages name them (the man page's --listen says the same). */
#define HTTPD_LISTEN_FORMS \
	"IPV4:PORT, [IPV6]:PORT or :PORT (every address), e.g. 127.0.0.1:9877"

/* A parsed listen spec. */
struct httpd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool dual;		/* ":PORT": every address of both families */
};

/*
 * Parse a listen spec (the forms above) into *a; no socket, no library: the exporter checks
 * --listen with it as a usage error. On failure return -1 and put one line, without trailing
 * newline, into err: "invalid listen address 'SPEC': what is wrong -- use " HTTPD_LISTEN_FORMS.
 */
int httpd_listen_parse(const char *spec, struct httpd_addr *a, char *err, size_t errlen);

/*
 * Server set-up comes in two halves. First the listening socket alone (SO_REUSEADDR,
 * non-blocking, close-on-exec; no HTTP libraries loaded yet, so the exporter can refuse a busy
 * port before its BPF work). On failure it returns -1 with one line, without trailing newline,
 * in err: the parser's, or e.g. "cannot listen on 127.0.0.1:9877: Address already in use --
 * is another mtuwatch export running?".
 */
int httpd_listen(const char *listen_spec, char *err, size_t errlen);

/*
 * Then the server on that socket, which it takes over, also on failure. listen_spec only
 * labels errors. lim may be NULL for defaults; wc NULL for plain HTTP without authentication
 * (wc must stay valid until httpd_free). SIGPIPE is ignored from here on. On failure return
 * NULL with one line, without trailing newline, in err.
 */
struct httpd *httpd_new_on(int lfd, const char *listen_spec, const struct httpd_limits *lim,
			   struct webconfig *wc, char *err, size_t errlen);

/* Close the listening socket and every client connection. NULL is a no-op. */
void httpd_free(struct httpd *h);

/* The most pollfds httpd_pollfds() will ever fill. */
int httpd_max_pollfds(const struct httpd *h);

/*
 * Fill fds[0..ret) with libmicrohttpd's epoll descriptor, the listening socket (unless no
 * slot can be had now, or accepting is paused) and, with basic auth, the password worker's
 * eventfd; revents are zeroed. Fills at most max.
 */
int httpd_pollfds(struct httpd *h, struct pollfd *fds, int max);

/*
 * Milliseconds until the next deadline (connection deadlines, accept pause,
 * libmicrohttpd's own); 0 if one is already due; -1 if none.
 */
int httpd_next_timeout_ms(struct httpd *h);

/*
 * Run libmicrohttpd on what is ready, expire deadlines, accept new connections. Every socket
 * is non-blocking, so calling this spuriously, with n == 0 or stale revents is harmless.
 */
void httpd_process(struct httpd *h, const struct pollfd *fds, int n,
		   httpd_render_fn render, void *ctx);

#endif /* MTUWATCH_HTTPD_H */
