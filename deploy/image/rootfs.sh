#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Prints the path of a Debian 12 minbase root as a tarball, made once with debootstrap and kept
# outside the clone (MW_ROOTFS_CACHE, default /var/cache/mtuwatch/rootfs), so that a fresh clone
# (CI) does not fetch it again. `make image` and tests/e2e/test-package.sh start from it.
# MW_ROOTFS_REFRESH=1 makes it again; when the mirror fails then, the cached one is kept.
set -eu
CACHE=${MW_ROOTFS_CACHE:-/var/cache/mtuwatch/rootfs}
MIRROR=${MW_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
tarball=$CACHE/$SUITE-minbase.tar

if [ -s "$tarball" ] && [ "${MW_ROOTFS_REFRESH:-0}" != 1 ]; then
	echo "$tarball"
	exit 0
fi
command -v debootstrap >/dev/null || {
	echo "debootstrap not found -- install it (make deps)" >&2
	exit 1
}
mkdir -p "$CACHE"
dir=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$dir"' EXIT
if ! debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
	if [ -s "$tarball" ]; then
		echo "debootstrap failed ($(tail -1 "$CACHE/debootstrap.log")); using the cached" \
		     "root" >&2
		echo "$tarball"
		exit 0
	fi
	echo "debootstrap $SUITE from $MIRROR failed: $(tail -1 "$CACHE/debootstrap.log") -- see" \
	     "$CACHE/debootstrap.log; set MW_MIRROR to a reachable mirror" >&2
	exit 1
fi
# The same suites as a Debian 12 machine: a package built here may need a library from an update.
cat >"$dir/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$tarball"
