#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Stage 2, PID 1 in the guest on the host's read-only root: mount what the tests need, let the
# kernel load its own modules from the extracted package (mw_kdir), run the guest tests with
# their output on the scratch share, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /dev/pts /dev/shm /run/netns /run/sshd
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up
hostname mw-guest
# modprobe for this kernel's modules, wherever the package was extracted
printf '#!/bin/sh\nexec /sbin/modprobe -d %s "$@"\n' "$mw_kdir" >/run/mw-modprobe
chmod +x /run/mw-modprobe
echo /run/mw-modprobe >/proc/sys/kernel/modprobe
for m in veth tun sch_ingress cls_bpf nf_tables nft_compat x_tables xt_statistic xt_tcpmss \
	xt_TCPMSS ip_tables iptable_filter iptable_mangle ip6_tables ip6table_filter \
	ip6table_mangle nft_chain_nat; do
	/run/mw-modprobe "$m" 2>/dev/null
done
echo "mw-guest: stage 2 on $(uname -r), running tests"
cd "$mw_root" || echo "FAIL: guest: no worktree at $mw_root"
MW_LAB_KEYDIR=$mw_keydir OUT=$mw_out GUEST_TESTS=${mw_tests:-all} timeout "${mw_budget:-800}" \
	bash tests/kernels/guest.sh >/tmp/mw-out/results.txt 2>/tmp/mw-out/guest.err
echo "mw-guest: tests exited $?" >>/tmp/mw-out/results.txt
sync
echo "mw-guest: done"
echo o >/proc/sysrq-trigger
sleep 30
