#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2034 # LAST_OUT is read by check() in lib.sh
# A Packet Too Big the kernel took, whose copy on a socket's queue is freed when the socket
# closes, is no drop (issue 25 item 1). `ping -M do -s BIG -w 1` and a UDP socket with
# IP_RECVERR (tests/tools/errq-leave.py) each make the router answer with a real PTB (mtu 1446,
# the control lab of tests/scenarios-ptb.sh), the kernel learns the path MTU, and the socket
# closes with the ICMP error still queued: the kernel frees that copy with QUEUE_PURGE (where it
# names it; NOT_SPECIFIED before). mtuwatch must report pmtu_learned, and no ptb_dropped, no
# icmp_filtered cause, no ptb_dropped summary. A real drop (the router's PTB dropped by the
# sender's INPUT chain) must still be ptb_dropped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../scenarios-ptb.sh"
TOOLS=$(dirname "$(readlink -f "$0")")/../tools

# run FAMILY [drop]: the control lab (drop: the sender's INPUT drops PTBs), mtuwatch live
# --json and record on the sender, the ping and the UDP socket, then the route and the report.
run() {
	local fam=$1 drop=${2:-} lpid rpid
	NAME=purge$fam${drop:+-drop}
	DST=$(ptb_addr srv "$fam")
	LIVE=$TMP/$NAME.live REP=$TMP/$NAME.report RAW=$TMP/$NAME.raw
	if ! ptb_up control "$fam" >"$TMP/up.log" 2>&1; then
		fail "$NAME-lab-up" "$(tail -3 "$TMP/up.log")"
		return 1
	fi
	if [ -n "$drop" ]; then
		lab_exec cli iptables -w -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP
		lab_exec cli ip6tables -w -A INPUT -p ipv6-icmp --icmpv6-type packet-too-big -j DROP
	fi
	mw_start cli "$LIVE" --json
	lpid=$MW_PID
	mw_start cli "$TMP/$NAME.rec" record -f -o "$TMP/$NAME.data"
	rpid=$MW_PID
	# 2000 bytes of payload: 2028 (IPv4) / 2048 (IPv6) on the wire, over the router's 1446.
	# The UDP socket first, then the learned MTU flushed so that ping's first packet leaves
	# big and draws a PTB of its own.
	lab_exec cli "$PTB_PYTHON" "$TOOLS/errq-leave.py" --port 9 "$DST" >"$TMP/$NAME.errq" 2>&1
	ERRQ_RC=$?
	lab_exec cli ip -"$fam" route flush cache
	lab_exec cli ping -"$fam" -n -M "do" -s 2000 -i 0.2 -w 1 "$DST" >"$TMP/$NAME.ping" 2>&1
	PING_RC=$?
	lab_exec cli ip -"$fam" route get "$DST" >"$TMP/$NAME.route" 2>&1
	sleep 1.5
	MW_PID=$rpid mw_stop
	MW_PID=$lpid mw_stop
	"$MW" report -i "$TMP/$NAME.data" --json >"$REP" 2>"$REP.err"
	"$MW" report -i "$TMP/$NAME.data" --raw >"$RAW" 2>"$RAW.err"
	LAST_OUT=$LIVE
}

# no_drop_claims FILE: a finished run (its summary is there) with no ptb_dropped finding or
# summary, no icmp_filtered cause
no_drop_claims() {
	grep -q '"summary":true' "$1" && ! grep -q '"verdict":"ptb_dropped"' "$1" && ! grep -q '"icmp_filtered"' "$1"
}

for fam in 4 6; do
	run $fam
	# the situation: a real PTB came back, ping saw the error and failed, the UDP socket
	# closed with the error still on its queue, and the kernel learned the path MTU
	LAST_OUT=$TMP/$NAME.ping
	check "$NAME-ping-failed" test "$PING_RC" != 0
	check "$NAME-ping-got-the-ptb" grep -Eqi 'frag needed.*mtu ?= ?1446|packet too big.*mtu ?= ?1446' \
		"$TMP/$NAME.ping"
	LAST_OUT=$TMP/$NAME.errq
	check "$NAME-error-queued-at-close" test "$ERRQ_RC" = 0
	LAST_OUT=$TMP/$NAME.route
	check "$NAME-kernel-learned-1446" grep -q 'mtu 1446' "$TMP/$NAME.route"
	# mtuwatch, live and from the recording
	for f in "$LIVE" "$REP"; do
		LAST_OUT=$f
		check "$NAME-${f##*.}-pmtu_learned-1446" finding "$f" '"verdict":"pmtu_learned"' \
			"\"dst\":\"$DST\"" '"mtu":1446'
		check "$NAME-${f##*.}-no-ptb_dropped-no-icmp_filtered" no_drop_claims "$f"
	done
	LAST_OUT=$RAW
	check "$NAME-raw-no-ptb_drop-event" bash -c "grep -q 'ptb_rx' '$RAW' &&
		! grep -q 'ptb_drop' '$RAW'"
done

# a real drop still counts: the sender's INPUT drops the router's PTBs
for fam in 4 6; do
	run $fam drop
	LAST_OUT=$TMP/$NAME.route
	check "$NAME-kernel-learned-nothing" bash -c "grep -q ' dev ' '$TMP/$NAME.route' &&
		! grep -q 'mtu 1446' '$TMP/$NAME.route'"
	for f in "$LIVE" "$REP"; do
		LAST_OUT=$f
		check "$NAME-${f##*.}-ptb_dropped-in" finding "$f" '"verdict":"ptb_dropped"' \
			"\"dst\":\"$DST\"" '"mtu":1446' '"drop_reason":"NETFILTER_DROP"' \
			'"direction":"in"'
	done
done
lab_down >/dev/null 2>&1
