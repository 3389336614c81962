#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Closed connections leave the flow map (issue 28 item 2): 20,000 connections opened and closed
# on a namespace's loopback while mtuwatch watches it, the server closing first (the client's
# LAST_ACK -> CLOSE, whose socket the kernel has already unbound from its port), leave fewer
# than 100 entries in this mtuwatch's `flows` map; 20 connections held open are still in it
# (the flows are tracked at all). The same from a node with --all-netns, for a pod's flows, and
# with the raw_tp fallback of the socket-state tracepoint. Then 3,000 new kinds of Packet Too
# Big at once: the ones over the kernel's budget are counted in the --json summary. Last, a
# black hole found before churn to 40,000 destinations keeps its path MTU in the kernel; and
# 3,000 real connections' PTBs at once, over the budget: every exception learned is reported.
# Run as root: flock /tmp/mw-e2e.lock env OUT=build bash tests/e2e/test-churn.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CLI=$(lab_ns cli)
POD=$(lab_ns pod)
CHURN=$(dirname "$0")/../tools/churn.py
N=20000
HOLD=20
trap 'kill "$MW_PID" 2>/dev/null; wait "$MW_PID" 2>/dev/null
	[ -n "${CH_PID:-}" ] && kill "$CH_PID" 2>/dev/null
	[ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "${BULK_PID:-}" ] && kill "$BULK_PID" 2>/dev/null
	[ -n "${SRV2_PID:-}" ] && kill "$SRV2_PID" 2>/dev/null; lab_down >/dev/null 2>&1
	rm -rf "$TMP"' EXIT

# The id of this mtuwatch's `flows` map (other instances have theirs).
flows_map() {
	local p id
	p=$(pgrep -P "$MW_PID" -x mtuwatch) || return 1
	for id in $(grep -h '^map_id:' /proc/"$p"/fdinfo/* 2>/dev/null | awk '{ print $2 }'); do
		bpftool -j map show id "$id" 2>/dev/null | jq -e '.name == "flows"' >/dev/null &&
			echo "$id" && return 0
	done
	return 1
}
# Entries in it of namespace NS (FLOWS: the map's id, found once mtuwatch runs). With
# --all-netns every namespace's flows are there, other tests' too: only ours are counted, by
# the key's netns (struct mw_flow_key: bytes 36..39, host order; little-endian hosts).
flows_count() {
	local ino le
	ino=$(stat -L -c %i "/run/netns/$1") || return 1
	le=$(printf '%08x' "$ino" | sed 's/\(..\)\(..\)\(..\)\(..\)/["0x\4","0x\3","0x\2","0x\1"]/')
	[ -n "$FLOWS" ] && bpftool -j map dump id "$FLOWS" 2>/dev/null |
		jq -e --argjson ns "$le" '[.[] | select(.key[36:40] == $ns)] | length'
}
# The names of the programs this mtuwatch holds.
mw_progs() {
	local p id
	p=$(pgrep -P "$MW_PID" -x mtuwatch) || return 1
	for id in $(grep -h '^prog_id:' /proc/"$p"/fdinfo/* 2>/dev/null | awk '{ print $2 }'); do
		bpftool -j prog show id "$id" 2>/dev/null | jq -r .name
	done
}

below() { [ -n "$2" ] && [ "$2" -lt "$1" ]; }
# churn_in NS LABEL: N connections and HOLD held in NS, with the checks.
churn_in() {
	local ns=$1 label=$2 before after i
	FLOWS=$(flows_map)
	before=$(flows_count "$ns")
	check "churn-$label-map-read" [ -n "$before" ]
	mkfifo "$TMP/hold-$label"
	ip netns exec "$ns" timeout 120 python3 "$CHURN" 127.0.0.1 18080 "$N" "$HOLD" \
		<"$TMP/hold-$label" >"$TMP/churn-$label" 2>&1 &
	CH_PID=$!
	exec 9>"$TMP/hold-$label"
	for _ in $(seq 600); do
		grep -q holding "$TMP/churn-$label" && break
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	LAST_OUT=$TMP/churn-$label
	# First: the connections happened.
	check "churn-$label-connections" grep -qx "done $N" "$TMP/churn-$label"
	check "churn-$label-holding" grep -qx "holding $HOLD" "$TMP/churn-$label"
	# The last close events may still be on their way: poll, bounded.
	for i in $(seq 10); do
		after=$(flows_count "$ns")
		below 100 "$after" && break
		sleep 0.3
	done
	echo "flows map: $before before, $after after $N connections ($HOLD open)"
	LAST_OUT=/dev/null
	check "churn-$label-closed-leave (${after:-?} entries)" below 100 "$after"
	check "churn-$label-open-stay (${after:-?} entries)" [ "${after:-0}" -ge "$HOLD" ]
	exec 9>&-
	wait "$CH_PID"
	CH_PID=
}

# --- 1. this namespace's own flows ------------------------------------------------------------
lab_down >/dev/null 2>&1
ip netns add "$CLI" && ip -n "$CLI" link set lo up
mw_start cli "$TMP/live1" live --json
churn_in "$CLI" own
mw_stop

# --- 2. a pod's flows, from its node with --all-netns -----------------------------------------
ip netns add "$POD" && ip -n "$POD" link set lo up
mw_start cli "$TMP/live2" live --json --all-netns
churn_in "$POD" pod
mw_stop

# --- 3. the raw_tp fallback (a kernel that refuses tp_btf), own namespace ------------------------
MW_TEST_REFUSE=mw_tp_sock_state mw_start cli "$TMP/live3" live --json
mw_progs >"$TMP/progs3"
LAST_OUT=$TMP/progs3
raw_only() { has "$1" mw_raw_sock_state && hasnt "$1" mw_tp_sock_state; }
check "churn-raw-fallback-used" raw_only "$TMP/progs3"
churn_in "$CLI" raw
mw_stop

# --- 4. new kinds of Packet Too Big over the kernel's budget: counted, said (issue 28 item 3) ----
SRV=$(lab_ns srv)
ip netns add "$SRV"
ip -n "$CLI" link add a0 type veth peer name b0 netns "$SRV"
ip -n "$CLI" addr add 192.0.2.1/24 dev a0
ip -n "$SRV" addr add 192.0.2.2/24 dev b0
ip -n "$CLI" link set a0 up
ip -n "$SRV" link set b0 up
mw_start cli "$TMP/live4" live --json
ip netns exec "$SRV" timeout 30 python3 "$(dirname "$0")/../tools/ptb-many.py" 192.0.2.1 3000 \
	>"$TMP/ptb4" 2>&1
rx=$(ip netns exec "$CLI" nstat -az IcmpInDestUnreachs | awk '/IcmpInDestUnreachs/ { print $2 }')
mw_stop
LAST_OUT=$TMP/ptb4
# First: they were sent and arrived.
check "ptb-budget-sent" grep -qx "sent 3000" "$TMP/ptb4"
check "ptb-budget-arrived ($rx)" test "${rx:-0}" -ge 3000
sup=$(grep '"summary":true,"paths"' "$TMP/live4" | grep -o '"ptb_suppressed":[0-9]*' | cut -d: -f2)
echo "ptb_suppressed: ${sup:-none} of 3000 new kinds"
LAST_OUT=$TMP/live4
# 3000 at once: past 256 a second per CPU, whatever the speed.
check "ptb-budget-suppressed-said (${sup:-none})" test "${sup:-0}" -gt 0 -a "${sup:-0}" -le 3000

# --- 5. the needle among churn to more destinations than the kernel's dsts holds (item 1) --------
# A bulk flow into a silent black hole (SRV's b0 takes 1280 bytes, veth drops larger, SRV advertises
# MSS 1460 and sends no ICMP) is found; the flow is reset; then 40,000 connections go to as many
# distinct destinations (198.18.0.0/15, AnyIP on SRV's lo): more than the kernel's LRU dsts
# holds (16,384). The needle is named in the closing summary, and the kernel still holds its path
# MTU (the first packet over it is flagged, each counted in mtuwatch_oversized_df_packets_total).
ND=40000
DTOOL=$(dirname "$0")/../tools/churn-dsts.py
ip -n "$SRV" link set b0 mtu 1280
# veth lets a GSO packet past the peer's MTU: the sender segments before a0.
ip netns exec "$CLI" ethtool -K a0 tso off gso off >/dev/null
ip -n "$SRV" route replace 192.0.2.0/24 dev b0 src 192.0.2.2 advmss 1460
ip -n "$SRV" route add local 198.18.0.0/15 dev lo
ip -n "$CLI" route add 198.18.0.0/15 via 192.0.2.2
ip netns exec "$SRV" timeout 120 python3 "$DTOOL" serve 18080 >"$TMP/srv5" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do grep -q listening "$TMP/srv5" && break; sleep 0.05; done
mw_start cli "$TMP/live5" live --json
ip netns exec "$CLI" timeout 100 python3 "$DTOOL" bulk 192.0.2.2 18081 2000000 \
	>"$TMP/bulk5" 2>&1 &
BULK_PID=$!
# The needle's finding: bounded poll (its segments are re-sent on a backed-off timer).
for _ in $(seq 150); do
	finding "$TMP/live5" '"verdict":"icmp_blackhole"' '"dst":"192.0.2.2"' && break
	sleep 0.2
done
# The flow gives up (as a user's would); its destination's last packet is now older than what
# the churn brings.
kill "$BULK_PID" 2>/dev/null
wait "$BULK_PID" 2>/dev/null
BULK_PID=
# Each sends 1000 bytes first: a DF segment tc egress keeps a destination for (small ones
# need none), that b0's 1280 lets through.
ip netns exec "$CLI" timeout 100 python3 "$DTOOL" churn 198.18.0.0 "$ND" 18080 4 mid \
	>"$TMP/churn5" 2>&1
# Every map of this mtuwatch named NAME: its ids.
maps_named() {
	local p id
	p=$(pgrep -P "$MW_PID" -x mtuwatch) || return 1
	for id in $(grep -h '^map_id:' /proc/"$p"/fdinfo/* 2>/dev/null | awk '{ print $2 }'); do
		bpftool -j map show id "$id" 2>/dev/null | jq -e --arg n "$1" '.name == $n' \
			>/dev/null && echo "$id"
	done
}
# Entries for 192.0.2.2 with a path MTU (struct mw_dst_val's pmtu: bytes 4..7) in the kernel's
# destination maps (dsts, and dsts_keep where the binary has it).
needle_kernel() {
	local id n=0 c
	for id in $(maps_named dsts) $(maps_named dsts_keep); do
		c=$(bpftool -j map dump id "$id" 2>/dev/null | jq '[.[] |
			select(.key[0:4] == ["0xc0","0x00","0x02","0x02"]) |
			select(.value[4:8] != ["0x00","0x00","0x00","0x00"])] | length')
		n=$((n + ${c:-0}))
	done
	echo "$n"
}
dsts_fill() {
	local id
	for id in $(maps_named dsts); do
		bpftool -j map dump id "$id" 2>/dev/null | jq length
	done
}
fill=$(dsts_fill)
held=$(needle_kernel)
# Entries for 192.0.2.2 with a path MTU in this mtuwatch's map NAME.
needle_in() {
	local id
	for id in $(maps_named "$1"); do
		bpftool -j map dump id "$id" 2>/dev/null | jq '[.[] |
			select(.key[0:4] == ["0xc0","0x00","0x02","0x02"]) |
			select(.value[4:8] != ["0x00","0x00","0x00","0x00"])] | length'
	done
}
# The path is mended (b0 takes 1500 again) and a new flow's full-size segments are delivered:
# the black hole no longer stands, and its entry goes back from dsts_keep to dsts (evictable,
# its path MTU kept) at the next sweep.
kept_before=$(needle_in dsts_keep)
ip -n "$SRV" link set b0 mtu 1500
ip netns exec "$CLI" timeout 30 python3 "$DTOOL" bulk 192.0.2.2 18081 300000 >"$TMP/bulk5b" 2>&1 &
BULK_PID=$!
for _ in $(seq 50); do
	[ "$(needle_in dsts_keep)" = 0 ] && break
	sleep 0.2
done
kept_after=$(needle_in dsts_keep)
back_in_dsts=$(needle_in dsts)
kill "$BULK_PID" 2>/dev/null
wait "$BULK_PID" 2>/dev/null
BULK_PID=
ip -n "$SRV" link set b0 mtu 1280
mw_stop
kill "$SRV_PID" 2>/dev/null
wait "$SRV_PID" 2>/dev/null
echo "dsts: ${fill:-?} entries after $ND destinations; needle's path MTU in the kernel: ${held:-0}"
echo "mended: needle in dsts_keep ${kept_before:-?} -> ${kept_after:-?}, in dsts ${back_in_dsts:-?}"
LAST_OUT=$TMP/churn5
# First: the churn happened, to more destinations than dsts holds.
check "needle-churn-ran" grep -qx "done $ND" "$TMP/churn5"
check "needle-churn-filled-dsts (${fill:-?})" test "${fill:-0}" -gt 16000
grep rate "$TMP/churn5"
LAST_OUT=$TMP/live5
check "needle-found" finding "$TMP/live5" '"verdict":"icmp_blackhole"' '"dst":"192.0.2.2"'
check "needle-in-summary" grep -q '"summary":true,"dst":"192.0.2.2".*"verdict":"icmp_blackhole"' \
	"$TMP/live5"
check "needle-mtu-kept-in-kernel (${held:-0})" test "${held:-0}" -ge 1
LAST_OUT=$TMP/bulk5b
check "needle-mended-bulk-connected" grep -q '^connected' "$TMP/bulk5b"
check "needle-mended-leaves-keep (${kept_before:-?} -> ${kept_after:-?})" \
	test "${kept_before:-0}" = 1 -a "${kept_after:-1}" = 0
check "needle-mended-back-in-dsts (${back_in_dsts:-?})" test "${back_in_dsts:-0}" = 1

# --- 6. new kinds of PTB over the budget, for real connections: none lost (issue 28 item 3) ------
# 3,000 connections, each to a new destination of 198.19.0.0/16 behind a router whose next hop
# takes 1400 bytes (SRV advertises MSS 1460): each makes the router send a Packet Too Big and
# the client's kernel learn an exception, far more at once than the kernel's event budget
# passes. Every exception the kernel learned is a pmtu_learned finding (a sweep of the
# exceptions when the suppressed count moves).
RTR=$(lab_ns rtr)
NP=3000
ip netns add "$RTR"
ip -n "$CLI" link add a1 type veth peer name r1 netns "$RTR"
ip -n "$RTR" link add r2 type veth peer name s2 netns "$SRV"
ip -n "$CLI" addr add 198.51.100.1/24 dev a1
ip -n "$RTR" addr add 198.51.100.2/24 dev r1
ip -n "$RTR" addr add 203.0.113.1/24 dev r2
ip -n "$SRV" addr add 203.0.113.2/24 dev s2
ip -n "$RTR" link set r2 mtu 1400
ip -n "$SRV" link set s2 mtu 1400
for l in "$CLI a1" "$RTR r1" "$RTR r2" "$SRV s2"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 \
	net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=100000
ip -n "$CLI" route add 198.19.0.0/16 via 198.51.100.2
ip -n "$RTR" route add 198.19.0.0/16 via 203.0.113.2
ip -n "$SRV" route add 198.51.100.0/24 via 203.0.113.1 advmss 1460
# ptb_round LABEL NODE PREFIX NS [MWARGS...]: a server, mtuwatch on NODE, NP connections from CLI
# to new destinations from PREFIX through the 1400-byte hop. Sets EXC (CLI's exceptions of
# 198.19.0.0/16), NEW (those from PREFIX's /19), GOT (distinct pmtu_learned destinations of
# 198.19.0.0/16 labelled with netns NS) and SUP (ptb_suppressed in the summary); runs
# ROUND_HOOK, if set, before mtuwatch stops. Files: $TMP/{srv,live,churn}-LABEL.
learned_in() {
	grep '"verdict":"pmtu_learned"' "$1" | grep -v '"summary"' | grep "\"netns\":$2," |
		grep -o '"dst":"198\.19\.[0-9.]*"' | sort -u | wc -l
}
ptb_round() {
	local label=$1 node=$2 prefix=$3 ns=$4 hi
	shift 4
	ip netns exec "$SRV" timeout 120 python3 "$DTOOL" serve 18090 >"$TMP/srv-$label" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 100); do grep -q listening "$TMP/srv-$label" && break; sleep 0.05; done
	mw_start "$node" "$TMP/live-$label" live --json "$@"
	ip netns exec "$CLI" timeout 100 python3 "$DTOOL" churn "$prefix" "$NP" 18090 8 big \
		>"$TMP/churn-$label" 2>&1
	EXC=$(ip -n "$CLI" route show cache | grep -c '^198\.19\.')
	hi=$(echo "$prefix" | cut -d. -f3)
	NEW=$(ip -n "$CLI" route show cache |
		awk -F'[. ]' -v lo="$hi" '$1 == 198 && $2 == 19 && $3 >= lo && $3 < lo + 32' | wc -l)
	# The sweep runs on mtuwatch's next tick: poll, bounded.
	for _ in $(seq 50); do
		[ "$(learned_in "$TMP/live-$label" "$ns")" -ge "$EXC" ] && break
		sleep 0.2
	done
	[ -n "${ROUND_HOOK:-}" ] && "$ROUND_HOOK"
	mw_stop
	kill "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
	GOT=$(learned_in "$TMP/live-$label" "$ns")
	SUP=$(grep '"summary":true,"paths"' "$TMP/live-$label" | grep -o '"ptb_suppressed":[0-9]*' |
		cut -d: -f2)
	LOST=$(grep '"summary":true,"paths"' "$TMP/live-$label" | grep -o '"events_lost":[0-9]*' |
		cut -d: -f2)
	echo "$label: exceptions in CLI $EXC ($NEW new); pmtu_learned: $GOT; suppressed:" \
		"${SUP:-none}; events lost: ${LOST:-none}"
	LAST_OUT=$TMP/churn-$label
	# First: the connections ran, the kernel learned from their PTBs, past the budget.
	check "ptb-sweep-$label-connections" grep -qx "done $NP" "$TMP/churn-$label"
	check "ptb-sweep-$label-learned-many ($NEW)" test "${NEW:-0}" -ge 2000
	LAST_OUT=$TMP/live-$label
	check "ptb-sweep-$label-over-budget (${SUP:-none})" test "${SUP:-0}" -gt 0
	check "ptb-sweep-$label-none-lost ($GOT of $EXC)" test "$GOT" -ge "$EXC"
	# The sweep reads the ring as it lists (thousands of exceptions while the PTBs pour in).
	check "ptb-sweep-$label-no-events-lost (${LOST:-none})" test "${LOST:-1}" = 0
}
# dsts_keep is then full of learned (healthy) paths: a black hole found now still gets a slot
# (a learned one goes back to dsts), so churn cannot take its path MTU away.
keep_needle() {
	KEEPFILL=$(for id in $(maps_named dsts_keep); do bpftool -j map dump id "$id" | jq length; done)
	ip netns exec "$SRV" timeout 60 python3 "$DTOOL" serve 18080 >"$TMP/srv-needle" 2>&1 &
	SRV2_PID=$!
	for _ in $(seq 100); do grep -q listening "$TMP/srv-needle" && break; sleep 0.05; done
	ip netns exec "$CLI" timeout 60 python3 "$DTOOL" bulk 192.0.2.2 18081 2000000 \
		>"$TMP/bulk-needle" 2>&1 &
	BULK_PID=$!
	for _ in $(seq 150); do
		finding "$TMP/live-own" '"verdict":"icmp_blackhole"' '"dst":"192.0.2.2"' && break
		sleep 0.2
	done
	sleep 0.5
	NEEDLE_KEPT=$(needle_in dsts_keep)
	kill "$BULK_PID" "$SRV2_PID" 2>/dev/null
	wait "$BULK_PID" "$SRV2_PID" 2>/dev/null
	BULK_PID= SRV2_PID=
}
CLI_INO=$(stat -L -c %i "/run/netns/$CLI")
ROUND_HOOK=keep_needle ptb_round own cli 198.19.0.0 "$CLI_INO"
LAST_OUT=$TMP/live-own
check "keep-full-of-learned (${KEEPFILL:-?})" test "${KEEPFILL:-0}" -ge 1024
LAST_OUT=$TMP/bulk-needle
check "keep-needle-connected" grep -q '^connected' "$TMP/bulk-needle"
LAST_OUT=$TMP/live-own
check "keep-needle-found-among-learned" finding "$TMP/live-own" '"verdict":"icmp_blackhole"' \
	'"dst":"192.0.2.2"'
check "keep-needle-takes-a-slot (${NEEDLE_KEPT:-?})" test "${NEEDLE_KEPT:-0}" = 1

# --- 7. the same seen from a node with --all-netns: the clients' namespace is another one -----
# mtuwatch in the router's namespace; CLI's PTBs (seen by the tracepoint, the budget shared)
# go over the budget, and the sweep lists CLI's exceptions in CLI: every one a pmtu_learned
# finding labelled with CLI's namespace. Another 3,000 destinations (198.19.32.0 on).
ptb_round allns rtr 198.19.32.0 "$CLI_INO" --all-netns
exit 0
