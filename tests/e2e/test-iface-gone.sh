#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A watched interface deleted under a running exporter: /metrics must stop saying its
# programs are attached (mtuwatch_program_attached ... 0, so the "program degraded" alert
# fires), and when an interface of that name comes back, the programs are attached to it
# again (1) and the exporter says so. Own namespace and veth pair, removed on exit.
# Run as root: OUT=build bash tests/e2e/test-iface-gone.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NS=mwgone-$MW_LAB_ID
PORT=19879
IF=mwg0
cp "$MW" "$TMP/mtuwatch" && MW=$TMP/mtuwatch
trap 'kill "$MW_PID" 2>/dev/null; wait "$MW_PID" 2>/dev/null; ip netns del "$NS" 2>/dev/null;
	rm -rf "$TMP"' EXIT

nsx() { ip netns exec "$NS" "$@"; }
mk_if() {
	ip -n "$NS" link add "$IF" type veth peer name mwg1 &&
		ip -n "$NS" link set "$IF" up && ip -n "$NS" link set mwg1 up
}
scrape() { nsx curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$TMP/m" 2>/dev/null; }
# attached_is V: every mtuwatch_program_attached series of $IF reads V (and there is one)
attached_is() {
	local vals
	vals=$(grep '^mtuwatch_program_attached{' "$TMP/m" | grep -F "iface=\"$IF\"" |
		awk '{ print $NF }' | sort -u)
	[ "$vals" = "$1" ]
}
# wait_attached V: scrape until attached_is V, bounded (ticks are 0.5 s; 20 s is plenty)
wait_attached() {
	for _ in $(seq 100); do
		scrape && attached_is "$1" && return 0
		sleep 0.2
	done
	return 1
}
series() { grep '^mtuwatch_program_attached{' "$TMP/m" | tr '\n' ' '; }

ip netns add "$NS" || { fail "iface-gone-setup" "cannot create namespace $NS"; exit 0; }
ip -n "$NS" link set lo up
mk_if || { fail "iface-gone-setup" "cannot create veth $IF"; exit 0; }
ip netns exec "$NS" timeout 120 "$MW" export --listen "127.0.0.1:$PORT" -i "$IF" >"$TMP/out" 2>"$TMP/err" &
MW_PID=$!

if wait_attached 1; then
	pass "iface-gone-attached-at-start"
else
	fail "iface-gone-attached-at-start" "$(series) $(tr '\n' ' ' <"$TMP/err")"
	exit 0
fi
old_if=$(ip -n "$NS" -o link show "$IF" | cut -d: -f1)
mw_pid=$(pgrep -P "$MW_PID" -x mtuwatch)
links() { find "/proc/$mw_pid/fd" -lname 'anon_inode:bpf_link' 2>/dev/null | wc -l; }
links_at_start=$(links)

ip -n "$NS" link del "$IF"
if wait_attached 0; then
	pass "iface-gone-gauge-drops-to-0"
else
	fail "iface-gone-gauge-drops-to-0" "$(series)"
fi
check "iface-gone-said-once" [ "$(grep -c "interface $IF disappeared" "$TMP/err")" = 1 ]

mk_if
new_if=$(ip -n "$NS" -o link show "$IF" | cut -d: -f1)
if [ "$new_if" != "$old_if" ] && wait_attached 1; then
	pass "iface-back-attached-again"
else
	fail "iface-back-attached-again" "ifindex $old_if -> $new_if; $(series) $(tr '\n' ' ' <"$TMP/err")"
fi
LAST_OUT=$TMP/err
check "iface-back-said" grep -q "interface $IF is back" "$TMP/err"
# the new device really carries our programs: mtuwatch holds a TCX ingress link on its ifindex
# (the link's fdinfo; this bpftool does not list TCX links)
tcx_in_on() {
	grep -l 'link_type:[[:space:]]*tcx' /proc/"$mw_pid"/fdinfo/* 2>/dev/null |
		xargs -r grep -l "^ifindex:[[:space:]]*$1\$" | xargs -r grep -q 'attach_type:.*ingress'
}
if tcx_in_on "$new_if"; then
	pass "iface-back-program-on-device"
else
	fail "iface-back-program-on-device" "no TCX ingress link of pid $mw_pid on ifindex $new_if"
fi

# and a second flap works as well (old links are released, not piled up)
ip -n "$NS" link del "$IF"
wait_attached 0 && mk_if && wait_attached 1
check "iface-flap-twice" attached_is 1
# the dead devices' links were closed: no more link descriptors than at the start
now_links=$(links)
if [ "$links_at_start" -gt 0 ] && [ "$now_links" -le "$links_at_start" ]; then
	pass "iface-flap-no-link-leak"
else
	fail "iface-flap-no-link-leak" "$links_at_start link fds at start, $now_links after two flaps"
fi
kill -INT "$MW_PID" 2>/dev/null
wait "$MW_PID"
check "iface-gone-exporter-exits-0" [ "$?" = 0 ]
