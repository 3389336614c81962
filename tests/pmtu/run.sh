#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make check-pmtu: the kernel's own PMTU selftest (pmtu.sh, ../shared/external/selftests-net or
# PMTU_SELFTESTS) as an oracle for mtuwatch. Each test runs without mtuwatch, then with one
# mtuwatch --json in every namespace of the test, started at its first MTU change (pass
# "before") and at its first traffic (pass "after"); tests/pmtu/hooks.sh is the wrapping.
# A test passes when every exception pmtu.sh asserts (made by a Packet Too Big: not the ones a
# local MTU change re-computes) shows up as pmtu_learned with that MTU in its namespace, no
# mtuwatch verdict or summary is anything but pmtu_learned / ptb_sent / none, mtuwatch exits
# cleanly, and pmtu.sh's own results are the same with and without it. list_flush tests run
# PMTU_REPEAT times (10) without and as often with mtuwatch (half in each pass).
# One line per test and variant, "PASS: pmtu/NAME" or "FAIL: pmtu/NAME: why", the table, then
# "N passed, N failed". Root; take /tmp/mw-e2e.lock when other labs may run (the namespaces
# pmtu.sh makes are not ours to name).
set -u
OUT=${OUT:-build}
cd "$(dirname "$0")/../.." || exit 1
MW=$(readlink -f "$OUT/mtuwatch")
SRC=${PMTU_SELFTESTS:-../shared/external/selftests-net}

REPEAT=${PMTU_REPEAT:-10}
# The tests that run on the project's VM kernel (docs/scenarios.md says why the others do not).
DEFAULT_TESTS="pmtu_ipv4_exception pmtu_ipv6_exception
	pmtu_ipv4_vxlan4_exception pmtu_ipv6_vxlan4_exception
	pmtu_ipv4_vxlan6_exception pmtu_ipv6_vxlan6_exception
	pmtu_ipv4_br_vxlan4_exception pmtu_ipv6_br_vxlan4_exception
	pmtu_ipv4_br_vxlan6_exception pmtu_ipv6_br_vxlan6_exception
	cleanup_ipv4_exception cleanup_ipv6_exception
	list_flush_ipv4_exception list_flush_ipv6_exception
	pmtu_ipv4_route_change pmtu_ipv6_route_change"
TESTS=${PMTU_TESTS:-$DEFAULT_TESTS}

if [ "$(id -u)" != 0 ]; then
	echo "FAIL: pmtu: needs root (run: sudo make check-pmtu)"
	echo
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -f "$SRC/pmtu.sh" ] || [ ! -f "$SRC/lib.sh" ] || [ ! -x "$MW" ]; then
	echo "FAIL: pmtu: need $SRC/pmtu.sh, lib.sh and $OUT/mtuwatch" \
		"(set PMTU_SELFTESTS, run make)"
	echo
	echo "0 passed, 1 failed"
	exit 1
fi
for t in $TESTS; do
	if ! grep -q "^test_$t()" "$SRC/pmtu.sh"; then
		echo "no test $t in $SRC/pmtu.sh (see: bash $SRC/pmtu.sh -h)" >&2
		exit 2
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-pmtu.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The copy: pmtu.sh and lib.sh unchanged but for one line that sources the hooks, put before
# the main part's `trap cleanup EXIT` (after every function pmtu.sh defines).
cp "$SRC/pmtu.sh" "$SRC/lib.sh" "$TMP/"
cp tests/pmtu/hooks.sh "$TMP/mw-hooks.sh"
if [ "$(grep -c '^trap cleanup EXIT$' "$TMP/pmtu.sh")" != 1 ]; then
	echo "FAIL: pmtu: $SRC/pmtu.sh has no single top-level 'trap cleanup EXIT' to hook before"
	echo
	echo "0 passed, 1 failed"
	exit 1
fi
sed -i 's/^trap cleanup EXIT$/. .\/mw-hooks.sh\n&/' "$TMP/pmtu.sh"

pass=0
fail=0
rows=()
start=$(date +%s)

# runs TEST MODE N: pmtu.sh TEST N times with MW_PMTU_PASS=MODE, into $TMP/TEST/MODE/i
runs() {
	local t=$1 mode=$2 n=$3 i d

	for i in $(seq "$n"); do
		d="$TMP/$t/$mode/$i"
		mkdir -p "$d"
		(cd "$TMP" && MW="$MW" MW_PMTU_PASS=$mode MW_PMTU_DIR="$d" \
			timeout 900 bash ./pmtu.sh "$t") >"$d/log" 2>&1
	done
}

# tally T V MODE: "OK 10" / "OK 7, FAIL 3": pmtu.sh's results of one variant in one mode
tally() {
	local r
	for r in "$TMP/$1/$3"/*/"$1.$2/rc"; do
		case $(cat "$r" 2>/dev/null) in
		0) echo OK ;; 1) echo FAIL ;; 4) echo SKIP ;; *) echo "rc$(cat "$r" 2>/dev/null)" ;;
		esac
	done | sort | uniq -c | awk '{ printf("%s%s %s", (NR > 1 ? ", " : ""), $2, $1) }'
}

# kinds "OK 7, FAIL 3": "OK, FAIL"
kinds() {
	local k=$1
	echo "${k//[0-9 ]/}"
}

# The exceptions a Packet Too Big made: not those a local MTU change re-computed, not "none
# expected" (an empty expectation). Lines: NS DST MTU.
ptb_asserts() {
	awk '$3 != "" && $3 != "any" && ($5 == "exceeding" || $5 == "tcp:" || $5 == "tcp" ||
	     $5 == "listed") { m = $3; sub(/^lock_/, "", m); print $1, $2, m }' "$1"
}

# judge T V MODE: "asserted found alarms" over every run of the mode; errors into $TMP/why
judge() {
	local t=$1 v=$2 mode=$3 d ns dst m a=0 f=0 al=0 n
	for d in "$TMP/$t/$mode"/*/"$t.$v"; do
		[ -d "$d" ] || continue
		[ -f "$d/errors" ] && sed "s|^|$mode: |" "$d/errors" >>"$TMP/why.$t.$v"
		if [ "$mode" != none ] && [ ! -f "$d/started" ]; then
			echo "$mode: mtuwatch never started (no MTU change, no traffic)" \
				>>"$TMP/why.$t.$v"
		fi
		while read -r ns dst m; do
			a=$((a + 1))
			[ "$mode" = none ] && continue
			if [ -f "$d/mw.$ns.json" ] && jq -c --arg d "$dst" --argjson m "$m" \
				'select(.verdict == "pmtu_learned" and .summary != true and
				 .dst == $d and .mtu == $m)' "$d/mw.$ns.json" 2>/dev/null |
				grep -q .; then
				f=$((f + 1))
			else
				echo "$mode: no pmtu_learned $dst mtu $m in $ns" >>"$TMP/why.$t.$v"
			fi
		done < <(ptb_asserts "$d/asserts")
		for ns in "$d"/mw.*.json; do
			[ -f "$ns" ] || continue
			n=$(jq -c 'select(.verdict != null and .verdict != "pmtu_learned" and
				.verdict != "ptb_sent" and .verdict != "none")' "$ns" 2>/dev/null |
				tee -a "$TMP/alarms.$t.$v" | wc -l)
			al=$((al + n))
		done
	done
	echo "$a $f $al"
}

for t in $TESTS; do
	n=1
	case $t in list_flush_*) n=$REPEAT ;; esac
	runs "$t" none "$n"
	runs "$t" before $(((n + 1) / 2))
	runs "$t" after $((n / 2 > 0 ? n / 2 : 1))
	for v in plain nh; do
		ls "$TMP/$t"/none/*/"$t.$v/rc" >/dev/null 2>&1 || continue
		name=$t
		[ "$v" = nh ] && name="$t-nh"
		without=$(tally "$t" "$v" none)
		wb=$(tally "$t" "$v" before)
		wa=$(tally "$t" "$v" after)
		read -r a0 _ _ < <(judge "$t" "$v" none)
		a0=$((a0 / n))
		read -r ab fb alb < <(judge "$t" "$v" before)
		read -r aa fa ala < <(judge "$t" "$v" after)
		why=()
		case $without in *SKIP*) why+=("pmtu.sh skips it here: $(grep -m1 -B1 'SKIP' \
			"$TMP/$t"/none/1/log | head -1 | sed 's/^ *//')") ;; esac
		# the same kinds of result (OK, FAIL...) with as without; the counts differ
		[ "$(kinds "$wb")" = "$(kinds "$without")" ] &&
			[ "$(kinds "$wa")" = "$(kinds "$without")" ] ||
			why+=("pmtu.sh: $without without mtuwatch, $wb / $wa with")
		[ "$fb" -eq "$ab" ] && [ "$fa" -eq "$aa" ] ||
			why+=("pmtu_learned for $fb/$ab (before) $fa/$aa (after) asserted")
		[ "$alb" -eq 0 ] && [ "$ala" -eq 0 ] ||
			why+=("$alb + $ala alarms: $(jq -r '.verdict' "$TMP/alarms.$t.$v" |
				sort | uniq -c |
				awk '{ printf("%s%s x%s", (NR > 1 ? ", " : ""), $2, $1) }')")
		[ -f "$TMP/why.$t.$v" ] &&
			why+=("$(sort -u "$TMP/why.$t.$v" | head -3 | paste -sd';')")
		if [ ${#why[@]} -eq 0 ]; then
			echo "PASS: pmtu/$name"
			pass=$((pass + 1))
		else
			echo "FAIL: pmtu/$name: $(IFS=';'; echo "${why[*]}")"
			fail=$((fail + 1))
		fi
		rows+=("$(printf '%-36s %-9s %-9s %-9s %8s %6s %6s %4s %4s' "$name" \
			"$without" "$wb" "$wa" "$a0" "$fb/$ab" "$fa/$aa" "$alb" "$ala")")
	done
	if [ -n "${PMTU_KEEP:-}" ]; then
		mkdir -p "$PMTU_KEEP" && rm -rf "${PMTU_KEEP:?}/$t" && cp -r "$TMP/$t" "$PMTU_KEEP/"
	fi
done

echo
printf '%-36s %-9s %-9s %-9s %8s %6s %6s %4s %4s\n' TEST WITHOUT BEFORE AFTER ASSERTED \
	FOUND-B FOUND-A AL-B AL-A
printf '%s\n' "${rows[@]}"
echo "(pmtu.sh's results without mtuwatch / with it started at the first MTU change / at the"
echo " first traffic; ASSERTED: exceptions made by a Packet Too Big that pmtu.sh asserts in one"
echo " run; FOUND-B/-A: of those, pmtu_learned with that MTU, over the runs of each pass;"
echo " AL-B/-A: alarm verdicts, findings and summaries, per pass)"
echo "run time: $(($(date +%s) - start)) s"
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
