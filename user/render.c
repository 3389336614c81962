// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include "render.h"

void fmt_ip(uint8_t family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, len))
		snprintf(buf, len, "?");
}

size_t utf8_seq(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t len, i;
	uint32_t cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;	/* continuation byte, overlong lead (c0, c1) or beyond U+10FFFF */
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, surrogate or out of range */
	return len;
}

/* Bytes of s before its NUL, but never more than max: file and kernel fields may lack one. */
static size_t bounded_len(const char *s, size_t max)
{
	return s ? strnlen(s, max) : 0;
}

const char *text_safe(char *buf, size_t buflen, const char *s, size_t max)
{
	size_t n = bounded_len(s, max), o = 0, k;

	if (!buflen)
		return buf;
	for (size_t i = 0; i < n; i += k) {
		unsigned char ch = s[i];
		char esc[8];
		const char *out = esc;
		size_t outlen;

		k = utf8_seq(s + i, n - i);
		/* C0 controls, DEL and C1 controls (U+0080..U+009F: 8-bit CSI) drive terminals. */
		if (k == 1 && (ch < 0x20 || ch == 0x7f)) {
			outlen = snprintf(esc, sizeof(esc), "\\x%02x", ch);
		} else if (k == 2 && ch == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			outlen = snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)s[i + 1]);
		} else if (!k) {
			k = 1;
			outlen = snprintf(esc, sizeof(esc), "\\x%02x", ch);
		} else {
			out = s + i;
			outlen = k;
		}
		if (o + outlen >= buflen)
			break;	/* cut whole: never half an escape or half a character */
		memcpy(buf + o, out, outlen);
		o += outlen;
	}
	buf[o] = 0;
	return buf;
}

void json_strn(FILE *out, const char *s, size_t max)
{
	size_t n = bounded_len(s, max), k;

	fputc('"', out);
	for (size_t i = 0; i < n; i += k) {
		unsigned char ch = s[i];

		k = utf8_seq(s + i, n - i);
		if (!k) {
			k = 1;
			fputs("\\ufffd", out);	/* JSON is UTF-8: say a byte was not */
		} else if (ch == '"' || ch == '\\') {
			fprintf(out, "\\%c", ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\u%04x", ch);
		} else {
			fwrite(s + i, 1, k, out);
		}
	}
	fputc('"', out);
}

void json_str(FILE *out, const char *s)
{
	json_strn(out, s, SIZE_MAX);
}

static void json_kv_str(FILE *o, const char *k, const char *v)
{
	fprintf(o, ",\"%s\":", k);
	json_str(o, v);
}

static void render_json(FILE *o, const struct mw_finding *f)
{
	char dst[64], peer[64], src[64], fdst[64];

	fmt_ip(f->family, f->dst, dst, sizeof(dst));
	fprintf(o, "{\"verdict\":\"%s\",\"ts_ns\":%llu", verdict_name(f->verdict),
		(unsigned long long)f->ts_ns);
	json_kv_str(o, "dst", dst);
	fprintf(o, ",\"family\":\"ipv%u\"", f->family);
	json_kv_str(o, "iface", f->iface);
	fprintf(o, ",\"mtu\":%u,\"netns\":%u", f->mtu, f->netns);
	switch (f->verdict) {
	case MW_V_ICMP_BLACKHOLE:
		fprintf(o, ",\"bracket_lo\":%u,\"bracket_hi\":%u", f->bracket_lo, f->bracket_hi);
		break;
	case MW_V_PTB_DROPPED:
	case MW_V_PMTU_LEARNED:
	case MW_V_PTB_IGNORED:
		fmt_ip(f->family, f->peer, peer, sizeof(peer));
		json_kv_str(o, "ptb_from", peer);
		if (f->verdict == MW_V_PTB_IGNORED)
			json_kv_str(o, "ignore_reason", ignore_name(f->ignore_reason));
		if (f->verdict != MW_V_PTB_DROPPED)
			break;
		json_kv_str(o, "drop_reason", f->drop_reason);
		fprintf(o, ",\"drop_reason_value\":%u,\"direction\":\"%s\"", f->reason,
			f->outgoing ? "out" : "in");
		break;
	default:
		break;
	}
	if (f->flow.family) {
		fmt_ip(f->flow.family, f->flow.saddr, src, sizeof(src));
		fmt_ip(f->flow.family, f->flow.daddr, fdst, sizeof(fdst));
		fprintf(o, ",\"flow\":{\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,"
			"\"proto\":%u}", src, fdst, f->flow.sport, f->flow.dport, f->flow.proto);
	}
	if (f->verdict == MW_V_STALLED_TLS || f->verdict == MW_V_STALLED_SSH) {
		json_kv_str(o, "proto", f->proto);
		json_kv_str(o, "step", f->step);
		fprintf(o, ",\"port_hint\":%s", f->port_hint ? "true" : "false");
		fprintf(o, ",\"role\":\"%s\",\"mtu_evidence\":%s,\"peer_mss\":%u,"
			"\"max_seg_rcvd\":%u,\"stalled_secs\":%u,\"bytes_sent\":%u,\"bytes_acked\":%u",
			f->client ? "client" : "server", f->mtu_evidence ? "true" : "false",
			f->peer_mss, f->max_seg_rcvd, f->stalled_secs, f->bytes_sent, f->bytes_acked);
	}
	/* Every alarm says why; information (pmtu_learned, ptb_sent) and plain stalls do not. */
	if (f->ncauses || f->verdict == MW_V_ICMP_BLACKHOLE || f->verdict == MW_V_PTB_DROPPED ||
	    f->verdict == MW_V_PTB_IGNORED || f->mtu_evidence) {
		fprintf(o, ",\"causes\":[");
		for (uint32_t i = 0; i < f->ncauses && i < MW_MAX_CAUSES; i++)
			fprintf(o, "%s\"%s\"", i ? "," : "", cause_name(f->causes[i]));
		fprintf(o, "]");
	}
	if (f->overlay_mtu) {
		fprintf(o, ",\"overlay\":{\"iface\":");
		if (f->overlay_iface[0])
			json_str(o, f->overlay_iface);
		else
			fprintf(o, "null");	/* another namespace's device: its name is not ours */
		fprintf(o, ",\"mtu\":%u,\"lower_iface\":", f->overlay_mtu);
		json_str(o, f->lower_iface);
		fprintf(o, ",\"lower_mtu\":%u,\"overhead\":%u}", f->lower_mtu, f->overhead);
	}
	if (f->nsizes) {
		fprintf(o, ",\"retrans_sizes\":[");
		for (uint32_t i = 0; i < f->nsizes; i++)
			fprintf(o, "%s%u", i ? "," : "", f->sizes[i]);
		fprintf(o, "]");
	}
	fprintf(o, ",\"count\":%u", f->count);
	json_kv_str(o, "explain", f->explain);
	json_kv_str(o, "remedy", f->remedy);
	fprintf(o, "}\n");
}

void render_finding(const struct mw_finding *f, void *ctx)
{
	struct mw_render *r = ctx;
	char dst[64];

	if (r->json) {
		render_json(r->out, f);
	} else {
		/* explain and remedy quote interface and drop reason names: from a file, or a
		 * namespace someone else named */
		char ex[TEXT_SAFE_LEN(sizeof(f->explain))], re[TEXT_SAFE_LEN(sizeof(f->remedy))];

		fmt_ip(f->family, f->dst, dst, sizeof(dst));
		fprintf(r->out, "%-14s %s", verdict_name(f->verdict), dst);
		if (r->all_netns || f->foreign_netns)
			fprintf(r->out, " [netns %u]", f->netns);
		fprintf(r->out, ": %s", text_safe(ex, sizeof(ex), f->explain, sizeof(f->explain)));
		for (uint32_t i = 0; i < f->ncauses && i < MW_MAX_CAUSES; i++)
			fprintf(r->out, "%s%s", i ? ", " : " [causes: ", cause_name(f->causes[i]));
		fprintf(r->out, "%s -- %s\n", f->ncauses ? "]" : "",
			text_safe(re, sizeof(re), f->remedy, sizeof(f->remedy)));
	}
	fflush(r->out);
}

struct sum_ctx {
	struct mw_render *r;
	int rows;
};

static void sum_row(const struct mw_path_summary *p, void *ctx)
{
	struct sum_ctx *s = ctx;
	FILE *o = s->r->out;
	char dst[64], pm[16], ifn[TEXT_SAFE_LEN(MW_IFNAME_LEN)];

	fmt_ip(p->family, p->dst, dst, sizeof(dst));
	if (s->r->json) {
		fprintf(o, "{\"summary\":true,\"dst\":\"%s\",\"iface\":", dst);
		json_strn(o, p->iface, sizeof(p->iface));
		fprintf(o, ",\"netns\":%u,\"max_df\":%u,\"retrans\":%u,\"large_retrans\":%u,"
			"\"ptb_rx\":%u,\"ptb_dropped\":%u,\"ptb_sent\":%u,\"mtu\":%u,"
			"\"verdict\":\"%s\"}\n", p->netns, p->max_df, p->retrans, p->large_retrans,
			p->ptb_rx, p->ptb_dropped, p->ptb_sent, p->pmtu, verdict_name(p->verdict));
		s->rows++;
		return;
	}
	if (!s->rows++)
		fprintf(o, "\n%-39s %-10s %6s %7s %6s %7s %6s %6s  %s\n", "DESTINATION", "IFACE",
			"MAX_DF", "RETRANS", "PTB_RX", "PTB_DRP", "PTB_TX", "MTU", "VERDICT");
	snprintf(pm, sizeof(pm), p->pmtu ? "%u" : "-", p->pmtu);
	fprintf(o, "%-39s %-10s %6u %7u %6u %7u %6u %6s  %s\n", dst,
		text_safe(ifn, sizeof(ifn), p->iface, sizeof(p->iface)), p->max_df,
		p->retrans, p->ptb_rx, p->ptb_dropped, p->ptb_sent, pm, verdict_name(p->verdict));
}

void render_summary(struct mw_render *r, struct mw_core *c, uint64_t lost)
{
	struct sum_ctx s = { .r = r };

	core_paths(c, sum_row, &s);
	if (r->json) {
		fprintf(r->out, "{\"summary\":true,\"paths\":%d,\"events_lost\":%llu}\n", s.rows,
			(unsigned long long)lost);
	} else {
		if (!s.rows)
			fprintf(r->out, "\nno path showed retransmissions or Packet Too Big\n");
		fprintf(r->out, "%llu events lost\n", (unsigned long long)lost);
	}
	fflush(r->out);
}

static const char *const ev_names[] = {
	[MW_EV_DF_MAX] = "df_max", [MW_EV_DF_OVER] = "df_over", [MW_EV_PTB_RX] = "ptb_rx",
	[MW_EV_PTB_DROP] = "ptb_drop", [MW_EV_PTB_SENT] = "ptb_sent",
	[MW_EV_RETRANS] = "retrans", [MW_EV_SYN_MSS] = "syn_mss", [MW_EV_STATE] = "state",
	[MW_EV_HS] = "handshake", [MW_EV_SEG_MAX] = "seg_max", [MW_EV_IFACE] = "iface",
	[MW_EV_ROUTE] = "route", [MW_EV_TICK] = "tick", [MW_EV_ATTACH] = "attach",
	[MW_EV_LOST] = "lost", [MW_EV_RESEND] = "resend", [MW_EV_ACKED] = "acked",
	[MW_EV_RECOVERED] = "recovered", [MW_EV_DELIVERED] = "delivered",
	[MW_EV_ENCAP_DROP] = "encap_drop", [MW_EV_SYSCTL] = "sysctl", [MW_EV_LINK] = "link",
	[MW_EV_SNMP] = "snmp",
};

void render_event_raw(struct mw_render *r, const struct mw_event *e)
{
	const char *n = e->type < MW_EV_TYPE_MAX && ev_names[e->type] ? ev_names[e->type] : "?";
	char s[64], d[64], p[64], ifn[TEXT_SAFE_LEN(sizeof(e->ifname))];

	fmt_ip(e->flow.family ? e->flow.family : 4, e->flow.saddr, s, sizeof(s));
	fmt_ip(e->flow.family ? e->flow.family : 4, e->flow.daddr, d, sizeof(d));
	if (e->type == MW_EV_HS) {
		/* peer: a folded ACKED (acked/sent/delivered size/its seq), not an address */
		struct mw_hs_acked a;

		memcpy(&a, e->peer, sizeof(a));
		snprintf(p, sizeof(p), "%u/%u/%u/%u", a.acked, a.sent, a.dsize, a.dseq);
	} else {
		fmt_ip(e->family ? e->family : 4, e->peer, p, sizeof(p));
	}
	if (r->json) {
		fprintf(r->out, "{\"ts_ns\":%llu,\"type\":\"%s\",\"netns\":%u,\"ifindex\":%u,"
			"\"dir\":%u,\"size\":%u,\"mtu\":%u,\"aux\":%u,\"aux2\":%u,\"seq\":%u,"
			"\"peer\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,"
			"\"proto\":%u,\"name\":", (unsigned long long)e->ts_ns, n, e->netns,
			e->ifindex, e->dir, e->size, e->mtu, e->aux, e->aux2, e->seq, p, s, d,
			e->flow.sport, e->flow.dport, e->flow.proto);
		/* from the kernel or a file: not necessarily NUL-terminated */
		json_strn(r->out, e->ifname, sizeof(e->ifname));
		fprintf(r->out, "}\n");
		return;
	}
	fprintf(r->out, "%llu.%09llu %-9s netns=%u if=%u dir=%s size=%u mtu=%u aux=%u aux2=%u "
		"seq=%u peer=%s %s:%u > %s:%u proto=%u %s\n",
		(unsigned long long)(e->ts_ns / 1000000000ULL),
		(unsigned long long)(e->ts_ns % 1000000000ULL), n, e->netns, e->ifindex,
		e->dir ? "in" : "out", e->size, e->mtu, e->aux, e->aux2, e->seq, p, s,
		e->flow.sport, d, e->flow.dport, e->flow.proto,
		text_safe(ifn, sizeof(ifn), e->ifname, sizeof(e->ifname)));
}
