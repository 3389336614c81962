#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# mtuwatch probe in the namespace lab: forward path MTU (ICMP echo and UDP, IPv4 and IPv6) with
# the PTB filtered at the router, dropped by the client's firewall and delivered; the reverse
# path from a TLS server behind a silent 1500 link; the PTB test against a server that honours
# PTB, one that ignores it (route `mtu lock`, DF forced by nftables), one that sends without DF
# and one that clears DF; usage errors and missing privileges.
. "$(dirname "$0")/lib.sh"

# probe NAME NODE ARGS...: run mtuwatch probe (bounded), keep stdout/stderr/rc under $TMP/NAME
probe() {
	local name=$1 node=$2
	shift 2
	LAST_OUT=$TMP/$name.out
	lab_exec "$node" timeout 120 "$MW" probe "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
	cat "$TMP/$name.err" >>"$TMP/$name.out.log" 2>/dev/null
}
# result NAME: the final JSON object (the line with "mode")
result() { grep '"mode"' "$TMP/$1.out" | tail -1; }
# field NAME KEY VALUE: the result object has "KEY":VALUE (VALUE as JSON: 1500, true, "x")
field() { result "$1" | grep -q "\"$2\":$3[,}]"; }
rc_is() { [ "$(cat "$TMP/$1.rc")" = "$2" ]; }
err_line() { [ "$(wc -l <"$TMP/$1.err")" -eq 1 ] && grep -q -- "$2" "$TMP/$1.err"; }

# ---- usage ---------------------------------------------------------------------------------
"$MW" probe >"$TMP/u1.out" 2>"$TMP/u1.err"
echo $? >"$TMP/u1.rc"
LAST_OUT=$TMP/u1.err
check "usage-no-host" bash -c "[ \$(cat $TMP/u1.rc) = 2 ] && [ \$(wc -l <$TMP/u1.err) = 1 ]"
"$MW" probe 192.0.2.9 --http / >"$TMP/u2.out" 2>"$TMP/u2.err"
echo $? >"$TMP/u2.rc"
LAST_OUT=$TMP/u2.err
check "usage-http-needs-tcp" bash -c "[ \$(cat $TMP/u2.rc) = 2 ] && grep -q -- '--tcp' $TMP/u2.err"
"$MW" probe 192.0.2.9 --tcp >"$TMP/u3.out" 2>"$TMP/u3.err"
echo $? >"$TMP/u3.rc"
LAST_OUT=$TMP/u3.err
check "usage-tcp-needs-port" bash -c "[ \$(cat $TMP/u3.rc) = 2 ] && grep -q 'HOST:PORT' $TMP/u3.err"

# ---- forward: the router's PTB filtered (black hole above 1500, no PTB anywhere) ------------
lab_up filtered >/dev/null 2>&1 || fail lab-filtered "lab_up failed"
probe filtered4 cli "$MW_SRV4" --json -v --timeout 0.5
check "fwd-filtered-v4-exact-1500" field filtered4 path_mtu 1500
check "fwd-filtered-v4-exact" field filtered4 exact true
check "fwd-filtered-v4-no-ptb" field filtered4 ptb_seen false
check "fwd-filtered-v4-blackhole" field filtered4 blackhole_above 1500
check "fwd-filtered-v4-icmp" field filtered4 method '"icmp"'
check "fwd-filtered-v4-ebpf-said-none" field filtered4 ptb_dropped false
check "fwd-filtered-v4-step-objects" grep -q '"step":' "$TMP/filtered4.out"
check "fwd-filtered-v4-steps-counted" bash -c \
	"[ \$(grep -c '\"step\":' $TMP/filtered4.out) = \$(grep -o '\"probes\":[0-9]*' \
	$TMP/filtered4.out | cut -d: -f2) ]"
probe filtered4u cli "$MW_SRV4" --json --method udp --timeout 0.5
check "fwd-filtered-v4-udp-1500" field filtered4u path_mtu 1500
check "fwd-filtered-v4-udp-method" field filtered4u method '"udp"'
check "fwd-filtered-v4-udp-no-ptb" field filtered4u ptb_seen false
probe filtered6 cli "$MW_SRV6" --json --timeout 0.5
check "fwd-filtered-v6-1500" field filtered6 path_mtu 1500
check "fwd-filtered-v6-no-ptb" field filtered6 ptb_seen false
check "fwd-filtered-v6-blackhole" field filtered6 blackhole_above 1500
# the step budget is a hard bound, and an unfinished search says so
probe bounded cli "$MW_SRV4" --json --timeout 0.5 --max-probes 3
check "fwd-max-probes" field bounded probes 3
check "fwd-max-probes-inexact" field bounded exact false
# text mode: one result line naming the black hole
probe filteredtxt cli "$MW_SRV4" --timeout 0.5
check "fwd-text-one-line" bash -c "[ \$(wc -l <$TMP/filteredtxt.out) = 1 ] && \
	grep -q 'path MTU 1500; black hole above 1500' $TMP/filteredtxt.out"

# ---- forward: 1446 hop, the client's firewall drops the PTB ---------------------------------
lab_up fwdrop >/dev/null 2>&1 || fail lab-fwdrop "lab_up failed"
probe fwdrop4 cli "$MW_SRV4" --json --timeout 0.5
check "fwd-ptb-dropped-v4-1446" field fwdrop4 path_mtu 1446
check "fwd-ptb-dropped-v4-seen" field fwdrop4 ptb_seen true
check "fwd-ptb-dropped-v4-not-delivered" field fwdrop4 ptb_delivered false
check "fwd-ptb-dropped-v4-from-router" field fwdrop4 ptb_from "\"$MW_RTR0_4\""
check "fwd-ptb-dropped-v4-reason" field fwdrop4 drop_reason '"NETFILTER_DROP"'
check "fwd-ptb-dropped-v4-blackhole" field fwdrop4 blackhole_above 1446
probe fwdrop6 cli "$MW_SRV6" --json --timeout 0.5
check "fwd-ptb-dropped-v6-1446" field fwdrop6 path_mtu 1446
check "fwd-ptb-dropped-v6-from-router" field fwdrop6 ptb_from "\"$MW_RTR0_6\""
check "fwd-ptb-dropped-v6-reason" field fwdrop6 drop_reason '"NETFILTER_DROP"'
probe fwdrop6u cli "$MW_SRV6" --json --method udp --timeout 0.5
check "fwd-ptb-dropped-v6-udp-1446" field fwdrop6u path_mtu 1446
check "fwd-ptb-dropped-v6-udp-reason" field fwdrop6u drop_reason '"NETFILTER_DROP"'

# ---- forward: 1446 hop, PTB delivered (the client's firewall rules removed) -----------------
lab_exec cli iptables -w -F INPUT
# an SSH port cannot be measured this way (nothing large comes before key exchange): one line
if lab_ssh_server >/dev/null 2>&1; then
	probe revssh cli "$MW_SRV4:$MW_SSH_PORT" --tcp --timeout 1
	check "rev-ssh-port-one-line" bash -c "rc_is() { [ \$(cat $TMP/revssh.rc) = 1 ]; }; rc_is && \
		[ \$(wc -l <$TMP/revssh.err) = 1 ] && grep -q 'SSH server' $TMP/revssh.err"
else
	fail rev-ssh-port-one-line "sshd did not start"
fi
lab_exec cli ip6tables -w -F INPUT
probe ok4 cli "$MW_SRV4" --json --timeout 0.5
check "fwd-ptb-delivered-v4-1446" field ok4 path_mtu 1446
check "fwd-ptb-delivered-v4-delivered" field ok4 ptb_delivered true
check "fwd-ptb-delivered-v4-from-router" field ok4 ptb_from "\"$MW_RTR0_4\""
check "fwd-ptb-delivered-v4-no-blackhole" field ok4 blackhole_above null
check "fwd-ptb-delivered-v4-not-dropped" field ok4 ptb_dropped false
probe ok6 cli "$MW_SRV6" --json --timeout 0.5
check "fwd-ptb-delivered-v6-1446" field ok6 path_mtu 1446
check "fwd-ptb-delivered-v6-from-router" field ok6 ptb_from "\"$MW_RTR0_6\""
probe ok4u cli "$MW_SRV4" --json --method udp --timeout 0.5
check "fwd-ptb-delivered-v4-udp-1446" field ok4u path_mtu 1446

# ---- forward: the PTB comes from the router's management address, rp_filter drops it --------
lab_up rpfilter >/dev/null 2>&1 || fail lab-rpfilter "lab_up failed"
probe rpf4 cli "$MW_SRV4" --json --timeout 0.5
check "fwd-rpfilter-1500" field rpf4 path_mtu 1500
check "fwd-rpfilter-from-mgmt" field rpf4 ptb_from "\"$MW_RTR_MGMT4\""
check "fwd-rpfilter-reason" field rpf4 drop_reason '"IP_RPFILTER"'
check "fwd-rpfilter-blackhole" field rpf4 blackhole_above 1500
lab_up fwdrop >/dev/null 2>&1 || fail lab-fwdrop "lab_up failed"
lab_exec cli iptables -w -F INPUT

# ---- privileges: UDP needs none, ICMP echo and --tcp say what they need in one line ---------
cp "$MW" "$TMP/mtuwatch-unpriv"
chmod 755 "$TMP" "$TMP/mtuwatch-unpriv"
nopriv() {
	local name=$1
	shift
	LAST_OUT=$TMP/$name.err
	lab_exec cli timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all "$TMP/mtuwatch-unpriv" probe "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
}
nopriv np-udp "$MW_SRV4" --json --method udp --timeout 0.5
check "unpriv-udp-works" field np-udp path_mtu 1446
check "unpriv-udp-no-ebpf" field np-udp ebpf false
check "unpriv-udp-says-why" grep -q 'no eBPF evidence' "$TMP/np-udp.err"
nopriv np-icmp "$MW_SRV4" --method icmp
check "unpriv-icmp-one-line" bash -c "[ \$(cat $TMP/np-icmp.rc) = 1 ] && \
	[ \$(wc -l <$TMP/np-icmp.err) = 1 ] && grep -q CAP_NET_RAW $TMP/np-icmp.err"
nopriv np-tcp "$MW_SRV4:8443" --tcp
check "unpriv-tcp-one-line" bash -c "[ \$(cat $TMP/np-tcp.rc) = 1 ] && \
	[ \$(wc -l <$TMP/np-tcp.err) = 1 ] && grep -q CAP_BPF $TMP/np-tcp.err"
nopriv np-ptb "$MW_SRV4:8443" --tcp --ptb-test
check "unpriv-ptb-test-one-line" bash -c "[ \$(cat $TMP/np-ptb.rc) = 1 ] && \
	[ \$(wc -l <$TMP/np-ptb.err) = 1 ] && grep -q CAP_NET_RAW $TMP/np-ptb.err"

# ---- reverse: TLS server behind a silent 1500 link ------------------------------------------
# The router's r1 is a veth with MTU 1500; a veth accepts a frame up to MTU + 4 bytes (room for
# a VLAN tag, __is_skb_forwardable), so the largest packet that crosses it is 1504 bytes: that
# is the exact reverse path MTU of this lab, and 1505 is the first size that dies.
lab_up silent >/dev/null 2>&1 || fail lab-silent "lab_up failed"
lab_tls_server >/dev/null 2>&1 || fail tls-server "s_server did not start"
probe rev4 cli "$MW_SRV4:$MW_TLS_PORT" --tcp --json -v --timeout 1
check "rev-silent-v4-exact" field rev4 reverse_path_mtu 1504
check "rev-silent-v4-exact-flag" field rev4 exact true
check "rev-silent-v4-blackhole" field rev4 blackhole_above 1504
check "rev-silent-v4-silent" field rev4 silent_drop true
check "rev-silent-v4-tls" field rev4 method '"tcp-tls"'
check "rev-silent-v4-step-1505-stalls" bash -c \
	"grep '\"size\":1505,' $TMP/rev4.out | grep -q 'too big'"
# a kernel without TCX: the same measurement from an XDP observer, said in one line
LAST_OUT=$TMP/revxdp.out
lab_exec cli env MW_TEST_REFUSE=mw_probe_tc timeout 120 "$MWT" probe "$MW_SRV4:$MW_TLS_PORT" \
	--tcp --json --timeout 1 >"$TMP/revxdp.out" 2>"$TMP/revxdp.err"
check "rev-silent-xdp-observer-exact" field revxdp reverse_path_mtu 1504
check "rev-silent-xdp-observer-said" bash -c "[ \$(wc -l <$TMP/revxdp.err) = 1 ] && \
	grep -q 'observing with XDP' $TMP/revxdp.err"
probe rev6 cli "[$MW_SRV6]:$MW_TLS_PORT" --tcp --json --timeout 1
check "rev-silent-v6-exact" field rev6 reverse_path_mtu 1504
check "rev-silent-v6-blackhole" field rev6 blackhole_above 1504

# ---- reverse: aligned MTUs: the server never sends more than 1500, nothing dies -------------
lab_up aligned >/dev/null 2>&1 || fail lab-aligned "lab_up failed"
lab_tls_server >/dev/null 2>&1 || fail tls-server "s_server did not start"
probe revok cli "$MW_SRV4:$MW_TLS_PORT" --tcp --json --timeout 1
check "rev-aligned-1500" field revok reverse_path_mtu 1500
check "rev-aligned-far-host-limit" field revok far_host_max_segment 1500
check "rev-aligned-no-blackhole" field revok blackhole_above null
# this host's firewall drops the server's segments over 1400: the segments arrive (1500 at c0)
# but the answer stalls here, and kfree_skb says why
lab_exec cli iptables -w -A INPUT -p tcp --sport "$MW_TLS_PORT" -m length --length 1401:65535 \
	-j DROP
probe revfw cli "$MW_SRV4:$MW_TLS_PORT" --tcp --json --timeout 1
check "rev-dropped-here-1400" field revfw reverse_path_mtu 1400
check "rev-dropped-here-arrived-1500" field revfw largest_arrived 1500
check "rev-dropped-here-reason" field revfw drop_reason '"NETFILTER_DROP"'
check "rev-dropped-here-blackhole" field revfw blackhole_above 1400
lab_exec cli iptables -w -F INPUT
# an SSH port cannot be measured this way (nothing large comes before key exchange): one line
if lab_ssh_server >/dev/null 2>&1; then
	probe revssh cli "$MW_SRV4:$MW_SSH_PORT" --tcp --timeout 1
	check "rev-ssh-port-one-line" bash -c "rc_is() { [ \$(cat $TMP/revssh.rc) = 1 ]; }; rc_is && \
		[ \$(wc -l <$TMP/revssh.err) = 1 ] && grep -q 'SSH server' $TMP/revssh.err"
else
	fail rev-ssh-port-one-line "sshd did not start"
fi

# ---- PTB test -------------------------------------------------------------------------------
# aligned: s0 is 1500 with TSO/GSO off, so the server's segments arrive as 1500-byte frames.
probe ptbok4 cli "$MW_SRV4:$MW_TLS_PORT" --tcp --ptb-test --json -v
check "ptb-honoured-v4-success" field ptbok4 ptb_test '"success"'
check "ptb-honoured-v4-first-1500" field ptbok4 first_size 1500
check "ptb-honoured-v4-retransmit-1280" field ptbok4 retransmit_size 1280
check "ptb-honoured-v4-one-ptb" field ptbok4 ptbs_sent 1
probe ptbok6 cli "[$MW_SRV6]:$MW_TLS_PORT" --tcp --ptb-test --json
check "ptb-honoured-v6-success" field ptbok6 ptb_test '"success"'
check "ptb-honoured-v6-retransmit-1280" field ptbok6 retransmit_size 1280
# The server learnt PMTU 1280 toward us: forget it, then lock its route at 1500 (PTB ignored)
# and force DF on its segments (a locked route would clear DF).
lab_exec srv ip route flush cache
lab_exec srv ip -6 route flush cache
lab_exec srv ip route replace default via "$MW_RTR1_4" mtu lock 1500
lab_exec srv ip route flush cache
lab_exec srv nft -f - <<'EOF'
table ip mwprobe {
	chain out {
		type filter hook output priority 0;
		tcp sport 8443 ip frag-off set 0x4000
	}
}
EOF
probe ptbfail cli "$MW_SRV4:$MW_TLS_PORT" --tcp --ptb-test --json -v
check "ptb-ignored-fail" field ptbfail ptb_test '"fail"'
check "ptb-ignored-3-ptbs" field ptbfail ptbs_sent 3
check "ptb-ignored-retransmit-1500" field ptbfail retransmit_size 1500
check "ptb-ignored-retransmit-df" field ptbfail retransmit_df true
# the locked route without nftables: segments without DF, nothing to test
lab_exec srv nft delete table ip mwprobe
probe ptbnodf cli "$MW_SRV4:$MW_TLS_PORT" --tcp --ptb-test --json
check "ptb-nodf" field ptbnodf ptb_test '"nodf"'
check "ptb-nodf-no-ptb-sent" field ptbnodf ptbs_sent 0
# unlocked again; a PTB below Linux's min_pmtu (552): the server retransmits 552 bytes, DF clear
lab_exec srv ip route replace default via "$MW_RTR1_4"
lab_exec srv ip route flush cache
probe ptbclear cli "$MW_SRV4:$MW_TLS_PORT" --tcp --ptb-test --ptb-mtu 500 --json
check "ptb-cleardf" field ptbclear ptb_test '"cleardf"'
check "ptb-cleardf-552" field ptbclear retransmit_size 552
check "ptb-cleardf-no-df" field ptbclear retransmit_df false

# ---- the TLS server still answers normally afterwards, and nothing stays attached ----------
lab_exec srv ip route flush cache
check "tls-still-works" lab_tls_client 6
check "no-probe-programs-left" bash -c 'for _ in $(seq 40); do
	bpftool prog show 2>/dev/null | grep -q "name mw_probe_" || exit 0; sleep 0.1; done; exit 1'
check "no-xdp-left" bash -c ". tests/lab.sh; ! lab_exec cli ip link show c0 | grep -q xdp"
