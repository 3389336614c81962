#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `mtuwatch doctor` against one namespace per misconfiguration, built with real iproute2,
# nftables and iptables (legacy and nft backends): each asserts the exact check codes and the
# exit status (3 for an error or warning, 0 when only info or nothing), plus a clean namespace.
# Run as root: OUT=build bash tests/e2e/test-doctor.sh (one PASS/FAIL line per case). Sends no
# traffic except one UDP datagram for the learned-PMTU case.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cp "$MW" "$TMP/mtuwatch" && MW=$TMP/mtuwatch

# The pure parts (overhead table, allowed MTU, firewall judgement on saved rulesets) run here
# until the unit tier of tests/run.sh lists them itself.
if ! grep -q test_hostcfg "$(dirname "$0")/../run.sh"; then
	if [ -x "$OUT/test_hostcfg" ]; then "$OUT/test_hostcfg"; else
		fail test_hostcfg "$OUT/test_hostcfg missing -- run: make $OUT/test_hostcfg"; fi
fi
NSS=()
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local n
	for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# mkns NAME: a fresh namespace mw-dr-NAME$MW_LAB_ID with lo up; prints its name
ns() { echo "mw-dr-$1$MW_LAB_ID"; }
mkns() {
	local n
	n=$(ns "$1")
	ip netns del "$n" 2>/dev/null
	ip netns add "$n" && NSS+=("$n") && ip -n "$n" link set lo up
}
nsx() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }
# doctor NAME: runs `doctor --json` in the namespace into $TMP/NAME.json, exit status in RC
doctor() {
	LAST_OUT=$TMP/$1.json
	nsx "$1" timeout 60 "$MW" doctor --json >"$LAST_OUT" 2>"$LAST_OUT.err"
	RC=$?
}
# codes FILE: the sorted check codes of errors and warnings in FILE, one line
codes() {
	grep -o '"check":"[a-z_]*","severity":"\(error\|warn\)"' "$1" | cut -d'"' -f4 |
		sort -u | tr '\n' ' '
}
# has_check FILE CHECK PATTERN...: a finding of CHECK with every pattern on its line
has_check() {
	local file=$1 lines
	lines=$(grep "\"check\":\"$2\"" "$file")
	shift 2
	for p in "$@"; do lines=$(printf '%s\n' "$lines" | grep -F -- "$p"); done
	[ -n "$lines" ]
}
# lacks_check FILE CHECK PATTERN: there is a finding of CHECK, and none with PATTERN on its line
lacks_check() {
	has_check "$1" "$2" && ! has_check "$@"
}
expect() {	# expect NAME RC "CODES" : exit status and the exact error/warning codes
	local got err
	got=$(codes "$TMP/$1.json")
	if [ "$RC" = "$2" ] && [ "$got" = "$3" ]; then
		pass "doctor-$1-codes"
	else
		err=$(head -c 300 "$TMP/$1.json.err")
		fail "doctor-$1-codes" "exit $RC (want $2), codes '$got' (want '$3'); $err"
	fi
}
# no_esc FILE...: the first file has output, and no file holds a raw ESC byte (a missing file
# fails: grep's status 2)
no_esc() {
	[ -s "$1" ] || return 1
	LC_ALL=C grep -q $'\e' "$@"
	[ $? = 1 ]
}
# veth_to A IFA B IFB: a veth pair between two lab namespaces
veth_to() { ip -n "$(ns "$1")" link add "$2" type veth peer name "$4" netns "$(ns "$3")" &&
	ip -n "$(ns "$1")" link set "$2" up && ip -n "$(ns "$3")" link set "$4" up; }

# ---- clean: a host with one veth to a peer, same MTUs, nothing filtered ---------------------
mkns clean && mkns cleanpeer
veth_to clean c0 cleanpeer p0
ip -n "$(ns clean)" addr add 192.0.2.1/24 dev c0
ip -n "$(ns clean)" route add default via 192.0.2.2
nsx clean sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.c0.rp_filter=0 \
	net.ipv4.conf.default.rp_filter=0
doctor clean
expect clean 0 ""
check doctor-clean-no-error-or-warning hasnt "$LAST_OUT" '"severity":"\(error\|warn\)"'
nsx clean timeout 60 "$MW" doctor >"$TMP/clean.txt" 2>&1
LAST_OUT=$TMP/clean.txt
check doctor-clean-plain-summary \
	grep -q '^mtuwatch doctor: 0 error(s), 0 warning(s)' "$TMP/clean.txt"

# without privileges the firewall cannot be read: findings still print, exit 1, one line why
chmod 755 "$TMP"
nsx clean setpriv --reuid=65534 --regid=65534 --clear-groups "$MW" doctor \
	>"$TMP/noroot.txt" 2>"$TMP/noroot.err"
RC=$?
LAST_OUT=$TMP/noroot.err
check doctor-not-root-exit1 [ "$RC" = 1 ]
check doctor-not-root-one-line [ "$(wc -l <"$TMP/noroot.err")" = 1 ]
check doctor-not-root-says-why \
	grep -q "firewall of namespace $(ns clean) not fully read.*not root" "$TMP/noroot.err"

nsx clean setpriv --reuid=65534 --regid=65534 --clear-groups "$MW" doctor --all-netns \
	>"$TMP/noroot.txt" 2>"$TMP/noroot.err"
RC=$?
check doctor-not-root-all-netns-exit1 [ "$RC" = 1 ]
check doctor-not-root-all-netns-says-once \
	[ "$(grep -c 'not allowed to enter' "$TMP/noroot.err")" = 1 ]

# ---- VXLAN bound to a device whose MTU was lowered afterwards ------------------------------
mkns vxb && mkns vxbpeer
veth_to vxb u0 vxbpeer u1
ip -n "$(ns vxb)" link set u0 mtu 9000
ip -n "$(ns vxb)" addr add 198.51.100.1/24 dev u0
ip -n "$(ns vxb)" link add vxlan0 type vxlan id 42 dev u0 remote 198.51.100.2 dstport 4789
ip -n "$(ns vxb)" link set vxlan0 mtu 8950 up
ip -n "$(ns vxb)" link set u0 mtu 1500	# the kernel keeps vxlan0 at 8950
doctor vxb
expect vxb 3 "overlay_mtu "
check doctor-vxlan-bound-numbers has_check "$LAST_OUT" overlay_mtu '"iface":"vxlan0"' \
	'"mtu":8950' '"lower_mtu":1500' '"overhead":50' '"allowed_mtu":1450' \
	'"lower_iface":"u0"' '"lower_from":"bound"' '"remote":"198.51.100.2"'
# what the configuration implies, not what the kernel does with it: the VXLAN driver may well
# return a Packet Too Big inside the overlay (pmtu.sh's vxlan tests learn 3950; issue 25)
check doctor-vxlan-says-only-config has_check "$LAST_OUT" overlay_mtu '"iface":"vxlan0"' \
	'fragmented (outer DF clear) or dropped' 'only if a Packet Too Big reaches it'
check doctor-vxlan-no-ptb-claim lacks_check "$LAST_OUT" overlay_mtu \
	'no Packet Too Big reaches the sender'

# ---- the same VXLAN moved into another namespace (a pod's): its lower stays behind -----------
mkns vxm && mkns vxmhost && mkns vxmpeer
veth_to vxmhost u0 vxmpeer u1
ip -n "$(ns vxmhost)" link set u0 mtu 9000
ip -n "$(ns vxmhost)" link add vxlan0 type vxlan id 46 dev u0 remote 198.51.100.2 dstport 4789
ip -n "$(ns vxmhost)" link set vxlan0 mtu 8950 netns "$(ns vxm)"
ip -n "$(ns vxm)" link set vxlan0 up
ip -n "$(ns vxmhost)" link set u0 mtu 1500
doctor vxm
expect vxm 3 "overlay_mtu "
check doctor-vxlan-moved-lower-elsewhere has_check "$LAST_OUT" overlay_mtu '"iface":"vxlan0"' \
	'"lower_mtu":1500' '"lower_iface":"u0"' "\"lower_netns\":\"$(ns vxmhost)\""

# ---- VXLAN not bound: the lower device is the route's to the remote -------------------------
mkns vxr && mkns vxrpeer
veth_to vxr u0 vxrpeer u1
ip -n "$(ns vxr)" addr add 198.51.100.1/24 dev u0
ip -n "$(ns vxr)" link add vxlan0 type vxlan id 43 remote 198.51.100.2 dstport 4789
ip -n "$(ns vxr)" link set vxlan0 mtu 8950 up
doctor vxr
expect vxr 3 "overlay_mtu "
check doctor-vxlan-route-numbers has_check "$LAST_OUT" overlay_mtu '"iface":"vxlan0"' \
	'"lower_mtu":1500' '"allowed_mtu":1450' '"lower_from":"route"' '"remote":"198.51.100.2"'
# IPv6 remote: 70 bytes
ip -n "$(ns vxr)" addr add 2001:db8:1::1/64 dev u0 nodad
ip -n "$(ns vxr)" link add vxlan6 type vxlan id 44 remote 2001:db8:1::2 dstport 4789
ip -n "$(ns vxr)" link set vxlan6 mtu 1500 up
doctor vxr
check doctor-vxlan-ipv6-overhead has_check "$LAST_OUT" overlay_mtu '"iface":"vxlan6"' \
	'"overhead":70' '"allowed_mtu":1430'

# ---- VXLAN 1450 on a 9000 underlay: wasted (info only, exit 0) ------------------------------
mkns vxw && mkns vxwpeer
veth_to vxw u0 vxwpeer u1
ip -n "$(ns vxw)" link set u0 mtu 9000
ip -n "$(ns vxwpeer)" link set u1 mtu 9000
ip -n "$(ns vxw)" addr add 198.51.100.1/24 dev u0
ip -n "$(ns vxw)" link add vxlan0 type vxlan id 45 dev u0 remote 198.51.100.2 dstport 4789
ip -n "$(ns vxw)" link set vxlan0 mtu 1450 up
nsx vxw sysctl -qw net.ipv4.tcp_mtu_probing=1
doctor vxw
expect vxw 0 ""
check doctor-vxlan-wasted has_check "$LAST_OUT" overlay_mtu_wasted '"severity":"info"' \
	'"mtu":1450' '"allowed_mtu":8950'

# ---- veth whose peer in another namespace has a smaller MTU ---------------------------------
mkns vetha && mkns vethb
veth_to vetha a0 vethb b0
ip -n "$(ns vetha)" link set a0 mtu 9000
doctor vetha
expect vetha 3 "veth_peer_mtu "
check doctor-veth-peer-across-netns has_check "$LAST_OUT" veth_peer_mtu '"iface":"a0"' \
	'"mtu":9000' '"peer_mtu":1500' '"peer_iface":"b0"' "\"peer_netns\":\"$(ns vethb)\""
doctor vethb
expect vethb 0 ""

# ---- bridge ports of different MTUs ---------------------------------------------------------
mkns br && mkns brp
ip -n "$(ns br)" link add br0 type bridge
veth_to br p1 brp q1
veth_to br p2 brp q2
ip -n "$(ns br)" link set p2 mtu 9000
ip -n "$(ns brp)" link set q2 mtu 9000
ip -n "$(ns br)" link set p1 master br0
ip -n "$(ns br)" link set p2 master br0
ip -n "$(ns br)" link set br0 up
doctor br
expect br 3 "bridge_mtu_mismatch "
check doctor-bridge-ports has_check "$LAST_OUT" bridge_mtu_mismatch '"iface":"br0"' \
	'"min_port_mtu":1500' '"max_port_mtu":9000'

# ---- locked route ----------------------------------------------------------------------------
mkns lock && mkns lockpeer
veth_to lock l0 lockpeer l1
ip -n "$(ns lock)" addr add 192.0.2.1/24 dev l0
ip -n "$(ns lock)" route add 203.0.113.0/24 via 192.0.2.2 mtu lock 1400
doctor lock
expect lock 3 "route_mtu_locked "
check doctor-route-locked has_check "$LAST_OUT" route_mtu_locked '"dst":"203.0.113.0/24"' \
	'"route_mtu":1400' '"locked":1'

# ---- nftables drops frag-needed and Packet Too Big; DROP policy without RELATED --------------
mkns nft
nsx nft nft -f - <<'EOF'
table inet fw {
	chain input { type filter hook input priority 0; policy accept;
		icmp type destination-unreachable icmp code frag-needed drop
		icmpv6 type packet-too-big drop
	}
	chain forward { type filter hook forward priority 0; policy drop;
		tcp dport 22 accept
	}
}
EOF
doctor nft
expect nft 3 "firewall_drops_ptb "
check doctor-nft-frag-needed has_check "$LAST_OUT" firewall_drops_ptb '"backend":"nftables"' \
	'"table":"inet fw"' '"chain":"input"' 'frag-needed drop' '"family":"ipv4"'
check doctor-nft-ptb has_check "$LAST_OUT" firewall_drops_ptb '"chain":"input"' \
	'icmpv6 type packet-too-big drop' '"family":"ipv6"'
check doctor-nft-policy-drop has_check "$LAST_OUT" firewall_drops_ptb '"chain":"forward"' \
	'"rule":"policy drop"'
# an accept of RELATED ahead of the policy admits ICMP errors: no longer a finding
nsx nft nft insert rule inet fw forward ct state established,related accept
nsx nft nft delete chain inet fw input 2>/dev/null ||
	{ nsx nft nft flush chain inet fw input; }
doctor nft
# doctor ran to the end (exit 0): an empty file is also what a crash leaves
check doctor-nft-related-exit0 [ "$RC" = 0 ]
check doctor-nft-related-admits hasnt "$LAST_OUT" '"check":"firewall_drops_ptb"'

# ---- iptables-legacy drops frag-needed, ip6tables-legacy rejects PTB --------------------------
mkns ipl
nsx ipl iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP
nsx ipl ip6tables-legacy -A OUTPUT -p ipv6-icmp --icmpv6-type packet-too-big -j REJECT
nsx ipl iptables-legacy -A FORWARD -p icmp -j DROP
doctor ipl
expect ipl 3 "firewall_drops_ptb "
check doctor-iptables-legacy-frag-needed has_check "$LAST_OUT" firewall_drops_ptb \
	'"backend":"iptables-legacy"' '"table":"ip filter"' '"chain":"INPUT"' \
	'--icmp-type 3/4 -j DROP'
check doctor-ip6tables-legacy-ptb has_check "$LAST_OUT" firewall_drops_ptb \
	'"backend":"iptables-legacy"' '"table":"ip6 filter"' '"chain":"OUTPUT"' '-j REJECT'
check doctor-iptables-legacy-all-icmp has_check "$LAST_OUT" firewall_drops_ptb \
	'"chain":"FORWARD"' 'drops all ICMP'

# a comment is one quoted word to iptables-save: its "-j ACCEPT" is not the rule's target
mkns ipc
nsx ipc iptables-legacy -A INPUT -p icmp -m comment --comment "note -j ACCEPT " -j DROP
nsx ipc iptables-legacy-save >"$TMP/ipc.save"
LAST_OUT=$TMP/ipc.save
check doctor-iptables-comment-input grep -qF -- '--comment "note -j ACCEPT " -j DROP' \
	"$TMP/ipc.save"
doctor ipc
expect ipc 3 "firewall_drops_ptb "
check doctor-iptables-comment-not-target has_check "$LAST_OUT" firewall_drops_ptb \
	'"chain":"INPUT"' 'drops all ICMP' 'note -j ACCEPT'

# iptables-save is run from the system's directories, never through the caller's PATH (doctor
# runs as root): a planted one first in PATH leaves a mark if it runs
mkdir -p "$TMP/plant"
for p in iptables-legacy-save ip6tables-legacy-save iptables-nft-save ip6tables-nft-save \
	iptables-save ip6tables-save nft; do
	# shellcheck disable=SC2016 # $0 is the planted script's own
	printf '#!/bin/sh\necho "$0" >>%s/planted.ran\n' "$TMP" >"$TMP/plant/$p"
	chmod 755 "$TMP/plant/$p"
done
PATH=$TMP/plant:$PATH iptables-legacy-save >/dev/null
LAST_OUT=$TMP/planted.ran
check doctor-path-plant-works [ -s "$TMP/planted.ran" ]
rm -f "$TMP/planted.ran"
LAST_OUT=$TMP/ipl-path.json
PATH=$TMP/plant:$PATH nsx ipl timeout 60 "$MW" doctor --json >"$LAST_OUT" 2>"$LAST_OUT.err"
RC=$?
check doctor-path-real-iptables-read has_check "$LAST_OUT" firewall_drops_ptb \
	'"backend":"iptables-legacy"' '--icmp-type 3/4 -j DROP'
check doctor-path-exit3 [ "$RC" = 3 ]
check doctor-path-plant-not-run [ ! -e "$TMP/planted.ran" ]

# ---- iptables-nft: the same rule through the nf_tables backend ------------------------------
mkns ipn
nsx ipn iptables-nft -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
nsx ipn iptables-nft -A INPUT -p icmp --icmp-type 3/4 -j DROP
nsx ipn iptables-nft -P OUTPUT DROP
nsx ipn iptables-nft -I OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
doctor ipn
expect ipn 3 "firewall_drops_ptb "
check doctor-iptables-nft-frag-needed has_check "$LAST_OUT" firewall_drops_ptb \
	'"backend":"iptables-nft"' '"chain":"INPUT"' '--icmp-type 3/4 -j DROP'
check doctor-iptables-nft-related-admits hasnt "$LAST_OUT" '"chain":"OUTPUT"'
check doctor-iptables-nft-once hasnt "$LAST_OUT" '"backend":"nftables"'

# ---- Docker's shape: FORWARD policy DROP, RELATED accepted in a chain it jumps to ----------
mkns dock
nsx dock iptables-nft -N DOCKER-FORWARD
nsx dock iptables-nft -N DOCKER-CT
nsx dock iptables-nft -P FORWARD DROP
nsx dock iptables-nft -A FORWARD -j DOCKER-FORWARD
nsx dock iptables-nft -A DOCKER-FORWARD -j DOCKER-CT
nsx dock iptables-nft -A DOCKER-CT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
doctor dock
expect dock 0 ""
nsx dock iptables-nft -F DOCKER-CT
doctor dock
expect dock 3 "firewall_drops_ptb "
check doctor-policy-drop-named has_check "$LAST_OUT" firewall_drops_ptb '"chain":"FORWARD"' \
	'"rule":"policy drop"' '"backend":"iptables-nft"'

# ---- strict rp_filter: info, with the prefixes whose PTBs pass -------------------------------
mkns rpf && mkns rpfpeer
veth_to rpf r0 rpfpeer r1
ip -n "$(ns rpf)" addr add 192.0.2.1/24 dev r0
nsx rpf sysctl -qw net.ipv4.conf.all.rp_filter=1
doctor rpf
expect rpf 0 ""
check doctor-rp-filter-strict has_check "$LAST_OUT" rp_filter_strict '"iface":"r0"' \
	'"severity":"info"' '"accepted_sources":"192.0.2.0/24"'

# ---- ip_no_pmtu_disc and an IPv6 mtu below the link ------------------------------------------
mkns nopmtu && mkns nopmtupeer
veth_to nopmtu n0 nopmtupeer n1
nsx nopmtu sysctl -qw net.ipv4.ip_no_pmtu_disc=1 net.ipv6.conf.n0.mtu=1280
doctor nopmtu
expect nopmtu 3 "pmtu_disc_off "
check doctor-ipv6-mtu-below-link has_check "$LAST_OUT" pmtu_disc_off '"iface":"n0"' \
	'"ipv6_mtu":1280'
check doctor-no-pmtu-disc has_check "$LAST_OUT" pmtu_disc_off '"ip_no_pmtu_disc":1'

# ---- a forwarding namespace with an MTU step and no MSS clamp, then with one -----------------
mkns fwd && mkns fwda && mkns fwdb
veth_to fwd f0 fwda g0
veth_to fwd f1 fwdb g1
ip -n "$(ns fwd)" link set f0 mtu 9000
ip -n "$(ns fwda)" link set g0 mtu 9000
nsx fwd sysctl -qw net.ipv4.ip_forward=1
doctor fwd
expect fwd 3 "no_mss_clamp "
check doctor-no-mss-clamp has_check "$LAST_OUT" no_mss_clamp '"mtu":1500' '"max_mtu":9000'
nsx fwd nft add table inet mangle
nsx fwd nft add chain inet mangle forward '{ type filter hook forward priority -150; }'
nsx fwd nft add rule inet mangle forward tcp flags syn tcp option maxseg size set rt mtu
doctor fwd
expect fwd 0 ""
nsx fwd nft delete table inet mangle
nsx fwd iptables-legacy -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS \
	--clamp-mss-to-pmtu
doctor fwd
expect fwd 0 ""

# ---- a learned PMTU (route exception): one ping through a narrower hop ----------------------
mkns pc && mkns pr && mkns ps
veth_to pc x0 pr x1
veth_to pr y0 ps y1
ip -n "$(ns pr)" link set y0 mtu 1400
ip -n "$(ns ps)" link set y1 mtu 1400
ip -n "$(ns pc)" addr add 192.0.2.1/24 dev x0
ip -n "$(ns pr)" addr add 192.0.2.2/24 dev x1
ip -n "$(ns pr)" addr add 198.51.100.1/24 dev y0
ip -n "$(ns ps)" addr add 198.51.100.2/24 dev y1
ip -n "$(ns pc)" route add default via 192.0.2.2
ip -n "$(ns ps)" route add default via 198.51.100.1
nsx pr sysctl -qw net.ipv4.ip_forward=1
ip -n "$(ns pc)" addr add 2001:db8:1::1/64 dev x0 nodad
ip -n "$(ns pr)" addr add 2001:db8:1::2/64 dev x1 nodad
ip -n "$(ns pr)" addr add 2001:db8:2::1/64 dev y0 nodad
ip -n "$(ns ps)" addr add 2001:db8:2::2/64 dev y1 nodad
ip -n "$(ns pc)" route add default via 2001:db8:1::2
ip -n "$(ns ps)" route add default via 2001:db8:2::1
nsx pr sysctl -qw net.ipv6.conf.all.forwarding=1
# 1450-byte UDP datagrams (DF: the socket's default PMTU discovery) until the router's
# frag-needed / Packet Too Big has taught the client mtu 1400 for the server; a datagram lost
# to neighbour discovery is sent again (bounded: 50 rounds)
learned() { nsx pc ip "-$1" route show cache | grep -q 'mtu 1400'; }
for _ in $(seq 50); do
	learned 4 || nsx pc bash -c 'head -c 1450 /dev/zero >/dev/udp/198.51.100.2/9' 2>/dev/null
	learned 6 || nsx pc bash -c 'head -c 1450 /dev/zero >/dev/udp/2001:db8:2::2/9' 2>/dev/null
	learned 4 && learned 6 && break
	sleep 0.1
done
doctor pc
check doctor-route-exception has_check "$LAST_OUT" route_exception '"dst":"198.51.100.2"' \
	'"route_mtu":1400' '"iface":"x0"'
check doctor-route-exception-ipv6 has_check "$LAST_OUT" route_exception \
	'"dst":"2001:db8:2::2"' '"family":6' '"route_mtu":1400'
check doctor-route-exception-narrower has_check "$LAST_OUT" route_exception \
	'"dst":"198.51.100.2"' '"locked":0' 'narrower than x0' 'PMTUD worked'
# x0 (and its peer) lowered to 1300: the exceptions are no longer below the device's MTU
# (IPv6 lowers its own to 1300; IPv4's dump may still show 1400 until the next lookup) and
# narrow nothing; not "mtu 1300 ... narrower than x0's MTU 1300" (issue 25)
ip -n "$(ns pc)" link set x0 mtu 1300
ip -n "$(ns pr)" link set x1 mtu 1300
cp "$LAST_OUT" "$TMP/pc-learned.json"
doctor pc
check doctor-route-exception-at-device-mtu has_check "$LAST_OUT" route_exception \
	'"dst":"198.51.100.2"' '"mtu":1300' 'not below x0' 'does not narrow this path'
check doctor-route-exception-at-device-mtu-ipv6 has_check "$LAST_OUT" route_exception \
	'"dst":"2001:db8:2::2"' '"route_mtu":1300' 'does not narrow this path'
check doctor-route-exception-at-device-mtu-not-narrower lacks_check "$LAST_OUT" \
	route_exception 'narrower than x0'
# a hop below IPv4's floor: the router's y0 at 400, so its frag-needed advertises 400; the
# client takes net.ipv4.route.min_pmtu instead and locks it (sends without DF from then on)
floor=$(nsx pc sysctl -n net.ipv4.route.min_pmtu)
ip -n "$(ns pr)" link set y0 mtu 400
locked() { nsx pc ip -4 route show cache | grep -q "mtu lock $floor"; }
for _ in $(seq 50); do
	locked && break
	nsx pc bash -c 'head -c 1000 /dev/zero >/dev/udp/198.51.100.2/9' 2>/dev/null
	sleep 0.1
done
check doctor-route-exception-locked-input locked
doctor pc
check doctor-route-exception-locked has_check "$LAST_OUT" route_exception \
	'"dst":"198.51.100.2"' "\"route_mtu\":$floor" '"locked":1' "mtu lock $floor" \
	'real MTU is not known here' 'without DF'
check doctor-route-exception-locked-not-pmtud lacks_check "$LAST_OUT" route_exception \
	'PMTUD worked'

# ---- hostile names: a terminal escape and shell metacharacters in interface names ----------
# (all valid to the kernel: only '/', ':', whitespace, "." and ".." are refused)
mkns evil && mkns evilpeer
EVIL=$'\e[41mEVIL\e[0m'
ip -n "$(ns evil)" link add 'x;id' type veth peer name "$EVIL" netns "$(ns evilpeer)"
# shellcheck disable=SC2016 # a literal $(id): the name
ip -n "$(ns evil)" link add "a'b" type veth peer name 'q$(id)' netns "$(ns evilpeer)"
ip -n "$(ns evil)" link set 'x;id' mtu 9000 up
ip -n "$(ns evil)" link set "a'b" mtu 9000 up
ip -n "$(ns evilpeer)" link set "$EVIL" up
# shellcheck disable=SC2016
ip -n "$(ns evilpeer)" link set 'q$(id)' up
LAST_OUT=$TMP/evil.txt
nsx evil timeout 60 "$MW" doctor >"$LAST_OUT" 2>&1
RC=$?
check doctor-hostile-exit3 [ "$RC" = 3 ]
check doctor-hostile-findings [ "$(grep -c '^  veth_peer_mtu' "$LAST_OUT")" = 2 ]
check doctor-hostile-no-raw-escape no_esc "$LAST_OUT"
check doctor-hostile-escape-shown grep -qF '\x1b[41mEVIL\x1b[0m' "$LAST_OUT"
check doctor-hostile-remedy-quoted grep -qF "ip link set dev 'x;id' mtu 1500" "$LAST_OUT"
check doctor-hostile-remedy-quote-in-name grep -qF "ip link set dev 'a'\\''b' mtu 1500" \
	"$LAST_OUT"
check doctor-hostile-peer-quoted grep -qF "raise 'q\$(id)'" "$LAST_OUT"
# the remedy, pasted into a shell, names the interface and runs nothing else
line=$(grep -o "ip link set dev 'x;id' mtu 1500" "$LAST_OUT")
words=$(bash -c "set -- ${line#ip link set dev }; printf '%s|' \"\$@\"")
check doctor-hostile-remedy-one-word [ "$words" = 'x;id|mtu|1500|' ]
# a namespace named with an escape, with a finding so that its name is printed (--all-netns)
mkns $'esc\e[7m'
nsx $'esc\e[7m' sysctl -qw net.ipv4.ip_no_pmtu_disc=1

# ---- --all-netns: labelled by name, exit 3 ---------------------------------------------------
LAST_OUT=$TMP/all.json
timeout 120 "$MW" doctor --all-netns --json >"$LAST_OUT" 2>"$LAST_OUT.err"
RC=$?
check doctor-all-netns-exit3 [ "$RC" = 3 ]
check doctor-all-netns-labels has_check "$LAST_OUT" veth_peer_mtu "\"netns\":\"$(ns vetha)\""
# what is read from inside each namespace entered: sysctls, legacy iptables, nftables
check doctor-all-netns-sysctl has_check "$LAST_OUT" rp_filter_strict "\"netns\":\"$(ns rpf)\""
check doctor-all-netns-iptables has_check "$LAST_OUT" firewall_drops_ptb \
	"\"netns\":\"$(ns ipl)\"" '"backend":"iptables-legacy"'
check doctor-all-netns-nftables has_check "$LAST_OUT" firewall_drops_ptb \
	"\"netns\":\"$(ns ipn)\"" '"backend":"iptables-nft"'
check doctor-all-netns-overlay has_check "$LAST_OUT" overlay_mtu "\"netns\":\"$(ns vxb)\""
check doctor-all-netns-clean-has-none hasnt "$LAST_OUT" \
	"\"severity\":\"\\(error\\|warn\\)\",\"netns\":\"$(ns clean)\""
LAST_OUT=$TMP/all.txt
timeout 120 "$MW" doctor --all-netns >"$LAST_OUT" 2>"$LAST_OUT.err"
check doctor-all-netns-plain-evil-seen grep -qF "[netns $(ns evil)] x;id MTU 9000" "$LAST_OUT"
check doctor-all-netns-plain-esc-netns grep -qF "[netns mw-dr-esc\x1b[7m$MW_LAB_ID] net.ipv4" \
	"$LAST_OUT"
check doctor-all-netns-plain-no-raw-escape no_esc "$LAST_OUT" "$LAST_OUT.err"

# ---- JSON shape and usage errors ------------------------------------------------------------
LAST_OUT=$TMP/vetha.json
check doctor-json-fields has_check "$TMP/vetha.json" veth_peer_mtu '"severity":"error"' \
	'"iface":"a0"' '"netns":' '"explain":"' '"remedy":"'
"$MW" doctor --bogus >/dev/null 2>"$TMP/usage.err"
RC=$?
LAST_OUT=$TMP/usage.err
check doctor-usage-exit2 [ "$RC" = 2 ]
check doctor-usage-one-line [ "$(wc -l <"$TMP/usage.err")" = 1 ]
"$MW" doctor extra >/dev/null 2>&1
check doctor-extra-arg-exit2 [ $? = 2 ]
"$MW" doc --help >"$TMP/help.txt" 2>&1
RC=$?
LAST_OUT=$TMP/help.txt
check doctor-help-prefix-exit0 [ "$RC" = 0 ]
check doctor-help-exit-codes grep -q 'Exit status: 0 no error or warning, 3 at least one' "$LAST_OUT"
