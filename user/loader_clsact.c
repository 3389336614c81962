// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The loader's clsact side, for kernels without TCX: netlink requests for tc filters, each
 * filter's owner token, the sweep of orphans (at start, by `mtuwatch cleanup`, by the
 * watchdog). Apart from loader.c because it is a protocol of its own (rtnetlink, abstract
 * sockets, a child process): loader.c uses it through loader_clsact.h only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "loader.h"
#include "loader_clsact.h"

/*
 * clsact filters, where the kernel has no TCX (before 6.6). Unlike a link, a filter outlives
 * its process, and every instance shares the hook, so each filter carries its owner: a
 * random handle of its own at priority MW_TC_PRIO (MW_TC_PRIO_FWD for a second filter on the
 * hook: mw_tc_fwd_out beside mw_tc_ingress), and the name
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

static int tc_filter_add(int ifindex, bool ingress, uint32_t handle, uint16_t prio, int prog_fd,
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
		       .tcm_info = TC_H_MAKE((uint32_t)prio << 16, htons(ETH_P_ALL)) },
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

int tc_qdisc_del(int ifindex)
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

int sweep_iface(int ifindex, const char *ifname, FILE *out, bool *mw_qdisc)
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

/* This instance's own filter, on a clsact qdisc made if missing. */
int clsact_attach(struct mw_session *s, struct mw_ifinfo *i, bool ingress, int pfd,
		  const char *name, uint16_t prio)
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
	err = tc_filter_add(i->ifindex, ingress, s->tc_handle, prio, pfd, fname);
	if (err)
		return err;
	s->clsact[s->nclsact].ifindex = i->ifindex;
	s->clsact[s->nclsact].handle = s->tc_handle;
	s->clsact[s->nclsact].prio = prio;
	s->clsact[s->nclsact++].ingress = ingress;
	return 0;
}

/* This instance's filters, and the qdiscs it may remove once nothing else uses them. */
void clsact_release(struct mw_session *s)
{
	struct mw_tcf_list l;

	for (int k = 0; k < s->nclsact; k++) {
		struct mw_tcf f = { .handle = s->clsact[k].handle, .prio = s->clsact[k].prio,
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
void watchdog_start(struct mw_session *s)
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
