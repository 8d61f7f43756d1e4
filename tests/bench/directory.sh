#!/bin/bash
# tests/bench/directory.sh WORKDIR - the "directory" section of
# tests/bench/run.sh (run.sh --only directory): the directory on the nodes.
#
# One private pair lab with the directory (LAB_PAIR=1 LAB_DIRECTORY=1
# LAB_NFS=1: slapd on both switches, a replica and nslcd on every node),
# tandem-nasd with NFS and the node's NSS (tests/integration/lib_nasd.sh
# NASD_NFS=1 NASD_NSS=1), client_groups from two netgroups.
#
#  nfs_meta_ops_per_s_manage_gids: one connection doing LOOKUP + GETATTR
#    pairs (tests/tools/nfs_rpc.py meta) as gus, a directory user in 40
#    groups, DIR_META_S seconds, to n1 (manage_gids on, the groups' cache
#    warm) and to n2 (manage_gids off) at their own addresses, the same path
#    for both; DIR_ROUNDS rounds interleaved (on off, off on, ...: a load
#    that drifts during the run weighs on both alike); medians, ratio on /
#    off (target >= 0.95).
#  policy_enforce_p50_ms / _p99_ms: DIR_CHANGES changes of a netgroup
#    (c2 in and out of nfs-bench, on switch b), each timed from just before
#    ldapmodify to the moment every node's nasd enforces a new policy
#    version (its status, polled every 20 ms): the next call of any open
#    session is decided by it (doc/directory.md "Export policy").
#
# Writes WORKDIR/metrics.jsonl and WORKDIR/samples.jsonl (run.sh's format),
# raw files in WORKDIR/logs.  Exit 1 if the lab or daemons cannot start.
set -u
W=${1:?usage: directory.sh WORKDIR}
SECTION=directory
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
RPC=$REPO/tests/tools/nfs_rpc.py
DIR_META_S=${DIR_META_S:-5}
DIR_ROUNDS=${DIR_ROUNDS:-6}
DIR_CHANGES=${DIR_CHANGES:-20}
BASE="dc=tandem,dc=test"

fail_all() {
	metric nfs_meta_ops_per_s_manage_gids "" ops/s "" "" ">= 0.95 x without" "" "$1"
	metric policy_enforce_p50_ms "" ms "" "" "report" "" "$1"
	metric policy_enforce_p99_ms "" ms "" "" "report (issue: every node within 5000)" "" "$1"
}

LAB_NAME=bd$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
log "lab $LAB_NAME up (pair, directory)"
if ! LAB_PAIR=1 LAB_DIRECTORY=1 LAB_NFS=1 timeout 180 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1; then
	LAB_NAME=""
	fail_all "lab did not come up (harness error)"
	exit 1
fi
. "/run/tandem-lab/$LAB_NAME/env"
. "$REPO/tests/integration/lib_nasd.sh"
PY=python3
if ! lab dir-up >>"$L/lab.log" 2>&1 || ! lab nss-up >>"$L/lab.log" 2>&1; then
	fail_all "slapd or nslcd did not start"
	exit 1
fi
ldapi=$(printf '%s' "$LAB_DIR/sw-b/ldap-run/ldapi" | jq -sRr @uri)
dir_write() {	# LDIF on stdin, on switch b, as the root
	ldapmodify -x -H "ldapi://$ldapi" -D "cn=admin,$BASE" -y "$LAB_DIR/ldap-root.pw" >>"$L/ldap.log" 2>&1
}
{
	printf 'dn: cn=nfs-rw,ou=netgroup,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-rw\n' "$BASE"
	printf 'nisNetgroupTriple: (%s,,)\n\n' "$C1_IP4"
	printf 'dn: cn=nfs-bench,ou=netgroup,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-bench\n\n' "$BASE"
	printf 'dn: uid=gus,ou=people,%s\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n' "$BASE"
	printf 'uid: gus\ncn: gus\nsn: gus\nuidNumber: 30000\ngidNumber: 30000\nhomeDirectory: /home/gus\n\n'
	for i in $(seq 1 40); do
		printf 'dn: cn=g%02d,ou=groups,%s\nchangetype: add\nobjectClass: posixGroup\ncn: g%02d\n' "$i" "$BASE" "$i"
		printf 'gidNumber: %d\nmemberUid: gus\n\n' $((40000 + i))
	done
} | dir_write || { fail_all "the first entries did not go in"; exit 1; }
mkdir -p "$LAB_DIR/nfs"
head -c 4096 /dev/urandom >"$LAB_DIR/nfs/big.bin"
chmod 0644 "$LAB_DIR/nfs/big.bin"

export NASD_NFS=1 NASD_NSS=1
groups='"client_groups": [ { "netgroup": "nfs-rw" }, { "netgroup": "nfs-bench" } ],'
nasd_up() {	# nasd_up EXTRA_N1 EXTRA: start tandem-nasd on n1 with nfs EXTRA_N1, n2 n3 with EXTRA
	local n
	for n in n1 n2 n3; do
		if [ "$n" = n1 ]; then export NASD_NFS_EXTRA="$1 $groups"; else export NASD_NFS_EXTRA="$2 $groups"; fi
		nasd_start "$n" >>"$L/lab.log" 2>&1 || return 1
	done
}
vip_ready() {
	[ "$(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-a/lbd.sock" --json vips | jq '[.vips[] | select(.name == "v4") |
		.services[] | select(.port == 2049) | .nodes_in_table] | min')" = 3 ]
}
if ! nasd_up '"manage_gids": true, "gids_cache_s": 600,' "" || ! lab switch-start a >>"$L/lab.log" 2>&1 ||
	! lab switch-start b >>"$L/lab.log" 2>&1 || ! wait_for 40 vip_ready; then
	fail_all "tandem-nasd or the switches did not start"
	exit 1
fi

# ---------------------------------------------------------- metadata ops --
meta_run() {	# meta_run TAG NODE: one run of nfs_rpc.py meta as gus at NODE's address; its ops/s
	local v
	v=$(in_ns c1 env NFS_RPC_UID=30000 "$PY" "$RPC" meta "$(node_ip4 "$2")" "$DIR_META_S" 2>>"$L/meta.log" |
		tee -a "$L/meta-$1.json" | jq -r '.ops_per_s // empty')
	log "meta $1 ($2) round $r: ${v:-FAILED} ops/s"
	echo "{\"g\":\"dir_meta\",\"s\":\"$1\",\"v\":${v:-null}}" >>"$SMP"
	echo "$v"
}
on="" off=""
for n in n1 n2; do	# warm: connections, and n1's cache of gus's groups
	in_ns c1 env NFS_RPC_UID=30000 "$PY" "$RPC" meta "$(node_ip4 "$n")" 1 >/dev/null 2>&1
done
for ((r = 1; r <= DIR_ROUNDS; r++)); do
	if [ $((r % 2)) = 1 ]; then
		on+=" $(meta_run manage_gids n1)" off+=" $(meta_run plain n2)"
	else
		off+=" $(meta_run plain n2)" on+=" $(meta_run manage_gids n1)"
	fi
done
mon=$(med "$on" 0)
moff=$(med "$off" 0)
ratio=""
[ -n "$mon" ] && [ -n "$moff" ] && ratio=$(awk -v a="$mon" -v b="$moff" 'BEGIN { printf "%.3f", a / b }')
met=""
[ -n "$ratio" ] && met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.95) ? "true" : "false" }')
metric nfs_meta_ops_per_s_manage_gids "$mon" ops/s "$moff" "$ratio" ">= 0.95 x without" "$met" \
	"LOOKUP + GETATTR on one connection as gus (uid 30000, 40 directory groups; tests/tools/nfs_rpc.py meta, NFS_RPC_UID), ${DIR_META_S} s x $DIR_ROUNDS rounds each, interleaved: n1 with manage_gids (groups from nslcd and the node's replica, cache warm) vs n2 without, each at its own address; medians (on:$on; off:$off)"

# ----------------------------------------------- change -> every node --
# versions: "v1 v2 v3" of n1..n3 now; changed OLD: ms until all three differ
# from OLD (polled every 20 ms, at most 10 s), from the caller's t0
poll_py='
import json, socket, sys, time
socks, old, t0 = sys.argv[1:4], sys.argv[4:7], int(sys.argv[7])
def ver(p):
    s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(p)
    s.sendall(b"{\"cmd\":\"status\"}\n"); b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1 << 20)
        if not c: break
        b += c
    return ((json.loads(b).get("nfs") or {}).get("policy") or {}).get("version", "")
if old[0] == "-":
    print(" ".join(ver(p) for p in socks)); sys.exit(0)
end = time.time() + 10
while time.time() < end:
    if all(ver(p) not in ("", o) for p, o in zip(socks, old)):
        print(int(time.time() * 1000) - t0); sys.exit(0)
    time.sleep(0.02)
sys.exit(1)'
S=("$LAB_DIR/n1/nasd.sock" "$LAB_DIR/n2/nasd.sock" "$LAB_DIR/n3/nasd.sock")
lat=()
for ((i = 1; i <= DIR_CHANGES; i++)); do
	read -r -a old < <("$PY" -c "$poll_py" "${S[@]}" - - - 0)
	if [ $((i % 2)) = 1 ]; then
		ldif=$(printf 'dn: cn=nfs-bench,ou=netgroup,%s\nchangetype: modify\nreplace: nisNetgroupTriple\nnisNetgroupTriple: (%s,,)\n\n' "$BASE" "$C2_IP4")
	else
		ldif=$(printf 'dn: cn=nfs-bench,ou=netgroup,%s\nchangetype: modify\ndelete: nisNetgroupTriple\n\n' "$BASE")
	fi
	t0=$(now_ms)
	dir_write <<<"$ldif"
	v=$("$PY" -c "$poll_py" "${S[@]}" "${old[0]:-x}" "${old[1]:-x}" "${old[2]:-x}" "$t0" 2>>"$L/poll.log")
	v=${v%% *}
	log "change $i: every node enforces it after ${v:-NEVER (10 s)} ms"
	echo "{\"g\":\"dir_enforce\",\"s\":\"change\",\"v\":${v:-null}}" >>"$SMP"
	[ -n "$v" ] && lat+=("$v")
done
p50="" p99=""
if [ "${#lat[@]}" -gt 0 ]; then
	sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
	p50=$(sed -n "$(((${#lat[@]} + 1) / 2))p" <<<"$sorted")
	p99=$(sed -n "$(((${#lat[@]} * 99 + 99) / 100))p" <<<"$sorted")
fi
met=""
[ -n "$p99" ] && met=$([ "$p99" -le 5000 ] && echo true || echo false)
note="a netgroup changed on switch b (c2 into / out of nfs-bench), $DIR_CHANGES changes, ${#lat[@]} seen on every node within 10 s: from before ldapmodify to every node's nasd enforcing a new policy version (mirror mode to switch a, syncrepl to each replica, nasd's policy_refresh_s 2 on its once-a-second tick); all: ${lat[*]:-none}"
metric policy_enforce_p50_ms "$p50" ms "" "" "report" "" "$note"
metric policy_enforce_p99_ms "$p99" ms "" "" "every node within 5000" "$met" "$note"
exit 0
