#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Shared by the end-to-end tests: verdict lines, running mtuwatch in a lab namespace.
OUT=${OUT:-build}
# Namespaces of our own, so that a lab someone runs by hand is left alone.
export MW_LAB_ID=${MW_LAB_ID:-e2e$$}
MW=$(readlink -f "$OUT/mtuwatch")
# The test binary ($OUT/test-hooks/mtuwatch): the shipped one plus the MW_TEST_REFUSE hook,
# which only it honours. mw_start runs it when the hook is set; tests name it where they run it.
MWT=$(readlink -f "$OUT/test-hooks/mtuwatch")
. "$(dirname "${BASH_SOURCE[0]}")/../lab.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-e2e.XXXXXX")
trap 'lab_down >/dev/null 2>&1; rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
# check NAME COND-COMMAND... : PASS when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$(tail -c 600 "$LAST_OUT" 2>/dev/null | tr '\n' ' ')"; fi
}

# mw_start NODE OUTFILE ARGS... : mtuwatch in the background in a lab namespace; returns once
# it says on stderr that it is watching (or recording, or exporting), bounded.
mw_start() {
	local node=$1 out=$2
	shift 2
	LAST_OUT=$out
	local bin=$MW
	[ -n "${MW_TEST_REFUSE-}" ] && bin=$MWT
	ip netns exec "$(lab_ns "$node")" timeout 120 "$bin" "$@" >"$out" 2>"$out.err" &
	MW_PID=$!
	for _ in $(seq 100); do
		grep -Eq 'watching|recording to|exporting' "$out.err" 2>/dev/null && break
		kill -0 "$MW_PID" 2>/dev/null || break
		sleep 0.05
	done
}

# wait_progs N: until at most N mtuwatch programs are loaded host-wide (freeing is
# asynchronous after a process dies), bounded; true if reached.
wait_progs() {
	for _ in $(seq 40); do
		[ "$(bpftool prog show 2>/dev/null | grep -c 'name mw_')" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

mw_stop() {
	kill -INT "$MW_PID" 2>/dev/null
	wait "$MW_PID"
	MW_RC=$?
}

has() { grep -q -- "$2" "$1"; }
# hasnt FILE PATTERN: FILE was read and holds no PATTERN; a missing file (grep's status 2) fails
hasnt() {
	grep -q -- "$2" "$1"
	[ $? = 1 ]
}
# none_match ERE FILE...: every FILE was read and none holds ERE (a missing file fails)
none_match() {
	grep -Eq -- "$@"
	[ $? = 1 ]
}
# finished_without ERE FILE...: every FILE is a finished mtuwatch --json run (its closing summary is
# there) and no line of any matches ERE
finished_without() {
	local re=$1 f
	shift
	for f; do grep -q '"summary":true' "$f" || return 1; done
	none_match "$re" "$@"
}
# no_finding FILE PATTERN...: FILE holds mtuwatch's closing summary (the run finished) and no
# finding line with every pattern
no_finding() {
	grep -q '"summary":true' "$1" && ! finding "$@"
}
# a JSON finding line with every pattern in it
finding() {
	local file=$1
	shift
	local lines
	lines=$(grep '"verdict"' "$file" | grep -v '"summary"')
	for p in "$@"; do lines=$(printf '%s\n' "$lines" | grep -- "$p"); done
	[ -n "$lines" ]
}
