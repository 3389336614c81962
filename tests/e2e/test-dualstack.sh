#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-dualstack.sh -- issue 24 section 1: IPv4 traffic on AF_INET6 sockets
# (::ffff:a.b.c.d, as Java, Go or nginx on [::] and Python AF_INET6 have it). Every packet on
# the wire is IPv4, so every finding must be IPv4's: the IPv4 address, "family":"ipv4", the
# wire's sizes (9000, not 9020), no ICMPv6 words, and never "::ffff:". Live, and report of a
# recording made side by side.
#   server: a dual-stack jumbo sender (iperf3 and a Python TLS server on [::]) behind a 1500
#           hop whose ICMP is filtered: icmp_blackhole and stalled_tls for the IPv4 client.
#   client: openssl s_client on an AF_INET6 socket to ::ffff:198.51.100.2 whose server's
#           certificate flight dies silently at the 1500 hop: stalled_tls, as for AF_INET.
#   seed 001 with a dual-stack sender (tests/scenarios-ptb.sh, locked, on [::]): the router's
#           frag-needed mtu 1446 arrives and is ignored: ptb_ignored, route_mtu_locked.
#   the same sender where the frag-needed is taken (scenarios-ptb.sh control): pmtu_learned;
#           and where the sender's INPUT chain drops it (lab.sh fwdrop): ptb_dropped.
#   the client as the jumbo sender (lab.sh filtered), iperf3 -c ::ffff:198.51.100.2 (an
#           AF_INET6 socket): icmp_blackhole for 198.51.100.2, as test-mtuwatch.sh has it.
#   both ends and both families at once (silent lab, watched at both ends): sshd, a TLS server
#           and iperf3 on [::]; the client on AF_INET6 sockets to ::ffff:198.51.100.2 (ssh,
#           openssl, iperf3 -R) and to 2001:db8:2::2 (openssl, iperf3 -R) in the same run:
#           stalled_ssh and stalled_tls at both ends and icmp_blackhole at the server, each
#           finding in the family of its wire, one path per family.
. "$(dirname "$0")/lib.sh"
export MW_LAB_KEYDIR=$TMP/keys
# shellcheck source=../scenarios.sh
. "$(dirname "$0")/../scenarios.sh"
# shellcheck source=../scenarios-ptb.sh
. "$(dirname "$0")/../scenarios-ptb.sh"

DS_TLS_PORT=8444
MAPPED_SRV=::ffff:$MW_SRV4
EXPORT_PORT=9464

# watch NODE NAME: live --json and record side by side on NODE (NAMEs may overlap in time)
declare -A WATCH_PIDS
watch() {
	mw_start "$1" "$TMP/$2.live" live --json
	WATCH_PIDS[$2]=$MW_PID
	mw_start "$1" "$TMP/$2.rec" record -f -o "$TMP/$2.data"
	WATCH_PIDS[$2]+=" $MW_PID"
	# "recording to" is said before the last program attaches
	sleep 0.5
}
unwatch() {
	local p
	sleep 1
	for p in ${WATCH_PIDS[$1]}; do MW_PID=$p mw_stop; done
	"$MW" report -i "$TMP/$1.data" --json >"$TMP/$1.rep" 2>"$TMP/$1.rep.err"
}
# both NAME CHECK-NAME PATTERN...: a finding with every pattern, live and in the report
both() {
	local n=$1 c=$2
	shift 2
	LAST_OUT=$TMP/$n.live
	check "$c" finding "$TMP/$n.live" "$@"
	LAST_OUT=$TMP/$n.rep
	check "$c-report" finding "$TMP/$n.rep" "$@"
}
# never NAME CHECK-NAME REGEX: in no output of NAME (live, record, report, their stderr); a
# missing output fails, and so does a live or report run that did not finish (no summary)
never_in() {
	grep -q '"summary":true' "$TMP/$1.live" && grep -q '"summary":true' "$TMP/$1.rep" &&
		none_match "$2" "$TMP/$1.live" "$TMP/$1.live.err" "$TMP/$1.rec" "$TMP/$1.rec.err" \
			"$TMP/$1.rep" "$TMP/$1.rep.err"
}
never() {
	LAST_OUT=$TMP/$1.live
	check "$2" never_in "$1" "$3"
}
# hasnt_any PATTERN FILE...: every file was read and none holds PATTERN
hasnt_any() {
	local p=$1
	shift
	grep -q -- "$p" "$@"
	[ $? = 1 ]
}
# sockets NODE PORT: the established TCP sockets of PORT in NODE, as ss prints them
sockets() { lab_exec "$1" ss -Htn state established "( sport = :$2 or dport = :$2 )"; }

# --- server side: the dual-stack jumbo sender, ICMP filtered -----------------------------------
if ! scen_up srvbig || ! scen_filter_icmp; then fail srv-lab "scen_up srvbig failed"; fi
_mw_tls_keys || fail srv-keys "TLS key generation failed"
d=$(_mw_keydir)/tls
cat "$d/leaf.pem" "$d/chain.pem" >"$TMP/full.pem"
# iperf3 -s without -B, and the TLS server given "::": AF_INET6 listeners, not IPv6-only
lab_exec srv timeout 60 iperf3 -s -p "$MW_IPERF_PORT" >"$TMP/iperf-srv.log" 2>&1 &
IPERF_PID=$!
lab_exec srv timeout 60 python3 "$_MW_SCEN_TOOLS/tls-pmtu-server.py" :: "$DS_TLS_PORT" \
	"$TMP/full.pem" "$d/leaf.key" want </dev/null >"$TMP/pytls.log" 2>&1 &
PYTLS_PID=$!
if ! _mw_wait_listen srv "$MW_IPERF_PORT" || ! _mw_wait_listen srv "$DS_TLS_PORT"; then
	fail srv-listen "servers did not start"
fi
watch srv srv
# export beside them: the kernel's counters by family
mw_start srv "$TMP/srv.exp" export --listen "127.0.0.1:$EXPORT_PORT"
EXP_PID=$MW_PID
lab_exec cli timeout 12 iperf3 -c "$MW_SRV4" -p "$MW_IPERF_PORT" -t 4 -R --connect-timeout 2000 \
	>"$TMP/iperf-cli.log" 2>&1 &
BULK_PID=$!
sleep 1.5
sockets srv "$MW_IPERF_PORT" >"$TMP/srv.ss"
# line-buffered: timeout kills it mid-handshake, and its CONNECTED line must be in the log
lab_exec cli timeout 8 stdbuf -oL openssl s_client -connect "$MW_SRV4:$DS_TLS_PORT" \
	-servername server.mw-lab.example </dev/null >"$TMP/srv-tls.log" 2>&1 &
TLS_PID=$!
sleep 1.5
sockets srv "$DS_TLS_PORT" >>"$TMP/srv.ss"
wait "$BULK_PID" "$TLS_PID"
lab_exec srv curl -s --max-time 5 "http://127.0.0.1:$EXPORT_PORT/metrics" >"$TMP/srv.metrics"
MW_PID=$EXP_PID mw_stop
unwatch srv
kill "$IPERF_PID" "$PYTLS_PID" 2>/dev/null
wait "$IPERF_PID" "$PYTLS_PID" 2>/dev/null

# the traffic ran as it must: on AF_INET6 sockets with IPv4 peers, and black-holed
LAST_OUT=$TMP/srv.ss
check "srv-sockets-v4-mapped" bash -c "grep -q ':$MW_IPERF_PORT' '$TMP/srv.ss' && \
	grep -q ':$DS_TLS_PORT' '$TMP/srv.ss' && ! grep -v '::ffff:' '$TMP/srv.ss' | grep -q ."
LAST_OUT=$TMP/srv-tls.log
check "srv-tls-handshake-stalls" bash -c "grep -q '^CONNECTED' '$TMP/srv-tls.log' &&
	! grep -q '^SSL handshake has read' '$TMP/srv-tls.log'"
LAST_OUT=$TMP/srv.live
check "srv-rtr-icmp-dropped" test "$(scen_ipt_drops rtr iptables OUTPUT)" -gt 0

both srv srv-icmp_blackhole '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI4\"" '"family":"ipv4"'
# sizes are the wire's: 9000-byte packets (MSS 8960), not 9020 (IPv6 header arithmetic)
both srv srv-bracket-wire '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI4\"" '"bracket_hi":9000'
both srv srv-retrans-9000 '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI4\"" \
	'"retrans_sizes":\[\([0-9]*,\)*9000[],]'
# DF packets whose frag-needed the router drops: ICMP filtered first, not a layer-2 mismatch
both srv srv-causes-icmp-filtered '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI4\"" \
	'"causes":\["icmp_filtered"'
both srv srv-stalled_tls '"verdict":"stalled_tls"' "\"dst\":\"$MW_CLI4\"" '"role":"server"' \
	"\"sport\":$DS_TLS_PORT" '"mtu_evidence":true'
never srv srv-no-mapped-address '::ffff:'
never srv srv-no-ipv6-family '"family":"ipv6"'
never srv srv-no-ipv6-sizes '[^0-9]9020[^0-9]|"bracket_lo":1280'
never srv srv-no-icmpv6-words 'ICMPv6|ping -6'
# export: the black hole's path is the IPv4 prefix, the stalled handshake is counted (its
# verdict series: an unconfirmed black hole has no MTU series, issue 27)
LAST_OUT=$TMP/srv.metrics
check "srv-export-path-ipv4" bash -c "grep '^mtuwatch_path_verdict{verdict=\"icmp_blackhole\"' '$TMP/srv.metrics' | \
	grep -q 'dst_prefix=\"192\.0\.2\.[0-9]*/[0-9]*\"'"
check "srv-export-stalled-tls" bash -c "grep -q \
	'^mtuwatch_stalled_handshakes_total{proto=\"tls\"} [1-9]' '$TMP/srv.metrics'"
check "srv-export-no-ipv6" bash -c "[ -s '$TMP/srv.metrics' ] && ! grep '^mtuwatch_[a-z_]*{.*family=\"ipv6\"' \
	'$TMP/srv.metrics' | grep -q ' [1-9][0-9]*\$'"
check "srv-export-no-mapped-address" hasnt_any '::ffff:' "$TMP/srv.metrics" "$TMP/srv.exp" \
	"$TMP/srv.exp.err"

# --- client side: an AF_INET6 TLS client, the certificate flight dies silently -----------------
lab_up silent >/dev/null 2>&1 || fail cli-lab "lab_up silent failed"
lab_tls_server >/dev/null 2>&1 || fail cli-tls-server "s_server did not start"
watch cli cli
# openssl resolves the literal ::ffff: address as AF_INET6: the socket is AF_INET6
lab_exec cli timeout 8 stdbuf -oL openssl s_client -connect "[$MAPPED_SRV]:$MW_TLS_PORT" \
	-servername server.mw-lab.example </dev/null >"$TMP/cli-tls.log" 2>&1 &
TLS_PID=$!
sleep 1.5
sockets cli "$MW_TLS_PORT" >"$TMP/cli.ss"
wait "$TLS_PID"
unwatch cli

LAST_OUT=$TMP/cli.ss
check "cli-socket-v4-mapped" bash -c "grep -q '\[$MAPPED_SRV\]:$MW_TLS_PORT' '$TMP/cli.ss'"
LAST_OUT=$TMP/cli-tls.log
check "cli-tls-handshake-stalls" bash -c "grep -q '^CONNECTED' '$TMP/cli-tls.log' &&
	! grep -q '^SSL handshake has read' '$TMP/cli-tls.log'"
both cli cli-stalled_tls '"verdict":"stalled_tls"' "\"dst\":\"$MW_SRV4\"" '"role":"client"' \
	"\"dport\":$MW_TLS_PORT" '"step":"after ClientHello' '"peer_mss":8960'
never cli cli-no-mapped-address '::ffff:'
never cli cli-no-ipv6-family '"family":"ipv6"'

# --- seed 001, the sender on [::]: a frag-needed arrives and is ignored (route MTU locked) -----
if ! PTB_BIND=:: ptb_up locked 4 >"$TMP/ptb-up.log" 2>&1; then
	fail ptb-lab "$(tail -3 "$TMP/ptb-up.log")"
fi
watch cli ptb
PTB_BIND=:: ptb_traffic locked 4 8 >/dev/null 2>&1 &
PTB_PID=$!
sleep 2
sockets cli "$PTB_PORT" >"$TMP/ptb.ss"
wait "$PTB_PID"
unwatch ptb

LAST_OUT=$TMP/ptb.ss
check "ptb-socket-v4-mapped" bash -c "grep -q '\[::ffff:$MW_CLI4\]:$PTB_PORT' '$TMP/ptb.ss'"
LAST_OUT=$MW_LAB_DIR/ptb-client.log
check "ptb-handshake-stalls" hasnt "$MW_LAB_DIR/ptb-client.log" 'CONNECTION ESTABLISHED'
LAST_OUT=$TMP/ptb.live
check "ptb-frag-needed-arrived" test "$(lab_exec cli nstat -asz IcmpInDestUnreachs |
	awk '$1 == "IcmpInDestUnreachs" { print $2 }')" -gt 0
both ptb ptb-ptb_ignored '"verdict":"ptb_ignored"' "\"dst\":\"$MW_SRV4\"" '"family":"ipv4"' \
	'"ignore_reason":"route_mtu_locked"' '"mtu":1446,' "\"ptb_from\":\"$MW_RTR0_4\""
both ptb ptb-causes-locked '"verdict":"ptb_ignored"' '"causes":\[[^]]*"route_mtu_locked"'
LAST_OUT=$TMP/ptb.live
# the PTB arrived: no black hole, for the IPv4 address or any other name of it
check "ptb-no-icmp_blackhole" hasnt_any '"verdict":"icmp_blackhole"' "$TMP/ptb.live" "$TMP/ptb.rep"
never ptb ptb-no-mapped-address '::ffff:'
never ptb ptb-no-ipv6-family '"family":"ipv6"'
never ptb ptb-no-icmpv6-words 'ICMPv6|Packet Too Big arrives'

# --- the same sender on [::], the frag-needed taken: pmtu_learned ------------------------------
if ! PTB_BIND=:: ptb_up control 4 >"$TMP/ptb-up.log" 2>&1; then
	fail learn-lab "$(tail -3 "$TMP/ptb-up.log")"
fi
watch cli learn
PTB_BIND=:: ptb_traffic control 4 8 >/dev/null 2>&1
LEARN_RC=$?
unwatch learn
LAST_OUT=$MW_LAB_DIR/ptb-client.log
check "learn-handshake-completes" test "$LEARN_RC" = 0
LAST_OUT=$TMP/learn.live
route_mtu() { lab_exec cli ip route get "$MW_SRV4" | grep -q "mtu $1"; }
check "learn-route-mtu-1446" route_mtu 1446
both learn learn-pmtu_learned '"verdict":"pmtu_learned"' "\"dst\":\"$MW_SRV4\"" \
	'"family":"ipv4"' '"mtu":1446,'
never learn learn-no-mapped-address '::ffff:'
never learn learn-no-ipv6-family '"family":"ipv6"'

# --- the same sender on [::], its frag-needed dropped by its own INPUT chain: ptb_dropped ------
lab_up fwdrop >/dev/null 2>&1 || fail drop-lab "lab_up fwdrop failed"
watch cli drop
PTB_BIND=:: ptb_server 4 "do" >/dev/null 2>&1 || fail drop-server "ptb-server.py did not start"
ptb_client 8 4 >/dev/null 2>&1 &
PTB_PID=$!
sleep 2
sockets cli "$PTB_PORT" >"$TMP/drop.ss"
wait "$PTB_PID"
unwatch drop
LAST_OUT=$TMP/drop.ss
check "drop-socket-v4-mapped" bash -c "grep -q '\[::ffff:$MW_CLI4\]:$PTB_PORT' '$TMP/drop.ss'"
LAST_OUT=$TMP/drop.live
check "drop-input-dropped-frag-needed" test "$(scen_ipt_drops cli iptables INPUT)" -gt 0
both drop drop-ptb_dropped '"verdict":"ptb_dropped"' "\"dst\":\"$MW_SRV4\"" '"family":"ipv4"' \
	'"mtu":1446,'
never drop drop-no-mapped-address '::ffff:'
never drop drop-no-ipv6-family '"family":"ipv6"'

# --- the client as the jumbo sender, on an AF_INET6 socket, ICMP filtered: icmp_blackhole ------
lab_up filtered >/dev/null 2>&1 || fail bulk-lab "lab_up filtered failed"
lab_exec srv timeout 30 iperf3 -s -1 -p "$MW_IPERF_PORT" >"$TMP/bulk-srv.log" 2>&1 &
IPERF_PID=$!
_mw_wait_listen srv "$MW_IPERF_PORT" || fail bulk-server "iperf3 did not start"
watch cli bulk
lab_exec cli timeout 14 iperf3 -c "$MAPPED_SRV" -p "$MW_IPERF_PORT" -t 6 --connect-timeout 2000 \
	>"$TMP/bulk-cli.log" 2>&1 &
BULK_PID=$!
sleep 2
sockets cli "$MW_IPERF_PORT" >"$TMP/bulk.ss"
wait "$BULK_PID"
unwatch bulk
kill "$IPERF_PID" 2>/dev/null
wait "$IPERF_PID" 2>/dev/null
LAST_OUT=$TMP/bulk.ss
check "bulk-socket-v4-mapped" bash -c "grep -q '\[$MAPPED_SRV\]:$MW_IPERF_PORT' '$TMP/bulk.ss'"
LAST_OUT=$TMP/bulk.live
check "bulk-rtr-icmp-dropped" test "$(scen_ipt_drops rtr iptables OUTPUT)" -gt 0
both bulk bulk-icmp_blackhole '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_SRV4\"" \
	'"family":"ipv4"' '"iface":"c0"' '"bracket_hi":9000'
both bulk bulk-causes-icmp-filtered '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_SRV4\"" \
	'"causes":\["icmp_filtered"'
never bulk bulk-no-mapped-address '::ffff:'
never bulk bulk-no-ipv6-family '"family":"ipv6"'
never bulk bulk-no-ipv6-sizes '[^0-9]9020[^0-9]|"bracket_lo":1280'
never bulk bulk-no-icmpv6-words 'ICMPv6|ping -6'

# --- both ends dual-stack, and both families on the [::] sockets: silent 1500 hop ------------
# The server's jumbo segments die at the 1500 hop, no ICMP. Every server listens on [::] (sshd
# behind one dual-stack socket, lab.sh lab_ssh_server dualstack); the client reaches the IPv4
# server as ::ffff:198.51.100.2 on AF_INET6 sockets (ssh, openssl, iperf3 -R) and, in the same
# run, the IPv6 server on the same [::] sockets (openssl, iperf3 -R): every finding keeps the
# family of its wire, the IPv4 ones name one IPv4 path and no ::ffff:.
MIX_V6_PORT=5202
lab_up silent >/dev/null 2>&1 || fail mix-lab "lab_up silent failed"
lab_ssh_server dualstack >/dev/null 2>&1 || fail mix-ssh-server "sshd did not start"
lab_exec srv timeout 60 python3 "$_MW_SCEN_TOOLS/tls-pmtu-server.py" :: "$DS_TLS_PORT" \
	"$TMP/full.pem" "$d/leaf.key" want </dev/null >"$TMP/mix-pytls.log" 2>&1 &
PYTLS_PID=$!
lab_exec srv timeout 60 iperf3 -s -1 -p "$MW_IPERF_PORT" >"$TMP/mix-iperf4.log" 2>&1 &
IPERF4_PID=$!
lab_exec srv timeout 60 iperf3 -s -1 -p "$MIX_V6_PORT" >"$TMP/mix-iperf6.log" 2>&1 &
IPERF6_PID=$!
for p in "$DS_TLS_PORT" "$MW_IPERF_PORT" "$MIX_V6_PORT"; do
	_mw_wait_listen srv "$p" || fail mix-listen "port $p did not listen"
done
watch srv mixs
watch cli mixc
# export beside live and record at both ends: one path series per family, stalls by protocol
mw_start srv "$TMP/mixs.exp" export --listen "127.0.0.1:$((EXPORT_PORT + 1))"
MIXS_EXP=$MW_PID
mw_start cli "$TMP/mixc.exp" export --listen "127.0.0.1:$((EXPORT_PORT + 2))"
MIXC_EXP=$MW_PID
lab_ssh_client 8 4m &
SSH_PID=$!
lab_exec cli timeout 8 stdbuf -oL openssl s_client -connect "[$MAPPED_SRV]:$DS_TLS_PORT" \
	-servername server.mw-lab.example </dev/null >"$TMP/mix-tls4.log" 2>&1 &
TLS4_PID=$!
lab_exec cli timeout 8 stdbuf -oL openssl s_client -connect "[$MW_SRV6]:$DS_TLS_PORT" \
	-servername server.mw-lab.example </dev/null >"$TMP/mix-tls6.log" 2>&1 &
TLS6_PID=$!
lab_exec cli timeout 12 iperf3 -c "$MAPPED_SRV" -p "$MW_IPERF_PORT" -t 4 -R \
	--connect-timeout 2000 >"$TMP/mix-bulk4.log" 2>&1 &
BULK4_PID=$!
lab_exec cli timeout 12 iperf3 -c "$MW_SRV6" -p "$MIX_V6_PORT" -t 4 -R \
	--connect-timeout 2000 >"$TMP/mix-bulk6.log" 2>&1 &
BULK6_PID=$!
sleep 2
for p in "$MW_SSH_PORT" "$DS_TLS_PORT" "$MW_IPERF_PORT" "$MIX_V6_PORT"; do
	sockets srv "$p"
done >"$TMP/mixs.ss"
for p in "$MW_SSH_PORT" "$DS_TLS_PORT" "$MW_IPERF_PORT" "$MIX_V6_PORT"; do
	sockets cli "$p"
done >"$TMP/mixc.ss"
wait "$SSH_PID" "$TLS4_PID" "$TLS6_PID" "$BULK4_PID" "$BULK6_PID"
cp "$MW_LAB_DIR/ssh-client.log" "$TMP/mix-ssh.log"
sleep 1
lab_exec srv curl -s --max-time 5 "http://127.0.0.1:$((EXPORT_PORT + 1))/metrics" \
	>"$TMP/mixs.metrics"
lab_exec cli curl -s --max-time 5 "http://127.0.0.1:$((EXPORT_PORT + 2))/metrics" \
	>"$TMP/mixc.metrics"
MW_PID=$MIXS_EXP mw_stop
MW_PID=$MIXC_EXP mw_stop
unwatch mixc
unwatch mixs
kill "$PYTLS_PID" "$IPERF4_PID" "$IPERF6_PID" 2>/dev/null
wait "$PYTLS_PID" "$IPERF4_PID" "$IPERF6_PID" 2>/dev/null

# the traffic ran as it must: AF_INET6 sockets at both ends, ::ffff: and real IPv6 peers on the
# same listeners, every handshake stalled and neither bulk receiver got a byte
LAST_OUT=$TMP/mixs.ss
for p in "$MW_SSH_PORT" "$DS_TLS_PORT" "$MW_IPERF_PORT"; do
	check "mix-srv-socket-v4-mapped-$p" grep -q \
		"\[$MAPPED_SRV\]:$p  *\[::ffff:$MW_CLI4\]:" "$TMP/mixs.ss"
done
for p in "$DS_TLS_PORT" "$MIX_V6_PORT"; do
	check "mix-srv-socket-v6-$p" grep -q "\[$MW_SRV6\]:$p  *\[$MW_CLI6\]:" "$TMP/mixs.ss"
done
LAST_OUT=$TMP/mixc.ss
for p in "$MW_SSH_PORT" "$DS_TLS_PORT" "$MW_IPERF_PORT"; do
	check "mix-cli-socket-v4-mapped-$p" grep -q \
		"\[::ffff:$MW_CLI4\]:[0-9]*  *\[$MAPPED_SRV\]:$p" "$TMP/mixc.ss"
done
LAST_OUT=$TMP/mix-ssh.log
check "mix-ssh-kex-stalls" bash -c "grep -q 'Connection established' '$TMP/mix-ssh.log' && \
	! grep -q 'SSH2_MSG_NEWKEYS received' '$TMP/mix-ssh.log'"
for f in tls4 tls6; do
	LAST_OUT=$TMP/mix-$f.log
	check "mix-$f-handshake-stalls" bash -c "grep -q '^CONNECTED' '$TMP/mix-$f.log' && \
		! grep -q '^SSL handshake has read' '$TMP/mix-$f.log'"
done
for f in bulk4 bulk6; do
	LAST_OUT=$TMP/mix-$f.log
	check "mix-$f-receiver-starves" bash -c "grep -q 'connected to' '$TMP/mix-$f.log' && \
		grep -q ' 0.00 Bytes .*receiver' '$TMP/mix-$f.log'"
done

# the server end: the IPv4 client's findings are IPv4's, the IPv6 client's IPv6's
both mixs mix-srv-stalled_ssh '"verdict":"stalled_ssh"' "\"dst\":\"$MW_CLI4\"" '"family":"ipv4"' \
	'"role":"server"' "\"sport\":$MW_SSH_PORT" '"step":"sent KEX_ECDH_REPLY' '"mtu_evidence":true'
both mixs mix-srv-stalled_tls-v4 '"verdict":"stalled_tls"' "\"dst\":\"$MW_CLI4\"" \
	'"family":"ipv4"' '"role":"server"' "\"sport\":$DS_TLS_PORT" '"mtu_evidence":true'
both mixs mix-srv-icmp_blackhole-v4 '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI4\"" \
	'"family":"ipv4"' '"iface":"s0"' '"retrans_sizes":\[9000[],]' 'ICMP fragmentation-needed'
both mixs mix-srv-stalled_tls-v6 '"verdict":"stalled_tls"' "\"dst\":\"$MW_CLI6\"" \
	'"family":"ipv6"' '"role":"server"' "\"sport\":$DS_TLS_PORT" '"mtu_evidence":true'
both mixs mix-srv-icmp_blackhole-v6 '"verdict":"icmp_blackhole"' "\"dst\":\"$MW_CLI6\"" \
	'"family":"ipv6"' '"bracket_lo":1280' '"retrans_sizes":\[9000[],]' 'ICMPv6 Packet Too Big'
# the client end: its AF_INET6 sockets to ::ffff:198.51.100.2 and to 2001:db8:2::2
both mixc mix-cli-stalled_ssh '"verdict":"stalled_ssh"' "\"dst\":\"$MW_SRV4\"" '"family":"ipv4"' \
	'"role":"client"' "\"dport\":$MW_SSH_PORT" '"step":"waiting for KEX_ECDH_REPLY"' \
	'"mtu_evidence":true'
both mixc mix-cli-stalled_tls-v4 '"verdict":"stalled_tls"' "\"dst\":\"$MW_SRV4\"" \
	'"family":"ipv4"' '"role":"client"' "\"dport\":$DS_TLS_PORT" '"peer_mss":8960'
both mixc mix-cli-stalled_tls-v6 '"verdict":"stalled_tls"' "\"dst\":\"$MW_SRV6\"" \
	'"family":"ipv6"' '"role":"client"' "\"dport\":$DS_TLS_PORT" '"peer_mss":8940'
# each finding keeps the family of its wire: the IPv4 ones without IPv6 words or sizes, the
# IPv6 ones without IPv4's; no other address; one path per family at each end, no ::ffff: one
own_family() {
	local f=$1 l
	grep -h '"verdict"' "$f" | grep -v '"summary":true' >"$f.findings"
	[ -s "$f.findings" ] || return 1
	while IFS= read -r l; do
		case $l in
		*"\"dst\":\"$MW_CLI4\""* | *"\"dst\":\"$MW_SRV4\""*)
			grep -Eq '"family":"ipv6"|ICMPv6|ping -6|[^0-9]9020[^0-9]' <<<"$l" && return 1 ;;
		*"\"dst\":\"$MW_CLI6\""* | *"\"dst\":\"$MW_SRV6\""*)
			grep -Eq '"family":"ipv4"|fragmentation-needed|type 3 code 4' <<<"$l" && return 1 ;;
		*) return 1 ;;
		esac
	done <"$f.findings"
	return 0
}
# export at both ends: the stalled handshakes of both protocols, and at the server (the black
# holes' end) a verdict series per family: IPv4's prefix, never a ::ffff: one
mix_metrics() {	# mix_metrics FILE [PREFIX4 PREFIX6] (the black holes' paths)
	{ [ $# = 1 ] || { grep -q "^mtuwatch_path_verdict{verdict=\"icmp_blackhole\".*dst_prefix=\"$2\"" "$1" &&
		grep -q "^mtuwatch_path_verdict{verdict=\"icmp_blackhole\".*dst_prefix=\"$3\"" "$1"; }; } &&
		grep -Eq '^mtuwatch_stalled_handshakes_total\{proto="tls"\} [2-9]' "$1" &&
		grep -Eq '^mtuwatch_stalled_handshakes_total\{proto="ssh"\} [1-9]' "$1" &&
		! grep -q '::ffff:' "$1"
}
LAST_OUT=$TMP/mixs.metrics
check "mix-srv-export" mix_metrics "$TMP/mixs.metrics" "192.0.2.0/24" "2001:db8:1::/64"
LAST_OUT=$TMP/mixc.metrics
check "mix-cli-export" mix_metrics "$TMP/mixc.metrics"
for n in mixs mixc; do
	for f in live rep; do
		LAST_OUT=$TMP/$n.$f
		check "mix-$n-$f-own-family" own_family "$TMP/$n.$f"
		check "mix-$n-$f-two-paths" grep -q '"summary":true,"paths":2,' "$TMP/$n.$f"
	done
	never "$n" "mix-$n-no-mapped-address" '::ffff:'
done
lab_down >/dev/null 2>&1
