// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The one definition of each map and shared global of the watcher; what each is for is said
 * where it is declared, in maps.h. A map is defined with its declared type (__typeof__), so
 * that its type, key, value and size are written once. The globals' initial values are the
 * skeleton's: user space may change them between open and load (rodata) or at run time (bss).
 * First in the link, so the skeleton lists the maps and variables in this order.
 */
#include "common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 targ_netns = 0;
const volatile __u32 targ_self_netns = 0;
const volatile __u32 targ_hs_parse = 1;
const volatile __u32 targ_sk_cache = 0;
const volatile __u32 targ_attn = 0;
const volatile __u32 targ_fwd = 0;

__u32 dst_epoch = 0;
__u32 dst_kept = 0;
__u64 self_net = 0;
__u32 fwd_epoch = 0;

__typeof__(events) events SEC(".maps");
__typeof__(counters) counters SEC(".maps");
__typeof__(stats) stats SEC(".maps");
__typeof__(dsts) dsts SEC(".maps");
__typeof__(dsts_keep) dsts_keep SEC(".maps");
__typeof__(flows) flows SEC(".maps");
__typeof__(flow_bloom) flow_bloom SEC(".maps");
__typeof__(flow_attn) flow_attn SEC(".maps");
__typeof__(sk_cache) sk_cache SEC(".maps");
__typeof__(dst_cache) dst_cache SEC(".maps");
__typeof__(hs_fold) hs_fold SEC(".maps");
__typeof__(scratch) scratch SEC(".maps");
__typeof__(ptbs) ptbs SEC(".maps");
__typeof__(ptb_budget) ptb_budget SEC(".maps");
__typeof__(fwd_ifs) fwd_ifs SEC(".maps");
__typeof__(fwd_addrs) fwd_addrs SEC(".maps");
__typeof__(fwd_key) fwd_key SEC(".maps");
__typeof__(fwd_quiet) fwd_quiet SEC(".maps");
