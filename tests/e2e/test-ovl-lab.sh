#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-ovl-lab.sh -- checks that tests/scenarios-ovl.sh reproduces the overlay
# black hole of seed 002 / issue 8 class 7 and the loopback setting of class 8, and pins
# down where the packets die on this kernel (a test of the lab only, not of mtuwatch).
# docs/scenarios-ovl.md explains each truth asserted here.
#
# Run as root: bash tests/e2e/test-ovl-lab.sh.  One `PASS: name` / `FAIL: name: why` line per
# case; always exits 0.  Uses MW_LAB_ID (default "ovltl") and removes what it created.

# shellcheck disable=SC2016,SC2317 # eval'd single-quoted checks; trap/indirect calls
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MW_LAB_ID=${MW_LAB_ID:-ovltl}
# shellcheck source-path=SCRIPTDIR source=../scenarios-ovl.sh
. "$HERE/../scenarios-ovl.sh"

T_WORK=$(mktemp -d "${TMPDIR:-/tmp}/mw-ovltl.XXXXXX")
export MW_LAB_KEYDIR=$T_WORK/keys
BT_PID=
CAP_PIDS=

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
check() { # check NAME WHY COMMAND...
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

_stop_pid() { # PID [SIGNAL]
	local p=$1 sig=${2:-TERM}
	[ -n "$p" ] || return 0
	kill "-$sig" "$p" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

cleanup() {
	local p
	for p in $CAP_PIDS; do _stop_pid "$p"; done
	_stop_pid "$BT_PID"
	ovl_down
	rm -rf "$T_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	fail ovl_lab_prereqs "must run as root"
	exit 0
fi
missing=
for c in ip iptables iperf3 openssl tcpdump timeout python3 bpftrace ethtool; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
	fail ovl_lab_prereqs "missing:$missing"
	exit 0
fi

# --- helpers -----------------------------------------------------------------

# Absolute counters (the lab's namespaces are fresh, so they start at 0).  Not nstat: its
# history file is shared by all namespaces, so its deltas mix them up.
snmp() { # NODE Proto Field, e.g. snmp n1 Ip FragFails
	ovl_exec "$1" cat /proc/net/snmp | awk -v p="$2:" -v f="$3" '
		$1 == p && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
		$1 == p && h { print $(idx[f]); exit }'
}
snmp6() { ovl_exec "$1" cat /proc/net/snmp6 | awk -v f="$2" '$1 == f { print $2 }'; }
gt0() { [ "${1:-0}" -gt 0 ] 2>/dev/null; }
eq0() { [ "${1:-x}" = 0 ]; }
mtu_of() { ovl_exec "$1" cat "/sys/class/net/$2/mtu"; }
bulk_bytes() { cat "$OVL_DIR/bulk.bytes" 2>/dev/null || echo 0; }
route_mtu() { # NODE DST: the cached/learned mtu of the route, or "none"
	local m
	m=$(ovl_exec "$1" ip route get "$2" 2>/dev/null | grep -Eo '(^|[[:space:]])mtu [0-9]+' |
		awk '{ print $2 }')
	echo "${m:-none}"
}

# tcpdump in a namespace: cap_start TAG NODE IFACE FILTER...; cap_stop_all.  Output in
# $T_WORK/TAG.cap.  Packets counted after SIGTERM (tcpdump -l prints as it goes).
cap_start() {
	local tag=$1 node=$2 ifc=$3
	shift 3
	: >"$T_WORK/$tag.cap"
	ip netns exec "$(ovl_ns "$node")" timeout 60 tcpdump -l -n -v -i "$ifc" -c 40 "$@" \
		>"$T_WORK/$tag.cap" 2>&1 &
	CAP_PIDS="$CAP_PIDS $!"
	for _ in $(seq 50); do
		grep -q 'listening on' "$T_WORK/$tag.cap" && return 0
		sleep 0.1
	done
	return 1
}
cap_stop_all() {
	local p
	sleep 0.3
	for p in $CAP_PIDS; do _stop_pid "$p"; done
	CAP_PIDS=
}

# Drop reasons and ICMP errors with bpftrace: kfree_skb keyed by (reason, netns inode, device
# name) and icmp_send (IPv4 only) keyed by (type, code, quoted source, quoted destination,
# netns).  tracefs is mounted in a private mount namespace only.
BT_PROG='tracepoint:skb:kfree_skb {
	$s = (struct sk_buff *)args->skbaddr;
	$ns = (uint32)0;
	$dev = "-";
	if ($s->dev != 0) { $ns = $s->dev->nd_net.net->ns.inum; $dev = $s->dev->name; }
	else if ($s->sk != 0) { $ns = $s->sk->__sk_common.skc_net.net->ns.inum; }
	@drop[args->reason, $ns, $dev] = count();
}
tracepoint:icmp:icmp_send {
	$s = (struct sk_buff *)args->skbaddr;
	$ns = (uint32)0;
	if ($s->dev != 0) { $ns = $s->dev->nd_net.net->ns.inum; }
	@icmp[args->type, args->code, ntop(args->saddr), ntop(args->daddr), $ns] = count();
}'
REASONS=$(timeout 10 unshare -m sh -c \
	'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null;
	 cat /sys/kernel/tracing/events/skb/kfree_skb/format' 2>/dev/null |
	grep -o '{ [0-9]*, "[A-Z0-9_]*" }' | tr -d '{}",' | awk '{ print $2, $1 }')
reason_num() { awk -v n="$1" '$1 == n { print $2 }' <<<"$REASONS"; }
bt_start() {
	BT_PID=
	[ -n "$REASONS" ] || return 1
	timeout 90 unshare -m sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec bpftrace -e "$1"' \
		sh "$BT_PROG" >"$T_WORK/bt.txt" 2>&1 &
	BT_PID=$!
	for _ in $(seq 150); do
		grep -q '^Attaching' "$T_WORK/bt.txt" && { sleep 0.5; return 0; }
		kill -0 "$BT_PID" 2>/dev/null || break
		sleep 0.2
	done
	_stop_pid "$BT_PID"
	BT_PID=
	return 1
}
bt_stop() { _stop_pid "$BT_PID" INT; BT_PID=; }
ino() { stat -L -c %i "/run/netns/$(ovl_ns "$1")" 2>/dev/null; }
# drops REASON NODE [DEV]: kfree_skb count with that reason in NODE's namespace (on DEV)
drops() {
	local r i
	r=$(reason_num "$1")
	i=$(ino "$2")
	if [ -z "$r" ] || [ -z "$i" ]; then echo 0; return; fi
	sed -n 's/^@drop\[\([0-9]*\), \([0-9]*\), \([^]]*\)\]: \([0-9]*\)$/\1 \2 \3 \4/p' \
		"$T_WORK/bt.txt" |
		awk -v r="$r" -v i="$i" -v d="${3:-}" \
			'$1 == r && $2 == i && (d == "" || $3 == d) { s += $4 } END { print s + 0 }'
}
# icmps TYPE CODE QSRC QDST NODE: icmp_send calls about a packet QSRC->QDST in NODE's namespace
icmps() {
	local i
	i=$(ino "$5")
	sed -n 's/^@icmp\[\([0-9]*\), \([0-9]*\), \([^,]*\), \([^,]*\), \([0-9]*\)\]: \([0-9]*\)$/\1 \2 \3 \4 \5 \6/p' \
		"$T_WORK/bt.txt" |
		awk -v t="$1" -v c="$2" -v s="$3" -v d="$4" -v i="$i" \
			'$1 == t && $2 == c && $3 == s && $4 == d && $5 == i { n += $6 } END { print n + 0 }'
}
bt_ok() { grep -q '^Attaching' "$T_WORK/bt.txt" 2>/dev/null; }
bt_why() { echo "bpftrace: $(grep -c '^@' "$T_WORK/bt.txt" 2>/dev/null) map lines $(grep -m1 -i 'error' "$T_WORK/bt.txt" 2>/dev/null | grep -v RLIMIT)"; }

up() {
	if ovl_up "$1" 2>"$T_WORK/up.err"; then
		pass "ovl_up_$1"
		return 0
	fi
	fail "ovl_up_$1" "$(tr '\n' ' ' <"$T_WORK/up.err" | cut -c1-300)"
	return 1
}
check_mtus() { # NAME "p1:eth0 n1:cali1 n1:vxlan0 n1:u1 ..." "8950 8950 ..."
	local name=$1 got='' x
	for x in $2; do got="$got $(mtu_of "${x%%:*}" "${x#*:}")"; done
	check "$name" "mtus $2 = $got, want $3" [ "${got# }" = "$3" ]
}

# --- mechanics -----------------------------------------------------------------

ovl_up bogus >/dev/null 2>&1
rc=$?
check ovl_up_rejects_unknown_variant "rc=$rc, want 2" [ "$rc" = 2 ]
ovl_down && ovl_down
check ovl_down_idempotent "ovl_down failed when nothing exists" [ $? = 0 ]

# The kernel (6.18 here) clamps a VXLAN bound to a lower device: created with mtu 8950 over a
# 1500 lower device it comes up at 1450, and `ip link set mtu 8950` is refused.  Only a lower
# device that shrinks after the fact leaves an oversized overlay behind (what the lab does).
ns_k="mw-ovl-k${MW_LAB_ID}"
ip netns add "$ns_k"
ip -n "$ns_k" link add kv0 mtu 1500 type veth peer name kv1 mtu 1500
ip -n "$ns_k" link add vxk mtu 8950 type vxlan id 7 remote 198.51.100.9 dstport 4789 dev kv0
m_created=$(ip netns exec "$ns_k" cat /sys/class/net/vxk/mtu)
ip -n "$ns_k" link set vxk mtu 8950 2>/dev/null
rc_set=$?
ip -n "$ns_k" link set kv0 mtu 9100
ip -n "$ns_k" link set vxk mtu 8950
ip -n "$ns_k" link set kv0 mtu 1500
m_after=$(ip netns exec "$ns_k" cat /sys/class/net/vxk/mtu)
ip netns del "$ns_k"
check kernel_clamps_bound_vxlan_mtu "created at $m_created, set rc=$rc_set, after lower shrank: $m_after" \
	eval '[ "$m_created" = 1450 ] && [ "$rc_set" != 0 ] && [ "$m_after" = 8950 ]'

# --- vxlan-df: IPv4 underlay 1500, overlay 8950, outer DF set (the stall) ---------

if up vxlan-df; then
	check_mtus vxlan_df_mtus "p1:eth0 n1:cali1 n1:vxlan0 n1:u1 n2:u2 n2:vxlan0 n2:cali2 p2:eth0" \
		"8950 8950 8950 1500 1500 8950 8950 8950"
	check vxlan_df_device "$(ovl_exec n1 ip -d link show vxlan0 | sed -n 3p)" \
		eval 'ovl_exec n1 ip -d link show vxlan0 | grep -q "remote 198.51.100.2 local 198.51.100.1 dev u1 .*dstport 4789 .*df set"'
	bt_start || fail vxlan_df_bpftrace "$(head -c 300 "$T_WORK/bt.txt")"
	cap_start lo1 n1 lo 'icmp or icmp6'
	cap_start pod1 p1 eth0 'icmp or icmp6'
	ovl_bulk 3 4
	rc=$?
	b=$(bulk_bytes)
	check vxlan_df_bulk_stalls "rc=$rc bytes=$b" [ "$rc" = 1 ]
	# small packets pass: the TCP handshake and iperf3's control exchange complete
	check vxlan_df_small_packets_pass "$(head -c 200 "$OVL_DIR/bulk.json")" \
		grep -q '"local_host"' "$OVL_DIR/bulk.json"
	ovl_tls_server 2>"$T_WORK/srv.err" || fail vxlan_df_tls_server "$(head -c 300 "$T_WORK/srv.err")"
	ovl_tls_client 5 4
	rc=$?
	check vxlan_df_tls_stalls "handshake completed (rc=$rc)" [ "$rc" = 1 ]
	# the other direction (pod 1 serves, its certificate flight dies on n1), as
	# tests/e2e/test-overlay.sh runs it
	ovl_tls_server p1 2>>"$T_WORK/srv.err" || fail vxlan_df_tls_server_p1 "$(head -c 300 "$T_WORK/srv.err")"
	ovl_tls_client 5 4 p2
	rc=$?
	check vxlan_df_tls_from_pod1_stalls "handshake completed (rc=$rc)" [ "$rc" = 1 ]
	cap_stop_all
	bt_stop
	r=$(snmp p1 Tcp RetransSegs)
	check vxlan_df_pod_retransmits "p1 Tcp RetransSegs=$r" gt0 "$r"
	i=$(snmp p1 Icmp InMsgs)
	c=$(grep -c 'need to frag' "$T_WORK/pod1.cap")
	check vxlan_df_pod_gets_no_icmp "p1 Icmp InMsgs=$i, captured $c frag-needed" \
		eval 'eq0 "$i" && [ "$c" = 0 ]'
	m=$(route_mtu p1 "$OVL_P2_4")
	check vxlan_df_pod_learns_no_pmtu "p1 route mtu $m" [ "$m" = none ]
	ff=$(snmp n1 Ip FragFails)
	fc=$(snmp n1 Ip FragCreates)
	check vxlan_df_node_outer_not_fragmented "n1 Ip FragFails=$ff FragCreates=$fc" \
		eval 'gt0 "$ff" && eq0 "$fc"'
	o=$(snmp n1 Icmp OutDestUnreachs)
	i=$(snmp n1 Icmp InDestUnreachs)
	check vxlan_df_node_icmp_to_itself "n1 Icmp OutDestUnreachs=$o InDestUnreachs=$i" \
		eval 'gt0 "$o" && gt0 "$i"'
	check vxlan_df_icmp_on_lo_about_outer_packet \
		"n1 lo: $(grep -m1 'need to frag' "$T_WORK/lo1.cap")" \
		grep -q "$OVL_U1_4 > $OVL_U1_4: ICMP $OVL_U2_4 unreachable - need to frag (mtu 1500)" \
		"$T_WORK/lo1.cap"
	check vxlan_df_icmp_quotes_vxlan_outer_header "n1 lo capture has no quoted VXLAN packet" \
		grep -q "$OVL_U1_4.[0-9]* > $OVL_U2_4.4789: VXLAN" "$T_WORK/lo1.cap"
	m=$(route_mtu n1 "$OVL_P2_4")
	check vxlan_df_node_inner_route_pmtu_1450 "n1 route to $OVL_P2_4: mtu $m" [ "$m" = 1450 ]
	m=$(route_mtu n1 "$OVL_U2_4")
	check vxlan_df_node_underlay_route_pmtu_1500 "n1 route to $OVL_U2_4: mtu $m" [ "$m" = 1500 ]
	ra=$(snmp n2 Ip ReasmReqds)
	check vxlan_df_no_fragments_reach_n2 "n2 Ip ReasmReqds=$ra" eq0 "$ra"
	if bt_ok; then
		d1=$(drops NOT_SPECIFIED n1 u1)
		d2=$(drops NOT_SPECIFIED n2 u2)
		tb=$(( $(drops PKT_TOO_BIG n1) + $(drops PKT_TOO_BIG p1) + $(drops PKT_TOO_BIG n2) + $(drops PKT_TOO_BIG p2) ))
		check vxlan_df_drop_reasons "NOT_SPECIFIED n1/u1=$d1 n2/u2=$d2 PKT_TOO_BIG(lab)=$tb; $(bt_why)" \
			eval 'gt0 "$d1" && gt0 "$d2" && eq0 "$tb"'
		s1=$(icmps 3 4 "$OVL_U1_4" "$OVL_U2_4" n1)
		s2=$(icmps 3 4 "$OVL_U2_4" "$OVL_U1_4" n2)
		sp=$(( $(icmps 3 4 "$OVL_P1_4" "$OVL_P2_4" n1) + $(icmps 3 4 "$OVL_P2_4" "$OVL_P1_4" n2) ))
		check vxlan_df_icmp_send_quotes_local_outer_source \
			"icmp_send frag-needed about outer n1=$s1 n2=$s2, about the pod flow=$sp; $(bt_why)" \
			eval 'gt0 "$s1" && gt0 "$s2" && eq0 "$sp"'
	fi
	# IPv6 pods over the same overlay heal: the node's IPv6 forwarding honours the PMTU
	# exception the VXLAN driver recorded (1450) and sends Packet Too Big to the pod.
	cap_start pod6 p1 eth0 'icmp6 and ip6[40] == 2'
	ovl_bulk 3 6
	rc=$?
	b=$(bulk_bytes)
	cap_stop_all
	check vxlan_df_pod6_bulk_completes "rc=$rc bytes=$b" [ "$rc" = 0 ]
	check vxlan_df_pod6_gets_ptb_from_node "p1: $(grep -m1 'too big' "$T_WORK/pod6.cap")" \
		grep -q "$OVL_CALI1_6 > $OVL_P1_6: .*packet too big, mtu 1450" "$T_WORK/pod6.cap"
	ovl_tls_client 8 6
	rc=$?
	check vxlan_df_tls6_completes "rc=$rc" [ "$rc" = 0 ]
	# IPv4 forwarding ignores that exception unless net.ipv4.ip_forward_use_pmtu=1
	ovl_exec n1 sysctl -qw net.ipv4.ip_forward_use_pmtu=1
	ovl_bulk 3 4
	rc=$?
	b=$(bulk_bytes)
	m=$(route_mtu p1 "$OVL_P2_4")
	check vxlan_df_forward_use_pmtu_heals_v4 "rc=$rc bytes=$b p1 route mtu $m" \
		eval '[ "$rc" = 0 ] && [ "$m" = 1450 ]'
fi

# --- vxlan: same, outer DF unset (Linux's default): outer packets fragmented, works ------

if up vxlan; then
	check vxlan_unset_device "$(ovl_exec n1 ip -d link show vxlan0 | sed -n 3p)" \
		eval '! ovl_exec n1 ip -d link show vxlan0 | grep -q "df set"'
	ovl_bulk 3 4
	rc=$?
	b=$(bulk_bytes)
	check vxlan_unset_bulk_completes "rc=$rc bytes=$b" [ "$rc" = 0 ]
	fc=$(snmp n1 Ip FragCreates)
	ro=$(snmp n2 Ip ReasmOKs)
	check vxlan_unset_outer_fragmented "n1 Ip FragCreates=$fc n2 Ip ReasmOKs=$ro" \
		eval 'gt0 "$fc" && gt0 "$ro"'
	i=$(snmp p1 Icmp InMsgs)
	m=$(route_mtu p1 "$OVL_P2_4")
	check vxlan_unset_pod_unaware "p1 Icmp InMsgs=$i route mtu $m" eval 'eq0 "$i" && [ "$m" = none ]'
fi

# --- vxlan6: IPv6 underlay (overhead 70): outer never fragmented, whatever `df` -------

if up vxlan6; then
	check_mtus vxlan6_mtus "p1:eth0 n1:vxlan0 n1:u1" "8950 8950 1500"
	check vxlan6_device "$(ovl_exec n1 ip -d link show vxlan0 | sed -n 3p)" \
		eval 'ovl_exec n1 ip -d link show vxlan0 | grep -q "remote $OVL_U2_6 local $OVL_U1_6 dev u1"'
	bt_start || fail vxlan6_bpftrace "$(head -c 300 "$T_WORK/bt.txt")"
	cap_start lo6 n1 lo 'icmp6 and ip6[40] == 2'
	cap_start pod6 p1 eth0 'icmp or icmp6'
	ovl_bulk 3 4
	rc=$?
	b=$(bulk_bytes)
	check vxlan6_bulk_stalls "rc=$rc bytes=$b" [ "$rc" = 1 ]
	bt_stop
	ff=$(snmp6 n1 Ip6FragFails)
	o=$(snmp6 n1 Icmp6OutPktTooBigs)
	i=$(snmp6 n1 Icmp6InPktTooBigs)
	check vxlan6_node_ptb_to_itself "n1 Ip6FragFails=$ff Icmp6OutPktTooBigs=$o Icmp6InPktTooBigs=$i" \
		eval 'gt0 "$ff" && gt0 "$o" && gt0 "$i"'
	i=$(snmp p1 Icmp InMsgs)
	check vxlan6_pod_gets_no_icmp "p1 Icmp InMsgs=$i" eq0 "$i"
	if bt_ok; then
		d1=$(drops NOT_SPECIFIED n1 u1)
		check vxlan6_drop_reasons "NOT_SPECIFIED n1/u1=$d1; $(bt_why)" gt0 "$d1"
	fi
	ovl_bulk 3 6
	rc=$?
	b=$(bulk_bytes)
	cap_stop_all
	check vxlan6_lo_ptb_about_outer "n1 lo: $(grep -m1 'too big' "$T_WORK/lo6.cap")" \
		grep -q "$OVL_U1_6 > $OVL_U1_6: .*packet too big, mtu 1500" "$T_WORK/lo6.cap"
	check vxlan6_pod6_bulk_completes "rc=$rc bytes=$b" [ "$rc" = 0 ]
	check vxlan6_pod6_gets_ptb_1430 "p1: $(grep -m1 'too big' "$T_WORK/pod6.cap")" \
		grep -q "$OVL_CALI1_6 > $OVL_P1_6: .*packet too big, mtu 1430" "$T_WORK/pod6.cap"
fi

# --- healthy / healthy6: overlay MTU = underlay - overhead: no fragments, no ICMP --------

for v in healthy healthy6; do
	up "$v" || continue
	[ "$v" = healthy ] && want="1450 1450 1450 1500" || want="1430 1430 1430 1500"
	check_mtus "${v}_mtus" "p1:eth0 n1:cali1 n1:vxlan0 n1:u1" "$want"
	ovl_bulk 2 4
	rc4=$?
	ovl_bulk 2 6
	rc6=$?
	check "${v}_bulk_completes" "v4 rc=$rc4 v6 rc=$rc6" eval '[ "$rc4" = 0 ] && [ "$rc6" = 0 ]'
	ovl_tls_server 2>/dev/null
	ovl_tls_client 8 4
	rc4=$?
	ovl_tls_client 8 6
	rc6=$?
	check "${v}_tls_completes" "v4 rc=$rc4 v6 rc=$rc6" eval '[ "$rc4" = 0 ] && [ "$rc6" = 0 ]'
	f="$(snmp n1 Ip FragCreates) $(snmp n1 Ip FragFails) $(snmp6 n1 Ip6FragFails) $(snmp n2 Ip FragCreates) $(snmp n2 Ip FragFails) $(snmp6 n2 Ip6FragFails)"
	check "${v}_no_fragmentation" "n1/n2 FragCreates FragFails Ip6FragFails: $f" [ "$f" = "0 0 0 0 0 0" ]
	p="$(snmp p1 Icmp InDestUnreachs) $(snmp6 p1 Icmp6InPktTooBigs) $(snmp p2 Icmp InDestUnreachs) $(snmp6 p2 Icmp6InPktTooBigs)"
	check "${v}_pods_get_no_ptb" "p1/p2 InDestUnreachs InPktTooBigs: $p" [ "$p" = "0 0 0 0" ]
done

# --- lo: loopback TLS, a server that never answers the ClientHello, loss on lo ----------

if up lo; then
	if ovl_lo_servers 2>"$T_WORK/srv.err"; then pass lo_servers_start; else
		fail lo_servers_start "$(tr '\n' ' ' <"$T_WORK/srv.err" | cut -c1-200)"
	fi
	ovl_lo_clients 5
	rc=$?
	check lo_tls_completes_and_mute_server_never_answers "rc=$rc $(tail -n1 "$OVL_DIR/lo-mute.log")" \
		[ "$rc" = 0 ]
	check lo_mute_server_got_the_clienthello "no ClientHello queued at :$OVL_MUTE_PORT" \
		eval 'ovl_exec lo ss -Htn "sport = :$OVL_MUTE_PORT" | awk "\$2 > 0" | grep -q .'
	# no netem on this kernel: random loss with netfilter's statistic match
	ovl_exec lo iptables -w -A OUTPUT -o lo -p tcp -m statistic --mode random \
		--probability 0.15 -j DROP
	ovl_exec lo ip6tables -w -A OUTPUT -o lo -p tcp -m statistic --mode random \
		--probability 0.15 -j DROP
	# At 15 % loss a handshake now and then outlives the client's 8 s (a SYN lost three
	# times backs off 1 + 2 + 4 s), and now and then a round's few dozen packets all get
	# through (0.85^20 is ~4 %): up to three rounds, until one completes with drops counted.
	for _ in 1 2 3; do
		ovl_lo_clients 8
		rc=$?
		n=0
		for ipt in iptables ip6tables; do
			n=$((n + $(ovl_exec lo "$ipt" -w -nvxL OUTPUT |
				awk 'NR > 2 && $3 == "DROP" { s += $1 } END { print s + 0 }')))
		done
		[ "$rc" = 0 ] && gt0 "$n" && break
	done
	r=$(snmp lo Tcp RetransSegs)
	check lo_lossy_tls_still_completes "rc=$rc dropped=$n retrans=$r" eval '[ "$rc" = 0 ] && gt0 "$n"'
	# At 15 % loss a transfer now and then outlives its timeout (a segment, or iperf3's own
	# control exchange, lost five times in a row backs off past it): one more try each.
	ovl_lo_bulk 2 4 || ovl_lo_bulk 2 4
	rc4=$?
	ovl_lo_bulk 2 6 || ovl_lo_bulk 2 6
	rc6=$?
	r=$(snmp lo Tcp RetransSegs)
	check lo_lossy_bulk_completes_with_retransmissions "v4 rc=$rc4 v6 rc=$rc6 retrans=$r" \
		eval '[ "$rc4" = 0 ] && [ "$rc6" = 0 ] && gt0 "$r"'
	check lo_observer_namespace "o0 in $(ovl_ns ob): $(ovl_exec ob ip -br addr show o0 2>&1)" \
		eval 'ovl_exec ob ip -br addr show o0 | grep -q 192.0.2.2/24'
	check lo_mtu_65536 "lo mtu $(mtu_of lo lo)" [ "$(mtu_of lo lo)" = 65536 ]
fi

ovl_down
left=
for n in n1 n2 p1 p2 lo ob; do
	[ -e "/run/netns/$(ovl_ns $n)" ] && left="$left $(ovl_ns $n)"
done
[ -e "$OVL_DIR" ] && left="$left $OVL_DIR"
check ovl_down_removes_everything "left behind:$left" [ -z "$left" ]
exit 0
