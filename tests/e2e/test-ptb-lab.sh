#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2034 # LAST_OUT (and HS) are read by check() in lib.sh / later checks
# The lab truth of tests/scenarios-ptb.sh, measured without mtuwatch: for each ignore reason the
# Packet Too Big reaches the big sender (capture on its link), the sender keeps sending DF
# segments larger than the advertised MTU after it, the kernel's own counters say why, and the
# route MTU stays (or, in the controls, falls). A test of the lab, not of mtuwatch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../scenarios-ptb.sh"
export MW_LAB_KEYDIR=$TMP/keys

# counter NAME: absolute value in mw-cli (nstat -s: the shared history file is left alone)
counter() { lab_exec cli nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
COUNTERS="IcmpInDestUnreachs Icmp6InPktTooBigs TcpExtOutOfWindowIcmps IcmpInErrors Icmp6InErrors"
snap() { for c in $COUNTERS; do echo "$c $(counter "$c")"; done; }
# delta NAME: after - before of the last scenario
delta() {
	local a b
	a=$(awk -v n="$1" '$1 == n { print $2 }' "$TMP/after")
	b=$(awk -v n="$1" '$1 == n { print $2 }' "$TMP/before")
	echo $((${a:-0} - ${b:-0}))
}

# scen REASON FAMILY [SECONDS]: build, capture on c0, count, run; results in $TMP/{pcap,route,...}
scen() {
	local r=$1 fam=$2 secs=${3:-8} tp=''
	NAME=$r$fam
	HS=2
	if ! ptb_up "$r" "$fam" >"$TMP/up.log" 2>&1; then
		fail "$NAME-lab-up" "$(tail -3 "$TMP/up.log")"
		return 1
	fi
	rm -f "$TMP/pcap" "$TMP/td.err"
	if [ "$r" != flood ]; then
		# started directly (no function, no subshell) so that $! is timeout, which passes
		# SIGTERM on to tcpdump; --immediate-mode, or packets still in the ring at SIGTERM
		# are never written
		ip netns exec "$MW_NS_CLI" timeout 120 tcpdump -i c0 -n -s 200 --immediate-mode -U \
			-w "$TMP/pcap" 2>"$TMP/td.err" &
		tp=$!
		for _ in $(seq 100); do grep -q listening "$TMP/td.err" 2>/dev/null && break; sleep 0.1; done
	fi
	snap >"$TMP/before"
	ptb_traffic "$r" "$fam" "$secs"
	HS=$?
	snap >"$TMP/after"
	lab_exec cli ip -"$fam" route get "$(ptb_addr srv "$fam")" >"$TMP/route" 2>&1
	if [ -n "${tp:-}" ]; then
		kill -TERM "$tp" 2>/dev/null
		wait "$tp" 2>/dev/null
	fi
	LAST_OUT=$MW_LAB_DIR/ptb-inject.log
}

# ptbs FAMILY: PTBs that reached the sender, with their advertised MTU (one line each)
ptbs() {
	if [ "$1" = 4 ]; then
		tcpdump -r "$TMP/pcap" -n "icmp and icmp[0] = 3 and icmp[1] = 4 and dst host $MW_CLI4" 2>/dev/null
	else
		tcpdump -r "$TMP/pcap" -n "icmp6 and ip6[40] = 2 and dst host $MW_CLI6" 2>/dev/null
	fi
}
# big_after FAMILY LIMIT: DF (IPv4) segments from the sender longer than LIMIT bytes that left
# after the first PTB arrived
big_after() {
	local fam=$1 lim=$2 f t0
	if [ "$fam" = 4 ]; then
		f="src host $MW_CLI4 and tcp src port $PTB_PORT and ip[6] & 0x40 != 0 and ip[2:2] > $lim"
	else
		f="src host $MW_CLI6 and tcp src port $PTB_PORT and ip6[4:2] > $((lim - 40))"
	fi
	t0=$(ptbs_tt "$fam" | head -1)
	[ -n "$t0" ] || { echo 0; return; }
	tcpdump -r "$TMP/pcap" -n -tt "$f" 2>/dev/null | awk -v t0="$t0" '$1 > t0' | wc -l
}
ptbs_tt() {
	local f="icmp and icmp[0] = 3 and icmp[1] = 4 and dst host $MW_CLI4"
	[ "$1" = 6 ] && f="icmp6 and ip6[40] = 2 and dst host $MW_CLI6"
	tcpdump -r "$TMP/pcap" -n -tt "$f" 2>/dev/null | awk '{ print $1 }'
}
# the counters of the other reasons: out of window, no socket (IPv4, IPv6)
others() { echo "$(delta TcpExtOutOfWindowIcmps)$(delta IcmpInErrors)$(delta Icmp6InErrors)"; }
gt0() { [ "${1:-0}" -gt 0 ]; }
eq0() { [ "${1:-0}" -eq 0 ]; }
route_has() { grep -q -- "$1" "$TMP/route"; }
# a route was read (ip route get names its device; an error does not) and lacks the pattern
route_hasnt() { grep -q ' dev ' "$TMP/route" && ! grep -q -- "$1" "$TMP/route"; }

# every ignored case: the PTB arrives (advertising M), DF segments longer than the real path
# MTU (1446) keep leaving after it, the handshake is stuck
ignored() {
	local fam=$1 m=$2
	LAST_OUT=$TMP/route
	check "$NAME-ptb-arrives-mtu-$m" gt0 "$(ptbs "$fam" | grep -c "mtu $m")"
	check "$NAME-keeps-sending-over-$PTB_MTU" gt0 "$(big_after "$fam" "$PTB_MTU")"
	check "$NAME-never-completes" test "$HS" = 1
}

# control: nothing ignored. The PTB is taken, the route falls, nothing oversize after it.
for FAM in 4 6; do
	scen control $FAM
	check "$NAME-handshake-completes" test "$HS" = 0
	check "$NAME-ptb-arrives" gt0 "$(ptbs $FAM | grep -c 'mtu 1446')"
	check "$NAME-route-mtu-falls-1446" route_has 'mtu 1446'
	check "$NAME-nothing-oversize-after" eq0 "$(big_after $FAM 1446)"
	check "$NAME-no-outofwindow" eq0 "$(delta TcpExtOutOfWindowIcmps)"
done

# route_mtu_locked, IPv4: DF forced by IP_PMTUDISC_DO, the lock keeps the route at 9000
FAM=4
scen locked 4
ignored 4 1446
check "$NAME-icmp-counted" gt0 "$(delta IcmpInDestUnreachs)"
check "$NAME-not-outofwindow-nor-inerrors" test "$(others)" = 000
check "$NAME-route-stays-locked-9000" route_has 'mtu lock 9000'
check "$NAME-route-not-1446" route_hasnt 'mtu 1446'
# the same sender as plain bulk TCP: full 9000-byte DF segments keep leaving (the seed's 1500)
PTB_APP=tcp scen locked 4
NAME=bulk-locked4
ignored 4 1446
check "$NAME-full-9000-segments-after-ptb" gt0 "$(big_after 4 8999)"
check "$NAME-route-stays-locked-9000" route_has 'mtu lock 9000'
# IPv6 on this kernel: a locked route does NOT ignore the PTB (the exception gets mtu lock 1446)
FAM=6
scen locked 6
check "$NAME-ptb-accepted-handshake-completes" test "$HS" = 0
check "$NAME-route-falls-locked-1446" route_has 'mtu lock 1446'
check "$NAME-nothing-oversize-after" eq0 "$(big_after 6 1446)"

# out_of_window: the router's PTBs filtered, forged ones quote seq + 2^31
for FAM in 4 6; do
	scen outwin $FAM
	ignored $FAM 1446
	check "$NAME-outofwindow-counter-rises" gt0 "$(delta TcpExtOutOfWindowIcmps)"
	check "$NAME-route-stays" route_hasnt 'mtu 1446'
	LAST_OUT=$MW_LAB_DIR/ptb-inject.log
	check "$NAME-injector-sent" has "$MW_LAB_DIR/ptb-inject.log" '^sent 30 PTB'
done

# no_socket: the quote names a VIP the load balancer did not translate back
for FAM in 4 6; do
	scen nosock $FAM
	ignored $FAM 1446
	if [ $FAM = 4 ]; then c=IcmpInErrors; else c=Icmp6InErrors; fi
	check "$NAME-$c-rises" gt0 "$(delta $c)"
	check "$NAME-no-outofwindow" eq0 "$(delta TcpExtOutOfWindowIcmps)"
	check "$NAME-route-stays" route_hasnt 'mtu 1446'
done

# pmtudisc_off: IPv4 ip_no_pmtu_disc=2 + IP_PMTUDISC_DO; IPv6 IPV6_PMTUDISC_INTERFACE
for FAM in 4 6; do
	scen pmtudisc $FAM
	ignored $FAM 1446
	check "$NAME-no-outofwindow-nor-inerrors" test "$(others)" = 000
	check "$NAME-route-stays" route_hasnt 'mtu 1446'
done
ptb_up pmtudisc 4 >/dev/null 2>&1
check "pmtudisc4-sysctl-is-2" test "$(lab_exec cli sysctl -n net.ipv4.ip_no_pmtu_disc)" = 2

# mtu_not_lower: in-window PTBs advertising 9000, the route's own MTU
for FAM in 4 6; do
	scen notlower $FAM
	ignored $FAM 9000
	check "$NAME-route-not-lowered" route_hasnt 'mtu 1446'
	check "$NAME-no-outofwindow-nor-inerrors" test "$(others)" = 000
done

# look-alikes that are not ignored
FAM=4
scen probe 4
check "$NAME-completes" test "$HS" = 0
check "$NAME-no-ptb-at-all" eq0 "$(ptbs 4 | wc -l)"
check "$NAME-big-segments-leave-without-df" gt0 "$(tcpdump -r "$TMP/pcap" -n \
	"src host $MW_CLI4 and tcp src port $PTB_PORT and ip[6] & 0x40 = 0 and ip[2:2] > 1446" \
	2>/dev/null | wc -l)"
check "$NAME-no-df-segments" eq0 "$(tcpdump -r "$TMP/pcap" -n \
	"src host $MW_CLI4 and tcp src port $PTB_PORT and ip[6] & 0x40 != 0 and ip[2:2] > 1446" \
	2>/dev/null | wc -l)"
FAM=6
scen probe 6
check "$NAME-accepted-completes" test "$HS" = 0
check "$NAME-route-falls-1446" route_has 'mtu 1446'
check "$NAME-nothing-oversize-after" eq0 "$(big_after 6 1446)"
FAM=4
scen disc3 4
check "$NAME-accepted-completes" test "$HS" = 0
check "$NAME-route-falls-1446" route_has 'mtu 1446'
check "$NAME-nothing-oversize-after" eq0 "$(big_after 4 1446)"
scen disc1 4
check "$NAME-completes" test "$HS" = 0
check "$NAME-route-falls-locked-552" route_has 'mtu lock 552'
check "$NAME-nothing-oversize-after" eq0 "$(big_after 4 552)"

# flood: 100k forged out-of-window PTBs at a bounded rate; the kernel ignores every one
FAM=4
scen flood 4 12
check "flood4-injector-sent-100000" has "$MW_LAB_DIR/ptb-inject.log" "^sent $PTB_FLOOD_COUNT PTB"
check "flood4-outofwindow-counts-them" test "$(delta TcpExtOutOfWindowIcmps)" -ge \
	$((PTB_FLOOD_COUNT * 9 / 10))
check "flood4-route-stays" route_hasnt 'mtu 1446'
check "flood4-never-completes" test "$HS" = 1
lab_down >/dev/null 2>&1
