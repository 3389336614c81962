/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * webconfig: the `--web-config FILE` of `mtuwatch export`, in the format of Prometheus'
 * exporter-toolkit (node_exporter's --web.config.file), so that fleets configure TLS and basic
 * auth for mtuwatch exactly as for their other exporters:
 *
 *	tls_server_config:
 *	  cert_file: server.crt		# or cert: <PEM text>; relative paths are relative
 *	  key_file: server.key		#   to the directory of FILE, as in exporter-toolkit
 *	  client_auth_type: RequireAndVerifyClientCert	# default NoClientCert
 *	  client_ca_file: ca.crt	# or client_ca: <PEM text>
 *	  min_version: TLS12		# TLS10..TLS13, default TLS12
 *	  max_version: TLS13		# default TLS13
 *	  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]	# Go's names; default:
 *					#   GnuTLS' NORMAL with ECDHE key exchange only
 *	  curve_preferences: [X25519, CurveP256]	# in order; default GnuTLS'
 *	http_server_config:
 *	  http2: true			# accepted and ignored: we serve HTTP/1.1
 *	basic_auth_users:
 *	  prometheus: $2y$10$...	# bcrypt hashes only
 *
 * Everything is checked at load time (keys, values, that the certificate and key load and
 * match, that the CA file holds certificates, that every hash is bcrypt) so that a bad file
 * stops start-up with one line instead of half-configuring the server. Keys exporter-toolkit
 * knows but mtuwatch cannot honour (client_allowed_sans, headers, rate_limit) are refused
 * rather than silently ignored.
 */
#ifndef MTUWATCH_WEBCONFIG_H
#define MTUWATCH_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wc_client_auth {
	WC_NO_CLIENT_CERT,		/* "" or NoClientCert */
	WC_REQUEST_CLIENT_CERT,		/* ask, neither require nor verify */
	WC_REQUIRE_ANY_CLIENT_CERT,	/* require one, do not verify (also RequireClientCert) */
	WC_VERIFY_CLIENT_CERT_IF_GIVEN,	/* verify against the client CA if one is sent */
	WC_REQUIRE_AND_VERIFY,		/* mutual TLS */
};

struct wc_user {
	char *name;
	char *hash;		/* bcrypt, as crypt(3) takes it */
	uint8_t ok_digest[32];	/* the last password that matched (salted SHA-256) */
	bool ok_valid;
};

/* Recent wrong passwords remembered, so that repeating one costs no bcrypt. */
#define WC_CACHE 32

struct webconfig {
	bool tls;		/* tls_server_config present with something in it */
	char *cert_pem, *key_pem, *client_ca_pem;	/* NUL-terminated PEM text */
	enum wc_client_auth client_auth;
	int min_version, max_version;	/* 10, 11, 12, 13 */
	uint8_t suites[32], curves[8];	/* cipher_suites, curve_preferences: webconfig.c's tables */
	int nsuites, ncurves;
	struct wc_user *users;
	int nusers;
	struct {
		uint8_t digest[32];
		bool used;
	} bad[WC_CACHE];
	unsigned int bad_next;
	uint8_t salt[16];
};

/*
 * Read and validate FILE into *wc (zeroed first). On failure return -1 with one line, without
 * newline, in err (e.g. "web config /etc/x.yml: line 4: unknown client_auth_type 'Foo' --
 * use NoClientCert, RequestClientCert, ...") and nothing to free.
 */
int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t errlen);

void webconfig_free(struct webconfig *wc);

/*
 * GnuTLS priority string for min_version..max_version, ECDHE key exchange only unless
 * cipher_suites names others, cipher_suites and curve_preferences. 512 bytes always suffice.
 */
#define WC_PRIO_MAX 512
const char *webconfig_priorities(const struct webconfig *wc, char *buf, size_t len);

/*
 * Basic auth: does user/pass match a configured user? Unknown users pay the same bcrypt
 * as known ones and the final comparison is constant-time, so timing reveals neither.
 * A user's last matching password and recent wrong ones are remembered (salted SHA-256), so
 * a scraper pays bcrypt once and a repeated wrong guess costs none. How many fresh checks
 * run, and in what order, is the caller's business (httpd.c queues them per client address).
 *
 * In three steps, so that bcrypt can run off the event loop: begin and end in the thread
 * that owns wc, crypt in any thread (it touches only *c). begin answers WC_REFUSED or
 * WC_ACCEPTED at once, or WC_NEEDS_BCRYPT: then crypt, and end gives the answer (or abandon,
 * if the answer is no longer wanted).
 */
enum { WC_REFUSED, WC_ACCEPTED, WC_NEEDS_BCRYPT };

struct wc_check {
	uint8_t digest[32];
	int idx;
	bool found, ok;
	char *pass, *hash;	/* copies, freed by end/abandon */
};

int webconfig_check_begin(struct webconfig *wc, const char *user, const char *pass,
			  struct wc_check *c);
void webconfig_check_crypt(struct wc_check *c);
bool webconfig_check_end(struct webconfig *wc, struct wc_check *c);
void webconfig_check_abandon(struct wc_check *c);

/*
 * Decode an "Authorization: Basic ..." header into malloc()ed user and password. The decoded
 * text counts over its whole length: a NUL anywhere in it (which a C string would cut the
 * password at), bad base64 or no ':' -> -1 and nothing to free.
 */
int webconfig_basic_auth(const char *hdr, char **user, char **pass);

#endif /* MTUWATCH_WEBCONFIG_H */
