#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The test runner behind `make check`. Every test program prints one line per case,
# "PASS: name" or "FAIL: name: why"; this counts them and ends with "N passed, N failed".
# A program that crashes or prints nothing counts as a failure. Tiers: unit (no kernel),
# bpf (BPF_PROG_TEST_RUN, needs root), e2e (namespace labs, needs root), kernels (Debian 12's
# kernels under QEMU, needs root; GUEST_TESTS=ci unless told otherwise).
set -u
OUT=${OUT:-build}
TIERS=${TIERS:-unit bpf e2e kernels}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
cd "$(dirname "$0")/.." || exit 1
pass=0
fail=0

run() {
	local name=$1 out rc p f
	shift
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL)' || true
	p=$(printf '%s\n' "$out" | grep -c '^PASS')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL')
	# A crash, no verdicts at all, or a failing exit that no FAIL line explains: the cases
	# it did not reach were never counted.
	if [ "$rc" -ge 128 ] || { [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; } ||
		{ [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		echo "FAIL: $name: exited $rc; output follows"
		printf '%s\n' "$out" | tail -20
		f=$((f + 1))
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL: $1: needs root (run: sudo make check)"
		fail=$((fail + 1))
		return 1
	fi
	return 0
}

for tier in $TIERS; do
	case $tier in
	unit)
		run test_core "$OUT/test_core"
		run test_recfile "$OUT/test_recfile"
		run test_httpd "$OUT/test_httpd"
		run test_metrics "$OUT/test_metrics"
		run test_hostcfg "$OUT/test_hostcfg"
		run test_webconfig "$OUT/test_webconfig"
		run test_nsnames "$OUT/test_nsnames"
		run fuzz-corpus "$OUT/replay_recfile" tests/fuzz/corpus
		if [ -x "$OUT/fuzz_recfile" ]; then
			run fuzz-recfile bash tests/fuzz/run-fuzz.sh "$OUT/fuzz_recfile" "$FUZZ_SECONDS"
		fi
		run fuzz-events-corpus "$OUT/replay_events" tests/fuzz/corpus-events
		if [ -x "$OUT/fuzz_events" ]; then
			run fuzz-events bash tests/fuzz/run-fuzz.sh "$OUT/fuzz_events" "$FUZZ_SECONDS" \
				tests/fuzz/corpus-events fuzz-events 131072
		fi
		run test_hostile "$OUT/test_hostile" "$OUT/mtuwatch"
		run test-docs bash tests/unit/test-docs.sh
		run test-rules bash tests/unit/test-rules.sh
		run test-layers python3 tests/unit/test-layers.py "$OUT"
		;;
	bpf)
		need_root bpf && run test_bpf "$OUT/test_bpf"
		;;
	kernels)
		# Debian 12's 6.1 and 6.12 booted under QEMU (tests/kernels/run.sh; its lines carry
		# the kernel, e.g. "PASS: 6.1/healthy-pmtu_learned"); timings follow the verdicts.
		if need_root kernels; then
			run kernels env OUT="$OUT" GUEST_TESTS="${GUEST_TESTS:-ci}" \
				bash tests/kernels/run.sh
			cat "$OUT/kernels/timings.txt" 2>/dev/null
		fi
		;;
	e2e)
		if need_root e2e; then
			for t in tests/e2e/test-*.sh; do
				run "$(basename "$t" .sh)" env OUT="$OUT" bash "$t"
			done
		fi
		;;
	esac
done
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
