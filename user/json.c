// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The one JSON writer (json.h). A single separator flag is enough for the commas: opening a
 * container or writing a name clears it, any finished value (a scalar or a closed container)
 * sets it, so the next value at the same level is preceded by a comma.
 */
#include <inttypes.h>
#include <string.h>
#include "json.h"

size_t utf8_seq(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t len, i;
	uint32_t cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;	/* continuation byte, overlong lead (c0, c1) or beyond U+10FFFF */
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, surrogate or out of range */
	return len;
}

void jsonw_init(struct jsonw *w, FILE *out)
{
	w->out = out;
	w->depth = 0;
	w->sep = false;
}

/* Before a value: the comma, if one came before at this level. */
static void pre_value(struct jsonw *w)
{
	if (w->sep)
		fputc(',', w->out);
}

/* After a value: the next one needs a comma; a finished top-level value ends its line. */
static void post_value(struct jsonw *w)
{
	w->sep = true;
	if (!w->depth) {
		fputc('\n', w->out);
		w->sep = false;
	}
}

static void start(struct jsonw *w, char c)
{
	pre_value(w);
	fputc(c, w->out);
	w->depth++;
	w->sep = false;
}

static void end(struct jsonw *w, char c)
{
	fputc(c, w->out);
	if (w->depth)
		w->depth--;
	post_value(w);
}

void jsonw_start_object(struct jsonw *w)
{
	start(w, '{');
}

void jsonw_end_object(struct jsonw *w)
{
	end(w, '}');
}

void jsonw_start_array(struct jsonw *w)
{
	start(w, '[');
}

void jsonw_end_array(struct jsonw *w)
{
	end(w, ']');
}

static void quoted(FILE *out, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0, k;

	fputc('"', out);
	for (size_t i = 0; i < n; i += k) {
		unsigned char ch = s[i];

		k = utf8_seq(s + i, n - i);
		if (!k) {
			k = 1;
			fputs("\\ufffd", out);	/* JSON is UTF-8: say a byte was not */
		} else if (ch == '"' || ch == '\\') {
			fprintf(out, "\\%c", ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\u%04x", ch);
		} else {
			fwrite(s + i, 1, k, out);
		}
	}
	fputc('"', out);
}

void jsonw_name(struct jsonw *w, const char *name)
{
	pre_value(w);
	quoted(w->out, name, SIZE_MAX);
	fputc(':', w->out);
	w->sep = false;
}

void jsonw_stringn(struct jsonw *w, const char *s, size_t max)
{
	pre_value(w);
	quoted(w->out, s, max);
	post_value(w);
}

void jsonw_string(struct jsonw *w, const char *s)
{
	jsonw_stringn(w, s, SIZE_MAX);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	pre_value(w);
	fprintf(w->out, "%" PRIu64, v);
	post_value(w);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	pre_value(w);
	fprintf(w->out, "%" PRId64, v);
	post_value(w);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	pre_value(w);
	fputs(v ? "true" : "false", w->out);
	post_value(w);
}

void jsonw_null(struct jsonw *w)
{
	pre_value(w);
	fputs("null", w->out);
	post_value(w);
}

void jsonw_string_field(struct jsonw *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_uint_field(struct jsonw *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_uint(w, v);
}

void jsonw_int_field(struct jsonw *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_int(w, v);
}

void jsonw_bool_field(struct jsonw *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}

void jsonw_null_field(struct jsonw *w, const char *name)
{
	jsonw_name(w, name);
	jsonw_null(w);
}
