// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's maps and the globals its programs share, declared for every file of it
 * (extern); each is defined once, in maps.bpf.c, and the objects' link (bpftool gen object)
 * makes every file's use the one definition. A map's declaration is its whole definition:
 * the linker checks that both say the same.
 */
#ifndef MW_BPF_MAPS_H
#define MW_BPF_MAPS_H

/* Set by user space between open and load. */
extern const volatile __u32 targ_netns;		/* judge only this namespace (0 = all) */
extern const volatile __u32 targ_self_netns;	/* namespace of the watched interfaces */
extern const volatile __u32 targ_hs_parse;	/* recognise TLS/SSH handshakes */
/* inet_sock_set_state runs as tp_btf: it keeps sk_cache, tc egress and retransmit use it. */
extern const volatile __u32 targ_sk_cache;
/*
 * Arrivals of settled flows skip the flow map (flow_attn). Only with targ_sk_cache, whose
 * egress path reads the socket's snd_una for a re-send (the ACKs it then did not see).
 */
extern const volatile __u32 targ_attn;
/*
 * Follow the flows of sockets in other namespaces (--all-netns) where their packets cross
 * this one: at the node's end of their veth (fwd_ifs), keyed by their address (fwd_addrs).
 */
extern const volatile __u32 targ_fwd;

/* Bumped by user space whenever it writes a path MTU into dsts: invalidates dst_cache. */
extern __u32 dst_epoch;

/* The watched namespace's struct net, learnt by the tracepoints (see net_wanted); 0: not yet. */
extern __u64 self_net;

extern struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MW_RB_BYTES);
} events SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mw_stat_key);
	__type(value, __u64);
} stats SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mw_dst_key);
	__type(value, struct mw_dst_val);
} dsts SEC(".maps");

/*
 * Destinations with a finding (the path MTU user space wrote, see session_set_pmtu), moved
 * out of dsts: a plain hash that churn to more destinations than dsts holds cannot evict.
 * Looked up first, and only while dst_kept says it holds any: healthy traffic pays nothing.
 */
#define MW_DSTS_KEEP	1024
extern struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_DSTS_KEEP);
	__type(key, struct mw_dst_key);
	__type(value, struct mw_dst_val);
} dsts_keep SEC(".maps");

/* Entries user space has put into dsts_keep (0: skip its lookup). */
extern __u32 dst_kept;

extern struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mw_flow_key);
	__type(value, struct mw_flow_val);
} flows SEC(".maps");

/* Ports of tracked flows, counted (see MW_BLOOM_SLOT): most packets skip the flow map. */
extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_BLOOM_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} flow_bloom SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_BLOOM_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} flow_attn SEC(".maps");

/* Local sockets' tracked flows, as tc egress needs them (see struct mw_sk_cache). */
extern struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mw_sk_cache);
} sk_cache SEC(".maps");

extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MW_DST_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct mw_dst_cache);
} dst_cache SEC(".maps");

/*
 * An arrival's ACKED on its way into the HS event of the same segment (see flow_acked), per
 * CPU: on the stack it would push tc egress's call chain past 512 bytes on 6.1. Written and
 * consumed within one program run, so never seen by another packet.
 */
extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_hs_acked);
} hs_fold SEC(".maps");

/* Room for one event being put together, per CPU (the XDP program's stack is full). */
extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_event);
} scratch SEC(".maps");

/* Packet Too Big by kind: a flood of identical (or forged) PTBs is counted, not streamed. */
extern struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mw_ptb_key);
	__type(value, __u64);
} ptbs SEC(".maps");

/* Per-CPU budget of events for new kinds of PTB: [0] = second it counts, [1] = used. */
#define PTB_NEW_PER_SEC	256
extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} ptb_budget SEC(".maps");

/*
 * The node's ends of veths whose other end is in another namespace (a pod's): the one place
 * where that namespace's forwarded segments are followed, so that a segment that also
 * crosses the uplink is counted once, and before any NAT rewrites its addresses. Filled by
 * user space as such interfaces come and go (value: 1).
 */
extern struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} fwd_ifs SEC(".maps");

/*
 * A flow's local address in another namespace -> that namespace (see on_state, fwd_seg). The
 * key is a flow key with only laddr and family set: fwd_seg builds it in the flow key's own
 * memory, which is per-CPU scratch (fwd_key): tc ingress's call chain down to flow_emit has
 * no 48 bytes of stack to spare (512 in all).
 */
extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_flow_key);
} fwd_key SEC(".maps");

/*
 * A pod's settled flows, per CPU, direct-mapped by ports and interface: what a segment leaving
 * the pod must be to change nothing (new bytes, no larger than before), so that a bulk flow's
 * every segment skips the lookups, as a local socket's storage spares tc egress (see
 * egress_sk_busy). Valid while epoch equals fwd_epoch, which every other namespace's
 * ESTABLISHED and CLOSE bump: a reused 4-tuple never inherits an old flow's entry. snd_max
 * is the freshest here: fwd_seg takes it back into the flow map when it looks the flow up.
 */
struct fwd_quiet {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;
	__u16 dport;
	__u32 ifindex;
	__u32 snd_max;
	__u32 max_seg;		/* sizes up to this change nothing */
	__u32 df_ok;		/* DF sizes up to this need no new delivery proof */
	__u32 epoch;		/* fwd_epoch + 1 when filled; 0: empty */
};
#define FWD_QUIET_SLOTS	64

extern struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FWD_QUIET_SLOTS);
	__type(key, __u32);
	__type(value, struct fwd_quiet);
} fwd_quiet SEC(".maps");

extern __u32 fwd_epoch;

extern struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mw_flow_key);
	__type(value, __u32);
} fwd_addrs SEC(".maps");

#endif /* MW_BPF_MAPS_H */
