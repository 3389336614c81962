// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The loaded session at run time: its ring buffer, and the maps the kernel side counts in
 * (counters, stats, ptbs) or reads (dsts). The rest of the tool asks through these functions
 * and never sees the skeleton.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "mtuwatch.skel.h"

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

/* Entry k of dsts_keep goes back to dsts with its path MTU: evictable by churn again. */
static int keep_release(struct mw_session *s, const struct mw_dst_key *k)
{
	int fd = bpf_map__fd(s->skel->maps.dsts), kfd = bpf_map__fd(s->skel->maps.dsts_keep);
	struct mw_dst_val v;

	if (bpf_map_lookup_elem(kfd, k, &v))
		return -ENOENT;
	v.kept = 0;
	/* In dsts before it leaves dsts_keep: tc egress never finds neither. */
	bpf_map_update_elem(fd, k, &v, BPF_ANY);
	if (bpf_map_delete_elem(kfd, k))
		return -errno;
	__atomic_sub_fetch(&s->skel->bss->dst_kept, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* dsts_keep is full and an alarm needs a slot: the first learned (healthy) entry gives its own. */
static int keep_make_room(struct mw_session *s)
{
	int kfd = bpf_map__fd(s->skel->maps.dsts_keep);
	struct mw_dst_key k, next, *prev = NULL;
	struct mw_dst_val v;

	while (!bpf_map_get_next_key(kfd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(kfd, &k, &v) && v.kept != MW_DST_KEEP_ALARM)
			return keep_release(s, &k);
	}
	return -ENOSPC;
}

void session_set_pmtu(struct mw_session *s, uint32_t ifindex, uint8_t family, const uint8_t *dst,
		      uint32_t mtu, bool alarm)
{
	struct mw_dst_key k = {};
	struct mw_dst_val v = {};
	int fd, kfd, err;
	bool kept;

	if (!s->skel)
		return;
	fd = bpf_map__fd(s->skel->maps.dsts);
	kfd = bpf_map__fd(s->skel->maps.dsts_keep);
	k.ifindex = ifindex;
	k.family = family;
	memcpy(k.daddr, dst, family == 6 ? 16 : 4);
	kept = !bpf_map_lookup_elem(kfd, &k, &v);
	if (!kept && bpf_map_lookup_elem(fd, &k, &v))
		memset(&v, 0, sizeof(v));
	v.pmtu = mtu;
	v.over_seen = 0;
	v.kept = alarm ? MW_DST_KEEP_ALARM : MW_DST_KEEP_LEARNED;
	/*
	 * A destination with a finding moves to dsts_keep, which churn to new destinations
	 * cannot evict (dsts is an LRU). dst_kept is raised before the dsts entry goes, so tc
	 * egress looks in dsts_keep first from then on. dsts_keep full: an alarm takes a learned
	 * entry's slot; else it stays in dsts.
	 */
	err = bpf_map_update_elem(kfd, &k, &v, BPF_ANY) ? -errno : 0;
	if (err == -E2BIG && alarm && !keep_make_room(s))
		err = bpf_map_update_elem(kfd, &k, &v, BPF_ANY) ? -errno : 0;
	if (!err) {
		if (!kept)
			__atomic_add_fetch(&s->skel->bss->dst_kept, 1, __ATOMIC_SEQ_CST);
		bpf_map_delete_elem(fd, &k);
	} else {
		v.kept = 0;
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	}
	/* tc egress's per-CPU destination cache must look at the maps again. */
	__atomic_add_fetch(&s->skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
}

int session_keep_sweep(struct mw_session *s,
		       bool (*standing)(uint8_t family, const uint8_t *dst, void *ctx), void *ctx)
{
	struct mw_dst_key gone[64], k, next, *prev = NULL;
	int kfd, n = 0, released = 0;

	if (!s->skel)
		return 0;
	kfd = bpf_map__fd(s->skel->maps.dsts_keep);
	/* Collected first: deleting while walking the keys would restart the walk. */
	while (n < (int)(sizeof(gone) / sizeof(gone[0])) && !bpf_map_get_next_key(kfd, prev, &next)) {
		k = next;
		prev = &k;
		if (!standing(k.family, k.daddr, ctx))
			gone[n++] = k;
	}
	for (int i = 0; i < n; i++)
		if (!keep_release(s, &gone[i]))
			released++;
	if (released)
		__atomic_add_fetch(&s->skel->bss->dst_epoch, 1, __ATOMIC_SEQ_CST);
	return released;
}

void session_set_fwd_if(struct mw_session *s, uint32_t ifindex, bool on)
{
	uint32_t one = 1;
	int fd;

	if (!s->skel || !ifindex)
		return;
	fd = bpf_map__fd(s->skel->maps.fwd_ifs);
	if (on)
		bpf_map_update_elem(fd, &ifindex, &one, BPF_ANY);
	else
		bpf_map_delete_elem(fd, &ifindex);
}
