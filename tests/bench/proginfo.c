// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `make bench` helper: "name xlated_insns verified_insns run_cnt run_time_ns" for each BPF
 * program id given (BPF_OBJ_GET_INFO_BY_FD; this bpftool does not show verified_insns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(atoi(argv[i]));

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		printf("%s %u %u %llu %llu\n", info.name, info.xlated_prog_len / 8,
		       info.verified_insns, (unsigned long long)info.run_cnt,
		       (unsigned long long)info.run_time_ns);
		close(fd);
	}
	return 0;
}
