#!/bin/bash
# t_demo: `make demo` and `make demo-down` end to end, so the demo cannot rot.
#
#   host: make demo DEMO_PREFIX=dmoXXXX DEMO_CONSOLE_PORT=<a free port>
#     lab dmoXXXX  (c1 c2 -- sw: lbd, webd, slapd, snmpd, agentx -- n1 n2 n3 nginx)
#     lab dmoXXXXp (the switch pair: keepalived, syncd)
#     lab dmoXXXXh (tandem-nasd: HTTP, NFS, handoff)
#     127.0.0.1:PORT on the host --socat--> the console in dmoXXXX's switch
#   then: make demo-down DEMO_PREFIX=dmoXXXX
#
# The test's own prefix and console port (appliance/lab/demo-lib.sh), never
# the documented demo, demop, demoh and 8443: a developer's own demo on this
# machine is left alone, and two test runs do not meet.
#
# Checks: make demo exits 0 with "demo: all checks held", within 120 s; the
# console URL it printed answers from the host over HTTPS (the lab's CA it
# printed), and the admin password it printed logs in as admin; make
# demo-down exits 0 and leaves no tdm-PREFIX* namespace, no process of the
# labs (nor the host's forward), no mount under /run/tandem-lab/PREFIX*, no
# state directory, nothing listening on the console port.
TEST_TIMEOUT=${TEST_TIMEOUT:-480}	# the demo is about a minute, make demo-down seconds
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd make jq curl openssl socat slapd slapadd slappasswd ldapsearch snmpd snmptrapd \
	snmpwalk snmptable iperf3 keepalived nfs-ls nfs-cp python3
[ -x "$TANDEM_BUILD/tandem-webd" ] && [ -x "$TANDEM_BUILD/tandem-agentx" ] &&
	[ -x "$TANDEM_BUILD/tandem-nasd" ] && [ -x "$TANDEM_BUILD/tools/nfs_walk" ] ||
	skip_all "no tandem-webd, tandem-agentx, tandem-nasd or tools/nfs_walk in $TANDEM_BUILD (run make)"

PREFIX=dmo$(printf '%s.%s' "$$" "$(date +%s%N)" | sha256sum | cut -c1-4)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LABS="$PREFIX ${PREFIX}p ${PREFIX}h"
# demo_make TARGET: make TARGET with the test's prefix and port (bounded)
demo_make() {
	timeout 240 make -C "$REPO" --no-print-directory "$1" DEMO_PREFIX="$PREFIX" DEMO_CONSOLE_PORT="$PORT"
}
at_exit "DEMO_PREFIX=$PREFIX timeout 120 $REPO/appliance/lab/demo-down.sh >/dev/null 2>&1"
diag "demo labs: $LABS; console forward on 127.0.0.1:$PORT"

# ---- make demo
t0=$(now_ms)
demo_make demo >"$TEST_TMP/demo.out" 2>&1
rc=$?
secs=$((($(now_ms) - t0) / 1000))
check_eq "make demo exits 0" 0 "$rc" || diag "$(grep -E '✗|demo:' "$TEST_TMP/demo.out" | head -n 20)" \
	"$(tail -n 15 "$TEST_TMP/demo.out")"
check "make demo ends with 'demo: all checks held'" grep -qx 'demo: all checks held' "$TEST_TMP/demo.out"
check_le "make demo took at most 120 s ($secs s)" "$secs" 120
for s in "1. The lab" "11. SNMP" "12. The switch pair" "17. Storage nodes" "19. " "20. Every transfer intact"; do
	check "the demo showed section '$s'" grep -q "^== $s" "$TEST_TMP/demo.out"
done

# ---- the console it printed
URL=$(sed -n 's/^ *console: \(https:[^ ]*\).*/\1/p' "$TEST_TMP/demo.out" | head -n 1)
CA=$(sed -n "s/.*signed by this lab's CA: \([^ ]*\).*/\1/p" "$TEST_TMP/demo.out" | head -n 1)
PW=$(sed -n 's/^ *user admin, password \([^ ]*\).*/\1/p' "$TEST_TMP/demo.out" | head -n 1)
check_eq "the demo printed the console URL on the host's 127.0.0.1" "https://127.0.0.1:$PORT/" "$URL"
check "... and the lab CA's certificate ($CA)" test -s "$CA"
code=$(curl -sS -m 10 --cacert "$CA" -o "$TEST_TMP/index.html" -w '%{http_code}' "$URL" 2>&1)
check_eq "GET $URL from the host: 200 over HTTPS, the certificate verified" 200 "$code"
check "... it is the console's page" grep -qi "tandem" "$TEST_TMP/index.html"
login=$(curl -sS -m 10 --cacert "$CA" -H 'Content-Type: application/json' \
	--data-binary "$(jq -cn --arg p "$PW" '{user: "admin", password: $p}')" "${URL}api/v1/login" 2>&1)
check_eq "the printed admin password logs in: role admin" admin "$(jq -r .role <<<"$login" 2>/dev/null)"
FWD_PID=$(cat "/run/tandem-lab/$PREFIX/console/forward.pid" 2>/dev/null)
check "the host's forward has a pid file" test -n "$FWD_PID"

# ---- make demo-down
demo_make demo-down >"$TEST_TMP/down.out" 2>&1
check_eq "make demo-down exits 0" 0 "$?" || diag "$(tail -n 10 "$TEST_TMP/down.out")"
left_ns=$(ip netns list | awk '{ print $1 }' | grep -E "^tdm-${PREFIX}[ph]?-" | paste -sd' ')
check_eq "no tdm-$PREFIX* namespace left" "" "$left_ns"
left_procs=$(pgrep -af "/run/tandem-lab/$PREFIX" | head -n 5)
check_eq "no process of the demo labs left" "" "$left_procs"
check "the host's forward (pid $FWD_PID) is gone" pid_gone "$FWD_PID"
check_eq "no mount under /run/tandem-lab/$PREFIX* left" "" \
	"$(awk -v p="/run/tandem-lab/$PREFIX" 'index($2, p) == 1 { print $2 }' /proc/mounts)"
check_eq "no state directory left" "" "$(ls -d /run/tandem-lab/"$PREFIX"* 2>/dev/null)"
check_eq "nothing listens on 127.0.0.1:$PORT" "" "$(ss -Hltn "sport = :$PORT")"
demo_make demo-down >/dev/null 2>&1
check_eq "make demo-down again (nothing left): exits 0" 0 "$?"

finish
