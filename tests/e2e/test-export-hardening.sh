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
if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	fail setup "cannot make $NS"
	exit 0
fi
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
if [ "$(cat "$TMP/ww.target")" != precious ] || [ -e "$TMP/ww/mtuwatch.prom" ]; then
	fail textfile-world-writable-refused "the target was written: $(head -c 80 "$TMP/ww.target")"
elif [ ! -L "$TF_LINK" ]; then
	fail textfile-world-writable-refused "the planted link is missing"
elif [ "$TF_RC" != 1 ] || [ "$(wc -l <"$TMP/ww.err")" != 1 ] ||
	! grep -q "world-writable" "$TMP/ww.err"; then
	fail textfile-world-writable-refused "rc $TF_RC, stderr: $(oneline "$TMP/ww.err")"
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
if [ "$(cat "$TMP/td.target")" != precious ] || [ "$(cat "$TMP/td2.target")" != precious ]; then
	fail textfile-no-symlink-followed "a linked file was written: $(head -c 60 "$TMP/td.target")"
elif [ "$TF_RC" != 0 ]; then
	fail textfile-no-symlink-followed "rc $TF_RC: $(oneline "$TMP/td.err")"
elif ! grep -q '^mtuwatch_build_info' "$TMP/td/mtuwatch.prom" 2>/dev/null ||
	[ -L "$TMP/td/mtuwatch.prom" ] || [ "$mode" != 644 ]; then
	fail textfile-no-symlink-followed "no regular 0644 metrics file (mode $mode)"
elif [ ! -L "$TF_LINK" ] || [ "$(find "$TMP/td" -name '.mtuwatch.prom.*' | wc -l)" != 1 ]; then
	fail textfile-no-symlink-followed "the planted link changed or temporaries are left"
else
	pass textfile-no-symlink-followed
fi

# --- the exporter on the namespace's loopback ----------------------------------------------
# exp_start TAG ARGS...: `export --listen 127.0.0.1:PORT ARGS...` in the background, up once it
# listens; false (with its stderr in TAG.err) if it did not come up.
exp_start() {
	local tag=$1
	shift
	# Not through nsx: $! must be the process that gets the signal, not a subshell.
	ip netns exec "$NS" timeout 120 "$MW" export --listen "127.0.0.1:$PORT" "$@" \
		>"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	EXP=$!
	BG+=("$EXP")
	for _ in $(seq 200); do
		grep -q exporting "$TMP/$tag.err" 2>/dev/null && wait_listen "$PORT" && return 0
		kill -0 "$EXP" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
exp_stop() { # SIGTERM: a background job of a script ignores SIGINT
	kill -TERM "$EXP" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$EXP" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$EXP" 2>/dev/null
	wait "$EXP" 2>/dev/null
}

# A flooder on the namespace's loopback, from 127.0.0.2 (the scrapers use 127.0.0.1), or from
# the address in FLOOD_SRC:
#  connect RATE SECS: bare connects, never a byte sent, at most 800 held open (the oldest is
#    closed beyond); prints "issued N established M".
#  auth RATE SECS USER: GET /metrics with USER and a new wrong password each time; prints
#    "issued N 401 M other K".
cat >"$TMP/flood.py" <<'PY'
import base64, collections, os, selectors, socket, sys, time
port, mode, rate, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
user = sys.argv[5] if len(sys.argv) > 5 else ""
sel = selectors.DefaultSelector()
held = collections.deque()
issued = established = answered = other = 0
def new_sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((os.environ.get("FLOOD_SRC", "127.0.0.2"), 0))
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s
def done_connect(s):
    global established
    try:
        s.getpeername()
        established += 1
    except OSError:
        pass
start = time.monotonic()
while True:
    now = time.monotonic() - start
    if now >= secs:
        break
    while issued < int(now * rate):
        s = new_sock()
        issued += 1
        if mode == "connect":
            held.append(s)
            if len(held) > 800:
                o = held.popleft()
                done_connect(o)
                o.close()
        else:
            cred = base64.b64encode(f"{user}:guess-{issued}".encode()).decode()
            req = f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {cred}\r\n\r\n"
            sel.register(s, selectors.EVENT_WRITE, [req.encode(), b""])
    for key, ev in sel.select(timeout=0.001):
        s, st = key.fileobj, key.data
        if ev & selectors.EVENT_WRITE and st[0]:
            try:
                s.send(st[0])
            except OSError:
                sel.unregister(s); s.close(); other += 1; continue
            st[0] = b""
            sel.modify(s, selectors.EVENT_READ, st)
            continue
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            st[1] += d
            continue
        sel.unregister(s)
        s.close()
        if st[1].startswith(b"HTTP/1.1 401"):
            answered += 1
        else:
            other += 1
    if mode == "connect" and not sel.get_map():
        time.sleep(0.0005)
for s in held:
    done_connect(s)
    s.close()
if mode == "connect":
    print(f"issued {issued} established {established}")
else:
    print(f"issued {issued} 401 {answered} other {other}")
PY

# Connect flood: 1000 bare connects a second for 6 s from one address while a scraper asks
# every 200 ms: every scrape is answered (within curl's 3 s), and the flood really ran (it
# issued its connects and over 1000 were established, i.e. queued by the kernel for the
# exporter; before the fix the backlog overflowed: 1207 of 5999, 19 of 20 scrapes answered).
# connect_flood NAME SRC: the flood from SRC. From the scraper's own address (127.0.0.1) the
# source cannot tell them apart: a scrape survives because its request is already in its
# socket when a newcomer needs its slot (user/httpd.c pick_victim), the flood's are empty.
connect_flood() {
	local name=$1 src=$2 fpid ok=0 n=0 codes="" c issued est
	if ! exp_start "$name"; then
		fail "$name" "exporter did not start: $(oneline "$TMP/$name.err")"
		return
	fi
	FLOOD_SRC=$src nsx timeout 20 python3 "$TMP/flood.py" "$PORT" connect 1000 6 \
		>"$TMP/$name.stat" 2>&1 &
	fpid=$!
	BG+=("$fpid")
	sleep 0.5
	while [ "$n" -lt 20 ]; do
		c=$(nsx curl -s -o /dev/null --max-time 3 -w '%{http_code}' \
			"http://127.0.0.1:$PORT/metrics")
		[ "$c" = 200 ] && ok=$((ok + 1))
		codes="$codes $c"
		n=$((n + 1))
		sleep 0.2
	done
	wait "$fpid"
	read -r _ issued _ est <"$TMP/$name.stat"
	if [ "${issued:-0}" -lt 4000 ] || [ "${est:-0}" -lt 1000 ]; then
		fail "$name" "the flood did not run: $(oneline "$TMP/$name.stat")"
	elif [ "$ok" != 20 ]; then
		fail "$name" "$ok of 20 scrapes answered (codes:$codes; flood: $(oneline "$TMP/$name.stat"))"
	else
		pass "$name"
	fi
	echo "  connect flood from $src: $(cat "$TMP/$name.stat"), scrapes answered $ok/20"
	exp_stop
}
connect_flood connect-flood-scrapes-answered 127.0.0.2
connect_flood connect-flood-same-address-scrapes-answered 127.0.0.1

# --- basic auth ------------------------------------------------------------------------------
AUTH_PASS=s3cret-scrape
# bcrypt (cost 10) of $AUTH_PASS, as in test-export.sh
AUTH_HASH='$2b$10$q46S45iLP.qpel6MAh8SueZW01nDxGDaRTThisRyAJC9r9UrtHlLW'
cat >"$TMP/auth.yml" <<YML
basic_auth_users:
  alice: $AUTH_HASH
  bob: $AUTH_HASH
  carol: $AUTH_HASH
  dave: $AUTH_HASH
YML
# hdr CREDENTIALS: an Authorization header; CREDENTIALS may hold \0 (printf %b)
hdr() { printf 'Authorization: Basic %s' "$(printf '%b' "$1" | base64 -w0)"; }
code_of() { nsx curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/metrics"; }
if ! exp_start auth --web-config "$TMP/auth.yml"; then
	fail basic-auth-whole-password "exporter did not start: $(oneline "$TMP/auth.err")"
	fail bad-password-flood-first-login "exporter did not start"
else
	# A NUL in the decoded password: "s3cret-scrape\0junk" is not the password.
	good=$(code_of -H "$(hdr "alice:$AUTH_PASS")")
	nul=$(code_of -H "$(hdr "alice:$AUTH_PASS\\0junk")")
	if [ "$good" = 200 ] && [ "$nul" = 401 ]; then
		pass basic-auth-whole-password
	else
		fail basic-auth-whole-password "right password $good (want 200), with \\0junk $nul (want 401)"
	fi
	# 80 wrong passwords a second from 127.0.0.2; three users never seen before log in from
	# 127.0.0.1 during it: each first attempt gets 200.
	nsx timeout 20 python3 "$TMP/flood.py" "$PORT" auth 80 6 alice >"$TMP/aflood.stat" 2>&1 &
	fpid=$!
	BG+=("$fpid")
	sleep 1
	codes=""
	for u in bob carol dave; do
		codes="$codes $(code_of -u "$u:$AUTH_PASS")"
		sleep 0.5
	done
	wait "$fpid"
	read -r _ issued _ n401 _ <"$TMP/aflood.stat"
	if [ "${issued:-0}" -lt 400 ] || [ "${n401:-0}" -lt 300 ]; then
		fail bad-password-flood-first-login "the flood did not run: $(oneline "$TMP/aflood.stat")"
	elif [ "$codes" != " 200 200 200" ]; then
		fail bad-password-flood-first-login "first attempts got$codes, want 200 200 200 (flood: $(oneline "$TMP/aflood.stat"))"
	else
		pass bad-password-flood-first-login
	fi
	echo "  password flood: $(cat "$TMP/aflood.stat"), first logins:$codes"
	exp_stop
fi

# --- the shipped web config's placeholder hash logs nobody in ------------------------------
# Its basic_auth_users line, beside a user whose hash is known (so a 401 is the placeholder's
# doing, not a broken config): the likely passwords all get 401, the known user 200.
ph=$(sed -n 's/^ *prometheus: *\(\$2[aby]\$.*\)$/\1/p' \
	"$(dirname "$0")/../../deploy/kubernetes/web-config-secret.yaml")
printf 'basic_auth_users:\n  prometheus: %s\n  alice: %s\n' "$ph" "$AUTH_HASH" >"$TMP/ph.yml"
if [ -z "$ph" ]; then
	fail placeholder-hash-refuses-login "no prometheus: hash in deploy/kubernetes/web-config-secret.yaml"
elif ! exp_start ph --web-config "$TMP/ph.yml"; then
	fail placeholder-hash-refuses-login "exporter did not start: $(oneline "$TMP/ph.err")"
else
	codes=""
	for pw in "" change-me changeme prometheus password PLACEHOLDER admin mtuwatch; do
		codes="$codes $(code_of -u "prometheus:$pw")"
	done
	known=$(code_of -u "alice:$AUTH_PASS")
	if [ "$known" != 200 ]; then
		fail placeholder-hash-refuses-login "the known user got $known (want 200): config not in force"
	elif [ "$codes" != " 401 401 401 401 401 401 401 401" ]; then
		fail placeholder-hash-refuses-login "placeholder logins got$codes (want 401 each)"
	else
		pass placeholder-hash-refuses-login
	fi
	exp_stop
fi

# --- TLS: ECDHE only by default; min_version, cipher_suites, curve_preferences -------------
# An RSA certificate: with it, a TLS 1.2 client can offer RSA key exchange (an EC one cannot).
(
	cd "$TMP" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout rsa.key -out rsa.crt \
			-subj /CN=127.0.0.1
) >"$TMP/rsa.log" 2>&1 || fail tls-setup "openssl: $(oneline "$TMP/rsa.log")"
# tls_hs ARGS...: one handshake with openssl s_client; prints the cipher agreed, or "none"
tls_hs() {
	local c
	c=$(nsx timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "$@" </dev/null 2>/dev/null |
		sed -n 's/^.*Cipher is \([A-Z0-9_-]*\)$/\1/p' | head -1)
	[ -n "$c" ] && [ "$c" != "(NONE)" ] && echo "$c" || echo none
}
# tls_case NAME YAML-EXTRA WANT-OK-ARGS -- WANT-REFUSED-ARGS: the first handshake must succeed,
# the second must fail, against `cert_file: rsa.crt, key_file: rsa.key` plus YAML-EXTRA.
tls_case() {
	local name=$1 extra=$2 ok=() no=() a r
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ok+=("$1"); shift; done
	shift
	no=("$@")
	printf 'tls_server_config:\n  cert_file: rsa.crt\n  key_file: rsa.key\n%b' "$extra" \
		>"$TMP/$name.yml"
	if ! exp_start "$name" --web-config "$TMP/$name.yml"; then
		fail "$name" "exporter did not start: $(oneline "$TMP/$name.err")"
		return
	fi
	a=$(tls_hs "${ok[@]}")
	r=$(tls_hs "${no[@]}")
	if [ "$a" = none ]; then
		fail "$name" "the handshake that must work failed (${ok[*]})"
	elif [ "$r" != none ]; then
		fail "$name" "${no[*]} was accepted: $r"
	else
		pass "$name"
	fi
	exp_stop
}
tls_case tls12-no-rsa-key-exchange '' -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -- \
	-tls1_2 -cipher AES128-GCM-SHA256
tls_case tls-min-version-tls13 '  min_version: TLS13\n' -tls1_3 -- -tls1_2
tls_case tls-cipher-suites '  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n' \
	-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384 -- -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256
tls_case tls-curve-preferences '  curve_preferences: [CurveP384]\n' -tls1_2 -curves P-384 -- \
	-tls1_2 -curves X25519
