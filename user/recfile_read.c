// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * recfile: the reader of the mtuwatch recording container (recfile.h is the API, the byte
 * layout is in recfile_format.h and docs/file-format.md; the writer is recfile_write.c).
 *
 * Design notes:
 *  - The reader treats the file as hostile. Every length is checked against
 *    the format limits before anything is allocated, inflate writes into a
 *    buffer of exactly the declared size, and a whole block is validated
 *    before its first record is handed out.
 *  - The reader only reads forward, so it also works on pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "recfile.h"
#include "recfile_format.h"

/* Longest run of zeros read as a power loss's torn tail: the last second's writes, and more. */
#define MAX_ZERO_TAIL		(64u << 20)

/*
 * Fuzzer builds accept any checksum: a fuzzer cannot forge CRCs, so without
 * this it never gets past them to the length and record parsing code that
 * actually needs the testing. Never define this for a real build.
 */
static bool sum_ok(uint32_t stored, uint32_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)stored;
	(void)computed;
	return true;
#else
	return stored == computed;
#endif
}

enum rstate {
	RS_OK,
	RS_END,		/* END record seen */
	RS_TRUNC,	/* ran out of file without END */
	RS_ERROR,
};

struct recfile_reader {
	int fd;
	uint64_t off;		/* offset of the next unread byte */
	enum rstate state;

	bool zinit;
	z_stream zs;
	uint8_t *comp;
	size_t compcap;
	uint8_t *raw;		/* current block, uncompressed and validated */
	size_t rawcap;
	uint32_t rawlen, rawpos;
	uint64_t blk_off;	/* file offset of the current block */

	uint32_t next_seq;	/* also the number of complete blocks read */
	uint64_t nseen;		/* records before END, incl. skipped reserved */

	char err[ERRLEN];
	char warn[ERRLEN];
};

static int rfail(struct recfile_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int rfail(struct recfile_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->state = RS_ERROR;
	return -1;
}

/* "corrupt block at offset N: ..." for the block being loaded */
static int blkfail(struct recfile_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int blkfail(struct recfile_reader *r, const char *fmt, ...)
{
	char what[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return rfail(r, "corrupt block at offset %llu: %s", (unsigned long long)r->blk_off, what);
}

/* Read up to @n bytes; fewer only at end of input. -1 on I/O error. */
static ssize_t src_read(struct recfile_reader *r, void *dst, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(r->fd, (uint8_t *)dst + got, n - got);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->off += got;
	return (ssize_t)got;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Consume the rest of the input; return how many bytes were left, or -1 if
 * any of them is non-zero (or on I/O error). Used to recognise the zero
 * tail that a power loss can leave when the file size was updated but the
 * data never reached the disk.
 */
static int64_t zero_tail(struct recfile_reader *r)
{
	uint8_t buf[4096];
	int64_t total = 0;
	ssize_t n;

	do {
		n = src_read(r, buf, sizeof(buf));
		if (n < 0 || !all_zero(buf, (size_t)n))
			return -1;
		total += n;
		/* a stream of zeros (/dev/zero behind a pipe) is no torn tail: stop */
		if (total > MAX_ZERO_TAIL)
			return -1;
	} while (n == (ssize_t)sizeof(buf));
	return total;
}

static int truncated(struct recfile_reader *r, uint64_t cut, const char *why)
{
	r->state = RS_TRUNC;
	if (cut)
		snprintf(r->warn, sizeof(r->warn),
			 "file truncated: %llu %sbytes after the last complete block ignored",
			 (unsigned long long)cut, why);
	else
		snprintf(r->warn, sizeof(r->warn),
			 "file truncated: no END record after %u complete blocks (recording was interrupted)",
			 r->next_seq);
	return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -1;
	*buf = p;
	*cap = need;
	return 0;
}

static int inflate_block(struct recfile_reader *r, uint32_t clen, uint32_t rlen)
{
	int ret;

	if (!r->zinit) {
		if (inflateInit(&r->zs) != Z_OK)
			return rfail(r, "out of memory initialising zlib");
		r->zinit = true;
	} else if (inflateReset(&r->zs) != Z_OK) {
		return rfail(r, "inflateReset failed");
	}
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	inflateValidate(&r->zs, 0);	/* skip the adler32 too, see sum_ok() */
#endif

	/*
	 * The output buffer is exactly the declared size, so a stream that
	 * expands further (a zip bomb) stops with avail_out == 0 instead of
	 * consuming memory or time.
	 */
	r->zs.next_in = r->comp;
	r->zs.avail_in = clen;
	r->zs.next_out = r->raw;
	r->zs.avail_out = rlen;
	ret = inflate(&r->zs, Z_FINISH);
	switch (ret) {
	case Z_STREAM_END:
		if (r->zs.total_out != rlen)
			return blkfail(r, "inflates to %lu bytes, declared %u", r->zs.total_out,
				       rlen);
		if (r->zs.avail_in)
			return blkfail(r, "%u bytes of garbage after the compressed data",
				       r->zs.avail_in);
		return 0;
	case Z_OK:
	case Z_BUF_ERROR:
		if (!r->zs.avail_out)
			return blkfail(r, "compressed data inflates to more than the declared %u bytes",
				       rlen);
		return blkfail(r, "compressed data ends early");
	case Z_MEM_ERROR:
		return rfail(r, "out of memory inflating block at offset %llu",
			     (unsigned long long)r->blk_off);
	default:
		return blkfail(r, "invalid compressed data (%s)",
			       r->zs.msg ? r->zs.msg : "zlib error");
	}
}

/* Walk every record of the freshly inflated block before handing any out. */
static int check_records(struct recfile_reader *r, uint32_t rlen, uint32_t nrec)
{
	uint32_t pos = 0, i;

	for (i = 0; i < nrec; i++) {
		uint16_t type;
		uint32_t len;

		if (rlen - pos < REC_HDR_LEN)
			return blkfail(r, "record %u header runs past the block end", i);
		type = get16(r->raw + pos);
		len = get32(r->raw + pos + 4);
		if (len > RECFILE_MAX_RECORD)
			return blkfail(r, "record %u length %u exceeds limit %u", i, len,
				       RECFILE_MAX_RECORD);
		if (pad8(len) > rlen - pos - REC_HDR_LEN)
			return blkfail(r, "record %u length %u runs past the block end", i, len);
		if (type == RECFILE_TYPE_END) {
			if (i != nrec - 1)
				return blkfail(r, "records after the END record");
			if (len < END_PAYLOAD_LEN)
				return blkfail(r, "END record too short (%u bytes)", len);
		}
		pos += REC_HDR_LEN + pad8(len);
	}
	if (pos != rlen)
		return blkfail(r, "%u bytes after the last of %u records", rlen - pos, nrec);
	return 0;
}

/* 1: a block is loaded, 0: end of input (truncated), -1: error */
static int load_block(struct recfile_reader *r)
{
	uint8_t h[BLK_HDR_LEN];
	uint32_t seq, clen, rlen, rcrc, nrec;
	unsigned long long off;
	ssize_t n;
	int64_t z;

	r->blk_off = r->off;
	off = r->blk_off;
	n = src_read(r, h, sizeof(h));
	if (n < 0)
		return rfail(r, "read error at offset %llu: %s", off, strerror(errno));
	if (n == 0)
		return truncated(r, 0, "");

	if (all_zero(h, (size_t)n)) {
		z = zero_tail(r);
		if (z >= 0)
			return truncated(r, (uint64_t)n + (uint64_t)z, "zero ");
		return blkfail(r, "bad block magic");
	}
	/* a torn write leaves a prefix of a real header, so the magic must match */
	if (memcmp(h, BLK_MAGIC, n < 4 ? (size_t)n : 4))
		return blkfail(r, "bad block magic");
	if (n < BLK_HDR_LEN)
		return truncated(r, (uint64_t)n, "");

	if (!sum_ok(get32(h + 28), crc(h, 28)))
		return blkfail(r, "block header CRC mismatch");
	seq = get32(h + 4);
	clen = get32(h + 8);
	rlen = get32(h + 12);
	rcrc = get32(h + 16);
	nrec = get32(h + 20);
	if (seq != r->next_seq)
		return blkfail(r, "block number %u, expected %u (blocks missing or reordered)",
			       seq, r->next_seq);
	if (rlen > RECFILE_MAX_BLOCK)
		return blkfail(r, "declared length %u exceeds limit %u", rlen, RECFILE_MAX_BLOCK);
	if (clen > MAX_COMP)
		return blkfail(r, "declared compressed length %u exceeds limit %u", clen, MAX_COMP);
	if (!nrec || !rlen || !clen)
		return blkfail(r, "empty block");
	if (nrec > rlen / REC_HDR_LEN)
		return blkfail(r, "%u records cannot fit in %u bytes", nrec, rlen);
	/* Work stays proportional to the file's size: no honest block inflates this much. */
	if ((uint64_t)rlen > (uint64_t)clen * RECFILE_MAX_RATIO)
		return blkfail(r, "declares %u bytes from %u compressed, more than the %u:1 "
			       "any recording reaches (a zip bomb?)", rlen, clen,
			       RECFILE_MAX_RATIO);

	if (grow(&r->comp, &r->compcap, clen) || grow(&r->raw, &r->rawcap, rlen))
		return rfail(r, "out of memory reading block at offset %llu", off);
	n = src_read(r, r->comp, clen);
	if (n < 0)
		return rfail(r, "read error at offset %llu: %s", (unsigned long long)r->off,
			     strerror(errno));
	if ((uint32_t)n < clen)
		return truncated(r, BLK_HDR_LEN + (uint64_t)n, "");

	if (inflate_block(r, clen, rlen))
		return -1;
	if (!sum_ok(rcrc, crc(r->raw, rlen)))
		return blkfail(r, "CRC mismatch");
	if (check_records(r, rlen, nrec))
		return -1;

	r->rawlen = rlen;
	r->rawpos = 0;
	r->next_seq++;
	return 1;
}

static int handle_end(struct recfile_reader *r, const uint8_t *payload)
{
	uint64_t want = get64(payload);
	uint8_t c;
	ssize_t n;

	if (want != r->nseen)
		return rfail(r, "END record counts %llu records but %llu were read (data lost?)",
			     (unsigned long long)want, (unsigned long long)r->nseen);
	n = src_read(r, &c, 1);
	if (n < 0)
		return rfail(r, "read error at offset %llu: %s", (unsigned long long)r->off,
			     strerror(errno));
	if (n > 0)
		return rfail(r, "trailing data at offset %llu after the END record",
			     (unsigned long long)(r->off - 1));
	r->state = RS_END;
	return 0;
}

int recfile_next(struct recfile_reader *r, uint16_t *type, const void **data, uint32_t *len)
{
	for (;;) {
		switch (r->state) {
		case RS_ERROR:
			return -1;
		case RS_END:
		case RS_TRUNC:
			return 0;
		case RS_OK:
			break;
		}

		if (r->rawpos < r->rawlen) {
			const uint8_t *p = r->raw + r->rawpos;
			uint16_t t = get16(p);
			uint32_t l = get32(p + 4);

			r->rawpos += REC_HDR_LEN + pad8(l);
			if (t == RECFILE_TYPE_END)
				return handle_end(r, p + REC_HDR_LEN);
			r->nseen++;
			/* reserved types a newer minor version may add: skip */
			if (t < RECFILE_TYPE_USER_MIN && t != RECFILE_TYPE_META)
				continue;
			*type = t;
			*data = p + REC_HDR_LEN;
			*len = l;
			return 1;
		}

		if (load_block(r) < 0)
			return -1;
	}
}

static struct recfile_reader *reader_new(void)
{
	struct recfile_reader *r = calloc(1, sizeof(*r));

	if (r)
		r->fd = -1;
	return r;
}

static int read_file_header(struct recfile_reader *r)
{
	uint8_t hdr[FILE_HDR_MAX];
	uint32_t hlen, flags;
	uint16_t major;
	ssize_t n;

	n = src_read(r, hdr, FILE_HDR_LEN);
	if (n < 0)
		return rfail(r, "read error: %s", strerror(errno));
	if (n == 0)
		return rfail(r, "empty file (0 bytes): not an mtuwatch file");
	if (memcmp(hdr, FILE_MAGIC, n < FILE_MAGIC_LEN ? (size_t)n : FILE_MAGIC_LEN))
		return rfail(r, "not an mtuwatch file (bad magic)");
	if (n < FILE_HDR_LEN)
		return rfail(r, "file too short (%zd bytes): truncated inside the file header", n);

	/* The minor at hdr + 10 is not needed: minor bumps are backward compatible. */
	major = get16(hdr + 8);
	/* checked before the CRC: a future major may lay out the header differently */
	if (major != RECFILE_VERSION_MAJOR)
		return rfail(r, "unsupported format version %u (this build reads %u)", major,
			     RECFILE_VERSION_MAJOR);
	hlen = get32(hdr + 12);
	if (hlen < FILE_HDR_LEN || hlen > FILE_HDR_MAX)
		return rfail(r, "corrupt file header: header length %u not in %u..%u", hlen,
			     FILE_HDR_LEN, FILE_HDR_MAX);
	if (hlen > FILE_HDR_LEN) {
		n = src_read(r, hdr + FILE_HDR_LEN, hlen - FILE_HDR_LEN);
		if (n < 0)
			return rfail(r, "read error: %s", strerror(errno));
		if ((size_t)n < hlen - FILE_HDR_LEN)
			return rfail(r, "file too short: truncated inside the %u-byte file header",
				     hlen);
	}
	if (!sum_ok(get32(hdr + 20), file_hdr_crc(hdr, hlen)))
		return rfail(r, "corrupt file header: CRC mismatch");
	flags = get32(hdr + 16);
	if (flags & FILE_FLAGS_INCOMPAT & ~FILE_FLAGS_KNOWN)
		return rfail(r, "unsupported file flags 0x%x (this build knows 0x%x)", flags,
			     FILE_FLAGS_KNOWN);
	if (!(flags & FILE_FLAG_ZLIB))
		return rfail(r, "file header does not declare zlib compression (flags 0x%x)",
			     flags);
	return 0;
}

struct recfile_reader *recfile_open(const char *path, char *err, size_t errlen)
{
	struct recfile_reader *r;
	struct stat st = {};
	int e;

	r = reader_new();
	if (!r) {
		set_err(err, errlen, "out of memory opening %s", path);
		errno = ENOMEM;
		return NULL;
	}
	/* O_NONBLOCK: a FIFO without a writer must not hang the open; checked just below */
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (r->fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot open %s: %s", path, strerror(e));
		free(r);
		errno = e;
		return NULL;
	}
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s is not a regular file (%s) -- to read a stream, give it "
			"on stdin with -i -", path, S_ISFIFO(st.st_mode) ? "a FIFO" :
			S_ISDIR(st.st_mode) ? "a directory" : S_ISCHR(st.st_mode) ?
			"a character device" : S_ISSOCK(st.st_mode) ? "a socket" :
			S_ISBLK(st.st_mode) ? "a block device" : "not a file");
		recfile_close_reader(r);
		errno = EINVAL;
		return NULL;
	}
	/* a regular file never blocks; clear it anyway so reads behave as documented */
	fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
	if (read_file_header(r)) {
		set_err(err, errlen, "%s: %s", path, r->err);
		recfile_close_reader(r);
		errno = EINVAL;
		return NULL;
	}
	return r;
}

struct recfile_reader *recfile_open_fd(int fd, const char *name, char *err, size_t errlen)
{
	struct recfile_reader *r = reader_new();

	if (!r) {
		set_err(err, errlen, "out of memory opening %s", name);
		errno = ENOMEM;
		return NULL;
	}
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (r->fd < 0) {
		int e = errno;

		set_err(err, errlen, "cannot read %s: %s", name, strerror(e));
		free(r);
		errno = e;
		return NULL;
	}
	if (read_file_header(r)) {
		set_err(err, errlen, "%s: %s", name, r->err);
		recfile_close_reader(r);
		errno = EINVAL;
		return NULL;
	}
	return r;
}

bool recfile_truncated(const struct recfile_reader *r)
{
	return r->state == RS_TRUNC;
}

const char *recfile_warning(const struct recfile_reader *r)
{
	return r->warn;
}

const char *recfile_error(const struct recfile_reader *r)
{
	return r->err;
}

void recfile_close_reader(struct recfile_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->zinit)
		inflateEnd(&r->zs);
	free(r->comp);
	free(r->raw);
	free(r);
}

/* ---------------------------------------------------------------------- */
/* META payloads                                                          */
/* ---------------------------------------------------------------------- */

int recfile_meta_next(const void *data, uint32_t len, uint32_t *pos,
		      const char **key, size_t *keylen, const char **val, size_t *vallen)
{
	const char *base = data;
	const char *line, *nl, *eq;
	size_t llen, i;

	if (*pos == len)
		return 0;
	if (*pos > len || !data)
		return -1;
	line = base + *pos;
	nl = memchr(line, '\n', len - *pos);
	if (!nl)
		return -1;
	llen = (size_t)(nl - line);
	eq = memchr(line, '=', llen);
	if (!eq || eq == line || (size_t)(eq - line) > META_KEY_MAX)
		return -1;
	for (i = 0; line + i < eq; i++)
		if (!meta_key_char(line[i]))
			return -1;
	/* values are text: a NUL would truncate them for C string users */
	if (memchr(eq + 1, '\0', (size_t)(nl - eq - 1)))
		return -1;
	*key = line;
	*keylen = (size_t)(eq - line);
	*val = eq + 1;
	*vallen = (size_t)(nl - eq - 1);
	*pos += (uint32_t)llen + 1;
	return 1;
}
