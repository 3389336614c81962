#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# mtuwatch live in each seed topology: the exact verdicts, namespace attribution, clean exits.
. "$(dirname "$0")/lib.sh"

variant() {
	local v=$1 fam=${2:-4} out="$TMP/$1.$fam.json"
	shift 2
	lab_up "$v" >/dev/null 2>&1 || { fail "lab-$v" "lab_up failed"; return 1; }
	mw_start cli "$out" --json "$@"
	lab_bulk "$v" 3 "$fam" >/dev/null 2>&1
	sleep 1
	mw_stop
	VOUT=$out
}

# (a) the router's ICMP is filtered: a black hole, nothing dropped here
variant filtered 4
check "filtered-icmp_blackhole" finding "$VOUT" '"verdict":"icmp_blackhole"' '"dst":"198.51.100.2"' '"iface":"c0"'
check "filtered-bracket" finding "$VOUT" '"bracket_hi":9000'
check "filtered-no-ptb_dropped" hasnt "$VOUT" '"verdict":"ptb_dropped"'
SIGINT_OUT=$VOUT SIGINT_RC=$MW_RC
variant filtered 6
check "filtered-ipv6-icmp_blackhole" finding "$VOUT" '"verdict":"icmp_blackhole"' '"dst":"2001:db8:2::2"' '"family":"ipv6"'
check "sigint-exits-0-with-summary" test "$SIGINT_RC" = 0 -a -n "$(grep '"summary":true' "$SIGINT_OUT")"

# the same incident seen from every namespace: the router's own PTB dies on its way out
variant filtered 4 --all-netns
check "all-netns-router-ptb_sent" finding "$VOUT" '"verdict":"ptb_sent"' '"mtu":1500'
check "all-netns-router-drop-outgoing" finding "$VOUT" '"verdict":"ptb_dropped"' '"drop_reason":"NETFILTER_DROP"' '"direction":"out"'
netns_cli=$(ip netns exec "$(lab_ns cli)" stat -L -c %i /proc/self/ns/net)
check "all-netns-labels-foreign" bash -c "grep '\"verdict\":\"ptb_sent\"' '$VOUT' | grep -vq '\"netns\":$netns_cli,'"

# (b) the PTB (mtu 1446) reaches the client, whose firewall drops it
variant fwdrop 4
check "fwdrop-ptb_dropped" finding "$VOUT" '"verdict":"ptb_dropped"' '"drop_reason":"NETFILTER_DROP"' '"mtu":1446' '"iface":"c0"'
check "fwdrop-sender" finding "$VOUT" '"verdict":"ptb_dropped"' '"ptb_from":"192.0.2.1"'
check "fwdrop-no-blackhole" hasnt "$VOUT" '"verdict":"icmp_blackhole"'
variant fwdrop 6
check "fwdrop-ipv6-ptb_dropped" finding "$VOUT" '"verdict":"ptb_dropped"' '"family":"ipv6"' '"mtu":1446' '"dst":"2001:db8:2::2"'

# (c) the PTB comes from the router's management address: strict rp_filter drops it
variant rpfilter 4
check "rpfilter-ptb_dropped" finding "$VOUT" '"verdict":"ptb_dropped"' '"drop_reason":"IP_RPFILTER"' '"ptb_from":"203.0.113.1"'
check "rpfilter-no-blackhole" hasnt "$VOUT" '"verdict":"icmp_blackhole"'

# (d) healthy PMTUD: inform, never alarm
variant healthy 4
check "healthy-pmtu_learned" finding "$VOUT" '"verdict":"pmtu_learned"' '"mtu":1500' '"dst":"198.51.100.2"'
check "healthy-no-alarm" finished_without '"verdict":"(icmp_blackhole|ptb_dropped|stalled_tls|stalled_ssh)"' "$VOUT"
variant healthy 6
check "healthy-ipv6-pmtu_learned" finding "$VOUT" '"verdict":"pmtu_learned"' '"dst":"2001:db8:2::2"' '"mtu":1500'
check "healthy-ipv6-no-alarm" finished_without '"verdict":"(icmp_blackhole|ptb_dropped)"' "$VOUT"

# the bottleneck's own view: run on the router. Issue 25: IPv4 counted 0 (its icmp_send report
# came first and was not counted) and no summary named the egress.
lab_up healthy >/dev/null 2>&1
for fam in 4 6; do
	mw_start rtr "$TMP/rtr.$fam.json" --json
	lab_bulk healthy 2 "$fam" >/dev/null 2>&1
	mw_stop
	sfx=; [ "$fam" = 6 ] && sfx=-ipv6
	check "router-ptb_sent$sfx" finding "$TMP/rtr.$fam.json" '"verdict":"ptb_sent"' \
		'"iface":"r1"' '"mtu":1500' '"count":[1-9]'
	check "router-ptb_sent-summary$sfx" bash -c "grep '\"summary\":true' '$TMP/rtr.$fam.json' |
		grep '\"verdict\":\"ptb_sent\"' | grep '\"iface\":\"r1\"' |
		grep -q '\"ptb_sent\":[1-9]'"
done

# plain output: one line per finding, then the table
lab_up fwdrop >/dev/null 2>&1
mw_start cli "$TMP/plain.txt"
lab_bulk fwdrop 2 >/dev/null 2>&1
mw_stop
check "plain-finding-line" has "$TMP/plain.txt" '^ptb_dropped    198.51.100.2: .*NETFILTER_DROP.* -- '
check "plain-summary-table" has "$TMP/plain.txt" '^DESTINATION .*VERDICT'

# start-up and exit: --duration 0 attaches everything and leaves nothing behind
all_progs() { bpftool prog show 2>/dev/null | grep -c 'name mw_'; }
LAST_OUT=$TMP/d0
before=$(all_progs)
ip netns exec "$(lab_ns cli)" "$MW" --duration 0 >"$TMP/d0" 2>&1
check "duration-0-exit-0" test $? = 0
check "duration-0-nothing-attached" wait_progs "$before"

# By default arrivals are watched at tc ingress: no XDP program, the veth's data path as it was
# (XDP on a veth turns on NAPI and turns off its peer's TSO).
ip netns exec "$(lab_ns cli)" "$MW" -v --duration 0 >"$TMP/d0v" 2>&1
LAST_OUT=$TMP/d0v
check "default-ingress-is-tc" eval "grep -q 'mw_tc_ingress on c0: attached (tcx)' '$TMP/d0v' &&
	grep -q 'mw_tc_egress on c0: attached' '$TMP/d0v' && ! grep -q 'mw_xdp_ingress on' '$TMP/d0v'"
# SIGKILL: TCX and XDP links die with the process (--xdp: both kinds at once)
ip netns exec "$(lab_ns cli)" "$MW" --xdp >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do ip netns exec "$(lab_ns cli)" ip link show c0 | grep -q xdp && break; sleep 0.1; done
LAST_OUT=/dev/null
attached=0
ip netns exec "$(lab_ns cli)" ip link show c0 | grep -q xdp && attached=1
check "sigkill-xdp-was-attached" test "$attached" = 1
kill -KILL $pid; wait $pid 2>/dev/null
leftover=0
wait_progs "$before" || leftover=1
ip netns exec "$(lab_ns cli)" ip link show c0 | grep -q xdp && leftover=1
ip netns exec "$(lab_ns cli)" tc filter show dev c0 egress | grep -q bpf && leftover=1
check "sigkill-leaves-nothing" test "$leftover" = 0

# The tracepoints learn the watched namespace's struct net right after the attach (mtuwatch
# opens and closes a listener there), even in a namespace with no TCP of its own and lo down
# (IP_FREEBIND): a wrong or missing address would misattribute or cost every foreign event.
bss_self_net() {	# PID: self_net in the .bss of that process's mtuwatch object
	local f id
	for f in /proc/"$1"/fdinfo/*; do
		id=$(sed -n 's/^map_id:[[:space:]]*//p' "$f" 2>/dev/null)
		[ -n "$id" ] || continue
		bpftool map show id "$id" 2>/dev/null | grep -q 'name mtuwatch.bss' || continue
		bpftool -j map dump id "$id" | tr -d ' \n' | sed -n 's/.*"self_net":\([0-9]*\).*/\1/p'
		return
	done
}
BARE=mwt-bare-$$
ip netns add "$BARE"
ip -n "$BARE" link add b0 type veth peer name b1
ip -n "$BARE" link set b0 up
ip netns exec "$BARE" "$MW" >"$TMP/bare.out" 2>&1 &
pid=$!
net=
for _ in $(seq 50); do
	net=$(bss_self_net "$pid")
	[ -n "$net" ] && [ "$net" != 0 ] && break
	sleep 0.1
done
kill -TERM "$pid"; wait "$pid"
LAST_OUT=$TMP/bare.out
check "self-net-learned-at-start" test -n "$net" -a "$net" != 0
ip netns del "$BARE"

# a listener's open and close are no flow's: no state event for them (mtuwatch's own included)
ip netns exec "$(lab_ns cli)" "$MW" record -f -o "$TMP/listen.data" -- python3 -c '
import socket, time
time.sleep(0.2)
s = socket.socket()
s.bind(("0.0.0.0", 0))
s.listen()
s.close()
time.sleep(0.2)' >"$TMP/listen.out" 2>&1
"$MW" report -i "$TMP/listen.data" --raw >"$TMP/listen.raw" 2>&1
LAST_OUT=$TMP/listen.raw
check "listener-no-state-event" bash -c "grep -q ' attach ' '$TMP/listen.raw' && ! grep -q ' state .* aux=10 ' '$TMP/listen.raw'"

# SIGTERM ends a session cleanly too
ip netns exec "$(lab_ns cli)" "$MW" >"$TMP/term" 2>&1 &
pid=$!
sleep 1
kill -TERM $pid; wait $pid
check "sigterm-exit-0" test $? = 0

# bad input: one line, exit 2 for usage, 1 for runtime
LAST_OUT=$TMP/bad
"$MW" -i no-such-if0 --duration 1 >"$TMP/bad" 2>&1
rc=$?
check "unknown-interface-exit-2" test "$rc" = 2
check "unknown-interface-one-line" test "$(wc -l <"$TMP/bad")" = 1
check "unknown-interface-says-which" has "$TMP/bad" "no-such-if0"
"$MW" --duration nope >"$TMP/bad" 2>&1
check "bad-duration-exit-2" test $? = 2
"$MW" frobnicate >"$TMP/bad" 2>&1
check "unknown-command-exit-2" test $? = 2
ip netns exec "$(lab_ns cli)" setpriv --inh-caps=-all --bounding-set=-all "$MW" --duration 1 >"$TMP/bad" 2>&1
rc=$?
check "no-capabilities-exit-1" test "$rc" = 1
check "no-capabilities-one-line" bash -c "test \$(wc -l <'$TMP/bad') = 1 && grep -q 'CAP_BPF' '$TMP/bad'"

# a kernel without BTF: one line, exit 1 (the BTF directory hidden in a private mount namespace)
unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && exec '$MW' --duration 1" >"$TMP/nobtf" 2>&1
rc=$?
LAST_OUT=$TMP/nobtf
check "no-btf-exit-1-one-line" test "$rc" = 1 -a "$(wc -l <"$TMP/nobtf")" = 1
check "no-btf-says-so" has "$TMP/nobtf" 'no BTF.*CONFIG_DEBUG_INFO_BTF'

# a kernel that refuses programs (MW_TEST_REFUSE makes the load fail as such a kernel would):
# one line per loss, and the rest still works
# refused NAME PROGRAM MESSAGE [ARGS...]: PROGRAM refused, the other hook stands in and says so
refused() {
	local name=$1 prog=$2 msg=$3
	shift 3
	lab_up healthy >/dev/null 2>&1
	MW_TEST_REFUSE=$prog mw_start cli "$TMP/$name.json" --json "$@"
	lab_bulk healthy 2 >/dev/null 2>&1
	mw_stop
	LAST_OUT=$TMP/$name.json.err
	check "refused-$name-says-so" has "$TMP/$name.json.err" "$prog does not load on this kernel -- $msg"
	LAST_OUT=$TMP/$name.json
	check "refused-$name-pmtu_learned" finding "$TMP/$name.json" '"verdict":"pmtu_learned"' \
		'"mtu":1500'
}
refused xdp mw_xdp_ingress 'arrivals are watched at tc ingress instead' --xdp
# and the other way round: tc ingress refused, XDP stands in
refused tc-ingress mw_tc_ingress 'arrivals are watched with XDP instead'
lab_up fwdrop >/dev/null 2>&1
up=$?
MW_TEST_REFUSE=mw_tp_kfree_skb,mw_raw_kfree_skb mw_start cli "$TMP/nokfree.json" --json
lab_bulk fwdrop 2 >/dev/null 2>&1
mw_stop
LAST_OUT=$TMP/nokfree.json.err
check "refused-kfree-says-what-is-lost" has "$TMP/nokfree.json.err" 'mw_tp_kfree_skb does not load on this kernel -- Packet Too Big dropped or sent by this host is not seen; the rest still works'
check "refused-kfree-runs-on" test "$MW_RC" = 0
LAST_OUT=$TMP/nokfree.json
# what the absence below is about happened: the lab came up, the client's large segments were
# retransmitted and the router's Packet Too Big arrived (then dropped by the firewall, unseen)
check "refused-kfree-lab-up" test "$up" = 0
check "refused-kfree-traffic-ran" bash -c "grep '\"summary\":true,\"dst\":\"198.51.100.2\"' \
	'$TMP/nokfree.json' | grep -q '\"large_retrans\":[1-9].*\"ptb_rx\":[1-9]'"
check "refused-kfree-no-false-blackhole" hasnt "$TMP/nokfree.json" '"verdict":"icmp_blackhole"'
MW_TEST_REFUSE=mw_tc_egress "$MWT" --duration 1 >"$TMP/notc" 2>&1
rc=$?
LAST_OUT=$TMP/notc
check "refused-tc-egress-exit-1-names-it" test "$rc" = 1 -a "$(wc -l <"$TMP/notc")" = 1 -a -n "$(grep 'Failed to load mw_tc_egress' "$TMP/notc")"
# the shipped binary does not honour the hook (issue 29): the same environment, a normal run
MW_TEST_REFUSE=mw_tc_egress "$MW" --duration 1 >"$TMP/notc-shipped" 2>&1
rc=$?
LAST_OUT=$TMP/notc-shipped
check "shipped-ignores-test-hook" test "$rc" = 0 -a -z "$(grep -i 'mw_tc_egress\|failed' \
	"$TMP/notc-shipped")" -a -n "$(grep 'watching' "$TMP/notc-shipped")"

# XDP's hook taken after start-up (free when mtuwatch loaded, so tc ingress was not loaded;
# MW_TEST_REFUSE=xdp-taken makes the attach find it taken): one line saying what is lost and
# what to do, no failed tc attach on a bad descriptor, and the rest runs on
MW_TEST_REFUSE=xdp-taken ip netns exec "$(lab_ns cli)" "$MWT" -i c0 --xdp --duration 1 >"$TMP/taken" 2>&1
rc=$?
LAST_OUT=$TMP/taken
check "xdp-taken-after-load-runs-on" test "$rc" = 0
check "xdp-taken-after-load-says-restart" has "$TMP/taken" 'Failed to attach XDP on c0: Device or resource busy (another XDP program took the interface after mtuwatch started) -- .*restart mtuwatch'
check "xdp-taken-after-load-no-bad-fd" hasnt "$TMP/taken" 'Bad file descriptor'

# an interface that disappears mid-run: said once, the rest keeps working
ip netns exec "$(lab_ns cli)" ip link add mwtmp0 type veth peer name mwtmp1
ip netns exec "$(lab_ns cli)" ip link set mwtmp0 up
ip netns exec "$(lab_ns cli)" "$MW" -i c0 -i mwtmp0 --duration 3 >"$TMP/gone" 2>"$TMP/gone.err" &
pid=$!
sleep 1.2
ip netns exec "$(lab_ns cli)" ip link del mwtmp0
wait $pid
rc=$?
LAST_OUT=$TMP/gone.err
check "iface-gone-keeps-running" test "$rc" = 0
check "iface-gone-said" has "$TMP/gone.err" "mwtmp0 disappeared"
lab_down >/dev/null 2>&1

# a tun device (no link-layer header, like WireGuard): the L3 programs attach and see sizes
lab_up healthy >/dev/null 2>&1
lab_exec cli ip tuntap add dev tun0 mode tun
lab_exec cli ip addr add 203.0.113.5/32 dev tun0
lab_exec cli ip link set tun0 up
lab_exec cli ip route add 203.0.113.77/32 dev tun0
mw_start cli "$TMP/tun.out" record -f -o "$TMP/tun.data" -i tun0
head -c 1200 /dev/zero | lab_exec cli timeout 2 nc -u -w1 203.0.113.77 9
sleep 0.5
mw_stop
"$MW" report -i "$TMP/tun.data" --raw >"$TMP/tun.raw" 2>&1
"$MW" report -i "$TMP/tun.data" >"$TMP/tun.rep" 2>&1
LAST_OUT=$TMP/tun.rep
check "tun-l3-programs-attached" bash -c "grep -q 'program.mw_tc_egress_l3.tun0: attached' '$TMP/tun.rep' && grep -q 'program.mw_tc_ingress_l3.tun0: attached' '$TMP/tun.rep'"
LAST_OUT=$TMP/tun.raw
check "tun-l3-df-size" has "$TMP/tun.raw" 'df_max .* size=1228 .*203.0.113.77:0 proto=17'

# ordinary loss is not an MTU finding: 5% random drops on an aligned path, both ends watched
lab_up aligned >/dev/null 2>&1
lab_exec rtr iptables -A FORWARD -m statistic --mode random --probability 0.05 -j DROP
mw_start srv "$TMP/loss.srv.json" --json
SRV_PID=$MW_PID
mw_start cli "$TMP/loss.cli.json" --json
lab_bulk aligned 6 >/dev/null 2>&1
sleep 1
mw_stop
MW_PID=$SRV_PID mw_stop
LAST_OUT=$TMP/loss.srv.json
check "random-loss-retransmits" bash -c "grep '\"summary\":true,\"dst\"' '$TMP/loss.srv.json' | grep -Eq '\"retrans\":[1-9][0-9]'"
check "random-loss-no-alarm" finished_without '"verdict":"(icmp_blackhole|ptb_dropped|stalled_tls|stalled_ssh)"' "$TMP/loss.srv.json" "$TMP/loss.cli.json"
lab_down >/dev/null 2>&1
