#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-scen-lab.sh -- the scenarios of issue 8 (tests/scenarios.sh, docs/scenarios.md)
# reproduce their truth: a test of the lab only, measured with real peers, tcpdump, interface and
# /proc/net counters, never with mtuwatch.  Prints PASS/FAIL lines, exits 0.
# shellcheck disable=SC2317 # cleanup is called by the trap
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MW_LAB_ID=${MW_LAB_ID:-sl$$}
T_KEYS=$(mktemp -d "${TMPDIR:-/tmp}/mw-scen-keys.XXXXXX")
export MW_LAB_KEYDIR=$T_KEYS
# shellcheck source=../scenarios.sh
. "$HERE/../scenarios.sh"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
cleanup() {
	[ -n "$BT_PID" ] && { kill "$BT_PID" 2>/dev/null; wait "$BT_PID" 2>/dev/null; }
	scen_cap_stop
	lab_down
	rm -rf "$T_KEYS" "$BT_OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# t NAME CONDITION: the condition is a shell expression over the truth values, which are
# printed on failure
t() {
	if eval "$2"; then pass "$SC-$1"; else fail "$SC-$1" "want $2; truth: $(tr '\n' ' ' <"$MW_LAB_DIR/truth" 2>/dev/null)"; fi
}
v() { scen_truth "$1"; }
num() { local x; x=$(scen_truth "$1"); echo "${x:-0}"; }

# Drop reasons by namespace with bpftrace (skb:kfree_skb), in the scenarios that name one: the
# hooks of tests/scenarios.sh start it where monitoring begins and stop it after the traffic.
# tracefs is mounted in a private mount namespace only.
BT_PID=
BT_OUT=${TMPDIR:-/tmp}/mw-scen-bt-$MW_LAB_ID.txt
BT_PROG='tracepoint:skb:kfree_skb {
	$s = (struct sk_buff *)args->skbaddr;
	$ns = (uint32)0;
	if ($s->dev != 0) { $ns = $s->dev->nd_net.net->ns.inum; }
	@[args->reason, $ns] = count();
}'
BT_SCEN=" shrink4 shrink6 seed000-filtered "
scen_hook_start() {
	case $BT_SCEN in *" $SC "*) ;; *) return 0 ;; esac
	: >"$BT_OUT"
	timeout 90 unshare -m sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; exec bpftrace -e "$1"' \
		sh "$BT_PROG" >"$BT_OUT" 2>&1 &
	BT_PID=$!
	for _ in $(seq 150); do
		grep -q '^Attaching' "$BT_OUT" && { sleep 0.3; return 0; }
		kill -0 "$BT_PID" 2>/dev/null || break
		sleep 0.2
	done
}
scen_hook_stop() {
	[ -n "$BT_PID" ] || return 0
	kill -INT "$BT_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$BT_PID" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$BT_PID" 2>/dev/null
	wait "$BT_PID" 2>/dev/null
	BT_PID=
	# drops with reason PKT_TOO_BIG in the router's namespace (reason numbers from tracefs)
	local r ino
	r=$(timeout 10 unshare -m sh -c 'mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null;
		cat /sys/kernel/tracing/events/skb/kfree_skb/format' 2>/dev/null |
		grep -o '{ [0-9]*, "PKT_TOO_BIG" }' | tr -dc '0-9')
	ino=$(stat -L -c %i "/run/netns/$(lab_ns rtr)")
	truth bt_attached "$(grep -c '^Attaching' "$BT_OUT")"
	truth bt_rtr_pkt_too_big "$(sed -n 's/^@\[\([0-9]*\), \([0-9]*\)\]: \([0-9]*\)$/\1 \2 \3/p' "$BT_OUT" |
		awk -v r="${r:-x}" -v i="$ino" '$1 == r && $2 == i { s += $3 } END { print s + 0 }')"
}

# SCEN_ONLY="shrink4 vpn6" runs only those (by hand)
drive() {
	SC=$1
	case " ${SCEN_ONLY:-$SC} " in *" $SC "*) ;; *) return 1 ;; esac
	if scen_drive "$SC" >"${TMPDIR:-/tmp}/mw-scen-$MW_LAB_ID.log" 2>&1; then
		pass "$SC-lab-up"
		return 0
	fi
	fail "$SC-lab-up" "$(tail -c 400 "${TMPDIR:-/tmp}/mw-scen-$MW_LAB_ID.log" | tr '\n' ' ')"
	return 1
}

# --- class 1: senders without DF, on a path that fragments them ------------------------------
for k in sysctl lock dont probe; do
	drive "nodf-$k" || continue
	t tls-completes '[ "$(num tls4_ok)" = 4 ] && [ "$(num tls6_ok)" = 2 ] && [ "$(v curl_code)" = 200 ]'
	t server-segments-carry-no-df '[ "$(num srv_payload_pkts)" -gt 5 ] && [ "$(num srv_payload_df)" = 0 ]'
	t segments-bigger-than-the-hop '[ "$(num srv_max_len)" -gt 1500 ]'
	t router-fragments-them '[ "$(num cli_frags)" -gt 0 ]'
	t server-learns-no-pmtu '[ -z "$(v srv_route_mtu)" ]'
done
# the control: the same path with DF, PMTUD works (so the knobs are what removed DF)
if drive nodf-control; then
	t tls-completes '[ "$(num tls4_ok)" = 4 ] && [ "$(num tls6_ok)" = 2 ]'
	t server-segments-carry-df '[ "$(num srv_payload_df)" -gt 5 ] && [ "$(num srv_payload_df)" = "$(num srv_payload_pkts)" ]'
	t no-fragments '[ "$(num cli_frags)" = 0 ]'
	t server-learns-pmtu-1500 '[ "$(v srv_route_mtu)" = 1500 ]'
fi

# --- zero-alarm set: completed and closed handshakes, random loss, many flows -----------------
if drive closed; then
	t handshakes-complete '[ "$(num tls4_ok)" = 6 ] && [ "$(num tls6_ok)" = 2 ] && [ "$(num ssh_ok)" = 1 ]'
	t idle-session-completed '[ "$(num idle_ok)" = 1 ]'
	t abandoned-handshake-timed-out '[ "$(num abandoned_rc)" = 124 ]'
	t abandoned-connection-closed '[ "$(num cli_estab_8446)" = 0 ]'
fi
if drive lossy; then
	t random-drops-happen '[ "$(num rtr_loss_drops)" -gt 100 ]'
	t sender-retransmits '[ "$(num srv_retrans)" -gt 100 ]'
	t tls-completes-despite-loss '[ "$(num tls4_ok)" = 4 ]'
	t bulk-keeps-flowing '[ "$(num bulk_bytes)" -gt 10000000 ] && [ "$(num bulk_tail_zero)" = 0 ]'
fi
if drive multi; then
	t all-flows-complete '[ "$(num tls4_ok)" = 3 ] && [ "$(num tls6_ok)" = 2 ] && [ "$(num ssh_ok)" = 1 ]'
	t parallel-bulk-delivers '[ "$(num bulk_bytes)" -gt 10000000 ]'
	t client-learns-pmtu-1500 '[ "$(v cli_route_mtu)" = 1500 ]'
fi

# --- class 3: the path shrinks mid-stream, ICMP filtered ---------------------------------------
for f in 4 6; do
	drive "shrink$f" || continue
	t flowing-before-the-change '[ "$(num bytes_before)" -gt 10000000 ]'
	t zero-after-the-change '[ "$(num bytes_after)" = 0 ] && [ "$(num tail_zero)" -ge 8 ]'
	t sender-resends-1500 '[ "$(v resent_sizes)" = 1500 ]'
	t router-drops-too-big '[ "$(num rtr_too_big)" -gt 2 ]'
	t router-drop-reason-pkt-too-big '[ "$(num bt_attached)" -gt 0 ] && [ "$(num bt_rtr_pkt_too_big)" -gt 2 ]'
	t router-icmp-filtered '[ "$(num rtr_icmp_dropped)" = "$(num rtr_too_big)" ]'
	t client-learns-no-pmtu '[ -z "$(v cli_route_mtu)" ]'
done

# --- class 4: seed 000 from the server (TLS flight and iperf3 -R to one client) ----------------
if drive seed000-silent; then
	t tls-stalls '[ "$(num tls_ok)" = 0 ]'
	t bulk-delivers-nothing '[ "$(num bulk_bytes)" -lt 100000 ]'
	t server-retransmits '[ "$(num srv_retrans)" -gt 3 ]'
	t l2-drop-on-receive '[ "$(num r1_rx_dropped)" -gt 3 ] && [ "$(num rtr_too_big)" = 0 ]'
	t no-icmp-exists '[ "$(num rtr_icmp_out)" = 0 ]'
	t jumbo-segments-resent '[ "$(num stuck_min)" -gt 1500 ]'
	t server-veth-peer-smaller '[ "$(num s0_mtu)" = 9000 ] && [ "$(num r1_mtu)" = 1500 ]'
fi
if drive seed000-filtered; then
	t tls-stalls '[ "$(num tls_ok)" = 0 ]'
	t bulk-delivers-nothing '[ "$(num bulk_bytes)" -lt 100000 ]'
	t router-drops-too-big '[ "$(num rtr_too_big)" -gt 3 ] && [ "$(num r1_rx_dropped)" = 0 ]'
	t router-drop-reason-pkt-too-big '[ "$(num bt_attached)" -gt 0 ] && [ "$(num bt_rtr_pkt_too_big)" -gt 3 ]'
	t router-icmp-filtered '[ "$(num rtr_icmp_dropped)" = "$(num rtr_too_big)" ]'
	t server-learns-no-pmtu '[ -z "$(v srv_route_mtu)" ]'
	t jumbo-segments-resent '[ "$(num stuck_min)" -gt 1500 ]'
fi

# --- class 5/6: a 1446 hop, ICMP filtered, IPv4 and IPv6 --------------------------------------
for f in 4 6; do
	drive "vpn$f" || continue
	t bulk-stalls '[ "$(num bulk_bytes)" -lt 100000 ]'
	t sender-resends-1500 '[ "$(v resent_sizes)" = 1500 ]'
	t path-mtu-is-1446 '[ "$(num ping_1446)" = 1 ] && [ "$(num ping_1447)" = 0 ]'
	t router-drops-too-big '[ "$(num rtr_too_big)" -gt 2 ]'
	t router-icmp-filtered '[ "$(num rtr_icmp_dropped)" = "$(num rtr_too_big)" ]'
done

# --- class 5/6: the client side of the seeds: 9000 -> 1500, ICMP filtered, no probing ----------
for f in 4 6; do
	drive "filtered$f" || continue
	t probing-off '[ "$(num cli_mtu_probing)" = 0 ]'
	t never-recovers '[ "$(num bytes_first_s)" -lt 100000 ] && [ "$(num bytes_last_s)" -lt 100000 ]'
	t jumbo-segments-resent '[ "$(num stuck_min)" -gt 1500 ]'
	t no-ptb-reached '[ "$(num rtr_icmp_dropped)" -gt 0 ] && [ -z "$(v cli_route_mtu)" ]'
done

# --- class 6: tcp_mtu_probing=1 works around the black hole ------------------------------------
for f in 4 6; do
	drive "probing$f" || continue
	t probing-on '[ "$(num cli_mtu_probing)" = 1 ]'
	t stuck-at-first '[ "$(num bytes_first_s)" -lt 100000 ] && [ "$(num zero_intervals)" -ge 1 ]'
	t recovers '[ "$(num bytes_last_s)" -gt 10000000 ]'
	t big-segments-resent '[ "$(num stuck_min)" -gt 1500 ]'
	t no-ptb-reached '[ "$(num rtr_icmp_dropped)" -gt 0 ] && [ -z "$(v cli_route_mtu)" ]'
done

# --- class 8: loopback stalls in a lab namespace -----------------------------------------------
if drive loopback; then
	t lo-tls-stalls '[ "$(num lo_tls_ok)" = 0 ]'
	t lo-silent-server-stalls '[ "$(num lo_silent_ok)" = 0 ]'
	t lo-big-segments-dropped '[ "$(num lo_drops)" -gt 3 ] && [ "$(num cli_retrans)" -gt 3 ]'
fi

lab_down
left=
for n in cli rtr srv; do [ -e "/run/netns/$(lab_ns $n)" ] && left="$left $(lab_ns $n)"; done
if [ -z "$left" ]; then pass lab-down-removes-everything; else fail lab-down-removes-everything "$left"; fi
exit 0
