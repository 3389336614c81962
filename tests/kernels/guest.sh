#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs inside a kernel of the matrix (tests/kernels/run.sh boots it): what attaches and what
# falls back, the seed verdicts, a handshake stall, record/report equality, SIGKILL clean-up and
# the clsact ownership tests. Under emulation everything is slow: every wait is on a condition
# (mtuwatch's "watching" line, a finding in its output), bounded, never a fixed sleep.
#   GUEST_TESTS=all  every variant (IPv4 and IPv6 of filtered, fwdrop, healthy), and the
#                    clsact ownership tests on every kernel
#   GUEST_TESTS=ci   one IPv6 variant; clsact ownership only where there is no TCX
. "$(dirname "$0")/../e2e/lib.sh"
GUEST_TESTS=${GUEST_TESTS:-all}
KREL=$(uname -r)
# TCX arrived in 6.6
kver=${KREL%%-*}
major=${kver%%.*}
minor=${kver#*.}
minor=${minor%%.*}
if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 6 ]; }; then
	TC_MODE=tcx
else
	TC_MODE=clsact
fi
echo "# kernel $KREL: expecting tc programs as $TC_MODE"
T0=$(date +%s)
echo "# guest uptime when the tests start: $(cut -d" " -f1 /proc/uptime)s"
# section NAME: a timestamp line, so the report can say where the minutes went
section() { echo "# $(($(date +%s) - T0))s: $*"; }

# Start-up takes seconds under TCG: the readiness line, waited for up to 2 minutes.
mw_start() {
	local node=$1 out=$2
	shift 2
	LAST_OUT=$out
	ip netns exec "$(lab_ns "$node")" timeout 600 "$MW" "$@" >"$out" 2>"$out.err" &
	MW_PID=$!
	for _ in $(seq 1200); do
		grep -Eq 'watching|recording to' "$out.err" 2>/dev/null && return 0
		kill -0 "$MW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# mw_stop, bounded: an instance that does not exit within a minute of SIGINT is a failure of
# its own, not a guest that hangs until the tier's timeout.
mw_stop() {
	kill -INT "$MW_PID" 2>/dev/null
	for _ in $(seq 600); do
		kill -0 "$MW_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MW_PID" 2>/dev/null; then
		fail "exit-on-sigint" "pid $MW_PID still running a minute after SIGINT; killed"
		kill -KILL "$MW_PID" 2>/dev/null
	fi
	wait "$MW_PID"
	MW_RC=$?
}
# wait_finding FILE PATTERN...: until such a finding is printed, at most 90 s
wait_finding() {
	for _ in $(seq 900); do
		finding "$@" && return 0
		sleep 0.1
	done
	return 1
}

section "start-up"
# 1. what attaches on this kernel, what falls back; exit 0
lab_up healthy >/dev/null 2>&1 || fail lab-up "lab_up healthy failed: $(cat "$MW_LAB_DIR/up.log" 2>/dev/null | tail -3)"
LAST_OUT=$TMP/d0
ip netns exec "$(lab_ns cli)" "$MW" live --duration 0 -v >"$TMP/d0" 2>&1
check "duration-0-exit-0" test $? = 0
grep -E ': (attached|degraded) |does not load|TCX|note:' "$TMP/d0" | sed 's/^/# /'
check "tc-egress-attached-$TC_MODE" has "$TMP/d0" "mw_tc_egress on c0: attached ($TC_MODE)"
check "kfree_skb-attached" grep -Eq 'mw_(tp|raw)_kfree_skb: attached' "$TMP/d0"
check "arrivals-watched" grep -Eq 'mw_xdp_ingress on c0: attached|mw_tc_ingress on c0: attached' "$TMP/d0"
# --all-netns loads the pods' part of every program too (dead code without it)
ip netns exec "$(lab_ns cli)" "$MW" live --duration 0 --all-netns >"$TMP/d0a" 2>&1
rc=$?
LAST_OUT=$TMP/d0a
check "all-netns-duration-0-exit-0" test "$rc" = 0

# 2. the seed verdicts, live; fwdrop is also recorded for record/report equality
keys() {
	grep '"verdict"' "$1" | grep -v '"summary"' |
		sed -E 's/.*"verdict":"([a-z_]+)".*"dst":"([^"]*)".*/\1 \2/' | sort -u
}
reasons() { grep -o '"drop_reason":"[A-Z_]*"' "$1" | sort -u; }
# variant NAME FAMILY PATTERN...: bulk traffic once mtuwatch watches, until the finding shows
variant() {
	local v=$1 fam=$2 out="$TMP/$1.$2.json" rec=
	shift 2
	VOUT=$out
	if ! lab_up "$v" >/dev/null 2>&1; then
		fail "lab-$v" "lab_up failed"
		return 1
	fi
	mw_start cli "$out" --json || fail "$v-$fam-ready" "no 'watching' line: $(tail -c 300 "$out.err")"
	local live=$MW_PID
	if [ "$v.$fam" = fwdrop.4 ]; then
		mw_start cli "$TMP/rec.out" record -f -o "$TMP/fwdrop.data" ||
			fail "record-ready" "no 'recording to' line: $(tail -c 300 "$TMP/rec.out.err")"
		rec=$MW_PID
	fi
	lab_bulk "$v" 3 "$fam" >/dev/null 2>&1
	wait_finding "$out" "$@"
	if [ -n "$rec" ]; then
		MW_PID=$rec mw_stop
		REC_RC=$MW_RC
	fi
	MW_PID=$live mw_stop
	LAST_OUT=$out
}

section "seed verdicts"
variant filtered 4 '"verdict":"icmp_blackhole"'
check "filtered-icmp_blackhole" finding "$VOUT" '"verdict":"icmp_blackhole"' '"dst":"198.51.100.2"' '"iface":"c0"'
check "filtered-no-ptb_dropped" hasnt "$VOUT" '"verdict":"ptb_dropped"'
variant fwdrop 4 '"verdict":"ptb_dropped"'
check "fwdrop-ptb_dropped-NETFILTER_DROP-1446" finding "$VOUT" '"verdict":"ptb_dropped"' '"drop_reason":"NETFILTER_DROP"' '"mtu":1446' '"ptb_from":"192.0.2.1"'
"$MW" report -i "$TMP/fwdrop.data" --json >"$TMP/fwdrop.report" 2>"$TMP/fwdrop.report.err"
rep_rc=$?
LAST_OUT=$TMP/fwdrop.report.err
check "record-fwdrop-complete" test "${REC_RC:-1}" = 0 -a "$rep_rc" = 0
LAST_OUT=$TMP/fwdrop.report
check "record-fwdrop-report-equals-live" test -n "$(keys "$TMP/fwdrop.report")" -a \
	"$(keys "$TMP/fwdrop.report")" = "$(keys "$TMP/fwdrop.4.json")" -a \
	"$(reasons "$TMP/fwdrop.report")" = "$(reasons "$TMP/fwdrop.4.json")"
variant rpfilter 4 '"verdict":"ptb_dropped"'
check "rpfilter-ptb_dropped-IP_RPFILTER" finding "$VOUT" '"verdict":"ptb_dropped"' '"drop_reason":"IP_RPFILTER"' '"ptb_from":"203.0.113.1"'
variant healthy 4 '"verdict":"pmtu_learned"'
check "healthy-pmtu_learned" finding "$VOUT" '"verdict":"pmtu_learned"' '"mtu":1500' '"dst":"198.51.100.2"'
check "healthy-no-alarm" finished_without '"verdict":"(icmp_blackhole|ptb_dropped|stalled_tls|stalled_ssh)"' "$VOUT"
variant fwdrop 6 '"verdict":"ptb_dropped"'
check "fwdrop-ipv6-ptb_dropped" finding "$VOUT" '"verdict":"ptb_dropped"' '"family":"ipv6"' '"mtu":1446' '"dst":"2001:db8:2::2"'
if [ "$GUEST_TESTS" = all ]; then
	variant filtered 6 '"verdict":"icmp_blackhole"'
	check "filtered-ipv6-icmp_blackhole" finding "$VOUT" '"verdict":"icmp_blackhole"' '"dst":"2001:db8:2::2"' '"family":"ipv6"'
	variant healthy 6 '"verdict":"pmtu_learned"'
	check "healthy-ipv6-pmtu_learned" finding "$VOUT" '"verdict":"pmtu_learned"' '"dst":"2001:db8:2::2"' '"mtu":1500'
fi

section "handshake stall"
# 3. a TLS handshake stalled behind a silent 1500 hop (the keys were made on the host)
if lab_up silent >/dev/null 2>&1 && lab_tls_server >/dev/null 2>&1; then
	mw_start cli "$TMP/tls.json" --json
	lab_tls_client 6 >/dev/null 2>&1
	tls_rc=$?
	wait_finding "$TMP/tls.json" '"verdict":"stalled_tls"'
	mw_stop
	LAST_OUT=$TMP/tls.json
	check "silent-tls-client-hangs" test "$tls_rc" != 0
	check "silent-tls-stalled_tls" finding "$TMP/tls.json" '"verdict":"stalled_tls"' '"role":"client"' '"dport":8443'
else
	fail "silent-tls" "lab or s_server did not start"
fi

section "pod"
# 3b. a pod's TLS client behind the node's veth, seen from the node (--all-netns): the pod's
# programs (fwd_*) load and verify on this kernel, and the stall is the pod's
if lab_up silent >/dev/null 2>&1 && lab_pod "mtu 1500 advmss 8960" "mtu 1500 advmss 8940" &&
	lab_tls_server >/dev/null 2>&1; then
	mw_start cli "$TMP/pod.json" --json --all-netns --xdp
	FIRST=$MW_PID
	# a second instance beside it (the first, --xdp, holds vpod0's XDP): tc ingress, and beside it
	# mw_tc_fwd_out for the pod's departures (TCX, or a second clsact filter before 6.6)
	section "pod: a second instance beside the first"
	mw_start cli "$TMP/pod2.json" --json --all-netns -v ||
		fail "pod-beside-start" "$(tail -3 "$TMP/pod2.json.err")"
	lab_exec pod timeout 6 openssl s_client -connect "$MW_SRV4:$MW_TLS_PORT" </dev/null \
		>/dev/null 2>&1
	wait_finding "$TMP/pod.json" '"verdict":"stalled_tls"' "\"src\":\"$MW_POD4\""
	wait_finding "$TMP/pod2.json" '"verdict":"stalled_tls"' "\"src\":\"$MW_POD4\""
	section "pod: stopping both"
	mw_stop
	MW_PID=$FIRST mw_stop
	LAST_OUT=$TMP/pod.json
	check "pod-tls-stalled_tls-seen-from-node" finding "$TMP/pod.json" '"verdict":"stalled_tls"' \
		"\"src\":\"$MW_POD4\"" '"iface":"vpod0"'
	LAST_OUT=$TMP/pod2.json.err
	check "pod-beside-fwd-out-attached" grep -q "mw_tc_fwd_out on vpod0: attached ($TC_MODE)" \
		"$TMP/pod2.json.err"
	LAST_OUT=$TMP/pod2.json
	check "pod-beside-stalled_tls-seen-from-node" finding "$TMP/pod2.json" \
		'"verdict":"stalled_tls"' "\"src\":\"$MW_POD4\"" '"iface":"vpod0"'
else
	fail "pod-tls" "lab, pod or s_server did not start"
fi

section "sigkill"
# 4. SIGKILL: nothing of mtuwatch stays in the kernel (TCX links die with it; clsact filters
# are removed by its watchdog). Nobody else runs mtuwatch in this VM: counts are exact.
lab_up healthy >/dev/null 2>&1
mw_start cli "$TMP/kill.json" --json
pid=$(pgrep -x mtuwatch | head -1)
kill -KILL "$pid"
wait "$MW_PID" 2>/dev/null
nothing_left() {
	[ "$(bpftool prog show 2>/dev/null | grep -c 'name mw_')" = 0 ] &&
		! lab_exec cli ip link show c0 | grep -q xdp &&
		! lab_exec cli tc filter show dev c0 egress | grep -q bpf &&
		! lab_exec cli tc filter show dev c0 ingress | grep -q bpf &&
		! lab_exec cli tc qdisc show dev c0 | grep -q clsact
}
until_nothing() {
	for _ in $(seq 300); do nothing_left && return 0; sleep 0.1; done
	return 1
}
LAST_OUT=$TMP/kill.json.err
check "sigkill-leaves-nothing" until_nothing
lab_down >/dev/null 2>&1

# 5. clsact ownership: on kernels without TCX their only tc path; on the others the host's
# e2e tier covers it (forced with MW_TEST_REFUSE=tcx), so the CI subset runs it only here.
if [ "$GUEST_TESTS" = all ] || [ "$TC_MODE" = clsact ]; then
	section "clsact ownership"
	MW_WAIT_TRIES=1200 bash "$(dirname "$0")/../e2e/test-clsact.sh" 2>&1 |
		grep --line-buffered -E '^(PASS|FAIL)'
fi
section "end"
