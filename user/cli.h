/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The command line's shared pieces (cli.c), used by every command and by the driver's open. */
#ifndef MW_CLI_H
#define MW_CLI_H

#include <getopt.h>
#include "core.h"
#include "loader.h"

#ifndef MW_VERSION
#define MW_VERSION "0.1.0"
#endif

struct watch_opts {
	struct mw_session_opts so;
	int duration;		/* -1: until a signal */
	int stall_after;
	uint16_t ports[MW_MAX_HINT_PORTS];	/* --port */
	int nports;
	int confirm;		/* -1: the command's default, 0: --passive, 1: --confirm */
	bool json;
	bool help;
};

int parse_uint(const char *s, const char *what, long max, long *out);
int usage_error(void);
void bad_option(char **argv);
int parse_watch_opts(int argc, char **argv, struct watch_opts *w, const char *extra_short,
		     const struct option *extra_long, int (*extra)(int c, const char *arg, void *ctx),
		     void *ctx);

#endif
