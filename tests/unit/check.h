/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One line per test case, as tests/run.sh counts them: "PASS: name" or "FAIL: name: why". */
#ifndef MW_CHECK_H
#define MW_CHECK_H

#include <stdio.h>

#define CHECK(name, cond, ...)                                                                 \
	do {                                                                                   \
		if (cond) {                                                                    \
			printf("PASS: %s\n", name);                                            \
		} else {                                                                       \
			printf("FAIL: %s: ", name);                                            \
			printf(__VA_ARGS__);                                                   \
			printf("\n");                                                          \
		}                                                                              \
	} while (0)

#endif
