// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch probe: the eBPF evidence (bpf/probe.bpf.c) both probes read. Its own room because
 * the forward probe, the TCP probes and the command all use it: in any of them it would make
 * two of them call each other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "log.h"
#include "netutil.h"
#include "probe_int.h"
#include "probe.skel.h"
#include "reasons.h"

#define MW_BPF_TCX_INGRESS 46		/* libbpf 1.1's headers predate TCX */

static int probe_verbose;

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (probe_verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void pb_set_cfg(struct pb *b)
{
	uint32_t k = 0;

	if (b->on)
		bpf_map_update_elem(bpf_map__fd(b->skel->maps.probe_cfg), &k, &b->cfg, BPF_ANY);
}

void pb_reset(struct pb *b)
{
	struct mw_probe_stats z = {};
	uint32_t k = 0;

	if (b->on)
		bpf_map_update_elem(bpf_map__fd(b->skel->maps.probe_stats), &k, &z, BPF_ANY);
}

void pb_stats(struct pb *b, struct mw_probe_stats *s)
{
	uint32_t k = 0;

	memset(s, 0, sizeof(*s));
	if (b->on)
		bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.probe_stats), &k, s);
}

const char *pb_reason(struct pb *b, uint32_t r, char *buf, size_t len)
{
	const char *n = b->reasons_ok ? reasons_name(r, &b->reasons) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "reason %u", r);
	return buf;
}

void pb_close(struct pb *b)
{
	if (b->tc_fd > 0)
		close(b->tc_fd);
	bpf_link__destroy(b->drop);
	ring_buffer__free(b->rb);
	probe_bpf__destroy(b->skel);
	if (b->reasons_ok)
		reasons_free(&b->reasons);
	memset(b, 0, sizeof(*b));
}

/* XDP on ifindex: native, else the generic hook (it drops just as well). A link fd or -errno. */
static int attach_xdp(int pfd, int ifindex)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = 0);
	int fd = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);

	if (fd >= 0)
		return fd;
	lo.flags = 2;	/* XDP_FLAGS_SKB_MODE */
	fd = bpf_link_create(pfd, ifindex, BPF_XDP, &lo);
	return fd >= 0 ? fd : -errno;
}

/*
 * Load and attach. Observing (forward, reverse): tc ingress as a TCX link, or XDP where the
 * kernel has no TCX. ptb-test: XDP, which must drop before anything else sees the segment.
 * kfree_skb always. Links are fds: they go when the process does, even on SIGKILL. Returns 0
 * or -errno with *what naming the step that failed.
 */
int pb_open(struct pb *b, const struct target *t, bool xdp, ring_buffer_sample_fn seg_cb,
	    void *ctx, int verbose, const char **what)
{
	int err, fd;

	memset(b, 0, sizeof(*b));
	probe_verbose = verbose;
	libbpf_set_print(libbpf_quiet);
	*what = "open the eBPF object";
	b->skel = probe_bpf__open();
	if (!b->skel)
		return -errno;
	bpf_program__set_expected_attach_type(b->skel->progs.mw_probe_tc, MW_BPF_TCX_INGRESS);
	*what = "load the eBPF programs";
	err = probe_bpf__load(b->skel);
	if (err)
		goto fail;
	b->on = true;
	memcpy(b->cfg.addr, t->addr, 16);
	b->cfg.family = t->family;
	b->cfg.l3 = t->ifi.l3;
	b->cfg.segs = xdp;
	b->cfg.netns = net_self_netns();
	pb_set_cfg(b);
	pb_reset(b);
	fd = -EOPNOTSUPP;
	if (!xdp) {
		/* MW_TEST_REFUSE=mw_probe_tc (the test binary's hook): a kernel without TCX. */
		if (!mw_test_refused("mw_probe_tc"))
			fd = bpf_link_create(bpf_program__fd(b->skel->progs.mw_probe_tc),
					     t->ifi.ifindex, MW_BPF_TCX_INGRESS, NULL);
		if (fd < 0) {
			fd = fd == -EOPNOTSUPP ? fd : -errno;
			pr_warn("note: tc ingress (TCX) on %s refused (%s): observing with XDP "
				"instead\n", t->ifi.name, strerror(-fd));
		}
	}
	if (fd < 0) {
		*what = "attach XDP (one XDP program per interface: is another one there?)";
		fd = attach_xdp(bpf_program__fd(b->skel->progs.mw_probe_xdp), t->ifi.ifindex);
		if (fd < 0) {
			err = fd;
			goto fail;
		}
	}
	b->tc_fd = fd;
	if (xdp) {
		*what = "create the ring buffer";
		b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.probe_segs), seg_cb, ctx, NULL);
		if (!b->rb) {
			err = -errno;
			goto fail;
		}
	}
	*what = "attach the kfree_skb tracepoint";
	b->drop = bpf_program__attach(b->skel->progs.mw_probe_drop);
	if (!b->drop) {
		err = -errno;
		goto fail;
	}
	b->reasons_ok = reasons_from_btf(&b->reasons, NULL) == 0;
	return 0;
fail:
	pb_close(b);
	return err ? err : -EINVAL;
}
