#!/bin/bash
# make demo-down: remove everything `make demo` made: the three labs (their
# namespaces, every process in them, the lab's bpffs mounts and state
# directories) and the one thing outside them, the web console's forward on
# the host's 127.0.0.1 (demo-console.sh).  Idempotent.
#
# Usage: demo-down.sh [LAB...]   (default: the labs of DEMO_PREFIX, i.e.
# demo, demop, demoh; demo-lib.sh)
set -eu

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=demo-lib.sh
. "$HERE/demo-lib.sh"
# shellcheck source=demo-console.sh
. "$HERE/demo-console.sh"

[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=("$DEMO_MAIN_LAB" "$DEMO_PAIR_LAB" "$DEMO_HANDOFF_LAB")
for l in "${labs[@]}"; do
	console_stop "/run/tandem-lab/$l"
	"$HERE/lab.sh" down "$l"
done
