// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Over 800 lines: one case per hostile shape, each writing its own recording and judging the
 * real binary's output; they share only run() and the writers.
 * Hostile recordings against `mtuwatch report`, the way a user meets them: an interface name
 * with no NUL, terminal escapes in META values and names, a many-block zip bomb, a million
 * distinct destinations, a FIFO with no writer and an endless stream of zeros. Each case
 * asserts the outcome (exit status, one error line, what the output may not contain) and
 * that report finishes; how long it takes is measured by tests/bench.sh, never asserted.
 * First, the command line's own habits: --version, -V, --help, -h.
 * `report --html` meets the same files and markup in every string (issue 30): the page holds
 * only the elements and attributes the renderer writes; a million events on one path stay a
 * bounded number of marks whose counts add up.
 *
 * Usage: test_hostile path/to/mtuwatch (no root needed);
 *        test_hostile --write-million FILE (the synthetic million-event recording, for timing
 *        `report --html` by hand: docs/testing.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <zlib.h>

#include "check.h"
#include "driver.h"
#include "html.h"
#include "mtuwatch.h"
#include "recfile.h"
#include "render.h"

/* Not a time limit on the behaviour: only what "it never finishes" means to this test. */
#define HANG_SECS 300

static const char *mw;
static char dir[] = "/tmp/mw-hostile.XXXXXX";

struct result {
	int rc;			/* exit status, or -1: killed after HANG_SECS */
	char *out, *err;
	size_t outlen, errlen;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

static void drain(int fd, char **buf, size_t *len, bool *open)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0) {
		*open = false;
		return;
	}
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, tmp, n);
	*len += n;
	(*buf)[*len] = 0;
}

/* Runs mtuwatch with argv; stdin from in_fd (-1: /dev/null). */
static void run(struct result *r, int in_fd, const char *const *args)
{
	int po[2], pe[2];
	bool oo = true, eo = true;
	time_t end = time(NULL) + HANG_SECS;
	pid_t pid;
	int st;

	memset(r, 0, sizeof(*r));
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (pipe(po) || pipe(pe))
		abort();
	pid = fork();
	if (pid == 0) {
		const char *argv[16] = { mw };
		int i = 1;

		for (; args[i - 1] && i < 15; i++)
			argv[i] = args[i - 1];
		argv[i] = NULL;
		if (in_fd < 0)
			in_fd = open("/dev/null", O_RDONLY);
		dup2(in_fd, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(mw, (char **)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((oo || eo) && time(NULL) < end) {
		struct pollfd p[2] = { { oo ? po[0] : -1, POLLIN, 0 },
				       { eo ? pe[0] : -1, POLLIN, 0 } };

		if (poll(p, 2, 1000) <= 0)
			continue;
		if (p[0].revents)
			drain(po[0], &r->out, &r->outlen, &oo);
		if (p[1].revents)
			drain(pe[0], &r->err, &r->errlen, &eo);
	}
	if (oo || eo)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(po[0]);
	close(pe[0]);
	r->rc = oo || eo ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool one_line(const struct result *r)
{
	return r->errlen && strchr(r->err, '\n') == r->err + r->errlen - 1;
}

/* No C0 control but newline, no DEL, no C1, valid UTF-8. */
static bool terminal_safe(const char *b, size_t len)
{
	for (size_t i = 0, k; i < len; i += k) {
		k = utf8_seq(b + i, len - i);
		if (!k)
			return false;
		if (k == 1 && (((unsigned char)b[i] < 0x20 && b[i] != '\n') || b[i] == 0x7f))
			return false;
		if (k == 2 && (unsigned char)b[i] == 0xc2 && (unsigned char)b[i + 1] < 0xa0)
			return false;
	}
	return true;
}

static char *path(const char *name)
{
	static char p[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static struct recfile_writer *create(const char *file)
{
	char err[256];
	struct recfile_writer *w = recfile_create(file, true, err, sizeof(err));

	if (!w) {
		fprintf(stderr, "cannot create %s: %s\n", file, err);
		abort();
	}
	return w;
}

static void done(struct recfile_writer *w)
{
	char err[256];

	if (recfile_close(w, err, sizeof(err))) {
		fprintf(stderr, "cannot write a recording: %s\n", err);
		abort();
	}
}

static struct mw_event ev(uint16_t type, uint64_t t)
{
	struct mw_event e = {};

	e.type = type;
	e.ts_ns = t;
	e.family = e.flow.family = 4;
	e.flow.proto = 6;
	inet_pton(AF_INET, "192.0.2.2", e.flow.saddr);
	inet_pton(AF_INET, "198.51.100.2", e.flow.daddr);
	inet_pton(AF_INET, "203.0.113.1", e.peer);
	e.flow.sport = 40000;
	e.flow.dport = 443;
	e.ifindex = 2;
	return e;
}

static void put(struct recfile_writer *w, const struct mw_event *e)
{
	if (recfile_write(w, MW_REC_EVENT, e, sizeof(*e)))
		abort();
}

/* Every "NONUL0123456789[Z]" ends where its 16-byte field does: nothing after it printed. */
static bool bounded_name(const char *out)
{
	const char *p = out;
	bool seen = false;

	while ((p = strstr(p, "NONUL0123456789"))) {
		p += 15;
		if (*p == 'Z')
			p++;
		if (!*p || !strchr("\n\" ),:;<", *p))	/* '<': the page's next tag */
			return false;
		seen = true;
	}
	return seen;
}

/* An interface name that fills its 16 bytes: nothing after the field may be printed. */
static void t_no_nul(void)
{
	struct recfile_writer *w = create(path("nonul.data"));
	struct mw_event e = ev(MW_EV_IFACE, 1);
	static const char *const modes[][4] = {
		{ "report", "--raw", "-i", NULL }, { "report", "--raw", "--json", "-i" },
		{ "report", "-i", NULL, NULL }, { "report", "--json", "-i", NULL },
		{ "report", "--html", "-", "-i" },
	};
	bool ok = true;
	char why[256] = "";

	e.mtu = 9000;
	memcpy(e.ifname, "NONUL0123456789Z", 16);
	put(w, &e);
	e = ev(MW_EV_PTB_DROP, 2);
	e.mtu = 1400;
	e.aux = 3;
	e.dir = MW_DIR_IN;	/* arrived on the interface, as the kernel marks it */
	memcpy(e.ifname, "NONUL0123456789Z", 16);
	put(w, &e);
	e = ev(MW_EV_RECOVERED, 3);
	put(w, &e);
	done(w);
	for (int m = 0; m < 5; m++) {
		const char *args[6] = {};
		struct result r;
		int n = 0;

		for (int k = 0; k < 4 && modes[m][k]; k++)
			args[n++] = modes[m][k];
		args[n++] = path("nonul.data");
		run(&r, -1, args);
		if (r.rc != 0 || !bounded_name(r.out)) {
			ok = false;
			snprintf(why, sizeof(why), "%s %s: rc %d, output %.120s", modes[m][0],
				 modes[m][1], r.rc, r.out);
		}
		result_free(&r);
	}
	CHECK("hostile-ifname-no-nul", ok, "%s", why);
}

/* A recording that tries to drive the terminal through every string report prints. */
static void t_control_bytes(void)
{
	struct recfile_writer *w = create(path("ctl.data"));
	static const char esc[] = "\x1b]0;owned\x07\x1b[2J\x1b[H\r"
				  "all paths OK \xff\xc2\x9b" "1m";
	struct mw_event e = ev(MW_EV_IFACE, 1);
	struct result r;
	const char *a1[] = { "report", "-i", path("ctl.data"), NULL };
	const char *a2[] = { "report", "--raw", "-i", path("ctl.data"), NULL };
	const char *a3[] = { "report", "--html", "-", "-i", path("ctl.data"), NULL };
	bool plain_ok, raw_ok, html_ok;

	recfile_write_meta(w, "hostname", esc);
	recfile_write_meta(w, "kernel", esc);
	recfile_write_meta(w, "drop_reason.3", esc);
	recfile_write_meta(w, "self_netns", "0");
	e.mtu = 9000;
	memcpy(e.ifname, "\x1b[2J\x1b[Hok\r\x9b" "1m\xff\x07", 14);
	put(w, &e);
	e = ev(MW_EV_PTB_DROP, 2);
	e.mtu = 1400;
	e.aux = 3;
	put(w, &e);
	e = ev(MW_EV_RETRANS, 3);
	e.size = 9000;
	put(w, &e);
	done(w);
	run(&r, -1, a1);
	plain_ok = r.rc == 0 && terminal_safe(r.out, r.outlen) && strstr(r.out, "\\x1b]0;owned") &&
		   strstr(r.out, "ptb_dropped");
	CHECK("hostile-control-bytes-plain", plain_ok, "rc %d, output %.300s", r.rc, r.out);
	result_free(&r);
	run(&r, -1, a2);
	raw_ok = r.rc == 0 && terminal_safe(r.out, r.outlen) && strstr(r.out, "\\x1b[2J");
	CHECK("hostile-control-bytes-raw", raw_ok, "rc %d, output %.300s", r.rc, r.out);
	result_free(&r);
	run(&r, -1, a3);
	html_ok = r.rc == 0 && terminal_safe(r.out, r.outlen) && strstr(r.out, "\\x1b]0;owned") &&
		  strstr(r.out, "data-verdict=\"ptb_dropped\"") && strstr(r.out, "</html>");
	CHECK("hostile-control-bytes-html", html_ok, "rc %d, output %.300s", r.rc, r.out);
	result_free(&r);
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * 4000 blocks that each inflate to 1 MiB of zeros (valid records of a reserved type, which
 * readers skip): 4 MB on disk, 4 GiB of work for a reader that believes them.
 */
static void t_bomb(void)
{
	const char *file = path("bomb.data");
	struct recfile_writer *w = create(file);
	uLongf clen = compressBound(1u << 20);
	uint8_t *zeros = calloc(1, 1u << 20), *c = malloc(clen), h[32];
	uint32_t rcrc;
	const char *args[] = { "report", "-i", file, NULL };
	struct result r;
	FILE *f;

	recfile_discard(w);	/* the file header only */
	if (!zeros || !c || compress2(c, &clen, zeros, 1u << 20, 9) != Z_OK)
		abort();
	rcrc = crc32(0, zeros, 1u << 20);
	f = fopen(file, "ab");
	for (uint32_t seq = 0; seq < 4000; seq++) {
		memcpy(h, "MTWB", 4);
		le32(h + 4, seq);
		le32(h + 8, clen);
		le32(h + 12, 1u << 20);
		le32(h + 16, rcrc);
		le32(h + 20, (1u << 20) / 8);
		le32(h + 24, 0);
		le32(h + 28, crc32(0, h, 28));
		fwrite(h, 1, 32, f);
		fwrite(c, 1, clen, f);
	}
	fclose(f);
	free(zeros);
	free(c);
	run(&r, -1, args);
	CHECK("hostile-zip-bomb-refused", r.rc == 1 && one_line(&r) && strstr(r.err, "zip bomb"),
	      "rc %d, stderr %.300s", r.rc, r.err);
	result_free(&r);
	/* --html: the same line, and no page (nor a temporary one) left behind */
	{
		const char *ha[] = { "report", "-i", file, "--html", path("bomb.html"), NULL };
		char cmd[600];

		run(&r, -1, ha);
		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '^bomb\\.html'", dir);
		CHECK("hostile-zip-bomb-refused-html", r.rc == 1 && one_line(&r) &&
		      strstr(r.err, "zip bomb") && system(cmd) != 0, "rc %d, stderr %.300s", r.rc,
		      r.err);
		result_free(&r);
	}
}

/* ---- report --html ------------------------------------------------------------------------ */

static char *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *b = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc(n + 1);
	if (b && fread(b, 1, n, f) == (size_t)n) {
		b[n] = 0;
		*len = n;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static bool word_in(const char *w, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(w, *list, n))
			return true;
	return false;
}

/*
 * Every tag of the page is one the renderer writes, with only its attributes, each value in
 * double quotes: markup smuggled in by a string of the recording (an element, an attribute,
 * a quote that ends one) fails here. Inside <style> and <title> no '<' may appear at all.
 */
static bool markup_ok(const char *b, char *why, size_t wl)
{
	static const char *const tags[] = {
		"html", "head", "meta", "title", "style", "body", "header", "main", "section", "h1",
		"h2", "p", "span", "code", "ol", "ul", "li", "table", "tr", "th", "td", "svg", "g",
		"rect", "circle", "path", "line", "text", NULL,
	};
	static const char *const attrs[] = {
		"lang", "charset", "http-equiv", "content", "class", "id", "xmlns", "viewBox",
		"role", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "d", "width", "height",
		"transform", "text-anchor", NULL,
	};
	const char *p = b;
	int n = 0;

	while ((p = strchr(p, '<'))) {
		const char *q = ++p;
		bool closing = *q == '/';

		if (!strncmp(p, "!DOCTYPE html>", 14))
			continue;
		if (closing)
			q++;
		p = q;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		if (!word_in(q, p - q, tags)) {
			snprintf(why, wl, "element '%.20s' at byte %ld", q, (long)(q - b));
			return false;
		}
		for (;;) {
			const char *a;

			while (*p == ' ' || *p == '\n')
				p++;
			if (*p == '>' || !strncmp(p, "/>", 2))
				break;
			a = p;
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
			       (*p >= '0' && *p <= '9'))
				p++;
			if (!(word_in(a, p - a, attrs) || !strncmp(a, "data-", 5)) || p == a ||
			    strncmp(p, "=\"", 2)) {
				snprintf(why, wl, "attribute '%.30s' at byte %ld", a,
					 (long)(a - b));
				return false;
			}
			p = strchr(p + 2, '"');
			if (!p) {
				snprintf(why, wl, "unterminated attribute at byte %ld",
					 (long)(a - b));
				return false;
			}
			p++;
		}
		if (!closing && (!strncmp(q, "style>", 6) || !strncmp(q, "title>", 6))) {
			const char *end = strchr(p, '<');

			if (!end || strncmp(end, q[0] == 's' ? "</style>" : "</title>", 8)) {
				snprintf(why, wl, "markup inside <%.5s>", q);
				return false;
			}
		}
		n++;
	}
	if (n < 20)
		snprintf(why, wl, "only %d tags: not a page", n);
	return n >= 20;
}

/* A recording whose every string is markup: the page shows it as text. */
static void t_html_markup(void)
{
	struct recfile_writer *w = create(path("markup.data"));
	static const char host[] = "<script>console.error(1)</script><img src=x onerror=alert(1)>";
	struct mw_event e = ev(MW_EV_IFACE, 1000000000ULL);
	struct mw_nsname nn = {};
	const char *args[] = { "report", "-i", path("markup.data"), "--html", path("markup.html"),
			       NULL };
	char why[256] = "";
	struct result r;
	size_t len;
	char *page;
	bool ok;

	recfile_write_meta(w, "hostname", host);
	recfile_write_meta(w, "kernel", "\"><svg onload=alert(1)>\x1b[2J");
	recfile_write_meta(w, "drop_reason.3", "<iframe src=\"//x\">");
	recfile_write_meta(w, "iface.x", "name=<b>x</b> ifindex=2 mtu=9000");
	recfile_write_meta(w, "self_netns", "1");
	recfile_write_meta(w, "all_netns", "1");
	e.netns = 1;
	e.mtu = 9000;
	memcpy(e.ifname, "<i>\"'&x</i>\x07\xff", 14);
	put(w, &e);
	/* another namespace whose pod name is markup, and a PTB dropped there */
	nn.ts_ns = 1000000001ULL;
	nn.netns = 7;
	snprintf(nn.pod, sizeof(nn.pod), "ns/<b onmouseover=\"x\">pod</b>");
	snprintf(nn.netns_name, sizeof(nn.netns_name), "</section><script>x</script>");
	if (recfile_write(w, MW_REC_NSNAME, &nn, sizeof(nn)))
		abort();
	for (uint32_t ns = 1; ns <= 7; ns += 6) {
		e = ev(MW_EV_PTB_DROP, 2000000000ULL + ns);
		e.netns = ns;
		e.mtu = 1400;
		e.aux = 3;
		memcpy(e.ifname, "<i>\"'&x</i>", 11);
		put(w, &e);
		e = ev(MW_EV_RETRANS, 3000000000ULL + ns);
		e.netns = ns;
		e.size = 9000;
		put(w, &e);
	}
	done(w);
	run(&r, -1, args);
	page = slurp(path("markup.html"), &len);
	ok = r.rc == 0 && page && strstr(page, "&lt;script&gt;console.error(1)&lt;/script&gt;") &&
	     strstr(page, "&lt;iframe src=&quot;//x&quot;&gt;") && strstr(page, "\\x1b[2J") &&
	     strstr(page, "ns/&lt;b onmouseover=&quot;x&quot;&gt;pod") &&
	     strstr(page, "class=\"timeline-path\"");
	CHECK("hostile-html-strings-as-text", ok, "rc %d, stderr %.200s, page %.300s", r.rc, r.err,
	      page ? page : "(none)");
	ok = page && markup_ok(page, why, sizeof(why)) && terminal_safe(page, len);
	CHECK("hostile-html-no-markup", ok, "%s", page ? why : "no page");
	/* the checker itself: the same page with the hostname let through, or an attribute */
	if (page) {
		char *planted = malloc(len + 64), *at = strstr(page, "&lt;script&gt;");
		char *attr = strstr(page, " data-prefix=");
		bool el, at2;

		at = at ? at : page;
		memcpy(planted, page, at - page);
		strcpy(planted + (at - page), "<script>");
		strcat(planted, at + 14);
		el = !markup_ok(planted, why, sizeof(why));
		attr = attr ? attr : page;
		memcpy(planted, page, attr - page);
		strcpy(planted + (attr - page), " onload=\"x\"");
		strcat(planted, attr);
		at2 = !markup_ok(planted, why, sizeof(why));
		CHECK("hostile-html-checker-finds-planted", el && at2,
		      "element found %d, attribute found %d", el, at2);
		free(planted);
	}
	free(page);
	result_free(&r);
}

/* Each kind of event becomes its mark on the path's timeline, with the detail it carries. */
static void t_html_kinds(void)
{
	static const struct {
		uint16_t type;
		uint32_t size, mtu, aux, aux2, seq;
		uint8_t dir;
		const char *want;	/* in the page */
	} cases[] = {
		{ MW_EV_DF_MAX, 9000, 0, 0, 0, 1, 0,
		  "class=\"mark sent\" data-t=\"0.100\" data-size=\"9000\"" },
		{ MW_EV_RESEND, 9000, 0, 1, 0, 1, 0,
		  "class=\"mark resend\" data-t=\"0.200\" data-size=\"9000\"" },
		{ MW_EV_RESEND, 1500, 0, 1, 0, 2, MW_DIR_F_NODF,
		  "class=\"mark resend nodf\" data-t=\"0.300\"" },
		{ MW_EV_DELIVERED, 1400, 0, 0, 0, 3, 0,
		  "class=\"mark delivered\" data-t=\"0.400\" data-size=\"1400\"" },
		{ MW_EV_SEG_MAX, 1200, 0, 0, 0, 0, MW_DIR_IN,
		  "class=\"mark received\" data-t=\"0.500\" data-size=\"1200\"" },
		{ MW_EV_PTB_RX, 9000, 1400, 1, 0, 1, MW_DIR_IN,
		  "class=\"mark ptb arrived\" data-t=\"0.600\" data-size=\"1400\"" },
		{ MW_EV_PTB_DROP, 9000, 1400, 3, 1, 1, MW_DIR_IN,
		  "class=\"mark ptb dropped\" data-t=\"0.700\" data-size=\"1400\" data-count=\"1\""
		  " data-reason=\"NETFILTER_DROP\" data-direction=\"in\"" },
		{ MW_EV_ROUTE, 0, 1400, MW_ROUTE_LEARNED | MW_ROUTE_LISTED, 0, 0, 0,
		  "<path class=\"route\" d=\"" },
		{ MW_EV_PROBE, 1401, 1400, 0, MW_PROBE_ICMP, 5, MW_PROBE_F_ALIVE | MW_PROBE_F_EXACT,
		  "class=\"mark probe answered\" data-t=\"0.900\" data-size=\"1400\""
		  " data-count=\"1\" data-method=\"icmp\"" },
		{ MW_EV_PROBE, 1401, 1400, 0, MW_PROBE_ICMP, 5, MW_PROBE_F_ALIVE | MW_PROBE_F_EXACT,
		  "class=\"mark probe vanished\" data-t=\"0.900\" data-size=\"1401\"" },
		{ MW_EV_HS, 3000, 0, MW_HS_TLS_CERTIFICATE, MW_APP_TLS, 0, MW_DIR_IN,
		  "class=\"mark hs in\" data-t=\"1.100\" data-size=\"3000\" data-count=\"1\""
		  " data-step=\"Certificate\"" },
		{ MW_EV_STATE, 0, 0, 2, 1, 0, 0,
		  "class=\"mark tcp-state\" data-t=\"1.200\" data-size=\"0\" data-count=\"1\""
		  " data-step=\"ESTABLISHED\"" },
		{ MW_EV_PTB_SENT, 9000, 1500, 0, 0, 0, 0,
		  "class=\"mark ptb emitted\" data-t=\"1.300\" data-size=\"1500\"" },
	};
	struct recfile_writer *w = create(path("kinds.data"));
	const char *args[] = { "report", "-i", path("kinds.data"), "--html", path("kinds.html"),
			       NULL };
	struct mw_event e = ev(MW_EV_IFACE, 1000000000ULL);
	char name[64];
	struct result r;
	size_t len;
	char *page;

	recfile_write_meta(w, "drop_reason.3", "NETFILTER_DROP");
	e.mtu = 9000;
	memcpy(e.ifname, "c0", 3);
	put(w, &e);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = ev(cases[i].type, 1000000000ULL + (i + 1) * 100000000ULL);
		e.size = cases[i].size;
		e.mtu = cases[i].mtu;
		e.aux = cases[i].aux;
		e.aux2 = cases[i].aux2;
		e.seq = cases[i].seq;
		e.dir = cases[i].dir;
		if (e.type == MW_EV_HS)
			memset(e.peer, 0, sizeof(e.peer));	/* no ACKED folded in */
		if (e.type == MW_EV_PROBE && i && cases[i - 1].type == MW_EV_PROBE)
			continue;	/* one probe event makes both marks */
		put(w, &e);
	}
	done(w);
	run(&r, -1, args);
	page = slurp(path("kinds.html"), &len);
	CHECK("html-kinds-page", r.rc == 0 && page && strstr(page, "data-verdict=\"ptb_dropped\""),
	      "rc %d, stderr %.200s", r.rc, r.err);
	for (size_t i = 0; page && i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cls = strstr(cases[i].want, "class=\"");

		snprintf(name, sizeof(name), "html-kind-%zu-%s", i, cls ? cls + 7 : "?");
		if (strchr(name, '"'))
			*strchr(name, '"') = 0;
		for (char *c = name; *c; c++)
			if (*c == ' ')
				*c = '-';
		CHECK(name, strstr(page, cases[i].want), "no '%s' in the page", cases[i].want);
	}
	free(page);
	result_free(&r);
}

/* A PTB that changed nothing: the core's ptb_ignored puts its mark, with the core's reason. */
static void t_html_ignored(void)
{
	struct recfile_writer *w = create(path("ignored.data"));
	const char *args[] = { "report", "-i", path("ignored.data"), "--html",
			       path("ignored.html"), NULL };
	struct mw_event e = ev(MW_EV_IFACE, 1000000000ULL);
	struct result r;
	size_t len;
	char *page;

	e.mtu = 9000;
	memcpy(e.ifname, "c0", 3);
	put(w, &e);
	e = ev(MW_EV_PTB_RX, 2000000000ULL);
	e.mtu = 1400;
	e.size = 9000;
	e.aux = 1;
	put(w, &e);
	for (int i = 0; i < 4; i++) {
		e = ev(MW_EV_RESEND, 2200000000ULL + i * 400000000ULL);
		e.size = 9000;
		e.seq = 1;
		e.aux = i + 1;
		put(w, &e);
	}
	for (int i = 0; i < 8; i++) {
		e = ev(MW_EV_TICK, 3000000000ULL + i * 1000000000ULL);
		put(w, &e);
	}
	done(w);
	run(&r, -1, args);
	page = slurp(path("ignored.html"), &len);
	{
		char *m = page ? strstr(page, "class=\"mark ptb ignored\"") : NULL;
		char *end = m ? strchr(m, '>') : NULL;

		if (end)
			*end = 0;	/* the mark's own attributes */
		CHECK("html-kind-ptb-ignored", r.rc == 0 && end &&
		      strstr(page, "data-verdict=\"ptb_ignored\"") &&
		      strstr(m, "data-size=\"1400\"") && strstr(m, "data-reason=\""),
		      "rc %d, stderr %.200s, mark %.200s", r.rc, r.err, m ? m : "(none)");
	}
	free(page);
	result_free(&r);
}

/*
 * The synthetic million: a black hole told by 1,000,000 events on one path over 100 s (re-sends,
 * sent and delivered sizes, PTBs arrived and dropped for five reasons, handshake steps, TCP
 * states), each kind with sizes spread so that little merges by itself.
 */
static void write_million_path(const char *file)
{
	struct recfile_writer *w = create(file);
	uint32_t x = 12345;

	recfile_write_meta(w, "hostname", "million");
	for (uint32_t i = 0; i < 5; i++) {
		char k[32];

		snprintf(k, sizeof(k), "drop_reason.%u", i);
		recfile_write_meta(w, k, i == 3 ? "NETFILTER_DROP" : "NOT_SPECIFIED");
	}
	for (uint32_t i = 0; i < 1000000; i++) {
		static const uint16_t types[10] = {
			MW_EV_RESEND, MW_EV_RESEND, MW_EV_RESEND, MW_EV_RETRANS, MW_EV_DF_MAX,
			MW_EV_DELIVERED, MW_EV_PTB_RX, MW_EV_PTB_DROP, MW_EV_HS, MW_EV_STATE,
		};
		struct mw_event e = ev(types[i % 10], 1000000000ULL + i * 100000ULL);

		x = x * 1103515245u + 12345u;
		e.size = 1200 + (x >> 8) % 7801;
		e.seq = i;
		switch (e.type) {
		case MW_EV_PTB_RX:
			e.mtu = 1280 + (x >> 4) % 200;
			e.aux = 1;
			break;
		case MW_EV_PTB_DROP:
			e.mtu = 1400;
			e.aux = i % 5;
			e.aux2 = 1;
			e.dir = MW_DIR_IN;
			break;
		case MW_EV_HS:
			e.aux = MW_HS_TLS_CERTIFICATE;
			e.seq = 0;
			e.dir = MW_DIR_IN;
			memset(e.peer, 0, sizeof(e.peer));
			break;
		case MW_EV_STATE:
			e.aux = 2;
			e.aux2 = 1;
			break;
		}
		put(w, &e);
	}
	done(w);
}

/* Sum of the data-count="N" attributes of the elements whose class starts with prefix. */
static unsigned long long sum_counts(const char *b, const char *prefix, unsigned *elems)
{
	unsigned long long sum = 0;
	const char *p = b;

	*elems = 0;
	while ((p = strstr(p, prefix))) {
		const char *end = strchr(p, '>'), *c = strstr(p, "data-count=\"");

		p++;
		if (!end || !c || c > end)
			continue;
		sum += strtoull(c + 12, NULL, 10);
		(*elems)++;
	}
	return sum;
}

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static void t_html_million(void)
{
	const char *file = path("million-path.data"), *out = path("million-path.html");
	const char *args[] = { "report", "-i", file, "--html", out, NULL };
	unsigned marks, items, sections = 0;
	unsigned long long drawn, legend;
	struct result r;
	double t0, t1;
	size_t len;
	char *page;

	write_million_path(file);
	t0 = now_s();
	run(&r, -1, args);
	t1 = now_s();
	page = slurp(out, &len);
	drawn = page ? sum_counts(page, "class=\"mark ", &marks) : 0;
	legend = page ? sum_counts(page, "class=\"legend-item\"", &items) : 0;
	for (const char *p = page; p && (p = strstr(p, "class=\"timeline-path\"")); p++)
		sections++;
	/* measured, never asserted: docs/testing.md quotes it */
	printf("# report --html of 1,000,000 events on one path: %.2f s, %zu bytes, %u marks\n",
	       t1 - t0, len, marks);
	CHECK("html-million-one-timeline", r.rc == 0 && sections == 1, "rc %d, %u timelines, "
	      "stderr %.200s", r.rc, sections, r.err);
	CHECK("html-million-marks-bounded", marks > 100 && marks <= HTML_MAX_MARKS &&
	      strstr(page, " agg\""), "%u marks", marks);
	CHECK("html-million-counts-add-up", drawn >= 1000000 && drawn == legend,
	      "marks count %llu events, the legend %llu", drawn, legend);
	free(page);
	result_free(&r);
}

/* A million events to distinct destinations: report finishes and keeps its bounds. */
static void t_million(void)
{
	const char *file = path("million.data");
	struct recfile_writer *w = create(file);
	const char *args[] = { "report", "-i", file, NULL };
	struct result r;
	int rows = 0;

	for (uint32_t i = 0; i < 1000000; i++) {
		uint64_t t = 1000000000ULL + i * 1000ULL;
		struct mw_event e = ev(i & 1 ? MW_EV_RETRANS : MW_EV_DF_MAX, t);
		uint32_t d = htonl(0xc6120000u + i);	/* 198.18.0.0/15 */

		memcpy(e.flow.daddr, &d, 4);
		e.size = 1500;
		e.seq = i;
		put(w, &e);
	}
	done(w);
	run(&r, -1, args);
	for (char *p = r.out; (p = strstr(p, "\n198.")); p++)
		rows++;
	CHECK("hostile-million-destinations", r.rc == 0 && rows > 0 && rows <= 4096,
	      "rc %d, %d rows, stderr %.200s", r.rc, rows, r.err);
	result_free(&r);
	{
		const char *ha[] = { "report", "-i", file, "--html", path("million.html"), NULL };
		size_t len;
		char *page;

		run(&r, -1, ha);
		page = slurp(path("million.html"), &len);
		rows = 0;
		for (char *p = page; p && (p = strstr(p, "<tr class=\"healthy-path\"")); p++)
			rows++;
		CHECK("hostile-million-destinations-html", r.rc == 0 && page && rows > 0 &&
		      rows <= 4096 && len > 7 && !strcmp(page + len - 8, "</html>\n"),
		      "rc %d, %d rows, %zu bytes, stderr %.200s", r.rc, rows, len, r.err);
		free(page);
		result_free(&r);
	}
}


/* A FIFO by name is refused at once; -i - reads a stream, but not an endless one of zeros. */
static void t_fifo(void)
{
	const char *fifo = path("fifo");
	const char *a1[] = { "report", "-i", fifo, NULL };
	const char *a2[] = { "report", "-i", "-", NULL };
	struct recfile_writer *w = create(path("small.data"));
	struct mw_event e = ev(MW_EV_RETRANS, 1);
	struct result r;
	int p[2];
	pid_t feeder;

	put(w, &e);
	done(w);
	mkfifo(fifo, 0600);
	run(&r, -1, a1);
	CHECK("hostile-fifo-refused", r.rc == 1 && one_line(&r) && strstr(r.err, "FIFO") &&
	      strstr(r.err, "-i -"), "rc %d, stderr %.300s", r.rc, r.err);
	result_free(&r);

	/* the file header, then zeros for ever (cat header /dev/zero | report -i -) */
	if (pipe(p))
		abort();
	feeder = fork();
	if (feeder == 0) {
		static uint8_t buf[65536];
		int fd = open(path("small.data"), O_RDONLY);

		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		if (read(fd, buf, 24) != 24)
			_exit(1);
		if (write(p[1], buf, 24) != 24)
			_exit(1);
		memset(buf, 0, sizeof(buf));
		for (;;)
			if (write(p[1], buf, sizeof(buf)) < 0)
				_exit(0);
	}
	close(p[1]);
	run(&r, p[0], a2);
	close(p[0]);
	kill(feeder, SIGKILL);
	waitpid(feeder, NULL, 0);
	CHECK("hostile-stdin-zeros-bounded", r.rc == 1 && one_line(&r), "rc %d, stderr %.300s",
	      r.rc, r.err);
	result_free(&r);

	/* and a real recording through a pipe still reads */
	{
		int fd = open(path("small.data"), O_RDONLY);

		run(&r, fd, a2);
		close(fd);
		CHECK("hostile-stdin-recording", r.rc == 0 && strstr(r.out, "198.51.100.2"),
		      "rc %d, stderr %.300s", r.rc, r.err);
		result_free(&r);
	}
}

/*
 * Issue 25: `--version` and `-V` were refused (exit 2); only `mtuwatch version` answered. Both
 * print what it prints and exit 0; -h, --help and help print the usage, which names them.
 */
static void t_version_help(void)
{
	static const char *const ver[][2] = { { "version" }, { "--version" }, { "-V" } };
	static const char *const help[][2] = { { "help" }, { "--help" }, { "-h" } };
	struct result want, r;

	run(&want, -1, ver[0]);
	CHECK("cli-version", want.rc == 0 && !strncmp(want.out, "mtuwatch ", 9), "rc %d: %s",
	      want.rc, want.out);
	for (int i = 1; i < 3; i++) {
		char name[32];

		run(&r, -1, ver[i]);
		snprintf(name, sizeof(name), "cli-version%s", ver[i][0]);
		CHECK(name, r.rc == 0 && !strcmp(r.out, want.out) && !r.errlen,
		      "rc %d, out %.100s, err %.100s", r.rc, r.out, r.err);
		result_free(&r);
	}
	for (int i = 0; i < 3; i++) {
		char name[32];

		run(&r, -1, help[i]);
		snprintf(name, sizeof(name), "cli-help%s%s", help[i][0][0] == '-' ? "" : "-",
			 help[i][0]);
		CHECK(name, r.rc == 0 && strstr(r.out, "Usage: mtuwatch") &&
		      strstr(r.out, "version | -V | --version"), "rc %d, err %.100s", r.rc, r.err);
		result_free(&r);
	}
	result_free(&want);
	{
		static const char *const bad[] = { "--versions", NULL };

		run(&r, -1, bad);
		CHECK("cli-unknown-option-exit-2", r.rc == 2 && one_line(&r), "rc %d, err %.100s",
		      r.rc, r.err);
		result_free(&r);
	}
}

int main(int argc, char **argv)
{
	char cmd[300];

	if (argc == 3 && !strcmp(argv[1], "--write-million")) {
		write_million_path(argv[2]);
		return 0;
	}
	if (argc != 2) {
		fail("test_hostile", "usage: test_hostile path/to/mtuwatch");
		return 0;
	}
	mw = argv[1];
	if (!mkdtemp(dir)) {
		fail("test_hostile", "mkdtemp: %s", strerror(errno));
		return 0;
	}
	t_version_help();
	t_no_nul();
	t_control_bytes();
	t_bomb();
	t_fifo();
	t_million();
	t_html_markup();
	t_html_kinds();
	t_html_ignored();
	t_html_million();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
