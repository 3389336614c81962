#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Connections we open earn a flow entry only when they need one (issue 28, a busy client): a
# recording in the client's namespace while it opens, both families, plain request/response
# connections (no ESTABLISHED event, no entry, no close events), plain ones that later send
# a large segment, and TLS and SSH handshakes of small first segments (each one ESTABLISHED
# event, from tc egress, and a flow the handshake is followed on). The server's side, a
# passive open, stays tracked from ESTABLISHED (test-churn).
# Run as root: flock /tmp/mw-e2e.lock env OUT=build bash tests/e2e/test-lazy.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DTOOL=$(readlink -f "$(dirname "$0")/../tools/churn-dsts.py")
PORT=18070
N=100
trap 'kill "$MW_PID" "$SRV_PID" 2>/dev/null; wait "$MW_PID" "$SRV_PID" 2>/dev/null
	lab_down >/dev/null 2>&1; rm -rf "$TMP"' EXIT

lab_up healthy >/dev/null 2>&1 || { fail lab-up "lab_up healthy failed"; exit 0; }
lab_tls_server >/dev/null 2>&1
lab_ssh_server >/dev/null 2>&1
lab_exec srv timeout 120 python3 "$DTOOL" serve "$PORT" >"$TMP/srv" 2>&1 &
SRV_PID=$!
for _ in $(seq 100); do grep -q listening "$TMP/srv" && break; sleep 0.05; done

# plain ADDR N: N request/response connections of one byte each way (the server closes first).
plain() {
	lab_exec cli timeout 60 python3 - "$1" "$PORT" "$2" <<'EOF'
import socket, sys
a, p, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = 0
for _ in range(n):
    c = socket.create_connection((a, p), timeout=5)
    c.sendall(b"q")
    if c.recv(1) == b"a" and c.recv(1) == b"":
        done += 1
    c.close()
print("done", done)
EOF
}
# late ADDR: one byte, then 20,000 (segments of the MSS) to the sink: plain first, large later.
late() {
	lab_exec cli timeout 30 python3 - "$1" "$((PORT + 1))" <<'EOF'
import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(b"x")
time.sleep(0.3)
c.sendall(b"y" * 20000)
c.shutdown(socket.SHUT_WR)
c.recv(1)
c.close()
print("sent")
EOF
}

mw_start cli "$TMP/rec.out" record -o "$TMP/rec.data" -f
plain "$MW_SRV4" "$N" >"$TMP/plain4"
plain "$MW_SRV6" "$N" >"$TMP/plain6"
late "$MW_SRV4" >"$TMP/late4"
late "$MW_SRV6" >"$TMP/late6"
lab_tls_client 8 4
TLS4=$?
lab_tls_client 8 6
TLS6=$?
lab_ssh_client 8 4
SSH4=$?
lab_ssh_client 8 6
SSH6=$?
mw_stop
"$MW" report -i "$TMP/rec.data" --raw >"$TMP/raw" 2>&1

# ESTABLISHED events of our own connections to port P (the server's are in its namespace):
# est, of tracked flows; alive, of untracked ones (MW_DIR_F_UNTRACKED: a sign of life only).
est() { grep -E "^[0-9.]+ state .*aux2=1 .*> [^ ]*:$1 " "$TMP/raw" | grep -vc 'dir=out/0x10 '; }
alive() { grep -E "^[0-9.]+ state .*aux2=1 .*> [^ ]*:$1 " "$TMP/raw" | grep -c 'dir=out/0x10 '; }
closing() { grep -E "^[0-9.]+ state .*> [^ ]*:$1 " "$TMP/raw" | grep -vc ' aux2=1 '; }
# First: everything ran, and the recording has our namespace's events.
LAST_OUT=$TMP/plain4
check "plain-v4-ran" grep -qx "done $N" "$TMP/plain4"
LAST_OUT=$TMP/plain6
check "plain-v6-ran" grep -qx "done $N" "$TMP/plain6"
LAST_OUT=$TMP/late4
check "late-v4-ran" grep -qx sent "$TMP/late4"
LAST_OUT=$TMP/late6
check "late-v6-ran" grep -qx sent "$TMP/late6"
LAST_OUT=$MW_LAB_DIR/tls-client.log
check "tls-handshakes-completed" test "$TLS4$TLS6" = 00
LAST_OUT=$MW_LAB_DIR/ssh-client.log
check "ssh-handshakes-completed" test "$SSH4$SSH6" = 00
LAST_OUT=$TMP/raw
check "recording-read" grep -q ' df_max ' "$TMP/raw"
# The plain connections: none of their 2 x N is tracked; each ESTABLISHED is a sign of life
# only, and no close is an event.
check "plain-no-established ($(est "$PORT"))" test "$(est "$PORT")" = 0
check "plain-sign-of-life-each ($(alive "$PORT"))" test "$(alive "$PORT")" = $((2 * N))
check "plain-no-closing ($(closing "$PORT"))" test "$(closing "$PORT")" = 0
# Plain, then a large segment: tracked from it (one ESTABLISHED each, and their closing).
check "late-large-tracked ($(est $((PORT + 1))))" test "$(est $((PORT + 1)))" = 2
check "late-large-closing ($(closing $((PORT + 1))))" test "$(closing $((PORT + 1)))" -ge 2
# TLS and SSH: tracked from their first payload; their handshakes followed (HS events).
check "tls-tracked ($(est "$MW_TLS_PORT"))" test "$(est "$MW_TLS_PORT")" = 2
check "ssh-tracked ($(est "$MW_SSH_PORT"))" test "$(est "$MW_SSH_PORT")" = 2
hs_to() { grep -E "^[0-9.]+ handshake .*> [^ ]*:$1 " "$TMP/raw" | grep -c "dir=$2"; }
check "tls-handshake-followed-both-ways" test "$(hs_to "$MW_TLS_PORT" out)" -ge 2 -a \
	"$(hs_to "$MW_TLS_PORT" in)" -ge 2
check "ssh-handshake-followed-both-ways" test "$(hs_to "$MW_SSH_PORT" out)" -ge 2 -a \
	"$(hs_to "$MW_SSH_PORT" in)" -ge 2
exit 0
