// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Tests for user/webconfig.c: exporter-toolkit web configs that must load, ones that must be
 * refused with one line naming the file and the problem, and basic-auth checks against bcrypt
 * hashes made here with libcrypt. Certificates are made with openssl in a temporary directory.
 * Prints one "PASS: name" or "FAIL: name: reason" line per case; exit 0.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "webconfig.h"

static char dir[] = "/tmp/mw-webconfig.XXXXXX";
static char hash[128];

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *slurp(const char *name)
{
	static char buf[8192];
	char path[256];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

/* Load TEXT written as FILE; return the rc, leave the result in *wc and the message in err. */
static int load(const char *text, struct webconfig *wc, char *err, size_t len)
{
	char path[256];

	put("web.yml", text);
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	err[0] = 0;
	return webconfig_load(path, wc, err, len);
}

static void refused(const char *name, const char *text, const char *want)
{
	struct webconfig wc;
	char err[512];
	int rc = load(text, &wc, err, sizeof(err));

	CHECK(name, rc == -1 && strstr(err, "web.yml") && strstr(err, want) && !strchr(err, '\n'),
	      "rc %d, message '%s', wanted it to mention '%s'", rc, err, want);
	if (!rc)
		webconfig_free(&wc);
}

static void t_loads(void)
{
	struct webconfig wc;
	char err[512], cfg[2048], prio[WC_PRIO_MAX];
	int rc;

	rc = load("", &wc, err, sizeof(err));
	CHECK("empty_file_is_plain_http", rc == 0 && !wc.tls && !wc.nusers, "rc %d %s", rc, err);
	webconfig_free(&wc);

	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  prometheus: %s\n", hash);
	rc = load(cfg, &wc, err, sizeof(err));
	CHECK("basic_auth_alone_is_plain_http_with_auth",
	      rc == 0 && !wc.tls && wc.nusers == 1 && !strcmp(wc.users[0].name, "prometheus"),
	      "rc %d tls %d users %d %s", rc, wc.tls, wc.nusers, err);
	webconfig_free(&wc);

	/* Relative paths are relative to the config file's directory, not the cwd. */
	if (chdir("/"))
		return;
	rc = load("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
		  "http_server_config:\n  http2: false\n", &wc, err, sizeof(err));
	CHECK("tls_relative_paths_and_defaults",
	      rc == 0 && wc.tls && wc.client_auth == WC_NO_CLIENT_CERT && wc.min_version == 12 &&
	      wc.max_version == 13 && wc.cert_pem && strstr(wc.cert_pem, "BEGIN CERTIFICATE") &&
	      !wc.client_ca_pem,
	      "rc %d tls %d min %d max %d %s", rc, wc.tls, wc.min_version, wc.max_version, err);
	CHECK("priorities_tls12_tls13",
	      !strcmp(webconfig_priorities(&wc, prio, sizeof(prio)),
		      "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"),
	      "got %s", prio);
	webconfig_free(&wc);

	rc = load("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
		  "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
		  "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_AES_128_GCM_SHA256\n"
		  "  curve_preferences: [X25519, CurveP384]\n", &wc, err, sizeof(err));
	CHECK("priorities_cipher_suites_and_curves", rc == 0 &&
	      !strcmp(webconfig_priorities(&wc, prio, sizeof(prio)),
		      "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA"
		      ":-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:-MAC-ALL:+AEAD"
		      ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1"),
	      "rc %d %s got %s", rc, err, prio);
	if (!rc)
		webconfig_free(&wc);

	snprintf(cfg, sizeof(cfg), "tls_server_config:\n  cert_file: %s/server.crt\n"
		 "  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n"
		 "  client_ca_file: ca.crt\n  min_version: TLS13\n", dir);
	rc = load(cfg, &wc, err, sizeof(err));
	CHECK("mtls_config", rc == 0 && wc.tls && wc.client_auth == WC_REQUIRE_AND_VERIFY &&
	      wc.client_ca_pem && wc.min_version == 13, "rc %d %s", rc, err);
	CHECK("priorities_tls13_only",
	      !strcmp(webconfig_priorities(&wc, prio, sizeof(prio)),
		      "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"),
	      "got %s", prio);
	webconfig_free(&wc);

	rc = load("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
		  "  client_auth_type: RequireClientCert\n", &wc, err, sizeof(err));
	CHECK("require_client_cert_alias", rc == 0 && wc.client_auth == WC_REQUIRE_ANY_CLIENT_CERT,
	      "rc %d %s", rc, err);
	webconfig_free(&wc);

	/* Inline PEM, as exporter-toolkit's cert: and key: */
	{
		char *c = strdup(slurp("server.crt")), *k = strdup(slurp("server.key"));
		char *big = malloc(16384), *p;

		p = big + sprintf(big, "tls_server_config:\n  cert: |\n");
		for (char *l = strtok(c, "\n"); l; l = strtok(NULL, "\n"))
			p += sprintf(p, "    %s\n", l);
		p += sprintf(p, "  key: |\n");
		for (char *l = strtok(k, "\n"); l; l = strtok(NULL, "\n"))
			p += sprintf(p, "    %s\n", l);
		rc = load(big, &wc, err, sizeof(err));
		CHECK("inline_cert_and_key", rc == 0 && wc.tls && wc.key_pem &&
		      strstr(wc.key_pem, "PRIVATE KEY"), "rc %d %s", rc, err);
		webconfig_free(&wc);
		free(c);
		free(k);
		free(big);
	}
}

static void t_refused(void)
{
	char cfg[512];

	refused("unknown_top_key", "tls_server_confg:\n  cert_file: x\n",
		"unknown key 'tls_server_confg'");
	refused("unknown_tls_key", "tls_server_config:\n  cert_fil: x\n", "unknown key 'cert_fil'");
	refused("yaml_syntax_error", "tls_server_config: [\n", "line");
	refused("duplicate_key", "basic_auth_users: {}\nbasic_auth_users: {}\n", "given twice");
	refused("missing_key_file", "tls_server_config:\n  cert_file: server.crt\n",
		"missing one of key or key_file");
	refused("missing_cert_file", "tls_server_config:\n  key_file: server.key\n",
		"missing one of cert or cert_file");
	refused("unreadable_cert_file",
		"tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n", "nope.crt");
	refused("key_does_not_match_cert",
		"tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
		"cannot load the certificate and key");
	refused("not_a_certificate",
		"tls_server_config:\n  cert_file: web.yml\n  key_file: server.key\n",
		"cannot load the certificate and key");
	refused("bad_client_auth_type", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  client_auth_type: Always\n",
		"unknown client_auth_type 'Always'");
	refused("ca_without_client_auth", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  client_ca_file: ca.crt\n", "NoClientCert");
	refused("verify_without_ca", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
		"no client_ca_file");
	refused("ca_file_without_certificates", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n"
		"  client_ca_file: web.yml\n", "no CA certificate");
	refused("bad_min_version", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  min_version: TLS1.2\n", "unknown min_version 'TLS1.2'");
	refused("min_above_max", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n",
		"min_version is above max_version");
	refused("cipher_suites_unknown", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n",
		"unknown cipher_suites entry 'ECDHE-RSA-AES128-GCM-SHA256'");
	refused("cipher_suites_not_a_list", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  cipher_suites: TLS_AES_128_GCM_SHA256\n",
		"must be a list");
	refused("curve_preferences_unknown", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  curve_preferences: [P256]\n",
		"unknown curve_preferences entry 'P256'");
	refused("curve_preferences_twice", "tls_server_config:\n  cert_file: server.crt\n"
		"  key_file: server.key\n  curve_preferences: [X25519, X25519]\n", "given twice");
	refused("http2_not_a_bool", "http_server_config:\n  http2: maybe\n", "true or false");
	refused("headers_not_supported", "http_server_config:\n  headers:\n    X-A: b\n",
		"headers is not supported");
	refused("plaintext_password", "basic_auth_users:\n  prometheus: hunter2\n",
		"not a bcrypt hash");
	refused("sha512crypt_password", "basic_auth_users:\n  prometheus: "
		"$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq."
		"qc.eoxqOmSuNp2xS0ktL3nh/\n", "not a bcrypt hash");
	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  \"a:b\": %s\n", hash);
	refused("colon_in_user_name", cfg, "not a valid user name");
	refused("users_not_a_mapping", "basic_auth_users: [a, b]\n", "must be a mapping");
	{
		struct webconfig wc;
		char err[512];
		int rc = webconfig_load("/nonexistent/web.yml", &wc, err, sizeof(err));

		CHECK("missing_file", rc == -1 && strstr(err, "/nonexistent/web.yml") &&
		      strstr(err, "No such file"), "rc %d %s", rc, err);
	}
}

/*
 * Basic auth the way httpd.c drives it (begin; crypt, in its worker thread; end), in one
 * thread: the answer a client gets.
 */
static bool check_user(struct webconfig *wc, const char *user, const char *pass)
{
	struct wc_check c;

	switch (webconfig_check_begin(wc, user, pass, &c)) {
	case WC_ACCEPTED:
		return true;
	case WC_NEEDS_BCRYPT:
		webconfig_check_crypt(&c);
		return webconfig_check_end(wc, &c);
	default:
		return false;
	}
}

static void t_users(void)
{
	struct webconfig wc;
	char err[512], cfg[512];
	int rc;

	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  alice: %s\n  bob: %s\n", hash, hash);
	rc = load(cfg, &wc, err, sizeof(err));
	if (rc) {
		CHECK("basic_auth_checks", 0, "load failed: %s", err);
		return;
	}
	CHECK("right_password_accepted", check_user(&wc, "alice", "s3cret"), "refused");
	CHECK("right_password_accepted_twice",
	      check_user(&wc, "alice", "s3cret"), "refused the second time");
	CHECK("second_user_accepted", check_user(&wc, "bob", "s3cret"), "refused");
	CHECK("wrong_password_refused", !check_user(&wc, "alice", "s3cret!") &&
	      !check_user(&wc, "alice", "s3cret!"), "accepted");
	CHECK("prefix_of_password_refused", !check_user(&wc, "alice", "s3cre"),
	      "accepted");
	CHECK("empty_password_refused", !check_user(&wc, "alice", ""), "accepted");
	CHECK("unknown_user_refused", !check_user(&wc, "mallory", "s3cret"), "accepted");
	CHECK("user_name_case_matters", !check_user(&wc, "Alice", "s3cret"), "accepted");
	CHECK("null_credentials_refused", !check_user(&wc, NULL, NULL), "accepted");
	webconfig_free(&wc);
}

/*
 * A flood of wrong passwords refuses no one: a fresh right password after 50 guesses is
 * checked and accepted at its first try (the token bucket refused it), the remembered one too.
 */
static void t_flood(void)
{
	struct webconfig wc;
	char err[512], cfg[512], guess[32];
	bool all_refused = true;
	int rc;

	snprintf(cfg, sizeof(cfg), "basic_auth_users:\n  alice: %s\n  bob: %s\n", hash, hash);
	rc = load(cfg, &wc, err, sizeof(err));
	if (rc) {
		CHECK("bcrypt_flood", 0, "load failed: %s", err);
		return;
	}
	CHECK("flood_first_check_accepted", check_user(&wc, "alice", "s3cret"), "refused");
	for (int i = 0; i < 50; i++) {
		snprintf(guess, sizeof(guess), "guess-%d", i);
		all_refused &= !check_user(&wc, "alice", guess);
	}
	CHECK("flood_guesses_refused", all_refused, "a guess was accepted");
	CHECK("flood_remembered_password_accepted", check_user(&wc, "alice", "s3cret"),
	      "refused during the flood");
	CHECK("flood_fresh_password_accepted_first_try", check_user(&wc, "bob", "s3cret"),
	      "bob was refused after the flood");
	webconfig_free(&wc);
}

/* The Authorization header over its whole decoded length. */
static void t_basic_auth(void)
{
	static const struct {
		const char *name, *hdr, *user, *pass;	/* user NULL: refused */
	} t[] = {
		{ "basic_auth_decodes", "Basic YWxpY2U6czNjcmV0", "alice", "s3cret" },
		{ "basic_auth_colon_in_password", "Basic YWxpY2U6czM6Y3JldA==", "alice",
		  "s3:cret" },
		{ "basic_auth_empty_password", "basic YWxpY2U6", "alice", "" },
		/* "alice:s3cret\0junk" */
		{ "basic_auth_nul_in_password_refused", "Basic YWxpY2U6czNjcmV0AGp1bms=", NULL,
		  NULL },
		/* "al\0ice:s3cret" */
		{ "basic_auth_nul_in_user_refused", "Basic YWwAaWNlOnMzY3JldA==", NULL, NULL },
		{ "basic_auth_no_colon_refused", "Basic YWxpY2U=", NULL, NULL },
		{ "basic_auth_bad_base64_refused", "Basic YWxp*2U6czNjcmV0", NULL, NULL },
		{ "basic_auth_bad_length_refused", "Basic YWxpY2U6czNjcmV", NULL, NULL },
		{ "basic_auth_other_scheme_refused", "Bearer YWxpY2U6czNjcmV0", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *u = NULL, *p = NULL;
		int rc = webconfig_basic_auth(t[i].hdr, &u, &p);

		if (!t[i].user)
			CHECK(t[i].name, rc == -1 && !u && !p, "rc %d user '%s'", rc, u ? u : "");
		else
			CHECK(t[i].name, rc == 0 && u && p && !strcmp(u, t[i].user) &&
			      !strcmp(p, t[i].pass), "rc %d user '%s' pass '%s'", rc, u ? u : "",
			      p ? p : "");
		free(u);
		free(p);
	}
	{
		char *u, *p;
		int rc = webconfig_basic_auth(NULL, &u, &p);

		CHECK("basic_auth_null_header_refused", rc == -1 && !u && !p, "accepted");
	}
}

/* Caps before the parser: size and nesting depth, each refused quickly with one line. */
static void t_caps(void)
{
	size_t n = 200000, len = 3 + n + 1;
	char *deep = malloc(len + 1), *big = malloc(1024 * 1024 + 64);
	char depth64[512];
	int pos;

	if (!deep || !big) {
		CHECK("caps", 0, "out of memory");
		free(deep);
		free(big);
		return;
	}
	memcpy(deep, "a: ", 3);
	memset(deep + 3, '[', n);
	deep[3 + n] = '\n';
	deep[len] = '\0';
	/* libyaml alone took minutes on this; the cap stops it at level 65. */
	refused("deep_nesting_refused", deep, "nested deeper than 64 levels");
	/* 64 levels is still YAML we read (then refused as an unknown key, not as too deep). */
	pos = snprintf(depth64, sizeof(depth64), "x: ");
	for (int i = 0; i < 63; i++)
		depth64[pos++] = '[';
	for (int i = 0; i < 63; i++)
		depth64[pos++] = ']';
	depth64[pos++] = '\n';
	depth64[pos] = '\0';
	refused("depth_64_parsed", depth64, "unknown key 'x'");
	memset(big, '#', 1024 * 1024 + 1);
	big[1024 * 1024 + 1] = '\0';
	refused("over_1mib_refused", big, "larger than 1 MiB");
	free(deep);
	free(big);
}

int main(void)
{
	char cmd[2048], salt[64], *h;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		CHECK("setup", 0, "mkdtemp failed");
		return 0;
	}
	snprintf(cmd, sizeof(cmd),
		 "exec 2>/dev/null; cd %s && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		 "-keyout ca.key -out ca.crt -subj /CN=test-ca && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		 "-keyout server.key -out server.crt -subj /CN=127.0.0.1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		 "-keyout client.key -out client.crt -subj /CN=client", dir);
	if (system(cmd) != 0) {
		CHECK("setup", 0, "openssl failed");
		return 0;
	}
	/* cost 4, the least bcrypt allows: the tests check logic, not strength */
	if (!crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)) ||
	    !(h = crypt("s3cret", salt)) || h[0] != '$') {
		CHECK("setup", 0, "libcrypt cannot make bcrypt hashes");
		return 0;
	}
	snprintf(hash, sizeof(hash), "%s", h);
	t_loads();
	t_refused();
	t_users();
	t_flood();
	t_basic_auth();
	t_caps();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 0;
	return 0;
}
