#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shipped alert rules (issue 27): promtool checks them and runs their unit tests
# (tests/prometheus/), every alert has a test, the PrometheusRule object is exactly what
# deploy/gen-prometheusrule.sh makes of the rules file, every verdict the rules select is one
# the core has, and each cause (C table) has its runbook section. No root, no kernel, no build.
# Run: bash tests/unit/test-rules.sh [ROOT] (one PASS/FAIL line per case).
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
RULES=$ROOT/deploy/prometheus/mtuwatch.rules.yml
K8S=$ROOT/deploy/kubernetes/prometheusrule.yaml
TESTS=$ROOT/tests/prometheus/mtuwatch.rules.test.yml
RUNBOOK=$ROOT/docs/runbook.md
TMP=$(mktemp -d /tmp/mw-rules.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
oneline() { tr '\n' ' ' <"$1" | head -c 600; }

if promtool check rules "$RULES" >"$TMP/check" 2>&1; then
	pass "rules-promtool-check"
else
	fail "rules-promtool-check" "$(oneline "$TMP/check")"
fi
if promtool test rules "$TESTS" >"$TMP/test" 2>&1 && grep -q SUCCESS "$TMP/test"; then
	pass "rules-promtool-test"
else
	fail "rules-promtool-test" "$(oneline "$TMP/test")"
fi

# Every alert of the file is evaluated by at least one test.
alerts=$(sed -n 's/^ *- alert: \([A-Za-z]*\)$/\1/p' "$RULES" | sort -u)
tested=$(sed -n 's/^ *alertname: \([A-Za-z]*\)$/\1/p' "$TESTS" | sort -u)
untested=$(comm -23 <(echo "$alerts") <(echo "$tested"))
if [ "$(echo "$alerts" | grep -c .)" -ge 7 ] && [ -z "$untested" ]; then
	pass "rules-every-alert-tested"
else
	fail "rules-every-alert-tested" "alerts: $(echo $alerts); untested: $(echo $untested)"
fi

# agree FILE: FILE is what the generator makes of the rules file
agree() {
	bash "$ROOT/deploy/gen-prometheusrule.sh" "$RULES" >"$TMP/gen.yaml" 2>"$TMP/gen.err" &&
		cmp -s "$TMP/gen.yaml" "$1"
}
if agree "$K8S"; then
	pass "rules-prometheusrule-generated"
else
	fail "rules-prometheusrule-generated" "deploy/kubernetes/prometheusrule.yaml differs from the rules file: run make prometheusrule ($(oneline "$TMP/gen.err"))"
fi
# The comparison sees a drift: one rule's "for" changed in a copy.
sed 's/^\(  *\)for: 1m$/\1for: 2m/' "$K8S" >"$TMP/drift.yaml"
if ! cmp -s "$TMP/drift.yaml" "$K8S" && ! agree "$TMP/drift.yaml"; then
	pass "rules-prometheusrule-drift-caught"
else
	fail "rules-prometheusrule-drift-caught" "a changed copy compared equal"
fi

# The verdicts the alerts select exist in the core's table, and every alarm class has one.
c_verdicts=$(cat "$ROOT"/user/*.c | sed -n 's/^[[:space:]]*\[MW_V_[A-Z_]*\] = "\([a-z_]*\)",.*/\1/p' |
	sort -u)
r_verdicts=$(grep -o 'verdict=~\?"[a-z_|]*"' "$RULES" | sed 's/.*"\(.*\)"/\1/' | tr '|' '\n' |
	sort -u)
unknown=$(comm -23 <(echo "$r_verdicts") <(echo "$c_verdicts"))
missing=$(comm -23 <(printf '%s\n' icmp_blackhole ptb_dropped ptb_ignored ptb_sent stalled_ssh \
	stalled_tls) <(echo "$r_verdicts"))
if [ "$(echo "$c_verdicts" | grep -c .)" -ge 8 ] && [ -z "$unknown" ] && [ -z "$missing" ] &&
	! echo "$r_verdicts" | grep -qx -e peer_unreachable -e pmtu_learned; then
	pass "rules-verdicts-known"
else
	fail "rules-verdicts-known" "rules select: $(echo $r_verdicts); not in C: $(echo $unknown); no alert: $(echo $missing)"
fi

# The runbook has a section for every cause the core names (the annotation's anchor), "none"
# and ptb_sent.
causes=$(cat "$ROOT"/user/*.c | sed -n 's/^[[:space:]]*\[MW_C_[A-Z0-9_]*\] = "\([a-z0-9_]*\)",.*/\1/p' |
	sort -u)
sections=$(sed -n 's/^### \([a-z0-9_]*\)$/\1/p' "$RUNBOOK" | sort -u)
nosec=$(comm -23 <(printf "%s\nptb_sent\n" "$causes" | sort -u) <(echo "$sections"))
if [ "$(echo "$causes" | grep -c .)" -ge 10 ] && [ -z "$nosec" ]; then
	pass "rules-runbook-sections"
else
	fail "rules-runbook-sections" "no section in docs/runbook.md for: $(echo $nosec)"
fi
