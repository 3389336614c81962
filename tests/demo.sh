#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo`: the Kubernetes seed in a box. A router answers with Packet Too Big from its
# management address, the client's strict rp_filter drops it, large transfers hang; mtuwatch
# runs on the client while traffic flows and says so.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build}
if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: sudo make demo" >&2
	exit 1
fi
export MW_LAB_ID=${MW_LAB_ID:-demo}
. tests/lab.sh
trap 'lab_down >/dev/null 2>&1' EXIT
echo "== building lab variant (c): client MTU 9000 -> router (far side 1500) -> server;"
echo "   the router sources its ICMP from 203.0.113.1, the client has rp_filter=1"
lab_up rpfilter >/dev/null || { echo "lab setup failed" >&2; exit 1; }
echo "== mtuwatch on the client, while a bulk TCP transfer runs for 3 s"
echo
ip netns exec "$(lab_ns cli)" "$OUT/mtuwatch" --duration 8 &
pid=$!
sleep 1.5
if lab_bulk rpfilter 3 >/dev/null 2>&1; then
	echo "(the transfer completed)" >&2
else
	echo "(the transfer hung: $(cat "$MW_LAB_DIR/bulk.bytes" 2>/dev/null || echo 0) bytes arrived)" >&2
fi
wait $pid
echo
echo "== lab torn down"
