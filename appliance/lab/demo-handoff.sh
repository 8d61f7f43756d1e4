#!/bin/bash
# The third part of `make demo`: live session handoff.  tandem-nasd replaces
# nginx on the storage nodes; `tandemctl drain` moves every live download off
# a node while the clients, with unmodified TCP stacks, notice nothing.
#
#   c1 c2 --- client LAN --- [switch: tandem-lbd] --- storage LAN --- n1 n2 n3 (tandem-nasd)
#
# Lab "demoh" (DEMO_PREFIX"h", or DEMO_HANDOFF_LAB: demo-lib.sh).  Exit 0 when every check held.
set -eu

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD
LAB_SH=$HERE/lab.sh
TANDEMCTL=$TANDEM_BUILD/tandemctl
PROBLEMS=0
SESSIONS=${DEMO_HANDOFF_SESSIONS:-24}

# shellcheck source=demo-lib.sh
. "$HERE/demo-lib.sh"
NAME=$DEMO_HANDOFF_LAB
# what tests/integration/lib_nasd.sh expects from its caller
LAB_NAME=$NAME
lab() { local c=$1; shift; "$LAB_SH" "$c" "$NAME" "$@"; }
wait_for() { local s=$1; shift; wait_ms $((s * 1000)) "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "tdm-$NAME-$ns" "$@"; }
skip_all() { die "$*"; }
ctl() { timeout 60 "$TANDEMCTL" -s "$LBD_SOCK" "$@"; }
showctl() {
	printf '\n%s$ tandemctl %s%s\n' "$D" "$*" "$N"
	ctl "$@"
}

section "17. Live session handoff: lab $NAME, tandem-nasd on the nodes"
"$LAB_SH" down "$NAME"
"$LAB_SH" up "$NAME" >/dev/null
# shellcheck disable=SC1090
. "/run/tandem-lab/$NAME/env"
# shellcheck source=../../tests/integration/lib_nasd.sh
. "$REPO/tests/integration/lib_nasd.sh"
"$LAB_SH" lbd-start "$NAME" >/dev/null
for n in n1 n2 n3; do
	nasd_start "$n" handoff || die "tandem-nasd does not start in $n (see $LAB_DIR/$n/nasd.log)"
done
up3() { [ "$(ctl --json nodes | jq '[.nodes[] | select(.state == "up" and .load != null)] | length')" = 3 ]; }
if wait_ms 15000 up3 && wait_ms 10000 chans_up; then
	good "tandem-nasd on n1..n3: lbd sees them up and gets their load reports; node-to-node channels up"
else
	bad "nodes or handoff channels not up"
fi

section "18. $SESSIONS downloads and uploads through the VIP, then drain n1"
DIR=$(mktemp -d /tmp/tandem-demoh.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
mkdir -p "$LAB_DIR/shared/dl" "$LAB_DIR/shared/ul"
pids=()
for ((i = 0; i < SESSIONS; i++)); do
	h=c$((i % 2 + 1))
	if ((i % 2)); then
		head -c $((1 << 20)) /dev/urandom >"$DIR/u$i"
		in_ns "$h" curl -sS -m 60 -o /dev/null -H "$NASD_AUTH" --limit-rate 128k -T "$DIR/u$i" \
			"http://$VIP4/shared/ul/u$i" 2>"$DIR/e$i" &
	else
		head -c $((2 << 20)) /dev/urandom >"$LAB_DIR/shared/dl/f$i"
		in_ns "$h" curl -sS -m 60 -o "$DIR/d$i" \
			"http://$VIP4/rate/shared/dl/f$i?bps=262144" 2>"$DIR/e$i" &
	fi
	pids+=($!)
done
live() { nctl "$1" '{"cmd":"sessions"}' | jq '[.sessions[] | select(.state != "paused")] | length'; }
all_live() { [ $(($(live n1) + $(live n2) + $(live n3))) -ge "$SESSIONS" ]; }
wait_ms 15000 all_live || true
sleep 1
say "sessions on the nodes: n1 $(live n1), n2 $(live n2), n3 $(live n3) (half downloads at 256 KiB/s, half uploads at 128 KiB/s)"
showctl drain n1 | tee "$DIR/drain.out"
if grep -q "^n1: done: .* 0 failed" "$DIR/drain.out" && [ "$(live n1)" = 0 ]; then
	good "n1 drained: its live sessions now run on n2 and n3 (each went where the Maglev table sends that client)"
else
	bad "n1 still holds $(live n1) session(s)"
fi
showctl nodes

section "19. Every transfer intact"
bad_n=0
for p in "${pids[@]}"; do wait "$p" || bad_n=$((bad_n + 1)); done
okc=0
for ((i = 0; i < SESSIONS; i++)); do
	if ((i % 2)); then
		cmp -s "$DIR/u$i" "$LAB_DIR/shared/ul/u$i" && okc=$((okc + 1))
	else
		cmp -s "$DIR/d$i" "$LAB_DIR/shared/dl/f$i" && okc=$((okc + 1))
	fi
done
if [ "$bad_n" = 0 ] && [ "$okc" = "$SESSIONS" ]; then
	good "all $SESSIONS transfers complete and byte-exact; no client saw a reset"
else
	bad "$okc of $SESSIONS transfers intact, $bad_n curl error(s)"
fi
showctl undrain n1
cat <<EOF

   The lab stays up.  Try:
     build/tandemctl -s $LBD_SOCK handoff CLIENT:PORT $VIP4:80 n2   (a session from tandemctl flows)
     less $LAB_DIR/n1/nasd.log
     appliance/lab/lab.sh down $NAME
EOF
[ "$PROBLEMS" -eq 0 ]
