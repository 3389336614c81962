#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The man page is the one place that lists the stable vocabularies: verdicts, causes, ignore
# reasons and doctor checks (with their severities). The C tables are the truth; this checks
# that docs/mtuwatch.8 lists exactly what they hold, so a code added, renamed or removed in C
# fails here until the man page follows. Reads the sources only: no root, no kernel, no build.
# Run: bash tests/unit/test-docs.sh [ROOT] (one PASS/FAIL line per case).
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN=$ROOT/docs/mtuwatch.8
TMP=$(mktemp -d /tmp/mw-docs.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# Wherever the tables live (core*.c today; a header tomorrow), they live under these.
c_sources() { cat "$ROOT"/user/*.[ch] "$ROOT"/headers/*.h 2>/dev/null; }

# c_names PREFIX: the names of a designated-initializer table, e.g. [MW_C_RP_FILTER] = "rp_filter",
# without the NONE entry (a placeholder, never printed as a code), sorted
c_names() {
	c_sources | sed -n "s/^[[:space:]]*\[$1[A-Z0-9_]*\] = \"\([a-z0-9_]*\)\",.*/\1/p" |
		grep -vx none | sort -u
}
# c_doctor: "code severity" of each X(code, DR_SEV) row of doctor's check table, sorted
c_doctor() {
	c_sources | sed -n 's/^[[:space:]]*X(\([a-z0-9_]*\), DR_\([A-Z]*\)).*/\1 \2/p' |
		tr '[:upper:]' '[:lower:]' | sort -u
}

# man_section FILE START: the lines of the section or subsection whose header is START, up to
# the next .SH or .SS
man_section() {
	awk -v start="$2" '$0 == start { on = 1; next } on && /^\.S[HS] / { exit } on' "$1"
}
# man_items FILE START: the code of each ".TP" item in that section (its next line, ".B code")
man_items() {
	man_section "$1" "$2" | awk 'tp && /^\.B [a-z0-9_]+$/ { print $2 } { tp = ($0 == ".TP") }' |
		sort -u
}
# man_doctor FILE: "code severity" of each item of DOCTOR CHECKS (".BR code \" (severity)\"")
man_doctor() {
	man_section "$1" ".SH DOCTOR CHECKS" |
		sed -n 's/^\.BR \([a-z0-9_]*\) " (\(error\|warn\|info\))"$/\1 \2/p' | sort -u
}

# same NAME WANT GOT MIN: the two lists are equal and hold at least MIN entries (an empty or
# misparsed side must fail, not compare equal to another empty side)
same() {
	local n
	n=$(printf '%s\n' "$2" | grep -c .)
	if [ "$n" -lt "$4" ]; then
		fail "$1" "read only $n codes from the C tables (expected at least $4): did they move?"
	elif [ "$2" != "$3" ]; then
		fail "$1" "C has but the man page lacks: $(comm -23 <(echo "$2") <(echo "$3") |
			tr '\n' ' '); the man page has but C lacks: $(comm -13 <(echo "$2") \
			<(echo "$3") | tr '\n' ' ')"
	else
		pass "$1"
	fi
}

# check_all FILE: every vocabulary of the man page FILE against C; prints PASS/FAIL lines
check_all() {
	same docs-verdicts "$(c_names MW_V_)" "$(man_items "$1" '.SS Verdicts')" 7
	same docs-causes "$(c_names MW_C_)" "$(man_items "$1" '.SS Causes')" 11
	same docs-ignore-reasons "$(c_names MW_IGN_)" "$(man_items "$1" '.SS Ignore reasons')" 6
	same docs-doctor-checks "$(c_doctor)" "$(man_doctor "$1")" 11
}

check_all "$MAN"

# The check itself must be able to fail: a man page with one code of each list removed, and
# one with a severity changed, must each fail every list they touch.
awk '/^\.B icmp_blackhole$|^\.B rp_filter$|^\.B no_socket$|^\.BR no_mss_clamp / { next } 1' \
	"$MAN" >"$TMP/drop.8"
n=$(check_all "$TMP/drop.8" | grep -c '^FAIL')
if [ "$n" = 4 ]; then pass docs-check-fails-on-a-missing-code; else
	fail docs-check-fails-on-a-missing-code "$n of 4 lists failed with a code removed"; fi
sed 's/^\.BR veth_peer_mtu " (error)"$/.BR veth_peer_mtu " (warn)"/' "$MAN" >"$TMP/sev.8"
if check_all "$TMP/sev.8" | grep -q '^FAIL: docs-doctor-checks:.*veth_peer_mtu warn'; then
	pass docs-check-fails-on-a-wrong-severity
else
	fail docs-check-fails-on-a-wrong-severity "a changed severity went unnoticed"
fi
