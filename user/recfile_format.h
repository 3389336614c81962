/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The recording container's byte layout, shared by its writer (recfile_write.c) and its reader
 * (recfile_read.c): constants and byte helpers, no API. Callers include recfile.h; the layout
 * itself is specified in docs/file-format.md.
 *
 * All multi-byte fields are little-endian and are encoded/decoded byte by byte, so the code
 * does not depend on host endianness or alignment.
 */
#ifndef MTUWATCH_RECFILE_FORMAT_H
#define MTUWATCH_RECFILE_FORMAT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "recfile.h"

#define FILE_MAGIC		"MTUWATCH"
#define FILE_MAGIC_LEN		8
#define FILE_HDR_LEN		24	/* what this version writes */
#define FILE_HDR_MAX		4096	/* readers refuse longer headers */
#define FILE_FLAG_ZLIB		0x1u	/* blocks are zlib streams; required in v1 */
/* Low 16 flag bits change how the file must be read: unknown ones are fatal. */
#define FILE_FLAGS_INCOMPAT	0xffffu
#define FILE_FLAGS_KNOWN	FILE_FLAG_ZLIB

#define BLK_MAGIC		"MTWB"
#define BLK_HDR_LEN		32
/*
 * Bound on a block's compressed length. Deflate expands incompressible input
 * by well under 1%, so this leaves room for any sane zlib while still
 * bounding what a reader allocates. Fixed here rather than derived from
 * compressBound() so the limit does not vary with the zlib version.
 */
#define MAX_COMP		(RECFILE_MAX_BLOCK + RECFILE_MAX_BLOCK / 256 + 4096)

#define REC_HDR_LEN		8
#define END_PAYLOAD_LEN		8	/* u64 number of records before END */

#define META_KEY_MAX		128

#define ERRLEN			256

/* ---------------------------------------------------------------------- */
/* Little-endian helpers                                                  */
/* ---------------------------------------------------------------------- */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline uint32_t pad8(uint32_t len)
{
	return (len + 7u) & ~7u;
}

static inline uint32_t crc(const void *p, size_t len)
{
	return (uint32_t)crc32(0L, p, (uInt)len);
}

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The file header CRC covers everything but the CRC field itself, including
 * any extension bytes a later minor version appends.
 */
static inline uint32_t file_hdr_crc(const uint8_t *hdr, uint32_t hlen)
{
	uint32_t c = (uint32_t)crc32(0L, hdr, 20);

	return (uint32_t)crc32(c, hdr + FILE_HDR_LEN, hlen - FILE_HDR_LEN);
}

/* META keys: [A-Za-z0-9_.-]{1,META_KEY_MAX}, as the writer accepts and the reader parses. */
static inline bool meta_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

#endif
