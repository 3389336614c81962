// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `mtuwatch export`: the same live data path, rendered as Prometheus metrics, served over
 * HTTP or written for node_exporter's textfile collector. Counters are read from the kernel's
 * maps at scrape time; paths and stall counts come from the core.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include "commands.h"
#include "driver.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "nsnames.h"
#include "webconfig.h"

#define MAX_STATS 4096

struct exp {
	struct httpd *h;
	const char *web_config;
	struct webconfig wc;
	const char *textfile_dir;
	int interval;
	uint64_t next_write;
	int prefix4, prefix6, top;
	unsigned int max_conns;
	char kernel[128];
	struct mw_metric_stat *stats;
	struct mw_finding_count *findings;	/* mtuwatch_findings_total */
	int nfindings;
};

static struct exp X;

static void ifname_of(struct mw_driver *d, uint32_t ifindex, uint32_t netns, char *buf, size_t len)
{
	char n[IF_NAMESIZE];
	struct mw_event ie;

	/* another namespace's device, as that namespace calls it: asked there (nsnames.h) */
	if (ifindex && netns && netns != d->s.self_netns && d->nsn) {
		if (nsn_iface(d->nsn, netns, ifindex, mono_ns(), &ie) > 0) {
			ie.ts_ns = mono_ns();
			driver_event(&ie, d);
		}
		snprintf(buf, len, "%s", nsn_ifname(d->nsn, netns, ifindex));
		if (!buf[0])
			snprintf(buf, len, "if%u", ifindex);
		return;
	}
	if (!ifindex)
		snprintf(buf, len, "%s", "");
	else if (netns == d->s.self_netns && if_indextoname(ifindex, n))
		snprintf(buf, len, "%s", n);
	else if (netns != d->s.self_netns)
		snprintf(buf, len, "if%u@%u", ifindex, netns);	/* another namespace's */
	else
		snprintf(buf, len, "if%u", ifindex);
}

struct stats_walk {
	struct mw_driver *d;
	struct mw_metric_stat *out;
	int n, max;
};

/* One labelled counter of the kernel's stats map (summed over CPUs by the loader). */
static int stat_one(const struct mw_stat_key *k, uint64_t value, void *ctx)
{
	struct stats_walk *w = ctx;
	struct mw_metric_stat *s = &w->out[w->n];
	const char *rn;

	memset(s, 0, sizeof(*s));
	s->value = value;
	s->kind = k->kind;
	s->family = k->family;
	ifname_of(w->d, k->ifindex, k->netns, s->iface, sizeof(s->iface));
	if (k->netns && k->netns != w->d->s.self_netns && w->d->nsn) {
		const struct mw_nsname *n = nsn_names(w->d->nsn, k->netns);
		struct mw_ns_label l = {};

		if (n) {
			memcpy(l.netns_name, n->netns_name, sizeof(l.netns_name));
			memcpy(l.pod, n->pod, sizeof(l.pod));
		}
		metrics_ns_labels(k->netns, n ? &l : NULL, s->netns, s->pod);
	}
	rn = k->kind == MW_STAT_PTB_DROP ? driver_reason(k->reason, w->d) : NULL;
	if (rn)
		snprintf(s->reason, sizeof(s->reason), "%s", rn);
	else
		snprintf(s->reason, sizeof(s->reason), "REASON_%u", k->reason);
	w->n = metrics_merge_stat(w->out, w->n);
	return w->n >= w->max;
}

/* The per-CPU labelled counters of the kernel's stats map, as metric rows. */
static int read_stats(struct mw_driver *d, struct mw_metric_stat *out, int max)
{
	struct stats_walk w = { .d = d, .out = out, .max = max };

	if (max <= 0 || session_read_stats(&d->s, stat_one, &w))
		return 0;
	return w.n;
}

/* The core's findings, counted as live would print them. */
static void exp_finding(const struct mw_finding *f, void *ctx)
{
	(void)ctx;
	X.nfindings = metrics_count_finding(X.findings, X.nfindings, f);
}

static int render(void *ctx, char **body, size_t *len)
{
	struct mw_driver *d = ctx;
	struct mw_metric_attach att[MW_MAX_ATTACH];
	struct mw_metrics_in in = {};
	struct timespec ts;

	for (int i = 0; i < d->s.natt; i++) {
		snprintf(att[i].program, sizeof(att[i].program), "%s", d->s.att[i].prog);
		snprintf(att[i].iface, sizeof(att[i].iface), "%s", d->s.att[i].iface);
		att[i].attached = d->s.att[i].attached;
	}
	/* Queued events first, so that a scrape sees everything up to now. */
	session_poll(&d->s, 0);
	in.stats = X.stats;
	in.nstats = read_stats(d, X.stats, MAX_STATS);
	in.att = att;
	in.natt = d->s.natt;
	in.core = d->core;
	in.prefix4 = X.prefix4;
	in.prefix6 = X.prefix6;
	in.top = X.top;
	in.events_lost = session_counter(&d->s, MW_CNT_EVENTS_LOST);
	in.ptb_suppressed = session_counter(&d->s, MW_CNT_PTB_SUPPRESSED);
	in.version = MW_VERSION;
	in.kernel = X.kernel;
	in.findings = X.findings;
	in.nfindings = X.nfindings;
	in.now_ns = mono_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	in.now_wall = ts.tv_sec + ts.tv_nsec / 1e9;
	return metrics_render(&in, body, len);
}

/*
 * The temporary file: a random name, created exclusively and never through a symlink, so that
 * whoever can write to DIR cannot plant a link that makes us (root) overwrite another file
 * (a predictable name opened with O_TRUNC did). 0644 by fchmod, whatever our umask.
 */
static int open_tmp(char *tmp, size_t len)
{
	for (int i = 0; i < 16; i++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(tmp, len, "%s/.mtuwatch.prom.%016llx", X.textfile_dir,
			 (unsigned long long)r);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (fchmod(fd, 0644)) {
				int e = -errno;

				close(fd);
				unlink(tmp);
				return e;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int write_textfile(struct mw_driver *d)
{
	char path[PATH_MAX], tmp[PATH_MAX], *body = NULL;
	size_t len = 0;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/mtuwatch.prom", X.textfile_dir);
	if (render(d, &body, &len))
		return -ENOMEM;
	fd = open_tmp(tmp, sizeof(tmp));
	if (fd < 0) {
		err = fd;
		goto out;
	}
	/* Write then rename (which replaces a link at path, never follows it): atomic. */
	if (write(fd, body, len) != (ssize_t)len || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(body);
	return err;
}

/*
 * A directory anyone may write to without the sticky bit lets anyone rename or delete our
 * files in it, or swap mtuwatch.prom between our rename and the collector's read: refused.
 */
static int textfile_dir_ok(const char *dir)
{
	struct stat st;

	if (stat(dir, &st)) {
		pr_warn("Cannot use %s: %s -- give node_exporter's textfile directory\n", dir,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pr_warn("Cannot use %s: not a directory -- give node_exporter's textfile "
			"directory\n", dir);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		pr_warn("Refusing --textfile %s: it is world-writable without the sticky bit, "
			"anyone could replace the metrics -- chmod o-w (or +t) it\n", dir);
		return -1;
	}
	return 0;
}

static int exp_poll(struct mw_driver *d, int ms)
{
	struct pollfd fds[1 + HTTPD_POLLFDS];
	int n = 1, t, err;

	fds[0].fd = session_poll_fd(&d->s);
	fds[0].events = POLLIN;
	if (X.h) {
		n += httpd_pollfds(X.h, fds + 1, HTTPD_POLLFDS);
		t = httpd_next_timeout_ms(X.h);
		if (t >= 0 && t < ms)
			ms = t;
	}
	err = poll(fds, n, ms);
	if (err < 0)
		return errno == EINTR ? 0 : -errno;
	/* Whether or not the kernel woke us (it does only past a backlog): read the ring. */
	session_consume(&d->s);
	if (X.h)
		httpd_process(X.h, fds + 1, n - 1, render, d);
	return 0;
}

static void exp_tick(struct mw_driver *d)
{
	uint64_t now = mono_ns();
	int err;

	if (!X.textfile_dir || now < X.next_write)
		return;
	X.next_write = now + (uint64_t)X.interval * 1000000000ULL;
	err = write_textfile(d);
	if (err)
		pr_warn("Failed to write %s/mtuwatch.prom: %s\n", X.textfile_dir, strerror(-err));
}

static int exp_extra(int c, const char *arg, void *ctx)
{
	long v;

	switch (c) {
	case 'l':
		*(const char **)ctx = arg;
		return 0;
	case 't':
		X.textfile_dir = arg;
		return 0;
	case 'W':
		X.web_config = arg;
		return 0;
	case 'I':
		if (parse_uint(arg, "interval", 86400, &v))
			return -1;
		if (!v) {
			pr_warn("Invalid interval 0 -- use at least 1 second\n");
			return -1;
		}
		X.interval = v;
		return 0;
	case '4':
		if (parse_uint(arg, "IPv4 prefix length", 32, &v))
			return -1;
		X.prefix4 = v;
		return 0;
	case '6':
		if (parse_uint(arg, "IPv6 prefix length", 128, &v))
			return -1;
		X.prefix6 = v;
		return 0;
	case 'T':
		if (parse_uint(arg, "top", 256, &v))
			return -1;
		X.top = v;
		return 0;
	case 'C':
		if (parse_uint(arg, "max-connections", HTTPD_MAX_CONNS_LIMIT, &v))
			return -1;
		if (!v) {
			pr_warn("Invalid max-connections 0 -- use 1 to %d\n",
				HTTPD_MAX_CONNS_LIMIT);
			return -1;
		}
		X.max_conns = v;
		return 0;
	}
	return -1;
}

/*
 * Reads the web config in a child, so that a bad file is refused before any BPF work without
 * bringing GnuTLS and libmicrohttpd into this process ahead of the BPF load (see cmd_export).
 * Returns 0 if the file is good, 2 (the child said why) if not, 1 if no child could run.
 */
static int webconfig_precheck(const char *path)
{
	struct webconfig wc;
	char err[512];
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_warn("Failed to check %s: fork: %s\n", path, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		if (webconfig_load(path, &wc, err, sizeof(err))) {
			pr_warn("%s\n", err);
			_exit(2);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void exp_usage(FILE *o)
{
	fprintf(o, "Usage: mtuwatch export [--listen ADDR:PORT | --textfile DIR [--interval SECS]]\n"
		   "                       [-i IFACE]... [--all-netns] [--prefix4 LEN] [--prefix6 LEN]\n"
		   "                       [--top N] [--web-config FILE] [--max-connections N]\n"
		   "                       [--confirm] [--xdp]\n"
		   "Serves Prometheus metrics on /metrics (default 127.0.0.1:9877), or writes\n"
		   "DIR/mtuwatch.prom every SECS (default 15) for node_exporter's textfile collector.\n"
		   "Destinations are aggregated to /24 and /64 by default, at most 20 path series.\n"
		   "Binding beyond loopback is your explicit choice: --listen 0.0.0.0:9877.\n"
		   "--web-config FILE: TLS and basic auth, in the format of Prometheus'\n"
		   "exporter-toolkit (node_exporter's --web.config.file).\n"
		   "--max-connections N: concurrent HTTP connections (default 16, 1-1024).\n"
		   "--confirm: probe a suspect path's destination to measure its MTU (as live\n"
		   "does).\n");
}

int cmd_export(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'I' },
		{ "prefix4", required_argument, NULL, '4' },
		{ "prefix6", required_argument, NULL, '6' },
		{ "top", required_argument, NULL, 'T' },
		{ "web-config", required_argument, NULL, 'W' },
		{ "max-connections", required_argument, NULL, 'C' },
		{},
	};
	const char *listen = NULL;
	struct httpd_addr la;
	struct watch_opts w = {};
	struct mw_driver d = {};
	struct utsname u;
	char err[512];
	int rc, lfd = -1;

	X = (struct exp){ .interval = 15, .prefix4 = 24, .prefix6 = 64, .top = 20 };
	if (parse_watch_opts(argc, argv, &w, "", longs, exp_extra, &listen))
		return usage_error();
	if (w.help) {
		exp_usage(stdout);
		return 0;
	}
	/* An exporter runs unattended on every node: it probes only when told (--confirm). */
	if (w.confirm < 0)
		w.confirm = 0;
	if (listen && X.textfile_dir) {
		pr_warn("Choose one of --listen and --textfile\n");
		return 2;
	}
	if (!X.textfile_dir && !listen)
		listen = "127.0.0.1:9877";
	/* httpd's own parser: a typo is a usage error, found before any work. */
	if (listen && httpd_listen_parse(listen, &la, err, sizeof(err))) {
		pr_warn("%s\n", err);
		return 2;
	}
	if (X.textfile_dir && access(X.textfile_dir, W_OK)) {
		pr_warn("Cannot write to %s: %s -- give node_exporter's textfile directory\n",
			X.textfile_dir, strerror(errno));
		return 2;
	}
	if (X.textfile_dir && textfile_dir_ok(X.textfile_dir))
		return 1;
	if (X.web_config && X.textfile_dir) {
		pr_warn("--web-config applies to --listen, not to --textfile\n");
		return 2;
	}
	/* Before any BPF work: a bad file is a usage error, never a half-configured server. */
	if (X.web_config && (rc = webconfig_precheck(X.web_config)))
		return rc;
	uname(&u);
	snprintf(X.kernel, sizeof(X.kernel), "%s", u.release);
	/* The port too: a busy one is refused before the BPF work. */
	if (listen && (lfd = httpd_listen(listen, err, sizeof(err))) < 0) {
		pr_warn("%s\n", err);
		return 1;
	}
	X.stats = calloc(MAX_STATS, sizeof(*X.stats));
	X.findings = calloc(MW_METRIC_FINDING_ROWS, sizeof(*X.findings));
	if (!X.stats || !X.findings) {
		free(X.stats);
		free(X.findings);
		if (lfd >= 0)
			close(lfd);
		return 1;
	}
	install_signals();
	/*
	 * The BPF load first, then the HTTP(S) stack: libbpf holds two copies of the kernel's BTF
	 * (5.5 MB each) for a few milliseconds, and the server's libraries (3 MB, see dynlib.h)
	 * stay out of the process until that peak is over.
	 */
	rc = driver_open(&d, &w);
	if (!rc && X.web_config && webconfig_load(X.web_config, &X.wc, err, sizeof(err))) {
		pr_warn("%s\n", err);	/* changed since the check */
		rc = 2;
	}
	if (!rc && listen) {
		struct httpd_limits lim = { .max_conns = X.max_conns };

		X.h = httpd_new_on(lfd, listen, &lim, X.web_config ? &X.wc : NULL, err,
				   sizeof(err));
		lfd = -1;
		if (!X.h) {
			pr_warn("%s\n", err);
			rc = 1;
		}
	}
	if (lfd >= 0)
		close(lfd);
	if (!rc) {
		d.on_finding = exp_finding;
		driver_describe(&d);
		d.on_tick = exp_tick;
		fprintf(stderr, "mtuwatch: exporting %s%s%s%s\n", listen ? "on " : "to ",
			listen ? listen : X.textfile_dir,
			listen ? (X.wc.tls ? " (https" : " (http") : "",
			listen ? (X.wc.nusers ? ", basic auth)" : ")") : "");
		if (X.textfile_dir)
			exp_tick(&d);
		driver_run(&d, w.duration, exp_poll);
	}
	driver_close(&d);
	httpd_free(X.h);
	webconfig_free(&X.wc);
	free(X.stats);
	free(X.findings);
	return rc;
}
