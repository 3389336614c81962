#!/usr/bin/env bash
# tests/e2e/test-lab.sh -- checks that tests/lab.sh reproduces each MTU
# black-hole incident (a test of the lab only, not of mtuwatch).
#
# Run as root: bash tests/e2e/test-lab.sh
# Prints one line per test case, `PASS: name` or `FAIL: name: reason`, and
# always exits 0.  Takes about a minute.  Uses MW_LAB_ID (default "tl", i.e.
# namespaces mw-clitl, mw-rtrtl, mw-srvtl) and removes everything it created.

# shellcheck disable=SC2016,SC2317 # eval'd single-quoted checks; trap/indirect calls
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MW_LAB_ID=${MW_LAB_ID:-tl}
# shellcheck source-path=SCRIPTDIR source=../lab.sh
. "$HERE/../lab.sh"

T_KEYS=${TMPDIR:-/tmp}/mw-lab${MW_LAB_ID}-testkeys
T_WORK=${TMPDIR:-/tmp}/mw-lab${MW_LAB_ID}-testwork
export MW_LAB_KEYDIR=$T_KEYS
BT_PID=
CAP_PID=

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
# check NAME REASON CONDITION...: PASS if the command succeeds
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

_t_stop_pid() { # PID [SIGNAL]: SIGNAL (default TERM), wait up to 10 s, SIGKILL
	local p=$1 sig=${2:-TERM} i
	[ -n "$p" ] || return 0
	kill "-$sig" "$p" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

cleanup() {
	_t_stop_pid "$CAP_PID"
	_t_stop_pid "$BT_PID"
	lab_down
	rm -rf "$T_KEYS" "$T_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	fail lab_prereqs "must run as root"
	exit 0
fi
missing=
for c in ip iptables ip6tables ethtool iperf3 openssl sshd ssh ssh-keygen tcpdump timeout; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
	fail lab_prereqs "missing:$missing"
	exit 0
fi
rm -rf "$T_WORK"
mkdir -p "$T_WORK"

# --- helpers ---------------------------------------------------------------

# /proc/net/snmp counter: snmp NODE Proto Field (e.g. snmp cli Tcp RetransSegs);
# with FILE=netstat: /proc/net/netstat (e.g. TcpExt IPReversePathFilter)
snmp() {
	lab_exec "$1" cat "/proc/net/${FILE:-snmp}" | awk -v p="$2:" -v f="$3" '
		$1 == p && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
		$1 == p && h { print $(idx[f]); exit }'
}
# /proc/net/snmp6 counter: snmp6 NODE Field (e.g. Icmp6OutPktTooBigs)
snmp6() { lab_exec "$1" cat /proc/net/snmp6 | awk -v f="$2" '$1 == f { print $2 }'; }
# netstat-style drop counter of an iptables rule: ipt_pkts NODE iptables|ip6tables CHAIN
ipt_pkts() { lab_exec "$1" "$2" -w -nvxL "$3" | awk 'NR > 2 && $3 == "DROP" { s += $1 } END { print s + 0 }'; }
route_has_mtu() { # route_has_mtu NODE DST [MTU]: route cache shows mtu (MTU)
	local out
	out=$(lab_exec "$1" ip route get "$2" 2>/dev/null)
	if [ -n "${3:-}" ]; then
		grep -Eq "(^|[[:space:]])mtu $3([[:space:]]|$)" <<<"$out"
	else
		grep -Eq '(^|[[:space:]])mtu [0-9]' <<<"$out"
	fi
}
gt0() { [ "${1:-0}" -gt 0 ] 2>/dev/null; }
eq0() { [ "${1:-x}" = 0 ]; }
bulk_bytes() { cat "$MW_LAB_DIR/bulk.bytes" 2>/dev/null || echo 0; }

# Packet capture in a namespace: cap_start NODE IFACE FILTER...; cap_stop
# (output in $T_WORK/cap.txt)
cap_start() {
	local node=$1 ifc=$2 i
	shift 2
	: >"$T_WORK/cap.txt"
	lab_exec "$node" timeout 30 tcpdump -l -n -v -i "$ifc" -c 20 "$@" \
		>"$T_WORK/cap.txt" 2>&1 &
	CAP_PID=$!
	for i in $(seq 50); do
		grep -q 'listening on' "$T_WORK/cap.txt" && return 0
		sleep 0.1
	done
	return 1
}
cap_stop() { sleep 0.3; _t_stop_pid "$CAP_PID"; CAP_PID=; }

# Drop-reason tracing with bpftrace, keyed by (reason, netns inode).
# tracefs is mounted in a private mount namespace only.
BT_PROG='tracepoint:skb:kfree_skb {
	$s = (struct sk_buff *)args->skbaddr;
	$ns = (uint32)0;
	if ($s->dev != 0) { $ns = $s->dev->nd_net.net->ns.inum; }
	else if ($s->sk != 0) { $ns = $s->sk->__sk_common.skc_net.net->ns.inum; }
	@[args->reason, $ns] = count();
}'
BT_OK=
REASONS=
if command -v bpftrace >/dev/null 2>&1; then
	REASONS=$(timeout 10 unshare -m sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null;
		 cat /sys/kernel/tracing/events/skb/kfree_skb/format' 2>/dev/null |
		grep -o '{ [0-9]*, "[A-Z0-9_]*" }' | tr -d '{}",' | awk '{ print $2, $1 }')
	[ -n "$REASONS" ] && BT_OK=1
fi
reason_num() { awk -v n="$1" '$1 == n { print $2 }' <<<"$REASONS"; }
bt_start() {
	BT_PID=
	[ -n "$BT_OK" ] || return 1
	timeout 60 unshare -m sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec bpftrace -e "$1"' \
		sh "$BT_PROG" >"$T_WORK/bt.txt" 2>&1 &
	BT_PID=$!
	for _ in $(seq 100); do
		grep -q '^Attaching' "$T_WORK/bt.txt" && { sleep 0.3; return 0; }
		kill -0 "$BT_PID" 2>/dev/null || break
		sleep 0.2
	done
	_t_stop_pid "$BT_PID"
	BT_PID=
	return 1
}
# SIGINT makes bpftrace print its maps (tcpdump, which inherits an ignored
# SIGINT as a background job, is stopped with SIGTERM instead)
bt_stop() { _t_stop_pid "$BT_PID" INT; BT_PID=; }
# bt_count REASON_NAME NODE: drops with that reason in NODE's namespace
bt_count() {
	local r ino
	r=$(reason_num "$1")
	ino=$(stat -L -c %i "/run/netns/$(lab_ns "$2")" 2>/dev/null)
	if [ -z "$r" ] || [ -z "$ino" ]; then
		echo 0
		return
	fi
	sed -n 's/^@\[\([0-9]*\), \([0-9]*\)\]: \([0-9]*\)$/\1 \2 \3/p' "$T_WORK/bt.txt" |
		awk -v r="$r" -v i="$ino" '$1 == r && $2 == i { s += $3 } END { print s + 0 }'
}
# check_reasons NAME "REASON@NODE ..."
check_reasons() {
	local name=$1 want=$2 w c bad=
	if [ -z "$BT_OK" ] || ! grep -q '^Attaching' "$T_WORK/bt.txt" 2>/dev/null; then
		fail "$name" "bpftrace unavailable: $(grep -m1 -i error "$T_WORK/bt.txt" 2>/dev/null)"
		return
	fi
	for w in $want; do
		c=$(bt_count "${w%@*}" "${w#*@}")
		gt0 "$c" || bad="$bad ${w} count=$c"
	done
	# bpftrace under load has once printed no maps at all (seen in CI, not reproduced):
	# trace the same traffic once more before calling the lab wrong.
	if [ -n "$bad" ] && [ -z "${RETRIED:-}" ]; then
		local maps
		maps=$(grep -c '^@\[' "$T_WORK/bt.txt")
		RETRIED=1 bt_start && { lab_bulk "${name%%_drop_reasons}" 3 >/dev/null 2>&1; bt_stop; }
		RETRIED=1 check_reasons "$name" "$want"
		[ "$maps" -gt 0 ] || echo "note: $name: first bpftrace run printed no maps" >&2
		return
	fi
	if [ -z "$bad" ]; then pass "$name"; else
		fail "$name" "missing drops:$bad ($(grep -c '^@\[' "$T_WORK/bt.txt") map lines)"
	fi
}

up() { # up VARIANT: one test case
	if lab_up "$1" 2>"$T_WORK/up.err"; then
		pass "lab_up_$1"
		return 0
	fi
	fail "lab_up_$1" "$(tr '\n' ' ' <"$T_WORK/up.err" | cut -c1-200)"
	return 1
}
mtus() { # mtus "c0 r0 r1 s0" expected
	local want=$1 got
	got="$(lab_exec cli cat /sys/class/net/c0/mtu) $(lab_exec rtr cat /sys/class/net/r0/mtu)"
	got="$got $(lab_exec rtr cat /sys/class/net/r1/mtu) $(lab_exec srv cat /sys/class/net/s0/mtu)"
	[ "$got" = "$want" ] || { echo "mtus c0/r0/r1/s0 = $got, want $want"; return 1; }
}
check_mtus() {
	local why
	if why=$(mtus "$2"); then pass "$1"; else fail "$1" "$why"; fi
}

# --- lab mechanics ---------------------------------------------------------

lab_up bogus >/dev/null 2>&1
rc=$?
check lab_up_rejects_unknown_variant "rc=$rc, want 2" [ "$rc" = 2 ]
lab_down && lab_down
check lab_down_idempotent "lab_down failed when nothing exists" [ $? = 0 ]

# --- (a) filtered: router drops its own ICMP frag-needed / PTB --------------

if up filtered; then
	check_mtus filtered_mtus "9000 9000 1500 1500"
	bt_start
	cap_start cli c0 'icmp or icmp6'
	lab_bulk filtered 3
	rc=$?
	b4=$(bulk_bytes)
	lab_bulk filtered 2 6
	rc6=$?
	b6=$(bulk_bytes)
	cap_stop
	bt_stop
	check filtered_bulk_stalls "rc=$rc bytes=$b4" [ "$rc" = 1 ]
	check filtered_bulk6_stalls "rc=$rc6 bytes=$b6" [ "$rc6" = 1 ]
	r=$(snmp cli Tcp RetransSegs)
	check filtered_client_retransmits "Tcp RetransSegs=$r" gt0 "$r"
	check filtered_no_pmtu_learned "$(lab_exec cli ip route get "$MW_SRV4" | tr '\n' ' ')" \
		eval '! route_has_mtu cli "$MW_SRV4"'
	check filtered_no_pmtu6_learned "$(lab_exec cli ip -6 route get "$MW_SRV6" | tr '\n' ' ')" \
		eval '! route_has_mtu cli "$MW_SRV6"'
	n4=$(ipt_pkts rtr iptables OUTPUT)
	n6=$(ipt_pkts rtr ip6tables OUTPUT)
	check filtered_router_drops_icmp "router OUTPUT drops v4=$n4 v6=$n6" eval 'gt0 "$n4" && gt0 "$n6"'
	c=$(grep -c -e 'need to frag' -e 'packet too big' "$T_WORK/cap.txt")
	check filtered_client_sees_no_icmp "client captured $c PTB" [ "$c" = 0 ]
	check_reasons filtered_drop_reasons "PKT_TOO_BIG@rtr NETFILTER_DROP@rtr"
fi

# --- (b) fwdrop: PTB (mtu 1446) reaches the client, its firewall drops it ---

if up fwdrop; then
	check_mtus fwdrop_mtus "9000 9000 1446 1446"
	bt_start
	cap_start cli c0 'icmp or icmp6'
	lab_bulk fwdrop 3
	rc=$?
	b4=$(bulk_bytes)
	lab_bulk fwdrop 2 6
	rc6=$?
	b6=$(bulk_bytes)
	cap_stop
	bt_stop
	check fwdrop_bulk_stalls "rc=$rc bytes=$b4" [ "$rc" = 1 ]
	check fwdrop_bulk6_stalls "rc=$rc6 bytes=$b6" [ "$rc6" = 1 ]
	n4=$(ipt_pkts cli iptables INPUT)
	n6=$(ipt_pkts cli ip6tables INPUT)
	check fwdrop_client_firewall_drops "client INPUT drops v4=$n4 v6=$n6" eval 'gt0 "$n4" && gt0 "$n6"'
	check fwdrop_ptb_advertises_1446 "capture: $(grep -m1 -e 'need to frag' -e 'too big' "$T_WORK/cap.txt")" \
		eval 'grep -q "need to frag (mtu 1446)" "$T_WORK/cap.txt" && grep -q "packet too big, mtu 1446" "$T_WORK/cap.txt"'
	check fwdrop_no_pmtu_learned "$(lab_exec cli ip route get "$MW_SRV4" | tr '\n' ' ')" \
		eval '! route_has_mtu cli "$MW_SRV4" && ! route_has_mtu cli "$MW_SRV6"'
	check_reasons fwdrop_drop_reasons "PKT_TOO_BIG@rtr NETFILTER_DROP@cli"
fi

# --- (c) rpfilter: ICMP from 203.0.113.1 fails the client's strict rp_filter

if up rpfilter; then
	check_mtus rpfilter_mtus "9000 9000 1500 1500"
	bt_start
	cap_start cli c0 'icmp'
	lab_bulk rpfilter 3
	rc=$?
	b4=$(bulk_bytes)
	cap_stop
	bt_stop
	check rpfilter_bulk_stalls "rc=$rc bytes=$b4" [ "$rc" = 1 ]
	check rpfilter_icmp_from_mgmt_addr "capture: $(grep -m1 'need to frag' "$T_WORK/cap.txt")" \
		grep -q "$MW_RTR_MGMT4 > $MW_CLI4: ICMP $MW_SRV4 unreachable - need to frag (mtu 1500)" "$T_WORK/cap.txt"
	n=$(snmp cli Icmp InDestUnreachs)
	check rpfilter_icmp_not_delivered "client Icmp InDestUnreachs=$n" eq0 "$n"
	n=$(FILE=netstat snmp cli TcpExt IPReversePathFilter)
	check rpfilter_client_rp_counter "client TcpExt IPReversePathFilter=$n" gt0 "$n"
	check rpfilter_no_pmtu_learned "$(lab_exec cli ip route get "$MW_SRV4" | tr '\n' ' ')" \
		eval '! route_has_mtu cli "$MW_SRV4"'
	check rpfilter_no_route_to_mgmt "client has a route to $MW_RTR_MGMT4" \
		eval '! lab_exec cli ip route get "$MW_RTR_MGMT4" >/dev/null 2>&1'
	check_reasons rpfilter_drop_reasons "PKT_TOO_BIG@rtr IP_RPFILTER@cli"
fi

# --- (d) healthy: PMTUD works ----------------------------------------------

if up healthy; then
	check_mtus healthy_mtus "9000 9000 1500 1500"
	lab_bulk healthy 2
	rc=$?
	b4=$(bulk_bytes)
	lab_bulk healthy 2 6
	rc6=$?
	b6=$(bulk_bytes)
	check healthy_bulk_completes "rc=$rc bytes=$b4" [ "$rc" = 0 ]
	check healthy_bulk6_completes "rc=$rc6 bytes=$b6" [ "$rc6" = 0 ]
	check healthy_pmtu_learned_1500 "$(lab_exec cli ip route get "$MW_SRV4" | tr '\n' ' ')" \
		route_has_mtu cli "$MW_SRV4" 1500
	check healthy_pmtu6_learned_1500 "$(lab_exec cli ip -6 route get "$MW_SRV6" | tr '\n' ' ')" \
		route_has_mtu cli "$MW_SRV6" 1500
	n=$(snmp rtr Icmp OutDestUnreachs)
	check healthy_router_sent_ptb "router Icmp OutDestUnreachs=$n" gt0 "$n"
fi

# --- (e) silent: server's jumbo frames dropped by the router, no ICMP ------

if up silent; then
	check_mtus silent_mtus "9000 9000 1500 9000"
	gso=$(lab_exec srv ethtool -k s0 | awk '/^(generic-segmentation-offload|tcp-segmentation-offload):/ { printf "%s ", $2 }')
	check silent_s0_gso_off "s0 tso/gso: $gso" [ "$gso" = "off off " ]
	if lab_tls_server 2>"$T_WORK/srv.err" && lab_ssh_server 2>>"$T_WORK/srv.err"; then
		pass silent_servers_start
	else
		fail silent_servers_start "$(tr '\n' ' ' <"$T_WORK/srv.err" | cut -c1-200)"
	fi
	lab_tls_client 4
	rc=$?
	check silent_tls_handshake_stalls "handshake completed (rc=$rc)" [ "$rc" = 1 ]
	lab_ssh_client 4
	rc=$?
	# small packets flow both ways: banner exchange and the server's ~1 kB
	# KEXINIT arrive; only the >1500-byte KEX reply is lost
	check silent_small_packets_flow "$(tail -n1 "$MW_LAB_DIR/ssh-client.log")" \
		grep -q 'SSH2_MSG_KEXINIT received' "$MW_LAB_DIR/ssh-client.log"
	check silent_ssh_kex_stalls "rc=$rc: $(grep -m1 -e 'NEWKEYS' -e 'expecting' "$MW_LAB_DIR/ssh-client.log")" \
		eval '[ "$rc" = 1 ] && grep -q "expecting SSH2_MSG_KEX_ECDH_REPLY" "$MW_LAB_DIR/ssh-client.log"'
	# twice: a stall must not heal itself (no PMTU learned on either end)
	lab_tls_client 3
	rc=$?
	check silent_tls_stalls_again "second handshake completed" [ "$rc" = 1 ]
	lab_bulk silent 2
	rc=$?
	b4=$(bulk_bytes)
	check silent_bulk_reverse_stalls "rc=$rc bytes=$b4" [ "$rc" = 1 ]
	d=$(lab_exec rtr cat /sys/class/net/r1/statistics/rx_dropped)
	check silent_router_rx_drops "r1 rx_dropped=$d" gt0 "$d"
	o4=$(snmp rtr Icmp OutMsgs)
	o6=$(snmp6 rtr Icmp6OutPktTooBigs)
	i4=$(snmp cli Icmp InDestUnreachs)
	i6=$(snmp6 srv Icmp6InPktTooBigs)
	check silent_no_icmp "router Icmp OutMsgs=$o4 Icmp6OutPktTooBigs=$o6 cli InDestUnreachs=$i4 srv Icmp6InPktTooBigs=$i6" \
		eval 'eq0 "$o4" && eq0 "$o6" && eq0 "$i4" && eq0 "$i6"'
fi

# --- (f) aligned: same as silent with s0 MTU 1500 --------------------------

if up aligned; then
	check_mtus aligned_mtus "9000 9000 1500 1500"
	if lab_tls_server 2>"$T_WORK/srv.err" && lab_ssh_server 2>>"$T_WORK/srv.err"; then
		pass aligned_servers_start
	else
		fail aligned_servers_start "$(tr '\n' ' ' <"$T_WORK/srv.err" | cut -c1-200)"
	fi
	lab_tls_client 5
	rc=$?
	nread=$(sed -n 's/^SSL handshake has read \([0-9]*\) bytes.*/\1/p' "$MW_LAB_DIR/tls-client.log")
	check aligned_tls_handshake_completes "rc=$rc $(tail -n1 "$MW_LAB_DIR/tls-client.log")" [ "$rc" = 0 ]
	check aligned_tls_flight_exceeds_1500 "handshake read ${nread:-?} bytes" \
		eval '[ "${nread:-0}" -gt 4000 ]'
	lab_tls_client 5 6
	rc=$?
	check aligned_tls6_handshake_completes "rc=$rc" [ "$rc" = 0 ]
	lab_ssh_client 5
	rc=$?
	check aligned_ssh_kex_completes "rc=$rc: $(grep -m1 -e 'expecting' "$MW_LAB_DIR/ssh-client.log")" [ "$rc" = 0 ]
	lab_bulk aligned 2
	rc=$?
	b4=$(bulk_bytes)
	check aligned_bulk_reverse_completes "rc=$rc bytes=$b4" [ "$rc" = 0 ]
fi

# --- teardown --------------------------------------------------------------

lab_down
left=
for n in cli rtr srv; do
	[ -e "/run/netns/$(lab_ns $n)" ] && left="$left $(lab_ns $n)"
done
[ -e "$MW_LAB_DIR" ] && left="$left $MW_LAB_DIR"
check lab_down_removes_everything "left behind:$left" [ -z "$left" ]
exit 0
