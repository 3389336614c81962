/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * recfile: the container format behind `mtuwatch record` / `mtuwatch report`.
 *
 * A recording is a fixed file header followed by independently
 * zlib-compressed blocks of records. The byte layout, limits, versioning
 * and truncation rules are specified in docs/file-format.md; this header
 * only describes the C API.
 *
 * Record types are opaque to this library. Types 0..15 are reserved for the
 * container itself (META and END today); callers use types >= 16.
 *
 * Neither the writer nor the reader is thread safe: use one object per
 * thread or lock around it.
 */
#ifndef MTUWATCH_RECFILE_H
#define MTUWATCH_RECFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECFILE_VERSION_MAJOR	1	/* readers refuse any other major */
#define RECFILE_VERSION_MINOR	0	/* minor bumps are backward compatible */

/* Hard limits; the reader rejects anything larger before allocating. */
#define RECFILE_MAX_RECORD	65536u		/* payload bytes per record */
#define RECFILE_MAX_BLOCK	1048576u	/* uncompressed bytes per block */
/*
 * Uncompressed bytes per compressed byte, at most. Real recordings stay far below it (about
 * 8:1; 46:1 for a block of events that differ only in their nanoseconds); the writer stores a
 * block that would exceed it, and the reader refuses one that does, so that the work of
 * reading a file stays proportional to its size (zip bombs).
 */
#define RECFILE_MAX_RATIO	64u
/* The writer emits a block once this many uncompressed bytes are pending. */
#define RECFILE_BLOCK_TARGET	65536u

/* Reserved record types (0..15). */
#define RECFILE_TYPE_META	1	/* "key=value\n" lines, see recfile_meta_next() */
#define RECFILE_TYPE_END	2	/* written by recfile_close(), never returned */
#define RECFILE_TYPE_USER_MIN	16	/* first type available to callers */

struct recfile_writer;
struct recfile_reader;

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/*
 * Create a new recording at @path (mode 0600) and write the file header.
 * An existing path is refused unless @force; with @force an existing
 * regular file (or symlink, which is replaced, not followed) is unlinked
 * first, anything else (directory, device, fifo) is still refused.
 * Returns NULL and a one-line message in @err on failure.
 */
struct recfile_writer *recfile_create(const char *path, bool force, char *err, size_t errlen);

/*
 * Append one record. @type must be >= RECFILE_TYPE_USER_MIN, @len at most
 * RECFILE_MAX_RECORD (@data may be NULL when @len is 0). The record is
 * buffered; a block is compressed and written whenever RECFILE_BLOCK_TARGET
 * bytes are pending. Returns 0, or -1 with errno set and a message in
 * recfile_writer_error(). After an I/O error the writer is dead: every
 * further call fails.
 */
int recfile_write(struct recfile_writer *w, uint16_t type, const void *data, uint32_t len);

/*
 * Append a META record holding one "key=value" pair. Keys are
 * [A-Za-z0-9_.-]{1,128}; values must not contain '\n' or NUL. Which keys
 * exist is up to the caller. Returns 0 or -1 like recfile_write().
 */
int recfile_write_meta(struct recfile_writer *w, const char *key, const char *value);

/*
 * Compress and write any pending records as a block now. This hands the
 * data to the kernel (it survives SIGKILL) but does not fsync; call it on
 * a timer to bound what a killed recorder loses. Returns 0 or -1.
 */
int recfile_flush(struct recfile_writer *w);

/*
 * Last error of @w as one line, or "" if none. record never asks (its records are well-formed,
 * and an I/O error reaches it through recfile_close()), but it is the only place a caller
 * learns why recfile_write() refused a record: test_recfile asserts that message.
 */
const char *recfile_writer_error(const struct recfile_writer *w);

/*
 * Write the END record and the final block, fsync and close the file, and
 * free @w (always, even on failure). Returns 0, or -1 with a one-line
 * message in @err (may be NULL).
 */
int recfile_close(struct recfile_writer *w, char *err, size_t errlen);

/*
 * Close and free @w WITHOUT writing pending records or the END record, so
 * the file reads back as truncated. For fatal error paths and for tests
 * that simulate a killed recorder.
 */
void recfile_discard(struct recfile_writer *w);

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

/*
 * Open a recording and validate its file header. Memory use is bounded by
 * the format limits (a few MiB at most) whatever the file contains.
 * Returns NULL with a one-line message in @err on failure.
 */
struct recfile_reader *recfile_open(const char *path, char *err, size_t errlen);

/*
 * Same, from an open descriptor (dup'ed: the caller keeps its own) of any kind: `report -i -`
 * reads stdin this way. recfile_open() refuses what is not a regular file (a FIFO with no
 * writer would block it forever, /dev/zero would never end); name is used in messages.
 */
struct recfile_reader *recfile_open_fd(int fd, const char *name, char *err, size_t errlen);

/*
 * Fetch the next record. Returns:
 *   1  a record: *type, *data, *len are set. *data is 8-byte aligned and
 *      valid until the next call to recfile_next() or recfile_close_reader().
 *      META records are returned (type RECFILE_TYPE_META); END and unknown
 *      reserved types are consumed silently.
 *   0  end of recording: either the END record was reached, or the file
 *      was truncated (see recfile_truncated()). Sticky.
 *  -1  corrupt or unreadable file; recfile_error() says why. Sticky.
 * Every record of a block is validated (CRC, lengths, record count) before
 * the first one is returned, so a block is delivered whole or not at all.
 */
int recfile_next(struct recfile_reader *r, uint16_t *type, const void **data, uint32_t *len);

/*
 * True once recfile_next() returned 0 without having seen an END record:
 * the recorder was killed or the file was cut. recfile_warning() is then a
 * one-line explanation suitable for printing, with the number of trailing
 * bytes (a partial block) that were ignored when there were any.
 */
bool recfile_truncated(const struct recfile_reader *r);
const char *recfile_warning(const struct recfile_reader *r);	/* "" if none */

/* Last error as one line, or "" if none. */
const char *recfile_error(const struct recfile_reader *r);

void recfile_close_reader(struct recfile_reader *r);

/*
 * Iterate over the "key=value" pairs of a META payload. Start with *pos = 0.
 * Returns 1 with key/value (NOT NUL-terminated) set, 0 at the end of the
 * payload, -1 if the payload is malformed.
 */
int recfile_meta_next(const void *data, uint32_t len, uint32_t *pos,
		      const char **key, size_t *keylen, const char **val, size_t *vallen);

#endif /* MTUWATCH_RECFILE_H */
