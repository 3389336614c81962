// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Names of other namespaces: the parsers of cgroup paths and kubelet directories (nsnames.c),
 * and the core's namespace identities (core_ns.c): an inode the kernel handed to a second
 * namespace never merges the two, and findings and summary rows carry the names fed to it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "nsnames.h"
#include "check.h"

#define NS_SELF 4026531840u
#define NS_REUSED 4026532222u
#define SEC 1000000000ULL
#define UID "0d3f4b6e-52a1-4c8e-9f0a-1b2c3d4e5f60"
#define CID "4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a"

static void test_cgroup(void)
{
	static const struct {
		const char *name, *path, *uid, *cid;
	} cases[] = {
		{ "cgroup-systemd-besteffort",
		  "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		  "0d3f4b6e_52a1_4c8e_9f0a_1b2c3d4e5f60.slice/cri-containerd-" CID ".scope\n",
		  UID, CID },
		{ "cgroup-systemd-guaranteed",
		  "0::/kubepods.slice/kubepods-pod0d3f4b6e_52a1_4c8e_9f0a_1b2c3d4e5f60.slice/"
		  "crio-" CID ".scope", UID, CID },
		{ "cgroup-cgroupfs", "/kubepods/besteffort/pod" UID "/" CID, UID, CID },
		{ "cgroup-cgroupfs-docker-v1",
		  "12:memory:/kubepods/burstable/pod" UID "/docker-" CID ".scope", UID, CID },
		{ "cgroup-pod-slice-only",
		  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		  "0d3f4b6e_52a1_4c8e_9f0a_1b2c3d4e5f60.slice", UID, "" },
		{ "cgroup-not-a-container-id",
		  "0::/kubepods/pod" UID "/not-an-id.scope", UID, "" },
		{ "cgroup-uppercase-uid", "/kubepods/pod0D3F4B6E-52A1-4C8E-9F0A-1B2C3D4E5F60/" CID,
		  UID, CID },
		{ "cgroup-no-pod", "0::/system.slice/sshd.service", NULL, NULL },
		{ "cgroup-pod-word-not-uid", "0::/user.slice/podman-1234.scope", NULL, NULL },
		{ "cgroup-uid-too-short", "/kubepods/pod0d3f4b6e-52a1-4c8e-9f0a-1b2c3d4e5f6/x",
		  NULL, NULL },
		{ "cgroup-pod-mid-word", "/kubepods/xpod" UID "/" CID, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char uid[40] = "?", cid[72] = "?";
		bool ok = nsn_cgroup_pod(cases[i].path, uid, sizeof(uid), cid, sizeof(cid));

		if (!cases[i].uid)
			CHECK(cases[i].name, !ok, "found pod %s in %s", uid, cases[i].path);
		else
			CHECK(cases[i].name, ok && !strcmp(uid, cases[i].uid) &&
			      !strcmp(cid, cases[i].cid), "ok %d uid '%s' cid '%s'", ok, uid, cid);
	}
}

static void test_dirs(void)
{
	char pod[256] = "", c[64] = "";

	CHECK("pod-dir", nsn_pod_dir("kube-system_coredns-5d78c9869d-abcde_" UID, UID, pod,
				     sizeof(pod)) &&
	      !strcmp(pod, "kube-system/coredns-5d78c9869d-abcde"), "'%s'", pod);
	CHECK("pod-dir-other-uid", !nsn_pod_dir("default_web_11111111-2222-3333-4444-555555555555",
						UID, pod, sizeof(pod)), "matched");
	CHECK("pod-dir-malformed", !nsn_pod_dir("default_" UID, UID, pod, sizeof(pod)) &&
	      !nsn_pod_dir("_web_" UID, UID, pod, sizeof(pod)), "matched");
	CHECK("container-log",
	      nsn_container_log("coredns-5d78c9869d-abcde_kube-system_coredns-" CID ".log", CID, c,
				sizeof(c)) && !strcmp(c, "coredns"), "'%s'", c);
	CHECK("container-log-hyphenated",
	      nsn_container_log("web_default_istio-proxy-" CID ".log", CID, c, sizeof(c)) &&
	      !strcmp(c, "istio-proxy"), "'%s'", c);
	CHECK("container-log-other-id",
	      !nsn_container_log("web_default_app-" CID ".log", "ab" CID, c, sizeof(c)) &&
	      !nsn_container_log("web_default_app-" CID ".txt", CID, c, sizeof(c)), "matched");
}

/* ---- the core's identities --------------------------------------------------------------- */

static struct mw_finding got[8];
static int ngot;
static int rows;
static struct mw_path_summary row[8];

static void collect(const struct mw_finding *f, void *ctx)
{
	if (ngot < 8)
		got[ngot++] = *f;
}

static void sum(const struct mw_path_summary *p, void *ctx)
{
	if (rows < 8)
		row[rows++] = *p;
}

static struct mw_event ev(uint16_t type, uint64_t t, uint32_t netns)
{
	struct mw_event e = {};

	e.type = type;
	e.ts_ns = t;
	e.netns = netns;
	e.family = 4;
	e.flow.family = 4;
	e.flow.proto = 6;
	inet_pton(AF_INET, "192.0.2.2", e.flow.saddr);
	inet_pton(AF_INET, "198.51.100.2", e.flow.daddr);
	e.flow.sport = 40000;
	e.flow.dport = 443;
	e.ifindex = 2;
	return e;
}

static void state(struct mw_core *c, uint64_t t, uint32_t netns, uint64_t cookie)
{
	struct mw_event e = ev(MW_EV_STATE, t, netns);

	e.aux = 2;	/* SYN_SENT -> ESTABLISHED */
	e.aux2 = 1;
	memcpy(e.peer, &cookie, sizeof(cookie));
	core_feed(c, &e);
}

static void names(struct mw_core *c, uint64_t t, uint32_t netns, uint64_t cookie,
		  const char *name, const char *pod)
{
	struct mw_nsname n = { .ts_ns = t, .netns = netns, .cookie = cookie };

	snprintf(n.netns_name, sizeof(n.netns_name), "%s", name);
	snprintf(n.pod, sizeof(n.pod), "%s", pod);
	core_ns_names(c, &n);
}

/* A Packet Too Big dropped on its way in: one finding at once, on the path to its quoted dst. */
static void ptb_drop(struct mw_core *c, uint64_t t, uint32_t netns)
{
	struct mw_event e = ev(MW_EV_PTB_DROP, t, netns);

	inet_pton(AF_INET, "192.0.2.1", e.peer);
	e.mtu = 1400;
	e.size = 1500;
	e.aux = 12;
	e.aux2 = 1;
	e.dir = MW_DIR_IN;
	core_feed(c, &e);
}

/* A new largest DF packet to the destination, out of ifindex 2: the path's interface. */
static void df(struct mw_core *c, uint64_t t, uint32_t netns)
{
	struct mw_event e = ev(MW_EV_DF_MAX, t, netns);

	e.size = 1500;
	core_feed(c, &e);
}

static struct mw_core *mk(void)
{
	struct mw_core_opts o = { .self_netns = NS_SELF, .all_netns = true, .on_finding = collect };

	ngot = rows = 0;
	return core_new(&o);
}

static void test_identity(void)
{
	struct mw_core *c = mk();
	struct mw_event ie = ev(MW_EV_IFACE, 2 * SEC, NS_REUSED);

	/* namespace A: named, its eth0 is ifindex 2 */
	names(c, SEC, NS_REUSED, 0xa1, "pod-a", "default/web-a");
	state(c, SEC, NS_REUSED, 0xa1);
	ie.mtu = 1450;
	strcpy(ie.ifname, "eth0");
	core_feed(c, &ie);
	df(c, 2 * SEC, NS_REUSED);
	ptb_drop(c, 2 * SEC, NS_REUSED);
	CHECK("identity-first-named", ngot == 1 && got[0].foreign_netns &&
	      !strcmp(got[0].ns.netns_name, "pod-a") && !strcmp(got[0].ns.pod, "default/web-a") &&
	      got[0].ns.cookie == 0xa1 && !strcmp(got[0].iface, "eth0"),
	      "%d findings, '%s' '%s' %llx iface '%s'", ngot, ngot ? got[0].ns.netns_name : "",
	      ngot ? got[0].ns.pod : "", ngot ? (unsigned long long)got[0].ns.cookie : 0ULL,
	      ngot ? got[0].iface : "");
	/* A dies, B gets its inode: its socket's STATE says another cookie */
	state(c, 10 * SEC, NS_REUSED, 0xb2);
	df(c, 11 * SEC, NS_REUSED);
	ptb_drop(c, 11 * SEC, NS_REUSED);
	CHECK("identity-reused-inode-new-finding", ngot == 2 && got[1].netns == NS_REUSED &&
	      got[1].ns.cookie == 0xb2 && !got[1].ns.netns_name[0] && !strcmp(got[1].iface, "if2"),
	      "%d findings (the old path's would suppress it), cookie %llx name '%s' iface '%s'",
	      ngot, ngot > 1 ? (unsigned long long)got[1].ns.cookie : 0ULL,
	      ngot > 1 ? got[1].ns.netns_name : "", ngot > 1 ? got[1].iface : "");
	names(c, 11 * SEC, NS_REUSED, 0xb2, "pod-b", "");
	core_paths(c, sum, NULL);
	CHECK("identity-two-rows", rows == 2 && row[0].netns == row[1].netns &&
	      !strcmp(row[0].ns.netns_name, "pod-a") && !strcmp(row[1].ns.netns_name, "pod-b") &&
	      !strcmp(row[0].iface, "eth0") && !strcmp(row[1].iface, "if2"),
	      "%d rows: '%s' '%s' / '%s' '%s'", rows, row[0].ns.netns_name, row[0].iface,
	      row[1].ns.netns_name, row[1].iface);
	CHECK("identity-cookie-now", core_ns_cookie(c, NS_REUSED) == 0xb2, "%llx",
	      (unsigned long long)core_ns_cookie(c, NS_REUSED));
	/* names with a third cookie start a third namespace, as a STATE does */
	names(c, 20 * SEC, NS_REUSED, 0xc3, "pod-c", "");
	ptb_drop(c, 21 * SEC, NS_REUSED);
	CHECK("identity-names-split-too", ngot == 3 && !strcmp(got[2].ns.netns_name, "pod-c"),
	      "%d findings", ngot);
	core_free(c);

	/* unknown cookies (0: old recordings, events without a socket) never split */
	c = mk();
	ptb_drop(c, SEC, NS_REUSED);
	state(c, 2 * SEC, NS_REUSED, 0);
	state(c, 3 * SEC, NS_REUSED, 0xd4);	/* learned: the same namespace */
	ptb_drop(c, 4 * SEC, NS_REUSED);
	core_paths(c, sum, NULL);
	CHECK("identity-unknown-cookie-one-namespace", ngot == 1 && rows == 1 &&
	      core_ns_cookie(c, NS_REUSED) == 0xd4, "%d findings %d rows", ngot, rows);
	core_free(c);

	/* our own namespace has no names, and names fed for it change nothing */
	c = mk();
	names(c, SEC, NS_SELF, 0x1, "self", "x/y");
	ptb_drop(c, SEC, NS_SELF);
	CHECK("identity-self-unnamed", ngot == 1 && !got[0].foreign_netns &&
	      !got[0].ns.netns_name[0] && !got[0].ns.pod[0], "%d findings", ngot);
	core_free(c);
}

int main(void)
{
	test_cgroup();
	test_dirs();
	test_identity();
	return 0;
}
