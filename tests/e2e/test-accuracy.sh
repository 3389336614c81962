#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-accuracy.sh -- issue 8: mtuwatch's verdicts, causes and brackets in each
# scenario of tests/scenarios.sh (docs/scenarios.md), per the finding contract.  In every
# scenario `mtuwatch live --json` and `mtuwatch record` run side by side on the watched nodes;
# `mtuwatch report --json` of the recording must give the same set of verdicts.  The lab's own
# truth is asserted by test-scen-lab.sh; here a failure prints what mtuwatch found instead.
# shellcheck disable=SC2317 # hooks are called from tests/scenarios.sh
. "$(dirname "$0")/lib.sh"
export MW_LAB_KEYDIR=$TMP/keys
# shellcheck source=../scenarios.sh
. "$(dirname "$0")/../scenarios.sh"

LAB_NETNS= # with --all-netns: the lab's namespace inodes, the only findings shown and compared
ALARM='^(icmp_blackhole|ptb_dropped|ptb_ignored|stalled_tls|stalled_ssh)$'
MWX=() # extra mtuwatch arguments of the scenario

# --- mtuwatch on the watched nodes, live and record side by side -------------------------------
scen_hook_start() {
	local n args
	for n in $SCEN_WATCH; do
		# per-node arguments in MWX_node (an array), else MWX
		args="MWX_${n}[@]"
		declare -p "MWX_$n" >/dev/null 2>&1 || args="MWX[@]"
		mw_start "$n" "$TMP/$SC.$n.live" live --json "${!args}"
		eval "LIVE_$n=$MW_PID"
		mw_start "$n" "$TMP/$SC.$n.rec" record -f -o "$TMP/$SC.$n.data" "${!args}"
		eval "REC_$n=$MW_PID"
	done
	# "recording to" is said before the last program attaches
	sleep 0.5
}
scen_hook_stop() {
	local n p
	sleep 1
	for n in $SCEN_WATCH; do
		for p in "LIVE_$n" "REC_$n"; do
			MW_PID=${!p}
			mw_stop
		done
		"$MW" report -i "$TMP/$SC.$n.data" --json >"$TMP/$SC.$n.rep" 2>"$TMP/$SC.$n.rep.err"
	done
}

# --- assertions over the NDJSON findings (jq) --------------------------------------------------
FINDINGS='[.[] | select(.verdict != null and .summary != true)]'
# show FILE: the findings, one short clause each
show() {
	jq -r -s --arg ns "$LAB_NETNS" "${SEL:-$FINDINGS}"' | map(select(.netns as $n | $ns == "" or $n == null
		or ($ns | split(" ") | any(.[]; . == ($n | tostring))))) | if length == 0 then "no findings" else map("\(.verdict) \(.dst // "-")"
		+ " causes=\(.causes // [] | join(","))"
		+ (if .bracket_hi then " bracket=\(.bracket_lo)..\(.bracket_hi)" else "" end)
		+ (if .mtu then " mtu=\(.mtu)" else "" end)
		+ (if .ignore_reason then " ignore_reason=\(.ignore_reason)" else "" end)
		+ (if .step then " step=\(.step)" else "" end)
		+ (if .netns then " netns=\(.netns)" else "" end)) | join("; ") end' "$1" 2>&1 | cut -c1-900
}
# a NAME FILE JQ-BOOLEAN: the expression holds over the array of findings of FILE
a() {
	local name=$1 f=$2 e=$3
	if [ ! -s "$f" ] && [ ! -e "$f" ]; then fail "$name" "no output $f"; return; fi
	if jq -e -s "${SEL:-$FINDINGS} | $e" "$f" >/dev/null 2>&1; then pass "$name"; else
		fail "$name" "want $e; found: $(show "$f")"
	fi
}
no_alarm='(map(select(.verdict | test("'"$ALARM"'"))) | length == 0)'
# one finding of VERDICT for DST satisfying COND (a jq boolean over that finding)
one() { echo "any(.[]; .verdict == \"$1\" and .dst == \"$2\" and (${3:-true}))"; }
causes_start() { # causes_start CODE...: the causes array begins with these codes
	local c j=0 e=true
	for c in "$@"; do e="$e and (.causes // [])[$j] == \"$c\""; j=$((j + 1)); done
	echo "$e"
}
has_cause() { echo "((.causes // []) | index(\"$1\")) != null"; }
# set_of FILE: "verdict dst" of its findings; with --all-netns only those of the lab's namespaces
# (the rest of the host, other labs included, comes and goes between two sessions)
set_of() {
	jq -r -s --arg ns "$LAB_NETNS" "$FINDINGS"' | map(select(.netns as $n | $ns == "" or $n == null
		or ($ns | split(" ") | any(.[]; . == ($n | tostring)))))
		| map("\(.verdict) \(.dst // "-")") | unique | join(", ")' "$1" 2>/dev/null
}

# the same findings from the recording as live gave; then per-node checks on both
same_report() {
	local n l r
	for n in $SCEN_WATCH; do
		l=$(set_of "$TMP/$SC.$n.live")
		r=$(set_of "$TMP/$SC.$n.rep")
		if [ "$l" = "$r" ] && [ -s "$TMP/$SC.$n.rep" ]; then pass "$SC-$n-report-same-verdicts"; else
			fail "$SC-$n-report-same-verdicts" "live: [$l] report: [$r] $(head -c 200 "$TMP/$SC.$n.rep.err")"
		fi
	done
}
# on NODE NAME EXPR: assert over live output and over report output
on() {
	a "$SC-$2-$1" "$TMP/$SC.$1.live" "$3"
	a "$SC-$2-$1-report" "$TMP/$SC.$1.rep" "$3"
}
# SCEN_ONLY="shrink4 vpn6" runs only those (by hand); MW_SCEN_KEEP=DIR keeps the outputs there
drive() {
	SC=$1
	shift
	MWX=("$@")
	case " ${SCEN_ONLY:-$SC} " in *" $SC "*) ;; *) return 1 ;; esac
	if scen_drive "$SC" >"$TMP/$SC.drive.log" 2>&1; then return 0; fi
	fail "$SC-lab" "$(tail -c 400 "$TMP/$SC.drive.log" | tr '\n' ' ')"
	return 1
}
# the lab did what the scenario needs (else mtuwatch's answer means nothing): truth KEY TEST
lab_ok() {
	local v
	v=$(scen_truth "$1")
	if eval "[ \"\${v:-0}\" $2 ]"; then return 0; fi
	fail "$SC-lab-truth" "$1=$v, want $2 (see test-scen-lab.sh)"
	return 1
}

# --- class 1: senders without DF: nothing at all on either end ---------------------------------
for k in sysctl lock dont probe; do
	drive "nodf-$k" || continue
	lab_ok tls4_ok "= 4"
	# IPv4 has the DF bit: no finding at all for it.  IPv6 has none (its segments are DF by
	# nature), so its pmtu_learned from the router's PTB is right and allowed.
	for n in srv cli; do
		on "$n" no-alarm-no-ipv4-finding "$no_alarm"' and (map(select(.family == "ipv4")) | length == 0)'
	done
	same_report
done
if drive nodf-control; then
	on srv pmtud-works-no-alarm "$no_alarm and $(one pmtu_learned "$MW_CLI4" '.mtu == 1500')"
	on cli no-alarm "$no_alarm"
	same_report
fi

# --- zero alarms: completed/closed handshakes, random loss, many flows -------------------------
for s in closed lossy multi; do
	drive "$s" || continue
	for n in $SCEN_WATCH; do on "$n" no-alarm "$no_alarm"; done
	same_report
done

# wording rules of the contract, over one finding's explain and remedy
wording6='.bracket_lo as $lo | .bracket_hi as $hi | ((.explain // "") + " " + (.remedy // "")) as $t
	| ($t | test("Packet Too Big")) and ($t | test("8972") | not)
	and (($t | test("frag-needed") | not) or ($t | test("Packet Too Big")))
	and ([$t | scan("ping -6 -M do -s ([0-9]+)") | .[0] | tonumber + 48] as $s
		| ($s | length) > 0 and all($s[]; . >= 1280 and . >= $lo and . <= $hi))'
wording4='.bracket_lo as $lo | .bracket_hi as $hi | ((.explain // "") + " " + (.remedy // "")) as $t
	| ($t | test("ping -6|ICMPv6") | not)
	and all([$t | scan("ping -M do -s ([0-9]+)") | .[0] | tonumber + 28][]; . >= $lo and . <= $hi)'
# --- class 3: shrink mid-stream, ICMP filtered -------------------------------------------------
for f in 4 6; do
	drive "shrink$f" || continue
	lab_ok bytes_after "= 0"
	[ "$f" = 4 ] && dst=$MW_SRV4 fam=ipv4 || dst=$MW_SRV6 fam=ipv6
	on cli icmp_blackhole "$(one icmp_blackhole "$dst" ".family == \"$fam\"")"
	on cli bracket-hi-1500 "$(one icmp_blackhole "$dst" '.bracket_hi == 1500 and .bracket_lo <= 1400 and .mtu >= 1400 and .mtu < 1500')"
	on cli causes "$(one icmp_blackhole "$dst" "$(causes_start icmp_filtered l2_mtu_mismatch)")"
	on cli no-ptb-verdicts 'map(select(.verdict == "ptb_dropped" or .verdict == "ptb_ignored")) | length == 0'
	[ "$f" = 6 ] && on cli ipv6-wording "$(one icmp_blackhole "$dst" "$wording6")"
	same_report
done

# --- class 4: seed 000 from the server: icmp_blackhole AND stalled_tls --------------------------
# bracket_hi is a size that the capture saw stuck (sent twice, never through), no larger than the
# smallest sent three times; bracket_lo passes the path (<= its MTU P), mtu is not below P
stuck_bracket() { # stuck_bracket P
	echo ".bracket_hi as \$h | any([$(scen_truth stuck_sizes)][]; . == \$h)
		and \$h <= $(x=$(scen_truth stuck3_min); echo "${x:-65536}") and .bracket_lo <= $1 and .mtu >= $1 and .mtu < \$h"
}
not_claims_filtered='((.explain // "") | test("(ICMP[a-zA-Z0-9]*|frag-needed|Packet Too Big)( [a-zA-Z-]+){0,3} (is|are|was|were) (being )?(filtered|blocked)"; "i") | not)'
if drive seed000-silent; then
	lab_ok r1_rx_dropped "-gt 0"
	on srv icmp_blackhole "$(one icmp_blackhole "$MW_CLI4")"
	on srv bracket "$(one icmp_blackhole "$MW_CLI4" "$(stuck_bracket 1500)")"
	on srv stalled_tls "$(one stalled_tls "$MW_CLI4" '.role == "server"')"
	on srv causes-l2-first "$(one icmp_blackhole "$MW_CLI4" "$(causes_start l2_mtu_mismatch) and $(has_cause icmp_filtered)")"
	on srv explain-not-icmp-filtered "$(one icmp_blackhole "$MW_CLI4" "$not_claims_filtered")"
	same_report
fi
if drive seed000-filtered; then
	lab_ok rtr_icmp_dropped "-gt 0"
	on srv icmp_blackhole "$(one icmp_blackhole "$MW_CLI4")"
	on srv bracket "$(one icmp_blackhole "$MW_CLI4" "$(stuck_bracket 1500)")"
	on srv stalled_tls "$(one stalled_tls "$MW_CLI4" '.role == "server"')"
	on srv causes-filtered-first "$(one icmp_blackhole "$MW_CLI4" "$(causes_start icmp_filtered) and $(has_cause l2_mtu_mismatch)")"
	same_report
fi

# --- class 5/6: the 1446 hop: a bracket that holds the truth, words of the family ---------------
for f in 4 6; do
	drive "vpn$f" || continue
	lab_ok ping_1446 "= 1"
	[ "$f" = 4 ] && dst=$MW_SRV4 fam=ipv4 || dst=$MW_SRV6 fam=ipv6
	on cli icmp_blackhole "$(one icmp_blackhole "$dst" ".family == \"$fam\"")"
	on cli bracket-holds-1446 "$(one icmp_blackhole "$dst" '.bracket_hi == 1500 and .bracket_lo <= 1446 and .mtu >= 1446 and .mtu < 1500')"
	on cli causes "$(one icmp_blackhole "$dst" "$(causes_start icmp_filtered l2_mtu_mismatch)")"
	if [ "$f" = 6 ]; then
		on cli bracket-lo-ipv6-min "$(one icmp_blackhole "$dst" '.bracket_lo >= 1280')"
		on cli ipv6-wording "$(one icmp_blackhole "$dst" "$wording6")"
	else
		on cli ipv4-wording "$(one icmp_blackhole "$dst" "$wording4")"
	fi
	same_report
done

# --- class 5/6: the client side of the seeds (9000 -> 1500, ICMP filtered), IPv4 and IPv6 -------
for f in 4 6; do
	drive "filtered$f" || continue
	lab_ok stuck_min "-gt 1500"
	[ "$f" = 4 ] && dst=$MW_SRV4 fam=ipv4 || dst=$MW_SRV6 fam=ipv6
	on cli icmp_blackhole "$(one icmp_blackhole "$dst" ".family == \"$fam\"")"
	on cli bracket "$(one icmp_blackhole "$dst" "$(stuck_bracket 1500)")"
	on cli causes "$(one icmp_blackhole "$dst" "$(causes_start icmp_filtered l2_mtu_mismatch)")"
	if [ "$f" = 6 ]; then
		on cli bracket-lo-ipv6-min "$(one icmp_blackhole "$dst" '.bracket_lo >= 1280')"
		on cli ipv6-wording "$(one icmp_blackhole "$dst" "$wording6")"
	else
		on cli ipv4-wording "$(one icmp_blackhole "$dst" "$wording4")"
	fi
	same_report
done

# --- class 6: tcp_mtu_probing=1 worked around it: still reported, not advised ------------------
for f in 4 6; do
	drive "probing$f" || continue
	lab_ok bytes_last_s "-gt 0"
	[ "$f" = 4 ] && dst=$MW_SRV4 || dst=$MW_SRV6
	on cli icmp_blackhole "$(one icmp_blackhole "$dst")"
	on cli bracket "$(one icmp_blackhole "$dst" "$(stuck_bracket 1500)")"
	on cli causes-probing "$(one icmp_blackhole "$dst" "$(has_cause mtu_probing_active)")"
	on cli remedy-not-probing "$(one icmp_blackhole "$dst" '(.remedy // "") | test("tcp_mtu_probing ?= ?[12]") | not')"
	same_report
done

# --- class 8: loopback is never an MTU path, even with --all-netns -----------------------------
# In the namespace of the loopback traffic with lo watched explicitly, and from another one.
# (--all-netns sees every namespace of the host: only loopback paths are this test's business)
MWX_cli=(--all-netns -i lo -i c0)
MWX_rtr=(--all-netns)
if drive loopback; then
	lab_ok lo_drops "-gt 0"
	LAB_NETNS="$(for n in cli rtr srv; do stat -L -c %i "/run/netns/$(lab_ns $n)"; done | tr '\n' ' ')"
	lo='map(select((.dst // "") | test("^(127\\.|::1$|::ffff:127\\.)"))) | length == 0'
	on cli no-loopback-finding "$lo"
	on rtr no-loopback-finding "$lo"
	# not even a path in the summary: loopback is not tracked at all
	for n in cli rtr; do
		SEL='[.[] | select(.summary == true)]' a "$SC-no-loopback-path-in-summary-$n" "$TMP/$SC.$n.live" "$lo"
	done
	same_report
	LAB_NETNS=
fi
unset MWX_cli MWX_rtr
lab_down >/dev/null 2>&1
[ -n "${MW_SCEN_KEEP:-}" ] && mkdir -p "$MW_SCEN_KEEP" && cp "$TMP"/*.live "$TMP"/*.rep "$TMP"/*.err "$MW_SCEN_KEEP"/ 2>/dev/null
exit 0
