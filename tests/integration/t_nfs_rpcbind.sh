#!/bin/bash
# t_nfs_rpcbind: rpcbind versions 3 and 4 in tandem-nasd's portmapper,
# through the VIP, over IPv4 and IPv6, TCP and UDP, with Debian's rpcinfo
# and showmount (the rpcbind and nfs-common packages: libtirpc clients).
#
#   c1 .10 ::10                     client LAN 10.77.1.0/24, fd77:1::/64
#      |
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100 and fd77:1::100:
#                        br1 .1             tcp/udp 111 and 2049 on both
#              +----------+----------+      (LAB_NFS=1 LAB_NFS6=1)
#             n1 .11     n2 .12     n3 .13  storage LAN 10.77.2.0/24
#   each node: tandem-nasd (NASD_NFS=1 NASD_NFS6=1): NFS, MOUNT and the
#   portmapper on VIP:2049/111 and [VIP6]:2049/111; nlm_grace_s 0
#
# Checks:
#  1. `rpcinfo VIP` (rpcbind v4 DUMP) lists the portmapper 4, 3, 2, MOUNT 3,
#     NLM 4 and NSM 1 on tcp and udp and NFS 3 on tcp, each at the VIP's
#     universal address (10.77.1.100.0.111, 10.77.1.100.8.1); `rpcinfo -p
#     VIP` (version 2) lists the version 2 services, NLM and NSM.
#  2. `rpcinfo fd77:1::100` lists the same on tcp6 and udp6 at the VIP6's
#     universal addresses (fd77:1::100.0.111, fd77:1::100.8.1).
#  3. `rpcinfo -T tcp6 VIP6 nfs 3`, `-T udp6 VIP6 mount 3` and `-T tcp6
#     VIP6 nlockmgr 4` (GETADDR over IPv6, then a NULL call to the address
#     it gave): ready; over tcp
#     and udp through the v4 VIP too; `-T udp6 VIP6 nfs 3` not registered
#     (NFS is TCP only); `rpcinfo -l` (GETADDRLIST) gives MOUNT on
#     inet/tcp and inet/udp at the VIP.
#  4. `showmount -e [VIP6]`: the export over IPv6.
#  5. NLM over IPv6: tests/tools/nlm_client through [VIP6]:2049 locks a
#     file, its TEST from another owner is DENIED naming the holder, UNLOCK,
#     TEST GRANTED.
#  6. the nodes answered rpcbind calls over UDP (their udp counters grew)
#     and every nasd is still up.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd jq rpcinfo showmount
export LAB_NFS=1 LAB_NFS6=1
lab_up
lbd_up
export NASD_NFS=1 NASD_NFS6=1 NASD_NFS_EXTRA='"nlm_grace_s": 0,'
nasd_all_up
svc3() { [ "$(svc_nodes "$1" "$2" "$3")" = 3 ]; }
for vp in "v4 tcp 111" "v4 udp 111" "v4 tcp 2049" "v6 tcp 111" "v6 udp 111" "v6 tcp 2049" "v6 udp 2049"; do
	# shellcheck disable=SC2086
	check "$vp has 3 nodes in its table" wait_for 10 svc3 $vp
done
nst() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2 // 0"; }
udp_replies() { local n t=0; for n in n1 n2 n3; do t=$((t + $(nst "$n" .udp.replies))); done; echo "$t"; }
u0=$(udp_replies)

# ----------------------------------------------------- 1. v4 DUMP, v4 VIP --
in_ns c1 timeout 20 rpcinfo "$VIP4" >"$TEST_TMP/dump4.out" 2>&1
rc=$?
diag "rpcinfo $VIP4: $(tr -s ' \n' ' ' <"$TEST_TMP/dump4.out")"
check_eq "rpcinfo VIP (rpcbind v4 DUMP) exits 0" 0 "$rc"
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/dump4.out" | tr '\n' ';')
check_eq "... portmapper 4 3 2 on tcp and udp, MOUNT on tcp and udp, NFS on tcp, NLM and NSM on tcp and udp, at the VIP" \
	"100000 4 tcp 10.77.1.100.0.111;100000 3 tcp 10.77.1.100.0.111;100000 2 tcp 10.77.1.100.0.111;100000 4 udp 10.77.1.100.0.111;100000 3 udp 10.77.1.100.0.111;100000 2 udp 10.77.1.100.0.111;100005 3 tcp 10.77.1.100.8.1;100005 3 udp 10.77.1.100.8.1;100003 3 tcp 10.77.1.100.8.1;100021 4 tcp 10.77.1.100.8.1;100021 4 udp 10.77.1.100.8.1;100024 1 tcp 10.77.1.100.8.1;100024 1 udp 10.77.1.100.8.1;" "$norm"
in_ns c1 timeout 20 rpcinfo -p "$VIP4" >"$TEST_TMP/p.out" 2>&1
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/p.out" | sort | tr '\n' ';')
check_eq "rpcinfo -p VIP (version 2): the version 2 services, NLM and NSM" \
	"100000 2 tcp 111;100000 2 udp 111;100003 3 tcp 2049;100005 3 tcp 2049;100005 3 udp 2049;100021 4 tcp 2049;100021 4 udp 2049;100024 1 tcp 2049;100024 1 udp 2049;" "$norm"

# --------------------------------------------------------- 2. v6 DUMP --
in_ns c1 timeout 20 rpcinfo "$VIP6" >"$TEST_TMP/dump6.out" 2>&1
rc=$?
diag "rpcinfo $VIP6: $(tr -s ' \n' ' ' <"$TEST_TMP/dump6.out")"
check_eq "rpcinfo VIP6 exits 0" 0 "$rc"
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/dump6.out" | tr '\n' ';')
check_eq "... the same on tcp6 and udp6 at the VIP6's universal addresses" \
	"100000 4 tcp6 $VIP6.0.111;100000 3 tcp6 $VIP6.0.111;100000 2 tcp6 $VIP6.0.111;100000 4 udp6 $VIP6.0.111;100000 3 udp6 $VIP6.0.111;100000 2 udp6 $VIP6.0.111;100005 3 tcp6 $VIP6.8.1;100005 3 udp6 $VIP6.8.1;100003 3 tcp6 $VIP6.8.1;100021 4 tcp6 $VIP6.8.1;100021 4 udp6 $VIP6.8.1;100024 1 tcp6 $VIP6.8.1;100024 1 udp6 $VIP6.8.1;" "$norm"

# ------------------------------------------- 3. GETADDR, then the service --
ready() { in_ns c1 timeout 10 rpcinfo -T "$1" "$2" "$3" "$4" 2>&1 | grep -q "ready and waiting"; }
check "rpcinfo -T tcp6 VIP6 nfs 3: ready (GETADDR over IPv6, NULL to NFS over IPv6)" ready tcp6 "$VIP6" nfs 3
check "rpcinfo -T udp6 VIP6 mount 3: ready" ready udp6 "$VIP6" mount 3
check "rpcinfo -T tcp6 VIP6 mount 3: ready" ready tcp6 "$VIP6" mount 3
check "rpcinfo -T tcp6 VIP6 nlockmgr 4: ready (NLM found over IPv6)" ready tcp6 "$VIP6" nlockmgr 4
check "rpcinfo -T udp6 VIP6 status 1: ready" ready udp6 "$VIP6" status 1
check "rpcinfo -T tcp VIP nfs 3: ready" ready tcp "$VIP4" nfs 3
check "rpcinfo -T udp VIP mount 3: ready" ready udp "$VIP4" mount 3
no_udp6_nfs() { ! in_ns c1 timeout 10 rpcinfo -T udp6 "$VIP6" nfs 3 >/dev/null 2>&1; }
check "rpcinfo -T udp6 VIP6 nfs 3: not registered (NFS is TCP only)" no_udp6_nfs
in_ns c1 timeout 10 rpcinfo -l "$VIP4" 100005 3 >"$TEST_TMP/l.out" 2>&1
diag "rpcinfo -l VIP 100005 3: $(tr -s ' \n' ' ' <"$TEST_TMP/l.out")"
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/l.out" | tr '\n' ';')
check_eq "rpcinfo -l (GETADDRLIST): MOUNT on inet/tcp and inet/udp at the VIP" \
	"100005 3 inet/tcp/cots_ord 10.77.1.100.8.1;100005 3 inet/udp/clts 10.77.1.100.8.1;" "$norm"

# ------------------------------------------------------ 4. showmount v6 --
in_ns c1 timeout 20 showmount -e "$VIP6" >"$TEST_TMP/showmount.out" 2>&1
rc=$?
diag "showmount -e $VIP6: $(tr -s ' \n' ' ' <"$TEST_TMP/showmount.out")"
check_eq "showmount -e VIP6 exits 0" 0 "$rc"
check_eq "... lists /export for both client networks" "/export 10.77.1.0/24,fd77:1::/64" \
	"$(tail -n 1 "$TEST_TMP/showmount.out")"

# ------------------------------------------------------ 5. NLM over IPv6 --
mkdir -p "$LAB_DIR/nfs" && echo v6 >"$LAB_DIR/nfs/lk6"
printf 'open lk6\nlock 1 0 10 excl\ntest 2 5 1 excl\nunlock 1 0 10\ntest 2 5 1 excl\nquit\n' |
	in_ns c1 timeout 30 "$TANDEM_BUILD/tools/nlm_client" -H host6 "$VIP6" /export >"$TEST_TMP/nlm6.out" 2>&1
diag "nlm_client through [$VIP6]: $(tr '\n' ' ' <"$TEST_TMP/nlm6.out")"
check_eq "NLM over IPv6 through the VIP6: open, LOCK GRANTED, TEST DENIED naming svid 1, UNLOCK, TEST GRANTED" \
	'1 0 1:1 0 0' "$(jq -rs '"\(.[0].open) \(.[1].stat) \(.[2].stat):\(.[2].holder) \(.[3].stat) \(.[4].stat)"' "$TEST_TMP/nlm6.out")"

# ------------------------------------------------------------ 6. health --
check "the nodes answered over UDP" test "$(udp_replies)" -gt "$u0"
for n in n1 n2 n3; do
	check "nasd on $n still running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
