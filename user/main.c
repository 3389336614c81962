// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mtuwatch: finds the paths that black-hole large packets and says why Path MTU Discovery
 * fails there. Commands: live (default), record, report, export, doctor.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "cli.h"
#include "commands.h"
#include "driver.h"
#include "log.h"
#include "render.h"

static void usage_live(FILE *o)
{
	fprintf(o,
		"Usage: mtuwatch [live] [-i IFACE]... [--duration SECS] [--json] [--all-netns]\n"
		"                [--stall-after SECS] [--port PORT]... [--no-handshakes]\n"
		"                [--passive] [--xdp] [-v]\n"
		"       mtuwatch record [-o FILE] [-f] [-i IFACE]... [--duration SECS] [-- CMD...]\n"
		"       mtuwatch report [-i FILE] [--json | --raw | --html OUT.html]\n"
		"       mtuwatch export [--listen ADDR:PORT | --textfile DIR [--interval SECS]]\n"
		"       mtuwatch doctor [--json] [--all-netns]   audit the MTU configuration\n"
		"       mtuwatch probe HOST[:PORT] [--tcp [--ptb-test]] [--json] [-v]  (see probe --help)\n"
		"       mtuwatch cleanup [-i IFACE]...\n"
		"       mtuwatch help | -h | --help\n"
		"       mtuwatch version | -V | --version\n"
		"\n"
		"Watches for MTU black holes: oversized DF packets, Packet Too Big that arrives, is\n"
		"dropped or is sent, retransmissions and stalled TLS/SSH handshakes, and prints one line\n"
		"per finding with its cause and remedy, then a per-path summary.\n"
		"\n"
		"  -i, --interface IFACE   watch IFACE (repeatable; default: every up interface)\n"
		"  -d, --duration SECS     stop after SECS (0: attach, detach and exit)\n"
		"  -j, --json              NDJSON output: one object per finding\n"
		"      --all-netns         judge every network namespace, label findings with it\n"
		"      --stall-after SECS  handshake stall timer (default 3)\n"
		"      --port PORT         add a TLS/SSH port hint (repeatable; built in: 22 443\n"
		"                          636 6443 7001 8443 9142); the bytes decide, ports label\n"
		"      --no-handshakes     do not parse TLS/SSH handshakes\n"
		"      --passive           send nothing: no probe of a suspect path's\n"
		"                          destination to confirm its MTU (default: confirm)\n"
		"      --xdp               watch arrivals at XDP, not tc ingress (see man page)\n"
		"  -v, --verbose           libbpf and debug messages\n"
		"\n"
		"EXAMPLES:\n"
		"  mtuwatch                      watch every interface until Ctrl-C\n"
		"  mtuwatch -i eth0 --json       NDJSON findings for eth0\n"
		"  mtuwatch record -- curl https://host/   record while curl runs\n");
}

static int cmd_live(int argc, char **argv)
{
	struct watch_opts w = {};
	struct mw_driver d = {};
	struct mw_render r = { .out = stdout };
	int err;

	if (parse_watch_opts(argc, argv, &w, NULL, NULL, NULL, NULL))
		return usage_error();
	if (w.help) {
		usage_live(stdout);
		return 0;
	}
	if (optind < argc) {
		pr_warn("Unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	r.json = w.json;
	r.all_netns = w.so.all_netns;
	d.on_finding = render_finding;
	d.finding_ctx = &r;
	install_signals();
	err = driver_open(&d, &w);
	if (err) {
		driver_close(&d);
		return err;
	}
	driver_describe(&d);
	if (w.duration != 0) {
		/* On stderr in every mode: it also tells scripts that everything is attached. */
		fprintf(stderr, "mtuwatch: watching %d interface(s); Ctrl-C for the summary\n",
			d.s.nifaces);
		driver_run(&d, w.duration, NULL);
		r.ptb_suppressed = session_counter(&d.s, MW_CNT_PTB_SUPPRESSED);
		render_summary(&r, d.core, d.lost);
	}
	driver_close(&d);
	return 0;
}

/* Remove the clsact filters a killed mtuwatch left running (kernels without TCX). */
static int cmd_cleanup(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *ifaces[MW_MAX_IFACES];
	int n = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:vh", longs, NULL)) != -1) {
		if (c == 'i' && n < MW_MAX_IFACES) {
			ifaces[n++] = optarg;
		} else if (c == 'v') {
			mw_verbose = true;
		} else if (c == 'h') {
			printf("Usage: mtuwatch cleanup [-i IFACE]...\n"
			       "Removes the clsact filters of mtuwatch processes that are gone (left "
			       "by a SIGKILL\non kernels without TCX), on IFACE or every interface "
			       "of this network namespace.\n");
			return 0;
		} else {
			if (c == 'i')
				pr_warn("Too many interfaces (at most %d)\n", MW_MAX_IFACES);
			else
				bad_option(argv);
			return 2;
		}
	}
	if (optind < argc) {
		pr_warn("Unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return session_cleanup(ifaces, n, stdout);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage_live(stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	struct utsname u;

	(void)argc;
	(void)argv;
	uname(&u);
	printf("mtuwatch %s (kernel %s)\n", MW_VERSION, u.release);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "live", cmd_live },
	{ "record", cmd_record },
	{ "report", cmd_report },
	{ "export", cmd_export },
	{ "doctor", cmd_doctor },
	{ "probe", cmd_probe },
	{ "cleanup", cmd_cleanup },
	{ "help", cmd_help },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	const char *cmd;
	int match = -1, nmatch = 0;
	size_t len;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Every command-line habit asks this way; -h and --help already reach live's usage. */
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")))
		return cmd_version(argc - 1, argv + 1);
	if (argc < 2 || argv[1][0] == '-')
		return cmd_live(argc, argv);
	cmd = argv[1];
	len = strlen(cmd);
	/* Unambiguous prefixes, as bpftool accepts them. */
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(cmds[k].name, cmd)) {
			match = k;
			nmatch = 1;
			break;
		}
		if (!strncmp(cmds[k].name, cmd, len)) {
			match = k;
			nmatch++;
		}
	}
	if (nmatch != 1) {
		pr_warn("%s command '%s' -- try 'mtuwatch help'\n",
			nmatch ? "Ambiguous" : "Unknown", cmd);
		return 2;
	}
	return cmds[match].fn(argc - 1, argv + 1);
}
