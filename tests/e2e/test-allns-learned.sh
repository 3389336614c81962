#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# pmtu_learned in other namespaces (issue 25 item 6): mtuwatch --all-netns runs in the
# server's namespace of the healthy lab; the client, a namespace with no packet hook of its
# own, sends DF pings too big for the router, which answers with a Packet Too Big that the
# client's kernel handles. mtuwatch must report pmtu_learned 1500 for the client's namespace
# (its inode), IPv4 and IPv6, read in that namespace. Sees every namespace of the host: run it
# under the e2e lock (flock /tmp/mw-e2e.lock).
# Run as root: OUT=build bash tests/e2e/test-allns-learned.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! lab_up healthy >"$TMP/up.log" 2>&1; then
	fail allns-learned-lab-up "$(tail -3 "$TMP/up.log")"
	exit 1
fi
CLI_NS=$(stat -L -c %i "/run/netns/$MW_NS_CLI")
SRV_NS=$(stat -L -c %i "/run/netns/$MW_NS_SRV")
# learned DST: a pmtu_learned finding of the client's namespace for DST at 1500
learned() {
	finding "$TMP/out" '"verdict":"pmtu_learned"' "\"dst\":\"$1\"" '"mtu":1500,' \
		"\"netns\":$CLI_NS,"
}

mw_start srv "$TMP/out" --json --all-netns
# -c 3: the second packet's route lookup lists the IPv4 exception, as any flow's next packet
lab_exec cli timeout 5 ping -4 -q -n -c 3 -i 0.1 -W 1 -M "do" -s 1800 "$MW_SRV4" >"$TMP/p4" 2>&1
lab_exec cli timeout 5 ping -6 -q -n -c 3 -i 0.1 -W 1 -M "do" -s 1800 "$MW_SRV6" >"$TMP/p6" 2>&1
sleep 1
mw_stop
# the input exists: the client's kernel learned both
LAST_OUT=$TMP/p4
check allns-input-v4-learned has <(lab_exec cli ip -4 route get "$MW_SRV4") 'mtu 1500'
check allns-input-v6-learned has <(lab_exec cli ip -6 route get "$MW_SRV6") 'mtu 1500'
LAST_OUT=$TMP/out
check allns-learned-v4-client-ns learned "$MW_SRV4"
check allns-learned-v6-client-ns learned "$MW_SRV6"
# and not to mtuwatch's own namespace, which learned nothing
check allns-learned-not-own-ns hasnt "$TMP/out" "\"verdict\":\"pmtu_learned\".*\"netns\":$SRV_NS,"
check allns-exit-0 [ "$MW_RC" = 0 ]
