// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "loader.h"
#include "mtuwatch.skel.h"

/* enum bpf_attach_type values; libbpf 1.1's headers predate TCX. */
#define MW_BPF_TCX_INGRESS 46
#define MW_BPF_TCX_EGRESS 47

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's chatter, warnings included, only with -v: errors get our own one line. */
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
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
}

static int rb_event(void *ctx, void *data, size_t len)
{
	struct mw_session *s = ctx;

	if (len < sizeof(struct mw_event))
		return 0;
	s->cb(data, s->ctx);
	return 0;
}

/* Which tracepoint flavour a load attempt uses. */
enum tp_flavour { TP_BTF_ALL, TP_BTF_CORE, TP_RAW };

static int open_load(struct mw_session *s, const struct mw_session_opts *o, enum tp_flavour fl)
{
	struct mtuwatch_bpf *sk = mtuwatch_bpf__open();
	bool btf = fl != TP_RAW;
	int err;

	if (!sk)
		return -errno;
	sk->rodata->targ_netns = o->all_netns ? 0 : s->self_netns;
	sk->rodata->targ_self_netns = s->self_netns;
	sk->rodata->targ_hs_parse = !o->no_handshakes;
	bpf_program__set_autoload(sk->progs.mw_tp_kfree_skb, btf);
	bpf_program__set_autoload(sk->progs.mw_tp_retransmit, btf);
	bpf_program__set_autoload(sk->progs.mw_tp_sock_state, btf);
	bpf_program__set_autoload(sk->progs.mw_tp_icmp_send, fl == TP_BTF_ALL);
	bpf_program__set_autoload(sk->progs.mw_raw_kfree_skb, !btf);
	bpf_program__set_autoload(sk->progs.mw_raw_retransmit, !btf);
	bpf_program__set_autoload(sk->progs.mw_raw_sock_state, !btf);
	/* TCX wants the attach type at load time; clsact ignores it. */
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_egress, MW_BPF_TCX_EGRESS);
	bpf_program__set_expected_attach_type(sk->progs.mw_tc_ingress, MW_BPF_TCX_INGRESS);
	err = mtuwatch_bpf__load(sk);
	if (err) {
		mtuwatch_bpf__destroy(sk);
		return err;
	}
	s->skel = sk;
	s->tp_mode = btf ? "tp_btf" : "raw_tp";
	return 0;
}

/* TCX where the kernel has it (a link: gone with the process), else a clsact filter. */
static int attach_tc(struct mw_session *s, struct mw_ifinfo *i, bool ingress)
{
	struct bpf_program *p = ingress ? s->skel->progs.mw_tc_ingress :
					  s->skel->progs.mw_tc_egress;
	const char *name = ingress ? "mw_tc_ingress" : "mw_tc_egress";
	int pfd = bpf_program__fd(p);
	int fd = bpf_link_create(pfd, i->ifindex, ingress ? MW_BPF_TCX_INGRESS : MW_BPF_TCX_EGRESS,
				 NULL);
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = i->ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MW_TC_HANDLE, .priority = MW_TC_HANDLE);
	int err;

	if (fd >= 0) {
		s->link_fds[s->nlink_fds++] = fd;
		att_add(s, name, i->name, "tcx", true);
		return 0;
	}
	pr_debug("TCX attach on %s failed (%s), trying a clsact filter\n", i->name,
		 strerror(errno));
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		goto fail;
	opts.prog_fd = pfd;
	opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		goto fail;
	s->clsact[s->nclsact].ifindex = i->ifindex;
	s->clsact[s->nclsact++].ingress = ingress;
	att_add(s, name, i->name, "clsact", true);
	pr_warn("note: %s: kernel has no TCX, used a clsact filter (it outlives a SIGKILL: "
		"tc filter del dev %s %s handle 0x%x prio 0x%x bpf)\n", i->name, i->name,
		ingress ? "ingress" : "egress", MW_TC_HANDLE, MW_TC_HANDLE);
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
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 0);
	int fd = bpf_link_create(pfd, i->ifindex, BPF_XDP, &lo);

	if (fd >= 0) {
		s->link_fds[s->nlink_fds++] = fd;
		att_add(s, "mw_xdp_ingress", i->name, "native", true);
		return 0;
	}
	pr_debug("native XDP on %s failed (%s), trying generic mode\n", i->name, strerror(errno));
	lo.flags = XDP_FLAGS_SKB_MODE;
	fd = bpf_link_create(pfd, i->ifindex, BPF_XDP, &lo);
	if (fd >= 0) {
		s->link_fds[s->nlink_fds++] = fd;
		att_add(s, "mw_xdp_ingress", i->name, "generic", true);
		return 0;
	}
	att_add(s, "mw_xdp_ingress", i->name, "none", false);
	/* tc ingress sees the same arrivals, a little later and after GRO. */
	pr_debug("XDP on %s failed (%s), using tc ingress\n", i->name, strerror(errno));
	if (errno == EBUSY || errno == EEXIST)
		pr_warn("note: %s: another XDP program holds the interface, watching arrivals at tc "
			"ingress instead\n", i->name);
	return attach_tc(s, i, true);
}

static void attach_tp(struct mw_session *s, struct bpf_program *p, const char *name,
		      bool required)
{
	struct bpf_link *l;

	if (!bpf_program__autoload(p))
		return;
	l = bpf_program__attach(p);
	if (!l) {
		att_add(s, name, NULL, s->tp_mode, false);
		pr_warn("%s tracepoint %s did not attach (%s)%s\n", required ? "Failed:" : "note:",
			name, strerror(errno), required ? "" : " -- optional, continuing");
		return;
	}
	s->links[s->nlinks++] = l;
	att_add(s, name, NULL, s->tp_mode, true);
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
	err = open_load(s, o, TP_BTF_ALL);
	if (err) {
		pr_debug("load with BTF tracepoints and icmp_send failed (%d), retrying\n", err);
		err = open_load(s, o, TP_BTF_CORE);
	}
	if (err) {
		pr_debug("load with BTF tracepoints failed (%d), trying raw tracepoints\n", err);
		err = open_load(s, o, TP_RAW);
	}
	if (err) {
		pr_warn("Failed to load the BPF programs: %s -- %s\n", strerror(-err),
			err == -EPERM || err == -EACCES ?
			"run as root or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN" :
			"kernel too old? (rerun with -v for the verifier's log)");
		return 1;
	}
	if (!bpf_program__autoload(s->skel->progs.mw_tp_icmp_send))
		att_add(s, "mw_tp_icmp_send", NULL, "none", false);

	attach_tp(s, s->skel->progs.mw_tp_kfree_skb, "mw_tp_kfree_skb", true);
	attach_tp(s, s->skel->progs.mw_raw_kfree_skb, "mw_raw_kfree_skb", true);
	attach_tp(s, s->skel->progs.mw_tp_retransmit, "mw_tp_retransmit", true);
	attach_tp(s, s->skel->progs.mw_raw_retransmit, "mw_raw_retransmit", true);
	attach_tp(s, s->skel->progs.mw_tp_sock_state, "mw_tp_sock_state", true);
	attach_tp(s, s->skel->progs.mw_raw_sock_state, "mw_raw_sock_state", true);
	attach_tp(s, s->skel->progs.mw_tp_icmp_send, "mw_tp_icmp_send", false);

	for (int k = 0; k < s->nifaces; k++) {
		attach_tc(s, &s->ifaces[k], false);
		attach_xdp(s, &s->ifaces[k]);
	}

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

int session_poll(struct mw_session *s, int timeout_ms)
{
	return ring_buffer__poll(s->rb, timeout_ms);
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

void session_set_pmtu(struct mw_session *s, uint32_t ifindex, uint8_t family, const uint8_t *dst,
		      uint32_t mtu)
{
	struct mw_dst_key k = {};
	struct mw_dst_val v = {};
	int fd = bpf_map__fd(s->skel->maps.dsts);

	k.ifindex = ifindex;
	k.family = family;
	memcpy(k.daddr, dst, family == 6 ? 16 : 4);
	if (bpf_map_lookup_elem(fd, &k, &v))
		memset(&v, 0, sizeof(v));
	v.pmtu = mtu;
	v.over_seen = 0;
	bpf_map_update_elem(fd, &k, &v, BPF_ANY);
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
	for (int k = 0; k < s->nclsact; k++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = s->clsact[k].ifindex,
			    .attach_point = s->clsact[k].ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MW_TC_HANDLE, .priority = MW_TC_HANDLE);

		bpf_tc_detach(&hook, &opts);
	}
	for (int k = 0; k < s->nlink_fds; k++)
		close(s->link_fds[k]);
	for (int k = 0; k < s->nlinks; k++)
		bpf_link__destroy(s->links[k]);
	ring_buffer__free(s->rb);
	mtuwatch_bpf__destroy(s->skel);
	memset(s, 0, sizeof(*s));
}
