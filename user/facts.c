// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Host facts the diagnosis needs to name a cause, synthesised into the event stream so that
 * report judges a recording with what live saw: the sysctls that change how PMTUD behaves,
 * and the namespace counters that tell why a Packet Too Big was ignored (an out-of-window
 * sequence, no socket). Read on ticks from procfs: a few small files every half second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "facts.h"
#include "hostcfg.h"
#include "netutil.h"

/* Value of `field` in the /proc/net/{snmp,netstat} table whose rows start with `proto:`. */
static int proc_table(const char *path, const char *proto, const char *field, uint64_t *out)
{
	char hdr[4096], val[4096], *hs, *vs, *h, *v;
	size_t plen = strlen(proto);
	FILE *f = fopen(path, "re");
	int err = -1;

	if (!f)
		return -1;
	while (fgets(hdr, sizeof(hdr), f)) {
		if (strncmp(hdr, proto, plen) || hdr[plen] != ':')
			continue;
		if (!fgets(val, sizeof(val), f))
			break;
		h = strtok_r(hdr + plen + 1, " \n", &hs);
		v = strtok_r(val + plen + 1, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, field)) {
				*out = strtoull(v, NULL, 10);
				err = 0;
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return err;
}

/* /proc/net/snmp6 has one "Name value" pair per line. */
static int proc_pairs(const char *path, const char *field, uint64_t *out)
{
	char line[256], name[128];
	unsigned long long v;
	FILE *f = fopen(path, "re");
	int err = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %llu", name, &v) == 2 && !strcmp(name, field)) {
			*out = v;
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

static int sysctl_int(const char *path, int *out)
{
	char buf[32];

	if (read_text(path, buf, sizeof(buf)))
		return -1;
	*out = atoi(buf);
	return 0;
}

void facts_init(struct mw_facts *f, struct mw_session *s, mw_event_fn emit, void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->s = s;
	f->emit = emit;
	f->ctx = ctx;
}

static void emit_fact(struct mw_facts *f, uint64_t now, uint16_t type, uint32_t aux,
		      uint32_t size, uint32_t aux2)
{
	struct mw_event e = { .ts_ns = now, .type = type, .aux = aux, .size = size, .aux2 = aux2 };

	e.netns = f->s->self_netns;
	f->emit(&e, f->ctx);
}

/*
 * What lies under each device: a veth's peer MTU (wherever the peer lives), an overlay's lower
 * device and overhead, the smallest MTU among a bridge's ports. Read once (milliseconds of
 * netlink dumps), on the first tick rather than at start-up, and only the devices that can
 * explain a silent drop.
 */
static void facts_links(struct mw_facts *f, uint64_t now)
{
	struct hc_host *h = calloc(1, sizeof(*h));

	if (!h)
		return;
	if (hc_read_net(h)) {
		free(h);
		return;
	}
	for (int i = 0; i < h->nlinks; i++) {
		const struct hc_link *l = &h->links[i];
		struct mw_event e = { .ts_ns = now, .type = MW_EV_LINK };

		e.netns = f->s->self_netns;
		e.ifindex = l->ifindex;
		e.mtu = l->mtu;
		snprintf(e.ifname, sizeof(e.ifname), "%s", l->name);
		if (l->kind == HC_K_VETH && l->peer_known) {
			e.aux = MW_LINK_VETH;
			e.size = l->peer_mtu;
		} else if (hc_is_overlay(l->kind) && l->lower_mtu) {
			e.aux = MW_LINK_OVERLAY;
			e.size = l->lower_mtu;
			e.aux2 = l->overhead;
			e.seq = l->lower_ifindex;
			memcpy(e.peer, l->lower_name, strnlen(l->lower_name, sizeof(e.peer)));
		} else if (l->master && hc_link_by_ifindex(h, l->master) &&
			   hc_link_by_ifindex(h, l->master)->kind == HC_K_BRIDGE) {
			uint32_t min = 0;

			/* A bridge forwards between its ports: the smallest one drops the rest. */
			for (int k = 0; k < h->nlinks; k++)
				if (h->links[k].master == l->master && k != i &&
				    (!min || h->links[k].mtu < min))
					min = h->links[k].mtu;
			if (!min || min >= l->mtu)
				continue;
			e.aux = MW_LINK_BRIDGE_PORT;
			e.size = min;
		} else {
			continue;
		}
		f->emit(&e, f->ctx);
	}
	free(h);
}

void facts_poll(struct mw_facts *f, uint64_t now, bool first)
{
	static const struct {
		enum mw_sysctl id;
		const char *path;
	} sysctls[] = {
		{ MW_SYS_TCP_MTU_PROBING, "/proc/sys/net/ipv4/tcp_mtu_probing" },
		{ MW_SYS_IP_NO_PMTU_DISC, "/proc/sys/net/ipv4/ip_no_pmtu_disc" },
	};
	uint64_t v[4] = {};
	int ok[4] = {};

	if (!first && !f->links_done) {
		f->links_done = true;
		facts_links(f, now);
	}
	/* Settings rarely change: every 5 s is enough, and at the start. */
	if (first || now - f->sysctl_ns >= 5000000000ULL) {
		f->sysctl_ns = now;
		for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
			int val;

			if (sysctl_int(sysctls[i].path, &val))
				continue;
			if (first || val != f->sysctl[sysctls[i].id]) {
				f->sysctl[sysctls[i].id] = val;
				emit_fact(f, now, MW_EV_SYSCTL, sysctls[i].id, val, 0);
			}
		}
	}
	ok[MW_SNMP_OUT_OF_WINDOW_ICMPS] =
		!proc_table("/proc/net/netstat", "TcpExt", "OutOfWindowIcmps",
			    &v[MW_SNMP_OUT_OF_WINDOW_ICMPS]);
	ok[MW_SNMP_ICMP_IN_ERRORS] =
		!proc_table("/proc/net/snmp", "Icmp", "InErrors", &v[MW_SNMP_ICMP_IN_ERRORS]);
	ok[MW_SNMP_ICMP6_IN_ERRORS] =
		!proc_pairs("/proc/net/snmp6", "Icmp6InErrors", &v[MW_SNMP_ICMP6_IN_ERRORS]);
	for (int k = 1; k < 4; k++) {
		if (!ok[k])
			continue;
		/* The first reading is the baseline: what rose before we started is not ours. */
		if (!first && f->snmp_ok[k] && v[k] > f->snmp[k])
			emit_fact(f, now, MW_EV_SNMP, k, (uint32_t)(v[k] - f->snmp[k]),
				  (uint32_t)v[k]);
		f->snmp[k] = v[k];
		f->snmp_ok[k] = true;
	}
}

void facts_ptb_seen(struct mw_facts *f, uint64_t now)
{
	if (!f->ptb_syncing)
		f->ptb_last_ns = now;
}

/* One entry of the kernel's ptbs map, as the PTB event it counts. */
static void ptb_count(const struct mw_ptb_key *k, uint64_t count, void *ctx)
{
	struct mw_facts *f = ctx;
	struct mw_event e = { .ts_ns = f->ptb_sync_ns };	/* the sync's now */

	e.type = k->reason ? MW_EV_PTB_DROP : MW_EV_PTB_RX;
	e.netns = k->netns;
	e.family = k->family;
	e.flow.family = k->family;
	memcpy(e.peer, k->peer, 16);
	memcpy(e.flow.daddr, k->dst, 16);
	e.mtu = k->mtu;
	e.dir = k->dir;
	if (k->reason) {
		e.aux = k->reason == 0xffff ? 0 : k->reason;
		e.aux2 = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
	} else {
		/* Not an arrival: what the kernel did with the PTB was read when it came. */
		e.dir = MW_DIR_IN | MW_DIR_F_SYNC;
		e.aux = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
	}
	f->emit(&e, f->ctx);
}

/*
 * The kernel counts every PTB per kind but sends an event only for the 1st, 2nd, 4th... of
 * each: after PTBs came (at most every 2 s) and at the end, the exact counts go into the
 * stream as the same events, so that the summary, the findings' counts and a recording all
 * hold the true totals of a flood.
 */
void facts_ptb_counts(struct mw_facts *f, uint64_t now, bool final)
{
	/*
	 * A flood's events thin out (the 65536th, then the 131072nd...): sync every 2 s for 30 s
	 * after the last PTB event, and always at the end once any came.
	 */
	if (!session_loaded(f->s) || !f->ptb_last_ns)
		return;
	if (!final && (now - f->ptb_sync_ns < 2000000000ULL ||
		       now - f->ptb_last_ns > 30000000000ULL))
		return;
	f->ptb_sync_ns = now;
	f->ptb_syncing = true;
	session_ptb_counts(f->s, ptb_count, f);
	f->ptb_syncing = false;
}
