// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * perf-style sessions. `record` runs the live data path with a record file attached to it
 * (every event that reaches the core is written, plus the context needed to judge it
 * elsewhere); `report` replays the file through the very same core.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "commands.h"
#include "driver.h"
#include "html.h"
#include "log.h"
#include "recfile.h"
#include "render.h"

#define DEFAULT_FILE "mtuwatch.data"

struct rec_opts {
	const char *out;
	bool force;
};

static int rec_extra(int c, const char *arg, void *ctx)
{
	struct rec_opts *r = ctx;

	switch (c) {
	case 'o':
		r->out = arg;
		return 0;
	case 'f':
		r->force = true;
		return 0;
	}
	return -1;
}

static void meta(struct recfile_writer *w, const char *k, const char *fmt, ...)
{
	char v[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	recfile_write_meta(w, k, v);
}

static void meta_sysctl(struct recfile_writer *w, const char *name)
{
	char path[256], v[128], key[160];

	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	if (read_text(path, v, sizeof(v)))
		return;
	snprintf(key, sizeof(key), "sysctl.%s", name);
	recfile_write_meta(w, key, v);
}

/* META keys allow [A-Za-z0-9_.-]: interface names may hold more. */
static void key_clean(char *k)
{
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '.' || *k == '-'))
			*k = '_';
}

/* Everything needed to judge the events on another machine, later. */
static void write_context(struct mw_driver *d, struct recfile_writer *w, const struct watch_opts *o)
{
	static const char *const sysctls[] = {
		"net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
		"net.ipv4.ip_no_pmtu_disc", "net.ipv4.tcp_mtu_probing", "net.ipv4.tcp_base_mss",
		"net.ipv4.icmp_ratelimit", "net.ipv4.icmp_ratemask", "net.ipv4.route.min_pmtu",
		"net.ipv4.route.mtu_expires", "net.ipv6.icmp.ratelimit", "net.ipv4.ip_forward",
		"net.ipv6.conf.all.forwarding",
	};
	struct timespec rt, mono;
	struct utsname u;
	char host[256] = "", key[96];

	uname(&u);
	gethostname(host, sizeof(host) - 1);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	meta(w, "tool", "mtuwatch %s", MW_VERSION);
	meta(w, "event_version", "%d", MW_EVENT_VERSION);
	meta(w, "event_size", "%zu", sizeof(struct mw_event));
	meta(w, "hostname", "%s", host);
	meta(w, "kernel", "%s %s %s", u.sysname, u.release, u.machine);
	/* event ts (CLOCK_MONOTONIC) + this = wall clock */
	meta(w, "time_base_ns", "%lld",
	     (long long)(rt.tv_sec - mono.tv_sec) * 1000000000LL + (rt.tv_nsec - mono.tv_nsec));
	meta(w, "start_realtime", "%lld", (long long)rt.tv_sec);
	meta(w, "self_netns", "%u", d->s.self_netns);
	meta(w, "all_netns", "%d", o->so.all_netns);
	meta(w, "stall_after", "%d", o->stall_after);
	{
		char ports[256] = "";
		size_t n = 0;

		for (int i = 0; i < o->nports; i++)
			n += snprintf(ports + n, sizeof(ports) - n, "%s%u", i ? "," : "", o->ports[i]);
		meta(w, "hint_ports", "%s", ports);
	}
	for (int i = 0; i < d->s.nifaces; i++) {
		char v[64];

		snprintf(key, sizeof(key), "iface.%s", d->s.ifaces[i].name);
		key_clean(key);
		snprintf(v, sizeof(v), "name=%s ifindex=%u mtu=%u", d->s.ifaces[i].name,
			 d->s.ifaces[i].ifindex, d->s.ifaces[i].mtu);
		recfile_write_meta(w, key, v);
		/* a dot in an interface name is a slash in /proc/sys */
		if (!strchr(d->s.ifaces[i].name, '.')) {
			snprintf(key, sizeof(key), "net.ipv4.conf.%s.rp_filter",
				 d->s.ifaces[i].name);
			meta_sysctl(w, key);
		}
	}
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		meta_sysctl(w, sysctls[i]);
	for (int i = 0; i < d->s.natt; i++) {
		snprintf(key, sizeof(key), "program.%s%s%s", d->s.att[i].prog,
			 d->s.att[i].iface[0] ? "." : "", d->s.att[i].iface);
		key_clean(key);
		meta(w, key, "%s %s", d->s.att[i].attached ? "attached" : "degraded",
		     d->s.att[i].mode);
	}
	driver_reason(0, d);	/* all the names, so that report shows this kernel's */
	for (uint32_t i = 0; i < d->reasons.n; i++) {
		if (!d->reasons.name[i])
			continue;
		snprintf(key, sizeof(key), "drop_reason.%u", i);
		recfile_write_meta(w, key, d->reasons.name[i]);
	}
}

static pid_t child = -1;
static int child_status;

static int rec_poll(struct mw_driver *d, int ms)
{
	int err = session_poll(&d->s, ms);

	if (child > 0 && waitpid(child, &child_status, WNOHANG) == child) {
		child = 0;
		mw_stop = 1;
	}
	return err;
}

static void rec_usage(FILE *o)
{
	fprintf(o, "Usage: mtuwatch record [-o FILE] [-f] [-i IFACE]... [--duration SECS]\n"
		   "                       [--all-netns] [--stall-after SECS] [--passive]\n"
		   "                       [--xdp] [-- COMMAND ARGS...]\n"
		   "Writes every event and its context to FILE (default %s) for `mtuwatch report`.\n"
		   "With COMMAND: records while it runs and returns its exit status.\n", DEFAULT_FILE);
}

int cmd_record(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{},
	};
	struct rec_opts ro = { .out = DEFAULT_FILE };
	struct watch_opts w = {};
	struct mw_driver d = {};
	char err[256];
	int rc = 0;

	if (parse_watch_opts(argc, argv, &w, "o:f", longs, rec_extra, &ro))
		return usage_error();
	if (w.help) {
		rec_usage(stdout);
		return 0;
	}
	d.rec = recfile_create(ro.out, ro.force, err, sizeof(err));
	if (!d.rec) {
		pr_warn("%s%s\n", err, errno == EEXIST ? " (use -f to overwrite)" : "");
		return errno == EEXIST ? 2 : 1;
	}
	install_signals();
	/* The context goes first, so that report knows how to judge the events after it. */
	rc = driver_open(&d, &w);
	if (rc) {
		recfile_discard(d.rec);
		unlink(ro.out);
		driver_close(&d);
		return rc;
	}
	write_context(&d, d.rec, &w);
	driver_describe(&d);
	recfile_flush(d.rec);
	if (optind < argc) {
		child = fork();
		if (child < 0) {
			pr_warn("Failed to start %s: %s\n", argv[optind], strerror(errno));
			rc = 1;
			goto out;
		}
		if (child == 0) {
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			execvp(argv[optind], argv + optind);
			fprintf(stderr, "mtuwatch: cannot run %s: %s\n", argv[optind], strerror(errno));
			_exit(127);
		}
	} else if (w.duration != 0) {
		fprintf(stderr, "mtuwatch: recording to %s; Ctrl-C to stop\n", ro.out);
	}
	if (w.duration != 0 || child > 0)
		driver_run(&d, child > 0 ? -1 : w.duration, rec_poll);
	if (child > 0) {
		/* We were told to stop before the command ended: pass it on. */
		kill(child, SIGTERM);
		waitpid(child, &child_status, 0);
		child = 0;
	}
	if (child == 0)
		rc = WIFEXITED(child_status) ? WEXITSTATUS(child_status) :
		     128 + WTERMSIG(child_status);
out:
	meta(d.rec, "events_lost", "%llu", (unsigned long long)d.lost);
	meta(d.rec, "ptb_suppressed", "%llu",
	     (unsigned long long)session_counter(&d.s, MW_CNT_PTB_SUPPRESSED));
	meta(d.rec, "end_monotonic_ns", "%llu", (unsigned long long)mono_ns());
	{
		unsigned long long n = d.rec_events;

		if (recfile_close(d.rec, err, sizeof(err))) {
			pr_warn("Failed to write %s: %s\n", ro.out, err);
			rc = 1;
		} else {
			fprintf(stderr, "mtuwatch: wrote %llu events to %s\n", n, ro.out);
		}
	}
	d.rec = NULL;
	driver_close(&d);
	return rc;
}

/* ---- report ---------------------------------------------------------------------------- */

struct replay {
	struct mw_core_opts co;
	struct mw_reasons reasons;
	struct mw_core *core;
	struct mw_render r;
	bool raw;
	struct mw_html *html;		/* --html: the page's collector, fed as the core is */
	uint64_t lost;
	unsigned event_size;
};

static bool key_is(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && !memcmp(k, want, kl);
}

static int on_meta(struct replay *rp, const void *data, uint32_t len)
{
	const char *k, *v;
	size_t kl, vl;
	uint32_t pos = 0;
	int rc;

	while ((rc = recfile_meta_next(data, len, &pos, &k, &kl, &v, &vl)) == 1) {
		char val[512];

		snprintf(val, sizeof(val), "%.*s", (int)(vl < 511 ? vl : 511), v);
		if (rp->html)
			html_meta(rp->html, k, kl, v, vl);
		if (kl > 12 && !memcmp(k, "drop_reason.", 12)) {
			char num[16];

			snprintf(num, sizeof(num), "%.*s", (int)(kl - 12 < 15 ? kl - 12 : 15), k + 12);
			reasons_set(&rp->reasons, strtoul(num, NULL, 10), val);
		} else if (key_is(k, kl, "self_netns")) {
			rp->co.self_netns = strtoul(val, NULL, 10);
		} else if (key_is(k, kl, "all_netns")) {
			rp->co.all_netns = atoi(val);
			rp->r.all_netns = rp->co.all_netns;
		} else if (key_is(k, kl, "stall_after")) {
			rp->co.stall_after_s = strtoul(val, NULL, 10);
		} else if (key_is(k, kl, "hint_ports")) {
			char *p = val;
			int n = 0;

			while (*p && n < MW_MAX_HINT_PORTS - 8) {
				unsigned long port = strtoul(p, &p, 10);

				if (port && port < 65536)
					rp->co.hint_ports[n++] = port;
				if (*p != ',')
					break;
				p++;
			}
		} else if (key_is(k, kl, "event_size")) {
			rp->event_size = strtoul(val, NULL, 10);
		} else if (key_is(k, kl, "event_version") && atoi(val) > MW_EVENT_VERSION) {
			pr_warn("Failed: events of version %s, this mtuwatch reads %d -- use a newer "
				"mtuwatch\n", val, MW_EVENT_VERSION);
			return -1;
		} else if (key_is(k, kl, "events_lost")) {
			rp->lost = strtoull(val, NULL, 10);
		} else if (key_is(k, kl, "ptb_suppressed")) {
			rp->r.ptb_suppressed = strtoull(val, NULL, 10);
		}
		if (!rp->r.json && !rp->raw && !rp->html && !rp->core &&
		    !(kl > 12 && !memcmp(k, "drop_reason.", 12))) {
			/* the file says what the hostname is: it must not drive the terminal */
			char kb[TEXT_SAFE_LEN(128)], vb[TEXT_SAFE_LEN(sizeof(val))];

			fprintf(rp->r.out, "# %s: %s\n",
				text_safe(kb, sizeof(kb), k, kl < 128 ? kl : 128),
				text_safe(vb, sizeof(vb), v, vl < 511 ? vl : 511));
		}
	}
	if (rc < 0) {
		pr_warn("Failed: corrupt metadata record in the file\n");
		return -1;
	}
	return 0;
}

/*
 * The page, written whole or not at all: into a temporary file beside OUT, renamed over it
 * once complete (a failed write leaves no half page and no OUT clobbered); "-": stdout.
 */
static int html_out(struct replay *rp, const char *out)
{
	uint64_t lost = rp->lost ? rp->lost : core_lost(rp->core);
	char tmp[4096];
	FILE *f;
	int fd;

	if (!strcmp(out, "-"))
		return html_write(rp->html, rp->core, stdout, lost, rp->r.ptb_suppressed) ? 1 : 0;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out) >= (int)sizeof(tmp)) {
		pr_warn("Failed to write %s: name too long\n", out);
		return 1;
	}
	fd = mkstemp(tmp);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		pr_warn("Failed to write %s: %s\n", out, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return 1;
	}
	fchmod(fd, 0644);
	if (html_write(rp->html, rp->core, f, lost, rp->r.ptb_suppressed) | fclose(f) ||
	    rename(tmp, out)) {
		pr_warn("Failed to write %s: %s\n", out, strerror(errno));
		unlink(tmp);
		return 1;
	}
	return 0;
}

static void rep_usage(FILE *o)
{
	fprintf(o, "Usage: mtuwatch report [-i FILE] [--json | --raw | --html OUT.html]\n"
		   "Replays a recording (default %s; -i - reads stdin) through the diagnosis\n"
		   "of `mtuwatch live`.\n"
		   "  --raw           list the events themselves, one per line\n"
		   "  --html OUT.html write the findings and a timeline of each path with one as a\n"
		   "                  self-contained page (no script, nothing fetched; - : stdout)\n",
		DEFAULT_FILE);
}

int cmd_report(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "html", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct replay rp = { .r.out = stdout };
	const char *in = DEFAULT_FILE, *html = NULL;
	struct recfile_reader *r;
	char err[256];
	const void *data;
	uint32_t len;
	uint16_t type;
	int c, rc = 0, n;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:jrvh", longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 'j':
			rp.r.json = true;
			break;
		case 'r':
			rp.raw = true;
			break;
		case 'H':
			html = optarg;
			break;
		case 'v':
			mw_verbose = true;
			break;
		case 'h':
			rep_usage(stdout);
			return 0;
		default:
			bad_option(argv);
			return usage_error();
		}
	}
	if (optind < argc) {
		pr_warn("Unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (html && (rp.raw || rp.r.json || !*html)) {
		pr_warn("--html takes a file name and goes with neither --json nor --raw\n");
		return 2;
	}
	/* Only an explicit -i - reads a stream: a FIFO or a device by name is refused. */
	r = strcmp(in, "-") ? recfile_open(in, err, sizeof(err)) :
			      recfile_open_fd(STDIN_FILENO, "stdin", err, sizeof(err));
	if (!strcmp(in, "-"))
		in = "stdin";	/* for the messages below */
	if (!r) {
		/* err names the file already */
		pr_warn("Failed: %s%s\n", err, errno == ENOENT ?
			" -- record one with 'mtuwatch record', or name it with -i FILE" : "");
		return 1;
	}
	rp.co.reason_name = reasons_name;
	rp.co.reason_ctx = &rp.reasons;
	rp.co.on_finding = render_finding;
	rp.co.ctx = &rp.r;
	if (html) {
		rp.html = html_new(reasons_name, &rp.reasons);
		if (!rp.html) {
			pr_warn("Failed: out of memory\n");
			recfile_close_reader(r);
			return 1;
		}
		rp.co.on_finding = html_finding;
		rp.co.ctx = rp.html;
	}
	while ((n = recfile_next(r, &type, &data, &len)) == 1) {
		struct mw_event e = {};

		if (type == RECFILE_TYPE_META) {
			if (on_meta(&rp, data, len)) {
				rc = 1;
				break;
			}
			continue;
		}
		if (type == MW_REC_NSNAME && !rp.raw) {
			struct mw_nsname nn = {};

			/* older and newer writers: read what there is, the rest stays empty */
			memcpy(&nn, data, len < sizeof(nn) ? len : sizeof(nn));
			if (!rp.core && !(rp.core = core_new(&rp.co))) {
				pr_warn("Failed: out of memory\n");
				rc = 1;
				break;
			}
			core_ns_names(rp.core, &nn);
			continue;
		}
		if (type != MW_REC_EVENT)
			continue;	/* a newer writer's record type: skip it */
		if (len < offsetof(struct mw_event, ifname)) {
			pr_warn("Failed to read %s: event record of %u bytes is too short\n", in, len);
			rc = 1;
			break;
		}
		memcpy(&e, data, len < sizeof(e) ? len : sizeof(e));
		if (rp.raw) {
			render_event_raw(&rp.r, &e);
			continue;
		}
		if (rp.html)
			html_event(rp.html, &e);
		if (!rp.core) {
			rp.core = core_new(&rp.co);
			if (!rp.core) {
				pr_warn("Failed: out of memory\n");
				rc = 1;
				break;
			}
		}
		core_feed(rp.core, &e);
	}
	if (n < 0) {
		pr_warn("Failed to read %s: %s\n", in, recfile_error(r));
		rc = 1;
	}
	if (!rc && !rp.raw) {
		if (!rp.core)
			rp.core = core_new(&rp.co);
		if (rp.core && rp.html)
			rc = html_out(&rp, html);
		else if (rp.core)
			render_summary(&rp.r, rp.core, rp.lost ? rp.lost : core_lost(rp.core));
	}
	/* A cut file (recorder killed, disk full) is read up to its last whole block, and
	 * said so last, where it is seen; the exit status tells scripts it is incomplete. */
	if (!rc && recfile_truncated(r)) {
		pr_warn("%s: %s\n", in, recfile_warning(r));
		rc = 1;
	}
	core_free(rp.core);
	html_free(rp.html);
	reasons_free(&rp.reasons);
	recfile_close_reader(r);
	return rc;
}
