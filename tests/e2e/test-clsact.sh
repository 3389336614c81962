#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# clsact filters, the tc path of kernels without TCX (before 6.6), forced on this kernel with
# MW_TEST_REFUSE=tcx: each instance owns its filters, a killed one's filters are removed (by its
# watchdog, by the next start, by `mtuwatch cleanup`), two instances never touch each other's
# filters, a clsact qdisc is removed only by whoever made it once it is empty. Also: the XDP
# mode reported is the one the kernel used. The kernel matrix (tests/kernels) runs this on 6.1.
. "$(dirname "$0")/lib.sh"

lab_up healthy >/dev/null 2>&1 || { fail "lab-up" "lab_up healthy failed"; exit 1; }
NS=$(lab_ns cli)
inns() { ip netns exec "$NS" "$@"; }
# mw_ filters on c0 (both directions), one line each: "pid=N"
mw_filters() {
	{ inns tc filter show dev c0 egress; inns tc filter show dev c0 ingress; } 2>/dev/null |
		grep -o 'handle .* mw_[a-z_0-9]* pid=[0-9]*' | grep -o 'pid=[0-9]*'
}
has_clsact() { inns tc qdisc show dev c0 | grep -q clsact; }
# until_true CMD...: bounded polling for a condition (10 s; the kernel matrix, under
# emulation, raises MW_WAIT_TRIES)
until_true() {
	for _ in $(seq "${MW_WAIT_TRIES:-100}"); do "$@" && return 0; sleep 0.1; done
	return 1
}
no_filters() { [ -z "$(mw_filters)" ]; }
# start_mw OUT ARGS...: a clsact instance in its own session; sets MWP (mtuwatch's pid, from
# its own note) and WDP (its watchdog); returns once it is watching. REFUSE= for no test hook.
start_mw() {
	local out=$1
	shift
	LAST_OUT=$out.err
	MW_TEST_REFUSE=${REFUSE-tcx} ip netns exec "$NS" setsid timeout 300 "$MWT" -i c0 "$@" \
		>"$out" 2>"$out.err" &
	BGP=$!
	until_true grep -q 'watching' "$out.err" 2>/dev/null
	MWP=$(grep -o 'using clsact filters (c0 mw_tc_egress pid=[0-9]*' "$out.err" | grep -o '[0-9]*$')
	[ -n "$MWP" ] || MWP=$(pgrep -P "$BGP" -x mtuwatch)
	WDP=$(pgrep -P "${MWP:-1}" -x mtuwatch-wd)
}
stop_mw() {
	kill -INT "$MWP" 2>/dev/null
	wait "$BGP"
}

# forced clsact: said once, this instance's filters (egress, ingress) carry its pid
start_mw "$TMP/a"
check "clsact-forced-said" has "$TMP/a.err" 'note: kernel has no TCX, using clsact filters'
check "clsact-filter-names-owner" test "$(mw_filters | tr '\n' ' ')" = "pid=$MWP pid=$MWP "
check "clsact-watchdog-running" test -n "$WDP"

# SIGKILL: the watchdog removes the filter and the qdisc this instance made
kill -KILL "$MWP"
wait "$BGP" 2>/dev/null
LAST_OUT=$TMP/a.err
check "sigkill-watchdog-removes-filters" until_true no_filters
check "sigkill-watchdog-removes-qdisc" until_true eval '! has_clsact'
check "sigkill-watchdog-says-so" until_true grep -q 'its watchdog removed its clsact filters' "$TMP/a.err"

# both killed (e.g. a cgroup kill): the filter stays; the next start removes it and keeps only
# its own
start_mw "$TMP/k"
dead=$MWP
kill -KILL "$WDP" "$MWP"
wait "$BGP" 2>/dev/null
check "sigkill-both-leaves-orphan" test "$(mw_filters | sort -u)" = "pid=$dead"
start_mw "$TMP/next"
check "next-start-keeps-exactly-its-own" test "$(mw_filters | sort -u)" = "pid=$MWP"
check "next-start-says-removed" has "$TMP/next.err" "c0: removed 2 clsact filter(s) left running by an mtuwatch that is gone (pid $dead)"
stop_mw
check "exit-removes-own-filter-and-qdisc" eval 'no_filters && ! has_clsact'

# a plain start (no test hook: TCX where the kernel has it) on an interface with an orphan:
# removed, said in one line
start_mw "$TMP/k2"
dead=$MWP
kill -KILL "$WDP" "$MWP"
wait "$BGP" 2>/dev/null
LAST_OUT=$TMP/tcx.err
inns "$MW" -i c0 --duration 0 -v >"$TMP/tcx" 2>"$TMP/tcx.err"
check "tcx-start-exit-0" test $? = 0
check "tcx-start-removes-orphan" eval 'no_filters && ! has_clsact'
check "tcx-start-says-it-in-one-line" test "$(grep -c 'removed 2 clsact filter(s) .*(pid '"$dead"')' "$TMP/tcx.err")" = 1
# TCX arrived in 6.6; before, this start's own filter is a clsact one, which it removes on exit
mode=tcx
printf '%s\n' "$(uname -r)" 6.6 | sort -VC && mode=clsact
check "tcx-start-used-$mode" has "$TMP/tcx.err" "mw_tc_egress on c0: attached ($mode)"

# two instances: each keeps its filter when the other exits (both orders), and the last one
# out removes the qdisc
for order in second-exits-first first-exits-first; do
	# a fresh lab: the survivor's max_df 9000 needs a client that has not learned the PMTU yet
	lab_up healthy >/dev/null 2>&1
	start_mw "$TMP/one.$order" --json
	P1=$MWP B1=$BGP
	start_mw "$TMP/two.$order" --json
	P2=$MWP B2=$BGP
	check "two-instances-$order-both-attached" test "$(mw_filters | sort -u | tr '\n' ' ')" = "$(printf 'pid=%s\n' "$P1" "$P2" | sort | tr '\n' ' ')"
	if [ $order = second-exits-first ]; then
		MWP=$P2 BGP=$B2 stop_mw
		keep=$P1 kb=$B1 kout=$TMP/one.$order
	else
		MWP=$P1 BGP=$B1 stop_mw
		keep=$P2 kb=$B2 kout=$TMP/two.$order
	fi
	check "two-instances-$order-other-keeps-its-filter" test "$(mw_filters | sort -u)" = "pid=$keep"
	lab_bulk healthy 2 >/dev/null 2>&1
	MWP=$keep BGP=$kb stop_mw
	LAST_OUT=$kout
	check "two-instances-$order-survivor-still-sees-egress" grep -q '"summary":true,"dst":"198.51.100.2".*"max_df":9000' "$kout"
	check "two-instances-$order-nothing-left" eval 'no_filters && ! has_clsact'
done

# cleanup: removes a dead instance's filter and qdisc, never a live one's
start_mw "$TMP/live"
LP=$MWP LB=$BGP
start_mw "$TMP/k3"
dead=$MWP
kill -KILL "$WDP" "$MWP"
wait "$BGP" 2>/dev/null
inns "$MW" cleanup >"$TMP/cl1" 2>&1
LAST_OUT=$TMP/cl1
check "cleanup-removes-dead-keeps-live" test "$(mw_filters | sort -u)" = "pid=$LP" -a -n "$(grep "removed [0-9] .*(pid $dead)" "$TMP/cl1")"
MWP=$LP BGP=$LB stop_mw
start_mw "$TMP/k4"
kill -KILL "$WDP" "$MWP"
wait "$BGP" 2>/dev/null
inns "$MW" cleanup -i c0 >"$TMP/cl2" 2>&1
rc=$?
LAST_OUT=$TMP/cl2
check "cleanup-exit-0" test "$rc" = 0
check "cleanup-leaves-nothing" eval 'no_filters && ! has_clsact'
check "cleanup-says-qdisc" has "$TMP/cl2" 'c0: removed the clsact qdisc mtuwatch had made'
inns "$MW" cleanup -i c0 >"$TMP/cl3" 2>&1
LAST_OUT=$TMP/cl3
check "cleanup-again-nothing" has "$TMP/cl3" '^nothing to clean up'
inns "$MW" cleanup -i no-such-if0 >"$TMP/cl4" 2>&1
check "cleanup-unknown-iface-exit-2" test $? = 2

# a clsact qdisc someone else made (with a filter of theirs) stays, and so does their filter
inns tc qdisc add dev c0 clsact
# classic BPF in cls_bpf (no other classifier module needed): "return 0", matches nothing
inns tc filter add dev c0 egress pref 7 bpf bytecode '1,6 0 0 0,'
start_mw "$TMP/foreign"
stop_mw
LAST_OUT=$TMP/foreign.err
foreign_kept() { has_clsact && no_filters && inns tc filter show dev c0 egress | grep -q 'pref 7 bpf .*handle'; }
check "foreign-qdisc-and-filter-kept" foreign_kept
inns tc qdisc del dev c0 clsact

# XDP mode (--xdp): what the kernel used, not what was asked (lo has no native XDP: generic)
REFUSE= start_mw "$TMP/xdp" -v --xdp -i lo
LAST_OUT=$TMP/xdp.err
check "xdp-lo-reported-generic" eval "grep -q 'mw_xdp_ingress on lo: attached (generic)' '$TMP/xdp.err' && inns ip -d link show lo | grep -q xdpgeneric"
check "xdp-veth-reported-native" eval "grep -q 'mw_xdp_ingress on c0: attached (native)' '$TMP/xdp.err' && inns ip -d link show c0 | grep -q 'prog/xdp ' && ! inns ip -d link show c0 | grep -q xdpgeneric"
stop_mw
lab_down >/dev/null 2>&1
