// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `make bench` helper: loads build/null.bpf.o and attaches its programs where mtuwatch
 * attaches (TCX egress/ingress, XDP, the two tracepoints), in the namespace it runs in.
 *   nullload OBJ [egress:IF] [ingress:IF] [xdp:IF] [tp]...
 * Prints "name prog_id" per program, then "ready", and holds the links until SIGTERM or
 * SIGINT. Exit 1 when something does not load or attach.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define TCX_INGRESS 46
#define TCX_EGRESS 47

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

static void noop(int sig)
{
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	bool tp = false;

	if (argc < 2) {
		fprintf(stderr, "usage: nullload OBJ [egress:IF|ingress:IF|xdp:IF|tp]...\n");
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	for (int i = 2; i < argc; i++)
		tp |= !strcmp(argv[i], "tp");
	bpf_object__for_each_program(p, obj) {
		const char *n = bpf_program__name(p);

		if (!strcmp(n, "null_tc"))
			bpf_program__set_expected_attach_type(p, TCX_EGRESS);
		if (!strcmp(n, "null_tc_in"))
			bpf_program__set_expected_attach_type(p, TCX_INGRESS);
		if (!tp && (!strcmp(n, "null_kfree_skb") || !strcmp(n, "null_retransmit")))
			bpf_program__set_autoload(p, false);
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "nullload: load failed: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char *c = strchr(argv[i], ':');
		int ifx = c ? (int)if_nametoindex(c + 1) : 0, fd = -1;

		if (!strcmp(argv[i], "tp")) {
			bpf_object__for_each_program(p, obj) {
				if (bpf_program__autoload(p) && !strncmp(bpf_program__name(p), "null_k", 6))
					fd = bpf_program__attach(p) ? 0 : -1;
				if (bpf_program__autoload(p) && !strncmp(bpf_program__name(p), "null_r", 6))
					fd = fd || !bpf_program__attach(p) ? -1 : 0;
			}
		} else if (c && !strncmp(argv[i], "egress:", 7)) {
			p = bpf_object__find_program_by_name(obj, "null_tc");
			fd = bpf_link_create(bpf_program__fd(p), ifx, TCX_EGRESS, NULL);
		} else if (c && !strncmp(argv[i], "ingress:", 8)) {
			p = bpf_object__find_program_by_name(obj, "null_tc_in");
			fd = bpf_link_create(bpf_program__fd(p), ifx, TCX_INGRESS, NULL);
		} else if (c && !strncmp(argv[i], "xdp:", 4)) {
			p = bpf_object__find_program_by_name(obj, "null_xdp");
			fd = bpf_link_create(bpf_program__fd(p), ifx, BPF_XDP, NULL);
		}
		if (fd < 0) {
			fprintf(stderr, "nullload: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
	}
	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__autoload(p) &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			printf("%s %u\n", bpf_program__name(p), info.id);
	}
	printf("ready\n");
	fflush(stdout);
	signal(SIGTERM, noop);
	signal(SIGINT, noop);
	pause();
	return 0;
}
