#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# tests/e2e/test-pods.sh -- issue 24 section 2: a pod's flows seen from its node. The client of
# the lab (mw-cli) becomes a Kubernetes-style node: a pod namespace (lab_pod) sits behind a
# veth whose node end, vpod0, is in the node's namespace, routed without NAT. mtuwatch runs in
# the node's namespace only, as the sidecar does, with --all-netns (live, then record for the
# same traffic again; report of the recording):
#   stall: the pod's TLS clients (IPv4 and IPv6 at once) to a server whose certificate flight
#          dies silently at a 1500 hop (lab.sh silent): stalled_tls for each, in the pod's
#          namespace, from the pod's address, at vpod0; the node's own TLS client in the same
#          run still gets its own stalled_tls in the node's namespace; export --all-netns on
#          the node counts all three.
#   black hole: the pod as the jumbo sender (lab.sh filtered, the router's frag-needed
#          filtered): icmp_blackhole in the pod's namespace with the wire's 9000-byte re-sends.
#   no false alarm: the same pod and node where PMTUD has nothing to do (lab.sh healthy): the
#          pod's handshakes complete and nothing is said about the pod; nor about a TLS
#          server in the pod whose client is the node itself (a health check), held open past
#          the stall timer (the node's ACKs leave a local socket into the pod).
#   without --all-netns: the pod's stalled handshake is not judged (the traffic ran: the
#          client timed out), and the node's own still is.
#   beside another: with --xdp, a second instance while the first holds vpod0's XDP hook (a
#          live session beside the node's exporter) watches at tc ingress, where mw_tc_fwd_out
#          follows the
#          pod's departures; forced onto clsact filters (as before 6.6). It finds the stall
#          and gives no false alarm for healthy pods.
. "$(dirname "$0")/lib.sh"
export MW_LAB_KEYDIR=$TMP/keys

# watch NAME [ARGS]: live --json in the node's namespace; rewatch NAME: live stopped, record
# with the same ARGS for the same traffic run again; unwatch NAME: record stopped, reported.
# One after the other, so that each holds XDP in turn (beside runs them side by side).
watch() {
	local n=$1
	shift
	WARGS=("$@")
	mw_start cli "$TMP/$n.live" live --json "$@"
	LIVE_PID=$MW_PID
	sleep 0.5
}
rewatch() {
	sleep 1
	MW_PID=$LIVE_PID mw_stop
	# the hook is freed after the process ends, not with it: record must find vpod0's free
	for _ in $(seq 100); do
		ip -n "$MW_NS_CLI" -d link show vpod0 | grep -q 'prog/xdp' || break
		sleep 0.1
	done
	mw_start cli "$TMP/$1.rec" record -f -o "$TMP/$1.data" "${WARGS[@]}"
	REC_PID=$MW_PID
	sleep 0.5
}
unwatch() {
	sleep 1
	MW_PID=$REC_PID mw_stop
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
# none NAME CHECK-NAME PATTERN...: both runs finished (their summaries are there) and no
# finding with every pattern, live nor in the report
none() {
	local n=$1 c=$2
	shift 2
	LAST_OUT=$TMP/$n.live
	check "$c" no_finding "$TMP/$n.live" "$@"
	LAST_OUT=$TMP/$n.rep
	check "$c-report" no_finding "$TMP/$n.rep" "$@"
}
export -f finding
# beside NAME: a holder of vpod0's XDP hook (live --all-netns --xdp), then a second one on
# clsact filters into $TMP/NAME.side; unbeside NAME: both stopped, vpod0's tc ingress
# filters as they were while they ran in $TMP/NAME.tc.
beside() {
	mw_start cli "$TMP/$1.hold" live --json --all-netns --xdp
	HOLD_PID=$MW_PID
	for _ in $(seq 100); do
		ip -n "$MW_NS_CLI" -d link show vpod0 | grep -q 'prog/xdp' && break
		sleep 0.1
	done
	MW_TEST_REFUSE=tcx mw_start cli "$TMP/$1.side" live --json --all-netns --xdp
	SIDE_PID=$MW_PID
	sleep 0.5
}
unbeside() {
	sleep 1
	lab_exec cli tc filter show dev vpod0 ingress >"$TMP/$1.tc" 2>&1
	MW_PID=$SIDE_PID mw_stop
	MW_PID=$HOLD_PID mw_stop
	# the next session must find vpod0's XDP hook free again
	for _ in $(seq 100); do
		ip -n "$MW_NS_CLI" -d link show vpod0 | grep -q 'prog/xdp' || break
		sleep 0.1
	done
}
pod_ns() { stat -L -c %i "/run/netns/$MW_NS_POD"; }
node_ns() { stat -L -c %i "/run/netns/$MW_NS_CLI"; }
pod_tls() {	# pod_tls SECONDS FAMILY LOG
	local dst=$MW_SRV4
	[ "$2" = 6 ] && dst="[$MW_SRV6]"
	lab_exec pod timeout "$1" stdbuf -oL openssl s_client -connect "$dst:$MW_TLS_PORT" \
		-servername server.mw-lab.example </dev/null >"$3" 2>&1
}

# --- stall: the pod's TLS clients, black-holed certificate flight ---------------------------
if ! lab_up silent || ! lab_pod "mtu 1500 advmss 8960" "mtu 1500 advmss 8940" ||
	! lab_tls_server; then
	fail stall-lab "lab_up silent / lab_pod / lab_tls_server failed"
fi
POD=$(pod_ns) NODE=$(node_ns)
stall_traffic() {
	pod_tls 8 4 "$TMP/pod-tls4.log" &
	P4=$!
	pod_tls 8 6 "$TMP/pod-tls6.log" &
	P6=$!
	lab_tls_client 8 4
	wait "$P4" "$P6"
}
watch stall --all-netns
stall_traffic
rewatch stall
stall_traffic
unwatch stall
# the sidecar's shape: export from the node, counting the pod's stalls with the node's own
mw_start cli "$TMP/stall.exp" export --all-netns --listen 127.0.0.1:9466
EXP_PID=$MW_PID
stall_traffic
sleep 1
lab_exec cli curl -s --max-time 5 http://127.0.0.1:9466/metrics >"$TMP/stall.metrics"
MW_PID=$EXP_PID mw_stop
LAST_OUT=$TMP/pod-tls4.log
check "stall-pod-tls4-stalls" bash -c "grep -q CONNECTED '$TMP/pod-tls4.log' && \
	! grep -q '^SSL handshake has read' '$TMP/pod-tls4.log'"
LAST_OUT=$TMP/pod-tls6.log
check "stall-pod-tls6-stalls" bash -c "grep -q CONNECTED '$TMP/pod-tls6.log' && \
	! grep -q '^SSL handshake has read' '$TMP/pod-tls6.log'"
check "stall-pod-ns-differs" test "$POD" != "$NODE"
both stall stall-pod-v4 '"verdict":"stalled_tls"' "\"netns\":$POD," "\"src\":\"$MW_POD4\"" \
	"\"dst\":\"$MW_SRV4\"" '"role":"client"' '"iface":"vpod0"'
# named: the pod's namespace by its /run/netns name (test-names.sh has the Kubernetes names)
both stall stall-pod-named '"verdict":"stalled_tls"' "\"netns\":$POD," \
	"\"netns_name\":\"$MW_NS_POD\""
both stall stall-pod-v6 '"verdict":"stalled_tls"' "\"netns\":$POD," "\"src\":\"$MW_POD6\"" \
	"\"dst\":\"$MW_SRV6\"" '"role":"client"' '"iface":"vpod0"'
both stall stall-node-own '"verdict":"stalled_tls"' "\"netns\":$NODE," "\"src\":\"$MW_CLI4\""
# one finding per flow: the pod's flow is followed at vpod0 only, not again at c0
LAST_OUT=$TMP/stall.live
check "stall-pod-v4-once" test "$(grep '"verdict":"stalled_tls"' "$TMP/stall.live" |
	grep -c "\"src\":\"$MW_POD4\"")" -eq 1
LAST_OUT=$TMP/stall.metrics
check "stall-export-counts-pod" grep -Eq \
	'^mtuwatch_stalled_handshakes_total\{proto="tls"\} ([3-9]|[1-9][0-9])' "$TMP/stall.metrics"
# a pod's findings never name an interface by number
none stall stall-no-ifN "\"netns\":$POD," '"iface":"if[0-9]'

# --- beside another instance: tc ingress and clsact on vpod0 ---------------------------------
beside sbs
stall_traffic
unbeside sbs
LAST_OUT=$TMP/sbs.side.err
check "beside-tc-ingress-stands-in" grep -q 'XDP failed on .*tc ingress instead' \
	"$TMP/sbs.side.err"
LAST_OUT=$TMP/sbs.tc
check "beside-fwd-out-filter" grep -q 'mw_tc_fwd_out pid=' "$TMP/sbs.tc"
LAST_OUT=$TMP/pod-tls4.log
check "beside-pod-tls4-stalls" bash -c "grep -q CONNECTED '$TMP/pod-tls4.log' && \
	! grep -q '^SSL handshake has read' '$TMP/pod-tls4.log'"
for f in hold side; do
	LAST_OUT=$TMP/sbs.$f
	check "beside-$f-pod-v4" finding "$TMP/sbs.$f" '"verdict":"stalled_tls"' \
		"\"netns\":$POD," "\"src\":\"$MW_POD4\"" '"iface":"vpod0"'
	check "beside-$f-pod-v6" finding "$TMP/sbs.$f" '"verdict":"stalled_tls"' \
		"\"netns\":$POD," "\"src\":\"$MW_POD6\"" '"iface":"vpod0"'
	check "beside-$f-node-own" finding "$TMP/sbs.$f" '"verdict":"stalled_tls"' \
		"\"netns\":$NODE," "\"src\":\"$MW_CLI4\""
done
LAST_OUT=$TMP/sbs.side
check "beside-side-pod-v4-once" test "$(grep '"verdict":"stalled_tls"' "$TMP/sbs.side" |
	grep -c "\"src\":\"$MW_POD4\"")" -eq 1

# --- without --all-netns: the pod is not judged, the node still is ---------------------------
watch own
pod_tls 6 4 "$TMP/own-pod.log"
lab_tls_client 6 4
rewatch own
pod_tls 6 4 "$TMP/own-pod.log"
lab_tls_client 6 4
unwatch own
LAST_OUT=$TMP/own-pod.log
check "own-pod-traffic-ran" bash -c "grep -q CONNECTED '$TMP/own-pod.log' && \
	! grep -q '^SSL handshake has read' '$TMP/own-pod.log'"
both own own-node-stalled '"verdict":"stalled_tls"' "\"src\":\"$MW_CLI4\""
none own own-no-pod "\"src\":\"$MW_POD4\""

# --- black hole: the pod as the jumbo sender, ICMP filtered ----------------------------------
if ! lab_up filtered || ! lab_pod; then fail bh-lab "lab_up filtered / lab_pod failed"; fi
POD=$(pod_ns) NODE=$(node_ns)
bh_traffic() {
	lab_exec srv timeout 14 iperf3 -s -1 -B "$MW_SRV4" -p "$MW_IPERF_PORT" \
		>"$TMP/bh-srv.log" 2>&1 &
	SPID=$!
	_mw_wait_listen srv "$MW_IPERF_PORT"
	lab_exec pod timeout 10 iperf3 -c "$MW_SRV4" -p "$MW_IPERF_PORT" -t 4 \
		--connect-timeout 2000 >"$TMP/bh-cli.log" 2>&1
	wait "$SPID"
	sleep 3
}
watch bh --all-netns
bh_traffic
rewatch bh
bh_traffic
unwatch bh
LAST_OUT=$TMP/bh.live
check "bh-rtr-icmp-dropped" test "$(lab_exec rtr iptables -w -nvxL OUTPUT |
	awk '/DROP/ {print $1; exit}')" -gt 0
both bh bh-pod-icmp_blackhole '"verdict":"icmp_blackhole"' "\"netns\":$POD," \
	"\"dst\":\"$MW_SRV4\"" '"family":"ipv4"' '"iface":"vpod0"' \
	'"retrans_sizes":\[\([0-9]*,\)*9000[],]'
# the node itself sent nothing big: no black hole of its own
none bh bh-node-none '"verdict":"icmp_blackhole"' "\"netns\":$NODE,"

# --- no false alarm: PMTUD has nothing to do -------------------------------------------------
if ! lab_up healthy || ! lab_pod || ! lab_tls_server; then
	fail ok-lab "lab_up healthy / lab_pod / lab_tls_server failed"
fi
POD=$(pod_ns)
# a TLS server in the pod, for the node's own client (a health check): the pod's flow leaves
# through vpod0 and the node's ACKs come from a local socket
kd=$(_mw_keydir)/tls
lab_exec pod timeout 60 openssl s_server -www -accept "$MW_POD4:$MW_TLS_PORT" \
	-cert "$kd/leaf.pem" -key "$kd/leaf.key" -cert_chain "$kd/chain.pem" </dev/null \
	>"$TMP/ok-pod-server.log" 2>&1 &
PODSRV=$!
_mw_wait_listen pod "$MW_TLS_PORT"
ok_traffic() {
	pod_tls 8 4 "$TMP/ok-tls4.log"
	pod_tls 8 6 "$TMP/ok-tls6.log"
	# held open past the stall timer (3 s): a pod server whose flight the node acknowledged
	lab_exec cli timeout 6 stdbuf -oL openssl s_client -connect "$MW_POD4:$MW_TLS_PORT" \
		-ign_eof </dev/null >"$TMP/ok-node-tls.log" 2>&1
}
watch ok --all-netns
ok_traffic
rewatch ok
ok_traffic
unwatch ok
beside okb
ok_traffic
unbeside okb
LAST_OUT=$TMP/okb.tc
check "ok-beside-fwd-out-filter" grep -q 'mw_tc_fwd_out pid=' "$TMP/okb.tc"
LAST_OUT=$TMP/ok-tls4.log
check "ok-beside-pod-handshakes" grep -q '^SSL handshake has read' "$TMP/ok-tls4.log"
LAST_OUT=$TMP/ok-node-tls.log
check "ok-beside-node-to-pod-handshake" grep -q '^SSL handshake has read' \
	"$TMP/ok-node-tls.log"
for f in hold side; do
	LAST_OUT=$TMP/okb.$f
	check "ok-beside-$f-watching" grep -q 'watching' "$TMP/okb.$f.err"
	check "ok-beside-$f-no-pod-finding" no_finding "$TMP/okb.$f" \
		"\"netns\":$POD,"
done
kill "$PODSRV" 2>/dev/null
wait "$PODSRV" 2>/dev/null
LAST_OUT=$TMP/ok-node-tls.log
check "ok-node-to-pod-handshake" grep -q '^SSL handshake has read' "$TMP/ok-node-tls.log"
LAST_OUT=$TMP/ok-tls4.log
check "ok-pod-handshakes" bash -c "grep -q '^SSL handshake has read' '$TMP/ok-tls4.log' && \
	grep -q '^SSL handshake has read' '$TMP/ok-tls6.log'"
# the pod's flows were followed (their state changes are there), and nothing was alarming
LAST_OUT=$TMP/ok.data
check "ok-pod-flows-seen" bash -c "'$MW' report -i '$TMP/ok.data' --raw 2>/dev/null | \
	grep -E '^[0-9.]+ (hs|acked) ' | grep -q 'netns=$POD '"
none ok ok-no-pod-finding "\"netns\":$POD,"
