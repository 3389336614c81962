// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdint.h>
#include <string.h>
#include "render.h"

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

/* Another namespace's names: those known (cookie when known: it tells a reused inode apart). */
static void ns_fields(struct jsonw *w, bool foreign, const struct mw_ns_label *l)
{
	if (!foreign)
		return;
	if (l->cookie)
		jsonw_uint_field(w, "netns_cookie", l->cookie);
	if (l->netns_name[0]) {
		jsonw_name(w, "netns_name");
		jsonw_stringn(w, l->netns_name, sizeof(l->netns_name));
	}
	if (l->pod[0]) {
		jsonw_name(w, "pod");
		jsonw_stringn(w, l->pod, sizeof(l->pod));
	}
	if (l->container[0]) {
		jsonw_name(w, "container");
		jsonw_stringn(w, l->container, sizeof(l->container));
	}
}

/* " [pod NS/NAME]", else " [netns NAME]", else " [netns INODE]": where a finding happened. */
static void ns_text(FILE *o, uint32_t netns, const struct mw_ns_label *l)
{
	char b[TEXT_SAFE_LEN(MW_POD_LEN)];

	if (l->pod[0])
		fprintf(o, " [pod %s]", text_safe(b, sizeof(b), l->pod, sizeof(l->pod)));
	else if (l->netns_name[0])
		fprintf(o, " [netns %s]",
			text_safe(b, sizeof(b), l->netns_name, sizeof(l->netns_name)));
	else
		fprintf(o, " [netns %u]", netns);
}

/* An all-zero address: none (a finding with no PTB sender). */
static const uint8_t no_addr[16];

static void render_json(FILE *o, const struct mw_finding *f)
{
	char dst[64], peer[64], src[64], fdst[64], fam[8];
	struct jsonw w;

	jsonw_init(&w, o);
	fmt_ip(f->family, f->dst, dst, sizeof(dst));
	snprintf(fam, sizeof(fam), "ipv%u", f->family);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "verdict", verdict_name(f->verdict));
	jsonw_uint_field(&w, "ts_ns", f->ts_ns);
	jsonw_string_field(&w, "dst", dst);
	jsonw_string_field(&w, "family", fam);
	jsonw_string_field(&w, "iface", f->iface);
	jsonw_uint_field(&w, "mtu", f->mtu);
	jsonw_uint_field(&w, "netns", f->netns);
	ns_fields(&w, f->foreign_netns, &f->ns);
	switch (f->verdict) {
	case MW_V_ICMP_BLACKHOLE:
		jsonw_uint_field(&w, "bracket_lo", f->bracket_lo);
		jsonw_uint_field(&w, "bracket_hi", f->bracket_hi);
		jsonw_bool_field(&w, "confirmed", f->confirmed);
		if (f->update)	/* the confirmation of a finding given before */
			jsonw_bool_field(&w, "update", true);
		break;
	case MW_V_PTB_DROPPED:
	case MW_V_PMTU_LEARNED:
	case MW_V_PTB_IGNORED:
		/* A tunnel's own exception (a local overlay) has no PTB behind it: no sender. */
		if (memcmp(f->peer, no_addr, sizeof(no_addr))) {
			fmt_ip(f->family, f->peer, peer, sizeof(peer));
			jsonw_string_field(&w, "ptb_from", peer);
		}
		if (f->verdict == MW_V_PTB_IGNORED)
			jsonw_string_field(&w, "ignore_reason", ignore_name(f->ignore_reason));
		if (f->verdict != MW_V_PTB_DROPPED)
			break;
		jsonw_string_field(&w, "drop_reason", f->drop_reason);
		jsonw_uint_field(&w, "drop_reason_value", f->reason);
		jsonw_string_field(&w, "direction", f->outgoing ? "out" : "in");
		break;
	default:
		break;
	}
	if (f->flow.family) {
		fmt_ip(f->flow.family, f->flow.saddr, src, sizeof(src));
		fmt_ip(f->flow.family, f->flow.daddr, fdst, sizeof(fdst));
		jsonw_name(&w, "flow");
		jsonw_start_object(&w);
		jsonw_string_field(&w, "src", src);
		jsonw_string_field(&w, "dst", fdst);
		jsonw_uint_field(&w, "sport", f->flow.sport);
		jsonw_uint_field(&w, "dport", f->flow.dport);
		jsonw_uint_field(&w, "proto", f->flow.proto);
		jsonw_end_object(&w);
	}
	if (f->verdict == MW_V_STALLED_TLS || f->verdict == MW_V_STALLED_SSH) {
		jsonw_string_field(&w, "proto", f->proto);
		jsonw_string_field(&w, "step", f->step);
		jsonw_bool_field(&w, "port_hint", f->port_hint);
		jsonw_string_field(&w, "role", f->client ? "client" : "server");
		jsonw_bool_field(&w, "mtu_evidence", f->mtu_evidence);
		jsonw_uint_field(&w, "peer_mss", f->peer_mss);
		jsonw_uint_field(&w, "max_seg_rcvd", f->max_seg_rcvd);
		jsonw_uint_field(&w, "stalled_secs", f->stalled_secs);
		jsonw_uint_field(&w, "bytes_sent", f->bytes_sent);
		jsonw_uint_field(&w, "bytes_acked", f->bytes_acked);
	}
	/* Every alarm says why; information (pmtu_learned, ptb_sent) and plain stalls do not. */
	if (f->ncauses || f->verdict == MW_V_ICMP_BLACKHOLE || f->verdict == MW_V_PTB_DROPPED ||
	    f->verdict == MW_V_PTB_IGNORED || f->mtu_evidence) {
		jsonw_name(&w, "causes");
		jsonw_start_array(&w);
		for (uint32_t i = 0; i < f->ncauses && i < MW_MAX_CAUSES; i++)
			jsonw_string(&w, cause_name(f->causes[i]));
		jsonw_end_array(&w);
	}
	if (f->probed) {
		static const char *const m[] = { "none", "icmp", "udp", "tcp_syn" };

		jsonw_name(&w, "probe");
		jsonw_start_object(&w);
		jsonw_string_field(&w, "method", f->probe_method < 4 ? m[f->probe_method] : "?");
		jsonw_uint_field(&w, "probes", f->probes);
		if (f->ptb_probe) {
			fmt_ip(f->family, f->peer, peer, sizeof(peer));
			jsonw_string_field(&w, "ptb_from", peer);
		} else {
			jsonw_null_field(&w, "ptb_from");
		}
		jsonw_end_object(&w);
	}
	if (f->overlay_mtu) {
		jsonw_name(&w, "overlay");
		jsonw_start_object(&w);
		if (f->overlay_iface[0])
			jsonw_string_field(&w, "iface", f->overlay_iface);
		else	/* another namespace's device: its name is not ours */
			jsonw_null_field(&w, "iface");
		jsonw_uint_field(&w, "mtu", f->overlay_mtu);
		jsonw_string_field(&w, "lower_iface", f->lower_iface);
		jsonw_uint_field(&w, "lower_mtu", f->lower_mtu);
		jsonw_uint_field(&w, "overhead", f->overhead);
		jsonw_end_object(&w);
	}
	if (f->nsizes) {
		jsonw_name(&w, "retrans_sizes");
		jsonw_start_array(&w);
		for (uint32_t i = 0; i < f->nsizes; i++)
			jsonw_uint(&w, f->sizes[i]);
		jsonw_end_array(&w);
	}
	jsonw_uint_field(&w, "count", f->count);
	jsonw_string_field(&w, "explain", f->explain);
	jsonw_string_field(&w, "remedy", f->remedy);
	jsonw_end_object(&w);
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
			ns_text(r->out, f->netns, &f->ns);
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
		struct jsonw w;

		jsonw_init(&w, o);
		jsonw_start_object(&w);
		jsonw_bool_field(&w, "summary", true);
		jsonw_string_field(&w, "dst", dst);
		jsonw_name(&w, "iface");
		jsonw_stringn(&w, p->iface, sizeof(p->iface));
		jsonw_uint_field(&w, "netns", p->netns);
		ns_fields(&w, p->foreign_netns, &p->ns);
		jsonw_uint_field(&w, "max_df", p->max_df);
		jsonw_uint_field(&w, "retrans", p->retrans);
		jsonw_uint_field(&w, "large_retrans", p->large_retrans);
		jsonw_uint_field(&w, "ptb_rx", p->ptb_rx);
		jsonw_uint_field(&w, "ptb_dropped", p->ptb_dropped);
		jsonw_uint_field(&w, "ptb_sent", p->ptb_sent);
		jsonw_uint_field(&w, "mtu", p->pmtu);
		jsonw_string_field(&w, "verdict", verdict_name(p->verdict));
		jsonw_end_object(&w);
		s->rows++;
		return;
	}
	if (!s->rows++)
		fprintf(o, "\n%-39s %-10s %6s %7s %6s %7s %6s %6s  %s\n", "DESTINATION", "IFACE",
			"MAX_DF", "RETRANS", "PTB_RX", "PTB_DRP", "PTB_TX", "MTU", "VERDICT");
	snprintf(pm, sizeof(pm), p->pmtu ? "%u" : "-", p->pmtu);
	fprintf(o, "%-39s %-10s %6u %7u %6u %7u %6u %6s  %s", dst,
		text_safe(ifn, sizeof(ifn), p->iface, sizeof(p->iface)), p->max_df,
		p->retrans, p->ptb_rx, p->ptb_dropped, p->ptb_sent, pm, verdict_name(p->verdict));
	if (p->foreign_netns)
		ns_text(o, p->netns, &p->ns);
	fputc('\n', o);
}

void render_summary(struct mw_render *r, struct mw_core *c, uint64_t lost)
{
	struct sum_ctx s = { .r = r };

	core_paths(c, sum_row, &s);
	if (r->json) {
		struct jsonw w;

		jsonw_init(&w, r->out);
		jsonw_start_object(&w);
		jsonw_bool_field(&w, "summary", true);
		jsonw_int_field(&w, "paths", s.rows);
		jsonw_uint_field(&w, "events_lost", lost);
		jsonw_uint_field(&w, "ptb_suppressed", r->ptb_suppressed);
		jsonw_end_object(&w);
	} else {
		if (!s.rows)
			fprintf(r->out, "\nno path showed retransmissions or Packet Too Big\n");
		fprintf(r->out, "%llu events lost\n", (unsigned long long)lost);
		fprintf(r->out, "%llu Packet Too Big suppressed (new kinds over the kernel's "
			"per-second budget: counted, no event)\n",
			(unsigned long long)r->ptb_suppressed);
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
	[MW_EV_SNMP] = "snmp", [MW_EV_PROBE] = "probe",
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
		struct jsonw w;

		jsonw_init(&w, r->out);
		jsonw_start_object(&w);
		jsonw_uint_field(&w, "ts_ns", e->ts_ns);
		jsonw_string_field(&w, "type", n);
		jsonw_uint_field(&w, "netns", e->netns);
		jsonw_uint_field(&w, "ifindex", e->ifindex);
		jsonw_uint_field(&w, "dir", e->dir);
		jsonw_uint_field(&w, "size", e->size);
		jsonw_uint_field(&w, "mtu", e->mtu);
		jsonw_uint_field(&w, "aux", e->aux);
		jsonw_uint_field(&w, "aux2", e->aux2);
		jsonw_uint_field(&w, "seq", e->seq);
		jsonw_string_field(&w, "peer", p);
		jsonw_string_field(&w, "src", s);
		jsonw_string_field(&w, "dst", d);
		jsonw_uint_field(&w, "sport", e->flow.sport);
		jsonw_uint_field(&w, "dport", e->flow.dport);
		jsonw_uint_field(&w, "proto", e->flow.proto);
		jsonw_name(&w, "name");
		/* from the kernel or a file: not necessarily NUL-terminated */
		jsonw_stringn(&w, e->ifname, sizeof(e->ifname));
		jsonw_end_object(&w);
		return;
	}
	/* The direction, and its flags (MW_DIR_F_*) when there are any: "out/0x10". */
	char dir[16];

	snprintf(dir, sizeof(dir), e->dir & ~1u ? "%s/0x%x" : "%s", (e->dir & 1) ? "in" : "out",
		 e->dir & ~1u);
	fprintf(r->out, "%llu.%09llu %-9s netns=%u if=%u dir=%s size=%u mtu=%u aux=%u aux2=%u "
		"seq=%u peer=%s %s:%u > %s:%u proto=%u %s\n",
		(unsigned long long)(e->ts_ns / 1000000000ULL),
		(unsigned long long)(e->ts_ns % 1000000000ULL), n, e->netns, e->ifindex, dir, e->size, e->mtu, e->aux, e->aux2, e->seq, p, s,
		e->flow.sport, d, e->flow.dport, e->flow.proto,
		text_safe(ifn, sizeof(ifn), e->ifname, sizeof(e->ifname)));
}
