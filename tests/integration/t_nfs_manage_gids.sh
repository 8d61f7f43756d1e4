#!/bin/bash
# shellcheck disable=SC2317	# (helpers run through check and wait_for)
# t_nfs_manage_gids: a user in 40 directory groups reads, through the VIP, a
# file only the 30th group may read: with tandem-nasd's manage_gids its
# groups come from the directory (NSS: nslcd and the node's replica), not
# from the call, which carries at most 16; without manage_gids it is refused.
#
#   c1 --- client LAN --- [swa | swb] --- storage LAN --- n1 n2 n3
#                   VIP tcp/2049, tcp/111     tandem-nasd (NFS, export /export,
#                                             manage_gids) run with the node's
#                                             NSS: nslcd -> replica 127.0.0.1:389
#   swa slapd <== mirror mode ==> swb slapd ----> every node's replica
#
#   1. the directory: gus (uid 30000) in g01..g40 (gids 40001..40040), hal
#      (uid 30001) in g01..g16 only; on every node, `id gus` through the
#      node's NSS lists all 41 groups;
#   2. /export/g30.bin: root:40030, mode 0640 (1 MiB of random bytes);
#   3. manage_gids on every node: gus reads it through the VIP with a raw
#      AUTH_SYS call carrying 16 groups (g01..g16, none of them g30), and
#      with libnfs's nfs-cat (uid and gid only, no groups): sha256 equal to
#      the file's; hal (same 16 groups) is refused (NFS3ERR_ACCES); nasd
#      counts its NSS lookups, made in its resolver thread while the calls
#      of an uncached uid are held (none past the bound); tandemctl
#      nfs-conns, with n1's NSS, names an open connection's user and group
#      (gus, g30);
#   4. manage_gids off (nasd restarted): gus with the same 16 groups is
#      refused, and so is nfs-cat;
#   5. both switches' links cut: every node's policy (one network group,
#      its replica's providers watched) turns stale within the bound, saying
#      why (syncrepl's keepalive ends the replica's connections, 3 s later),
#      and every node still resolves gus and its 41 groups (its own replica,
#      through nslcd); links back: not stale.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_nasd.sh"
. "$(dirname "$0")/lib_directory.sh"

require_pair
require_nasd
require_directory
require_cmd nfs-cat nslcd python3 sha256sum
dir_nss_lab_up
RPC=$REPO/tests/tools/nfs_rpc.py

# 1. The users and groups, on A.
{
	dir_user_ldif gus 30000
	dir_user_ldif hal 30001
	for i in $(seq 1 40); do
		printf 'dn: cn=g%02d,ou=groups,%s\nchangetype: add\nobjectClass: posixGroup\ncn: g%02d\ngidNumber: %d\nmemberUid: gus\n' \
			"$i" "$DIR_BASE" "$i" $((40000 + i))
		[ "$i" -le 16 ] && echo "memberUid: hal"
		echo
	done
} >"$TEST_TMP/groups.ldif"
check "gus, hal and 40 groups go into A's directory" dir_write swa <"$TEST_TMP/groups.ldif"
for n in n1 n2 n3; do
	check "$n's replica holds g40" wait_for 10 dir_has_val "$n" "cn=g40,ou=groups,$DIR_BASE" gidNumber 40040
done
for n in n1 n2 n3; do
	check_eq "$n: id -G gus through the node's NSS lists 41 groups (its own and g01..g40)" \
		"$(lab nss-exec "$n" id -G gus | wc -w)" 41
done
check_eq "the host's own NSS does not know gus (the node's NSS is the node's)" \
	"$(getent passwd gus | wc -l)" 0

# 2. The file.
mkdir -p "$LAB_DIR/nfs"
head -c $((1 << 20)) /dev/urandom >"$LAB_DIR/nfs/g30.bin"
chown 0:40030 "$LAB_DIR/nfs/g30.bin"
chmod 0640 "$LAB_DIR/nfs/g30.bin"
WANT=$(sha "$LAB_DIR/nfs/g30.bin")
G16=$(seq -s, 40001 40016)

# 3. manage_gids on.
# the policy (one group: every client, the section's options) watches the
# replica's link to the providers (stale 3 s after it is lost)
POLICY='"client_groups": [ { "network": "10.77.1.0/24" } ], "policy_refresh_s": 1,
  "policy_providers": [ "10.77.2.2:389", "10.77.2.3:389" ], "policy_provider_lost_s": 3,'
export NASD_NFS=1 NASD_NSS=1 NASD_NFS_EXTRA="\"manage_gids\": true, \"gids_cache_s\": 30, $POLICY"
nasd_all
pair_switches_up
nfs3() { [ "$(sw_jctl a vips | jq '[.vips[] | select(.name == "v4") | .services[] | select(.port == 2049) | .nodes_in_table] | min')" = 3 ]; }
check "switch a: v4 tcp/2049 has its 3 nodes" wait_for 20 nfs3

# readas UID GIDS OUT: nfs_rpc.py readas through the VIP from c1 (gid = uid).
readas() { in_ns c1 "$PY" "$RPC" readas "$VIP4" g30.bin "$1" "$1" "$2" "$3" 2>&1; }
o=$(readas 30000 "$G16" "$TEST_TMP/gus16.bin")
check_eq "manage_gids: gus, its call carrying g01..g16, reads g30.bin through the VIP" \
	"$(jq -c . <<<"$o")" '{"status":0,"bytes":1048576}'
check_eq "... byte-exact (sha256)" "$(sha "$TEST_TMP/gus16.bin")" "$WANT"
in_ns c1 timeout 30 nfs-cat "nfs://$VIP4/export/g30.bin?uid=30000&gid=30000" >"$TEST_TMP/gus-libnfs.bin" \
	2>"$TEST_TMP/nfs-cat.err"
check_eq "manage_gids: libnfs's nfs-cat as uid 30000 (no groups in its calls) reads it, byte-exact" \
	"$(sha "$TEST_TMP/gus-libnfs.bin")" "$WANT"
o=$(readas 30001 "$G16" "$TEST_TMP/hal.bin")
check_eq "manage_gids: hal (in g01..g16 only) is refused (NFS3ERR_ACCES)" "$(jq -r .status <<<"$o")" 13
lookups=0
for n in n1 n2 n3; do
	l=$(nctl "$n" '{"cmd":"status"}' | jq -r '.nfs.manage_gids.lookups // 0')
	lookups=$((lookups + l))
done
check "the nodes looked the callers' groups up through NSS ($lookups lookups)" test "$lookups" -ge 2
held=0 timeouts=0
for n in n1 n2 n3; do
	st=$(nctl "$n" '{"cmd":"status"}')
	held=$((held + $(jq -r '.nfs.manage_gids.held // 0' <<<"$st")))
	timeouts=$((timeouts + $(jq -r '.nfs.manage_gids.timeouts // 0' <<<"$st")))
done
# a call of a uid not cached waits for the resolver thread, not the loop
check "calls of uncached uids were held for the resolver thread ($held held)" test "$held" -ge 2
check_eq "... and none waited past the bound (answered with the looked-up groups)" "$timeouts" 0

# tandemctl nfs-conns on n1, with n1's NSS: a connection of gus (in g30)
# open meanwhile shows its user and group by name
head -c 4096 /dev/urandom >"$LAB_DIR/nfs/big.bin"
chmod 0644 "$LAB_DIR/nfs/big.bin"
in_ns c1 env NFS_RPC_UID=30000 NFS_RPC_GID=40030 "$PY" "$RPC" meta "$(node_ip4 n1)" 8 \
	>"$TEST_TMP/meta.out" 2>&1 &
metapid=$!
gus_row() {
	lab nss-exec n1 "$TANDEMCTL" -s "$LAB_DIR/n1/nasd.sock" nfs-conns >"$TEST_TMP/conns.txt" 2>&1 &&
		grep -q ' gus(30000) *g30(40030) ' "$TEST_TMP/conns.txt"
}
check "tandemctl nfs-conns on n1 (its NSS) names gus's connection: user gus(30000), group g30(40030)" \
	wait_for 6 gus_row
diag "$(cat "$TEST_TMP/conns.txt")"
wait "$metapid"
check "... gus's LOOKUP + GETATTR ran meanwhile ($(cat "$TEST_TMP/meta.out"))" \
	grep -q '"ops_per_s"' "$TEST_TMP/meta.out"

# 4. manage_gids off.
for n in n1 n2 n3; do
	p=$(nasd_pid "$n")
	kill "$p" 2>/dev/null
	wait_for 10 pid_gone "$p"
done
export NASD_NFS_EXTRA="$POLICY"
for n in n1 n2 n3; do
	check "tandem-nasd restarts in $n without manage_gids" nasd_start "$n"
done
check "switch a: v4 tcp/2049 has its 3 nodes again" wait_for 20 nfs3
o=$(readas 30000 "$G16" "$TEST_TMP/gus16-off.bin")
check_eq "without manage_gids: gus with g01..g16 in its call is refused (NFS3ERR_ACCES)" \
	"$(jq -r .status <<<"$o")" 13
if in_ns c1 timeout 30 nfs-cat "nfs://$VIP4/export/g30.bin?uid=30000&gid=30000" \
	>"$TEST_TMP/off-libnfs.bin" 2>"$TEST_TMP/nfs-cat-off.err"; then
	fail "without manage_gids: nfs-cat as uid 30000 is refused" "it read $(file_size "$TEST_TMP/off-libnfs.bin") bytes"
else
	ok "without manage_gids: nfs-cat as uid 30000 is refused: $(head -c 200 "$TEST_TMP/nfs-cat-off.err" | tr '\n' ' ')"
fi

# 5. The switches out of reach.
pol() { timeout 10 "$TANDEMCTL" -s "$LAB_DIR/$1/nasd.sock" --json status 2>/dev/null | jq -r ".nfs.policy.$2 | values"; }
stale_is() { [ "$(pol "$1" stale)" = "$2" ]; }
for n in n1 n2 n3; do
	check "$n's policy is not stale (its replica is connected to a provider)" wait_for 10 stale_is "$n" false
done
lab switch-links a down
lab switch-links b down
# syncrepl's keepalive (5:3:1) ends the connections within 8 s, then 3 s
for n in n1 n2 n3; do
	check "$n, both switches cut off: its policy turns stale (tandemctl status)" wait_for 40 stale_is "$n" true
	check_eq "... saying why" "$(pol "$n" stale_why | sed 's/ for [0-9]* s$/ for N s/')" \
		"the directory replica has had no connection to a provider for N s"
	check_eq "$n, both switches cut off: id -G gus through its NSS still lists 41 groups" \
		"$(lab nss-exec "$n" id -G gus | wc -w)" 41
done
lab switch-links a up
lab switch-links b up
for n in n1 n2 n3; do
	check "$n, switches back: its policy is not stale" wait_for 30 stale_is "$n" false
done

finish
