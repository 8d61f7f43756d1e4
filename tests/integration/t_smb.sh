#!/bin/bash
# t_smb: SMB (Samba's smbd on the nodes, smbclient on the clients) through
# the pair's VIP: sessions balanced, a drain that lets existing sessions
# finish, a hard crash of the master switch in the middle of large transfers.
#
#   c1 c2 ---------- brc (client LAN) --------+      VIP 10.77.1.100 tcp/445
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0     VRRP: a master, b backup
#             eth1   |                   |   eth1
#                    +------ brs --------+            storage LAN
#                         n1 n2 n3   smbd each (LAB_SMB=1: appliance/lab/lab-smb.sh),
#                                    share [node] = LAB_DIR/smb-nX/share, user root
#
#   1. 50 sessions (smbclient, 5 + 5 at a time from c1 and c2), each one
#      connection: put a file of its own, get it back; every copy that came
#      back and every file that landed on a node is sha256-exact, each file
#      landed on exactly one node; the sessions spread over the three nodes
#      and switch a's flow table names, per node, as many tcp/445 flows as
#      files landed there;
#   2. the clients' links are paced (tc tbf, 24 Mbit/s each way, inside the
#      lab) for long transfers; 6 long downloads (12 MiB) run; the node D
#      holding most of them is drained (tandemctl drain on the master): D's
#      smbd still serves them; 30 new sessions all succeed and none reaches
#      D (files, and a's flow table: no flow made after the drain names D);
#      all 6 downloads finish byte-exact; undrain;
#   3. 4 long downloads and 4 long uploads of 16 MiB run; b's flow table
#      holds their flows (synced); once the uploads sent 4 MiB through a,
#      with all 8 transfers running, switch a is killed hard (daemons and
#      links); b takes over; every transfer completes (smbclient exit 0)
#      byte-exact, and b forwarded them.
# t_smb_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh): the
# clients' v6 addresses to the v6 VIP's tcp/445 (smbclient takes the IPv6
# address in the UNC path without brackets).
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd smbclient smbstatus smbpasswd sha256sum tc
[ -x /usr/sbin/smbd ] || skip_all "no /usr/sbin/smbd (scripts/deps.sh installs samba)"
export LAB_SMB=1
pair_up
# VIP and VN (lbd's name for it) of FAMILY; PEER_RE: how smbstatus shows a
# client of the client LAN in that family
VIP=$(pair_vip) VN=v$FAMILY PEER_RE='ipv4:10\.77\.1\.'
[ "$FAMILY" = 6 ] && PEER_RE='ipv6:fd77:1::'
svc445() {
	[ "$(sw_jctl "$1" vips | jq --arg v "$VN" '[.vips[] | select(.name == $v) | .services[] | select(.port == 445) | .nodes_in_table] | min')" = 3 ]
}
check "switch a: $VN tcp/445 has its 3 nodes (smbd on every node, TCP health check)" wait_for 20 svc445 a
check "switch b: $VN tcp/445 has its 3 nodes" wait_for 20 svc445 b

sha() { sha256sum <"$1" | cut -d' ' -f1; }
# smb HOST CMDS: one smbclient session through the VIP to share [node].
smb() { in_ns "$1" timeout 90 smbclient "//$VIP/node" -A "$SMB_CRED" -p 445 -t 60 -c "$2"; }
# landed NAME: the nodes whose share holds NAME.
landed() {
	local n
	for n in n1 n2 n3; do
		[ -e "$LAB_DIR/smb-$n/share/$1" ] && echo "$n"
	done
}
# flows445: switch a's tcp/445 flows, "client client_port node" per line.
flows445() {
	sw_jctl a flows --limit 1000000 |
		jq -r '.flows[] | select(.port == 445) | "\(.client) \(.client_port) \(.node)"' | sort
}
# smb_sessions N: client sessions smbd on node N serves right now.
smb_sessions() {
	in_ns "$1" smbstatus -b -s "$LAB_DIR/smb-$1/smb.conf" 2>/dev/null | grep -c "$PEER_RE"
}
smb_total() { echo $(($(smb_sessions n1) + $(smb_sessions n2) + $(smb_sessions n3))); }
# short_sessions DIR PREFIX N: N sessions, 5 + 5 at a time from c1 and c2,
# each putting DIR/src/PREFIXi and getting it back into DIR/back/.
# Fills DIR/rc (one "i rc" line per session).
short_sessions() {
	local d=$1 p=$2 n=$3 i j c pids
	mkdir -p "$d/src" "$d/back"
	for i in $(seq 1 "$n"); do
		head -c $((65536 + i * 4099)) /dev/urandom >"$d/src/$p$i"
	done
	: >"$d/rc"
	for ((i = 1; i <= n; i += 10)); do
		pids=()
		for ((j = i; j < i + 10 && j <= n; j++)); do
			c=c$((j % 2 + 1))
			(smb "$c" "put $d/src/$p$j $p$j; get $p$j $d/back/$p$j" >"$d/log.$j" 2>&1
				echo "$j $?" >>"$d/rc") &
			pids+=($!)
		done
		wait "${pids[@]}"
	done
}
# short_tally DIR PREFIX N: "OK BAD_BACK BAD_LANDED n1 n2 n3" over the sessions.
short_tally() {
	local d=$1 p=$2 n=$3 i ok=0 bb=0 bl=0 c1=0 c2=0 c3=0 where s
	for i in $(seq 1 "$n"); do
		grep -qx "$i 0" "$d/rc" && ok=$((ok + 1))
		s=$(sha "$d/src/$p$i")
		[ -e "$d/back/$p$i" ] && [ "$(sha "$d/back/$p$i")" = "$s" ] || bb=$((bb + 1))
		where=$(landed "$p$i")
		if [ "$(wc -w <<<"$where")" = 1 ] && [ "$(sha "$LAB_DIR/smb-$where/share/$p$i")" = "$s" ]; then
			case "$where" in n1) c1=$((c1 + 1)) ;; n2) c2=$((c2 + 1)) ;; n3) c3=$((c3 + 1)) ;; esac
		else
			bl=$((bl + 1))
		fi
	done
	echo "$ok $bb $bl $c1 $c2 $c3"
}
# per_node FILE: "n1 n2 n3" counts of the flow lines in FILE.
per_node() {
	local n out=""
	for n in n1 n2 n3; do out="$out $(awk -v n="$n" '$3 == n' "$1" | wc -l)"; done
	echo "${out# }"
}

# ---- 1. 50 sessions, balanced.
short_sessions "$TEST_TMP/s" f 50
read -r okn bb bl t1 t2 t3 < <(short_tally "$TEST_TMP/s" f 50)
check_eq "50 SMB sessions through the VIP complete (smbclient put + get, exit 0)" 50 "$okn" ||
	diag "$(grep -v ' 0$' "$TEST_TMP/s/rc" | head -n 3)" "$(tail -n 3 "$TEST_TMP/s/log.1")"
check_eq "every file that came back is sha256-exact" 0 "$bb"
check_eq "every file landed on exactly one node, sha256-exact" 0 "$bl"
diag "sessions per node (files landed): n1 $t1, n2 $t2, n3 $t3"
check "the sessions spread over the 3 nodes (>= 5 each of 50)" \
	test "$t1" -ge 5 -a "$t2" -ge 5 -a "$t3" -ge 5
flows445 >"$TEST_TMP/flows1"
check_eq "switch a's flow table: one tcp/445 flow per session" 50 "$(wc -l <"$TEST_TMP/flows1")"
check_eq "switch a's tcp/445 flows per node = files landed per node" "$t1 $t2 $t3" \
	"$(per_node "$TEST_TMP/flows1")"

# ---- 2. Drain: new sessions avoid the node, existing ones finish.
for c in c1 c2; do
	in_ns "$c" tc qdisc add dev eth0 root tbf rate 24mbit burst 32kb latency 50ms
	in_ns hub tc qdisc add dev "$c" root tbf rate 24mbit burst 32kb latency 50ms
done
head -c $((12 << 20)) /dev/urandom >"$TEST_TMP/big"
BIGSHA=$(sha "$TEST_TMP/big")
for n in n1 n2 n3; do cp "$TEST_TMP/big" "$LAB_DIR/smb-$n/share/big"; done
dpids=()
for i in 1 2 3 4 5 6; do
	smb "c$((i % 2 + 1))" "get big $TEST_TMP/dl$i" >"$TEST_TMP/dl$i.log" 2>&1 &
	dpids+=($!)
done
six() { [ "$(smb_total)" = 6 ]; }
check "6 long downloads run (smbstatus of the nodes: 6 sessions)" wait_for 10 six
D=n1 kd=0
for n in n1 n2 n3; do
	k=$(smb_sessions "$n")
	[ "$k" -gt "$kd" ] && D=$n kd=$k
done
diag "long downloads per node: n1 $(smb_sessions n1), n2 $(smb_sessions n2), n3 $(smb_sessions n3); draining $D"
flows445 >"$TEST_TMP/flows1d"
check "tandemctl drain $D (master a)" timeout 20 "$TANDEMCTL" -s "$LBD_SOCK_A" drain "$D"
check_eq "switch a: $D drains" true "$(sw_jctl a nodes | jq --arg n "$D" '.nodes[] | select(.name == $n) | .drain')"
check_eq "drained $D's smbd still serves its $kd long downloads" "$kd" "$(smb_sessions "$D")"
short_sessions "$TEST_TMP/d" g 30
read -r okn bb bl t1 t2 t3 < <(short_tally "$TEST_TMP/d" g 30)
t=(0 "$t1" "$t2" "$t3")
check_eq "30 new sessions with $D drained complete, sha256-exact both ways" "30 0 0" "$okn $bb $bl"
diag "new sessions per node with $D drained: n1 $t1, n2 $t2, n3 $t3"
check_eq "no new session landed on drained $D" 0 "${t[${D#n}]}"
flows445 >"$TEST_TMP/flows2"
check_eq "switch a's tcp/445 flows made after the drain: none on $D" 0 \
	"$(comm -13 "$TEST_TMP/flows1d" "$TEST_TMP/flows2" | awk -v n="$D" '$3 == n' | wc -l)"
bad=0
for p in "${dpids[@]}"; do wait "$p" || bad=$((bad + 1)); done
okd=0
for i in 1 2 3 4 5 6; do [ "$(sha "$TEST_TMP/dl$i")" = "$BIGSHA" ] && okd=$((okd + 1)); done
check_eq "all 6 long downloads ($kd on drained $D) finish (exit 0) byte-exact" "0 6" "$bad $okd" ||
	diag "$(tail -n 2 "$TEST_TMP"/dl*.log)"
check "tandemctl undrain $D" timeout 20 "$TANDEMCTL" -s "$LBD_SOCK_A" undrain "$D"

# ---- 3. Hard crash of the master in the middle of large transfers.
head -c $((16 << 20)) /dev/urandom >"$TEST_TMP/big"
BIGSHA=$(sha "$TEST_TMP/big")
for n in n1 n2 n3; do cp "$TEST_TMP/big" "$LAB_DIR/smb-$n/share/big"; done
for i in 1 2 3 4; do head -c $((16 << 20)) /dev/urandom >"$TEST_TMP/up$i"; done
flows445 >"$TEST_TMP/flows3"
cpids=()
for i in 1 2 3 4; do
	c=c$((i % 2 + 1))
	smb "$c" "get big $TEST_TMP/cdl$i" >"$TEST_TMP/cdl$i.log" 2>&1 &
	cpids+=($!)
	smb "$c" "put $TEST_TMP/up$i up$i" >"$TEST_TMP/cup$i.log" 2>&1 &
	cpids+=($!)
done
eight() { [ "$(smb_total)" = 8 ]; }
check "8 long transfers run (smbstatus of the nodes: 8 sessions)" wait_for 10 eight
new_on_b() {
	sw_jctl b flows --limit 1000000 |
		jq -r '.flows[] | select(.port == 445) | "\(.client) \(.client_port) \(.node)"' | sort |
		comm -13 "$TEST_TMP/flows3" - >"$TEST_TMP/flows3b"
	[ "$(wc -l <"$TEST_TMP/flows3b")" -ge 8 ]
}
check "switch b's flow table holds the 8 transfers' flows (synced)" wait_for 5 new_on_b
hits0=$(sw_jctl b stats | jq '.verdicts.fwd_hit // 0')
# what the clients sent on the transfers' flows (direct server return: the
# switch sees the client-to-node direction, so the uploads' data)
sent() {
	sw_jctl a flows --limit 1000000 | jq -r '.flows[] | select(.port == 445) |
		"\(.client) \(.client_port) \(.node) \(.bytes)"' | sort |
		awk 'NR == FNR { old[$1 " " $2] = 1; next } !(($1 " " $2) in old) { s += $4 } END { print s + 0 }' \
			"$TEST_TMP/flows3" -
}
four_mib() { [ "$(sent)" -ge $((4 << 20)) ]; }
check "the uploads are under way (4 MiB sent through switch a)" wait_for 20 four_mib
alive=0
for p in "${cpids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
got=$(sent)
t0=$(now_ms)
sw_stop a hard
check "b becomes master after the hard stop of a" wait_for 5 roles_are - master
diag "takeover after $(($(now_ms) - t0)) ms"
check_eq "the crash came in the middle: all 8 transfers running" 8 "$alive"
check "the crash came in the middle: the uploads had sent $got of $((4 * (16 << 20))) bytes" \
	test "$got" -lt $((4 * (16 << 20)))
bad=0
for p in "${cpids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "all 8 transfers finish after the crash (smbclient exit 0)" 0 "$bad" ||
	diag "$(tail -n 2 "$TEST_TMP"/c*.log)"
okd=0 oku=0
for i in 1 2 3 4; do
	[ "$(sha "$TEST_TMP/cdl$i")" = "$BIGSHA" ] && okd=$((okd + 1))
	where=$(landed "up$i")
	[ "$(wc -w <<<"$where")" = 1 ] &&
		[ "$(sha "$LAB_DIR/smb-$where/share/up$i")" = "$(sha "$TEST_TMP/up$i")" ] && oku=$((oku + 1))
done
check_eq "every download byte-exact" 4 "$okd"
check_eq "every upload landed on one node byte-exact" 4 "$oku"
hits1=$(sw_jctl b stats | jq '.verdicts.fwd_hit // 0')
check "b forwarded the sessions after the takeover (flow-table hits grew)" test "$hits1" -gt "$hits0"
for n in n1 n2 n3; do
	check "$n: smbd still running" kill -0 "$(cat "$LAB_DIR/smb-$n/smbd.pid")"
done
rm -f "$TEST_TMP"/big "$TEST_TMP"/up* "$TEST_TMP"/cdl* "$TEST_TMP"/dl*
finish
