#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Names of other namespaces (issue 24 section 3), seen from a node namespace of our own with
# --all-netns while the lab's router drops its own Packet Too Big (variant filtered: ptb_sent in
# the router, icmp_blackhole in the client): a /run/netns name, a process ("pid N (comm)"), a
# Kubernetes pod from a cgroup path and /var/log/pods (built here, no kubelet), interfaces by
# their names there; a recording keeps the names after the namespaces are gone; and an inode
# the kernel hands to a second namespace never merges the two.
# --all-netns sees every namespace of the host: run under the e2e lock (docs/testing.md).
. "$(dirname "$0")/lib.sh"

ID0=$MW_LAB_ID
NODE=mw-node$ID0	# where mtuwatch live runs (a node's own namespace)
NODE2=mw-nodr$ID0	# where mtuwatch record runs, at the same time
NODE3=mw-node3$ID0	# and mtuwatch export
lc=$(printf '%s' "$ID0" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9')
K8S_NS=mwtest-$lc
POD=web-$lc
PUID=$(cat /proc/sys/kernel/random/uuid)
CID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# the cgroup v2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CGPATH=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${PUID//-/_}.slice
CGPATH=$CGPATH/cri-containerd-$CID.scope
CG=${CGROOT:-/nonexistent}$CGPATH
PODDIR=/var/log/pods/${K8S_NS}_${POD}_$PUID
CLOG=/var/log/containers/${POD}_${K8S_NS}_app-$CID.log
HOLD=		# a process holding the router's namespace once its name is gone
MADE=()		# directories this test created, deepest last
LAB_IDS=("$ID0")

mkdir_own() {
	local d=$1 parts=() p
	while [ ! -d "$d" ]; do parts=("$d" "${parts[@]}"); d=$(dirname "$d"); done
	for p in "${parts[@]}"; do mkdir "$p" && MADE+=("$p") || return 1; done
}

use_lab() {
	MW_LAB_ID=$1
	unset MW_LAB_DIR
	. "$(dirname "$0")/../lab.sh"
}

cleanup() {
	local i
	[ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null && wait "$HOLD" 2>/dev/null
	for i in "${LAB_IDS[@]}"; do use_lab "$i"; lab_down >/dev/null 2>&1; done
	rm -f "$CLOG"
	rm -rf "$PODDIR"
	# a cgroup is removable once its last process is reaped: a moment after the kill
	for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
		for _ in $(seq 20); do rmdir "${MADE[$i]}" 2>/dev/null && break; sleep 0.1; done
	done
	ip netns del "$NODE" 2>/dev/null
	ip netns del "$NODE2" 2>/dev/null
	ip netns del "$NODE3" 2>/dev/null
	for i in $(ip netns list | awk '{ print $1 }' | grep "^mw-fill$ID0-"); do
		ip netns del "$i"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_in NS OUT ARGS...: mtuwatch in NS, in the background (START_PID), once it is watching
start_in() {
	local ns=$1 out=$2
	shift 2
	LAST_OUT=$out
	ip netns exec "$ns" timeout 300 "$MW" "$@" >"$out" 2>"$out.err" &
	START_PID=$!
	for _ in $(seq 100); do
		grep -Eq 'watching|recording to|exporting' "$out.err" 2>/dev/null && break
		kill -0 "$START_PID" 2>/dev/null || break
		sleep 0.05
	done
}
stop_pid() { kill -INT "$1" 2>/dev/null; wait "$1"; }
ino() { stat -L -c %i "$1"; }
# lines LINES-FILE PATTERN...: the finding / summary lines with every pattern
lines() {
	local f=$1 l
	shift
	l=$(grep '"netns"' "$f")
	for p in "$@"; do l=$(printf '%s\n' "$l" | grep -F -- "$p"); done
	printf '%s\n' "$l" | grep -q .
}

for ns in "$NODE" "$NODE2" "$NODE3"; do ip netns add "$ns" && ip -n "$ns" link set lo up; done

# --- 1. a /run/netns name, interfaces named there -----------------------------------------------
lab_up filtered >/dev/null 2>&1 || { fail lab-up "lab_up filtered failed"; exit 1; }
CLI=$(lab_ns cli) RTR=$(lab_ns rtr)
RTR_INO=$(ino "/run/netns/$RTR")
start_in "$NODE" "$TMP/named.json" live --all-netns --json -i lo
L=$START_PID
lab_bulk filtered 3 4 >/dev/null 2>&1
sleep 1
stop_pid "$L"
check named-router-ptb_sent lines "$TMP/named.json" '"verdict":"ptb_sent"' "\"netns\":$RTR_INO," \
	"\"netns_name\":\"$RTR\"" '"iface":"r1"'
check named-client-blackhole lines "$TMP/named.json" '"verdict":"icmp_blackhole"' \
	"\"netns_name\":\"$CLI\"" '"iface":"c0"'
check named-summary-row lines "$TMP/named.json" '"summary":true' "\"netns_name\":\"$RTR\"" \
	'"iface":"r1"'
# every line of the lab's namespaces names its interface: none says ifN (lines exist: above)
check named-no-ifindex bash -c "! grep -E '\"netns_name\":\"($CLI|$RTR)\"' '$TMP/named.json' |
	grep -q '\"iface\":\"if[0-9]'"
check named-no-pod bash -c "! grep -F '\"netns_name\":\"$RTR\"' '$TMP/named.json' |
	grep -q '\"pod\"'"

# --- 2. no name left, a process inside: "pid N (comm)" ------------------------------------------
ip netns exec "$RTR" sleep 300 &
HOLD=$!
sleep 0.2
ip netns del "$RTR"	# the name goes, the namespace stays: HOLD is in it
check unnamed-input-namespace-held bash -c "[ ! -e /run/netns/$RTR ] &&
	[ \"\$(stat -L -c %i /proc/$HOLD/ns/net)\" = $RTR_INO ]"
start_in "$NODE" "$TMP/unnamed.json" live --all-netns --json -i lo
L=$START_PID
lab_bulk filtered 3 4 >/dev/null 2>&1
sleep 1
stop_pid "$L"
check unnamed-pid-comm lines "$TMP/unnamed.json" '"verdict":"ptb_sent"' "\"netns\":$RTR_INO," \
	"\"netns_name\":\"pid $HOLD (sleep)\"" '"iface":"r1"'
check unnamed-no-pod bash -c "! grep -F '\"netns\":$RTR_INO,' '$TMP/unnamed.json' |
	grep -q '\"pod\"'"

# --- 3. a pod: its UID in the cgroup path of a process inside, the kubelet's directories ---------
mkdir_own "$CG" && mkdir_own "$PODDIR/app" && mkdir_own "$PODDIR/sidecar" &&
	mkdir_own /var/log/containers && ln -s "$PODDIR/app/0.log" "$CLOG" &&
	echo "$HOLD" >"$CG/cgroup.procs"
check pod-input-cgroup grep -qx "0::$CGPATH" "/proc/$HOLD/cgroup"
start_in "$NODE" "$TMP/pod.json" live --all-netns --json -i lo
L=$START_PID
start_in "$NODE2" "$TMP/pod.out" record --all-netns -i lo -o "$TMP/pod.rec"
R=$START_PID
mkdir "$TMP/prom"
start_in "$NODE3" "$TMP/export.out" export --all-netns -i lo --textfile "$TMP/prom" --interval 1
E=$START_PID
lab_bulk filtered 3 4 >/dev/null 2>&1
sleep 2	# one more textfile write after the last of it
stop_pid "$L"
stop_pid "$R"
stop_pid "$E"
check pod-live lines "$TMP/pod.json" '"verdict":"ptb_sent"' "\"netns\":$RTR_INO," \
	"\"pod\":\"$K8S_NS/$POD\"" '"container":"app"' "\"netns_name\":\"pid $HOLD (sleep)\""
check pod-live-summary lines "$TMP/pod.json" '"summary":true' "\"pod\":\"$K8S_NS/$POD\""
# the router's counter of packets too big for r1: named as the pod, its interface by name
LAST_OUT=$TMP/prom/mtuwatch.prom
series="mtuwatch_ptb_sent_total{iface=\"r1\",netns=\"pid $HOLD (sleep)\",pod=\"$K8S_NS/$POD\"}"
check export-pod-labels bash -c "grep -F '$series ' '$TMP/prom/mtuwatch.prom' |
	grep -q ' [1-9][0-9]*\$'"
check export-no-ifindex-at-inode bash -c "! grep -q '@$RTR_INO' '$TMP/prom/mtuwatch.prom'"
check pod-live-client-still-named lines "$TMP/pod.json" '"verdict":"icmp_blackhole"' \
	"\"netns_name\":\"$CLI\""

# every namespace of the run goes; report still names them
kill "$HOLD" && wait "$HOLD" 2>/dev/null
HOLD_WAS=$HOLD HOLD=
lab_down >/dev/null 2>&1
check report-input-namespaces-gone bash -c "[ ! -e /proc/$HOLD_WAS ] && [ ! -e /run/netns/$CLI ]"
LAST_OUT=$TMP/pod-report.json
"$MW" report -i "$TMP/pod.rec" --json >"$TMP/pod-report.json" 2>"$TMP/pod-report.err"
check report-pod lines "$TMP/pod-report.json" '"verdict":"ptb_sent"' "\"netns\":$RTR_INO," \
	"\"pod\":\"$K8S_NS/$POD\"" '"container":"app"' "\"netns_name\":\"pid $HOLD_WAS (sleep)\"" \
	'"iface":"r1"'
check report-client-named lines "$TMP/pod-report.json" '"verdict":"icmp_blackhole"' \
	"\"netns_name\":\"$CLI\"" '"iface":"c0"'
check report-summary lines "$TMP/pod-report.json" '"summary":true' "\"pod\":\"$K8S_NS/$POD\""
# live and report name the lab's findings alike
names_set() {
	jq -rc --arg a "$CLI" --arg b "pid $HOLD_WAS (sleep)" 'select(.summary != true and
		(.netns_name == $a or .netns_name == $b)) | [.verdict, .dst, .netns_name,
		(.pod // ""), (.container // ""), .iface] | @tsv' "$1" | sort -u
}
names_set "$TMP/pod.json" >"$TMP/names.live"
names_set "$TMP/pod-report.json" >"$TMP/names.report"
LAST_OUT=$TMP/names.report
check report-agrees-with-live bash -c "[ -s '$TMP/names.live' ] &&
	diff '$TMP/names.live' '$TMP/names.report' >&2"
"$MW" report -i "$TMP/pod.rec" >"$TMP/pod-report.txt" 2>&1
LAST_OUT=$TMP/pod-report.txt
check report-text-pod grep -q "^ptb_sent .* \[pod $K8S_NS/$POD\]: " "$TMP/pod-report.txt"
check report-text-netns grep -q "^icmp_blackhole .* \[netns $CLI\]: " "$TMP/pod-report.txt"
# the router's row: its worst verdict is its own PTB dropped on the way out
check report-text-summary grep -Eq "^198\.51\.100\.2 +r1 .* [a-z_]+ \[pod $K8S_NS/$POD\]$" \
	"$TMP/pod-report.txt"

# --- 4. one inode, two namespaces one after the other ------------------------------------------
# The kernel hands out the lowest free inode number, a moment after a namespace died (each
# namespace takes a block of them: its /proc entries draw from the same pool). Empty namespaces
# first fill the holes other namespaces left, until new ones come from the top of the pool, in
# steps of one block; then lab A comes up, works, goes, and lab B comes up at once: its client
# takes A's client's number. Other tests on the host create namespaces too: a few tries.
fill_holes() {
	local i prev=0 step=0 same=0
	while [ "$k" -lt 400 ] && [ "$same" -lt 3 ]; do
		k=$((k + 1))
		ip netns add "mw-fill$ID0-$k" || return
		i=$(ino "/run/netns/mw-fill$ID0-$k")
		if [ "$prev" -gt 0 ] && [ $((i - prev)) = "$step" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		step=$((i - prev)) prev=$i
	done
}
start_in "$NODE" "$TMP/reuse.json" live --all-netns --json -i lo
L=$START_PID
start_in "$NODE2" "$TMP/reuse.out" record --all-netns -i lo -o "$TMP/reuse.rec"
R=$START_PID
X= B_NS= k=0
for try in 1 2 3 4 5; do
	fill_holes
	use_lab "${ID0}a$try"
	LAB_IDS+=("$MW_LAB_ID")
	lab_up filtered >/dev/null 2>&1 || continue
	A_CLI=$(lab_ns cli) A_RTR=$(lab_ns rtr)
	A_INOS=" $(ino "/run/netns/$A_CLI") $(ino "/run/netns/$A_RTR") "
	lab_bulk filtered 2 4 >/dev/null 2>&1
	sleep 1
	lab_down >/dev/null 2>&1
	sleep 1.5
	use_lab "${ID0}b$try"
	LAB_IDS+=("$MW_LAB_ID")
	lab_up filtered >/dev/null 2>&1 || continue
	for n in "$(lab_ns cli)" "$(lab_ns rtr)"; do
		i=$(ino "/run/netns/$n")
		case $A_INOS in *" $i "*) X=$i B_NS=$n ;; esac
	done
	[ -n "$X" ] && break
done
check reuse-input-inode-reused test -n "$X"
if [ -n "$X" ]; then
	lab_bulk filtered 2 4 >/dev/null 2>&1
	sleep 1
fi
stop_pid "$L"
stop_pid "$R"
if [ -n "$X" ]; then
	for n in "$A_CLI" "$A_RTR"; do
		grep -q "\"netns\":$X,.*\"netns_name\":\"$n\"" "$TMP/reuse.json" && A_NS=$n
	done
	# what a failure shows: every line of the reused inode, and which namespaces it was
	{
		echo "X=$X A=${A_NS:-?} B=$B_NS"
		grep "\"netns\":$X," "$TMP/reuse.json" | grep -o \
			'"\(summary\|verdict\|dst\|netns_cookie\|netns_name\)":[^,]*' | tr '\n' ' '
		echo
	} >"$TMP/reuse-x.txt"
	LAST_OUT=$TMP/reuse-x.txt
	check reuse-first-finding bash -c "grep -v summary '$TMP/reuse.json' |
		grep -q '\"netns\":$X,.*\"netns_name\":\"${A_NS:-none}\"'"
	check reuse-second-finding bash -c "grep -v summary '$TMP/reuse.json' |
		grep -q '\"netns\":$X,.*\"netns_name\":\"$B_NS\"'"
	cookies() {
		grep -v summary "$1" | grep "\"netns\":$X," | grep -o '"netns_cookie":[0-9]*' |
			sort -u | wc -l
	}
	check reuse-two-cookies test "$(cookies "$TMP/reuse.json")" -ge 2
	rows() {
		grep '"summary":true' "$1" | grep "\"netns\":$X," |
			grep -o '"netns_name":"[^"]*"' | sort -u | wc -l
	}
	check reuse-two-summary-identities test "$(rows "$TMP/reuse.json")" -ge 2
	"$MW" report -i "$TMP/reuse.rec" --json >"$TMP/reuse-report.json" 2>&1
	LAST_OUT=$TMP/reuse-report.json
	check reuse-report-two-identities bash -c "[ $(rows "$TMP/reuse-report.json") -ge 2 ] &&
		grep -v summary '$TMP/reuse-report.json' |
		grep -q '\"netns\":$X,.*\"netns_name\":\"$B_NS\"'"
fi
