#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shipped alert rules with the real thing (issue 27): a real Prometheus (the Debian
# package) evaluates deploy/prometheus/mtuwatch.rules.yml every second over `mtuwatch export`
# in a lab, both in the namespace of the node that judges, on its own loopback:
#  - random loss (3 % on the router, no MTU problem, bulk traffic): no alert, while the input
#    that fooled the old counter rules (large retransmits, no PTB) is there;
#  - an ICMP black hole (filtered), a dropped PTB (fwdrop), an ignored PTB (a locked route,
#    tests/scenarios-ptb.sh) and a stalled TLS handshake (silent): the verdict series with the
#    path's prefix, and the alert of its class pending with prefix and cause in its labels;
#  - the textfile mode serves the same series (names and labels) as the HTTP one;
#  - the Grafana dashboard's queries name only series a real scrape serves.
# Run as root: OUT=build bash tests/e2e/test-alerts.sh (one PASS/FAIL line per case, exit 0).
# Every background process is bounded by `timeout` and killed at the end. ~1 minute.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../scenarios-ptb.sh
. "$(dirname "$0")/../scenarios-ptb.sh"
# the TLS keys once, for every lab of this run (RSA-4096 generation takes a while)
export MW_LAB_KEYDIR=$TMP/keys
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES=$ROOT/deploy/prometheus/mtuwatch.rules.yml
EXP_PORT=19877	# in the lab namespace: its own loopback, free
PROM_PORT=19090
# A private copy: others may rebuild $OUT/mtuwatch while this runs.
cp "$MW" "$TMP/mtuwatch" && MW=$TMP/mtuwatch
BG=()
# shellcheck disable=SC2317 # called from the trap
bg_stop() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	BG=()
}
trap 'bg_stop; lab_down >/dev/null 2>&1; rm -rf "$TMP"' EXIT
oneline() { tail -c 500 "$1" 2>/dev/null | tr '\n' ' '; }
NODE=cli
nsx() { ip netns exec "$(lab_ns "$NODE")" "$@"; }
get() { nsx curl -s --max-time 3 "$@"; }
jqe() { jq -e "$@" >/dev/null 2>&1; }

# up NAME: the exporter and a Prometheus with the shipped rules in $NODE's namespace, ready.
up() {
	local n
	rm -rf "$TMP/prom-data"
	mkdir -p "$TMP/prom-data"
	cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: mtuwatch
    static_configs:
      - targets: ['127.0.0.1:$EXP_PORT']
EOF
	nsx timeout 100 "$MW" export --listen 127.0.0.1:$EXP_PORT >"$TMP/$1.exp" 2>"$TMP/$1.exp.err" &
	BG+=($!)
	nsx timeout 100 /usr/bin/prometheus --config.file="$TMP/prometheus.yml" \
		--storage.tsdb.path="$TMP/prom-data" --web.listen-address=127.0.0.1:$PROM_PORT \
		--log.level=warn >"$TMP/$1.prom.log" 2>&1 &
	BG+=($!)
	# the programs are attached once the exporter answers; the rules loaded once ready
	for n in $(seq 100); do
		get -o /dev/null "http://127.0.0.1:$EXP_PORT/metrics" &&
			[ "$(get -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROM_PORT/-/ready")" = 200 ] &&
			return 0
		sleep 0.1
	done
	echo "exporter or Prometheus not up after $n tries: $(oneline "$TMP/$1.exp.err") $(oneline "$TMP/$1.prom.log")" \
		>"$TMP/$1.up.err"
	return 1
}

# evaluated_since T: Prometheus scraped the exporter and evaluated the rules after Unix time T
# (polls, bounded ~15 s).
evaluated_since() {
	local t=$1
	for _ in $(seq 60); do
		get "http://127.0.0.1:$PROM_PORT/api/v1/rules" >"$TMP/rules.json"
		get "http://127.0.0.1:$PROM_PORT/api/v1/targets" >"$TMP/targets.json"
		jq -e --argjson t "$t" '[.data.groups[] | .lastEvaluation | sub("\\.[0-9]+"; "")
			| fromdateiso8601] | length > 0 and min > $t' "$TMP/rules.json" >/dev/null 2>&1 &&
			jq -e --argjson t "$t" '.data.activeTargets[] | select(.health == "up")
			| .lastScrape | sub("\\.[0-9]+"; "") | fromdateiso8601 | select(. > $t)' \
				"$TMP/targets.json" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	return 1
}

# alert_with NAME KEY=VALUE...: Prometheus holds alert NAME (pending or firing) with these
# labels (polls, bounded ~20 s); $TMP/alerts.json is the last answer.
alert_with() {
	local name=$1 sel='.labels.alertname == $n' kv
	shift
	for kv; do sel="$sel and .labels.${kv%%=*} == \"${kv#*=}\""; done
	for _ in $(seq 80); do
		get "http://127.0.0.1:$PROM_PORT/api/v1/alerts" >"$TMP/alerts.json"
		jq -e --arg n "$name" ".data.alerts[] | select($sel) | select(.state == \"pending\"
			or .state == \"firing\")" "$TMP/alerts.json" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	return 1
}

# scrape_until FILE ERE: a scrape holding a line that matches ERE (polls, bounded ~15 s)
scrape_until() {
	for _ in $(seq 60); do
		get "http://127.0.0.1:$EXP_PORT/metrics" >"$1"
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.25
	done
	return 1
}

# --- 1. random loss, no MTU problem: no alert ----------------------------------------------
# aligned: every hop 1500, the server sends (bulk in reverse); 3 % of what the router forwards
# is dropped (no netem on this kernel: netfilter's statistic match).
NODE=srv
lab_up aligned >"$TMP/lab.log" 2>&1 || fail "loss-lab-up" "$(oneline "$TMP/lab.log")"
lab_exec rtr iptables -w -A FORWARD -p tcp -m statistic --mode random --probability 0.03 -j DROP
LAST_OUT=$TMP/loss.up.err
check "loss-exporter-and-prometheus-up" up loss
MW_LAB_BULK_MIN=10000000 lab_bulk aligned 4 >/dev/null 2>&1
bulk_rc=$?
t_end=$(date +%s)
drops=$(lab_exec rtr iptables -w -nvxL FORWARD | awk '$3 == "DROP" { s += $1 } END { print s + 0 }')
scrape_until "$TMP/loss.metrics" '^mtuwatch_large_retransmits_total\{iface="s0"\} ([2-9][0-9]|[0-9]{3,})$'
# The input the old rules took for a black hole: bulk data went through, the router dropped
# at random, and the sender re-sent 20 or more large segments without any PTB.
LAST_OUT=$TMP/loss.metrics
if [ "$bulk_rc" = 0 ] && [ "$drops" -gt 20 ] &&
	grep -Eq '^mtuwatch_large_retransmits_total\{iface="s0"\} ([2-9][0-9]|[0-9]{3,})$' "$TMP/loss.metrics" &&
	! grep -Eq '^mtuwatch_ptb_received_total\{.*\} [1-9]' "$TMP/loss.metrics"; then
	pass "loss-input-large-retransmits-no-ptb"
else
	fail "loss-input-large-retransmits-no-ptb" "bulk rc $bulk_rc ($(cat "$MW_LAB_DIR/bulk.bytes" 2>/dev/null) bytes), $drops dropped; $(grep -E '^mtuwatch_(large_retransmits|ptb_received)_total' "$TMP/loss.metrics" | tr '\n' ' ')"
fi
LAST_OUT=$TMP/rules.json
check "loss-rules-evaluated-after-traffic" evaluated_since "$t_end"
get "http://127.0.0.1:$PROM_PORT/api/v1/alerts" >"$TMP/loss.alerts.json"
LAST_OUT=$TMP/loss.alerts.json
check "loss-no-alert" jqe '.status == "success" and ([.data.alerts[]
	| select(.labels.alertname | test("^Mtuwatch(IcmpBlackhole|PtbDropped|PtbIgnored|StalledHandshakes|PtbSent)$"))]
	| length == 0)' "$TMP/loss.alerts.json"
LAST_OUT=$TMP/loss.metrics
check "loss-no-alarm-verdict" none_match \
	'^mtuwatch_path_verdict\{verdict="(icmp_blackhole|ptb_dropped|ptb_ignored|stalled_tls|stalled_ssh)"' \
	"$TMP/loss.metrics"
bg_stop

# --- 2. an ICMP black hole: its verdict series and its alert, pending -------------------------
NODE=cli
lab_up filtered >"$TMP/lab.log" 2>&1 || fail "blackhole-lab-up" "$(oneline "$TMP/lab.log")"
LAST_OUT=$TMP/bh.up.err
check "blackhole-exporter-and-prometheus-up" up bh
t0=$(date +%s)
lab_bulk filtered 3 >/dev/null 2>&1
BH='^mtuwatch_path_verdict\{verdict="icmp_blackhole",cause="icmp_filtered",dst_prefix="198\.51\.100\.0/24",iface="c0"\} 1$'
LAST_OUT=$TMP/bh.metrics
check "blackhole-verdict-series" scrape_until "$TMP/bh.metrics" "$BH"
since=$(sed -n 's/^mtuwatch_path_verdict_since_seconds{verdict="icmp_blackhole",.*dst_prefix="198\.51\.100\.0\/24".*} \([0-9.]*\)$/\1/p' \
	"$TMP/bh.metrics")
check "blackhole-since-is-when" awk -v s="${since:-0}" -v a="$t0" -v b="$(date +%s)" \
	'BEGIN { exit !(s >= a - 1 && s <= b + 1) }'
check "blackhole-findings-counted" grep -Eq \
	'^mtuwatch_findings_total\{verdict="icmp_blackhole",cause="icmp_filtered",iface="c0"\} [1-9]' \
	"$TMP/bh.metrics"
# the verdict is there (above); its bracket's end (8999) is no path MTU (issue 27)
check "blackhole-no-bracket-mtu" none_match '^mtuwatch_path_mtu_bytes\{dst_prefix="198\.51\.100\.0/24"' \
	"$TMP/bh.metrics"
LAST_OUT=$TMP/alerts.json
check "blackhole-alert-pending" alert_with MtuwatchIcmpBlackhole dst_prefix=198.51.100.0/24 \
	cause=icmp_filtered iface=c0 verdict=icmp_blackhole severity=critical
check "blackhole-alert-runbook" jqe '.data.alerts[] | select(.labels.alertname ==
	"MtuwatchIcmpBlackhole") | .annotations.runbook == "docs/runbook.md#icmp_filtered"' \
	"$TMP/alerts.json"
get "http://127.0.0.1:$EXP_PORT/metrics" >"$TMP/bh.http"
# The Grafana dashboard: every series a query names is one this scrape serves, every query is
# valid PromQL over what Prometheus scraped (Grafana's variables replaced as Grafana would),
# and the standing-findings table shows the black hole.
DASH=$ROOT/deploy/grafana/mtuwatch-dashboard.json
jq -r '.panels[].targets[]?.expr' "$DASH" >"$TMP/dash.exprs"
unserved=$(grep -o 'mtuwatch_[a-z_]*' "$TMP/dash.exprs" | sort -u | while read -r m; do
	grep -q "^# TYPE $m " "$TMP/bh.http" || echo "$m"; done)
if [ "$(grep -c . "$TMP/dash.exprs")" -ge 10 ] && [ -z "$unserved" ] &&
	[ "$(grep -o 'mtuwatch_[a-z_]*' "$TMP/dash.exprs" | sort -u | grep -c .)" -ge 10 ]; then
	pass "dashboard-series-served"
else
	fail "dashboard-series-served" "not served: $(echo $unserved); queries: $(grep -c . "$TMP/dash.exprs")"
fi
bad='' table=''
while IFS= read -r expr; do
	e=${expr//\$__rate_interval/1m}
	e=${e//\$instance/.*}
	for _ in $(seq 20); do
		get --data-urlencode "query=$e" "http://127.0.0.1:$PROM_PORT/api/v1/query" >"$TMP/dash.json"
		case $expr in *mtuwatch_path_verdict_since_seconds*) ;; *) break ;; esac
		jqe '.data.result[] | select(.metric.verdict == "icmp_blackhole" and
			.metric.dst_prefix == "198.51.100.0/24" and .metric.cause == "icmp_filtered")' \
			"$TMP/dash.json" && { table=1; break; }
		sleep 0.25
	done
	[ "$(jq -r .status "$TMP/dash.json" 2>/dev/null)" = success ] || bad="$bad [$e: $(head -c 200 "$TMP/dash.json")]"
done <"$TMP/dash.exprs"
if [ -z "$bad" ] && [ -n "$table" ]; then
	pass "dashboard-queries-valid-and-table-shows-the-finding"
else
	fail "dashboard-queries-valid-and-table-shows-the-finding" "table: ${table:-no};$bad"
fi
bg_stop

# --- 3. textfile mode: the same series, names and labels -----------------------------------
# The same black hole again (the client never learns: every transfer repeats it).
mkdir -p "$TMP/tf"
nsx timeout 60 "$MW" export --textfile "$TMP/tf" --interval 1 >"$TMP/tf.out" 2>"$TMP/tf.err" &
BG+=($!)
for _ in $(seq 100); do grep -q exporting "$TMP/tf.err" 2>/dev/null && break; sleep 0.1; done
lab_bulk filtered 3 >/dev/null 2>&1
for _ in $(seq 60); do
	grep -Eq "$BH" "$TMP/tf/mtuwatch.prom" 2>/dev/null && break
	sleep 0.25
done
bg_stop
# series: NAME{LABELS} of the diagnosis' series; names: every metric the exposition declares
series() { grep -E '^mtuwatch_(findings_total|path_)' "$1" | sed 's/ [^ ]*$//' | sort -u; }
names() { sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$1" | sort; }
LAST_OUT=$TMP/tf.err
if grep -Eq "$BH" "$TMP/tf/mtuwatch.prom" 2>/dev/null && grep -Eq "$BH" "$TMP/bh.http" &&
	[ "$(series "$TMP/bh.http")" = "$(series "$TMP/tf/mtuwatch.prom")" ] &&
	[ "$(names "$TMP/bh.http")" = "$(names "$TMP/tf/mtuwatch.prom")" ]; then
	pass "textfile-same-series"
else
	fail "textfile-same-series" "http: $(series "$TMP/bh.http" | tr '\n' ' ') textfile: $(series "$TMP/tf/mtuwatch.prom" 2>/dev/null | tr '\n' ' ') $(oneline "$TMP/tf.err")"
fi

# --- 4. a dropped PTB: the client's firewall drops it ----------------------------------------
lab_up fwdrop >"$TMP/lab.log" 2>&1 || fail "fwdrop-lab-up" "$(oneline "$TMP/lab.log")"
LAST_OUT=$TMP/fw.up.err
check "fwdrop-exporter-and-prometheus-up" up fw
lab_bulk fwdrop 2 >/dev/null 2>&1
LAST_OUT=$TMP/fw.metrics
check "fwdrop-verdict-series" scrape_until "$TMP/fw.metrics" \
	'^mtuwatch_path_verdict\{verdict="ptb_dropped",cause="ptb_dropped_local",dst_prefix="198\.51\.100\.0/24",iface="c0"\} 1$'
LAST_OUT=$TMP/alerts.json
check "fwdrop-alert-pending" alert_with MtuwatchPtbDropped dst_prefix=198.51.100.0/24 \
	cause=ptb_dropped_local iface=c0 severity=warning
bg_stop

# --- 5. an ignored PTB: the sender's route has `mtu lock` ----------------------------------
ptb_up locked 4 >"$TMP/lab.log" 2>&1 || fail "ptb-ignored-lab-up" "$(oneline "$TMP/lab.log")"
LAST_OUT=$TMP/ig.up.err
check "ptb-ignored-exporter-and-prometheus-up" up ig
ptb_traffic locked 4 6 >/dev/null 2>&1
LAST_OUT=$TMP/ig.metrics
check "ptb-ignored-verdict-series" scrape_until "$TMP/ig.metrics" \
	'^mtuwatch_path_verdict\{verdict="ptb_ignored",cause="route_mtu_locked",dst_prefix="198\.51\.100\.0/24",iface="c0"\} 1$'
LAST_OUT=$TMP/alerts.json
check "ptb-ignored-alert-pending" alert_with MtuwatchPtbIgnored dst_prefix=198.51.100.0/24 \
	cause=route_mtu_locked iface=c0 severity=warning
bg_stop

# --- 6. a stalled TLS handshake, seen from the client: the server's flight never comes --------
lab_up silent >"$TMP/lab.log" 2>&1 || fail "stalled-tls-lab-up" "$(oneline "$TMP/lab.log")"
lab_tls_server >"$TMP/tls.log" 2>&1 || fail "stalled-tls-server" "$(oneline "$TMP/tls.log")"
LAST_OUT=$TMP/tls.up.err
check "stalled-tls-exporter-and-prometheus-up" up tls
lab_tls_client 6 >/dev/null 2>&1
LAST_OUT=$TMP/tls.metrics
check "stalled-tls-verdict-series" scrape_until "$TMP/tls.metrics" \
	'^mtuwatch_path_verdict\{verdict="stalled_tls",cause="[a-z_0-9]+",dst_prefix="198\.51\.100\.0/24",iface="c0"\} 1$'
LAST_OUT=$TMP/alerts.json
check "stalled-tls-alert-pending" alert_with MtuwatchStalledHandshakes \
	dst_prefix=198.51.100.0/24 verdict=stalled_tls iface=c0 severity=warning
bg_stop
lab_down >/dev/null 2>&1
exit 0
