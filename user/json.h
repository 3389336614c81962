/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one JSON writer (in the spirit of bpftool's json_writer): a streaming writer that keeps
 * the commas and escapes strings, so that no caller hand-writes a separator or a quote. Output
 * is NDJSON: a value at the top level ends its line. Compact (no spaces): the bytes are what
 * tests and consumers parse. Pure: no kernel, no libbpf.
 */
#ifndef MW_JSON_H
#define MW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct jsonw {
	FILE *out;
	unsigned int depth;
	bool sep;	/* a value came before at this level: the next one needs a comma */
};

void jsonw_init(struct jsonw *w, FILE *out);
void jsonw_start_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_start_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);
/* An object member's name; its value is the next value written. */
void jsonw_name(struct jsonw *w, const char *name);
/*
 * A string value, quotes included: '"' and '\' escaped, control bytes and DEL as \u00XX,
 * invalid UTF-8 as \ufffd (JSON is UTF-8: say a byte was not). NULL writes "".
 */
void jsonw_string(struct jsonw *w, const char *s);
/* Same, reading at most max bytes of s: for fields that need not hold a NUL. */
void jsonw_stringn(struct jsonw *w, const char *s, size_t max);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* name and value in one call */
void jsonw_string_field(struct jsonw *w, const char *name, const char *s);
void jsonw_uint_field(struct jsonw *w, const char *name, uint64_t v);
void jsonw_int_field(struct jsonw *w, const char *name, int64_t v);
void jsonw_bool_field(struct jsonw *w, const char *name, bool v);
void jsonw_null_field(struct jsonw *w, const char *name);

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one; reads at most n bytes. */
size_t utf8_seq(const char *p, size_t n);

#endif
