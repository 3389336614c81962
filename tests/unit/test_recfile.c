// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Over 800 lines on purpose: a table of cases for one unit (recfile.c) and its hostile files. */
/*
 * Unit tests for the recfile API (user/recfile.h). Each test prints exactly one line,
 * "PASS: name" or "FAIL: name: reason"; the exit status is always 0 and the
 * test runner counts lines.
 *
 * Hostile files are crafted byte by byte here (not with the writer) so the
 * tests do not share bugs with the code they test.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "../../user/recfile.h"
#include "check.h"

static char tmpdir[256];

/* ---------------------------------------------------------------------- */
/* helpers                                                                */
/* ---------------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;

		while (nc < b->len + n)
			nc *= 2;
		b->p = realloc(b->p, nc);
		if (!b->p) {
			perror("realloc");
			exit(1);
		}
		b->cap = nc;
	}
	/* d == NULL just reserves room */
	if (n && d)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void buf_le(struct buf *b, uint64_t v, int bytes)
{
	uint8_t t[8];
	int i;

	for (i = 0; i < bytes; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	buf_add(b, t, (size_t)bytes);
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static uint32_t le(const uint8_t *p, int bytes)
{
	uint32_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

/* file header as specified in docs/file-format.md */
static void mk_file_hdr(struct buf *b, uint16_t major, uint16_t minor, uint32_t flags)
{
	size_t start = b->len;
	uint32_t c;

	buf_add(b, "MTUWATCH", 8);
	buf_le(b, major, 2);
	buf_le(b, minor, 2);
	buf_le(b, 24, 4);
	buf_le(b, flags, 4);
	c = (uint32_t)crc32(0, b->p + start, 20);
	buf_le(b, c, 4);
}

/* one record into an uncompressed block body */
static void mk_rec(struct buf *raw, uint16_t type, const void *d, uint32_t len)
{
	static const uint8_t zero[8];

	buf_le(raw, type, 2);
	buf_le(raw, 0, 2);
	buf_le(raw, len, 4);
	buf_add(raw, d, len);
	buf_add(raw, zero, (8 - len % 8) % 8);
}

/* block with explicit (possibly lying) header fields and a valid header CRC */
static void mk_block_raw(struct buf *b, uint32_t seq, uint32_t clen, uint32_t rlen, uint32_t rcrc,
			 uint32_t nrec, const void *comp, size_t complen)
{
	size_t start = b->len;

	buf_add(b, "MTWB", 4);
	buf_le(b, seq, 4);
	buf_le(b, clen, 4);
	buf_le(b, rlen, 4);
	buf_le(b, rcrc, 4);
	buf_le(b, nrec, 4);
	buf_le(b, 0, 4);
	buf_le(b, (uint32_t)crc32(0, b->p + start, 28), 4);
	buf_add(b, comp, complen);
}

static void zcompress(struct buf *out, const void *d, size_t n)
{
	uLongf cl = compressBound(n);

	out->len = 0;
	buf_add(out, NULL, cl);
	if (compress2(out->p, &cl, d, n, 6) != Z_OK) {
		fprintf(stderr, "compress2 failed\n");
		exit(1);
	}
	out->len = cl;
}

/* honest block around an uncompressed body */
static void mk_block(struct buf *b, uint32_t seq, const struct buf *raw, uint32_t nrec)
{
	struct buf c = { 0 };

	zcompress(&c, raw->p, raw->len);
	mk_block_raw(b, seq, (uint32_t)c.len, (uint32_t)raw->len,
		     (uint32_t)crc32(0, raw->p, (uInt)raw->len), nrec, c.p, c.len);
	buf_free(&c);
}

static void mk_end(struct buf *raw, uint64_t nrecs)
{
	uint8_t p[8];
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(nrecs >> (8 * i));
	mk_rec(raw, 2, p, 8);
}

static void tmp_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static int read_whole(const char *path, struct buf *b)
{
	uint8_t t[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, t, sizeof(t))) > 0)
		buf_add(b, t, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

static int write_whole(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t k;

	if (fd < 0)
		return -1;
	k = write(fd, d, n);
	close(fd);
	return k == (ssize_t)n ? 0 : -1;
}

/* deterministic pseudo-random payloads so the reader can verify them */
static uint32_t rec_len(uint32_t i)
{
	if (i % 997 == 996)
		return RECFILE_MAX_RECORD;
	return (i * 2654435761u) % 301;
}

static void rec_fill(uint8_t *p, uint32_t i, uint32_t len)
{
	uint32_t x = i * 0x9e3779b9u + 1, k;

	for (k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		/* keep it somewhat compressible, like real events */
		p[k] = (uint8_t)(k % 16 < 8 ? x : k);
	}
}

static uint16_t rec_type(uint32_t i)
{
	return (uint16_t)(16 + i % 5);
}

/*
 * Read everything; return the recfile_next() end status and the number of
 * records. Verifies records against rec_fill() if @check (META skipped).
 */
struct outcome {
	int rc;			/* 0 or -1 from recfile_next, -2 open failed */
	uint64_t n;		/* user records returned */
	uint64_t meta;		/* META records returned */
	bool bad_content;
	bool trunc;
	uint64_t cut;
	char msg[256];
};

static void drain(struct recfile_reader *r, struct outcome *o, bool check)
{
	static uint8_t expect[RECFILE_MAX_RECORD];
	unsigned long long cut = 0;
	const void *d;
	uint16_t t;
	uint32_t l;
	int rc;

	while ((rc = recfile_next(r, &t, &d, &l)) == 1) {
		if (t == RECFILE_TYPE_META) {
			o->meta++;
			continue;
		}
		if (check) {
			uint32_t i = (uint32_t)o->n;

			if (((uintptr_t)d & 7) || t != rec_type(i) || l != rec_len(i)) {
				o->bad_content = true;
			} else {
				rec_fill(expect, i, l);
				if (memcmp(expect, d, l))
					o->bad_content = true;
			}
		}
		o->n++;
	}
	o->rc = rc;
	o->trunc = recfile_truncated(r);
	/* The bytes ignored after the last complete block: the warning says how many, as report
	 * prints it ("no END record" when none were). */
	if (o->trunc && sscanf(recfile_warning(r), "file truncated: %llu", &cut) != 1)
		cut = 0;
	o->cut = cut;
	snprintf(o->msg, sizeof(o->msg), "%s", rc < 0 ? recfile_error(r) : recfile_warning(r));
}

/*
 * A buffer is read through a memfd and recfile_open_fd(), the way `report -i -` reads stdin:
 * the reader has no path of its own for memory, so the tests go through the descriptor code
 * that production runs. Its messages from the open carry the name: "mem: ...".
 */
static void read_mem(const void *p, size_t n, struct outcome *o, bool check)
{
	static int fd = -1;
	struct recfile_reader *r;

	memset(o, 0, sizeof(*o));
	if (fd < 0)
		fd = memfd_create("test_recfile", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, p, n, 0) != (ssize_t)n ||
	    lseek(fd, 0, SEEK_SET)) {
		snprintf(o->msg, sizeof(o->msg), "memfd: %s", strerror(errno));
		o->rc = -3;
		return;
	}
	r = recfile_open_fd(fd, "mem", o->msg, sizeof(o->msg));
	if (!r) {
		o->rc = -2;
		return;
	}
	drain(r, o, check);
	recfile_close_reader(r);
}

static void read_path(const char *path, struct outcome *o, bool check)
{
	struct recfile_reader *r;

	memset(o, 0, sizeof(*o));
	r = recfile_open(path, o->msg, sizeof(o->msg));
	if (!r) {
		o->rc = -2;
		return;
	}
	drain(r, o, check);
	recfile_close_reader(r);
}

/* Bytes of the file on disk: the header and every block flushed so far. */
static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

/*
 * Blocks of a well-formed file, walked by the layout of docs/file-format.md (header_len at
 * offset 12; a 32-byte block header with the compressed length at offset 8). -1: unreadable.
 */
static int count_blocks(const char *path)
{
	struct buf b = { 0 };
	size_t off;
	int n = 0;

	if (read_whole(path, &b) || b.len < 24)
		return -1;
	for (off = le(b.p + 12, 4); off + 32 <= b.len; off += 32 + (size_t)le(b.p + off + 8, 4))
		n++;
	buf_free(&b);
	return n;
}

static int write_recs(struct recfile_writer *w, uint32_t from, uint32_t to)
{
	static uint8_t p[RECFILE_MAX_RECORD];
	uint32_t i;

	for (i = from; i < to; i++) {
		rec_fill(p, i, rec_len(i));
		if (recfile_write(w, rec_type(i), p, rec_len(i)))
			return -1;
	}
	return 0;
}

/*
 * Small multi-block file: 6 blocks of 3 records each (one META in the
 * first), END in the last. @bounds receives the file size after each block
 * and @recs_at the number of user records complete at that point.
 */
#define SMALL_BLOCKS 6
static int make_small(const char *path, struct buf *file, uint64_t *bounds, uint64_t *recs_at)
{
	struct recfile_writer *w;
	char err[256];
	uint32_t b;

	unlink(path);
	w = recfile_create(path, false, err, sizeof(err));
	if (!w)
		return -1;
	bounds[0] = file_size(path);
	recs_at[0] = 0;
	if (recfile_write_meta(w, "host", "test"))
		return -1;
	for (b = 0; b < SMALL_BLOCKS - 1; b++) {
		if (write_recs(w, b * 3, b * 3 + 3) || recfile_flush(w))
			return -1;
		bounds[b + 1] = file_size(path);
		recs_at[b + 1] = (uint64_t)b * 3 + 3;
	}
	if (write_recs(w, b * 3, b * 3 + 3) || recfile_close(w, err, sizeof(err)))
		return -1;
	file->len = 0;
	if (read_whole(path, file))
		return -1;
	bounds[SMALL_BLOCKS] = file->len;
	recs_at[SMALL_BLOCKS] = (uint64_t)SMALL_BLOCKS * 3;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* tests                                                                  */
/* ---------------------------------------------------------------------- */

static const char *t_roundtrip_multiblock(void)
{
	const uint32_t n = 30000;
	struct recfile_writer *w;
	struct recfile_reader *r;
	struct outcome o = { 0 };
	char path[300], err[256];
	int blocks;

	tmp_path(path, sizeof(path), "rt.mtw");
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	REQUIRE(!recfile_write_meta(w, "kernel", "6.1.0-test"), "meta: %s", recfile_writer_error(w));
	REQUIRE(!write_recs(w, 0, n / 2), "write: %s", recfile_writer_error(w));
	REQUIRE(!recfile_flush(w), "flush");
	REQUIRE(!recfile_flush(w), "second flush of nothing");
	REQUIRE(!write_recs(w, n / 2, n), "write: %s", recfile_writer_error(w));
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);

	/* The writer's count of records (n + 1, META included) is in its END record, which the
	 * reader checks against what it read: a wrong count is an error (rc -1) below. */
	r = recfile_open(path, err, sizeof(err));
	REQUIRE(r, "open: %s", err);
	drain(r, &o, true);
	recfile_close_reader(r);
	blocks = count_blocks(path);
	REQUIRE(o.rc == 0, "end rc %d: %s", o.rc, o.msg);
	REQUIRE(!o.trunc && !o.msg[0], "unexpected truncation: %s", o.msg);
	REQUIRE(o.n == n && o.meta == 1, "got %llu records %llu meta", (unsigned long long)o.n,
	      (unsigned long long)o.meta);
	REQUIRE(!o.bad_content, "record content mismatch");
	REQUIRE(blocks > 10, "only %d blocks", blocks);
	return NULL;
}

static const char *t_reader_api(void)
{
	struct recfile_writer *w;
	struct recfile_reader *r;
	char path[300], err[256];
	struct buf b = { 0 };
	uint16_t t;
	const void *d;
	uint32_t l;

	tmp_path(path, sizeof(path), "api.mtw");
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	REQUIRE(!recfile_write(w, 16, NULL, 0), "empty record");
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);
	/* The version in the header as written (the reader refuses another major: wrong-version) */
	REQUIRE(!read_whole(path, &b) && b.len >= 12 && le(b.p + 8, 2) == RECFILE_VERSION_MAJOR &&
	      le(b.p + 10, 2) == RECFILE_VERSION_MINOR, "version %u.%u",
	      b.len >= 12 ? le(b.p + 8, 2) : 0, b.len >= 12 ? le(b.p + 10, 2) : 0);
	buf_free(&b);
	r = recfile_open(path, err, sizeof(err));
	REQUIRE(r, "open: %s", err);
	REQUIRE(recfile_next(r, &t, &d, &l) == 1 && t == 16 && l == 0, "first record");
	REQUIRE(recfile_next(r, &t, &d, &l) == 0, "end");
	REQUIRE(recfile_next(r, &t, &d, &l) == 0, "end is sticky");
	recfile_close_reader(r);
	/* one record read (above), from the one block the file has */
	REQUIRE(count_blocks(path) == 1, "counters: %d blocks", count_blocks(path));
	return NULL;
}

static const char *t_writer_rejects(void)
{
	static uint8_t big[RECFILE_MAX_RECORD + 1];
	struct recfile_writer *w;
	struct outcome o;
	char path[300], err[256];

	tmp_path(path, sizeof(path), "rej.mtw");
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	REQUIRE(recfile_write(w, RECFILE_TYPE_END, "x", 1) == -1, "reserved type accepted");
	REQUIRE(strstr(recfile_writer_error(w), "reserved"), "msg: %s", recfile_writer_error(w));
	REQUIRE(recfile_write(w, 16, big, RECFILE_MAX_RECORD + 1) == -1 && errno == EMSGSIZE,
	        "oversized record accepted");
	REQUIRE(recfile_write(w, 16, NULL, 5) == -1, "NULL data accepted");
	REQUIRE(recfile_write_meta(w, "bad key", "v") == -1, "bad key accepted");
	REQUIRE(recfile_write_meta(w, "", "v") == -1, "empty key accepted");
	REQUIRE(recfile_write_meta(w, "k", "a\nb") == -1, "newline in value accepted");
	REQUIRE(!recfile_write(w, 16, big, RECFILE_MAX_RECORD), "max record refused: %s",
	        recfile_writer_error(w));
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);
	read_path(path, &o, false);
	REQUIRE(o.rc == 0 && !o.trunc && o.n == 1, "readback rc %d n %llu: %s", o.rc,
	        (unsigned long long)o.n, o.msg);
	return NULL;
}

static const char *t_meta(void)
{
	struct recfile_writer *w;
	struct recfile_reader *r;
	char path[300], err[256];
	const char *k, *v;
	size_t kl, vl;
	const void *d;
	uint16_t t;
	uint32_t l, pos;
	int n = 0;
	static const char bad1[] = "novalue\n", bad2[] = "=x\n", bad3[] = "k=v";
	static const char bad4[] = "k y=v\n", bad5[] = "k=a\0b\n";

	tmp_path(path, sizeof(path), "meta.mtw");
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	REQUIRE(!recfile_write_meta(w, "hostname", "box=1"), "meta1");
	REQUIRE(!recfile_write_meta(w, "sysctl.net.ipv4.ip_no_pmtu_disc", ""), "meta2");
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);

	r = recfile_open(path, err, sizeof(err));
	REQUIRE(r, "open: %s", err);
	while (recfile_next(r, &t, &d, &l) == 1) {
		REQUIRE(t == RECFILE_TYPE_META, "type %u", t);
		pos = 0;
		REQUIRE(recfile_meta_next(d, l, &pos, &k, &kl, &v, &vl) == 1, "parse");
		if (n == 0)
			REQUIRE(kl == 8 && !memcmp(k, "hostname", 8) && vl == 5 &&
			        !memcmp(v, "box=1", 5), "pair 0: %.*s=%.*s", (int)kl, k, (int)vl,
			        v);
		else
			REQUIRE(kl == 31 && vl == 0, "pair 1");
		REQUIRE(recfile_meta_next(d, l, &pos, &k, &kl, &v, &vl) == 0, "single pair");
		n++;
	}
	recfile_close_reader(r);
	REQUIRE(n == 2, "%d META records", n);

	pos = 0;
	REQUIRE(recfile_meta_next("a=1\nb=2\n", 8, &pos, &k, &kl, &v, &vl) == 1 &&
	        recfile_meta_next("a=1\nb=2\n", 8, &pos, &k, &kl, &v, &vl) == 1 && *k == 'b' &&
	        recfile_meta_next("a=1\nb=2\n", 8, &pos, &k, &kl, &v, &vl) == 0, "two pairs");
	pos = 0;
	REQUIRE(recfile_meta_next(bad1, sizeof(bad1) - 1, &pos, &k, &kl, &v, &vl) == -1, "bad1");
	pos = 0;
	REQUIRE(recfile_meta_next(bad2, sizeof(bad2) - 1, &pos, &k, &kl, &v, &vl) == -1, "bad2");
	pos = 0;
	REQUIRE(recfile_meta_next(bad3, sizeof(bad3) - 1, &pos, &k, &kl, &v, &vl) == -1, "bad3");
	pos = 0;
	REQUIRE(recfile_meta_next(bad4, sizeof(bad4) - 1, &pos, &k, &kl, &v, &vl) == -1, "bad4");
	pos = 0;
	REQUIRE(recfile_meta_next(bad5, sizeof(bad5) - 1, &pos, &k, &kl, &v, &vl) == -1, "bad5");
	pos = 99;
	REQUIRE(recfile_meta_next("a=1\n", 4, &pos, &k, &kl, &v, &vl) == -1, "pos past end");
	return NULL;
}

static const char *t_refuse_overwrite(void)
{
	struct recfile_writer *w;
	struct buf b = { 0 };
	char path[300], err[256];

	tmp_path(path, sizeof(path), "exists.mtw");
	REQUIRE(!write_whole(path, "precious", 8), "setup");
	err[0] = 0;
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(!w, "overwrote an existing file without force");
	REQUIRE(strstr(err, "exists") && !strchr(err, '\n'), "message: %s", err);
	REQUIRE(!read_whole(path, &b) && b.len == 8 && !memcmp(b.p, "precious", 8),
	        "existing file was modified");
	buf_free(&b);
	return NULL;
}

static const char *t_force_overwrite(void)
{
	struct recfile_writer *w;
	struct outcome o;
	char path[300], target[300], dir[300], err[256];
	struct buf b = { 0 };

	tmp_path(path, sizeof(path), "exists.mtw");
	REQUIRE(!write_whole(path, "precious", 8), "setup");
	w = recfile_create(path, true, err, sizeof(err));
	REQUIRE(w, "force create: %s", err);
	REQUIRE(!write_recs(w, 0, 10), "write");
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);
	read_path(path, &o, true);
	REQUIRE(o.rc == 0 && o.n == 10 && !o.bad_content, "readback rc %d n %llu: %s", o.rc,
	        (unsigned long long)o.n, o.msg);

	/* a symlink at the path is replaced, its target left alone */
	tmp_path(target, sizeof(target), "target");
	REQUIRE(!write_whole(target, "keep", 4), "setup target");
	unlink(path);
	REQUIRE(!symlink(target, path), "symlink: %s", strerror(errno));
	w = recfile_create(path, true, err, sizeof(err));
	REQUIRE(w, "force over symlink: %s", err);
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);
	REQUIRE(!read_whole(target, &b) && b.len == 4, "symlink target was written through");
	buf_free(&b);

	/* force never removes a directory */
	tmp_path(dir, sizeof(dir), "adir");
	REQUIRE(!mkdir(dir, 0700), "mkdir");
	w = recfile_create(dir, true, err, sizeof(err));
	REQUIRE(!w && strstr(err, "not a regular file"), "directory: %s", w ? "created" : err);
	rmdir(dir);
	unlink(target);
	return NULL;
}

static const char *t_truncation_every_offset(void)
{
	uint64_t bounds[SMALL_BLOCKS + 1], recs_at[SMALL_BLOCKS + 1];
	struct buf f = { 0 };
	struct outcome o;
	char path[300];
	size_t cut;
	int b, tested = 0;

	tmp_path(path, sizeof(path), "small.mtw");
	REQUIRE(!make_small(path, &f, bounds, recs_at), "make_small");
	REQUIRE(bounds[0] == 24, "header is %llu bytes", (unsigned long long)bounds[0]);

	for (cut = 0; cut <= f.len; cut++) {
		read_mem(f.p, cut, &o, true);
		if (cut < bounds[0]) {
			REQUIRE(o.rc == -2 && o.msg[0] && !strchr(o.msg, '\n'),
			        "cut %zu: header cut not refused (rc %d)", cut, o.rc);
			continue;
		}
		for (b = SMALL_BLOCKS; b > 0 && bounds[b] > cut; b--)
			;
		REQUIRE(o.rc == 0, "cut %zu: rc %d: %s", cut, o.rc, o.msg);
		REQUIRE(!o.bad_content, "cut %zu: wrong record content", cut);
		REQUIRE(o.n == recs_at[b], "cut %zu: %llu records, expected %llu", cut,
		        (unsigned long long)o.n, (unsigned long long)recs_at[b]);
		if (cut == f.len) {
			REQUIRE(!o.trunc && !o.msg[0], "complete file reported truncated");
		} else {
			REQUIRE(o.trunc, "cut %zu: not flagged truncated", cut);
			REQUIRE(o.cut == cut - bounds[b], "cut %zu: bytes_cut %llu, expected %llu",
			        cut, (unsigned long long)o.cut,
			        (unsigned long long)(cut - bounds[b]));
			REQUIRE(strstr(o.msg, "file truncated"), "cut %zu: warning '%s'", cut,
			        o.msg);
		}
		tested++;
	}

	/* the file-descriptor path too, on a real truncated file */
	for (b = 1; b <= SMALL_BLOCKS; b++) {
		size_t at = (size_t)bounds[b] - 7;

		REQUIRE(!write_whole(path, f.p, at), "write cut file");
		read_path(path, &o, true);
		REQUIRE(o.rc == 0 && o.trunc && o.n == recs_at[b - 1] &&
		        o.cut == at - bounds[b - 1],
		        "file cut at %zu: rc %d trunc %d n %llu cut %llu", at, o.rc, o.trunc,
		        (unsigned long long)o.n, (unsigned long long)o.cut);
	}
	buf_free(&f);
	REQUIRE(tested > 100, "only %d offsets tested", tested);
	return NULL;
}

static const char *t_zero_tail(void)
{
	uint64_t bounds[SMALL_BLOCKS + 1], recs_at[SMALL_BLOCKS + 1];
	struct buf f = { 0 };
	struct outcome o;
	char path[300];
	size_t keep;

	tmp_path(path, sizeof(path), "zt.mtw");
	REQUIRE(!make_small(path, &f, bounds, recs_at), "make_small");
	/* power loss: size grew, last blocks' data never hit the disk */
	keep = (size_t)bounds[3];
	memset(f.p + keep, 0, f.len - keep);
	read_mem(f.p, f.len, &o, true);
	REQUIRE(o.rc == 0 && o.trunc && o.n == recs_at[3] && o.cut == f.len - keep,
	        "rc %d trunc %d n %llu cut %llu: %s", o.rc, o.trunc, (unsigned long long)o.n,
	        (unsigned long long)o.cut, o.msg);
	/* but a zero block header followed by junk is corruption */
	f.p[f.len - 1] = 1;
	read_mem(f.p, f.len, &o, true);
	REQUIRE(o.rc == -1 && strstr(o.msg, "bad block magic"), "junk tail: rc %d %s", o.rc, o.msg);
	buf_free(&f);
	return NULL;
}

static const char *t_killed_writer(void)
{
	struct recfile_writer *w;
	struct outcome o;
	char path[300], err[256];
	int status;
	pid_t pid;

	tmp_path(path, sizeof(path), "killed.mtw");
	unlink(path);
	pid = fork();
	REQUIRE(pid >= 0, "fork");
	if (pid == 0) {
		w = recfile_create(path, false, err, sizeof(err));
		if (!w || write_recs(w, 0, 500) || recfile_flush(w) || write_recs(w, 500, 600))
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid");
	REQUIRE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child did not die by SIGKILL");
	read_path(path, &o, true);
	REQUIRE(o.rc == 0 && o.trunc && o.n == 500 && !o.bad_content && o.cut == 0,
	        "rc %d trunc %d n %llu cut %llu: %s", o.rc, o.trunc, (unsigned long long)o.n,
	        (unsigned long long)o.cut, o.msg);
	REQUIRE(strstr(o.msg, "no END record"), "warning: %s", o.msg);

	/* recfile_discard() is the in-process equivalent */
	unlink(path);
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	REQUIRE(!write_recs(w, 0, 20) && !recfile_flush(w) && !write_recs(w, 20, 30), "write");
	recfile_discard(w);
	read_path(path, &o, true);
	REQUIRE(o.rc == 0 && o.trunc && o.n == 20, "discard: rc %d trunc %d n %llu", o.rc, o.trunc,
	        (unsigned long long)o.n);
	return NULL;
}

static const char *t_bit_flips(void)
{
	uint64_t bounds[SMALL_BLOCKS + 1], recs_at[SMALL_BLOCKS + 1];
	struct buf f = { 0 };
	struct outcome o;
	char path[300];
	size_t i;
	int bit, b, flips = 0, ignored = 0;

	tmp_path(path, sizeof(path), "flip.mtw");
	REQUIRE(!make_small(path, &f, bounds, recs_at), "make_small");
	for (i = 0; i < f.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			f.p[i] ^= (uint8_t)(1 << bit);
			read_mem(f.p, f.len, &o, true);
			f.p[i] ^= (uint8_t)(1 << bit);
			flips++;
			/*
			 * Everything is under a CRC, so a flip is caught unless it
			 * lands on bits inflate ignores (the padding after the final
			 * deflate block); then the data must come out intact.
			 */
			if (o.rc == 0) {
				REQUIRE(!o.trunc && o.n == recs_at[SMALL_BLOCKS] && !o.bad_content,
				        "flip byte %zu bit %d: damaged file read without error", i,
				        bit);
				ignored++;
				continue;
			}
			REQUIRE(o.msg[0] && !strchr(o.msg, '\n'), "flip %zu/%d: bad message '%s'",
			        i, bit, o.msg);
			REQUIRE(!o.bad_content, "flip %zu/%d: corrupted record delivered", i, bit);
			/* records before the damaged block are still delivered */
			for (b = SMALL_BLOCKS; b > 0 && bounds[b] > i; b--)
				;
			REQUIRE(o.rc == -2 || o.n == recs_at[b],
			        "flip %zu/%d: %llu records before the error, expected %llu", i, bit,
			        (unsigned long long)o.n, (unsigned long long)recs_at[b]);
		}
	}
	buf_free(&f);
	REQUIRE(flips > 1000, "only %d flips", flips);
	/* zlib ignores a few padding bits per stream; more would be a blind spot */
	REQUIRE(ignored * 100 <= flips, "%d of %d flips went unnoticed", ignored, flips);
	return NULL;
}

static const char *t_wrong_magic(void)
{
	struct buf f = { 0 };
	struct outcome o;

	mk_file_hdr(&f, 1, 0, 1);
	f.p[0] = 'X';
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -2 && !strcmp(o.msg, "mem: not an mtuwatch file (bad magic)"), "msg: %s",
	      o.msg);
	read_mem("\x7f" "ELF", 4, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "bad magic"), "short ELF: %s", o.msg);
	read_mem("MTU", 3, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "too short"), "short prefix: %s", o.msg);
	buf_free(&f);
	return NULL;
}

static const char *t_wrong_version(void)
{
	struct buf f = { 0 }, raw = { 0 };
	struct outcome o;

	mk_file_hdr(&f, 7, 0, 1);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -2 &&
	      !strcmp(o.msg, "mem: unsupported format version 7 (this build reads 1)"),
	      "msg: %s", o.msg);

	/* newer minor, unknown compat flag, unknown reserved record: all fine */
	f.len = 0;
	mk_file_hdr(&f, 1, 9, 1 | 0x10000);
	mk_rec(&raw, 5, "future", 6);
	mk_rec(&raw, 16, "", 0);
	mk_end(&raw, 2);
	mk_block(&f, 0, &raw, 3);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == 0 && !o.trunc && o.n == 1, "newer minor: rc %d n %llu: %s", o.rc,
	        (unsigned long long)o.n, o.msg);

	/* unknown incompatible flag */
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1 | 0x4);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "unsupported file flags"), "flags: %s", o.msg);
	buf_free(&f);
	buf_free(&raw);
	return NULL;
}

static const char *t_absurd_length(void)
{
	struct buf f = { 0 };
	struct outcome o;
	uint8_t junk[64] = { 0 };

	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, 64, 4000000000u, 0, 1, junk, sizeof(junk));
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 &&
	        !strcmp(o.msg, "corrupt block at offset 24: declared length 4000000000 exceeds limit 1048576"),
	        "msg: %s", o.msg);

	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, 0xffffffffu, 100, 0, 1, junk, sizeof(junk));
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "declared compressed length 4294967295 exceeds limit"),
	        "clen msg: %s", o.msg);

	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, 64, 64, 0, 1000, junk, sizeof(junk));
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "records cannot fit"), "nrec msg: %s", o.msg);

	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 3, 64, 64, 0, 1, junk, sizeof(junk));
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "block number 3, expected 0"), "seq msg: %s", o.msg);

	/* header length field */
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	f.p[12] = 0xff;
	f.p[15] = 0xff;
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "header length"), "hlen msg: %s", o.msg);
	buf_free(&f);
	return NULL;
}

static const char *t_zip_bomb(void)
{
	const size_t big = 8u << 20;
	struct buf f = { 0 }, c = { 0 };
	uint8_t *zeros = calloc(1, big);
	struct outcome o;

	REQUIRE(zeros, "calloc");
	/* 1 MiB of zeros squeezed into ~1 KiB, but the header says 1 KiB out */
	zcompress(&c, zeros, 1u << 20);
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, (uint32_t)c.len, 1024, (uint32_t)crc32(0, zeros, 1024), 1, c.p, c.len);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "inflates to more than the declared 1024 bytes"),
	        "small declared: rc %d %s", o.rc, o.msg);

	/* honest about its size, but the size is over the limit */
	zcompress(&c, zeros, big);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, (uint32_t)c.len, (uint32_t)big, (uint32_t)crc32(0, zeros, (uInt)big),
		     1, c.p, c.len);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "declared length 8388608 exceeds limit 1048576"),
	        "over limit: rc %d %s", o.rc, o.msg);

	/* declares more than the stream yields */
	zcompress(&c, zeros, 100);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, (uint32_t)c.len, 200, 0, 1, c.p, c.len);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "inflates to 100 bytes, declared 200"), "short: %s",
	        o.msg);

	/* compressed data that is not zlib at all */
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, 100, 100, 0, 1, zeros, 100);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "invalid compressed data"), "garbage: %s", o.msg);
	free(zeros);
	buf_free(&f);
	buf_free(&c);
	return NULL;
}

/*
 * Degenerate payloads deflate past RECFILE_MAX_RATIO: the writer stores those blocks, so
 * what it writes reads back; a block that claims more is refused before it is inflated.
 */
static const char *t_ratio_limit(void)
{
	static uint8_t same[112];
	struct recfile_writer *w;
	struct outcome o = { 0 };
	struct buf f = { 0 }, c = { 0 };
	char path[300], err[256];
	uint8_t *zeros = calloc(1, 65536);

	REQUIRE(zeros, "calloc");
	tmp_path(path, sizeof(path), "same.mtw");
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	for (int i = 0; i < 5000; i++)
		REQUIRE(!recfile_write(w, 16, same, sizeof(same)), "write: %s",
		        recfile_writer_error(w));
	REQUIRE(!recfile_write(w, 16, zeros, 65536), "write: %s", recfile_writer_error(w));
	REQUIRE(!recfile_close(w, err, sizeof(err)), "close: %s", err);
	read_path(path, &o, false);
	REQUIRE(o.rc == 0 && !o.trunc && o.n == 5001, "identical records: rc %d, %llu read: %s",
	        o.rc, (unsigned long long)o.n, o.msg);

	/* 64 KiB of zeros in about 80 bytes: honest about its size, but no recording does that */
	zcompress(&c, zeros, 65536);
	mk_file_hdr(&f, 1, 0, 1);
	mk_block_raw(&f, 0, (uint32_t)c.len, 65536, (uint32_t)crc32(0, zeros, 65536), 1, c.p,
		     c.len);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "zip bomb") && !strchr(o.msg, '\n'), "ratio: rc %d %s",
	        o.rc, o.msg);
	free(zeros);
	buf_free(&f);
	buf_free(&c);
	return NULL;
}

static const char *t_record_past_block_end(void)
{
	struct buf f = { 0 }, raw = { 0 };
	struct outcome o;
	uint8_t d[100] = { 0 };

	mk_rec(&raw, 16, d, 100);
	raw.len -= 50;	/* header still says 100 */
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 1);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && o.n == 0 && strstr(o.msg, "length 100 runs past the block end"),
	        "msg: rc %d %s", o.rc, o.msg);

	/* a record length over the record limit */
	raw.len = 0;
	mk_rec(&raw, 16, d, 8);
	raw.p[4] = 0xff;
	raw.p[5] = 0xff;
	raw.p[6] = 0xff;
	raw.p[7] = 0x7f;
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 1);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "exceeds limit 65536"), "rec limit: %s", o.msg);

	/* record count disagrees with the body */
	raw.len = 0;
	mk_rec(&raw, 16, d, 8);
	mk_rec(&raw, 16, d, 8);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 1);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "bytes after the last of 1 records"), "count: %s",
	        o.msg);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 3);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "header runs past the block end"), "count3: %s", o.msg);
	buf_free(&f);
	buf_free(&raw);
	return NULL;
}

static const char *t_end_record_rules(void)
{
	struct buf f = { 0 }, raw = { 0 };
	struct outcome o;

	/* records after END in the same block */
	mk_end(&raw, 0);
	mk_rec(&raw, 16, "x", 1);
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 2);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "after the END record"), "after END: %s", o.msg);

	/* END count does not match (a block went missing) */
	raw.len = 0;
	mk_rec(&raw, 16, "x", 1);
	mk_end(&raw, 5);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 2);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && o.n == 1 && strstr(o.msg, "counts 5 records but 1"), "count: %s",
	        o.msg);

	/* a good file followed by anything */
	raw.len = 0;
	mk_rec(&raw, 16, "x", 1);
	mk_end(&raw, 1);
	f.len = 0;
	mk_file_hdr(&f, 1, 0, 1);
	mk_block(&f, 0, &raw, 2);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == 0 && !o.trunc && o.n == 1, "good: rc %d %s", o.rc, o.msg);
	buf_add(&f, "\0", 1);
	read_mem(f.p, f.len, &o, false);
	REQUIRE(o.rc == -1 && strstr(o.msg, "trailing data"), "trailing: %s", o.msg);
	buf_free(&f);
	buf_free(&raw);
	return NULL;
}

static const char *t_empty_file(void)
{
	struct outcome o;
	char path[300];

	read_mem("", 0, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "empty file"), "mem: %s", o.msg);
	tmp_path(path, sizeof(path), "empty.mtw");
	REQUIRE(!write_whole(path, "", 0), "setup");
	read_path(path, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "empty file") && strstr(o.msg, path), "file: %s",
	        o.msg);
	tmp_path(path, sizeof(path), "does-not-exist.mtw");
	read_path(path, &o, false);
	REQUIRE(o.rc == -2 && strstr(o.msg, "No such file"), "missing: %s", o.msg);
	return NULL;
}

static const char *t_header_only(void)
{
	struct recfile_writer *w;
	struct outcome o;
	char path[300], err[256];

	tmp_path(path, sizeof(path), "hdronly.mtw");
	unlink(path);
	w = recfile_create(path, false, err, sizeof(err));
	REQUIRE(w, "create: %s", err);
	recfile_discard(w);
	read_path(path, &o, false);
	REQUIRE(o.rc == 0 && o.trunc && o.cut == 0 && o.n == 0, "rc %d trunc %d cut %llu: %s", o.rc,
	        o.trunc, (unsigned long long)o.cut, o.msg);
	REQUIRE(strstr(o.msg, "no END record after 0 complete blocks"), "warning: %s", o.msg);
	return NULL;
}

/* ---------------------------------------------------------------------- */

static void rm_tmpdir(void)
{
	char p[600];
	struct dirent *de;
	DIR *d = opendir(tmpdir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	static const struct {
		const char *name;
		const char *(*fn)(void);
	} tests[] = {
		{ "recfile-roundtrip-multiblock", t_roundtrip_multiblock },
		{ "recfile-reader-api", t_reader_api },
		{ "recfile-writer-rejects-bad-input", t_writer_rejects },
		{ "recfile-meta", t_meta },
		{ "recfile-refuse-overwrite", t_refuse_overwrite },
		{ "recfile-force-overwrite", t_force_overwrite },
		{ "recfile-truncation-every-offset", t_truncation_every_offset },
		{ "recfile-zero-tail", t_zero_tail },
		{ "recfile-killed-writer", t_killed_writer },
		{ "recfile-bit-flips", t_bit_flips },
		{ "recfile-wrong-magic", t_wrong_magic },
		{ "recfile-wrong-version", t_wrong_version },
		{ "recfile-absurd-length", t_absurd_length },
		{ "recfile-zip-bomb", t_zip_bomb },
		{ "recfile-ratio-limit", t_ratio_limit },
		{ "recfile-record-past-block-end", t_record_past_block_end },
		{ "recfile-end-record-rules", t_end_record_rules },
		{ "recfile-empty-file", t_empty_file },
		{ "recfile-header-only", t_header_only },
	};
	const char *base = getenv("TMPDIR");
	size_t i;

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_recfile.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			fail(tests[i].name, "mkdtemp: %s", strerror(errno));
		return 0;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		const char *why = tests[i].fn();

		CHECK(tests[i].name, !why, "%s", why);
	}
	rm_tmpdir();
	return 0;
}
