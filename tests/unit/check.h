/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One line per test case, as tests/run.sh counts them: "PASS: name" or "FAIL: name: why".
 * Every unit test reports through this file, in the shape that fits the case:
 *   CHECK(name, cond, fmt, ...)     a case that is one condition;
 *   pass(name), fail(name, fmt, ...) a case decided over several steps (the first failed step
 *                                   says why, the last line passes it);
 *   REQUIRE(cond, fmt, ...)         a step in a function that returns NULL or why it failed, for
 *                                   cases whose steps depend on each other; a table of such
 *                                   functions reports each with CHECK(name, !why, "%s", why).
 * Each line is flushed at once: tests that fork must not hand a child verdicts still unprinted,
 * and a test that crashes keeps the lines it printed.
 */
#ifndef MW_CHECK_H
#define MW_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static inline void pass(const char *name)
{
	printf("PASS: %s\n", name);
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3)))
void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

#define CHECK(name, cond, ...)                                                                 \
	do {                                                                                   \
		if (cond)                                                                      \
			pass(name);                                                            \
		else                                                                           \
			fail(name, __VA_ARGS__);                                               \
	} while (0)

/* Return why (formatted into a buffer of the caller's own) from a function returning it. */
#define FAILF(...)                                                                             \
	do {                                                                                   \
		static char why_[512];                                                         \
		snprintf(why_, sizeof(why_), __VA_ARGS__);                                     \
		return why_;                                                                   \
	} while (0)

#define REQUIRE(cond, ...)                                                                     \
	do {                                                                                   \
		if (!(cond))                                                                   \
			FAILF(__VA_ARGS__);                                                    \
	} while (0)

#endif
