# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Sourced by tests/pmtu/run.sh's copy of the kernel's pmtu.sh, after its functions and before
# its main loop (the copy gets one line; the file itself is never edited). It renames a few of
# pmtu.sh's functions and wraps them, to:
#  - start mtuwatch --json --passive in every namespace of the test (passive: pmtu.sh's
#    namespaces must carry only pmtu.sh's own packets, or a confirmation probe's PTB could make
#    the very exception a check then finds), either at the test's first MTU
#    change (MW_PMTU_PASS=before) or at its first traffic (after), and stop it before
#    pmtu.sh's cleanup deletes the namespaces (MW_PMTU_PASS=none: never);
#  - write down every exception pmtu.sh asserts: each check_pmtu_value with the namespace and
#    destination of the `ip route get` it checks, and the cached routes list_flush counts just
#    before it flushes them.
# Each run of a test (plain, nexthop objects) writes into its own directory under MW_PMTU_DIR.

__mw_rename() {
	eval "__mw_orig_$1() $(declare -f "$1" | tail -n +2)"
}
for __mw_f in run_test mtu run_cmd check_pmtu_value route_get_dst_pmtu_from_exception cleanup; do
	__mw_rename "$__mw_f"
done

run_test() {
	local v=plain

	[ "$USE_NH" = yes ] && v=nh
	MW_RUN="$MW_PMTU_DIR/$1.$v"
	MW_STARTED=
	MW_PIDS=
	mkdir -p "$MW_RUN"
	: >"$MW_RUN/asserts"
	__mw_orig_run_test "$@"
	local rc=$?
	echo "$rc" >"$MW_RUN/rc"
	return $rc
}

# Every namespace the test made, one mtuwatch each; returns once each says it is watching.
__mw_start() {
	local ns

	[ -n "$MW_STARTED" ] && return 0
	MW_STARTED=1
	[ "$MW_PMTU_PASS" = none ] && return 0
	for ns in "${NS_LIST[@]}"; do
		ip netns exec "$ns" timeout 600 "$MW" --json --passive >"$MW_RUN/mw.$ns.json" \
			2>"$MW_RUN/mw.$ns.err" &
		MW_PIDS="$MW_PIDS $!:$ns"
	done
	for ns in "${NS_LIST[@]}"; do
		for _ in $(seq 200); do
			grep -q watching "$MW_RUN/mw.$ns.err" 2>/dev/null && break
			sleep 0.05
		done
		grep -q watching "$MW_RUN/mw.$ns.err" ||
			echo "mtuwatch did not start in $ns" >>"$MW_RUN/errors"
	done
	echo "$MW_PMTU_PASS" >"$MW_RUN/started"
}

__mw_stop() {
	local p pid ns rc

	for p in $MW_PIDS; do
		kill -INT "${p%%:*}" 2>/dev/null
	done
	for p in $MW_PIDS; do
		pid=${p%%:*}
		ns=${p#*:}
		wait "$pid"
		rc=$?
		[ "$rc" -ne 0 ] && echo "mtuwatch in $ns exited $rc" >>"$MW_RUN/errors"
	done
	MW_PIDS=
}

mtu() {
	[ "$MW_PMTU_PASS" = before ] && __mw_start
	__mw_orig_mtu "$@"
}

run_cmd() {
	local ns fam line dst m

	case "$*" in
	*ping*|*socat*|*nettest*) __mw_start ;;
	*"route flush cache"*)
		# "ip netns exec NS ip [-6] route flush cache": the routes pmtu.sh counted
		ns=$(echo "$*" | awk '{ print $4 }')
		fam=4
		case "$*" in *" -6 "*) fam=6 ;; esac
		ip netns exec "$ns" ip -oneline -$fam route list cache | while read -r line; do
			dst=${line%% *}
			m=$(mtu_parse "$line")
			echo "$ns $dst ${m// /_} ${m// /_} listed before flush" >>"$MW_RUN/asserts"
		done
		;;
	esac
	__mw_orig_run_cmd "$@"
}

route_get_dst_pmtu_from_exception() {
	echo "${1##* } $2" >>"$MW_RUN/query"
	__mw_orig_route_get_dst_pmtu_from_exception "$@"
}

check_pmtu_value() {
	local q

	q=$(tail -n 1 "$MW_RUN/query" 2>/dev/null)
	echo "${q:-? ?} ${1// /_} ${2// /_} $3" >>"$MW_RUN/asserts"
	__mw_orig_check_pmtu_value "$@"
}

cleanup() {
	__mw_stop
	__mw_orig_cleanup "$@"
}
