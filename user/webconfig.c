// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Over 800 lines on purpose: one file format, validated whole, and the checks of what it holds. */
/*
 * webconfig: parse and validate exporter-toolkit's web configuration (see webconfig.h), and
 * check basic-auth passwords against its bcrypt hashes.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <yaml.h>
#include "webconfig.h"
#include "dynlib.h"

#define MAX_FILE (1024 * 1024)	/* a certificate chain, a key, a CA bundle: far below */
/*
 * The config itself: a few lines, nested 3 levels. The caps come first because libyaml's
 * loader is quadratic in nesting depth (200k levels ran past 120 s).
 */
#define MAX_CONFIG (1024 * 1024)
#define MAX_DEPTH 64

struct ctx {
	const char *path;	/* the config file, for messages */
	char dir[4096];		/* its directory, for relative paths */
	char *err;
	size_t errlen;
	yaml_document_t *doc;
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->err, c->errlen, "web config %s: line %zu: %s", c->path,
			 n->start_mark.line + 1, msg);
	else
		snprintf(c->err, c->errlen, "web config %s: %s", c->path, msg);
	return -1;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* A string value; YAML null reads as "" as in exporter-toolkit. */
static int scalar(struct ctx *c, const yaml_node_t *n, const char *key, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s must be a string", key);
	*out = is_null(n) ? "" : (const char *)n->data.scalar.value;
	return 0;
}

static int boolean(struct ctx *c, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on",
					   "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off",
					  "Off", "OFF" };
	const char *v = (const char *)n->data.scalar.value;

	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcmp(v, yes[i]))
				return *out = true, 0;
			if (!strcmp(v, no[i]))
				return *out = false, 0;
		}
	}
	return fail(c, n, "%s must be true or false", key);
}

/* Read a whole file (path relative to the config's directory) as a NUL-terminated string. */
static int slurp(struct ctx *c, const yaml_node_t *n, const char *key, const char *name,
		 char **out)
{
	char path[8192];
	size_t len = 0;
	char *buf;
	FILE *f;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	f = fopen(path, "re");
	if (!f)
		return fail(c, n, "cannot read %s %s: %s", key, path, strerror(errno));
	buf = malloc(MAX_FILE + 1);
	if (buf)
		len = fread(buf, 1, MAX_FILE + 1, f);
	if (!buf || ferror(f) || len > MAX_FILE) {
		int e = errno;

		fclose(f);
		free(buf);
		return fail(c, n, "cannot read %s %s: %s", key, path,
			    len > MAX_FILE ? "larger than 1 MiB" : strerror(e));
	}
	fclose(f);
	buf[len] = 0;
	*out = buf;
	return 0;
}

static int tls_version(struct ctx *c, const yaml_node_t *n, const char *key, int *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *v = "";

	if (scalar(c, n, key, &v))
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i]))
			return *out = 10 + i, 0;
	}
	return fail(c, n, "unknown %s '%s' -- use TLS10, TLS11, TLS12 or TLS13", key, v);
}

static int client_auth(struct ctx *c, const yaml_node_t *n, enum wc_client_auth *out)
{
	static const struct {
		const char *name;
		enum wc_client_auth v;
	} m[] = {
		{ "", WC_NO_CLIENT_CERT },
		{ "NoClientCert", WC_NO_CLIENT_CERT },
		{ "RequestClientCert", WC_REQUEST_CLIENT_CERT },
		{ "RequireAnyClientCert", WC_REQUIRE_ANY_CLIENT_CERT },
		{ "RequireClientCert", WC_REQUIRE_ANY_CLIENT_CERT },	/* exporter-toolkit's alias */
		{ "VerifyClientCertIfGiven", WC_VERIFY_CLIENT_CERT_IF_GIVEN },
		{ "RequireAndVerifyClientCert", WC_REQUIRE_AND_VERIFY },
	};
	const char *v = "";

	if (scalar(c, n, "client_auth_type", &v))
		return -1;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if (!strcmp(v, m[i].name))
			return *out = m[i].v, 0;
	}
	return fail(c, n, "unknown client_auth_type '%s' -- use NoClientCert, RequestClientCert, "
		    "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert",
		    v);
}

/* Walk a mapping, refusing non-string and duplicate keys; fn handles each pair. */
typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v,
		       void *arg);

static int each_pair(struct ctx *c, yaml_node_t *map, const char *what, pair_fn fn, void *arg)
{
	yaml_node_pair_t *p, *q;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s must be a mapping", what);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return fail(c, k, "keys in %s must be strings", what);
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *o = yaml_document_get_node(c->doc, q->key);

			if (o && o->type == YAML_SCALAR_NODE &&
			    !strcmp((char *)o->data.scalar.value, (char *)k->data.scalar.value))
				return fail(c, k, "%s: key '%s' given twice", what,
					    (char *)k->data.scalar.value);
		}
		if (fn(c, (const char *)k->data.scalar.value, k, v, arg))
			return -1;
	}
	return 0;
}

/*
 * cipher_suites and curve_preferences, spelt as exporter-toolkit (Go's crypto/tls names), and
 * their GnuTLS priority parts. GnuTLS chooses key exchange, cipher and MAC separately, so a
 * list enables the combinations of its suites' parts (AES-128-GCM with ECDHE-RSA and
 * AES-256-GCM with ECDHE-ECDSA enable all four); TLS 1.3 suites take their cipher only.
 */
static const struct tls_name {
	const char *go, *kx, *cipher, *mac;
} suites[] = {
	{ "TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_AES_128_GCM_SHA256", NULL, "AES-128-GCM", "AEAD" },
	{ "TLS_AES_256_GCM_SHA384", NULL, "AES-256-GCM", "AEAD" },
	{ "TLS_CHACHA20_POLY1305_SHA256", NULL, "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305",
	  "AEAD" },
}, curves[] = {
	{ "X25519", "GROUP-X25519", NULL, NULL },
	{ "CurveP256", "GROUP-SECP256R1", NULL, NULL },
	{ "CurveP384", "GROUP-SECP384R1", NULL, NULL },
	{ "CurveP521", "GROUP-SECP521R1", NULL, NULL },
};
#define NSUITES (int)(sizeof(suites) / sizeof(suites[0]))
#define NCURVES (int)(sizeof(curves) / sizeof(curves[0]))

/* A YAML list of names from tab, in order, each once; out holds indexes into tab. */
static int name_list(struct ctx *c, const yaml_node_t *n, const char *key,
		     const struct tls_name *tab, int ntab, uint8_t *out, int *nout)
{
	*nout = 0;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "%s must be a list", key);
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(c->doc, *it);
		const char *v = "";
		int i;

		if (!e || scalar(c, e, key, &v))
			return -1;
		for (i = 0; i < ntab && strcmp(v, tab[i].go); i++)
			;
		if (i == ntab)
			return fail(c, e, "unknown %s entry '%s' -- use names as Go's crypto/tls "
				    "spells them, e.g. %s", key, v, tab[ntab - 1].go);
		for (int j = 0; j < *nout; j++) {
			if (out[j] == i)
				return fail(c, e, "%s: '%s' given twice", key, v);
		}
		out[(*nout)++] = (uint8_t)i;
	}
	if (!*nout)
		return fail(c, n, "%s is an empty list -- remove it for the defaults", key);
	return 0;
}

struct tls_raw {
	const char *cert_file, *key_file, *ca_file, *cert, *key, *ca, *auth;
	const yaml_node_t *node;
	bool any;
};

static int tls_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct webconfig *wc = ((void **)arg)[0];
	struct tls_raw *t = ((void **)arg)[1];
	bool ignored;

	if (!strcmp(key, "cert_file"))
		return scalar(c, v, key, &t->cert_file);
	if (!strcmp(key, "key_file"))
		return scalar(c, v, key, &t->key_file);
	if (!strcmp(key, "client_ca_file"))
		return scalar(c, v, key, &t->ca_file);
	if (!strcmp(key, "cert"))
		return scalar(c, v, key, &t->cert);
	if (!strcmp(key, "key"))
		return scalar(c, v, key, &t->key);
	if (!strcmp(key, "client_ca"))
		return scalar(c, v, key, &t->ca);
	if (!strcmp(key, "client_auth_type")) {
		if (scalar(c, v, key, &t->auth))
			return -1;
		return client_auth(c, v, &wc->client_auth);
	}
	if (!strcmp(key, "min_version"))
		return tls_version(c, v, key, &wc->min_version);
	if (!strcmp(key, "max_version"))
		return tls_version(c, v, key, &wc->max_version);
	/* Go ignores it since 1.18 (the server's order wins), and so does GnuTLS here. */
	if (!strcmp(key, "prefer_server_cipher_suites"))
		return boolean(c, v, key, &ignored);
	if (!strcmp(key, "cipher_suites"))
		return name_list(c, v, key, suites, NSUITES, wc->suites, &wc->nsuites);
	if (!strcmp(key, "curve_preferences"))
		return name_list(c, v, key, curves, NCURVES, wc->curves, &wc->ncurves);
	if (!strcmp(key, "client_allowed_sans"))
		return fail(c, k, "tls_server_config: %s is not supported by mtuwatch -- remove it",
			    key);
	return fail(c, k, "unknown key '%s' in tls_server_config", key);
}

static int http_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	bool ignored;

	/* A protocol preference: mtuwatch speaks HTTP/1.1, which every scraper speaks. */
	if (!strcmp(key, "http2"))
		return boolean(c, v, key, &ignored);
	if (!strcmp(key, "headers"))
		return fail(c, k, "http_server_config: headers is not supported by mtuwatch -- "
			    "remove it");
	return fail(c, k, "unknown key '%s' in http_server_config", key);
}

/* bcrypt: $2a$, $2b$ or $2y$, a two-digit cost 04..31, 53 characters of salt and hash. */
static bool is_bcrypt(const char *h)
{
	static const char b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	int cost;

	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' ||
	    h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return false;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (int i = 7; i < 60; i++) {
		if (!strchr(b64, h[i]))
			return false;
	}
	return true;
}

static int user_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct webconfig *wc = arg;
	struct wc_user *u;
	const char *hash = "";

	if (scalar(c, v, "a basic_auth_users password", &hash))
		return -1;
	if (!*key || strchr(key, ':'))
		return fail(c, k, "basic_auth_users: '%s' is not a valid user name (empty or with ':')",
			    key);
	if (!is_bcrypt(hash))
		return fail(c, v, "basic_auth_users: the password of '%s' is not a bcrypt hash -- "
			    "make one with htpasswd -nBC 10 '' | tr -d ':\\n'", key);
	u = realloc(wc->users, (wc->nusers + 1) * sizeof(*u));
	if (!u)
		return fail(c, v, "out of memory");
	wc->users = u;
	u = &wc->users[wc->nusers];
	memset(u, 0, sizeof(*u));
	u->name = strdup(key);
	u->hash = strdup(hash);
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return fail(c, v, "out of memory");
	}
	wc->nusers++;
	return 0;
}

static int top_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	void **a = arg;

	if (!strcmp(key, "tls_server_config")) {
		((struct tls_raw *)a[1])->node = k;
		return each_pair(c, v, key, tls_pair, a);
	}
	if (!strcmp(key, "http_server_config"))
		return each_pair(c, v, key, http_pair, NULL);
	if (!strcmp(key, "basic_auth_users"))
		return each_pair(c, v, key, user_pair, a[0]);
	if (!strcmp(key, "rate_limit"))
		return fail(c, k, "rate_limit is not supported by mtuwatch -- remove it");
	return fail(c, k, "unknown key '%s'", key);
}

/* Inline PEM or a file's content, whichever is given (exporter-toolkit: the file wins). */
static int pem_of(struct ctx *c, const char *file, const char *inl, const char *key, char **out)
{
	if (file && *file)
		return slurp(c, NULL, key, file, out);
	*out = strdup(inl);
	return *out ? 0 : fail(c, NULL, "out of memory");
}

static int check_tls(struct ctx *c, struct webconfig *wc, struct tls_raw *t)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cd, kd;
	int r;

	if ((!t->cert_file || !*t->cert_file) && (!t->cert || !*t->cert))
		return fail(c, t->node, "tls_server_config: missing one of cert or cert_file");
	if ((!t->key_file || !*t->key_file) && (!t->key || !*t->key))
		return fail(c, t->node, "tls_server_config: missing one of key or key_file");
	if (pem_of(c, t->cert_file, t->cert, "cert_file", &wc->cert_pem) ||
	    pem_of(c, t->key_file, t->key, "key_file", &wc->key_pem))
		return -1;
	if ((t->ca_file && *t->ca_file) || (t->ca && *t->ca)) {
		if (pem_of(c, t->ca_file, t->ca ? t->ca : "", "client_ca_file", &wc->client_ca_pem))
			return -1;
		if (wc->client_auth == WC_NO_CLIENT_CERT)
			return fail(c, t->node, "tls_server_config: client_ca_file is set but "
				    "client_auth_type is NoClientCert -- set client_auth_type, e.g. "
				    "RequireAndVerifyClientCert");
	}
	/* Go would verify against the system's web PKI; nobody means that for a scraper. */
	if (!wc->client_ca_pem && (wc->client_auth == WC_VERIFY_CLIENT_CERT_IF_GIVEN ||
				   wc->client_auth == WC_REQUIRE_AND_VERIFY))
		return fail(c, t->node, "tls_server_config: client_auth_type verifies client "
			    "certificates but no client_ca_file is given");
	if (wc->min_version > wc->max_version)
		return fail(c, t->node, "tls_server_config: min_version is above max_version");
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return fail(c, NULL, "out of memory");
	cd = (gnutls_datum_t){ (unsigned char *)wc->cert_pem, strlen(wc->cert_pem) };
	kd = (gnutls_datum_t){ (unsigned char *)wc->key_pem, strlen(wc->key_pem) };
	r = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		gnutls_certificate_free_credentials(cred);
		return fail(c, t->node, "tls_server_config: cannot load the certificate and key: %s",
			    gnutls_strerror(r));
	}
	if (wc->client_ca_pem) {
		gnutls_datum_t ca = { (unsigned char *)wc->client_ca_pem,
				      strlen(wc->client_ca_pem) };

		r = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			gnutls_certificate_free_credentials(cred);
			return fail(c, t->node, "tls_server_config: no CA certificate in client_ca%s",
				    r < 0 ? gnutls_strerror(r) : "");
		}
	}
	gnutls_certificate_free_credentials(cred);
	return 0;
}

/*
 * A first pass over the events alone, stopped at the first collection deeper than MAX_DEPTH:
 * the scanner's cost grows with the depth it has reached, so it stops while that is small.
 */
static int check_depth(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, rc = 0;

	if (!yaml_parser_initialize(&p))
		return fail(c, NULL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_type_t t;
		size_t line;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = fail(c, NULL, "line %zu: %s", p.problem_mark.line + 1,
				  p.problem ? p.problem : "YAML syntax error");
			break;
		}
		t = ev.type;
		line = ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT)
			depth--;
		if (depth > MAX_DEPTH) {
			rc = fail(c, NULL, "line %zu: nested deeper than %d levels -- a web config "
				  "has 3", line, MAX_DEPTH);
			break;
		}
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

int webconfig_load(const char *path, struct webconfig *wc, char *err, size_t errlen)
{
	struct ctx c = { .path = path, .err = err, .errlen = errlen };
	struct tls_raw t = {};
	void *arg[2] = { wc, &t };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	const char *slash;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	int rc = -1;

	memset(wc, 0, sizeof(*wc));
	if (dl_web_open(err, errlen))
		return -1;
	wc->min_version = 12;
	wc->max_version = 13;
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(c.dir, sizeof(c.dir), ".");
	else if (slash == path)
		snprintf(c.dir, sizeof(c.dir), "/");
	else
		snprintf(c.dir, sizeof(c.dir), "%.*s", (int)(slash - path), path);
	/* Read whole and capped: the parser never sees more than MAX_CONFIG bytes. */
	f = fopen(path, "re");
	if (!f)
		return fail(&c, NULL, "cannot open: %s", strerror(errno));
	text = malloc(MAX_CONFIG + 1);
	if (text)
		tlen = fread(text, 1, MAX_CONFIG + 1, f);
	if (!text || ferror(f) || tlen > MAX_CONFIG) {
		int e = errno;

		fclose(f);
		free(text);
		return fail(&c, NULL, "cannot read: %s", tlen > MAX_CONFIG ?
			    "larger than 1 MiB -- a web config is a few lines" : strerror(e));
	}
	fclose(f);
	if (check_depth(&c, text, tlen)) {
		free(text);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		return fail(&c, NULL, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, tlen);
	if (!yaml_parser_load(&parser, &doc)) {
		fail(&c, NULL, "line %zu: %s", parser.problem_mark.line + 1,
		     parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		free(text);
		return -1;
	}
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	/* An empty file is valid: plain HTTP without auth, as in exporter-toolkit. */
	if (root && each_pair(&c, root, "the web config", top_pair, arg))
		goto out;
	t.any = (t.cert_file && *t.cert_file) || (t.key_file && *t.key_file) ||
		(t.ca_file && *t.ca_file) || (t.cert && *t.cert) || (t.key && *t.key) ||
		(t.ca && *t.ca) || (t.auth && *t.auth);
	if (t.any) {
		wc->tls = true;
		if (check_tls(&c, wc, &t))
			goto out;
	}
	gnutls_rnd(GNUTLS_RND_NONCE, wc->salt, sizeof(wc->salt));
	rc = 0;
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	if (rc)
		webconfig_free(wc);
	return rc;
}

void webconfig_free(struct webconfig *wc)
{
	if (!wc)
		return;
	for (int i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert_pem);
	if (wc->key_pem) {
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
		free(wc->key_pem);
	}
	free(wc->client_ca_pem);
	memset(wc, 0, sizeof(*wc));
}

/* Append "+name" to buf unless already there. */
static void prio_add(char *buf, size_t len, const char *name)
{
	char item[48];
	size_t n = strlen(buf);

	snprintf(item, sizeof(item), ":+%s:", name);
	if (n + 1 < len) {
		/* Look for ":+name:" or ":+name" at the end. */
		buf[n] = ':';
		buf[n + 1] = '\0';
		if (strstr(buf, item)) {
			buf[n] = '\0';
			return;
		}
		buf[n] = '\0';
	}
	snprintf(buf + n, len - n, ":+%s", name);
}

const char *webconfig_priorities(const struct webconfig *wc, char *buf, size_t len)
{
	int n = snprintf(buf, len, "NORMAL:-VERS-ALL");

	for (int v = wc->max_version; v >= wc->min_version && n > 0 && (size_t)n < len; v--)
		n += snprintf(buf + n, len - n, ":+VERS-TLS1.%d", v - 10);
	/* TLS 1.2 key exchange: ECDHE only, as Go's defaults (forward secrecy, no RSA kx). */
	snprintf(buf + strlen(buf), len - strlen(buf), ":-KX-ALL");
	if (!wc->nsuites) {
		prio_add(buf, len, "ECDHE-ECDSA");
		prio_add(buf, len, "ECDHE-RSA");
	} else {
		for (int i = 0; i < wc->nsuites; i++)
			if (suites[wc->suites[i]].kx)
				prio_add(buf, len, suites[wc->suites[i]].kx);
		/* TLS 1.3 alone still needs an ECDHE entry for GnuTLS to offer key shares. */
		if (!strstr(buf, "+ECDHE"))
			prio_add(buf, len, "ECDHE-RSA");
		snprintf(buf + strlen(buf), len - strlen(buf), ":-CIPHER-ALL");
		for (int i = 0; i < wc->nsuites; i++)
			prio_add(buf, len, suites[wc->suites[i]].cipher);
		snprintf(buf + strlen(buf), len - strlen(buf), ":-MAC-ALL");
		for (int i = 0; i < wc->nsuites; i++)
			prio_add(buf, len, suites[wc->suites[i]].mac);
	}
	if (wc->ncurves) {
		snprintf(buf + strlen(buf), len - strlen(buf), ":-GROUP-ALL");
		for (int i = 0; i < wc->ncurves; i++)
			prio_add(buf, len, curves[wc->curves[i]].kx);
	}
	return buf;
}

static bool ct_equal(const char *a, const char *b, size_t n)
{
	volatile unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

int webconfig_check_begin(struct webconfig *wc, const char *user, const char *pass,
			  struct wc_check *c)
{
	size_t ulen, plen, hlen, blen;
	const char *hash;
	char *buf;
	int idx = 0;

	memset(c, 0, sizeof(*c));
	if (!wc->nusers || !user || !pass)
		return WC_REFUSED;
	for (int i = 0; i < wc->nusers; i++) {
		if (!strcmp(wc->users[i].name, user)) {
			idx = i;
			c->found = true;
			break;
		}
	}
	/* An unknown user is checked against a real hash, so it costs the same bcrypt. */
	hash = wc->users[idx].hash;
	hlen = strlen(hash);
	ulen = strlen(user);
	plen = strlen(pass);
	blen = sizeof(wc->salt) + ulen + 1 + plen + 1 + hlen;
	buf = malloc(blen);
	if (!buf)
		return WC_REFUSED;
	memcpy(buf, wc->salt, sizeof(wc->salt));
	memcpy(buf + sizeof(wc->salt), user, ulen + 1);
	memcpy(buf + sizeof(wc->salt) + ulen + 1, pass, plen + 1);
	memcpy(buf + sizeof(wc->salt) + ulen + 1 + plen + 1, hash, hlen);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, blen, c->digest) < 0) {
		free(buf);
		return WC_REFUSED;
	}
	explicit_bzero(buf, blen);
	free(buf);
	if (c->found && wc->users[idx].ok_valid &&
	    ct_equal((char *)wc->users[idx].ok_digest, (char *)c->digest, 32))
		return WC_ACCEPTED;
	for (int i = 0; i < WC_CACHE; i++) {
		if (wc->bad[i].used && ct_equal((char *)wc->bad[i].digest, (char *)c->digest, 32))
			return WC_REFUSED;
	}
	c->pass = strdup(pass);
	c->hash = strdup(hash);
	if (!c->pass || !c->hash) {
		free(c->pass);
		free(c->hash);
		c->pass = c->hash = NULL;
		return WC_REFUSED;
	}
	c->idx = idx;
	return WC_NEEDS_BCRYPT;
}

void webconfig_check_crypt(struct wc_check *c)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));	/* 32 kB: not on the stack */
	const char *out;
	size_t hlen = strlen(c->hash);

	out = cd ? crypt_r(c->pass, c->hash, cd) : NULL;
	c->ok = out && strlen(out) == hlen && ct_equal(out, c->hash, hlen) && c->found;
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
}

bool webconfig_check_end(struct webconfig *wc, struct wc_check *c)
{
	bool ok = c->ok;

	if (!c->pass)
		return false;
	/* Only remember a result for the hash it was checked against (no reload in between). */
	if (c->idx < wc->nusers && !strcmp(wc->users[c->idx].hash, c->hash)) {
		if (ok) {
			memcpy(wc->users[c->idx].ok_digest, c->digest, 32);
			wc->users[c->idx].ok_valid = true;
		} else {
			memcpy(wc->bad[wc->bad_next].digest, c->digest, 32);
			wc->bad[wc->bad_next].used = true;
			wc->bad_next = (wc->bad_next + 1) % WC_CACHE;
		}
	}
	webconfig_check_abandon(c);
	return ok;
}

void webconfig_check_abandon(struct wc_check *c)
{
	if (c->pass) {
		explicit_bzero(c->pass, strlen(c->pass));
		free(c->pass);
	}
	free(c->hash);
	c->pass = c->hash = NULL;
}

static int b64val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	return ch == '/' ? 63 : -1;
}

int webconfig_basic_auth(const char *hdr, char **user, char **pass)
{
	size_t n, len = 0, i;
	unsigned int acc = 0;
	int bits = 0, pad = 0;
	char *buf, *colon;

	*user = *pass = NULL;
	if (!hdr || strncasecmp(hdr, "Basic ", 6))
		return -1;
	hdr += 6;
	while (*hdr == ' ')
		hdr++;
	n = strlen(hdr);
	while (n && hdr[n - 1] == ' ')
		n--;
	if (n % 4 || n > 4096)
		return -1;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64val((unsigned char)hdr[i]);

		if (hdr[i] == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (v < 0 || pad)
			goto bad;
		acc = acc << 6 | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (char)(acc >> bits & 0xff);
		}
	}
	buf[len] = '\0';
	/* The whole decoded length counts: "secret\0junk" is not "secret". */
	colon = memchr(buf, ':', len);
	if (!colon || memchr(buf, '\0', len))
		goto bad;
	*colon = '\0';
	*user = strdup(buf);
	*pass = strdup(colon + 1);
	explicit_bzero(buf, len);
	free(buf);
	if (!*user || !*pass) {
		free(*user);
		free(*pass);
		*user = *pass = NULL;
		return -1;
	}
	return 0;
bad:
	explicit_bzero(buf, len);
	free(buf);
	return -1;
}
