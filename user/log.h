/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Messages go to stderr, one line each; debug only with -v. */
#ifndef MW_LOG_H
#define MW_LOG_H

#include <stdbool.h>
#include <stdio.h>

extern bool mw_verbose;

#define pr_warn(...) fprintf(stderr, "mtuwatch: " __VA_ARGS__)
#define pr_debug(...)                                                                          \
	do {                                                                                   \
		if (mw_verbose)                                                                \
			fprintf(stderr, "mtuwatch: " __VA_ARGS__);                             \
	} while (0)

#endif
