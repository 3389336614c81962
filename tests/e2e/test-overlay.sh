#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-overlay.sh -- issue 8 classes 7 (overlays) and 8 (loopback): mtuwatch's
# findings per /work/contract.md in the labs of tests/scenarios-ovl.sh (truths in
# docs/scenarios-ovl.md, checked by tests/e2e/test-ovl-lab.sh).
#
# In each overlay lab, four mtuwatch sessions run at once: `live --json` and `record` in pod 1
# (the sender), `live --json --all-netns` and `record --all-netns` on node 1; the recordings
# are then read back with `report --json`, which must give the same findings as live.
# Only findings labelled with one of the lab's namespaces count (--all-netns also sees other
# labs on the same machine).  A failing check prints the findings it looked at.
#
# Run as root: OUT=build bash tests/e2e/test-overlay.sh.  PASS/FAIL lines, exits 0.

# shellcheck disable=SC2016,SC2317 # python expressions single-quoted on purpose; trap handlers
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-build}
MW=$(readlink -f "$OUT/mtuwatch")
export MW_LAB_ID=${MW_LAB_ID:-ovle2e$$}
# shellcheck source-path=SCRIPTDIR source=../scenarios-ovl.sh
. "$HERE/../scenarios-ovl.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-ovle2e.XXXXXX")
export MW_LAB_KEYDIR=$TMP/keys
MW_PIDS=

cleanup() {
	local p
	for p in $MW_PIDS; do kill -INT "$p" 2>/dev/null; done
	for p in $MW_PIDS; do wait "$p" 2>/dev/null; done
	ovl_down
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

if [ ! -x "$MW" ]; then
	fail overlay_prereqs "no $OUT/mtuwatch (run make)"
	exit 0
fi

# --- findings as JSON ----------------------------------------------------------

# q FILE NSLIST EXPR: true if a finding (a JSON object with "verdict" and no "summary") in
# FILE, labelled with a netns in NSLIST (space-separated inodes; findings without "netns"
# count when NSLIST is "-"), satisfies the Python expression EXPR over `f`.  Helpers in EXPR:
# alarm(f) (icmp_blackhole, ptb_dropped, ptb_ignored, stalled_*), c0(f) (first cause).
# With QPRINT=1 prints the findings it looked at instead.  Exit 2 (neither true nor false)
# when FILE cannot be read or holds no summary object: a run that never finished proves
# nothing, least of all that a finding is absent.
_Q_PY='
import json, sys
path, nsl, expr = sys.argv[1], sys.argv[2], sys.argv[3]
want = None if nsl == "-" else {int(x) for x in nsl.split()}
ALARMS = {"icmp_blackhole", "ptb_dropped", "ptb_ignored", "stalled_tls", "stalled_ssh"}
def alarm(f): return f.get("verdict") in ALARMS
def c0(f): return (f.get("causes") or [None])[0]
def is_lo(a): return isinstance(a, str) and (a.startswith("127.") or a == "::1")
fs, summary = [], False
def unanswered(why): print(path + ": " + why, file=sys.stderr); sys.exit(2)
try: lines = open(path, errors="replace").readlines()
except OSError as e: unanswered(e.strerror)
for line in lines:
    line = line.strip()
    if not line.startswith("{"): continue
    try: f = json.loads(line)
    except ValueError: continue
    if f.get("summary"): summary = True
    if f.get("summary") or "verdict" not in f: continue
    if want is not None and f.get("netns") not in want: continue
    fs.append(f)
if not summary: unanswered("no summary object: the run did not finish")
if sys.argv[4:] == ["print"]:
    for f in fs:
        keep = {k: f[k] for k in ("verdict", "dst", "netns", "iface", "mtu", "causes", "overlay",
                                  "bracket_lo", "bracket_hi", "flow") if k in f}
        print(json.dumps(keep, separators=(",", ":")))
    sys.exit(0)
# f in the globals: comprehensions inside expr (the overlay object check) see only globals
sys.exit(0 if any(eval(expr, dict(alarm=alarm, c0=c0, is_lo=is_lo, f=f)) for f in fs) else 1)
'
q() { python3 -c "$_Q_PY" "$1" "$2" "$3"; }
shown() { # FILE NSLIST: the findings, one line each, for a failure message
	local s
	s=$(python3 -c "$_Q_PY" "$1" "$2" True print | head -c 1500 | tr '\n' ' ')
	echo "${s:-no findings}"
}
# expect NAME FILE NSLIST EXPR / expect_none NAME FILE NSLIST EXPR
expect() {
	if q "$2" "$3" "$4"; then pass "$1"; else fail "$1" "in $(basename "$2"): $(shown "$2" "$3")"; fi
}
expect_none() {
	local err rc
	err=$(q "$2" "$3" "$4" 2>&1)
	rc=$?
	case $rc in
	1) pass "$1" ;;
	0) fail "$1" "in $(basename "$2"): $(shown "$2" "$3")" ;;
	*) fail "$1" "no answer (exit $rc): $(printf '%s' "$err" | tail -c 300)" ;;
	esac
}
# same NAME FILE1 FILE2 NSLIST: both give the same (verdict, dst, netns, first cause) set
keyset() {
	python3 -c "$_Q_PY" "$1" "$2" True print |
		python3 -c 'import json,sys
print(sorted({(f["verdict"], f.get("dst"), f.get("netns"), (f.get("causes") or [None])[0]) for f in map(json.loads, sys.stdin)}))'
}
same() {
	local a b
	a=$(keyset "$2" "$4")
	b=$(keyset "$3" "$4")
	if [ "$a" = "$b" ] && [ "$a" != "[]" ]; then pass "$1"; else
		fail "$1" "live: $a report: $b (both must hold the same findings, and some)"
	fi
}

# mw_bg NODE OUTFILE ARGS...: mtuwatch in the background in a lab namespace, returns once it
# says it is watching or recording (bounded).
mw_bg() {
	local node=$1 out=$2 p
	shift 2
	# ip netns exec directly (not the ovl_exec function): $! must be the process that
	# SIGINT reaches, not a subshell that would wait for it
	ip netns exec "$(ovl_ns "$node")" timeout 120 "$MW" "$@" >"$out" 2>"$out.err" &
	p=$!
	MW_PIDS="$MW_PIDS $p"
	for _ in $(seq 200); do
		grep -Eq 'watching|recording to' "$out.err" 2>/dev/null && return 0
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	fail "mtuwatch_starts_in_$node" "$(head -c 300 "$out.err")"
	return 1
}
mw_stop_all() {
	local p
	for p in $MW_PIDS; do kill -INT "$p" 2>/dev/null; done
	for p in $MW_PIDS; do wait "$p" 2>/dev/null; done
	MW_PIDS=
}
ino() { stat -L -c %i "/run/netns/$(ovl_ns "$1")"; }

# run_overlay VARIANT: the four sessions around pod traffic; files in $TMP/VARIANT.*
run_overlay() {
	local v=$1 d=$TMP/$1
	ovl_up "$v" 2>"$d.up.err" || { fail "overlay_${v}_up" "$(head -c 300 "$d.up.err")"; return 1; }
	# the TLS server (in pod 1, the sender of the certificate flight) before mtuwatch starts:
	# key generation takes seconds
	ovl_tls_server p1 2>"$d.srv.err" || { fail "overlay_${v}_tls_server" "$(head -c 300 "$d.srv.err")"; return 1; }
	mw_bg p1 "$d.pod.live" --json || return 1
	mw_bg p1 "$d.pod.rec" record -f -o "$d.pod.data" || return 1
	mw_bg n1 "$d.node.live" --json --all-netns || return 1
	mw_bg n1 "$d.node.rec" record -f --all-netns -o "$d.node.data" || return 1
	# pod 1 sends: bulk, then the certificate flight of a handshake from pod 2, both families
	ovl_bulk 3 4 >/dev/null 2>&1
	ovl_tls_client 6 4 p2
	ovl_bulk 2 6 >/dev/null 2>&1
	ovl_tls_client 4 6 p2
	sleep 1
	mw_stop_all
	"$MW" report -i "$d.pod.data" --json >"$d.pod.report" 2>"$d.pod.report.err"
	"$MW" report -i "$d.node.data" --json >"$d.node.report" 2>"$d.node.report.err"
	NS_P1=$(ino p1) NS_N1=$(ino n1) NS_N2=$(ino n2) NS_P2=$(ino p2)
	LAB="$NS_P1 $NS_N1 $NS_N2 $NS_P2"
}

# The pod path's finding per the contract: icmp_blackhole, causes starting with overlay_mtu,
# the overlay's numbers, mtu = lower MTU - overhead, seed 002's remedy.
OVL_ALARM='f["verdict"] == "icmp_blackhole" and f.get("dst") == "203.0.113.2" and c0(f) == "overlay_mtu"'
overlay_obj() { # LOWER_MTU OVERHEAD [pod]
	if [ "${3:-}" = pod ]; then
		echo "isinstance(f.get(\"overlay\"), dict) and f[\"overlay\"].get(\"iface\") in (\"vxlan0\", None) and {k: f[\"overlay\"].get(k) for k in (\"mtu\", \"lower_iface\", \"lower_mtu\", \"overhead\")} == {\"mtu\": 8950, \"lower_iface\": \"u1\", \"lower_mtu\": $1, \"overhead\": $2}"
	else
		echo "f.get(\"overlay\") == {\"iface\": \"vxlan0\", \"mtu\": 8950, \"lower_iface\": \"u1\", \"lower_mtu\": $1, \"overhead\": $2}"
	fi
}
# the node's own encapsulated traffic (outer source local) is never forwarding, and the
# underlay path is not an MTU black hole either
OWN_TRAFFIC='(f["verdict"] == "ptb_sent" and (f.get("dst", "").startswith(("198.51.100.", "2001:db8:100:")) or (f.get("flow") or {}).get("src", "").startswith(("198.51.100.", "2001:db8:100:")))) or (alarm(f) and f.get("dst", "").startswith(("198.51.100.", "2001:db8:100:")))'

check_overlay_black_hole() { # VARIANT OVERHEAD [node-only]
	local v=$1 oh=$2 d=$TMP/$1 mtu=$((1500 - $2)) ns
	# Over an IPv6 underlay the node's failure shows only as an unexplained drop in
	# ip6_fragment and an ICMPv6 to itself on lo (icmp:icmp_send is IPv4 only): the pod's own
	# mtuwatch cannot see the overlay there and lists both silent-hop causes (docs/scenarios.md);
	# the node's mtuwatch names it.
	if [ "${3:-}" = node-only ]; then
		for src in pod.live pod.report; do
			expect "${v}_${src/./_}_both_silent_causes" "$d.$src" "$NS_P1" \
				'f["verdict"] == "icmp_blackhole" and f.get("dst") == "203.0.113.2" and {"icmp_filtered", "l2_mtu_mismatch"} <= set(f.get("causes") or [])'
			expect_none "${v}_${src/./_}_ipv6_pod_path_no_alarm" "$d.$src" "$NS_P1" \
				'alarm(f) and f.get("dst") == "2001:db8:2::2"'
		done
	fi
	for src in pod.live pod.report; do
		[ "${3:-}" = node-only ] && break
		expect "${v}_${src/./_}_overlay_mtu_first" "$d.$src" "$NS_P1" "$OVL_ALARM"
		# in the pod the VXLAN device is in another namespace: its name may be unknown there,
		# the numbers are not (docs/scenarios-ovl.md, "What each observer can see")
		expect "${v}_${src/./_}_overlay_numbers" "$d.$src" "$NS_P1" "$OVL_ALARM and $(overlay_obj 1500 "$oh" pod)"
		expect "${v}_${src/./_}_mtu_$mtu" "$d.$src" "$NS_P1" "$OVL_ALARM and f.get(\"mtu\") == $mtu"
		expect "${v}_${src/./_}_remedy_seed002" "$d.$src" "$NS_P1" \
			"$OVL_ALARM and \"$mtu\" in f.get(\"remedy\", \"\") and \"$oh\" in f.get(\"remedy\", \"\")"
		# a stall of the same path (the certificate flight) names the overlay too
		expect_none "${v}_${src/./_}_stall_names_overlay" "$d.$src" "$NS_P1" \
			'f["verdict"].startswith("stalled_") and f.get("mtu_evidence") and c0(f) != "overlay_mtu"'
		expect_none "${v}_${src/./_}_not_icmp_filter_alone" "$d.$src" "$NS_P1" \
			'alarm(f) and (c0(f) in (None, "icmp_filtered") or "ICMP is filtered" in f.get("explain", "") or "its ICMP is filtered" in f.get("explain", ""))'
		# IPv6 pods heal: the node sends them Packet Too Big (docs/scenarios-ovl.md)
		expect_none "${v}_${src/./_}_ipv6_pod_path_no_alarm" "$d.$src" "$NS_P1" \
			'alarm(f) and f.get("dst") == "2001:db8:2::2"'
	done
	for src in node.live node.report; do
		expect "${v}_${src/./_}_pod_path_overlay_mtu" "$d.$src" "$NS_P1 $NS_N1" \
			"$OVL_ALARM and $(overlay_obj 1500 "$oh")"
		expect_none "${v}_${src/./_}_own_encapsulated_traffic_not_forwarding" "$d.$src" "$LAB" \
			"$OWN_TRAFFIC"
	done
	same "${v}_pod_report_equals_live" "$d.pod.live" "$d.pod.report" "$NS_P1"
	same "${v}_node_report_equals_live" "$d.node.live" "$d.node.report" "$LAB"
}

# --- class 7: VXLAN 8950 over a 1500 underlay, outer DF set (IPv4 underlay, 50 bytes) ---------

if run_overlay vxlan-df; then
	check_overlay_black_hole vxlan-df 50
fi

# --- class 7: the same over an IPv6 underlay (70 bytes; the outer is never fragmented) --------

if run_overlay vxlan6; then
	check_overlay_black_hole vxlan6 70 node-only
fi

# --- the default VXLAN (df unset, IPv4 underlay): the node fragments the outer packets and
# the pods' traffic flows (slowly): no alarm, and the node's fragmenting is not forwarding -----

if run_overlay vxlan; then
	d=$TMP/vxlan
	for src in pod.live pod.report node.live node.report; do
		expect_none "vxlan_unset_${src/./_}_no_alarm" "$d.$src" "$LAB" 'alarm(f)'
	done
	expect_none "vxlan_unset_node_own_encapsulated_traffic_not_forwarding" "$d.node.live" "$LAB" \
		"$OWN_TRAFFIC"
fi

# --- healthy overlays: VXLAN 1450 (1430 over IPv6) over 1500: zero alarms --------------------

for v in healthy healthy6; do
	run_overlay "$v" || continue
	d=$TMP/$v
	for src in pod.live pod.report node.live node.report; do
		expect_none "${v}_${src/./_}_zero_alarms" "$d.$src" "$LAB" 'alarm(f)'
	done
	expect_none "${v}_node_no_ptb_sent" "$d.node.live" "$LAB" 'f["verdict"] == "ptb_sent"'
done

# --- class 8: loopback of another namespace, judged with --all-netns: never a path ----------

if ovl_up lo 2>"$TMP/lo.up.err" && ovl_lo_servers 2>"$TMP/lo.srv.err"; then
	d=$TMP/lo
	mw_bg ob "$d.live" --json --all-netns --stall-after 2 &&
		mw_bg ob "$d.rec" record -f --all-netns --stall-after 2 -o "$d.data"
	# Bait, all on lo: a server that never answers the ClientHello (the clients wait 5 s, past
	# --stall-after), completed handshakes, 15% loss (netfilter's statistic match: this kernel
	# has no netem) under TLS and bulk transfers, then every segment above 1500 bytes dropped
	# (a bulk transfer that stalls with large retransmissions and no PTB).  None of it is an
	# MTU path.
	ovl_lo_clients 5 5 >/dev/null 2>&1
	for c in iptables ip6tables; do
		ovl_exec lo "$c" -w -A OUTPUT -o lo -p tcp -m statistic --mode random \
			--probability 0.15 -j DROP
	done
	ovl_lo_clients 8 5 >/dev/null 2>&1
	ovl_lo_bulk 2 4 >/dev/null 2>&1
	ovl_lo_bulk 2 6 >/dev/null 2>&1
	for c in iptables ip6tables; do
		ovl_exec lo "$c" -w -F OUTPUT
		ovl_exec lo "$c" -w -A OUTPUT -o lo -p tcp --dport "$OVL_IPERF_PORT" \
			-m length --length 1501:65535 -j DROP
	done
	ovl_lo_bulk 3 4 >/dev/null 2>&1
	ovl_lo_bulk 3 6 >/dev/null 2>&1
	sleep 1
	mw_stop_all
	"$MW" report -i "$d.data" --json >"$d.report" 2>"$d.report.err"
	r=$?
	# the absence checks below read this report: it ran, read the whole recording, and said so
	if [ "$r" = 0 ] && grep -q '"summary":true' "$d.report"; then
		pass lo_report_ran
	else
		fail lo_report_ran "exit $r: $(head -c 300 "$d.report.err" "$d.report")"
	fi
	LO_NS=$(ino lo)
	r=$(ovl_exec lo awk '$1 == "Tcp:" && $13 ~ /^[0-9]+$/ { print $13 }' /proc/net/snmp)
	if [ "${r:-0}" -gt 0 ]; then pass lo_traffic_had_retransmissions; else
		fail lo_traffic_had_retransmissions "Tcp RetransSegs=$r: the bait did not happen"
	fi
	for src in live report; do
		expect_none "lo_${src}_no_finding_for_loopback" "$d.$src" - \
			'is_lo(f.get("dst")) or is_lo((f.get("flow") or {}).get("dst")) or is_lo((f.get("flow") or {}).get("src"))'
		expect_none "lo_${src}_no_finding_in_lo_netns" "$d.$src" "$LO_NS" 'True'
	done
else
	fail lo_lab_up "$(head -c 300 "$TMP/lo.up.err" "$TMP/lo.srv.err" 2>/dev/null)"
fi

ovl_down
exit 0
