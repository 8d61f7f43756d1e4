#!/bin/bash
# shellcheck disable=SC2317	# (helpers run through check and wait_for)
# t_nfs_netgroup: an NFS export's clients given as a directory netgroup,
# the policy re-read every second and applied to sessions already open,
# on whichever node they live, including after a handoff; the policy
# version every node enforces, "stale" when its directory cannot be read;
# malformed directory entries refused or bounded.
#
#   c1 (10.77.1.10)  c2 (10.77.1.11)
#        \______ client LAN ______/
#              [swa | swb]  VIP tcp/2049 (DSR)       slapd mirror mode
#        ______ storage LAN ______                   on swa and swb
#       /            |            \
#     n1            n2            n3   tandem-nasd: NFS /export, handoff,
#                                      client_groups: netgroups nfs-rw,
#                                      nfs-ro, nfs-loop, nfs-huge; NSS: nslcd ->
#                                      the node's own replica
#
#   1. the directory: netgroup nfs-rw = (10.77.1.10,,) (c1); gus (uid 30000)
#      in group g30; every node's nasd reports the same policy version, and
#      switch a's tandemctl nodes shows it for each;
#   2. c1 mounts and writes through the VIP (libnfs nfs-cp, sha256 on the
#      export equal); c2, outside every netgroup, is refused (MNT3ERR_ACCES);
#      an HTTP export with "nfs_policy": c1's PUT is taken (byte-exact),
#      c2's refused (403), and c1's too (403) while it is out of nfs-rw or in
#      the read-only nfs-ro;
#   3. c1's open session writes every 100 ms; c1 leaves nfs-rw (a change on
#      switch b): its next WRITE fails (NFS3ERR_ACCES) within 5 s, on the
#      node it lives on; back in nfs-rw, the same session writes again;
#      moved from nfs-rw to nfs-ro (a read-only group), its next WRITE gets
#      NFS3ERR_ROFS within 5 s; back, it writes again;
#   4. tandemctl migrate moves that session to another node; it keeps
#      writing there; c1 leaves nfs-rw again: its next WRITE on the new
#      node fails within 5 s;
#   5. malformed entries: a non-numeric uidNumber is refused by the
#      directory; a loop of nested netgroups (nfs-loop <-> nfs-loop2) and a
#      netgroup of 5000 hosts (nfs-huge, policy_max_members 4096) are read,
#      bounded (truncated), and every nasd keeps running and serving;
#   6. every node's replica stopped: every node reports the policy stale
#      (tandemctl --json status against its socket; tandemctl nodes on the
#      switch, from the nodes' load reports), the last policy stays
#      in force (c1 back in nfs-rw beforehand writes on a new session) and
#      the cached identity works (gus, whose groups every node looked up
#      before, reads its group's file without groups in its call); replicas
#      back: not stale;
#   7. n2's replica cut off from both switches' slapd (its LDAP traffic to
#      them dropped; its load reports still go): within the bound n2 (only)
#      reports its policy stale, saying why, and switch a's tandemctl nodes
#      shows it; n2's NSS still resolves gus, gus still reads at n2; the
#      link back: not stale, on n2 and on the switch;
#   8. n2 restarted with one more client group (its version differs):
#      switch a's tandemctl nodes shows n2 MISMATCH against the version the
#      other two enforce (the cluster's), after the 10 s a change may take to
#      spread; restarted like the others: it agrees again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_nasd.sh"
. "$(dirname "$0")/lib_directory.sh"

require_pair
require_nasd
require_directory
require_cmd nfs-cp nslcd python3 sha256sum curl nft
dir_nss_lab_up
RPC=$REPO/tests/tools/nfs_rpc.py
NG="ou=netgroup,$DIR_BASE"

# 1. The directory.
{
	printf 'dn: cn=nfs-rw,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-rw\n' "$NG"
	printf 'nisNetgroupTriple: (%s,,)\n\n' "$C1_IP4"
	printf 'dn: cn=nfs-ro,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-ro\n\n' "$NG"
	dir_user_ldif gus 30000
	printf 'dn: cn=g30,ou=groups,%s\nchangetype: add\nobjectClass: posixGroup\ncn: g30\n' "$DIR_BASE"
	printf 'gidNumber: 40030\nmemberUid: gus\n\n'
} >"$TEST_TMP/first.ldif"
check "netgroup nfs-rw (c1), gus and g30 go into A's directory" dir_write swa <"$TEST_TMP/first.ldif"
for n in n1 n2 n3; do
	check "$n's replica holds nfs-rw" wait_for 10 dir_has_val "$n" "cn=nfs-rw,$NG" cn nfs-rw
done
check_eq "n1's NSS lists c1 in nfs-rw" "$(lab nss-exec n1 getent netgroup nfs-rw | tr -s ' ')" \
	"nfs-rw ($C1_IP4,,)"
mkdir -p "$LAB_DIR/nfs"
head -c $((1 << 20)) /dev/zero >"$LAB_DIR/nfs/live.bin"
head -c 65536 /dev/urandom >"$LAB_DIR/nfs/g30.bin"
chown 0:40030 "$LAB_DIR/nfs/g30.bin"
chmod 0640 "$LAB_DIR/nfs/g30.bin"

export NASD_NFS=1 NASD_NSS=1 NASD_HANDOFF_EXTRA='"pin_hold_s": 60,'
export NASD_NFS_EXTRA='"manage_gids": true, "gids_cache_s": 600, "policy_refresh_s": 1,
  "policy_providers": [ "10.77.2.2:389", "10.77.2.3:389" ], "policy_provider_lost_s": 3,
  "client_groups": [ { "netgroup": "nfs-rw" }, { "netgroup": "nfs-ro", "writable": false },
                     { "netgroup": "nfs-loop" },
                     { "netgroup": "nfs-huge", "writable": false } ],'
# the pair lab has bpffs mounts for its switches only: one for the nodes'
# flow drop pins (lab.sh down unmounts it with the lab)
mkdir -p "$LAB_BPFFS"
mountpoint -q "$LAB_BPFFS" || mount -t bpf bpf "$LAB_BPFFS"
# an HTTP export whose PUTs follow the NFS policy (no token: the policy decides)
mkdir -p "$LAB_DIR/w"
nasd_extra_exports() {
	printf ', { "url": "/w/", "path": "%s", "writable": true, "write_auth": "none", "nfs_policy": true }' \
		"$LAB_DIR/w"
}
nasd_all handoff
# (run before pair_keep_logs: the nodes' logs go with the switches' if a check fails)
# shellcheck disable=SC2016  # expanded when at_exit runs it
at_exit 'for n in n1 n2 n3; do cp "$LAB_DIR/$n/nasd.log" "$TEST_TMP/nasd-$n.log"; done'
pair_switches_up
check "handoff channels up between all nodes" wait_for 15 chans_up

# pol nX FIELD: nX's nfs.policy.FIELD, through tandemctl against its socket.
pol() {
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/$1/nasd.sock" --json status 2>/dev/null |
		jq -r ".nfs.policy.$2 | values"
}
pol_is() { [ "$(pol "$1" "$2")" = "$3" ]; }
# same_version: every node enforces one policy version; prints it.
same_version() {
	local v1 v2 v3
	v1=$(pol n1 version) v2=$(pol n2 version) v3=$(pol n3 version)
	[ -n "$v1" ] && [ "$v1" = "$v2" ] && [ "$v2" = "$v3" ] && echo "$v1"
}
v0=$(same_version)
check "every node enforces the same policy version (${v0:-none})" test -n "$v0"
# sw_pol X NODE: "version stale" of NODE as switch X's lbd has it from the
# node's load reports (tandemctl nodes)
sw_pol() { sw_jctl "$1" nodes | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .policy | "\(.version) \(.stale)"'; }
sw_pol_is() { [ "$(sw_pol "$1" "$2")" = "$3" ]; }
for n in n1 n2 n3; do
	check "switch a's tandemctl nodes: $n enforces $v0, not stale" wait_for 10 sw_pol_is a "$n" "$v0 false"
done
seq0=$(pol n1 seq) r0=$(pol n1 refreshes)
refreshed_3() { [ "$(pol n1 refreshes)" -ge $((r0 + 3)) ]; }
check "n1 resolves its policy again and again (3 refreshes)" wait_for 15 refreshed_3
check_eq "... with no directory change its version stays (seq $seq0)" "$seq0" "$(pol n1 seq)"
check_eq "n1's policy is not stale, it holds one host (c1)" "false 1" "$(pol n1 stale) $(pol n1 hosts)"

# 2. Mount and write; c2 refused.
head -c $((256 << 10)) /dev/urandom >"$TEST_TMP/up.bin"
in_ns c1 timeout 30 nfs-cp "$TEST_TMP/up.bin" "nfs://$VIP4/export/up.bin" >"$TEST_TMP/nfs-cp.out" 2>&1
check_eq "c1 (in nfs-rw) writes up.bin through the VIP (nfs-cp): byte-exact on the export" \
	"$(sha "$LAB_DIR/nfs/up.bin" 2>/dev/null)" "$(sha "$TEST_TMP/up.bin")"
# put HOST NAME: HTTP PUT of up.bin to /w/NAME through the VIP: the status
put() { in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 10 -T "$TEST_TMP/up.bin" "http://$VIP4/w/$2"; }
put_is() { [ "$(put "$1" "$2")" = "$3" ]; }
check_eq "HTTP (nfs_policy): c1 PUTs /w/c1.bin" 201 "$(put c1 c1.bin)"
check_eq "... byte-exact" "$(sha "$TEST_TMP/up.bin")" "$(sha "$LAB_DIR/w/c1.bin" 2>/dev/null)"
check_eq "HTTP (nfs_policy): c2 is refused its PUT" 403 "$(put c2 c2.bin)"
o=$(in_ns c2 "$PY" "$RPC" mnt "$VIP4" /export 2>&1)
check_eq "c2 (in no netgroup) is refused its mount (MNT3ERR_ACCES)" "$(jq -r .mnt <<<"$o" 2>/dev/null || echo "$o")" 13

# 3. A live session loses its right.
LOG=$TEST_TMP/live.log
in_ns c1 "$PY" "$RPC" writeloop "$VIP4" live.bin 150 "$TEST_TMP/live.ep" "$LOG" >"$TEST_TMP/writeloop.out" 2>&1 &
wl=$!
at_exit "touch $LOG.stop; kill $wl 2>/dev/null"
wrote() { grep -c ' 0$' "$LOG" 2>/dev/null; }
wrote_3() { [ "$(wrote)" -ge 3 ]; }
check "c1's session writes" wait_for 15 wrote_3
P=$(cut -d: -f2 "$TEST_TMP/live.ep")
fnode() { sw_jctl a flows --client "$C1_IP4:$P" | jq -r '[.flows[] | select(.port == 2049) | .node][0] // empty'; }
X=$(fnode)
diag "c1's session (port $P) lives on ${X:-?}"

# ng_ldif NETGROUP [HOST]: a modify record making HOST the netgroup's only
# member, or leaving it empty (the whole attribute: nisNetgroupTriple has no
# equality rule to pick one value by)
ng_ldif() {
	if [ -z "${2:-}" ]; then
		printf 'dn: cn=%s,%s\nchangetype: modify\ndelete: nisNetgroupTriple\n\n' "$1" "$NG"
	else
		printf 'dn: cn=%s,%s\nchangetype: modify\nreplace: nisNetgroupTriple\nnisNetgroupTriple: (%s,,)\n\n' \
			"$1" "$NG" "$2"
	fi
}
# ng_c1 delete|add: c1 out of / into nfs-rw, on switch b
ng_c1() {
	if [ "$1" = delete ]; then ng_ldif nfs-rw; else ng_ldif nfs-rw "$C1_IP4"; fi | dir_write swb
}
# first_after T0 STATUS: ms from T0 to the first LOG line at or after T0
# with STATUS (empty if none yet).
first_after() {
	awk -v t0="$1" -v st="$2" '$1 >= t0 && $2 == st { print $1 - t0; exit }' "$LOG"
}
has_after() { [ -n "$(first_after "$1" "$2")" ]; }
# within_5s DESC STATUS: LOG has a WRITE answered STATUS within 5 s of t0
# shellcheck disable=SC2154  # t0 is set before each change
within_5s() {
	if wait_for 10 has_after "$t0" "$2"; then
		check_le "$1 within 5 s" "$(first_after "$t0" "$2")" 5000
	else
		fail "$1" "$(tail -n 3 "$LOG")"
	fi
}
refused0=$(pol "${X:-n1}" refused_calls)
t0=$(now_ms)
check "c1 leaves nfs-rw (on switch b)" ng_c1 delete
within_5s "c1's open session: its next WRITE is refused (NFS3ERR_ACCES)" 13
check "... by the node it lives on ($X): refused_calls grew" test "$(pol "${X:-n1}" refused_calls)" -gt "${refused0:-0}"
check "HTTP (nfs_policy): c1's next PUT is refused (403)" wait_for 5 put_is c1 c1b.bin 403
v1=$(wait_for 5 same_version >/dev/null; same_version)
check "every node enforces one new version ($v0 -> ${v1:-none})" test -n "$v1" -a "$v1" != "$v0"
t0=$(now_ms)
check "c1 back in nfs-rw" ng_c1 add
within_5s "the same session writes again" 0
t0=$(now_ms)
check "c1 moves from nfs-rw to nfs-ro (read-only)" dir_write swb < <(ng_ldif nfs-ro "$C1_IP4"; ng_ldif nfs-rw)
within_5s "the same session: its next WRITE gets NFS3ERR_ROFS" 30
check "HTTP (nfs_policy): c1 in a read-only group is refused its PUT (403)" wait_for 5 put_is c1 c1c.bin 403
t0=$(now_ms)
check "c1 back from nfs-ro to nfs-rw" dir_write swb < <(ng_ldif nfs-rw "$C1_IP4"; ng_ldif nfs-ro)
check "the same session writes again" wait_for 10 has_after "$t0" 0
check "HTTP (nfs_policy): c1 PUTs again" wait_for 5 put_is c1 c1d.bin 201

# 4. After a handoff.
Y=$(other "${X:-n1}")
out=$(timeout 30 "$TANDEMCTL" -s "$LAB_DIR/sw-a/lbd.sock" migrate "$C1_IP4:$P" "$VIP4:2049" "$Y" 2>&1)
diag "tandemctl migrate $C1_IP4:$P $VIP4:2049 $Y: $out"
check_eq "c1's session migrated from $X to $Y" "$(fnode)" "$Y"
t0=$(now_ms)
check "it writes on $Y" wait_for 10 has_after "$t0" 0
refused0=$(pol "$Y" refused_calls)
t0=$(now_ms)
check "c1 leaves nfs-rw again" ng_c1 delete
within_5s "after the handoff, its next WRITE on $Y is refused" 13
check "... by $Y: refused_calls grew" test "$(pol "$Y" refused_calls)" -gt "${refused0:-0}"
touch "$LOG.stop"
wait "$wl"
check "c1 back in nfs-rw" ng_c1 add

# 5. Malformed entries.
printf 'dn: uid=badnum,ou=people,%s\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: badnum\ncn: b\nsn: b\nuidNumber: 12abc\ngidNumber: 1\nhomeDirectory: /h\n\n' \
	"$DIR_BASE" >"$TEST_TMP/bad.ldif"
if dir_write swa <"$TEST_TMP/bad.ldif"; then
	fail "a non-numeric uidNumber is refused by the directory" "it was taken"
else
	ok "a non-numeric uidNumber is refused by the directory: $(grep -i 'invalid' "$TEST_TMP/dir-write.log" | tail -n 1)"
fi
{
	printf 'dn: cn=nfs-loop,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-loop\n' "$NG"
	printf 'memberNisNetgroup: nfs-loop2\nnisNetgroupTriple: (10.77.9.1,,)\n\n'
	printf 'dn: cn=nfs-loop2,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-loop2\n' "$NG"
	printf 'memberNisNetgroup: nfs-loop\nnisNetgroupTriple: (10.77.9.2,,)\n\n'
	printf 'dn: cn=nfs-huge,%s\nchangetype: add\nobjectClass: nisNetgroup\ncn: nfs-huge\n' "$NG"
	for i in $(seq 0 4999); do printf 'nisNetgroupTriple: (10.78.%d.%d,,)\n' $((i / 250)) $((i % 250 + 1)); done
	echo
} >"$TEST_TMP/ng.ldif"
pids0="$(nasd_pid n1) $(nasd_pid n2) $(nasd_pid n3)"
check "a loop of nested netgroups and a netgroup of 5000 hosts go into the directory" dir_write swa <"$TEST_TMP/ng.ldif"
bounded() { [ "$(pol "$1" truncated)" = 1 ] && [ "$(pol "$1" hosts)" = $((1 + 2 + 4096)) ]; }
for n in n1 n2 n3; do
	check "$n reads them: nfs-loop and nfs-loop2 once each, nfs-huge cut at 4096 hosts" wait_for 20 bounded "$n"
done
diag "n1's policy read with them (its resolver thread): last $(pol n1 refresh_us) us, longest $(pol n1 refresh_max_us) us"
check_eq "every nasd still runs (the same processes)" \
	"$(nasd_pid n1) $(nasd_pid n2) $(nasd_pid n3)" "$pids0"
for n in n1 n2 n3; do
	check "$n: its nasd answers and is alive" kill -0 "$(nasd_pid "$n")"
done
rm -f "$LOG" "$LOG.stop"
in_ns c1 "$PY" "$RPC" writeloop "$VIP4" live.bin 2 "$TEST_TMP/live2.ep" "$LOG" >/dev/null 2>&1
check "c1 still writes through the VIP on a new session" wrote_3

# 6. The directory unreachable from the nodes.
# readas OUT [HOST]: gus reads g30.bin through the VIP (or HOST), no groups in its call
readas() { in_ns c1 "$PY" "$RPC" readas "${2:-$VIP4}" g30.bin 30000 30000 "" "$1" 2>&1; }
for n in n1 n2 n3; do	# each node caches gus's groups (gids_cache_s 600)
	o=$(readas "$TEST_TMP/g30-a.bin" "$(node_ip4 "$n")")
	check_eq "gus (no groups in its call) reads g30.bin at $n: its groups from the directory" \
		0 "$(jq -r .status <<<"$o")"
done
for n in n1 n2 n3; do
	lab dir-stop "$n" >/dev/null 2>&1
done
for n in n1 n2 n3; do
	check "$n: its policy is reported stale (tandemctl --json status)" wait_for 20 pol_is "$n" stale true
done
diag "n1's reason: $(pol n1 stale_why)"
v=$(pol n1 version)
for n in n1 n2 n3; do
	check "switch a's tandemctl nodes: $n's policy stale" wait_for 10 sw_pol_is a "$n" "$(pol "$n" version) true"
done
check "... and its table says so: \"n1 nfs policy: version $v, STALE\"" \
	grep -q "^n1 nfs policy: version $v, STALE" < <(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-a/lbd.sock" nodes)
rm -f "$LOG" "$LOG.stop"
in_ns c1 "$PY" "$RPC" writeloop "$VIP4" live.bin 2 "$TEST_TMP/live3.ep" "$LOG" >/dev/null 2>&1
check "stale: the last policy stays in force (c1 writes on a new session)" wrote_3
o=$(readas "$TEST_TMP/g30-b.bin")
check_eq "stale: gus's cached groups still let it read g30.bin through the VIP" 0 "$(jq -r .status <<<"$o")"
check_eq "... byte-exact" "$(sha "$TEST_TMP/g30-b.bin")" "$(sha "$LAB_DIR/nfs/g30.bin")"
for n in n1 n2 n3; do lab dir-start "$n" >/dev/null 2>&1; done
for n in n1 n2 n3; do
	check "$n: not stale once its replica is back" wait_for 30 pol_is "$n" stale false
done
diag "the longest policy read on each node (its resolver thread; replica gone included): $(pol n1 refresh_max_us) $(pol n2 refresh_max_us) $(pol n3 refresh_max_us) us"

# 7. One node's replica cut off from both providers (its LDAP to the
# switches dropped in its namespace; its load reports still reach lbd).
for n in n1 n2 n3; do
	check "$n: not stale, and so on switch a" wait_for 20 sw_pol_is a "$n" "$(pol "$n" version) false"
done
in_ns n2 nft -f - <<'NFT'
table inet tdm_dircut {
	chain out { type filter hook output priority 0; ip daddr { 10.77.2.2, 10.77.2.3 } tcp dport 389 drop; }
	chain in { type filter hook input priority 0; ip saddr { 10.77.2.2, 10.77.2.3 } tcp sport 389 drop; }
}
NFT
# syncrepl's keepalive (5:3:1) ends its connections within 8 s, stale 3 s later
check "n2, its replica cut off from the switches: its policy turns stale" wait_for 40 pol_is n2 stale true
check_eq "... saying why" "$(pol n2 stale_why | sed 's/ for [0-9]* s$/ for N s/')" \
	"the directory replica has had no connection to a provider for N s"
check "switch a's tandemctl nodes: n2's policy stale" wait_for 10 sw_pol_is a n2 "$(pol n2 version) true"
check "... and its table says so" \
	grep -q "^n2 nfs policy: version $(pol n2 version), STALE" < <(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-a/lbd.sock" nodes)
for n in n1 n3; do
	check_eq "$n (its replica connected) is not stale" "$(pol "$n" stale)" false
done
check_eq "n2: its NSS still resolves gus and g30 (its replica's copy)" \
	"$(lab nss-exec n2 id -G gus | tr ' ' '\n' | grep -c '^40030$')" 1
o=$(readas "$TEST_TMP/g30-c.bin" "$(node_ip4 n2)")
check_eq "n2: gus (cached groups) still reads g30.bin there" 0 "$(jq -r .status <<<"$o")"
in_ns n2 nft delete table inet tdm_dircut
check "n2, its replica connected again: not stale" wait_for 30 pol_is n2 stale false
check "... and so on switch a's tandemctl nodes" wait_for 10 sw_pol_is a n2 "$(pol n2 version) false"

# 8. A node that disagrees: n2 restarted with one more client group (a
# configuration that drifted), so its version differs from n1's and n3's.
# sw_mm X NODE: "mismatch cluster_version" of NODE as switch X's lbd has it
sw_mm() { sw_jctl "$1" nodes | jq -r --arg n "$2" '.nodes[] | select(.name == $n) | .policy | "\(.mismatch) \(.cluster_version)"'; }
sw_mm_is() { [ "$(sw_mm "$1" "$2")" = "$3" ]; }
vc=$(pol n1 version)
check "switch a: the cluster's policy version is $vc, n2 agrees" wait_for 20 sw_mm_is a n2 "false $vc"
restart_n2() {
	local p
	p=$(nasd_pid n2)
	kill "$p" 2>/dev/null
	wait_for 10 pid_gone "$p" && nasd_start n2 handoff
}
X0=$NASD_NFS_EXTRA
export NASD_NFS_EXTRA="${X0%],*}, { \"network\": \"10.77.9.0/24\" } ],"
check "n2's nasd restarts with one more client group" restart_n2
v2=$(pol n2 version)
check "... its policy version differs ($v2, the others $vc)" test -n "$v2" -a "$v2" != "$vc"
# shown once it has differed longer than a change takes to spread (10 s)
check "switch a's tandemctl nodes: n2 MISMATCH, the cluster enforces $vc" \
	wait_for 40 sw_mm_is a n2 "true $vc"
check "... and its table says so" \
	grep -q "^n2 nfs policy: version $v2, MISMATCH (the cluster enforces $vc)" \
	< <(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-a/lbd.sock" nodes)
for n in n1 n3; do
	check_eq "$n agrees" "$(sw_mm a "$n")" "false $vc"
done
export NASD_NFS_EXTRA=$X0
check "n2's nasd restarts with the others' client groups" restart_n2
check "switch a: n2 agrees again" wait_for 20 sw_mm_is a n2 "false $vc"

finish
