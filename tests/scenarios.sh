#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/scenarios.sh -- the lab scenarios of issue 8 (docs/scenarios.md), on top of tests/lab.sh.
#
# Source it; it sources tests/lab.sh (same namespaces mw-cli/mw-rtr/mw-srv${MW_LAB_ID}, same
# addresses, same TLS/SSH servers, lab_down cleans up everything).  Only documentation
# addresses; every traffic generator is bounded by `timeout`.
#
# TOPOLOGIES (scen_up NAME; MTUs of c0 r0 r1 s0):
#   srvbig   1500 1500 9000 9000  the server is the jumbo sender behind a routed 1500 hop:
#                                 the client's routes advertise MSS 8960/8940, s0 has TSO/GSO
#                                 off; the router drops the server's 9000-byte DF segments
#                                 (PKT_TOO_BIG) and answers with frag-needed / PTB mtu 1500,
#                                 or fragments them when they carry no DF.
#   flat     1500 1500 1500 1500  nothing too big anywhere (shrink: scen_shrink lowers r1).
#   vpn      1500 1500 1446 1446  a VPN-like 1446 hop; the server's routes advertise MSS
#                                 1460/1440, so the client sends 1500-byte segments that the
#                                 router cannot forward.
#   Any lab.sh variant (filtered, healthy, silent, aligned, ...) is accepted too and built by
#   lab_up.
#
# KNOBS (after scen_up):
#   scen_filter_icmp            the router's OUTPUT drops its own frag-needed / packet-too-big
#   scen_loss PROB              the router's FORWARD drops PROB (e.g. 0.05) of packets at random
#                               (netfilter statistic match; this kernel has no netem)
#   scen_nodf sysctl|lock       the server sends no DF: ip_no_pmtu_disc=1, or its IPv4 routes
#                               get `mtu lock` (Linux clears DF on a locked route)
#   scen_pytls MODE [PORT]      start tests/tools/tls-pmtu-server.py in mw-srv on both families
#                               (PORT default 8445) with IP(V6)_MTU_DISCOVER = MODE
#                               (dont|probe|want|do)
#   scen_shrink MTU             set r1's MTU (the router's egress towards the server)
#   scen_mtu_probing VAL        tcp_mtu_probing=VAL in the client
# TRAFFIC:
#   scen_tls N PORT FAM SECS    N sequential openssl s_client handshakes from mw-cli; prints
#                               and returns (via $SCEN_TLS_OK) how many completed
#   scen_bulk_start DIR FAM SECS [PARALLEL]
#                               background iperf3 (DIR fwd: client -> server, rev: server ->
#                               client); the receiver prints 1-s intervals to
#                               $MW_LAB_DIR/bulk-rx.log, flushed as they happen
#   scen_bulk_wait              wait for it (bounded by its own timeouts)
#   scen_bulk_intervals         "START BYTES" per receiver interval (streams summed)
#   scen_counter NODE FILE PROTO FIELD   one counter of /proc/net/{snmp,netstat}
#   scen_counter6 NODE FIELD             one counter of /proc/net/snmp6

# shellcheck disable=SC2034 # SCEN_WATCH is read by the callers' hooks
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh"
_MW_SCEN_SH=$(readlink -f "${BASH_SOURCE[0]}")
_MW_SCEN_TOOLS=$(dirname "$_MW_SCEN_SH")/tools
MW_SCEN_PYTLS_PORT=8445
SCEN_BULK_SPID=
SCEN_BULK_CPID=

# Runs in its own bash with set -e (see _mw_build): build topology $1 on tests/lab.sh's
# three namespaces; only the MTUs, routes and offloads differ.
_scen_build() {
	set -e
	local t=$1 c0 r0 r1 s0
	case $t in
	srvbig) c0=1500 r0=1500 r1=9000 s0=9000 ;;
	flat) c0=1500 r0=1500 r1=1500 s0=1500 ;;
	vpn) c0=1500 r0=1500 r1=1446 s0=1446 ;;
	esac
	# icmp_errors_use_inbound_ifaddr 0: these topologies never wrote it, and a new namespace
	# starts at 0, so writing it changes nothing; none depends on it (the router's ICMP leaves
	# by the interface the packet came in on, whose address the route back picks anyway).
	_mw_lab3 "$c0" "$r0" "$r1" "$s0" 0
	case $t in
	srvbig)
		# the client advertises the jumbo MSS its far side would allow
		_mw_defroutes cli "$MW_RTR0_4" "$MW_RTR0_6" "advmss 8960" "advmss 8940"
		_mw_defroutes srv "$MW_RTR1_4" "$MW_RTR1_6"
		# one wire packet per segment, so sizes in captures are the segments'
		ip netns exec "$MW_NS_SRV" ethtool -K s0 tso off gso off >/dev/null
		;;
	vpn)
		_mw_defroutes cli "$MW_RTR0_4" "$MW_RTR0_6"
		# as a server on a 1500 LAN would advertise
		_mw_defroutes srv "$MW_RTR1_4" "$MW_RTR1_6" "advmss 1460" "advmss 1440"
		;;
	*)
		_mw_defroutes cli "$MW_RTR0_4" "$MW_RTR0_6"
		_mw_defroutes srv "$MW_RTR1_4" "$MW_RTR1_6"
		;;
	esac
}

# scen_up NAME: a fresh lab (lab_down first, so no PMTU cache survives)
scen_up() {
	local t=${1:-}
	case $t in
	srvbig | flat | vpn) ;;
	filtered | fwdrop | rpfilter | healthy | silent | aligned) lab_up "$t"; return ;;
	*) echo "usage: scen_up {srvbig|flat|vpn|${MW_LAB_VARIANTS// /|}}" >&2; return 2 ;;
	esac
	_mw_build scen_up "$_MW_SCEN_SH" _scen_build "$t"
}

scen_filter_icmp() {
	lab_exec rtr iptables -w -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP &&
		lab_exec rtr ip6tables -w -A OUTPUT -p ipv6-icmp --icmpv6-type packet-too-big -j DROP
}

scen_loss() {
	lab_exec rtr iptables -w -A FORWARD -m statistic --mode random --probability "$1" -j DROP &&
		lab_exec rtr ip6tables -w -A FORWARD -m statistic --mode random --probability "$1" -j DROP
}

scen_nodf() {
	case $1 in
	sysctl) _mw_sysctl "$MW_NS_SRV" net.ipv4.ip_no_pmtu_disc=1 ;;
	lock)
		local m
		m=$(lab_exec srv cat /sys/class/net/s0/mtu)
		# the client is reached through the default route
		lab_exec srv ip route change default via "$MW_RTR1_4" mtu lock "$m"
		;;
	*) echo "scen_nodf sysctl|lock" >&2; return 2 ;;
	esac
	lab_exec srv ip route flush cache
}

scen_pytls() {
	local mode=$1 port=${2:-$MW_SCEN_PYTLS_PORT} d a n
	_mw_tls_keys || { echo "scen_pytls: key generation failed" >&2; return 2; }
	d=$(_mw_keydir)/tls
	[ -s "$d/full.pem" ] || cat "$d/leaf.pem" "$d/chain.pem" >"$d/full.pem"
	for a in "$MW_SRV4" "$MW_SRV6"; do
		lab_exec srv timeout "$MW_LAB_SERVER_TIMEOUT" python3 "$_MW_SCEN_TOOLS/tls-pmtu-server.py" \
			"$a" "$port" "$d/full.pem" "$d/leaf.key" "$mode" \
			</dev/null >>"$MW_LAB_DIR/pytls.log" 2>&1 &
		disown $! 2>/dev/null
	done
	n=100
	while [ "$(lab_exec srv ss -Hltn "sport = :$port" 2>/dev/null | wc -l)" -lt 2 ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || { echo "scen_pytls: not listening" >&2; cat "$MW_LAB_DIR/pytls.log" >&2; return 2; }
		sleep 0.1
	done
}

scen_shrink() { lab_exec rtr ip link set r1 mtu "$1"; }
scen_mtu_probing() { _mw_sysctl "$MW_NS_CLI" net.ipv4.tcp_mtu_probing="$1"; }

# scen_tls N PORT FAM SECS: N handshakes (each bounded by SECS), SCEN_TLS_OK = completed
scen_tls() {
	local n=$1 port=$2 fam=$3 secs=$4 dst i
	case $fam in 4) dst=$MW_SRV4 ;; 6) dst="[$MW_SRV6]" ;; *) return 2 ;; esac
	SCEN_TLS_OK=0
	for i in $(seq "$n"); do
		lab_exec cli timeout "$secs" stdbuf -oL openssl s_client -connect "$dst:$port" \
			-servername server.mw-lab.example </dev/null >"$MW_LAB_DIR/tls-$port-$fam-$i.log" 2>&1
		grep -q '^SSL handshake has read' "$MW_LAB_DIR/tls-$port-$fam-$i.log" &&
			SCEN_TLS_OK=$((SCEN_TLS_OK + 1))
	done
	echo "$SCEN_TLS_OK"
}

scen_bulk_start() {
	local dir=$1 fam=$2 secs=$3 par=${4:-1} dst rev=
	case $fam in 4) dst=$MW_SRV4 ;; 6) dst=$MW_SRV6 ;; *) return 2 ;; esac
	[ "$dir" = rev ] && rev=-R
	rm -f "$MW_LAB_DIR"/bulk-*.log
	lab_exec srv timeout "$((secs + 10))" iperf3 -s -1 -B "$dst" -p "$MW_IPERF_PORT" \
		-i 1 --forceflush >"$MW_LAB_DIR/bulk-srv.log" 2>&1 &
	SCEN_BULK_SPID=$!
	_mw_wait_listen srv "$MW_IPERF_PORT" || { echo "scen_bulk_start: no iperf3 server" >&2; return 2; }
	lab_exec cli timeout "$((secs + 8))" iperf3 -c "$dst" -p "$MW_IPERF_PORT" -t "$secs" \
		-P "$par" $rev -i 1 --forceflush --connect-timeout 2000 >"$MW_LAB_DIR/bulk-cli.log" 2>&1 &
	SCEN_BULK_CPID=$!
	if [ "$dir" = rev ]; then
		ln -sf bulk-cli.log "$MW_LAB_DIR/bulk-rx.log"
	else
		ln -sf bulk-srv.log "$MW_LAB_DIR/bulk-rx.log"
	fi
}

scen_bulk_wait() {
	[ -n "$SCEN_BULK_CPID" ] && wait "$SCEN_BULK_CPID" 2>/dev/null
	[ -n "$SCEN_BULK_SPID" ] && { kill "$SCEN_BULK_SPID" 2>/dev/null; wait "$SCEN_BULK_SPID" 2>/dev/null; }
	SCEN_BULK_CPID='' SCEN_BULK_SPID=''
	return 0
}

# receiver's interval lines "[  5]   3.00-4.00   sec  1.09 GBytes ..." -> "3 BYTES", streams
# summed, the final summary lines (sender/receiver) left out
scen_bulk_intervals() {
	awk '$1 == "[" && $2 != "SUM]" { $0 = "[" $2 " " substr($0, index($0, "]") + 1) }
		/^\[ *[0-9]+\] +[0-9.]+-[0-9.]+ +sec / && !/sender|receiver/ {
			split($2, t, "-"); if (t[2] - t[1] > 1.5) next
			v = $4; u = $5
			m = (u == "KBytes") ? 1024 : (u == "MBytes") ? 1048576 : (u == "GBytes") ? 1073741824 : 1
			s[int(t[1])] += v * m; if (int(t[1]) > mx) mx = int(t[1]); seen = 1
		}
		END { if (seen) for (i = 0; i <= mx; i++) printf "%d %.0f\n", i, s[i] }' \
		"$MW_LAB_DIR/bulk-rx.log" 2>/dev/null
}

# scen_counter NODE snmp|netstat PROTO FIELD
scen_counter() {
	lab_exec "$1" cat "/proc/net/$2" | awk -v p="$3:" -v f="$4" '
		$1 == p && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
		$1 == p && h { print $(idx[f]) + 0; exit }'
}
scen_counter6() { lab_exec "$1" cat /proc/net/snmp6 | awk -v f="$2" '$1 == f { print $2 + 0 }'; }
# iptables DROP packet counts of one chain: scen_ipt_drops NODE iptables|ip6tables CHAIN
scen_ipt_drops() {
	lab_exec "$1" "$2" -w -nvxL "$3" | awk 'NR > 2 && $3 == "DROP" { s += $1 } END { print s + 0 }'
}

# scen_cap_start NODE IFACE FILE FILTER...: tcpdump -v in NODE into FILE, bounded (60 s);
# returns once it listens.  scen_cap_stop ends it (its pid is in SCEN_CAP_PID).
SCEN_CAP_PID=
scen_cap_start() {
	local node=$1 ifc=$2 f=$3
	shift 3
	: >"$f"
	lab_exec "$node" timeout 60 tcpdump -l -n -v -i "$ifc" "$@" >"$f" 2>&1 &
	SCEN_CAP_PID=$!
	for _ in $(seq 50); do
		grep -q 'listening on' "$f" && return 0
		sleep 0.1
	done
	return 1
}
scen_cap_stop() {
	[ -n "$SCEN_CAP_PID" ] || return 0
	sleep 0.3
	kill "$SCEN_CAP_PID" 2>/dev/null
	wait "$SCEN_CAP_PID" 2>/dev/null
	SCEN_CAP_PID=
}
# "PAYLOAD_PACKETS DF_PAYLOAD_PACKETS MAX_LEN" of the IPv4 packets in a tcpdump -v capture
# whose TCP payload is not empty (the handshake's segments, not bare SYN/ACKs)
scen_cap_df() {
	awk '/^[0-9:.]+ IP \(/ { df = ($0 ~ /flags \[DF\]/); l = $0; sub(/.*length /, "", l); sub(/\).*/, "", l); next }
		/ length [1-9][0-9]*$/ { n++; if (df) d++; if (l + 0 > mx) mx = l + 0 }
		END { printf "%d %d %d\n", n, d, mx }' "$1"
}

# --- scenario drivers --------------------------------------------------------
# scen_drive NAME: build scenario NAME, run its traffic, measure its truth.  Both
# tests/e2e/test-scen-lab.sh (asserts the truth) and tests/e2e/test-accuracy.sh (asserts
# mtuwatch's findings) run these.  The caller may define two hooks:
#   scen_hook_start   called once the lab is up, right where monitoring must begin
#                     (for shrink: after the transfer is flowing, before the MTU drops);
#                     $SCEN_WATCH names the nodes to watch (e.g. "srv cli")
#   scen_hook_stop    called when the traffic has run (a stall is then several RTOs old)
# Truth goes to $MW_LAB_DIR/truth as "key value" lines; read it with scen_truth KEY.
# Scenario names: nodf-sysctl nodf-lock nodf-dont nodf-probe nodf-control closed lossy multi
# shrink4 shrink6 seed000-silent seed000-filtered vpn4 vpn6 filtered4 filtered6 probing4 probing6
# loopback
SCEN_ALL="nodf-sysctl nodf-lock nodf-dont nodf-probe nodf-control closed lossy multi shrink4
shrink6 seed000-silent seed000-filtered vpn4 vpn6 filtered4 filtered6 probing4 probing6 loopback"
SCEN_WATCH=
type scen_hook_start >/dev/null 2>&1 || scen_hook_start() { :; }
type scen_hook_stop >/dev/null 2>&1 || scen_hook_stop() { :; }

truth() { echo "$1 $2" >>"$MW_LAB_DIR/truth"; }
scen_truth() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$MW_LAB_DIR/truth" 2>/dev/null; }

# receiver bytes: total, before interval $1 and from interval $2 on ("-" = all)
_scen_bytes() {
	scen_bulk_intervals | awk -v a="${1:-0}" -v b="${2:-0}" \
		'{ t += $2; if ($1 < a) pre += $2; if ($1 >= b) post += $2; n++ }
		 END { printf "%.0f %.0f %.0f %d\n", t, pre, post, n }'
}
# zero receiver intervals at the end of the transfer (how long it has been stuck)
_scen_tail_zero() { scen_bulk_intervals | awk '{ z = ($2 == 0) ? z + 1 : 0 } END { print z + 0 }'; }
# the segment sizes (IP packet lengths) a capture saw sent more than once with the same
# sequence range, largest first, e.g. "1500 1500": what a sender re-sends
_scen_resent_sizes() {
	awk '/^[0-9:.]+ IP6? / { hdr = $0 }
		/ seq [0-9]+:[0-9]+/ {
			l = hdr; if (l ~ /payload length/) { sub(/.*payload length: /, "", l); sub(/[^0-9].*/, "", l); l += 40 }
			else { sub(/.*, length /, "", l); sub(/\).*/, "", l) }
			s = $0; sub(/.* seq /, "", s); sub(/,.*/, "", s)
			if (++n[s] == m) sz[s] = l
		}
		END { for (s in sz) print sz[s] }' m="${2:-2}" "$1" | sort -rn | uniq | tr '\n' ' '
}

# the smallest re-sent size above PMTU in a capture: the smallest size that did not get through
# (SENDS: how often it was sent, default 2)
_scen_stuck_min() { _scen_resent_sizes "$1" "${3:-2}" | tr ' ' '\n' | awk -v p="$2" '$1 > p' | sort -n | head -1; }
# truth of a capture CAP at path MTU P: stuck_sizes (sent >= 2 times, > P, comma list),
# stuck_min (the smallest of them), stuck3_min (the smallest sent >= 3 times: the man page's
# "sent again at least twice")
_scen_stuck_truth() {
	truth stuck_sizes "$(_scen_resent_sizes "$1" | tr ' ' '\n' | awk -v p="$2" '$1 > p' | tr '\n' ',' | sed 's/,$//')"
	truth stuck_min "$(_scen_stuck_min "$1" "$2")"
	truth stuck3_min "$(_scen_stuck_min "$1" "$2" 3)"
}

_scen_nodf() {
	local knob=$1 port cap=$MW_LAB_DIR/cap-srv.txt capc=$MW_LAB_DIR/cap-cli.txt
	scen_up srvbig || return 2
	SCEN_WATCH="srv cli"
	case $knob in
	sysctl | lock) scen_nodf "$knob"; lab_tls_server || return 2; port=$MW_TLS_PORT ;;
	dont | probe) scen_pytls "$knob" || return 2; port=$MW_SCEN_PYTLS_PORT ;;
	control) lab_tls_server || return 2; port=$MW_TLS_PORT ;;
	esac
	scen_hook_start
	scen_cap_start srv s0 "$cap" "ip and tcp src port $port"
	local p1=$SCEN_CAP_PID
	scen_cap_start cli c0 "$capc" "ip[6:2] & 0x3fff != 0"
	truth tls4_ok "$(scen_tls 4 "$port" 4 8)"
	truth tls6_ok "$(scen_tls 2 "$port" 6 8)"
	lab_exec cli timeout 8 curl -sk -o /dev/null -w '%{http_code}' "https://$MW_SRV4:$port/" \
		>"$MW_LAB_DIR/curl.out" 2>&1
	truth curl_code "$(cat "$MW_LAB_DIR/curl.out")"
	scen_cap_stop
	SCEN_CAP_PID=$p1 scen_cap_stop
	read -r n d mx < <(scen_cap_df "$cap")
	truth srv_payload_pkts "$n"
	truth srv_payload_df "$d"
	truth srv_max_len "$mx"
	truth cli_frags "$(grep -c 'flags \[+\]' "$capc")"
	truth srv_synack_df "$(grep -A1 'flags \[DF\]' "$cap" | grep -c 'Flags \[S\.\]')"
	truth srv_route_mtu "$(lab_exec srv ip route get "$MW_CLI4" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1)"
	scen_hook_stop
}

_scen_closed() {
	scen_up aligned || return 2
	SCEN_WATCH="srv cli"
	lab_tls_server && lab_ssh_server || return 2
	# a listener that never answers: the client gives up and closes (FIN) after 2 s
	lab_exec srv timeout 60 nc -l "$MW_SRV4" 8446 >/dev/null 2>&1 </dev/null &
	disown $! 2>/dev/null
	_mw_wait_listen srv 8446 || return 2
	scen_hook_start
	truth tls4_ok "$(scen_tls 6 "$MW_TLS_PORT" 4 8)"
	truth tls6_ok "$(scen_tls 2 "$MW_TLS_PORT" 6 8)"
	lab_ssh_client 8 && truth ssh_ok 1 || truth ssh_ok 0
	# a session that completes and then idles longer than any stall timer
	(sleep 7) | lab_exec cli timeout 10 openssl s_client -connect "$MW_SRV4:$MW_TLS_PORT" \
		>"$MW_LAB_DIR/idle.log" 2>&1 &
	local ip=$!
	lab_exec cli timeout 2 openssl s_client -connect "$MW_SRV4:8446" </dev/null \
		>"$MW_LAB_DIR/abandon.log" 2>&1
	truth abandoned_rc $?
	wait "$ip"
	grep -q '^SSL handshake has read' "$MW_LAB_DIR/idle.log" && truth idle_ok 1 || truth idle_ok 0
	truth cli_estab_8446 "$(lab_exec cli ss -Htn state established "dport = :8446" | wc -l)"
	scen_hook_stop
}

_scen_lossy() {
	scen_up aligned || return 2
	SCEN_WATCH="srv cli"
	lab_tls_server || return 2
	scen_loss 0.05
	scen_hook_start
	scen_bulk_start rev 4 6
	truth tls4_ok "$(scen_tls 4 "$MW_TLS_PORT" 4 10)"
	scen_bulk_wait
	read -r t _ _ n < <(_scen_bytes)
	truth bulk_bytes "$t"
	truth bulk_tail_zero "$(_scen_tail_zero)"
	truth srv_retrans "$(scen_counter srv snmp Tcp RetransSegs)"
	truth rtr_loss_drops "$(scen_ipt_drops rtr iptables FORWARD)"
	scen_hook_stop
}

_scen_multi() {
	scen_up healthy || return 2
	SCEN_WATCH="cli srv"
	lab_tls_server && lab_ssh_server || return 2
	scen_hook_start
	scen_bulk_start fwd 4 5 4
	lab_exec cli timeout 10 iperf3 -c "$MW_SRV6" -p 5202 -t 1 >/dev/null 2>&1 # no server: refused
	truth tls4_ok "$(scen_tls 3 "$MW_TLS_PORT" 4 8)"
	truth tls6_ok "$(scen_tls 2 "$MW_TLS_PORT" 6 8)"
	lab_ssh_client 8 && truth ssh_ok 1 || truth ssh_ok 0
	scen_bulk_wait
	read -r t _ _ _ < <(_scen_bytes)
	truth bulk_bytes "$t"
	truth cli_route_mtu "$(lab_exec cli ip route get "$MW_SRV4" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1)"
	scen_hook_stop
}

# shrink: a bulk transfer flows, monitoring starts, then r1 drops 1500 -> 1400 (ICMP filtered)
_scen_shrink() {
	local fam=$1 cap=$MW_LAB_DIR/cap-cli.txt filt
	scen_up flat || return 2
	SCEN_WATCH="cli"
	scen_filter_icmp
	# one wire packet per segment: the capture's sizes are then what the router sees (a
	# retransmitted TSO super-packet would show as 65212 bytes)
	lab_exec cli ethtool -K c0 tso off gso off >/dev/null
	if [ "$fam" = 4 ]; then filt="ip and tcp dst port $MW_IPERF_PORT and greater 1400"
	else filt="ip6 and tcp dst port $MW_IPERF_PORT and greater 1400"; fi
	scen_bulk_start fwd "$fam" 30
	# flowing for 2 s before anything watches
	for _ in $(seq 100); do
		[ "$(scen_bulk_intervals | awk '$2 > 0' | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	scen_hook_start
	scen_cap_start cli c0 "$cap" "$filt"
	# The interval count is read once the shrink is in place: the interval then under way
	# straddles it, every later one starts after it. Read before, a shrink that took a
	# second under load could let a whole interval of data through (a truth failed so once).
	local before
	scen_shrink 1400
	before=$(scen_bulk_intervals | wc -l)
	truth shrink_at "$before"
	# stuck for 8 intervals: several RTOs of re-sending the same segment. Meanwhile the host
	# goes on talking to the server in small packets (new connections, as any host with
	# other traffic does): a shrunk path and a dead peer differ only there (man page, FINDINGS)
	local k=0
	for _ in $(seq 200); do
		[ "$(_scen_tail_zero)" -ge 8 ] && break
		k=$((k + 1))
		if [ $((k % 10)) = 0 ]; then
			if [ "$fam" = 4 ]; then
				lab_exec cli timeout 2 nc -z -w 1 "$MW_SRV4" "$MW_IPERF_PORT" >/dev/null 2>&1
			else
				lab_exec cli timeout 2 nc -6 -z -w 1 "$MW_SRV6" "$MW_IPERF_PORT" >/dev/null 2>&1
			fi
		fi
		sleep 0.1
	done
	scen_cap_stop
	scen_hook_stop
	kill "$SCEN_BULK_CPID" 2>/dev/null
	scen_bulk_wait
	read -r t pre post n < <(_scen_bytes "$before" "$((before + 1))")
	truth bytes_before "$pre"
	truth bytes_after "$post"
	truth tail_zero "$(_scen_tail_zero)"
	truth resent_sizes "$(_scen_resent_sizes "$cap" | tr ' ' ',' | sed 's/,$//')"
	if [ "$fam" = 4 ]; then
		truth rtr_too_big "$(scen_counter rtr snmp Ip FragFails)"
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr iptables OUTPUT)"
	else
		truth rtr_too_big "$(scen_counter6 rtr Ip6InTooBigErrors)"
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr ip6tables OUTPUT)"
	fi
	truth cli_route_mtu "$(lab_exec cli ip route get "$( [ "$fam" = 4 ] && echo "$MW_SRV4" || echo "$MW_SRV6")" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1)"
}

# the server of seed 000: jumbo sender, a TLS certificate flight and iperf3 -R to one client
_scen_seed000() {
	local how=$1
	if [ "$how" = silent ]; then scen_up silent || return 2
	else scen_up srvbig && scen_filter_icmp || return 2; fi
	SCEN_WATCH="srv"
	lab_tls_server || return 2
	scen_hook_start
	scen_cap_start srv s0 "$MW_LAB_DIR/cap-srv.txt" "ip and src host $MW_SRV4 and tcp and greater 1400"
	scen_bulk_start rev 4 8
	lab_tls_client 9 && truth tls_ok 1 || truth tls_ok 0
	scen_bulk_wait
	scen_cap_stop
	_scen_stuck_truth "$MW_LAB_DIR/cap-srv.txt" 1500
	read -r t _ _ _ < <(_scen_bytes)
	truth bulk_bytes "$t"
	truth srv_retrans "$(scen_counter srv snmp Tcp RetransSegs)"
	truth r1_rx_dropped "$(lab_exec rtr cat /sys/class/net/r1/statistics/rx_dropped)"
	truth rtr_too_big "$(scen_counter rtr snmp Ip FragFails)"
	truth rtr_icmp_out "$(scen_counter rtr snmp Icmp OutMsgs)"
	truth rtr_icmp_dropped "$(scen_ipt_drops rtr iptables OUTPUT)"
	truth srv_route_mtu "$(lab_exec srv ip route get "$MW_CLI4" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1)"
	truth s0_mtu "$(lab_exec srv cat /sys/class/net/s0/mtu)"
	truth r1_mtu "$(lab_exec rtr cat /sys/class/net/r1/mtu)"
	scen_hook_stop
}

# a VPN-like 1446 hop, ICMP filtered; the client sends 1500-byte segments
_scen_vpn() {
	local fam=$1 dst ping=ping hdr=28 cap=$MW_LAB_DIR/cap-cli.txt
	scen_up vpn && scen_filter_icmp || return 2
	SCEN_WATCH="cli"
	if [ "$fam" = 6 ]; then dst=$MW_SRV6 ping="ping -6" hdr=48; else dst=$MW_SRV4; fi
	scen_hook_start
	scen_cap_start cli c0 "$cap" "tcp dst port $MW_IPERF_PORT and greater 1400"
	scen_bulk_start fwd "$fam" 8
	scen_bulk_wait
	scen_cap_stop
	read -r t _ _ _ < <(_scen_bytes)
	truth bulk_bytes "$t"
	truth resent_sizes "$(_scen_resent_sizes "$cap" | tr ' ' ',' | sed 's/,$//')"
	# the path's true MTU, by hand: 1446 goes through, 1447 does not
	lab_exec cli $ping -n -c 1 -W 1 -M "do" -s $((1446 - hdr)) "$dst" >/dev/null 2>&1 &&
		truth ping_1446 1 || truth ping_1446 0
	lab_exec cli $ping -n -c 1 -W 1 -M "do" -s $((1447 - hdr)) "$dst" >/dev/null 2>&1 &&
		truth ping_1447 1 || truth ping_1447 0
	if [ "$fam" = 4 ]; then
		truth rtr_too_big "$(scen_counter rtr snmp Ip FragFails)"
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr iptables OUTPUT)"
	else
		truth rtr_too_big "$(scen_counter6 rtr Ip6InTooBigErrors)"
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr ip6tables OUTPUT)"
	fi
	scen_hook_stop
}

# the client side of the seeds (lab variant filtered: a 9000 client, a 1500 hop, ICMP filtered),
# with tcp_mtu_probing=$2 on the sender
_scen_probing() {
	local fam=$1 dst
	scen_up filtered || return 2
	SCEN_WATCH="cli"
	scen_mtu_probing "$2"
	# one wire packet per segment: the capture's sizes are then what the router sees
	lab_exec cli ethtool -K c0 tso off gso off >/dev/null
	[ "$fam" = 6 ] && dst=$MW_SRV6 || dst=$MW_SRV4
	scen_hook_start
	if [ "$fam" = 6 ]; then
		scen_cap_start cli c0 "$MW_LAB_DIR/cap-cli.txt" "ip6 and tcp dst port $MW_IPERF_PORT and greater 1400"
	else
		scen_cap_start cli c0 "$MW_LAB_DIR/cap-cli.txt" "ip and tcp dst port $MW_IPERF_PORT and greater 1400"
	fi
	scen_bulk_start fwd "$fam" 12
	scen_bulk_wait
	scen_cap_stop
	_scen_stuck_truth "$MW_LAB_DIR/cap-cli.txt" 1500
	read -r t pre post n < <(_scen_bytes 1 8)
	truth bytes_first_s "$pre"
	truth bytes_last_s "$post"
	truth zero_intervals "$(scen_bulk_intervals | awk '$2 == 0' | wc -l)"
	truth intervals "$n"
	truth cli_mtu_probing "$(lab_exec cli sysctl -n net.ipv4.tcp_mtu_probing)"
	truth cli_route_mtu "$(lab_exec cli ip route get "$dst" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1)"
	truth cli_retrans "$(scen_counter cli snmp Tcp RetransSegs)"
	if [ "$fam" = 4 ]; then
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr iptables OUTPUT)"
	else
		truth rtr_icmp_dropped "$(scen_ipt_drops rtr ip6tables OUTPUT)"
	fi
	scen_hook_stop
}

# loopback in a lab namespace: a TLS server on 127.0.0.1 / ::1 whose big flight is dropped
# (iptables on lo), and a listener that never answers
_scen_loopback() {
	local d a
	scen_up flat || return 2
	SCEN_WATCH="cli rtr"
	_mw_tls_keys || return 2
	d=$(_mw_keydir)/tls
	for a in 127.0.0.1:9443 "[::1]:9443"; do
		lab_exec cli timeout "$MW_LAB_SERVER_TIMEOUT" openssl s_server -www -accept "$a" \
			-cert "$d/leaf.pem" -key "$d/leaf.key" -cert_chain "$d/chain.pem" \
			</dev/null >>"$MW_LAB_DIR/lo-server.log" 2>&1 &
		disown $! 2>/dev/null
	done
	lab_exec cli timeout 60 nc -l 127.0.0.1 9444 >/dev/null 2>&1 </dev/null &
	disown $! 2>/dev/null
	lab_exec cli iptables -w -A OUTPUT -o lo -p tcp --sport 9443 -m length --length 1200:65535 -j DROP
	lab_exec cli ip6tables -w -A OUTPUT -o lo -p tcp --sport 9443 -m length --length 1200:65535 -j DROP
	for _ in $(seq 50); do
		[ "$(lab_exec cli ss -Hltn "( sport = :9443 or sport = :9444 )" | wc -l)" -ge 3 ] && break
		sleep 0.1
	done
	scen_hook_start
	local n=0
	for a in 127.0.0.1:9443 "[::1]:9443"; do
		lab_exec cli timeout 7 openssl s_client -connect "$a" </dev/null >"$MW_LAB_DIR/lo-cli.log" 2>&1 &&
			grep -q '^SSL handshake has read' "$MW_LAB_DIR/lo-cli.log" && n=$((n + 1))
	done
	truth lo_tls_ok "$n"
	(sleep 7) | lab_exec cli timeout 7 openssl s_client -connect 127.0.0.1:9444 >"$MW_LAB_DIR/lo-silent.log" 2>&1
	grep -q '^SSL handshake has read' "$MW_LAB_DIR/lo-silent.log" && truth lo_silent_ok 1 || truth lo_silent_ok 0
	truth lo_drops "$(( $(scen_ipt_drops cli iptables OUTPUT) + $(scen_ipt_drops cli ip6tables OUTPUT) ))"
	truth cli_retrans "$(scen_counter cli snmp Tcp RetransSegs)"
	scen_hook_stop
}

scen_drive() {
	local s=$1
	rm -f "$MW_LAB_DIR/truth"
	case $s in
	nodf-sysctl | nodf-lock | nodf-dont | nodf-probe | nodf-control) _scen_nodf "${s#nodf-}" ;;
	closed) _scen_closed ;;
	lossy) _scen_lossy ;;
	multi) _scen_multi ;;
	shrink4 | shrink6) _scen_shrink "${s#shrink}" ;;
	seed000-silent | seed000-filtered) _scen_seed000 "${s#seed000-}" ;;
	vpn4 | vpn6) _scen_vpn "${s#vpn}" ;;
	probing4 | probing6) _scen_probing "${s#probing}" 1 ;;
	filtered4 | filtered6) _scen_probing "${s#filtered}" 0 ;;
	loopback) _scen_loopback ;;
	*) echo "scen_drive: unknown scenario '$s' ($SCEN_ALL)" >&2; return 2 ;;
	esac
}
