#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `report --html` (issue 30) on the seeds' recordings, opened in a real browser (Debian's
# chromium, headless): a black hole (filtered) and a stalled TLS handshake (silent), the latter
# recorded under a hostname and beside an interface whose names are markup. The page loads
# without a console message, the DOM holds each finding's path with its timeline and the marks
# its events make, the finding lines are report's own, markup in the recording stays text.
# Screenshots are kept in $OUT/artefacts/. About 40 s.
. "$(dirname "$0")/lib.sh"

ART=$(readlink -f "$OUT")/artefacts
mkdir -p "$ART"
# One chromium per call, its own profile (nothing shared with another run), bounded.
browse() {
	local page=$1 dom=$2 log=$3
	timeout 90 chromium --headless --disable-gpu --no-sandbox --user-data-dir="$TMP/profile" \
		--enable-logging=stderr --v=0 --dump-dom "file://$page" >"$dom" 2>"$log"
}
shot() {
	timeout 90 chromium --headless --disable-gpu --no-sandbox --user-data-dir="$TMP/profile" \
		--hide-scrollbars --window-size=1100,1000 --screenshot="$2" "file://$1" \
		>/dev/null 2>&1
}
# loaded DOM LOG: the dumped DOM is a whole page and the browser's log holds no console
# message the page caused (script output, policy refusals, failed loads)
loaded() {
	grep -q '</html>' "$1" || return 1
	grep -Eq ':CONSOLE|Refused to|net::ERR_' "$2"
	[ $? = 1 ]
}
# in FILE ERE...: FILE holds a line matching each ERE
in_file() {
	local f=$1 re
	shift
	for re; do grep -Eq -- "$re" "$f" || return 1; done
}
in_fixed() {
	local f=$1 s
	shift
	for s; do grep -qF -- "$s" "$f" || return 1; done
}
count_is() { [ "$(grep -c -- "$2" "$1")" = "$3" ]; }
is_png() { head -c 8 "$1" | grep -q PNG; }
# the <section> of a path's timeline in a dumped DOM
section() {
	awk -v p="data-prefix=\"$2\"" 'index($0, "<section class=\"timeline-path\"") && index($0, p) \
		{ on = 1 } on { print } on && /<\/section>/ { exit }' "$1"
}
# the finding lines of a page, unescaped
page_lines() {
	grep -o '<li class="finding"[^>]*><code>.*</code></li>' "$1" |
		sed -e 's/^.*<code>//' -e 's/<\/code><\/li>$//' -e 's/&lt;/</g' -e 's/&gt;/>/g' \
			-e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&amp;/\&/g'
}

LAST_OUT=$TMP/chromium.log
have() { command -v "$1" >/dev/null; }
check "html-chromium-installed" have chromium

# The console check itself: a script's message and a refusal by the page's own policy show up.
printf '%s\n' '<!DOCTYPE html><html><body><p>x</p>' \
	'<script>console.error("mw-control")</script></body></html>' >"$TMP/control.html"
browse "$TMP/control.html" "$TMP/control.dom" "$TMP/control.log"
LAST_OUT=$TMP/control.log
caught() { grep -q "$3" "$2" && ! loaded "$1" "$2"; }
check "html-console-check-sees-a-message" caught "$TMP/control.dom" "$TMP/control.log" \
	':CONSOLE.*mw-control'
{
	echo '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"'
	echo "content=\"default-src 'none'; style-src 'unsafe-inline'\"></head><body><p>x</p>"
	echo '<script>console.error("mw-ran")</script></body></html>'
} >"$TMP/csp.html"
browse "$TMP/csp.html" "$TMP/csp.dom" "$TMP/csp.log"
LAST_OUT=$TMP/csp.log
refused() { grep -q ':CONSOLE.*Content Security Policy' "$1" && ! grep -q mw-ran "$1"; }
check "html-page-policy-refuses-scripts" refused "$TMP/csp.log"

# -- a black hole: the client sends 9000-byte DF segments, the router's PTB is filtered
lab_up filtered >/dev/null 2>&1 || fail "html-lab-filtered" "lab_up failed"
mw_start cli "$TMP/bh.rec.out" record -f -o "$TMP/bh.data"
lab_bulk filtered 3 >/dev/null 2>&1
mw_stop
"$MW" report -i "$TMP/bh.data" >"$TMP/bh.txt" 2>&1
"$MW" report -i "$TMP/bh.data" --html "$TMP/bh.html" >"$TMP/bh.html.out" 2>&1
rc=$?
LAST_OUT=$TMP/bh.html.out
check "html-blackhole-written" test "$rc" = 0 -a -s "$TMP/bh.html" -a ! -s "$TMP/bh.html.out"
LAST_OUT=$TMP/bh.txt
check "html-blackhole-recording-has-finding" has "$TMP/bh.txt" "^icmp_blackhole $MW_SRV4: "
browse "$TMP/bh.html" "$TMP/bh.dom" "$TMP/bh.log"
LAST_OUT=$TMP/bh.log
check "html-blackhole-loads-without-console-messages" loaded "$TMP/bh.dom" "$TMP/bh.log"
section "$TMP/bh.dom" "$MW_SRV4" >"$TMP/bh.sec"
LAST_OUT=$TMP/bh.sec
G_PATH="<g class=\"path\" data-prefix=\"$MW_SRV4\">"
check "html-blackhole-timeline" in_file "$TMP/bh.sec" "$G_PATH" \
	'class="finding-at" data-verdict="icmp_blackhole"'
# (No delivered mark: iperf3's first small segments leave before its flow is tracked, at its
# first 9000-byte segment, which never arrives: design.md, connections that earn a flow.)
check "html-blackhole-marks" in_file "$TMP/bh.sec" '<circle [^>]*class="mark resend' \
	'<circle [^>]*class="mark sent' '<circle [^>]*class="mark sent over' 'data-size="9000"'
check "html-blackhole-bracket-line" in_file "$TMP/bh.sec" '<line class="(bracket hi|mtu measured)"'
# the finding lines are report's, character for character
page_lines "$TMP/bh.html" >"$TMP/bh.lines"
grep -E '^[a-z_]+ +[0-9a-f:.]+( \[[^]]*\])?: ' "$TMP/bh.txt" >"$TMP/bh.want"
LAST_OUT=$TMP/bh.lines
same_lines() { test -s "$1" && diff "$1" "$2"; }
check "html-finding-lines-are-reports" same_lines "$TMP/bh.want" "$TMP/bh.lines"
shot "$TMP/bh.html" "$ART/html-blackhole.png"
LAST_OUT=$TMP/bh.log
check "html-blackhole-screenshot" is_png "$ART/html-blackhole.png"

# -- a stalled TLS handshake: the server's large flight is lost (silent), recorded under a
# hostname and beside an interface named as markup
lab_up silent >/dev/null 2>&1 || fail "html-lab-silent" "lab_up failed"
lab_tls_server >/dev/null 2>&1
HOSTILE_HOST='<script>console.error(1)</script>'
HOSTILE_IF='"><i>x'
ip netns exec "$(lab_ns cli)" ip link add "$HOSTILE_IF" type veth peer name mwx-peer
ip netns exec "$(lab_ns cli)" ip link set "$HOSTILE_IF" up
ip netns exec "$(lab_ns cli)" ip link set mwx-peer up
# (hostname(1) refuses such a name; the kernel takes any bytes)
ip netns exec "$(lab_ns cli)" unshare --uts \
	sh -c 'printf %s "$1" >/proc/sys/kernel/hostname; shift; exec "$@"' sh "$HOSTILE_HOST" \
	"$MW" record -f -o "$TMP/st.data" -- timeout 5 openssl s_client \
	-connect "$MW_SRV4:$MW_TLS_PORT" </dev/null >"$TMP/st.rec.out" 2>&1
"$MW" report -i "$TMP/st.data" >"$TMP/st.txt" 2>&1
"$MW" report -i "$TMP/st.data" --html "$TMP/st.html" >"$TMP/st.html.out" 2>&1
rc=$?
LAST_OUT=$TMP/st.txt
check "html-stall-recording-has-finding" has "$TMP/st.txt" "^stalled_tls .*$MW_SRV4"
check "html-hostile-recording-holds-markup" in_fixed "$TMP/st.txt" "# hostname: $HOSTILE_HOST" \
	"name=$HOSTILE_IF ifindex="
browse "$TMP/st.html" "$TMP/st.dom" "$TMP/st.log"
LAST_OUT=$TMP/st.log
check "html-stall-loads-without-console-messages" loaded "$TMP/st.dom" "$TMP/st.log"
section "$TMP/st.dom" "$MW_SRV4" >"$TMP/st.sec"
LAST_OUT=$TMP/st.sec
check "html-stall-timeline" in_file "$TMP/st.sec" "$G_PATH" \
	'class="finding-at" data-verdict="stalled_tls"'
check "html-stall-handshake-steps" in_file "$TMP/st.sec" \
	'<rect [^>]*class="mark hs out"[^>]*data-step="ClientHello"' '<rect [^>]*class="mark tcp-state'
LAST_OUT=$TMP/st.dom
check "html-hostile-text-escaped" in_fixed "$TMP/st.dom" \
	'&lt;script&gt;console.error(1)&lt;/script&gt;' 'name="&gt;&lt;i&gt;x ifindex='
check "html-hostile-no-script-element" count_is "$TMP/st.dom" '<script' 0
check "html-hostile-no-i-element" count_is "$TMP/st.dom" '<i>' 0
shot "$TMP/st.html" "$ART/html-stall.png"
LAST_OUT=$TMP/st.log
check "html-stall-screenshot" is_png "$ART/html-stall.png"

# usage: --html goes alone
"$MW" report -i "$TMP/st.data" --html "$TMP/x.html" --json >"$TMP/u.out" 2>&1
rc=$?
LAST_OUT=$TMP/u.out
check "html-with-json-is-usage-error" test "$rc" = 2 -a "$(wc -l <"$TMP/u.out")" = 1 -a \
	! -e "$TMP/x.html"
lab_down >/dev/null 2>&1
