#!/bin/bash
# t_nlm: NFS file locking (NLM v4, NSM) across the one namespace, with
# tests/tools/nlm_client (libnfs's raw NLM calls, one TCP connection each).
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100: tcp/udp 111 and
#                        br1 .1             2049 (LAB_NFS=1), handoff
#              +----------+----------+      storage LAN 10.77.2.0/24
#             n1 .11     n2 .12     n3 .13
#   each node: tandem-nasd with "handoff" and NFS in one namespace
#   (NASD_NFS=1 NASD_NFS_NS=1): alpha on n1, beta on n2, gamma on n3;
#   nlm_grace_s 12
#
#  1. registration: `rpcinfo -p VIP` lists nlockmgr 4 and status 1 on tcp
#     and udp; `rpcinfo -T tcp VIP nlockmgr 4` and `-T udp` answer.
#  2. a node restarts: G (via n2) and W (c2, through the VIP, its
#     connection kept off n1) hold ranges of alpha/g0 (home n1), which
#     keeps hostW in its nlm_hosts_file (NASD_NLM_HOSTS=1); n1's nasd is
#     restarted: it starts in its grace period (status nfs.nlm.grace_ms)
#     with a new NSM state and tells W by SM_NOTIFY (mon_name the VIP, the
#     new state); O's LOCK and TEST are refused (DENIED_GRACE_PERIOD), G's
#     and W's reclaims are granted, the home counts the refusals; after
#     grace O is DENIED (the reclaimed locks hold), then GRANTED once G
#     unlocks.
#  3. Connectathon-style cases on alpha/lk (home n1), the holder H
#     connected to n2's own address, the tester T to n3's, U to n1's:
#     exclusive [0,100) by H; T: TEST of [50,60) DENIED naming H's svid,
#     LOCK shared DENIED, LOCK of [100,110) GRANTED (no overlap), UNLOCK;
#     U (at the home itself): DENIED too.  H downgrades to shared: T's
#     shared lock GRANTED, T's exclusive DENIED; a second owner on H's own
#     connection conflicts like anyone else.  All state on n1 (locks
#     counted there; n2 and n3 hold none and forwarded the calls).
#  4. blocking: W (c2, through the VIP, callbacks on) asks exclusive
#     [0,10) with block: BLOCKED; H unlocks: W gets GRANTED by callback,
#     sent from the VIP, within 10 s; T's TEST names W as the holder.
#     CANCEL of a queued request: GRANTED, the waiter gone.
#  5. handoff: H2 (c1, through the VIP) holds alpha/lk2 exclusive; its
#     connection is migrated to another node (tandemctl migrate): the flow
#     names the new node, T is still DENIED, H2 (on its new node) unlocks,
#     then T is GRANTED.
#  6. a client host restarts: its SM_NOTIFY (sent to n3) drops its locks on
#     alpha (n1) and beta (n2): other owners are GRANTED after it.
#  7. the _MSG forms over UDP (tests/tools/nfs_rpc.py nlmmsg in c1, its
#     own portmapper on c1's udp/111): LOCK, TEST, LOCK (conflict), UNLOCK,
#     LOCK, CANCEL, UNLOCK of alpha/msgN, called at the home n1, at n3
#     (sent on to n1 as the synchronous call) and at the VIP: each answered
#     with an empty reply at once, its result (GRANTED, DENIED naming the
#     holder, ...) arriving as the matching _RES call from the address
#     called.  SHARE/UNSHARE (nfs_rpc.py nlmshare): owners A and C through
#     one node, B through another, alpha/shrN (home n1): a writer refused
#     by A's deny-write, a deny-read refused by the readers, both free
#     once A unshares; NM_LOCK taken, another owner's TEST DENIED, UNLOCK.
#  8. every nasd still up.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd jq rpcinfo
export LAB_NFS=1
handoff_lab_up
export NASD_NFS=1 NASD_NFS_NS=1 NASD_NLM_HOSTS=1 NASD_NFS_EXTRA='"nlm_grace_s": 12,'
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
for f in lk lk2 lk3 g0 msg1 msg2 msg3 shr1 shr2; do echo "$f" >"$LAB_DIR/n1/nfs/alpha/$f"; done
echo lk3 >"$LAB_DIR/n2/nfs/beta/lk3"
nasd_all_up handoff
svc3() { [ "$(svc_nodes v4 tcp 2049)" = 3 ] && [ "$(svc_nodes v4 udp 111)" = 3 ]; }
check "v4 tcp/2049 and udp/111 have 3 nodes in their tables" wait_for 10 svc3

. "$(dirname "$0")/lib_nlm.sh"
nlm() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs.nlm$2 // 0"; }

# ------------------------------------------------------ 1. registration --
in_ns c1 timeout 20 rpcinfo -p "$VIP4" >"$TEST_TMP/rpcinfo.out" 2>&1
diag "rpcinfo -p VIP: $(tr -s ' \n' ' ' <"$TEST_TMP/rpcinfo.out")"
norm=$(awk '$1 == 100021 || $1 == 100024 {print $1, $2, $3, $4}' "$TEST_TMP/rpcinfo.out" | sort | tr '\n' ';')
check_eq "rpcinfo -p VIP: nlockmgr 4 and status 1 on tcp and udp, port 2049" \
	"100021 4 tcp 2049;100021 4 udp 2049;100024 1 tcp 2049;100024 1 udp 2049;" "$norm"
check "rpcinfo -T tcp VIP nlockmgr 4: ready" in c1 timeout 10 rpcinfo -T tcp "$VIP4" nlockmgr 4
check "rpcinfo -T udp VIP status 1: ready" in c1 timeout 10 rpcinfo -T udp "$VIP4" status 1

# ----------------------------------------------- 2. a node restarts: grace --
ungrace() { for n in n1 n2 n3; do [ "$(nlm "$n" .grace_ms)" = 0 ] || return 1; done; }
check "the start's grace period ends on every node" wait_for 40 ungrace
cl_start G c1 "$N2_IP4" -H hostG
cl_start O c1 "$N3_IP4" -H hostO
for c in G O; do check_eq "$c: open alpha/g0" 1 "$(cl "$c" open alpha/g0 | jq -r .open)"; done
check_eq "G (via n2): exclusive [0,10) of alpha/g0 (home n1)" 0 "$(st G lock 7 0 10 excl)"
# W: c2 through the VIP, receiving callbacks (its own portmapper on c2);
# its connection kept off n1, which restarts
cl_start W c2 "$VIP4" -H hostW -c
check_eq "W (c2, through the VIP): open alpha/g0" 1 "$(cl W open alpha/g0 | jq -r .open)"
WP=$(cl W port | jq -r .port)
WX=$(flow_node "$C2_IP4" "$WP" 2049)
if [ "$WX" = n1 ]; then
	ctl migrate "$C2_IP4:$WP" "$VIP4:2049" n2 >"$TEST_TMP/wmig.out" 2>&1
	diag "W landed on n1: migrated to n2: $(cat "$TEST_TMP/wmig.out")"
fi
check "W's connection is not on n1" test "$(flow_node "$C2_IP4" "$WP" 2049)" != n1
check_eq "W: exclusive [20,30) of alpha/g0 (forwarded to n1)" 0 "$(st W lock 6 20 10 excl)"
whost() { grep -q "^hostW " "$LAB_DIR/n1/nlm-hosts"; }
check "n1 keeps hostW in its nlm_hosts_file (learned through the node W called)" wait_for 10 whost
s0=$(nlm n1 .nsm_state)
check "n1's nasd stops" sh -c "kill $(nasd_pid n1)"
wait_for 10 pid_gone "$(nasd_pid n1)"
check "n1's nasd starts again" nasd_start n1 handoff
check "n1 is in its grace period (nfs.nlm.grace_ms > 0)" test "$(nlm n1 .grace_ms)" -gt 0
check "... with a new NSM state" test "$(nlm n1 .nsm_state)" != "$s0"
n=$(cl W notified 15)
diag "W: $n"
check_eq "W is told by SM_NOTIFY naming the VIP, with n1's new state" "1 $VIP4 $(nlm n1 .nsm_state)" \
	"$(jq -r '"\(.notify) \(.mon_name) \(.state)"' <<<"$n")"
check "W: its reclaim is granted in grace" wait_eq 10 0 st W lock 6 20 10 excl reclaim
gr0=$(nlm n1 .grace_refused)
# the first call through n2 may find its old connection to n1 gone (the
# answer is then DENIED_NOLOCKS, "try again"): polled
check "O (via n3): LOCK [0,10) refused in grace (DENIED_GRACE_PERIOD)" \
	wait_eq 10 4 st O lock 8 0 10 excl
check_eq "O: TEST refused in grace too" 4 "$(cl O test 8 0 10 excl | jq -r .stat)"
check "G: its reclaim is granted in grace" wait_eq 10 0 st G lock 7 0 10 excl reclaim
check "the home n1 counted the refusals" test "$(nlm n1 .grace_refused)" -ge $((gr0 + 2))
n1grace() { [ "$(nlm n1 .grace_ms)" = 0 ]; }
check "n1's grace ends (12 s)" wait_for 30 n1grace
check_eq "after grace: O's LOCK DENIED (G's reclaimed lock holds)" 1 "$(st O lock 8 0 10 excl)"
check_eq "G unlocks" 0 "$(st G unlock 7 0 10)"
check_eq "O: LOCK granted" 0 "$(st O lock 8 0 10 excl)"
check_eq "O unlocks" 0 "$(st O unlock 8 0 10)"
check_eq "O: [20,30) DENIED (W's reclaimed lock holds)" 1 "$(st O lock 8 20 10 excl)"
check_eq "W unlocks" 0 "$(st W unlock 6 20 10)"

# ------------------------------------------- 3. Connectathon-style cases --
cl_start H c1 "$N2_IP4" -H hostH
cl_start T c1 "$N3_IP4" -H hostT
cl_start U c1 "$N1_IP4" -H hostU
for c in H T U; do check_eq "$c: open alpha/lk" 1 "$(cl "$c" open alpha/lk | jq -r .open)"; done
f1=$(nlm n2 .forwarded)
l1=$(nlm n1 .locks)
check_eq "H (via n2): exclusive [0,100) GRANTED" 0 "$(st H lock 1 0 100 excl)"
check "... the lock is on the home n1" test "$(nlm n1 .locks)" -eq $((l1 + 1))
check "... n2 forwarded the call" test "$(nlm n2 .forwarded)" -gt "$f1"
check_eq "n2 and n3 hold no locks" "0 0" "$(nlm n2 .locks) $(nlm n3 .locks)"
check_eq "T (via n3): TEST shared [50,60) DENIED, holder H's svid 1" '1 1' \
	"$(cl T test 2 50 10 shared | jq -r '"\(.stat) \(.holder)"')"
check_eq "T: LOCK shared [50,60) DENIED" 1 "$(st T lock 2 50 10 shared)"
check_eq "U (via the home n1): LOCK exclusive [0,1) DENIED" 1 "$(st U lock 3 0 1 excl)"
check_eq "T: LOCK exclusive [100,110) GRANTED (no overlap)" 0 "$(st T lock 2 100 10 excl)"
check_eq "T: UNLOCK [100,110)" 0 "$(st T unlock 2 100 10)"
check_eq "H: downgrade [0,100) to shared GRANTED" 0 "$(st H lock 1 0 100 shared)"
check_eq "T: shared [0,10) beside H's shared GRANTED" 0 "$(st T lock 2 0 10 shared)"
check_eq "T: upgrade to exclusive [0,10) DENIED (H shares it)" 1 "$(st T lock 2 0 10 excl)"
check_eq "another owner (svid 9) on H's own connection: exclusive DENIED" 1 "$(st H lock 9 0 10 excl)"
check_eq "T: UNLOCK [0,10)" 0 "$(st T unlock 2 0 10)"
check_eq "H: back to exclusive [0,100)" 0 "$(st H lock 1 0 100 excl)"

# ---------------------------------------------------------- 4. blocking --
check_eq "W (c2, through the VIP): open alpha/lk" 1 "$(cl W open alpha/lk | jq -r .open)"
cb0=$(($(nlm n1 .callbacks) + $(nlm n2 .callbacks) + $(nlm n3 .callbacks)))
check_eq "W: exclusive [0,10) with block: BLOCKED" 3 "$(st W lock 5 0 10 excl block)"
check_eq "n1 queues it" 1 "$(nlm n1 .waiting)"
check_eq "H: UNLOCK [0,100)" 0 "$(st H unlock 1 0 100)"
g=$(cl W granted 10)
diag "W's callback: $g"
check_eq "W: GRANTED callback for svid 5 [0,10) within 10 s" "1 5 0 10" \
	"$(jq -r '"\(.granted) \(.svid) \(.off) \(.len)"' <<<"$g")"
check_eq "... sent from the VIP" "$VIP4" "$(jq -r .from <<<"$g")"
check "... counted as a callback" test \
	$(($(nlm n1 .callbacks) + $(nlm n2 .callbacks) + $(nlm n3 .callbacks))) -gt "$cb0"
diag "relayed through the node W called: n1 $(nlm n1 .relayed)"
check_eq "T: TEST exclusive [0,1) DENIED, holder W's svid 5" '1 5' \
	"$(cl T test 2 0 1 excl | jq -r '"\(.stat) \(.holder)"')"
check_eq "H: exclusive [5,6) with block: BLOCKED (W holds it)" 3 "$(st H lock 1 5 1 excl block)"
check_eq "H: CANCEL of it: GRANTED" 0 "$(st H cancel 1 5 1 excl)"
check_eq "n1 has no waiter left" 0 "$(nlm n1 .waiting)"
check_eq "W: UNLOCK" 0 "$(st W unlock 5 0 10)"

# ----------------------------------------------------------- 5. handoff --
cl_start H2 c1 "$VIP4" -H hostH2
check_eq "H2 (through the VIP): open alpha/lk2" 1 "$(cl H2 open alpha/lk2 | jq -r .open)"
check_eq "T: open alpha/lk2" 1 "$(cl T open alpha/lk2 | jq -r .open)"
check_eq "H2: exclusive lock of the whole file" 0 "$(st H2 lock 11 0 0 excl)"
P=$(cl H2 port | jq -r .port)
X=$(flow_node "$C1_IP4" "$P" 2049)
Y=$(other "$X")
ctl migrate "$C1_IP4:$P" "$VIP4:2049" "$Y" >"$TEST_TMP/migrate.out" 2>&1
diag "H2 on $X (port $P); tandemctl migrate to $Y: $(cat "$TEST_TMP/migrate.out")"
check_eq "H2's connection moved from $X to $Y" "$Y" "$(flow_node "$C1_IP4" "$P" 2049)"
check_eq "T: LOCK exclusive [0,1) still DENIED after the move" 1 "$(st T lock 2 0 1 excl)"
check_eq "H2 (now on $Y): TEST of its own lock GRANTED" 0 "$(cl H2 test 11 0 0 excl | jq -r .stat)"
check_eq "H2: UNLOCK through its moved connection" 0 "$(st H2 unlock 11 0 0)"
check_eq "T: LOCK exclusive [0,1) GRANTED now" 0 "$(st T lock 2 0 1 excl)"
check_eq "T: UNLOCK" 0 "$(st T unlock 2 0 1)"

# ------------------------------------------------- 6. a client restarts --
cl_start R c1 "$N2_IP4" -H hostR
check_eq "R: open alpha/lk3" 1 "$(cl R open alpha/lk3 | jq -r .open)"
check_eq "R: lock alpha/lk3 (home n1)" 0 "$(st R lock 21 0 0 excl)"
check_eq "R: open beta/lk3" 1 "$(cl R open beta/lk3 | jq -r .open)"
check_eq "R: lock beta/lk3 (home n2)" 0 "$(st R lock 21 0 0 excl)"
check_eq "T: open alpha/lk3" 1 "$(cl T open alpha/lk3 | jq -r .open)"
check_eq "T: alpha/lk3 DENIED while R holds it" 1 "$(st T lock 2 0 1 excl)"
check_eq "U: SM_NOTIFY hostR to n1 (R's host restarted)" 1 "$(cl U notify hostR 3 | jq -r .notified)"
freed() { [ "$(st T lock 2 0 1 excl)" = 0 ]; }
check "T: alpha/lk3 GRANTED after the notify" wait_for 10 freed
check_eq "T: open beta/lk3" 1 "$(cl T open beta/lk3 | jq -r .open)"
check_eq "T: beta/lk3 (home n2) GRANTED: the notify reached n2 too" 0 "$(st T lock 2 0 1 excl)"

# ------------------------------------------------------ 7. the _MSG forms --
MSG_WANT="LOCK_MSG 0 0 12 0 null;TEST_MSG 0 0 11 1 1;LOCK_MSG 0 0 12 1 null;UNLOCK_MSG 0 0 14 0 null;LOCK_MSG 0 0 12 0 null;CANCEL_MSG 0 0 13 1 null;UNLOCK_MSG 0 0 14 0 null;"
m0=$(nlm n1 .msgs)
i=0
for to in "$N1_IP4" "$N3_IP4" "$VIP4"; do
	i=$((i + 1))
	in_ns c1 timeout 120 python3 "$(dirname "$0")/../tools/nfs_rpc.py" nlmmsg "$to" "alpha/msg$i" \
		>"$TEST_TMP/msg$i.json" 2>"$TEST_TMP/msg$i.err"
	diag "nlmmsg via $to: $(cat "$TEST_TMP/msg$i.json" "$TEST_TMP/msg$i.err")"
	check_eq "_MSG forms via $to: empty replies, the results as _RES calls" "$MSG_WANT" \
		"$(jq -r '.steps[] | "\(.call) \(.reply) \(.reply_body) \(.res_proc) \(.stat) \(.holder)"' "$TEST_TMP/msg$i.json" 2>/dev/null | tr '\n' ';')"
	check_eq "_MSG forms via $to: every _RES call from $to" 7 \
		"$(jq --arg a "$to" '[.steps[] | select(.from == $a)] | length' "$TEST_TMP/msg$i.json" 2>/dev/null)"
done
SHARE_WANT="0 1 0 1 0 0 0 0 0 1 0"
s0=$(nlm n1 .shared)
i=0
for via in "$N2_IP4 $N3_IP4" "$N1_IP4 $VIP4"; do
	i=$((i + 1))
	# shellcheck disable=SC2086 # (two hosts)
	in_ns c1 timeout 60 python3 "$(dirname "$0")/../tools/nfs_rpc.py" nlmshare $via "alpha/shr$i" \
		>"$TEST_TMP/shr$i.json" 2>"$TEST_TMP/shr$i.err"
	diag "nlmshare via $via: $(cat "$TEST_TMP/shr$i.json" "$TEST_TMP/shr$i.err")"
	check_eq "SHARE/UNSHARE, NM_LOCK via $via: the statuses" "$SHARE_WANT" \
		"$(jq -r '[.steps[].stat] | map(tostring) | join(" ")' "$TEST_TMP/shr$i.json" 2>/dev/null)"
done
check_eq "n1 (the home) holds no share at the end" 0 "$(nlm n1 .shares)"
check "n1 granted the shares itself (nfs.nlm.shared: $s0 -> $(nlm n1 .shared))" test "$(nlm n1 .shared)" -ge $((s0 + 6))
check "n1 (the home) took _MSG calls itself (nfs.nlm.msgs: $m0 -> $(nlm n1 .msgs))" test "$(nlm n1 .msgs)" -ge $((m0 + 7))
check "n3 took the ones called at n3 (nfs.nlm.msgs $(nlm n3 .msgs)) and forwarded them" test "$(nlm n3 .msgs)" -ge 7

# -------------------------------------------------------------- 8. end --
for n in n1 n2 n3; do
	check "nasd on $n still running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
