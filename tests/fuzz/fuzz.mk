# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# recfile (recording container) tests: unit tests, corpus replay, libFuzzer.
# Meant to be included from the top-level Makefile (paths are relative to
# the repository root); also usable alone:  make -f tests/fuzz/fuzz.mk ...
#
#   recfile-test         unit tests            (PASS:/FAIL: lines)
#   recfile-replay       seed corpus replay    (one PASS:/FAIL: line)
#   recfile-fuzz         libFuzzer, bounded by RECFILE_FUZZ_SECONDS
#   recfile-corpus       regenerate tests/fuzz/corpus/ with mkcorpus

BUILD ?= build
RECFILE_FUZZ_SECONDS ?= 20

RECFILE_SRC := user/recfile.c
RECFILE_HDR := user/recfile.h
RECFILE_CFLAGS := -Wall -Wextra -O2 -g
RECFILE_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all

# Unit tests: plain optimised build.
$(BUILD)/test_recfile: tests/unit/test_recfile.c $(RECFILE_SRC) $(RECFILE_HDR)
	@mkdir -p $(@D)
	gcc $(RECFILE_CFLAGS) -o $@ tests/unit/test_recfile.c $(RECFILE_SRC) -lz

# Same tests under ASan/UBSan (a few seconds).
$(BUILD)/test_recfile_asan: tests/unit/test_recfile.c $(RECFILE_SRC) $(RECFILE_HDR)
	@mkdir -p $(@D)
	gcc -Wall -Wextra -O1 -g $(RECFILE_SAN) -o $@ tests/unit/test_recfile.c $(RECFILE_SRC) -lz

# Corpus replayer: the fuzz target with a main(), no libFuzzer needed.
$(BUILD)/fuzz_recfile_replay: tests/fuzz/fuzz_recfile.c $(RECFILE_SRC) $(RECFILE_HDR)
	@mkdir -p $(@D)
	gcc -Wall -Wextra -O1 -g $(RECFILE_SAN) -DFUZZ_REPLAY_MAIN -o $@ \
		tests/fuzz/fuzz_recfile.c $(RECFILE_SRC) -lz

# libFuzzer target. FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes the reader
# ignore CRC/adler32 mismatches so mutations reach the record parser; never
# use that define outside this binary.
$(BUILD)/fuzz_recfile: tests/fuzz/fuzz_recfile.c $(RECFILE_SRC) $(RECFILE_HDR)
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -o $@ \
		tests/fuzz/fuzz_recfile.c $(RECFILE_SRC) -lz

$(BUILD)/mkcorpus: tests/fuzz/mkcorpus.c $(RECFILE_SRC) $(RECFILE_HDR)
	@mkdir -p $(@D)
	gcc $(RECFILE_CFLAGS) -o $@ tests/fuzz/mkcorpus.c $(RECFILE_SRC) -lz

.PHONY: recfile-test recfile-test-asan recfile-replay recfile-fuzz recfile-corpus

recfile-test: $(BUILD)/test_recfile
	$(BUILD)/test_recfile

recfile-test-asan: $(BUILD)/test_recfile_asan
	$(BUILD)/test_recfile_asan

recfile-replay: $(BUILD)/fuzz_recfile_replay
	$(BUILD)/fuzz_recfile_replay tests/fuzz/corpus

# New inputs go to $(BUILD)/fuzz-work (first directory); the checked-in seeds
# are only read. Crashes land in $(BUILD)/fuzz-artifacts/.
recfile-fuzz: $(BUILD)/fuzz_recfile
	@mkdir -p $(BUILD)/fuzz-work $(BUILD)/fuzz-artifacts
	$(BUILD)/fuzz_recfile -max_total_time=$(RECFILE_FUZZ_SECONDS) -rss_limit_mb=512 \
		-max_len=65536 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz-artifacts/ \
		$(BUILD)/fuzz-work tests/fuzz/corpus

recfile-corpus: $(BUILD)/mkcorpus
	@mkdir -p tests/fuzz/corpus
	$(BUILD)/mkcorpus tests/fuzz/corpus
