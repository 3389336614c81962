// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include "log.h"
#include "loader.h"
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

	/* RSS too: the BTF parse sets the process's peak (README, Performance). */
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
enum { P_KFREE, P_RETRANS, P_STATE, P_ICMP, P_XDP, P_TC_IN, P_TC_EG_L3, P_TC_IN_L3, P_MAX };
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
	[P_XDP] = { "mw_xdp_ingress", NULL, "arrivals are watched at tc ingress instead" },
	[P_TC_IN] = { "mw_tc_ingress", NULL, "arrivals are seen only where XDP attaches" },
	[P_TC_EG_L3] = { "mw_tc_egress_l3", NULL, "sizes leaving tun/WireGuard devices are not seen" },
	[P_TC_IN_L3] = { "mw_tc_ingress_l3", NULL, "arrivals on tun/WireGuard devices are not seen" },
};

static struct bpf_program *prog_by_name(struct mtuwatch_bpf *sk, const char *name)
{
	return name ? bpf_object__find_program_by_name(sk->obj, name) : NULL;
}

/*
 * Test hook: MW_TEST_REFUSE=prog,prog makes the load fail as a kernel that refuses those
 * programs would, so that the fallbacks and their messages are tested on any kernel. The
 * entry "tcx" makes TCX attach fail as it does before 6.6, forcing clsact filters; the entry
 * "xdp-taken" makes XDP attach find its hook taken, as when another program takes it between
 * mtuwatch's load and its attach.
 */
static bool test_refused(const char *n)
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
	const char *list = getenv("MW_TEST_REFUSE");
	struct bpf_program *p;

	if (!list)
		return 0;
	bpf_object__for_each_program(p, sk->obj) {
		const char *n = bpf_program__name(p);

		if (!bpf_program__autoload(p) || !test_refused(n))
			continue;
		snprintf(failed_prog, sizeof(failed_prog), "%s", n);
		return -EINVAL;
	}
	return 0;
}

/*
 * clsact filters, where the kernel has no TCX (before 6.6). Unlike a link, a filter outlives
 * its process, and every instance shares the hook, so each filter carries its owner: a
 * random handle of its own at priority MW_TC_PRIO, and the name
 * "mw_<prog> pid=PID owner=@mtuwatch-tc-HANDLE" that `tc filter show` prints, HANDLE naming
 * the owner's liveness token (owner_bind). A filter whose token is free is an orphan: removed
 * at start, by `mtuwatch cleanup`, and by the watchdog child when the owner is killed.
 */
struct mw_tcf {
	uint32_t handle, prog_id;
	uint16_t prio;
	bool ingress;
	char name[96];
};

struct mw_tcf_list {
	struct mw_tcf f[64];
	int n;		/* mw_ filters */
	int other;	/* filters of anyone else */
	bool no_qdisc;
};

static uint32_t tc_parent(bool ingress)
{
	return TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

/* noinline: gcc cannot see that attributes land in the request's spare room */
__attribute__((noinline)) static void nl_attr(struct nlmsghdr *nh, size_t cap, int type,
					      const void *data, int len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap)
		return;
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* One request; for a dump, cb sees every answer. Returns 0 or the kernel's -errno. */
static int nl_talk(struct nlmsghdr *req, void (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 2 };
	static char buf[32768];
	int fd, err = 0, len;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	req->nlmsg_seq = 1;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (!done) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len <= 0) {
			err = len < 0 ? -errno : -EIO;
			break;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				done = true;
				break;
			}
			if (cb)
				cb(nh, ctx);
		}
	}
out:
	close(fd);
	return err;
}

static void tcf_cb(struct nlmsghdr *nh, void *ctx)
{
	struct mw_tcf_list *l = ctx;
	struct tcmsg *t = NLMSG_DATA(nh);
	int len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	char kind[16] = "", name[96] = "";
	uint32_t id = 0;

	/* handle 0 is the filter chain's own entry, not a filter */
	if (nh->nlmsg_type != RTM_NEWTFILTER || !t->tcm_handle)
		return;
	for (struct rtattr *a = (struct rtattr *)((char *)t + NLMSG_ALIGN(sizeof(*t)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			snprintf(kind, sizeof(kind), "%.*s", (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
		if (a->rta_type != TCA_OPTIONS)
			continue;
		int olen = RTA_PAYLOAD(a);

		for (struct rtattr *o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
			if (o->rta_type == TCA_BPF_NAME)
				snprintf(name, sizeof(name), "%.*s", (int)RTA_PAYLOAD(o),
					 (char *)RTA_DATA(o));
			if (o->rta_type == TCA_BPF_ID && RTA_PAYLOAD(o) >= 4)
				id = *(uint32_t *)RTA_DATA(o);
		}
	}
	if (strcmp(kind, "bpf") || strncmp(name, "mw_", 3) || l->n >= 64) {
		l->other++;
		return;
	}
	l->f[l->n].handle = t->tcm_handle;
	l->f[l->n].prio = t->tcm_info >> 16;
	l->f[l->n].prog_id = id;
	l->f[l->n].ingress = t->tcm_parent == tc_parent(true);
	snprintf(l->f[l->n].name, sizeof(l->f[l->n].name), "%s", name);
	l->n++;
}

/* Every filter on the clsact hooks of ifindex, both directions. */
static void tc_list(int ifindex, struct mw_tcf_list *l)
{
	memset(l, 0, sizeof(*l));
	for (int in = 0; in < 2; in++) {
		struct {
			struct nlmsghdr nh;
			struct tcmsg t;
		} req = {
			.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
				.nlmsg_type = RTM_GETTFILTER,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
			.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			       .tcm_parent = tc_parent(in) },
		};

		if (nl_talk(&req.nh, tcf_cb, l))
			l->no_qdisc = true;	/* EINVAL: no clsact qdisc on this device */
	}
}

static int tc_filter_del(int ifindex, const struct mw_tcf *f)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
		char attrs[32];
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_DELTFILTER, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK },
		.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_handle = f->handle,
		       .tcm_parent = tc_parent(f->ingress),
		       .tcm_info = TC_H_MAKE(f->prio << 16, htons(ETH_P_ALL)) },
	};

	nl_attr(&req.nh, sizeof(req), TCA_KIND, "bpf", 4);
	return nl_talk(&req.nh, NULL, NULL);
}

static int tc_filter_add(int ifindex, bool ingress, uint32_t handle, int prog_fd,
			 const char *name)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg t;
		char attrs[256];
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_NEWTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL },
		.t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_handle = handle,
		       .tcm_parent = tc_parent(ingress),
		       .tcm_info = TC_H_MAKE(MW_TC_PRIO << 16, htons(ETH_P_ALL)) },
	};
	struct rtattr *opts;
	uint32_t fd = prog_fd, flags = TCA_BPF_FLAG_ACT_DIRECT;

	nl_attr(&req.nh, sizeof(req), TCA_KIND, "bpf", 4);
	opts = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	nl_attr(&req.nh, sizeof(req), TCA_OPTIONS | NLA_F_NESTED, NULL, 0);
	nl_attr(&req.nh, sizeof(req), TCA_BPF_FD, &fd, 4);
	nl_attr(&req.nh, sizeof(req), TCA_BPF_NAME, name, strlen(name) + 1);
	nl_attr(&req.nh, sizeof(req), TCA_BPF_FLAGS, &flags, 4);
	opts->rta_len = (char *)&req + req.nh.nlmsg_len - (char *)opts;
	return nl_talk(&req.nh, NULL, NULL);
}

/*
 * The owner's liveness token: an abstract unix socket "@mtuwatch-tc-HANDLE", bound for as
 * long as the owner (or its watchdog) lives. Abstract names belong to the network namespace,
 * like the filters, so this works across PID namespaces (containers), and the kernel releases
 * the name on any death, SIGKILL included.
 */
static int owner_bind(uint32_t handle)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), len;

	if (fd < 0)
		return -errno;
	len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "mtuwatch-tc-%08x", handle);
	if (bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

enum { OWNER_GONE, OWNER_ALIVE, OWNER_UNKNOWN };

static int tcf_owner(const struct mw_tcf *f, int *pid)
{
	const char *p = strstr(f->name, " pid=");
	uint32_t h;
	int fd;

	*pid = 0;
	/* No owner note: a build from before owners, whose filters nobody removes. */
	if (!p || sscanf(p, " pid=%d owner=@mtuwatch-tc-%x", pid, &h) != 2)
		return OWNER_GONE;
	fd = owner_bind(h);
	if (fd == -EADDRINUSE)
		return OWNER_ALIVE;
	if (fd < 0)
		return OWNER_UNKNOWN;
	close(fd);
	return OWNER_GONE;
}

static int tc_qdisc_del(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	return bpf_tc_hook_destroy(&hook);
}

/*
 * Remove the orphaned mw_ filters of ifindex, saying so in one line on out. Returns how many
 * were removed; *mw_qdisc says the clsact qdisc is now empty after holding only mtuwatch
 * filters (so it is mtuwatch's to remove).
 */
static int sweep_failed;

static int sweep_iface(int ifindex, const char *ifname, FILE *out, bool *mw_qdisc)
{
	struct mw_tcf_list l;
	int removed = 0, left = 0, pid, pids[4], npids = 0, err;
	char who[64] = "";

	*mw_qdisc = false;
	tc_list(ifindex, &l);
	for (int k = 0; k < l.n; k++) {
		if (tcf_owner(&l.f[k], &pid) != OWNER_GONE) {
			left++;
			continue;
		}
		err = tc_filter_del(ifindex, &l.f[k]);
		if (err) {
			if (!sweep_failed++)
				pr_warn("Failed to remove the orphaned filter %s on %s: %s -- run as "
					"root (CAP_NET_ADMIN)\n", l.f[k].name, ifname, strerror(-err));
			left++;
			continue;
		}
		removed++;
		if (pid && npids < 4 && (!npids || pids[npids - 1] != pid))
			pids[npids++] = pid;
	}
	if (!removed)
		return 0;
	*mw_qdisc = !left && !l.other;
	for (int k = 0; k < npids; k++)
		snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%d", k ? "," : "",
			 pids[k]);
	fprintf(out, "%s%s: removed %d clsact filter(s) left running by an mtuwatch that is gone "
		"(pid %s)\n", out == stderr ? "mtuwatch: note: " : "", ifname, removed, who[0] ? who : "?");
	return removed;
}

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

/* Load, dropping what this kernel refuses one program at a time. */
static int load_all(struct mw_session *s, const struct mw_session_opts *o)
{
	int mode[P_MAX] = {}, err, r;
	bool l3 = false, tc_in = false;

	/* The L3 variants cost verifier time: only when a watched device needs them. */
	for (int k = 0; k < s->nifaces; k++)
		l3 |= s->ifaces[k].l3;
	if (!l3)
		mode[P_TC_EG_L3] = mode[P_TC_IN_L3] = M_OFF;
	/*
	 * tc ingress only stands in for XDP: loaded when a watched interface's XDP hook is
	 * already taken, or when XDP itself does not load. Its verification was a third of the
	 * start-up. (An interface that refuses XDP though its hook is free then says that tc
	 * ingress failed too.)
	 */
	for (int k = 0; k < s->nifaces; k++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, xq);

		if (!s->ifaces[k].l3 && !bpf_xdp_query(s->ifaces[k].ifindex, 0, &xq) &&
		    (xq.prog_id || xq.drv_prog_id || xq.skb_prog_id || xq.hw_prog_id))
			tc_in = true;
	}
	if (!tc_in)
		mode[P_TC_IN] = M_OFF;

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
		}
	}
	if (err)
		return err;
	if (mode[P_XDP] == M_OFF && mode[P_TC_IN] == M_OFF)
		pr_warn("note: neither XDP nor tc ingress loads on this kernel -- arriving Packet "
			"Too Big is seen only when it is dropped\n");
	for (r = 0; r < P_MAX; r++) {
		s->mode[r] = mode[r];
		if (((r == P_TC_EG_L3 || r == P_TC_IN_L3) && !l3) || (r == P_TC_IN && !tc_in))
			continue;
		if (mode[r] == M_OFF && !(r == P_TC_IN && mode[P_XDP] != M_OFF) &&
		    !(r == P_XDP && mode[P_TC_IN] == M_OFF))
			pr_warn("note: %s does not load on this kernel -- %s; the rest still "
				"works\n", roles[r].name, roles[r].lost);
		if (mode[r] == M_OFF)
			att_add(s, roles[r].name, NULL, "none", false);
	}
	return 0;
}

static int attach_xdp_prog(struct mw_session *s, struct mw_ifinfo *i, int pfd);

/* This instance's own filter, on a clsact qdisc made if missing. */
static int clsact_attach(struct mw_session *s, struct mw_ifinfo *i, bool ingress, int pfd,
			 const char *name)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->ifindex, .attach_point = BPF_TC_EGRESS);
	char fname[96];
	bool mine = s->sweep_mw_qdisc;
	int err, k;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	if (!err) {
		mine = true;
	} else if (!mine) {
		struct mw_tcf_list l;

		/* A qdisc holding only other instances' filters was made by one of them. */
		tc_list(i->ifindex, &l);
		mine = l.n && !l.other;
	}
	for (k = 0; k < s->nqdisc && s->qdisc[k] != (int)i->ifindex; k++)
		;
	if (mine && k == s->nqdisc && k < MW_MAX_IFACES)
		s->qdisc[s->nqdisc++] = i->ifindex;

	/* The handle is the token: unique among live instances of this namespace. */
	for (int tries = 0; !s->tc_handle && tries < 16; tries++) {
		uint32_t h = 0;
		int fd;

		if (getrandom(&h, sizeof(h), 0) != sizeof(h))
			h = getpid() * 2654435761u + tries;
		h |= 0x10000000;	/* never 0, never a small handle someone typed */
		fd = owner_bind(h);
		if (fd >= 0) {
			s->owner_fd = fd;
			s->tc_handle = h;
		} else if (fd != -EADDRINUSE) {
			return fd;
		}
	}
	if (!s->tc_handle)
		return -EADDRINUSE;
	snprintf(fname, sizeof(fname), "%s pid=%d owner=@mtuwatch-tc-%08x", name, getpid(),
		 s->tc_handle);
	err = tc_filter_add(i->ifindex, ingress, s->tc_handle, pfd, fname);
	if (err)
		return err;
	s->clsact[s->nclsact].ifindex = i->ifindex;
	s->clsact[s->nclsact].handle = s->tc_handle;
	s->clsact[s->nclsact++].ingress = ingress;
	return 0;
}

/*
 * Opens and closes a listening socket in this namespace: its CLOSE -> LISTEN tells the state
 * tracepoint the namespace's struct net (self_net in mtuwatch.bpf.c) now, not at its first TCP
 * event, which on a router may never come. 127.0.0.1 with IP_FREEBIND (lo may be down or
 * unaddressed), for the microseconds it lives. Failing costs only that shortcut.
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

/* TCX where the kernel has it (a link: gone with the process), else a clsact filter. */
static int attach_tc(struct mw_session *s, struct mw_ifinfo *i, bool ingress)
{
	int role = i->l3 ? (ingress ? P_TC_IN_L3 : P_TC_EG_L3) : ingress ? P_TC_IN : -1;
	const char *name = role >= 0 ? roles[role].name : "mw_tc_egress";
	struct bpf_program *p = prog_by_name(s->skel, name);
	int pfd = bpf_program__fd(p), fd = -1, err;

	if (test_refused("tcx"))
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
	err = clsact_attach(s, i, ingress, pfd, name);
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
		i->name, strerror(-err), ingress ? "arriving Packet Too Big is seen only when dropped" :
		"sizes of outgoing packets are not seen there");
	return err;
}

static int attach_xdp(struct mw_session *s, struct mw_ifinfo *i)
{
	int pfd = bpf_program__fd(s->skel->progs.mw_xdp_ingress);

	/* No XDP on L3 devices: their packets start at the IP header, tc handles that. */
	if (s->mode[P_XDP] == M_OFF || i->l3)
		return s->mode[i->l3 ? P_TC_IN_L3 : P_TC_IN] == M_OFF ? -EOPNOTSUPP :
		       attach_tc(s, i, true);
	return attach_xdp_prog(s, i, pfd);
}

static int attach_xdp_prog(struct mw_session *s, struct mw_ifinfo *i, int pfd)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 0);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	bool taken = test_refused("xdp-taken");
	int fd = taken ? -1 : bpf_link_create(pfd, i->ifindex, BPF_XDP, &lo), err;

	if (fd >= 0) {
		/* Without a mode flag the kernel picks one: ask which (lo gets generic). */
		s->link_fds[s->nlink_fds++] = fd;
		bpf_xdp_query(i->ifindex, 0, &q);
		att_add(s, "mw_xdp_ingress", i->name, q.attach_mode == XDP_ATTACHED_SKB ? "generic" :
			q.attach_mode == XDP_ATTACHED_DRV ? "native" : q.attach_mode ==
			XDP_ATTACHED_HW ? "offload" : "unknown", true);
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
		return 0;
	}
	err = taken ? EBUSY : errno;
	att_add(s, "mw_xdp_ingress", i->name, "none", false);
	/*
	 * tc ingress is loaded only when a hook was taken at start-up (load_all): a hook taken
	 * since (between the load and this attach, or on an interface that came later) finds
	 * it missing. Say so, rather than fail its attach with a bad descriptor.
	 */
	if (bpf_program__fd(s->skel->progs.mw_tc_ingress) < 0) {
		att_add(s, "mw_tc_ingress", i->name, "none", false);
		pr_warn("Failed to attach XDP on %s: %s%s -- arriving Packet Too Big is seen there only "
			"when dropped; restart mtuwatch to watch its arrivals at tc ingress instead\n",
			i->name, strerror(err), err == EBUSY || err == EEXIST ?
			" (another XDP program took the interface after mtuwatch started)" : "");
		return -err;
	}
	errno = err;
	/* tc ingress sees the same arrivals, a little later and after GRO. */
	pr_debug("XDP on %s failed (%s), using tc ingress\n", i->name, strerror(errno));
	if (errno == EBUSY || errno == EEXIST)
		pr_warn("note: %s: another XDP program holds the interface, watching arrivals at tc "
			"ingress instead\n", i->name);
	return attach_tc(s, i, true);
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

/* This instance's filters, and the qdiscs it may remove once nothing else uses them. */
static void clsact_release(struct mw_session *s)
{
	struct mw_tcf_list l;

	for (int k = 0; k < s->nclsact; k++) {
		struct mw_tcf f = { .handle = s->clsact[k].handle, .prio = MW_TC_PRIO,
				    .ingress = s->clsact[k].ingress };

		tc_filter_del(s->clsact[k].ifindex, &f);
	}
	for (int k = 0; k < s->nqdisc; k++) {
		tc_list(s->qdisc[k], &l);
		if (!l.no_qdisc && !l.n && !l.other)
			tc_qdisc_del(s->qdisc[k]);
	}
	s->nclsact = s->nqdisc = 0;
}

/*
 * A clsact filter outlives a SIGKILL. A child that the kernel signals when we die
 * (PR_SET_PDEATHSIG) removes our filters then; on a normal exit we end it first.
 */
static void watchdog_start(struct mw_session *s)
{
	pid_t parent = getpid(), pid;
	sigset_t all, old, w;
	int sig;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0)
			pr_warn("note: no watchdog process (%s) -- if mtuwatch is killed, its clsact "
				"filters stay until 'mtuwatch cleanup'\n", strerror(errno));
		s->watchdog = pid > 0 ? pid : 0;
		return;
	}
	prctl(PR_SET_NAME, "mtuwatch-wd");
	/* Ctrl-C and a service stop are for the parent: only its death counts here. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&w);
	sigaddset(&w, SIGUSR1);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	if (getppid() == parent)
		sigwait(&w, &sig);
	clsact_release(s);
	fprintf(stderr, "mtuwatch: process %d died without cleaning up; its watchdog removed its "
		"clsact filters\n", parent);
	_exit(0);
}

int session_cleanup(const char *const *names, int n, FILE *out)
{
	struct mw_ifinfo all[MW_MAX_IFACES];
	int cnt = 0, removed = 0;
	bool mw_qdisc;

	if (n) {
		for (int k = 0; k < n && k < MW_MAX_IFACES; k++) {
			if (net_iface(names[k], &all[cnt])) {
				pr_warn("Unknown interface '%s' -- see 'ip link' for the interfaces of "
					"this network namespace\n", names[k]);
				return 2;
			}
			cnt++;
		}
	} else {
		cnt = net_ifaces(all, MW_MAX_IFACES);
		if (cnt < 0) {
			pr_warn("Failed to list interfaces: %s\n", strerror(-cnt));
			return 1;
		}
	}
	for (int k = 0; k < cnt; k++) {
		removed += sweep_iface(all[k].ifindex, all[k].name, out, &mw_qdisc);
		if (mw_qdisc && !tc_qdisc_del(all[k].ifindex))
			fprintf(out, "%s: removed the clsact qdisc mtuwatch had made (now empty)\n",
				all[k].name);
	}
	if (sweep_failed)
		return 1;
	if (!removed)
		fprintf(out, "nothing to clean up: no clsact filter of a dead mtuwatch on %s\n",
			n == 1 ? names[0] : "this namespace's interfaces");
	return 0;
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
	for (int r = P_KFREE; r <= P_ICMP; r++) {
		if (s->mode[r] == M_OFF)
			continue;
		attach_tp(s, prog_by_name(s->skel, s->mode[r] == M_RAW ? roles[r].raw :
				    roles[r].name), s->mode[r] == M_RAW ? roles[r].raw :
				    roles[r].name, s->mode[r] == M_RAW ? "raw_tp" : "tp_btf",
			  roles[r].lost);
	}

	if (s->mode[P_STATE] != M_OFF)
		learn_netns();

	for (int k = 0; k < s->nifaces; k++) {
		int had = s->nclsact;

		/* Orphans of a killed instance go first, whatever this start uses. */
		sweep_iface(s->ifaces[k].ifindex, s->ifaces[k].name, stderr, &s->sweep_mw_qdisc);
		attach_tc(s, &s->ifaces[k], false);
		attach_xdp(s, &s->ifaces[k]);
		if (s->sweep_mw_qdisc && s->nclsact == had)
			tc_qdisc_del(s->ifaces[k].ifindex);
		s->sweep_mw_qdisc = false;
	}
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

bool session_loaded(const struct mw_session *s)
{
	return s->skel;
}

int session_poll(struct mw_session *s, int timeout_ms)
{
	int n, m;

	/*
	 * The kernel wakes us only past a backlog (MW_RB_WAKE_BYTES): read what is there
	 * whether the wait ended by a wake-up or by its timeout.
	 */
	n = ring_buffer__poll(s->rb, timeout_ms);
	if (n < 0)
		return n;
	m = ring_buffer__consume(s->rb);
	return m < 0 ? m : n + m;
}

int session_poll_fd(struct mw_session *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int session_consume(struct mw_session *s)
{
	return ring_buffer__consume(s->rb);
}

uint64_t session_counter(struct mw_session *s, int idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1], sum = 0;
	uint32_t key = idx;

	if (ncpu <= 0 || bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &key, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

int session_ptb_counts(struct mw_session *s,
		       void (*fn)(const struct mw_ptb_key *k, uint64_t count, void *ctx), void *ctx)
{
	struct mw_ptb_key k, next;
	void *prev = NULL;
	int fd, n = 0, seen = 0;

	if (!s->skel)
		return -ENODEV;
	fd = bpf_map__fd(s->skel->maps.ptbs);
	while (n++ < 4096 && !bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t count;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &count))
			continue;
		fn(&k, count, ctx);
		seen++;
	}
	return seen;
}

int session_read_stats(struct mw_session *s,
		       int (*fn)(const struct mw_stat_key *k, uint64_t value, void *ctx), void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.stats), ncpu = libbpf_num_possible_cpus();
	struct mw_stat_key k, next, *prev = NULL;
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		uint64_t sum = 0;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
		if (fn(&k, sum, ctx))
			break;
	}
	free(vals);
	return 0;
}

void session_set_pmtu(struct mw_session *s, uint32_t ifindex, uint8_t family, const uint8_t *dst,
		      uint32_t mtu)
{
	struct mw_dst_key k = {};
	struct mw_dst_val v = {};
	int fd;

	if (!s->skel)
		return;
	fd = bpf_map__fd(s->skel->maps.dsts);
	k.ifindex = ifindex;
	k.family = family;
	memcpy(k.daddr, dst, family == 6 ? 16 : 4);
	if (bpf_map_lookup_elem(fd, &k, &v))
		memset(&v, 0, sizeof(v));
	v.pmtu = mtu;
	v.over_seen = 0;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	/* tc egress's per-CPU destination cache must look at the map again. */
	__atomic_add_fetch(&s->skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
}

void session_check_ifaces(struct mw_session *s)
{
	for (int k = 0; k < s->nifaces; k++) {
		if (s->if_gone[k])
			continue;
		if (if_nametoindex(s->ifaces[k].name) == s->ifaces[k].ifindex)
			continue;
		s->if_gone[k] = true;
		pr_warn("interface %s disappeared -- its programs are gone; still watching the other "
			"interfaces and the tracepoints\n", s->ifaces[k].name);
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

/*
 * An interface that was deleted and created again under its name (a VPN or container
 * restart): attach to the new device. The old device's links detached with it (their
 * ifindex now reads 0): close them, so that flapping never exhausts link_fds. Its old
 * attach results are replaced by the new ones.
 */
int session_reattach(struct mw_session *s, int k)
{
	struct mw_ifinfo i;
	int j = 0;

	if (net_iface(s->ifaces[k].name, &i))
		return -ENODEV;
	for (int f = 0; f < s->nlink_fds; f++) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);

		/* XDP and TCX links both put the ifindex first in their part of the info */
		if (!bpf_obj_get_info_by_fd(s->link_fds[f], &info, &len) && info.xdp.ifindex == 0) {
			close(s->link_fds[f]);
			continue;
		}
		s->link_fds[j++] = s->link_fds[f];
	}
	s->nlink_fds = j;
	if (s->nlink_fds + 2 > 3 * MW_MAX_IFACES || s->nclsact + 2 > 2 * MW_MAX_IFACES)
		return -ENOSPC;
	j = 0;
	for (int a = 0; a < s->natt; a++)
		if (strcmp(s->att[a].iface, i.name))
			s->att[j++] = s->att[a];
	s->natt = j;
	s->ifaces[k] = i;
	s->if_gone[k] = false;
	attach_tc(s, &s->ifaces[k], false);
	attach_xdp(s, &s->ifaces[k]);
	return 0;
}
