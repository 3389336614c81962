/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The firewall part of a host reading (hostcfg.h): the rules that drop Packet Too Big or clamp
 * the TCP MSS, in nftables and iptables (legacy and nft). Findings go to the hc_host being read
 * (fw[], nfw, mss_clamp, fw_error); doctor judges them. Its own file because it alone needs
 * jansson and libnftables.
 */
#ifndef MW_FIREWALL_H
#define MW_FIREWALL_H

#include <stdbool.h>
#include <stdint.h>

#define HC_MAX_FW	64

enum hc_fw_what {
	HC_FW_DROPS_PTB,	/* drops or rejects frag-needed / Packet Too Big by type */
	HC_FW_DROPS_ICMP,	/* drops or rejects all ICMP (or ICMPv6) */
	HC_FW_DROP_ALL,		/* an unconditional drop, no RELATED accept ahead of it */
	HC_FW_POLICY_DROP,	/* a DROP policy with no RELATED accept ahead of it */
};

struct hc_fw_rule {
	char backend[16];	/* "nftables", "iptables-nft", "iptables-legacy" */
	uint8_t families;	/* 1: IPv4, 2: IPv6, 3: both (inet) */
	char table[32];		/* "ip filter", "inet fw", ... */
	char chain[32];
	char rule[200];		/* the rule as its tool lists it, or "policy drop" */
	enum hc_fw_what what;
};

struct hc_host;

/* Reads every backend of the calling thread's namespace: nftables through libnftables, then
 * iptables-save for the tables iptables-nft made and for legacy tables that exist (listing
 * them would create them). A backend that cannot be read only adds to h->fw_error. hc_read
 * calls it. */
void hc_read_firewall(struct hc_host *h);
/*
 * The firewall readers on text already in hand (a saved ruleset, the unit tests);
 * hc_read_firewall calls them. Findings go to h->fw, a TCPMSS / maxseg rule sets h->mss_clamp.
 * hc_fw_parse_iptables: `iptables-save` (v6: `ip6tables-save`) output; text is modified.
 * hc_fw_parse_nft_json: `nft -j list ruleset` output, and optionally `nft -a list ruleset` to
 * quote the rules found (NULL: "handle N"). Tables that iptables-nft made (uppercase INPUT,
 * FORWARD... chains in ip/ip6, or xt expressions) are left to iptables-nft-save: returns their
 * families (1 ip, 2 ip6), or -1 when the JSON is unreadable.
 */
void hc_fw_parse_iptables(struct hc_host *h, const char *backend, char *text, bool v6);
int hc_fw_parse_nft_json(struct hc_host *h, const char *json, const char *text);

#endif
