#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Devices that change under a running mtuwatch (issue 25 items 2 and 5, issue 24 section 2):
# an interface MTU raised after start is the one quoted and compared (pmtu_learned, live and
# in a recording); a veth created after start is watched (its PTB makes a finding), one deleted
# is forgotten without a word and later ones still work; veths whose peer is in another
# namespace are marked in fwd_ifs and local pairs are not; a bridge's ports are watched at tc
# ingress, or with --xdp keep XDP (none on the bridge itself, no false blame), and a bridge
# watched alone gets tc ingress.
# Run as root: OUT=build bash tests/e2e/test-links.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CLI=$(lab_ns cli)
RTR=$(lab_ns rtr)
BR=mwbr-$MW_LAB_ID
H1=mwbh1-$MW_LAB_ID
H2=mwbh2-$MW_LAB_ID
H3=mwbh3-$MW_LAB_ID
trap 'kill "$MW_PID" 2>/dev/null; wait "$MW_PID" 2>/dev/null; lab_down >/dev/null 2>&1
	for n in "$BR" "$H1" "$H2" "$H3"; do ip netns del "$n" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# mtuwatch's own pid (under timeout) and the id of its fwd_ifs map: other instances have theirs
mw_pid() { pgrep -P "$MW_PID" -x mtuwatch; }
fwd_map() {
	local p id
	p=$(mw_pid) || return 1
	for id in $(grep -h '^map_id:' /proc/"$p"/fdinfo/* 2>/dev/null | awk '{ print $2 }'); do
		bpftool -j map show id "$id" 2>/dev/null | jq -e '.name == "fwd_ifs"' >/dev/null &&
			echo "$id" && return 0
	done
	return 1
}
# fwd_marked IFINDEX: the key is in this mtuwatch's fwd_ifs
fwd_marked() {
	bpftool -j map dump id "$(fwd_map)" 2>/dev/null | jq -e --argjson k "$1" \
		'any(.[]; (.formatted.key // .key) == $k)' >/dev/null
}
# unmarked IFINDEX...: none of them in fwd_ifs, and the map itself is readable
unmarked() {
	[ -n "$(fwd_map)" ] || return 1
	for i in "$@"; do
		fwd_marked "$i" && return 1
	done
	return 0
}
ifidx() { ip -n "$1" -o link show "$2" | cut -d: -f1; }
# wait_for FILE PATTERN: bounded
wait_for() {
	for _ in $(seq 50); do
		grep -q -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# --- 1. the interface MTU raised after start (issue 25 item 2) --------------------------------
# c0 starts at 1400; raised to 9000 once mtuwatch runs, the router's PTB (1500) is learned:
# a 1500 route MTU is below the interface's 9000, and only the MTU of now says so.
lab_up healthy >/dev/null 2>&1 || { fail "links-lab" "lab_up failed"; exit 0; }
ip -n "$CLI" link set c0 mtu 1400
mw_start cli "$TMP/mtu.json" --json
LIVE=$MW_PID
mw_start cli "$TMP/mtu.rec" record -f -o "$TMP/mtu.data"
REC=$MW_PID
ip -n "$CLI" link set c0 mtu 9000
sleep 0.5
lab_bulk healthy 3 4 >/dev/null 2>&1
bulk_rc=$?
sleep 1
MW_PID=$REC mw_stop
MW_PID=$LIVE mw_stop
"$MW" report -i "$TMP/mtu.data" --json >"$TMP/mtu.report" 2>&1
LAST_OUT=$TMP/mtu.json
check "mtu-raised-traffic-ran" test "$bulk_rc" = 0
check "mtu-raised-pmtu_learned" finding "$TMP/mtu.json" '"verdict":"pmtu_learned"' \
	'"mtu":1500' '"dst":"198.51.100.2"' '"iface":"c0"'
check "mtu-raised-explain-quotes-new-mtu" finding "$TMP/mtu.json" '"verdict":"pmtu_learned"' \
	'interface c0 has 9000'
LAST_OUT=$TMP/mtu.report
check "mtu-raised-report-agrees" finding "$TMP/mtu.report" '"verdict":"pmtu_learned"' \
	'"mtu":1500' 'interface c0 has 9000'

# --- 2. devices created and deleted after start; fwd_ifs marks (item 2, issue 24 s2) ----------
# (marks are made with --all-netns only: without it no program follows another namespace)
lab_up healthy >/dev/null 2>&1 || { fail "links-lab" "lab_up failed"; exit 0; }
mw_start cli "$TMP/new.json" --json -v --all-netns
LAST_OUT=$TMP/new.json.err
# c0's peer r0 is in the router's namespace: marked from the start
check "fwd-marked-at-start" fwd_marked "$(ifidx "$CLI" c0)"

# a veth into the router, created now, carries the route to the server
ip link add c9 netns "$CLI" mtu 9000 type veth peer name r9 netns "$RTR" mtu 9000
ip -n "$RTR" addr add 203.0.113.9/29 dev r9
ip -n "$RTR" link set r9 up
ip -n "$CLI" addr add 203.0.113.10/29 dev c9
ip -n "$CLI" link set c9 up
ip -n "$CLI" route add 198.51.100.2/32 via 203.0.113.9 dev c9
# and a local pair, peer in the same namespace
ip -n "$CLI" link add l0 type veth peer name l1
ip -n "$CLI" link set l0 up
ip -n "$CLI" link set l1 up
wait_for "$TMP/new.json.err" 'new interface l1 '
check "new-veth-watched" has "$TMP/new.json.err" 'new interface c9 (ifindex [0-9]*, MTU 9000): watched'
check "fwd-marked-new-veth" fwd_marked "$(ifidx "$CLI" c9)"
check "local-pair-watched" has "$TMP/new.json.err" 'new interface l0 '
check "fwd-local-peer-unmarked" unmarked "$(ifidx "$CLI" l0)" "$(ifidx "$CLI" l1)"
lab_bulk healthy 3 4 >/dev/null 2>&1
check "new-veth-traffic-ran" test $? = 0
sleep 1
c9_if=$(ifidx "$CLI" c9)
ip -n "$CLI" link del c9
ip -n "$CLI" link del l0
wait_for "$TMP/new.json.err" 'interface c9 deleted: forgotten'
check "fwd-unmarked-on-delete" unmarked "$c9_if"

# a later device still works: IPv6 over c8
ip link add c8 netns "$CLI" mtu 9000 type veth peer name r8 netns "$RTR" mtu 9000
ip -n "$RTR" -6 addr add 2001:db8:8::1/64 dev r8 nodad
ip -n "$RTR" link set r8 up
ip -n "$CLI" -6 addr add 2001:db8:8::2/64 dev c8 nodad
ip -n "$CLI" link set c8 up
ip -n "$CLI" -6 route add 2001:db8:2::2/128 via 2001:db8:8::1 dev c8
wait_for "$TMP/new.json.err" 'new interface c8 '
lab_bulk healthy 3 6 >/dev/null 2>&1
check "later-veth-traffic-ran" test $? = 0
sleep 1
mw_stop
LAST_OUT=$TMP/new.json
check "new-veth-pmtu_learned" finding "$TMP/new.json" '"verdict":"pmtu_learned"' '"mtu":1500' \
	'"dst":"198.51.100.2"' '"iface":"c9"'
check "later-veth-pmtu_learned" finding "$TMP/new.json" '"verdict":"pmtu_learned"' \
	'"dst":"2001:db8:2::2"' '"iface":"c8"'
LAST_OUT=$TMP/new.json.err
# no line of mtuwatch's own (libbpf's and the verifier's -v output aside) says anything went wrong
said_wrong() {
	grep '^mtuwatch: ' "$TMP/new.json.err" | grep -Eiq 'disappeared|fail|error|warn|not watched'
}
check "deleted-no-error" eval '! said_wrong' 
check "deleted-exits-0" test "$MW_RC" = 0
lab_down >/dev/null 2>&1

# --- 3. a bridge and its ports (issue 25 item 5) ------------------------------------------------
# $BR: br0 (192.0.2.1) with ports p1 (to $H1) and p2 (to $H2, a router to $H3 whose link is
# 1500); all else 9000. mtuwatch in $BR, every interface: tc ingress on the ports, none on br0
# (with --xdp: XDP on the ports, none on br0, whose XDP would make the kernel refuse theirs).
for n in "$BR" "$H1" "$H2" "$H3"; do
	ip netns add "$n" && ip -n "$n" link set lo up
done
ip -n "$BR" link add br0 mtu 9000 type bridge
ip -n "$BR" link add p1 mtu 9000 type veth peer name q1 netns "$H1" mtu 9000
ip -n "$BR" link add p2 mtu 9000 type veth peer name q2 netns "$H2" mtu 9000
ip -n "$H2" link add r1 mtu 1500 type veth peer name s0 netns "$H3" mtu 1500
for p in p1 p2; do
	ip -n "$BR" link set "$p" master br0 && ip -n "$BR" link set "$p" up
done
ip -n "$BR" addr add 192.0.2.1/24 dev br0
ip -n "$BR" link set br0 up
ip -n "$BR" route add 198.51.100.0/24 via 192.0.2.2
ip -n "$H1" addr add 192.0.2.11/24 dev q1 && ip -n "$H1" link set q1 up
ip -n "$H2" addr add 192.0.2.2/24 dev q2 && ip -n "$H2" link set q2 up
ip -n "$H2" addr add 198.51.100.1/24 dev r1 && ip -n "$H2" link set r1 up
ip netns exec "$H2" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0
ip -n "$H3" addr add 198.51.100.2/24 dev s0 && ip -n "$H3" link set s0 up
ip -n "$H3" route add default via 198.51.100.1 advmss 8960
ip netns exec "$BR" sysctl -qw net.ipv4.tcp_no_metrics_save=1 net.ipv4.tcp_mtu_probing=0

LAST_OUT=$TMP/br.json.err
ip netns exec "$BR" timeout 60 "$MW" --json -v >"$TMP/br.json" 2>"$TMP/br.json.err" &
MW_PID=$!
wait_for "$TMP/br.json.err" watching
LAST_OUT=$TMP/br.json.err
check "bridge-ports-have-tc-ingress" eval "grep -q 'mw_tc_ingress on p1: attached (tcx)' \
	'$TMP/br.json.err' && grep -q 'mw_tc_ingress on p2: attached (tcx)' '$TMP/br.json.err'"
check "bridge-master-no-ingress" hasnt "$TMP/br.json.err" 'ingress on br0'
ip netns exec "$BR" timeout 20 "$MW" --xdp -v --duration 0 >"$TMP/brx.out" 2>&1
LAST_OUT=$TMP/brx.out
check "bridge-xdp-on-ports" eval "grep -q 'mw_xdp_ingress on p1: attached (native)' '$TMP/brx.out' &&
	grep -q 'mw_xdp_ingress on p2: attached (native)' '$TMP/brx.out'"
check "bridge-xdp-master-none" hasnt "$TMP/brx.out" 'ingress on br0\|Failed to attach'
LAST_OUT=$TMP/br.json.err
check "bridge-no-false-blame" hasnt "$TMP/br.json.err" 'another XDP program\|Failed to attach'
check "bridge-says-why-with-v" has "$TMP/br.json.err" 'br0: a bridge or bond: its arrivals are watched at its ports'
ip netns exec "$H3" timeout 12 iperf3 -s -1 -B 198.51.100.2 -p 5201 >/dev/null 2>&1 &
spid=$!
for _ in $(seq 50); do
	ip netns exec "$H3" ss -ltn | grep -q ':5201 ' && break
	sleep 0.1
done
ip netns exec "$BR" timeout 8 iperf3 -c 198.51.100.2 -p 5201 -t 2 --connect-timeout 2000 \
	>"$TMP/br.iperf" 2>&1
check "bridge-traffic-ran" test $? = 0
wait "$spid" 2>/dev/null
sleep 1
mw_stop
LAST_OUT=$TMP/br.json
# the router's PTB arrives at port p2: seen there, with nothing on br0
check "bridge-port-arrivals-seen" finding "$TMP/br.json" '"verdict":"pmtu_learned"' \
	'"mtu":1500' '"dst":"198.51.100.2"'

# br0 named alone: its ports are not watched, so br0 gets tc ingress (with --xdp too) and their
# XDP stays free
ip netns exec "$BR" timeout 20 "$MW" -i br0 --xdp -v --duration 1 >"$TMP/bri.out" 2>&1
LAST_OUT=$TMP/bri.out
check "bridge-alone-tc-ingress" has "$TMP/bri.out" 'mw_tc_ingress on br0: attached'
check "bridge-alone-no-xdp" hasnt "$TMP/bri.out" 'mw_xdp_ingress on br0'
