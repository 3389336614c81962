// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The plain main of a fuzz target built for replay (tests/fuzz/fuzz_*.c with
 * -DFUZZ_REPLAY_MAIN, linked with this file): it runs the files named on its command line
 * (directories are expanded one level) through LLVMFuzzerTestOneInput, so a corpus doubles
 * as a regression test on machines without libFuzzer. The target names its verdict line
 * and the largest input it takes; one line for the whole corpus, as tests/run.sh counts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char fuzz_replay_name[];
extern const unsigned int fuzz_replay_max;

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) || st.st_size > fuzz_replay_max) {
		fail(fuzz_replay_name, "cannot open %s (or larger than %u bytes)", path,
		     fuzz_replay_max);
		if (f)
			fclose(f);
		return -1;
	}
	/* exact-size buffer so ASan catches reads past the input */
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		fail(fuzz_replay_name, "cannot read %s", path);
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
	char line[128];
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fail(fuzz_replay_name, "cannot stat %s", argv[i]);
			return 0;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent *de;
			DIR *dir = opendir(argv[i]);
			char p[4096];

			if (!dir) {
				fail(fuzz_replay_name, "cannot open %s", argv[i]);
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
	if (!nfiles) {
		fail(fuzz_replay_name, "no input files");
	} else {
		snprintf(line, sizeof(line), "%s (%lu files)", fuzz_replay_name, nfiles);
		pass(line);
	}
	return 0;
}
