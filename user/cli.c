// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line's shared pieces: number parsing, usage errors and the options live, record
 * and export share. Every command (main.c, record.c, export.c, doctor.c, probe.c) calls down
 * into this file; it calls nothing above it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "log.h"

int parse_uint(const char *s, const char *what, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		pr_warn("Invalid %s '%s' -- expected a number from 0 to %ld\n", what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* A usage error is one line, already printed: this only gives its exit status. */
int usage_error(void)
{
	return 2;
}

/* getopt stays quiet (opterr = 0): its complaint is ours, on one line, with the way out. */
void bad_option(char **argv)
{
	pr_warn("Unknown option or missing value '%s' -- see 'mtuwatch help'\n", argv[optind - 1]);
}

/* Options shared by live, record and export. Returns -1 on a usage error. */
int parse_watch_opts(int argc, char **argv, struct watch_opts *w, const char *extra_short,
		     const struct option *extra_long, int (*extra)(int c, const char *arg, void *ctx),
		     void *ctx)
{
	static const struct option base[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "all-netns", no_argument, NULL, 'A' },
		{ "stall-after", required_argument, NULL, 'S' },
		{ "no-handshakes", no_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "passive", no_argument, NULL, 0x100 },
		{ "confirm", no_argument, NULL, 0x101 },
		{ "xdp", no_argument, NULL, 0x102 },
	};
	struct option longs[32] = {};
	char shorts[64];
	int n = 0, c;
	long v = 0;

	for (size_t k = 0; k < sizeof(base) / sizeof(base[0]); k++)
		longs[n++] = base[k];
	for (int k = 0; extra_long && extra_long[k].name && n < 30; k++)
		longs[n++] = extra_long[k];
	snprintf(shorts, sizeof(shorts), "+i:d:jvh%s", extra_short ? extra_short : "");
	w->duration = -1;
	w->stall_after = 3;
	w->confirm = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (w->so.nifaces >= MW_MAX_IFACES) {
				pr_warn("Too many interfaces (at most %d)\n", MW_MAX_IFACES);
				return -1;
			}
			w->so.ifaces[w->so.nifaces++] = optarg;
			break;
		case 'd':
			if (parse_uint(optarg, "duration", INT_MAX, &v))
				return -1;
			w->duration = v;
			break;
		case 'j':
			w->json = true;
			break;
		case 'A':
			w->so.all_netns = true;
			break;
		case 'S':
			if (parse_uint(optarg, "stall time", 86400, &v))
				return -1;
			if (v == 0) {
				pr_warn("Invalid stall time 0 -- use at least 1 second\n");
				return -1;
			}
			w->stall_after = v;
			break;
		case 'H':
			w->so.no_handshakes = true;
			break;
		case 'P':
			if (parse_uint(optarg, "port", 65535, &v))
				return -1;
			if (!v) {
				pr_warn("Invalid port 0 -- expected 1 to 65535\n");
				return -1;
			}
			if (w->nports >= MW_MAX_HINT_PORTS - 8) {
				pr_warn("Too many --port (at most %d)\n", MW_MAX_HINT_PORTS - 8);
				return -1;
			}
			w->ports[w->nports++] = v;
			break;
		case 'v':
			w->so.verbose = mw_verbose = true;
			break;
		case 0x100:
		case 0x101:
			if (w->confirm >= 0 && w->confirm != (c == 0x101)) {
				pr_warn("--passive and --confirm contradict each other -- "
					"use one\n");
				return -1;
			}
			w->confirm = c == 0x101;
			break;
		case 0x102:
			w->so.xdp = true;
			break;
		case 'h':
			w->help = true;
			return 0;
		default:
			if (extra && c != '?' && c != ':' && extra(c, optarg, ctx) == 0)
				break;
			if (c == '?' || c == ':')
				bad_option(argv);
			return -1;
		}
	}
	return 0;
}
