// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Over 800 lines on purpose: admission, the password worker and the requests share struct httpd. */
/*
 * The Prometheus endpoint on libmicrohttpd. See httpd.h for the contract. libmicrohttpd parses
 * HTTP and runs TLS; we keep the listening socket (made by httpd_listen.c, before any HTTP
 * library is loaded) and admission (slots, eviction, deadlines), because its own connection
 * limit turns away newcomers, which is exactly what lets idle clients lock out a scrape.
 */
#define _GNU_SOURCE
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include "webconfig.h"
#include "dynlib.h"

#define ACCEPT_PAUSE_MS		100
/* Accepts per round: enough to drain a flood's backlog, so that a scrape is not left in it. */
#define ACCEPT_BATCH		256
#define CONTENT_TYPE		"text/plain; version=0.0.4; charset=utf-8"
/*
 * Requests waiting for bcrypt: at most this many from one client address (more get a 401 at
 * once) and in all; the worker serves addresses in turn, so a flood of guesses from one
 * address delays another's first login by about one check.
 */
#define AUTH_PER_SOURCE		2
#define AUTH_QUEUE		64

struct conn {
	bool used;
	bool answered;		/* the request is complete and a response queued */
	bool evicted;		/* shut down by us; libmicrohttpd has yet to close it */
	bool authing;		/* its password is with the worker */
	bool skip;		/* pick_victim's scratch: its request is arriving */
	int fd;
	uint64_t src;		/* src_key() of the client */
	unsigned int tab;	/* pick_victim's scratch: its source's entry */
	uint64_t start_ms, answered_ms;
};

/* A basic-auth check handed to the worker while its connection is suspended. */
struct auth_job {
	struct auth_job *next;
	struct MHD_Connection *mc;
	uint64_t src;
	struct wc_check chk;
};

struct src_count {
	uint64_t key;
	unsigned int n;
	bool used;
};

struct httpd {
	int lfd;
	struct httpd_limits lim;
	struct MHD_Daemon *d;
	int mhd_fd;
	struct webconfig *wc;
	struct conn *conns;	/* 2 * max_conns: the live ones and the evicted not yet closed */
	unsigned int nslots, live;
	struct src_count *tab;	/* pick_victim's: connections per source */
	unsigned int tabsize;	/* a power of two, at least twice nslots + 1 */
	uint64_t accept_paused_until;
	httpd_render_fn render;
	void *ctx;
	char prio[WC_PRIO_MAX];
	char *trust;		/* what makes libmicrohttpd ask for client certificates */
	/*
	 * bcrypt takes a tenth of a second or more: a worker thread runs it so that the event
	 * loop (scrapes, the ring buffer) never waits for a password check.
	 */
	bool worker;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct auth_job *todo, *done;	/* under lock */
	bool stop;			/* under lock */
	uint64_t last_src;		/* the worker's: whose check ran last */
	unsigned int inflight;		/* given to the worker, not yet collected */
	int efd;			/* the worker signals finished jobs */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned int clampu(unsigned int v, unsigned int def, unsigned int lo, unsigned int hi)
{
	if (!v)
		return def;
	if (v < lo)
		return lo;
	return v > hi ? hi : v;
}

/* ---------------------------------------------------------------------------
 * Connection admission
 */

static struct conn *slot_of_fd(struct httpd *h, int fd)
{
	for (unsigned int i = 0; i < h->nslots; i++) {
		if (h->conns[i].used && h->conns[i].fd == fd)
			return &h->conns[i];
	}
	return NULL;
}

/*
 * Make libmicrohttpd drop the connection at its next run: shutdown() wakes its epoll with EOF
 * while the descriptor stays its own to close (no reuse race). abortive: reset instead of FIN,
 * so that the kernel frees a send queue the client does not read.
 */
static void conn_kill(struct httpd *h, struct conn *c, bool abortive)
{
	if (c->evicted)
		return;
	if (abortive) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	shutdown(c->fd, SHUT_RDWR);
	c->evicted = true;
	h->live--;
}

static void on_notify(void *cls, struct MHD_Connection *mc, void **socket_context,
		      enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = ci ? slot_of_fd(h, ci->connect_fd) : NULL;
		return;
	}
	c = *socket_context;
	if (!c || !c->used)
		return;
	if (!c->evicted)
		h->live--;
	c->used = false;
	*socket_context = NULL;
}

/*
 * Who a client is, for fairness: its IPv4 address, or its IPv6 /64 (what one subscriber
 * usually holds; an address each would let one host take every share).
 */
static uint64_t src_key(const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	uint64_t k = 0;

	if (ss->ss_family == AF_INET)
		return 0xffff00000000ULL | ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
	if (ss->ss_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
		return 0xffff00000000ULL | (uint64_t)a[12] << 24 | a[13] << 16 | a[14] << 8 | a[15];
	for (int i = 0; i < 8; i++)
		k = k << 8 | a[i];
	return k;
}

static bool evictable(const struct conn *c)
{
	return c->used && !c->evicted && !c->answered;
}

/* Bytes in the socket that libmicrohttpd has not read yet: a request arriving now. */
static bool has_input(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/*
 * The connection to shut down for a newcomer from source extra: one that has not completed
 * its request, from the source that holds the most live connections (a flood loses its own
 * first), the oldest of that source; one whose request is in its socket already only if no
 * other is left. Counting is one pass over a small open-addressing table.
 */
static struct conn *pick_victim(struct httpd *h, uint64_t extra)
{
	unsigned int mask = h->tabsize - 1, best_n = 0;
	struct conn *v = NULL;

	memset(h->tab, 0, (size_t)(mask + 1) * sizeof(*h->tab));
	for (unsigned int i = 0; i <= h->nslots; i++) {
		struct conn *c = i < h->nslots ? &h->conns[i] : NULL;
		uint64_t key = c ? c->src : extra;
		unsigned int t;

		if (c && (!c->used || c->evicted))
			continue;
		t = (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> 40) & mask;
		while (h->tab[t].used && h->tab[t].key != key)
			t = (t + 1) & mask;
		h->tab[t] = (struct src_count){ .key = key, .n = h->tab[t].n + 1, .used = true };
		if (c) {
			c->tab = t;
			c->skip = false;
		}
	}
	for (int tries = 0; tries < 4; tries++) {
		v = NULL;
		best_n = 0;
		for (unsigned int i = 0; i < h->nslots; i++) {
			struct conn *c = &h->conns[i];
			unsigned int n;

			if (!evictable(c) || c->skip)
				continue;
			n = h->tab[c->tab].n;
			if (!v || n > best_n || (n == best_n && c->start_ms < v->start_ms)) {
				v = c;
				best_n = n;
			}
		}
		if (!v || !has_input(v->fd))
			return v;
		v->skip = true;
	}
	return v;
}

static struct conn *free_slot(struct httpd *h)
{
	for (unsigned int i = 0; i < h->nslots; i++) {
		if (!h->conns[i].used)
			return &h->conns[i];
	}
	return NULL;
}

static bool any_evictable(struct httpd *h)
{
	for (unsigned int i = 0; i < h->nslots; i++) {
		if (evictable(&h->conns[i]))
			return true;
	}
	return false;
}

/* A slot can be had now: one is free, or a live connection can be evicted. */
static bool can_accept(struct httpd *h, uint64_t now)
{
	if (now < h->accept_paused_until)
		return false;
	return h->live < h->lim.max_conns || any_evictable(h);
}

/*
 * Accept until the backlog is empty: a flood must not leave a scrape queued behind it. When
 * every slot is taken, each newcomer evicts a connection that has not completed its request
 * (pick_victim), at once: under a flood, waiting for a grace period is what let the backlog
 * overflow.
 */
static void accept_new(struct httpd *h)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		uint64_t now = now_ms();
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct conn *c = free_slot(h);
		uint64_t src;
		int fd;

		if (!c) {
			/* The evicted hold the other slots until libmicrohttpd closes them. */
			MHD_run(h->d);
			c = free_slot(h);
		}
		if (!c || now < h->accept_paused_until)
			return;
		if (h->live >= h->lim.max_conns && !any_evictable(h))
			return;
		fd = accept4(h->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				h->accept_paused_until = now + ACCEPT_PAUSE_MS;
			return;
		}
		src = src_key(&ss);
		if (h->live >= h->lim.max_conns) {
			struct conn *v = pick_victim(h, src);

			if (v)
				conn_kill(h, v, false);
		}
		*c = (struct conn){ .used = true, .fd = fd, .start_ms = now, .src = src };
		h->live++;
		/* It closes fd itself on failure; a STARTED notify may have claimed the slot. */
		if (MHD_add_connection(h->d, fd, (struct sockaddr *)&ss, sl) != MHD_YES && c->used &&
		    c->fd == fd) {
			c->used = false;
			if (!c->evicted)
				h->live--;
		}
	}
}

/* Read deadline for waiting connections, write deadline for answered ones. */
static int expire(struct httpd *h, uint64_t now)
{
	int n = 0;

	for (unsigned int i = 0; i < h->nslots; i++) {
		struct conn *c = &h->conns[i];

		if (!c->used || c->evicted)
			continue;
		if (!c->answered && now - c->start_ms >= h->lim.read_timeout_ms) {
			conn_kill(h, c, false);
			n++;
		} else if (c->answered && now - c->answered_ms >= h->lim.write_timeout_ms) {
			conn_kill(h, c, true);
			n++;
		}
	}
	return n;
}

/* ---------------------------------------------------------------------------
 * Requests
 */

static enum MHD_Result queue(struct MHD_Connection *mc, unsigned int status,
			     struct MHD_Response *r, bool auth_fail)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (auth_fail)
		ret = MHD_queue_basic_auth_fail_response(mc, "mtuwatch", r);
	else
		ret = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *mc, unsigned int status,
				  const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);

	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	}
	return queue(mc, status, r, status == MHD_HTTP_UNAUTHORIZED);
}

/* client_auth_type, enforced once the handshake is done (see httpd.h). */
static bool client_cert_ok(const struct webconfig *wc, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	unsigned int n = 0, status = 0;

	if (!wc || !wc->tls || wc->client_auth == WC_NO_CLIENT_CERT ||
	    wc->client_auth == WC_REQUEST_CLIENT_CERT)
		return true;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return false;
	if (!gnutls_certificate_get_peers(ci->tls_session, &n) || !n)
		return wc->client_auth == WC_VERIFY_CLIENT_CERT_IF_GIVEN;
	if (wc->client_auth == WC_REQUIRE_ANY_CLIENT_CERT)
		return true;
	return gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status) == 0 &&
	       status == 0;
}

static void *auth_main(void *arg)
{
	struct httpd *h = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct auth_job *j, **pj = &h->todo, **pick = &h->todo;

		if (!h->todo) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		/* The oldest job of another address than the last served: addresses take turns. */
		for (; *pj; pj = &(*pj)->next) {
			if ((*pj)->src != h->last_src) {
				pick = pj;
				break;
			}
		}
		j = *pick;
		*pick = j->next;
		h->last_src = j->src;
		pthread_mutex_unlock(&h->lock);
		webconfig_check_crypt(&j->chk);
		pthread_mutex_lock(&h->lock);
		j->next = h->done;
		h->done = j;
		/* It fails only when the counter is saturated: a wakeup is pending anyway. */
		(void)!write(h->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Resume the connections whose check is done; libmicrohttpd calls on_request again. */
static void auth_collect(struct httpd *h)
{
	struct auth_job *j, *next;
	uint64_t n;

	if (!h->worker)
		return;
	/* EAGAIN when nothing was signalled: the list is looked at all the same. */
	(void)!read(h->efd, &n, sizeof(n));
	pthread_mutex_lock(&h->lock);
	j = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->lock);
	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		h->inflight--;
		MHD_resume_connection(j->mc);
	}
}

static struct auth_job *auth_submit(struct httpd *h, struct MHD_Connection *mc,
				    struct wc_check *chk, struct conn *c)
{
	struct auth_job *j, **tail;
	unsigned int mine = 0;

	if (!h->worker || h->inflight >= AUTH_QUEUE || !c)
		return NULL;
	for (unsigned int i = 0; i < h->nslots; i++) {
		if (h->conns[i].used && h->conns[i].authing && h->conns[i].src == c->src)
			mine++;
	}
	if (mine >= AUTH_PER_SOURCE)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->mc = mc;
	j->chk = *chk;
	j->src = c->src;
	c->authing = true;
	h->inflight++;
	pthread_mutex_lock(&h->lock);
	for (tail = &h->todo; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return j;
}

static int worker_start(struct httpd *h)
{
	sigset_t all, old;
	int err;

	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		return -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	/* Signals (SIGTERM, SIGINT) must interrupt the main thread's poll, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&h->thread, NULL, auth_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(h->efd);
		h->efd = -1;
		errno = err;
		return -1;
	}
	h->worker = true;
	return 0;
}

/* Stop the worker and give every suspended connection back to libmicrohttpd, refused. */
static void worker_stop(struct httpd *h)
{
	struct auth_job *lists[2], *j, *next;

	if (!h->worker)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	h->worker = false;
	lists[0] = h->todo;
	lists[1] = h->done;
	h->todo = h->done = NULL;
	for (int i = 0; i < 2; i++) {
		for (j = lists[i]; j; j = next) {
			next = j->next;
			j->next = NULL;
			j->chk.ok = false;
			MHD_resume_connection(j->mc);
		}
	}
	MHD_run(h->d);
	close(h->efd);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
}

/* Frees a job whose connection ended before on_request could take the result. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **req,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;

	if (*req && *req != h) {
		struct auth_job *j = *req;

		webconfig_check_abandon(&j->chk);
		free(j);
	}
	*req = NULL;
}

static bool has_body(struct MHD_Connection *mc)
{
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return cl && strspn(cl, "0") != strlen(cl);
}

/* RFC 9112 3.2.2: a server must accept the absolute form "http://host/metrics" too. */
static const char *origin_form(const char *url)
{
	const char *p = NULL;

	if (!strncasecmp(url, "http://", 7))
		p = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		p = url + 8;
	if (!p)
		return url;
	p = strchr(p, '/');
	return p ? p : "/";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;
	struct MHD_Response *r;
	char *body = NULL;
	size_t len = 0;

	/* Later calls carry a request body, already refused: discard it. */
	if (*req == h) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (*req) {
		/* Resumed: the worker has checked the password. */
		struct auth_job *j = *req;
		bool ok = webconfig_check_end(h->wc, &j->chk);

		free(j);
		if (c)
			c->authing = false;
		*req = h;
		*upload_data_size = 0;
		if (!ok)
			return reply_text(mc, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n");
	} else {
		*req = h;
		if (c) {
			c->answered = true;
			c->answered_ms = now_ms();
		}
		if (!client_cert_ok(h->wc, mc))
			return MHD_NO;
		if (h->wc && h->wc->nusers) {
			char *user = NULL, *pass = NULL;
			struct wc_check chk;
			struct auth_job *j = NULL;
			int rc;

			/* Ours, not libmicrohttpd's: its C string cut "secret\0junk" short. */
			webconfig_basic_auth(MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_AUTHORIZATION), &user, &pass);
			rc = webconfig_check_begin(h->wc, user, pass, &chk);
			if (pass) {
				explicit_bzero(pass, strlen(pass));
				free(pass);
			}
			free(user);
			if (rc == WC_NEEDS_BCRYPT) {
				j = auth_submit(h, mc, &chk, c);
				if (!j)
					webconfig_check_abandon(&chk);
			}
			if (j) {
				*req = j;
				MHD_suspend_connection(mc);
				return MHD_YES;
			}
			if (rc != WC_ACCEPTED)
				return reply_text(mc, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n");
		}
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n");
	if (has_body(mc))
		return reply_text(mc, MHD_HTTP_CONTENT_TOO_LARGE, "Request bodies are not accepted\n");
	if (strcmp(origin_form(url), "/metrics"))
		return reply_text(mc, MHD_HTTP_NOT_FOUND, "Not Found: try /metrics\n");
	if (!h->render || h->render(h->ctx, &body, &len)) {
		free(body);
		return reply_text(mc, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error\n");
	}
	if (body)
		r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	else
		r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	return queue(mc, MHD_HTTP_OK, r, false);
}

/* ---------------------------------------------------------------------------
 * Life cycle and the caller's loop
 */

struct httpd *httpd_new_on(int lfd, const char *listen_spec, const struct httpd_limits *lim,
			   struct webconfig *wc, char *err, size_t errlen)
{
	struct httpd_limits l = { 0 };
	unsigned int flags = MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL;
	struct MHD_OptionItem opts[12];
	const union MHD_DaemonInfo *di;
	struct httpd *h;
	int no = 0;

	if (err && errlen)
		err[0] = '\0';
	if (dl_web_open(err ? err : (char[160]){ 0 }, err ? errlen : 160)) {
		close(lfd);
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
	if (wc && wc->tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		if (err)
			snprintf(err, errlen, "cannot serve TLS: this libmicrohttpd was built "
				 "without it -- install Debian's libmicrohttpd12");
		close(lfd);
		return NULL;
	}
	/* A vanished client must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);

	h = calloc(1, sizeof(*h));
	if (!h) {
		close(lfd);
		goto nomem;
	}
	h->lfd = lfd;
	h->mhd_fd = -1;
	h->efd = -1;
	h->lim = l;
	h->wc = wc;
	h->nslots = 2 * l.max_conns;
	h->conns = calloc(h->nslots, sizeof(*h->conns));
	for (h->tabsize = 1; h->tabsize < 2 * (h->nslots + 1); h->tabsize *= 2)
		;
	h->tab = calloc(h->tabsize, sizeof(*h->tab));
	if (!h->conns || !h->tab)
		goto nomem;

	/*
	 * The memory pool holds the request head and the response headers; what the request
	 * cannot get is refused with 431. libmicrohttpd's own idle timeout is a backstop only:
	 * our deadlines fire first. Its connection limit leaves room for the evicted ones it
	 * has not closed yet.
	 */
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					      (intptr_t)l.max_request + 4096, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
					      (intptr_t)h->nslots + 1, NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
		(intptr_t)((l.read_timeout_ms + l.write_timeout_ms) / 1000 + 1), NULL };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
					      (intptr_t)on_notify, h };
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
					      (intptr_t)on_completed, h };
	if (wc && wc->nusers)
		flags |= MHD_ALLOW_SUSPEND_RESUME;	/* while the worker runs bcrypt */
	if (wc && wc->tls) {
		flags |= MHD_USE_TLS;
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, wc->cert_pem };
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, wc->key_pem };
		opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)webconfig_priorities(wc, h->prio, sizeof(h->prio)) };
		/*
		 * libmicrohttpd asks for a client certificate only when it has a trust list. For
		 * the policies that do not verify, the server's own certificate serves as one.
		 */
		if (wc->client_ca_pem)
			h->trust = wc->client_ca_pem;
		else if (wc->client_auth != WC_NO_CLIENT_CERT)
			h->trust = wc->cert_pem;
		if (h->trust)
			opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							      h->trust };
	}
	opts[no++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	di = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!di) {
		if (err)
			snprintf(err, errlen, "cannot start the HTTP%s server on %s -- run with -v "
				 "and report it", wc && wc->tls ? "S" : "", listen_spec);
		httpd_free(h);
		return NULL;
	}
	h->mhd_fd = di->epoll_fd;
	if (wc && wc->nusers && worker_start(h)) {
		if (err)
			snprintf(err, errlen, "cannot start the password-check thread: %s",
				 strerror(errno));
		httpd_free(h);
		return NULL;
	}
	return h;

nomem:
	if (err)
		snprintf(err, errlen, "cannot listen on %s: %s", listen_spec, strerror(ENOMEM));
	httpd_free(h);
	return NULL;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	worker_stop(h);
	if (h->d)
		MHD_stop_daemon(h->d);	/* closes every client connection */
	if (h->lfd >= 0)
		close(h->lfd);
	free(h->conns);
	free(h->tab);
	free(h);
}

int httpd_max_pollfds(const struct httpd *h)
{
	return h ? HTTPD_POLLFDS : 0;
}

int httpd_pollfds(struct httpd *h, struct pollfd *fds, int max)
{
	int n = 0;

	if (!h)
		return 0;
	if (n < max)
		fds[n++] = (struct pollfd){ .fd = h->mhd_fd, .events = POLLIN };
	if (n < max && can_accept(h, now_ms()))
		fds[n++] = (struct pollfd){ .fd = h->lfd, .events = POLLIN };
	if (n < max && h->worker)
		fds[n++] = (struct pollfd){ .fd = h->efd, .events = POLLIN };
	return n;
}

int httpd_next_timeout_ms(struct httpd *h)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	MHD_UNSIGNED_LONG_LONG mt;

	if (!h)
		return -1;
	if (MHD_get_timeout(h->d, &mt) == MHD_YES)
		next = now + mt;
	if (h->accept_paused_until > now && h->accept_paused_until < next)
		next = h->accept_paused_until;
	for (unsigned int i = 0; i < h->nslots; i++) {
		const struct conn *c = &h->conns[i];
		uint64_t t;

		if (!c->used || c->evicted)
			continue;
		t = c->answered ? c->answered_ms + h->lim.write_timeout_ms :
				  c->start_ms + h->lim.read_timeout_ms;
		if (t < next)
			next = t;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > INT32_MAX ? INT32_MAX : (int)(next - now);
}

void httpd_process(struct httpd *h, const struct pollfd *fds, int n,
		   httpd_render_fn render, void *ctx)
{
	if (!h)
		return;
	h->render = render;
	h->ctx = ctx;
	auth_collect(h);
	MHD_run(h->d);
	/* Close what we shut down at once, so its slot is free for accept_new. */
	if (expire(h, now_ms()))
		MHD_run(h->d);
	accept_new(h);
	MHD_run(h->d);
}
