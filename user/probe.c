// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch probe: measure a path MTU on demand, toward one host the user names.
 *   probe HOST                 forward path MTU: binary search with DF probes (ICMP echo or UDP,
 *                              IP_PMTUDISC_PROBE + IP_RECVERR); the eBPF side tells "no PTB
 *                              came" from "a PTB came and this host dropped it".
 *   probe HOST:PORT --tcp      reverse path MTU: the kernel's own TCP with a chosen MSS, a large
 *                              answer elicited (TLS ClientHello or HTTP GET), arriving segment
 *                              sizes seen at ingress; binary search on the MSS.
 *   ... --tcp --ptb-test       does the far host honour Packet Too Big? XDP drops its full-size
 *                              segment, we send a PTB quoting it, the retransmission tells.
 * Bounds: at most --max-probes steps (default 40), at most 10 probes a second, one timeout per
 * step; nothing is sent to anyone but the named host.
 *
 * This file is the command: options, the target, the results and their rendering. The probes
 * are probe_forward.c and probe_tcp.c, the eBPF evidence probe_ebpf.c (probe_int.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "json.h"
#include "log.h"
#include "netutil.h"
#include "probe_int.h"

/* Why the eBPF side is off in forward mode; said once a probe socket is open. */
static char ebpf_note[256];

/* ---- output ---------------------------------------------------------------------------------- */

/* A string member, or null where there is none. */
static void str_or_null(struct jsonw *w, const char *k, const char *v)
{
	if (v)
		jsonw_string_field(w, k, v);
	else
		jsonw_null_field(w, k);
}

/* A number member, or null where it is not known. */
static void num_or_null(struct jsonw *w, const char *k, long v, bool valid)
{
	if (valid)
		jsonw_int_field(w, k, v);
	else
		jsonw_null_field(w, k);
}

/* The probes' struct probe_steps: one line (or object) per step with -v. */
struct step_ctx {
	const struct popts *o;
	const struct target *t;
};

static void step_line(void *ctx, int n, int size, const char *res, const char *detail)
{
	const struct step_ctx *c = ctx;
	const struct popts *o = c->o;
	const struct target *t = c->t;

	if (!o->verbose)
		return;
	if (o->json) {
		struct jsonw w;

		jsonw_init(&w, stdout);
		jsonw_start_object(&w);
		jsonw_int_field(&w, "step", n);
		jsonw_string_field(&w, "dst", t->str);
		jsonw_int_field(&w, "size", size);
		str_or_null(&w, "result", res);
		str_or_null(&w, "detail", detail[0] ? detail : NULL);
		jsonw_end_object(&w);
	} else {
		printf("step %d: %d bytes: %s%s%s\n", n, size, res, detail[0] ? ": " : "", detail);
	}
}

/* ---- target ---------------------------------------------------------------------------------- */

static int split_target(struct popts *o)
{
	const char *s = o->target, *c;
	char *end;
	size_t n;

	o->port = -1;
	if (s[0] == '[') {
		c = strchr(s, ']');
		if (!c || (c[1] && c[1] != ':')) {
			pr_warn("Invalid target '%s' -- expected HOST, HOST:PORT or [IPV6]:PORT\n",
				s);
			return -1;
		}
		n = c - s - 1;
		c = c[1] ? c + 1 : NULL;
		s++;
	} else {
		c = strchr(s, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL;	/* a bare IPv6 address */
		n = c ? (size_t)(c - s) : strlen(s);
	}
	if (!n || n >= sizeof(o->host)) {
		pr_warn("Invalid target '%s' -- expected HOST, HOST:PORT or [IPV6]:PORT\n",
			o->target);
		return -1;
	}
	memcpy(o->host, s, n);
	o->host[n] = 0;
	if (c) {
		errno = 0;
		long p = strtol(c + 1, &end, 10);

		if (errno || end == c + 1 || *end || p < 1 || p > 65535) {
			pr_warn("Invalid port in '%s' -- expected 1 to 65535\n", o->target);
			return -1;
		}
		o->port = p;
	}
	return 0;
}

static int resolve(const struct popts *o, struct target *t)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res, *ai;
	struct mw_ifinfo ifs[MW_MAX_IFACES];
	uint32_t mtu, oif;
	bool locked;
	int err, n;

	hints.ai_family = o->family == 4 ? AF_INET : o->family == 6 ? AF_INET6 : AF_UNSPEC;
	err = getaddrinfo(o->host, NULL, &hints, &res);
	if (err) {
		pr_warn("Cannot resolve '%s': %s\n", o->host, gai_strerror(err));
		return 1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			break;
	if (!ai) {
		freeaddrinfo(res);
		pr_warn("No IPv4 or IPv6 address for '%s'\n", o->host);
		return 1;
	}
	memset(t, 0, sizeof(*t));
	memcpy(&t->sa, ai->ai_addr, ai->ai_addrlen);
	t->salen = ai->ai_addrlen;
	freeaddrinfo(res);
	if (t->sa.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->sa;

		t->family = 4;
		t->hdr = 40;
		memcpy(t->addr, &sin->sin_addr, 4);
		if (o->port > 0)
			sin->sin_port = htons(o->port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->sa;

		t->family = 6;
		t->hdr = 60;
		memcpy(t->addr, &sin6->sin6_addr, 16);
		if (o->port > 0)
			sin6->sin6_port = htons(o->port);
	}
	addr_str(t->family, t->addr, t->str, sizeof(t->str));
	if (net_route_mtu(t->family, t->addr, &mtu, &oif, &locked) || !oif) {
		pr_warn("No route to %s -- check 'ip route get %s'\n", t->str, t->str);
		return 1;
	}
	n = net_ifaces(ifs, MW_MAX_IFACES);
	for (int i = 0; i < n; i++)
		if (ifs[i].ifindex == oif)
			t->ifi = ifs[i];
	if (!t->ifi.ifindex) {
		pr_warn("Cannot find the interface (index %u) of the route to %s\n", oif, t->str);
		return 1;
	}
	if (t->ifi.loopback) {
		pr_warn("%s is this host (route via %s) -- probe a remote host\n", t->str,
			t->ifi.name);
		return 2;
	}
	return 0;
}

/* ---- results --------------------------------------------------------------------------------- */

static int fwd_report(const struct popts *o, const struct target *t, struct pb *b,
		      const struct fwd_res *r, enum method m)
{
	char from[INET6_ADDRSTRLEN] = "", rb[32] = "", line[512];
	const char *reason = NULL, *meth = m == M_ICMP ? "icmp" : "udp";
	bool seen = r->ptb_sock || r->ptb_in || r->ptb_drop;
	/* Known: everything from hi_bad up vanishes (hi_bad = lo_ok + 1 when exact). */
	int bh = r->lost_above > r->lo_ok ? r->hi_bad - 1 : 0;
	uint32_t pmtu = 0;
	size_t n = 0;

	if (r->ptb_sock) {
		addr_str(t->family, r->ptb_from, from, sizeof(from));
		pmtu = r->ptb_mtu;
	} else if (r->ptb_drop) {
		addr_str(t->family, r->drop_from, from, sizeof(from));
		pmtu = r->drop_mtu;
	} else if (r->ptb_in) {
		addr_str(t->family, r->in_from, from, sizeof(from));
		pmtu = r->in_mtu;
	}
	if (r->ptb_drop)
		reason = pb_reason(b, r->drop_reason, rb, sizeof(rb));
	if (o->json) {
		struct jsonw w;

		jsonw_init(&w, stdout);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "dst", t->str);
		jsonw_string_field(&w, "mode", "forward");
		jsonw_string_field(&w, "method", meth);
		jsonw_string_field(&w, "iface", t->ifi.name);
		jsonw_int_field(&w, "path_mtu", r->lo_ok);
		jsonw_bool_field(&w, "exact", r->exact);
		jsonw_int_field(&w, "upper_bound", r->hi_bad - 1);
		jsonw_bool_field(&w, "ptb_seen", seen);
		str_or_null(&w, "ptb_from", seen ? from : NULL);
		num_or_null(&w, "ptb_mtu", pmtu, seen);
		jsonw_bool_field(&w, "ptb_delivered", r->ptb_sock);
		if (r->ptb_drop || b->on)	/* without eBPF, unknown */
			jsonw_bool_field(&w, "ptb_dropped", r->ptb_drop);
		else
			jsonw_null_field(&w, "ptb_dropped");
		str_or_null(&w, "drop_reason", reason);
		num_or_null(&w, "blackhole_above", bh, bh > 0);
		jsonw_int_field(&w, "probes", r->probes);
		jsonw_bool_field(&w, "ebpf", b->on);
		jsonw_end_object(&w);
		return 0;
	}
	n += snprintf(line + n, sizeof(line) - n, "%s: path MTU %d", t->str, r->lo_ok);
	if (!r->exact)
		n += snprintf(line + n, sizeof(line) - n, " (up to %d: --max-probes reached)",
			      r->hi_bad - 1);
	else if (r->lo_ok == r->limit)
		n += snprintf(line + n, sizeof(line) - n, " (the MTU of %s: nothing smaller on "
			      "the path)", t->ifi.name);
	if (r->ptb_sock && !bh)
		n += snprintf(line + n, sizeof(line) - n, "; Packet Too Big from %s says %u", from,
			      pmtu);
	else if (bh && r->ptb_drop)
		n += snprintf(line + n, sizeof(line) - n, "; probes above %d vanish: a Packet Too "
			      "Big from %s (mtu %u) reached this host and was dropped here (%s)",
			      bh, from, pmtu, reason);
	else if (bh && r->ptb_in)
		n += snprintf(line + n, sizeof(line) - n, "; probes above %d vanish: a Packet Too "
			      "Big from %s (mtu %u) arrived at %s but never reached the socket", bh,
			      from, pmtu, t->ifi.name);
	else if (bh && b->on)
		n += snprintf(line + n, sizeof(line) - n, "; black hole above %d: larger probes "
			      "vanish and no Packet Too Big arrived at %s", bh, t->ifi.name);
	else if (bh)
		n += snprintf(line + n, sizeof(line) - n, "; black hole above %d: larger probes "
			      "vanish and no Packet Too Big reached the socket (as root, mtuwatch "
			      "tells a dropped one from none)", bh);
	snprintf(line + n, sizeof(line) - n, "; method %s, %d probes", meth, r->probes);
	printf("%s\n", line);
	return 0;
}

static int run_forward(const struct popts *o, const struct target *t, struct pb *b,
		       const struct probe_steps *st)
{
	struct fwd_opts fo = { .method = o->method, .timeout = o->timeout,
			       .max_probes = o->max_probes, .max_size = o->max_size,
			       .steps = *st, .note = ebpf_note };
	struct fwd_res r;

	if (probe_forward(&fo, t, b, &r))
		return 1;
	return fwd_report(o, t, b, &r, r.method);
}

static const char *tcp_method(const struct popts *o)
{
	return o->http ? "tcp-http" : "tcp-tls";
}

static int rev_report(const struct popts *o, const struct target *t, struct pb *b,
		      const struct rev_res *r)
{
	int limit = r->limit, lo_ok = r->lo_ok, hi_bad = r->hi_bad, steps = r->steps;
	int capped = r->capped, arrived = r->arrived;
	uint64_t drops_here = r->drops_here;
	char rb[32];
	bool exact = hi_bad - lo_ok <= 1 && !capped;
	int bh = r->silent_above ? hi_bad - 1 : 0;
	const char *reason = drops_here ? pb_reason(b, r->drop_reason, rb, sizeof(rb)) : NULL;

	if (o->json) {
		struct jsonw w;

		jsonw_init(&w, stdout);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "dst", t->str);
		jsonw_int_field(&w, "port", o->port);
		jsonw_string_field(&w, "mode", "reverse");
		jsonw_string_field(&w, "method", tcp_method(o));
		jsonw_string_field(&w, "iface", t->ifi.name);
		jsonw_int_field(&w, "reverse_path_mtu", lo_ok);
		jsonw_bool_field(&w, "exact", exact);
		num_or_null(&w, "far_host_max_segment", capped, capped);
		/* PTBs toward the far host cannot be seen from here. */
		jsonw_null_field(&w, "ptb_seen");
		jsonw_null_field(&w, "ptb_from");
		num_or_null(&w, "blackhole_above", bh, bh > 0);
		jsonw_bool_field(&w, "silent_drop", bh);
		jsonw_int_field(&w, "largest_arrived", arrived);
		jsonw_int_field(&w, "dropped_here", drops_here);
		str_or_null(&w, "drop_reason", reason);
		jsonw_int_field(&w, "probes", steps);
		jsonw_end_object(&w);
		return 0;
	}
	printf("%s port %d: reverse path MTU %d", t->str, o->port, lo_ok);
	if (capped)
		printf(" at least (the far host sends no larger segments)");
	else if (!exact)
		printf(" (up to %d: --max-probes reached)", hi_bad - 1);
	else if (lo_ok == limit)
		printf(" (the MTU of %s: nothing smaller on the way back)", t->ifi.name);
	if (bh && drops_here)
		printf("; its segments above %d are dropped on this host (%s; up to %d bytes "
		       "arrive at %s)", bh, reason, arrived, t->ifi.name);
	else if (bh)
		printf("; its segments above %d die silently on the way (its PMTUD does not "
		       "recover them)", bh);
	printf("; method %s, %d connections\n", tcp_method(o), steps);
	return 0;
}


static int ptb_report(const struct popts *o, const struct target *t, const struct ptbt *p)
{
	uint32_t mtu = o->ptb_mtu;

	if (o->json) {
		struct jsonw w;

		jsonw_init(&w, stdout);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "dst", t->str);
		jsonw_int_field(&w, "port", o->port);
		jsonw_string_field(&w, "mode", "ptb-test");
		jsonw_string_field(&w, "method", tcp_method(o));
		jsonw_string_field(&w, "iface", t->ifi.name);
		str_or_null(&w, "ptb_test", p->outcome);
		jsonw_int_field(&w, "ptb_test_mtu", mtu);
		jsonw_int_field(&w, "ptbs_sent", p->ptbs);
		num_or_null(&w, "first_size", p->first_len, p->first_len);
		num_or_null(&w, "retransmit_size", p->retx_len, p->retx_len);
		if (p->retx_len)
			jsonw_bool_field(&w, "retransmit_df", p->retx_df);
		else
			jsonw_null_field(&w, "retransmit_df");
		num_or_null(&w, "largest_segment", p->max_len, p->data);
		jsonw_null_field(&w, "path_mtu");
		jsonw_null_field(&w, "ptb_seen");
		jsonw_null_field(&w, "ptb_from");
		jsonw_null_field(&w, "blackhole_above");
		jsonw_end_object(&w);
		return 0;
	}
	printf("%s port %d: ptb-test %s: ", t->str, o->port, p->outcome);
	if (!strcmp(p->outcome, "success"))
		printf("after a Packet Too Big (mtu %u) quoting its %u-byte segment, the host "
		       "retransmitted in %u-byte segments\n", mtu, p->first_len, p->retx_len);
	else if (!strcmp(p->outcome, "fail"))
		printf("the host ignored %d Packet Too Big (mtu %u): it kept retransmitting its "
		       "%u-byte segment with DF (a path below %u black-holes it)\n", p->ptbs, mtu,
		       p->retx_len ? p->retx_len : p->first_len, p->first_len);
	else if (!strcmp(p->outcome, "cleardf"))
		printf("after a Packet Too Big (mtu %u) the host cleared DF and retransmitted "
		       "%u bytes (%s): routers must fragment for it\n", mtu, p->retx_len,
		       p->why[0] ? p->why : "no DF");
	else if (!strcmp(p->outcome, "nodf"))
		printf("the host sends %u-byte segments without DF: it does not use PMTUD, routers "
		       "fragment for it\n", p->first_len ? p->first_len : p->max_len);
	else if (!strcmp(p->outcome, "toosmall"))
		printf("the host's segments were at most %u bytes, not above the test MTU %u: "
		       "nothing to test -- use --http PATH with a larger object or a smaller "
		       "--ptb-mtu\n", p->max_len, mtu);
	else if (!strcmp(p->outcome, "noretransmit"))
		printf("after %d Packet Too Big (mtu %u) the host sent nothing more for that data "
		       "within %.1fs\n", p->ptbs, mtu, o->timeout);
	else
		printf("no data came from the host within %.1fs\n", o->timeout);
	return 0;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage_probe(FILE *o)
{
	fprintf(o,
		"Usage: mtuwatch probe HOST[:PORT] [-4|-6] [--method auto|icmp|udp]\n"
		"                      [--max-size N]\n"
		"       mtuwatch probe HOST:PORT --tcp [--http PATH] [--max-size N]\n"
		"       mtuwatch probe HOST:PORT --tcp --ptb-test [--ptb-mtu MTU] [--http PATH]\n"
		"           common: [--timeout SECS] [--max-probes N] [--json] [-v]\n"
		"\n"
		"Measures a path MTU toward HOST, and only HOST: the forward path with DF\n"
		"probes (ICMP echo where allowed, else UDP to PORT, default 33434), the reverse\n"
		"path with TCP connections that advertise a chosen MSS (--tcp), or whether HOST\n"
		"honours Packet Too Big (--ptb-test). At most --max-probes steps, 10 probes a\n"
		"second, one timeout per step.\n"
		"\n"
		"  -4, -6                  use HOST's IPv4 / IPv6 address\n"
		"      --method M          forward probes: auto (ICMP echo, else UDP), icmp, udp\n"
		"      --tcp               reverse path: the far host's segments toward us\n"
		"      --http PATH         elicit the answer with GET PATH (default: a TLS\n"
		"                          ClientHello)\n"
		"      --ptb-test          drop HOST's full-size segment, send a Packet Too Big\n"
		"      --ptb-mtu MTU       MTU that Packet Too Big says (default 1280)\n"
		"      --max-size N        largest packet to try (default: the interface MTU)\n"
		"      --timeout SECS      time for each step (default 1; 2 with --tcp)\n"
		"      --max-probes N      steps at most (default 40)\n"
		"  -j, --json              NDJSON: step objects with -v, then one result object\n"
		"  -v, --verbose           one line per step (-vv: libbpf messages too)\n"
		"\n"
		"EXAMPLES:\n"
		"  mtuwatch probe 198.51.100.2                 forward path MTU\n"
		"  mtuwatch probe 198.51.100.2:443 --tcp       reverse path MTU (TLS server)\n"
		"  mtuwatch probe 198.51.100.2:443 --tcp --ptb-test   does it honour PTB?\n");
}

static int parse_probe(int argc, char **argv, struct popts *o)
{
	static const struct option longs[] = {
		{ "tcp", no_argument, NULL, 'T' },
		{ "ptb-test", no_argument, NULL, 'P' },
		{ "http", required_argument, NULL, 'H' },
		{ "method", required_argument, NULL, 'm' },
		{ "ptb-mtu", required_argument, NULL, 'u' },
		{ "max-size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max-probes", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	long v;
	char *end;
	int c;

	o->max_probes = 40;
	o->ptb_mtu = 1280;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "46jvh", longs, NULL)) != -1) {
		switch (c) {
		case '4':
		case '6':
			o->family = c - '0';
			break;
		case 'T':
			o->tcp = true;
			break;
		case 'P':
			o->ptb_test = o->tcp = true;
			break;
		case 'H':
			if (optarg[0] != '/' || strpbrk(optarg, " \r\n")) {
				pr_warn("Invalid --http path '%s' -- expected /PATH, no spaces\n",
					optarg);
				return -1;
			}
			o->http = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				o->method = M_AUTO;
			else if (!strcmp(optarg, "icmp"))
				o->method = M_ICMP;
			else if (!strcmp(optarg, "udp"))
				o->method = M_UDP;
			else {
				pr_warn("Invalid --method '%s' -- expected auto, icmp or udp\n",
					optarg);
				return -1;
			}
			break;
		case 'u':
			if (parse_uint(optarg, "--ptb-mtu", 65535, &v))
				return -1;
			if (v < 68) {
				pr_warn("Invalid --ptb-mtu %ld -- use 68 to 65535\n", v);
				return -1;
			}
			o->ptb_mtu = v;
			break;
		case 's':
			if (parse_uint(optarg, "--max-size", 65535, &v))
				return -1;
			if (v < 576) {
				pr_warn("Invalid --max-size %ld -- use 576 to 65535\n", v);
				return -1;
			}
			o->max_size = v;
			break;
		case 't':
			errno = 0;
			o->timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || o->timeout < 0.05 ||
			    o->timeout > 60) {
				pr_warn("Invalid --timeout '%s' -- expected 0.05 to 60 seconds\n",
					optarg);
				return -1;
			}
			break;
		case 'n':
			if (parse_uint(optarg, "--max-probes", 1000, &v))
				return -1;
			if (v < 2) {
				pr_warn("Invalid --max-probes %ld -- use 2 to 1000\n", v);
				return -1;
			}
			o->max_probes = v;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			o->help = true;
			return 0;
		default:
			bad_option(argv);
			return -1;
		}
	}
	if (optind >= argc) {
		pr_warn("probe needs a HOST -- see 'mtuwatch probe --help'\n");
		return -1;
	}
	o->target = argv[optind++];
	if (optind < argc) {
		pr_warn("Unexpected argument '%s' -- one HOST per probe\n", argv[optind]);
		return -1;
	}
	if (split_target(o))
		return -1;
	if (o->tcp && o->port < 0) {
		pr_warn("--tcp needs HOST:PORT, e.g. %s%s%s:443\n", strchr(o->host, ':') ? "[" : "",
			o->host, strchr(o->host, ':') ? "]" : "");
		return -1;
	}
	if (o->http && !o->tcp) {
		pr_warn("--http goes with --tcp (probe HOST:PORT --tcp --http PATH)\n");
		return -1;
	}
	if (!o->tcp && o->port > 0 && o->method == M_ICMP) {
		pr_warn("A port is for UDP probes -- drop ':%d' or use --method udp\n", o->port);
		return -1;
	}
	if (!o->timeout)
		o->timeout = o->tcp ? 2 : 1;
	return 0;
}

int cmd_probe(int argc, char **argv)
{
	struct popts o = {};
	struct ptbt p = {};
	struct target t;
	struct step_ctx sc = { &o, &t };
	struct probe_steps st = { step_line, &sc };
	struct rev_res rr;
	struct pb b = {};
	const char *what = "";
	int rc, raw = -1, err;

	if (parse_probe(argc, argv, &o))
		return usage_error();
	if (o.help) {
		usage_probe(stdout);
		return 0;
	}
	mw_verbose = o.verbose > 0;
	srand(getpid() ^ time(NULL));
	rc = resolve(&o, &t);
	if (rc)
		return rc;
	if (o.ptb_test && t.family == 6 && o.ptb_mtu < 1280) {
		pr_warn("Invalid --ptb-mtu %ld for IPv6 -- the IPv6 minimum is 1280\n", o.ptb_mtu);
		return 2;
	}
	if (o.ptb_test) {
		raw = socket(t.family == 6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC,
			     t.family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		if (raw < 0) {
			pr_warn("--ptb-test sends a Packet Too Big from a raw socket: %s -- it "
				"needs CAP_NET_RAW (run as root)\n", strerror(errno));
			return 1;
		}
	}
	p.o = &o;
	p.t = &t;
	p.b = &b;
	p.st = &st;
	p.raw = raw;
	err = pb_open(&b, &t, o.ptb_test, ptbt_on_seg, &p, o.verbose, &what);
	if (err) {
		if (o.tcp) {
			pr_warn("--tcp watches the far host's segments with eBPF: cannot %s on "
				"%s: %s -- it needs CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON (run "
				"as root)\n", what, t.ifi.name, strerror(-err));
			if (raw >= 0)
				close(raw);
			return 1;
		}
		snprintf(ebpf_note, sizeof(ebpf_note), "note: no eBPF evidence (cannot %s: %s): "
			 "a Packet Too Big this host drops looks like none -- run as root to tell "
			 "them apart", what, strerror(-err));
	}
	if (o.verbose && !o.json)
		printf("probing %s via %s (MTU %u)%s\n", t.str, t.ifi.name, t.ifi.mtu,
		       b.on ? ", eBPF evidence on" : "");
	if (!o.tcp)
		rc = run_forward(&o, &t, &b, &st);
	else if (!o.ptb_test) {
		rc = probe_reverse(&o, &t, &b, &st, &rr);
		if (!rc)
			rc = rev_report(&o, &t, &b, &rr);
	} else {
		rc = run_ptb_test(&o, &t, &b, raw, &p);
		if (!rc)
			rc = ptb_report(&o, &t, &p);
	}
	pb_close(&b);
	if (raw >= 0)
		close(raw);
	return rc;
}
