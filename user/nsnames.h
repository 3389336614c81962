/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Names of other network namespaces, for findings (docs/design.md "Names of other
 * namespaces"): the /run/netns name, else a process inside ("pid N (comm)"); a Kubernetes pod
 * ("namespace/name", container) from the pod UID in a process's cgroup path and the kubelet's
 * /var/log/pods directories, never the API server; interfaces by ifindex, asked in the
 * namespace itself. All of it I/O: the driver asks, and feeds what it learns into the event
 * stream (struct mw_nsname, IFACE events), where record keeps it for report.
 */
#ifndef MW_NSNAMES_H
#define MW_NSNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mtuwatch.h"

/* Where the kubelet keeps its logs (tests point them elsewhere only to unit-test the parsing). */
extern const char *nsn_pods_root;		/* /var/log/pods */
extern const char *nsn_containers_root;	/* /var/log/containers */

/*
 * Pure parsers. nsn_cgroup_pod: a cgroup path (a line of /proc/PID/cgroup or the path alone)
 * that holds a pod UID (kubepods...-pod<uid with _ or ->.slice, or /kubepods/.../pod<uid>/):
 * the UID with dashes, and the container ID (64 hex) of the component after it, "" if none.
 * nsn_pod_dir: "NAMESPACE_NAME_UID" (a /var/log/pods entry) of that UID: "namespace/name".
 * nsn_container_log: "POD_NAMESPACE_CONTAINER-ID.log" (a /var/log/containers entry) of that
 * container ID: the container's name.
 */
bool nsn_cgroup_pod(const char *cgroup, char *uid, size_t ulen, char *cid, size_t clen);
bool nsn_pod_dir(const char *name, const char *uid, char *pod, size_t len);
bool nsn_container_log(const char *name, const char *cid, char *container, size_t len);

/*
 * Resolve the namespace of inode now: names and cookie into out (ts_ns left to the caller),
 * the file it was found by into via (to check later that it still is that namespace). 0, or
 * -ENOENT when no such namespace is reachable.
 */
int nsn_resolve(uint32_t inode, struct mw_nsname *out, char *via, size_t vialen);

/* What the driver learned, per inode, bounded; the exporter reads names from it. */
struct nsn_cache;
struct nsn_cache *nsn_new(void);
void nsn_free(struct nsn_cache *c);
/*
 * An event of namespace inode (cookie: a STATE's, else 0) at now_ns: 1 when out holds names to
 * feed (first sight; the namespace behind the inode changed; a retry that found it).
 */
int nsn_check(struct nsn_cache *c, uint32_t inode, uint64_t cookie, uint64_t now_ns,
	      struct mw_nsname *out);
/* An ifindex of namespace inode: 1 when out holds an IFACE event to feed (name, MTU). */
int nsn_iface(struct nsn_cache *c, uint32_t inode, uint32_t ifindex, uint64_t now_ns,
	      struct mw_event *out);
/* fn for every namespace named now whose last event came at since_ns or later; how many. */
int nsn_each(struct nsn_cache *c, uint64_t since_ns,
	     void (*fn)(uint32_t inode, uint64_t cookie, void *ctx), void *ctx);
/* The names last resolved for inode (NULL: none); an interface's name ("" unknown). */
const struct mw_nsname *nsn_names(struct nsn_cache *c, uint32_t inode);
const char *nsn_ifname(struct nsn_cache *c, uint32_t inode, uint32_t ifindex);

#endif
