// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the recfile reader: any byte string is written to a
 * memfd, fed to recfile_open_fd() (the descriptor path `report` reads with)
 * and read to the end. Besides the sanitizers catching
 * memory errors, the target aborts when the reader breaks one of its
 * documented promises (record limits, alignment, one-line messages...).
 *
 * Built with -DFUZZ_REPLAY_MAIN and linked with tests/fuzz/replay_main.c it
 * becomes a plain program that runs the files named on its command line
 * (directories are expanded one level) through the same target, so the corpus
 * doubles as a regression test on machines without libFuzzer.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../user/recfile.h"

static void check_msg(const char *m)
{
	/* errors are printed as one line by the report command */
	if (!m || !m[0] || strchr(m, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One memfd for the whole run, refilled per input: a descriptor at offset 0 over the bytes. */
static int feed(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0)
		fd = memfd_create("fuzz_recfile", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET))
		abort();	/* nothing could be tested: say so, do not pass */
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recfile_reader *r;
	char err[256] = "";
	const void *d;
	uint16_t type;
	uint32_t len;
	int rc;

	r = recfile_open_fd(feed(data, size), "fuzz", err, sizeof(err));
	if (!r) {
		check_msg(err);
		return 0;
	}

	while ((rc = recfile_next(r, &type, &d, &len)) == 1) {
		if (len > RECFILE_MAX_RECORD || ((uintptr_t)d & 7) || type == RECFILE_TYPE_END ||
		    (type < RECFILE_TYPE_USER_MIN && type != RECFILE_TYPE_META))
			abort();
		/* touch both ends so ASan flags a payload outside its buffer */
		if (len) {
			const volatile uint8_t *p = d;
			uint8_t sink = p[0] ^ p[len - 1];

			(void)sink;
		}
		if (type == RECFILE_TYPE_META) {
			const char *k, *v;
			size_t kl, vl;
			uint32_t pos = 0, last = 0;

			while (recfile_meta_next(d, len, &pos, &k, &kl, &v, &vl) == 1) {
				if (pos <= last) /* must make progress */
					abort();
				if (!kl || k + kl >= v || v + vl > (const char *)d + len)
					abort();
				last = pos;
			}
		}
	}

	if (rc == 0) {
		if (recfile_truncated(r)) {
			unsigned long long cut = 0;

			check_msg(recfile_warning(r));
			/* the bytes it says it ignored were in the input */
			if (sscanf(recfile_warning(r), "file truncated: %llu", &cut) == 1 &&
			    cut > size)
				abort();
		} else if (recfile_warning(r)[0]) {
			abort();
		}
	} else {
		check_msg(recfile_error(r));
	}
	/* end states are sticky */
	if (recfile_next(r, &type, &d, &len) != rc)
		abort();
	recfile_close_reader(r);
	return 0;
}

#ifdef FUZZ_REPLAY_MAIN
/* the verdict line and the largest input of tests/fuzz/replay_main.c, linked with it */
const char fuzz_replay_name[] = "fuzz-corpus-replay";
const unsigned int fuzz_replay_max = 64u << 20;
#endif
