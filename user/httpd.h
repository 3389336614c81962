/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * httpd: a tiny, hardened HTTP/1.x server for `mtuwatch export --listen`.
 *
 * It serves exactly one resource, GET/HEAD /metrics, for Prometheus. It is
 * single-threaded and never blocks: the caller owns the event loop and polls
 * our descriptors next to its own (e.g. the libbpf ring buffer epoll fd):
 *
 *	struct pollfd fds[1 + HTTPD_MAX_CONNS_LIMIT];	// or httpd_max_pollfds(h)
 *	for (;;) {
 *		int n = httpd_pollfds(h, fds, max);
 *		// ...append the caller's own fds after fds[n]...
 *		poll(fds, n + own, min(httpd_next_timeout_ms(h), own_timeout));
 *		httpd_process(h, fds, n, render, ctx);
 *	}
 *
 * Behaviour (all of it is exercised by tests/unit/test_httpd.c):
 *  - GET and HEAD of /metrics (query string ignored; absolute-form
 *    "http://host/metrics" accepted) -> 200 with
 *    "Content-Type: text/plain; version=0.0.4; charset=utf-8". HEAD carries
 *    the Content-Length the GET would have, and no body. render() is called
 *    once per such request; nonzero return -> 500.
 *  - Other methods -> 405 with "Allow: GET, HEAD"; other paths -> 404;
 *    malformed request line or header line, embedded NUL, bare CR, obsolete
 *    line folding -> 400; a major HTTP version other than 1 -> 505.
 *  - Request line plus headers larger than lim->max_request -> 431.
 *    Request bodies are not accepted: Content-Length > 0 or any
 *    Transfer-Encoding -> 413. Precedence: 400/505, then 405, 413, 404.
 *  - Every response carries "Connection: close". After the response the
 *    server half-closes (SHUT_WR) and drains what the client still sends for
 *    up to HTTPD_LINGER_MS ("lingering close") so that a client that
 *    pipelined or sent a body does not get its response destroyed by a RST.
 *  - Read timeout: the *whole* request must arrive within read_timeout_ms of
 *    the accept (a deadline, not an idle timer, so a client trickling one
 *    byte per second is dropped just like a silent one). Timed-out readers
 *    are closed without a response.
 *  - Write timeout: the whole response must be taken by the client within
 *    write_timeout_ms; otherwise the connection is reset (SO_LINGER 0) so the
 *    kernel frees the queued data at once. Writes use MSG_NOSIGNAL and handle
 *    partial writes, so a slow or vanished reader never blocks other clients
 *    and never raises SIGPIPE.
 *  - Connection limit (max_conns): when all slots are taken and a new
 *    connection is pending, the oldest connection that is merely lingering
 *    after its response, or else the oldest one still waiting for its request
 *    and older than HTTPD_EVICT_GRACE_MS, is closed to make room. So idle or
 *    slowloris connections cannot lock out a scrape: Prometheus sends its
 *    request right after connecting and is answered before it can become an
 *    eviction victim. Connections that are being answered are never evicted;
 *    if every slot is busy writing, the listening socket is not polled and new
 *    connections wait in the kernel backlog until a slot frees (at the latest
 *    after write_timeout_ms).
 *  - If accept() fails for lack of descriptors or memory, accepting pauses
 *    for 100 ms instead of spinning on a readable listening socket.
 *
 * Listen specs (numeric addresses only, no DNS):
 *	"127.0.0.1:9877"	IPv4 address
 *	"[::1]:9877"		IPv6 address ("[::]:9877" is IPv6-only)
 *	":9877"			all addresses, IPv4 and IPv6 (dual-stack socket;
 *				IPv4-only 0.0.0.0 if the kernel has no IPv6)
 *	"0.0.0.0:9877"		all IPv4 addresses
 * Port 0 picks an ephemeral port; see httpd_port().
 *
 * Not thread-safe: one thread drives one struct httpd.
 */
#ifndef MTUWATCH_HTTPD_H
#define MTUWATCH_HTTPD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bounds accepted for struct httpd_limits (larger values are clamped). */
#define HTTPD_MAX_CONNS_LIMIT	1024
#define HTTPD_MAX_REQUEST_LIMIT	(1024 * 1024)
#define HTTPD_MIN_REQUEST	256

/* Defaults, used for every field of struct httpd_limits left at 0. */
#define HTTPD_DEFAULT_MAX_CONNS		16
#define HTTPD_DEFAULT_MAX_REQUEST	8192
#define HTTPD_DEFAULT_READ_TIMEOUT_MS	5000
#define HTTPD_DEFAULT_WRITE_TIMEOUT_MS	10000

/* Lingering close after a response: at most this long (and at most the read timeout). */
#define HTTPD_LINGER_MS			2000
/* A connection waiting for its request can be evicted only once it is this old. */
#define HTTPD_EVICT_GRACE_MS		100

struct httpd_limits {
	unsigned int max_conns;		/* concurrent client connections */
	unsigned int max_request;	/* bytes of request line + headers */
	unsigned int read_timeout_ms;	/* accept -> complete request */
	unsigned int write_timeout_ms;	/* response start -> fully sent */
};

struct httpd;

/*
 * Produce the exposition text. On success return 0 and set *body to a
 * malloc()ed buffer of *len bytes (NULL/0 for an empty body is fine); httpd
 * free()s it. On failure return nonzero: the client gets a 500, and if *body
 * was set anyway it is freed.
 */
typedef int (*httpd_render_fn)(void *ctx, char **body, size_t *len);

/*
 * Create the listening socket (SO_REUSEADDR, non-blocking, close-on-exec).
 * lim may be NULL for defaults. On failure return NULL and put one line,
 * without trailing newline, into err, e.g.
 * "cannot listen on 127.0.0.1:9877: Address already in use -- is another
 * mtuwatch export running?".
 */
struct httpd *httpd_new(const char *listen_spec, const struct httpd_limits *lim,
			char *err, size_t errlen);

/* Close the listening socket and every client connection. NULL is a no-op. */
void httpd_free(struct httpd *h);

/* The bound port in host byte order (useful with port 0). */
uint16_t httpd_port(const struct httpd *h);

/* The most pollfds httpd_pollfds() will ever fill: 1 + max_conns. */
int httpd_max_pollfds(const struct httpd *h);

/*
 * Fill fds[0..ret) with the listening socket (unless the connection table is
 * full with nothing evictable, or accepting is paused) and every client
 * connection, with the events each needs; revents are zeroed. Fills at most
 * max entries (pass httpd_max_pollfds(h) to never truncate).
 */
int httpd_pollfds(struct httpd *h, struct pollfd *fds, int max);

/*
 * Milliseconds until the next connection deadline (read/write/linger timeout,
 * eviction grace, accept pause); 0 if one is already due; -1 if none. Use it
 * as (or to cap) the poll timeout so that timeouts fire without traffic.
 */
int httpd_next_timeout_ms(struct httpd *h);

/*
 * Handle what poll() reported in fds[0..n) (the entries httpd_pollfds()
 * filled; extra entries for fds httpd does not own are ignored), then expire
 * deadlines, then accept new connections. Every socket is non-blocking, so
 * calling this spuriously, with n == 0 or with stale revents is harmless.
 */
void httpd_process(struct httpd *h, const struct pollfd *fds, int n,
		   httpd_render_fn render, void *ctx);

#endif /* MTUWATCH_HTTPD_H */
