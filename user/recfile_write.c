// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * recfile: the writer of the mtuwatch recording container (recfile.h is the API, the byte
 * layout is in recfile_format.h and docs/file-format.md; the reader is recfile_read.c).
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

#define ZLEVEL			6

struct recfile_writer {
	int fd;
	bool dead;		/* an I/O error happened; refuse everything */
	z_stream zs;
	uint8_t *raw;		/* records waiting for the next block */
	uint32_t rawcap;
	uint32_t pending;	/* bytes used in raw */
	uint32_t pending_recs;
	uint8_t *out;		/* block header + compressed data */
	size_t outcap;
	uint32_t seq;		/* index of the next block */
	uint64_t written;	/* file bytes written */
	uint64_t nrecs;		/* records accepted, META included, END not */
	char err[ERRLEN];
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			/* should not happen for regular files; avoid spinning */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int writer_fail(struct recfile_writer *w, const char *what)
{
	int e = errno;

	w->dead = true;
	snprintf(w->err, sizeof(w->err), "%s at offset %llu: %s", what,
		 (unsigned long long)w->written, strerror(e));
	errno = e;
	return -1;
}

static int emit_block(struct recfile_writer *w)
{
	uint8_t *h = w->out;
	uint32_t clen;
	int ret;

	if (!w->pending)
		return 0;

	/*
	 * One deflate stream per block so that blocks can be decoded on their
	 * own: a damaged block does not poison the ones before it.
	 */
	for (int level = ZLEVEL;; level = 0) {
		if (deflateReset(&w->zs) != Z_OK || deflateParams(&w->zs, level,
								   Z_DEFAULT_STRATEGY) != Z_OK) {
			errno = EINVAL;
			return writer_fail(w, "deflateReset failed");
		}
		w->zs.next_in = w->raw;
		w->zs.avail_in = w->pending;
		w->zs.next_out = w->out + BLK_HDR_LEN;
		w->zs.avail_out = (uInt)(w->outcap - BLK_HDR_LEN);
		ret = deflate(&w->zs, Z_FINISH);
		if (ret != Z_STREAM_END) {
			/* outcap comes from deflateBound(), so this is a zlib bug */
			errno = EINVAL;
			return writer_fail(w, "deflate failed");
		}
		clen = (uint32_t)w->zs.total_out;
		/*
		 * Readers refuse blocks that inflate more than RECFILE_MAX_RATIO:1 (zip
		 * bombs). Real events never get near it; degenerate payloads (runs of
		 * zeros) are stored instead, so every file this writes reads back.
		 */
		if (level == 0 || (uint64_t)w->pending <= (uint64_t)clen * RECFILE_MAX_RATIO)
			break;
	}

	memcpy(h, BLK_MAGIC, 4);
	put32(h + 4, w->seq);
	put32(h + 8, clen);
	put32(h + 12, w->pending);
	put32(h + 16, crc(w->raw, w->pending));
	put32(h + 20, w->pending_recs);
	put32(h + 24, 0);
	put32(h + 28, crc(h, 28));

	/* Header and data in one write() so a kill rarely tears a block. */
	if (write_all(w->fd, w->out, BLK_HDR_LEN + (size_t)clen))
		return writer_fail(w, "write failed");

	w->written += BLK_HDR_LEN + (uint64_t)clen;
	w->seq++;
	w->pending = 0;
	w->pending_recs = 0;
	return 0;
}

/*
 * Append a record header for @len payload bytes and return where the
 * payload goes. There is always room: pending < RECFILE_BLOCK_TARGET on
 * entry and rawcap leaves space for one maximal record beyond that.
 */
static uint8_t *reserve(struct recfile_writer *w, uint16_t type, uint32_t len)
{
	uint8_t *p = w->raw + w->pending;
	uint32_t plen = pad8(len);

	put16(p, type);
	put16(p + 2, 0);
	put32(p + 4, len);
	/* zero the padding so files are deterministic and leak no heap bytes */
	memset(p + REC_HDR_LEN + len, 0, plen - len);
	w->pending += REC_HDR_LEN + plen;
	w->pending_recs++;
	return p + REC_HDR_LEN;
}

static int after_append(struct recfile_writer *w)
{
	if (w->pending >= RECFILE_BLOCK_TARGET)
		return emit_block(w);
	return 0;
}

static int writer_usable(struct recfile_writer *w)
{
	if (!w) {
		errno = EINVAL;
		return -1;
	}
	if (w->dead) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Make the new directory entry durable, so that after a power loss the
 * blocks synced later are reachable. Best effort: some filesystems refuse
 * fsync on directories and the recording is still usable without it.
 */
static void sync_parent_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	fsync(fd);
	close(fd);
}

struct recfile_writer *recfile_create(const char *path, bool force, char *err, size_t errlen)
{
	struct recfile_writer *w;
	uint8_t hdr[FILE_HDR_LEN];
	struct stat st;
	int fd, e;

	if (!path || !*path) {
		set_err(err, errlen, "no output file name given");
		errno = EINVAL;
		return NULL;
	}

	if (force && lstat(path, &st) == 0) {
		/*
		 * Unlink and recreate with O_EXCL instead of O_TRUNC: a symlink
		 * planted at the path is replaced rather than followed, and
		 * devices or directories are never touched.
		 */
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			set_err(err, errlen, "refusing to overwrite %s: not a regular file", path);
			errno = EEXIST;
			return NULL;
		}
		if (unlink(path) && errno != ENOENT) {
			e = errno;
			set_err(err, errlen, "cannot remove existing %s: %s", path, strerror(e));
			errno = e;
			return NULL;
		}
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		if (e == EEXIST)
			set_err(err, errlen, "%s already exists, refusing to overwrite it without force",
				path);
		else
			set_err(err, errlen, "cannot create %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}

	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->fd = fd;
	if (deflateInit(&w->zs, ZLEVEL) != Z_OK) {
		free(w);
		w = NULL;
		goto nomem;
	}
	w->rawcap = RECFILE_BLOCK_TARGET + REC_HDR_LEN + RECFILE_MAX_RECORD;
	/* slack for the stored fallback's per-block overhead, whatever deflateBound assumes */
	w->outcap = BLK_HDR_LEN + deflateBound(&w->zs, w->rawcap) + 1024;
	w->raw = malloc(w->rawcap);
	w->out = malloc(w->outcap);
	if (!w->raw || !w->out)
		goto nomem;

	memcpy(hdr, FILE_MAGIC, FILE_MAGIC_LEN);
	put16(hdr + 8, RECFILE_VERSION_MAJOR);
	put16(hdr + 10, RECFILE_VERSION_MINOR);
	put32(hdr + 12, FILE_HDR_LEN);
	put32(hdr + 16, FILE_FLAG_ZLIB);
	put32(hdr + 20, file_hdr_crc(hdr, FILE_HDR_LEN));
	if (write_all(fd, hdr, sizeof(hdr))) {
		e = errno;
		set_err(err, errlen, "cannot write header of %s: %s", path, strerror(e));
		goto fail;
	}
	w->written = sizeof(hdr);
	sync_parent_dir(path);
	return w;

nomem:
	e = ENOMEM;
	set_err(err, errlen, "out of memory creating %s", path);
fail:
	if (w) {
		deflateEnd(&w->zs);
		free(w->raw);
		free(w->out);
		free(w);
	}
	close(fd);
	/* we created it with O_EXCL, so it is ours to remove */
	unlink(path);
	errno = e;
	return NULL;
}

int recfile_write(struct recfile_writer *w, uint16_t type, const void *data, uint32_t len)
{
	uint8_t *p;

	if (writer_usable(w))
		return -1;
	if (type < RECFILE_TYPE_USER_MIN) {
		snprintf(w->err, sizeof(w->err), "record type %u is reserved (callers use >= %u)",
			 type, RECFILE_TYPE_USER_MIN);
		errno = EINVAL;
		return -1;
	}
	if (len > RECFILE_MAX_RECORD) {
		snprintf(w->err, sizeof(w->err), "record of %u bytes exceeds limit %u", len,
			 RECFILE_MAX_RECORD);
		errno = EMSGSIZE;
		return -1;
	}
	if (len && !data) {
		snprintf(w->err, sizeof(w->err), "record of %u bytes has no data", len);
		errno = EINVAL;
		return -1;
	}
	p = reserve(w, type, len);
	if (len)
		memcpy(p, data, len);
	w->nrecs++;
	return after_append(w);
}

int recfile_write_meta(struct recfile_writer *w, const char *key, const char *value)
{
	size_t klen, vlen, i;
	uint8_t *p;

	if (writer_usable(w))
		return -1;
	if (!key || !value) {
		snprintf(w->err, sizeof(w->err), "META key or value is NULL");
		errno = EINVAL;
		return -1;
	}
	klen = strlen(key);
	vlen = strlen(value);
	if (!klen || klen > META_KEY_MAX) {
		snprintf(w->err, sizeof(w->err), "META key length %zu not in 1..%d", klen,
			 META_KEY_MAX);
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < klen; i++) {
		if (!meta_key_char(key[i])) {
			snprintf(w->err, sizeof(w->err),
				 "META key \"%.*s\" has a character outside [A-Za-z0-9_.-]",
				 (int)klen, key);
			errno = EINVAL;
			return -1;
		}
	}
	if (memchr(value, '\n', vlen)) {
		snprintf(w->err, sizeof(w->err), "META value for \"%s\" contains a newline", key);
		errno = EINVAL;
		return -1;
	}
	if (klen + vlen + 2 > RECFILE_MAX_RECORD) {
		snprintf(w->err, sizeof(w->err), "META value for \"%s\" is too long (%zu bytes)",
			 key, vlen);
		errno = EMSGSIZE;
		return -1;
	}
	p = reserve(w, RECFILE_TYPE_META, (uint32_t)(klen + vlen + 2));
	memcpy(p, key, klen);
	p[klen] = '=';
	memcpy(p + klen + 1, value, vlen);
	p[klen + 1 + vlen] = '\n';
	w->nrecs++;
	return after_append(w);
}

int recfile_flush(struct recfile_writer *w)
{
	if (writer_usable(w))
		return -1;
	return emit_block(w);
}

const char *recfile_writer_error(const struct recfile_writer *w)
{
	return w ? w->err : "no writer";
}

static void writer_free(struct recfile_writer *w)
{
	deflateEnd(&w->zs);
	free(w->raw);
	free(w->out);
	free(w);
}

int recfile_close(struct recfile_writer *w, char *err, size_t errlen)
{
	int ret = 0, e = 0;
	uint8_t *p;

	if (!w) {
		set_err(err, errlen, "no writer");
		errno = EINVAL;
		return -1;
	}
	if (w->dead) {
		set_err(err, errlen, "%s", w->err);
		e = EIO;
		ret = -1;
		goto out;
	}

	p = reserve(w, RECFILE_TYPE_END, END_PAYLOAD_LEN);
	put64(p, w->nrecs);
	/* END must be the last record of the last block: emit unconditionally */
	if (emit_block(w) || fsync(w->fd)) {
		if (!w->dead)
			writer_fail(w, "fsync failed");
		e = errno;
		set_err(err, errlen, "%s", w->err);
		ret = -1;
	}
out:
	/* close() can report deferred write errors (NFS, quotas) */
	if (close(w->fd) && !ret) {
		e = errno;
		set_err(err, errlen, "close failed: %s", strerror(e));
		ret = -1;
	}
	writer_free(w);
	if (ret)
		errno = e;
	return ret;
}

void recfile_discard(struct recfile_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	writer_free(w);
}
