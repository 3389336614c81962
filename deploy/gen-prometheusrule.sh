#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# deploy/kubernetes/prometheusrule.yaml from deploy/prometheus/mtuwatch.rules.yml: the rule
# file's groups under a PrometheusRule's spec, nothing else changed, so the two cannot drift
# (tests/unit/test-rules.sh regenerates and compares). Run: make prometheusrule
# Usage: gen-prometheusrule.sh RULES_FILE > prometheusrule.yaml
set -eu
rules=${1:?usage: gen-prometheusrule.sh RULES_FILE}
cat <<'HEAD'
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# mtuwatch alerts for the Prometheus Operator. GENERATED from
# deploy/prometheus/mtuwatch.rules.yml (the checked source: promtool check and test rules) by
# deploy/gen-prometheusrule.sh (make prometheusrule): edit the rules file, not this one.
#
# The Prometheus resource only loads PrometheusRules matching its
# ruleSelector (kube-prometheus-stack: "release: <helm release name>"):
# adjust the labels below to your installation.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: mtuwatch
  namespace: monitoring
  labels:
    app.kubernetes.io/name: mtuwatch
    role: alert-rules
    prometheus: k8s
spec:
HEAD
# From "groups:" on, indented under spec (the file's header comment stays in the file).
awk '/^groups:/ { on = 1 } on { print ($0 == "" ? "" : "  " $0) }' "$rules"
