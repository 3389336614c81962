#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC2034 # LAST_OUT (and HS) are read by check() in lib.sh / later checks
# ptb_ignored (issue 8, class 2; seed 001): a Packet Too Big reaches the big sender and is
# ignored. mtuwatch live --json on the sender must say so with the right ignore_reason, mtu,
# ptb_from, count and causes; a recording of the same run (record -o, then report --json) must
# give the same findings. The lab and its truth: tests/scenarios-ptb.sh, test-ptb-lab.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../scenarios-ptb.sh"
export MW_LAB_KEYDIR=$TMP/keys
# the TLS keys before any mtuwatch runs (RSA-4096 generation takes a while on a busy machine)
if ! mkdir -p "$MW_LAB_DIR" || ! _mw_tls_keys; then fail tls-keys "key generation failed"; fi

counter() { lab_exec cli nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
# verdict, dst and ignore_reason of every finding, sorted
keys() {
	grep '"verdict"' "$1" | grep -v '"summary"' | while IFS= read -r l; do
		printf '%s %s %s\n' "$(grep -o '"verdict":"[a-z_]*"' <<<"$l")" \
			"$(grep -o '"dst":"[^"]*"' <<<"$l")" "$(grep -o '"ignore_reason":"[a-z_]*"' <<<"$l")"
	done | sort -u
}
# lacks FILE EREGEX...: FILE is a finished run (its summary is there: an empty or cut file
# proves no absence) and no finding line (summaries aside) matches any EREGEX, case-insensitive
lacks() {
	local file=$1 p
	shift
	grep -q '"summary":true' "$file" || return 1
	for p in "$@"; do
		grep '"verdict"' "$file" | grep -v '"summary"' | grep -Eqi -- "$p" && return 1
	done
	return 0
}
# no_verdict FILE VERDICT...: FILE is a finished run and holds no such finding for $DST
no_verdict() {
	local file=$1 v
	shift
	grep -q '"summary":true' "$file" || return 1
	for v in "$@"; do
		grep "\"verdict\":\"$v\"" "$file" | grep -q "\"dst\":\"$DST\"" && return 1
	done
	return 0
}
# mtuwatch's own peak memory (kB): the child of `timeout` started by mw_start
hwm() {
	local p
	p=$(pgrep -P "$1" | head -1)
	awk '/^VmHWM:/ { print $2 }' "/proc/${p:-0}/status" 2>/dev/null || echo 0
}

# run REASON FAMILY [SECONDS]: live --json and record side by side on the sender, the
# scenario's traffic, both stopped, the recording reported. Files: $LIVE, $REP.
run() {
	local r=$1 fam=$2 secs=${3:-8} lpid rpid
	NAME=$r$fam
	LIVE=$TMP/$NAME.live REP=$TMP/$NAME.report
	DST=$(ptb_addr srv "$fam") FROM=$(ptb_addr rtr "$fam")
	: >"$LIVE"
	: >"$REP"
	if ! ptb_up "$r" "$fam" >"$TMP/up.log" 2>&1; then
		fail "$NAME-lab-up" "$(tail -3 "$TMP/up.log")"
		return 1
	fi
	mw_start cli "$LIVE" --json
	lpid=$MW_PID
	mw_start cli "$TMP/$NAME.rec" record -f -o "$TMP/$NAME.data"
	rpid=$MW_PID
	OOW0=$(counter TcpExtOutOfWindowIcmps)
	ptb_traffic "$r" "$fam" "$secs" >/dev/null 2>&1
	HS=$?
	OOW=$(($(counter TcpExtOutOfWindowIcmps) - OOW0))
	sleep 1
	HWM=$(hwm "$lpid")
	MW_PID=$rpid mw_stop
	MW_PID=$lpid mw_stop
	"$MW" report -i "$TMP/$NAME.data" --json >"$REP" 2>"$REP.err"
	LAST_OUT=$LIVE
}

# expect_ignored REASON MTU CAUSE: the ptb_ignored finding, live and from the recording
expect_ignored() {
	local reason=$1 mtu=$2 cause=$3 fam=ipv4 f
	[ "${DST#*:}" != "$DST" ] && fam=ipv6
	for f in "$LIVE" "$REP"; do
		LAST_OUT=$f
		check "$NAME-$(basename "${f##*.}")-ptb_ignored-$reason" finding "$f" \
			'"verdict":"ptb_ignored"' "\"dst\":\"$DST\"" "\"family\":\"$fam\"" \
			"\"ignore_reason\":\"$reason\"" "\"mtu\":$mtu," "\"ptb_from\":\"$FROM\"" \
			'"count":[1-9]' '"iface":"c0"'
		if [ -n "$cause" ]; then
			check "$NAME-$(basename "${f##*.}")-causes-$cause" finding "$f" \
				'"verdict":"ptb_ignored"' "\"causes\":\[[^]]*\"$cause\""
		else
			check "$NAME-$(basename "${f##*.}")-causes" finding "$f" \
				'"verdict":"ptb_ignored"' '"causes":\["[a-z_]'
		fi
	done
	LAST_OUT=$REP
	check "$NAME-report-equals-live" test -n "$(keys "$LIVE")" -a "$(keys "$REP")" = "$(keys "$LIVE")"
}
# an in-window PTB reached the sender: no black hole, never "no PTB arrives" nor "check that
# ICMP fragmentation-needed reaches the sender"
expect_no_blackhole_claim() {
	LAST_OUT=$LIVE
	check "$NAME-no-icmp_blackhole" no_verdict "$LIVE" icmp_blackhole
	check "$NAME-no-ptb-arrives-claim" lacks "$LIVE" 'no Packet Too Big arrives'
	check "$NAME-no-check-icmp-reaches-remedy" lacks "$LIVE" 'fragmentation-needed reaches the sender'
	check "$NAME-no-icmp-filtered-claim" lacks "$LIVE" 'ICMP is filtered' '"icmp_filtered"'
}
# forged / untranslated PTBs with the real ones filtered: the black hole stands beside them
expect_blackhole_too() {
	local f
	for f in "$LIVE" "$REP"; do
		LAST_OUT=$f
		check "$NAME-$(basename "${f##*.}")-icmp_blackhole-not-vetoed" finding "$f" \
			'"verdict":"icmp_blackhole"' "\"dst\":\"$DST\""
	done
}

# IPv6 uses its own words
ipv6_words() {
	LAST_OUT=$LIVE
	check "$NAME-says-packet-too-big" finding "$LIVE" '"verdict":"ptb_ignored"' 'Packet Too Big'
	check "$NAME-no-ipv4-figure-8972" lacks "$LIVE" '8972'
	# "frag-needed" only beside "Packet Too Big", never alone
	check "$NAME-no-frag-needed-alone" bash -c "grep -q '\"summary\":true' '$LIVE' && ! grep '\"verdict\"' '$LIVE' | grep -v '\"summary\"' |
		grep -i 'frag-needed' | grep -vq 'Packet Too Big'"
}

ALARMS='"verdict":"(ptb_ignored|icmp_blackhole|ptb_dropped|stalled_)'
# controls: the PTB is taken; pmtu_learned, no ptb_ignored, no alarm
for fam in 4 6; do
	run control $fam
	check "$NAME-pmtu_learned-1446" finding "$LIVE" '"verdict":"pmtu_learned"' "\"dst\":\"$DST\"" \
		'"mtu":1446'
	check "$NAME-no-alarm" lacks "$LIVE" "$ALARMS"
	LAST_OUT=$REP
	check "$NAME-report-no-alarm" lacks "$REP" "$ALARMS"
	[ $fam = 4 ] && CONTROL_HWM=$HWM
done

# route_mtu_locked (IPv4; the seed's frag-needed mtu 1446 from the router, 192.0.2.1)
run locked 4
expect_ignored route_mtu_locked 1446 route_mtu_locked
expect_no_blackhole_claim
# IPv6: this kernel takes the PTB although the route is locked: not route_mtu_locked
run locked 6
check "$NAME-accepted-pmtu_learned" finding "$LIVE" '"verdict":"pmtu_learned"' "\"dst\":\"$DST\"" \
	'"mtu":1446'
check "$NAME-no-alarm" lacks "$LIVE" "$ALARMS"

# out_of_window: forged, and the router's own PTBs filtered: both findings
for fam in 4 6; do
	run outwin $fam
	expect_ignored out_of_window 1446 out_of_window_ptb
	expect_blackhole_too
	[ $fam = 6 ] && ipv6_words
done

# no_socket: the quote names an untranslated VIP; the real PTBs filtered too
for fam in 4 6; do
	run nosock $fam
	expect_ignored no_socket 1446 untranslated_ptb
	expect_blackhole_too
done

# pmtudisc_off: real PTBs arrive and the sender's stack discards them
for fam in 4 6; do
	run pmtudisc $fam
	expect_ignored pmtudisc_off 1446 pmtudisc_off
	expect_no_blackhole_claim
	[ $fam = 6 ] && ipv6_words
done

# plain bulk TCP (no TLS to parse) from the same locked IPv4 sender: the same finding
PTB_APP=tcp run locked 4
NAME=bulk-locked4
expect_ignored route_mtu_locked 1446 route_mtu_locked
expect_no_blackhole_claim

# mtu_not_lower: in-window PTBs that advertise 9000, the route's own MTU (no cause code of its
# own in the contract: any cause list)
for fam in 4 6; do
	run notlower $fam
	expect_ignored mtu_not_lower 9000 ''
	expect_no_blackhole_claim
done

# look-alikes the kernel does not ignore: no ptb_ignored, no alarm
for case in "probe 4" "probe 6" "disc3 4" "disc1 4"; do
	# shellcheck disable=SC2086 # two words
	run $case
	check "$NAME-no-ptb_ignored-no-alarm" lacks "$LIVE" "$ALARMS"
	LAST_OUT=$REP
	check "$NAME-report-no-ptb_ignored-no-alarm" lacks "$REP" "$ALARMS"
done

# flood: 100000 forged out-of-window PTBs at 20000/s
run flood 4 12
expect_ignored out_of_window 1446 out_of_window_ptb
LAST_OUT=$LIVE
check "flood4-kernel-saw-the-flood" test "$OOW" -ge $((PTB_FLOOD_COUNT * 9 / 10))
# at most one path alarm per path, verdict and reason: as many such lines as distinct keys
# (stalls are per connection and stay out of this count; so does a confirmation's update of
# the icmp_blackhole, "update":true, which says the same alarm again with the measured MTU)
PATHV='"verdict":"(ptb_ignored|icmp_blackhole)"'
check "flood4-one-finding-per-path-and-reason" test \
	"$(grep -E "$PATHV" "$LIVE" | grep -v '"update":true' | grep -vc '"summary"')" = \
	"$(keys "$LIVE" | grep -Ec "$PATHV")"
cnt=$(grep '"verdict":"ptb_ignored"' "$LIVE" | grep -o '"count":[0-9]*' | head -1 | cut -d: -f2)
lost=$(grep -o '"events_lost":[0-9]*' "$LIVE" | tail -1 | cut -d: -f2)
check "flood4-events_lost-reported" test -n "$lost"
# the path's summary: every PTB the kernel took is in ptb_rx or in events_lost
rx=$(grep "\"summary\":true,\"dst\":\"$DST\"" "$LIVE" | grep -o '"ptb_rx":[0-9]*' | cut -d: -f2)
# the finding is made once, early in the flood: its count is what had come by then, more
# than one and never more than the summary's total
check "flood4-count-honest" test "${cnt:-0}" -gt 1 -a "${cnt:-0}" -le "${rx:-0}"
check "flood4-summary-ptb_rx-plus-lost-covers-flood" test "$((${rx:-0} + ${lost:-0}))" -ge "$OOW"
check "flood4-count-not-inflated" test "${cnt:-0}" -le "$((OOW + PTB_INJECT_COUNT))"
check "flood4-memory-bounded" test "${HWM:-0}" -gt 0 -a \
	"${HWM:-0}" -le "$((${CONTROL_HWM:-0} + 32768))"
lab_down >/dev/null 2>&1
