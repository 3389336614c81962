#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make image: the container image the DaemonSet runs, built without a registry or a Dockerfile
# (docs/packaging.md). A Debian 12 minbase root (rootfs.sh, cached) gets the .deb and its Depends
# from apt, is trimmed of what a container never reads (apt's lists and caches, docs, man pages,
# locales), and is imported by podman as mtuwatch:TAG and mtuwatch:latest.
# Usage: deploy/image/build.sh MTUWATCH.deb TAG (root).
# shellcheck disable=SC2016 # scripts for bash -c and formats, expanded there
set -eu
deb=$1
tag=$2
here=$(dirname "$0")
CACHE=${MW_ROOTFS_CACHE:-/var/cache/mtuwatch/rootfs}
APTC=$CACHE/apt
command -v podman >/dev/null || { echo "podman not found -- install it (make deps)" >&2; exit 1; }
tarball=$(bash "$here/rootfs.sh")
root=$(mktemp -d "${TMPDIR:-/tmp}/mw-image.XXXXXX")
trap 'rm -rf "$root"' EXIT
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/mtuwatch.deb"
mkdir -p "$APTC/archives/partial" "$APTC/lists/partial"

# In a mount namespace of its own, so that the mounts go away with it; apt's lists and archives
# are the cache's: when the mirror fails, apt works from them.
unshare -m --propagation private -- bash -c '
	set -e
	r=$1 c=$2
	mount -t proc proc "$r/proc"
	mount --bind "$c/archives" "$r/var/cache/apt/archives"
	mount --bind "$c/lists" "$r/var/lib/apt/lists"
	inroot() {
		chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive "$@"
	}
	if ! inroot apt-get update -q >"$r/tmp/update.log" 2>&1; then
		ls "$c/lists/"*_Packages >/dev/null 2>&1 || { cat "$r/tmp/update.log" >&2; exit 1; }
		echo "apt-get update failed ($(tail -1 "$r/tmp/update.log")); using the cached" \
		     "lists" >&2
	fi
	# No Recommends: libnftables is for doctor, which a DaemonSet does not run.
	inroot apt-get install -y -q --no-install-recommends /tmp/mtuwatch.deb \
		>"$r/tmp/install.log" 2>&1 || { tail -20 "$r/tmp/install.log" >&2; exit 1; }
' build "$root" "$APTC"

# What a container never runs: apt (with its caches unmounted: its purge removes them), the time
# zones (mtuwatch logs UTC) and iconv's charset modules (it converts none).
unshare -m --propagation private -- bash -c '
	mount -t proc proc "$1/proc" &&
	chroot "$1" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		dpkg --purge apt libapt-pkg6.0 gpgv libstdc++6 tzdata' purge "$root" \
	>"$root/purge.log" 2>&1 || { tail -20 "$root/purge.log" >&2; exit 1; }
rm -rf "$root/purge.log" "$root"/usr/lib/*-linux-gnu/gconv
# What a container never reads. dpkg's database stays (`dpkg -l` in the image says what is in
# it), and so do the copyright files and the licenses they name: the image is redistributed.
rm -rf "$root"/tmp/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
	"$root"/var/log/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/* "$root"/usr/share/lintian/*
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
: >"$root/etc/resolv.conf"

ver=$(chroot "$root" dpkg-query -W -f='${Version}' mtuwatch)
old=$(for t in "mtuwatch:$tag" mtuwatch:latest; do
	podman image inspect --format '{{.Id}}' "$t" 2>/dev/null
done | sort -u)
tar -C "$root" --numeric-owner -cf - . |
	podman import -q \
		--change 'ENTRYPOINT ["/usr/sbin/mtuwatch"]' \
		--change 'CMD ["export"]' \
		--change 'EXPOSE 9877/tcp' \
		--change "LABEL org.opencontainers.image.title=mtuwatch" \
		--change "LABEL org.opencontainers.image.version=$ver" \
		--change "LABEL org.opencontainers.image.base.name=debian:bookworm" \
		- "mtuwatch:$tag" >/dev/null
podman tag "mtuwatch:$tag" mtuwatch:latest
# The images these two tags named before, now untagged: removed (a rebuild replaces them).
for id in $old; do
	[ "$(podman image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null)" = 0 ] &&
		podman rmi "$id" >/dev/null
done
size=$(podman image inspect --format '{{.Size}}' "mtuwatch:$tag")
echo "mtuwatch:$tag mtuwatch:latest $size bytes"
