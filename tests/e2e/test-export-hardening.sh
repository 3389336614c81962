#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The exporter under attack (issue 29): a planted symlink in the textfile directory, a connect
# flood, a bad-password flood, RSA key exchange and TLS versions, a password with a NUL in it,
# a hostile web config. Each case reproduces the attack, bounded, on the loopback of a
# namespace made here (or in a temporary directory), and asserts that the attack ran as well
# as that it failed.
# Run as root: MW_LAB_ID=xNAME OUT=build bash tests/e2e/test-export-hardening.sh (one PASS/FAIL
# line per case, exit 0).
# shellcheck disable=SC2016 # single-quoted scripts for sh -c, expanded there
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NS=mwh-$MW_LAB_ID
PORT=19879
# A private copy: others may rebuild $OUT/mtuwatch while this runs.
cp "$MW" "$TMP/mtuwatch" && MW=$TMP/mtuwatch
BG=()
# shellcheck disable=SC2317 # called from the trap
bg_cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do wait "$p" 2>/dev/null; done
	BG=()
}
trap 'bg_cleanup; ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT
ip netns del "$NS" 2>/dev/null
ip netns add "$NS" && ip -n "$NS" link set lo up || { fail setup "cannot make $NS"; exit 0; }
nsx() { ip netns exec "$NS" "$@"; }
oneline() { tail -c 400 "$1" 2>/dev/null | tr '\n' ' '; }
wait_listen() { # wait_listen PORT: a listener on PORT in $NS, up to 10 s
	for _ in $(seq 100); do
		nsx ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# --- textfile: a planted symlink is never followed ----------------------------------------
# textfile_run DIR TAG: `export --textfile DIR` for 2 s; before it execs, a symlink owned by
# nobody is planted at the temporary name older versions used (DIR/.mtuwatch.prom.<pid>),
# pointing at TMP/TAG.target, a root-owned 0600 file. Sets TF_RC.
textfile_run() {
	local dir=$1 tag=$2 pid
	printf 'precious\n' >"$TMP/$tag.target"
	chmod 600 "$TMP/$tag.target"
	rm -f "$TMP/$tag.go" "$TMP/$tag.pid"
	nsx timeout 30 sh -c 'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.02; done
		exec "$3" export --textfile "$4" --duration 2' sh "$TMP/$tag.pid" "$TMP/$tag.go" \
		"$MW" "$dir" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	local job=$!
	for _ in $(seq 100); do [ -s "$TMP/$tag.pid" ] && break; sleep 0.05; done
	pid=$(cat "$TMP/$tag.pid")
	ln -s "$TMP/$tag.target" "$dir/.mtuwatch.prom.$pid"
	chown -h nobody "$dir/.mtuwatch.prom.$pid"
	touch "$TMP/$tag.go"
	wait "$job"
	TF_RC=$?
	TF_LINK=$dir/.mtuwatch.prom.$pid
}

# A world-writable directory without the sticky bit: refused at start, exit 1, one line.
mkdir -p "$TMP/ww" && chmod 0777 "$TMP/ww"
textfile_run "$TMP/ww" ww
if [ ! -L "$TF_LINK" ]; then
	fail textfile-world-writable-refused "the planted link is missing"
elif [ "$TF_RC" != 1 ] || [ "$(wc -l <"$TMP/ww.err")" != 1 ] ||
	! grep -q "world-writable" "$TMP/ww.err"; then
	fail textfile-world-writable-refused "rc $TF_RC, stderr: $(oneline "$TMP/ww.err")"
elif [ "$(cat "$TMP/ww.target")" != precious ] || [ -e "$TMP/ww/mtuwatch.prom" ]; then
	fail textfile-world-writable-refused "the target was written: $(head -c 80 "$TMP/ww.target")"
else
	pass textfile-world-writable-refused
fi

# A directory the exporter may use, with links planted at the old temporary name and at the
# target name: the metrics replace the link at mtuwatch.prom, the linked files keep their
# content, the link at the old name is left alone.
mkdir -p "$TMP/td" && chmod 0755 "$TMP/td"
printf 'precious\n' >"$TMP/td2.target"
chmod 600 "$TMP/td2.target"
ln -s "$TMP/td2.target" "$TMP/td/mtuwatch.prom"
textfile_run "$TMP/td" td
mode=$(stat -c %a "$TMP/td/mtuwatch.prom" 2>/dev/null)
if [ "$TF_RC" != 0 ]; then
	fail textfile-no-symlink-followed "rc $TF_RC: $(oneline "$TMP/td.err")"
elif ! grep -q '^mtuwatch_build_info' "$TMP/td/mtuwatch.prom" 2>/dev/null ||
	[ -L "$TMP/td/mtuwatch.prom" ] || [ "$mode" != 644 ]; then
	fail textfile-no-symlink-followed "no regular 0644 metrics file (mode $mode)"
elif [ "$(cat "$TMP/td.target")" != precious ] || [ "$(cat "$TMP/td2.target")" != precious ]; then
	fail textfile-no-symlink-followed "a linked file was written: $(head -c 60 "$TMP/td.target")"
elif [ ! -L "$TF_LINK" ] || [ "$(find "$TMP/td" -name '.mtuwatch.prom.*' | wc -l)" != 1 ]; then
	fail textfile-no-symlink-followed "the planted link changed or temporaries are left"
else
	pass textfile-no-symlink-followed
fi
