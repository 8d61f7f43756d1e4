#!/bin/bash
# The third part of `make demo`: the storage nodes.  tandem-nasd replaces
# nginx on them: HTTP and NFSv3 through the VIP, one NFS namespace over the
# three nodes (its map comes from the switch: the lab's "nfs" section), and
# `tandemctl drain` moves every live download, upload and NFS connection off
# a node while the clients, with unmodified TCP stacks, notice nothing.
#
#   c1 c2 --- client LAN --- [switch: tandem-lbd] --- storage LAN --- n1 n2 n3 (tandem-nasd)
#   VIP 10.77.1.100: tcp/80, tcp/111 + tcp/2049 (NFS); /export: alpha on n1's
#   disk, beta on n2's, gamma on n3's; any node answers, forwarding to the home
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
# flow_node_of PORT: the node lbd's flow table names for c1's NFS connection from PORT.
flow_node_of() {
	ctl --json flows --vip v4 --limit 100000 | jq -r --arg c "$C1_IP4" --argjson p "${1:-0}" \
		'[.flows[] | select(.client == $c and .client_port == $p and .port == 2049) | .node][0] // empty'
}

section "17. Storage nodes: lab $NAME, tandem-nasd with HTTP and NFS"
"$LAB_SH" down "$NAME"
LAB_NFS=1 "$LAB_SH" up "$NAME" >/dev/null
# shellcheck disable=SC1090
. "/run/tandem-lab/$NAME/env"
# shellcheck source=../../tests/integration/lib_nasd.sh
. "$REPO/tests/integration/lib_nasd.sh"
"$LAB_SH" lbd-start "$NAME" >/dev/null
# NFS on every node; the namespace (homes, peers, the node's id) from lbd's map
export NASD_NFS=1 NASD_NFS_NS=switch
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
for n in n1 n2 n3; do
	nasd_start "$n" handoff || die "tandem-nasd does not start in $n (see $LAB_DIR/$n/nasd.log)"
done
up3() { [ "$(ctl --json nodes | jq '[.nodes[] | select(.state == "up" and .load != null)] | length')" = 3 ]; }
if wait_ms 15000 up3 && wait_ms 10000 chans_up; then
	good "tandem-nasd on n1..n3: lbd sees them up and gets their load reports; node-to-node channels up"
else
	bad "nodes or handoff channels not up"
fi
map_held() { ctl --json cluster | jq -e '.nodes | length == 3 and all(.current)' >/dev/null; }
if wait_ms 10000 map_held; then
	good "every node holds lbd's NFS namespace map (tandemctl cluster: the homes, who holds the map)"
else
	bad "not every node holds lbd's NFS namespace map"
fi
showctl cluster

section "18. NFS through the VIP: one namespace over three nodes"
DIR=$(mktemp -d /tmp/tandem-demoh.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
URL=nfs://$VIP4/export
nfs_names() { in_ns "$1" timeout 20 nfs-ls "$2" | awk '{ print $NF }' | grep -v '^\.\.\?$' | sort | paste -sd' '; }
home_of() { case "$1" in alpha) echo n1 ;; beta) echo n2 ;; gamma) echo n3 ;; esac; }
printf '\n%s(c1)$ nfs-ls %s%s\n' "$D" "$URL" "$N"
in_ns c1 timeout 20 nfs-ls "$URL" | sed 's/^/   /'
if [ "$(nfs_names c1 "$URL")" = "alpha beta gamma" ]; then
	good "the export's root lists alpha, beta and gamma: one namespace, whichever node answered"
else
	bad "nfs-ls of $URL: $(nfs_names c1 "$URL")"
fi
for d in alpha beta gamma; do
	h=$(home_of "$d")
	head -c $((1 << 20)) /dev/urandom >"$DIR/$d.in"
	if in_ns c1 timeout 30 nfs-cp "$DIR/$d.in" "$URL/$d/hello.bin" >/dev/null 2>&1 &&
		cmp -s "$DIR/$d.in" "$LAB_DIR/$h/nfs/$d/hello.bin" &&
		in_ns c2 timeout 30 nfs-cp "$URL/$d/hello.bin" "$DIR/$d.out" >/dev/null 2>&1 &&
		cmp -s "$DIR/$d.in" "$DIR/$d.out"; then
		others=$(for n in n1 n2 n3; do [ "$n" = "$h" ] || [ ! -e "$LAB_DIR/$n/nfs/$d/hello.bin" ] || echo "$n"; done)
		if [ -z "$others" ]; then
			good "nfs-cp c1 -> $URL/$d/hello.bin: on $h's disk only (its home), read back intact from c2"
		else
			bad "$d/hello.bin also on $others"
		fi
	else
		bad "nfs-cp into or out of $d failed or the bytes differ"
	fi
done
printf '\n%s(c2)$ nfs-ls %s/beta%s\n' "$D" "$URL" "$N"
in_ns c2 timeout 20 nfs-ls "$URL/beta" | sed 's/^/   /'

section "19. $SESSIONS HTTP transfers and an NFS reader through the VIP, then drain n1"
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
# The NFS reader: one libnfs session (tests/tools/nfs_walk: one connection,
# libnfs's reconnect off) reading alpha/big.bin (home n1) 256 KiB every
# 0.7 s.  Landed elsewhere, it is handed to n1 once 1 MiB of its data was
# forwarded there (data location); the drain of n1 then moves it away.
head -c $((2 << 20)) /dev/urandom >"$LAB_DIR/n1/nfs/alpha/big.bin"
in_ns c1 "$TANDEM_BUILD/tools/nfs_walk" -p 700 "$VIP4" /export "r:/alpha/big.bin:$DIR/nfs.out" \
	>"$DIR/walk.out" 2>&1 &
WALK_PID=$!
live() { nctl "$1" '{"cmd":"sessions"}' | jq '[.sessions[] | select(.state != "paused")] | length'; }
all_live() { [ $(($(live n1) + $(live n2) + $(live n3))) -ge "$SESSIONS" ]; }
# nfs_on NODE PORT: NODE's tandem-nasd holds c1's NFS connection from PORT
nfs_on() { nctl "$1" '{"cmd":"nfs-conns"}' | jq -e --arg c "$C1_IP4:$2" '[.conns[]? | select(.client == $c)] | length > 0' >/dev/null; }
nfs_holder() { local n; for n in n1 n2 n3; do nfs_on "$n" "$1" && { echo "$n"; return 0; }; done; return 1; }
walk_port() { jq -r '.port // empty' <(head -n 1 "$DIR/walk.out") 2>/dev/null; }
# ready: the reader read 1 MiB and sits on n1, its data's home
ready() { [ "$(stat -c %s "$DIR/nfs.out" 2>/dev/null || echo 0)" -ge $((1 << 20)) ] && nfs_on n1 "$WP"; }
wait_ms 15000 all_live || true
walk_started() { [ -n "$(walk_port)" ]; }
wait_ms 10000 walk_started || true
WP=$(walk_port)
WX=$(nfs_holder "$WP" || echo "?")
wait_ms 8000 ready || true
say "sessions on the nodes: n1 $(live n1), n2 $(live n2), n3 $(live n3) (half downloads at 256 KiB/s, half uploads at 128 KiB/s)"
say "the NFS reader (c1 port $WP) landed on $WX; now on $(nfs_holder "$WP" || echo "?") (alpha's home is n1)"
showctl drain n1 | tee "$DIR/drain.out"
WY=$(nfs_holder "$WP" || echo "?")
if grep -q "^n1: done: .* 0 failed" "$DIR/drain.out" && [ "$(live n1)" = 0 ]; then
	good "n1 drained: its live sessions now run on n2 and n3 (each went where the Maglev table sends that client)"
else
	bad "n1 still holds $(live n1) session(s)"
fi
if [ "$WY" != n1 ] && [ "$WY" != "?" ] && [ "$(flow_node_of "$WP")" = "$WY" ]; then
	good "the NFS reader's connection moved from n1 to $WY (tandem-nasd nfs-conns, lbd's flow names $WY)"
else
	bad "the NFS reader's connection is on ${WY} (lbd's flow: $(flow_node_of "$WP"))"
fi
showctl nodes

section "20. Every transfer intact"
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
	good "all $SESSIONS HTTP transfers complete and byte-exact; no client saw a reset"
else
	bad "$okc of $SESSIONS transfers intact, $bad_n curl error(s)"
fi
if wait "$WALK_PID" && cmp -s "$LAB_DIR/n1/nfs/alpha/big.bin" "$DIR/nfs.out"; then
	good "the NFS reader finished on its one connection (libnfs saw no error), alpha/big.bin byte-exact"
else
	bad "the NFS reader failed: $(tail -n 2 "$DIR/walk.out" | tr '\n' ' ')"
fi
showctl undrain n1
cat <<EOF

   The lab stays up.  Try:
     build/tandemctl -s $LBD_SOCK handoff CLIENT:PORT $VIP4:80 n2   (a session from tandemctl flows)
     build/tandemctl -s $LBD_SOCK cluster                           (the NFS namespace map)
     appliance/lab/lab.sh exec $NAME c1 nfs-ls nfs://$VIP4/export/alpha
     less $LAB_DIR/n1/nasd.log
     appliance/lab/demo-down.sh $NAME
EOF
[ "$PROBLEMS" -eq 0 ]
