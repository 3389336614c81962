// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The pure parts of hostcfg: overhead table, allowed-MTU arithmetic, route lookup, and the
 * firewall judgement on iptables-save text and nftables JSON (as `nft -j` prints them). */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "firewall.h"
#include "hostcfg.h"

static struct hc_host h;

static void test_overheads(void)
{
	static const struct {
		const char *kind;
		uint8_t fam;
		uint32_t want;
	} rows[] = {
		{ "vxlan", 4, 50 }, { "vxlan", 6, 70 }, { "geneve", 4, 50 }, { "geneve", 6, 70 },
		{ "wireguard", 4, 60 }, { "wireguard", 6, 80 }, { "ipip", 4, 20 }, { "sit", 4, 20 },
		{ "gre", 4, 24 }, { "gretap", 4, 38 }, { "ip6tnl", 6, 48 }, { "ip6gre", 6, 52 },
		{ "vlan", 4, 0 }, { "veth", 4, 0 }, { "nosuchkind", 4, 0 },
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint32_t got = hc_overhead(hc_kind_from_name(rows[i].kind), rows[i].fam);

		if (got != rows[i].want) {
			fail("overhead-table", "%s/IPv%u: %u, want %u", rows[i].kind, rows[i].fam,
			     got, rows[i].want);
			ok = false;
		}
	}
	if (ok)
		pass("overhead-table");
	CHECK("kind-unknown-is-other", hc_kind_from_name("dummy") == HC_K_OTHER, "not other");
	CHECK("overlay-kinds", hc_is_overlay(HC_K_VXLAN) && hc_is_overlay(HC_K_GRE) &&
	      !hc_is_overlay(HC_K_VETH) && !hc_is_overlay(HC_K_BRIDGE), "wrong set");
}

static void test_allowed(void)
{
	struct hc_link l = { .lower_mtu = 9000, .overhead = 50 };

	CHECK("allowed-9000-vxlan", hc_overlay_allowed_mtu(&l) == 8950, "%u",
	      hc_overlay_allowed_mtu(&l));
	l.lower_mtu = 1500;
	CHECK("allowed-1500-vxlan", hc_overlay_allowed_mtu(&l) == 1450, "%u",
	      hc_overlay_allowed_mtu(&l));
	l.lower_mtu = 0;
	CHECK("allowed-unknown-lower", hc_overlay_allowed_mtu(&l) == 0, "%u",
	      hc_overlay_allowed_mtu(&l));
	l.kind = HC_K_VXLAN;
	l.lower_mtu = 1500;
	l.mtu = 1450;
	CHECK("overlay-fits", !hc_overlay_too_big(&l), "too big");
	l.mtu = 1451;
	CHECK("overlay-one-byte-too-big", hc_overlay_too_big(&l), "fits");
	l.kind = HC_K_VETH;
	CHECK("veth-not-overlay", !hc_overlay_too_big(&l), "overlay");
	l.peer_known = true;
	l.peer_mtu = 1450;
	CHECK("veth-peer-smaller", hc_veth_peer_smaller(&l), "not smaller");
	l.peer_mtu = 1451;
	CHECK("veth-peer-equal", !hc_veth_peer_smaller(&l), "smaller");
	l.kind = HC_K_OTHER;
	l.lower_mtu = 40;
	CHECK("allowed-lower-below-overhead", hc_overlay_allowed_mtu(&l) == 0, "%u",
	      hc_overlay_allowed_mtu(&l));
}

static void test_routes(void)
{
	uint8_t a[16] = { 203, 0, 113, 7 }, b[16] = { 198, 51, 100, 1 }, c[16] = { 203, 0, 113, 9 };
	const struct hc_route *r;

	memset(&h, 0, sizeof(h));
	h.routes[h.nroutes++] = (struct hc_route){ .family = 4, .dst_len = 0, .table = 254 };
	h.routes[h.nroutes++] = (struct hc_route){ .family = 4, .dst_len = 24, .table = 254,
						   .dst = { 203, 0, 113 }, .mtu = 1400,
						   .mtu_locked = true };
	h.routes[h.nroutes++] = (struct hc_route){ .family = 4, .dst_len = 32, .table = 254,
						   .dst = { 203, 0, 113, 9 }, .mtu = 1300 };
	CHECK("route-locked-prefix", hc_route_mtu_locked(&h, 4, a), "not locked");
	CHECK("route-default-not-locked", !hc_route_mtu_locked(&h, 4, b), "locked");
	r = hc_route_lookup(&h, 4, c);
	CHECK("route-longest-prefix", r && r->dst_len == 32 && !hc_route_mtu_locked(&h, 4, c),
	      "got /%d", r ? r->dst_len : -1);
	CHECK("route-other-family", !hc_route_lookup(&h, 6, a), "found one");
}

/* ipt CASE V6 TEXT WANT_N WANT_WHAT: one iptables-save listing */
static void ipt(const char *name, bool v6, const char *text, int want_n, int want_what)
{
	char *t = strdup(text);

	memset(&h, 0, sizeof(h));
	hc_fw_parse_iptables(&h, "iptables-legacy", t, v6);
	free(t);
	CHECK(name, h.nfw == want_n && (!want_n || (int)h.fw[0].what == want_what),
	      "%d findings (want %d), first what %d (want %d): %s", h.nfw, want_n,
	      h.nfw ? (int)h.fw[0].what : -1, want_what, h.nfw ? h.fw[0].rule : "");
}

#define FILTER(pol, rules) "*filter\n:INPUT " pol " [0:0]\n:FORWARD ACCEPT [0:0]\n" \
			   ":OUTPUT ACCEPT [0:0]\n" rules "COMMIT\n"

/* A comment of 256 '"', iptables' longest: saved as 512 characters, longer than the line copy
 * the parser once cut rules to (which lost the -j after it). */
#define QQ8 "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\""
#define QQ64 QQ8 QQ8 QQ8 QQ8 QQ8 QQ8 QQ8 QQ8
#define LONG256 QQ64 QQ64 QQ64 QQ64

static void test_iptables(void)
{
	ipt("ipt-frag-needed", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m icmp --icmp-type 3/4 -j DROP\n"), 1,
	    HC_FW_DROPS_PTB);
	ipt("ipt-dest-unreach-any-code", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m icmp --icmp-type 3 -j REJECT --reject-with "
		   "icmp-port-unreachable\n"), 1, HC_FW_DROPS_PTB);
	ipt("ipt-host-unreach-only", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m icmp --icmp-type 3/1 -j DROP\n"), 0, 0);
	ipt("ipt-not-echo", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m icmp ! --icmp-type 8 -j DROP\n"), 1,
	    HC_FW_DROPS_PTB);
	ipt("ipt-echo-only", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m icmp --icmp-type 8 -j DROP\n"), 0, 0);
	ipt("ipt-all-icmp", false, FILTER("ACCEPT", "-A INPUT -p icmp -j DROP\n"), 1,
	    HC_FW_DROPS_ICMP);
	ipt("ipt-related-first", false,
	    FILTER("ACCEPT", "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
		   "-A INPUT -p icmp -j DROP\n"), 0, 0);
	ipt("ipt-policy-drop-established-only", false,
	    FILTER("DROP", "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"), 1,
	    HC_FW_POLICY_DROP);
	ipt("ipt-policy-drop-related", false,
	    FILTER("DROP", "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n"), 0, 0);
	ipt("ipt-policy-drop-icmp-accept", false,
	    FILTER("DROP", "-A INPUT -p icmp -j ACCEPT\n"), 0, 0);
	ipt("ipt-tcp-drop-irrelevant", false,
	    FILTER("ACCEPT", "-A INPUT -p tcp -m tcp --dport 22 -j DROP\n"), 0, 0);
	ipt("ipt-unconditional-drop", false, FILTER("ACCEPT", "-A INPUT -j DROP\n"), 1,
	    HC_FW_DROP_ALL);
	ipt("ipt-source-narrowed-icmp-drop", false,
	    FILTER("ACCEPT", "-A INPUT -s 192.0.2.0/24 -p icmp -j DROP\n"), 1, HC_FW_DROPS_ICMP);
	ipt("ip6t-ptb", true,
	    FILTER("ACCEPT", "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 2 -j DROP\n"), 1,
	    HC_FW_DROPS_PTB);
	ipt("ip6t-echo-only", true,
	    FILTER("ACCEPT", "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j DROP\n"), 0, 0);
	ipt("ip6t-v4-rule-ignored", true, FILTER("ACCEPT", "-A INPUT -p icmp -j DROP\n"), 0, 0);
	ipt("ipt-user-chain-ptb", false,
	    "*filter\n:INPUT ACCEPT [0:0]\n:fw-in - [0:0]\n-A INPUT -j fw-in\n"
	    "-A fw-in -p icmp -m icmp --icmp-type 3/4 -j DROP\n-A fw-in -j DROP\nCOMMIT\n", 1,
	    HC_FW_DROPS_PTB);
	ipt("ipt-related-in-jumped-chain", false,
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	    ":DOCKER-FORWARD - [0:0]\n:DOCKER-CT - [0:0]\n-A FORWARD -j DOCKER-FORWARD\n"
	    "-A DOCKER-FORWARD -j DOCKER-CT\n-A DOCKER-CT -o docker0 -m conntrack --ctstate "
	    "RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n", 0, 0);
	ipt("ipt-jumped-chain-without-related", false,
	    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
	    ":DOCKER-FORWARD - [0:0]\n-A FORWARD -j DOCKER-FORWARD\n"
	    "-A DOCKER-FORWARD -o docker0 -j ACCEPT\nCOMMIT\n", 1, HC_FW_POLICY_DROP);
	/* Comments are quoted by iptables-save: their words are never options or a target. */
	ipt("ipt-comment-hides-no-drop", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"note -j ACCEPT \" -j DROP\n"),
	    1, HC_FW_DROPS_ICMP);
	ipt("ipt-comment-escaped-quote", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"a \\\" -j ACCEPT \\\" b\" "
		   "-j DROP\n"), 1, HC_FW_DROPS_ICMP);
	ipt("ipt-comment-escaped-backslash", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"c:\\\\\" -j DROP\n"), 1,
	    HC_FW_DROPS_ICMP);
	ipt("ipt-comment-single-quote", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"it\\'s -j ACCEPT\" -j DROP\n"),
	    1, HC_FW_DROPS_ICMP);
	ipt("ipt-comment-says-drop", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"-j DROP\" -j ACCEPT\n"), 0, 0);
	ipt("ipt-comment-fake-related", false,
	    FILTER("DROP", "-A INPUT -m comment --comment \"--ctstate RELATED -j ACCEPT\" -p tcp "
		   "-j ACCEPT\n"), 1, HC_FW_POLICY_DROP);
	ipt("ipt-comment-long", false,
	    FILTER("ACCEPT", "-A INPUT -p icmp -m comment --comment \"" LONG256 "\" -j DROP\n"), 1,
	    HC_FW_DROPS_ICMP);
	memset(&h, 0, sizeof(h));
	{
		char t[] = "*mangle\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --tcp-flags "
			   "SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n";

		hc_fw_parse_iptables(&h, "iptables-legacy", t, false);
		CHECK("ipt-tcpmss-clamp", h.mss_clamp && h.nfw == 0, "clamp %d nfw %d",
		      h.mss_clamp, h.nfw);
	}
}

#define J_CHAIN(fam, tab, name, hook, pol)                                                     \
	"{\"chain\":{\"family\":\"" fam "\",\"table\":\"" tab "\",\"name\":\"" name             \
	"\",\"handle\":1,\"type\":\"filter\",\"hook\":\"" hook "\",\"prio\":0,\"policy\":\"" pol \
	"\"}}"
#define J_RULE(fam, tab, chain, h, expr)                                                       \
	"{\"rule\":{\"family\":\"" fam "\",\"table\":\"" tab "\",\"chain\":\"" chain             \
	"\",\"handle\":" #h ",\"expr\":[" expr "]}}"
#define J_MATCH(op, left, right)                                                               \
	"{\"match\":{\"op\":\"" op "\",\"left\":" left ",\"right\":" right "}}"
#define J_DROP ",{\"drop\":null}"
#define J_ACCEPT ",{\"accept\":null}"
#define J_PL(p, f) "{\"payload\":{\"protocol\":\"" p "\",\"field\":\"" f "\"}}"
#define J_CT "{\"ct\":{\"key\":\"state\"}}"
#define J_L4 "{\"meta\":{\"key\":\"l4proto\"}}"
#define J_DOC(...) "{\"nftables\":[{\"metainfo\":{\"json_schema_version\":1}}," __VA_ARGS__ "]}"

static void nft(const char *name, const char *js, int want_n, int want_what, int want_fams)
{
	int owned;

	memset(&h, 0, sizeof(h));
	owned = hc_fw_parse_nft_json(&h, js, NULL);
	CHECK(name, owned >= 0 && h.nfw == want_n &&
	      (!want_n || ((int)h.fw[0].what == want_what && h.fw[0].families == want_fams)),
	      "owned %d, %d findings (want %d), what %d (want %d), fams %d (want %d)", owned,
	      h.nfw, want_n, h.nfw ? (int)h.fw[0].what : -1, want_what,
	      h.nfw ? h.fw[0].families : -1, want_fams);
}

static void test_nft(void)
{
	const char *text = "table inet fw { # handle 1\n\tchain input { # handle 1\n"
			   "\t\ttype filter hook input priority filter; policy accept;\n"
			   "\t\ticmpv6 type packet-too-big drop # handle 4\n\t}\n}\n";
	const char *js;

	nft("nft-frag-needed",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "accept") ","
		  J_RULE("inet", "fw", "input", 4,
			 J_MATCH("==", J_PL("icmp", "type"), "\"destination-unreachable\"") ","
			 J_MATCH("==", J_PL("icmp", "code"), "\"frag-needed\"") J_DROP)),
	    1, HC_FW_DROPS_PTB, 1);
	nft("nft-port-unreach-code",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "accept") ","
		  J_RULE("inet", "fw", "input", 4,
			 J_MATCH("==", J_PL("icmp", "type"), "\"destination-unreachable\"") ","
			 J_MATCH("==", J_PL("icmp", "code"), "\"port-unreachable\"") J_DROP)),
	    0, 0, 0);
	nft("nft-ptb-in-set",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "accept") ","
		  J_RULE("inet", "fw", "input", 4,
			 J_MATCH("==", J_PL("icmpv6", "type"),
				 "{\"set\":[\"echo-request\",\"packet-too-big\"]}") J_DROP)),
	    1, HC_FW_DROPS_PTB, 2);
	nft("nft-type-range",
	    J_DOC(J_CHAIN("ip", "fw", "input", "input", "accept") ","
		  J_RULE("ip", "fw", "input", 4,
			 J_MATCH("==", J_PL("icmp", "type"), "{\"range\":[0,5]}") J_DROP)),
	    1, HC_FW_DROPS_PTB, 1);
	nft("nft-not-echo",
	    J_DOC(J_CHAIN("ip", "fw", "input", "input", "accept") ","
		  J_RULE("ip", "fw", "input", 4,
			 J_MATCH("!=", J_PL("icmp", "type"), "\"echo-request\"") J_DROP)),
	    1, HC_FW_DROPS_PTB, 1);
	nft("nft-l4proto-icmp-reject",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "accept") ","
		  J_RULE("inet", "fw", "input", 4,
			 J_MATCH("==", J_L4, "\"icmp\"") ",{\"reject\":null}")),
	    1, HC_FW_DROPS_ICMP, 1);
	nft("nft-related-first",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "drop") ","
		  J_RULE("inet", "fw", "input", 3,
			 J_MATCH("in", J_CT, "[\"established\",\"related\"]") J_ACCEPT) ","
		  J_RULE("inet", "fw", "input", 4,
			 J_MATCH("==", J_L4, "\"icmp\"") J_DROP)),
	    0, 0, 0);
	nft("nft-policy-drop-established-only",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "drop") ","
		  J_RULE("inet", "fw", "input", 3,
			 J_MATCH("in", J_CT, "\"established\"") J_ACCEPT)),
	    1, HC_FW_POLICY_DROP, 3);
	nft("nft-policy-drop-ptb-v6-accepted",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "drop") ","
		  J_RULE("inet", "fw", "input", 3,
			 J_MATCH("==", J_PL("icmpv6", "type"), "\"packet-too-big\"") J_ACCEPT)),
	    1, HC_FW_POLICY_DROP, 1);
	nft("nft-related-in-jumped-chain",
	    J_DOC(J_CHAIN("inet", "fw", "input", "input", "drop") ","
		  "{\"chain\":{\"family\":\"inet\",\"table\":\"fw\",\"name\":\"ct\","
		  "\"handle\":5}},"
		  J_RULE("inet", "fw", "input", 3, "{\"jump\":{\"target\":\"ct\"}}") ","
		  J_RULE("inet", "fw", "ct", 6,
			 J_MATCH("==", J_CT, "\"related\"") J_ACCEPT)),
	    0, 0, 0);
	nft("nft-prerouting-ignored",
	    J_DOC(J_CHAIN("inet", "fw", "pre", "prerouting", "drop")), 0, 0, 0);
	js = J_DOC(J_CHAIN("inet", "fw", "input", "input", "accept") ","
		   J_RULE("inet", "fw", "input", 4,
			  J_MATCH("==", J_PL("icmpv6", "type"), "\"packet-too-big\"") J_DROP));
	memset(&h, 0, sizeof(h));
	hc_fw_parse_nft_json(&h, js, text);
	CHECK("nft-rule-quoted", h.nfw == 1 &&
	      !strcmp(h.fw[0].rule, "icmpv6 type packet-too-big drop (handle 4)") &&
	      !strcmp(h.fw[0].table, "inet fw") && !strcmp(h.fw[0].chain, "input"),
	      "'%s'", h.nfw ? h.fw[0].rule : "");
	memset(&h, 0, sizeof(h));
	js = J_DOC(J_CHAIN("ip", "filter", "INPUT", "input", "drop") ","
		   J_RULE("ip", "filter", "INPUT", 2,
			  J_MATCH("==", J_L4, "\"icmp\"") ",{\"xt\":{\"type\":\"match\",\"name\":"
			  "\"icmp\"}},{\"drop\":null}"));
	CHECK("nft-iptables-nft-table-left-to-iptables",
	      hc_fw_parse_nft_json(&h, js, NULL) == 1 && h.nfw == 0, "nfw %d", h.nfw);
	memset(&h, 0, sizeof(h));
	js = J_DOC(J_CHAIN("inet", "m", "fwd", "forward", "accept") ","
		   J_RULE("inet", "m", "fwd", 9,
			  "{\"mangle\":{\"key\":{\"tcp option\":{\"name\":\"maxseg\",\"field\":"
			  "\"size\"}},\"value\":{\"rt\":{\"key\":\"mtu\"}}}}"));
	hc_fw_parse_nft_json(&h, js, NULL);
	CHECK("nft-maxseg-clamp", h.mss_clamp, "no clamp");
	memset(&h, 0, sizeof(h));
	CHECK("nft-bad-json", hc_fw_parse_nft_json(&h, "{not json", NULL) == -1, "accepted");
}

int main(void)
{
	test_overheads();
	test_allowed();
	test_routes();
	test_iptables();
	test_nft();
	return 0;
}
