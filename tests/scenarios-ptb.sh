#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/scenarios-ptb.sh -- a Packet Too Big reaches the big sender, which ignores it (issue 8,
# class 2; seed 001: "frag-needed, mtu 1446" arrived and the appliance kept sending 1500).
#
# Source it (after or instead of tests/lab.sh, which it sources), or run it:
#   tests/scenarios-ptb.sh run REASON [4|6] [SECONDS]   build, run one bounded scenario, report
#   tests/scenarios-ptb.sh down
#
# TOPOLOGY: the seed lab (tests/lab.sh, variant healthy) with the router's far side narrowed to
# the seed's 1446:
#
#   mw-cli (big sender)            mw-rtr                          mw-srv (its client)
#   c0 mtu 9000 ------------- r0 mtu 9000   r1 mtu 1446 ------------ s0 mtu 1446
#   192.0.2.2  2001:db8:1::2   192.0.2.1    198.51.100.1             198.51.100.2
#
# The sender is tests/tools/ptb-server.py in mw-cli: a TLS server (the lab's 4-certificate
# RSA-4096 chain, ~6.4 kB first flight) on port 8443 that then sends PTB_BYTES of payload, with
# its socket's PMTU discovery mode set where the reason needs it. The client is openssl s_client
# in mw-srv. mw-srv's routes carry advmss 8960/8940, so the sender sends jumbo segments; the
# router cannot forward them out of r1 and answers with frag-needed / Packet Too Big, mtu 1446.
#
# REASONS (ignore_reason of the ptb_ignored finding they must give):
#   control   nothing changed: the PTB is accepted, the route MTU falls to 1446, the handshake
#             completes (the topology works; every other reason differs from it in one thing).
#   locked    route_mtu_locked: the sender's default route has `mtu lock 9000`. IPv4: a locked
#             route clears DF, so the server forces it with IP_PMTUDISC_DO. The router's real
#             PTBs arrive and are ignored.
#   outwin    out_of_window: the router's own PTBs are dropped in its OUTPUT chain (so the flow
#             is stuck: a real black hole), and tests/tools/ptb-inject.py sends PTBs from the
#             router's address quoting the flow's 4-tuple with the sequence number + 2^31 (a
#             middlebox that rewrites sequence numbers, or a forger).
#   nosock    no_socket: as outwin, but the PTBs quote the flow as a load balancer's VIP
#             (203.0.113.80:443 / [2001:db8:ffff::80]:443) that it did not translate back.
#   pmtudisc  pmtudisc_off: IPv4: net.ipv4.ip_no_pmtu_disc=2 on the sender and IP_PMTUDISC_DO
#             on the socket (DF set, every frag-needed discarded). IPv6 (no such sysctl): the
#             socket in IPV6_PMTUDISC_INTERFACE mode (sends up to the interface MTU, ignores PTB).
#             Real PTBs arrive.
#   notlower  mtu_not_lower: the router's PTBs are dropped; the injector sends in-window PTBs
#             advertising mtu 9000 (not below the route's 9000), as a device that reports its
#             own ingress MTU would.
#   flood     as outwin with PTB_FLOOD_COUNT (100000) PTBs at PTB_FLOOD_RATE (20000/s).
# Look-alikes that are NOT ignored on Linux 6.18 (no ptb_ignored may come of them):
#   probe     the socket in IP_PMTUDISC_PROBE / IPV6_PMTUDISC_PROBE mode. IPv4 TCP: DF is
#             cleared, the router fragments, no PTB at all. IPv6: the PTB is accepted.
#   disc3     net.ipv4.ip_no_pmtu_disc=3 + IP_PMTUDISC_DO: TCP validates the quote, the PTB is
#             accepted (route MTU 1446).
#   disc1     net.ipv4.ip_no_pmtu_disc=1 + IP_PMTUDISC_DO: the advertised MTU is discarded, the
#             route gets `mtu lock 552` (route.min_pmtu) and the flow recovers at that size.
#
# FUNCTIONS
#   ptb_up REASON FAMILY        build the lab for REASON (4|6 only matters for the pmtudisc
#                               sysctl); returns 2 on setup failure.
#   ptb_traffic REASON FAMILY SECS
#                               on a lab built by ptb_up: start the sender, run the client
#                               for SECS (and the injector where the reason has one);
#                               returns 0 if the TLS handshake completed, 1 if not. Logs in
#                               $MW_LAB_DIR: ptb-server.log, ptb-client.log, ptb-inject.log
#                               (the injector's last line: what it sent, quoting what).
#   ptb_run REASON FAMILY SECS  ptb_up, then ptb_traffic.
#   ptb_mode REASON FAMILY      the sender's socket mode for REASON (empty: kernel default).
#   ptb_addr NODE FAMILY        cli|srv|rtr address of FAMILY.
#
# ENVIRONMENT: as tests/lab.sh, plus PTB_APP (tls: TLS server and s_client; tcp: plain bulk TCP,
# the server sends PTB_BYTES at once, nc receives), PTB_BYTES (262144), PTB_FLOOD_COUNT,
# PTB_FLOOD_RATE, PTB_INJECT_COUNT (30), PTB_INJECT_RATE (10/s), PTB_PYTHON (python3),
# PTB_BIND (the sender's listening address; default the client-facing address of FAMILY; `::`
# makes it a dual-stack AF_INET6 socket whose IPv4 peers are ::ffff:a.b.c.d, as Java's are).

# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh"

_PTB_SH=$(readlink -f "${BASH_SOURCE[0]}")
_PTB_TOOLS=$(dirname "$_PTB_SH")/tools
PTB_PYTHON=${PTB_PYTHON:-python3}
PTB_PORT=8443
PTB_MTU=1446
PTB_MARK=0x4d57
PTB_VIP4=203.0.113.80 PTB_VIP6=2001:db8:ffff::80 PTB_VIP_PORT=443
PTB_BYTES=${PTB_BYTES:-262144}
PTB_APP=${PTB_APP:-tls}
PTB_FLOOD_COUNT=${PTB_FLOOD_COUNT:-100000}
PTB_FLOOD_RATE=${PTB_FLOOD_RATE:-20000}
PTB_INJECT_COUNT=${PTB_INJECT_COUNT:-30}
PTB_INJECT_RATE=${PTB_INJECT_RATE:-10}
PTB_REASONS="control locked outwin nosock pmtudisc notlower flood probe disc3 disc1"

ptb_addr() {
	case $1$2 in
	cli4) echo "$MW_CLI4" ;; cli6) echo "$MW_CLI6" ;;
	srv4) echo "$MW_SRV4" ;; srv6) echo "$MW_SRV6" ;;
	rtr4) echo "$MW_RTR0_4" ;; rtr6) echo "$MW_RTR0_6" ;;
	*) echo "ptb_addr: NODE cli|srv|rtr, FAMILY 4|6" >&2; return 2 ;;
	esac
}

ptb_mode() {
	case $1$2 in
	locked4 | pmtudisc4 | disc34 | disc14) echo "do" ;;
	pmtudisc6) echo interface ;;
	probe4 | probe6) echo probe ;;
	esac
	return 0
}

_ptb_setup() {
	set -e
	local r=$1 fam=$2
	ip -n "$MW_NS_RTR" link set r1 mtu "$PTB_MTU"
	ip -n "$MW_NS_SRV" link set s0 mtu "$PTB_MTU"
	# Wire sizes everywhere: a capture (or tc egress) on c0 shows each segment as it leaves,
	# not a GSO super-packet that the stack would split.
	ip netns exec "$MW_NS_CLI" ethtool -K c0 tso off gso off >/dev/null
	case $r in
	locked)
		ip -n "$MW_NS_CLI" route replace default via "$MW_RTR0_4" mtu lock 9000
		ip -n "$MW_NS_CLI" -6 route replace default via "$MW_RTR0_6" mtu lock 9000
		;;
	outwin | nosock | notlower | flood)
		# The router's own PTBs die in its OUTPUT chain; the injector's carry a mark.
		ip netns exec "$MW_NS_RTR" iptables -w -A OUTPUT -p icmp \
			--icmp-type fragmentation-needed -m mark ! --mark "$PTB_MARK" -j DROP
		ip netns exec "$MW_NS_RTR" ip6tables -w -A OUTPUT -p ipv6-icmp \
			--icmpv6-type packet-too-big -m mark ! --mark "$PTB_MARK" -j DROP
		;;
	pmtudisc)
		[ "$fam" = 6 ] || _mw_sysctl "$MW_NS_CLI" net.ipv4.ip_no_pmtu_disc=2
		;;
	disc3) _mw_sysctl "$MW_NS_CLI" net.ipv4.ip_no_pmtu_disc=3 ;;
	disc1) _mw_sysctl "$MW_NS_CLI" net.ipv4.ip_no_pmtu_disc=1 ;;
	control | probe) ;;
	*) echo "unknown reason $r" >&2; return 2 ;;
	esac
	ip -n "$MW_NS_CLI" route flush cache
	ip -n "$MW_NS_CLI" -6 route flush cache
}

ptb_up() {
	local r=${1:-} fam=${2:-4}
	case " $PTB_REASONS " in *" $r "*) ;; *)
		echo "usage: ptb_up {${PTB_REASONS// /|}} [4|6]" >&2; return 2 ;;
	esac
	case $fam in 4 | 6) ;; *) echo "ptb_up: family 4|6" >&2; return 2 ;; esac
	lab_up healthy || return 2
	_mw_sub 0 "ptb_up $r $fam" "$MW_LAB_DIR/ptb-up.log" "$_PTB_SH" _ptb_setup "$r" "$fam" ||
		return 2
	echo "$r $fam" >"$MW_LAB_DIR/ptb"
}

# ptb_server FAMILY [MODE]: the big sender in mw-cli (TLS, or plain TCP with PTB_APP=tcp),
# bounded; 0 once listening.
ptb_server() {
	local fam=$1 mode=${2:-} addr seen kd n=100 tls=()
	addr=${PTB_BIND:-$(ptb_addr cli "$fam")} || return 2
	# ss names a dual-stack listener (:: without IPV6_V6ONLY) `*`
	seen=$addr
	[ "$addr" = :: ] && seen="*:$PTB_PORT"
	if [ "$PTB_APP" = tls ]; then
		_mw_tls_keys || { echo "ptb_server: key generation failed" >&2; return 2; }
		kd=$(_mw_keydir)/tls
		cat "$kd/leaf.pem" "$kd/chain.pem" >"$MW_LAB_DIR/fullchain.pem"
		tls=(--tls "$MW_LAB_DIR/fullchain.pem" "$kd/leaf.key")
	fi
	lab_exec cli timeout "$MW_LAB_SERVER_TIMEOUT" "$PTB_PYTHON" "$_PTB_TOOLS/ptb-server.py" \
		--addr "$addr" --port "$PTB_PORT" ${mode:+--pmtudisc "$mode"} --bytes "$PTB_BYTES" \
		--seconds "$MW_LAB_SERVER_TIMEOUT" "${tls[@]}" \
		</dev/null >>"$MW_LAB_DIR/ptb-server.log" 2>&1 &
	disown $! 2>/dev/null
	while ! lab_exec cli ss -Hltn "sport = :$PTB_PORT" 2>/dev/null | grep -qF "$seen"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || { echo "ptb_server: not listening" >&2; return 2; }
		sleep 0.1
	done
}

# ptb_client SECONDS FAMILY: openssl s_client in mw-srv; 0 if the handshake completed. With
# PTB_APP=tcp: nc, 0 if all PTB_BYTES arrived.
ptb_client() {
	local secs=$1 fam=$2 addr
	addr=$(ptb_addr cli "$fam") || return 2
	if [ "$PTB_APP" = tcp ]; then
		lab_exec srv timeout "$secs" nc -d "$addr" "$PTB_PORT" >"$MW_LAB_DIR/ptb-client.out" \
			2>"$MW_LAB_DIR/ptb-client.log"
		[ "$(stat -c %s "$MW_LAB_DIR/ptb-client.out")" -ge "$PTB_BYTES" ]
		return
	fi
	[ "$fam" = 6 ] && addr="[$addr]"
	lab_exec srv timeout "$secs" openssl s_client -connect "$addr:$PTB_PORT" -brief -ign_eof \
		</dev/null >"$MW_LAB_DIR/ptb-client.out" 2>"$MW_LAB_DIR/ptb-client.log"
	grep -q 'CONNECTION ESTABLISHED' "$MW_LAB_DIR/ptb-client.log"
}

# ptb_inject FAMILY ARGS...: the injector in mw-rtr, sniffing the flow on r0.
ptb_inject() {
	local fam=$1
	shift
	lab_exec rtr timeout 60 "$PTB_PYTHON" "$_PTB_TOOLS/ptb-inject.py" --iface r0 \
		--flow "$(ptb_addr cli "$fam")" "$PTB_PORT" "$(ptb_addr srv "$fam")" \
		--from "$(ptb_addr rtr "$fam")" --mark "$PTB_MARK" "$@"
}

# ptb_inject_args REASON FAMILY: the injector's arguments for REASON (none: no injector).
ptb_inject_args() {
	local vip=$PTB_VIP4 n="--count $PTB_INJECT_COUNT --rate $PTB_INJECT_RATE"
	[ "$2" = 6 ] && vip=$PTB_VIP6
	case $1 in
	outwin) echo "--mtu $PTB_MTU --seq-mode outwin $n" ;;
	nosock) echo "--mtu $PTB_MTU --seq-mode inwin --quote-src $vip --quote-sport $PTB_VIP_PORT $n" ;;
	notlower) echo "--mtu 9000 --seq-mode inwin $n" ;;
	flood) echo "--mtu $PTB_MTU --seq-mode outwin --count $PTB_FLOOD_COUNT --rate $PTB_FLOOD_RATE" ;;
	esac
}

# ptb_traffic REASON FAMILY SECS: on a lab built by ptb_up, start the sender, run the client for
# SECS and, where REASON has one, the injector beside it; 0 if the TLS handshake completed.
ptb_traffic() {
	local r=$1 fam=$2 secs=${3:-8} cpid ipid='' rc args
	ptb_server "$fam" "$(ptb_mode "$r" "$fam")" || return 2
	rm -f "$MW_LAB_DIR/ptb-inject.log"
	ptb_client "$secs" "$fam" &
	cpid=$!
	args=$(ptb_inject_args "$r" "$fam")
	if [ -n "$args" ]; then
		# shellcheck disable=SC2086 # word list
		ptb_inject "$fam" --wait "$secs" $args >"$MW_LAB_DIR/ptb-inject.log" 2>&1 &
		ipid=$!
	fi
	wait "$cpid"
	rc=$?
	[ -n "$ipid" ] && wait "$ipid"
	return "$rc"
}

ptb_run() {
	ptb_up "$1" "${2:-4}" || return 2
	ptb_traffic "$1" "${2:-4}" "${3:-8}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	run)
		shift
		ptb_run "$@"
		rc=$?
		echo "ptb_run $*: rc=$rc (0: handshake completed / with PTB_APP=tcp: all bytes arrived)"
		exit $rc
		;;
	down) lab_down ;;
	*) echo "usage: $0 run {${PTB_REASONS// /|}} [4|6] [SECONDS] | down" >&2; exit 2 ;;
	esac
fi
