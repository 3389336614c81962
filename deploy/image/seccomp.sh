#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Prints a seccomp profile for mtuwatch's container: the runtime's default profile (the file
# given, default podman's and CRI-O's /usr/share/containers/seccomp.json) with bpf() allowed to a
# container holding CAP_BPF and perf_event_open() to one holding CAP_PERFMON. Older defaults
# (Debian 12's containers-common 0.50, which its podman uses) allow both only with
# CAP_SYS_ADMIN, which the DaemonSet does not grant; containerd 1.7+ and Moby 23+ need no such
# profile. Kubernetes: copy it to /var/lib/kubelet/seccomp/mtuwatch.json on every node and use
#   seccompProfile: { type: Localhost, localhostProfile: mtuwatch.json }
# podman: --security-opt seccomp=FILE (tests/e2e/test-image.sh).
set -eu
jq '.syscalls |= (map(.names -= ["bpf", "perf_event_open"]) | map(select(.names != [])) +
	[{ "names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_BPF"] } },
	 { "names": ["perf_event_open"], "action": "SCMP_ACT_ALLOW",
	   "includes": { "caps": ["CAP_PERFMON"] } }])' "${1:-/usr/share/containers/seccomp.json}"
