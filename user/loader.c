// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The kernel side's load and attach (fallbacks in loader.h), and the session's life: open,
 * describe, interfaces gone and back, close. clsact filters are in loader_clsact.c, the ring
 * buffer and map reads at run time in loader_maps.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include "log.h"
#include "loader.h"
#include "loader_clsact.h"
#include "loader_int.h"
#include "links.h"
#include "mtuwatch.skel.h"

/* enum bpf_attach_type values; libbpf 1.1's headers predate TCX. */
#define MW_BPF_TCX_INGRESS 46
#define MW_BPF_TCX_EGRESS 47

static bool verbose;
static uint64_t phase_t0, phase_last;
static int core_seen;

static uint64_t phase_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Start-up is measured from here: after the dynamic loader, before main(). */
__attribute__((constructor)) static void phase_init(void)
{
	phase_t0 = phase_last = phase_now();
}

void session_phase(const char *what)
{
	uint64_t now = phase_now();

	long rss = 0, peak = 0;
	char line[128];
	FILE *f = verbose ? fopen("/proc/self/status", "re") : NULL;

	/* RSS too: the BTF parse sets the process's peak (docs/performance.md). */
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &rss) != 1)
			sscanf(line, "VmHWM: %ld", &peak);
	if (f)
		fclose(f);
	pr_debug("start-up: %-26s %6.1f ms (at %.1f ms), RSS %ld kB, peak %ld kB\n", what,
		 (now - phase_last) / 1e6, (now - phase_t0) / 1e6, rss, peak);
	phase_last = now;
}
static char failed_prog[64];	/* the program libbpf last said failed to load */

/* Whether this process holds every capability in mask (or CAP_SYS_ADMIN, which implies them). */
static bool has_caps(uint64_t mask)
{
	unsigned long long eff = 0;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return (eff & mask) == mask || (eff & (1ULL << CAP_SYS_ADMIN));
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512], *p, *q;
	va_list cp;

	/* Formatting a thousand debug lines nobody reads costs a millisecond of start-up. */
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;

	/* Remember which program failed, so that only that one is dropped and retried. */
	va_copy(cp, ap);
	vsnprintf(line, sizeof(line), fmt, cp);
	va_end(cp);
	p = strstr(line, "prog '");
	if (level == LIBBPF_WARN && p && (strstr(line, "failed to load") ||
					  strstr(line, "load failed"))) {
		p += 6;
		q = strchr(p, '\'');
		if (q)
			snprintf(failed_prog, sizeof(failed_prog), "%.*s", (int)(q - p), p);
	}
	/* libbpf's chatter, warnings included, only with -v: errors get our own one line. */
	if (!verbose)
		return 0;
	if (strstr(line, "loading kernel BTF"))
		session_phase("load: vmlinux BTF parsed");
	else if (strstr(line, "CO-RE relocations") && !core_seen++)
		session_phase("load: maps created");
	return fputs(line, stderr);
}

static void att_add(struct mw_session *s, const char *prog, const char *iface, const char *mode,
		    bool ok)
{
	struct mw_attach *a;

	if (s->natt >= MW_MAX_ATTACH)
		return;
	a = &s->att[s->natt++];
	snprintf(a->prog, sizeof(a->prog), "%s", prog);
	snprintf(a->iface, sizeof(a->iface), "%s", iface ? iface : "");
	snprintf(a->mode, sizeof(a->mode), "%s", mode);
	a->attached = ok;
	pr_debug("%s%s%s: %s (%s)\n", prog, iface && iface[0] ? " on " : "", iface ? iface : "",
		 ok ? "attached" : "degraded", mode);
}

static int rb_event(void *ctx, void *data, size_t len)
{
	struct mw_session *s = ctx;

	if (len < sizeof(struct mw_event))
		return 0;
	s->cb(data, s->ctx);
	return 0;
}

/*
 * Every program and what is lost without it. A program the kernel refuses falls back to its
 * raw_tp twin if it has one, else is left out (the essential tc egress excepted), and the
 * load is retried; each degradation is said in one line.
 */
enum { P_KFREE, P_RETRANS, P_STATE, P_ICMP, P_CONSUME, P_XDP, P_TC_IN, P_TC_EG_L3, P_TC_IN_L3,
       P_TC_FWD, P_MAX };
enum { M_BTF, M_RAW, M_OFF };

static const struct {
	const char *name, *raw;
	const char *lost;
} roles[P_MAX] = {
	[P_KFREE] = { "mw_tp_kfree_skb", "mw_raw_kfree_skb",
		      "Packet Too Big dropped or sent by this host is not seen" },
	[P_RETRANS] = { "mw_tp_retransmit", "mw_raw_retransmit",
			"retransmissions of flows older than this run are not seen" },
	[P_STATE] = { "mw_tp_sock_state", "mw_raw_sock_state",
		      "flows are not tracked: no handshake stalls, no re-sends" },
	[P_ICMP] = { "mw_tp_icmp_send", NULL, "ptb_sent is not confirmed by icmp_send" },
	[P_CONSUME] = { "mw_tp_consume_skb", "mw_raw_consume_skb",
			"pmtu_learned is not seen in other namespaces" },
	[P_XDP] = { "mw_xdp_ingress", NULL, "arrivals are watched at tc ingress instead" },
	[P_TC_IN] = { "mw_tc_ingress", NULL, "arrivals are seen only where XDP attaches" },
	[P_TC_EG_L3] = { "mw_tc_egress_l3", NULL, "sizes leaving tun/WireGuard devices are not seen" },
	[P_TC_IN_L3] = { "mw_tc_ingress_l3", NULL, "arrivals on tun/WireGuard devices are not seen" },
	[P_TC_FWD] = { "mw_tc_fwd_out", NULL, "a pod's departures are not followed where another "
		       "program holds the XDP hook of its veth" },
};

static struct bpf_program *prog_by_name(struct mtuwatch_bpf *sk, const char *name)
{
	return name ? bpf_object__find_program_by_name(sk->obj, name) : NULL;
}

/*
 * Test hook, built only into the test binary (build/test-hooks/mtuwatch, -DMW_TEST_HOOKS; the shipped
 * binary ignores the variable): MW_TEST_REFUSE=prog,prog makes the load fail as a kernel that
 * refuses those programs would, so that the fallbacks and their messages are tested on any
 * kernel. The entry "tcx" makes TCX attach fail as it does before 6.6, forcing clsact filters;
 * the entry "xdp-taken" makes XDP attach find its hook taken, as when another program takes it
 * between mtuwatch's load and its attach.
 */
#ifdef MW_TEST_HOOKS
bool mw_test_refused(const char *n)
{
	const char *list = getenv("MW_TEST_REFUSE"), *hit;
	size_t len = strlen(n);

	for (hit = list ? strstr(list, n) : NULL; hit; hit = strstr(hit + 1, n))
		if ((hit == list || hit[-1] == ',') && (!hit[len] || hit[len] == ','))
			return true;
	return false;
}

static int test_refuse(struct mtuwatch_bpf *sk)
{
	struct bpf_program *p;

	if (!getenv("MW_TEST_REFUSE"))
		return 0;
	bpf_object__for_each_program(p, sk->obj) {
		const char *n = bpf_program__name(p);

		if (!bpf_program__autoload(p) || !mw_test_refused(n))
			continue;
		snprintf(failed_prog, sizeof(failed_prog), "%s", n);
		return -EINVAL;
	}
	return 0;
}
#else
bool mw_test_refused(const char *n)
{
	return false;
}

static int test_refuse(struct mtuwatch_bpf *sk)
{
	return 0;
}
#endif

static int open_load(struct mw_session *s, const struct mw_session_opts *o, int *mode)
{
	struct mtuwatch_bpf *sk;
	int err;

	session_phase("before open");
	sk = mtuwatch_bpf__open();

	if (!sk)
		return -errno;
	sk->rodata->targ_netns = o->all_netns ? 0 : s->self_netns;
	sk->rodata->targ_self_netns = s->self_netns;
	sk->rodata->targ_hs_parse = !o->no_handshakes;
	/* Socket storage is kept by the tp_btf twin of inet_sock_set_state only. */
	sk->rodata->targ_sk_cache = mode[P_STATE] == M_BTF;
	sk->rodata->targ_attn = sk->rodata->targ_sk_cache;
	sk->rodata->targ_fwd = o->all_netns;
	for (int r = 0; r < P_MAX; r++) {
		struct bpf_program *btf = prog_by_name(sk, roles[r].name);
		struct bpf_program *raw = prog_by_name(sk, roles[r].raw);

		bpf_program__set_autoload(btf, mode[r] == M_BTF);
		if (raw)
			bpf_program__set_autoload(raw, mode[r] == M_RAW);
	}
	/* -v: the verifier's statistics per program (time, instructions, states), for start-up */
	if (verbose) {
		struct bpf_program *p;

		bpf_object__for_each_program(p, sk->obj)
			bpf_program__set_log_level(p, 4);
	}
	/* TCX wants the attach type at load time; clsact ignores it. */
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_egress, MW_BPF_TCX_EGRESS);
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_ingress, MW_BPF_TCX_INGRESS);
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_egress_l3, MW_BPF_TCX_EGRESS);
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_ingress_l3, MW_BPF_TCX_INGRESS);
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_fwd_out, MW_BPF_TCX_INGRESS);
	failed_prog[0] = 0;
	err = test_refuse(sk);
	if (!err) {
		session_phase("open");
		err = mtuwatch_bpf__load(sk);
		session_phase("load: CO-RE, verifier");
	}
	if (err) {
		mtuwatch_bpf__destroy(sk);
		return err;
	}
	s->skel = sk;
	return 0;
}

/* The id of the XDP program on ifindex, in any mode, or 0. */
static uint32_t xdp_taken(uint32_t ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xq);

	if (!ifindex || bpf_xdp_query(ifindex, 0, &xq))
		return 0;
	return xq.prog_id ? xq.prog_id : xq.drv_prog_id ? xq.drv_prog_id :
	       xq.skb_prog_id ? xq.skb_prog_id : xq.hw_prog_id;
}

/* Whether one of the watched interfaces (still there) is a port of master. */
static bool watched_port(const struct mw_session *s, uint32_t master)
{
	for (int k = 0; k < s->nifaces; k++)
		if (!s->if_gone[k] && s->ifaces[k].master == master)
			return true;
	return false;
}

/* Load, dropping what this kernel refuses one program at a time. */
static int load_all(struct mw_session *s, const struct mw_session_opts *o)
{
	int mode[P_MAX] = {}, err, r;
	bool l3 = false, tc_in, xdp_tried = o->xdp;

	/* The L3 variants cost verifier time: only when a watched device needs them. */
	for (int k = 0; k < s->nifaces; k++)
		l3 |= s->ifaces[k].l3;
	if (!l3)
		mode[P_TC_EG_L3] = mode[P_TC_IN_L3] = M_OFF;
	/*
	 * Arrivals are watched at tc ingress: an observer that passes every packet gains nothing
	 * from XDP (the skb is built anyway), and XDP changes the data path it watches: on a veth
	 * it turns on NAPI and clears the peer's TSO (a churn of short connections ran 9 % slower
	 * with a null XDP program, 2 % with a null tc one), and on some NICs attaching it resets
	 * the rings. --xdp asks for XDP; there tc ingress only stands in for it: loaded when a
	 * watched interface's XDP hook is already taken, or when XDP itself does not load (its
	 * verification is a third of the start-up, so not otherwise). Where tc ingress does not
	 * load, XDP stands in for it.
	 */
	tc_in = !o->xdp;
	if (!o->xdp)
		mode[P_XDP] = M_OFF;
	for (int k = 0; o->xdp && k < s->nifaces; k++) {
		const struct mw_ifinfo *i = &s->ifaces[k];

		/*
		 * Also where XDP cannot be ours: a master none of whose ports is watched, or a
		 * port whose master holds an XDP program (the kernel refuses XDP under it).
		 */
		if (!i->l3 && (xdp_taken(i->ifindex) || xdp_taken(i->master) ||
			       (i->is_master && !watched_port(s, i->ifindex))))
			tc_in = true;
	}
	if (!tc_in)
		mode[P_TC_IN] = M_OFF;
	/* A pod's departures at tc ingress: beside it, with --all-netns only. */
	if (!tc_in || !o->all_netns)
		mode[P_TC_FWD] = M_OFF;
	/* Other namespaces' PTBs: only they need a look at every consumed skb. */
	if (!o->all_netns)
		mode[P_CONSUME] = M_OFF;

	for (int tries = 0; tries < 2 * P_MAX; tries++) {
		err = open_load(s, o, mode);
		if (!err)
			break;
		if (err == -EPERM || err == -EACCES)
			return err;
		for (r = 0; r < P_MAX; r++)
			if (!strcmp(failed_prog, roles[r].name) ||
			    (roles[r].raw && !strcmp(failed_prog, roles[r].raw)))
				break;
		if (r == P_MAX)
			return err;	/* tc egress, or a failure we cannot place */
		pr_debug("%s did not load (%s), retrying without it\n", failed_prog,
			 strerror(-err));
		mode[r] = mode[r] == M_BTF && roles[r].raw ? M_RAW : M_OFF;
		if (r == P_XDP && !tc_in) {
			tc_in = true;
			mode[P_TC_IN] = M_BTF;
			mode[P_TC_FWD] = o->all_netns ? M_BTF : M_OFF;
		}
		/* tc ingress refused, XDP not asked for: XDP stands in, tc's fwd_out goes too. */
		if (r == P_TC_IN && mode[P_XDP] == M_OFF && !xdp_tried) {
			xdp_tried = true;
			tc_in = false;
			mode[P_XDP] = M_BTF;
			mode[P_TC_FWD] = M_OFF;
		}
	}
	if (err)
		return err;
	if (mode[P_XDP] == M_OFF && mode[P_TC_IN] == M_OFF)
		pr_warn("note: neither XDP nor tc ingress loads on this kernel -- arriving Packet "
			"Too Big is seen only when it is dropped\n");
	for (r = 0; r < P_MAX; r++) {
		s->mode[r] = mode[r];
		if (((r == P_TC_EG_L3 || r == P_TC_IN_L3) && !l3) ||
		    (r == P_TC_IN && !tc_in && o->xdp) ||
		    ((r == P_CONSUME || r == P_TC_FWD) && !o->all_netns) ||
		    (r == P_TC_FWD && !tc_in) || (r == P_XDP && !xdp_tried))
			continue;
		if (r == P_TC_IN && mode[r] == M_OFF && !o->xdp && mode[P_XDP] != M_OFF)
			pr_warn("note: %s does not load on this kernel -- arrivals are watched "
				"with XDP instead; the rest still works\n", roles[r].name);
		else if (mode[r] == M_OFF && !(r == P_TC_IN && mode[P_XDP] != M_OFF) &&
			 !(r == P_TC_IN && mode[P_XDP] == M_OFF) &&
			 !(r == P_XDP && mode[P_TC_IN] == M_OFF))
			pr_warn("note: %s does not load on this kernel -- %s; the rest still "
				"works\n", roles[r].name, roles[r].lost);
		if (mode[r] == M_OFF)
			att_add(s, roles[r].name, NULL, "none", false);
	}
	return 0;
}

static int attach_xdp_prog(struct mw_session *s, struct mw_ifinfo *i, int pfd);

/*
 * Opens and closes a listening socket in this namespace: its CLOSE -> LISTEN tells the state
 * tracepoint the namespace's struct net (self_net in bpf/maps.h, read by net_wanted in
 * bpf/tracepoints.bpf.c) now, not at its first TCP event, which on a router may never come.
 * 127.0.0.1 with IP_FREEBIND (lo may be down or unaddressed), for the microseconds it lives.
 * Failing costs only that shortcut.
 */
static void learn_netns(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (!bind(fd, (struct sockaddr *)&a, sizeof(a)))
		listen(fd, 1);
	close(fd);
}

/*
 * TCX where the kernel has it (a link: gone with the process), else a clsact filter. prog:
 * NULL for the interface's own tc program of that direction.
 */
static int attach_tc_prog(struct mw_session *s, struct mw_ifinfo *i, bool ingress,
			  const char *prog)
{
	int role = i->l3 ? (ingress ? P_TC_IN_L3 : P_TC_EG_L3) : ingress ? P_TC_IN : -1;
	const char *name = prog ? prog : role >= 0 ? roles[role].name : "mw_tc_egress";
	struct bpf_program *p = prog_by_name(s->skel, name);
	int pfd = bpf_program__fd(p), fd = -1, err;

	if (mw_test_refused("tcx"))
		errno = EINVAL;
	else
		fd = bpf_link_create(pfd, i->ifindex, ingress ? MW_BPF_TCX_INGRESS :
				     MW_BPF_TCX_EGRESS, NULL);
	if (fd >= 0) {
		s->link_fds[s->nlink_fds++] = fd;
		att_add(s, name, i->name, "tcx", true);
		return 0;
	}
	pr_debug("TCX attach on %s failed (%s), trying a clsact filter\n", i->name,
		 strerror(errno));
	err = clsact_attach(s, i, ingress, pfd, name, prog ? MW_TC_PRIO_FWD : MW_TC_PRIO);
	if (err)
		goto fail;
	att_add(s, name, i->name, "clsact", true);
	if (!s->said_clsact++)
		pr_warn("note: kernel has no TCX, using clsact filters (%s %s pid=%d); a watchdog "
			"process removes them if mtuwatch is killed, 'mtuwatch cleanup' if both "
			"are\n", i->name, name, getpid());
	return 0;
fail:
	att_add(s, name, i->name, "none", false);
	pr_warn("Failed to attach tc %s on %s: %s -- %s\n", ingress ? "ingress" : "egress",
		i->name, strerror(-err), prog ? "a pod's departures are not followed there" :
		ingress ? "arriving Packet Too Big is seen only when dropped" :
		"sizes of outgoing packets are not seen there");
	return err;
}

static int attach_tc(struct mw_session *s, struct mw_ifinfo *i, bool ingress)
{
	return attach_tc_prog(s, i, ingress, NULL);
}

static int attach_xdp(struct mw_session *s, struct mw_ifinfo *i)
{
	int pfd = bpf_program__fd(s->skel->progs.mw_xdp_ingress);

	/*
	 * A bridge's or bond's arrivals came in at its ports, where they are watched: hooking
	 * both would report each packet twice. Never XDP there: an XDP program on a master makes
	 * the kernel refuse XDP on its ports (EEXIST). A master none of whose ports is watched
	 * (-i br0) is watched at tc ingress, which leaves its ports' XDP hooks free.
	 */
	if (i->is_master && !i->l3) {
		if (watched_port(s, i->ifindex)) {
			pr_debug("%s: a bridge or bond: its arrivals are watched at its ports\n",
				 i->name);
			return 0;
		}
		if (bpf_program__fd(s->skel->progs.mw_tc_ingress) >= 0)
			return attach_tc(s, i, true);
	}
	/* No XDP on L3 devices: their packets start at the IP header, tc handles that. */
	if (s->mode[P_XDP] == M_OFF || i->l3)
		return s->mode[i->l3 ? P_TC_IN_L3 : P_TC_IN] == M_OFF ? -EOPNOTSUPP :
		       attach_tc(s, i, true);
	return attach_xdp_prog(s, i, pfd);
}

static int attach_xdp_prog(struct mw_session *s, struct mw_ifinfo *i, int pfd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 0);
	char why[96] = "";
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	bool taken = mw_test_refused("xdp-taken");
	int fd = taken ? -1 : bpf_link_create(pfd, i->ifindex, BPF_XDP, &lo), err;

	if (fd >= 0) {
		/* Without a mode flag the kernel picks one: ask which (lo gets generic). */
		s->link_fds[s->nlink_fds++] = fd;
		bpf_xdp_query(i->ifindex, 0, &q);
		att_add(s, "mw_xdp_ingress", i->name, q.attach_mode == XDP_ATTACHED_SKB ? "generic" :
			q.attach_mode == XDP_ATTACHED_DRV ? "native" : q.attach_mode ==
			XDP_ATTACHED_HW ? "offload" : "unknown", true);
		i->xdp_ours = true;
		return 0;
	}
	if (taken)
		errno = EBUSY;
	pr_debug("native XDP on %s failed (%s), trying generic mode\n", i->name, strerror(errno));
	lo.flags = XDP_FLAGS_SKB_MODE;
	fd = taken ? -1 : bpf_link_create(pfd, i->ifindex, BPF_XDP, &lo);
	if (fd >= 0) {
		s->link_fds[s->nlink_fds++] = fd;
		att_add(s, "mw_xdp_ingress", i->name, "generic", true);
		i->xdp_ours = true;
		return 0;
	}
	err = taken ? EBUSY : errno;
	att_add(s, "mw_xdp_ingress", i->name, "none", false);
	/* EEXIST/EBUSY: a program on this device, or (EEXIST) one on its master. */
	if (err == EBUSY || err == EEXIST) {
		uint32_t id = xdp_taken(i->ifindex);
		char mname[IF_NAMESIZE] = "";

		if (taken)	/* the test hook: as if taken between load and attach */
			snprintf(why, sizeof(why), " (another XDP program took the interface after "
				 "mtuwatch started)");
		else if (id)
			snprintf(why, sizeof(why), " (another XDP program, id %u, holds the "
				 "interface)", id);
		else if (xdp_taken(i->master) && if_indextoname(i->master, mname))
			snprintf(why, sizeof(why), " (an XDP program on its master %s keeps XDP off "
				 "its ports)", mname);
	}
	/*
	 * tc ingress is loaded only when a hook was taken at start-up (load_all): a hook taken
	 * since (between the load and this attach, or on an interface that came later) finds
	 * it missing. Say so, rather than fail its attach with a bad descriptor.
	 */
	if (bpf_program__fd(s->skel->progs.mw_tc_ingress) < 0) {
		att_add(s, "mw_tc_ingress", i->name, "none", false);
		pr_warn("Failed to attach XDP on %s: %s%s -- arriving Packet Too Big is seen there only "
			"when dropped; restart mtuwatch to watch its arrivals at tc ingress instead\n",
			i->name, strerror(err), why);
		return -err;
	}
	errno = err;
	/*
	 * tc ingress sees the same arrivals, a little later and after GRO: nothing is lost, so
	 * the reason is said once (the first time), the rest only with -v.
	 */
	if (!s->said_tc_in++)
		pr_warn("note: XDP failed on %s: %s%s; watching its arrivals at tc ingress instead\n",
			i->name, strerror(err), why);
	else
		pr_debug("XDP failed on %s: %s%s; using tc ingress\n", i->name, strerror(err), why);
	return attach_tc(s, i, true);
}

/*
 * Whether a pod's departures through interface i are followed: by our XDP, else at tc ingress
 * by mw_tc_fwd_out (loaded where tc ingress stands in, with --all-netns), attached here the
 * first time an interface needs it.
 */
bool loader_fwd_out(struct mw_session *s, struct mw_ifinfo *i)
{
	if (i->xdp_ours || i->fwd_tc)
		return true;
	if (bpf_program__fd(s->skel->progs.mw_tc_fwd_out) < 0 ||
	    attach_tc_prog(s, i, true, "mw_tc_fwd_out"))
		return false;
	i->fwd_tc = true;
	return true;
}

/* Mark or unmark interface i in fwd_ifs (see session_set_fwd_if), saying so with -v. */
static void mark_fwd(struct mw_session *s, const struct mw_ifinfo *i, bool on)
{
	session_set_fwd_if(s, i->ifindex, on);
	if (on)
		pr_debug("%s: a veth whose peer is in another namespace: marked in fwd_ifs\n",
			 i->name);
}

void loader_attach_iface(struct mw_session *s, int k)
{
	int had = s->nclsact;

	/* Orphans of a killed instance go first, whatever this start uses. */
	sweep_iface(s->ifaces[k].ifindex, s->ifaces[k].name, stderr, &s->sweep_mw_qdisc);
	attach_tc(s, &s->ifaces[k], false);
	attach_xdp(s, &s->ifaces[k]);
	if (s->sweep_mw_qdisc && s->nclsact == had)
		tc_qdisc_del(s->ifaces[k].ifindex);
	s->sweep_mw_qdisc = false;
	/*
	 * A pod's departures are followed by our XDP, or where tc ingress stands in by
	 * mw_tc_fwd_out beside it; without either, its arrivals alone would make a flow that
	 * never sends look stalled, so the veth end is not marked.
	 */
	if (s->ifaces[k].fwd && loader_fwd_out(s, &s->ifaces[k]))
		mark_fwd(s, &s->ifaces[k], true);
}

static void attach_tp(struct mw_session *s, struct bpf_program *p, const char *name,
		      const char *mode, const char *lost)
{
	struct bpf_link *l = bpf_program__attach(p);

	if (!l) {
		att_add(s, name, NULL, mode, false);
		pr_warn("note: tracepoint program %s did not attach (%s) -- %s; the rest still "
			"works\n", name, strerror(errno), lost);
		return;
	}
	s->links[s->nlinks++] = l;
	att_add(s, name, NULL, mode, true);
}

int session_open(struct mw_session *s, const struct mw_session_opts *o, mw_event_fn cb,
		 void *ctx)
{
	int err, n;

	memset(s, 0, sizeof(*s));
	s->cb = cb;
	s->ctx = ctx;
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	s->self_netns = net_self_netns();

	/* Interfaces first: a typo is a usage error, found before any BPF work. */
	if (o->nifaces) {
		for (int k = 0; k < o->nifaces; k++) {
			if (net_iface(o->ifaces[k], &s->ifaces[s->nifaces])) {
				pr_warn("Unknown interface '%s' -- see 'ip link' for the interfaces of "
					"this network namespace\n", o->ifaces[k]);
				return 2;
			}
			s->nifaces++;
		}
	} else {
		struct mw_ifinfo all[MW_MAX_IFACES];

		n = net_ifaces(all, MW_MAX_IFACES);
		for (int k = 0; k < n; k++)
			if (all[k].up && !all[k].loopback)
				s->ifaces[s->nifaces++] = all[k];
	}
	/* Which are bridges and ports, which veths lead to other namespaces (links.c). */
	err = links_fill(s->ifaces, s->nifaces);
	if (err)
		pr_debug("rtnetlink link dump failed (%s): no bridge or veth peer facts\n",
			 strerror(-err));

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_warn("Failed: this kernel has no BTF (/sys/kernel/btf/vmlinux) -- mtuwatch needs "
			"CONFIG_DEBUG_INFO_BTF=y; nothing can be watched\n");
		return 1;
	}
	err = load_all(s, o);
	if (err) {
		/*
		 * EACCES is the verifier's refusal, which is what a missing CAP_PERFMON looks
		 * like too (it refuses reading kernel memory): with the capabilities, it is ours.
		 */
		bool privileged = err == -EACCES && has_caps((1ULL << CAP_BPF) |
							    (1ULL << CAP_PERFMON));

		pr_warn("Failed to load %s: %s -- %s\n",
			failed_prog[0] ? failed_prog : "the BPF programs", strerror(-err),
			privileged ? "the verifier refused it: rerun with -v for its log, and report it" :
			err == -EPERM || err == -EACCES ?
			"run as root or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN" :
			"kernel too old? (rerun with -v for the verifier's log)");
		return 1;
	}
	for (int r = P_KFREE; r <= P_CONSUME; r++) {
		if (s->mode[r] == M_OFF)
			continue;
		attach_tp(s, prog_by_name(s->skel, s->mode[r] == M_RAW ? roles[r].raw :
				    roles[r].name), s->mode[r] == M_RAW ? roles[r].raw :
				    roles[r].name, s->mode[r] == M_RAW ? "raw_tp" : "tp_btf",
			  roles[r].lost);
	}

	if (s->mode[P_STATE] != M_OFF)
		learn_netns();

	for (int k = 0; k < s->nifaces; k++)
		loader_attach_iface(s, k);
	session_phase("attach");
	if (s->nclsact)
		watchdog_start(s);

	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), rb_event, s, NULL);
	if (!s->rb) {
		pr_warn("Failed to create the ring buffer: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

void session_describe(struct mw_session *s, uint64_t now_ns)
{
	struct mw_event e;

	for (int k = 0; k < s->nifaces; k++) {
		memset(&e, 0, sizeof(e));
		e.ts_ns = now_ns;
		e.type = MW_EV_IFACE;
		e.netns = s->self_netns;
		e.ifindex = s->ifaces[k].ifindex;
		e.mtu = s->ifaces[k].mtu;
		memcpy(e.ifname, s->ifaces[k].name, sizeof(e.ifname));
		s->cb(&e, s->ctx);
	}
	for (int k = 0; k < s->natt; k++) {
		memset(&e, 0, sizeof(e));
		e.ts_ns = now_ns;
		e.type = MW_EV_ATTACH;
		e.netns = s->self_netns;
		e.ifindex = s->att[k].iface[0] ? if_nametoindex(s->att[k].iface) : 0;
		e.aux = s->att[k].attached;
		snprintf(e.ifname, sizeof(e.ifname), "%s", s->att[k].prog + 3);
		s->cb(&e, s->ctx);
	}
}

void session_close(struct mw_session *s)
{
	if (s->watchdog > 0) {
		kill(s->watchdog, SIGKILL);
		waitpid(s->watchdog, NULL, 0);
	}
	session_phase("run");
	clsact_release(s);
	if (s->tc_handle)
		close(s->owner_fd);
	/* Each TCX or XDP link waits for an RCU grace period under RTNL as it goes. */
	for (int k = 0; k < s->nlink_fds; k++)
		close(s->link_fds[k]);
	session_phase("detach tc, XDP");
	for (int k = 0; k < s->nlinks; k++)
		bpf_link__destroy(s->links[k]);
	ring_buffer__free(s->rb);
	mtuwatch_bpf__destroy(s->skel);
	session_phase("detach tracepoints, free");
	memset(s, 0, sizeof(*s));
}
