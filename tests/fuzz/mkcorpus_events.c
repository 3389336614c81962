// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Generate the seed corpus of fuzz_events into the directory given as argv[1] (existing
 * files are overwritten). Each seed is the 8-byte header fuzz_events.c describes followed by
 * struct mw_event records: the incidents the core judges (so that mutations start from deep
 * states) and the hostile strings a recording can carry. Deterministic output, so the
 * checked-in corpus can be regenerated and compared.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtuwatch.h"

#define SELF 4026531840u
#define SEC 1000000000ULL

static struct mw_event evs[512];
static int nev;
static uint8_t hdr[8];

static struct mw_event *ev(uint16_t type, uint64_t t, int family)
{
	struct mw_event *e = &evs[nev++];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = t;
	e->netns = SELF;
	e->family = e->flow.family = family;
	e->flow.proto = 6;
	if (family == 6) {
		inet_pton(AF_INET6, "2001:db8::2", e->flow.saddr);
		inet_pton(AF_INET6, "2001:db8:1::2", e->flow.daddr);
		inet_pton(AF_INET6, "2001:db8:ff::1", e->peer);
	} else {
		inet_pton(AF_INET, "192.0.2.2", e->flow.saddr);
		inet_pton(AF_INET, "198.51.100.2", e->flow.daddr);
		inet_pton(AF_INET, "203.0.113.1", e->peer);
	}
	e->flow.sport = 40000;
	e->flow.dport = 443;
	e->ifindex = 2;
	return e;
}

static void iface(const char *name, size_t len, uint32_t mtu)
{
	struct mw_event *e = ev(MW_EV_IFACE, 1, 4);

	e->mtu = mtu;
	memcpy(e->ifname, name, len);	/* len 16: no NUL, as a crafted file has it */
}

static void save(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr) ||
	    fwrite(evs, sizeof(evs[0]), nev, f) != (size_t)nev || fclose(f)) {
		fprintf(stderr, "mkcorpus_events: cannot write %s\n", path);
		exit(1);
	}
	nev = 0;
	memset(hdr, 0, sizeof(hdr));
}

static void self_hdr(uint8_t flags)
{
	uint32_t self = SELF;

	hdr[0] = flags;
	hdr[1] = 3;
	hdr[2] = 24;
	hdr[3] = 64;
	memcpy(hdr + 4, &self, 4);
}

static void blackhole(int family)
{
	struct mw_event *e;

	iface("c0", 2, 9000);
	for (uint32_t s = 60; s <= 9000; s = s * 3) {
		e = ev(MW_EV_DF_MAX, SEC, family);
		e->size = s;
	}
	for (uint32_t i = 1; i <= 3; i++) {
		e = ev(MW_EV_RETRANS, SEC + i * SEC / 2, family);
		e->seq = e->aux2 = 1000;
		e->size = 9000;
		e->aux = i;
		e = ev(MW_EV_RESEND, SEC + i * SEC / 2, family);
		e->seq = e->aux2 = 1000;
		e->size = 9000;
		e->aux = i;
		e->mtu = 9000 * i;
	}
	ev(MW_EV_TICK, 4 * SEC, family);
	e = ev(MW_EV_RECOVERED, 5 * SEC, family);
	e->seq = 1000;
	e->size = 9000;
	ev(MW_EV_TICK, 6 * SEC, family);
}

static void ptb(int family)
{
	struct mw_event *e;

	iface("c0", 2, 9000);
	e = ev(MW_EV_DF_MAX, SEC, family);
	e->size = 9000;
	for (uint32_t r = 0; r < 7; r++) {
		e = ev(MW_EV_PTB_DROP, SEC + r, family);
		e->mtu = 1446;
		e->aux = r;	/* fuzz_events names 0..5 with hostile strings */
		e->aux2 = r & 1;
		inet_pton(family == 6 ? AF_INET6 : AF_INET,
			  family == 6 ? "2001:db8:1::77" : "198.51.100.77", e->flow.daddr);
		e->flow.daddr[3] += r;
	}
	e = ev(MW_EV_PTB_RX, 2 * SEC, family);
	e->mtu = 1500;
	e = ev(MW_EV_ROUTE, 3 * SEC, family);
	e->mtu = 1500;
	e = ev(MW_EV_PTB_SENT, 3 * SEC, family);
	e->size = 9000;
	e->mtu = 1500;
	e = ev(MW_EV_PTB_SENT, 3 * SEC, family);
	e->size = 9000;
	e->mtu = 1500;
	e->aux = 1;
	ev(MW_EV_TICK, 4 * SEC, family);
}

static void stall(int family, uint8_t app, uint32_t first, uint32_t second)
{
	struct mw_event *e;

	iface("c0", 2, 9000);
	e = ev(MW_EV_STATE, SEC, family);
	e->aux = 2;
	e->aux2 = 1;
	e->size = 8960;
	e->mtu = 8960;
	e = ev(MW_EV_HS, SEC, family);
	e->aux = first;
	e->aux2 = app;
	e = ev(MW_EV_SEG_MAX, SEC, family);
	e->dir = MW_DIR_IN;
	e->size = 1448;
	e = ev(MW_EV_ACKED, SEC + 1, family);
	e->size = 300;
	e->aux = 600;
	e = ev(MW_EV_HS, SEC + 2, family);
	e->dir = MW_DIR_IN;
	e->aux = second;
	e->aux2 = app;
	e = ev(MW_EV_RESEND, SEC + SEC / 5, family);
	e->seq = 1000;
	e->size = 8000;
	e->aux = 1;
	ev(MW_EV_TICK, 3 * SEC, family);
	ev(MW_EV_TICK, 5 * SEC, family);
	e = ev(MW_EV_STATE, 6 * SEC, family);
	e->aux = 1;
	e->aux2 = 7;
	ev(MW_EV_TICK, 9 * SEC, family);
}

int main(int argc, char **argv)
{
	struct mw_event *e;

	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus_events DIR\n");
		return 2;
	}
	self_hdr(0);
	blackhole(4);
	save(argv[1], "blackhole4.ev");
	self_hdr(0);
	blackhole(6);
	save(argv[1], "blackhole6.ev");
	self_hdr(0);
	ptb(4);
	save(argv[1], "ptb4.ev");
	self_hdr(1);
	ptb(6);
	save(argv[1], "ptb6-allnetns.ev");
	self_hdr(0);
	stall(4, MW_APP_TLS, MW_HS_TLS_CLIENT_HELLO, MW_HS_TLS_SERVER_HELLO);
	save(argv[1], "stall-tls.ev");
	self_hdr(2);
	stall(6, MW_APP_SSH, MW_HS_SSH_KEX_INIT, MW_HS_SSH_KEXINIT);
	save(argv[1], "stall-ssh.ev");

	/* hostile strings: names with no NUL, terminal escapes, bytes that are not UTF-8 */
	self_hdr(0);
	iface("ifname-no-nul-xx", 16, 9000);
	iface("\x1b]0;pwned\x07\x1b[2J\x1b[H", 16, 1500);
	evs[nev - 1].ifindex = 3;
	iface("\xff\xfe\xc3(\xed\xa0\x80\xc2\x9b" "1m\xe6\x97", 14, 1400);
	evs[nev - 1].ifindex = 4;
	e = ev(MW_EV_ATTACH, 2, 4);
	memcpy(e->ifname, "tc_egress_no_nul", 16);
	e->aux = 1;
	e = ev(MW_EV_ATTACH, 2, 4);
	memcpy(e->ifname, "\x1b[31mFAKE OK\x1b[0m", 16);
	for (uint32_t i = 2; i <= 4; i++) {
		e = ev(MW_EV_PTB_SENT, SEC, 4);
		e->ifindex = i;
		e->size = 9000;
		e->mtu = 1500;
		e = ev(MW_EV_PTB_DROP, SEC, 4);
		e->ifindex = i;
		e->aux = i - 1;
		e->flow.daddr[3] = i;
		memcpy(e->ifname, "\x1b[2J\x1b[Hall OK\r\n", 16);
	}
	save(argv[1], "hostile-strings.ev");

	/*
	 * another namespace's names (type 17: fuzz_events.c feeds it as a names record) with
	 * hostile bytes, its interface, a finding, then a second namespace on the same inode
	 */
	self_hdr(1);
	for (int k = 0; k < 2; k++) {
		uint64_t cookie = 0xabc + k;

		e = ev(17, SEC * (1 + 10 * k), 4);
		e->netns = SELF + 99;
		memcpy(e->peer, &cookie, sizeof(cookie));
		memcpy(e->ifname, "ns/\x1b]0;x\x07pod\xff\xfe\xc3(", 16);
		e = ev(MW_EV_IFACE, SEC * (1 + 10 * k), 4);
		e->netns = SELF + 99;
		e->mtu = 1450;
		memcpy(e->ifname, "eth\x1b[0\xff\xfe\xc3xxxxxxxx", 16);
		e = ev(MW_EV_STATE, SEC * (2 + 10 * k), 4);
		e->netns = SELF + 99;
		e->aux = 2;
		e->aux2 = 1;
		memcpy(e->peer, &cookie, sizeof(cookie));
		e = ev(MW_EV_PTB_DROP, SEC * (3 + 10 * k), 4);
		e->netns = SELF + 99;
		e->mtu = 1400;
		e->size = 1500;
		e->aux = 1;
		e->aux2 = 1;
		e->dir = MW_DIR_IN;
	}
	e = ev(MW_EV_TICK, 30 * SEC, 4);
	save(argv[1], "names-reused-inode.ev");

	/* every type, unknown ones and a lost count; names filling their field */
	self_hdr(0);
	for (uint16_t t = 0; t < 70; t++) {
		e = ev(t, SEC + t, t & 1 ? 6 : 4);
		e->size = 1500 + t;
		e->aux = t;
		memset(e->ifname, 'A' + t % 26, sizeof(e->ifname));
	}
	e = ev(200, 2 * SEC, 4);
	e = ev(MW_EV_LOST, 2 * SEC, 4);
	e->aux = 12345;
	save(argv[1], "all-types.ev");

	/* more destinations than a few: the tables' chains and the summary's rows */
	self_hdr(0);
	for (uint32_t i = 0; i < 400; i++) {
		e = ev(i % 3 ? MW_EV_RETRANS : MW_EV_PTB_RX, SEC + i, i % 5 ? 4 : 6);
		e->flow.daddr[2] = i >> 8;
		e->flow.daddr[3] = i;
		e->flow.sport = 1024 + i % 7;
		e->size = 1500;
		e->mtu = 1400;
	}
	ev(MW_EV_TICK, 9 * SEC, 4);
	save(argv[1], "many-destinations.ev");
	return 0;
}
