#!/bin/bash
# t_nfs_ns: one NFS namespace over the three storage nodes:
# a virtual root whose top-level directories each live on a home node; any
# node answers for the root and forwards calls on another node's files to
# their home.  Unmodified libnfs utilities through the VIP, plus
# tests/tools/nfs_rpc.py.
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100: tcp/111, tcp/2049
#                        br1 .1             (LAB_NFS=1), Maglev per connection
#              +----------+----------+     storage LAN 10.77.2.0/24
#             n1 .11     n2 .12     n3 .13
#   each node: tandem-nasd (NASD_NFS=1 NASD_NFS_NS=1), export /export ->
#   LAB_DIR/nX/nfs (its own disk), homes: alpha -> n1, beta -> n2,
#   gamma -> n3; a call on another node's handle goes node to node
#   (storage LAN, :2049) and its reply comes back the same way.
#
# Checks: every node lists alpha, beta and gamma at the root; files copied
# into each directory land on the home's disk only (sha256), come back
# intact through any node, directories list through any node; parallel
# copies from c1 and c2 into all three; calls were forwarded (counters);
# the root's handle is the same everywhere and read-only, handles carry
# their home; RENAME of a 3 MiB file from alpha (n1) to beta (n2) through
# whichever node the VIP picks moves it (gone from alpha, same bytes in
# beta under a handle of n2), RENAME of a directory and LINK across homes
# are XDEV; a home that is down: JUKEBOX through the others, then normal
# again once it is back.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq nfs-ls nfs-cp nfs-cat
export LAB_NFS=1
lab_up
lbd_up
export NASD_NFS=1 NASD_NFS_NS=1
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
nasd_all_up
svc3() { [ "$(svc_nodes v4 tcp "$1")" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3 2049

URL=nfs://$VIP4/export
RPC=$REPO/tests/tools/nfs_rpc.py
rpc() { local c=$1 m=$2; shift 2; in_ns "$c" "$PY" "$RPC" "$m" "$VIP4" "$@"; }
nstat() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2"; }
home() { case "$1" in alpha) echo n1 ;; beta) echo n2 ;; gamma) echo n3 ;; esac; }
ls_names() { in_ns "$1" timeout 20 nfs-ls "$2" | awk '{print $NF}' | grep -v '^\.\.\?$' | sort | tr '\n' ' '; }

mkdir -p "$TEST_TMP/in"
for d in alpha beta gamma; do head -c $((3145728 + ${#d} * 1001)) /dev/urandom >"$TEST_TMP/in/$d.bin"; done
for i in 1 2 3 4 5 6; do head -c $((2097152 + i * 777)) /dev/urandom >"$TEST_TMP/in/p$i.bin"; done

# ------------------------------------------------------------- the root --
bad=0
for i in 1 2 3 4 5 6; do
	c=c1
	[ $((i % 2)) = 0 ] && c=c2
	[ "$(ls_names "$c" "$URL")" = "alpha beta gamma " ] || bad=$((bad + 1))
done
check_eq "nfs-ls of the root, 6 times (any node): alpha beta gamma" 0 "$bad"

# --------------------------------------------------- files on their home --
for d in alpha beta gamma; do
	h=$(home "$d")
	check "nfs-cp into $d" in c1 timeout 60 nfs-cp "$TEST_TMP/in/$d.bin" "$URL/$d/f.bin"
	check_eq "... on $d's home $h's disk (sha256)" "$(sha "$TEST_TMP/in/$d.bin")" "$(sha "$LAB_DIR/$h/nfs/$d/f.bin" 2>/dev/null)"
	others=""
	for n in n1 n2 n3; do
		[ "$n" != "$h" ] && [ -e "$LAB_DIR/$n/nfs/$d/f.bin" ] && others+=" $n"
	done
	check_eq "... and on no other node's disk" "" "$others"
	check "nfs-cp out of $d (c2)" in c2 timeout 60 nfs-cp "$URL/$d/f.bin" "$TEST_TMP/$d.out"
	check_eq "... sha256" "$(sha "$TEST_TMP/in/$d.bin")" "$(sha "$TEST_TMP/$d.out")"
	check_eq "nfs-ls $d" "f.bin " "$(ls_names c1 "$URL/$d")"
done

# ------------------------------------------------------ parallel copies --
pids=()
i=0
for d in alpha beta gamma; do
	i=$((i + 1))
	in_ns c1 timeout 90 nfs-cp "$TEST_TMP/in/p$i.bin" "$URL/$d/p$i.bin" >/dev/null 2>&1 & pids+=($!)
	in_ns c2 timeout 90 nfs-cp "$TEST_TMP/in/p$((i + 3)).bin" "$URL/$d/p$((i + 3)).bin" >/dev/null 2>&1 & pids+=($!)
	in_ns c1 timeout 90 nfs-cp "$URL/$d/f.bin" "$TEST_TMP/$d.par1" >/dev/null 2>&1 & pids+=($!)
	in_ns c2 timeout 90 nfs-cp "$URL/$d/f.bin" "$TEST_TMP/$d.par2" >/dev/null 2>&1 & pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "12 parallel copies into and out of the three homes exit 0" 0 "$bad"
bad=""
i=0
for d in alpha beta gamma; do
	i=$((i + 1))
	h=$(home "$d")
	[ "$(sha "$TEST_TMP/in/p$i.bin")" = "$(sha "$LAB_DIR/$h/nfs/$d/p$i.bin" 2>/dev/null)" ] || bad+=" $d/p$i"
	[ "$(sha "$TEST_TMP/in/p$((i + 3)).bin")" = "$(sha "$LAB_DIR/$h/nfs/$d/p$((i + 3)).bin" 2>/dev/null)" ] || bad+=" $d/p$((i + 3))"
	[ "$(sha "$TEST_TMP/in/$d.bin")" = "$(sha "$TEST_TMP/$d.par1")" ] || bad+=" $d.par1"
	[ "$(sha "$TEST_TMP/in/$d.bin")" = "$(sha "$TEST_TMP/$d.par2")" ] || bad+=" $d.par2"
done
check_eq "... every copy sha256-identical, on its home's disk" "" "$bad"
fw=0 fp=0
for n in n1 n2 n3; do
	diag "$n: forwarded $(nstat "$n" .forwarded), from peers $(nstat "$n" .from_peers), forward errors $(nstat "$n" .forward_errors)"
	fw=$((fw + $(nstat "$n" .forwarded)))
	fp=$((fp + $(nstat "$n" .from_peers)))
done
check "calls were forwarded node to node" test "$fw" -gt 0
check "homes accepted their peers' connections" test "$fp" -gt 0

# ------------------------------------------------- the namespace, raw RPC --
rpc c1 ns >"$TEST_TMP/ns.json" 2>"$TEST_TMP/ns.err"
check "ns: the client ran to the end" test "$(wc -l <"$TEST_TMP/ns.json")" -ge 18 ||
	diag "$(tail -n 5 "$TEST_TMP/ns.err")"
while IFS= read -r l; do
	[ "$(jq -r 'has("name")' <<<"$l")" = true ] || continue
	check_eq "ns: $(jq -r .name <<<"$l")" "$(jq -c .want <<<"$l")" "$(jq -c .got <<<"$l")"
done <"$TEST_TMP/ns.json"
gamma_fh=$(grep '^{"fh"' "$TEST_TMP/ns.json" | jq -r .fh.gamma)
root_a=$(rpc c1 mnt /export | jq -r .fh)
root_b=$(rpc c2 mnt /export | jq -r .fh)
check_eq "the root's handle is the same whichever node answers" "$root_a" "$root_b"

# ------------------------------------------------------- a home is down --
p=$(nasd_pid n3)
kill "$p"
wait_for 5 pid_gone "$p"
# both of n3's NFS services: a client asks the portmapper (111) first
svc2() { [ "$(svc_nodes v4 tcp 2049)" = 2 ] && [ "$(svc_nodes v4 tcp 111)" = 2 ]; }
check "lbd takes n3 out of the tcp/2049 and tcp/111 tables (its nasd stopped)" wait_for 10 svc2
check_eq "GETATTR on gamma (home n3 down) through another node: JUKEBOX" 10008 "$(rpc c1 getattr "$gamma_fh" | jq -r .getattr)"
check_eq "alpha still works meanwhile" "f.bin p1.bin p4.bin " "$(ls_names c2 "$URL/alpha")"
check "n3's nasd starts again" nasd_start n3
check "lbd puts n3 back into the tcp/2049 table" wait_for 15 svc3 2049
check_eq "GETATTR on gamma once its home is back: OK" 0 "$(rpc c1 getattr "$gamma_fh" | jq -r .getattr)"
check "nfs-cp out of gamma again" in c2 timeout 60 nfs-cp "$URL/gamma/f.bin" "$TEST_TMP/gamma.again"
check_eq "... sha256" "$(sha "$TEST_TMP/in/gamma.bin")" "$(sha "$TEST_TMP/gamma.again")"
for n in n1 n2 n3; do
	check "nasd on $n running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
