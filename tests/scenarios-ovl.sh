#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/scenarios-ovl.sh -- overlay (VXLAN) and loopback labs for issue 8, classes 7 and 8.
#
# Source it (`. tests/scenarios-ovl.sh`) for the functions below, or run it:
#   tests/scenarios-ovl.sh up VARIANT      build the lab (tears down any old one first)
#   tests/scenarios-ovl.sh down            delete everything it created
#   tests/scenarios-ovl.sh bulk [S] [4|6]  bounded pod-to-pod iperf3 transfer
#   tests/scenarios-ovl.sh tls [S] [4|6]   pod-to-pod TLS handshake (s_server in pod 2)
#   tests/scenarios-ovl.sh exec NODE CMD.. run CMD in namespace NODE (n1|n2|p1|p2|lo|ob)
# Root only. Documentation addresses only; all traffic bounded by `timeout`.
#
# OVERLAY TOPOLOGY (namespace names get ${MW_LAB_ID} appended):
#
#   mw-ovl-p1           mw-ovl-n1                           mw-ovl-n2          mw-ovl-p2
#   eth0 ------------ cali1  vxlan0 ~~~(VNI 42, udp 4789)~~~ vxlan0  cali2 ------------ eth0
#                            u1 ======= underlay veth ======= u2
#   192.0.2.2/25     192.0.2.1/25                       203.0.113.1/25     203.0.113.2/25
#   2001:db8:1::2/64 2001:db8:1::1/64               2001:db8:2::1/64       2001:db8:2::2/64
#                    vxlan0 192.0.2.129/32, 2001:db8:ff::1/128
#                                              vxlan0 203.0.113.129/32, 2001:db8:ff::2/128
#   underlay u1/u2: 198.51.100.1/24 <-> 198.51.100.2/24 (v4 variants)
#                   2001:db8:100::1/64 <-> 2001:db8:100::2/64 (vxlan6: the VXLAN runs over IPv6)
#   Routes (as Calico's VXLAN mode does): on n1 `203.0.113.0/25 via 203.0.113.129 dev vxlan0
#   onlink` (v6: 2001:db8:2::/64 via 2001:db8:ff::2), mirror on n2; pods: default via the
#   node's cali address.  vxlan0: `id 42 local U1 remote U2 dstport 4789 dev u1`.
#
#   VARIANT    pod eth0/cali  vxlan0  u1/u2  vxlan options   overhead  outcome
#   vxlan        8950          8950   1500   df unset (def)  50        works: outer fragmented
#   vxlan-df     8950          8950   1500   df set          50        black hole (seed 002)
#   vxlan6       8950          8950   1500   IPv6 underlay   70        see docs/scenarios-ovl.md
#   healthy      1450          1450   1500   df set          50        works, no fragments
#   healthy6     1430          1430   1500   IPv6 underlay   70        works, no fragments
#   lo           namespaces mw-ovl-lo (loopback servers and clients, class 8) and mw-ovl-ob
#                (an observer), joined by veth l0 192.0.2.1/24 <-> o0 192.0.2.2/24
#
# FUNCTIONS (0 = yes/success, 1 = no/stalled, 2 = usage or setup error; state in $OVL_DIR):
#   ovl_up VARIANT / ovl_down / ovl_exec NODE CMD... / ovl_ns NODE / ovl_variant
#   ovl_bulk [SECONDS] [FAMILY]   iperf3 from pod 1 to pod 2 (client sends), bounded
#                                 SECONDS+8; 0 if pod 2 received >= OVL_BULK_MIN bytes.
#                                 Bytes in $OVL_DIR/bulk.bytes.
#   ovl_tls_server [NODE]         openssl s_server in pod NODE (p2 default, or p1; port 8443,
#                                 v4 and v6) with a 4-certificate RSA-4096 chain (~6.4 kB
#                                 first flight; keys from tests/lab.sh, kept in MW_LAB_KEYDIR
#                                 if set).
#   ovl_tls_client [SECONDS] [FAMILY] [NODE]   s_client from pod NODE (p1 default) to the
#                                 other pod; 0 if the handshake completed.
#   ovl_lo_servers                in mw-ovl-lo: s_server on 127.0.0.1/::1:8443 and a mute
#                                 TCP listener on 127.0.0.1/::1:443 that accepts and never
#                                 answers (a ClientHello sent to it is never answered).
#   ovl_lo_clients [SECONDS] [MUTE_SECONDS]  TLS handshakes to 8443 and ClientHellos to 443
#                                 (each client waits MUTE_SECONDS, default 2, for an answer)
#                                 over both families; 0 if the 8443 handshakes completed.
#   ovl_lo_bulk [SECONDS] [FAMILY]  iperf3 over 127.0.0.1 / ::1 in mw-ovl-lo (64 kB segments);
#                                 0 if >= OVL_BULK_MIN bytes arrived.
#
# ENVIRONMENT: MW_LAB_ID (suffix, default ""), OVL_DIR (default ${TMPDIR:-/tmp}/mw-ovl$MW_LAB_ID),
#   MW_LAB_KEYDIR (TLS key cache, see tests/lab.sh), OVL_BULK_MIN (default 1000000),
#   OVL_DF (vxlan6 only: the `df` attribute, default set; over IPv6 it changes nothing).

MW_LAB_ID=${MW_LAB_ID:-}
# tests/lab.sh: the building blocks (namespace settings, routers, teardown, TLS keys)
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh"
_OVL_SH=$(readlink -f "${BASH_SOURCE[0]}")
OVL_DIR=${OVL_DIR:-${TMPDIR:-/tmp}/mw-ovl${MW_LAB_ID}}
OVL_BULK_MIN=${OVL_BULK_MIN:-1000000}
OVL_SERVER_TIMEOUT=${OVL_SERVER_TIMEOUT:-300}

OVL_NS_N1="mw-ovl-n1${MW_LAB_ID}"
OVL_NS_N2="mw-ovl-n2${MW_LAB_ID}"
OVL_NS_P1="mw-ovl-p1${MW_LAB_ID}"
OVL_NS_P2="mw-ovl-p2${MW_LAB_ID}"
OVL_NS_LO="mw-ovl-lo${MW_LAB_ID}"
OVL_NS_OB="mw-ovl-ob${MW_LAB_ID}"

OVL_U1_4=198.51.100.1 OVL_U2_4=198.51.100.2
OVL_U1_6=2001:db8:100::1 OVL_U2_6=2001:db8:100::2
OVL_P1_4=192.0.2.2 OVL_CALI1_4=192.0.2.1 OVL_VX1_4=192.0.2.129
OVL_P2_4=203.0.113.2 OVL_CALI2_4=203.0.113.1 OVL_VX2_4=203.0.113.129
OVL_P1_6=2001:db8:1::2 OVL_CALI1_6=2001:db8:1::1 OVL_VX1_6=2001:db8:ff::1
OVL_P2_6=2001:db8:2::2 OVL_CALI2_6=2001:db8:2::1 OVL_VX2_6=2001:db8:ff::2
OVL_VNI=42
OVL_TLS_PORT=8443
OVL_MUTE_PORT=443
OVL_IPERF_PORT=5201
OVL_VARIANTS="vxlan vxlan-df vxlan6 healthy healthy6 lo"

ovl_ns() {
	case "$1" in
	n1) echo "$OVL_NS_N1" ;;
	n2) echo "$OVL_NS_N2" ;;
	p1) echo "$OVL_NS_P1" ;;
	p2) echo "$OVL_NS_P2" ;;
	lo) echo "$OVL_NS_LO" ;;
	ob) echo "$OVL_NS_OB" ;;
	*) echo "ovl_ns: unknown node '$1' (n1|n2|p1|p2|lo|ob)" >&2; return 2 ;;
	esac
}

ovl_exec() {
	local ns
	ns=$(ovl_ns "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

ovl_variant() {
	[ -f "$OVL_DIR/variant" ] && cat "$OVL_DIR/variant"
	return 0
}

ovl_down() {
	local ns
	for ns in "$OVL_NS_P1" "$OVL_NS_P2" "$OVL_NS_N1" "$OVL_NS_N2" "$OVL_NS_LO" "$OVL_NS_OB"; do
		_mw_ns_del "$ns"
	done
	_mw_rm_dir "$OVL_DIR"
	return 0
}

# A namespace with tests/lab.sh's common settings: no lab depends on the host's defaults.
_ovl_ns_add() {
	ip netns add "$1"
	_mw_ns_base "$1"
}

_ovl_up() {
	set -e
	local v=$1 podmtu=8950 df=set u6='' i ns node pod cali vxa vxb u_l cali4 cali6 p4 p6 \
		rnet4 rnet6 rvx4 rvx6
	case $v in
	vxlan) df='unset' ;;
	vxlan-df) ;;
	vxlan6) u6=1 df=${OVL_DF:-set} ;;
	healthy) podmtu=1450 ;;
	healthy6) podmtu=1430 u6=1 ;;
	lo)
		# the loopback namespace and an observer namespace joined by a veth, so that
		# mtuwatch has an interface to watch while it judges the loopback traffic of
		# another namespace with --all-netns
		_ovl_ns_add "$OVL_NS_LO"
		_ovl_ns_add "$OVL_NS_OB"
		ip link add l0 netns "$OVL_NS_LO" type veth peer name o0 netns "$OVL_NS_OB"
		ip -n "$OVL_NS_LO" addr add 192.0.2.1/24 dev l0
		ip -n "$OVL_NS_OB" addr add 192.0.2.2/24 dev o0
		ip -n "$OVL_NS_LO" link set l0 up
		ip -n "$OVL_NS_OB" link set o0 up
		return 0
		;;
	esac
	for ns in "$OVL_NS_N1" "$OVL_NS_N2" "$OVL_NS_P1" "$OVL_NS_P2"; do
		_ovl_ns_add "$ns"
	done
	# icmp_errors_use_inbound_ifaddr 0: this lab never wrote it, and a new namespace starts at
	# 0, so writing it changes nothing; the nodes' frag-needed to their pods leave by the
	# interface the packet came in on, whose address the route back picks anyway.
	for ns in "$OVL_NS_N1" "$OVL_NS_N2"; do
		_mw_router "$ns" 0
	done
	# underlay: one veth between the nodes.  Created at 9100 and lowered to 1500 once the
	# VXLAN devices exist: the kernel clamps a VXLAN bound to a lower device to the lower
	# MTU - 50 (70 over IPv6) when it is created or its MTU is set, but does not follow when
	# the lower device shrinks later -- the way a node ends up with an 8950 overlay on a
	# 1500 underlay (CNI configured for jumbo frames, NIC or VM later at 1500).
	ip link add u1 netns "$OVL_NS_N1" mtu 9100 type veth peer name u2 netns "$OVL_NS_N2" mtu 9100
	ip -n "$OVL_NS_N1" addr add "$OVL_U1_4/24" dev u1
	ip -n "$OVL_NS_N2" addr add "$OVL_U2_4/24" dev u2
	ip -n "$OVL_NS_N1" -6 addr add "$OVL_U1_6/64" dev u1 nodad
	ip -n "$OVL_NS_N2" -6 addr add "$OVL_U2_6/64" dev u2 nodad
	ip -n "$OVL_NS_N1" link set u1 up
	ip -n "$OVL_NS_N2" link set u2 up
	for i in 1 2; do
		if [ "$i" = 1 ]; then
			node=$OVL_NS_N1 pod=$OVL_NS_P1 cali=cali1 u_l=u1
			cali4=$OVL_CALI1_4 cali6=$OVL_CALI1_6 p4=$OVL_P1_4 p6=$OVL_P1_6
			vxa=$OVL_VX1_4 vxb=$OVL_VX1_6
			rnet4=203.0.113.0/25 rnet6=2001:db8:2::/64 rvx4=$OVL_VX2_4 rvx6=$OVL_VX2_6
			if [ -n "$u6" ]; then set -- "$OVL_U1_6" "$OVL_U2_6"; else set -- "$OVL_U1_4" "$OVL_U2_4"; fi
		else
			node=$OVL_NS_N2 pod=$OVL_NS_P2 cali=cali2 u_l=u2
			cali4=$OVL_CALI2_4 cali6=$OVL_CALI2_6 p4=$OVL_P2_4 p6=$OVL_P2_6
			vxa=$OVL_VX2_4 vxb=$OVL_VX2_6
			rnet4=192.0.2.0/25 rnet6=2001:db8:1::/64 rvx4=$OVL_VX1_4 rvx6=$OVL_VX1_6
			if [ -n "$u6" ]; then set -- "$OVL_U2_6" "$OVL_U1_6"; else set -- "$OVL_U2_4" "$OVL_U1_4"; fi
		fi
		# VXLAN device as Calico's vxlan.calico: point-to-point here (remote instead of
		# FDB entries), bound to the underlay device.
		ip -n "$node" link add vxlan0 mtu "$podmtu" type vxlan id "$OVL_VNI" \
			local "$1" remote "$2" dstport 4789 dev "$u_l" df "$df"
		ip -n "$node" addr add "$vxa/32" dev vxlan0
		ip -n "$node" -6 addr add "$vxb/128" dev vxlan0 nodad
		ip -n "$node" link set vxlan0 up
		# pod veth
		ip link add "$cali" netns "$node" mtu "$podmtu" type veth peer name eth0 netns "$pod" \
			mtu "$podmtu"
		ip -n "$node" addr add "$cali4/25" dev "$cali"
		ip -n "$node" -6 addr add "$cali6/64" dev "$cali" nodad
		ip -n "$node" link set "$cali" up
		ip -n "$pod" addr add "$p4/25" dev eth0
		ip -n "$pod" -6 addr add "$p6/64" dev eth0 nodad
		ip -n "$pod" link set eth0 up
		ip -n "$pod" route add default via "$cali4"
		ip -n "$pod" -6 route add default via "$cali6"
		# the other node's pods, over the overlay
		ip -n "$node" route add "$rnet4" via "$rvx4" dev vxlan0 onlink
		ip -n "$node" -6 route add "$rnet6" via "$rvx6" dev vxlan0 onlink
	done
	ip -n "$OVL_NS_N1" link set u1 mtu 1500
	ip -n "$OVL_NS_N2" link set u2 mtu 1500
	for ns in "$OVL_NS_N1" "$OVL_NS_N2" "$OVL_NS_P1" "$OVL_NS_P2"; do
		ip -n "$ns" route flush cache
		ip -n "$ns" -6 route flush cache
	done
}

ovl_up() {
	local v=${1:-}
	case " $OVL_VARIANTS " in
	*" $v "*) [ -n "$v" ] || { echo "usage: ovl_up {${OVL_VARIANTS// /|}}" >&2; return 2; } ;;
	*) echo "usage: ovl_up {${OVL_VARIANTS// /|}}" >&2; return 2 ;;
	esac
	[ "$(id -u)" = 0 ] || { echo "ovl_up: must run as root" >&2; return 2; }
	ovl_down
	mkdir -p "$OVL_DIR" || return 2
	# own bash so that set -e holds even when called in a condition
	if ! MW_LAB_ID="$MW_LAB_ID" OVL_DIR="$OVL_DIR" \
		bash -c 'source "$1" || exit 2; _ovl_up "$2"' ovl-up "$_OVL_SH" "$v" \
		>"$OVL_DIR/up.log" 2>&1; then
		echo "ovl_up $v failed:" >&2
		cat "$OVL_DIR/up.log" >&2
		ovl_down
		return 2
	fi
	echo "$v" >"$OVL_DIR/variant"
	return 0
}

_ovl_wait_listen() { # NODE PORT [COUNT [TRIES]]
	local node=$1 port=$2 want=${3:-1} n=${4:-50}
	while [ "$n" -gt 0 ]; do
		[ "$(ovl_exec "$node" ss -Hltn "sport = :$port" 2>/dev/null | wc -l)" -ge "$want" ] &&
			return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

ovl_bulk() {
	local secs=${1:-3} fam=${2:-4} dst spid rc bytes
	case $fam in 4) dst=$OVL_P2_4 ;; 6) dst=$OVL_P2_6 ;; *) echo "ovl_bulk: family 4|6" >&2; return 2 ;; esac
	rm -f "$OVL_DIR/bulk.json" "$OVL_DIR/bulk.bytes"
	# ip netns exec, not ovl_exec: $! must be iperf3's process, not a subshell
	ip netns exec "$OVL_NS_P2" timeout "$((secs + 8))" iperf3 -s -1 -B "$dst" -p "$OVL_IPERF_PORT" \
		>"$OVL_DIR/bulk-server.log" 2>&1 &
	spid=$!
	if ! _ovl_wait_listen p2 "$OVL_IPERF_PORT"; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		echo "ovl_bulk: iperf3 server did not start" >&2
		return 2
	fi
	ovl_exec p1 timeout "$((secs + 5))" iperf3 -c "$dst" -p "$OVL_IPERF_PORT" -t "$secs" \
		-J --connect-timeout 2000 >"$OVL_DIR/bulk.json" 2>&1
	rc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	bytes=$(tr -d ' \t\n' <"$OVL_DIR/bulk.json" |
		sed -n 's/.*"sum_received":{[^}]*"bytes":\([0-9]*\).*/\1/p')
	bytes=${bytes:-0}
	echo "$bytes" >"$OVL_DIR/bulk.bytes"
	echo "$rc" >"$OVL_DIR/bulk.rc"
	[ "$bytes" -ge "$OVL_BULK_MIN" ]
}

# TLS keys: reuse tests/lab.sh's generator (root, 2 intermediates, leaf; RSA-4096).
_ovl_tls_dir() {
	local d=${MW_LAB_KEYDIR:-$OVL_DIR/keys}/tls
	if ! [ -s "$d/chain.pem" ] || ! [ -s "$d/leaf.pem" ] || ! [ -s "$d/leaf.key" ]; then
		mkdir -p "$d" || return 1
		bash -c 'source "$1" || exit 2; _mw_tls_gen "$2"' ovl-tls \
			"$(dirname "$_OVL_SH")/lab.sh" "$d" >"$d/gen.log" 2>&1 ||
			{ rm -f "$d/chain.pem"; return 1; }
	fi
	echo "$d"
}

# _ovl_s_server NODE ADDR:PORT...: one openssl s_server per address, backgrounded
_ovl_s_server() {
	local node=$1 d a
	shift
	d=$(_ovl_tls_dir) || { echo "ovl: TLS key generation failed" >&2; return 2; }
	for a in "$@"; do
		ovl_exec "$node" timeout "$OVL_SERVER_TIMEOUT" openssl s_server -www \
			-accept "$a" -cert "$d/leaf.pem" -key "$d/leaf.key" -cert_chain "$d/chain.pem" \
			</dev/null >>"$OVL_DIR/tls-server.log" 2>&1 &
		disown $! 2>/dev/null
	done
}

ovl_tls_server() { # [NODE]: p2 (default) or p1
	local node=${1:-p2} a4 a6
	case $node in p1) a4=$OVL_P1_4 a6=$OVL_P1_6 ;; p2) a4=$OVL_P2_4 a6=$OVL_P2_6 ;; *) return 2 ;; esac
	if _ovl_wait_listen "$node" "$OVL_TLS_PORT" 2 1; then return 0; fi
	_ovl_s_server "$node" "$a4:$OVL_TLS_PORT" "[$a6]:$OVL_TLS_PORT" || return 2
	_ovl_wait_listen "$node" "$OVL_TLS_PORT" 2 100 ||
		{ echo "ovl_tls_server: not listening" >&2; return 2; }
}

# _ovl_s_client NODE SECONDS HOST:PORT LOG: 0 if the handshake completed
_ovl_s_client() {
	ovl_exec "$1" timeout "$2" stdbuf -oL openssl s_client -connect "$3" \
		-servername server.mw-lab.example </dev/null >"$4" 2>&1
	grep -q '^SSL handshake has read' "$4"
}

ovl_tls_client() { # [SECONDS] [FAMILY] [NODE]: from p1 (default) to p2, or from p2 to p1
	local secs=${1:-5} fam=${2:-4} node=${3:-p1} d4 d6
	case $node in p1) d4=$OVL_P2_4 d6=$OVL_P2_6 ;; p2) d4=$OVL_P1_4 d6=$OVL_P1_6 ;; *) return 2 ;; esac
	case $fam in 4) ;; 6) d4="[$d6]" ;; *) return 2 ;; esac
	_ovl_s_client "$node" "$secs" "$d4:$OVL_TLS_PORT" "$OVL_DIR/tls-client.log"
}

ovl_lo_servers() {
	local a
	_ovl_wait_listen lo "$OVL_TLS_PORT" 2 1 ||
		_ovl_s_server lo "127.0.0.1:$OVL_TLS_PORT" "[::1]:$OVL_TLS_PORT" || return 2
	if ! _ovl_wait_listen lo "$OVL_MUTE_PORT" 2 1; then
		# Accepts and never reads nor answers: the ClientHello sits unanswered.
		for a in 127.0.0.1 ::1; do
			ovl_exec lo timeout "$OVL_SERVER_TIMEOUT" python3 -c '
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' "$a" "$OVL_MUTE_PORT" </dev/null >>"$OVL_DIR/mute-server.log" 2>&1 &
			disown $! 2>/dev/null
		done
	fi
	_ovl_wait_listen lo "$OVL_TLS_PORT" 2 100 && _ovl_wait_listen lo "$OVL_MUTE_PORT" 2 100
}

ovl_lo_clients() { # [SECONDS] [MUTE_SECONDS]
	local secs=${1:-4} mute=${2:-2} ok=0 a
	for a in "127.0.0.1" "[::1]"; do
		_ovl_s_client lo "$secs" "$a:$OVL_TLS_PORT" "$OVL_DIR/lo-tls.log" || ok=1
		# the mute server: the ClientHello is never answered; the client gives up
		_ovl_s_client lo "$mute" "$a:$OVL_MUTE_PORT" "$OVL_DIR/lo-mute.log" &&
			{ echo "ovl_lo_clients: the mute server answered" >&2; ok=1; }
	done
	return $ok
}

ovl_lo_bulk() {
	local secs=${1:-2} fam=${2:-4} dst=127.0.0.1 spid rc bytes
	[ "$fam" = 6 ] && dst=::1
	ip netns exec "$OVL_NS_LO" timeout "$((secs + 8))" iperf3 -s -1 -B "$dst" -p "$OVL_IPERF_PORT" \
		>"$OVL_DIR/lo-bulk-server.log" 2>&1 &
	spid=$!
	_ovl_wait_listen lo "$OVL_IPERF_PORT" || { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; return 2; }
	ovl_exec lo timeout "$((secs + 5))" iperf3 -c "$dst" -p "$OVL_IPERF_PORT" -t "$secs" -J \
		--connect-timeout 2000 >"$OVL_DIR/lo-bulk.json" 2>&1
	rc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	bytes=$(tr -d ' \t\n' <"$OVL_DIR/lo-bulk.json" |
		sed -n 's/.*"sum_received":{[^}]*"bytes":\([0-9]*\).*/\1/p')
	[ "${bytes:-0}" -ge "$OVL_BULK_MIN" ]
}

_ovl_main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up) ovl_up "$@" ;;
	down) ovl_down ;;
	bulk)
		ovl_bulk "$@"
		local rc=$?
		echo "bulk: rc=$rc bytes=$(cat "$OVL_DIR/bulk.bytes" 2>/dev/null || echo 0)"
		return $rc
		;;
	tls)
		ovl_tls_server p2 || return
		if ovl_tls_client "${1:-5}" "${2:-4}"; then echo "tls: handshake completed"; else
			echo "tls: handshake did NOT complete"
			return 1
		fi
		;;
	exec) ovl_exec "$@" ;;
	*)
		echo "usage: $0 up {${OVL_VARIANTS// /|}} | down | bulk [S] [4|6] | tls [S] [4|6] | exec NODE CMD..." >&2
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_ovl_main "$@"
	exit $?
fi
