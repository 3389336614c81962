#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: measures, never asserts. Start-up time of `mtuwatch --duration 0`, and the
# per-run cost of each program (kernel.bpf_stats_enabled) under a bulk transfer in the lab.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build}
MW=$(readlink -f "$OUT/mtuwatch")
[ "$(id -u)" = 0 ] || { echo "make bench needs root" >&2; exit 1; }
export MW_LAB_ID=${MW_LAB_ID:-bench}
. tests/lab.sh
trap 'lab_down >/dev/null 2>&1; sysctl -qw kernel.bpf_stats_enabled=$old' EXIT
old=$(sysctl -n kernel.bpf_stats_enabled)

lab_up aligned >/dev/null || exit 1
echo "start-up (attach everything, detach, exit), 10 runs:"
times=()
for _ in $(seq 10); do
	t0=$(date +%s%N)
	ip netns exec "$(lab_ns cli)" "$MW" --duration 0 >/dev/null 2>&1
	times+=($((($(date +%s%N) - t0) / 1000000)))
done
printf '  median %s ms (runs: %s)\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 5p)" "${times[*]}"

sysctl -qw kernel.bpf_stats_enabled=1
ip netns exec "$(lab_ns cli)" "$MW" --duration 10 >/dev/null 2>&1 &
pid=$!
sleep 1
lab_bulk aligned 5 >/dev/null 2>&1
sleep 0.5
echo "per-run cost under a 5 s bulk transfer (bpf_stats):"
# Only this run's programs: the prog ids its file descriptors hold (this bpftool shows no pids).
mwpid=$(pgrep -P "$pid" mtuwatch || echo "$pid")
ids=$(grep -h '^prog_id:' /proc/"$mwpid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un)
for id in $ids; do
	bpftool prog show id "$id" | awk '
		/^[0-9]+: / { for (i = 1; i <= NF; i++) {
			if ($i == "name") name = $(i + 1)
			if ($i == "run_time_ns") t = $(i + 1)
			if ($i == "run_cnt") c = $(i + 1) }
			if (c > 0) printf "  %-18s %10d runs %8.1f ns/run\n", name, c, t / c
			else printf "  %-18s %10d runs\n", name, 0 }'
done
kill -INT $pid 2>/dev/null
wait $pid 2>/dev/null
