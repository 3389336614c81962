// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The listening half of httpd (see httpd.h): the one parser of listen specs, and the socket.
 * It loads no HTTP library, so that `mtuwatch export` can refuse a typo (usage error) or a
 * busy port before its BPF work; httpd.c, the server on libmicrohttpd, takes the socket over.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG		128

/*
 * Strict decimal: 1 to 5 digits, 1-65535. No sign, no spaces, nothing after it (strtol would
 * take "+9877" and " 9877"), and not 0: an ephemeral port no scraper could be told.
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
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* One line: what is wrong, then the accepted forms. Returns -1. */
__attribute__((format(printf, 4, 5)))
static int bad(const char *spec, char *err, size_t errlen, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "invalid listen address '%s': %s -- use " HTTPD_LISTEN_FORMS,
			 spec ? spec : "(null)", why);
		/* One line whatever the spec holds. */
		for (char *p = err; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return -1;
}

/*
 * Fill *a from "A.B.C.D:P", "[V6]:P" or ":P". a->dual is set for ":P", which
 * means "every address of every family".
 */
int httpd_listen_parse(const char *spec, struct httpd_addr *a, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs;
	size_t hlen;
	uint16_t port;

	memset(a, 0, sizeof(*a));
	if (!spec || !*spec)
		return bad(spec, err, errlen, "empty");
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':')
			return bad(spec, err, errlen, "no ']:PORT' after the IPv6 address");
		hs = spec + 1;
		hlen = (size_t)(rb - hs);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return bad(spec, err, errlen, "no ':PORT'");
		hs = spec;
		hlen = (size_t)(colon - spec);
		/* An unbracketed IPv6 address would be ambiguous with the port. */
		if (memchr(spec, ':', hlen))
			return bad(spec, err, errlen, "an IPv6 address needs brackets");
	}
	if (parse_port(colon + 1, &port))
		return bad(spec, err, errlen, "port '%s' is not a decimal number 1-65535",
			   colon + 1);
	if (hlen >= sizeof(host))
		return bad(spec, err, errlen, "the address is too long");
	memcpy(host, hs, hlen);
	host[hlen] = '\0';

	if (spec[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return bad(spec, err, errlen, "'%s' is not a numeric IPv6 address", host);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		a->len = sizeof(*s6);
	} else if (hlen == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		a->len = sizeof(*s6);
		a->dual = true;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return bad(spec, err, errlen, "'%s' is not a numeric IPv4 address", host);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		a->len = sizeof(*s4);
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

int httpd_listen(const char *listen_spec, char *err, size_t errlen)
{
	struct httpd_addr a;
	int fd, e = 0;

	if (httpd_listen_parse(listen_spec, &a, err, errlen))
		return -1;
	fd = open_listener(&a.ss, a.len, a.dual, &e);
	if (fd < 0 && a.dual && (e == EAFNOSUPPORT || e == EADDRNOTAVAIL)) {
		/* Kernel without IPv6: "all addresses" degrades to all IPv4 ones. */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
		uint16_t port = ((struct sockaddr_in6 *)&a.ss)->sin6_port;

		memset(&a.ss, 0, sizeof(a.ss));
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = port;
		fd = open_listener(&a.ss, sizeof(*s4), false, &e);
	}
	if (fd < 0 && err)
		snprintf(err, errlen, "cannot listen on %s: %s%s", listen_spec, strerror(e),
			 e == EADDRINUSE ? " -- is another mtuwatch export running?" : "");
	return fd;
}
