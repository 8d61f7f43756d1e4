#!/bin/bash
# t_man: the man pages (doc/man/*.scd, built by make all into
# $TANDEM_BUILD/man) are there, are clean roff, and agree with the programs.
#
#   no lab: the built binaries and pages only
#
# Checks: a page for every program (tandem-lbd, -syncd, -failover, -webd,
# -agentx, -nasd: section 8; tandemctl: 1) and every configuration file
# (tandem.json, webd.json, nasd.json: 5), one built page per .scd source and
# no hand-written roff left in doc/man; every page lints clean (man
# --warnings, groff -ww) and names itself under NAME; every option that a
# program's usage prints (-h; tandemctl --help and its local commands' own
# usage) appears in its page; the commands `tandemctl --help` lists are
# exactly those in tandemctl(1), group by group (its daemon commands under
# COMMANDS, its local ones under LOCAL COMMANDS).
. "$(dirname "$0")/lib.sh"

require_cmd man groff scdoc
MAN=$TANDEM_BUILD/man
PROGS8="tandem-lbd tandem-syncd tandem-failover tandem-webd tandem-agentx tandem-nasd"
CONFS5="tandem.json webd.json nasd.json"

# page_text PAGE: the rendered page as plain ASCII, wide, a line broken at a
# hyphen joined again (so "--no-" + "apply" reads "--no-apply").
page_text() {
	LC_ALL=C MANWIDTH=250 man -l "$1" 2>/dev/null | sed -e ':a' -e '/-$/{N;s/-\n *\([^ ]\)/-\1/;ba}'
}

# ---- every page there, from one source
for p in $PROGS8; do check "$p(8) was built: $MAN/$p.8" test -s "$MAN/$p.8"; done
check "tandemctl(1) was built: $MAN/tandemctl.1" test -s "$MAN/tandemctl.1"
for c in $CONFS5; do check "$c(5) was built: $MAN/$c.5" test -s "$MAN/$c.5"; done
src=$(cd "$REPO/doc/man" && ls -- *.scd | sed 's/\.scd$//' | sort | paste -sd' ')
built=$(cd "$MAN" && ls | sort | paste -sd' ')
check_eq "one built page per doc/man/*.scd" "$src" "$built"
check_eq "doc/man holds scdoc sources only (no hand-written roff)" "" \
	"$(cd "$REPO/doc/man" && ls | grep -v '\.scd$')"

# ---- lint
for f in "$MAN"/*; do
	p=$(basename "$f")
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
	check_eq "man --warnings -l $p: no warning" "" "$w"
	w=$(groff -ww -z -man "$f" 2>&1)
	check_eq "groff -ww -z -man $p: no warning" "" "$w"
	name=${p%.*}
	check "$p: NAME names $name" sh -c "LC_ALL=C MANWIDTH=250 man -l '$f' 2>/dev/null |
		sed -n '/^NAME/,/^[A-Z]/p' | grep -q '^ *$name - '"
done

# ---- each program's usage options are in its page
# usage_opts: the options (-x, --long) in a usage text on stdin, from its
# "usage:" line on; combined flags (-tv) split.
usage_opts() {
	sed -n '/usage:/,$p' | grep -oE '(^|[][ ,(|])--?[A-Za-z][A-Za-z-]*' | sed 's/^[][ ,(|]//' |
		while read -r o; do
			case "$o" in
			--* | -?) printf '%s\n' "$o" ;;
			*) o=${o#-}; while [ -n "$o" ]; do printf -- '-%s\n' "${o:0:1}"; o=${o:1}; done ;;
			esac
		done | sort -u
}
# opts_missing PAGE OPTIONS...: the options missing from PAGE's text
opts_missing() {
	local f=$1 o miss=""
	shift
	page_text "$f" >"$TEST_TMP/page.txt"
	for o in "$@"; do
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$TEST_TMP/page.txt" || miss+=" $o"
	done
	printf "%s\n" "${miss# }"
}
for p in $PROGS8; do
	opts=$("$TANDEM_BUILD/$p" -h 2>&1 | usage_opts)
	check "$p -h prints options" test -n "$opts"
	# shellcheck disable=SC2086
	check_eq "$p: every option of its usage is in $p(8) ($(echo $opts))" "" \
		"$(opts_missing "$MAN/$p.8" $opts)"
done
ctl_opts=$( ("$TANDEMCTL" --help; for c in upgrade setup handoff-key; do "$TANDEMCTL" "$c" 2>&1; done) |
	usage_opts)
# shellcheck disable=SC2086
check_eq "tandemctl: every option of --help and of upgrade/setup/handoff-key usage is in tandemctl(1) ($(echo $ctl_opts))" \
	"" "$(opts_missing "$MAN/tandemctl.1" $ctl_opts)"

# ---- tandemctl --help and tandemctl(1): the same commands
# help_cmds GROUP: command names of a --help group ("Commands" or "Local
# commands"): lines "  NAME ..." (continuation lines are indented further).
help_cmds() {
	"$TANDEMCTL" --help | awk -v g="$1" '
		/^[A-Z]/ { on = (index($0, g " (") == 1) ; next }
		on && /^  [a-z]/ { print $1 }' | sort -u | paste -sd' '
}
# page_cmds SECTION: command names under SECTION of tandemctl(1) (entries
# at the page's first indent; their text is indented further).
page_cmds() {
	page_text "$MAN/tandemctl.1" | awk -v s="$1" '
		/^[A-Z]/ { on = ($0 == s); next }
		on && /^       [a-z]/ { print $1 }' | sort -u | paste -sd' '
}
hd=$(help_cmds Commands)
hl=$(help_cmds "Local commands")
check "tandemctl --help lists daemon commands ($hd)" test -n "$hd"
check "tandemctl --help lists local commands ($hl)" test -n "$hl"
check_eq "tandemctl(1) COMMANDS = the daemon commands of --help" "$hd" "$(page_cmds COMMANDS)"
check_eq "tandemctl(1) LOCAL COMMANDS = the local commands of --help" "$hl" "$(page_cmds "LOCAL COMMANDS")"
# every command --help lists is one tandemctl knows (not only words in a text)
for c in $hd; do
	"$TANDEMCTL" -s "$TEST_TMP/none.sock" -T 100 "$c" >/dev/null 2>"$TEST_TMP/err"
	check "tandemctl $c is a command (not 'unknown command')" sh -c "! grep -q 'unknown command' '$TEST_TMP/err'"
done

finish
