// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Names of other namespaces (nsnames.h). Resolved once per namespace, when its first event
 * arrives, and checked again at most once a second (a stat of the file it was found by): the
 * kernel hands a dead namespace's inode to the next one, and a name must never outlive its
 * namespace. Into the namespace only through netutil's netns_open() / netns_socket() /
 * nl_request_ns(); the pod from files any node has, without the API server.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "netutil.h"
#include "nsnames.h"

const char *nsn_pods_root = "/var/log/pods";
const char *nsn_containers_root = "/var/log/containers";

#define NSN_MAX 512		/* namespaces remembered (oldest forgotten first) */
#define NSN_IFACES 16		/* interfaces per namespace */
#define NSN_RECHECK_NS (1000 * 1000000ULL)	/* is it still the namespace we named? */
#define NSN_RETRY_NS (5000 * 1000000ULL)	/* a namespace or interface not found: again */
/*
 * A namespace we named is gone: the kernel gives its inode to the next one created, so its
 * events are asked about again soon (a few a second while it dies, none once it is gone).
 */
#define NSN_GONE_RETRY_NS (10 * 1000000ULL)
#define NSN_MAX_PIDS 256	/* processes of one namespace whose cgroup is read */

/* ---- parsers ------------------------------------------------------------------------------ */

/* A pod UID at s: 8-4-4-4-12 hex digits, the separators '-' or (systemd slices) '_'. */
static bool uid_at(const char *s, char *uid, size_t len)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	char out[37];
	int o = 0;

	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, o++) {
			if (!isxdigit((unsigned char)s[o]))
				return false;
			out[o] = tolower((unsigned char)s[o]);
		}
		if (g < 4) {
			if (s[o] != '-' && s[o] != '_')
				return false;
			out[o++] = '-';
		}
	}
	/* the UID ends its component: ".slice", "/", end */
	if (s[o] && s[o] != '.' && s[o] != '/' && s[o] != '\n')
		return false;
	out[o] = 0;
	snprintf(uid, len, "%s", out);
	return true;
}

bool nsn_cgroup_pod(const char *cgroup, char *uid, size_t ulen, char *cid, size_t clen)
{
	const char *p, *end, *id;

	if (cid && clen)
		cid[0] = 0;
	for (p = strstr(cgroup, "pod"); p; p = strstr(p + 1, "pod")) {
		/* kubepods-besteffort-pod<uid>.slice, kubepods-pod<uid>.slice, /pod<uid>/ */
		if (p == cgroup || (p[-1] != '-' && p[-1] != '/'))
			continue;
		if (uid_at(p + 3, uid, ulen))
			break;
	}
	if (!p)
		return false;
	/* The container: the next component, e.g. cri-containerd-<id>.scope or <id> */
	p = strchr(p, '/');
	if (!p || !cid || !clen)
		return true;
	p++;
	end = p + strcspn(p, "/\n");
	id = end;
	while (id > p && id[-1] != '-')
		id--;
	if (end - id > 6 && !strncmp(end - 6, ".scope", 6))
		end -= 6;
	if (end - id != 64)
		return true;
	for (const char *q = id; q < end; q++)
		if (!isxdigit((unsigned char)*q))
			return true;
	snprintf(cid, clen, "%.64s", id);
	return true;
}

/* Kubernetes namespaces, pod and container names are DNS labels/subdomains: never a '_'. */
bool nsn_pod_dir(const char *name, const char *uid, char *pod, size_t len)
{
	const char *a = strchr(name, '_'), *b = strrchr(name, '_');

	if (!a || a == b || a == name || b == a + 1 || strcasecmp(b + 1, uid))
		return false;
	snprintf(pod, len, "%.*s/%.*s", (int)(a - name), name, (int)(b - a - 1), a + 1);
	return true;
}

bool nsn_container_log(const char *name, const char *cid, char *container, size_t len)
{
	size_t n = strlen(name), k = strlen(cid);
	const char *a, *b, *end;

	/* POD_NAMESPACE_CONTAINER-<id>.log */
	if (!k || n < k + 6 || strcmp(name + n - 4, ".log") ||
	    strncmp(name + n - 4 - k, cid, k) || name[n - 5 - k] != '-')
		return false;
	end = name + n - 5 - k;
	a = strchr(name, '_');
	b = a ? strchr(a + 1, '_') : NULL;
	if (!b || b + 1 >= end || memchr(b + 1, '_', end - b - 1))
		return false;
	snprintf(container, len, "%.*s", (int)(end - b - 1), b + 1);
	return true;
}

/* ---- the pod of a process ----------------------------------------------------------------- */

/* The pod whose UID is uid, from the kubelet's log directories: "namespace/name". */
static bool pod_of_uid(const char *uid, char *pod, size_t len, char *pdir, size_t plen)
{
	DIR *d = opendir(nsn_pods_root);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] != '.' && nsn_pod_dir(e->d_name, uid, pod, len)) {
			snprintf(pdir, plen, "%s/%s", nsn_pods_root, e->d_name);
			found = true;
		}
	closedir(d);
	return found;
}

/*
 * The container's name: the kubelet's /var/log/containers link names it with its ID; else, a
 * pod with one container directory has only that one.
 */
static void container_of(const char *pdir, const char *cid, char *out, size_t len)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	out[0] = 0;
	if (cid[0] && (d = opendir(nsn_containers_root))) {
		while (!out[0] && (e = readdir(d)))
			nsn_container_log(e->d_name, cid, out, len);
		closedir(d);
		if (out[0])
			return;
	}
	if (!(d = opendir(pdir)))
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if (n++)
			break;
		snprintf(out, len, "%s", e->d_name);
	}
	closedir(d);
	if (n != 1)
		out[0] = 0;
}

/* A pod from one process's cgroup: true when the pod is known (container maybe). */
static bool pod_of_pid(const char *pid, struct mw_nsname *out)
{
	char path[64], line[1024], uid[40], cid[72], pdir[600];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	if (!(f = fopen(path, "re")))
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (nsn_cgroup_pod(line, uid, sizeof(uid), cid, sizeof(cid)) &&
		    pod_of_uid(uid, out->pod, sizeof(out->pod), pdir, sizeof(pdir))) {
			container_of(pdir, cid, out->container, sizeof(out->container));
			found = true;
		}
	fclose(f);
	return found;
}

/*
 * The pod of namespace inode: the processes inside, the first that names its container (a
 * pod's sandbox "pause" process has no log directory), else the first that names the pod.
 */
static void pod_of_ns(uint32_t inode, struct mw_nsname *out)
{
	struct mw_nsname best = {}, one;
	char path[300];
	struct dirent *e;
	struct stat st;
	int n = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((e = readdir(d)) && n < NSN_MAX_PIDS) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		if (stat(path, &st) || (uint32_t)st.st_ino != inode)
			continue;
		n++;
		memset(&one, 0, sizeof(one));
		if (!pod_of_pid(e->d_name, &one))
			continue;
		if (!best.pod[0] || (!best.container[0] && one.container[0]))
			best = one;
		if (best.container[0])
			break;
	}
	closedir(d);
	memcpy(out->pod, best.pod, sizeof(out->pod));
	memcpy(out->container, best.container, sizeof(out->container));
}

int nsn_resolve(uint32_t inode, struct mw_nsname *out, char *via, size_t vialen)
{
	char label[MW_NS_NAME_LEN], path[300];
	struct stat st;
	unsigned pid;
	int fd;

	memset(out, 0, sizeof(*out));
	out->netns = inode;
	fd = netns_open(inode, label, sizeof(label));
	if (fd < 0)
		return fd;
	out->cookie = netns_cookie(fd);
	close(fd);
	snprintf(out->netns_name, sizeof(out->netns_name), "%s", label);
	/* found in /run/netns, or by a process ("pid N (comm)") */
	snprintf(path, sizeof(path), "/run/netns/%s", label);
	if (stat(path, &st) || (uint32_t)st.st_ino != inode) {
		if (sscanf(label, "pid %u", &pid) == 1)
			snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
		else
			path[0] = 0;
	}
	snprintf(via, vialen, "%s", path);
	pod_of_ns(inode, out);
	return 0;
}

/* ---- the driver's cache ------------------------------------------------------------------- */

struct nsn_if {
	uint32_t ifindex;
	bool known;
	uint64_t tried_ns;
	uint32_t mtu;
	char name[MW_IFNAME_LEN];
};

struct nsn_ent {
	uint32_t inode;
	bool resolved;
	bool gone;		/* was resolved, then not found: the inode may come back */
	uint64_t checked_ns;
	uint64_t seen_ns;	/* its last event */
	char via[300];
	struct mw_nsname n;
	struct nsn_if ifs[NSN_IFACES];
	int nifs;
};

struct nsn_cache {
	struct nsn_ent e[NSN_MAX];
	int n, next;
	int last;		/* index of the last hit + 1: events come in runs per namespace */
};

struct nsn_cache *nsn_new(void)
{
	return calloc(1, sizeof(struct nsn_cache));
}

void nsn_free(struct nsn_cache *c)
{
	free(c);
}

static struct nsn_ent *find(struct nsn_cache *c, uint32_t inode)
{
	if (c->last && c->e[c->last - 1].inode == inode)
		return &c->e[c->last - 1];
	for (int i = 0; i < c->n; i++)
		if (c->e[i].inode == inode) {
			c->last = i + 1;
			return &c->e[i];
		}
	return NULL;
}

static bool still_there(const struct nsn_ent *x)
{
	struct stat st;

	return x->via[0] && !stat(x->via, &st) && (uint32_t)st.st_ino == x->inode;
}

int nsn_check(struct nsn_cache *c, uint32_t inode, uint64_t cookie, uint64_t now_ns,
	      struct mw_nsname *out)
{
	struct nsn_ent *x = find(c, inode);
	struct mw_nsname n;
	char via[300];

	if (x)
		x->seen_ns = now_ns;
	if (!x) {
		int i = c->n < NSN_MAX ? c->n++ : c->next++ % NSN_MAX;

		x = &c->e[i];
		memset(x, 0, sizeof(*x));
		x->inode = inode;
		x->seen_ns = now_ns;
		c->last = i + 1;
	} else if (cookie && x->n.cookie && cookie != x->n.cookie) {
		;	/* a socket of another namespace of that inode: ask again now */
	} else if (x->resolved && now_ns < x->checked_ns + NSN_RECHECK_NS) {
		return 0;
	} else if (x->resolved) {
		x->checked_ns = now_ns;
		if (still_there(x))
			return 0;
	} else if (x->checked_ns &&
		   now_ns < x->checked_ns + (x->gone ? NSN_GONE_RETRY_NS : NSN_RETRY_NS)) {
		return 0;
	}
	x->checked_ns = now_ns ? now_ns : 1;
	if (nsn_resolve(inode, &n, via, sizeof(via))) {
		/*
		 * Gone: what it was called stays with its findings (so do a dying namespace's last
		 * events), and it is asked again at the next event after NSN_GONE_RETRY_NS: the
		 * next namespace to get the inode is named before the core sees its first event.
		 */
		if (x->resolved)
			x->gone = true;
		x->resolved = false;
		return 0;
	}
	x->gone = false;
	/* The same namespace, the same names: nothing to say again. */
	if (x->resolved && n.cookie == x->n.cookie && !strcmp(n.netns_name, x->n.netns_name) &&
	    !strcmp(n.pod, x->n.pod) && !strcmp(n.container, x->n.container)) {
		snprintf(x->via, sizeof(x->via), "%s", via);
		return 0;
	}
	if (n.cookie != x->n.cookie)
		x->nifs = 0;	/* another namespace: its interfaces are its own */
	x->n = n;
	x->resolved = true;
	snprintf(x->via, sizeof(x->via), "%s", via);
	*out = n;
	return 1;
}

int nsn_iface(struct nsn_cache *c, uint32_t inode, uint32_t ifindex, uint64_t now_ns,
	      struct mw_event *out)
{
	struct nsn_ent *x = find(c, inode);
	struct mw_ifinfo info;
	struct nsn_if *f = NULL;
	int fd;

	if (!x || !x->resolved)
		return 0;
	for (int i = 0; i < x->nifs; i++)
		if (x->ifs[i].ifindex == ifindex)
			f = &x->ifs[i];
	if (f && (f->known || now_ns < f->tried_ns + NSN_RETRY_NS))
		return 0;
	if (!f) {
		f = &x->ifs[x->nifs < NSN_IFACES ? x->nifs++ : (int)(ifindex % NSN_IFACES)];
		memset(f, 0, sizeof(*f));
		f->ifindex = ifindex;
	}
	f->tried_ns = now_ns;
	fd = netns_open(inode, NULL, 0);
	if (fd < 0)
		return 0;
	/* Only the namespace named: if the inode now stands for another, say nothing. */
	if (netns_cookie(fd) != x->n.cookie || net_link_ns(fd, ifindex, &info)) {
		close(fd);
		return 0;
	}
	close(fd);
	f->known = true;
	f->mtu = info.mtu;
	snprintf(f->name, sizeof(f->name), "%s", info.name);
	memset(out, 0, sizeof(*out));
	out->type = MW_EV_IFACE;
	out->netns = inode;
	out->ifindex = ifindex;
	out->mtu = info.mtu;
	memcpy(out->ifname, f->name, sizeof(out->ifname));
	return 1;
}

int nsn_each(struct nsn_cache *c, uint64_t since_ns,
	     void (*fn)(uint32_t inode, uint64_t cookie, void *ctx), void *ctx)
{
	int n = 0;

	for (int i = 0; i < c->n; i++) {
		const struct nsn_ent *x = &c->e[i];

		if (x->resolved && x->seen_ns >= since_ns) {
			fn(x->inode, x->n.cookie, ctx);
			n++;
		}
	}
	return n;
}

const struct mw_nsname *nsn_names(struct nsn_cache *c, uint32_t inode)
{
	struct nsn_ent *x = find(c, inode);

	return x && x->n.netns_name[0] ? &x->n : NULL;
}

const char *nsn_ifname(struct nsn_cache *c, uint32_t inode, uint32_t ifindex)
{
	struct nsn_ent *x = find(c, inode);

	for (int i = 0; x && i < x->nifs; i++)
		if (x->ifs[i].ifindex == ifindex && x->ifs[i].known)
			return x->ifs[i].name;
	return "";
}
