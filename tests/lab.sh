#!/usr/bin/env bash
# tests/lab.sh -- network-namespace labs that reproduce MTU black holes.
#
# Source it (`. tests/lab.sh`) to get the functions below, or run it:
#   tests/lab.sh up VARIANT          build the lab (tears down any old one first)
#   tests/lab.sh down                delete everything the lab created
#   tests/lab.sh traffic VARIANT [S] bounded bulk TCP transfer (lab_bulk)
#   tests/lab.sh tls [S] | ssh [S]   start the server if needed, run one client
#   tests/lab.sh exec NODE CMD...    run CMD in namespace NODE (cli|rtr|srv)
# Must run as root. Only documentation addresses are used and every traffic
# generator is bounded by `timeout`.
#
# TOPOLOGY (namespace names get ${MW_LAB_ID} appended, e.g. mw-cli7):
#
#   mw-cli                     mw-rtr                         mw-srv
#   c0 ---------------------- r0      r1 -------------------- s0
#   192.0.2.2/24      192.0.2.1/24    198.51.100.1/24         198.51.100.2/24
#   2001:db8:1::2/64  2001:db8:1::1/64 2001:db8:2::1/64       2001:db8:2::2/64
#
#   MTU per variant     c0    r0    r1    s0                  notes
#   filtered           9000  9000  1500  1500   srv routes advmss 8960/8940
#   fwdrop             9000  9000  1446  1446   srv routes advmss 8960/8940
#   rpfilter           9000  9000  1500  1500   srv routes advmss 8960/8940
#   healthy            9000  9000  1500  1500   srv routes advmss 8960/8940
#   silent             9000  9000  1500  9000   s0: tso/gso off; cli routes
#                                               mtu 1500 advmss 8960/8940
#   aligned            9000  9000  1500  1500   same as silent
#
# Variants filtered/fwdrop/rpfilter/healthy: the client is the big sender.
#   The server's link is a consistent 1500 (so the server itself never sends
#   anything that would be silently lost), but its routes carry `advmss`, so
#   its SYN-ACK advertises MSS 8960 (v6: 8940).  The client (MTU 9000) then
#   sends 9000-byte DF segments; the router cannot forward them out of r1 and
#   drops them (kfree_skb reason PKT_TOO_BIG) and sends ICMP frag-needed /
#   ICMPv6 packet-too-big with mtu 1500 (1446 in fwdrop).  (With GSO the
#   client hands the router super-packets; the quoted inner IP header in the
#   ICMP shows the super-packet length, e.g. 26896, not 9000.)
#   filtered : the router's OUTPUT chain drops its own ICMP frag-needed
#              (iptables) and packet-too-big (ip6tables).  Reason NETFILTER_DROP
#              in mw-rtr; the client retransmits and never learns a PMTU.
#   fwdrop   : r1 MTU 1446; the PTB (mtu 1446) reaches the client whose INPUT
#              chain drops it (iptables + ip6tables).  NETFILTER_DROP in mw-cli.
#   rpfilter : the router sources its ICMP errors from 203.0.113.1/32 (on its
#              lo; its connected route to 192.0.2.0/24 has `src 203.0.113.1`);
#              the client has strict rp_filter and no default route (only
#              specific routes to 198.51.100.0/24 and 2001:db8:2::/64), so the
#              ICMP is dropped with reason IP_RPFILTER.  IPv4 only: IPv6 PMTUD
#              works in this variant.
#   healthy  : nothing filtered; after a transfer the client's
#              `ip route get 198.51.100.2` shows `mtu 1500`.
# Variants silent/aligned: the server is the big sender (TLS cert chain, SSH
#   KEX reply, or lab_bulk which runs reverse mode here).
#   silent   : s0 MTU 9000 with TSO/GSO off (veth lets GSO super-packets
#              through whatever the peer MTU is), r1 MTU 1500: the router's r1
#              drops the server's oversize frames on receive (rx_dropped,
#              kfree_skb reason NOT_SPECIFIED in __dev_forward_skb2), NO ICMP.
#              The client's routes say `mtu 1500 advmss 8960` (v6: 8940): it
#              advertises the jumbo MSS its 9000 link would give, but never
#              sends >1500 itself, so it never gets a PTB and never learns a
#              PMTU that would shrink the MSS of later connections: every
#              connection stalls the same way.
#   aligned  : same, but s0 MTU 1500: everything works.
#
# FUNCTIONS (return 0 = yes/success, 1 = no/failed/stalled, 2 = usage or setup
# error; logs and state live in $MW_LAB_DIR):
#   lab_up VARIANT              build fresh namespaces for VARIANT (calls lab_down
#                               first, so no PMTU/route cache survives).
#   lab_down                    kill every process in the lab namespaces, delete
#                               the namespaces (and with them all veths and
#                               iptables rules) and $MW_LAB_DIR.
#                               Idempotent, always returns 0.
#   lab_exec NODE CMD...        run CMD inside mw-NODE${MW_LAB_ID}; NODE is
#                               cli|rtr|srv.  Returns CMD's status.
#   lab_ns NODE                 print the namespace name of NODE.
#   lab_variant                 print the running variant (empty if none).
#   lab_bulk [VARIANT] [SECONDS] [FAMILY]
#                               bounded iperf3 bulk transfer of SECONDS (default
#                               3) between client and server over IPv4 (FAMILY 4,
#                               default) or IPv6 (6).  Client->server in
#                               filtered/fwdrop/rpfilter/healthy, server->client
#                               (iperf3 -R) in silent/aligned.  VARIANT empty or
#                               "-" means the running one; if no lab is up it is
#                               brought up; a different running variant is an
#                               error (2).  Hard bound: SECONDS+8 s.  Returns 0 if
#                               the receiver got >= MW_LAB_BULK_MIN bytes (default
#                               1000000), 1 otherwise.  Received byte count is
#                               written to $MW_LAB_DIR/bulk.bytes, the iperf3 JSON
#                               to $MW_LAB_DIR/bulk.json.
#   lab_tls_server              start openssl s_server (one per family) in mw-srv
#                               on 198.51.100.2:8443 and [2001:db8:2::2]:8443
#                               with a 4-certificate RSA-4096 chain: the server's
#                               first flight after ServerHello is ~6.4 kB.  Returns 0 when listening (keys are
#                               generated on first use, ~5-10 s).
#   lab_tls_client SECONDS [FAMILY]
#                               openssl s_client from mw-cli bounded by SECONDS;
#                               returns 0 if the handshake completed.  Log:
#                               $MW_LAB_DIR/tls-client.log.
#   lab_ssh_server [dualstack]  start sshd in mw-srv on port 2222 (198.51.100.2
#                               and 2001:db8:2::2; with "dualstack" one AF_INET6
#                               socket on [::] that takes IPv4 peers as ::ffff:,
#                               each connection handed to sshd -i, since sshd's
#                               own [::] is IPv6-only) with its own config, one RSA
#                               host key (MW_LAB_SSH_KEYBITS, default 4096) as the
#                               only host key algorithm and KEX pinned to
#                               sntrup761x25519-sha512@openssh.com, so the
#                               KEX_ECDH_REPLY segment is ~2.5 kB.  Returns 0 when
#                               listening.  /run is a private tmpfs for sshd.
#   lab_ssh_client SECONDS [FAMILY]
#                               ssh -v from mw-cli (4, 6, or 4m: IPv4 as
#                               ::ffff:198.51.100.2, an AF_INET6 socket) (BatchMode, no host key
#                               checking) bounded by SECONDS; returns 0 if key
#                               exchange completed ("SSH2_MSG_NEWKEYS received"),
#                               1 otherwise.  Log: $MW_LAB_DIR/ssh-client.log.
#
# BUILDING BLOCKS (the one lab library: tests/scenarios*.sh build their labs with these and
# keep only what differs): _mw_build (fresh lab in a set -e shell), _mw_lab3 (the three
# namespaces above at given MTUs), _mw_defroutes, _mw_ns_base (settings of every lab
# namespace), _mw_router (forwarding, ICMP, icmp_errors_use_inbound_ifaddr as a parameter),
# _mw_sysctl, _mw_ns_del, _mw_rm_dir (teardown).
#
# ENVIRONMENT
#   MW_LAB_ID            suffix for namespace names and the state dir (default "")
#   MW_LAB_DIR           state dir (default ${TMPDIR:-/tmp}/mw-lab$MW_LAB_ID)
#   MW_LAB_KEYDIR        if set, TLS/SSH keys are generated into / reused from
#                        this directory, which then belongs to the caller
#                        (lab_down does not delete it).  Default: $MW_LAB_DIR/keys.
#   MW_LAB_SERVER_TIMEOUT  upper bound in seconds for background servers (900)
#   MW_LAB_SSH_KEYBITS   RSA host key size (default 4096)
#   MW_LAB_BULK_MIN      byte threshold for lab_bulk success (default 1000000)

MW_LAB_ID=${MW_LAB_ID:-}
_MW_LAB_SH=$(readlink -f "${BASH_SOURCE[0]}")
MW_LAB_DIR=${MW_LAB_DIR:-${TMPDIR:-/tmp}/mw-lab${MW_LAB_ID}}
MW_LAB_SERVER_TIMEOUT=${MW_LAB_SERVER_TIMEOUT:-900}
MW_LAB_SSH_KEYBITS=${MW_LAB_SSH_KEYBITS:-4096}
MW_LAB_BULK_MIN=${MW_LAB_BULK_MIN:-1000000}

MW_NS_CLI="mw-cli${MW_LAB_ID}"
MW_NS_RTR="mw-rtr${MW_LAB_ID}"
MW_NS_SRV="mw-srv${MW_LAB_ID}"
MW_NS_POD="mw-pod${MW_LAB_ID}"

MW_CLI4=192.0.2.2       MW_CLI6=2001:db8:1::2
MW_RTR0_4=192.0.2.1     MW_RTR0_6=2001:db8:1::1
MW_RTR1_4=198.51.100.1  MW_RTR1_6=2001:db8:2::1
MW_SRV4=198.51.100.2    MW_SRV6=2001:db8:2::2
MW_POD4=203.0.113.66    MW_POD6=2001:db8:3::2
MW_NODE_POD4=203.0.113.65 MW_NODE_POD6=2001:db8:3::1
MW_RTR_MGMT4=203.0.113.1

MW_LAB_VARIANTS="filtered fwdrop rpfilter healthy silent aligned"
MW_TLS_PORT=8443
MW_SSH_PORT=2222
MW_IPERF_PORT=5201

lab_ns() {
	case "$1" in
	cli) echo "$MW_NS_CLI" ;;
	rtr) echo "$MW_NS_RTR" ;;
	srv) echo "$MW_NS_SRV" ;;
	pod) echo "$MW_NS_POD" ;;
	*) echo "lab_ns: unknown node '$1' (cli|rtr|srv|pod)" >&2; return 2 ;;
	esac
}

lab_exec() {
	local ns
	ns=$(lab_ns "$1") || return 2
	shift
	ip netns exec "$ns" "$@"
}

lab_variant() {
	[ -f "$MW_LAB_DIR/variant" ] && [ -e "/run/netns/$MW_NS_CLI" ] &&
		cat "$MW_LAB_DIR/variant"
	return 0
}

_mw_keydir() { echo "${MW_LAB_KEYDIR:-$MW_LAB_DIR/keys}"; }

# Kill every process inside one of our namespaces (by pid), then delete it.
_mw_ns_del() {
	local ns=$1 pids i
	[ -e "/run/netns/$ns" ] || return 0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086 # one pid per word
		if [ "$i" -lt 6 ]; then
			kill $pids 2>/dev/null
		else
			kill -9 $pids 2>/dev/null
		fi
		sleep 0.1
	done
	ip netns del "$ns" 2>/dev/null
	return 0
}

# Delete a lab's state directory: _mw_rm_dir DIR.  An external MW_LAB_KEYDIR inside it
# belongs to the caller; never delete it.
_mw_rm_dir() {
	local dir=$1 kd=${MW_LAB_KEYDIR:-}
	[ -d "$dir" ] || return 0
	if [ -n "$kd" ] && [ "${kd#"$dir"/}" != "$kd" ]; then
		find "$dir" -mindepth 1 -maxdepth 1 ! -path "$kd" -exec rm -rf {} + 2>/dev/null
	else
		rm -rf "$dir"
	fi
	return 0
}

lab_down() {
	local ns
	for ns in "$MW_NS_POD" "$MW_NS_CLI" "$MW_NS_RTR" "$MW_NS_SRV"; do
		_mw_ns_del "$ns"
	done
	_mw_rm_dir "$MW_LAB_DIR"
	return 0
}

# --- building blocks (tests/scenarios.sh and tests/scenarios-ovl.sh build with them too) ---

# Write sysctls inside a namespace: _mw_sysctl NS key=value...
_mw_sysctl() {
	local ns=$1
	shift
	ip netns exec "$ns" sysctl -qw "$@" >/dev/null
}

# The settings every lab namespace starts from, so that no lab depends on the host's
# defaults: _mw_ns_base NS (an existing namespace).
_mw_ns_base() {
	local ns=$1
	_mw_sysctl "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.tcp_mtu_probing=0 net.ipv4.tcp_no_metrics_save=1 \
		net.ipv4.ip_no_pmtu_disc=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
	ip -n "$ns" link set lo up
}

# A namespace that forwards and answers every too-big packet (no ICMP rate limit):
# _mw_router NS INBOUND_IFADDR.  INBOUND_IFADDR is net.ipv4.icmp_errors_use_inbound_ifaddr,
# written explicitly: with 0 (the kernel's default in every new namespace) an ICMP error takes
# the source address the route back to the sender picks, which the rpfilter variant needs (its
# route back has `src 203.0.113.1`); with 1 it would take the address of the interface the
# packet came in on.
_mw_router() {
	local ns=$1 inbound=$2
	_mw_sysctl "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv4.icmp_errors_use_inbound_ifaddr="$inbound"
}

# The three namespaces of the TOPOLOGY above, veths at the given MTUs, addresses, links up,
# no routes: _mw_lab3 C0MTU R0MTU R1MTU S0MTU INBOUND_IFADDR (see _mw_router).  Runs under
# set -e (see _mw_build).
_mw_lab3() {
	local c0=$1 r0=$2 r1=$3 s0=$4 inbound=$5 ns
	ip netns add "$MW_NS_CLI"
	ip netns add "$MW_NS_RTR"
	ip netns add "$MW_NS_SRV"
	# Created directly inside the namespaces: no name clash in the root ns.
	ip link add c0 netns "$MW_NS_CLI" mtu "$c0" type veth peer name r0 netns "$MW_NS_RTR" mtu "$r0"
	ip link add r1 netns "$MW_NS_RTR" mtu "$r1" type veth peer name s0 netns "$MW_NS_SRV" mtu "$s0"

	for ns in "$MW_NS_CLI" "$MW_NS_RTR" "$MW_NS_SRV"; do
		_mw_ns_base "$ns"
	done
	_mw_sysctl "$MW_NS_CLI" net.ipv6.conf.c0.accept_dad=0 net.ipv4.conf.c0.rp_filter=0
	_mw_sysctl "$MW_NS_RTR" net.ipv6.conf.r0.accept_dad=0 net.ipv6.conf.r1.accept_dad=0
	_mw_router "$MW_NS_RTR" "$inbound"
	_mw_sysctl "$MW_NS_SRV" net.ipv6.conf.s0.accept_dad=0

	# client
	ip -n "$MW_NS_CLI" addr add "$MW_CLI4/24" dev c0
	ip -n "$MW_NS_CLI" -6 addr add "$MW_CLI6/64" dev c0 nodad
	ip -n "$MW_NS_CLI" link set c0 up
	# router
	ip -n "$MW_NS_RTR" addr add "$MW_RTR0_4/24" dev r0
	ip -n "$MW_NS_RTR" -6 addr add "$MW_RTR0_6/64" dev r0 nodad
	ip -n "$MW_NS_RTR" addr add "$MW_RTR1_4/24" dev r1
	ip -n "$MW_NS_RTR" -6 addr add "$MW_RTR1_6/64" dev r1 nodad
	ip -n "$MW_NS_RTR" link set r0 up
	ip -n "$MW_NS_RTR" link set r1 up
	# server
	ip -n "$MW_NS_SRV" addr add "$MW_SRV4/24" dev s0
	ip -n "$MW_NS_SRV" -6 addr add "$MW_SRV6/64" dev s0 nodad
	ip -n "$MW_NS_SRV" link set s0 up
}

# Default routes of a lab node, both families: _mw_defroutes NODE VIA4 VIA6 [OPTS4 [OPTS6]]
# (OPTS: route attributes as words, e.g. "advmss 8960").
_mw_defroutes() {
	local ns=$1 via4=$2 via6=$3 o4=${4:-} o6=${5:-}
	ns=$(lab_ns "$ns")
	# shellcheck disable=SC2086 # the options are words
	ip -n "$ns" route add default via "$via4" $o4
	# shellcheck disable=SC2086
	ip -n "$ns" -6 route add default via "$via6" $o6
}

# Run a lab builder: _mw_sub ERREXIT WHAT LOG SCRIPT FUNCTION ARGS...  Runs FUNCTION ARGS in a
# separate bash that sources SCRIPT (with `set -e` when ERREXIT is 1: it works there even when
# the caller is in a condition, `lab_up x || ...`, where bash ignores errexit), its output in
# LOG. On failure prints "WHAT failed:" and the log, tears the lab down and returns 2.
_mw_sub() {
	local errexit=$1 what=$2 log=$3
	shift 3
	if ! MW_LAB_ID="$MW_LAB_ID" MW_LAB_DIR="$MW_LAB_DIR" \
		bash -c 'source "$2" || exit 2; [ "$1" = 1 ] && set -e; shift 2; "$@"' mw-lab-up \
		"$errexit" "$@" >"$log" 2>&1; then
		echo "$what failed:" >&2
		cat "$log" >&2
		lab_down
		return 2
	fi
}

# Build a fresh lab: _mw_build CALLER SCRIPT FUNCTION NAME.  Tears down the old lab first (so
# no PMTU or route cache survives), then runs FUNCTION NAME under `set -e` (_mw_sub).
_mw_build() {
	local caller=$1 script=$2 fn=$3 name=$4
	lab_down
	mkdir -p "$MW_LAB_DIR" || return 2
	_mw_sub 1 "$caller $name" "$MW_LAB_DIR/up.log" "$script" "$fn" "$name" || return 2
	echo "$name" >"$MW_LAB_DIR/variant"
	return 0
}

_mw_up() {
	set -e
	local v=$1 r1mtu=1500 s0mtu=1500 advmss=1 ns
	case $v in
	fwdrop) r1mtu=1446 s0mtu=1446 ;;
	silent) s0mtu=9000 advmss= ;;
	aligned) advmss= ;;
	esac
	# icmp_errors_use_inbound_ifaddr 0, as this lab always wrote it: rpfilter needs it (see
	# _mw_router); the other variants' ICMP leaves by the interface the packet came in on,
	# whose address the route back picks anyway.
	_mw_lab3 9000 9000 "$r1mtu" "$s0mtu" 0

	# client routes: default via router, except rpfilter (specific routes
	# only, so 203.0.113.0/24 is unroutable from the client)
	if [ "$v" = rpfilter ]; then
		ip -n "$MW_NS_CLI" route add 198.51.100.0/24 via "$MW_RTR0_4"
		ip -n "$MW_NS_CLI" -6 route add 2001:db8:2::/64 via "$MW_RTR0_6"
	elif [ -z "$advmss" ]; then
		# silent/aligned: the client never sends more than 1500 (so it
		# never gets a PTB, never learns a PMTU and keeps advertising a
		# jumbo MSS on every connection), but advertises MSS 8960/8940 as
		# its 9000-byte link would.
		_mw_defroutes cli "$MW_RTR0_4" "$MW_RTR0_6" "mtu 1500 advmss 8960" \
			"mtu 1500 advmss 8940"
	else
		_mw_defroutes cli "$MW_RTR0_4" "$MW_RTR0_6"
	fi
	# server routes: advmss makes the server advertise a jumbo MSS although
	# its own link is 1500 (so only client->server segments are too big).
	if [ -n "$advmss" ]; then
		_mw_defroutes srv "$MW_RTR1_4" "$MW_RTR1_6" "advmss 8960" "advmss 8940"
	else
		_mw_defroutes srv "$MW_RTR1_4" "$MW_RTR1_6"
	fi

	case $v in
	filtered)
		ip netns exec "$MW_NS_RTR" iptables -w -A OUTPUT -p icmp \
			--icmp-type fragmentation-needed -j DROP
		ip netns exec "$MW_NS_RTR" ip6tables -w -A OUTPUT -p ipv6-icmp \
			--icmpv6-type packet-too-big -j DROP
		;;
	fwdrop)
		ip netns exec "$MW_NS_CLI" iptables -w -A INPUT -p icmp \
			--icmp-type fragmentation-needed -j DROP
		ip netns exec "$MW_NS_CLI" ip6tables -w -A INPUT -p ipv6-icmp \
			--icmpv6-type packet-too-big -j DROP
		;;
	rpfilter)
		# management address on the router's loopback (this kernel has
		# no dummy driver)
		ip -n "$MW_NS_RTR" addr add "$MW_RTR_MGMT4/32" dev lo
		# ICMP errors take the preferred source of the route back.
		ip -n "$MW_NS_RTR" route replace 192.0.2.0/24 dev r0 proto kernel \
			scope link src "$MW_RTR_MGMT4"
		# ARP must keep using 192.0.2.1, or the client (rp_filter) would
		# ignore the router's ARP requests too.
		_mw_sysctl "$MW_NS_RTR" net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.r0.arp_announce=2
		_mw_sysctl "$MW_NS_CLI" net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.c0.rp_filter=1
		;;
	silent | aligned)
		ip netns exec "$MW_NS_SRV" ethtool -K s0 tso off gso off >/dev/null
		;;
	esac

	for ns in "$MW_NS_CLI" "$MW_NS_RTR" "$MW_NS_SRV"; do
		ip -n "$ns" route flush cache
		ip -n "$ns" -6 route flush cache
	done
}

# A Kubernetes-style pod behind the client, which becomes its node: lab_pod [OPTS4 [OPTS6]]
# (the pod's default routes' attributes as words, e.g. "mtu 1500 advmss 8960"). Namespace
# mw-pod (lab_ns pod) with eth0 (MTU 9000) whose peer vpod0 (MTU 9000) is the node's end in
# mw-cli; the pod is $MW_POD4/26 and $MW_POD6/64, routed (no NAT) by the node and, through
# it, by the router. Call after lab_up; lab_down deletes it.
lab_pod() {
	_mw_sub 1 lab_pod "$MW_LAB_DIR/pod.log" "$_MW_LAB_SH" _mw_pod "${1:-}" "${2:-}"
}

_mw_pod() {
	local o4=$1 o6=$2
	ip netns add "$MW_NS_POD"
	_mw_ns_base "$MW_NS_POD"
	ip link add vpod0 netns "$MW_NS_CLI" mtu 9000 type veth peer name eth0 netns "$MW_NS_POD" \
		mtu 9000
	_mw_sysctl "$MW_NS_POD" net.ipv6.conf.eth0.accept_dad=0
	_mw_sysctl "$MW_NS_CLI" net.ipv6.conf.vpod0.accept_dad=0 net.ipv4.conf.vpod0.rp_filter=0 \
		net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$MW_NS_POD" addr add "$MW_POD4/26" dev eth0
	ip -n "$MW_NS_POD" -6 addr add "$MW_POD6/64" dev eth0 nodad
	ip -n "$MW_NS_POD" link set eth0 up
	ip -n "$MW_NS_CLI" addr add "$MW_NODE_POD4/26" dev vpod0
	ip -n "$MW_NS_CLI" -6 addr add "$MW_NODE_POD6/64" dev vpod0 nodad
	ip -n "$MW_NS_CLI" link set vpod0 up
	# shellcheck disable=SC2086 # the options are words
	ip -n "$MW_NS_POD" route add default via "$MW_NODE_POD4" $o4
	# shellcheck disable=SC2086
	ip -n "$MW_NS_POD" -6 route add default via "$MW_NODE_POD6" $o6
	ip -n "$MW_NS_RTR" route add 203.0.113.64/26 via "$MW_CLI4"
	ip -n "$MW_NS_RTR" -6 route add 2001:db8:3::/64 via "$MW_CLI6"
}

lab_up() {
	local v=${1:-}
	case $v in
	filtered | fwdrop | rpfilter | healthy | silent | aligned) ;;
	*) echo "usage: lab_up {${MW_LAB_VARIANTS// /|}}" >&2; return 2 ;;
	esac
	if [ "$(id -u)" != 0 ]; then
		echo "lab_up: must run as root" >&2
		return 2
	fi
	_mw_build lab_up "$_MW_LAB_SH" _mw_up "$v"
}

# Wait until a TCP port listens in a namespace: _mw_wait_listen NODE PORT [tries]
_mw_wait_listen() {
	local node=$1 port=$2 n=${3:-50}
	while [ "$n" -gt 0 ]; do
		lab_exec "$node" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

lab_bulk() {
	local v=${1:--} secs=${2:-3} fam=${3:-4} cur dst rev='' spid rc bytes
	cur=$(lab_variant)
	[ "$v" = - ] && v=$cur
	if [ -z "$v" ]; then
		echo "lab_bulk: no lab is up and no variant given" >&2
		return 2
	fi
	if [ -z "$cur" ]; then
		lab_up "$v" || return 2
	elif [ "$cur" != "$v" ]; then
		echo "lab_bulk: lab is up as '$cur', not '$v'" >&2
		return 2
	fi
	case $fam in 4) dst=$MW_SRV4 ;; 6) dst=$MW_SRV6 ;; *) echo "lab_bulk: family 4|6" >&2; return 2 ;; esac
	case $v in silent | aligned) rev=-R ;; esac
	rm -f "$MW_LAB_DIR/bulk.json" "$MW_LAB_DIR/bulk.bytes"
	lab_exec srv timeout "$((secs + 8))" iperf3 -s -1 -B "$dst" -p "$MW_IPERF_PORT" \
		>"$MW_LAB_DIR/bulk-server.log" 2>&1 &
	spid=$!
	if ! _mw_wait_listen srv "$MW_IPERF_PORT"; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		echo "lab_bulk: iperf3 server did not start" >&2
		return 2
	fi
	lab_exec cli timeout "$((secs + 5))" iperf3 -c "$dst" -p "$MW_IPERF_PORT" -t "$secs" \
		$rev -J --connect-timeout 2000 >"$MW_LAB_DIR/bulk.json" 2>&1
	rc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	# bytes the receiver saw: end.sum_received.bytes
	bytes=$(tr -d ' \t\n' <"$MW_LAB_DIR/bulk.json" |
		sed -n 's/.*"sum_received":{[^}]*"bytes":\([0-9]*\).*/\1/p')
	bytes=${bytes:-0}
	echo "$bytes" >"$MW_LAB_DIR/bulk.bytes"
	echo "$rc" >"$MW_LAB_DIR/bulk.rc"
	[ "$bytes" -ge "$MW_LAB_BULK_MIN" ]
}

# --- TLS -------------------------------------------------------------------

_mw_tls_keys() {
	local d
	d=$(_mw_keydir)/tls
	[ -s "$d/chain.pem" ] && [ -s "$d/leaf.pem" ] && [ -s "$d/leaf.key" ] && return 0
	mkdir -p "$d" || return 1
	MW_LAB_ID="$MW_LAB_ID" MW_LAB_DIR="$MW_LAB_DIR" \
		bash -c 'source "$1" || exit 2; _mw_tls_gen "$2"' mw-lab-tls "$_MW_LAB_SH" "$d" \
		>"$d/gen.log" 2>&1 || { rm -f "$d/chain.pem"; return 1; }
}

# Runs in its own bash (see lab_up for why): generate root, 2 intermediates
# and a leaf, all RSA-4096, into directory $1.
_mw_tls_gen() {
	set -e
	cd "$1"
	local parent=root n
	printf 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >ca.ext
	printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:server.mw-lab.example,IP:%s,IP:%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
		"$MW_SRV4" "$MW_SRV6" >leaf.ext
	openssl req -x509 -newkey rsa:4096 -nodes -sha256 -days 30 \
		-subj "/O=mtuwatch lab/CN=mw-lab root CA" -keyout root.key -out root.pem \
		-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign
	for n in int1 int2; do
		openssl req -new -newkey rsa:4096 -nodes -subj "/O=mtuwatch lab/CN=mw-lab $n CA" \
			-keyout $n.key -out $n.csr
		openssl x509 -req -in $n.csr -CA $parent.pem -CAkey $parent.key -CAcreateserial \
			-days 30 -sha256 -extfile ca.ext -out $n.pem
		parent=$n
	done
	openssl req -new -newkey rsa:4096 -nodes -subj "/O=mtuwatch lab/CN=server.mw-lab.example" \
		-keyout leaf.key -out leaf.csr
	openssl x509 -req -in leaf.csr -CA int2.pem -CAkey int2.key -CAcreateserial \
		-days 30 -sha256 -extfile leaf.ext -out leaf.pem
	cat int2.pem int1.pem root.pem >chain.pem
}

lab_tls_server() {
	local d
	[ -n "$(lab_variant)" ] || { echo "lab_tls_server: no lab is up" >&2; return 2; }
	if lab_exec srv ss -Hltn "sport = :$MW_TLS_PORT" 2>/dev/null | grep -q .; then
		return 0
	fi
	_mw_tls_keys || { echo "lab_tls_server: key generation failed" >&2; return 2; }
	d=$(_mw_keydir)/tls
	# -www: answers HTTP GETs and never reads stdin.  One server per family
	# (an [::] socket would be IPv6-only).
	local a
	for a in "$MW_SRV4:$MW_TLS_PORT" "[$MW_SRV6]:$MW_TLS_PORT"; do
		lab_exec srv timeout "$MW_LAB_SERVER_TIMEOUT" openssl s_server -www \
			-accept "$a" -cert "$d/leaf.pem" -key "$d/leaf.key" \
			-cert_chain "$d/chain.pem" </dev/null >>"$MW_LAB_DIR/tls-server.log" 2>&1 &
		disown $! 2>/dev/null
	done
	local n=50
	while [ "$(lab_exec srv ss -Hltn "sport = :$MW_TLS_PORT" 2>/dev/null | wc -l)" -lt 2 ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || { echo "lab_tls_server: not listening" >&2; return 2; }
		sleep 0.1
	done
	return 0
}

lab_tls_client() {
	local secs=${1:-5} fam=${2:-4} dst
	case $fam in 4) dst=$MW_SRV4 ;; 6) dst="[$MW_SRV6]" ;; *) return 2 ;; esac
	# stdbuf: keep the log complete even when timeout kills a stalled client
	lab_exec cli timeout "$secs" stdbuf -oL openssl s_client -connect "$dst:$MW_TLS_PORT" \
		-servername server.mw-lab.example </dev/null >"$MW_LAB_DIR/tls-client.log" 2>&1
	grep -q '^SSL handshake has read' "$MW_LAB_DIR/tls-client.log"
}

# --- SSH -------------------------------------------------------------------

# shellcheck disable=SC2120 # "dualstack" is given by tests/e2e/test-dualstack.sh
lab_ssh_server() {
	# shellcheck disable=SC2016 # $1 and $2 are expanded by sh -c
	local kd d run='exec /usr/sbin/sshd -D -e -f "$1"'
	[ -n "$(lab_variant)" ] || { echo "lab_ssh_server: no lab is up" >&2; return 2; }
	if lab_exec srv ss -Hltn "sport = :$MW_SSH_PORT" 2>/dev/null | grep -q .; then
		return 0
	fi
	kd=$(_mw_keydir)/ssh
	d=$MW_LAB_DIR/sshd
	mkdir -p "$kd" "$d" || return 2
	chmod 700 "$kd"
	if [ ! -s "$kd/host_rsa_${MW_LAB_SSH_KEYBITS}" ]; then
		rm -f "$kd/host_rsa_${MW_LAB_SSH_KEYBITS}" "$kd/host_rsa_${MW_LAB_SSH_KEYBITS}.pub"
		ssh-keygen -q -t rsa -b "$MW_LAB_SSH_KEYBITS" -N '' -C mw-lab \
			-f "$kd/host_rsa_${MW_LAB_SSH_KEYBITS}" >/dev/null 2>&1 ||
			{ echo "lab_ssh_server: ssh-keygen failed" >&2; return 2; }
	fi
	cat >"$d/sshd_config" <<EOF
Port $MW_SSH_PORT
ListenAddress $MW_SRV4
ListenAddress $MW_SRV6
HostKey $kd/host_rsa_${MW_LAB_SSH_KEYBITS}
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256
KexAlgorithms sntrup761x25519-sha512@openssh.com
PidFile none
UsePAM no
StrictModes no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
UseDNS no
LogLevel VERBOSE
EOF
	# dualstack: one [::] socket with IPV6_V6ONLY off (sshd sets it on its own [::]),
	# every connection sshd -i's stdin and stdout
	# shellcheck disable=SC2016 # $1 and $2 are expanded by sh -c
	if [ "${1:-}" = dualstack ]; then
		run='exec python3 -c "
import os, signal, socket, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.create_server((\"::\", int(sys.argv[2])), family=socket.AF_INET6, dualstack_ipv6=True)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        os.dup2(c.fileno(), 0); os.dup2(c.fileno(), 1)
        os.execv(\"/usr/sbin/sshd\", [\"sshd\", \"-i\", \"-e\", \"-f\", sys.argv[1]])
    c.close()
" "$1" "$2"'
	fi
	# sshd needs /run/sshd; give it a private tmpfs /run (the mount namespace
	# of `ip netns exec` is private, nothing leaks to the host).
	lab_exec srv timeout "$MW_LAB_SERVER_TIMEOUT" sh -c \
		"mount -t tmpfs -o mode=755,size=1m mw-lab-run /run && mkdir -m 755 /run/sshd && $run" \
		sh "$d/sshd_config" "$MW_SSH_PORT" </dev/null >"$MW_LAB_DIR/sshd.log" 2>&1 &
	disown $! 2>/dev/null
	_mw_wait_listen srv "$MW_SSH_PORT" || {
		echo "lab_ssh_server: not listening" >&2
		cat "$MW_LAB_DIR/sshd.log" >&2
		return 2
	}
}

lab_ssh_client() {
	local secs=${1:-5} fam=${2:-4} dst
	case $fam in 4) dst=$MW_SRV4 ;; 6) dst=$MW_SRV6 ;; 4m) dst=::ffff:$MW_SRV4 ;; *) return 2 ;; esac
	lab_exec cli timeout "$secs" ssh -v -F /dev/null -p "$MW_SSH_PORT" \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityFile=none \
		-o ConnectTimeout="$secs" -o ConnectionAttempts=1 \
		-l mwlab "$dst" true </dev/null >"$MW_LAB_DIR/ssh-client.log" 2>&1
	grep -q 'SSH2_MSG_NEWKEYS received' "$MW_LAB_DIR/ssh-client.log"
}

# --- command line ----------------------------------------------------------

_mw_main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up) lab_up "$@" ;;
	down) lab_down ;;
	traffic)
		lab_bulk "$@"
		local rc=$?
		echo "bulk: rc=$rc bytes=$(cat "$MW_LAB_DIR/bulk.bytes" 2>/dev/null || echo 0)"
		return $rc
		;;
	tls)
		lab_tls_server || return
		if lab_tls_client "${1:-5}"; then echo "tls: handshake completed"; else echo "tls: handshake did NOT complete"; return 1; fi
		;;
	ssh)
		# shellcheck disable=SC2119 # the plain sshd
		lab_ssh_server || return
		if lab_ssh_client "${1:-5}"; then echo "ssh: key exchange completed"; else echo "ssh: key exchange did NOT complete"; return 1; fi
		;;
	exec) lab_exec "$@" ;;
	*)
		echo "usage: $0 up {${MW_LAB_VARIANTS// /|}} | down | traffic [VARIANT] [SECONDS] [4|6] | tls [S] | ssh [S] | exec NODE CMD..." >&2
		return 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_mw_main "$@"
	exit $?
fi
