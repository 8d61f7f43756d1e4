#!/bin/bash
# The second half of `make demo`: the switch pair.  Stateful failover with
# real keepalived, tandem-syncd replicating the flow table, and live sessions
# that survive a crash of the master and the failback.
#
#   c1 c2 ---- client LAN ----+----------------+
#                          [swa] ==sync== [swb]     VRRP: A priority 150, B 100
#   n1 n2 n3 -- storage LAN --+----------------+
#
# Lab "demop" (DEMO_PREFIX"p", or DEMO_PAIR_LAB: demo-lib.sh).  Exit 0 when every check held.
set -eu

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD
LAB=$HERE/lab.sh
TANDEMCTL=$TANDEM_BUILD/tandemctl
PROBLEMS=0
SESSIONS=${DEMO_PAIR_SESSIONS:-20}

# shellcheck source=demo-lib.sh
. "$HERE/demo-lib.sh"
NAME=$DEMO_PAIR_LAB

ctl() { timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" "${@:2}"; }
showctl() {
	printf '\n%s$ tandemctl -s .../sw-%s/lbd.sock %s%s\n' "$D" "$1" "${*:2}" "$N"
	ctl "$@"
}
role() { "$LAB" role "$NAME" "$1"; }
is_role() { [ "$(role "$1")" = "$2" ]; }
synced() { ctl "$1" --json status | jq -e '.sync.synced == true' >/dev/null; }
flows_on() { ctl "$1" --json flows --vip v4 --limit 100000 | jq '[.flows[] | select(.port == 80)] | length'; }
b_has_all() { [ "$(flows_on b)" -ge "$SESSIONS" ]; }

section "12. The switch pair: lab $NAME"
"$LAB" down "$NAME"
LAB_PAIR=1 "$LAB" up "$NAME"
# shellcheck disable=SC1090
. "/run/tandem-lab/$NAME/env"
"$LAB" switch-start "$NAME" a
"$LAB" switch-start "$NAME" b
if wait_ms 10000 is_role a master && wait_ms 10000 is_role b backup; then
	good "keepalived: switch A is master, B backup (both ran tandem-failover check: lbd up, syncd in sync)"
else
	bad "roles after start: A $(role a), B $(role b)"
fi
showctl a status

section "13. $SESSIONS long downloads through the VIP; B learns every flow"
DIR=$(mktemp -d /tmp/tandem-demop.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
pids=()
for ((i = 0; i < SESSIONS; i++)); do
	h=c$((i % 2 + 1))
	ip netns exec "tdm-$NAME-$h" curl -sS --max-time 60 -o "$DIR/s$i.bin" \
		"http://$VIP4/slow/10m.bin" 2>"$DIR/s$i.err" &
	pids+=($!)
done
if wait_ms 10000 b_has_all; then
	good "B's flow table holds all $SESSIONS sessions (written by tandem-syncd; flag 'synced')"
else
	bad "B holds $(flows_on b) of $SESSIONS flows"
fi
showctl b flows --vip v4 --limit 6

section "14. Switch A crashes (daemons killed, links cut)"
t0=$(now_ms)
"$LAB" switch-stop "$NAME" a hard
if wait_ms 10000 is_role b master; then
	good "B is master $(($(now_ms) - t0)) ms after the crash (VRRP: 3 adverts of 200 ms missed + skew)"
else
	bad "B did not become master: $(role b)"
fi
sleep 1
sz=0
for ((i = 0; i < SESSIONS; i++)); do sz=$((sz + $(stat -c %s "$DIR/s$i.bin" 2>/dev/null || echo 0))); done
say "the downloads go on through B: $((sz / 1048576)) MiB of $((SESSIONS * 10)) MiB so far"
showctl b stats

section "15. A comes back: it pulls B's table, then takes over again"
"$LAB" switch-links "$NAME" a up
"$LAB" switch-start "$NAME" a
if wait_ms 15000 synced a; then
	good "A is in sync with B (bulk resync of $(flows_on a) flows) before it may be master"
else
	bad "A did not get in sync"
fi
if wait_ms 15000 is_role a master && wait_ms 5000 is_role b backup; then
	good "failback: A master, B backup"
else
	bad "roles after failback: A $(role a), B $(role b)"
fi
showctl a status

section "16. Every session survived both takeovers"
okc=0
for ((i = 0; i < SESSIONS; i++)); do
	if wait "${pids[$i]}" && (cd "$LAB_WWW" && sha256sum 10m.bin | awk '{print $1}') | grep -q "$(sha256sum <"$DIR/s$i.bin" | awk '{print $1}')"; then
		okc=$((okc + 1))
	fi
done
if [ "$okc" -eq "$SESSIONS" ]; then
	good "$okc of $SESSIONS downloads complete and sha256-correct, none reset"
else
	bad "only $okc of $SESSIONS downloads intact"
fi
cat <<EOF

   The pair stays up.  Try:
     build/tandemctl -s $LAB_DIR/sw-a/lbd.sock status      (and sw-b)
     appliance/lab/lab.sh switch-stop $NAME a hard          (crash the master)
     appliance/lab/lab.sh switch-stop $NAME a               (graceful)
     appliance/lab/lab.sh switch-links $NAME a up; appliance/lab/lab.sh switch-start $NAME a
     less $LAB_DIR/sw-b/keepalived.log $LAB_DIR/sw-b/syncd.log
EOF
[ "$PROBLEMS" -eq 0 ]
