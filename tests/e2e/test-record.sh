#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# perf-style sessions: record what live sees, report the same verdicts; the file survives
# SIGINT and SIGKILL; `-- COMMAND`; hostile files get one line and exit 1.
. "$(dirname "$0")/lib.sh"

# verdict keys of a JSON findings file, sorted: verdict, dst, drop reason
keys() {
	grep '"verdict"' "$1" | grep -v '"summary"' |
		sed -E 's/.*"verdict":"([a-z_]+)".*"dst":"([^"]*)".*/\1 \2/' | sort -u
}
reasons() { grep -o '"drop_reason":"[A-Z_]*"' "$1" | sort -u; }

for v in filtered fwdrop rpfilter healthy; do
	lab_up "$v" >/dev/null 2>&1 || { fail "record-$v" "lab_up failed"; continue; }
	mw_start cli "$TMP/$v.live" --json
	LIVE=$MW_PID
	mw_start cli "$TMP/$v.rec.out" record -f -o "$TMP/$v.data"
	REC=$MW_PID
	lab_bulk "$v" 3 >/dev/null 2>&1
	sleep 1
	MW_PID=$REC mw_stop
	rec_rc=$MW_RC
	MW_PID=$LIVE mw_stop
	"$MW" report -i "$TMP/$v.data" --json >"$TMP/$v.report" 2>"$TMP/$v.report.err"
	rep_rc=$?
	LAST_OUT=$TMP/$v.report.err
	check "record-$v-sigint-complete-file" test "$rec_rc" = 0 -a "$rep_rc" = 0
	LAST_OUT=$TMP/$v.report
	check "record-$v-has-findings" test -n "$(keys "$TMP/$v.report")"
	check "record-$v-report-equals-live" test "$(keys "$TMP/$v.report")" = "$(keys "$TMP/$v.live")" -a \
		"$(reasons "$TMP/$v.report")" = "$(reasons "$TMP/$v.live")"
done
check "report-fwdrop-verdict" finding "$TMP/fwdrop.report" '"verdict":"ptb_dropped"' '"drop_reason":"NETFILTER_DROP"' '"mtu":1446'
check "report-filtered-verdict" finding "$TMP/filtered.report" '"verdict":"icmp_blackhole"'

# the context travels with the events
"$MW" report -i "$TMP/fwdrop.data" >"$TMP/plain" 2>&1
LAST_OUT=$TMP/plain
check "report-header-context" bash -c "grep -q '^# kernel: Linux' '$TMP/plain' && grep -q '^# iface.c0: name=c0 ifindex=[0-9]* mtu=9000' '$TMP/plain' && grep -q '^# sysctl.net.ipv4.conf.all.rp_filter: ' '$TMP/plain' && grep -Eq '^# program.mw_(xdp|tc)_ingress.c0: attached' '$TMP/plain'"
check "report-plain-verdict" has "$TMP/plain" '^ptb_dropped .*NETFILTER_DROP'
"$MW" report -i "$TMP/fwdrop.data" --raw >"$TMP/raw" 2>&1
LAST_OUT=$TMP/raw
check "report-raw-events" bash -c "grep -q ' ptb_rx ' '$TMP/raw' && grep -q ' ptb_drop ' '$TMP/raw' && grep -q ' iface ' '$TMP/raw'"

# refuses to overwrite without -f
LAST_OUT=$TMP/ow
ip netns exec "$(lab_ns cli)" "$MW" record -o "$TMP/fwdrop.data" --duration 1 >"$TMP/ow" 2>&1
check "record-refuses-overwrite" test $? = 2 -a "$(wc -l <"$TMP/ow")" = 1
check "record-overwrite-hint" has "$TMP/ow" "-f"

# -- COMMAND: records while it runs, returns its status
lab_up silent >/dev/null 2>&1
lab_tls_server >/dev/null 2>&1
ip netns exec "$(lab_ns cli)" "$MW" record -o "$TMP/cmd.data" -- \
	timeout 5 openssl s_client -connect "$MW_SRV4:$MW_TLS_PORT" </dev/null >"$TMP/cmd.out" 2>&1
rc=$?
LAST_OUT=$TMP/cmd.out
check "record-command-exit-status" test "$rc" = 124
"$MW" report -i "$TMP/cmd.data" --json >"$TMP/cmd.report" 2>&1
check "record-command-stalled_tls" finding "$TMP/cmd.report" '"verdict":"stalled_tls"' '"role":"client"'
ip netns exec "$(lab_ns cli)" "$MW" record -f -o "$TMP/cmd2.data" -- sh -c 'exit 3' >/dev/null 2>&1
check "record-command-exit-3" test $? = 3

# SIGKILL: the flushed prefix is still read, and the cut is said
ip netns exec "$(lab_ns cli)" "$MW" record -f -o "$TMP/kill.data" >/dev/null 2>&1 &
pid=$!
sleep 1
lab_tls_client 5 >/dev/null 2>&1
sleep 1.5
kill -KILL $pid
wait $pid 2>/dev/null
"$MW" report -i "$TMP/kill.data" --json >"$TMP/kill.report" 2>"$TMP/kill.err"
rc=$?
LAST_OUT=$TMP/kill.err
check "sigkill-prefix-readable" finding "$TMP/kill.report" '"verdict":"stalled_tls"'
check "sigkill-says-cut" bash -c "test $rc = 1 && test \$(wc -l <'$TMP/kill.err') = 1 && grep -q 'truncated' '$TMP/kill.err'"

# hostile files: one line, exit 1, no crash, no hang, bounded memory
# (and through --html: the same line and status; a page only of what a cut file held, never of
# a corrupt one)
hostile() {
	local name=$1 file=$2 page=${3:-no} rc
	LAST_OUT=$TMP/h.err
	(ulimit -v 262144; timeout 10 "$MW" report -i "$file" >/dev/null 2>"$TMP/h.err")
	rc=$?
	check "hostile-$name" test "$rc" = 1 -a "$(wc -l <"$TMP/h.err")" = 1
	rm -f "$TMP"/h.html*
	(ulimit -v 262144; timeout 10 "$MW" report -i "$file" --html "$TMP/h.html" 2>"$TMP/h.err")
	rc=$?
	check "hostile-$name-html" test "$rc" = 1 -a "$(wc -l <"$TMP/h.err")" = 1 -a \
		"$(find "$TMP" -maxdepth 1 -name 'h.html*' | wc -l)" = "$([ "$page" = page ] && echo 1 || echo 0)"
}
good=$TMP/fwdrop.data
size=$(stat -c %s "$good")
head -c $((size / 2)) "$good" >"$TMP/trunc.data"
hostile truncated "$TMP/trunc.data" page
head -c 10 "$good" >"$TMP/trunc-header.data"
hostile truncated-header "$TMP/trunc-header.data"
cp "$good" "$TMP/magic.data"
printf 'NOTMAGIC' | dd of="$TMP/magic.data" conv=notrunc status=none
hostile wrong-magic "$TMP/magic.data"
cp "$good" "$TMP/flip.data"
off=$((size / 3))
b=$(od -An -tu1 -j "$off" -N1 "$good" | tr -d ' ')
printf "\\$(printf '%03o' $((b ^ 0x10)))" | dd of="$TMP/flip.data" bs=1 seek="$off" conv=notrunc status=none
hostile bit-flipped "$TMP/flip.data"
hostile wrong-version tests/fuzz/corpus/wrong-version.mtw
hostile absurd-length tests/fuzz/corpus/zipbomb-over-limit.mtw
hostile zip-bomb tests/fuzz/corpus/zipbomb-lying.mtw
hostile record-past-end tests/fuzz/corpus/record-past-end.mtw
hostile empty tests/fuzz/corpus/empty.mtw
hostile missing "$TMP/does-not-exist.data"
lab_down >/dev/null 2>&1
