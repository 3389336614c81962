#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: measures, never asserts. Prints and writes $OUT/bench.json:
#  - per hook, mtuwatch's ns/run next to a null program's (bpf/null.bpf.c: one per-CPU
#    counter, then pass) attached to the same hook and interfaces in the same run
#    (kernel.bpf_stats_enabled=1), for four workloads through the namespace lab: bulk TCP
#    both ways, request/response over many short TLS connections, forwarding (mtuwatch on the
#    router), and bulk TCP with 1% loss on the router for the tracepoints' rows (drops and
#    retransmissions mtuwatch does not report). Each workload runs twice: once with mtuwatch
#    on XDP (null on tc ingress), once with a null XDP program holding the hook so that
#    mtuwatch falls back to tc ingress. The XDP ratio compares mtuwatch's XDP run with the
#    null XDP run of the same workload.
#  - start-up (`mtuwatch --duration 0`, exec to exit) median and spread of 10 runs, next to
#    bpftrace attaching the same four tracepoints;
#  - iperf3 throughput through the lab without and with mtuwatch, interleaved, 5 runs each;
#  - RSS of live and export after the workloads and after 6000 destinations, and their peak;
#  - churn (issue 28): connections to new destinations without and with mtuwatch, interleaved,
#    a black hole among them found or not and how soon, map fill, RSS, socket-state cost.
# Each workload's hook figures are the median of BENCH_REPS runs (3; 1 with BENCH_QUICK), with
# the ratios' spread: on a shared VM one run's ratio moves by 10-30%.
# BENCH_QUICK=1 shortens every workload (a smoke test of the script, not figures).
# BENCH_MW_ARGS="--no-handshakes" adds options to mtuwatch's command line;
# BENCH_WORKLOADS="rr" runs only those workloads; BENCH_PARTS="hooks startup throughput paths
# churn" picks the parts (all by default), BENCH_MODES="xdp" runs only mtuwatch's XDP run (tc:
# only its tc ingress run): for iterating on one figure. BENCH_CHURN_N: connections per churn run,
# BENCH_CHURN_FAMILIES: "4 6" (both, default), "4" or "6".
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-build}
MW=$(readlink -f "$OUT/mtuwatch")
NULLOBJ=$(readlink -f "$OUT/null.bpf.o")
NULLLOAD=$(readlink -f "$OUT/nullload")
PROGINFO=$(readlink -f "$OUT/proginfo")
JSON=$OUT/bench.json
[ "$(id -u)" = 0 ] || { echo "make bench needs root" >&2; exit 1; }
for f in "$MW" "$NULLOBJ" "$NULLLOAD"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "missing $f -- run make bench" >&2; exit 1; }
done
export MW_LAB_ID=${MW_LAB_ID:-bench$$}
. tests/lab.sh
SECS=${BENCH_SECS:-4}
RUNS=${BENCH_RUNS:-5}
REPS=${BENCH_REPS:-3}
[ "${BENCH_QUICK:-0}" = 1 ] && SECS=1 RUNS=2 REPS=1
TMP=$(mktemp -d /tmp/mw-bench.XXXXXX)
old=$(sysctl -n kernel.bpf_stats_enabled)
PIDS=()
TRACEFS_MOUNTED=
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	lab_down >/dev/null 2>&1
	[ -n "${CH_CLI:-}" ] && { _mw_ns_del "$CH_CLI"; _mw_ns_del "$CH_SRV"; }
	sysctl -qw kernel.bpf_stats_enabled="$old"
	[ -n "${TRACEFS_MOUNTED:-}" ] && umount /sys/kernel/tracing
	[ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lab_up aligned >/dev/null || exit 1
sysctl -qw kernel.bpf_stats_enabled=1

# ---- helpers ------------------------------------------------------------------------------

# "name run_cnt run_time_ns" for each program id given.
prog_stats() {
	local id
	for id in "$@"; do
		bpftool prog show id "$id" 2>/dev/null | awk '
			/^[0-9]+: / { n = ""; t = 0; c = 0
				for (i = 1; i <= NF; i++) {
					if ($i == "name") n = $(i + 1)
					if ($i == "run_time_ns") t = $(i + 1)
					if ($i == "run_cnt") c = $(i + 1) }
				print n, c, t }'
	done
}

# Program ids held open by a process (this bpftool lists no pids).
prog_ids_of() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

links_of() {
	grep -l '^link_id:' /proc/"$1"/fdinfo/* 2>/dev/null | wc -l
}

# Wait (bounded) until process $1 holds at least $2 BPF links.
wait_links() {
	local n=200
	while [ "$n" -gt 0 ]; do
		kill -0 "$1" 2>/dev/null || return 1
		[ "$(links_of "$1")" -ge "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

ifaces_of() {
	lab_exec "$1" ip -o link show up | awk -F': ' '$2 !~ /^lo/ { sub(/@.*/, "", $2); print $2 }'
}

iperf_server() {	# NODE ADDR PORT: a bounded server, pid in PIDS
	lab_exec srv timeout 600 iperf3 -s -B "$1" -p "$2" >/dev/null 2>&1 &
	PIDS+=($!)
	_mw_wait_listen srv "$2"
}

iperf_run() {	# SECONDS [-R]: prints received bits/s
	lab_exec cli timeout "$(($1 + 8))" iperf3 -c "$MW_SRV4" -p 5301 -t "$1" ${2:-} -J \
		--connect-timeout 2000 2>/dev/null |
		tr -d ' \t\n' | sed -n 's/.*"sum_received":{[^}]*"bits_per_second":\([0-9.e+]*\).*/\1/p'
}

TLSDIR=$TMP/tls
tls_server() {
	mkdir -p "$TLSDIR"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=bench.mw-lab.example -keyout "$TLSDIR/k.pem" -out "$TLSDIR/c.pem" \
		>/dev/null 2>&1 || return 1
	lab_exec srv timeout 600 openssl s_server -www -accept "$MW_SRV4:8444" \
		-cert "$TLSDIR/c.pem" -key "$TLSDIR/k.pem" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	_mw_wait_listen srv 8444
}

# The workload itself, in the lab.
workload() {
	case $1 in
	bulk | fwd)
		iperf_run "$SECS" >/dev/null
		iperf_run "$SECS" -R >/dev/null ;;
	loss)
		# Bulk TCP both ways with 1% of forwarded packets dropped on the router (netfilter's
		# statistic match; this kernel has no netem): drops and retransmissions that are
		# not ours to report, for the tracepoint rows (the router's drops are another
		# namespace's; the flows' re-sends are tc egress's to report).
		lab_exec rtr iptables -w -I FORWARD -m statistic --mode random --probability 0.01 -j DROP
		iperf_run "$SECS" >/dev/null
		iperf_run "$SECS" -R >/dev/null
		lab_exec rtr iptables -w -D FORWARD -m statistic --mode random --probability 0.01 -j DROP ;;
	rr)
		# Many short TLS connections: handshake, one small GET, close.
		lab_exec cli timeout "$((2 * SECS + 8))" openssl s_time -connect "$MW_SRV4:8444" \
			-new -time "$((2 * SECS))" -www / >"$TMP/s_time.log" 2>&1
		sed -n 's/^\([0-9]*\) connections in .*/\1/p' "$TMP/s_time.log" | head -1 \
			>"$TMP/rr.conns" ;;
	esac
}

# run_hooks WORKLOAD MODE: mtuwatch (live in mode xdp, export in mode tc) and the null
# programs in the workload's namespace; writes "prog runs ns" lines to $TMP/W.MODE.
run_hooks() {
	local w=$1 mode=$2 node=cli ifs nargs=() i mwpid npid nif=0 cmd=live
	[ "$w" = fwd ] && node=rtr
	ifs=$(ifaces_of "$node")
	for i in $ifs; do
		nargs+=("egress:$i")
		nif=$((nif + 1))
		# Mode tc: a null XDP program holds the hook too (mtuwatch watches at tc ingress by
		# default): both modes' packets take the same path through the veth.
		[ "$mode" = tc ] && nargs+=("xdp:$i")
		nargs+=("ingress:$i")
	done
	nargs+=(tp)
	# The null programs first: mtuwatch's TCX links come after them on the same hook. Their
	# output file is the last repetition's until the new process opens it: a stale "ready"
	# let mtuwatch load before the null XDP program held the hook, then find it taken.
	rm -f "$TMP/null.$w.$mode"
	ip netns exec "$(lab_ns "$node")" "$NULLLOAD" "$NULLOBJ" "${nargs[@]}" \
		>"$TMP/null.$w.$mode" 2>"$TMP/null.err" &
	npid=$!
	PIDS+=("$npid")
	i=200
	until grep -qs '^ready' "$TMP/null.$w.$mode"; do
		i=$((i - 1))
		if [ "$i" = 0 ] || ! kill -0 "$npid" 2>/dev/null; then
			echo "bench: null programs did not attach on $node: $(cat "$TMP/null.err")" >&2
			kill "$npid" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	local nids
	nids=$(awk '$1 != "ready" { print $2 }' "$TMP/null.$w.$mode")
	local port=$((19877 + RANDOM % 1000))
	[ "$mode" = tc ] && cmd="export --listen 127.0.0.1:$port"
	[ "$mode" = xdp ] && cmd="live --xdp"
	# shellcheck disable=SC2086
	ip netns exec "$(lab_ns "$node")" "$MW" $cmd ${BENCH_MW_ARGS:-} --duration 600 >"$TMP/mw.$w.$mode.log" 2>&1 &
	mwpid=$!
	PIDS+=("$mwpid")
	if ! wait_links "$mwpid" $((4 + 2 * nif)); then
		echo "bench: mtuwatch did not attach on $node ($w, $mode); it said:" >&2
		sed 's/^/    /' "$TMP/mw.$w.$mode.log" >&2
		# The null programs go too: in mode tc they hold the XDP hook, and every later run
		# would find it busy.
		kill "$mwpid" "$npid" 2>/dev/null
		wait "$mwpid" "$npid" 2>/dev/null
		return 1
	fi
	local ids
	ids=$(prog_ids_of "$mwpid")
	# What the verifier walked per program (deterministic, unlike load times).
	[ -s "$TMP/verified" ] || "$PROGINFO" $ids >"$TMP/verified"
	prog_stats $ids $nids >"$TMP/before"
	workload "$w"
	prog_stats $ids $nids >"$TMP/after"
	awk 'NR == FNR { c[$1] = $2; t[$1] = $3; next }
		{ dc = $2 - c[$1]; dt = $3 - t[$1]; if (dc > 0) print $1, dc, dt / dc }' \
		"$TMP/before" "$TMP/after" >"$TMP/$w.$mode.${REP:-1}"
	awk '/^VmRSS/ { print $2 }' /proc/"$mwpid"/status >"$TMP/rss.$w.$mode"
	awk '/^VmHWM/ { print $2 }' /proc/"$mwpid"/status >"$TMP/hwm.$w.$mode"
	kill -INT "$mwpid" 2>/dev/null
	wait "$mwpid" 2>/dev/null
	kill "$npid" 2>/dev/null
	wait "$npid" 2>/dev/null
	return 0
}

val() {	# FILE PROG FIELD(2 = runs, 3 = ns)
	awk -v p="$2" -v f="$3" '$1 == p { print $f; exit }' "$1" 2>/dev/null
}

PARTS=${BENCH_PARTS:-hooks startup throughput paths churn}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- per-hook cost ------------------------------------------------------------------------
iperf_server "$MW_SRV4" 5301 || { echo "bench: iperf3 server did not start" >&2; exit 1; }
tls_server || { echo "bench: openssl s_server did not start" >&2; exit 1; }

KV=$(uname -r)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
{
	printf '{\n  "date": "%s",\n  "kernel": "%s",\n  "cpus": %s,\n  "loadavg": "%s",\n' \
		"$DATE" "$KV" "$(nproc)" "$LOAD"
	printf '  "workload_seconds": %s,\n  "hooks": [\n' "$SECS"
} >"$JSON"

echo "mtuwatch bench: $DATE, kernel $KV, $(nproc) CPUs, load $LOAD (shared machine)"
printf '\nper-run cost in situ (ns/run), mtuwatch beside a null program on the same packets:\n'
printf '  %-5s %-18s %10s %9s %9s %7s  %s\n' workload hook runs mtuwatch null ratio \
	"ratio range (medians of the $REPS runs that saw the hook fire)"
first=1
part hooks || BENCH_WORKLOADS=" "
# median of the numbers given (empty when none)
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
	if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
for w in ${BENCH_WORKLOADS:-bulk rr fwd loss}; do
	ok=0
	for REP in $(seq 1 "$REPS"); do
		case " ${BENCH_MODES:-xdp tc} " in *" xdp "*) run_hooks "$w" xdp || continue ;; esac
		case " ${BENCH_MODES:-xdp tc} " in *" tc "*) run_hooks "$w" tc || continue ;; esac
		ok=1
	done
	[ $ok = 1 ] || continue
	# hook label, mtuwatch's file and program, null's file and program
	for h in "tc_egress xdp mw_tc_egress xdp null_tc" \
		"xdp xdp mw_xdp_ingress tc null_xdp" \
		"tc_ingress tc mw_tc_ingress tc null_tc_in" \
		"kfree_skb xdp mw_tp_kfree_skb xdp null_kfree_skb" \
		"tcp_retransmit_skb xdp mw_tp_retransmit xdp null_retransmit"; do
		set -- $h
		runs=() mns=() nns=() ratios=()
		for REP in $(seq 1 "$REPS"); do
			mr=$(val "$TMP/$w.$2.$REP" "$3" 2) mn=$(val "$TMP/$w.$2.$REP" "$3" 3)
			nn=$(val "$TMP/$w.$4.$REP" "$5" 3)
			# a run where the hook never fired (no drops, no retransmissions) has no row
			[ -n "$mr" ] || continue
			runs+=("$mr")
			mns+=("$mn")
			[ -n "$nn" ] || continue
			nns+=("$nn")
			ratios+=("$(awk -v a="$mn" -v b="$nn" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')")
		done
		mr=0 mn='' nn=''
		if [ ${#runs[@]} -gt 0 ]; then
			mr=$(median "${runs[@]}") mn=$(median "${mns[@]}")
		fi
		[ ${#nns[@]} -gt 0 ] && nn=$(median "${nns[@]}")
		ratio=null lo=null hi=null
		if [ ${#ratios[@]} -gt 0 ]; then
			ratio=$(median "${ratios[@]}")
			ratio=$(printf '%.2f' "$ratio")
			lo=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)
			hi=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
		fi
		printf '  %-5s %-18s %10s %9s %9s %7s  %s\n' "$w" "$1" "$(printf '%.0f' "${mr:-0}")" \
			"$(printf '%.1f' "${mn:-0}")" "$(printf '%.1f' "${nn:-0}")" "$ratio" \
			"$([ "$lo" = null ] || echo "$lo-$hi")"
		[ $first = 1 ] || printf ',\n' >>"$JSON"
		first=0
		printf '    {"workload": "%s", "hook": "%s", "reps": %s, "mtuwatch_runs": %s, "mtuwatch_ns": %s, "null_ns": %s, "ratio": %s, "ratio_min": %s, "ratio_max": %s}' \
			"$w" "$1" "${#runs[@]}" "$(printf '%.0f' "${mr:-0}")" "${mn:-null}" "${nn:-null}" \
			"$ratio" "$lo" "$hi" >>"$JSON"
	done
done
[ -s "$TMP/rr.conns" ] && echo "  (rr: $(cat "$TMP/rr.conns") TLS connections per run)"
printf '\n  ],\n' >>"$JSON"

# ---- start-up -----------------------------------------------------------------------------
stats_ms() {	# numbers (ms) -> "median min max"
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%s %s %s", m, a[1], a[NR] }'
}
if part startup; then
# bpftrace's tracepoints need tracefs; mounted for the run only when it was not.
if ! mountpoint -q /sys/kernel/tracing && mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null; then
	TRACEFS_MOUNTED=1
fi
BT='tracepoint:skb:kfree_skb {} tracepoint:tcp:tcp_retransmit_skb {}
tracepoint:sock:inet_sock_set_state {} tracepoint:icmp:icmp_send {} BEGIN { exit(); }'
# The floor: null programs loaded and attached on mtuwatch's hooks (TCX egress and XDP on each
# interface, two tp_btf tracepoints), then detached: exec to exit, polled for "ready" (~1 ms).
null_startup() {
	local t0 p i nargs=()
	for i in $(ifaces_of cli); do nargs+=("egress:$i" "xdp:$i"); done
	t0=$(date +%s%N)
	ip netns exec "$MW_NS_CLI" "$NULLLOAD" "$NULLOBJ" "${nargs[@]}" tp >"$TMP/nl.out" 2>&1 &
	p=$!
	until grep -qs '^ready' "$TMP/nl.out"; do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.001
	done
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	echo $((($(date +%s%N) - t0) / 1000000))
}
mwt=() btt=() nlt=()
for _ in $(seq 10); do
	t0=$(date +%s%N)
	lab_exec cli "$MW" --duration 0 >/dev/null 2>&1
	mwt+=($((($(date +%s%N) - t0) / 1000000)))
	t0=$(date +%s%N)
	lab_exec cli bpftrace -e "$BT" >/dev/null 2>&1
	btt+=($((($(date +%s%N) - t0) / 1000000)))
	nlt+=("$(null_startup)")
done
read -r mm mlo mhi <<<"$(stats_ms "${mwt[@]}")"
read -r bm blo bhi <<<"$(stats_ms "${btt[@]}")"
read -r nm nlo nhi <<<"$(stats_ms "${nlt[@]}")"
printf '\nstart-up, exec to exit, 10 runs interleaved (ms):\n'
printf '  mtuwatch --duration 0   median %6s  min %5s  max %5s\n' "$mm" "$mlo" "$mhi"
printf '  bpftrace, 4 tracepoints median %6s  min %5s  max %5s\n' "$bm" "$blo" "$bhi"
printf '  null programs, same hooks median %4s  min %5s  max %5s (the floor)\n' "$nm" "$nlo" "$nhi"
printf '  verified instructions per program (the verifier'"'"'s work, the bulk of start-up):\n'
touch "$TMP/verified"	# written by the hooks part
awk '{ printf "    %-18s %7s xlated %7s verified\n", $1, $2, $3 }' "$TMP/verified"
printf '  "verified_insns": {%s},\n' \
	"$(awk '{ printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $1, $3 }' "$TMP/verified")" >>"$JSON"
printf '  "startup_ms": {"mtuwatch": {"median": %s, "min": %s, "max": %s, "runs": [%s]},\n' \
	"$mm" "$mlo" "$mhi" "$(IFS=,; echo "${mwt[*]}")" >>"$JSON"
printf '    "bpftrace": {"median": %s, "min": %s, "max": %s, "runs": [%s]},\n' \
	"$bm" "$blo" "$bhi" "$(IFS=,; echo "${btt[*]}")" >>"$JSON"
printf '    "null_same_hooks": {"median": %s, "min": %s, "max": %s, "runs": [%s]}},\n' \
	"$nm" "$nlo" "$nhi" "$(IFS=,; echo "${nlt[*]}")" >>"$JSON"

fi
# ---- throughput ---------------------------------------------------------------------------
if part throughput; then
without=() with=()
for _ in $(seq "$RUNS"); do
	without+=("$(iperf_run "$SECS")")
	ip netns exec "$MW_NS_CLI" "$MW" --duration $((SECS + 30)) >/dev/null 2>&1 &
	mwpid=$!
	PIDS+=("$mwpid")
	if wait_links "$mwpid" 6; then
		with+=("$(iperf_run "$SECS")")
	fi
	kill -INT "$mwpid" 2>/dev/null
	wait "$mwpid" 2>/dev/null
done
gbit() { printf '%s\n' "$@" | awk 'NF { printf "%.3f\n", $1 / 1e9 }'; }
read -r tw _ _ <<<"$(stats_ms $(gbit "${without[@]}"))"
read -r tm _ _ <<<"$(stats_ms $(gbit "${with[@]}"))"
printf '\niperf3 client -> server through the router, %s s, median of %s interleaved runs:\n' \
	"$SECS" "$RUNS"
printf '  without mtuwatch %s Gbit/s (%s)\n' "$tw" "$(gbit "${without[@]}" | xargs)"
printf '  with mtuwatch    %s Gbit/s (%s)\n' "$tm" "$(gbit "${with[@]}" | xargs)"
printf '  "throughput_gbit": {"without": {"median": %s, "runs": [%s]}, "with": {"median": %s, "runs": [%s]}},\n' \
	"${tw:-null}" "$(gbit "${without[@]}" | paste -sd,)" "${tm:-null}" \
	"$(gbit "${with[@]}" | paste -sd,)" >>"$JSON"

fi
# ---- memory with many destinations -------------------------------------------------------
# "Whatever the traffic": one datagram (1200 bytes; IPv6, so never fragmented on the way) to
# each of 6000 destinations in 2001:db8:ff::/48 fills the core's path table (4096 paths).
if part paths; then
ip -n "$MW_NS_CLI" -6 route add 2001:db8:ff::/48 via "$MW_RTR0_6" 2>/dev/null
for cmd in live export; do
	args=(--duration 120)
	[ "$cmd" = export ] && args=(export --listen "127.0.0.1:$((19877 + RANDOM % 1000))" "${args[@]}")
	ip netns exec "$MW_NS_CLI" "$MW" "${args[@]}" >"$TMP/paths.$cmd.log" 2>&1 &
	mwpid=$!
	PIDS+=("$mwpid")
	if wait_links "$mwpid" 6; then
		lab_exec cli python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(6000):
    try:
        s.sendto(b"x" * 1200, ("2001:db8:ff:%x::%x" % (i // 256, i % 256 + 1), 9))
    except OSError:
        pass
    if i % 500 == 499:
        time.sleep(0.05)
'
		sleep 2
		awk '/^VmRSS/ { print $2 }' /proc/"$mwpid"/status >"$TMP/prss.$cmd"
	fi
	kill -INT "$mwpid" 2>/dev/null
	wait "$mwpid" 2>/dev/null
done
ip -n "$MW_NS_CLI" -6 route del 2001:db8:ff::/48 2>/dev/null
pl=$(cat "$TMP/prss.live" 2>/dev/null) pe=$(cat "$TMP/prss.export" 2>/dev/null)
printf '\nRSS after 6000 destinations: live %s kB, export %s kB\n' "${pl:-?}" "${pe:-?}"
printf '  "rss_6000_destinations_kb": {"live": %s, "export": %s},\n' "${pl:-null}" \
	"${pe:-null}" >>"$JSON"
fi
# ---- churn: connections to many destinations, and one black hole among them (issue 28) ------
# Two namespaces of our own (CH_CLI -> CH_SRV over one veth): CH_N connections per run, each to
# a new destination of 198.18.0.0/15, then the same over IPv6 to 2001:db8:ff00::/104 (AnyIP on
# CH_SRV's lo; every run its own addresses), the server closing first; runs without and with
# `mtuwatch live` interleaved, CH_RUNS each. In the runs with mtuwatch, one bulk flow to
# 192.0.2.2 (2001:db8:c::2) starts with the churn into a silent black hole (CH_SRV's end takes
# 1280 bytes, advertises MSS 1460 / 1440, sends no ICMP): found or not, and the
# time from its connect to the finding (the finding's kernel time). Then the flows and dsts
# maps' fill, mtuwatch's RSS, and the socket-state tracepoint's runs per connection and ns/run.
if part churn; then
CH_CLI=mwbc-$MW_LAB_ID CH_SRV=mwbs-$MW_LAB_ID
CH_N=${BENCH_CHURN_N:-10000}
CH_RUNS=$RUNS
CH_FAMS=${BENCH_CHURN_FAMILIES:-4 6}
CH_TOOL=$(readlink -f tests/tools/churn-dsts.py)
ch_down() { _mw_ns_del "$CH_CLI"; _mw_ns_del "$CH_SRV"; }
ch_down
ip netns add "$CH_CLI" && ip netns add "$CH_SRV"
ip -n "$CH_CLI" link set lo up && ip -n "$CH_SRV" link set lo up
ip -n "$CH_CLI" link add a0 type veth peer name b0 netns "$CH_SRV"
ip -n "$CH_CLI" addr add 192.0.2.1/24 dev a0
ip -n "$CH_SRV" addr add 192.0.2.2/24 dev b0
ip -n "$CH_CLI" -6 addr add 2001:db8:c::1/64 dev a0 nodad
ip -n "$CH_SRV" -6 addr add 2001:db8:c::2/64 dev b0 nodad
ip -n "$CH_SRV" link set b0 mtu 1280
ip -n "$CH_CLI" link set a0 up && ip -n "$CH_SRV" link set b0 up
# veth lets a GSO packet past the peer's MTU: the sender segments before a0.
ip netns exec "$CH_CLI" ethtool -K a0 tso off gso off >/dev/null
ip -n "$CH_SRV" route replace 192.0.2.0/24 dev b0 src 192.0.2.2 advmss 1460
# the kernel's own prefix route (metric 256): another one beside it would never be used
ip -n "$CH_SRV" -6 route replace 2001:db8:c::/64 dev b0 metric 256 advmss 1440
ip -n "$CH_SRV" route add local 198.18.0.0/15 dev lo
ip -n "$CH_CLI" route add 198.18.0.0/15 via 192.0.2.2
ip -n "$CH_SRV" -6 route add local 2001:db8:ff00::/104 dev lo
ip -n "$CH_CLI" -6 route add 2001:db8:ff00::/104 via 2001:db8:c::2
ip netns exec "$CH_SRV" timeout 3600 python3 "$CH_TOOL" serve 18080 >"$TMP/ch.srv" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -qs listening "$TMP/ch.srv" && break; sleep 0.05; done
# ch_run FAMILY OFFSET: one churn run from address OFFSET of the family's range (wrapping):
# 198.18.0.0/15 or 2001:db8:ff00::/104; prints its rate (conn/s).
ch_run() {
	local o=$(($2 % (131072 - CH_N - 1))) first
	if [ "$1" = 6 ]; then
		first=$(printf '2001:db8:ff00::%x:%x' $((o / 65536)) $((o % 65536)))
	else
		first="198.$((18 + o / 65536)).$((o / 256 % 256)).$((o % 256))"
	fi
	ip netns exec "$CH_CLI" timeout 600 python3 "$CH_TOOL" churn "$first" "$CH_N" 18080 \
		>"$TMP/ch.out" 2>&1
	awk '/^rate/ { sub(/\/s/, "", $2); print $2 }' "$TMP/ch.out"
}
# Entries of map NAME held by process $1.
ch_fill() {
	local id
	for id in $(grep -h '^map_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }'); do
		bpftool -j map show id "$id" 2>/dev/null | jq -e --arg n "$2" '.name == $n' \
			>/dev/null || continue
		bpftool -j map dump id "$id" 2>/dev/null | jq length
		return
	done
}
# CPU time (ms, user + system) process $1 has used: mtuwatch's own share of the churn.
ch_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' /proc/"$1"/stat
}
jl() { local IFS=,; echo "$*"; }
mj() { median "$@" | grep . || echo null; }	# median, or null when none
off=0
for fam in $CH_FAMS; do
ch_ucpu=()
ch_wo=() ch_w=() ch_ws=() ch_found=0 ch_ttf=() ch_flows=() ch_dsts=() ch_rss=() ch_tpr=() ch_tpns=()
ch_prog=() ch_progs=
if [ "$fam" = 6 ]; then needle=2001:db8:c::2; else needle=192.0.2.2; fi
for r in $(seq "$CH_RUNS"); do
	# the same needle runs without mtuwatch too: both rates are of the same traffic
	ip netns exec "$CH_CLI" timeout 600 python3 "$CH_TOOL" bulk "$needle" 18081 4000000 \
		>/dev/null 2>&1 &
	bpid=$!
	ch_wo+=("$(ch_run "$fam" $off)")
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	off=$((off + CH_N))
	ip netns exec "$CH_CLI" "$MW" live --json --duration 600 >"$TMP/ch.mw.$r" 2>&1 &
	mwpid=$!
	PIDS+=("$mwpid")
	wait_links "$mwpid" 4 || { kill -INT "$mwpid"; wait "$mwpid"; continue; }
	ids=$(prog_ids_of "$mwpid")
	ip netns exec "$CH_CLI" timeout 600 python3 "$CH_TOOL" bulk "$needle" 18081 4000000 \
		>"$TMP/ch.bulk" 2>&1 &
	bpid=$!
	# The rate with the kernel's program statistics off, as mtuwatch runs anywhere else
	# (with them on, every program run reads the clock twice); then the same again with
	# them on, for the figures per program.
	sysctl -qw kernel.bpf_stats_enabled=0
	ch_w+=("$(ch_run "$fam" $off)")
	sysctl -qw kernel.bpf_stats_enabled=1
	off=$((off + CH_N))
	prog_stats $ids >"$TMP/ch.before"
	c0=$(ch_cpu "$mwpid")
	ch_ws+=("$(ch_run "$fam" $off)")
	off=$((off + CH_N))
	prog_stats $ids >"$TMP/ch.after"
	ch_ucpu+=("$(($(ch_cpu "$mwpid") - c0))")
	# The needle: bounded poll for its finding (re-sends back off: 1, 2, 4 s ...).
	for _ in $(seq 100); do
		grep -q '"verdict":"icmp_blackhole".*"dst":"'"$needle"'"' "$TMP/ch.mw.$r" && break
		sleep 0.1
	done
	t0=$(awk '/^connected/ { print $2 }' "$TMP/ch.bulk")
	tf=$(grep '"verdict":"icmp_blackhole".*"dst":"'"$needle"'"' "$TMP/ch.mw.$r" | head -1 |
		grep -o '"ts_ns":[0-9]*' | cut -d: -f2)
	if [ -n "$tf" ] && [ -n "$t0" ]; then
		ch_found=$((ch_found + 1))
		ch_ttf+=("$(awk -v a="$tf" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }')")
	fi
	ch_flows+=("$(ch_fill "$mwpid" flows)")
	ch_dsts+=("$(ch_fill "$mwpid" dsts)")
	ch_rss+=("$(awk '/^VmRSS/ { print $2 }' /proc/"$mwpid"/status)")
	read -r tr tn <<<"$(awk 'NR == FNR { c[$1] = $2; t[$1] = $3; next }
		$1 ~ /sock_state/ { dc = $2 - c[$1]; if (dc > 0) printf "%d %.0f", dc, ($3 - t[$1]) / dc }' \
		"$TMP/ch.before" "$TMP/ch.after")"
	ch_tpr+=("$(awk -v a="${tr:-0}" -v n="$CH_N" 'BEGIN { printf "%.1f", a / n }')")
	ch_tpns+=("${tn:-0}")
	# Every program's time per connection (ns), and per program: runs per connection x ns/run.
	ch_prog+=("$(awk -v n="$CH_N" 'NR == FNR { t[$1] = $3; next }
		{ s += $3 - t[$1] } END { printf "%.0f", s / n }' "$TMP/ch.before" "$TMP/ch.after")")
	ch_progs=$(awk -v n="$CH_N" 'NR == FNR { c[$1] = $2; t[$1] = $3; next }
		{ dc = $2 - c[$1]; if (dc > 0) printf "%s %.1f x %.0f ns; ", $1, dc / n,
		  ($3 - t[$1]) / dc }' "$TMP/ch.before" "$TMP/ch.after")
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	kill -INT "$mwpid" 2>/dev/null
	wait "$mwpid" 2>/dev/null
done
cwo=$(median "${ch_wo[@]}") cw=$(median "${ch_w[@]}") cws=$(median "${ch_ws[@]}")
cpct=$(awk -v a="$cw" -v b="$cwo" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b }')
cspct=$(awk -v a="$cws" -v b="$cwo" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b }')
printf '\nchurn, IPv%s: %s connections per run to new destinations (%s), %s runs ' "$fam" \
	"$CH_N" "$([ "$fam" = 6 ] && echo 2001:db8:ff00::/104 || echo 198.18.0.0/15)" "$CH_RUNS"
printf 'interleaved (a shared machine: read the medians):\n'
printf '  conn/s without mtuwatch %s (%s)\n' "$cwo" "$(jl "${ch_wo[@]}")"
printf '  conn/s with mtuwatch    %s (%s): %s%% of without\n' "$cw" "$(jl "${ch_w[@]}")" "$cpct"
printf '  conn/s with mtuwatch and bpf_stats_enabled (the runs the figures below are of) %s' \
	"$cws"
printf ' (%s): %s%% of without\n' "$(jl "${ch_ws[@]}")" "$cspct"
printf '  black hole among them found in %s of %s runs, after %s s (%s)\n' "$ch_found" \
	"${#ch_w[@]}" "$(mj "${ch_ttf[@]}")" "$(jl "${ch_ttf[@]}")"
printf '  after each run: flows map %s, dsts %s entries; RSS %s kB\n' "$(jl "${ch_flows[@]}")" \
	"$(jl "${ch_dsts[@]}")" "$(jl "${ch_rss[@]}")"
printf '  inet_sock_set_state (every namespace'"'"'s sockets): %s runs per connection, ' \
	"$(mj "${ch_tpr[@]}")"
printf '%s ns/run (medians)\n' "$(mj "${ch_tpns[@]}")"
printf '  program time per connection, all programs: %s ns (%s); last run: %s\n' \
	"$(mj "${ch_prog[@]}")" "$(jl "${ch_prog[@]}")" "$ch_progs"
printf '  mtuwatch'"'"'s own CPU time during a run (user space: reading events) %s ms (%s)\n' \
	"$(mj "${ch_ucpu[@]}")" "$(jl "${ch_ucpu[@]}")"
{
	printf '  "churn%s": {"connections_per_run": %s, "runs": %s,\n' \
		"$([ "$fam" = 6 ] && echo 6)" "$CH_N" "$CH_RUNS"
	printf '    "conn_per_s_without": {"median": %s, "runs": [%s]},\n' "${cwo:-null}" \
		"$(jl "${ch_wo[@]}")"
	printf '    "conn_per_s_with": {"median": %s, "runs": [%s]}, "with_pct_of_without": %s,\n' \
		"${cw:-null}" "$(jl "${ch_w[@]}")" "${cpct:-null}"
	printf '    "conn_per_s_with_stats": {"median": %s, "runs": [%s]}, "with_stats_pct": %s,\n' \
		"${cws:-null}" "$(jl "${ch_ws[@]}")" "${cspct:-null}"
	printf '    "needle_found": %s, "needle_seconds": {"median": %s, "runs": [%s]},\n' \
		"$ch_found" "$(mj "${ch_ttf[@]}")" "$(jl "${ch_ttf[@]}")"
	printf '    "flows_fill": [%s], "dsts_fill": [%s], "rss_kb": [%s],\n' \
		"$(jl "${ch_flows[@]}")" "$(jl "${ch_dsts[@]}")" "$(jl "${ch_rss[@]}")"
	printf '    "sock_state_runs_per_conn": %s, "sock_state_ns": %s,\n' "$(mj "${ch_tpr[@]}")" \
		"$(mj "${ch_tpns[@]}")"
	printf '    "prog_ns_per_conn": {"median": %s, "runs": [%s]},\n' "$(mj "${ch_prog[@]}")" \
		"$(jl "${ch_prog[@]}")"
	printf '    "mtuwatch_cpu_ms": {"median": %s, "runs": [%s]}},\n' "$(mj "${ch_ucpu[@]}")" \
		"$(jl "${ch_ucpu[@]}")"
} >>"$JSON"
done
ch_down
fi
# ---- memory -------------------------------------------------------------------------------
# RSS after each workload (the largest), and the peak (VmHWM), which is reached at start-up:
# libbpf holds two copies of the kernel's BTF (5.5 MB on 6.18) while it loads.
rl=$(cat "$TMP"/rss.*.xdp 2>/dev/null | sort -n | tail -1)
re=$(cat "$TMP"/rss.*.tc 2>/dev/null | sort -n | tail -1)
hl=$(cat "$TMP"/hwm.*.xdp 2>/dev/null | sort -n | tail -1)
he=$(cat "$TMP"/hwm.*.tc 2>/dev/null | sort -n | tail -1)
printf '\nRSS after the workloads: live %s kB, export %s kB\n' "${rl:-?}" "${re:-?}"
printf 'peak RSS (VmHWM, reached while loading): live %s kB, export %s kB\n' "${hl:-?}" "${he:-?}"
printf '  "rss_kb": {"live": %s, "export": %s},\n' "${rl:-null}" "${re:-null}" >>"$JSON"
printf '  "peak_rss_kb": {"live": %s, "export": %s}\n}\n' "${hl:-null}" "${he:-null}" >>"$JSON"
echo "written: $JSON"
