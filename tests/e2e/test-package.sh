#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The Debian package (issue 31, docs/packaging.md): `make deb` builds it, lintian finds no error,
# it carries the one version string and what it should; installed into a fresh Debian 12 minbase
# root (deploy/image/rootfs.sh, cached outside the clone) apt pulls in its Depends, `mtuwatch
# version` and `mtuwatch doctor` run there, the exporter's unit is not enabled, and a purge
# leaves no file of ours. Run as root: OUT=build bash tests/e2e/test-package.sh.
# Commands run in the root through unshare -m: their mounts (proc, sys, the apt caches) go away
# with them; doctor runs in a network namespace of its own (unshare -n), so its answer is known.
# apt's lists and archives are kept in $MW_ROOTFS_CACHE/apt: when the mirror fails, apt works
# from them.
# shellcheck disable=SC2016 # dpkg-query formats and the script for bash -c, expanded there
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# make, deploy/ and VERSION are the tree's: run from its top, as tests/run.sh does.
cd "$(dirname "$0")/../.." || exit 1

CACHE=${MW_ROOTFS_CACHE:-/var/cache/mtuwatch/rootfs}
APTC=$CACHE/apt
ROOT=$TMP/root
LAST_OUT=$TMP/out
start=$(date +%s)
elapsed() { echo "time: $1 $(($(date +%s) - start)) s"; }

# inroot [-n] CMD...: CMD chrooted into $ROOT (-n: in a new network namespace, no apt caches)
inroot() {
	local net=()
	[ "$1" = -n ] && { net=(-n); shift; }
	unshare -m --propagation private "${net[@]}" -- bash -c '
		r=$1 c=$2 net=$3
		shift 3
		mount -t proc proc "$r/proc" && mount -t sysfs sys "$r/sys" || exit 125
		if [ -z "$net" ]; then
			mount --bind "$c/archives" "$r/var/cache/apt/archives" &&
			mount --bind "$c/lists" "$r/var/lib/apt/lists" || exit 125
		fi
		exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive "$@"' inroot "$ROOT" "$APTC" "${net[*]}" "$@"
}

# ---- the .deb ------------------------------------------------------------------------------
ver=$(make -s --no-print-directory version)
arch=$(dpkg --print-architecture)
# A file of the caller's build directory: the package build must leave it alone (a make
# command line reaching debian/rules once made its clean remove all of OUT, test binaries too).
keep=$OUT/.deb-keeps-this.$$
touch "$keep"
make -s --no-print-directory deb OUT="$OUT" >"$TMP/deb.log" 2>&1
deb=$OUT/mtuwatch_${ver}_$arch.deb
LAST_OUT=$TMP/deb.log
check "deb-built-$ver" test -s "$deb"
check deb-leaves-build-dir test -e "$keep"
rm -f "$keep"
if [ ! -s "$deb" ]; then
	exit 1
fi
elapsed deb
echo "size: $deb $(stat -c %s "$deb") bytes"
check changelog-is-VERSION test "$(dpkg-parsechangelog -S Version)" = "$(cat VERSION)"
# The version is VERSION's, plus the commit in a git tree not at its tag.
check version-from-VERSION test "${ver%%+*}" = "$(cat VERSION)"
check deb-version test "$(dpkg-deb -f "$deb" Version)" = "$ver"
lintian --fail-on error "$deb" >"$TMP/lintian" 2>&1
LAST_OUT=$TMP/lintian check lintian-no-error test $? = 0
dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' >"$TMP/files"
contents_ok() {
	local f
	local data
	data=$(cd deploy && printf '/usr/share/mtuwatch/%s\n' prometheus/*.yml grafana/*.json)
	for f in /usr/sbin/mtuwatch /usr/share/man/man8/mtuwatch.8.gz \
		 /lib/systemd/system/mtuwatch-exporter.service $data; do
		grep -qx -- "$f" "$TMP/files" || { echo "missing $f" >"$TMP/out"; return 1; }
	done
}
LAST_OUT=$TMP/out check deb-contents contents_ok
dpkg-deb -f "$deb" Depends >"$TMP/depends"
dpkg-deb -f "$deb" Recommends >"$TMP/recommends"
LAST_OUT=$TMP/depends
check depends-linked has "$TMP/depends" 'libbpf1'
check depends-exporter-dlopen has "$TMP/depends" 'libmicrohttpd12.*libgnutls30'
check recommends-nftables has "$TMP/recommends" 'libnftables1'

# ---- a fresh Debian 12 root --------------------------------------------------------------------
tarball=$(bash deploy/image/rootfs.sh 2>"$TMP/rootfs.err")
LAST_OUT=$TMP/rootfs.err
check rootfs test -s "$tarball"
[ -s "$tarball" ] || exit 1
mkdir -p "$ROOT" "$APTC/archives/partial" "$APTC/lists/partial"
tar -C "$ROOT" -xf "$tarball"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$deb" "$ROOT/tmp/"
elapsed rootfs
# What apt must bring: the root does not have the exporter's library yet.
inroot dpkg-query -W -f='${Status}' libmicrohttpd12 >"$TMP/pre" 2>&1
check root-without-libmicrohttpd hasnt "$TMP/pre" 'install ok installed'
if ! inroot apt-get update -q >"$TMP/update" 2>&1; then
	if ! ls "$APTC/lists/"*_Packages >/dev/null 2>&1; then
		fail apt-update "$(tail -1 "$TMP/update")"
		exit 1
	fi
	echo "apt-get update failed ($(tail -1 "$TMP/update")); using the cached lists" >&2
fi
inroot apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}" >"$TMP/install" 2>&1
LAST_OUT=$TMP/install check install-pulls-depends test $? = 0
elapsed install
inroot dpkg-query -W -f='${Status} ${Version}\n' mtuwatch libmicrohttpd12 libbpf1 >"$TMP/post" 2>&1
LAST_OUT=$TMP/post
check installed-version has "$TMP/post" "install ok installed $ver"
check depends-installed test "$(grep -c 'install ok installed' "$TMP/post")" = 3

inroot mtuwatch version >"$TMP/version" 2>&1
LAST_OUT=$TMP/version check root-version has "$TMP/version" "^mtuwatch $ver (kernel "
inroot mtuwatch --version >"$TMP/version2" 2>&1
LAST_OUT=$TMP/version2 check root-dash-version has "$TMP/version2" "^mtuwatch $ver "
# Without the Recommends, doctor still runs and names the package that reads nftables.
inroot -n mtuwatch doctor >"$TMP/doctor1" 2>&1
rc=$?
LAST_OUT=$TMP/doctor1
check doctor-without-recommends-names-it has "$TMP/doctor1" 'install libnftables1'
check doctor-without-recommends-runs has "$TMP/doctor1" '^mtuwatch doctor: .* in 1 namespace'
check doctor-without-recommends-rc test "$rc" = 1
inroot apt-get install -y -q --no-install-recommends libnftables1 >"$TMP/install2" 2>&1
LAST_OUT=$TMP/install2 check install-recommends test $? = 0
inroot -n mtuwatch doctor >"$TMP/doctor" 2>&1
rc=$?
LAST_OUT=$TMP/doctor
check root-doctor has "$TMP/doctor" \
	'^mtuwatch doctor: 0 error(s), 0 warning(s), 0 info in 1 namespace'
check root-doctor-rc test "$rc" = 0

# The unit is there, would be wanted by multi-user.target, and is not enabled.
unit=$ROOT/lib/systemd/system/mtuwatch-exporter.service
LAST_OUT=$unit
check unit-installed has "$unit" '^ExecStart=/usr/sbin/mtuwatch export'
check unit-wanted-by has "$unit" '^WantedBy=multi-user.target'
check unit-not-enabled \
	test ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/mtuwatch-exporter.service"

# ---- removal ---------------------------------------------------------------------------------
rm -f "$ROOT/tmp/${deb##*/}"
ours() { find "$ROOT" -xdev -name '*mtuwatch*' | sed "s|^$ROOT||" | sort; }
ours >"$TMP/ours-before"
LAST_OUT=$TMP/ours-before check files-before-purge test "$(grep -c . "$TMP/ours-before")" -gt 5 -a \
	"$(grep -c '^/usr/sbin/mtuwatch$' "$TMP/ours-before")" = 1
inroot dpkg --purge mtuwatch >"$TMP/purge" 2>&1
LAST_OUT=$TMP/purge check purge test $? = 0
ours >"$TMP/ours-after"
LAST_OUT=$TMP/ours-after check purge-leaves-no-file test ! -s "$TMP/ours-after"
inroot dpkg-query -W mtuwatch >"$TMP/query" 2>&1
LAST_OUT=$TMP/query check purge-forgotten test $? = 1
elapsed total
