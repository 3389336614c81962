// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Generate the seed corpus for fuzz_recfile into the directory given as
 * argv[1] (existing files are overwritten). Output is deterministic so the
 * checked-in corpus can be regenerated and compared.
 *
 * Valid files come from the real writer; hostile ones are crafted by hand
 * because the writer cannot produce them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../user/recfile.h"

static const char *outdir;

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void die(const char *what)
{
	fprintf(stderr, "mkcorpus: %s\n", what);
	exit(1);
}

static void add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	if (n && d)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void le(struct buf *b, uint64_t v, int bytes)
{
	uint8_t t[8];
	int i;

	for (i = 0; i < bytes; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	add(b, t, (size_t)bytes);
}

static void path_of(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", outdir, name);
}

static void save(const char *name, const void *d, size_t n)
{
	char p[4096];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "wb");
	if (!f || fwrite(d, 1, n, f) != n || fclose(f))
		die(p);
}

static void load(const char *name, struct buf *b)
{
	char p[4096];
	uint8_t t[4096];
	size_t n;
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "rb");
	if (!f)
		die(p);
	b->len = 0;
	while ((n = fread(t, 1, sizeof(t), f)) > 0)
		add(b, t, n);
	fclose(f);
}

static void file_hdr(struct buf *b, uint16_t major, uint16_t minor, uint32_t flags)
{
	size_t s = b->len;

	add(b, "MTUWATCH", 8);
	le(b, major, 2);
	le(b, minor, 2);
	le(b, 24, 4);
	le(b, flags, 4);
	le(b, (uint32_t)crc32(0, b->p + s, 20), 4);
}

static void block_raw(struct buf *b, uint32_t seq, uint32_t clen, uint32_t rlen, uint32_t rcrc,
		      uint32_t nrec, const void *comp, size_t complen)
{
	size_t s = b->len;

	add(b, "MTWB", 4);
	le(b, seq, 4);
	le(b, clen, 4);
	le(b, rlen, 4);
	le(b, rcrc, 4);
	le(b, nrec, 4);
	le(b, 0, 4);
	le(b, (uint32_t)crc32(0, b->p + s, 28), 4);
	add(b, comp, complen);
}

static void rec(struct buf *raw, uint16_t type, const void *d, uint32_t len)
{
	static const uint8_t zero[8];

	le(raw, type, 2);
	le(raw, 0, 2);
	le(raw, len, 4);
	add(raw, d, len);
	add(raw, zero, (8 - len % 8) % 8);
}

static void zcomp(struct buf *out, const void *d, size_t n, int level)
{
	uLongf cl = compressBound(n);

	out->len = 0;
	add(out, NULL, cl);
	if (compress2(out->p, &cl, d, n, level) != Z_OK)
		die("compress2");
	out->len = cl;
}

static void block_lvl(struct buf *b, uint32_t seq, const struct buf *raw, uint32_t nrec,
		      int level)
{
	struct buf c = { 0 };

	zcomp(&c, raw->p, raw->len, level);
	block_raw(b, seq, (uint32_t)c.len, (uint32_t)raw->len,
		  (uint32_t)crc32(0, raw->p, (uInt)raw->len), nrec, c.p, c.len);
	free(c.p);
}

static void block(struct buf *b, uint32_t seq, const struct buf *raw, uint32_t nrec)
{
	block_lvl(b, seq, raw, nrec, 9);
}

/* A small recording shaped like a real one: META, events, periodic flushes. */
static void write_valid(const char *name, bool close_it)
{
	struct recfile_writer *w;
	char p[4096], err[256];
	uint8_t ev[48];
	int i, j;

	path_of(p, sizeof(p), name);
	w = recfile_create(p, true, err, sizeof(err));
	if (!w)
		die(err);
	if (recfile_write_meta(w, "kernel", "6.1.0-18-amd64") ||
	    recfile_write_meta(w, "hostname", "fuzzbox") ||
	    recfile_write_meta(w, "ifaces", "eth0:1500,wg0:1420"))
		die(recfile_writer_error(w));
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 6; j++) {
			memset(ev, 0, sizeof(ev));
			ev[0] = (uint8_t)i;
			ev[1] = (uint8_t)j;
			ev[8] = 0x05;	/* 1500 little-endian, an MTU-ish value */
			ev[9] = 0xdc;
			if (recfile_write(w, (uint16_t)(16 + j % 3), ev, (uint32_t)(8 + j * 8)))
				die(recfile_writer_error(w));
		}
		if (recfile_flush(w))
			die(recfile_writer_error(w));
	}
	if (close_it) {
		if (recfile_close(w, err, sizeof(err)))
			die(err);
	} else {
		if (recfile_write(w, 16, ev, 16))
			die(recfile_writer_error(w));
		recfile_discard(w);
	}
}

int main(int argc, char **argv)
{
	struct buf f = { 0 }, raw = { 0 }, c = { 0 };
	uint8_t *zeros;
	char p[4096], err[256];
	struct recfile_writer *w;
	uint8_t end[8] = { 3 };	/* END payload: u64 count of the records before it */

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];

	save("empty.mtw", "", 0);
	write_valid("valid-multiblock.mtw", true);
	write_valid("interrupted-no-end.mtw", false);

	/* cut in the middle of the third block */
	load("valid-multiblock.mtw", &f);
	save("truncated.mtw", f.p, f.len * 2 / 3);

	/* one flipped bit in the second block's compressed data */
	f.p[f.len / 2] ^= 0x10;
	save("bitflip.mtw", f.p, f.len);

	path_of(p, sizeof(p), "header-only.mtw");
	w = recfile_create(p, true, err, sizeof(err));
	if (!w)
		die(err);
	recfile_discard(w);

	f.len = 0;
	file_hdr(&f, 7, 0, 1);
	save("wrong-version.mtw", f.p, f.len);

	zeros = calloc(1, 2u << 20);
	if (!zeros)
		die("out of memory");

	/* declares 1 KiB, inflates to 1 MiB */
	zcomp(&c, zeros, 1u << 20, 9);
	f.len = 0;
	file_hdr(&f, 1, 0, 1);
	block_raw(&f, 0, (uint32_t)c.len, 1024, (uint32_t)crc32(0, zeros, 1024), 1, c.p, c.len);
	save("zipbomb-lying.mtw", f.p, f.len);

	/* honest 2 MiB block: over the limit */
	zcomp(&c, zeros, 2u << 20, 9);
	f.len = 0;
	file_hdr(&f, 1, 0, 1);
	block_raw(&f, 0, (uint32_t)c.len, 2u << 20, (uint32_t)crc32(0, zeros, 2u << 20), 1, c.p,
		  c.len);
	save("zipbomb-over-limit.mtw", f.p, f.len);

	/* record length running past the block end */
	raw.len = 0;
	rec(&raw, 16, zeros, 100);
	raw.len -= 50;
	f.len = 0;
	file_hdr(&f, 1, 0, 1);
	block(&f, 0, &raw, 1);
	save("record-past-end.mtw", f.p, f.len);

	/* newer minor version, compat flag, unknown reserved record: readable */
	raw.len = 0;
	rec(&raw, 5, "future", 6);
	rec(&raw, 1, "a=b\nc=d\n", 8);
	rec(&raw, 16, "", 0);
	rec(&raw, 2, end, 8);
	f.len = 0;
	file_hdr(&f, 1, 3, 1 | 0x10000);
	block(&f, 0, &raw, 4);
	save("future-minor.mtw", f.p, f.len);

	/*
	 * Level 0 ("stored") blocks hold the records verbatim, so a fuzzer
	 * built to ignore checksums mutates record headers directly.
	 */
	f.len = 0;
	file_hdr(&f, 1, 0, 1);
	raw.len = 0;
	rec(&raw, 1, "kernel=6.1.0\nhostname=h\n", 24);
	rec(&raw, 16, "abcdefghij", 10);
	rec(&raw, 17, "", 0);
	block_lvl(&f, 0, &raw, 3, 0);
	raw.len = 0;
	rec(&raw, 18, zeros, 40);
	memset(end, 0, sizeof(end));
	end[0] = 4;
	rec(&raw, 2, end, 8);
	block_lvl(&f, 1, &raw, 2, 0);
	save("stored-blocks.mtw", f.p, f.len);

	free(zeros);
	free(f.p);
	free(raw.p);
	free(c.p);
	return 0;
}
