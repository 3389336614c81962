// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The null programs `make bench` runs beside mtuwatch on the same hooks and the same packets:
 * one per-CPU counter, then pass. Their ns/run is what any program costs on that hook (the
 * call, bpf_stats' own clock reads, one map access), so mtuwatch's ratio to them is its own
 * cost. They return "no opinion" so that whatever runs after them still runs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} null_cnt SEC(".maps");

static __always_inline void bump(void)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&null_cnt, &k);

	if (c)
		*c += 1;
}

SEC("tc")
int null_tc(struct __sk_buff *skb)
{
	bump();
	return -1;	/* TC_ACT_UNSPEC / TCX_NEXT */
}

/* The same for tc ingress: TCX wants one program per attach type. */
SEC("tc")
int null_tc_in(struct __sk_buff *skb)
{
	bump();
	return -1;
}

SEC("xdp.frags")
int null_xdp(struct xdp_md *ctx)
{
	bump();
	return XDP_PASS;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(null_kfree_skb)
{
	bump();
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(null_retransmit)
{
	bump();
	return 0;
}
