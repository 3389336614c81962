/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * vmlinux.h with the two program contexts declared without CO-RE. vmlinux.h marks every
 * struct for relocation, and libbpf relocates each such type by walking the kernel's whole
 * BTF (~150k types, about a millisecond each at start-up); struct __sk_buff and struct xdp_md
 * are UAPI, whose fields the verifier rewrites by offset and no kernel moves. Their names stay
 * what the verifier looks for in a global function's context argument.
 */
#ifndef MW_KERNEL_H
#define MW_KERNEL_H

#define __sk_buff __sk_buff___vmlinux
#define xdp_md xdp_md___vmlinux
#include "vmlinux.h"
#undef __sk_buff
#undef xdp_md

#define MW_MD_PTR(type, name)	union { type name; __u64 :64; } __attribute__((aligned(8)))

/* As include/uapi/linux/bpf.h declares them. */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
	MW_MD_PTR(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	MW_MD_PTR(struct bpf_sock *, sk);
	__u32 gso_size;
	__u8 tstamp_type;
	__u32 :24;
	__u64 hwtstamp;
};

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

_Static_assert(__builtin_offsetof(struct __sk_buff, sk) == 168 &&
	       __builtin_offsetof(struct __sk_buff, gso_size) == 176 &&
	       sizeof(struct __sk_buff) == 192 && sizeof(struct xdp_md) == 24, "UAPI layout");

#endif /* MW_KERNEL_H */
