#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Stalled TLS and SSH handshakes with real servers (openssl s_server, sshd) behind a silent
# 1500 hop, seen from both ends; and no stall where the path is healthy or the MTUs align.
. "$(dirname "$0")/lib.sh"

# run_both VARIANT CLIENT-COMMAND: mtuwatch on the client and the server while it runs
run_both() {
	local v=$1
	shift
	mw_start cli "$TMP/$v.cli.json" --json
	CLI_PID=$MW_PID
	mw_start srv "$TMP/$v.srv.json" --json
	SRV_PID=$MW_PID
	"$@"
	CLIENT_RC=$?
	sleep 1
	MW_PID=$CLI_PID mw_stop
	MW_PID=$SRV_PID mw_stop
	CLI=$TMP/$v.cli.json
	SRV=$TMP/$v.srv.json
}

# silent: the server's jumbo segments die at the 1500 hop, no ICMP (the DSE case)
lab_up silent >/dev/null 2>&1 || fail lab-silent "lab_up failed"
lab_tls_server >/dev/null 2>&1 || fail tls-server "s_server did not start"
lab_ssh_server >/dev/null 2>&1 || fail ssh-server "sshd did not start"

run_both silent-tls lab_tls_client 6
LAST_OUT=$CLI
check "silent-tls-client-hangs" test "$CLIENT_RC" != 0
check "silent-tls-client-stalled_tls" finding "$CLI" '"verdict":"stalled_tls"' '"role":"client"' '"dport":8443'
check "silent-tls-client-step" finding "$CLI" '"verdict":"stalled_tls"' '"step":"after ClientHello'
# from the client a lost flight and a slow server look alike: the finding gives the numbers
check "silent-tls-client-mss-vs-received" finding "$CLI" '"verdict":"stalled_tls"' '"peer_mss":8960' '"max_seg_rcvd":0,' 'path MTU'
LAST_OUT=$SRV
check "silent-tls-server-mtu-evidence" finding "$SRV" '"verdict":"stalled_tls"' '"mtu_evidence":true'
check "silent-tls-server-finding" bash -c "grep -E '\"verdict\":\"(stalled_tls|icmp_blackhole)\"' '$SRV' | grep -q '\"retrans_sizes\":\[[0-9]'"
check "silent-tls-server-large-retrans" bash -c "grep '\"retrans_sizes\"' '$SRV' | grep -Eq '\"retrans_sizes\":\[([0-9]+,)*(1[5-9][0-9][0-9]|[2-9][0-9]{3})'"
check "silent-tls-server-step" finding "$SRV" '"verdict":"stalled_tls"' '"role":"server"' '"step":"sent ServerHello'

run_both silent-ssh lab_ssh_client 6
LAST_OUT=$CLI
check "silent-ssh-client-hangs" test "$CLIENT_RC" != 0
check "silent-ssh-client-kex-reply" finding "$CLI" '"verdict":"stalled_ssh"' '"step":"waiting for KEX_ECDH_REPLY"' '"mtu_evidence":true'
LAST_OUT=$SRV
check "silent-ssh-server-kex-reply" finding "$SRV" '"verdict":"stalled_ssh"' '"step":"sent KEX_ECDH_REPLY'
check "silent-no-false-tiny-mtu" finished_without '"verdict":"icmp_blackhole"' "$CLI"

# The same stall where the kernel refuses tp_btf (inet_sock_set_state and tcp_retransmit_skb
# as raw_tp): no socket storage, so tc egress finds flows in the flow map through its port
# filter, and every arrival of a tracked flow is looked at.
export MW_TEST_REFUSE=mw_tp_sock_state,mw_tp_retransmit
run_both rawtp-tls lab_tls_client 6
unset MW_TEST_REFUSE
LAST_OUT=$CLI
check "rawtp-tls-client-stalled_tls" finding "$CLI" '"verdict":"stalled_tls"' '"role":"client"' '"step":"after ClientHello'
LAST_OUT=$SRV
check "rawtp-tls-server-stalled_tls" finding "$SRV" '"verdict":"stalled_tls"' '"role":"server"' '"mtu_evidence":true'

# aligned MTUs: the same servers, no stall
lab_up aligned >/dev/null 2>&1
lab_tls_server >/dev/null 2>&1
lab_ssh_server >/dev/null 2>&1
run_both aligned bash -c '. tests/lab.sh; lab_tls_client 6 && lab_ssh_client 6'
LAST_OUT=$CLI
check "aligned-handshakes-complete" test "$CLIENT_RC" = 0
check "aligned-no-stall" finished_without '"verdict":"(stalled_tls|stalled_ssh|icmp_blackhole)"' "$CLI" \
	"$SRV"

# healthy PMTUD path: no stall either
lab_up healthy >/dev/null 2>&1
lab_tls_server >/dev/null 2>&1
lab_ssh_server >/dev/null 2>&1
run_both healthy bash -c '. tests/lab.sh; lab_tls_client 6 && lab_ssh_client 6'
LAST_OUT=$CLI
check "healthy-handshakes-complete" test "$CLIENT_RC" = 0
check "healthy-no-stall" finished_without '"verdict":"(stalled_tls|stalled_ssh)"' "$CLI" "$SRV"

# a completed TLS session left idle for longer than the stall time is not a stall
idle_client() {
	(sleep 6) | lab_exec cli timeout 9 openssl s_client -connect "$MW_SRV4:$MW_TLS_PORT" \
		>"$TMP/idle.log" 2>&1
	grep -q '^SSL handshake has read' "$TMP/idle.log"
}
run_both idle idle_client
LAST_OUT=$TMP/idle.log
check "idle-session-completed" test "$CLIENT_RC" = 0
LAST_OUT=$CLI
check "idle-session-not-stalled" finished_without '"verdict":"stalled_tls"' "$CLI" "$SRV"
lab_down >/dev/null 2>&1
