#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs a libFuzzer target for a bounded time (make check does this for each of them):
#   run-fuzz.sh BIN [SECONDS] [CORPUS-DIR] [NAME] [MAX-LEN]
# (defaults: the record-file reader's corpus, name fuzz-recfile). The seed corpus is read,
# never written: new inputs go to a scratch directory.
set -u
bin=$1
secs=${2:-20}
seeds=${3:-$(dirname "$0")/corpus}
name=${4:-fuzz-recfile}
maxlen=${5:-65536}
work=$(mktemp -d "${TMPDIR:-/tmp}/mw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
if "$bin" -max_total_time="$secs" -rss_limit_mb=512 -max_len="$maxlen" -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" \
	>"$work/log" 2>&1; then
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
	[ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$work/log" | tail -1 | tr -d '#')
	echo "PASS: $name (${secs}s, ${execs:-?} inputs, no crash)"
else
	echo "FAIL: $name: crash or leak; artifact: $(ls "$work/artifacts" | head -1)"
	grep -E 'ERROR|SUMMARY' "$work/log" | head -5
	mkdir -p build/fuzz-artifacts && cp "$work/artifacts"/* build/fuzz-artifacts/ 2>/dev/null
fi
