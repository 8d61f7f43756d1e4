#!/bin/bash
# check_deps.sh - every command a test requires is installed by
# scripts/deps.sh, so a fresh machine runs every test instead of skipping
# one for a missing tool (tests/run.sh runs this before the integration
# suite, as the test line deps/require_cmd).
#
# The commands: every word after `require_cmd` in tests/ (the harness's own
# requirements included).  For each, the Debian package that provides it:
# `dpkg -S` of the command's path (the path `command -v` finds, its target
# if it is a link, and the same name in /usr/bin /bin /usr/sbin /sbin, since
# a merged /usr has two names for each and dpkg knows one).  It passes when
# that package is
#   - in scripts/deps.sh's package list (PKGS, the conditional ones too),
#   - a direct dependency (Depends, Pre-Depends) of one of those: python3's
#     binary is in python3-minimal, ldapadd's in ldap-utils ...,
#   - or part of a base Debian system (Essential: yes or Priority: required:
#     mount, coreutils ...).
# A command not installed here, or whose file no package owns (a pyenv
# shim only is no Debian package), or whose package is none of the above,
# fails the check with its name.  Output: one line per command, "ok - CMD
# (PACKAGE)" or "not ok - CMD: why", then "N passed, N failed"; exit 0 or 1.
set -u
cd "$(dirname "$0")/.."

deps_pkgs() {	# the package names scripts/deps.sh installs
	sed -n 's/.*PKGS="\([^"]*\)".*/\1/p; /PKGS="[^"]*$/,/"/p' scripts/deps.sh |
		tr -d '"\\' | tr ' \t' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u
}

required_cmds() {	# every require_cmd argument in tests/
	grep -rhoE '^[[:space:]]*require_cmd[[:space:]][^#;&|]*' tests --include='*.sh' |
		sed 's/^[[:space:]]*require_cmd[[:space:]]*//' | tr ' \t' '\n\n' |
		grep -E '^[A-Za-z0-9._+-]+$' | sort -u
}

# owner CMD: the package owning CMD's file, or nothing.
owner() {
	local c=$1 p d cands=()
	while read -r p; do
		[ -n "$p" ] && cands+=("$p" "$(readlink -f "$p")")
	done < <(type -ap "$c" 2>/dev/null)
	for d in /usr/bin /bin /usr/sbin /sbin; do
		[ -x "$d/$c" ] && cands+=("$d/$c" "$(readlink -f "$d/$c")")
	done
	for p in "${cands[@]}"; do
		p=$(dpkg -S "$p" 2>/dev/null | head -n 1) || continue
		[ -n "$p" ] && { echo "${p%%:*}"; return 0; }
	done
	return 1
}

mapfile -t DEPS < <(deps_pkgs)
# A deps.sh package's direct dependencies (only those installed here).
mapfile -t DEPS_OF < <(for p in "${DEPS[@]}"; do
	dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' "$p" 2>/dev/null
done | tr ',|' '\n\n' | sed 's/([^)]*)//g; s/:any//g; s/[[:space:]]//g' | grep . | sort -u)

in_list() {	# in_list WORD LIST...
	local w=$1 x
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

pass=0 nfail=0
cmds=$(required_cmds)
[ -n "$cmds" ] || { echo "not ok - no require_cmd found in tests/"; echo "0 passed, 1 failed"; exit 1; }
[ "${#DEPS[@]}" -gt 0 ] || { echo "not ok - no package list in scripts/deps.sh"; echo "0 passed, 1 failed"; exit 1; }
for c in $cmds; do
	why=""
	if ! command -v "$c" >/dev/null 2>&1; then
		why="not installed here (scripts/deps.sh did not install it)"
	elif ! pkg=$(owner "$c"); then
		why="$(command -v "$c") belongs to no Debian package"
	elif in_list "$pkg" "${DEPS[@]}"; then
		:
	elif in_list "$pkg" "${DEPS_OF[@]}"; then
		pkg="$pkg, a dependency of a deps.sh package"
	else
		case "$(dpkg-query -W -f='${Essential} ${Priority}' "$pkg" 2>/dev/null)" in
		yes* | *required) pkg="$pkg, base Debian" ;;
		*) why="package $pkg is not in scripts/deps.sh" ;;
		esac
	fi
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "ok - $c ($pkg)"
	else
		nfail=$((nfail + 1))
		echo "not ok - $c: $why"
	fi
done
echo "$pass passed, $nfail failed"
[ "$nfail" -eq 0 ]
