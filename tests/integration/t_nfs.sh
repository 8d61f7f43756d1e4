#!/bin/bash
# t_nfs: NFSv3 in tandem-nasd through the VIP, with the
# unmodified libnfs utilities (nfs-ls, nfs-cp, nfs-cat) and a raw RPC client.
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100, LAB_NFS=1: tcp/111
#                        br1 .1             and tcp/2049 on the VIP (Maglev)
#              +----------+----------+     storage LAN 10.77.2.0/24
#             n1 .11     n2 .12     n3 .13
#   each node: tandem-nasd (NASD_NFS=1): HTTP :80 (lbd's health check), NFS
#   v3 + MOUNT v3 on VIP:2049, portmapper on VIP:111; export /export ->
#   LAB_DIR/nfs, one directory seen by every node (as a cluster file system
#   would be), handles signed with one cluster key, so any node serves any
#   handle: each of a client's TCP connections (portmapper, MOUNT, NFS) may
#   land on another node.
#
# Checks: copies in and out through the VIP sha256-checked against the
# node's disk; directory listings; every NFSv3 procedure through a raw RPC
# client (results and the disk); c1 and c2 copying in parallel (several
# nodes serve them); a forged or altered handle refused (BADHANDLE/STALE) on
# every byte; connections frozen into their blob and rebuilt (half a call,
# pipelined calls, during a read), a retransmission answered from the
# duplicate request cache; malformed RPCs answered with their RPC error (RPC_MISMATCH,
# PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, AUTH_BADCRED,
# AUTH_TOOWEAK), oversize records closing the connection, every nasd still
# up; `tandemctl drain` of a node serving NFS copies: every copy completes
# intact; clients outside "clients" (only c1's /32 allowed): their
# connections closed at accept (no MNT, no GETATTR answered, each counted
# once) while c1 keeps working.
# FAMILY=6 (t_nfs_v6.sh): the same over IPv6, with the same assertions: the
# clients' IPv6 addresses to the v6 VIP (LAB_NFS6=1, NASD_NFS6=1: portmapper,
# MOUNT and NFS on [VIP6]), "clients" c1's /128 in the last part.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq nfs-ls nfs-cp nfs-cat
export LAB_NFS=1
FAMILY=${FAMILY:-4}
[ "$FAMILY" = 6 ] && export LAB_NFS6=1 NASD_NFS6=1
lab_up
lbd_up
# VIP and VN (lbd's name for it), C1_NET (c1 alone, for "clients") of FAMILY.
# libnfs 4.0 takes an IPv6 server in a URL without brackets (it hands the
# host part to getaddrinfo as it is).
if [ "$FAMILY" = 6 ]; then
	VIP=$VIP6 VN=v6 C1_NET=$C1_IP6/128
else
	VIP=$VIP4 VN=v4 C1_NET=$C1_IP4/32
fi
export NASD_NFS=1
nasd_all_up
svc3() { [ "$(svc_nodes "$VN" tcp "$1")" = 3 ]; }
check "$VN tcp/111 has 3 nodes in its table (LAB_NFS=1)" wait_for 10 svc3 111
check "$VN tcp/2049 has 3 nodes in its table" wait_for 10 svc3 2049

URL=nfs://$VIP/export
EXP=$LAB_DIR/nfs
RPC=$REPO/tests/tools/nfs_rpc.py
# rpc C MODE ARGS...: tests/tools/nfs_rpc.py MODE in client C against the VIP
rpc() { local c=$1 m=$2; shift 2; in_ns "$c" "$PY" "$RPC" "$m" "$VIP" "$@"; }
# nstat NODE JQ: a field of NODE's nfs status
nstat() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2"; }

# ------------------------------------------------------------ fixtures --
mkdir -p "$EXP/dir1/sub" "$TEST_TMP/in"
echo "hello from the export" >"$EXP/hello.txt"
head -c 8388608 /dev/urandom >"$EXP/r8m.bin"
head -c 3000001 /dev/urandom >"$EXP/dir1/sub/odd.bin"
for i in 1 2 3 4 5 6; do head -c $((4194304 + i * 4099)) /dev/urandom >"$EXP/p$i.bin"; done
for i in 1 2 3 4 5 6; do head -c $((5242880 + i * 511)) /dev/urandom >"$TEST_TMP/in/w$i.bin"; done
head -c 33554432 /dev/urandom >"$TEST_TMP/in/big.bin"

# ---------------------------------------------------------- basic copies --
check_eq "nfs-cat of a small file" "hello from the export" "$(in_ns c1 timeout 20 nfs-cat "$URL/hello.txt")"
check "nfs-cp out of the export (8 MiB)" in c1 timeout 60 nfs-cp "$URL/r8m.bin" "$TEST_TMP/r8m.out"
check_eq "... sha256 equals the node's disk" "$(sha "$EXP/r8m.bin")" "$(sha "$TEST_TMP/r8m.out")"
check "nfs-cp from a subdirectory (odd size)" in c2 timeout 60 nfs-cp "$URL/dir1/sub/odd.bin" "$TEST_TMP/odd.out"
check_eq "... sha256" "$(sha "$EXP/dir1/sub/odd.bin")" "$(sha "$TEST_TMP/odd.out")"
check "nfs-cp into the export (32 MiB)" in c1 timeout 90 nfs-cp "$TEST_TMP/in/big.bin" "$URL/dir1/big.bin"
check_eq "... sha256 on the node's disk" "$(sha "$TEST_TMP/in/big.bin")" "$(sha "$EXP/dir1/big.bin")"
check "nfs-cp back out of the export" in c2 timeout 90 nfs-cp "$URL/dir1/big.bin" "$TEST_TMP/big.back"
check_eq "... sha256 round trip" "$(sha "$TEST_TMP/in/big.bin")" "$(sha "$TEST_TMP/big.back")"

# ------------------------------------------------------------- listings --
ls_names() { in_ns "$1" timeout 20 nfs-ls "$2" | awk '{print $NF}' | grep -v '^\.\.\?$' | sort | tr '\n' ' '; }
want_root="$(cd "$EXP" && ls -1 | sort | tr '\n' ' ')"
check_eq "nfs-ls of the export root lists the node's directory" "$want_root" "$(ls_names c1 "$URL")"
check_eq "nfs-ls of a subdirectory" "big.bin sub " "$(ls_names c2 "$URL/dir1")"
check "nfs-ls shows sizes" sh -c "ip netns exec tdm-$LAB_NAME-c1 timeout 20 nfs-ls $URL/dir1/sub | grep -q ' 3000001 odd.bin\$'"

# ------------------------------------- every procedure, raw RPC (c1) --
# MKDIR, CREATE (GUARDED, UNCHECKED, EXCLUSIVE with retransmission), WRITE
# (UNSTABLE + COMMIT verifier, FILE_SYNC), READ, SETATTR (guard, size,
# mode), SYMLINK, READLINK, LINK, RENAME (the handle survives), READDIR and
# READDIRPLUS in pieces with cookies, BAD_COOKIE, TOOSMALL, ACCESS, FSSTAT,
# FSINFO, PATHCONF, MKNOD (NOTSUPP), LOOKUP "..", symlinks never followed,
# AUTH_SYS uid 1000 refused where the modes say so, REMOVE, RMDIR.
rpc c1 procs ptest >"$TEST_TMP/procs.json" 2>"$TEST_TMP/procs.err"
check "procs: the client ran to the end" test "$(wc -l <"$TEST_TMP/procs.json")" -ge 45 ||
	diag "$(tail -n 5 "$TEST_TMP/procs.err")"
while IFS= read -r l; do
	check_eq "procs: $(jq -r .name <<<"$l")" "$(jq -c .want <<<"$l")" "$(jq -c .got <<<"$l")"
done <"$TEST_TMP/procs.json"
check "procs: the directory is gone from the node's disk" test ! -e "$EXP/ptest"

# ------------------------------------------------- several clients at once --
pids=()
for i in 1 2 3; do
	in_ns c1 timeout 120 nfs-cp "$URL/p$i.bin" "$TEST_TMP/p$i.out" >"$TEST_TMP/p$i.log" 2>&1 & pids+=($!)
	in_ns c2 timeout 120 nfs-cp "$URL/p$((i + 3)).bin" "$TEST_TMP/p$((i + 3)).out" >"$TEST_TMP/p$((i + 3)).log" 2>&1 & pids+=($!)
	in_ns c1 timeout 120 nfs-cp "$TEST_TMP/in/w$i.bin" "$URL/w$i.bin" >"$TEST_TMP/w$i.log" 2>&1 & pids+=($!)
	in_ns c2 timeout 120 nfs-cp "$TEST_TMP/in/w$((i + 3)).bin" "$URL/w$((i + 3)).bin" >"$TEST_TMP/w$((i + 3)).log" 2>&1 & pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "12 parallel copies (c1 and c2, 6 in, 6 out) all exit 0" 0 "$bad"
bad=""
for i in 1 2 3 4 5 6; do
	[ "$(sha "$EXP/p$i.bin")" = "$(sha "$TEST_TMP/p$i.out" 2>/dev/null)" ] || bad+=" p$i"
	[ "$(sha "$TEST_TMP/in/w$i.bin")" = "$(sha "$EXP/w$i.bin" 2>/dev/null)" ] || bad+=" w$i"
done
check_eq "... every copy sha256-identical" "" "$bad"
served=0
for n in n1 n2 n3; do
	c=$(nstat "$n" .procs.read)
	w=$(nstat "$n" .procs.write)
	diag "$n: nfs read calls $c, write calls $w, connections $(nstat "$n" .connections_total)"
	[ $((c + w)) -gt 0 ] && served=$((served + 1))
done
check "several nodes served READ/WRITE through the VIP" test "$served" -ge 2

# ------------------------------------------------------- forged handles --
j=$(rpc c1 forge r8m.bin)
check_eq "forge: the valid handle works (GETATTR NFS3_OK)" 0 "$(jq -r .valid <<<"$j")"
check_eq "forge: no altered handle accepted (72 single-bit changes, each byte)" "[]" "$(jq -c .accepted <<<"$j")"
check_eq "forge: another inode under the old MAC: BADHANDLE" 10001 "$(jq -r .other_inode <<<"$j")"
check_eq "forge: short / long / empty / zero handles: BADHANDLE" "10001 10001 10001 10001" "$(jq -r '"\(.short) \(.long) \(.empty) \(.zeros)"' <<<"$j")"
check_eq "forge: the valid handle still works after" 0 "$(jq -r .valid_after <<<"$j")"
b=0
for n in n1 n2 n3; do b=$((b + $(nstat "$n" .bad_handles))); done
check "forge: nasd counted the bad handles" test "$b" -ge 76

# ------------------------------------------------------- malformed RPCs --
rpc c2 malformed >"$TEST_TMP/malformed.json" 2>"$TEST_TMP/malformed.err"
check "malformed: the client ran to the end" test "$(wc -l <"$TEST_TMP/malformed.json")" -ge 25 ||
	diag "$(tail -n 5 "$TEST_TMP/malformed.err")"
while IFS= read -r l; do
	check_eq "malformed: $(jq -r .name <<<"$l")" "$(jq -c .want <<<"$l")" "$(jq -c .got <<<"$l")"
done <"$TEST_TMP/malformed.json"
for n in n1 n2 n3; do
	check "malformed: nasd on $n still running" kill -0 "$(nasd_pid "$n")"
done
check_eq "malformed: nfs-cat still works" "hello from the export" "$(in_ns c1 timeout 20 nfs-cat "$URL/hello.txt")"

# ------------------- connections frozen and rebuilt (NFS half of a handoff) --
# nfs-rebuild: pause, snapshot into the blob, release, restore on the same
# socket.  Half a call buffered, pipelined calls, a retransmitted CREATE on
# a new connection (duplicate request cache), and a slow reader whose
# connection is rebuilt again and again while it reads.
socks="$LAB_DIR/n1/nasd.sock,$LAB_DIR/n2/nasd.sock,$LAB_DIR/n3/nasd.sock"
rpc c1 rebuild "$socks" >"$TEST_TMP/rebuild.json" 2>"$TEST_TMP/rebuild.err"
check "rebuild: the client ran to the end" test "$(wc -l <"$TEST_TMP/rebuild.json")" -ge 7 ||
	diag "$(tail -n 5 "$TEST_TMP/rebuild.err")"
while IFS= read -r l; do
	check_eq "rebuild: $(jq -r .name <<<"$l")" "$(jq -c .want <<<"$l")" "$(jq -c .got <<<"$l")"
done <"$TEST_TMP/rebuild.json"
head -c 8388608 /dev/urandom >"$EXP/dir1/rb.bin"
rpc c2 slowread dir1/rb.bin "$TEST_TMP/rb.out" 4 >"$TEST_TMP/rb.json" 2>&1 &
rb=$!
rebuilt=0
end=$(($(now_ms) + 3000))
while [ "$(now_ms)" -lt "$end" ]; do
	for n in n1 n2 n3; do
		for id in $(nctl "$n" '{"cmd":"nfs-conns"}' | jq -r '.conns[].id'); do
			[ "$(nctl "$n" "{\"cmd\":\"nfs-rebuild\",\"id\":$id}" | jq -r .ok)" = true ] && rebuilt=$((rebuilt + 1))
		done
	done
done
check "slow reader: exits 0 while its connection is rebuilt" wait "$rb"
check "slow reader: connections were rebuilt during the read" test "$rebuilt" -ge 3
diag "$rebuilt rebuilds during the slow read"
check_eq "slow reader: sha256 intact" "$(sha "$EXP/dir1/rb.bin")" "$(sha "$TEST_TMP/rb.out")"

# -------------------------------------------------- drain during copies --
# Six workers (c1 writes, c2 reads, 128 MiB each time) copy in a loop, each
# copy sha256-checked, until told to stop; nfs-cp is fast (~0.3 s a copy),
# so three slow readers (raw RPC, 16 MiB over ~12 s, one connection each)
# make sure connections are open when the node holding the most of them is
# drained.  Every worker must complete two more copies after the drain, and
# every slow reader its file, intact.
worker() {	# worker ID CLIENT in|out (nfs-cp never overwrites: a new name each time)
	local id=$1 c=$2 i=0 src dst
	while [ ! -e "$TEST_TMP/stop" ] && [ "$i" -lt 60 ]; do
		i=$((i + 1))
		if [ "$3" = in ]; then
			src=$EXP/dir1/huge.bin dst=$EXP/d$id.$i.bin
			in_ns "$c" timeout 60 nfs-cp "$src" "$URL/d$id.$i.bin" >/dev/null 2>&1 || { echo "fail $i" >>"$TEST_TMP/wk$id"; continue; }
		else
			src=$EXP/dir1/huge.bin dst=$TEST_TMP/e$id.$i.out
			in_ns "$c" timeout 60 nfs-cp "$URL/dir1/huge.bin" "$dst" >/dev/null 2>&1 || { echo "fail $i" >>"$TEST_TMP/wk$id"; continue; }
		fi
		if [ "$(sha "$src")" = "$(sha "$dst")" ]; then echo ok >>"$TEST_TMP/wk$id"; else echo "bad $i" >>"$TEST_TMP/wk$id"; fi
		rm -f "$dst"
	done
}
oks() { grep -c '^ok' "$TEST_TMP/wk$1" 2>/dev/null || echo 0; }
all_oks_ge() {	# all_oks_ge N [BASE...]: every worker has N more ok copies than BASE
	local i b=("${@:2}")
	for i in 1 2 3 4 5 6; do
		[ "$(oks "$i")" -ge $(($1 + ${b[i - 1]:-0})) ] || return 1
	done
}
rm -f "$TEST_TMP/stop"
head -c 134217728 /dev/urandom >"$EXP/dir1/huge.bin"
head -c 16777216 /dev/urandom >"$EXP/dir1/slow.bin"
pids=()
for i in 1 2 3; do
	worker "$i" c1 in & pids+=($!)
	worker "$((i + 3))" c2 out & pids+=($!)
done
long_conns() {	# long_conns NODE: how many of its NFS connections are older than 1 s
	nctl "$1" '{"cmd":"nfs-conns"}' | jq '[.conns[] | select(.age_ms > 1000)] | length'
}
busiest() {	# "NODE COUNT" of the node with the most long-lived NFS connections, into TEST_TMP/busiest
	local n best="" bc=0 c
	for n in n1 n2 n3; do
		c=$(long_conns "$n")
		[ "${c:-0}" -gt "$bc" ] && { best=$n; bc=$c; }
	done
	[ -n "$best" ] || return 1
	# Asked again: a connection may move between nodes (data location
	# handoff) while the others are counted; the drain below wants a node
	# that holds one now.
	c=$(long_conns "$best")
	[ "${c:-0}" -gt 0 ] && echo "$best $c" >"$TEST_TMP/busiest"
}
check "workers: every one completed a first copy" wait_for 60 all_oks_ge 1
spids=()
for i in 1 2 3; do
	c=c1
	[ "$i" = 2 ] && c=c2
	rpc "$c" slowread dir1/slow.bin "$TEST_TMP/slow$i.out" 12 >"$TEST_TMP/slow$i.json" 2>&1 & spids+=($!)
done
X="" open_x=0
wait_for 30 busiest && read -r X open_x <"$TEST_TMP/busiest"
check "copies in flight: a node holds NFS connections" test -n "$X"
X=${X:-n1}
base=()
for i in 1 2 3 4 5 6; do base+=("$(oks "$i")"); done
check "the node to drain ($X) holds a slow reader's connection" test "${open_x:-0}" -gt 0
diag "draining $X with $open_x NFS connection(s) open; copies so far: ${base[*]}"
check "tandemctl drain $X during the copies" ctl drain "$X"
conns_x=$(nstat "$X" .connections_total)
check "drain: every worker completes two more copies" wait_for 120 all_oks_ge 2 "${base[@]}"
touch "$TEST_TMP/stop"
for p in "${pids[@]}"; do wait "$p"; done
check_eq "drain: no copy failed or differed (sha256)" "" "$(cat "$TEST_TMP"/wk? | grep -v '^ok' | tr '\n' ' ')"
diag "copies per worker: $(for i in 1 2 3 4 5 6; do printf '%s ' "$(oks "$i")"; done)"
# Not asserted: that no new connection reaches X.  libnfs binds privileged
# source ports from a small range, so a new connection often has the 5-tuple
# of an earlier one whose flow entry still points at X (lbd keeps flows).
diag "NFS connections accepted by drained $X since the drain: $(($(nstat "$X" .connections_total) - conns_x))"
check "drain: a new client session works" in c1 timeout 30 nfs-cp "$URL/p1.bin" "$TEST_TMP/after.out"
check_eq "... sha256" "$(sha "$EXP/p1.bin")" "$(sha "$TEST_TMP/after.out")"
bad=0
for p in "${spids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "drain: 3 slow readers (one connection each, across the drain) exit 0" 0 "$bad"
bad=""
for i in 1 2 3; do
	[ "$(sha "$EXP/dir1/slow.bin")" = "$(sha "$TEST_TMP/slow$i.out")" ] || bad+=" slow$i"
done
check_eq "drain: every slow reader's copy sha256-identical" "" "$bad"
check "tandemctl undrain $X" ctl undrain "$X"

# ------------------------------------- export access by client network --
for n in n1 n2 n3; do
	p=$(nasd_pid "$n")
	kill "$p"
	wait_for 5 pid_gone "$p"
done
NASD_NFS_CLIENTS="\"$C1_NET\""
for n in n1 n2 n3; do
	check "nasd restarts on $n with \"clients\": [\"$C1_NET\"] (c1 only)" nasd_start "$n"
done
check "lbd sees every node up again" wait_for 15 all_up
check_eq "c1 (allowed): nfs-cat works" "hello from the export" "$(in_ns c1 timeout 20 nfs-cat "$URL/hello.txt")"
check "c2 (outside): nfs-ls fails" sh -c "! ip netns exec tdm-$LAB_NAME-c2 timeout 20 nfs-ls $URL >/dev/null 2>&1"
refused() {	# refused_clients summed over the nodes
	local n r=0
	for n in n1 n2 n3; do r=$((r + $(nstat "$n" .refused_clients))); done
	echo "$r"
}
root=$(rpc c1 mnt /export | jq -r .fh)
check "c1: MNT gives the root handle" test -n "$root" -a "$root" != null
# lbd's health checks of 111 and 2049 come from the switch, outside
# "clients" too: counting c2's connections exactly needs them paused
# (SIGSTOP: the data plane goes on forwarding)
kill -STOP "$(lbd_pid)"
at_exit "kill -CONT $(lbd_pid)"
sleep 0.5
r0=$(refused)
# a host outside "clients" is closed at accept: no MNT3ERR_ACCES, no answer at all
check_eq "c2: MNT refused (the connection closed at accept, no answer)" closed "$(rpc c2 mnt /export | jq -r .mnt)"
check_eq "c2 with c1's valid root handle: GETATTR refused (closed at accept)" closed "$(rpc c2 getattr "$root" | jq -r .getattr)"
check_eq "refused connections counted in status, once each (c2's 2 connections)" 2 "$(($(refused) - r0))"
kill -CONT "$(lbd_pid)"
check_eq "c1 with the same handle: GETATTR NFS3_OK" 0 "$(rpc c1 getattr "$root" | jq -r .getattr)"
for n in n1 n2 n3; do
	check "nasd on $n still running at the end" kill -0 "$(nasd_pid "$n")"
done
finish
