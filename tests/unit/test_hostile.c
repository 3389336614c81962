// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hostile recordings against `mtuwatch report`, the way a user meets them: an interface name
 * with no NUL, terminal escapes in META values and names, a many-block zip bomb, a million
 * distinct destinations, a FIFO with no writer and an endless stream of zeros. Each case
 * asserts the outcome (exit status, one error line, what the output may not contain) and
 * that report finishes; how long it takes is measured by tests/bench.sh, never asserted.
 * First, the command line's own habits: --version, -V, --help, -h.
 *
 * Usage: test_hostile path/to/mtuwatch (no root needed).
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
#include <sys/wait.h>
#include <zlib.h>

#include "check.h"
#include "driver.h"
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
		if (!*p || !strchr("\n\" ),:;", *p))
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
	for (int m = 0; m < 4; m++) {
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
	bool plain_ok, raw_ok;

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
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
