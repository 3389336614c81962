// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the recfile reader: any byte string is written to a
 * memfd, fed to recfile_open_fd() (the descriptor path `report` reads with)
 * and read to the end. Besides the sanitizers catching
 * memory errors, the target aborts when the reader breaks one of its
 * documented promises (record limits, alignment, one-line messages...).
 *
 * Built with -DFUZZ_REPLAY_MAIN it becomes a plain program that runs the
 * files named on its command line (directories are expanded one level)
 * through the same target, so the corpus doubles as a regression test on
 * machines without libFuzzer.
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
#include <dirent.h>
#include <sys/stat.h>

#define REPLAY_MAX (64u << 20)

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) || st.st_size > REPLAY_MAX) {
		printf("FAIL: fuzz-corpus-replay: cannot open %s (or larger than %u bytes)\n", path,
		       REPLAY_MAX);
		if (f)
			fclose(f);
		return -1;
	}
	/* exact-size buffer so ASan catches reads past the input */
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		printf("FAIL: fuzz-corpus-replay: cannot read %s\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long nfiles = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			printf("FAIL: fuzz-corpus-replay: cannot stat %s\n", argv[i]);
			return 0;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent *de;
			DIR *dir = opendir(argv[i]);
			char p[4096];

			if (!dir) {
				printf("FAIL: fuzz-corpus-replay: cannot open %s\n", argv[i]);
				return 0;
			}
			while ((de = readdir(dir))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
				if (stat(p, &st) || !S_ISREG(st.st_mode))
					continue;
				if (run_file(p)) {
					closedir(dir);
					return 0;
				}
				nfiles++;
			}
			closedir(dir);
		} else {
			if (run_file(argv[i]))
				return 0;
			nfiles++;
		}
	}
	if (!nfiles)
		printf("FAIL: fuzz-corpus-replay: no input files\n");
	else
		printf("PASS: fuzz-corpus-replay (%lu files)\n", nfiles);
	return 0;
}
#endif
