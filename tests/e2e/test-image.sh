#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The container image (issue 31, docs/packaging.md): `make image` builds and tags it; podman runs
# it as deploy/kubernetes/daemonset.yaml does: uid 0, every capability dropped but BPF, PERFMON
# and NET_ADMIN, read-only root, no privilege escalation, /sys/kernel/btf mounted read-only, the
# web config with mutual TLS and basic auth mounted read-only on /etc/mtuwatch, the DaemonSet's
# arguments; the metrics are scraped over HTTPS (build_info says the version, every program
# attached). The init container's `cleanup` runs with NET_ADMIN alone.
# Stand-ins for what a node gives and this machine lacks (docs/packaging.md says why):
#  - hostNetwork: a network namespace of this test's, shared by the container and curl;
#  - the seccomp profile: deploy/image/seccomp.sh (Debian 12's podman default allows bpf() and
#    perf_event_open() only with CAP_SYS_ADMIN, the case the DaemonSet's comment covers);
#  - runc (MW_PODMAN_RUNTIME): crun refuses this machine's hybrid cgroup v1/v2 layout;
#  - --ulimit: podman raises the limits by default, which needs CAP_SYS_RESOURCE.
# Run as root: OUT=build bash tests/e2e/test-image.sh.
# shellcheck disable=SC2016 # a bcrypt hash and podman's templates, literal
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# make, deploy/ and VERSION are the tree's: run from its top, as tests/run.sh does.
cd "$(dirname "$0")/../.." || exit 1

RUNTIME=${MW_PODMAN_RUNTIME:-runc}
NS=mw-image-$MW_LAB_ID
NAME=mw-image-$MW_LAB_ID
LAST_OUT=$TMP/out
start=$(date +%s)
elapsed() { echo "time: $1 $(($(date +%s) - start)) s"; }
cleanup() {
	podman rm -f -t 5 "$NAME" >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
# Every run names its network (none, or the test's namespace): podman's default one would add a
# bridge, iptables chains and ip_forward=1 to the host.
run() {
	podman --runtime "$RUNTIME" run --ulimit nofile=1024:1024 --ulimit nproc=16384:16384 "$@"
}

# ---- build ----------------------------------------------------------------------------------
ver=$(make -s --no-print-directory version)
tag=${ver//+/_}
make -s --no-print-directory image OUT="$OUT" >"$TMP/image.log" 2>&1
LAST_OUT=$TMP/image.log check "image-built-$tag" podman image exists "mtuwatch:$tag"
podman image exists "mtuwatch:$tag" || exit 1
elapsed image
size=$(podman image inspect --format '{{.Size}}' "mtuwatch:$tag")
echo "size: mtuwatch:$tag $size bytes"
check image-latest-same test "$(podman image inspect --format '{{.Id}}' mtuwatch:latest)" = \
	"$(podman image inspect --format '{{.Id}}' "mtuwatch:$tag")"
check image-label-version test \
	"$(podman image inspect --format '{{index .Labels "org.opencontainers.image.version"}}' \
	   "mtuwatch:$tag")" = "$ver"
run --rm --network none --cap-drop=all "mtuwatch:$tag" version >"$TMP/version" 2>&1
LAST_OUT=$TMP/version check image-version has "$TMP/version" "^mtuwatch $ver (kernel "
# Trimmed: no apt, no man pages or locales, of the docs only the copyright files.
run --rm --network none --cap-drop=all --entrypoint /bin/sh "mtuwatch:$tag" -c '
	ls /usr/share/doc/*/copyright | wc -l
	find /usr/share/man /usr/share/locale /usr/share/doc -mindepth 1 ! -type d ! -type l \
		! -name copyright
	command -v apt-get
	dpkg-query -W mtuwatch' >"$TMP/trim" 2>&1
LAST_OUT=$TMP/trim check image-trimmed test "$(sed -n '1{/^[1-9][0-9]*$/p}' "$TMP/trim")" -a \
	"$(sed 1d "$TMP/trim")" = "mtuwatch	$ver"

# ---- the web config of deploy/kubernetes/web-config-secret.yaml, with files and a password --
ETC=$TMP/etc
mkdir -p "$ETC"
(
	cd "$ETC" || exit 1
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2)
	openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -subj /CN=mtuwatch-test-ca &&
		openssl req "${ec[@]}" -keyout tls.key -out tls.csr -subj /CN=127.0.0.1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >tls.ext &&
		openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile tls.ext -out tls.crt &&
		openssl req "${ec[@]}" -keyout client.key -out client.csr -subj /CN=prometheus &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile client.ext -out client.crt
) >"$TMP/pki.log" 2>&1 || { fail pki "$(tail -c 300 "$TMP/pki.log")"; exit 1; }
# bcrypt (cost 10) of s3cret-scrape, as in test-export.sh; replaces the Secret's placeholder.
hash='$2b$10$q46S45iLP.qpel6MAh8SueZW01nDxGDaRTThisRyAJC9r9UrtHlLW'
awk -v h="$hash" '/^  web.yml: [|]/ { f = 1; next }
	f && /^    / { sub(/^    /, ""); if ($1 == "prometheus:") $0 = "  prometheus: " h
		print; next }
	f { exit }' deploy/kubernetes/web-config-secret.yaml >"$ETC/web.yml"
# The projected volume's mode (defaultMode 0400).
mkdir -p "$ETC/secret"
for f in web.yml tls.crt tls.key ca.crt; do
	mv "$ETC/$f" "$ETC/secret/" && chmod 0400 "$ETC/secret/$f"
done
bash deploy/image/seccomp.sh >"$TMP/seccomp.json"

# ---- the DaemonSet's container ----------------------------------------------------------------
ip netns del "$NS" 2>/dev/null
if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	fail netns "cannot make $NS"
	exit 1
fi
run -d --name "$NAME" --network "ns:/run/netns/$NS" --user 0 --read-only \
	--security-opt no-new-privileges --security-opt "seccomp=$TMP/seccomp.json" \
	--cap-drop=all --cap-add=BPF,PERFMON,NET_ADMIN \
	-v /sys/kernel/btf:/sys/kernel/btf:ro -v "$ETC/secret:/etc/mtuwatch:ro" \
	"mtuwatch:$tag" export --listen 0.0.0.0:9877 --web-config /etc/mtuwatch/web.yml \
	>"$TMP/run" 2>&1
LAST_OUT=$TMP/run check container-started test $? = 0
scrape() {
	ip netns exec "$NS" curl -sS --max-time 5 --cacert "$ETC/secret/ca.crt" \
		--cert "$ETC/client.crt" --key "$ETC/client.key" -u prometheus:s3cret-scrape \
		https://127.0.0.1:9877/metrics
}
# The listener accepts once the programs are loaded; bounded by the container staying up.
for _ in $(seq 150); do
	scrape >"$TMP/metrics" 2>"$TMP/curl" && break
	[ "$(podman inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || break
	sleep 0.2
done
podman logs "$NAME" >"$TMP/logs" 2>&1
cat "$TMP/curl" >>"$TMP/logs"
LAST_OUT=$TMP/logs
check scrape-build-info has "$TMP/metrics" "^mtuwatch_build_info{version=\"$ver\",kernel="
check scrape-attached has "$TMP/metrics" '^mtuwatch_program_attached{.*} 1$'
check scrape-none-degraded hasnt "$TMP/metrics" '^mtuwatch_program_attached{.*} 0$'
ip netns exec "$NS" curl -sS --max-time 5 --cacert "$ETC/secret/ca.crt" \
	--cert "$ETC/client.crt" --key "$ETC/client.key" https://127.0.0.1:9877/metrics \
	-o /dev/null -w '%{http_code}\n' >"$TMP/noauth" 2>&1
LAST_OUT=$TMP/noauth check scrape-needs-password has "$TMP/noauth" '^401$'
podman stop -t 10 "$NAME" >/dev/null 2>&1
check container-stopped-cleanly test \
	"$(podman inspect --format '{{.State.ExitCode}}' "$NAME" 2>&1)" = 0
podman rm -f "$NAME" >/dev/null 2>&1
elapsed export

# The init container: cleanup with NET_ADMIN alone, read-only.
run --rm --network "ns:/run/netns/$NS" --user 0 --read-only --security-opt no-new-privileges \
	--cap-drop=all --cap-add=NET_ADMIN "mtuwatch:$tag" cleanup >"$TMP/cleanup" 2>&1
LAST_OUT=$TMP/cleanup check init-cleanup test $? = 0
elapsed total
