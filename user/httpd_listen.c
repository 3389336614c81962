// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The listening half of httpd (see httpd.h): listen specs and the socket. It loads no HTTP
 * library, so that `mtuwatch export` can refuse a busy port before its BPF work; httpd.c, the
 * server on libmicrohttpd, takes the socket over.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG		128

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

int httpd_listen(const char *listen_spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	bool dual;
	int fd, e = 0;

	if (parse_spec(listen_spec, &ss, &sslen, &dual)) {
		if (err)
			snprintf(err, errlen,
				 "invalid listen address '%s': expected IPV4:PORT, [IPV6]:PORT or :PORT",
				 listen_spec ? listen_spec : "(null)");
		return -1;
	}
	fd = open_listener(&ss, sslen, dual, &e);
	if (fd < 0 && dual && (e == EAFNOSUPPORT || e == EADDRNOTAVAIL)) {
		/* Kernel without IPv6: "all addresses" degrades to all IPv4 ones. */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = port;
		fd = open_listener(&ss, sizeof(*s4), false, &e);
	}
	if (fd < 0 && err)
		snprintf(err, errlen, "cannot listen on %s: %s%s", listen_spec, strerror(e),
			 e == EADDRINUSE ? " -- is another mtuwatch export running?" : "");
	return fd;
}
