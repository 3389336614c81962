#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Kernel matrix: boots Debian 12's own kernels under QEMU and runs tests/kernels/guest.sh inside,
# on the host's root filesystem shared read-only over 9p. Prints the guest's "PASS: name" /
# "FAIL: name: why" lines prefixed with the kernel series (6.1/..., 6.12/...), which tests/run.sh
# counts like any other tier. A kernel that does not boot, or does not finish in its budget, is a
# FAIL with the console's last lines, never a skip.
#
#   KERNELS="6.1 6.12"    series to run (Debian 12: linux-image-amd64 is 6.1,
#                          linux-image-6.12-amd64 the newer one)
#   GUEST_TESTS=all|ci    which guest tests (see tests/kernels/guest.sh)
#   KERNEL_TIMEOUT=1500   seconds per kernel, boot included (6.1 with every test takes
#                         about 17 minutes under TCG on 2 shared cores)
#   MW_QEMU_ACCEL=auto    auto (KVM when /dev/kvm boots, else TCG), kvm or tcg
#
# Packages are fetched with `apt-get download` (never installed) into $MW_KERNEL_CACHE (default
# /var/cache/mtuwatch/kernels, outside the clone), extracted with dpkg-deb into
# $OUT/kernels/<version>/, and the initramfs is built next to them: a second run fetches nothing.
# One VM at a time: TCG is heavy and the machine may be shared.
set -u
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
OUT=$(readlink -f "${OUT:-build}")
KDIR=$OUT/kernels
KERNELS=${KERNELS:-6.1 6.12}
GUEST_TESTS=${GUEST_TESTS:-all}
KERNEL_TIMEOUT=${KERNEL_TIMEOUT:-1500}
MW_QEMU_ACCEL=${MW_QEMU_ACCEL:-auto}
# Downloads outlive the build directory: MW_KERNEL_CACHE, by default under /var/cache.
KCACHE=${MW_KERNEL_CACHE:-/var/cache/mtuwatch/kernels}
mkdir -p "$KDIR/deb" "$KCACHE"

say() { echo "# $*"; }
fail() { echo "FAIL: $1: $2"; }

meta_of() {
	case $1 in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	*) return 1 ;;
	esac
}

# fetch SERIES: prints the kernel version, the package extracted under $KDIR/<version>.
fetch() {
	local s=$1 meta pkg ver deb
	if [ -s "$KDIR/$s.version" ] && [ -d "$KDIR/$(cat "$KDIR/$s.version")/boot" ]; then
		cat "$KDIR/$s.version"
		return 0
	fi
	meta=$(meta_of "$s") || { echo "unknown kernel series $s (known: 6.1 6.12)" >&2; return 1; }
	# The meta-package names the kernel the archive serves now.
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		echo "apt knows no $meta -- is bookworm (and bookworm-security) in the apt sources? run apt-get update" >&2
		return 1
	fi
	ver=${pkg#linux-image-}
	# The .deb is kept in a cache outside the clone (CI's fresh clone has an empty build/), so a
	# registry that stops resolving for a while does not block a run: the last package fetched
	# for the series stands in for a newer one the archive names but cannot serve now.
	deb=$(ls "$KCACHE"/"${pkg}"_*.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		(cd "$KCACHE" && apt-get download -q "$pkg" >/dev/null 2>"$KDIR/deb/$s.log")
		deb=$(ls "$KCACHE"/"${pkg}"_*.deb 2>/dev/null | head -1)
	fi
	if [ -z "$deb" ] && [ -s "$KCACHE/$s.last" ] && [ -s "$KCACHE/$(cat "$KCACHE/$s.last")" ]; then
		deb=$KCACHE/$(cat "$KCACHE/$s.last")
		pkg=$(dpkg-deb -f "$deb" Package)
		ver=${pkg#linux-image-}
		echo "apt-get download failed ($(tail -1 "$KDIR/deb/$s.log")); using the cached $pkg" >&2
	fi
	if [ -z "$deb" ]; then
		echo "apt-get download $pkg failed: $(tail -1 "$KDIR/deb/$s.log")" >&2
		return 1
	fi
	basename "$deb" >"$KCACHE/$s.last"
	rm -rf "$KDIR/$ver.tmp"
	dpkg-deb -x "$deb" "$KDIR/$ver.tmp" && depmod -b "$KDIR/$ver.tmp" "$ver" || {
		echo "extracting $deb failed" >&2
		return 1
	}
	rm -rf "$KDIR/$ver"
	mv "$KDIR/$ver.tmp" "$KDIR/$ver"
	echo "$ver" >"$KDIR/$s.version"
	echo "$ver"
}

# mod_chain DIR VERSION NAME...: module files (relative to the modules dir), dependencies first,
# from modules.dep; built-in modules are skipped.
mod_chain() {
	local md=$1/lib/modules/$2 seen=" " out=()
	visit() {
		local line path dep
		line=$(grep -E "(^|/)$1\.ko(\.xz|\.zst|\.gz)?:" "$md/modules.dep" | head -1)
		[ -z "$line" ] && return 0 # built in (or absent: the boot will say so)
		path=${line%%:*}
		case $seen in *" $path "*) return 0 ;; esac
		seen="$seen$path "
		for dep in ${line#*:}; do
			dep=${dep##*/}
			visit "${dep%%.ko*}"
		done
		out+=("$path")
	}
	for m in "${@:3}"; do visit "$m"; done
	printf '%s\n' "${out[@]}"
}

# initramfs VERSION: busybox, the virtio/9p module chain (decompressed), tests/kernels/init.
initramfs() {
	local ver=$1 dir=$KDIR/$1 img=$KDIR/$1/initramfs.gz st m
	if [ -s "$img" ] && [ "$img" -nt tests/kernels/init ]; then
		return 0
	fi
	st=$(mktemp -d "${TMPDIR:-/tmp}/mw-initrd.XXXXXX")
	mkdir -p "$st/bin" "$st/proc" "$st/sys" "$st/dev" "$st/modules" "$st/newroot"
	cp /bin/busybox "$st/bin/busybox" || { rm -rf "$st"; return 1; }
	cp tests/kernels/init "$st/init"
	: >"$st/modules.list"
	for m in $(mod_chain "$dir" "$ver" virtio_pci 9pnet_virtio 9p); do
		local f=${m##*/}
		case $f in
		*.xz) xz -dc "$dir/lib/modules/$ver/$m" >"$st/modules/${f%.xz}" ;;
		*.zst) zstd -qdc "$dir/lib/modules/$ver/$m" >"$st/modules/${f%.zst}" ;;
		*) cp "$dir/lib/modules/$ver/$m" "$st/modules/$f" ;;
		esac
		echo "${f%.ko*}.ko" >>"$st/modules.list"
	done
	(cd "$st" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$img.tmp" &&
		mv "$img.tmp" "$img"
	rm -rf "$st"
	[ -s "$img" ]
}

qemu_cmd() {
	local ver=$1 accel=$2 scratch=$3 append=$4
	local cpu=max
	[ "$accel" = kvm ] && cpu=host
	echo qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp 2 -m 2048 -display none \
		-monitor none -no-reboot -nic none -serial "file:$scratch/console.log" \
		-kernel "$KDIR/$ver/boot/vmlinuz-$ver" -initrd "$KDIR/$ver/initramfs.gz" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$scratch,mount_tag=out,security_model=none,multidevs=remap" \
		-append "'$append'"
}

# KVM only when it really boots (a /dev/kvm may exist where nested virtualisation hangs).
pick_accel() {
	local ver=$1 scratch
	case $MW_QEMU_ACCEL in kvm | tcg) echo "$MW_QEMU_ACCEL"; return ;; esac
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/mw-kvm.XXXXXX")
	eval timeout 30 "$(qemu_cmd "$ver" kvm "$scratch" "console=ttyS0 panic=-1 quiet mw_probe=1")" \
		>/dev/null 2>&1
	if grep -q 'mw-guest: probe ok' "$scratch/console.log" 2>/dev/null; then
		echo kvm
	else
		echo tcg
	fi
	rm -rf "$scratch"
}

run_kernel() {
	local s=$1 ver accel scratch t0 t1 rc
	t0=$(date +%s)
	if ! ver=$(fetch "$s" 2>"$KDIR/$s.err"); then
		fail "$s/fetch" "$(tr '\n' ' ' <"$KDIR/$s.err")"
		return
	fi
	if ! initramfs "$ver"; then
		fail "$s/initramfs" "building the initramfs for $ver failed"
		return
	fi
	accel=${ACCEL:-$(pick_accel "$ver")}
	ACCEL=$accel
	local try
	for try in 1 2; do
		scratch=$(mktemp -d "$KDIR/run-$s.XXXXXX")
		say "$s: booting $ver under QEMU ($accel, 2 vCPUs, budget ${KERNEL_TIMEOUT}s)"
		eval timeout "$KERNEL_TIMEOUT" "$(qemu_cmd "$ver" "$accel" "$scratch" \
			"console=ttyS0 panic=-1 quiet rdinit=/init mw_stage2=$ROOT/tests/kernels/stage2.sh mw_kdir=$KDIR/$ver mw_root=$ROOT mw_out=$OUT mw_tests=$GUEST_TESTS mw_keydir=$KDIR/keys mw_budget=$((KERNEL_TIMEOUT - 60))")" \
			>"$scratch/qemu.log" 2>&1
		rc=$?
		t1=$(date +%s)
		# A kernel that panicked before stage 2 ran (seen once: TCG and an int3 of the
		# kernel's own code patching at 1.8 s) never ran a test of ours: boot it once more.
		# Any later failure counts.
		if [ "$try" = 1 ] && [ ! -s "$scratch/results.txt" ] &&
			! grep -q 'mw-guest: stage 2' "$scratch/console.log" 2>/dev/null &&
			grep -q 'Kernel panic' "$scratch/console.log" 2>/dev/null; then
			say "$s: $ver panicked while booting, before any test ($(grep -m1 -o 'RIP: [^ ]*' "$scratch/console.log" | head -1)): booting it once more"
			continue
		fi
		break
	done
	if [ ! -s "$scratch/results.txt" ]; then
		fail "$s/boot" "$ver gave no results (qemu exit $rc after $((t1 - t0))s); console: $(tail -15 "$scratch/console.log" 2>/dev/null | tr -d '\r' | tr '\n' ' ') $(tail -3 "$scratch/qemu.log" | tr '\n' ' ')"
	else
		sed -n "s#^\(PASS\|FAIL\): #\1: $s/#p" "$scratch/results.txt"
		grep -q '^mw-guest: tests exited 0' "$scratch/results.txt" ||
			grep -q '^FAIL' "$scratch/results.txt" ||
			fail "$s/guest" "the guest tests did not finish: $(tail -3 "$scratch/results.txt" | tr '\n' ' ')"
		grep '^#' "$scratch/results.txt"
	fi
	say "$s: $ver took $((t1 - t0))s ($accel); logs in $scratch"
	echo "# kernels: $s ($ver) took $((t1 - t0))s under $accel, GUEST_TESTS=$GUEST_TESTS" \
		>>"$KDIR/timings.txt"
	# keep the newest run's logs only
	for old in "$KDIR"/run-"$s".*; do [ "$old" = "$scratch" ] || rm -rf "$old"; done
}

# TLS keys (RSA-4096) take long under emulation: made here, read by the guest from the share.
keys() {
	(MW_LAB_KEYDIR=$KDIR/keys MW_LAB_ID=keys$$ && . tests/lab.sh && _mw_tls_keys)
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	fail kernels "qemu-system-x86_64 missing -- run: make deps"
	exit 1
fi
if [ ! -x "$OUT/mtuwatch" ]; then
	fail kernels "$OUT/mtuwatch missing -- run: make"
	exit 1
fi
: >"$KDIR/timings.txt"
keys || fail kernels-tls-keys "making the lab's TLS keys failed"
for s in $KERNELS; do run_kernel "$s"; done
