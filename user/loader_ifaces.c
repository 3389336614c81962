// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The session's interfaces after start: gone (with -i, said once), back under their name,
 * new (without -i, every device that comes up), deleted (forgotten). The driver hears of them
 * from rtnetlink (links.c); attaching itself is loader.c's.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "links.h"
#include "loader.h"
#include "loader_clsact.h"
#include "loader_int.h"
#include "log.h"

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

/* The links of deleted devices (their ifindex now reads 0): closed, so that churn never
 * exhausts link_fds. */
static void close_dead_links(struct mw_session *s)
{
	int j = 0;

	for (int f = 0; f < s->nlink_fds; f++) {
		struct bpf_link_info info = {};
		uint32_t len = sizeof(info);

		/* XDP and TCX links both put the ifindex first in their part of the info */
		if (!bpf_obj_get_info_by_fd(s->link_fds[f], &info, &len) && info.xdp.ifindex == 0) {
			close(s->link_fds[f]);
			continue;
		}
		s->link_fds[j++] = s->link_fds[f];
	}
	s->nlink_fds = j;
}

/* Drop the attach results of the interface named name (replaced, or forgotten). */
static void att_forget(struct mw_session *s, const char *name)
{
	int j = 0;

	for (int a = 0; a < s->natt; a++)
		if (strcmp(s->att[a].iface, name))
			s->att[j++] = s->att[a];
	s->natt = j;
}

/* Room for one more interface's links, attach results and clsact filters. */
static bool room(struct mw_session *s)
{
	return s->nlink_fds + 3 <= 3 * MW_MAX_IFACES && s->nclsact + 3 <= 3 * MW_MAX_IFACES &&
	       s->natt + 4 <= MW_MAX_ATTACH;
}

/*
 * Interface k was just attached: if that made clsact filters, the watchdog (a fork that
 * knows only the filters of its birth) is started again so that it removes these too.
 */
static void attached_since(struct mw_session *s, int had_clsact)
{
	if (s->nclsact == had_clsact)
		return;
	if (s->watchdog > 0) {
		kill(s->watchdog, SIGKILL);
		waitpid(s->watchdog, NULL, 0);
		s->watchdog = 0;
	}
	watchdog_start(s);
}

/*
 * An interface that was deleted and created again under its name (a VPN or container
 * restart): attach to the new device. Its old attach results are replaced by the new ones.
 */
int session_reattach(struct mw_session *s, int k)
{
	struct mw_ifinfo i;
	int had = s->nclsact;

	if (net_iface(s->ifaces[k].name, &i))
		return -ENODEV;
	links_fill(&i, 1);
	session_set_fwd_if(s, s->ifaces[k].ifindex, false);
	close_dead_links(s);
	att_forget(s, i.name);
	if (!room(s))
		return -ENOSPC;
	s->ifaces[k] = i;
	s->if_gone[k] = false;
	loader_attach_iface(s, k);
	attached_since(s, had);
	return 0;
}

/*
 * Interface k's peer moved to another namespace or back (a veth end handed to a pod after
 * it came up): a pod's departures are followed there from now on, or no longer.
 */
void session_iface_fwd(struct mw_session *s, int k, bool fwd)
{
	int had = s->nclsact;
	bool on = fwd && (s->ifaces[k].xdp_ours || s->ifaces[k].fwd_tc || room(s)) &&
		  loader_fwd_out(s, &s->ifaces[k]);

	s->ifaces[k].fwd = fwd;
	session_set_fwd_if(s, s->ifaces[k].ifindex, on);
	attached_since(s, had);
}

int session_add_iface(struct mw_session *s, const struct mw_ifinfo *i)
{
	int k = s->nifaces, had = s->nclsact;

	close_dead_links(s);
	if (k >= MW_MAX_IFACES || !room(s))
		return -ENOSPC;
	s->ifaces[k] = *i;
	s->if_gone[k] = false;
	s->nifaces++;
	loader_attach_iface(s, k);
	attached_since(s, had);
	return k;
}

void session_forget_iface(struct mw_session *s, int k)
{
	uint32_t ifindex = s->ifaces[k].ifindex;
	int j = 0;

	session_set_fwd_if(s, s->ifaces[k].ifindex, false);
	att_forget(s, s->ifaces[k].name);
	close_dead_links(s);
	/* Its filters and qdisc went with the device: nothing to remove at exit. */
	for (int c = 0; c < s->nclsact; c++)
		if (s->clsact[c].ifindex != (int)ifindex)
			s->clsact[j++] = s->clsact[c];
	s->nclsact = j;
	j = 0;
	for (int q = 0; q < s->nqdisc; q++)
		if (s->qdisc[q] != (int)ifindex)
			s->qdisc[j++] = s->qdisc[q];
	s->nqdisc = j;
	memmove(&s->ifaces[k], &s->ifaces[k + 1], (s->nifaces - k - 1) * sizeof(s->ifaces[0]));
	memmove(&s->if_gone[k], &s->if_gone[k + 1], (s->nifaces - k - 1) * sizeof(s->if_gone[0]));
	s->nifaces--;
}
